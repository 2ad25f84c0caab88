//! offload: bulk transfers with a device — a SPI flash, I²C registers, a UART,
//! an accelerator — that may complete later.
//! guest ──► **offload** ──► `sys_read` / `sys_write` ──► runtime: router (grants) ──► the device.
//!
//! A transfer the device completes later parks this module until it does
//! (the other modules run meanwhile), and the buffer is lent to the device
//! for the duration: the borrow checker already keeps this module from
//! touching it, and the runtime's ownership table keeps everyone else away.
//! The result is the number of bytes moved, or [`Error::Denied`] (the
//! manifest does not grant the endpoint), [`Error::Busy`] (the device has
//! another transfer pending), [`Error::Timeout`] (it did not complete in time
//! and was abandoned), or the device's own error.
//!
//! ```no_run
//! // A CRC-32 accelerator: feed it a block (the call returns when it is done), read the result.
//! let block = [0x31u8, 0x32, 0x33];
//! fireball_guest::offload::write("hal/crc/0", &block)?;
//! let mut crc = [0u8; 4];
//! fireball_guest::offload::read("hal/crc/0", &mut crc)?;
//! # Ok::<(), fireball_guest::Error>(())
//! ```

use crate::{sys, Error};

/// Reads from the device at `uri` (`"hal/flash/0"`, at most 64 bytes) into
/// `buf`: the bytes read.
pub fn read(uri: &str, buf: &mut [u8]) -> Result<usize, Error> {
    let n = sys::sys_read(uri, buf).ok_or(Error::InvalidArgument)?;
    Ok(Error::check(n)? as usize)
}

/// Writes `data` to the device at `uri`: the bytes written.
pub fn write(uri: &str, data: &[u8]) -> Result<usize, Error> {
    let n = sys::sys_write(uri, data).ok_or(Error::InvalidArgument)?;
    Ok(Error::check(n)? as usize)
}
