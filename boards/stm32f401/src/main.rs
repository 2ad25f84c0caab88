//! Fireball on a Nucleo-F401RE: the seed's sensor example (`examples/sensor/sensor.wasm`,
//! packed with its side table by build.rs and executed in place from flash) on
//! the kernel, reading the chip's ADC and sending its frames on the UART.
//!
//! ```text
//! clocks (HSI → PLL, 84 MHz) ─► pins, ADC1, SysTick/DWT, USART2, I2C1, SPI2 ─► board.rs devices
//! RAM (a 64 KiB static) ─► fireball::Builder ─► P1..P6, the app in P5 ─► System::run_for(10 s) … forever
//! every 10 s: a status line and the partition table on the UART
//! ```
//!
//! With the `qemu-f405` feature the same firmware runs on QEMU's netduinoplus2
//! (an STM32F405): it stops after three frames, checks them against the samples
//! the ADC returned, prints the report and exits through semihosting (0: ok).
#![no_std]
#![no_main]
// The only unsafe is in board.rs (the allocator that refuses, one register write) and the
// `prevalidated!` promise below that build.rs validated the guests (UNSAFE.md).
#![deny(unsafe_op_in_unsafe_fn)]

mod board;

use core::cell::{Cell, RefCell};
use core::fmt::Write;

use cortex_m_rt::entry;
use fireball::sys::hal::board::{AdcPort, I2cPort, SpiPort};
#[cfg(not(feature = "qemu-f405"))]
use fireball::Limit;
#[cfg(feature = "qemu-f405")]
use fireball::coos::sched::TaskState;
use fireball::wasm::Prevalidated;
use fireball::{AdcTap, Builder, Guest, Parts, Ram, Stop};
use panic_halt as _;
use stm32f4xx_hal::i2c::Mode as I2cMode;
use stm32f4xx_hal::pac;
use stm32f4xx_hal::prelude::*;
use stm32f4xx_hal::rcc::Config;

use board::{Adc1, CrcUnit, CsDevice, NucleoPins, SysClock, Uart, UartOffload, UartRadio, UartStats};

/// `OUT_DIR/<file>`, a guest build.rs validated and packed, loaded without validating it again.
macro_rules! prevalidated {
    ($file:literal) => {
        // SAFETY: build.rs wrote `OUT_DIR/$file` with `write_packed` of the guest after it
        // loaded (was validated) with this engine and the default features, which the
        // facade loads it with; it is linked into this firmware's flash and comes from
        // nowhere else.
        unsafe { Prevalidated::new(include_bytes!(concat!(env!("OUT_DIR"), "/", $file))) }
    };
}

/// The guest, validated and packed with its side table by build.rs, executed in place
/// from flash: the seed's sensor example, or the one a `guest-*` feature names.
#[cfg(not(any(feature = "guest-blink", feature = "guest-i2c-sensor", feature = "guest-rust-hal", feature = "guest-checksum")))]
static GUEST: (&str, Prevalidated<'static>) = ("sensor", prevalidated!("sensor.fbx"));
#[cfg(feature = "guest-blink")]
static GUEST: (&str, Prevalidated<'static>) = ("blink", prevalidated!("blink.fbx"));
#[cfg(feature = "guest-i2c-sensor")]
static GUEST: (&str, Prevalidated<'static>) = ("i2c_sensor", prevalidated!("i2c_sensor.fbx"));
#[cfg(feature = "guest-rust-hal")]
static GUEST: (&str, Prevalidated<'static>) = ("rust_hal", prevalidated!("rust_hal.fbx"));
#[cfg(feature = "guest-checksum")]
static GUEST: (&str, Prevalidated<'static>) = ("checksum", prevalidated!("checksum.fbx"));
/// On QEMU, a service next to the app: `uart-hello` writes three lines on `uart/1`
/// through the offloader, parked while the UART backend sends them a burst per step.
#[cfg(feature = "qemu-f405")]
static SERVICE: (&str, Prevalidated<'static>) = ("uart_hello", prevalidated!("uart_hello.fbx"));
#[cfg(all(feature = "qemu-f405", any(feature = "guest-blink", feature = "guest-i2c-sensor", feature = "guest-rust-hal", feature = "guest-checksum")))]
compile_error!("the QEMU run checks the sensor example's frames: use the guest-* features on the Nucleo");

/// The RAM Fireball plans and partitions (of the chip's 96 KiB; the rest is the
/// native stack, the parts and the HAL's state).
const RAM_BYTES: usize = 64 * 1024;

/// The QEMU run: frames to wait for, samples per frame (`BUFFER_SIZE` in sensor.c).
#[cfg(feature = "qemu-f405")]
const FRAMES: u32 = 3;
#[cfg(feature = "qemu-f405")]
const SAMPLES: usize = 64;

#[entry]
fn main() -> ! {
    let ok = run();
    finish(ok)
}

/// The Nucleo: nothing to return to; sleep between interrupts.
#[cfg(not(feature = "qemu-f405"))]
fn finish(_ok: bool) -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}

/// QEMU: exit through semihosting, 0 if the run checked out.
#[cfg(feature = "qemu-f405")]
fn finish(ok: bool) -> ! {
    use cortex_m_semihosting::debug;
    debug::exit(if ok { debug::EXIT_SUCCESS } else { debug::EXIT_FAILURE });
    loop {
        cortex_m::asm::wfi();
    }
}

/// The clocks: 84 MHz from the HSI through the PLL on the Nucleo; QEMU models
/// no RCC (its PLL would never lock), so there the core stays on the 16 MHz HSI.
fn clocks() -> Config {
    if cfg!(feature = "qemu-f405") {
        Config::hsi()
    } else {
        Config::hsi().sysclk(84.MHz())
    }
}

fn run() -> bool {
    let (Some(dp), Some(cp)) = (pac::Peripherals::take(), cortex_m::Peripherals::take()) else { return false };
    let mut rcc = dp.RCC.freeze(clocks());
    let hclk = rcc.clocks.hclk().raw();
    let gpioa = dp.GPIOA.split(&mut rcc);
    let gpiob = dp.GPIOB.split(&mut rcc);
    let gpioc = dp.GPIOC.split(&mut rcc);

    // The log UART: USART2 on the ST-LINK's virtual COM port (USART1 on QEMU).
    #[cfg(not(feature = "qemu-f405"))]
    let tx = dp.USART2.serial((gpioa.pa2, gpioa.pa3), 115_200.bps(), &mut rcc).map(|s| s.split().0);
    #[cfg(feature = "qemu-f405")]
    let tx = dp.USART1.serial((gpioa.pa9, gpioa.pa10), 115_200.bps(), &mut rcc).map(|s| s.split().0);
    let Ok(tx) = tx else { return false };
    let uart = Uart::new(tx);
    let mut out = uart.writer();
    let _ = writeln!(out, "fireball on {}: {} MHz, {}.wasm packed, {} B in flash", CHIP, hclk / 1_000_000, GUEST.0, GUEST.1.bytes().len());

    // The devices (board.rs).
    let adc1 = Adc1::new(dp.ADC1, (gpioa.pa0.into_analog(), gpioa.pa1.into_analog(), gpioa.pa4.into_analog(), gpiob.pb0.into_analog()), &mut rcc);
    let samples = Samples::new();
    let mut on_read = |_channel: u8, v: u16| samples.push(v);
    let mut adc = AdcTap::new(AdcPort::new(adc1), &mut on_read);
    let (mut dcb, mut dwt) = (cp.DCB, cp.DWT);
    let mut clock = SysClock::new(cp.SYST, &mut dcb, &mut dwt, hclk);
    let (frames, sum) = (Cell::new(0u32), Cell::new(0i32));
    let mut radio = UartRadio::new(uart.writer(), &frames, &sum);
    let mut pins = NucleoPins::new(gpioa.pa5.into_push_pull_output(), gpioc.pc13.into_input());
    let mut i2c = I2cPort::new(dp.I2C1.i2c((gpiob.pb8, gpiob.pb9), I2cMode::standard(100.kHz()), &mut rcc));
    let spi2 = dp.SPI2.spi((Some(gpiob.pb13), Some(gpiob.pb14), Some(gpiob.pb15)), embedded_hal::spi::MODE_0, 1.MHz(), &mut rcc);
    let mut spi = SpiPort::new(CsDevice::new(spi2, gpiob.pb12.into_push_pull_output()));
    let mut crc = CrcUnit::new(dp.CRC, &mut rcc);
    // uart/1: a second UART for the offloader, transmit only (USART1 on D8; USART2 on QEMU).
    #[cfg(not(feature = "qemu-f405"))]
    let uart1 = dp.USART1.tx(gpioa.pa9, 115_200.bps(), &mut rcc);
    #[cfg(feature = "qemu-f405")]
    let uart1 = dp.USART2.tx(gpioa.pa2, 115_200.bps(), &mut rcc);
    let Ok(uart1) = uart1 else { return false };
    let uart1_stats = UartStats::default();
    let mut uart1 = UartOffload::new(uart1, &uart1_stats);

    // The system: the facade assembles it over the static RAM.
    let Some(ram) = cortex_m::singleton!(: Ram<RAM_BYTES> = Ram::new()) else { return false };
    let mut log = uart.writer();
    let mut console = uart.writer();
    let mut parts = Parts::new();
    let builder = Builder::new(ram.bytes())
        .device("adc/0", &mut adc)
        .device("clock", &mut clock)
        .device("tx", &mut radio)
        .device("gpio/0", &mut pins)
        .device("i2c/0", &mut i2c)
        .device("spi/0", &mut spi)
        .device("crc/0", &mut crc)
        .device("uart/1", &mut uart1)
        .guest(Guest::prevalidated_app(GUEST.0, GUEST.1))
        .log_to(&mut log)
        .console(&mut console)
        .cpu_mhz(hclk / 1_000_000);
    // On QEMU the uart-hello service runs next to the app, in a 4 KiB P4 sub-heap
    // (`fireball inspect --service --ram 64K` says it needs 3.9 KB at its peak; the
    // plan row gives two services 2 KiB each).
    #[cfg(feature = "qemu-f405")]
    let builder = builder
        .plan(fireball::coos::plan::Config { n_svc: 1, max_service_size: 4 * 1024, ..fireball::coos::plan::Config::row(RAM_BYTES) })
        .guest(Guest::prevalidated_service(SERVICE.0, SERVICE.1));
    let built = builder.build(&mut parts);
    let mut system = match built {
        Ok(s) => s,
        Err(e) => {
            // The name only (the text of every error is ~8 KB of flash): the same set-up on the
            // host, `fireball inspect --ram 64K <guest>.wasm`, says what is wrong and what to change.
            let _ = writeln!(out, "fireball: {} ({}): run `fireball inspect --ram 64K` on the guest", e.kind(), e.subject().unwrap_or("-"));
            return false;
        }
    };
    if let Some(f) = system.footprints().first() {
        let _ = writeln!(
            out,
            "{}: {} B of metadata in P5 (side table in flash), {} B of linear memory, {} B of P5 at its peak",
            GUEST.0, f.metadata, f.memory, f.peak
        );
    }

    #[cfg(not(feature = "qemu-f405"))]
    loop {
        // Forever: a status line and the partition table every 10 s.
        let start = (system.instructions(), DWT::cycle_count());
        let stop = system.run_for(Limit::Millis(system.millis() + 10_000));
        let (instrs, cycles) = (system.instructions() - start.0, DWT::cycle_count().wrapping_sub(start.1));
        let _ = writeln!(
            out,
            "[{} ms] {} frames, {} wasm instructions in the last 10 s ({} cycles each); native stack {} B at most; uart/1 {} B sent",
            system.millis(),
            frames.get(),
            instrs,
            u64::from(cycles) / instrs.max(1),
            board::stack_peak(),
            uart1_stats.bytes.get()
        );
        let _ = write!(out, "{}", system.partition_table());
        if !matches!(stop, Stop::Millis(_)) {
            let _ = writeln!(out, "stopped: {stop}");
            return false;
        }
    }

    #[cfg(feature = "qemu-f405")]
    {
        // Until three frames are out and the service has written its lines (and returned).
        let stop = system.run_until(|s| frames.get() >= FRAMES && s.modules().all(|m| !m.service || m.state == TaskState::Done));
        let totals = system.totals();
        let _ = writeln!(
            out,
            "{} frames, {} wasm instructions, {} switches, {} channel ops; router {} calls; {} ms",
            frames.get(),
            totals.instructions,
            totals.switches,
            totals.chan_ops,
            system.router_stats().calls,
            system.millis()
        );
        let _ = write!(out, "{}", system.partition_table());
        let _ = writeln!(
            out,
            "kernel tables {} B in P1; native stack: {} B used at most (sampled), of {} B; parts {} B, system {} B",
            system.kernel_ram(),
            board::stack_peak(),
            board::STACK_TOP as usize - 0x2000_0000 - RAM_BYTES,
            core::mem::size_of::<Parts<'_, '_>>(),
            core::mem::size_of_val(&system)
        );
        drop(system);
        // Every frame is 64 samples the ADC returned, in order: their sums must agree.
        // (The run goes on until the service is done too, so there may be more than FRAMES.)
        let n = frames.get() as usize * SAMPLES;
        let expected = samples.sum(n);
        let ok = stop == Stop::Condition && n <= KEPT && samples.count.get() >= n && expected == sum.get();
        let _ = writeln!(out, "frames sum {} (ADC samples: {}): {}", sum.get(), expected, if ok { "ok" } else { "FAILED" });
        // The service's lines went out on uart/1 (QEMU's serial1), a burst per step, its
        // task parked meanwhile: the polls that found a transfer unfinished say so.
        let (bytes, waits) = (uart1_stats.bytes.get(), uart1_stats.waits.get());
        let parked = waits > 0 && bytes > 0;
        let _ = writeln!(out, "uart/1: {bytes} bytes sent, {waits} polls found a transfer unfinished: {}", if parked { "ok" } else { "FAILED" });
        ok && parked
    }
}

#[cfg(feature = "qemu-f405")]
const CHIP: &str = "STM32F405 (QEMU netduinoplus2)";
#[cfg(not(feature = "qemu-f405"))]
const CHIP: &str = "STM32F401RE (Nucleo-F401RE)";

#[cfg(not(feature = "qemu-f405"))]
use cortex_m::peripheral::DWT;

/// ADC samples kept to check the frames against: three frames on the Nucleo (where
/// nothing checks them), up to 32 on QEMU (the run waits for the service as well).
#[cfg(not(feature = "qemu-f405"))]
const KEPT: usize = 192;
#[cfg(feature = "qemu-f405")]
const KEPT: usize = 32 * SAMPLES;

/// The first ADC samples, as int16 (what sensor.c puts in its frames).
struct Samples {
    first: RefCell<[i16; KEPT]>,
    count: Cell<usize>,
}

impl Samples {
    fn new() -> Self {
        Samples { first: RefCell::new([0; KEPT]), count: Cell::new(0) }
    }

    fn push(&self, v: u16) {
        let n = self.count.get();
        if let Some(slot) = self.first.borrow_mut().get_mut(n) {
            *slot = v as i16;
        }
        self.count.set(n + 1);
    }

    #[cfg(feature = "qemu-f405")]
    fn sum(&self, n: usize) -> i32 {
        self.first.borrow().iter().take(n).fold(0i32, |s, &v| s.wrapping_add(i32::from(v)))
    }
}
