//! The firmware without Fireball, for `scripts/board-size.sh`: the same clocks,
//! pins, ADC, SysTick, UART, I2C and SPI set-up and one line on the UART, then
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

use board::{Adc1, CsDevice, SysClock, Uart};

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
            let led = gpioa.pa5.into_push_pull_output();
            let button = gpioc.pc13.into_input();
            let i2c = dp.I2C1.i2c((gpiob.pb8, gpiob.pb9), I2cMode::standard(100.kHz()), &mut rcc);
            let spi2 = dp.SPI2.spi((Some(gpiob.pb13), Some(gpiob.pb14), Some(gpiob.pb15)), embedded_hal::spi::MODE_0, 1.MHz(), &mut rcc);
            let spi = CsDevice::new(spi2, gpiob.pb12.into_push_pull_output());
            let _ = writeln!(uart.writer(), "baseline: {} MHz", hclk / 1_000_000);
            core::hint::black_box((adc, clock, led, button, i2c, spi));
        }
    }
    loop {
        cortex_m::asm::wfi();
    }
}
