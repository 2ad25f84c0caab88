//! The CLI as a user meets it: results on stdout, and for every kind of bad
//! input one line on stderr with a non-zero exit code — never a panic.

use std::process::Command;

fn fireball(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fireball")).args(args).output().expect("run fireball");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn example(name: &str) -> String {
    format!("{}/../../examples/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn tmp_file(name: &str, bytes: &[u8]) -> String {
    let p = std::env::temp_dir().join(format!("fireball-cli-{}-{name}", std::process::id()));
    std::fs::write(&p, bytes).expect("write temp file");
    p.to_string_lossy().into_owned()
}

fn assert_clean_error(code: i32, stderr: &str, needle: &str) {
    assert_eq!(code, 1, "stderr: {stderr}");
    assert!(stderr.contains(needle), "expected '{needle}' in: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line expected: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn runs_wat_and_prints_results() {
    let (code, out, err) = fireball(&["run", &example("fib.wat"), "--invoke", "fib", "20"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "6765");
}

#[test]
fn integer_divide_by_zero_traps_with_offset_and_trace() {
    let (code, _, err) = fireball(&["run", &example("fib.wat"), "--invoke", "div", "1", "0"]);
    assert_clean_error(code, &err, "integer divide by zero at offset 0x");
    assert!(err.contains("div#1"), "{err}");
}

#[test]
fn runaway_recursion_is_exhaustion_not_a_crash() {
    let (code, _, err) = fireball(&["run", &example("fib.wat"), "--invoke", "deep", "0", "--depth", "100000"]);
    assert_eq!(code, 1);
    assert!(err.contains("exhausted"), "{err}");
}

#[test]
fn fuel_limit_stops_an_infinite_loop() {
    let wat = tmp_file("loop.wat", b"(module (func (export \"spin\") (loop (br 0))))");
    let (code, _, err) = fireball(&["run", &wat, "--invoke", "spin", "--fuel", "100000"]);
    assert_clean_error(code, &err, "out of fuel after 100000 instructions");
}

#[test]
fn truncated_and_garbage_bytes_are_malformed() {
    let truncated = tmp_file("trunc.wasm", b"\0asm\x01\0\0\0\x01\x05");
    let (code, _, err) = fireball(&["run", &truncated]);
    assert_clean_error(code, &err, "malformed module at offset 0xa");
    let garbage = tmp_file("garbage.wasm", b"\0asm\x01\0\0\0\xff\xff\xff\xff");
    let (code, _, err) = fireball(&["run", &garbage]);
    assert_clean_error(code, &err, "malformed module at offset 0x8");
    let not_wasm = tmp_file("notwasm.wasm", &[0xde, 0xad, 0xbe, 0xef]);
    let (code, _, err) = fireball(&["run", &not_wasm]);
    assert_eq!(code, 1, "{err}");
}

#[test]
fn invalid_module_names_offset_and_rule() {
    let wat = tmp_file("invalid.wat", b"(module (func (result i32) (i64.const 1)))");
    let (code, _, err) = fireball(&["run", &wat]);
    assert_clean_error(code, &err, "invalid module at offset 0x");
    assert!(err.contains("type mismatch"), "{err}");
}

#[test]
fn out_of_bounds_memory_access_traps() {
    let wat = tmp_file("oob-load.wat", b"(module (memory 1) (func (export \"f\") (result i32) (i32.load (i32.const 65534))))");
    let (code, _, err) = fireball(&["run", &wat, "--invoke", "f"]);
    assert_clean_error(code, &err, "out of bounds memory access");
}

#[test]
fn host_memory_limit_below_one_page() {
    // A 1-page module run in 1 KiB: its first 1 KiB and its last 256 B (the tail window)
    // are backed; in between traps, and grow fails.
    let wat = tmp_file(
        "small.wat",
        b"(module (memory 1)
            (func (export \"rw\") (param i32) (result i32)
              (i32.store (local.get 0) (i32.const 7)) (i32.load (local.get 0)))
            (func (export \"grow\") (result i32) (memory.grow (i32.const 1))))",
    );
    for inside in ["0", "1020", "65280", "65532"] {
        let (code, out, _) = fireball(&["run", &wat, "--invoke", "rw", inside, "--max-memory", "1024"]);
        assert_eq!((code, out.trim()), (0, "7"), "address {inside}");
    }
    for outside in ["1021", "1024", "65279", "65533"] {
        let (code, _, err) = fireball(&["run", &wat, "--invoke", "rw", outside, "--max-memory", "1024"]);
        assert_clean_error(code, &err, "out of bounds memory access");
    }
    let (code, out, _) = fireball(&["run", &wat, "--invoke", "grow", "--max-memory", "1024"]);
    assert_eq!((code, out.trim()), (0, "-1"));
}

/// The WASI calls a device answers with an error or a console's answer check their
/// pointers as the others do: past the memory's end is EFAULT (21), nothing written.
#[test]
fn wasi_stdio_and_file_calls_check_their_pointers() {
    let wat = tmp_file(
        "wasiptr.wat",
        br#"(module
          (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "fd_filestat_get" (func $fstat (param i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "clock_res_get" (func $res (param i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
          (memory 1)
          (func $expect (param i32 i32) (if (i32.ne (local.get 0) (local.get 1)) (then unreachable)))
          (func (export "_start")
            (call $expect (call $read (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 65534)) (i32.const 21))
            (call $expect (call $read (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 100)) (i32.const 0))
            (call $expect (call $read (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 100)) (i32.const 8))
            (call $expect (call $fstat (i32.const 1) (i32.const 65500)) (i32.const 21))
            (call $expect (call $fstat (i32.const 1) (i32.const 0)) (i32.const 0))
            (call $expect (i32.load8_u (i32.const 16)) (i32.const 2))
            (call $expect (call $fstat (i32.const 7) (i32.const 0)) (i32.const 8))
            (call $expect (call $res (i32.const 1) (i32.const -4)) (i32.const 21))
            (call $expect (call $res (i32.const 9) (i32.const 0)) (i32.const 28))
            (call $expect (call $prestat (i32.const 3) (i32.const 0)) (i32.const 8))
            (call $expect (call $open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 0) (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 8)) (i32.const 8))))"#,
    );
    let (code, out, err) = fireball(&["run", &wat, "--for", "10ms"]);
    assert_eq!(code, 0, "{err}\n{out}");
    assert!(out.contains("wasiptr] returned"), "{out}");
    let _ = std::fs::remove_file(wat);
}

#[test]
fn unknown_import_is_named() {
    // On the kernel (no --invoke): the HAL import binds, a call WASI preview 1 does not have does not.
    let wat = tmp_file(
        "imp.wat",
        br#"(module (import "env" "hal_adc_read" (func (param i32) (result i32)))
                    (import "wasi_snapshot_preview1" "fd_read" (func (param i32 i32 i32 i32) (result i32)))
                    (import "wasi_snapshot_preview1" "thread_spawn" (func (param i32) (result i32)))
                    (func (export "_start")))"#,
    );
    let (code, _, err) = fireball(&["run", &wat, "--for", "1ms"]);
    assert_clean_error(code, &err, "unknown import wasi_snapshot_preview1.thread_spawn");
    // inspect --ram says the same, as an error (not a verdict on its size).
    let (code, out, err) = fireball(&["inspect", &wat, "--ram", "96K"]);
    assert_clean_error(code, &err, "unknown import wasi_snapshot_preview1.thread_spawn");
    assert!(!out.contains("does NOT fit"), "{out}");
    // A WASI import with another signature than preview 1's is named too.
    let wat = tmp_file("wsig.wat", br#"(module (import "wasi_snapshot_preview1" "path_open" (func (param i32) (result i32))) (func (export "_start")))"#);
    let (code, _, err) = fireball(&["run", &wat, "--for", "1ms"]);
    assert_clean_error(code, &err, "import wasi_snapshot_preview1.path_open has the wrong signature");
    // A kernel import with the wrong signature is named too.
    let wat = tmp_file("sig.wat", br#"(module (import "env" "hal_tx_send" (func (param i32))) (func (export "_start")))"#);
    let (code, _, err) = fireball(&["run", &wat, "--for", "1ms"]);
    assert_clean_error(code, &err, "import env.hal_tx_send has the wrong signature");
    // With --invoke nothing is provided, and the message says so.
    let wat = tmp_file("inv.wat", br#"(module (import "env" "hal_adc_read" (func (param i32) (result i32))) (func (export "f")))"#);
    let (code, _, err) = fireball(&["run", &wat, "--invoke", "f"]);
    assert_clean_error(code, &err, "unknown import env.hal_adc_read");
}

#[test]
fn bad_arguments_are_reported() {
    let (code, _, err) = fireball(&["run", &example("fib.wat"), "--invoke", "fib", "nope"]);
    assert_clean_error(code, &err, "not a valid i32");
    let (code, _, err) = fireball(&["run", &example("fib.wat"), "--invoke", "nosuch"]);
    assert_clean_error(code, &err, "no export named 'nosuch'");
    let (code, _, err) = fireball(&["run", "/nonexistent.wasm"]);
    assert_eq!(code, 1, "{err}");
}

#[test]
fn plan_prints_the_partitions_or_says_why_not() {
    let (code, out, err) = fireball(&["plan", "--ram", "64K"]);
    assert_eq!(code, 0, "{err}");
    for row in ["P1   kernel", "P5   guest", "16 KiB  unload the guest", "8 x 4096 B"] {
        assert!(out.contains(row), "missing '{row}' in:\n{out}");
    }
    let (code, out, err) = fireball(&["plan", "--ram", "256K"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("16 x 8192 B") && out.contains("note: the seed's 256 KB row"), "{out}");
    let (code, _, err) = fireball(&["plan", "--ram", "256K", "--coroutines", "32"]);
    assert_clean_error(code, &err, "24576 B short");
    let (code, _, err) = fireball(&["plan", "--ram", "lots"]);
    assert_clean_error(code, &err, "not a size");
}

#[test]
fn inspect_says_whether_a_module_fits_a_device() {
    let (code, out, err) = fireball(&["inspect", &example("sensor/sensor.wasm"), "--ram", "32K"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("imports: all provided by Fireball"), "{out}");
    assert!(out.contains("needs") && out.contains("on a 32K device: fits"), "{out}");
    let (code, out, err) = fireball(&["inspect", &example("inference/inference.wasm"), "--ram", "32K"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("does NOT fit"), "{out}");
}

#[test]
fn inspect_tells_a_guest_bug_from_a_heap_past_the_backed_memory() {
    // 64 KiB declared, a few KiB backed on 32K; the load is out of bounds however much is
    // backed: the trial run traps at every size, so inspect blames the guest, not the RAM.
    let wat = r#"(module (memory 1) (func (export "_start") (drop (i32.load (i32.const -16)))))"#;
    let path = tmp_file("oob.wat", wat.as_bytes());
    let (code, out, err) = fireball(&["inspect", &path, "--ram", "32K"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("on a 32K device: loads, but does NOT run"), "{out}");
    assert!(out.contains("oob: trap (out of bounds memory access))"), "{out}");
    assert!(out.contains(": a bug in the guest, not a shortage of RAM"), "{out}");
    // `run` names no size either: its trial runs trap on a size that backs all its memory.
    let (code, out, _) = fireball(&["run", &path, "--ram", "32K", "--for", "1ms"]);
    assert_eq!(code, 134, "{out}");
    assert!(out.contains("(its partition backs ") && !out.contains("runs with --ram"), "{out}");
    assert!(out.contains("fireball: more RAM does not cure it: on --ram ") && out.contains("oob by a fault: trap (out of bounds memory access)"), "{out}");
    let _ = std::fs::remove_file(path);
}

/// A heap grown with `memory.grow` (Rust's allocator, wasi-libc's `sbrk`) fails at run
/// time when the partition cannot back it: `inspect` runs the program before it says
/// "fits", names a size on which it runs, and `run` there runs it.
#[test]
fn inspect_runs_a_growing_heap_before_it_says_fits() {
    let wat = r#"(module (memory 1)
      (func (export "_start") (if (i32.eq (memory.grow (i32.const 2)) (i32.const -1)) (then unreachable))
        (i32.store (i32.const 131072) (i32.const 7))))"#;
    let path = tmp_file("grow.wat", wat.as_bytes());
    let (code, out, err) = fireball(&["inspect", &path, "--ram", "96K"]);
    assert_eq!(code, 0, "{err}");
    let fix = out
        .lines()
        .find_map(|l| l.strip_prefix("  on a 96K device: does NOT fit: a trial run of its first 1000 ms failed after "))
        .and_then(|l| l.rsplit_once("; it runs with --ram "))
        .map(|(why, k)| {
            assert!(why.contains("grow ended: trap (unreachable)"), "{out}");
            k.trim().to_string()
        })
        .unwrap_or_else(|| panic!("no trial verdict in:\n{out}"));
    let (code, out, _) = fireball(&["run", &path, "--ram", "96K", "--for", "1ms"]);
    assert_eq!(code, 134, "{out}");
    assert!(out.contains("grow] terminated: trap (unreachable) (its partition refused its memory.grow once: it has "), "{out}");
    assert!(out.contains("give the system more RAM)"), "{out}");
    // And names the size, by the same trial runs inspect makes.
    assert!(out.contains(&format!("grow runs with --ram {fix} (a trial run of its first 1000 ms ended no module by a fault)")), "{fix}: {out}");
    let (code, out, err) = fireball(&["run", &path, "--ram", &fix, "--for", "1ms"]);
    assert_eq!(code, 0, "inspect's {fix}: {err}\n{out}");
    assert!(out.contains("grow] returned"), "{out}");
    let (code, out, _) = fireball(&["inspect", &path, "--ram", &fix]);
    assert!(code == 0 && out.contains(&format!("on a {fix} device: fits")), "{out}");
    let _ = std::fs::remove_file(path);
}

/// A program whose heap grows with its input (here a page of memory per 4 KiB read from
/// stdin): without its input `inspect` sees it fit; given the input run will have
/// (`--stdin FILE`), its trial follows it to the end, finds it short and names the
/// size on which `run … < FILE` runs it, the size `run`'s own hint names too (its trial
/// runs replay what the run read).
#[test]
fn inspect_tries_a_program_with_its_input() {
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
      (memory 1)
      (func (export "_start") (local $total i32) (local $n i32)
        (i32.store (i32.const 0) (i32.const 64))
        (i32.store (i32.const 4) (i32.const 1024))
        (block $done
          (loop $more
            (br_if $done (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16)))
            (local.set $n (i32.load (i32.const 16)))
            (br_if $done (i32.eqz (local.get $n)))
            (local.set $total (i32.add (local.get $total) (local.get $n)))
            (br $more)))
        (if (i32.eq (memory.grow (i32.shr_u (local.get $total) (i32.const 12))) (i32.const -1)) (then unreachable))))"#;
    let path = tmp_file("byinput.wat", wat.as_bytes());
    let input = tmp_file("byinput.txt", &vec![b'x'; 40 * 1024]);
    let (code, out, err) = fireball(&["inspect", &path, "--ram", "96K"]);
    assert!(code == 0 && out.contains("on a 96K device: fits"), "{err}\n{out}");
    let (code, out, err) = fireball(&["inspect", &path, "--ram", "96K", "--stdin", &input]);
    assert_eq!(code, 0, "{err}");
    let k = out
        .lines()
        .find_map(|l| l.strip_prefix("  on a 96K device: does NOT fit: a trial run of its first 10000 ms failed after "))
        .and_then(|l| l.rsplit_once("; it runs with --ram "))
        .map(|(_, k)| k.trim().to_string())
        .unwrap_or_else(|| panic!("no trial verdict in:\n{out}"));
    // What `inspect` named runs it with that input on stdin.
    let run = |ram: &str| {
        let file = std::fs::File::open(&input).expect("input");
        let out = Command::new(env!("CARGO_BIN_EXE_fireball")).args(["run", &path, "--ram", ram]).stdin(file).output().expect("run fireball");
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, out) = run(&k);
    assert!(code == 0 && out.contains("byinput] returned"), "--ram {k}: {out}");
    let (code, out) = run("96K");
    assert!(code != 0 && out.contains("byinput] terminated: trap (unreachable) (its partition refused its memory.grow"), "{out}");
    // And `run`'s own hint, by trial runs that replay the input this run read, names the same size.
    assert!(out.contains(&format!("-byinput runs with --ram {k} (a trial run of its first ")), "{k}: {out}");
    let (code, out, _) = fireball(&["inspect", &path, "--ram", &k, "--stdin", &input]);
    assert!(code == 0 && out.contains(&format!("on a {k} device: fits")), "{out}");
    // A missing file, and --stdin without --ram or for a service, are refused plainly.
    let (code, _, err) = fireball(&["inspect", &path, "--ram", "96K", "--stdin", "/nonexistent/input"]);
    assert_clean_error(code, &err, "--stdin /nonexistent/input:");
    let (code, _, err) = fireball(&["inspect", &path, "--stdin", &input]);
    assert_clean_error(code, &err, "applies with --ram");
    let (code, _, err) = fireball(&["inspect", &path, "--ram", "96K", "--service", "--stdin", &input]);
    assert_clean_error(code, &err, "not with --service");
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(input);
}

/// A heap far past the device's RAM (a Rust `std` program collecting a 100 000-element
/// `Vec` needs ~1.1 MB): the size `inspect`, `run` and a refusal name is found however
/// far it is, not only within a few times the RAM given, and it runs the program.
#[test]
fn the_ram_named_for_a_large_heap_runs_it() {
    // 1.6 MB after the grow: past 8 times 96K (inspect's old reach) and 4 times (run's).
    let wat = r#"(module (memory 1)
      (func (export "_start") (if (i32.eq (memory.grow (i32.const 24)) (i32.const -1)) (then unreachable))
        (i32.store (i32.const 1638396) (i32.const 7))))"#;
    let path = tmp_file("bigheap.wat", wat.as_bytes());
    let (code, out, err) = fireball(&["inspect", &path, "--ram", "96K"]);
    assert_eq!(code, 0, "{err}");
    let fix = out
        .lines()
        .find_map(|l| l.rsplit_once("; it runs with --ram "))
        .map(|(_, k)| k.trim().to_string())
        .unwrap_or_else(|| panic!("no size in:\n{out}"));
    let kib: usize = fix.trim_end_matches('K').parse().unwrap_or_else(|_| panic!("{fix}"));
    assert!(kib > 1600 && kib < 2400, "{fix}");
    let (code, out, _) = fireball(&["run", &path, "--ram", "96K", "--for", "1ms"]);
    assert_eq!(code, 134, "{out}");
    assert!(out.contains(&format!("bigheap runs with --ram {fix} (a trial run")), "{fix}: {out}");
    let (code, out, err) = fireball(&["run", &path, "--ram", &fix, "--for", "1ms"]);
    assert!(code == 0 && out.contains("bigheap] returned"), "{fix}: {err}\n{out}");
    // A module that does not even load on the default device: the refusal's size runs it too.
    let wat = r#"(module (memory 3) (data (i32.const 196000) "x")
      (func (export "_start") (if (i32.eq (memory.grow (i32.const 24)) (i32.const -1)) (then unreachable))
        (i32.store (i32.const 1769468) (i32.const 7))))"#;
    let big = tmp_file("bigload.wat", wat.as_bytes());
    let (code, _, err) = fireball(&["run", &big]);
    assert_clean_error(code, &err, "needs 198");
    let k = err.split_once("; use --ram ").and_then(|(_, r)| r.split_once(',')).map(|(k, _)| k.to_string()).unwrap_or_else(|| panic!("{err}"));
    let (code, out, err) = fireball(&["run", &big, "--ram", &k, "--for", "1ms"]);
    assert!(code == 0 && out.contains("bigload] returned"), "the refusal's {k}: {err}\n{out}");
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(big);
}

/// A heap that grows without end is short of RAM on every size: `inspect` and `run`
/// say so after trying up to the search's cap, rather than blaming a guest bug or
/// naming nothing.
#[test]
fn a_heap_that_never_stops_growing_is_named_short_of_ram() {
    let wat = r#"(module (memory 1)
      (func (export "_start")
        (loop $l
          (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))
          (i32.store (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 4)) (i32.const 1))
          (br $l))))"#;
    let path = tmp_file("leak.wat", wat.as_bytes());
    let (code, out, err) = fireball(&["inspect", &path, "--ram", "96K"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("was still short of RAM on --ram 16384K: it needs more RAM than that, or its heap grows without end"), "{out}");
    assert!(!out.contains("a bug in the guest"), "{out}");
    let (code, out, _) = fireball(&["run", &path, "--ram", "96K", "--for", "1ms"]);
    assert_eq!(code, 134, "{out}");
    assert!(out.contains("leak was still short of RAM on --ram 16384K"), "{out}");
    let _ = std::fs::remove_file(path);
}

/// A program that gives up when its partition refuses a `memory.grow` (Zig's
/// allocators return `OutOfMemory` and `main` exits with status 1) is short of RAM,
/// not fitting: `inspect` says so and names the size that runs it, as does `run`.
#[test]
fn a_program_that_exits_when_refused_memory_is_short_of_ram() {
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory 1)
      (func (export "_start")
        (if (i32.eq (memory.grow (i32.const 2)) (i32.const -1)) (then (call $exit (i32.const 1))))
        (i32.store (i32.const 196604) (i32.const 7))))"#;
    let path = tmp_file("giveup.wat", wat.as_bytes());
    let (code, out, err) = fireball(&["inspect", &path, "--ram", "96K"]);
    assert_eq!(code, 0, "{err}");
    let fix = out
        .lines()
        .find_map(|l| l.rsplit_once("; it runs with --ram "))
        .map(|(why, k)| {
            assert!(why.contains("giveup ended: exited with status 1 after its partition refused its memory.grow"), "{out}");
            k.trim().to_string()
        })
        .unwrap_or_else(|| panic!("no trial verdict in:\n{out}"));
    let (code, out, _) = fireball(&["run", &path, "--ram", "96K", "--for", "1ms"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("giveup] exited with status 1 (its partition refused its memory.grow once: it has "), "{out}");
    assert!(out.contains(&format!("giveup runs with --ram {fix} (a trial run")), "{fix}: {out}");
    let (code, out, err) = fireball(&["run", &path, "--ram", &fix, "--for", "1ms"]);
    assert!(code == 0 && out.contains("giveup] returned"), "{fix}: {err}\n{out}");
    // A nonzero exit with no memory refused is the program's own business: it fits.
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory 1)
      (func (export "_start") (call $exit (i32.const 2))))"#;
    let usage = tmp_file("usage.wat", wat.as_bytes());
    let (code, out, err) = fireball(&["inspect", &usage, "--ram", "96K"]);
    assert!(code == 0 && out.contains("on a 96K device: fits"), "{err}\n{out}");
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(usage);
}

/// A module whose data and stack alone are larger than any device (Zig links a
/// 16 MiB stack by default) is refused with what it declares and how to link it
/// smaller, not with the size of the probe's partition.
#[test]
fn a_module_larger_than_any_device_says_what_it_declares() {
    let wat = r#"(module (memory 300) (data (i32.const 18000000) "x") (func (export "_start")))"#;
    let path = tmp_file("huge.wat", wat.as_bytes());
    let (code, _, err) = fireball(&["run", &path]);
    assert_clean_error(code, &err, "huge: does not fit a 96 KiB device, nor one with 16 MiB more (the guest partition P5 of ");
    assert!(err.contains("is too small): it declares 19660800 B of linear memory, of which its data and stack take 18000001 B"), "{err}");
    assert!(err.contains("zig: --stack N"), "{err}");
    let (code, out, _) = fireball(&["inspect", &path, "--ram", "96K"]);
    assert!(code == 0 && out.contains("on a 96K device: does NOT fit: ") && out.contains("huge: does not fit a 96 KiB device"), "{out}");
    let _ = std::fs::remove_file(path);
}

/// A trap's end notice is followed by where it happened: the functions (by their
/// names in the module's name section) and code offsets, innermost first, the same
/// offset `--invoke` reports; a deep recursion's is cut short.
#[test]
fn a_trap_says_where_it_happened() {
    let wat = r#"(module
      (func $divide (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
      (func $compute (param i32) (result i32) (call $divide (i32.const 100) (local.get 0)))
      (func (export "_start") (drop (call $compute (i32.const 0)))))"#;
    let path = tmp_file("where.wat", wat.as_bytes());
    let (code, _, err) = fireball(&["run", &path, "--invoke", "_start"]);
    assert_eq!(code, 1, "{err}");
    let at = err.split_once("at offset ").and_then(|(_, r)| r.split_whitespace().next()).unwrap_or_else(|| panic!("{err}")).to_string();
    let (code, out, _) = fireball(&["run", &path, "--for", "1ms"]);
    assert_eq!(code, 134, "{out}");
    let (_, trace) = out.split_once("] trapped in ").unwrap_or_else(|| panic!("no backtrace in:\n{out}"));
    let line = trace.lines().take_while(|l| !l.is_empty()).collect::<Vec<_>>().join("\n");
    let frames: Vec<&str> = line.lines().map(|l| l.split_once("]   called from ").map_or(l, |(_, f)| f)).collect();
    assert_eq!(frames.len(), 3, "{line}");
    assert_eq!(frames[0], format!("divide @ {at}"), "{line}");
    // Callers: an offset inside each one's call instruction, in its function (named by
    // its export when the name section has no name for it).
    let offset = |f: &str, name: &str| {
        let hex = f.strip_prefix(&format!("{name} @ 0x")).unwrap_or_else(|| panic!("{name}: {line}"));
        u32::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("{line}"))
    };
    let (divide, compute, start) = (offset(frames[0], "divide"), offset(frames[1], "compute"), offset(frames[2], "_start"));
    assert!(divide < compute && compute < start, "{line}");
    let _ = std::fs::remove_file(path);
    // A deep recursion's trace names the first frames and counts the rest.
    let wat = r#"(module
      (func $down (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0)) (then (unreachable))
          (else (call $down (i32.sub (local.get 0) (i32.const 1))))))
      (func (export "_start") (drop (call $down (i32.const 20)))))"#;
    let path = tmp_file("deepwhere.wat", wat.as_bytes());
    let (code, out, _) = fireball(&["run", &path, "--for", "1ms"]);
    assert_eq!(code, 134, "{out}");
    // 22 frames: 12 named, 10 counted.
    assert_eq!(out.matches("trapped in down @ 0x").count() + out.matches("]   called from down @ 0x").count(), 12, "{out}");
    assert!(out.contains("]   and 10 more frames\n"), "{out}");
    let _ = std::fs::remove_file(path);
}

/// A plan that has no room for the services' sub-heaps names the RAM whose plan holds
/// them and the app, not only how many bytes it lacks: a larger device's row plans more
/// and larger coroutine stacks and more service slots, so the shortfall added to the
/// RAM given is not the answer (here the least RAM is below the one given).
#[test]
fn a_plan_without_room_for_the_services_names_the_ram_that_holds_them() {
    let app = tmp_file("plan-app.wat", br#"(module (memory 1) (data (i32.const 30000) "a") (func (export "_start")))"#);
    let svc = tmp_file("plan-svc.wat", br#"(module (memory 2) (data (i32.const 120000) "s") (func (export "serve")))"#);
    let service = format!("{svc}:serve");
    let run = |ram: &str| fireball(&["run", &app, "--service", &service, "--ram", ram]);
    let named = |err: &str| -> String {
        err.rsplit_once("; use --ram ").and_then(|(_, k)| k.split_whitespace().next()).map(|k| k.trim_end_matches(',').to_string()).unwrap_or_else(|| panic!("no --ram in: {err}"))
    };
    let (code, _, err) = run("256K");
    assert_clean_error(code, &err, "--ram 262144: the plan does not fit in 262144 B of RAM");
    assert!(err.contains("(with P4 sized for the services: ") && err.contains("(a smaller plan)"), "{err}");
    let k = named(&err);
    let n: usize = k.trim_end_matches('K').parse().expect("KiB");
    let (code, out, err) = run(&k);
    assert!(code == 0 && out.contains("plan-app] returned") && out.contains("plan-svc] returned"), "--ram {k}: {err}\n{out}");
    // One KiB less is short, and names the same size.
    let (code, _, err) = run(&format!("{}K", n - 1));
    assert_eq!(code, 1, "{err}");
    assert_eq!(named(&err), k, "{err}");
    let (code, out, _) = fireball(&["inspect", &svc, "--service", "--ram", "256K"]);
    assert!(code == 0 && out.contains("does NOT fit: --ram 262144: the plan does not fit"), "{out}");
    let _ = std::fs::remove_file(app);
    let _ = std::fs::remove_file(svc);
}

/// A size that only loads a program (its trial runs trap) on a smaller plan than the
/// one given: the refusal keeps "(a smaller plan)" beside that size, and says what
/// the trial saw after it, not two remarks in a row.
#[test]
fn a_smaller_plan_that_only_loads_the_program_says_both_in_order() {
    let path = tmp_file("trapbig.wat", br#"(module (memory 2) (data (i32.const 120000) "a") (func (export "_start") unreachable))"#);
    let (code, _, err) = fireball(&["run", &path, "--ram", "256K"]);
    assert_clean_error(code, &err, "K (a smaller plan) to load it (a trial run on --ram ");
    assert!(err.contains("ended fireball-cli-") && err.contains("trap (unreachable)), or `fireball pack` it"), "{err}");
    let _ = std::fs::remove_file(path);
}

/// A service that stores past the part of its memory its partition backs (its static
/// data and stack and 64 B) is told that no RAM gives it more, and `run` does not go
/// looking for a size that would (it used to climb to 16 MiB and say its heap "grows
/// without end").
#[test]
fn a_service_past_its_backed_memory_is_not_sent_for_more_ram() {
    let app = tmp_file("heap-app.wat", br#"(module (memory 1) (func (export "_start")))"#);
    let svc = tmp_file("heap-svc.wat", br#"(module (memory 1) (data (i32.const 1000) "x") (func (export "serve") (i32.store (i32.const 40000) (i32.const 1))))"#);
    let service = format!("{svc}:serve");
    let (code, out, err) = fireball(&["run", &app, "--service", &service, "--ram", "96K"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("terminated: trap (out of bounds memory access) (its partition backs 1065 B of the 65536 B of linear memory it declares; a service's memory is backed up to its static data and stack and 64 B more, whatever the RAM: no --ram gives it more; keep its buffers static); the other modules keep running"),
        "{out}"
    );
    assert!(!out.contains("give the system more RAM") && !err.contains("short of RAM") && !err.contains("runs with --ram"), "{out}\n{err}");
    let _ = std::fs::remove_file(app);
    let _ = std::fs::remove_file(svc);
}

/// A service that traps in the middle of a request leaves its client blocked on the
/// reply channel, which no module can send on any more (`ch_recv` has no error to
/// return): the run says so when the service ends, and its table says what the
/// client waits for.
#[test]
fn a_client_left_waiting_by_a_dead_service_is_named() {
    let app = tmp_file("rrapp.wat", br#"(module
      (import "env" "ch_send" (func $send (param i32 i32)))
      (import "env" "ch_recv" (func $recv (param i32 i32)))
      (memory 1)
      (func (export "_start") (local $i i32)
        (loop $l
          (call $send (i32.const 0) (local.get $i))
          (call $recv (i32.const 3) (i32.const 16))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 5))))))"#);
    // Replies ten times the request, and traps on request 2.
    let svc = tmp_file("rrsvc.wat", br#"(module
      (import "env" "ch_send" (func $send (param i32 i32)))
      (import "env" "ch_recv" (func $recv (param i32 i32)))
      (memory 1)
      (func (export "serve")
        (loop $l
          (call $recv (i32.const 1) (i32.const 16))
          (if (i32.eq (i32.load (i32.const 16)) (i32.const 2)) (then unreachable))
          (call $send (i32.const 2) (i32.mul (i32.load (i32.const 16)) (i32.const 10)))
          (br $l))))"#);
    let (a, v) = (format!("fireball-cli-{}-rrapp", std::process::id()), format!("fireball-cli-{}-rrsvc", std::process::id()));
    let manifest = tmp_file("rr.manifest", format!("grant {a} log\ngrant {v} log\nconnect {a}:0 {v}:1\nconnect {v}:2 {a}:3\n").as_bytes());
    let (code, out, err) = fireball(&["run", &app, "--service", &format!("{svc}:serve"), "--manifest", &manifest, "--for", "100ms"]);
    assert_eq!(code, 0, "{err}\n{out}");
    assert!(out.contains(&format!("[{v}] terminated: trap (unreachable)")), "{out}");
    assert!(out.contains(&format!("[{a}] is blocked for ever (receiving on port 3: {v}, at its other end, has ended)")), "{out}");
    let row = out.lines().find(|l| l.starts_with(&format!("{a} "))).unwrap_or_else(|| panic!("{out}"));
    assert!(row.ends_with(&format!("Blocked (receiving on port 3: {v}, at its other end, has ended)")), "{row}");
    for f in [app, svc, manifest] {
        let _ = std::fs::remove_file(f);
    }
}

/// `poll` on stdin with a timeout (WASI `poll_oneoff`: a read subscription on fd 0
/// and a clock 300 ms away), exiting with the first event's userdata: 1 for the
/// input, 2 for the timeout. At a terminal (util-linux `script` gives the run one)
/// nothing typed times out, a line typed is input; piped or at its end, stdin is
/// ready at once.
#[test]
fn polling_stdin_at_a_terminal_waits_for_a_line_or_times_out() {
    use std::io::Write;
    use std::process::Stdio;
    let wat = br#"(module
      (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory 1)
      (data (i32.const 0) "\02\00\00\00\00\00\00\00\00")
      (data (i32.const 16) "\01\00\00\00")
      (data (i32.const 24) "\00\a3\e1\11\00\00\00\00")
      (data (i32.const 48) "\01\00\00\00\00\00\00\00\01")
      (func (export "_start")
        (drop (call $poll (i32.const 0) (i32.const 128) (i32.const 2) (i32.const 200)))
        (call $exit (i32.load (i32.const 128)))))"#;
    let path = tmp_file("pollin.wat", wat);
    let run = format!("'{}' run '{path}' --for 5s", env!("CARGO_BIN_EXE_fireball"));
    // At a terminal: `typed` sent, stdin then kept open (nothing more) until the run ends.
    let at_terminal = |typed: &[u8]| -> Option<i32> {
        let mut child = Command::new("script").args(["-qec", &run, "/dev/null"]).stdin(Stdio::piped()).stdout(Stdio::null()).spawn().ok()?;
        let mut keys = child.stdin.take()?;
        keys.write_all(typed).ok()?;
        let status = child.wait().ok()?;
        drop(keys);
        status.code()
    };
    match at_terminal(b"") {
        // No `script` on this machine: the terminal cases cannot run here.
        None => eprintln!("util-linux `script` not found: the terminal cases skipped"),
        Some(code) => {
            assert_eq!(code, 2, "nothing typed: the timeout");
            assert_eq!(at_terminal(b"x\n"), Some(1), "a line typed: the input");
        }
    }
    let piped = |input: Stdio| Command::new(env!("CARGO_BIN_EXE_fireball")).args(["run", &path, "--for", "5s"]).stdin(input).output().map(|o| o.status.code());
    assert_eq!(piped(Stdio::null()).ok().flatten(), Some(1), "at its end: ready");
    let _ = std::fs::remove_file(path);
}

/// A module too large for the device is told how to link it smaller in its own
/// toolchain's words: rustc's (named in the producers section) takes linker flags
/// through RUSTFLAGS, clang's through -Wl.
#[test]
fn the_refusal_speaks_the_modules_toolchain() {
    let body = r#"(memory 20) (data (i32.const 1300000) "x") (func (export "_start"))"#;
    let rust = tmp_file("byrustc.wat", format!(r#"(module (@custom "producers" "\01\0cprocessed-by\01\05rustc\061.95.0") {body})"#).as_bytes());
    let (code, _, err) = fireball(&["run", &rust]);
    assert_clean_error(code, &err, "or link it with a smaller stack (RUSTFLAGS=\"-C link-arg=-zstack-size=N\": rustc's default is 1 MiB)");
    let c = tmp_file("byclang.wat", format!("(module {body})").as_bytes());
    let (code, _, err) = fireball(&["run", &c]);
    assert_clean_error(code, &err, "or link it with a smaller stack or data (clang: -Wl,-z,stack-size=N, --initial-memory; zig: --stack N, its default is 16 MiB)");
    let _ = std::fs::remove_file(rust);
    let _ = std::fs::remove_file(c);
}

/// Recursion deeper than the plan's coroutine stack holds: `run` names what ran out,
/// `inspect` says so, and `--task-stack` (a device's plan sets the same) runs it.
#[test]
fn deep_recursion_needs_a_larger_task_stack() {
    let wat = r#"(module
      (func $down (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
          (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1)))))))
      (func (export "_start") (if (i32.ne (call $down (i32.const 200)) (i32.const 200)) (then unreachable))))"#;
    let path = tmp_file("deep.wat", wat.as_bytes());
    let (code, out, _) = fireball(&["run", &path, "--for", "10ms"]);
    assert_eq!(code, 134, "{out}");
    assert!(out.contains("terminated: trap (call stack exhausted) (its coroutine stack holds 32 call frames"), "{out}");
    assert!(out.contains("--task-stack gives each task a larger one"), "{out}");
    let (code, out, _) = fireball(&["inspect", &path, "--ram", "96K"]);
    assert!(code == 0 && out.contains("loads, but does NOT run") && out.contains("with --task-stack"), "{out}");
    let (code, out, err) = fireball(&["run", &path, "--ram", "96K", "--task-stack", "32K", "--for", "10ms"]);
    assert_eq!(code, 0, "{err}\n{out}");
    let (code, out, _) = fireball(&["inspect", &path, "--ram", "96K", "--task-stack", "32K"]);
    assert!(code == 0 && out.contains("on a 96K device: fits"), "{out}");
    let (code, _, err) = fireball(&["run", &path, "--ram", "96K", "--task-stack", "1M"]);
    assert_clean_error(code, &err, "the plan does not fit");
    // A size the plan cannot lay out is refused under its own name, not --ram's.
    let (code, _, err) = fireball(&["run", &path, "--task-stack", "100"]);
    assert_clean_error(code, &err, "--task-stack 100: a coroutine stack is a positive multiple of 8 B");
    let (code, _, err) = fireball(&["inspect", &path, "--task-stack", "8K"]);
    assert_clean_error(code, &err, "--task-stack applies with --ram");
    // Too small for the partition a stack is: said in words, with the option to change.
    let (code, _, err) = fireball(&["run", &path, "--task-stack", "16"]);
    assert_clean_error(code, &err, "a coroutine stack of 16 B: P5 guest: a 16 B region is too small for a heap");
    assert!(err.contains("(--task-stack)") && !err.contains("TooSmall"), "{err}");
    // Value slots running out (a small stack, shallow calls) get the same advice.
    let (code, out, _) = fireball(&["run", &example("sensor/sensor.wasm"), "--task-stack", "512", "--for", "10ms"]);
    assert_eq!(code, 134, "{out}");
    assert!(out.contains("trap (value stack exhausted) (its coroutine stack holds") && out.contains("--task-stack gives each task a larger one"), "{out}");
    let (code, out, _) = fireball(&["inspect", &example("sensor/sensor.wasm"), "--ram", "96K", "--task-stack", "512"]);
    assert!(code == 0 && out.contains("give each task a larger one with --task-stack") && !out.contains("a bug in the guest"), "{out}");
    let _ = std::fs::remove_file(path);
}

/// WASI `poll_oneoff` with a clock subscription (what `sleep`, `usleep`, `nanosleep`
/// and Rust's `thread::sleep` call) parks the app until that time; an fd subscription
/// for stdout answers at once, with the subscription's userdata.
#[test]
fn poll_oneoff_sleeps_on_the_simulated_clock() {
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "clock_time_get" (func $now (param i32 i64 i32) (result i32)))
      (memory 1)
      (func $check (param i32) (if (i32.eqz (local.get 0)) (then unreachable)))
      (func (export "_start") (local $t0 i64)
        (call $check (i32.eqz (call $now (i32.const 1) (i64.const 0) (i32.const 200))))
        (local.set $t0 (i64.load (i32.const 200)))
        ;; one relative clock subscription, 250 ms, userdata 0x1234
        (i64.store (i32.const 0) (i64.const 0x1234))
        (i32.store8 (i32.const 8) (i32.const 0))
        (i32.store (i32.const 16) (i32.const 1))
        (i64.store (i32.const 24) (i64.const 250000000))
        (call $check (i32.eqz (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128))))
        (call $check (i32.eq (i32.load (i32.const 128)) (i32.const 1)))
        (call $check (i64.eq (i64.load (i32.const 64)) (i64.const 0x1234)))
        (call $check (i32.eqz (call $now (i32.const 1) (i64.const 0) (i32.const 200))))
        (call $check (i64.ge_u (i64.sub (i64.load (i32.const 200)) (local.get $t0)) (i64.const 250000000)))
        ;; stdout is always writable: answered at once (type fd_write = 2, error 0)
        (i64.store (i32.const 0) (i64.const 7))
        (i32.store8 (i32.const 8) (i32.const 2))
        (call $check (i32.eqz (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128))))
        (call $check (i32.eq (i32.load16_u (i32.const 72)) (i32.const 0)))
        (call $check (i32.eq (i32.load8_u (i32.const 74)) (i32.const 2)))
        (call $check (i64.eq (i64.load (i32.const 64)) (i64.const 7)))
        ;; stdin is at its end: a read subscription is answered at once (type fd_read = 1)
        (i32.store8 (i32.const 8) (i32.const 1))
        (i32.store (i32.const 16) (i32.const 0))
        (call $check (i32.eqz (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128))))
        (call $check (i32.eq (i32.load16_u (i32.const 72)) (i32.const 0)))
        (call $check (i32.eq (i32.load8_u (i32.const 74)) (i32.const 1)))
        ;; any other fd: badf (8)
        (i32.store (i32.const 16) (i32.const 5))
        (call $check (i32.eqz (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128))))
        (call $check (i32.eq (i32.load16_u (i32.const 72)) (i32.const 8)))
        ;; no subscriptions: inval (28)
        (call $check (i32.eq (call $poll (i32.const 0) (i32.const 64) (i32.const 0) (i32.const 128)) (i32.const 28)))))"#;
    let path = tmp_file("sleep.wat", wat.as_bytes());
    let (code, out, err) = fireball(&["run", &path, "--for", "5s"]);
    assert_eq!(code, 0, "{err}\n{out}");
    assert!(out.contains("sleep] returned"), "{out}");
    let ms: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("-- stopped: every module has finished; "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no stop line in {out}"));
    assert!((250..=260).contains(&ms), "slept {ms} ms:\n{out}");
    let (code, out, _) = fireball(&["inspect", &path]);
    assert!(code == 0 && out.contains("imports: all provided by Fireball"), "{out}");
    let _ = std::fs::remove_file(path);
}

/// `--for` on simulated time stops on time while every task sleeps (an idle system
/// moves towards the next wake-up, up to 100 ms a step, but not past the limit).
#[test]
fn for_stops_on_time_while_tasks_sleep() {
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
      (memory 1)
      (func (export "_start")
        (i32.store (i32.const 16) (i32.const 1))
        (i64.store (i32.const 24) (i64.const 1000000000))
        (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))"#;
    let path = tmp_file("sleeper.wat", wat.as_bytes());
    for ms in [150, 1] {
        let (code, out, err) = fireball(&["run", &path, "--for", &format!("{ms}ms")]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains(&format!("-- stopped: --for {ms}ms reached; {ms} ms simulated --")), "{out}");
    }
    let _ = std::fs::remove_file(path);
}

/// A named entry that is not a `[] -> []` function export is named in the error; a
/// guest's last line without its newline does not run into the next log line or
/// notice, and comes before the log line of the exit that followed it.
#[test]
fn entries_are_checked_and_notices_start_their_line() {
    let (code, _, err) = fireball(&["run", &format!("{}:nosuch", example("sensor/sensor.wasm"))]);
    assert_clean_error(code, &err, "sensor.wasm: no export named 'nosuch'");
    let (code, _, err) = fireball(&["run", &format!("{}:fib", example("fib.wat"))]);
    assert_clean_error(code, &err, "'fib' takes parameters or returns results");
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory 1) (data (i32.const 0) "\10\00\00\00\03\00\00\00") (data (i32.const 16) "abc")
      (func (export "_start") (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))) (call $exit (i32.const 3))))"#;
    let path = tmp_file("partial.wat", wat.as_bytes());
    let (code, out, _) = fireball(&["run", &path, "--for", "10ms"]);
    assert_eq!(code, 3, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    let abc = lines.iter().position(|l| l.ends_with("partial] abc"));
    let exit_log = lines.iter().position(|l| l.contains("INFO") && l.ends_with("partial: exit 3"));
    assert!(abc.is_some() && exit_log.is_some(), "the text, and the exit's log line on a line of its own: {out}");
    assert!(abc < exit_log, "the guest's text before the log line of the exit that followed it: {out}");
    assert!(out.lines().any(|l| l.ends_with("partial] exited with status 3; the other modules keep running")), "{out}");
    let _ = std::fs::remove_file(path);
}

/// A C program's shadow stack (linked with --stack-first) that overflows runs its
/// stack pointer below 0 and traps out of bounds: both tools say so, not "more RAM".
#[test]
fn a_shadow_stack_overflow_is_named() {
    let wat = r#"(module (memory 1) (global $sp (mut i32) (i32.const 1024))
      (func (export "_start")
        (global.set $sp (i32.sub (global.get $sp) (i32.const 4096)))
        (i32.store (global.get $sp) (i32.const 1))))"#;
    let path = tmp_file("smash.wat", wat.as_bytes());
    let (code, out, _) = fireball(&["run", &path, "--for", "10ms"]);
    assert_eq!(code, 134, "{out}");
    assert!(out.contains("(its stack pointer, global 0, is -3072: its shadow stack overflowed; link it with a larger one, -Wl,-z,stack-size=N)"), "{out}");
    let (code, out, _) = fireball(&["inspect", &path, "--ram", "96K"]);
    assert!(code == 0 && out.contains("loads, but does NOT run") && out.contains("its shadow stack overflowed"), "{out}");
    let _ = std::fs::remove_file(path);
}

/// WASI `sched_yield` (C's `sched_yield`, Rust's `thread::yield_now`) ends the task's
/// slice, as `co_yield` does.
#[test]
fn sched_yield_ends_the_slice() {
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "sched_yield" (func $y (result i32)))
      (func (export "_start") (drop (call $y)) (drop (call $y)) (drop (call $y))))"#;
    let path = tmp_file("yielder.wat", wat.as_bytes());
    let (code, out, err) = fireball(&["run", &path, "--for", "10ms"]);
    assert_eq!(code, 0, "{err}\n{out}");
    // module, instrs, switches, yields, ...: four turns, three of them ended by a yield.
    let row: Vec<&str> = out.lines().find(|l| l.contains("yielder") && l.ends_with("Done")).map(|l| l.split_whitespace().collect()).unwrap_or_default();
    assert_eq!(row.get(2..4), Some(&["4", "3"][..]), "{out}");
    let _ = std::fs::remove_file(path);
}

/// Guests' DEBUG and TRACE events show with `--log-level debug`/`trace` (INFO by default).
#[test]
fn log_level_shows_debug_and_trace_events() {
    let wat = r#"(module (import "env" "log_event" (func $log (param i32 i32 i32) (result i32)))
      (func (export "_start") (drop (call $log (i32.const 4) (i32.const 7) (i32.const 42))) (drop (call $log (i32.const 5) (i32.const 8) (i32.const 43)))))"#;
    let path = tmp_file("levels.wat", wat.as_bytes());
    let (code, out, err) = fireball(&["run", &path, "--for", "1ms"]);
    assert!(code == 0 && !out.contains("DEBUG") && !out.contains("TRACE"), "{err}\n{out}");
    let (code, out, err) = fireball(&["run", &path, "--for", "1ms", "--log-level", "debug"]);
    assert!(code == 0 && out.contains("DEBUG") && out.contains(": e7 42") && !out.contains("TRACE"), "{err}\n{out}");
    let (code, out, err) = fireball(&["run", &path, "--for", "1ms", "--log-level", "trace"]);
    assert!(code == 0 && out.contains(": e8 43"), "{err}\n{out}");
    let (code, _, err) = fireball(&["run", &path, "--log-level", "loud"]);
    assert_clean_error(code, &err, "expected off, error, warn, info, debug or trace");
    let _ = std::fs::remove_file(path);
}

/// Inputs a fuzzing pass found the host choking on: each is now a one-line error.
#[test]
fn absurd_inputs_are_errors_not_aborts() {
    let sensor = example("sensor/sensor.wasm");
    // A 4-billion channel ADC (an allocation of ~100 GB).
    let (code, _, err) = fireball(&["run", &sensor, "--adc", "4294967295=const:1", "--for", "1ms"]);
    assert_clean_error(code, &err, "the simulated ADC has channels 0..255");
    // Files that never end.
    let (code, _, err) = fireball(&["inspect", "/dev/zero"]);
    assert_clean_error(code, &err, "/dev/zero: larger than 64 MiB");
    let (code, _, err) = fireball(&["run", &sensor, "--adc", "0=csv:/dev/zero", "--for", "1ms"]);
    assert_clean_error(code, &err, "/dev/zero: larger than 64 MiB");
    // A manifest with a no-break space in a grant (the parser sliced a string at it).
    let m = tmp_file("nbsp.manifest", "grant \u{a0}x log\n".as_bytes());
    let (code, _, err) = fireball(&["run", &sensor, "--manifest", &m, "--for", "1ms"]);
    assert!(code == 0 && !err.contains("panicked"), "{err}");
    // A manifest of 30 000 wires: refused at once, not checked in quadratic time.
    let wires: String = (0..30_000).map(|k| format!("connect a{k}:0 b{k}:1\n")).collect();
    let m = tmp_file("huge.manifest", wires.as_bytes());
    let (code, _, err) = fireball(&["run", &sensor, "--manifest", &m, "--for", "1ms"]);
    assert_clean_error(code, &err, "more grant and wire lines than a system has modules and ports");
}

/// `fireball run`'s exit status says how the app ended, for scripts and CI.
#[test]
fn run_exits_with_the_apps_status() {
    let cases: [(&str, &str, i32); 4] = [
        ("returns", r#"(module (func (export "_start")))"#, 0),
        ("exits", r#"(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32))) (func (export "_start") (call $exit (i32.const 5))))"#, 5),
        ("exits256", r#"(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32))) (func (export "_start") (call $exit (i32.const 256))))"#, 1),
        ("traps", r#"(module (func (export "_start") unreachable))"#, 134),
    ];
    for (name, wat, want) in cases {
        let path = tmp_file(&format!("{name}.wat"), wat.as_bytes());
        let (code, out, err) = fireball(&["run", &path, "--for", "10ms"]);
        assert_eq!(code, want, "{name}: {err}\n{out}");
        let _ = std::fs::remove_file(path);
    }
    // Still running when --for ends it: 0.
    let (code, _, err) = fireball(&["run", &example("sensor/sensor.wasm"), "--for", "5ms"]);
    assert_eq!(code, 0, "{err}");
}

/// What only a bare `--invoke` call takes is refused on the kernel, not ignored; an
/// absurd --ram is an error, not an allocation failure of the host.
#[test]
fn kernel_runs_refuse_what_they_would_ignore() {
    let hello = example("sensor/sensor.wasm");
    let (code, _, err) = fireball(&["run", &hello, "--fuel", "1000"]);
    assert_clean_error(code, &err, "--fuel only applies with --invoke");
    let (code, _, err) = fireball(&["run", &hello, "--depth", "5000", "--stack", "100000"]);
    assert_clean_error(code, &err, "--stack, --depth only apply with --invoke");
    // (Arguments are the app's command line; an environment entry must be KEY=VALUE.)
    let (code, _, err) = fireball(&["run", &hello, "--env", "NOVALUE", "x", "y"]);
    assert_clean_error(code, &err, "--env NOVALUE: give the variable as KEY=VALUE");
    let (code, _, err) = fireball(&["run", &hello, "--env", "=1"]);
    assert_clean_error(code, &err, "--env =1: give the variable as KEY=VALUE");
    let (code, _, err) = fireball(&["run", &example("fib.wat"), "--invoke", "fib", "--env", "A=1", "5"]);
    assert_clean_error(code, &err, "an `--invoke`d function has none");
    let (code, _, err) = fireball(&["run", &example("fib.wat"), "--invoke", "fib", "--realtime", "now", "5"]);
    assert_clean_error(code, &err, "an `--invoke`d function has no imports");
    for bad in ["yesterday", "1.5", "99999999999999999999"] {
        let (code, _, err) = fireball(&["run", &hello, "--realtime", bad]);
        assert_clean_error(code, &err, &format!("--realtime {bad}: give `now` or seconds since 1970-01-01 UTC"));
    }
    for ram in ["100000M", "99999999999999"] {
        let (code, _, err) = fireball(&["run", &hello, "--ram", ram]);
        assert_clean_error(code, &err, "the largest size the simulator takes");
        let (code, _, err) = fireball(&["inspect", &hello, "--ram", ram]);
        assert_clean_error(code, &err, "the largest size the simulator takes");
    }
}

#[test]
fn run_on_the_kernel_prints_frames_and_the_exit_report() {
    let (code, out, err) =
        fireball(&["run", &example("sensor/sensor.wasm"), "--ram", "32K", "--adc", "0=const:5", "--for", "10ms"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("tx t=") && out.contains("len=128 data=05000500"), "{out}");
    assert!(out.contains("-- stopped: --for 10ms reached; 10 ms simulated --"), "{out}");
    for needle in ["module", "sensor", "Kernel", "Guest", "Reserve", "router:"] {
        assert!(out.contains(needle), "{needle} missing: {out}");
    }
    let (code, _, err) = fireball(&["run", &example("sensor/sensor.wasm"), "--adc", "0=wobble:1"]);
    assert_clean_error(code, &err, "--adc '0=wobble:1'");
    let (code, _, err) = fireball(&["run", &example("sensor/sensor.wasm"), "--manifest", &tmp_file("m", b"allow x")]);
    assert_clean_error(code, &err, "manifest line 1: unknown directive");
}

/// Ctrl-C (SIGINT) ends a run that has no --for cleanly: the report still prints.
#[cfg(unix)]
#[test]
fn ctrl_c_stops_a_run_cleanly() {
    use std::process::Stdio;
    let child = Command::new(env!("CARGO_BIN_EXE_fireball"))
        .args(["run", &example("sensor/sensor.wasm"), "--ram", "32K"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(700));
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("-- stopped: interrupted (Ctrl-C);"), "{}", &stdout[stdout.len().saturating_sub(600)..]);
    assert!(stdout.contains("partition"));
}

/// A module built with a proposal Fireball does not run (SIMD, threads, exception
/// handling) is refused with what to rebuild it without, by `run` and `inspect`
/// alike; the engine itself only knows an illegal opcode or section there.
#[test]
fn unsupported_proposals_are_named_with_the_flag_to_drop() {
    let cases = [
        ("simd", r#"(module (memory 1) (func (export "_start") (v128.store (i32.const 0) (v128.const i32x4 1 2 3 4))))"#, "it uses SIMD (v128), which Fireball does not run: build it without -msimd128"),
        ("atomics", r#"(module (memory 1) (func (export "_start") (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))))"#, "it uses atomic instructions (the threads proposal)"),
        ("exceptions", r#"(module (tag $e) (func (export "_start") (throw $e)))"#, "it uses exception handling, which Fireball does not run: build it without -fwasm-exceptions"),
        ("v128-local", r#"(module (func (export "_start") (local v128)))"#, "SIMD (v128) is not supported; build it without -msimd128"),
    ];
    for (name, text, hint) in cases {
        let path = tmp_file(&format!("{name}.wasm"), &wat::parse_str(text).expect("wat"));
        for cmd in ["run", "inspect"] {
            let (code, _, err) = fireball(&[cmd, &path]);
            assert_clean_error(code, &err, hint);
        }
    }
}
