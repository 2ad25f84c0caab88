//! co_csp: bounded channels, the only way tasks talk. sched → **chan** → sched.
//!
//! A channel of capacity N buffers N messages; capacity 0 is a rendezvous (a
//! send completes only when a receiver takes the message). Blocked senders
//! and receivers wait in FIFO lists and are served in arrival order: a
//! message is *handed off* to the first waiting receiver, so a woken task
//! never races for it.
//!
//! One core method per direction, [`Channels::send`] and [`Channels::recv`],
//! serves every caller: `park: None` is the non-blocking `try_` form (the
//! message comes back in `TrySendError::Full`), `park: Some(task)` queues the
//! task, and the scheduler parks it — a wasm task on its `ch_send`/`ch_recv`
//! host call, a native task in its `Future::poll`. The task another operation
//! completes (a receiver handed a message, a sender whose message was taken)
//! is returned as a [`Wake`] for the scheduler to make ready.
//!
//! RAM is what an MCU kernel can afford: a channel is a 16-byte header, all
//! buffers share one message pool, and waiting costs nothing per channel —
//! the wait lists are linked through the tasks' own records ([`Link`]; a task
//! waits on at most one list at a time, and the ready queue uses the same link).
//!
//! ```text
//!   Open ── send/recv ──► Open          Open ── close() ──► Closed
//!                                       waiters woken with Completion::Closed,
//!                                       send → Closed(msg), recv drains the buffer
//! ```

use allocator_api2::alloc::Allocator;
use allocator_api2::vec::Vec;

use crate::{TaskId, NIL};
use fireball_wasm::OutOfMemory;

/// A message: a guest's `int`, or an ownership handle when tagged (`own`).
pub type Message = u32;

/// A message and whether it carries an ownership handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tagged {
    /// The payload.
    pub msg: Message,
    /// The payload is an ownership handle (moved, not copied).
    pub handle: bool,
}

impl Tagged {
    /// A plain value.
    pub const fn value(msg: Message) -> Self {
        Tagged { msg, handle: false }
    }
}

/// How a parked operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// The parked send's message was taken.
    Sent,
    /// The parked receive got a message.
    Received(Tagged),
    /// The channel was closed while the task waited.
    Closed,
}

/// A task whose parked operation just completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wake {
    /// The task.
    pub task: TaskId,
    /// What happened.
    pub completion: Completion,
}

/// A send that could not complete now; the message is handed back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrySendError {
    /// No room and no waiting receiver.
    Full(Tagged),
    /// The channel is closed.
    Closed(Tagged),
    /// No such channel.
    NoChannel(Tagged),
}

/// A receive that could not complete now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing to receive.
    Empty,
    /// Closed and drained.
    Closed,
    /// No such channel.
    NoChannel,
}

/// What a send or receive did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress<T> {
    /// Completed now.
    Done(T),
    /// The caller was queued (only with `park: Some(..)`).
    Parked,
}

/// A task's link in whichever list it is on, and the message it is sending
/// (or, once woken, the message it received): 8 bytes per task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// Next task in the list (`NIL` at the end).
    pub next: TaskId,
    /// `msg` is an ownership handle.
    pub handle: bool,
    /// The message in transit.
    pub msg: Message,
}

impl Link {
    /// The message with its tag.
    pub fn tagged(&self) -> Tagged {
        Tagged { msg: self.msg, handle: self.handle }
    }
}

impl Default for Link {
    fn default() -> Self {
        Link { next: NIL, handle: false, msg: 0 }
    }
}

/// A FIFO of tasks linked through their [`Link`]s: O(1) push and pop. The last
/// task's `next` is never read (a walk stops at `tail`), so neither `push` nor
/// `pop` writes it: a few instructions less on every switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct List {
    head: TaskId,
    tail: TaskId,
}

impl Default for List {
    fn default() -> Self {
        List { head: NIL, tail: NIL }
    }
}

impl List {
    /// Append `t`.
    #[inline]
    pub fn push(&mut self, links: &mut [Link], t: TaskId) {
        // An empty list's tail is `NIL`, past every table: no link to update.
        match links.get_mut(self.tail as usize) {
            Some(tail) => tail.next = t,
            None => self.head = t,
        }
        self.tail = t;
    }

    /// Take the first task.
    #[inline]
    pub fn pop(&mut self, links: &[Link]) -> Option<TaskId> {
        let t = self.head;
        if t == self.tail {
            // One task, or none (both `NIL`).
            self.head = NIL;
            self.tail = NIL;
            return (t != NIL).then_some(t);
        }
        self.head = links.get(t as usize)?.next;
        Some(t)
    }

    /// `push(t)` then `pop()`, in one step: the head, `t` itself when the list is
    /// empty. With one task queued (a switch between two tasks) no link is read or
    /// written: `t` is all that is left.
    #[inline]
    pub fn push_pop(&mut self, links: &mut [Link], t: TaskId) -> Option<TaskId> {
        let h = self.head;
        if h == self.tail {
            if h == NIL {
                return Some(t);
            }
            self.head = t;
            self.tail = t;
            return Some(h);
        }
        self.push(links, t);
        self.pop(links)
    }

    /// The task after `cur` (`NIL` after the tail).
    fn after(&self, links: &[Link], cur: TaskId) -> TaskId {
        if cur == self.tail {
            NIL
        } else {
            links.get(cur as usize).map_or(NIL, |l| l.next)
        }
    }

    /// Unlink `t` wherever it is (O(n); only when a task dies while queued).
    pub fn remove(&mut self, links: &mut [Link], t: TaskId) {
        let mut prev = NIL;
        let mut cur = self.head;
        while cur != NIL {
            let next = self.after(links, cur);
            if cur == t {
                match links.get_mut(prev as usize) {
                    Some(p) => p.next = next,
                    None => self.head = next,
                }
                if self.tail == t {
                    self.tail = prev;
                }
                return;
            }
            prev = cur;
            cur = next;
        }
    }

    /// Whether no task is queued.
    pub fn is_empty(&self) -> bool {
        self.head == NIL
    }
}

/// One channel's header; its buffer is `cap` slots of the shared pool at `off`.
#[derive(Debug, Clone, Copy, Default)]
struct Channel {
    off: u16,
    cap: u8,
    head: u8,
    len: u8,
    closed: bool,
    /// Bit i: pool slot `off + i` holds a handle.
    handles: u32,
    senders: List,
    receivers: List,
}

impl Channel {
    /// Append `m` to the buffer (the caller checked `len < cap`). A plain value
    /// touches the handle tags only if some slot has one (a bit left from an
    /// earlier handle in this slot must be cleared).
    #[inline(always)]
    fn put(&mut self, pool: &mut [Message], m: Tagged) {
        let i = ring(self.head as usize + self.len as usize, self.cap);
        if let Some(x) = pool.get_mut(self.off as usize + i) {
            *x = m.msg;
        }
        if m.handle || self.handles != 0 {
            set_bit(&mut self.handles, i, m.handle);
        }
        self.len += 1;
    }

    /// Take the oldest message (the caller checked `len > 0`).
    #[inline(always)]
    fn take(&mut self, pool: &[Message]) -> Tagged {
        let i = self.head as usize;
        let m = Tagged { msg: pool.get(self.off as usize + i).copied().unwrap_or(0), handle: self.handles & (1 << (i & 31)) != 0 };
        self.head = ring(i + 1, self.cap) as u8;
        self.len -= 1;
        m
    }
}

/// Every channel of the kernel: headers plus one message pool, allocated once.
pub struct Channels<A: Allocator> {
    chans: Vec<Channel, A>,
    pool: Vec<Message, A>,
}

/// Most messages one channel can buffer (its handle tags are one `u32`).
pub const MAX_CAPACITY: usize = 32;

impl<A: Allocator + Clone> Channels<A> {
    /// Channels with the given capacities (0: rendezvous; at most [`MAX_CAPACITY`]).
    pub fn new_in(capacities: &[usize], alloc: A) -> Result<Self, OutOfMemory> {
        let mut chans = Vec::new_in(alloc.clone());
        chans.try_reserve_exact(capacities.len()).map_err(|_| OutOfMemory)?;
        let total: usize = capacities.iter().map(|&c| c.min(MAX_CAPACITY)).sum();
        let mut pool = Vec::new_in(alloc);
        pool.try_reserve_exact(total).map_err(|_| OutOfMemory)?;
        // (Within the room reserved just above: no growth path to panic in.)
        while pool.len() < total && pool.push_within_capacity(0).is_ok() {}
        let mut off = 0;
        for &c in capacities {
            let cap = c.min(MAX_CAPACITY);
            if chans.push_within_capacity(Channel { off: off as u16, cap: cap as u8, ..Channel::default() }).is_err() {
                return Err(OutOfMemory);
            }
            off += cap;
        }
        Ok(Channels { chans, pool })
    }

    /// Number of channels.
    pub fn len(&self) -> usize {
        self.chans.len()
    }

    /// Whether there are no channels.
    pub fn is_empty(&self) -> bool {
        self.chans.is_empty()
    }

    /// Send `m` on `ch`. `park: Some(task)` queues the task if the send cannot complete
    /// now; the returned `Wake` is a receiver that was handed the message.
    ///
    /// The common case, a buffered channel with room and nobody waiting to receive,
    /// is inlined into the caller (about 20 instructions on a Cortex-M); the others
    /// (full, rendezvous, closed, a waiting receiver) are one call away.
    #[inline]
    pub fn send(
        &mut self,
        ch: usize,
        m: Tagged,
        park: Option<TaskId>,
        links: &mut [Link],
    ) -> Result<(Progress<()>, Option<Wake>), TrySendError> {
        let Channels { chans, pool } = self;
        if let Some(c) = chans.get_mut(ch) {
            if !c.closed && c.receivers.is_empty() && c.len < c.cap {
                c.put(pool, m);
                return Ok((Progress::Done(()), None));
            }
        }
        self.send_slow(ch, m, park, links)
    }

    /// [`Channels::send`] when the message cannot simply be buffered.
    #[inline(never)]
    fn send_slow(
        &mut self,
        ch: usize,
        m: Tagged,
        park: Option<TaskId>,
        links: &mut [Link],
    ) -> Result<(Progress<()>, Option<Wake>), TrySendError> {
        let Channels { chans, pool } = self;
        let c = chans.get_mut(ch).ok_or(TrySendError::NoChannel(m))?;
        if c.closed {
            return Err(TrySendError::Closed(m));
        }
        if let Some(r) = c.receivers.pop(links) {
            // A receiver waits (so the buffer is empty): hand the message over.
            return Ok((Progress::Done(()), Some(Wake { task: r, completion: Completion::Received(m) })));
        }
        if c.len < c.cap {
            c.put(pool, m);
            return Ok((Progress::Done(()), None));
        }
        match park {
            None => Err(TrySendError::Full(m)),
            Some(t) => {
                if let Some(l) = links.get_mut(t as usize) {
                    l.msg = m.msg;
                    l.handle = m.handle;
                }
                c.senders.push(links, t);
                Ok((Progress::Parked, None))
            }
        }
    }

    /// Receive from `ch`. `park: Some(task)` queues the task if nothing can be
    /// received now; the returned `Wake` is a sender whose message was taken.
    ///
    /// As with [`Channels::send`], the common case (a buffered message and no blocked
    /// sender) is inlined into the caller, the others are one call away.
    #[inline]
    pub fn recv(
        &mut self,
        ch: usize,
        park: Option<TaskId>,
        links: &mut [Link],
    ) -> Result<(Progress<Tagged>, Option<Wake>), TryRecvError> {
        let Channels { chans, pool } = self;
        if let Some(c) = chans.get_mut(ch) {
            if c.len > 0 && c.senders.is_empty() {
                return Ok((Progress::Done(c.take(pool)), None));
            }
        }
        self.recv_slow(ch, park, links)
    }

    /// [`Channels::recv`] when the buffer is empty or a sender is blocked.
    #[inline(never)]
    fn recv_slow(
        &mut self,
        ch: usize,
        park: Option<TaskId>,
        links: &mut [Link],
    ) -> Result<(Progress<Tagged>, Option<Wake>), TryRecvError> {
        let Channels { chans, pool } = self;
        let c = chans.get_mut(ch).ok_or(TryRecvError::NoChannel)?;
        if c.len > 0 {
            let m = c.take(pool);
            // Room now: the first blocked sender's message moves into the buffer.
            let mut woke = None;
            if let Some(s) = c.senders.pop(links) {
                c.put(pool, links.get(s as usize).map_or(Tagged::default(), Link::tagged));
                woke = Some(Wake { task: s, completion: Completion::Sent });
            }
            return Ok((Progress::Done(m), woke));
        }
        if let Some(s) = c.senders.pop(links) {
            // Rendezvous: take the message straight from the waiting sender.
            let sm = links.get(s as usize).map_or(Tagged::default(), Link::tagged);
            return Ok((Progress::Done(sm), Some(Wake { task: s, completion: Completion::Sent })));
        }
        if c.closed {
            return Err(TryRecvError::Closed);
        }
        match park {
            None => Err(TryRecvError::Empty),
            Some(t) => {
                c.receivers.push(links, t);
                Ok((Progress::Parked, None))
            }
        }
    }

    /// Close `ch`: no more sends. Its waiters must then be woken with
    /// `Completion::Closed`: take them one by one with [`Channels::take_waiter`]
    /// (a blocked sender keeps its message). Buffered messages can still be received.
    pub fn close(&mut self, ch: usize) {
        if let Some(c) = self.chans.get_mut(ch) {
            c.closed = true;
        }
    }

    /// The next task waiting on `ch` (senders first), removed from its list.
    pub fn take_waiter(&mut self, ch: usize, links: &mut [Link]) -> Option<TaskId> {
        let c = self.chans.get_mut(ch)?;
        c.senders.pop(links).or_else(|| c.receivers.pop(links))
    }

    /// Take a task that is going away off every wait list.
    pub fn forget(&mut self, t: TaskId, links: &mut [Link]) {
        for c in self.chans.iter_mut() {
            c.senders.remove(links, t);
            c.receivers.remove(links, t);
        }
    }

    /// Messages buffered in `ch`.
    pub fn buffered(&self, ch: usize) -> usize {
        self.chans.get(ch).map_or(0, |c| c.len as usize)
    }

    /// Whether `ch` is closed.
    pub fn is_closed(&self, ch: usize) -> bool {
        self.chans.get(ch).is_some_and(|c| c.closed)
    }

    /// Bytes of RAM: headers and the message pool.
    pub fn ram_bytes(&self) -> usize {
        self.chans.capacity() * core::mem::size_of::<Channel>() + self.pool.capacity() * core::mem::size_of::<Message>()
    }
}

/// Position `i` of a ring of `cap` slots, for `i < 2 * cap` (the head, below `cap`, plus
/// a length or one): a compare and a subtraction, not a division — which would also
/// bring a division-by-zero panic path the invariant `len <= cap` leaves the compiler.
#[inline(always)]
fn ring(i: usize, cap: u8) -> usize {
    let cap = usize::from(cap);
    if i >= cap {
        i - cap
    } else {
        i
    }
}

/// Bit `i` (below [`MAX_CAPACITY`]) of `bits` set to `on`.
#[inline(always)]
fn set_bit(bits: &mut u32, i: usize, on: bool) {
    let b = 1 << (i & 31);
    *bits = (*bits & !b) | if on { b } else { 0 };
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use allocator_api2::alloc::Global;
    use std::vec::Vec as StdVec;

    fn v(m: Message) -> Tagged {
        Tagged::value(m)
    }

    fn setup(caps: &[usize]) -> (Channels<Global>, StdVec<Link>) {
        (Channels::new_in(caps, Global).expect("alloc"), std::vec![Link::default(); 8])
    }

    /// What `pop` yields until the list is empty.
    fn drain(l: &mut List, links: &[Link]) -> StdVec<TaskId> {
        core::iter::from_fn(|| l.pop(links)).collect()
    }

    #[test]
    fn push_pop_is_push_then_pop() {
        // Every queue of up to four tasks (the one pushed never queued), both ways.
        for len in 0..=4u8 {
            let mut one = List::default();
            let mut links = std::vec![Link::default(); 8];
            for t in 0..len {
                one.push(&mut links, t);
            }
            let mut two = one;
            let mut links2 = links.clone();
            let t = 7;
            let a = one.push_pop(&mut links, t);
            two.push(&mut links2, t);
            let b = two.pop(&links2);
            assert_eq!(a, b, "queue of {len}");
            assert_eq!(a, Some(if len == 0 { t } else { 0 }));
            assert_eq!(drain(&mut one, &links), drain(&mut two, &links2), "queue of {len}");
        }
    }

    #[test]
    fn header_and_link_are_small() {
        assert!(core::mem::size_of::<Channel>() <= 16);
        assert_eq!(core::mem::size_of::<Link>(), 8);
    }

    #[test]
    fn buffered_fifo_and_full() {
        let (mut c, mut l) = setup(&[2]);
        assert_eq!(c.send(0, v(1), None, &mut l), Ok((Progress::Done(()), None)));
        assert_eq!(c.send(0, v(2), None, &mut l), Ok((Progress::Done(()), None)));
        assert_eq!(c.send(0, v(3), None, &mut l), Err(TrySendError::Full(v(3))));
        assert_eq!(c.send(0, v(3), Some(7), &mut l), Ok((Progress::Parked, None)));
        // The parked sender's message moves into the buffer, and it is woken.
        assert_eq!(c.recv(0, None, &mut l), Ok((Progress::Done(v(1)), Some(Wake { task: 7, completion: Completion::Sent }))));
        assert_eq!(c.recv(0, None, &mut l), Ok((Progress::Done(v(2)), None)));
        assert_eq!(c.recv(0, None, &mut l), Ok((Progress::Done(v(3)), None)));
        assert_eq!(c.recv(0, None, &mut l), Err(TryRecvError::Empty));
    }

    #[test]
    fn rendezvous_hands_off_in_arrival_order() {
        let (mut c, mut l) = setup(&[0]);
        assert_eq!(c.send(0, v(9), None, &mut l), Err(TrySendError::Full(v(9))));
        assert_eq!(c.recv(0, Some(1), &mut l), Ok((Progress::Parked, None)));
        assert_eq!(c.recv(0, Some(2), &mut l), Ok((Progress::Parked, None)));
        let r1 = Some(Wake { task: 1, completion: Completion::Received(v(10)) });
        assert_eq!(c.send(0, v(10), None, &mut l), Ok((Progress::Done(()), r1)));
        let r2 = Some(Wake { task: 2, completion: Completion::Received(v(11)) });
        assert_eq!(c.send(0, v(11), Some(3), &mut l), Ok((Progress::Done(()), r2)));
        assert_eq!(c.send(0, v(12), Some(3), &mut l), Ok((Progress::Parked, None)));
        let s3 = Some(Wake { task: 3, completion: Completion::Sent });
        assert_eq!(c.recv(0, None, &mut l), Ok((Progress::Done(v(12)), s3)));
    }

    #[test]
    fn handles_keep_their_tag_through_the_buffer() {
        let (mut c, mut l) = setup(&[2]);
        let h = Tagged { msg: 5, handle: true };
        c.send(0, v(4), None, &mut l).expect("send");
        c.send(0, h, None, &mut l).expect("send");
        assert_eq!(c.recv(0, None, &mut l).map(|x| x.0), Ok(Progress::Done(v(4))));
        assert_eq!(c.recv(0, None, &mut l).map(|x| x.0), Ok(Progress::Done(h)));
    }

    #[test]
    fn a_plain_value_clears_the_handle_tag_its_slot_had() {
        // Capacity 1: every message goes through the same slot.
        let (mut c, mut l) = setup(&[1]);
        let h = Tagged { msg: 5, handle: true };
        c.send(0, h, None, &mut l).expect("send");
        assert_eq!(c.recv(0, None, &mut l).map(|x| x.0), Ok(Progress::Done(h)));
        c.send(0, v(6), None, &mut l).expect("send");
        assert_eq!(c.recv(0, None, &mut l).map(|x| x.0), Ok(Progress::Done(v(6))));
        // Through the slow path too: a parked sender's plain value moved into that slot.
        c.send(0, h, None, &mut l).expect("send");
        assert_eq!(c.send(0, v(7), Some(3), &mut l), Ok((Progress::Parked, None)));
        let s3 = Some(Wake { task: 3, completion: Completion::Sent });
        assert_eq!(c.recv(0, None, &mut l), Ok((Progress::Done(h), s3)));
        assert_eq!(c.recv(0, None, &mut l).map(|x| x.0), Ok(Progress::Done(v(7))));
    }

    #[test]
    fn close_wakes_waiters_and_drains() {
        let (mut c, mut l) = setup(&[1]);
        c.send(0, v(1), None, &mut l).expect("send");
        assert_eq!(c.send(0, v(2), Some(5), &mut l), Ok((Progress::Parked, None)));
        c.close(0);
        assert_eq!(c.take_waiter(0, &mut l), Some(5));
        assert_eq!(c.take_waiter(0, &mut l), None);
        assert_eq!(c.send(0, v(3), None, &mut l), Err(TrySendError::Closed(v(3))));
        assert_eq!(c.recv(0, None, &mut l).map(|x| x.0), Ok(Progress::Done(v(1))));
        assert_eq!(c.recv(0, Some(6), &mut l), Err(TryRecvError::Closed));
    }

    #[test]
    fn forgotten_tasks_are_not_woken() {
        let (mut c, mut l) = setup(&[0, 0]);
        for t in 1..=3 {
            c.recv(0, Some(t), &mut l).expect("park");
        }
        c.forget(2, &mut l);
        let got: StdVec<_> = (0..2).map(|i| c.send(0, v(i), None, &mut l).expect("send").1.map(|w| w.task)).collect();
        assert_eq!(got, [Some(1), Some(3)]);
        assert_eq!(c.send(1, v(0), None, &mut l), Err(TrySendError::Full(v(0))));
    }
}
