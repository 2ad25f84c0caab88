//! The "real programs" a new user tries first (examples/programs, built by
//! scripts/build-programs.sh): an ordinary C program (printf, malloc), a C program
//! written for a POSIX box (stdin, files, sockets), a C program with a bug built with
//! its debug information, a C++ program (iostream), an ordinary Rust `std` program, a Zig program
//! and CoreMark 1.0, each run by the CLI exactly as
//! a user would, `fireball run <wasm> --ram <R>`, and left to exit by itself.
//!
//! The RAM sizes: everything a module needs comes from its guest partition P5
//! (48 KiB of a 96 KiB device): the engine's metadata for it, its store and its
//! linear memory (its interpreter stacks are its coroutine stack). hello-c runs
//! on 96K as it is. The Rust programs' metadata (22 and 26 KB, most of it side
//! table) does not leave room on 96K, so they run on the RAM `fireball run`
//! names for them — or on 96K packed (`fireball pack`: the side table stays
//! with the module in flash).
//!
//! Each program's malloc (wasi-libc's, which Rust's `std` uses on WASI too)
//! carves its heap out of the whole 64 KiB page and marks its end at the
//! page's top: Fireball backs the bottom of the page and its last 256 bytes.

use std::process::Command;

fn program(path: &str) -> String {
    format!("{}/../../examples/programs/{path}", env!("CARGO_MANIFEST_DIR"))
}

fn fireball(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fireball")).args(args).output().expect("run fireball");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Run a program until it exits (`limit` is only a safety net) and return the
/// lines the console prefixed with `[name] `: its stdout, then how it ended.
fn run(path: &str, name: &str, ram: &str, limit: &str) -> Vec<String> {
    run_with(path, name, &["--ram", ram, "--for", limit])
}

/// [`run`] with these options and arguments after the program's path.
fn run_with(path: &str, name: &str, rest: &[&str]) -> Vec<String> {
    let path = if path.starts_with('/') { path.to_string() } else { program(path) };
    let (code, out, err) = fireball(&[&["run", path.as_str()], rest].concat());
    assert_eq!(code, 0, "stderr: {err}\nstdout: {out}");
    assert!(out.contains("-- stopped: every module has finished"), "{out}");
    assert!(!out.contains("wrote"), "stdout is printed once, not logged too: {out}");
    let prefix = format!("[{name}] ");
    out.lines().filter_map(|l| l.strip_prefix(&prefix)).map(str::to_string).collect()
}

const ENDED: &str = "returned; the other modules keep running";

/// `fireball pack` the program into a temporary file; its path.
fn packed(path: &str) -> String {
    // Named after the program (the runner names a module after its file), in a folder of its own.
    let dir = std::env::temp_dir().join(format!("fireball-programs-{}-{}", std::process::id(), path.replace('/', "-")));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let stem = std::path::Path::new(path).file_stem().and_then(|s| s.to_str()).expect("stem");
    let out = dir.join(format!("{stem}.fbx")).to_string_lossy().into_owned();
    let (code, stdout, err) = fireball(&["pack", &program(path), "-o", &out]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("B loaded packed"), "{stdout}");
    out
}

#[test]
fn hello_c_prints_its_lines() {
    let lines = run("hello-c/hello.wasm", "hello", "96K", "1s");
    assert_eq!(
        lines,
        [
            "Hello from C on Fireball!",
            "array of 1000 ints: a[0]=0 a[1]=8 a[999]=1004994",
            "sum=336330000 checksum=0x3fa0d56c",
            "mean=336666.667 H(1000)=7.485471 pi~3.1416e+00",
            "goodbye",
            ENDED,
        ]
    );
}

/// A C program written for a POSIX box (stdin, files, a directory, a socket) loads —
/// every WASI preview 1 import is provided — and each call the device cannot serve
/// fails with an errno the program prints; stdio behaves as a console.
#[test]
fn a_posix_c_program_gets_errors_not_a_refusal() {
    let lines = run("files-c/files.wasm", "files", "96K", "1s");
    assert_eq!(
        lines,
        [
            "argv[0]: files",
            "0 environment variable(s); HOME: not set",
            "stdin: end of file",
            "fopen config.txt: Capabilities insufficient",
            "fopen log.txt for writing: Capabilities insufficient",
            "stat config.txt: Capabilities insufficient",
            "fstat stdout: ok",
            "stdout is a character device: yes",
            "opendir .: Capabilities insufficient",
            "mkdir data: Capabilities insufficient",
            "unlink old.txt: Capabilities insufficient",
            "lseek stdout: Invalid seek",
            "fsync stdout: ok",
            "socket accept: Bad file descriptor",
            "clock_getres: ok",
            "monotonic clock resolution: 1000 ns",
            "realtime: 0 s since 1970",
            "done",
            ENDED,
        ]
    );
    let (code, out, _) = fireball(&["inspect", &program("files-c/files.wasm")]);
    assert_eq!(code, 0);
    assert!(out.contains("imports: all provided by Fireball"), "{out}");
}

/// What is piped into `fireball run` is the guests' stdin (C's `fgets`, Rust's
/// `read_to_string`); without it (here: `/dev/null`) stdin is at its end.
#[test]
fn the_app_reads_the_piped_stdin() {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_fireball"))
        .args(["run", &program("files-c/files.wasm"), "--ram", "96K", "--for", "1s"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run fireball");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(b"a line from the pipe\nand a second\n").expect("write stdin");
    drop(input);
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<&str> = stdout.lines().filter_map(|l| l.strip_prefix("[files] ")).collect();
    assert_eq!(lines.get(2), Some(&"stdin: a line from the pipe"), "{stdout}");
    assert_eq!(lines.last(), Some(&ENDED), "{stdout}");
}

/// `fireball run`'s arguments and `--env` are the app's WASI command line and
/// environment (`argv[0]` its name; `--` passes an argument that starts with `-`).
#[test]
fn the_app_gets_its_command_line_and_environment() {
    let args = ["--for", "1s", "--env", "HOME=/home/dev", "--env", "EMPTY=", "first", "two words", "--", "-v", ""];
    let lines = run_with("files-c/files.wasm", "files", &args);
    assert_eq!(
        lines[..8],
        [
            "argv[0]: files",
            "argv[1]: first",
            "argv[2]: two words",
            "argv[3]: -v",
            "argv[4]: ",
            "environ: HOME=/home/dev",
            "environ: EMPTY=",
            "2 environment variable(s); HOME: /home/dev",
        ]
    );
    // Packed, the same (the command line is the router's, not the module's).
    assert_eq!(run_with(&packed("files-c/files.wasm"), "files", &args), lines);
    // --realtime sets the clock C's `time` reads (else it counts from 1970 at boot).
    let lines = run_with("files-c/files.wasm", "files", &["--for", "1s", "--realtime", "1796000000"]);
    assert!(lines.iter().any(|l| l == "realtime: 1796000000 s since 1970"), "{lines:?}");
    // Rust's std::env::args sees the same argv.
    let lines = run_with("hello-rust/hello.wasm", "hello", &["--ram", "104K", "--for", "1s", "a", "b"]);
    assert_eq!(lines.get(1).map(String::as_str), Some("3 args, argv[0] = hello"));
}

#[test]
fn hello_rust_prints_its_lines() {
    // `fireball run` with no arguments: argv is the module's name alone.
    let plain = run("hello-rust/hello.wasm", "hello", "104K", "1s");
    let packed = run(&packed("hello-rust/hello.wasm"), "hello", "96K", "1s");
    assert_eq!(plain, packed);
    assert_eq!(
        plain,
        [
            "Hello from Rust on Fireball!",
            "1 args, argv[0] = hello",
            "first 20 primes: [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71]",
            "their sum: 639, the last: 71",
            "string \"2-3-5-7-11-13-17-19\": 19 bytes, FNV-1a 0x7e3c17c3",
            "mean of the primes: 31.950",
            "goodbye",
            ENDED,
        ]
    );
}

/// A C++ program (examples/programs/hello-cpp: iostream, virtuals, unique_ptr, a
/// map of vectors; 206 KB of code, most of it libc++'s streams and locales) runs
/// plain on the RAM `run` names for it, and packed (its side table in flash) on
/// little more than 96K.
#[test]
fn hello_cpp_prints_its_lines() {
    let plain = run_with("hello-cpp/hello.wasm", "hello", &["--ram", "205K", "--for", "1s", "a", "b"]);
    let packed = run_with(&packed("hello-cpp/hello.wasm"), "hello", &["--ram", "104K", "--for", "1s", "a", "b"]);
    assert_eq!(plain, packed);
    assert_eq!(
        plain,
        [
            "Hello from C++ on Fireball!",
            "    ramp: mean 3.750, min 0.000, max 7.500",
            "  square: mean 0.000, min -10.000, max 10.000",
            "arguments: [a,b]",
            ENDED,
        ]
    );
}

/// A Zig program (examples/programs/hello-zig, Zig 0.13.0's `std` on WASI, a fixed
/// buffer for its heap) runs on 96K as it is.
#[test]
fn hello_zig_prints_its_lines() {
    let lines = run_with("hello-zig/hello.wasm", "hello", &["--ram", "96K", "--for", "1s", "a", "b"]);
    assert_eq!(
        lines,
        [
            "Hello from Zig on Fireball! sum of 1000 squares = 332833500",
            "argument 1: a",
            "argument 2: b",
            "slept 7 ms, pi is about 3.1416, 10966 B of the heap in use",
            "exited with status 0; the other modules keep running",
        ]
    );
}

#[test]
fn coremark_validates() {
    // 60 iterations: 67.5 M wasm instructions, 16.9 s of simulated time, past
    // CoreMark's 10-second minimum for a valid run (its clock is WASI
    // clock_time_get, the simulated clock). The CRCs are those of the 2K
    // performance run; crcfinal 0xa14c is what the EEMBC C reference prints
    // for 60 iterations too.
    let plain = run("coremark/coremark.wasm", "coremark", "112K", "60s");
    let lines = run(&packed("coremark/coremark.wasm"), "coremark", "96K", "60s");
    assert_eq!(plain, lines);
    for want in [
        "CoreMark 1.0 (Rust port, coremark crate 1.0.0): 60 iterations",
        "2K performance run parameters for coremark.",
        "CoreMark Size    : 666",
        "Iterations       : 60",
        "seedcrc          : 0xe9f5",
        "[0]crclist       : 0xe714",
        "[0]crcmatrix     : 0x1fd7",
        "[0]crcstate      : 0x8e3a",
        "[0]crcfinal      : 0xa14c",
        "Correct operation validated. See README.md for run and reporting rules.",
    ] {
        assert!(lines.iter().any(|l| l == want), "no line {want:?} in:\n{}", lines.join("\n"));
    }
    assert!(!lines.iter().any(|l| l.contains("ERROR") || l.contains("Errors")), "{}", lines.join("\n"));
    assert_eq!(lines.last().map(String::as_str), Some(ENDED));
}

/// Every import the programs make is one Fireball provides.
#[test]
fn every_import_is_provided() {
    for path in ["hello-c/hello.wasm", "hello-cpp/hello.wasm", "hello-rust/hello.wasm", "coremark/coremark.wasm", "hello-zig/hello.wasm"] {
        let (code, out, err) = fireball(&["inspect", &program(path), "--ram", "512K"]);
        assert_eq!(code, 0, "{path}: {err}");
        assert!(out.contains("imports: all provided by Fireball"), "{path}:\n{out}");
    }
}

/// `fireball inspect --ram R` and `fireball run --ram R` agree, for every example
/// and program at every size tried: what inspect calls fitting runs, and what it
/// refuses, run refuses with the same line.
#[test]
fn inspect_and_run_agree() {
    let modules = [
        "../sensor/sensor.wasm",
        "../aggregator/aggregator.wasm",
        "../inference/inference.wasm",
        "../rust-sensor/sensor.wasm",
        "hello-c/hello.wasm",
        "files-c/files.wasm",
        "hello-rust/hello.wasm",
        "coremark/coremark.wasm",
        "hello-zig/hello.wasm",
        "hello-cpp/hello.wasm",
    ];
    let (mut fits, mut refused) = (0, 0);
    let (mut trial_refusals, mut task_stack_fixes, mut ram_fixes) = (0, 0, 0);
    for m in modules {
        // 106K and 107K: CoreMark loads there, but its heap outgrows what P5 backs.
        for ram in ["32K", "64K", "96K", "106K", "107K", "128K"] {
            let path = program(m);
            let (code, out, err) = fireball(&["inspect", &path, "--ram", ram]);
            assert_eq!(code, 0, "{m} {ram}: {err}");
            let (rcode, rout, rerr) = fireball(&["run", &path, "--ram", ram, "--for", "1ms"]);
            if out.contains(&format!("on a {ram} device: fits")) {
                assert_eq!(rcode, 0, "inspect says {m} fits {ram}, run says: {rerr}\n{rout}");
                // Runs, not only loads: no trap in its first millisecond either (a heap
                // grown past what the partition backs would show here).
                assert!(!rout.contains("terminated: trap"), "inspect says {m} fits {ram}, run traps:\n{rout}");
                fits += 1;
            } else {
                let why = out.lines().find_map(|l| l.split_once("does NOT fit: ")).map(|(_, w)| w.trim()).unwrap_or_else(|| panic!("{m} {ram}: no verdict in {out}"));
                if why.starts_with("a trial run") {
                    // It loads, and its heap then outgrows the memory P5 backs: run says so too
                    // (and exits with a fault's status) within the trial's second, and the size
                    // inspect suggests runs.
                    let (rcode, rout, rerr) = fireball(&["run", &path, "--ram", ram, "--for", "1s"]);
                    assert_eq!(rcode, 134, "{m} {ram}: {rerr}");
                    assert!(rout.contains("terminated: trap (out of bounds memory access) (its partition backs"), "{m} {ram}:\n{rout}");
                    let fix = why.rsplit_once("it runs with --ram ").map(|(_, k)| k.trim()).unwrap_or_else(|| panic!("{m} {ram}: no size in {why}"));
                    // run names the same size, by the same trial runs.
                    assert!(rout.contains(&format!(" runs with --ram {fix} (a trial run of its first 1000 ms")), "{m} {ram}:\n{rout}");
                    let (fcode, fout, _) = fireball(&["run", &path, "--ram", fix, "--for", "1ms"]);
                    assert!(fcode == 0 && !fout.contains("terminated: trap"), "{m} on {fix}, inspect's suggestion:\n{fout}");
                    trial_refusals += 1;
                } else {
                    assert_eq!(rcode, 1, "inspect refuses {m} on {ram}, run does not:\n{rout}");
                    assert_eq!(rerr.trim(), format!("fireball: {why}"), "{m} {ram}");
                    // The size the refusal names runs the program, not only loads it (a heap
                    // grows past the load's need: hello-rust loads on 97K, runs on 99K).
                    if let Some((_, rest)) = why.split_once("--ram ") {
                        let k = rest.split_whitespace().next().unwrap_or_default().trim_end_matches(',');
                        let (fcode, fout, ferr) = fireball(&["run", &path, "--ram", k, "--for", "1s"]);
                        assert!(fcode == 0 && !fout.contains("terminated: trap"), "{m} on {k}, the refusal's size: {ferr}\n{fout}");
                        ram_fixes += 1;
                    }
                    // A smaller device's plan fits (CoreMark at 128K: that row's 16 coroutine
                    // stacks): the --task-stack inspect suggests runs it on this one.
                    if let Some((_, rest)) = why.split_once("use --task-stack ") {
                        let k = rest.split_whitespace().next().unwrap_or_default();
                        let (fcode, fout, ferr) = fireball(&["run", &path, "--ram", ram, "--task-stack", k, "--for", "1ms"]);
                        assert!(fcode == 0 && !fout.contains("terminated: trap"), "{m} on {ram} with --task-stack {k}: {ferr}\n{fout}");
                        task_stack_fixes += 1;
                    }
                }
                refused += 1;
            }
        }
    }
    assert!(
        fits > 0 && refused > 0 && trial_refusals > 0 && task_stack_fixes > 0 && ram_fixes > 0,
        "{fits} fit, {refused} refused ({trial_refusals} by a trial run, {task_stack_fixes} fixed by --task-stack, {ram_fixes} by --ram)"
    );
}

/// A C program built with `-g` (examples/programs/trap-c): given numbers, it prints
/// their average and the first's share of their sum; given none, it divides by zero
/// in `average`, given "0 0" in `percent`, which the compiler inlined into `main`.
/// The trap's backtrace names the functions, the inlined one as a frame of its own,
/// and, from the DWARF, the source lines: the divisions, and the calls.
#[test]
fn a_trap_in_a_c_program_names_its_source_lines() {
    assert_eq!(
        run_with("trap-c/trap.wasm", "trap", &["--for", "1s", "--", "4", "8", "15"]),
        ["average: 9", "the first is 14% of the sum", ENDED]
    );
    let src = "/fireball/examples/programs/trap-c/trap.c";
    let trace = |args: &[&str]| {
        let (code, out, err) = fireball(&[&["run", &program("trap-c/trap.wasm"), "--for", "1s", "--"], args].concat());
        assert_eq!(code, 134, "{err}\n{out}");
        let lines: Vec<String> = out.lines().filter(|l| l.starts_with("[trap] ")).map(str::to_string).collect();
        let at = lines.iter().position(|l| l.starts_with("[trap] terminated: ")).unwrap_or_else(|| panic!("{out}"));
        assert_eq!(lines[at], "[trap] terminated: trap (integer divide by zero); the other modules keep running", "{out}");
        lines[at + 1..].to_vec()
    };
    let frame = |lines: &[String], k: usize, head: &str, func: &str, line: &str| {
        let l = lines.get(k).map(String::as_str).unwrap_or_default();
        let rest = l.strip_prefix(&format!("[trap] {head}{func} @ 0x")).unwrap_or_else(|| panic!("frame {k}: {lines:?}"));
        assert!(rest.ends_with(&format!(" ({src}:{line})")), "frame {k}: {l}");
    };
    // `return sum / n;` in average, and the call in main's printf.
    let lines = trace(&[]);
    frame(&lines, 0, "trapped in ", "average", "24:16");
    frame(&lines, 1, "  called from ", "main", "40:29");
    // `part * 100 / whole` in percent, inlined into main (both at one offset).
    let inlined = trace(&["0", "0"]);
    frame(&inlined, 0, "trapped in ", "percent (inlined)", "29:23");
    frame(&inlined, 1, "  called from ", "main", "41:46");
    // Packed (`fireball pack` keeps the wasm whole, DWARF included): the same lines.
    let fbx = packed("trap-c/trap.wasm");
    let (code, out, err) = fireball(&["run", &fbx, "--for", "1s"]);
    assert_eq!(code, 134, "{err}\n{out}");
    let packed_lines: Vec<String> = out.lines().filter(|l| l.starts_with("[trap] ")).skip(1).map(str::to_string).collect();
    frame(&packed_lines, 0, "trapped in ", "average", "24:16");
    frame(&packed_lines, 1, "  called from ", "main", "40:29");
    // The C library's start-up frames follow, named (wasi-libc's own lines where it has them).
    assert!(lines.iter().any(|l| l.starts_with("[trap]   called from _start @ 0x")), "{lines:?}");
    // `inspect` gives its trial run the command line `run` will get: without one, the
    // program traps on every size (a bug); with one, it fits.
    let (code, out, err) = fireball(&["inspect", &program("trap-c/trap.wasm"), "--ram", "96K"]);
    assert!(code == 0 && out.contains("loads, but does NOT run") && out.contains("(trap: trap (integer divide by zero))"), "{err}\n{out}");
    assert!(out.contains(": a bug in the guest, not a shortage of RAM"), "{out}");
    assert!(out.contains("  debug information (DWARF): ") && out.contains(" B, not loaded (a trap's backtrace names source lines)"), "{out}");
    let (code, out, err) = fireball(&["inspect", &program("trap-c/trap.wasm"), "--ram", "96K", "--env", "A=1", "--", "4", "8", "15"]);
    assert!(code == 0 && out.contains("on a 96K device: fits"), "{err}\n{out}");
    let (code, _, err) = fireball(&["inspect", &program("trap-c/trap.wasm"), "--", "4"]);
    assert!(code == 1 && err.contains("a command line (arguments, --env) applies with --ram"), "{err}");
}
