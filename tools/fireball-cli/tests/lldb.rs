//! Source-level debugging with a stock lldb: `fireball run guest.wasm --gdb
//! 127.0.0.1:0` against Debian's `lldb-22` (LLDB's WebAssembly process plugin),
//! headless (`lldb-22 -b -o … -k …`, bounded by `timeout`), asserting the lines
//! lldb prints. The guests are `examples/debug/*.c`, built with `-g -O0` and
//! checked in (`scripts/build-examples.sh`).
//!
//! `scripts/setup.sh` installs lldb-22 and `scripts/test.sh` runs this for real.
//! Without lldb-22 the tests fail, unless `FIREBALL_SKIP_LLDB=1` says to skip them.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const LLDB: &str = "lldb-22";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// Whether to run: lldb-22 present, or a loud failure unless skipping was asked for.
fn lldb_available() -> bool {
    let found = Command::new(LLDB).arg("--version").output().is_ok_and(|o| o.status.success());
    if found {
        return true;
    }
    if std::env::var("FIREBALL_SKIP_LLDB").is_ok_and(|v| v == "1") {
        eprintln!("SKIPPED: {LLDB} is not installed and FIREBALL_SKIP_LLDB=1 (scripts/setup.sh installs it)");
        return false;
    }
    panic!("{LLDB} is not installed: run scripts/setup.sh (apt-get install lldb-22), or set FIREBALL_SKIP_LLDB=1 to skip");
}

/// A running `fireball`, its stdout going to a file (a pipe nobody reads while lldb
/// runs would fill up and stop a chatty guest).
struct Fireball {
    child: Child,
    stdout: PathBuf,
}

/// `fireball run <args> --gdb 127.0.0.1:0`, once it listens: the child and its address.
fn serve(args: &[&str]) -> (Fireball, String) {
    serve_with(args, Stdio::inherit())
}

/// [`serve`], the child's stdin given.
fn serve_with(args: &[&str], stdin: Stdio) -> (Fireball, String) {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let stdout = std::env::temp_dir().join(format!(
        "fireball-lldb-{}-{}.out",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let mut child = Command::new(env!("CARGO_BIN_EXE_fireball"))
        .current_dir(repo())
        .arg("run")
        .args(args)
        .args(["--gdb", "127.0.0.1:0"])
        .stdin(stdin)
        .stdout(std::fs::File::create(&stdout).expect("stdout file"))
        .stderr(Stdio::piped())
        .spawn()
        .expect("fireball");
    let mut err = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    err.read_line(&mut line).expect("first stderr line");
    // "fireball: waiting for lldb on 127.0.0.1:PORT (process connect …)"
    let addr = line.split(" on ").nth(1).and_then(|s| s.split_whitespace().next()).unwrap_or_else(|| panic!("unexpected: {line}")).to_string();
    // Keep draining stderr so the child never blocks on it.
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = err.read_to_string(&mut rest);
    });
    (Fireball { child, stdout }, addr)
}

/// Run lldb-22 headless with `-o` commands (and `-k` ones, run if the target crashes).
fn lldb(addr: &str, commands: &[&str], on_crash: &[&str]) -> String {
    let mut cmd = Command::new("timeout");
    cmd.current_dir(repo()).args(["120", LLDB, "--no-lldbinit", "-b", "-o"]).arg(format!("process connect --plugin wasm connect://{addr}"));
    for c in commands {
        cmd.args(["-o", c]);
    }
    for c in on_crash {
        cmd.args(["-k", c]);
    }
    let out = cmd.output().expect("lldb-22");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(124), "lldb timed out:\n{text}");
    text
}

/// Wait (at most 60 s) for fireball to end; its stdout.
fn finish(f: Fireball) -> (bool, String) {
    let Fireball { mut child, stdout } = f;
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let out = std::fs::read_to_string(&stdout).unwrap_or_default();
            let _ = std::fs::remove_file(&stdout);
            return (status.success(), out);
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("fireball did not end after lldb left");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The line of `text` that contains every one of `parts`, or a failure showing `text`.
fn line_with<'t>(text: &'t str, parts: &[&str]) -> &'t str {
    text.lines().find(|l| parts.iter().all(|p| l.contains(p))).unwrap_or_else(|| panic!("no line with {parts:?} in:\n{text}"))
}

#[test]
fn break_backtrace_variables_next_finish_continue_to_exit() {
    if !lldb_available() {
        return;
    }
    let (child, addr) = serve(&["examples/debug/calc.wasm"]);
    let out = lldb(
        &addr,
        &[
            "breakpoint set -n scale",
            "continue",
            "bt",
            "frame variable",
            "target variable calls",
            "next",
            "next",
            "target variable calls",
            "finish",
            "breakpoint delete 1",
            "continue",
        ],
        &[],
    );
    // The breakpoint, resolved from DWARF to a code address (0x4000… | file offset).
    line_with(&out, &["Breakpoint 1: where = calc.wasm`scale", "at calc.c:9", "address = 0x40000000000000"]);
    line_with(&out, &["stop reason = breakpoint 1.1"]);
    // bt: three frames with their source lines and argument values.
    line_with(&out, &["frame #0: 0x40000000000000", "calc.wasm`scale(value=10, factor=1) at calc.c:9"]);
    line_with(&out, &["frame #1: 0x40000000000001", "calc.wasm`weighted_sum(values=0x", ", n=4) at calc.c:17"]);
    line_with(&out, &["frame #2: 0x40000000000002", "calc.wasm`main at calc.c:24"]);
    // frame variable (locals in wasm locals and in linear memory), a global.
    line_with(&out, &["(int) value = 10"]);
    line_with(&out, &["(int) factor = 1"]);
    let calls: Vec<&str> = out.lines().filter(|l| l.contains("(int) calls = ")).collect();
    assert_eq!(calls, ["(int) calls = 0", "(int) calls = 1"], "the global before and after `calls = calls + 1`:\n{out}");
    // next, next: lines 10 then 11; finish: back in weighted_sum at the call.
    line_with(&out, &["stop reason = step over"]);
    line_with(&out, &["-> 10", "calls = calls + 1;"]);
    line_with(&out, &["-> 11", "return scaled;"]);
    line_with(&out, &["stop reason = step out"]);
    line_with(&out, &["weighted_sum(values=0x", "n=4) at calc.c:17"]);
    line_with(&out, &["1 breakpoints deleted"]);
    // Deleted: `continue` runs the three remaining calls and main returns 0.
    line_with(&out, &["Process 1 exited with status = 0"]);
    let (ok, stdout) = finish(child);
    assert!(ok, "fireball failed:\n{stdout}");
    assert!(stdout.contains("[calc] returned"), "{stdout}");
}

#[test]
fn a_trap_stops_with_its_locals_and_memory() {
    if !lldb_available() {
        return;
    }
    let (child, addr) = serve(&["examples/debug/trap.wasm"]);
    // lldb -b stops running `-o` commands at a crash and runs the `-k` ones.
    let out = lldb(
        &addr,
        &["continue"],
        &["bt", "frame variable", "memory read -s4 -fd -c4 base", "target variable buffer", "continue"],
    );
    line_with(&out, &["stop reason = signal SIGSEGV"]);
    line_with(&out, &["frame #0: 0x40000000000001", "trap.wasm`store(base=0x", "index=268435456, value=44) at trap.c:8"]);
    line_with(&out, &["frame #1: ", "trap.wasm`main at trap.c:13"]);
    line_with(&out, &["(int) index = 268435456"]);
    line_with(&out, &["(int) value = 44"]);
    // The buffer in linear memory, with the first (good) store's 33 in it.
    let base = line_with(&out, &["(int *) base = 0x"]).rsplit(' ').next().unwrap_or_default().to_string();
    let base = u32::from_str_radix(base.trim_start_matches("0x"), 16).expect("base");
    line_with(&out, &[&format!("0x{:08x}: 1", base)]);
    line_with(&out, &[&format!("0x{:08x}: 33", base + 8)]);
    line_with(&out, &["(int[8]) buffer = ([0] = 1, [1] = 2, [2] = 33, [3] = 4"]);
    // Continuing past the trap: the module ended by a signal (X0b: SIGSEGV, which lldb shows as 11).
    line_with(&out, &["Process 1 exited with status = 11"]);
    let (_, stdout) = finish(child);
    assert!(stdout.contains("[trap] terminated: trap (out of bounds memory access)"), "{stdout}");
    assert!(stdout.contains("every module has finished"), "{stdout}");
}

/// A breakpoint in a service while the app (the seed's sensor, which loops
/// forever) runs: each module is a thread, the service's locals and its global
/// (in its own linear memory) read right, and the app is stopped with it.
#[test]
fn a_breakpoint_in_a_service_while_the_app_runs() {
    if !lldb_available() {
        return;
    }
    let (child, addr) = serve(&["examples/sensor/sensor.wasm", "--service", "examples/debug/ticker.wasm"]);
    let out = lldb(
        &addr,
        &[
            "breakpoint set -f ticker.c -l 10",
            "continue",
            "continue",
            "thread list",
            "bt",
            "frame variable",
            "target variable turns",
            "next",
            "target variable turns",
            "process kill",
        ],
        &[],
    );
    line_with(&out, &["Breakpoint 1: where = ticker.wasm`tick", "at ticker.c:10", "address = 0x4000000100000"]);
    // Two stops in the service (thread #2, module 1), its first two turns.
    line_with(&out, &["* thread #2, stop reason = breakpoint 1.1"]);
    line_with(&out, &["frame #0: 0x4000000100000", "ticker.wasm`tick(n=1) at ticker.c:10"]);
    line_with(&out, &["frame #0: 0x4000000100000", "ticker.wasm`tick(n=2) at ticker.c:10"]);
    // Both modules are threads; the app's is stopped somewhere in the sensor's (stripped) code.
    line_with(&out, &["thread #1: tid = 0x0001, 0x40000000000", "sensor.wasm"]);
    line_with(&out, &["* thread #2: tid = 0x0002, 0x4000000100000", "ticker.wasm`tick(n=2) at ticker.c:10"]);
    line_with(&out, &["frame #1: 0x4000000100000", "ticker.wasm`ticker at ticker.c:16"]);
    line_with(&out, &["(int) n = 2"]);
    let turns: Vec<&str> = out.lines().filter(|l| l.contains("(int) turns = ")).collect();
    assert_eq!(turns, ["(int) turns = 1", "(int) turns = 2"], "the service's global, before and after `turns = n`:\n{out}");
    let (_, stdout) = finish(child);
    assert!(stdout.contains("killed by the debugger"), "{stdout}");
}

/// A Rust guest with debug info: `examples/rust-sensor` built with cargo's dev
/// profile (DWARF, no optimisation). Debian's lldb-22 has no Rust language plugin,
/// so values print with C types, but breakpoints, frames and arguments work.
#[test]
fn a_rust_guest_with_debug_info() {
    if !lldb_available() {
        return;
    }
    let target = repo().join("target/rust-sensor-debug");
    let status = Command::new(env!("CARGO"))
        .current_dir(repo().join("examples/rust-sensor"))
        .args(["build", "-q", "--target-dir"])
        .arg(&target)
        .status()
        .expect("cargo");
    assert!(status.success(), "building examples/rust-sensor (dev profile) failed");
    let wasm = target.join("wasm32-unknown-unknown/debug/rust_sensor.wasm");
    let (child, addr) = serve(&[wasm.to_str().expect("path")]);
    let out = lldb(&addr, &["breakpoint set -n push", "continue", "bt 3", "process kill"], &[]);
    line_with(&out, &["Breakpoint 1: where = rust_sensor.wasm`rust_sensor::Window::push"]);
    line_with(&out, &["stop reason = breakpoint 1.1"]);
    line_with(&out, &["frame #1: 0x4000000000000", "rust_sensor.wasm`rust_sensor::Window::push", "(self=0x", ", sample=", ") at lib.rs:37"]);
    line_with(&out, &["frame #2: 0x4000000000000", "rust_sensor.wasm`_start at lib.rs:61"]);
    let (_, stdout) = finish(child);
    assert!(stdout.contains("killed by the debugger"), "{stdout}");
}

/// `--gdb-nowait`: the system runs before lldb connects; lldb attaches to it
/// running, detaches (the system runs on), and a second lldb attaches again.
#[test]
fn attach_to_a_running_system_detach_and_attach_again() {
    if !lldb_available() {
        return;
    }
    let (child, addr) = serve(&["examples/sensor/sensor.wasm", "--service", "examples/debug/ticker.wasm", "--gdb-nowait"]);
    std::thread::sleep(Duration::from_millis(300));
    let first = lldb(&addr, &["breakpoint set -n tick", "continue", "frame variable", "process detach"], &[]);
    let n = |out: &str| -> u32 {
        let l = line_with(out, &["(int) n = "]);
        l.rsplit(' ').next().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{l}"))
    };
    let n1 = n(&first);
    assert!(n1 > 1, "the service had run before lldb attached: n = {n1}\n{first}");
    line_with(&first, &["Process 1 detached"]);
    std::thread::sleep(Duration::from_millis(200));
    let second = lldb(&addr, &["breakpoint set -n tick", "continue", "frame variable", "process kill"], &[]);
    let n2 = n(&second);
    assert!(n2 > n1, "it ran on between the two sessions: {n1} then {n2}\n{second}");
    let (_, stdout) = finish(child);
    assert_eq!(stdout.matches("[gdb] lldb attached from").count(), 2, "{stdout}");
    assert!(stdout.contains("[gdb] debugger detached; the system runs on"), "{stdout}");
    assert!(stdout.contains("killed by the debugger"), "{stdout}");
}

/// Continue, let the system run half a second, interrupt it, list the threads. (lldb -b
/// waits for every `continue`; in async mode it returns at once and can interrupt.)
const INTERRUPT: [&str; 7] = [
    "script lldb.debugger.SetAsync(True)",
    "process continue",
    "script import time; time.sleep(0.5)",
    "process interrupt",
    "script time.sleep(0.5)",
    "script lldb.debugger.SetAsync(False)",
    "thread list",
];

/// lldb's `process interrupt` (a Ctrl-C, 0x03 on the wire) stops a running system.
#[test]
fn process_interrupt_stops_a_running_system() {
    if !lldb_available() {
        return;
    }
    let (child, addr) = serve(&["examples/sensor/sensor.wasm", "--service", "examples/debug/ticker.wasm"]);
    let out = lldb(&addr, &[&INTERRUPT[..], &["process kill"]].concat(), &[]);
    line_with(&out, &["* thread #1, stop reason = signal SIGINT"]);
    line_with(&out, &["thread #2: tid = 0x0002, 0x4000000100000", "ticker.wasm`"]);
    let (_, stdout) = finish(child);
    assert!(stdout.contains("tx t="), "the system ran before the interrupt:\n{stdout}");
    assert!(stdout.contains("killed by the debugger"), "{stdout}");
}

/// A guest reading a pipe that has nothing yet does not stop the run loop while lldb is
/// served (it did: the read waited for the pipe, and lldb's interrupt went unanswered):
/// the guest waits, lldb interrupts and reads its state, and the line, once written,
/// reaches the guest.
#[test]
fn a_guest_waiting_for_a_slow_pipe_can_be_interrupted() {
    if !lldb_available() {
        return;
    }
    let (mut child, addr) = serve_with(&["examples/programs/files-c/files.wasm", "--gdb-nowait"], Stdio::piped());
    let mut pipe = child.child.stdin.take().expect("stdin");
    let out = lldb(&addr, &[&INTERRUPT[..], &["detach"]].concat(), &[]);
    line_with(&out, &["* thread #1, stop reason = signal SIGINT"]);
    use std::io::Write;
    pipe.write_all(b"a line at last\n").expect("write stdin");
    drop(pipe);
    let (_, stdout) = finish(child);
    assert!(stdout.contains("[files] stdin: a line at last"), "{stdout}");
}
