//! The GDB remote stub (`gdb.rs`) on an in-memory connection, against a real
//! kernel: a scripted lldb-like session (breakpoint, stop reply with the pc,
//! call stack, locals, memory and module reads), then hostile input — garbage,
//! bad checksums, truncated and oversized packets, a breakpoint outside any
//! function, reads past the end, a dropped connection. The stub must answer
//! with an error or detach cleanly, and the system must run on to its end.
#![cfg(feature = "gdb")]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use allocator_api2::alloc::Global;
use fireball_coos::sched::{Core, Kernel, KernelConfig, Step, TaskState};
use fireball_sys::gdb::{Debugger, Flow};
use fireball_wasm::{HostLimits, Module, StackLimits};
use gdbstub::conn::{Connection, ConnectionExt};

/// Bytes lldb "sends" (`input`) and what the stub wrote back (`output`); reading
/// past the input is a dropped connection.
#[derive(Clone, Default)]
struct Pipe {
    input: Rc<RefCell<VecDeque<u8>>>,
    output: Rc<RefCell<Vec<u8>>>,
}

#[derive(Debug)]
struct Dropped;

impl Connection for Pipe {
    type Error = Dropped;
    fn write(&mut self, byte: u8) -> Result<(), Dropped> {
        self.output.borrow_mut().push(byte);
        Ok(())
    }
    fn flush(&mut self) -> Result<(), Dropped> {
        Ok(())
    }
}

impl ConnectionExt for Pipe {
    fn read(&mut self) -> Result<u8, Dropped> {
        self.input.borrow_mut().pop_front().ok_or(Dropped)
    }
    fn peek(&mut self) -> Result<Option<u8>, Dropped> {
        Ok(self.input.borrow().front().copied())
    }
}

impl Pipe {
    fn send(&self, bytes: &[u8]) {
        self.input.borrow_mut().extend(bytes);
    }
    fn packet(&self, body: &str) {
        self.send(packet(body).as_bytes());
    }
    /// Everything written since the last call, as text, run-length encoding expanded.
    fn take(&self) -> String {
        let raw = String::from_utf8_lossy(&std::mem::take(&mut *self.output.borrow_mut())).into_owned();
        let mut out = String::new();
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c == '*' {
                // `X*N`: X again, N - 29 more times.
                let n = chars.next().map_or(0, |n| n as usize - 29);
                let last = out.chars().last().unwrap_or(' ');
                out.extend(std::iter::repeat_n(last, n));
            } else {
                out.push(c);
            }
        }
        out
    }
}

fn packet(body: &str) -> String {
    let sum = body.bytes().fold(0u8, |s, b| s.wrapping_add(b));
    format!("${body}#{sum:02x}")
}

const GUEST: &str = r#"(module
  (memory 1)
  (data (i32.const 16) "\2a\00\00\00")
  (global $g (mut i32) (i32.const 99))
  (func $f (param $x i32) (result i32)
    local.get $x
    i32.const 1
    i32.add)
  (func (export "main")
    i32.const 5
    call $f
    global.set $g))"#;

const CODE: u64 = 0x4000_0000_0000_0000;

struct Rig {
    module: &'static Module<'static>,
}

fn rig() -> Rig {
    let bytes: &'static [u8] = Box::leak(wat::parse_str(GUEST).expect("wat").into_boxed_slice());
    let module: &'static Module<'static> = Box::leak(Box::new(Module::new(bytes).expect("module")));
    Rig { module }
}

type K = Kernel<'static, 'static, Global, Global, Global>;

impl Rig {
    fn kernel(&self) -> K {
        let cfg = KernelConfig { tasks: 4, channels: &[0], owned: 4, cpu_mhz: 100 };
        let core = Box::leak(Box::new(RefCell::new(Core::new_in(&cfg, Global).expect("core"))));
        let mut k = Kernel::new_in(core, &cfg, Global).expect("kernel");
        let limits = HostLimits { max_memory_bytes: 4096, max_table_elems: 16 };
        let t = k.spawn_wasm(self.module, "main", Global, limits, StackLimits { value_slots: 256, frames: 16 }).expect("spawn");
        assert_eq!(t, 0);
        k
    }
    /// `$f`'s first instruction.
    fn f(&self) -> u32 {
        self.module.func_info(0).expect("f").code_start
    }
}

/// Step the kernel with the session attached until the task ends; returns the steps' flows.
fn run(d: &mut Debugger<'_, '_, K, Pipe>, mut k: K) -> (K, Vec<Flow>) {
    let mut flows = Vec::new();
    for _ in 0..100 {
        let step = k.step();
        let (k2, flow) = d.after_step(k, step).expect("kernel handed back");
        k = k2;
        flows.push(flow);
        if step == Step::Idle || flow == Flow::Kill {
            break;
        }
    }
    (k, flows)
}

#[test]
fn a_session_breaks_inspects_and_runs_to_the_end() {
    let r = rig();
    let pipe = Pipe::default();
    let mut buf = [0u8; 4096];
    let mut d: Debugger<'_, '_, K, Pipe> = Debugger::new(pipe.clone(), &mut buf).expect("session");
    d.set_name(0, "guest<1>.wasm");
    let f = r.f();
    pipe.packet("qSupported:xmlRegisters=i386,arm,mips,arc;multiprocess+;fork-events+;vfork-events+");
    pipe.packet("QStartNoAckMode");
    pipe.send(b"+");
    pipe.packet("qRegisterInfo0");
    pipe.packet("qRegisterInfo1");
    pipe.packet("qXfer:libraries:read::0,1000");
    pipe.packet("qfThreadInfo");
    pipe.packet(&format!("Z0,{:x},1", CODE | f as u64));
    pipe.packet("vCont;c");
    let (k, flow) = d.attach(r.kernel()).expect("kernel");
    assert_eq!(flow, Flow::Run);
    let hello = pipe.take();
    assert!(hello.contains("qXfer:libraries:read+"), "{hello}");
    assert!(hello.contains("name:pc;bitsize:64;offset:0;encoding:uint;format:hex;set:General Purpose Registers;generic:pc;"), "{hello}");
    assert!(hello.contains("$E45#"), "qRegisterInfo1: no such register: {hello}");
    assert!(
        hello.contains("<library-list><library name=\"guest&lt;1&gt;.wasm\"><section address=\"0x4000000000000000\"/></library></library-list>"),
        "{hello}"
    );
    assert!(hello.contains("$mp01.01#"), "one thread, task 0: {hello}");

    // Once stopped, lldb's questions (queued before the step that stops).
    pipe.packet("qWasmCallStack:1");
    pipe.packet("qWasmLocal:0;0");
    pipe.packet("qWasmLocal:0;7");
    pipe.packet("qWasmStackValue:1;0");
    pipe.packet("qWasmGlobal:0;0");
    pipe.packet("m10,4");
    pipe.packet("m4000000000000000,4");
    pipe.packet("m1000,4");
    pipe.packet("m10000,4");
    pipe.packet(&format!("z0,{:x},1", CODE | f as u64));
    pipe.packet("vCont;s:p1.1");
    let step = {
        let mut k = k;
        let mut stopped = None;
        for _ in 0..10 {
            let s = k.step();
            let (k2, flow) = d.after_step(k, s).expect("kernel");
            k = k2;
            assert_eq!(flow, Flow::Run);
            if let Step::Stopped(..) = s {
                stopped = Some(s);
                break;
            }
        }
        assert_eq!(stopped, Some(Step::Stopped(0, f)));
        k
    };
    let out = pipe.take();
    let pc = (CODE | f as u64).to_le_bytes().iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert!(out.contains(&format!("T05thread:p01.01;swbreak:;00:{pc};")), "stop reply with the pc: {out}");
    // Two frames: $f at its first instruction, main at its return address.
    let ret = r.module.func_info(1).expect("main").code_start + 4;
    let ret_pc = (CODE | ret as u64).to_le_bytes().iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert!(out.contains(&format!("${pc}{ret_pc}#")), "call stack: {out}");
    assert!(out.contains("$05000000#"), "local 0 = 5 as an i32: {out}");
    assert!(out.contains("$#00"), "no local 7: an empty reply: {out}");
    assert!(out.contains("$6300000000000000#") || out.contains("$63000000#"), "global 0 = 99: {out}");
    assert!(out.contains("$2a000000#"), "memory at 16: {out}");
    assert!(out.contains("$0061736d#"), "module bytes: the wasm magic: {out}");
    assert!(out.contains("$00000000#"), "past the 4 KiB the host backs, inside the 64 KiB page: zeros: {out}");
    assert!(out.contains("$E"), "a read past the memory's size is an error: {out}");

    // The step: one instruction on.
    let (k, flows) = run(&mut d, step);
    let out = pipe.take();
    let pc2 = (CODE | (f + 2) as u64).to_le_bytes().iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert!(out.contains(&format!("T05thread:p01.01;00:{pc2};")), "stepped over `local.get 0`: {out}");
    // Then lldb has nothing more to say: the connection is gone, the session detaches
    // and the task runs to its end.
    assert_eq!(flows.last(), Some(&Flow::Detached));
    assert!(!d.attached());
    let (k, _) = run(&mut d, k);
    assert_eq!(k.state(0), TaskState::Done);
    let g = k.wasm_task(0).map(|(th, st)| th.global(st, 0, 0));
    assert_eq!(g, Some(None), "no frames once done");
}

/// Hostile input while stopped: the stub replies with errors (or nothing, for an
/// unknown packet) and, when the stream itself is broken, detaches.
#[test]
fn garbage_truncated_and_oversized_packets_are_refused_without_a_crash() {
    let r = rig();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("noise", (0..2000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect()),
        ("bad checksum", b"$qSupported#00$?#00".to_vec()),
        ("truncated", b"$qWasmCallStack:1#".to_vec()),
        ("truncated mid-body", b"$m40000000000".to_vec()),
        ("oversized", {
            let mut p = b"$X0,1000:".to_vec();
            p.extend(std::iter::repeat_n(b'A', 10_000));
            p.extend(b"#00");
            p
        }),
        ("unknown and malformed packets", {
            let mut v = Vec::new();
            for body in ["qFooBar", "m", "mzz,4", "m4000000000000000", "Z0,zz,1", "Z9,0,0", "qWasmLocal:x;y", "qWasmCallStack:", "vCont;q", "Hgzz", "p99", "G00", "qXfer:libraries:read::ffffffff,10", "vFile:open:0,0,0"] {
                v.extend(packet(body).as_bytes());
            }
            v
        }),
        ("breakpoints outside code", {
            let mut v = Vec::new();
            for addr in [CODE, CODE | 0xffff_ffff, CODE | 7 << 32 | 0x40, 0x10, 3 << 62] {
                v.extend(packet(&format!("Z0,{addr:x},1")).as_bytes());
            }
            v
        }),
    ];
    for (what, bytes) in cases {
        let pipe = Pipe::default();
        let mut buf = [0u8; 4096];
        let mut d: Debugger<'_, '_, K, Pipe> = Debugger::new(pipe.clone(), &mut buf).expect("session");
        pipe.send(&bytes);
        // Then the connection drops (the input ends).
        let (k, flow) = d.attach(r.kernel()).expect("kernel handed back");
        assert_eq!(flow, Flow::Detached, "{what}: a broken stream detaches");
        let out = pipe.take();
        if what == "breakpoints outside code" {
            assert_eq!(out.matches("$E").count(), 5, "{what}: each refused: {out}");
        }
        if what == "unknown and malformed packets" {
            assert!(out.contains("$#00"), "{what}: an unknown packet gets the empty reply: {out}");
        }
        // Nothing was left behind: no breakpoint, no step; the system runs to its end.
        assert!(k.wasm_task(0).is_some_and(|(th, _)| th.breakpoints().is_empty() && !th.stepping()), "{what}");
        let (k, flows) = run(&mut d, k);
        assert!(flows.iter().all(|f| *f == Flow::Detached), "{what}");
        assert_eq!(k.state(0), TaskState::Done, "{what}");
    }
}

/// A noisy link: a packet that arrives damaged is answered `-` (the client sends it
/// again) or, once acks are off, with an error; stray bytes between packets are
/// dropped; an oversized packet gets an error; a packet cut short by the next `$`
/// is dropped; a `-` from the client is ignored. None of them ends the session.
#[test]
fn a_damaged_packet_is_asked_again_and_the_session_goes_on() {
    let r = rig();
    let pipe = Pipe::default();
    let mut buf = [0u8; 4096];
    let mut d: Debugger<'_, '_, K, Pipe> = Debugger::new(pipe.clone(), &mut buf).expect("session");
    let good = packet("qfThreadInfo");
    let mut damaged = good.clone().into_bytes();
    damaged[3] ^= 0x20; // one flipped bit in the body (`qfthreadInfo`), the checksum sent unchanged
    pipe.send(&damaged);
    pipe.send(b"\r\n\x7fjunk-");
    pipe.send(good.as_bytes());
    let mut long = b"$qXfer:features:read:".to_vec();
    long.extend(std::iter::repeat_n(b'a', 3000));
    let sum = long[1..].iter().fold(0u8, |s, &b| s.wrapping_add(b));
    long.extend(format!("#{sum:02x}").as_bytes());
    pipe.send(&long);
    pipe.send(b"$qfThre");
    pipe.send(packet("qsThreadInfo").as_bytes());
    pipe.packet("vCont;c");
    let (k, flow) = d.attach(r.kernel()).expect("kernel");
    assert_eq!(flow, Flow::Run, "the session went on to lldb's resume");
    assert!(d.attached());
    let out = pipe.take();
    assert!(out.starts_with("-+$m01#"), "damaged: `-`; then the good copy answered: {out}");
    assert_eq!(out.matches("$m01#").count(), 1, "the damaged copy was not served: {out}");
    assert!(out.contains("+$E07#"), "oversized: acked, then refused: {out}");
    assert!(out.contains("$l#"), "the packet after the one cut short: {out}");

    // Acks off: a damaged packet can only be answered with an error.
    let pipe = Pipe::default();
    let mut buf = [0u8; 1024];
    let mut d2: Debugger<'_, '_, K, Pipe> = Debugger::new(pipe.clone(), &mut buf).expect("session");
    pipe.packet("QStartNoAckMode");
    pipe.send(b"+");
    pipe.send(b"$qfThreadInfo#00");
    pipe.packet("qfThreadInfo");
    pipe.packet("vCont;c");
    let (_, flow) = d2.attach(r.kernel()).expect("kernel");
    assert_eq!(flow, Flow::Run);
    let out = pipe.take();
    assert!(out.contains("$E05#aa$m01#"), "no-ack: an error, then the good copy: {out}");
    assert!(!out.contains('-'), "{out}");
    // The first session runs its system to the end.
    let (k, _) = run(&mut d, k);
    assert_eq!(k.state(0), TaskState::Done);
}

/// A long noisy exchange, generated: valid packets, copies with one flipped bit,
/// packets cut short, stray bytes (no `#`, so no stray packet completes) and acks
/// in any order. No panic, every intact query answered, and the session still
/// takes lldb's resume at the end.
#[test]
fn a_noisy_link_never_ends_the_session() {
    let r = rig();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..60 {
        let pipe = Pipe::default();
        let mut buf = [0u8; 1024];
        let mut d: Debugger<'_, '_, K, Pipe> = Debugger::new(pipe.clone(), &mut buf).expect("session");
        let mut intact = 0;
        for _ in 0..40 {
            let good = packet(["qfThreadInfo", "qsThreadInfo", "qC", "qHostInfo", "?"][(rand() % 5) as usize]).into_bytes();
            match rand() % 5 {
                0 | 1 => {
                    pipe.send(&good);
                    intact += 1;
                }
                2 => {
                    let mut bad = good.clone();
                    let i = 1 + (rand() as usize) % (bad.len() - 1);
                    bad[i] ^= 1 << (rand() % 8);
                    pipe.send(&bad);
                }
                3 => pipe.send(&good[..1 + (rand() as usize) % (good.len() - 1)]),
                _ => {
                    let junk: Vec<u8> = (0..rand() % 12).map(|_| rand() as u8).filter(|&b| b != b'#').collect();
                    pipe.send(&junk);
                }
            }
            // Whatever came before, the next `$` starts a packet on its own.
            pipe.send(b"xx");
        }
        pipe.packet("vCont;c");
        let (k, flow) = d.attach(r.kernel()).expect("kernel");
        let out = pipe.take();
        assert_eq!(flow, Flow::Run, "round {round}: the session took the resume: {out}");
        assert!(out.matches("$").count() >= intact, "round {round}: {intact} intact queries, fewer replies: {out}");
        drop(k);
    }
}

/// A dropped connection while the system runs, and lldb's Ctrl-C.
#[test]
fn ctrl_c_stops_a_running_system_and_a_dropped_connection_detaches() {
    let r = rig();
    let pipe = Pipe::default();
    let mut buf = [0u8; 4096];
    let mut d: Debugger<'_, '_, K, Pipe> = Debugger::new(pipe.clone(), &mut buf).expect("session");
    pipe.packet("vCont;c");
    let (mut k, flow) = d.attach(r.kernel()).expect("kernel");
    assert_eq!(flow, Flow::Run);
    pipe.take();
    // Ctrl-C arrives while running, after a stray `$` from the line (which the stub
    // must not take for the start of a packet that swallows it): the next steps
    // report SIGINT and serve lldb.
    pipe.send(b"$x");
    for _ in 0..2 {
        let (k2, flow) = d.after_step(k, Step::Ran(0, TaskState::Ready)).expect("kernel");
        assert_eq!(flow, Flow::Run, "a stray byte while running changes nothing");
        k = k2;
    }
    pipe.send(&[0x03]);
    pipe.packet("qWasmCallStack:1");
    pipe.packet("D");
    let step = Step::Ran(0, TaskState::Ready);
    let (k, flow) = d.after_step(k, step).expect("kernel");
    let out = pipe.take();
    assert!(out.contains("T02thread:01;"), "SIGINT stop (no multiprocess ids negotiated): {out}");
    assert!(out.contains("$OK#"), "detach acknowledged: {out}");
    assert_eq!(flow, Flow::Detached);
    let (k, _) = run(&mut d, k);
    assert_eq!(k.state(0), TaskState::Done);
}

/// A stop in a task the session cannot name (past `MAX_MODULES`, or with no wasm
/// body) is still reported, without a pc, and nothing overflows.
#[test]
fn a_stop_in_an_unknown_task_is_reported_without_a_crash() {
    let r = rig();
    let pipe = Pipe::default();
    let mut buf = [0u8; 4096];
    let mut d: Debugger<'_, '_, K, Pipe> = Debugger::new(pipe.clone(), &mut buf).expect("session");
    pipe.packet("vCont;c");
    let (k, flow) = d.attach(r.kernel()).expect("kernel");
    assert_eq!(flow, Flow::Run);
    pipe.take();
    let (k, flow) = d.after_step(k, Step::Stopped(200, 7)).expect("kernel");
    let out = pipe.take();
    assert!(out.contains("$T05thread:c9;swbreak:;#"), "task 200 is thread 0xc9, no pc: {out}");
    assert_eq!(flow, Flow::Detached, "then the input ends");
    let (k, _) = run(&mut d, k);
    assert_eq!(k.state(0), TaskState::Done);
}

/// Counts this thread's allocations (the tests run on several threads at once).
struct CountingAlloc;

thread_local! {
    static ALLOCS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; the count is a
// thread-local `Cell` touched only through `try_with` (no allocation, no panic).
unsafe impl std::alloc::GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: `ptr` came from `alloc` above, that is from the system allocator.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: as for `alloc` and `dealloc`.
        unsafe { std::alloc::System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: CountingAlloc = CountingAlloc;

/// The allocation-failure sweep's last step: a debugger session allocates nothing
/// (the caller's packet buffer, fixed tables, breakpoints inline in the thread),
/// so starting one, setting breakpoints, stopping and inspecting cannot run a
/// partition dry or fail on a refused allocation.
#[test]
fn a_debugger_session_allocates_nothing() {
    let r = rig();
    let k = r.kernel();
    let pipe = Pipe::default();
    // The test's own pipe must not allocate while it is counted: room for every reply.
    pipe.output.borrow_mut().reserve(1 << 16);
    let f = r.f();
    for body in ["qSupported:multiprocess+", "QStartNoAckMode"] {
        pipe.packet(body);
    }
    pipe.send(b"+");
    let z0 = format!("Z0,{:x},1", CODE | f as u64);
    for body in ["qRegisterInfo0", "qXfer:libraries:read::0,1000", "qfThreadInfo", &z0, "vCont;c"] {
        pipe.packet(body);
    }
    // lldb's questions at the stop, and its resume, queued now: the pipe does not allocate later.
    for body in ["qWasmCallStack:1", "qWasmLocal:0;0", "m10,4", "z0,0,1", "vCont;c"] {
        pipe.packet(body);
    }
    let mut buf = [0u8; 4096];
    let before = ALLOCS.with(|c| c.get());
    let mut d: Debugger<'_, '_, K, Pipe> = Debugger::new(pipe.clone(), &mut buf).expect("session");
    let (mut k, flow) = d.attach(k).expect("kernel");
    assert_eq!(flow, Flow::Run);
    let mut stopped = false;
    for _ in 0..20 {
        let step = k.step();
        stopped |= matches!(step, Step::Stopped(..));
        let (k2, _) = d.after_step(k, step).expect("kernel handed back");
        k = k2;
        if step == Step::Idle {
            break;
        }
    }
    let during = ALLOCS.with(|c| c.get()) - before;
    assert_eq!(during, 0, "the session allocated {during} times");
    assert!(stopped, "it stopped at the breakpoint: {}", pipe.take());
}

/// Whether a session survives `body`: it answers the `qfThreadInfo` sent after it
/// (gdbstub 0.7 gives up its state machine, and the session, on a command whose
/// arguments it cannot parse); and what it wrote.
fn survives(r: &Rig, body: &str) -> (bool, String) {
    let pipe = Pipe::default();
    let mut buf = [0u8; 4096];
    let mut d: Debugger<'_, '_, K, Pipe> = Debugger::new(pipe.clone(), &mut buf).expect("session");
    pipe.packet(body);
    pipe.packet("qfThreadInfo");
    let _ = d.attach(r.kernel()).expect("kernel handed back");
    let out = pipe.take();
    (out.contains("$m"), out)
}

/// A command intact on the wire whose arguments do not parse (or that gdbstub's
/// handlers refuse as fatal: `Hg` or `T` for all threads, a `vCont` stepping all of
/// them, an address wider than 64 bits) is answered with an error, `E08`, and the
/// session goes on: before, gdbstub gave up its state machine and the connection with
/// it. Well-formed commands are not touched.
#[test]
fn a_malformed_command_gets_an_error_and_the_session_goes_on() {
    let r = rig();
    let malformed = [
        "m", "mzz,4", "m4000000000000000", "m11112222333344445555,4", "M0,1:zz", "Mzz", "M,1", "Z0,zz,1", "z0,zz,1", "Z0,1",
        "Z0,11112222333344445555,1", "Z0,1,11112222333344445555", "H", "Hzz", "Hgzz", "Hg-1", "Hgp1", "T", "Tzz", "T-1", "T0",
        "G00", "qRegisterInfo", "qRegisterInfozz", "qWasmCallStack:", "qWasmCallStack:0", "qWasmLocal:x;y", "qWasmLocal:0;1;2",
        "qWasmGlobal:zz;1", "qWasmStackValue:1", "qThreadExtraInfo,zz", "qAttached:zz", "vKill;zz", "vKill", "D;zz", "kzz",
        "vCont;q", "vCont;x", "vCont;s", "vCont;s:-1", "vCont;t", "vCont;r0,1:1", "vCont;c:zz", "vCont;C100", "vCont;c:p0.1", "czz", "sq", "qSupported", "qSupported:", "qSupported:a;;b", "X0,1:}",
    ];
    for body in malformed {
        let (alive, out) = survives(&r, body);
        assert!(alive && out.contains("$E08#"), "{body}: {out}");
    }
    // Well-formed ones are gdbstub's to answer (an error from the target, the empty
    // reply for what it does not know, or the answer).
    let fine = [
        "qFooBar", "m0,4", "m00000000000000000001,4", "Z9,0,0", "p99", "g", "qXfer:libraries:read::ffffffff,10", "Hg1", "Hc-1", "T1",
        "qWasmCallStack:1", "qWasmLocal:0;1", "qWasmLocal:+0;1", "qRegisterInfo0", "qRegisterInfo99", "qThreadExtraInfo,1", "?", "qC",
    ];
    for body in fine {
        let (alive, out) = survives(&r, body);
        assert!(alive && !out.contains("E08"), "{body}: {out}");
    }
    // Mutations of well-formed commands (arguments cut, garbled, overlong): each is
    // answered, and the session always goes on.
    let templates = ["m1000000000000000,4", "M0,1:00", "Z0,4000000100000010,1", "z0,4000000100000010,1", "Hg1", "Hc1", "T1", "p0", "P0=00",
        "qWasmCallStack:1", "qWasmLocal:0;1", "qWasmGlobal:0;0", "qWasmStackValue:0;0", "qRegisterInfo0", "qThreadExtraInfo,1", "qXfer:libraries:read::0,100",
        "qMemoryRegionInfo:0", "qWasmMem:0;0;4", "X0,1:a", "qSupported:multiprocess+", "qAttached:1", "qHostInfo", "qProcessInfo", "qC",
        "qfThreadInfo", "qsThreadInfo", "g", "?", "QStartNoAckMode", "qWasmCallStack:p1.1", "Hgp1.1"];
    let alphabet = b",:;.-p+0123456789abcdefxzAF";
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut cases = 0;
    for t in templates {
        // The command's name stays (a mutated name is another command, or none).
        let name = t.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(1).max(1);
        for _ in 0..200 {
            let mut b: Vec<u8> = t.as_bytes().to_vec();
            for _ in 0..1 + next() % 3 {
                let at = name + (next() as usize) % (b.len() + 1 - name);
                match next() % 4 {
                    0 => b.truncate(at),
                    1 => b.insert(at, alphabet[next() as usize % alphabet.len()]),
                    2 if at < b.len() => b[at] = alphabet[next() as usize % alphabet.len()],
                    _ => b.splice(at..at, core::iter::repeat_n(b'f', 1 + next() as usize % 20)).for_each(drop),
                }
            }
            let body = String::from_utf8(b).expect("ascii");
            let (alive, out) = survives(&r, &body);
            assert!(alive, "{body}: the session ended: {out}");
            cases += 1;
        }
    }
    assert_eq!(cases, templates.len() * 200);
}
