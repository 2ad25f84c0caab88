//! `fireball run --gdb ADDR`: the system of `system.rs`, served to lldb over TCP
//! by `fireball-sys`'s stub. The run loop hands the kernel to the session around
//! every scheduling step (see `fireball_sys::gdb`); while lldb has the system
//! stopped, no task runs. With `--gdb-nowait` the system starts at once and lldb
//! attaches whenever it connects; after lldb detaches, another lldb may attach.

use std::io::Write;
use std::net::{TcpListener, TcpStream};

use fireball_coos::sched::Step;
use fireball_sys::gdb::{Debuggee, Debugger, Flow};

/// What a run with a debugger needs: where lldb connects, whether to wait for it
/// before the first instruction, and, for each module in load order (app first,
/// then the services), the path lldb loads it from.
pub struct Gdb {
    /// Bound to the `--gdb` address.
    pub listener: TcpListener,
    /// Wait for lldb before the first instruction (not `--gdb-nowait`).
    pub wait: bool,
    /// The modules' paths (lldb reads their DWARF from these files).
    pub paths: Vec<String>,
}

/// The session (if lldb is attached), the kernel handed back, and why to end the run (if so).
pub type Handed<'n, D> = (Option<Debugger<'static, 'n, D, TcpStream>>, D, Option<String>);

/// Packet buffer: half checks each packet's framing, half is the stub's, whose size
/// it announces as `PacketSize` (lldb sizes its memory reads from it: 4 KiB).
pub const PACKET_BYTES: usize = 8192;

/// Before the first instruction: with `wait`, accept lldb and serve it until it
/// resumes the system. `tasks[k]` runs `paths[k]`.
pub fn start<'n, D: Debuggee>(gdb: &'n Gdb, tasks: &[u8], kernel: D, out: &mut dyn Write) -> Result<Handed<'n, D>, String> {
    if !gdb.wait {
        gdb.listener.set_nonblocking(true).map_err(|e| format!("--gdb: {e}"))?;
        return Ok((None, kernel, None));
    }
    let (stream, _) = gdb.listener.accept().map_err(|e| format!("--gdb: {e}"))?;
    attach(gdb, stream, tasks, kernel, out)
}

/// After a scheduling step: let the session report a stop and serve lldb; with no
/// session, attach lldb if it has connected meanwhile.
pub fn after_step<'n, D: Debuggee>(
    gdb: &'n Gdb,
    session: Option<Debugger<'static, 'n, D, TcpStream>>,
    tasks: &[u8],
    kernel: D,
    step: Step,
    out: &mut dyn Write,
) -> Result<Handed<'n, D>, String> {
    let Some(mut d) = session else {
        return match gdb.listener.accept() {
            Ok((stream, _)) => attach(gdb, stream, tasks, kernel, out),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok((None, kernel, None)),
            Err(e) => Err(format!("--gdb: {e}")),
        };
    };
    let (kernel, flow) = d.after_step(kernel, step).ok_or("--gdb: the session lost the system")?;
    Ok(finish(Some(d), kernel, flow, gdb, out))
}

fn attach<'n, D: Debuggee>(gdb: &'n Gdb, stream: TcpStream, tasks: &[u8], kernel: D, out: &mut dyn Write) -> Result<Handed<'n, D>, String> {
    let peer = stream.peer_addr().map_or_else(|_| "?".to_string(), |a| a.to_string());
    let _ = writeln!(out, "[gdb] lldb attached from {peer}");
    stream.set_nonblocking(false).map_err(|e| format!("--gdb: {e}"))?;
    let _ = stream.set_nodelay(true);
    // One buffer per session, for the session's lifetime (a few per run at most).
    let buf: &'static mut [u8] = Box::leak(vec![0u8; PACKET_BYTES].into_boxed_slice());
    let mut d = Debugger::new(stream, buf).map_err(|_| "--gdb: cannot start the debugger session".to_string())?;
    for (&t, path) in tasks.iter().zip(&gdb.paths) {
        d.set_name(t, path);
    }
    let (kernel, flow) = d.attach(kernel).ok_or("--gdb: the session lost the system")?;
    Ok(finish(Some(d), kernel, flow, gdb, out))
}

fn finish<'n, D: Debuggee>(d: Option<Debugger<'static, 'n, D, TcpStream>>, kernel: D, flow: Flow, gdb: &Gdb, out: &mut dyn Write) -> Handed<'n, D> {
    match flow {
        Flow::Run => (d, kernel, None),
        Flow::Detached => {
            let _ = gdb.listener.set_nonblocking(true);
            let _ = writeln!(out, "[gdb] debugger detached; the system runs on");
            (None, kernel, None)
        }
        Flow::Kill => (None, kernel, Some("killed by the debugger".to_string())),
    }
}
