//! hal: the board's devices, through the runtime's five HAL imports.
//! guest ──► **hal** ──► `hal_*` import ──► runtime: HAL registry ──► device driver or simulator.
//!
//! | function | import | success |
//! |---|---|---|
//! | [`adc_read`] | `int hal_adc_read(int channel)` | a sample, `0..=65535` |
//! | [`tx_send`] | `int hal_tx_send(const uint8_t *data, int len)` | bytes sent |
//! | [`time_ms`] | `int hal_get_time_ms(void)` | milliseconds modulo 2³¹ |
//! | [`ble_init`] | `int hal_ble_init(int profile_id)` | — |
//! | [`ble_send`] | `int hal_ble_send(const uint8_t *data, int len)` | bytes sent |
//!
//! Device settings (resolution, frame size, …) are read and written with
//! [`request`](crate::request) to the endpoint `hal/<path>`, with the keys of
//! [`router::key`](crate::router::key).

use crate::{sys, Error};

/// One sample of ADC channel `channel` (the board's ADCs number their
/// channels on from 0), `0..=65535`.
pub fn adc_read(channel: u32) -> Result<u16, Error> {
    let channel = i32::try_from(channel).map_err(|_| Error::BadChannel)?;
    let sample = Error::check(sys::hal_adc_read(channel))?;
    // The runtime never answers above 65 535; saturate rather than wrap if it did.
    Ok(u16::try_from(sample).unwrap_or(u16::MAX))
}

/// Sends one frame on the board's transmitter: the bytes sent (all of them).
pub fn tx_send(frame: &[u8]) -> Result<usize, Error> {
    Ok(Error::check(sys::hal_tx_send(frame))? as usize)
}

/// Milliseconds since boot modulo 2³¹ (wraps after 24.8 days).
pub fn time_ms() -> u32 {
    sys::hal_get_time_ms() as u32 & 0x7fff_ffff
}

/// Milliseconds from `start` (an earlier [`time_ms`]) to now, right across
/// the 2³¹ wrap: exact for intervals under 24.8 days.
pub fn ms_since(start: u32) -> u32 {
    elapsed(start, time_ms())
}

/// `now - start` on the 31-bit clock.
const fn elapsed(start: u32, now: u32) -> u32 {
    now.wrapping_sub(start) & 0x7fff_ffff
}

/// Starts BLE with profile `profile` (the board's numbering).
pub fn ble_init(profile: u32) -> Result<(), Error> {
    let profile = i32::try_from(profile).map_err(|_| Error::InvalidArgument)?;
    Error::check(sys::hal_ble_init(profile)).map(|_| ())
}

/// Sends one BLE payload: the bytes sent. [`Error::NotInitialized`] until a
/// [`ble_init`] succeeded.
pub fn ble_send(payload: &[u8]) -> Result<usize, Error> {
    Ok(Error::check(sys::hal_ble_send(payload))? as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_time_crosses_the_31_bit_wrap() {
        assert_eq!(elapsed(100, 250), 150);
        assert_eq!(elapsed(0x7fff_fff0, 0x10), 0x20);
        assert_eq!(elapsed(5, 5), 0);
    }
}
