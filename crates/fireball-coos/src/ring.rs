//! A fixed-capacity FIFO over one allocation made up front (channel buffers
//! and wait queues): after creation nothing allocates, so a full queue is an
//! answer (`Err(value)`), never an allocation failure.

use allocator_api2::alloc::Allocator;
use allocator_api2::vec::Vec;

use fireball_wasm::OutOfMemory;

/// FIFO of at most `capacity` items.
pub struct Ring<T: Copy + Default, A: Allocator> {
    slots: Vec<T, A>,
    head: usize,
    len: usize,
}

impl<T: Copy + Default, A: Allocator> Ring<T, A> {
    /// A ring of `capacity` slots allocated from `alloc`.
    pub fn new_in(capacity: usize, alloc: A) -> Result<Self, OutOfMemory> {
        let mut slots = Vec::new_in(alloc);
        slots.try_reserve_exact(capacity).map_err(|_| OutOfMemory)?;
        slots.resize(capacity, T::default());
        Ok(Ring { slots, head: 0, len: 0 })
    }

    /// Items queued.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether no more items fit.
    pub fn is_full(&self) -> bool {
        self.len == self.slots.len()
    }

    /// Append at the back; hands the item back when full.
    pub fn push(&mut self, x: T) -> Result<(), T> {
        if self.is_full() {
            return Err(x);
        }
        let cap = self.slots.len();
        self.slots[(self.head + self.len) % cap] = x;
        self.len += 1;
        Ok(())
    }

    /// Take from the front.
    pub fn pop(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let x = self.slots[self.head];
        self.head = (self.head + 1) % self.slots.len();
        self.len -= 1;
        Some(x)
    }

    /// Remove every item for which `f` is true, keeping the order of the rest.
    pub fn retain(&mut self, mut f: impl FnMut(&T) -> bool) {
        let n = self.len;
        for _ in 0..n {
            if let Some(x) = self.pop() {
                if f(&x) {
                    let _ = self.push(x);
                }
            }
        }
    }

    /// Bytes this ring holds.
    pub fn ram_bytes(&self) -> usize {
        self.slots.capacity() * core::mem::size_of::<T>()
    }
}
