//! co_value: who owns which value or buffer. chan moves **handles**; this
//! table says whose they are.
//!
//! A buffer is copied in once, when it is created; after that only its
//! handle travels. Sending a handle over a channel hands it to the kernel
//! (in flight: nobody may use it), and the receiver becomes its owner when it
//! takes the message — the sender's copy of the handle is dead from the
//! moment it sent it. Using a handle you do not own is an error, never a
//! crash; a stale handle (its slot reused) is caught by a generation count.
//! When a task dies, everything it owns is released, so nothing leaks.
//!
//! A handle can also be **lent** to a device for the length of an offloaded
//! transfer (`sys_read`/`sys_write`): while lent, nobody owns it — its owner
//! can neither send nor release it — and only the kernel gives it back, when
//! the transfer completes ([`Registry::give_back`]) or ends otherwise
//! ([`Registry::reclaim`]: the guest died, the call timed out).
//!
//! ```text
//!   create ──► Owned(task) ── send ──► InFlight ── recv ──► Owned(receiver)
//!               │ │  ▲  ▲                  │
//!               │ │  │  └─── transfer ─────┘ (channel closed: released)
//!               │ │  └──── give_back ───┐
//!               │ └── lend ──► Lent (a device has it) ── reclaim ──► Free
//!       release ▼
//!             Free
//! ```

use allocator_api2::alloc::Allocator;
use allocator_api2::boxed::Box;
use allocator_api2::vec::Vec;

use crate::TaskId;
use fireball_wasm::OutOfMemory;

/// A handle: slot index in the low 16 bits, the slot's 8-bit generation above
/// (a guest sees a positive `i32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Handle(pub u32);

impl Handle {
    /// Slot `index` (below 0xffff) at generation `gen`, stored as `index + 1` so that
    /// no handle is 0: guests are told a handle is > 0 (and errors < 0).
    fn new(index: usize, gen: u8) -> Handle {
        Handle(((gen as u32) << 16) | (index as u32 + 1))
    }
    /// The slot (`usize::MAX`, which no table has, for a forged 0).
    fn index(self) -> usize {
        ((self.0 & 0xffff) as usize).wrapping_sub(1)
    }
    fn gen(self) -> u8 {
        (self.0 >> 16) as u8
    }
}

/// Why an ownership operation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OwnError {
    /// The table is full (its capacity is fixed by the plan).
    Full,
    /// The buffer's bytes did not fit the registry's pool.
    OutOfMemory,
    /// No such handle, or a stale one whose slot was reused.
    BadHandle,
    /// The caller does not own the handle (for example: it already sent it).
    NotOwner,
}

impl OwnError {
    /// The negative code a guest import returns for this error.
    pub fn code(self) -> i32 {
        match self {
            OwnError::Full => -2,
            OwnError::OutOfMemory => -3,
            OwnError::BadHandle => -4,
            OwnError::NotOwner => -5,
        }
    }
}

const FREE: TaskId = 0xff;
const IN_FLIGHT: TaskId = 0xfe;
const LENT: TaskId = 0xfd;

/// One table entry: 8 bytes. A buffer's bytes are held in `Registry::buffers` only while it lives.
#[derive(Clone, Copy)]
struct Slot {
    owner: TaskId,
    gen: u8,
    /// Whether the entry is a buffer (its bytes are in `buffers`).
    buffer: bool,
    value: u32,
}

/// The ownership table: `capacity` slots (64 by default) of 8 bytes, plus the
/// bytes of the buffers alive now, all allocated from `A`.
pub struct Registry<A: Allocator + Clone> {
    slots: Vec<Slot, A>,
    buffers: Vec<(u8, Box<[u8], A>), A>,
    alloc: A,
    live: usize,
}

impl<A: Allocator + Clone> Registry<A> {
    /// A table of `capacity` entries; buffers' bytes come from `alloc`.
    pub fn new_in(capacity: usize, alloc: A) -> Result<Self, OutOfMemory> {
        let capacity = capacity.min(256);
        let mut slots = Vec::new_in(alloc.clone());
        slots.try_reserve_exact(capacity).map_err(|_| OutOfMemory)?;
        slots.resize(capacity, Slot { owner: FREE, gen: 0, buffer: false, value: 0 });
        Ok(Registry { slots, buffers: Vec::new_in(alloc.clone()), alloc, live: 0 })
    }

    fn take_slot(&mut self) -> Result<usize, OwnError> {
        self.slots.iter().position(|s| s.owner == FREE).ok_or(OwnError::Full)
    }

    fn slot(&self, h: Handle) -> Result<&Slot, OwnError> {
        match self.slots.get(h.index()) {
            Some(s) if s.owner != FREE && s.gen == h.gen() => Ok(s),
            _ => Err(OwnError::BadHandle),
        }
    }

    fn owned_slot(&mut self, h: Handle, who: TaskId) -> Result<&mut Slot, OwnError> {
        let s = self.slot(h)?;
        if s.owner != who {
            return Err(OwnError::NotOwner);
        }
        Ok(&mut self.slots[h.index()])
    }

    /// Register an owned value.
    pub fn create_value(&mut self, owner: TaskId, value: u32) -> Result<Handle, OwnError> {
        let i = self.take_slot()?;
        let s = &mut self.slots[i];
        s.owner = owner;
        s.value = value;
        s.buffer = false;
        self.live += 1;
        Ok(Handle::new(i, s.gen))
    }

    /// Register a buffer holding a copy of `data` (the one copy a transfer costs).
    /// Out of line, so `scripts/panic-paths.sh` can name it: `extend_from_slice` keeps
    /// its growth path although `try_reserve_exact` has made room just before (a
    /// byte-by-byte `push_within_capacity` would drop it, at ten times the copy).
    #[inline(never)]
    pub fn create_buffer(&mut self, owner: TaskId, data: &[u8]) -> Result<Handle, OwnError> {
        let i = self.take_slot()?;
        let len = u32::try_from(data.len()).map_err(|_| OwnError::OutOfMemory)?;
        let mut bytes = Vec::new_in(self.alloc.clone());
        bytes.try_reserve_exact(data.len()).map_err(|_| OwnError::OutOfMemory)?;
        bytes.extend_from_slice(data);
        self.buffers.try_reserve(1).map_err(|_| OwnError::OutOfMemory)?;
        self.buffers.push_within_capacity((i as u8, bytes.into_boxed_slice())).map_err(|_| OwnError::OutOfMemory)?;
        let s = self.slots.get_mut(i).ok_or(OwnError::Full)?;
        s.owner = owner;
        s.value = len;
        s.buffer = true;
        self.live += 1;
        Ok(Handle::new(i, s.gen))
    }

    /// The owner hands the handle to the kernel for a channel send: from now on nobody may use it.
    pub fn send(&mut self, h: Handle, from: TaskId) -> Result<(), OwnError> {
        self.owned_slot(h, from)?.owner = IN_FLIGHT;
        Ok(())
    }

    /// The receiver of an in-flight handle becomes its owner.
    pub fn receive(&mut self, h: Handle, to: TaskId) -> Result<(), OwnError> {
        self.owned_slot(h, IN_FLIGHT)?.owner = to;
        Ok(())
    }

    /// Direct transfer between two tasks (no channel).
    pub fn transfer(&mut self, h: Handle, from: TaskId, to: TaskId) -> Result<(), OwnError> {
        self.owned_slot(h, from)?.owner = to;
        Ok(())
    }

    /// The value (or a buffer's length) behind a handle the caller owns.
    pub fn value(&self, h: Handle, who: TaskId) -> Result<u32, OwnError> {
        let s = self.slot(h)?;
        if s.owner != who {
            return Err(OwnError::NotOwner);
        }
        Ok(s.value)
    }

    /// The bytes of a buffer the caller owns.
    pub fn bytes(&self, h: Handle, who: TaskId) -> Result<&[u8], OwnError> {
        let s = self.slot(h)?;
        if s.owner != who {
            return Err(OwnError::NotOwner);
        }
        if !s.buffer {
            return Err(OwnError::BadHandle);
        }
        let i = h.index() as u8;
        self.buffers.iter().find(|(j, _)| *j == i).map(|(_, b)| &b[..]).ok_or(OwnError::BadHandle)
    }

    /// Release a handle the caller owns (its buffer is freed).
    pub fn release(&mut self, h: Handle, who: TaskId) -> Result<(), OwnError> {
        self.owned_slot(h, who)?;
        self.free(h.index());
        Ok(())
    }

    fn free(&mut self, i: usize) {
        let Some(s) = self.slots.get_mut(i) else { return };
        s.owner = FREE;
        s.gen = s.gen.wrapping_add(1);
        if s.buffer {
            s.buffer = false;
            self.buffers.retain(|(j, _)| *j as usize != i);
            if self.buffers.is_empty() {
                // The list grows as buffers are created; with none left it gives its
                // block back, so the kernel's partition returns to its baseline.
                self.buffers = Vec::new_in(self.alloc.clone());
            }
        }
        self.live -= 1;
    }

    /// Bytes of RAM: the table, plus the bytes of live buffers.
    pub fn ram_bytes(&self) -> usize {
        self.slots.capacity() * core::mem::size_of::<Slot>()
            + self.buffers.capacity() * core::mem::size_of::<(u8, Box<[u8], A>)>()
            + self.buffers.iter().map(|(_, b)| b.len()).sum::<usize>()
    }

    /// Release everything `owner` owns (it died or was unloaded); returns how many.
    pub fn release_all(&mut self, owner: TaskId) -> usize {
        let mut n = 0;
        for i in 0..self.slots.len() {
            if self.slots.get(i).is_some_and(|s| s.owner == owner) {
                self.free(i);
                n += 1;
            }
        }
        n
    }

    /// Lend a handle `from` owns to a device: until [`Registry::give_back`] or
    /// [`Registry::reclaim`], nobody owns it (sending, reading or releasing it fails with `NotOwner`).
    pub fn lend(&mut self, h: Handle, from: TaskId) -> Result<(), OwnError> {
        self.owned_slot(h, from)?.owner = LENT;
        Ok(())
    }

    /// A lent handle's transfer completed: `to` owns it again.
    pub fn give_back(&mut self, h: Handle, to: TaskId) -> Result<(), OwnError> {
        self.owned_slot(h, LENT)?.owner = to;
        Ok(())
    }

    /// A lent handle's transfer ended without its owner (it died, or the call
    /// was abandoned): the entry, and a buffer's bytes, are freed.
    pub fn reclaim(&mut self, h: Handle) -> Result<(), OwnError> {
        self.release(h, LENT)
    }

    /// Entries lent to devices now.
    pub fn lent(&self) -> usize {
        self.owned_by(LENT)
    }

    /// Release a handle still in flight (its channel was closed or dropped with it inside).
    pub fn release_in_flight(&mut self, h: Handle) -> Result<(), OwnError> {
        self.release(h, IN_FLIGHT)
    }

    /// The allocator the table and the buffers' bytes come from.
    pub fn allocator(&self) -> &A {
        &self.alloc
    }

    /// Entries in use.
    pub fn live(&self) -> usize {
        self.live
    }

    /// Entries `owner` holds.
    pub fn owned_by(&self, owner: TaskId) -> usize {
        self.slots.iter().filter(|s| s.owner == owner).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use allocator_api2::alloc::Global;

    #[test]
    fn ownership_moves_with_the_message() {
        let mut r = Registry::new_in(4, Global).expect("alloc");
        let h = r.create_buffer(1, b"sensor frame").expect("create");
        assert_eq!(r.bytes(h, 1), Ok(&b"sensor frame"[..]));
        r.send(h, 1).expect("send");
        // In flight: the sender's handle is dead, and nobody else has it yet.
        assert_eq!(r.bytes(h, 1), Err(OwnError::NotOwner));
        assert_eq!(r.release(h, 1), Err(OwnError::NotOwner));
        r.receive(h, 2).expect("receive");
        assert_eq!(r.bytes(h, 2), Ok(&b"sensor frame"[..]));
        assert_eq!(r.send(h, 1), Err(OwnError::NotOwner));
        r.release(h, 2).expect("release");
        assert_eq!(r.bytes(h, 2), Err(OwnError::BadHandle));
        assert_eq!(r.live(), 0);
    }

    /// Guests are told a handle is > 0 (errors < 0): the first slot's is not 0, and
    /// neither 0 nor the largest index's neighbours name a slot.
    #[test]
    fn handles_are_positive_and_zero_is_no_handle() {
        let mut r = Registry::new_in(4, Global).expect("alloc");
        let first = r.create_buffer(1, b"x").expect("create");
        assert_eq!(first.index(), 0);
        assert!(first.0 as i32 > 0, "{:#x}", first.0);
        for forged in [Handle(0), Handle(0xffff), Handle(5)] {
            assert_eq!(r.bytes(forged, 1), Err(OwnError::BadHandle), "{:#x}", forged.0);
        }
        assert_eq!(r.bytes(first, 1), Ok(&b"x"[..]));
    }

    #[test]
    fn an_entry_is_eight_bytes() {
        assert_eq!(core::mem::size_of::<Slot>(), 8);
    }

    #[test]
    fn stale_handles_are_caught_and_capacity_is_fixed() {
        let mut r = Registry::new_in(2, Global).expect("alloc");
        let a = r.create_value(1, 10).expect("a");
        r.release(a, 1).expect("release");
        let b = r.create_value(1, 20).expect("b");
        assert_eq!(a.index(), b.index());
        assert_eq!(r.value(a, 1), Err(OwnError::BadHandle));
        assert_eq!(r.value(b, 1), Ok(20));
        r.create_value(3, 30).expect("c");
        assert_eq!(r.create_value(3, 40), Err(OwnError::Full));
    }

    #[test]
    fn a_lent_buffer_is_nobodys_until_the_device_gives_it_back() {
        let mut r = Registry::new_in(4, Global).expect("alloc");
        let h = r.create_buffer(1, b"page").expect("create");
        r.lend(h, 1).expect("lend");
        assert_eq!(r.lent(), 1);
        // Its owner can neither send, read nor free it while the device has it; nor can anyone else.
        assert_eq!(r.send(h, 1), Err(OwnError::NotOwner));
        assert_eq!(r.release(h, 1), Err(OwnError::NotOwner));
        assert_eq!(r.bytes(h, 1), Err(OwnError::NotOwner));
        assert_eq!(r.lend(h, 1), Err(OwnError::NotOwner));
        assert_eq!(r.give_back(h, 2), Ok(()), "the kernel returns it to the task it names");
        assert_eq!(r.bytes(h, 2), Ok(&b"page"[..]));
        // Lent again, then the borrower is gone: the kernel reclaims it, nothing leaks.
        r.lend(h, 2).expect("lend");
        assert_eq!(r.release_all(2), 0, "a dead owner's release_all does not touch what is lent");
        r.reclaim(h).expect("reclaim");
        assert_eq!((r.live(), r.lent()), (0, 0));
        assert_eq!(r.reclaim(h), Err(OwnError::BadHandle));
    }

    #[test]
    fn a_dead_task_leaks_nothing() {
        let mut r = Registry::new_in(8, Global).expect("alloc");
        for i in 0..5 {
            r.create_buffer(7, &[i; 16]).expect("create");
        }
        let keep = r.create_value(8, 1).expect("other task");
        assert_eq!(r.release_all(7), 5);
        assert_eq!(r.live(), 1);
        assert_eq!(r.value(keep, 8), Ok(1));
    }
}
