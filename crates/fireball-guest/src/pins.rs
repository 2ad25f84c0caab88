//! pins: GPIO pins, I²C and SPI buses, as typed key-value requests to
//! `hal/gpio/<n>`, `hal/i2c/<n>`, `hal/spi/<n>`.
//! guest ──► **pins** ──► [`request`] ──► `sys_request` ──► runtime: router (grants) ──► device.
//!
//! | function | request | reply |
//! |---|---|---|
//! | [`gpio_read`] | `READ {PIN}` | `{LEVEL}` |
//! | [`gpio_write`] | `WRITE {PIN, LEVEL}` | — |
//! | [`i2c_write`] | `WRITE {ADDRESS, DATA}` | — |
//! | [`i2c_write_read`] | `TRANSFER {ADDRESS, DATA, LEN}` | `{DATA}` |
//! | [`spi_transfer`] | `TRANSFER {DATA}` | `{DATA}`, as long |
//!
//! `include/fireball_hal.h` has the same for C. A transfer moves at most
//! [`op::MAX_TRANSFER`] bytes ([`Error::TooLong`] past that, before anything is sent).

use crate::router::{find, key, op, request, Message};
use crate::Error;

/// Bytes a request with one full transfer needs.
const MSG: usize = 24 + op::MAX_TRANSFER;

fn op_message(operation: u32) -> Result<Message<MSG>, Error> {
    let mut m = Message::new();
    m.u32(op::KEY, operation)?;
    Ok(m)
}

fn check_len(n: usize) -> Result<u32, Error> {
    if n > op::MAX_TRANSFER {
        return Err(Error::TooLong);
    }
    Ok(n as u32)
}

/// The level of pin `pin` of the GPIO device at `uri` (`"hal/gpio/0"`): `true` = high.
pub fn gpio_read(uri: &str, pin: u8) -> Result<bool, Error> {
    let mut m = op_message(op::READ)?;
    m.u32(key::PIN, u32::from(pin))?;
    let mut reply = [0u8; 8];
    let r = request(uri, m.as_bytes(), &mut reply)?;
    find(r, key::LEVEL, 0x01).map(|b| b == [1]).ok_or(Error::BadMessage)
}

/// Drives pin `pin` of the GPIO device at `uri` high (`true`) or low.
pub fn gpio_write(uri: &str, pin: u8, high: bool) -> Result<(), Error> {
    let mut m = op_message(op::WRITE)?;
    m.u32(key::PIN, u32::from(pin))?.bool(key::LEVEL, high)?;
    request(uri, m.as_bytes(), &mut [0u8; 4]).map(|_| ())
}

/// Writes `data` to the I²C target `address` (7-bit) on the bus at `uri` (`"hal/i2c/0"`).
pub fn i2c_write(uri: &str, address: u8, data: &[u8]) -> Result<(), Error> {
    check_len(data.len())?;
    let mut m = op_message(op::WRITE)?;
    m.u32(key::ADDRESS, u32::from(address))?.bytes(key::DATA, data)?;
    request(uri, m.as_bytes(), &mut [0u8; 4]).map(|_| ())
}

/// Writes `write` to the I²C target `address`, then (repeated start) fills
/// `read`: the usual "read register".
pub fn i2c_write_read(uri: &str, address: u8, write: &[u8], read: &mut [u8]) -> Result<(), Error> {
    check_len(write.len())?;
    let n = check_len(read.len())?;
    let mut m = op_message(op::TRANSFER)?;
    m.u32(key::ADDRESS, u32::from(address))?.bytes(key::DATA, write)?.u32(key::LEN, n)?;
    let mut reply = [0u8; 8 + op::MAX_TRANSFER];
    let r = request(uri, m.as_bytes(), &mut reply)?;
    let data = find(r, key::DATA, 0x06).ok_or(Error::BadMessage)?;
    read.get_mut(..data.len()).ok_or(Error::TooLong)?.copy_from_slice(data);
    Ok(())
}

/// Exchanges `buf` with the SPI device at `uri` (`"hal/spi/0"`): full duplex, in place.
pub fn spi_transfer(uri: &str, buf: &mut [u8]) -> Result<(), Error> {
    check_len(buf.len())?;
    let mut m = op_message(op::TRANSFER)?;
    m.bytes(key::DATA, buf)?;
    let mut reply = [0u8; 8 + op::MAX_TRANSFER];
    let r = request(uri, m.as_bytes(), &mut reply)?;
    let data = find(r, key::DATA, 0x06).ok_or(Error::BadMessage)?;
    buf.get_mut(..data.len()).ok_or(Error::TooLong)?.copy_from_slice(data);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_the_runtimes_format() {
        let mut m = op_message(op::TRANSFER).unwrap();
        m.u32(key::ADDRESS, 0x48).unwrap().bytes(key::DATA, &[0]).unwrap().u32(key::LEN, 2).unwrap();
        assert_eq!(
            m.as_bytes(),
            [4, 0, 3, 5, 0, 0, 0, 5, 3, 0x48, 0, 0, 0, 0x0A, 6, 1, 0, 0x0B, 3, 2, 0, 0, 0]
        );
        let reply = [2, 0x09, 1, 1, 0x0A, 6, 2, 0x19, 0x40];
        assert_eq!(find(&reply, key::LEVEL, 1), Some(&[1u8][..]));
        assert_eq!(find(&reply, key::DATA, 6), Some(&[0x19u8, 0x40][..]));
        assert_eq!(find(&reply, key::DATA, 3), None);
        assert_eq!(find(&[1, 0x0A, 6, 9, 1], key::DATA, 6), None, "a truncated entry is not found");
        assert_eq!(check_len(op::MAX_TRANSFER + 1), Err(Error::TooLong));
    }
}
