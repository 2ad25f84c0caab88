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
    /// Which instruction kinds wasm-smith may use (swarm testing).
    pub focus: Focus,
    /// wasm-smith may import the host functions of [`crate::engines::HOST_IMPORTS`].
    pub imports: bool,
    /// Not wasm-smith but [`template`]: one exported function per bulk-memory, table,
    /// load/store and grow instruction, operands from the arguments.
    pub template: bool,
}

/// Instruction kinds a module is generated from. wasm-smith only picks an instruction whose
/// operands are on the stack, so with every kind allowed, instructions that take three `i32`s
/// (`memory.copy/fill/init`, `table.copy/init/fill`) are rare; restricting the kinds makes
/// them common.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    /// Every kind.
    All,
    /// Integer arithmetic, locals/globals, memory (bulk included), control.
    Memory,
    /// Integer arithmetic, locals/globals, tables and references, control.
    Table,
    /// Integer arithmetic and control only (plus integer loads/stores).
    Int,
}

impl Focus {
    fn word(self) -> &'static str {
        match self {
            Focus::All => "all-instructions",
            Focus::Memory => "memory-focus",
            Focus::Table => "table-focus",
            Focus::Int => "int-focus",
        }
    }

    fn kinds(self) -> wasm_smith::InstructionKinds {
        use wasm_smith::InstructionKind as K;
        let base = [K::NumericInt, K::Variable, K::Control, K::Parametric];
        let extra: &[K] = match self {
            Focus::All => return wasm_smith::InstructionKinds::all(),
            Focus::Memory => &[K::Memory],
            Focus::Table => &[K::Table, K::Reference],
            Focus::Int => &[K::MemoryInt],
        };
        let kinds: Vec<K> = base.iter().chain(extra).copied().collect();
        wasm_smith::InstructionKinds::new(&kinds)
    }
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
        if self.imports {
            v.push("imports");
        }
        if self.template {
            v.push("template");
        } else {
            v.push(self.focus.word());
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
            focus: [Focus::Memory, Focus::Table, Focus::Int].into_iter().find(|f| has(f.word())).unwrap_or(Focus::All),
            imports: has("imports"),
            template: has("template"),
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
        min_memories: if shape.multi_memory { 2 } else { 0 },
        allowed_instructions: shape.focus.kinds(),
        max_tables: 3,
        max_imports: if shape.imports { 6 } else { 0 },
        available_imports: shape.imports.then(|| wat::parse_str(crate::engines::HOST_IMPORTS).expect("the host imports parse")),
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
        focus: *rng.pick(&[Focus::All, Focus::All, Focus::All, Focus::Memory, Focus::Table, Focus::Int]),
        imports: rng.chance(1, 2),
        template: rng.chance(1, 16),
    };
    if shape.template {
        let text = template(&shape, &mut rng);
        return wat::parse_str(&text).map(|b| (b, shape)).map_err(|e| format!("template: {e}\n{text}"));
    }
    let cfg = config(&shape, &mut rng);
    let len = 64 + rng.below(16 * 1024) as usize;
    let data: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
    let mut u = arbitrary::Unstructured::new(&data);
    let mut m = wasm_smith::Module::new(cfg, &mut u).map_err(|e| e.to_string())?;
    if shape.terminates {
        m.ensure_termination(20_000).map_err(|e| e.to_string())?;
    }
    Ok((avoid_wasmi_select_bug(m.to_bytes()), shape))
}

/// wasmi 2.0.0 miscompiles a `select` whose condition is `i32.eqz`/`ref.is_null` of a local
/// (known bug (b): it returns the first operand regardless), and wasm-smith's trap guards
/// (`disallow_traps`: `local.get d; local.get d; i32.eqz; select` before every division) emit
/// exactly that, so most such modules would end at their first division by zero. Masking the
/// condition with `i32.const 1; i32.and` changes nothing for a correct engine and keeps
/// wasmi off its wrong path. Both engines run the rewritten module; reports print it.
pub fn avoid_wasmi_select_bug(bytes: Vec<u8>) -> Vec<u8> {
    let Ok(text) = wasmprinter::print_bytes(&bytes) else { return bytes };
    let lines: Vec<&str> = text.lines().collect();
    let is_cond = |l: &str| matches!(l.trim(), "i32.eqz" | "ref.is_null");
    let is_select = |l: &str| l.trim() == "select" || l.trim().starts_with("select ");
    if !lines.windows(2).any(|w| is_cond(w[0]) && is_select(w[1])) {
        return bytes;
    }
    let mut out = String::with_capacity(text.len() + 1024);
    for (i, l) in lines.iter().enumerate() {
        out.push_str(l);
        out.push('\n');
        if is_cond(l) && lines.get(i + 1).is_some_and(|n| is_select(n)) {
            let indent = &l[..l.len() - l.trim_start().len()];
            out.push_str(&format!("{indent}i32.const 1\n{indent}i32.and\n"));
        }
    }
    wat::parse_str(&out).unwrap_or(bytes)
}

/// A module of single-instruction exports over a random memory/table layout: every bulk
/// memory and table instruction, loads and stores of each width with random static offsets,
/// `memory.grow`/`table.grow`, `call_indirect` and `return_call_indirect`, passive and active
/// segments (an active one sometimes out of bounds, so instantiation traps). The arguments —
/// edge values and the layout's own sizes ± a few, see [`hints`] — do the rest. wasm-smith
/// rarely emits these instructions (they need three `i32`s on its random stack).
pub fn template(shape: &Shape, rng: &mut Rng) -> String {
    let mut w = String::from("(module\n  (type $ri (func (result i32)))\n  (type $ii (func (param i32) (result i32)))\n");
    let mems = if shape.multi_memory { 2 + rng.below(2) as usize } else { 1 };
    let mut sizes = vec![];
    for m in 0..mems {
        let small = shape.custom_pages && rng.chance(1, 2);
        let (min, max) = if small {
            let min = *rng.pick(&[0, 1, 7, 64, 1000, 65536, 70000]) + rng.below(3);
            (min, rng.chance(1, 2).then(|| min + rng.below(5000)))
        } else {
            let min = rng.below(3);
            (min, rng.chance(1, 2).then(|| min + rng.below(4)))
        };
        sizes.push(if small { min } else { min << 16 });
        let max = max.map_or(String::new(), |x| format!(" {x}"));
        let page = if small { " (pagesize 1)" } else if shape.custom_pages && rng.chance(1, 2) { " (pagesize 65536)" } else { "" };
        w += &format!("  (memory $m{m} (export \"mem{m}\") {min}{max}{page})\n");
    }
    let data = |rng: &mut Rng| -> String { (0..rng.below(24)).map(|_| format!("\\{:02x}", rng.next_u64() as u8)).collect() };
    for d in 0..2 {
        w += &format!("  (data $d{d} \"{}\")\n", data(rng));
    }
    // The active segments fit, except one time in eight (then instantiation traps, alike).
    let m = rng.below(mems as u64) as usize;
    let bytes = data(rng);
    let len = bytes.len() as u64 / 3;
    let (bytes, len) = if sizes[m] < len { (String::new(), 0) } else { (bytes, len) };
    let off = if rng.chance(1, 8) { sizes[m] + 1 + rng.below(100) - len.min(1) } else { rng.below((sizes[m] - len).min(64) + 1) };
    w += &format!("  (data $d2 (memory $m{m}) (i32.const {off}) \"{bytes}\")\n");
    let tmin = |rng: &mut Rng| rng.below(6);
    let tmax = |rng: &mut Rng, min: u64| if rng.chance(1, 2) { format!(" {}", min + rng.below(6)) } else { String::new() };
    let a = if rng.chance(1, 8) { rng.below(2) } else { 2 + rng.below(5) };
    let (b, c) = (tmin(rng), tmin(rng));
    w += &format!("  (table $t0 (export \"tab0\") {a}{} funcref)\n", tmax(rng, a));
    w += &format!("  (table $t1 (export \"tab1\") {b}{} funcref)\n", tmax(rng, b));
    w += &format!("  (table $t2 (export \"tab2\") {c}{} externref)\n", tmax(rng, c));
    for k in 0..4 {
        w += &format!("  (func $k{k} (type $ri) i32.const {})\n", k * 11 + 1);
    }
    w += "  (func $k4 (type $ii) local.get 0)\n";
    let funcs: Vec<String> = (0..rng.below(7)).map(|_| format!("$k{}", rng.below(5))).collect();
    w += &format!("  (elem $e0 func {})\n", funcs.join(" "));
    w += &format!("  (elem $e1 funcref (ref.null func) (ref.func $k{}))\n", rng.below(5));
    let eoff = if a >= 2 { rng.below(a - 1) } else { 0 };
    w += &format!("  (elem $e2 (table $t0) (i32.const {eoff}) func $k0 $k1)\n");
    w += "  (elem declare func $k0 $k1 $k2 $k3 $k4)\n";
    let mut n = 0;
    let mut f = |w: &mut String, sig: &str, body: String| {
        *w += &format!("  (func (export \"{n}\") {sig}\n    {body})\n");
        n += 1;
    };
    let mem = |rng: &mut Rng| format!("$m{}", rng.below(mems as u64));
    let p3 = "(param i32 i32 i32)";
    let get3 = "local.get 0 local.get 1 local.get 2";
    for _ in 0..2 {
        f(&mut w, p3, format!("{get3} memory.copy {} {}", mem(rng), mem(rng)));
        f(&mut w, p3, format!("{get3} memory.fill {}", mem(rng)));
        f(&mut w, p3, format!("{get3} memory.init {} $d{}", mem(rng), rng.below(3)));
    }
    f(&mut w, "", format!("data.drop $d{}", rng.below(3)));
    for _ in 0..2 {
        f(&mut w, "(param i32) (result i32)", format!("local.get 0 memory.grow {}", mem(rng)));
        f(&mut w, "(result i32)", format!("memory.size {}", mem(rng)));
    }
    let loads = [
        ("i32.load8_s", "i32", 0), ("i32.load8_u", "i32", 0), ("i32.load16_s", "i32", 1), ("i32.load16_u", "i32", 1),
        ("i32.load", "i32", 2), ("i64.load8_u", "i64", 0), ("i64.load16_s", "i64", 1), ("i64.load32_s", "i64", 2),
        ("i64.load32_u", "i64", 2), ("i64.load", "i64", 3), ("f32.load", "f32", 2), ("f64.load", "f64", 3),
    ];
    let offset = |rng: &mut Rng| *rng.pick(&[0u64, 0, 1, 3, 8, 255, 65535, 65536, 0x7fff_ffff, 0xffff_ffff]);
    for _ in 0..6 {
        let (op, ty, align) = *rng.pick(&loads);
        let (o, al) = (offset(rng), 1u64 << rng.below(align + 1));
        f(&mut w, &format!("(param i32) (result {ty})"), format!("local.get 0 {op} {} offset={o} align={al}", mem(rng)));
        let sop = op.replace("load", "store").replace("_s", "").replace("_u", "");
        let (o, al) = (offset(rng), 1u64 << rng.below(align + 1));
        f(&mut w, &format!("(param i32 {ty})"), format!("local.get 0 local.get 1 {sop} {} offset={o} align={al}", mem(rng)));
    }
    f(&mut w, p3, format!("{get3} table.copy $t{} $t{}", rng.below(2), rng.below(2)));
    f(&mut w, p3, format!("{get3} table.init $t{} $e{}", rng.below(2), rng.below(3)));
    f(&mut w, "", format!("elem.drop $e{}", rng.below(3)));
    f(&mut w, "(param i32 funcref i32)", format!("{get3} table.fill $t{}", rng.below(2)));
    f(&mut w, "(param i32 externref i32)", format!("{get3} table.fill $t2"));
    f(&mut w, "(param funcref i32) (result i32)", format!("local.get 0 local.get 1 table.grow $t{}", rng.below(2)));
    f(&mut w, "(param externref i32) (result i32)", "local.get 0 local.get 1 table.grow $t2".into());
    f(&mut w, "(result i32)", format!("table.size $t{}", rng.below(3)));
    f(&mut w, "(param i32) (result funcref)", format!("local.get 0 table.get $t{}", rng.below(2)));
    f(&mut w, "(param i32) (result externref)", "local.get 0 table.get $t2".into());
    f(&mut w, "(param i32 funcref)", format!("local.get 0 local.get 1 table.set $t{}", rng.below(2)));
    f(&mut w, "(param i32 externref)", "local.get 0 local.get 1 table.set $t2".into());
    f(&mut w, "(param i32) (result i32)", format!("local.get 0 call_indirect $t{} (type $ri)", rng.below(2)));
    f(&mut w, "(param i32 i32) (result i32)", format!("local.get 1 local.get 0 call_indirect $t{} (type $ii)", rng.below(2)));
    f(&mut w, "(param i32) (result i32)", format!("local.get 0 return_call_indirect $t{} (type $ri)", rng.below(2)));
    f(&mut w, "(param funcref) (result i32)", "local.get 0 ref.is_null".into());
    w.push_str(")\n");
    w
}

/// Values an `i32` argument should often take for this module: its memories' sizes in bytes
/// and pages, its tables' sizes, each ± a little (bounds checks live there).
pub fn hints(m: &fireball_wasm::Module<'_>) -> Vec<i32> {
    let mut h = vec![];
    for t in m.memories() {
        let bytes = t.limits.min << t.page_size_log2;
        h.extend([bytes as i32, t.limits.min as i32]);
        if let Some(max) = t.limits.max {
            h.push(max as i32);
        }
    }
    for t in m.tables() {
        h.push(t.limits.min as i32);
    }
    h
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
/// (all zero, then edge values, values near the module's sizes ([`hints`]) and random bits
/// mixed), round robin, at most [`MAX_CALLS`] (templates: five sets, no cap). Half of them run
/// Fireball in random fuel slices; modules that terminate (and templates) also get unmetered runs.
pub fn plan(funcs: &[ExportFn], plan_seed: u64, shape: &Shape, hints: &[i32]) -> Vec<Call> {
    let mut rng = Rng::new(plan_seed);
    let unmetered_ok = shape.terminates || shape.template;
    let (sets, max_calls) = if shape.template { (5, 5 * funcs.len()) } else { (ARG_SETS, MAX_CALLS) };
    let names: Vec<String> = funcs.iter().map(|f| f.name.clone()).collect();
    let mut calls = vec![];
    for set in 0..sets {
        for f in funcs {
            if calls.len() == max_calls {
                return calls;
            }
            let args = if set == 0 {
                f.params.iter().map(|t| zero(t)).collect()
            } else {
                f.params
                    .iter()
                    .map(|t| {
                        if *t == "i32" && !hints.is_empty() && rng.chance(1, 3) {
                            // Near a size: the module's bounds.
                            Arg::I32(rng.pick(hints).wrapping_add(rng.below(17) as i32 - 8))
                        } else if *t == "i32" && shape.template && rng.chance(1, 3) {
                            Arg::I32(rng.below(300) as i32)
                        } else {
                            let edge = rng.chance(2, 3);
                            arg(t, edge, &mut rng, &names)
                        }
                    })
                    .collect()
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

    /// How often the interesting instructions appear in generated modules:
    /// `cargo test -p fireball-diff --release --lib census -- --ignored --nocapture`.
    #[test]
    #[ignore = "a report, not a check"]
    fn census() {
        let ops = [
            "return_call ", "return_call_indirect", "call_indirect", "br_table", "memory.grow", "memory.copy", "memory.fill",
            "memory.init", "data.drop", "table.grow", "table.copy", "table.init", "elem.drop", "table.fill", "ref.func",
            "select (result", "i64.extend32_s", "trunc_sat", "(pagesize", "if (type", "block (type", "loop (type",
            "f64.promote_f32", "i32.const 1\n", "global.set", "(import \"env\"",
        ];
        let mut counts = vec![0usize; ops.len()];
        let (mut n, mut multi) = (0, 0);
        for i in 0..2000 {
            let Ok((bytes, _)) = generate(crate::rng::module_seed(11, i)) else { continue };
            let text = wasmprinter::print_bytes(&bytes).expect("print");
            n += 1;
            multi += usize::from(text.matches("(memory (;").count() > 1);
            for (c, op) in counts.iter_mut().zip(ops) {
                *c += usize::from(text.contains(op));
            }
        }
        println!("{n} modules, {multi} with several memories; modules containing:");
        for (c, op) in counts.iter().zip(ops) {
            println!("  {:>5}  {}", c, op.trim());
        }
    }

    #[test]
    fn plans_cover_every_export_with_zero_args_first() {
        let funcs = [ExportFn { name: "a".into(), params: vec!["i32", "f64"] }, ExportFn { name: "b".into(), params: vec!["funcref"] }];
        let shape = Shape { no_traps: false, terminates: false, multi_memory: false, custom_pages: false, focus: Focus::All, imports: false, template: false };
        let p = plan(&funcs, 1, &shape, &[]);
        assert_eq!(p.len(), 2 * ARG_SETS);
        assert_eq!(p[0].args, vec![Arg::I32(0), Arg::F64(0)]);
        assert_eq!(p[1].args, vec![Arg::FuncRef(None)]);
        assert!(p.iter().all(|c| c.mode != FbMode::Unmetered));
        assert_eq!(plan(&funcs, 1, &shape, &[]).iter().map(|c| format!("{:?}", c.args)).collect::<Vec<_>>(),
                   p.iter().map(|c| format!("{:?}", c.args)).collect::<Vec<_>>(), "plans are deterministic");
    }
}
