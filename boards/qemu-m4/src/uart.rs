//! UART0 of QEMU's MPS2 boards (an ARM CMSDK APB UART), polled: the debugger's
//! link on the board (`src/bin/debug.rs`). QEMU connects it to the host with
//! `-serial tcp::PORT,server=on,wait=off` (or a pty); lldb connects to that port.
//! The only `unsafe` is the register access (UNSAFE.md).

/// UART0's registers: mps2-an386 (Cortex-M4), and mps2-an505 (Cortex-M33, whose
/// firmware runs in the secure state: the UART's secure alias).
/// (`board_an505` comes from build.rs, which picks the board by target.)
#[cfg(not(board_an505))]
const BASE: usize = 0x4000_4000;
#[cfg(board_an505)]
const BASE: usize = 0x5020_0000;
const DATA: usize = BASE;
const STATE: usize = BASE + 0x04;
const CTRL: usize = BASE + 0x08;
const BAUDDIV: usize = BASE + 0x10;

/// STATE: the transmit buffer is full / the receive buffer holds a byte.
const TX_FULL: u32 = 1;
const RX_FULL: u32 = 2;

fn read(reg: usize) -> u32 {
    // SAFETY: `reg` is one of the UART's word-aligned registers above, which exist
    // on this board; a volatile read of them has no effect beyond the device's own.
    unsafe { core::ptr::read_volatile(reg as *const u32) }
}

fn write(reg: usize, v: u32) {
    // SAFETY: as in `read`; the UART is owned by the one `Uart` (see `Uart::take`).
    unsafe { core::ptr::write_volatile(reg as *mut u32, v) }
}

/// UART0, transmitter and receiver enabled.
pub struct Uart {
    /// A byte read by `peek`, not yet consumed.
    pending: Option<u8>,
}

static TAKEN: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

impl Uart {
    /// The UART, once (`None` after the first call).
    pub fn take() -> Option<Uart> {
        if TAKEN.swap(true, core::sync::atomic::Ordering::Relaxed) {
            return None;
        }
        // QEMU's model transmits only with a divider of at least 16; the rate is not modelled.
        write(BAUDDIV, 16);
        write(CTRL, 0b11);
        Some(Uart { pending: None })
    }

    /// Send one byte (waits while the transmit buffer is full).
    pub fn write_byte(&mut self, b: u8) {
        while read(STATE) & TX_FULL != 0 {}
        write(DATA, u32::from(b));
    }

    /// Receive one byte (waits for it).
    pub fn read_byte(&mut self) -> u8 {
        if let Some(b) = self.pending.take() {
            return b;
        }
        while read(STATE) & RX_FULL == 0 {}
        read(DATA) as u8
    }

    /// The next byte if one has arrived, without consuming it.
    pub fn peek_byte(&mut self) -> Option<u8> {
        if self.pending.is_none() && read(STATE) & RX_FULL != 0 {
            self.pending = Some(read(DATA) as u8);
        }
        self.pending
    }
}
