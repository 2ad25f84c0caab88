//! `fireball run --gdb ADDR`: the system of `system.rs`, served to lldb over TCP
//! by `fireball-sys`'s stub. The run loop hands the kernel to the session around
//! every scheduling step (see `fireball_sys::gdb`); while lldb has the system
//! stopped, no task runs.

use std::io::Write;
use std::net::TcpStream;

use fireball_coos::sched::Step;
use fireball_sys::gdb::{Debuggee, Debugger, Flow};

/// What a run with a debugger needs: lldb's connection and, for each module in
/// load order (app first, then the services), the path lldb loads it from.
pub struct Gdb {
    /// The accepted connection.
    pub stream: TcpStream,
    /// The modules' paths (lldb reads their DWARF from these files).
    pub paths: Vec<String>,
}

/// The session (if lldb is still attached), the kernel handed back, and why to end the run (if so).
pub type Handed<'a, 'n, D> = (Option<Debugger<'a, 'n, D, TcpStream>>, D, Option<String>);

/// Packet buffer: lldb sizes its memory reads from the `PacketSize` the stub announces.
pub const PACKET_BYTES: usize = 4096;

/// Open the session on `gdb.stream`, name the modules (`tasks[k]` runs `paths[k]`)
/// and serve lldb until it first resumes. `None` in the second place: run; `Some`: why to stop.
pub fn start<'a, 'n, D: Debuggee>(
    gdb: &'n Gdb,
    buf: &'a mut [u8],
    tasks: &[u8],
    kernel: D,
    out: &mut dyn Write,
) -> Result<Handed<'a, 'n, D>, String> {
    let stream = gdb.stream.try_clone().map_err(|e| format!("--gdb: {e}"))?;
    let _ = stream.set_nodelay(true);
    let mut d = Debugger::new(stream, buf).map_err(|_| "--gdb: cannot start the debugger session".to_string())?;
    for (&t, path) in tasks.iter().zip(&gdb.paths) {
        d.set_name(t, path);
    }
    let (kernel, flow) = d.attach(kernel).ok_or("--gdb: the session lost the system")?;
    Ok(finish(Some(d), kernel, flow, out))
}

/// After a scheduling step: let the session report a stop and serve lldb.
pub fn after_step<'a, 'n, D: Debuggee>(
    session: Option<Debugger<'a, 'n, D, TcpStream>>,
    kernel: D,
    step: Step,
    out: &mut dyn Write,
) -> Result<Handed<'a, 'n, D>, String> {
    let Some(mut d) = session else { return Ok((None, kernel, None)) };
    let (kernel, flow) = d.after_step(kernel, step).ok_or("--gdb: the session lost the system")?;
    Ok(finish(Some(d), kernel, flow, out))
}

fn finish<'a, 'n, D: Debuggee>(d: Option<Debugger<'a, 'n, D, TcpStream>>, kernel: D, flow: Flow, out: &mut dyn Write) -> Handed<'a, 'n, D> {
    match flow {
        Flow::Run => (d, kernel, None),
        Flow::Detached => {
            let _ = writeln!(out, "[gdb] debugger detached; the system runs on");
            (None, kernel, None)
        }
        Flow::Kill => (None, kernel, Some("killed by the debugger".to_string())),
    }
}
