//! rust-sensor: a Fireball guest that summarises ADC channel 0.
//! `_start` ──► loop { hal::adc_read(0) ──► Window ──(every 16 samples)──►
//! hal::tx_send(12-byte frame); chan::yield_now() }
//!
//! Frame: the window's minimum, maximum and sum, each an `i32`,
//! little-endian, in that order. A failed read is logged (event
//! [`EVENT_ADC_FAILED`], argument the error code) and skipped; a failed send
//! is logged as [`EVENT_TX_FAILED`] and the window starts over either way.
#![no_std]

use fireball_guest::{chan, hal, log};

/// ADC channel sampled.
const CHANNEL: u32 = 0;
/// Samples per frame.
const SAMPLES: u32 = 16;
/// Log event: a read failed (argument: the error code).
const EVENT_ADC_FAILED: u8 = 1;
/// Log event: a frame could not be sent (argument: the error code).
const EVENT_TX_FAILED: u8 = 2;

/// Running minimum, maximum and sum of the current window.
struct Window {
    min: i32,
    max: i32,
    sum: i32,
    count: u32,
}

impl Window {
    const fn new() -> Window {
        Window { min: i32::MAX, max: i32::MIN, sum: 0, count: 0 }
    }

    /// Adds a sample; after the window's last one, its frame (and a new window).
    fn push(&mut self, sample: u16) -> Option<[u8; 12]> {
        let v = i32::from(sample);
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.sum += v; // at most 16 × 65 535: no overflow
        self.count += 1;
        if self.count < SAMPLES {
            return None;
        }
        let mut frame = [0u8; 12];
        frame[0..4].copy_from_slice(&self.min.to_le_bytes());
        frame[4..8].copy_from_slice(&self.max.to_le_bytes());
        frame[8..12].copy_from_slice(&self.sum.to_le_bytes());
        *self = Window::new();
        Some(frame)
    }
}

/// The entry the runtime calls; it never returns.
#[no_mangle]
pub extern "C" fn _start() {
    let mut window = Window::new();
    loop {
        match hal::adc_read(CHANNEL) {
            Ok(sample) => {
                if let Some(frame) = window.push(sample) {
                    if let Err(e) = hal::tx_send(&frame) {
                        let _ = log::warn(EVENT_TX_FAILED, e.code());
                    }
                }
            }
            Err(e) => {
                let _ = log::warn(EVENT_ADC_FAILED, e.code());
            }
        }
        chan::yield_now();
    }
}
