//! Executed instructions under `qemu-system-arm -icount shift=0`, where SysTick
//! counts them: 40 per tick on mps2-an386 (Cortex-M4), 50 on mps2-an505
//! (Cortex-M33); the SysTick exception counts its wraps, so the counter is 64
//! bits wide. Shared by the CoreMark firmwares (src/bin/coremark*.rs, each
//! `#[path]`-includes it), so every engine is measured the same way.

use core::cell::Cell;
use core::sync::atomic::{compiler_fence, AtomicU32, Ordering};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::{SCB, SYST};
use cortex_m_rt::exception;

static WRAPS: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::Relaxed);
}

/// The running counter.
pub struct Icount {
    per_tick: u64,
    /// The last reading, in ticks.
    last: Cell<u64>,
}

impl Icount {
    /// Starts SysTick on the core clock, wrapping every 2^24 ticks; `None` if
    /// the core peripherals were taken already.
    pub fn start() -> Option<Self> {
        let mut p = cortex_m::Peripherals::take()?;
        // CPUID's part number tells the boards apart.
        let per_tick = if (p.CPUID.base.read() >> 4) & 0xfff == 0xd21 { 50 } else { 40 };
        p.SYST.set_clock_source(SystClkSource::Core);
        p.SYST.set_reload(0x00ff_ffff);
        p.SYST.clear_current();
        p.SYST.enable_interrupt();
        p.SYST.enable_counter();
        Some(Icount { per_tick, last: Cell::new(0) })
    }

    /// Instructions executed since [`Icount::start`] (to a tick: `per_tick` instructions).
    ///
    /// Under QEMU the counter reloads when it reaches zero, but the wrap's
    /// exception becomes pending only when QEMU runs the timer's callback, and
    /// is taken later still. A reading in between sees the reloaded counter
    /// without the wrap: the pending bit, read before and after the counter,
    /// catches the second window; a reading below the last one, the first
    /// (readings must then be less than 2^24 ticks apart: 671 million
    /// instructions on mps2-an386, more than any span the firmwares measure).
    pub fn now(&self) -> u64 {
        loop {
            let w = WRAPS.load(Ordering::SeqCst);
            compiler_fence(Ordering::SeqCst);
            let before = SCB::is_pendst_pending();
            let cur = SYST::get_current();
            let after = SCB::is_pendst_pending();
            compiler_fence(Ordering::SeqCst);
            if WRAPS.load(Ordering::SeqCst) != w || before != after {
                continue;
            }
            let mut ticks = ((w as u64 + before as u64) << 24) + (0x00ff_ffff - cur) as u64;
            if ticks < self.last.get() {
                ticks += 1 << 24;
            }
            self.last.set(ticks);
            return ticks * self.per_tick;
        }
    }
}
