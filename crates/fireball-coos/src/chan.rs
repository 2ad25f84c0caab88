//! co_csp: bounded channels, the only way tasks talk. sched → **chan** → sched.
//!
//! A channel of capacity N buffers N messages; capacity 0 is a rendezvous (a
//! send completes only when a receiver takes the message). Blocked senders
//! and receivers wait in FIFO queues and are served in arrival order: a
//! message is *handed off* to the first waiting receiver, so a woken task
//! never has to race for it.
//!
//! One core method per direction, [`Channel::send`] and [`Channel::recv`],
//! serves every caller: `park: None` is the non-blocking `try_` form (the
//! message comes back in `TrySendError::Full`), `park: Some(task)` queues the
//! task, and the scheduler parks it — a wasm task on its `ch_send`/`ch_recv`
//! host call, a native task in its `Future::poll`. Completions of *other*
//! tasks (a woken receiver gets its message, a woken sender learns it was
//! taken) are reported through `wake`, which the scheduler turns into ready
//! tasks.
//!
//! ```text
//!            send/recv                 close()
//!   Open ───────────────► Open   Open ─────────► Closed: waiters woken with
//!    │ (buffer, queues)                          Completion::Closed; send → Closed(msg);
//!    └────────────────────────────────────────── recv drains the buffer, then Closed
//! ```

use allocator_api2::alloc::Allocator;

use crate::ring::Ring;
use crate::TaskId;
use fireball_wasm::OutOfMemory;

/// A message: an `i32` from a guest, or an ownership-registry handle (`own`).
pub type Message = u64;

/// How a parked operation ended, delivered to the task through the scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// The parked send's message was taken.
    Sent,
    /// The parked receive got a message.
    Received(Message),
    /// The channel was closed while the task waited.
    Closed,
}

/// A send that could not complete now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrySendError {
    /// No room (and no waiting receiver): the message is handed back.
    Full(Message),
    /// The channel is closed: the message is handed back.
    Closed(Message),
    /// Too many tasks already wait on this channel (the queue is sized for every task).
    QueueFull(Message),
}

/// A receive that could not complete now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing to receive.
    Empty,
    /// Closed and drained.
    Closed,
    /// Too many tasks already wait on this channel.
    QueueFull,
}

/// What a send or receive did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress<T> {
    /// Completed now.
    Done(T),
    /// The caller was queued (only with `park: Some(..)`); it will be woken with a `Completion`.
    Parked,
}

/// One channel: buffer plus wait queues, all allocated when it is created.
pub struct Channel<A: Allocator + Clone> {
    buf: Ring<Message, A>,
    senders: Ring<(TaskId, Message), A>,
    receivers: Ring<TaskId, A>,
    closed: bool,
    sends: u32,
    recvs: u32,
}

impl<A: Allocator + Clone> Channel<A> {
    /// A channel buffering `capacity` messages (0: rendezvous) that up to `waiters`
    /// tasks may block on at once, allocated from `alloc`.
    pub fn new_in(capacity: usize, waiters: usize, alloc: A) -> Result<Self, OutOfMemory> {
        Ok(Channel {
            buf: Ring::new_in(capacity, alloc.clone())?,
            senders: Ring::new_in(waiters, alloc.clone())?,
            receivers: Ring::new_in(waiters, alloc)?,
            closed: false,
            sends: 0,
            recvs: 0,
        })
    }

    /// Send `msg`. `park: Some(task)` queues the task if the send cannot complete.
    pub fn send(
        &mut self,
        msg: Message,
        park: Option<TaskId>,
        wake: &mut impl FnMut(TaskId, Completion),
    ) -> Result<Progress<()>, TrySendError> {
        if self.closed {
            return Err(TrySendError::Closed(msg));
        }
        if let Some(r) = self.receivers.pop() {
            // A receiver is waiting (so the buffer is empty): hand the message over.
            self.sends += 1;
            self.recvs += 1;
            wake(r, Completion::Received(msg));
            return Ok(Progress::Done(()));
        }
        if self.buf.push(msg).is_ok() {
            self.sends += 1;
            return Ok(Progress::Done(()));
        }
        match park {
            None => Err(TrySendError::Full(msg)),
            Some(t) => match self.senders.push((t, msg)) {
                Ok(()) => Ok(Progress::Parked),
                Err(_) => Err(TrySendError::QueueFull(msg)),
            },
        }
    }

    /// Receive. `park: Some(task)` queues the task if nothing can be received now.
    pub fn recv(
        &mut self,
        park: Option<TaskId>,
        wake: &mut impl FnMut(TaskId, Completion),
    ) -> Result<Progress<Message>, TryRecvError> {
        if let Some(m) = self.buf.pop() {
            // Room now: the first blocked sender's message moves into the buffer.
            if let Some((s, sm)) = self.senders.pop() {
                let _ = self.buf.push(sm);
                self.sends += 1;
                wake(s, Completion::Sent);
            }
            self.recvs += 1;
            return Ok(Progress::Done(m));
        }
        if let Some((s, sm)) = self.senders.pop() {
            // Rendezvous: take the message straight from the waiting sender.
            self.sends += 1;
            self.recvs += 1;
            wake(s, Completion::Sent);
            return Ok(Progress::Done(sm));
        }
        if self.closed {
            return Err(TryRecvError::Closed);
        }
        match park {
            None => Err(TryRecvError::Empty),
            Some(t) => match self.receivers.push(t) {
                Ok(()) => Ok(Progress::Parked),
                Err(_) => Err(TryRecvError::QueueFull),
            },
        }
    }

    /// Close: no more sends; every waiter is woken with `Completion::Closed`
    /// (blocked senders' messages are dropped with them). Buffered messages can still be received.
    pub fn close(&mut self, wake: &mut impl FnMut(TaskId, Completion)) {
        self.closed = true;
        while let Some((s, _)) = self.senders.pop() {
            wake(s, Completion::Closed);
        }
        while let Some(r) = self.receivers.pop() {
            wake(r, Completion::Closed);
        }
    }

    /// Forget a task that is going away (terminated or unloaded while it waited).
    pub fn forget(&mut self, task: TaskId) {
        self.senders.retain(|&(t, _)| t != task);
        self.receivers.retain(|&t| t != task);
    }

    /// Whether `close` was called.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Messages buffered now.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether no message is buffered.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Completed sends and receives.
    pub fn counts(&self) -> (u32, u32) {
        (self.sends, self.recvs)
    }

    /// Bytes of RAM this channel holds (buffer and wait queues).
    pub fn ram_bytes(&self) -> usize {
        core::mem::size_of::<Self>() + self.buf.ram_bytes() + self.senders.ram_bytes() + self.receivers.ram_bytes()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use allocator_api2::alloc::Global;
    use std::vec::Vec as StdVec;

    fn chan(cap: usize) -> Channel<Global> {
        Channel::new_in(cap, 4, Global).expect("alloc")
    }

    #[test]
    fn buffered_fifo_and_full() {
        let mut c = chan(2);
        let mut woken = StdVec::new();
        let mut w = |t, c| woken.push((t, c));
        assert_eq!(c.send(1, None, &mut w), Ok(Progress::Done(())));
        assert_eq!(c.send(2, None, &mut w), Ok(Progress::Done(())));
        assert_eq!(c.send(3, None, &mut w), Err(TrySendError::Full(3)));
        assert_eq!(c.send(3, Some(7), &mut w), Ok(Progress::Parked));
        assert_eq!(c.recv(None, &mut w), Ok(Progress::Done(1)));
        // The parked sender's message moved into the buffer, and it was told.
        assert_eq!(c.recv(None, &mut w), Ok(Progress::Done(2)));
        assert_eq!(c.recv(None, &mut w), Ok(Progress::Done(3)));
        assert_eq!(c.recv(None, &mut w), Err(TryRecvError::Empty));
        assert_eq!(woken, [(7, Completion::Sent)]);
    }

    #[test]
    fn rendezvous_hands_off_in_arrival_order() {
        let mut c = chan(0);
        let mut woken = StdVec::new();
        let mut w = |t, c| woken.push((t, c));
        assert_eq!(c.send(9, None, &mut w), Err(TrySendError::Full(9)));
        assert_eq!(c.recv(Some(1), &mut w), Ok(Progress::Parked));
        assert_eq!(c.recv(Some(2), &mut w), Ok(Progress::Parked));
        assert_eq!(c.send(10, None, &mut w), Ok(Progress::Done(())));
        assert_eq!(c.send(11, Some(3), &mut w), Ok(Progress::Done(())));
        assert_eq!(c.send(12, Some(3), &mut w), Ok(Progress::Parked));
        assert_eq!(c.recv(None, &mut w), Ok(Progress::Done(12)));
        assert_eq!(woken, [(1, Completion::Received(10)), (2, Completion::Received(11)), (3, Completion::Sent)]);
    }

    #[test]
    fn close_wakes_waiters_and_drains() {
        let mut c = chan(1);
        let mut woken = StdVec::new();
        let mut w = |t, c| woken.push((t, c));
        assert_eq!(c.send(1, None, &mut w), Ok(Progress::Done(())));
        assert_eq!(c.send(2, Some(5), &mut w), Ok(Progress::Parked));
        c.close(&mut w);
        assert_eq!(c.send(3, None, &mut w), Err(TrySendError::Closed(3)));
        assert_eq!(c.recv(None, &mut w), Ok(Progress::Done(1)));
        assert_eq!(c.recv(Some(6), &mut w), Err(TryRecvError::Closed));
        assert_eq!(woken, [(5, Completion::Closed)]);
    }

    #[test]
    fn forgotten_tasks_are_not_woken() {
        let mut c = chan(0);
        let mut woken = StdVec::new();
        let mut w = |t, c| woken.push((t, c));
        assert_eq!(c.recv(Some(1), &mut w), Ok(Progress::Parked));
        assert_eq!(c.recv(Some(2), &mut w), Ok(Progress::Parked));
        c.forget(1);
        assert_eq!(c.send(5, None, &mut w), Ok(Progress::Done(())));
        assert_eq!(woken, [(2, Completion::Received(5))]);
    }
}
