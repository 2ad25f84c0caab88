//! The Nucleo-F401RE's peripherals as Fireball HAL devices: the backends behind
//! the registry. registry ──► device ──► **this file ──► stm32f4xx-hal / the PAC**.
//!
//! | path | device | pins (Nucleo-F401RE) | backend |
//! |---|---|---|---|
//! | `adc/0` | ADC1, guest channels 0..3 | A0 PA0 (IN0), A1 PA1 (IN1), A2 PA4 (IN4), A3 PB0 (IN8) | [`Adc1`]: one-shot conversions, 84-cycle sampling, a bounded wait |
//! | `clock` | SysTick at 1 kHz + DWT cycle counter | — | [`SysClock`] |
//! | `tx` | the "radio": frames as hex lines on the UART | USART2 PA2/PA3 (ST-LINK VCP) | [`UartRadio`] |
//! | `gpio/0` | pin 0: the user LED LD2 (output); pin 1: the user button B1 (input, low while pressed) | PA5, PC13 | [`NucleoPins`] |
//! | `i2c/0` | I2C1 at 100 kHz | D15 PB8 SCL, D14 PB9 SDA | `I2cPort` over the HAL's `I2c` |
//! | `spi/0` | SPI2 at 1 MHz, mode 0, chip select PB12 | PB13 SCK, PB14 MISO, PB15 MOSI | `SpiPort` over [`CsDevice`] |
//! | `crc/0` | the CRC calculation unit (CRC-32/MPEG-2: polynomial 0x04C11DB7, not reflected, init 0xFFFFFFFF) | — | [`CrcUnit`] |
//! | `uart/1` | a second UART, transmit only, for `sys_write` | USART1 D8 PA9 (QEMU: USART2 PA2, its serial1) | [`UartOffload`] |
//!
//! `i2c/0`, `spi/0` and `crc/0` also take the offloader's `sys_read`/`sys_write`;
//! those drivers block, so they complete at once. `uart/1` does not: it feeds the
//! transmitter a burst per scheduler step and the writer stays parked until the
//! last byte is out (a DMA-driven SPI or I2C backend would do the same).
//!
//! The logger's text goes to the log UART ([`Uart`]); this firmware does not build
//! the debugger stub (boards/qemu-m4's `debug` firmware serves lldb over its UART).
//! With the `qemu-f405` feature the log UART is USART1 (PA9/PA10), QEMU's serial0.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::{Cell, RefCell};
use core::fmt;
use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::{DCB, DWT, SYST};
use cortex_m_rt::exception;
use embedded_hal::digital::{InputPin, OutputPin};
use embedded_hal::spi::{ErrorType, Operation, SpiBus, SpiDevice};
use fireball::sys::hal::board::AdcRead;
use fireball::sys::hal::{key, Clock, Device, Gpio, HalError, Offload, Progress, Tx, Value};
use stm32f4xx_hal::gpio::{Analog, Pin};
use stm32f4xx_hal::pac;
use stm32f4xx_hal::rcc::{Enable, Rcc};
use stm32f4xx_hal::serial;

/// Every byte Fireball uses comes from its partitions: the global allocator
/// (which `alloc`, linked by the engine's collections, requires to exist) refuses everything.
pub struct NoHeap;

// SAFETY: `alloc` always returns null, which the `GlobalAlloc` contract allows
// (it signals failure); `dealloc` can only be given a pointer `alloc` returned,
// and it never returned one, so it has nothing to do.
unsafe impl GlobalAlloc for NoHeap {
    unsafe fn alloc(&self, _layout: Layout) -> *mut u8 {
        core::ptr::null_mut()
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[global_allocator]
static HEAP: NoHeap = NoHeap;

/// The UART the log goes to: USART2 on the Nucleo (the ST-LINK's virtual COM
/// port), USART1 on QEMU's netduinoplus2 (its serial0).
#[cfg(not(feature = "qemu-f405"))]
pub type LogUsart = pac::USART2;
/// The UART the log goes to: USART1 on QEMU's netduinoplus2 (its serial0).
#[cfg(feature = "qemu-f405")]
pub type LogUsart = pac::USART1;

/// The log UART's transmitter, shared by the logger, the radio and the firmware's own lines.
pub struct Uart(RefCell<serial::Tx<LogUsart>>);

impl Uart {
    /// Over the HAL's transmitter.
    pub fn new(tx: serial::Tx<LogUsart>) -> Self {
        Uart(RefCell::new(tx))
    }

    /// A writer for text lines (`\n` goes out as `\r\n`, for terminals).
    pub fn writer(&self) -> UartWriter<'_> {
        UartWriter(&self.0)
    }
}

/// Text to the [`Uart`].
#[derive(Clone, Copy)]
pub struct UartWriter<'a>(&'a RefCell<serial::Tx<LogUsart>>);

impl fmt::Write for UartWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // The transmitter is borrowed only for the length of one write; a write from
        // inside another (never done here) is dropped rather than panicking.
        let Ok(mut tx) = self.0.try_borrow_mut() else { return Err(fmt::Error) };
        for (i, line) in s.split('\n').enumerate() {
            if i > 0 {
                tx.write_str("\r\n")?;
            }
            tx.write_str(line)?;
        }
        Ok(())
    }
}

/// The ADC's inputs, in guest channel order: ADC1 IN0, IN1, IN4, IN8.
const ADC_INPUTS: [u8; 4] = [0, 1, 4, 8];

/// Polls of the end-of-conversion flag before a read is a [`HalError::Timeout`]:
/// a conversion takes 84 + 12 ADC cycles (about 5 µs at 21 MHz), far fewer polls.
#[cfg(not(feature = "qemu-f405"))]
const ADC_POLLS: u32 = 10_000;

/// ADC1 as a one-shot converter over four analog pins. The HAL's `Adc` is not
/// used: its constructor calibrates with an unbounded wait for the end of a
/// conversion (which QEMU's ADC model never signals), and a runtime path must
/// not spin forever; this driver's wait is bounded.
pub struct Adc1 {
    adc: pac::ADC1,
    _pins: (Pin<'A', 0, Analog>, Pin<'A', 1, Analog>, Pin<'A', 4, Analog>, Pin<'B', 0, Analog>),
}

impl Adc1 {
    /// ADC1 on, 12-bit, right-aligned, 84-cycle sampling on the four inputs.
    pub fn new(
        adc: pac::ADC1,
        pins: (Pin<'A', 0, Analog>, Pin<'A', 1, Analog>, Pin<'A', 4, Analog>, Pin<'B', 0, Analog>),
        rcc: &mut Rcc,
    ) -> Self {
        pac::ADC1::enable(rcc);
        adc.smpr2().modify(|_, w| {
            w.smp(0).cycles84();
            w.smp(1).cycles84();
            w.smp(4).cycles84();
            w.smp(8).cycles84()
        });
        adc.cr2().modify(|_, w| w.adon().set_bit());
        Adc1 { adc, _pins: pins }
    }
}

impl AdcRead for Adc1 {
    type Error = HalError;

    fn channels(&self) -> u8 {
        ADC_INPUTS.len() as u8
    }

    fn read_raw(&mut self, channel: u8) -> Result<u16, HalError> {
        sample_stack();
        let input = *ADC_INPUTS.get(usize::from(channel)).ok_or(HalError::BadChannel)?;
        // SAFETY: SQ1 takes a regular channel number 0..=18; `input` is one of ADC_INPUTS.
        self.adc.sqr3().write(|w| unsafe { w.sq(0).bits(input) });
        self.adc.sr().modify(|_, w| w.eoc().clear_bit());
        self.adc.cr2().modify(|_, w| w.swstart().set_bit());
        // QEMU's ADC model converts when the data register is read and never sets EOC.
        #[cfg(not(feature = "qemu-f405"))]
        if !(0..ADC_POLLS).any(|_| self.adc.sr().read().eoc().bit_is_set()) {
            return Err(HalError::Timeout);
        }
        Ok(self.adc.dr().read().data().bits())
    }
}

/// The top of the native stack: the end of RAM in both memory maps (96 KiB from 0x2000_0000).
pub const STACK_TOP: u32 = 0x2000_0000 + 96 * 1024;

/// The lowest stack pointer seen by [`sample_stack`].
static STACK_LOW: AtomicU32 = AtomicU32::new(STACK_TOP);

/// Note how deep the native stack is now. The devices call it on every
/// operation: a host call from a guest is where the stack is deepest (the
/// interpreter keeps wasm frames in the task's coroutine stack, not here).
pub fn sample_stack() {
    STACK_LOW.fetch_min(cortex_m::register::msp::read(), Ordering::Relaxed);
}

/// The most native stack used so far, in bytes (as sampled).
pub fn stack_peak() -> u32 {
    STACK_TOP - STACK_LOW.load(Ordering::Relaxed)
}

/// Milliseconds since start, counted by the SysTick interrupt.
static MILLIS: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    MILLIS.fetch_add(1, Ordering::Relaxed);
}

/// The clock: SysTick interrupts at 1 kHz (milliseconds) and its counter
/// (microseconds within the millisecond); the DWT cycle counter for profiling.
pub struct SysClock {
    syst: SYST,
    ticks_per_ms: u32,
}

impl SysClock {
    /// SysTick from the core clock (`hclk` Hz), 1 kHz, interrupt on; the cycle counter on.
    pub fn new(mut syst: SYST, dcb: &mut DCB, dwt: &mut DWT, hclk: u32) -> Self {
        let ticks_per_ms = (hclk / 1000).max(1);
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(ticks_per_ms - 1);
        syst.clear_current();
        syst.enable_counter();
        syst.enable_interrupt();
        dcb.enable_trace();
        dwt.enable_cycle_counter();
        SysClock { syst, ticks_per_ms }
    }
}

impl Clock for SysClock {
    fn now_us(&mut self) -> Result<u64, HalError> {
        sample_stack();
        loop {
            let ms = MILLIS.load(Ordering::Relaxed);
            let left = SYST::get_current();
            // A tick in between: read again (the counter reloaded under us).
            if MILLIS.load(Ordering::Relaxed) == ms && !self.syst.has_wrapped() {
                let into = (self.ticks_per_ms - 1).saturating_sub(left);
                return Ok(u64::from(ms) * 1000 + u64::from(into) * 1000 / u64::from(self.ticks_per_ms));
            }
        }
    }
}

impl Device for SysClock {
    fn support_clock(&mut self) -> Option<&mut dyn Clock> {
        Some(self)
    }

    /// Keys: [`key::NOW_MS`] (get).
    fn query(&mut self, k: u8) -> Result<Value<'_>, HalError> {
        match k {
            key::NOW_MS => Ok(Value::I64(self.now_ms()? as i64)),
            _ => Err(HalError::NotSupported),
        }
    }
}

/// The "radio" of the sensor example (`hal_tx_send`): each frame goes out on
/// the UART as a line `tx len=N data=<hex>`. Counts frames and the sum of their
/// little-endian int16 samples (what the QEMU run checks).
pub struct UartRadio<'a> {
    out: UartWriter<'a>,
    /// Frames sent.
    pub frames: &'a Cell<u32>,
    /// Sum of every int16 sample in every frame (wrapping).
    pub sum: &'a Cell<i32>,
}

impl<'a> UartRadio<'a> {
    /// Over the UART.
    pub fn new(out: UartWriter<'a>, frames: &'a Cell<u32>, sum: &'a Cell<i32>) -> Self {
        UartRadio { out, frames, sum }
    }
}

impl Tx for UartRadio<'_> {
    fn max_frame(&self) -> usize {
        256
    }

    fn send(&mut self, frame: &[u8]) -> Result<(), HalError> {
        use fmt::Write as _;
        sample_stack();
        if frame.len() > self.max_frame() {
            return Err(HalError::TooLong);
        }
        let _ = write!(self.out, "tx len={} data=", frame.len());
        for b in frame {
            let _ = write!(self.out, "{b:02x}");
        }
        let _ = writeln!(self.out);
        let s = frame.chunks_exact(2).fold(0i32, |s, c| s.wrapping_add(i32::from(i16::from_le_bytes([c[0], c[1]]))));
        self.sum.set(self.sum.get().wrapping_add(s));
        self.frames.set(self.frames.get() + 1);
        Ok(())
    }
}

impl Device for UartRadio<'_> {
    fn support_tx(&mut self) -> Option<&mut dyn Tx> {
        Some(self)
    }
}

/// The CRC calculation unit as an offload device: `sys_write` feeds it bytes,
/// `sys_read` of 4 bytes gets the CRC so far (little-endian), and a write of
/// nothing restarts it. Blocking: both complete at once.
pub struct CrcUnit {
    crc: stm32f4xx_hal::crc32::Crc32,
    last: u32,
}

impl CrcUnit {
    /// The unit, reset.
    pub fn new(crc: pac::CRC, rcc: &mut Rcc) -> Self {
        let mut crc = stm32f4xx_hal::crc32::Crc32::new(crc, rcc);
        crc.init();
        CrcUnit { crc, last: 0xFFFF_FFFF }
    }
}

impl Offload for CrcUnit {
    fn start_write(&mut self, data: &[u8]) -> Result<Progress, HalError> {
        if data.is_empty() {
            self.crc.init();
            self.last = 0xFFFF_FFFF;
        } else {
            self.last = self.crc.update_bytes(data);
        }
        Ok(Progress::Done(data.len()))
    }

    fn start_read(&mut self, buf: &mut [u8]) -> Result<Progress, HalError> {
        let out = buf.get_mut(..4).ok_or(HalError::InvalidArgument)?;
        out.copy_from_slice(&self.last.to_le_bytes());
        Ok(Progress::Done(4))
    }

    fn poll(&mut self, _buf: &mut [u8]) -> Option<Result<usize, HalError>> {
        None
    }

    fn cancel(&mut self) {}
}

impl Device for CrcUnit {
    fn support_offload(&mut self) -> Option<&mut dyn Offload> {
        Some(self)
    }
}

/// The UART behind `uart/1`: USART1 (TX on D8, PA9) on the Nucleo.
#[cfg(not(feature = "qemu-f405"))]
pub type OffloadUsart = pac::USART1;
/// The UART behind `uart/1`: USART2 (TX on PA2) on QEMU's netduinoplus2 (its serial1).
#[cfg(feature = "qemu-f405")]
pub type OffloadUsart = pac::USART2;

/// Bytes [`UartOffload`] moves into the transmitter per scheduler step, at most.
pub const UART_BURST: usize = 16;

/// A UART transmitter as an offload device (`uart/1`): `sys_write` lends it the
/// guest's bytes and parks the caller. Each scheduler step (the start, then every
/// [`Offload::poll`]) moves at most [`UART_BURST`] bytes into the transmitter, and
/// never waits for it: at 115 200 baud a byte takes ~87 µs, so a line keeps its
/// writer parked for many steps while the other tasks run, where a blocking driver
/// would stall them all. The transfer completes with its byte count; a framing or
/// overrun error ends it with `BusError`. Transmit only: `sys_read` is `NotSupported`.
pub struct UartOffload<'a> {
    tx: serial::Tx<OffloadUsart>,
    sent: usize,
    len: usize,
    stats: &'a UartStats,
}

/// What [`UartOffload`] did since start-up, readable while the system runs.
#[derive(Default)]
pub struct UartStats {
    /// Bytes moved into the transmitter.
    pub bytes: Cell<usize>,
    /// Polls that found a transfer still going (its writer parked meanwhile).
    pub waits: Cell<u32>,
}

impl<'a> UartOffload<'a> {
    /// Over the HAL's transmitter, counting into `stats`.
    pub fn new(tx: serial::Tx<OffloadUsart>, stats: &'a UartStats) -> Self {
        UartOffload { tx, sent: 0, len: 0, stats }
    }

    /// Move up to [`UART_BURST`] more bytes of `data` (the transfer's buffer) into the
    /// transmitter, as far as it takes them now: whether the transfer is complete.
    fn pump(&mut self, data: &[u8]) -> Result<bool, HalError> {
        let end = (self.sent + UART_BURST).min(self.len);
        while self.sent < end {
            let Some(&byte) = data.get(self.sent) else { return Err(HalError::InvalidArgument) };
            match embedded_hal_nb::serial::Write::write(&mut self.tx, byte) {
                Ok(()) => {
                    self.sent += 1;
                    self.stats.bytes.set(self.stats.bytes.get() + 1);
                }
                Err(nb::Error::WouldBlock) => break,
                Err(nb::Error::Other(_)) => return Err(HalError::BusError),
            }
        }
        Ok(self.sent == self.len)
    }
}

impl Offload for UartOffload<'_> {
    fn start_write(&mut self, data: &[u8]) -> Result<Progress, HalError> {
        (self.sent, self.len) = (0, data.len());
        Ok(if self.pump(data)? { Progress::Done(data.len()) } else { Progress::Pending })
    }

    fn start_read(&mut self, _buf: &mut [u8]) -> Result<Progress, HalError> {
        Err(HalError::NotSupported)
    }

    fn poll(&mut self, buf: &mut [u8]) -> Option<Result<usize, HalError>> {
        match self.pump(buf) {
            Ok(true) => Some(Ok(self.len)),
            Ok(false) => {
                self.stats.waits.set(self.stats.waits.get() + 1);
                None
            }
            Err(e) => Some(Err(e)),
        }
    }

    fn cancel(&mut self) {
        (self.sent, self.len) = (0, 0);
    }
}

impl Device for UartOffload<'_> {
    fn support_offload(&mut self) -> Option<&mut dyn Offload> {
        Some(self)
    }
}

/// The user LED (pin 0, an output) and the user button (pin 1, an input, low
/// while pressed) as one GPIO device, as the examples `blink` and `rust-hal` expect.
pub struct NucleoPins<L, B> {
    led: L,
    led_level: bool,
    button: B,
}

impl<L: OutputPin, B: InputPin> NucleoPins<L, B> {
    /// The LED off.
    pub fn new(mut led: L, button: B) -> Self {
        let _ = led.set_low();
        NucleoPins { led, led_level: false, button }
    }
}

impl<L: OutputPin, B: InputPin> Gpio for NucleoPins<L, B> {
    fn pins(&self) -> u8 {
        2
    }

    fn read(&mut self, pin: u8) -> Result<bool, HalError> {
        sample_stack();
        match pin {
            0 => Ok(self.led_level),
            1 => self.button.is_high().map_err(|_| HalError::BusError),
            _ => Err(HalError::BadChannel),
        }
    }

    fn write(&mut self, pin: u8, high: bool) -> Result<(), HalError> {
        match pin {
            0 => {
                let r = if high { self.led.set_high() } else { self.led.set_low() };
                r.map_err(|_| HalError::BusError)?;
                self.led_level = high;
                Ok(())
            }
            1 => Err(HalError::NotSupported),
            _ => Err(HalError::BadChannel),
        }
    }
}

impl<L: OutputPin, B: InputPin> Device for NucleoPins<L, B> {
    fn support_gpio(&mut self) -> Option<&mut dyn Gpio> {
        Some(self)
    }

    /// Keys: [`key::CHANNELS`] (get: 2).
    fn query(&mut self, k: u8) -> Result<Value<'_>, HalError> {
        match k {
            key::CHANNELS => Ok(Value::U32(2)),
            _ => Err(HalError::NotSupported),
        }
    }
}

/// An SPI bus and its chip-select pin as one `embedded-hal` SPI device: the
/// select is low for exactly one transaction.
pub struct CsDevice<B, P> {
    bus: B,
    cs: P,
}

impl<B: SpiBus, P: OutputPin> CsDevice<B, P> {
    /// Deselected.
    pub fn new(bus: B, mut cs: P) -> Self {
        let _ = cs.set_high();
        CsDevice { bus, cs }
    }
}

impl<B: SpiBus, P: OutputPin> ErrorType for CsDevice<B, P> {
    type Error = B::Error;
}

impl<B: SpiBus, P: OutputPin> SpiDevice for CsDevice<B, P> {
    fn transaction(&mut self, operations: &mut [Operation<'_, u8>]) -> Result<(), B::Error> {
        let _ = self.cs.set_low();
        let r = operations.iter_mut().try_for_each(|op| match op {
            Operation::Read(buf) => self.bus.read(buf),
            Operation::Write(buf) => self.bus.write(buf),
            Operation::Transfer(read, write) => self.bus.transfer(read, write),
            Operation::TransferInPlace(buf) => self.bus.transfer_in_place(buf),
            Operation::DelayNs(ns) => {
                // At most 84 cycles per 1 000 ns at 84 MHz: a busy wait long enough.
                cortex_m::asm::delay(ns.saturating_mul(84) / 1000 + 1);
                Ok(())
            }
        });
        let flushed = self.bus.flush();
        let _ = self.cs.set_high();
        r.and(flushed)
    }
}
