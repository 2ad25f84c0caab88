//! The firmware without Fireball, for `scripts/board-size.sh`: the same clocks,
//! pins, ADC, SysTick, UARTs, I2C and SPI set-up and one line on the UART, then
//! sleep. Fireball's cost on this board is the firmware minus this.
#![no_std]
#![no_main]

#[path = "../board.rs"]
#[allow(dead_code)]
mod board;

use core::fmt::Write;

use cortex_m_rt::entry;
use panic_halt as _;
use stm32f4xx_hal::i2c::Mode as I2cMode;
use stm32f4xx_hal::pac;
use stm32f4xx_hal::prelude::*;
use stm32f4xx_hal::rcc::Config;

use board::{Adc1, CrcUnit, CsDevice, NucleoPins, SysClock, Uart, UartOffload, UartStats};

#[entry]
fn main() -> ! {
    if let (Some(dp), Some(cp)) = (pac::Peripherals::take(), cortex_m::Peripherals::take()) {
        let mut rcc = dp.RCC.freeze(Config::hsi().sysclk(84.MHz()));
        let hclk = rcc.clocks.hclk().raw();
        let gpioa = dp.GPIOA.split(&mut rcc);
        let gpiob = dp.GPIOB.split(&mut rcc);
        let gpioc = dp.GPIOC.split(&mut rcc);
        if let Ok(serial) = dp.USART2.serial((gpioa.pa2, gpioa.pa3), 115_200.bps(), &mut rcc) {
            let uart = Uart::new(serial.split().0);
            let adc = Adc1::new(dp.ADC1, (gpioa.pa0.into_analog(), gpioa.pa1.into_analog(), gpioa.pa4.into_analog(), gpiob.pb0.into_analog()), &mut rcc);
            let (mut dcb, mut dwt) = (cp.DCB, cp.DWT);
            let clock = SysClock::new(cp.SYST, &mut dcb, &mut dwt, hclk);
            let pins = NucleoPins::new(gpioa.pa5.into_push_pull_output(), gpioc.pc13.into_input());
            let i2c = dp.I2C1.i2c((gpiob.pb8, gpiob.pb9), I2cMode::standard(100.kHz()), &mut rcc);
            let spi2 = dp.SPI2.spi((Some(gpiob.pb13), Some(gpiob.pb14), Some(gpiob.pb15)), embedded_hal::spi::MODE_0, 1.MHz(), &mut rcc);
            let spi = CsDevice::new(spi2, gpiob.pb12.into_push_pull_output());
            let crc = CrcUnit::new(dp.CRC, &mut rcc);
            let stats = UartStats::default();
            let uart1 = dp.USART1.tx(gpioa.pa9, 115_200.bps(), &mut rcc).ok().map(|tx| UartOffload::new(tx, &stats));
            let _ = writeln!(uart.writer(), "baseline: {} MHz", hclk / 1_000_000);
            // Every driver operation the firmware's devices reach, linked but not run: so the
            // difference to the firmware is Fireball, not the drivers.
            let (mut adc, mut clock, mut pins, mut i2c, mut spi, mut crc, mut uart1) = (adc, clock, pins, i2c, spi, crc, uart1);
            if core::hint::black_box(false) {
                use embedded_hal::i2c::I2c;
                use embedded_hal::spi::SpiDevice;
                use fireball::sys::hal::board::AdcRead;
                use fireball::sys::hal::{Clock, Gpio, Offload};
                let mut buf = [0u8; 4];
                let _ = (adc.read_raw(0), clock.now_us(), pins.write(0, true), pins.read(1));
                let _ = (I2c::write(&mut i2c, 0x50u8, &[1]), I2c::read(&mut i2c, 0x50u8, &mut buf));
                let _ = I2c::write_read(&mut i2c, 0x50u8, &[1], &mut buf);
                let _ = (spi.write(&[1]), spi.read(&mut buf), spi.transfer_in_place(&mut buf));
                let _ = (crc.start_write(&[1]), crc.start_read(&mut buf));
                if let Some(u) = uart1.as_mut() {
                    let _ = (u.start_write(&[1]), u.poll(&mut buf));
                }
                let _ = write!(uart.writer(), "{:02x}", buf[0]);
            }
            core::hint::black_box((adc, clock, pins, i2c, spi, crc, uart1));
        }
    }
    loop {
        cortex_m::asm::wfi();
    }
}
