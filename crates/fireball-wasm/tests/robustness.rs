//! Bad input never crashes the host: random bytes, mutated modules and
//! generated valid modules go through decode → validate → instantiate → run
//! (with a fuel budget), and nothing may panic. Modules generated valid by
//! `wasm-smith` must also be *accepted*: the validator may not be stricter
//! than the spec. A deterministic PRNG keeps failures reproducible; set
//! `FIREBALL_FUZZ_ITERS` for a longer run.

use arbitrary::Unstructured;
use fireball_wasm::{Exit, Features, Global, HostLimits, Module, StackLimits, Store, Thread, Value};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn iters(default: usize) -> usize {
    std::env::var("FIREBALL_FUZZ_ITERS").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// Load, instantiate (imports unresolved) and run every exported function
/// with zero arguments under a small fuel budget. Errs if the module did not load.
fn exercise(bytes: &[u8], features: Features) -> Result<(), String> {
    let module = Module::new_in(bytes, features, Global).map_err(|e| e.to_string())?;
    let mut store = Store::new(HostLimits { max_memory_bytes: 1 << 20, max_table_elems: 10_000 });
    let Ok(inst) = store.instantiate(&module, |_, _, _| None) else { return Ok(()) };
    let mut thread = Thread::new(StackLimits { value_slots: 4096, frames: 64 }).map_err(|_| "oom")?;
    let names: Vec<String> = module.exports().map(|(n, _, _)| n.to_string()).collect();
    let start = store.start_func(inst);
    let funcs: Vec<_> = start.into_iter().chain(names.iter().filter_map(|n| store.export_func(inst, n))).collect();
    for f in funcs {
        let args: Vec<Value> = store.func_type(f).params.iter().map(|&t| Value::from_bits(0, t)).collect();
        if thread.invoke(&store, f, &args).is_err() {
            continue;
        }
        for _ in 0..20 {
            match thread.resume(&mut store, 500) {
                Exit::OutOfFuel => continue,
                _ => break,
            }
        }
    }
    Ok(())
}

const SEED_MODULES: &[&str] = &[
    r#"(module (memory 1) (table 4 funcref) (global $g (mut i32) (i32.const 0))
        (type $t (func (param i32) (result i32)))
        (func $f (export "f") (param i32) (result i32)
          (block (result i32) (loop (drop (br_if 1 (local.get 0) (i32.eqz (local.get 0))))
            (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br 0)) (i32.const -1)))
        (func (export "g") (result i32) (call_indirect (type $t) (i32.const 3) (i32.const 1)))
        (func (export "m") (result i64) (i64.store (i32.const 8) (i64.const -1)) (i64.load (i32.const 8)))
        (func (export "t") (param i32) (result i32)
          (block (block (block (br_table 0 1 2 (local.get 0))) (return (i32.const 1))) (return (i32.const 2)))
          (i32.const 3))
        (elem (i32.const 1) $f)
        (data (i32.const 0) "fireball"))"#,
    r#"(module (func $fib (export "fib") (param i32) (result i32)
        (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))
          (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                         (call $fib (i32.sub (local.get 0) (i32.const 2))))))))"#,
    r#"(module (memory 1 2) (func (export "bulk") (result i32)
        (memory.fill (i32.const 0) (i32.const 7) (i32.const 100))
        (memory.copy (i32.const 50) (i32.const 0) (i32.const 60))
        (drop (memory.grow (i32.const 1))) (memory.size))
        (func (export "f") (param f64) (result f64) (f64.sqrt (f64.nearest (local.get 0)))))"#,
];

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..iters(20_000) {
        let len = rng.below(300);
        let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if rng.below(2) == 0 {
            b.splice(0..0, *b"\0asm\x01\0\0\0");
        }
        let _ = exercise(&b, Features::default());
    }
}

#[test]
fn mutated_modules_never_panic() {
    let seeds: Vec<Vec<u8>> = SEED_MODULES.iter().map(|s| wat::parse_str(s).expect("seed")).collect();
    for s in &seeds {
        exercise(s, Features::default()).expect("seed modules are valid");
    }
    let mut rng = Rng(42);
    let mut loaded = 0;
    for _ in 0..iters(20_000) {
        let mut b = seeds[rng.below(seeds.len())].clone();
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(b.len());
            match rng.below(4) {
                0 => b[i] = rng.next() as u8,
                1 => b[i] ^= 1 << rng.below(8),
                2 => b.truncate(i.max(8)),
                _ => b.insert(i, rng.next() as u8),
            }
        }
        if exercise(&b, Features::default()).is_ok() {
            loaded += 1;
        }
    }
    assert!(loaded > 0, "no mutant was valid: the mutator is not exercising the interpreter");
}

#[test]
fn generated_valid_modules_are_accepted_and_run() {
    let mut rng = Rng(7);
    let cfg = wasm_smith::Config {
        simd_enabled: false,
        relaxed_simd_enabled: false,
        threads_enabled: false,
        exceptions_enabled: false,
        gc_enabled: false,
        memory64_enabled: false,
        wide_arithmetic_enabled: false,
        custom_page_sizes_enabled: true,
        max_memories: 1,
        max_imports: 0,
        max_memory32_bytes: 1 << 20,
        max_table_elements: 1000,
        export_everything: true,
        ..wasm_smith::Config::default()
    };
    let mut accepted = 0;
    for i in 0..iters(1_500) {
        let data: Vec<u8> = (0..1 + rng.below(4096)).map(|_| rng.next() as u8).collect();
        let mut u = Unstructured::new(&data);
        let Ok(m) = wasm_smith::Module::new(cfg.clone(), &mut u) else { continue };
        let bytes = m.to_bytes();
        if let Err(e) = exercise(&bytes, Features::default()) {
            let path = std::env::temp_dir().join(format!("fireball-rejected-{i}.wasm"));
            let _ = std::fs::write(&path, &bytes);
            panic!("valid module rejected ({e}); saved to {}", path.display());
        }
        accepted += 1;
    }
    assert!(accepted > 100, "only {accepted} modules generated");
}

/// A packed module's side table is checked, never trusted: every mutation of a
/// packed module either is refused or loads a module whose side table is exactly
/// what the validator computes for its (possibly mutated) code — and running it
/// never panics. The hash is recomputed after each mutation, so the forgery
/// reaches the validator rather than stopping at the integrity check.
#[test]
fn forged_or_truncated_packed_modules_are_refused() {
    use fireball_wasm::pack;
    let seeds: Vec<Vec<u8>> = SEED_MODULES.iter().map(|s| wat::parse_str(s).expect("seed")).collect();
    let mut rng = Rng(0xfb);
    let (mut refused, mut side_refused) = (0, 0);
    for _ in 0..iters(5_000) {
        let wasm = &seeds[rng.below(seeds.len())];
        let module = Module::new(wasm).expect("seed");
        let mut packed = Vec::new();
        module.write_packed(|c| packed.extend_from_slice(c));
        let side_at = pack::HEADER_BYTES + ((wasm.len() + 7) & !7);
        let truncate = rng.below(8) == 0;
        if truncate {
            packed.truncate(rng.below(packed.len()));
        } else {
            // Mostly the side table, sometimes anywhere.
            let i = if rng.below(4) == 0 { rng.below(packed.len()) } else { side_at + rng.below(packed.len() - side_at) };
            packed[i] ^= 1 << rng.below(8);
            if packed.len() >= pack::HEADER_BYTES {
                let h = pack::hash([&packed[pack::HEADER_BYTES..]]);
                packed[24..32].copy_from_slice(&h.to_le_bytes());
            }
        }
        match Module::from_packed(&packed) {
            Err(fireball_wasm::LoadError::SideTable { .. }) => {
                refused += 1;
                side_refused += 1;
            }
            Err(_) => refused += 1,
            Ok(m) => {
                assert!(!truncate, "a truncated packed module loaded");
                // Accepted: then its table is the one the validator builds for its bytes.
                let plain = Module::new(m.bytes()).expect("a packed module that loads is valid as plain wasm");
                assert_eq!(plain.side_table(), m.side_table(), "a forged side table was accepted");
                let _ = exercise(m.bytes(), Features::default());
            }
        }
    }
    assert!(refused > 0 && side_refused > 0, "refused {refused}, by the side-table check {side_refused}");
}

/// The prevalidated packed loader (for guests the firmware's build validated) gives the
/// module the validating loader gives, and still refuses a damaged container, one of
/// another version, and a function index that does not fit the module.
#[test]
fn unchecked_packed_load_matches_and_refuses_damaged_or_mismatched_containers() {
    use fireball_wasm::{pack, LoadError, Reason};
    // Re-hash a container after editing it, so the edit reaches the loader's checks.
    fn rehash(p: &mut [u8]) {
        let h = pack::hash([&p[pack::HEADER_BYTES..]]);
        p[24..32].copy_from_slice(&h.to_le_bytes());
    }
    fn unchecked(p: &[u8]) -> Result<Module<'_>, LoadError> {
        // SAFETY: every container here was written by `write_packed` of a module that
        // loaded, or was edited so that the loader's checks refuse it before any code runs
        // (each such case asserts the refusal).
        let p = unsafe { fireball_wasm::Prevalidated::new(p) };
        Module::from_prevalidated_in(p, Features::default(), Global)
    }
    for src in SEED_MODULES {
        let wasm = wat::parse_str(src).expect("seed");
        let plain = Module::new(&wasm).expect("seed");
        let mut packed = Vec::new();
        plain.write_packed(|c| packed.extend_from_slice(c));
        let m = unchecked(&packed).expect("an intact container loads");
        assert_eq!(m.side_table(), plain.side_table());
        let n = (0..).take_while(|&i| plain.func_info(i).is_some()).count() as u32;
        for i in 0..n {
            assert_eq!(m.func_info(i), plain.func_info(i), "function {i}");
        }
        assert!(m.func_info(n).is_none());

        let mut damaged = packed.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 0x20;
        assert!(matches!(unchecked(&damaged), Err(LoadError::Decode(e)) if e.reason == Reason::PackedHash));

        let mut v1 = packed.clone();
        v1[4] = 1;
        assert!(matches!(unchecked(&v1), Err(LoadError::Decode(e)) if e.reason == Reason::PackedVersion));

        if n >= 1 {
            // The index's entries are the last 4 * n bytes. Each edit must be refused by
            // both loaders.
            let index_at = packed.len() - 4 * n as usize;
            let entry = |p: &[u8], i: usize| u32::from_le_bytes(p[index_at + 4 * i..index_at + 4 * i + 4].try_into().expect("4 bytes"));
            let mut edits: Vec<Vec<u8>> = Vec::new();
            // A function's table one word late (its header read from the wrong words).
            let mut late = packed.clone();
            late[index_at..index_at + 4].copy_from_slice(&(entry(&packed, 0) + 1).to_le_bytes());
            edits.push(late);
            // Past the table.
            let mut past = packed.clone();
            past[index_at..index_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
            edits.push(past);
            if n >= 2 {
                // Two functions given the same table.
                let mut twice = packed.clone();
                let first = entry(&packed, 0);
                twice[index_at + 4..index_at + 8].copy_from_slice(&first.to_le_bytes());
                edits.push(twice);
            }
            // An index one entry short (the header's count lowered with it).
            let mut short = packed.clone();
            short.truncate(packed.len() - 4);
            short[20..24].copy_from_slice(&(n - 1).to_le_bytes());
            edits.push(short);
            for (k, mut e) in edits.into_iter().enumerate() {
                rehash(&mut e);
                assert!(unchecked(&e).is_err(), "edit {k} of {src} accepted by the prevalidated loader");
                assert!(Module::from_packed(&e).is_err(), "edit {k} of {src} accepted by the checking loader");
            }
        }
    }
}
