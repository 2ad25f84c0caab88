//! rust-hal: a Fireball guest on the board's pins and buses, through
//! `fireball_guest::pins` (typed key-value requests to `hal/gpio/0` and `hal/i2c/0`).
//! `_start` ──► loop { the button (pin 1) ──► the LED (pin 0) blinks every
//! 500 ms, every 100 ms while the button is held; every 100 ms the sensor at
//! I²C 0x48, register 0 ──► port 1; chan::yield_now() }
//!
//! Each toggle goes out on channel port 0 as `level | pressed << 1`, each
//! reading (in 1/16 °C) on port 1 and to the logger (event
//! [`EVENT_READING`]); a failed request is logged with its error code
//! ([`EVENT_GPIO_FAILED`], [`EVENT_I2C_FAILED`]). The C twins are
//! `examples/blink` and `examples/i2c-sensor`.
#![no_std]

use fireball_guest::{chan, hal, log, pins};

/// The board's GPIO: pin 0 the LED, pin 1 the button (low while pressed).
const GPIO: &str = "hal/gpio/0";
const LED: u8 = 0;
const BUTTON: u8 = 1;
/// The I²C bus, the sensor's address and its temperature register.
const I2C: &str = "hal/i2c/0";
const SENSOR: u8 = 0x48;
const REG_TEMPERATURE: u8 = 0x00;
/// Blink periods and the sensor's.
const SLOW_MS: u32 = 500;
const FAST_MS: u32 = 100;
const READ_MS: u32 = 100;
/// Log events.
const EVENT_READING: u8 = 1;
const EVENT_GPIO_FAILED: u8 = 2;
const EVENT_I2C_FAILED: u8 = 3;

/// The temperature in 1/16 °C from the sensor's two bytes (12 bits, left-aligned).
fn sixteenths(raw: [u8; 2]) -> i32 {
    i32::from(i16::from_be_bytes(raw) >> 4)
}

#[no_mangle]
pub extern "C" fn _start() {
    let mut level = false;
    let mut blinked = hal::time_ms();
    let mut read = hal::time_ms().wrapping_sub(READ_MS);
    loop {
        let pressed = matches!(pins::gpio_read(GPIO, BUTTON), Ok(false));
        if hal::ms_since(blinked) >= if pressed { FAST_MS } else { SLOW_MS } {
            level = !level;
            if let Err(e) = pins::gpio_write(GPIO, LED, level) {
                let _ = log::warn(EVENT_GPIO_FAILED, e.code());
            }
            chan::send(0, i32::from(level) | i32::from(pressed) << 1);
            blinked = hal::time_ms();
        }
        if hal::ms_since(read) >= READ_MS {
            let mut raw = [0u8; 2];
            match pins::i2c_write_read(I2C, SENSOR, &[REG_TEMPERATURE], &mut raw) {
                Ok(()) => {
                    chan::send(1, sixteenths(raw));
                    let _ = log::info(EVENT_READING, sixteenths(raw));
                }
                Err(e) => {
                    let _ = log::warn(EVENT_I2C_FAILED, e.code());
                }
            }
            read = hal::time_ms();
        }
        chan::yield_now();
    }
}
