//! What gets run: a `wasm-smith` module per seed (its shape drawn from the
//! seed too), and a plan of calls over its exported functions.

use crate::engines::FbMode;
use crate::obs::Arg;
use crate::rng::Rng;

/// The knobs drawn per module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// wasm-smith guards loads, divisions, … so they do not trap.
    pub no_traps: bool,
    /// `ensure_termination`: a fuel global makes every call end; such modules may also run unmetered.
    pub terminates: bool,
    /// Up to three memories (Fireball's `multi_memory` feature on).
    pub multi_memory: bool,
    /// Memories may declare a page size (custom-page-sizes: 1 byte or 64 KiB).
    pub custom_pages: bool,
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut v = vec![];
        if self.no_traps {
            v.push("no-traps");
        }
        if self.terminates {
            v.push("terminates");
        }
        if self.multi_memory {
            v.push("multi-memory");
        }
        if self.custom_pages {
            v.push("custom-page-sizes");
        }
        if v.is_empty() {
            v.push("plain");
        }
        f.write_str(&v.join(" "))
    }
}

impl Shape {
    /// Parse the `Display` form back (replay headers).
    pub fn parse(s: &str) -> Shape {
        let has = |w: &str| s.split_whitespace().any(|x| x == w);
        Shape {
            no_traps: has("no-traps"),
            terminates: has("terminates"),
            multi_memory: has("multi-memory"),
            custom_pages: has("custom-page-sizes"),
        }
    }

    /// The Fireball features this module needs.
    pub fn features(&self) -> fireball_wasm::Features {
        fireball_wasm::Features { multi_memory: self.multi_memory, ..fireball_wasm::Features::default() }
    }
}

/// The wasm-smith configuration: the proposals Fireball implements, no imports, everything exported.
pub fn config(shape: &Shape, rng: &mut Rng) -> wasm_smith::Config {
    wasm_smith::Config {
        // Off: what Fireball does not implement.
        simd_enabled: false,
        relaxed_simd_enabled: false,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        exceptions_enabled: false,
        gc_enabled: false,
        memory64_enabled: false,
        wide_arithmetic_enabled: false,
        custom_descriptors_enabled: false,
        compact_imports_enabled: false,
        // On: MVP + the 2.0 proposals + tail calls, extended-const, custom page sizes.
        sign_extension_ops_enabled: true,
        saturating_float_to_int_enabled: true,
        multi_value_enabled: true,
        bulk_memory_enabled: true,
        reference_types_enabled: true,
        tail_call_enabled: true,
        extended_const_enabled: true,
        custom_page_sizes_enabled: shape.custom_pages,
        max_memories: if shape.multi_memory { 3 } else { 1 },
        max_tables: 3,
        max_imports: 0,
        max_memory32_bytes: 1 << 20,
        max_table_elements: 1000,
        min_funcs: 1,
        max_funcs: 16,
        max_globals: 16,
        max_data_segments: 8,
        max_element_segments: 8,
        max_elements: 64,
        max_instructions: *rng.pick(&[50, 300, 1500]),
        max_nesting_depth: *rng.pick(&[3, 10]),
        export_everything: true,
        // Always: the spec leaves a NaN's sign and payload open (f64.sqrt(-1) is -NaN on x86,
        // +NaN in Fireball; both are right), and `i64.reinterpret_f64` turns that into integer
        // differences no comparison could excuse. Canonicalised, every observable bit is determined.
        canonicalize_nans: true,
        disallow_traps: shape.no_traps,
        ..wasm_smith::Config::default()
    }
}

/// Draw a module's shape and generate it. `Err` when wasm-smith gave up (counted, not a failure).
pub fn generate(module_seed: u64) -> Result<(Vec<u8>, Shape), String> {
    let mut rng = Rng::new(module_seed);
    let shape = Shape {
        no_traps: rng.chance(1, 3),
        terminates: rng.chance(1, 2),
        multi_memory: rng.chance(1, 5),
        custom_pages: rng.chance(1, 4),
    };
    let cfg = config(&shape, &mut rng);
    let len = 64 + rng.below(16 * 1024) as usize;
    let data: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
    let mut u = arbitrary::Unstructured::new(&data);
    let mut m = wasm_smith::Module::new(cfg, &mut u).map_err(|e| e.to_string())?;
    if shape.terminates {
        m.ensure_termination(20_000).map_err(|e| e.to_string())?;
    }
    Ok((m.to_bytes(), shape))
}

/// One planned call.
#[derive(Clone, Debug)]
pub struct Call {
    /// Export name.
    pub export: String,
    /// Arguments.
    pub args: Vec<Arg>,
    /// How Fireball runs it.
    pub mode: FbMode,
}

/// An exported function as the plan sees it: name and parameter types (`"i32"`, …).
pub struct ExportFn {
    /// Export name.
    pub name: String,
    /// Parameter type names.
    pub params: Vec<&'static str>,
}

/// Argument sets per exported function.
pub const ARG_SETS: usize = 3;
/// At most this many calls per module.
pub const MAX_CALLS: usize = 48;

const I32_EDGES: &[i32] = &[
    0, 1, -1, 2, i32::MIN, i32::MAX, i32::MIN + 1, 7, 8, 31, 32, 33, 63, 64, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff,
    0x1_0000, 0x1_0001, 0xfff0, 0x7fff_ffff - 7, -8, -65536, 100,
];
const I64_EDGES: &[i64] = &[
    0, 1, -1, 2, i64::MIN, i64::MAX, i64::MIN + 1, 63, 64, 65, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x1_0000_0000, -0x8000_0000,
    -0x8000_0001, 0x7f, 0x80, 0xffff, 0x1_0000,
];
const F32_EDGES: &[u32] = &[
    0x0000_0000, 0x8000_0000, 0x3f80_0000, 0xbf80_0000, 0x3f00_0000, 0x3fc0_0000, 0x4020_0000, 0xbf00_0000, 0x7f80_0000,
    0xff80_0000, 0x7fc0_0000, 0xffc0_0000, 0x7fc0_0001, 0x7fa0_0000, 0x7f80_0001, 0xff80_0001, 0x7fff_ffff, 0x0000_0001,
    0x8000_0001, 0x007f_ffff, 0x0080_0000, 0x7f7f_ffff, 0xff7f_ffff, 0x4f00_0000, 0xcf00_0000, 0x4f80_0000, 0x5f00_0000,
    0xdf00_0000, 0x4effffff, 0xcf00_0001,
];
const F64_EDGES: &[u64] = &[
    0x0000_0000_0000_0000,
    0x8000_0000_0000_0000,
    0x3ff0_0000_0000_0000,
    0xbff0_0000_0000_0000,
    0x3fe0_0000_0000_0000,
    0x3ff8_0000_0000_0000,
    0x4004_0000_0000_0000,
    0x7ff0_0000_0000_0000,
    0xfff0_0000_0000_0000,
    0x7ff8_0000_0000_0000,
    0xfff8_0000_0000_0000,
    0x7ff8_0000_0000_0001,
    0x7ff4_0000_0000_0000,
    0x7ff0_0000_0000_0001,
    0xfff0_0000_0000_0001,
    0x7fff_ffff_ffff_ffff,
    0x0000_0000_0000_0001,
    0x000f_ffff_ffff_ffff,
    0x0010_0000_0000_0000,
    0x7fef_ffff_ffff_ffff,
    0x41e0_0000_0000_0000, // 2^31
    0xc1e0_0000_0000_0000, // -2^31
    0x41df_ffff_ffe0_0000, // 2^31 - 1
    0x41f0_0000_0000_0000, // 2^32
    0x43e0_0000_0000_0000, // 2^63
    0xc3e0_0000_0000_0000, // -2^63
    0x43f0_0000_0000_0000, // 2^64
    0xc1e0_0000_0020_0000, // -2^31 - 1
];

fn arg(ty: &str, edge: bool, rng: &mut Rng, funcs: &[String]) -> Arg {
    match ty {
        "i32" => Arg::I32(if edge { *rng.pick(I32_EDGES) } else { rng.next_u64() as i32 }),
        "i64" => Arg::I64(if edge { *rng.pick(I64_EDGES) } else { rng.next_u64() as i64 }),
        "f32" => Arg::F32(if edge { *rng.pick(F32_EDGES) } else { rng.next_u64() as u32 }),
        "f64" => Arg::F64(if edge { *rng.pick(F64_EDGES) } else { rng.next_u64() }),
        "funcref" if !funcs.is_empty() && rng.chance(2, 3) => Arg::FuncRef(Some(rng.pick(funcs).clone())),
        "funcref" => Arg::FuncRef(None),
        _ if rng.chance(2, 3) => Arg::ExternRef(Some(rng.below(4) as u32 + 1)),
        _ => Arg::ExternRef(None),
    }
}

fn zero(ty: &str) -> Arg {
    match ty {
        "i32" => Arg::I32(0),
        "i64" => Arg::I64(0),
        "f32" => Arg::F32(0),
        "f64" => Arg::F64(0),
        "funcref" => Arg::FuncRef(None),
        _ => Arg::ExternRef(None),
    }
}

/// The calls for one module: every exported function with [`ARG_SETS`] argument sets
/// (all zero, then edge values and random bits mixed), round robin, at most [`MAX_CALLS`].
/// Half of them run Fireball in random fuel slices; modules that terminate also get unmetered runs.
pub fn plan(funcs: &[ExportFn], plan_seed: u64, unmetered_ok: bool) -> Vec<Call> {
    let mut rng = Rng::new(plan_seed);
    let names: Vec<String> = funcs.iter().map(|f| f.name.clone()).collect();
    let mut calls = vec![];
    for set in 0..ARG_SETS {
        for f in funcs {
            if calls.len() == MAX_CALLS {
                return calls;
            }
            let args = if set == 0 {
                f.params.iter().map(|t| zero(t)).collect()
            } else {
                f.params.iter().map(|t| { let edge = rng.chance(2, 3); arg(t, edge, &mut rng, &names) }).collect()
            };
            let mode = if rng.chance(1, 2) {
                FbMode::Sliced { max: *rng.pick(&[1, 3, 16, 100, 1000]), seed: rng.next_u64() }
            } else if unmetered_ok && rng.chance(1, 3) {
                FbMode::Unmetered
            } else {
                FbMode::Whole
            };
            calls.push(Call { export: f.name.clone(), args, mode });
        }
    }
    calls
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report's `.wat` (wasmprinter) must parse back (wat) to a module both engines load
    /// the same way, custom page sizes and multiple memories included.
    #[test]
    fn printed_modules_parse_back() {
        let (mut pages, mut multi) = (0, 0);
        for i in 0..60 {
            let Ok((bytes, shape)) = generate(crate::rng::module_seed(7, i)) else { continue };
            let text = wasmprinter::print_bytes(&bytes).expect("print");
            pages += usize::from(text.contains("(pagesize"));
            multi += usize::from(text.matches("(memory (;").count() > 1);
            let back = wat::parse_str(&text).expect("parse back");
            let a = fireball_wasm::Module::new_in(&bytes, shape.features(), fireball_wasm::Global).map(|m| m.func_count());
            let b = fireball_wasm::Module::new_in(&back, shape.features(), fireball_wasm::Global).map(|m| m.func_count());
            assert_eq!(a, b, "module {i}");
        }
        assert!(pages > 0 && multi > 0, "the sample should use custom page sizes ({pages}) and multi-memory ({multi})");
    }

    #[test]
    fn plans_cover_every_export_with_zero_args_first() {
        let funcs = [ExportFn { name: "a".into(), params: vec!["i32", "f64"] }, ExportFn { name: "b".into(), params: vec!["funcref"] }];
        let p = plan(&funcs, 1, false);
        assert_eq!(p.len(), 2 * ARG_SETS);
        assert_eq!(p[0].args, vec![Arg::I32(0), Arg::F64(0)]);
        assert_eq!(p[1].args, vec![Arg::FuncRef(None)]);
        assert!(p.iter().all(|c| c.mode != FbMode::Unmetered));
        assert_eq!(plan(&funcs, 1, false).iter().map(|c| format!("{:?}", c.args)).collect::<Vec<_>>(),
                   p.iter().map(|c| format!("{:?}", c.args)).collect::<Vec<_>>(), "plans are deterministic");
    }
}
