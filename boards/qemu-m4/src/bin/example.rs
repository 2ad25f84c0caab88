//! The origin document's sensor example (`examples/sensor/sensor.wasm`, from
//! `sensor.c`) end to end on the board: the real kernel, the subsystems behind
//! the router, an ADC from a simulated device, TX frames out over semihosting.
//! The system is assembled by the `fireball` facade, as the host simulator's
//! is (`fireball run`): every byte comes from the partitions the memory plan
//! gives a 64 KiB device.
//!
//! ```text
//! RAM (static, 64 KiB) ─► fireball::Builder ─► P1 kernel core · P2 task table · P3 logger ring
//!                                   · P5 the app (module metadata, store, memory) · its coroutine stack
//! flash: sensor.fbx (the module and its side table, packed by build.rs; checked at load)
//! SimAdc (ramp, SimTime) behind an AdcTap · SimClock · TX over semihosting ─► devices by name
//! System::run_until(three frames out) ─► counters, partition table, frames checked against samples
//! ```
//!
//! Exits through semihosting: 0 if every frame holds exactly the samples the
//! ADC returned (`example ok`), 1 otherwise; errors are printed, never panicked on.
#![no_std]
#![no_main]
// No unsafe here but the promise that build.rs validated the guest (`Prevalidated::new`,
// allowed where it is made); `deny` rather than `forbid` so it, and cortex-m's
// `singleton!`, may allow their own.
#![deny(unsafe_code)]

use core::cell::{Cell, RefCell};
use core::fmt;

use cortex_m_rt::entry;
use cortex_m_semihosting::{hprint, hprintln};
use fireball::sys::hal::sim::{Signal, SimAdc, SimClock, SimTime};
use fireball::sys::hal::{Device, HalError, Tx};
use fireball::wasm::Prevalidated;
use fireball::{AdcTap, Builder, Guest, Parts, Ram, Stop, Time};
use fireball_qemu_m4::{exit, HEAP};

/// The guest, validated and packed with its side table by build.rs, executed in place from flash.
// SAFETY: build.rs wrote this file with `write_packed` of sensor.wasm after it loaded
// (was validated) with this engine and the default features, which the facade loads
// it with; it is linked into this firmware's flash and comes from nowhere else.
#[allow(unsafe_code)]
static GUEST: Prevalidated<'static> = unsafe { Prevalidated::new(include_bytes!(concat!(env!("OUT_DIR"), "/sensor.fbx"))) };

/// The device the memory plan is for.
const RAM_BYTES: usize = 64 * 1024;

/// ADC channel 0: a sawtooth, 64 codes per millisecond.
static SIGNALS: [Signal<'static>; 1] = [Signal::Ramp { from: 0, to: 4096, period_ms: 64 }];

/// Frames to wait for, and samples per frame (`BUFFER_SIZE` in sensor.c).
const FRAMES: usize = 3;
const SAMPLES: usize = 64;

/// What the devices saw: the first `FRAMES × SAMPLES` ADC samples, and the frames the guest sent.
struct Record {
    samples: RefCell<[u16; FRAMES * SAMPLES]>,
    reads: Cell<usize>,
    frames: RefCell<[[i16; SAMPLES]; FRAMES]>,
    sent: Cell<usize>,
    /// The length of the first frame that was not `SAMPLES` int16s.
    bad_len: Cell<Option<usize>>,
}

/// The radio: each frame goes out over semihosting as one line
/// `tx len=N data=<hex>`, and the first `FRAMES` are kept as int16 samples.
struct SemihostingTx<'a> {
    record: &'a Record,
}

impl Tx for SemihostingTx<'_> {
    fn max_frame(&self) -> usize {
        256
    }

    fn send(&mut self, frame: &[u8]) -> Result<(), HalError> {
        hprintln!("tx len={} data={}", frame.len(), Hex(frame));
        let k = self.record.sent.get();
        if frame.len() != SAMPLES * 2 {
            if self.record.bad_len.get().is_none() {
                self.record.bad_len.set(Some(frame.len()));
            }
        } else if let Ok(mut frames) = self.record.frames.try_borrow_mut() {
            // (`try_borrow_mut`: like Fireball's own code, this board has no panic path.)
            if let Some(samples) = frames.get_mut(k) {
                for (s, b) in samples.iter_mut().zip(frame.chunks_exact(2)) {
                    if let &[lo, hi] = b {
                        *s = i16::from_le_bytes([lo, hi]);
                    }
                }
            }
        }
        self.record.sent.set(k + 1);
        Ok(())
    }
}

impl Device for SemihostingTx<'_> {
    fn support_tx(&mut self) -> Option<&mut dyn Tx> {
        Some(self)
    }
}

/// Bytes as lowercase hex, written in chunks (few semihosting calls per line).
struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut buf = [0u8; 128];
        for chunk in self.0.chunks(buf.len() / 2) {
            for (pair, &b) in buf.chunks_exact_mut(2).zip(chunk) {
                if let [high, low] = pair {
                    *high = DIGITS[usize::from(b >> 4)];
                    *low = DIGITS[usize::from(b & 15)];
                }
            }
            let text = core::str::from_utf8(&buf[..chunk.len() * 2]).map_err(|_| fmt::Error)?;
            f.write_str(text)?;
        }
        Ok(())
    }
}

/// The logger's text backend: semihosting stdout.
struct Console;

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        hprint!("{}", s);
        Ok(())
    }
}

#[entry]
fn main() -> ! {
    hprintln!("example: sensor.wasm, {} bytes at {:p} (flash)", GUEST.bytes().len(), GUEST.bytes().as_ptr());
    let ok = run();
    hprintln!("{}", if ok { "example ok" } else { "example FAILED" });
    exit(ok)
}

fn run() -> bool {
    let Some(ram) = cortex_m::singleton!(: Ram<RAM_BYTES> = Ram::new()) else { return false };
    let record = Record {
        samples: RefCell::new([0; FRAMES * SAMPLES]),
        reads: Cell::new(0),
        frames: RefCell::new([[0; SAMPLES]; FRAMES]),
        sent: Cell::new(0),
        bad_len: Cell::new(None),
    };
    let mut on_read = |_channel: u8, v: u16| {
        let n = record.reads.get();
        if let Some(slot) = record.samples.try_borrow_mut().ok().as_deref_mut().and_then(|s| s.get_mut(n)) {
            *slot = v;
        }
        record.reads.set(n + 1);
    };
    let time = SimTime::new();
    let mut adc = AdcTap::new(SimAdc::new(&time, &SIGNALS), &mut on_read);
    let mut clock = SimClock::new(&time);
    let mut tx = SemihostingTx { record: &record };
    let mut console = Console;
    let mut parts = Parts::new();
    let built = Builder::new(ram.bytes())
        .device("adc/0", &mut adc)
        .device("clock", &mut clock)
        .device("tx", &mut tx)
        .guest(Guest::prevalidated_app("sensor", GUEST))
        .log_to(&mut console)
        .time(Time::Simulated { time: &time, instructions_per_ms: 4_000 })
        .max_table_elems(64)
        .build(&mut parts);
    let mut system = match built {
        Ok(s) => s,
        Err(e) => {
            hprintln!("fireball: {}", e);
            return false;
        }
    };
    if let Some(f) = system.footprints().first() {
        hprintln!(
            "plan for {} B; sensor: packed, {} B of metadata in P5, linear memory {} B, {} B of P5 at its peak",
            RAM_BYTES,
            f.metadata,
            f.memory,
            f.peak
        );
    }

    // Run until FRAMES frames are out.
    let stop = system.run_until(|_| record.sent.get() >= FRAMES);
    if stop != Stop::Condition {
        hprintln!("stopped after {} of {} frames: {}", record.sent.get(), FRAMES, stop);
        return false;
    }
    let totals = system.totals();
    let calls = system.router_stats().calls;
    let sunk = system.sinks().map(|s| s.count).sum::<u32>();
    hprintln!(
        "kernel: {} instructions ({} ms simulated), {} switches, {} yields, {} channel ops; router {} calls; sink {} messages; adc {} reads",
        totals.instructions as u32,
        system.millis() as u32,
        totals.switches,
        totals.yields,
        totals.chan_ops,
        calls,
        sunk,
        record.reads.get()
    );
    hprint!("{}", system.partition_table());
    hprintln!("kernel tables {} B in P1; global heap peak {} B", system.kernel_ram(), HEAP.peak_bytes());

    // The checksum, and the frames against the samples the ADC returned.
    if let Some(len) = record.bad_len.get() {
        hprintln!("a frame of {} bytes (expected {})", len, SAMPLES * 2);
        return false;
    }
    if record.reads.get() < FRAMES * SAMPLES {
        hprintln!("{} frames from only {} ADC reads", FRAMES, record.reads.get());
        return false;
    }
    let (Ok(frames), Ok(samples)) = (record.frames.try_borrow(), record.samples.try_borrow()) else { return false };
    let sum: i32 = frames.iter().flatten().map(|&s| i32::from(s)).sum();
    hprintln!("sensor: {} frames, sum={}", FRAMES, sum);
    for (k, (frame, read)) in frames.iter().zip(samples.chunks_exact(SAMPLES)).enumerate() {
        for (i, (&sent, &adc)) in frame.iter().zip(read).enumerate() {
            if sent != adc as i16 {
                hprintln!("frame {} sample {}: sent {}, the ADC returned {}", k, i, sent, adc);
                return false;
            }
        }
    }
    true
}
