//! buffer: byte buffers the kernel owns, moved between modules over channels.
//! [`Buffer::create`] (copy in) ──► [`Buffer::send`] (ownership moves) ──►
//! [`Buffer::recv`] in the receiver ──► [`Buffer::read`] (copy out) ──► drop (release).
//!
//! A buffer lives in the kernel's ownership registry, not in either guest's
//! memory; a handle names it, and only its owner may read, send or release
//! it. Ownership follows the handle as the type system says:
//!
//! ```text
//!   create / recv ──► Buffer (owned) ──send Ok──► gone (the receiver owns it)
//!                       │    ▲    │
//!                       │    └────┘ send Err: handed back in SendError
//!                       └──drop / release──► freed
//! ```

use core::fmt;
use core::mem::ManuallyDrop;

use crate::{error_codes, sys};

error_codes! {
    /// Why a buffer operation failed: the kernel's ownership codes, which
    /// the `buf_*` imports return instead of the [`Error`](crate::Error)
    /// table (`FB_BUF_ERR_*` in `include/fireball.h`).
    ///
    /// | code | variant | meaning |
    /// |---|---|---|
    /// | -1 | `Closed` | the channel is closed or the port not granted (logged); for a read, a destination outside memory |
    /// | -2 | `Full` | the ownership table is full |
    /// | -3 | `OutOfMemory` | the bytes do not fit the kernel's buffer pool |
    /// | -4 | `BadHandle` | no such handle, or a stale one |
    /// | -5 | `NotOwner` | this module does not own the handle (it sent it) |
    pub enum BufferError {
        /// The channel is closed or the port not granted (the runtime logs
        /// that); for a read, a destination outside the guest's memory.
        Closed = -1, "channel closed or port not granted";
        /// The kernel's ownership table is full.
        Full = -2, "ownership table full";
        /// The bytes do not fit the kernel's buffer pool.
        OutOfMemory = -3, "out of buffer memory";
        /// No such handle, or a stale one whose slot was reused.
        BadHandle = -4, "bad handle";
        /// This module does not own the handle (for example: it sent it).
        NotOwner = -5, "not the owner";
    }
}

/// A kernel-owned byte buffer this module owns; released when dropped.
#[derive(Debug, PartialEq, Eq)]
pub struct Buffer {
    /// The kernel's handle, > 0.
    handle: i32,
}

impl Buffer {
    /// Copies `data` into a new kernel buffer owned by this module.
    ///
    /// ```no_run
    /// let frame = fireball_guest::Buffer::create(b"hello")?;
    /// frame.send(1).map_err(|e| e.error)?;
    /// # Ok::<(), fireball_guest::BufferError>(())
    /// ```
    pub fn create(data: &[u8]) -> Result<Buffer, BufferError> {
        let handle = BufferError::check(sys::buf_create(data))?;
        Ok(Buffer { handle: handle as i32 })
    }

    /// Waits for a buffer on channel port `port` (blocks; other tasks run
    /// meanwhile) and takes ownership of it.
    pub fn recv(port: u8) -> Result<Buffer, BufferError> {
        let handle = BufferError::check(sys::buf_recv(i32::from(port)))?;
        Ok(Buffer { handle: handle as i32 })
    }

    /// Moves the buffer to whoever receives on port `port`. On success this
    /// module no longer owns it; on failure it is handed back, still owned,
    /// in the [`SendError`].
    pub fn send(self, port: u8) -> Result<(), SendError> {
        let this = ManuallyDrop::new(self);
        match BufferError::check(sys::buf_send(i32::from(port), this.handle)) {
            Ok(_) => Ok(()),
            Err(error) => Err(SendError { error, buffer: ManuallyDrop::into_inner(this) }),
        }
    }

    /// Copies the buffer's first `min(len, dst.len())` bytes into `dst` and
    /// returns its full length: more than `dst.len()` means the copy was
    /// cut. `read(&mut [])` asks for the length alone.
    pub fn read(&self, dst: &mut [u8]) -> Result<usize, BufferError> {
        Ok(BufferError::check(sys::buf_read(self.handle, dst))? as usize)
    }

    /// Frees the buffer now, with the kernel's answer (dropping it does the
    /// same and ignores the answer).
    pub fn release(self) -> Result<(), BufferError> {
        let this = ManuallyDrop::new(self);
        BufferError::check(sys::buf_release(this.handle)).map(|_| ())
    }

    /// The kernel's handle (still owned by this value).
    pub fn handle(&self) -> i32 {
        self.handle
    }

    /// Gives up the value without releasing the buffer: its handle, for a
    /// later [`Buffer::from_handle`] or a raw channel message.
    pub fn into_handle(self) -> i32 {
        ManuallyDrop::new(self).handle
    }

    /// Takes charge of a handle obtained otherwise. Nothing is unsafe about
    /// a wrong one: the kernel checks every handle and its owner, so the
    /// calls fail with [`BufferError::BadHandle`] or [`BufferError::NotOwner`].
    pub fn from_handle(handle: i32) -> Buffer {
        Buffer { handle }
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        let _ = sys::buf_release(self.handle);
    }
}

/// [`Buffer::send`] failed: why, and the buffer, still this module's.
#[derive(Debug, PartialEq, Eq)]
pub struct SendError {
    /// Why the send failed.
    pub error: BufferError,
    /// The buffer, handed back.
    pub buffer: Buffer,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sending buffer {}: {}", self.buffer.handle, self.error)
    }
}

impl core::error::Error for SendError {}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    #[test]
    fn buffer_codes_are_the_kernels() {
        let codes: [i32; 5] = core::array::from_fn(|i| BufferError::ALL[i].code());
        assert_eq!(codes, [-1, -2, -3, -4, -5]);
        assert_eq!(BufferError::from_code(-4), Some(BufferError::BadHandle));
        assert_eq!(BufferError::from_code(-6), Some(BufferError::Other(-6)));
        assert_eq!(BufferError::from_code(7), None);
        assert_eq!(BufferError::check(3), Ok(3));
    }

    /// The same codes as `OwnError::code` in the kernel, read from its source.
    #[test]
    fn codes_match_the_kernels_registry() {
        let source = include_str!("../../fireball-coos/src/own.rs");
        for (variant, e) in [
            ("Full", BufferError::Full),
            ("OutOfMemory", BufferError::OutOfMemory),
            ("BadHandle", BufferError::BadHandle),
            ("NotOwner", BufferError::NotOwner),
        ] {
            let line = std::format!("OwnError::{variant} => {},", e.code());
            assert!(source.contains(&line), "fireball-coos own.rs lacks {line:?}");
        }
    }
}
