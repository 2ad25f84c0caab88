//! The two engines behind one shape: load, instantiate (start function
//! included), call an export with planned arguments, read exported globals,
//! memories and tables. Every entry into an engine is wrapped in
//! `catch_unwind`: a panic is an outcome, not the end of the run.

use std::panic::{catch_unwind, AssertUnwindSafe};

use fireball_wasm as fb;
use wasmi::{AsContext, AsContextMut};

use crate::obs::{Arg, Fnv, Obs, Outcome, TrapKind};
use crate::rng::Rng;

/// Bytes of linear memory either engine backs (per memory); `memory.grow` past it returns -1 in both.
pub const MEMORY_LIMIT: u64 = 4 << 20;
/// Elements per table either engine allows; `table.grow` past it returns -1 in both.
pub const TABLE_LIMIT: u32 = 10_000;
/// Fireball's call depth (wasmi's default is 1000 as well).
pub const FRAMES: u32 = 1000;
/// Fireball's value stack, in 8-byte slots.
pub const VALUE_SLOTS: u32 = 128 * 1024;

/// Run `f`, turning a panic into `Err(message)`. The message is what the quiet panic hook saw.
pub fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    crate::panics::QUIET.with(|q| q.set(true));
    let r = catch_unwind(AssertUnwindSafe(f));
    crate::panics::QUIET.with(|q| q.set(false));
    // One line: it goes into `;;` comment headers.
    r.map_err(|_| crate::panics::LAST.with(|l| l.borrow().replace('\n', " / ")))
}

/// How Fireball runs one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FbMode {
    /// One `resume(store, fuel)`.
    Whole,
    /// `resume(store, k)` with `k` in `1..=max`, drawn from `seed`, until it leaves `OutOfFuel`.
    Sliced {
        /// Largest slice.
        max: u32,
        /// Seeds the slice sizes.
        seed: u64,
    },
    /// `run(store)`: no fuel at all (only for modules made to terminate).
    Unmetered,
}

impl std::fmt::Display for FbMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FbMode::Whole => f.write_str("resume(fuel) once"),
            FbMode::Sliced { max, seed } => write!(f, "resume(k) with random k in 1..={max} (slice seed {seed:#x})"),
            FbMode::Unmetered => f.write_str("run() (unmetered)"),
        }
    }
}

fn fb_ty(t: fb::ValType) -> &'static str {
    match t {
        fb::ValType::I32 => "i32",
        fb::ValType::I64 => "i64",
        fb::ValType::F32 => "f32",
        fb::ValType::F64 => "f64",
        fb::ValType::FuncRef => "funcref",
        fb::ValType::ExternRef => "externref",
    }
}

fn wi_ty(t: wasmi::ValType) -> &'static str {
    match t {
        wasmi::ValType::I32 => "i32",
        wasmi::ValType::I64 => "i64",
        wasmi::ValType::F32 => "f32",
        wasmi::ValType::F64 => "f64",
        wasmi::ValType::V128 => "v128",
        wasmi::ValType::FuncRef => "funcref",
        wasmi::ValType::ExternRef => "externref",
    }
}

/// "i32 i64 -> f32": a signature both engines spell the same way.
pub fn sig_string<'a>(params: impl Iterator<Item = &'a str>, results: impl Iterator<Item = &'a str>) -> String {
    let p: Vec<&str> = params.collect();
    let r: Vec<&str> = results.collect();
    format!("{} -> {}", p.join(" "), r.join(" "))
}

/// The type names of a Fireball function type (params, results).
pub fn fb_sig(ty: fb::FuncType<'_>) -> (Vec<&'static str>, Vec<&'static str>) {
    (ty.params.iter().map(|&t| fb_ty(t)).collect(), ty.results.iter().map(|&t| fb_ty(t)).collect())
}

// ---------------------------------------------------------------- host functions

/// The imports wasm-smith may use (`available_imports`), served alike by both engines (and
/// the node script). They exercise the host-call path: leaving the interpreter, arguments and
/// results crossing (NaN payloads included), a host failure, and tail calls into the host.
pub const HOST_IMPORTS: &str = r#"(module
  (import "env" "h0" (func (result i32)))
  (import "env" "h1" (func (param i32) (result i32)))
  (import "env" "h2" (func (param i64 i32) (result i64)))
  (import "env" "h3" (func (param f32 f64) (result f64 f32)))
  (import "env" "h4" (func (param i32)))
  (import "env" "h5" (func (param i32) (result i32))))"#;

/// The message of `h5`'s failure (so wasmi's error can be told from others).
pub const HOST_TRAP: &str = "fireball-diff host trap";

/// Host calls Fireball has made (and wasmi as many, or the calls would have diverged): for the summary.
pub static HOST_CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A host function failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostTrap;

/// Host state, one per instance: `h0` counts its calls, `h4` adds to the count.
#[derive(Clone, Copy, Debug, Default)]
pub struct Host {
    counter: i32,
}

impl Host {
    /// Serve host function `name`: its results, or `Err` if it fails.
    pub fn call(&mut self, name: &str, args: &[Obs]) -> Result<Vec<Obs>, HostTrap> {
        let i32_ = |i: usize| match args.get(i) {
            Some(Obs::I32(x)) => *x as i32,
            _ => 0,
        };
        Ok(match (name, args) {
            ("h0", _) => {
                self.counter = self.counter.wrapping_add(1);
                vec![Obs::I32(self.counter as u32)]
            }
            ("h1", _) => vec![Obs::I32((i32_(0) as u32).rotate_left(5) ^ 0x1234_5678)],
            ("h2", [Obs::I64(a), _]) => vec![Obs::I64((*a as i64).wrapping_mul(31).wrapping_add(i64::from(i32_(1))) as u64)],
            ("h3", [Obs::F32(f), Obs::F64(d)]) => vec![Obs::F64(*d), Obs::F32(*f)],
            ("h4", _) => {
                self.counter = self.counter.wrapping_add(i32_(0));
                vec![]
            }
            ("h5", _) if i32_(0) & 1 == 1 => return Err(HostTrap),
            ("h5", _) => vec![Obs::I32((i32_(0) / 2) as u32)],
            _ => return Err(HostTrap),
        })
    }
}

/// The host functions' signatures, for Fireball's store.
fn host_sigs() -> [(&'static str, &'static [fb::ValType], &'static [fb::ValType]); 6] {
    use fb::ValType::*;
    [
        ("h0", &[], &[I32]),
        ("h1", &[I32], &[I32]),
        ("h2", &[I64, I32], &[I64]),
        ("h3", &[F32, F64], &[F64, F32]),
        ("h4", &[I32], &[]),
        ("h5", &[I32], &[I32]),
    ]
}

// ---------------------------------------------------------------- Fireball

/// A Fireball instance and the thread that runs its calls.
pub struct Fireball<'m> {
    /// The store (the module's whole run-time state).
    pub store: fb::Store<'m>,
    /// The instance.
    pub inst: fb::Instance,
    /// One thread for every call of this module (reused, as a scheduler would).
    pub thread: fb::Thread,
    /// The host functions' state.
    pub host: Host,
}

/// Decode and validate.
pub fn fb_load(bytes: &[u8], features: fb::Features) -> Result<fb::Module<'_>, String> {
    match guarded(|| fb::Module::new_in(bytes, features, fb::Global)) {
        Ok(Ok(m)) => Ok(m),
        Ok(Err(e)) => Err(e.to_string()),
        Err(p) => Err(format!("PANIC: {p}")),
    }
}

/// Instantiate and run the start function, if any.
pub fn fb_instantiate<'m>(module: &'m fb::Module<'m>, fuel: u64) -> (Outcome, Option<Fireball<'m>>) {
    let r = guarded(|| -> (Outcome, Option<Fireball<'m>>) {
        let mut store = fb::Store::new(fb::HostLimits { max_memory_bytes: MEMORY_LIMIT, max_table_elems: TABLE_LIMIT });
        let mut hosts = vec![];
        for (id, (name, params, results)) in host_sigs().into_iter().enumerate() {
            if let Ok(f) = store.host_func(params, results, id as u32) {
                hosts.push((name, f));
            }
        }
        let resolve = |m: &str, n: &str, _: &fb::ImportDesc| {
            hosts.iter().find(|(h, _)| m == "env" && *h == n).map(|&(_, f)| fb::Extern::Func(f))
        };
        let inst = match store.instantiate(module, resolve) {
            Ok(i) => i,
            Err(fb::InstantiateError::SegmentOutOfBounds(code)) => return (Outcome::Trap(TrapKind::from_fireball(code)), None),
            Err(e) => return (Outcome::Trap(TrapKind::Other(format!("fireball instantiate: {e}"))), None),
        };
        let Ok(thread) = fb::Thread::new(fb::StackLimits { value_slots: VALUE_SLOTS, frames: FRAMES }) else {
            return (Outcome::Trap(TrapKind::Other("fireball: thread out of memory".into())), None);
        };
        let mut f = Fireball { store, inst, thread, host: Host::default() };
        if let Some(start) = f.store.start_func(inst) {
            let o = fb_run(&mut f, start, &[], FbMode::Whole, fuel);
            if o != Outcome::Values(vec![]) {
                return (o, None);
            }
        }
        (Outcome::Values(vec![]), Some(f))
    });
    r.unwrap_or_else(|p| (Outcome::Panic(p), None))
}

fn fb_obs(store: &fb::Store<'_>, v: fb::Value) -> Obs {
    match v {
        fb::Value::I32(x) => Obs::I32(x as u32),
        fb::Value::I64(x) => Obs::I64(x as u64),
        fb::Value::F32(b) => Obs::F32(b),
        fb::Value::F64(b) => Obs::F64(b),
        fb::Value::FuncRef(None) => Obs::Func(None),
        fb::Value::FuncRef(Some(a)) => {
            let (p, r) = fb_sig(store.func_type(fb::FuncAddr(a)));
            Obs::Func(Some(sig_string(p.into_iter(), r.into_iter())))
        }
        fb::Value::ExternRef(r) => Obs::Extern(r),
    }
}

/// The engine value for a planned argument.
pub fn fb_arg(f: &Fireball<'_>, a: &Arg) -> fb::Value {
    match a {
        Arg::I32(x) => fb::Value::I32(*x),
        Arg::I64(x) => fb::Value::I64(*x),
        Arg::F32(b) => fb::Value::F32(*b),
        Arg::F64(b) => fb::Value::F64(*b),
        Arg::FuncRef(n) => fb::Value::FuncRef(n.as_ref().and_then(|n| f.store.export_func(f.inst, n)).map(|a| a.0)),
        Arg::ExternRef(k) => fb::Value::ExternRef(*k),
    }
}

/// Call `func` and run it to its end (or the fuel budget) in `mode`.
pub fn fb_run(f: &mut Fireball<'_>, func: fb::FuncAddr, args: &[fb::Value], mode: FbMode, fuel: u64) -> Outcome {
    if let Err(e) = f.thread.invoke(&f.store, func, args) {
        return Outcome::Trap(TrapKind::Other(format!("fireball invoke: {e:?}")));
    }
    let mut rng = Rng::new(if let FbMode::Sliced { seed, .. } = mode { seed } else { 0 });
    let start = f.thread.instructions();
    loop {
        let used = f.thread.instructions() - start;
        let exit = match mode {
            FbMode::Whole if used >= fuel => fb::Exit::OutOfFuel,
            FbMode::Whole => f.thread.resume(&mut f.store, fuel - used),
            FbMode::Unmetered => f.thread.run(&mut f.store),
            FbMode::Sliced { max, .. } => {
                let k = 1 + rng.below(max as u64);
                match f.thread.resume(&mut f.store, k) {
                    fb::Exit::OutOfFuel if f.thread.instructions() - start < fuel => continue,
                    e => e,
                }
            }
        };
        return match exit {
            fb::Exit::Done => Outcome::Values(f.thread.results(&f.store).map(|v| fb_obs(&f.store, v)).collect()),
            fb::Exit::Trap(t) => Outcome::Trap(TrapKind::from_fireball(t.code)),
            fb::Exit::OutOfFuel => Outcome::OutOfFuel,
            fb::Exit::Breakpoint { offset } => Outcome::Trap(TrapKind::Other(format!("fireball stopped for a debugger at {offset:#x}"))),
            fb::Exit::HostCall { id, .. } => {
                HOST_CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let name = host_sigs().get(id as usize).map_or("?", |h| h.0);
                let args: Vec<Obs> = f.thread.host_args(&f.store).map(|v| fb_obs(&f.store, v)).collect();
                match f.host.call(name, &args) {
                    Ok(results) => {
                        let vals: Vec<fb::Value> = results.iter().map(obs_value).collect();
                        if let Err(e) = f.thread.host_return(&f.store, &vals) {
                            return Outcome::Trap(TrapKind::Other(format!("fireball host_return: {e:?}")));
                        }
                    }
                    Err(HostTrap) => f.thread.host_trap(),
                }
                continue;
            }
        };
    }
}

/// A host result as a Fireball value (host functions return numbers only).
fn obs_value(o: &Obs) -> fb::Value {
    match *o {
        Obs::I32(x) => fb::Value::I32(x as i32),
        Obs::I64(x) => fb::Value::I64(x as i64),
        Obs::F32(b) => fb::Value::F32(b),
        Obs::F64(b) => fb::Value::F64(b),
        Obs::Func(_) => fb::Value::FuncRef(None),
        Obs::Extern(r) => fb::Value::ExternRef(r),
    }
}

/// Call the export `name` (guarded).
pub fn fb_call(f: &mut Fireball<'_>, name: &str, args: &[Arg], mode: FbMode, fuel: u64) -> Outcome {
    let Some(func) = f.store.export_func(f.inst, name) else {
        return Outcome::Trap(TrapKind::Other(format!("fireball: no export {name:?}")));
    };
    let vals: Vec<fb::Value> = args.iter().map(|a| fb_arg(f, a)).collect();
    guarded(|| fb_run(f, func, &vals, mode, fuel)).unwrap_or_else(Outcome::Panic)
}

/// An exported global's value.
pub fn fb_global(f: &Fireball<'_>, name: &str) -> Option<Obs> {
    match f.store.export(f.inst, name)? {
        fb::Extern::Global(g) => f.store.global_get(g).map(|v| fb_obs(&f.store, v)),
        _ => None,
    }
}

/// An exported memory's bytes.
pub fn fb_memory<'s>(f: &'s Fireball<'_>, name: &str) -> &'s [u8] {
    match f.store.export(f.inst, name) {
        Some(fb::Extern::Memory(m)) => f.store.memory_data(m).unwrap_or(&[]),
        _ => &[],
    }
}

/// An exported table: size and a fingerprint of its elements.
pub fn fb_table(f: &Fireball<'_>, name: &str) -> (u32, u64) {
    let Some(fb::Extern::Table(t)) = f.store.export(f.inst, name) else { return (u32::MAX, 0) };
    let n = f.store.table_size(t).unwrap_or(0);
    let mut h = Fnv::default();
    for i in 0..n {
        match f.store.table_get(t, i) {
            Some(v) => fb_obs(&f.store, v).feed(&mut h),
            None => {
                h.write(&[0xff]);
            }
        }
    }
    (n, h.0)
}

// ---------------------------------------------------------------- wasmi

/// The oracle's configuration: the features Fireball supports, fuel on, eager translation
/// (so translator crashes show at load).
pub fn wasmi_engine() -> wasmi::Engine {
    let mut c = wasmi::Config::default();
    c.consume_fuel(true)
        .compilation_mode(wasmi::CompilationMode::Eager)
        .wasm_custom_page_sizes(true)
        .wasm_memory64(false)
        .wasm_wide_arithmetic(false)
        .wasm_multi_memory(true)
        .wasm_tail_call(true)
        .wasm_extended_const(true);
    wasmi::Engine::new(&c)
}

/// What a wasmi store carries: its limits and the host functions' state.
pub struct WiData {
    limits: wasmi::StoreLimits,
    host: Host,
}

/// A wasmi instance.
pub struct Wasmi {
    /// Its store.
    pub store: wasmi::Store<WiData>,
    /// The instance.
    pub inst: wasmi::Instance,
}

fn wi_host(c: &mut wasmi::Caller<'_, WiData>, name: &str, args: &[Obs]) -> Result<Vec<Obs>, wasmi::Error> {
    c.data_mut().host.call(name, args).map_err(|HostTrap| wasmi::Error::new(HOST_TRAP))
}

fn wi_i32(v: &[Obs]) -> Result<i32, wasmi::Error> {
    match v.first() {
        Some(Obs::I32(x)) => Ok(*x as i32),
        _ => Err(wasmi::Error::new("host: bad result")),
    }
}

fn wi_linker(engine: &wasmi::Engine) -> Result<wasmi::Linker<WiData>, wasmi::errors::LinkerError> {
    let mut l = wasmi::Linker::<WiData>::new(engine);
    l.func_wrap("env", "h0", |mut c: wasmi::Caller<'_, WiData>| wi_i32(&wi_host(&mut c, "h0", &[])?))?;
    l.func_wrap("env", "h1", |mut c: wasmi::Caller<'_, WiData>, x: i32| wi_i32(&wi_host(&mut c, "h1", &[Obs::I32(x as u32)])?))?;
    l.func_wrap("env", "h2", |mut c: wasmi::Caller<'_, WiData>, a: i64, b: i32| match wi_host(&mut c, "h2", &[Obs::I64(a as u64), Obs::I32(b as u32)])?[..] {
        [Obs::I64(r)] => Ok(r as i64),
        _ => Err(wasmi::Error::new("host: bad result")),
    })?;
    l.func_wrap("env", "h3", |mut c: wasmi::Caller<'_, WiData>, f: wasmi::F32, d: wasmi::F64| {
        match wi_host(&mut c, "h3", &[Obs::F32(f.to_bits()), Obs::F64(d.to_bits())])?[..] {
            [Obs::F64(a), Obs::F32(b)] => Ok((wasmi::F64::from_bits(a), wasmi::F32::from_bits(b))),
            _ => Err(wasmi::Error::new("host: bad result")),
        }
    })?;
    l.func_wrap("env", "h4", |mut c: wasmi::Caller<'_, WiData>, x: i32| wi_host(&mut c, "h4", &[Obs::I32(x as u32)]).map(|_| ()))?;
    l.func_wrap("env", "h5", |mut c: wasmi::Caller<'_, WiData>, x: i32| wi_i32(&wi_host(&mut c, "h5", &[Obs::I32(x as u32)])?))?;
    Ok(l)
}

/// Decode, validate and translate.
pub fn wi_load(engine: &wasmi::Engine, bytes: &[u8]) -> Result<wasmi::Module, String> {
    match guarded(|| wasmi::Module::new(engine, bytes)) {
        Ok(Ok(m)) => Ok(m),
        Ok(Err(e)) => Err(e.to_string()),
        Err(p) => Err(format!("PANIC: {p}")),
    }
}

fn wi_error(e: &wasmi::Error) -> Outcome {
    use wasmi::errors::{ErrorKind, InstantiationError};
    if e.to_string().contains(HOST_TRAP) {
        return Outcome::Trap(TrapKind::Host);
    }
    match e.as_trap_code() {
        Some(wasmi::TrapCode::OutOfFuel) => Outcome::OutOfFuel,
        Some(c) => Outcome::Trap(TrapKind::from_wasmi(c)),
        // An active element segment that does not fit is not a trap code in wasmi.
        None if matches!(e.kind(), ErrorKind::Instantiation(InstantiationError::ElementSegmentDoesNotFit { .. })) => {
            Outcome::Trap(TrapKind::TableOutOfBounds)
        }
        None => Outcome::Trap(TrapKind::Other(format!("wasmi: {e}"))),
    }
}

/// Instantiate and run the start function, if any.
pub fn wi_instantiate(engine: &wasmi::Engine, module: &wasmi::Module, fuel: u64) -> (Outcome, Option<Wasmi>) {
    let r = guarded(|| {
        let limits = wasmi::StoreLimitsBuilder::new()
            .memory_size(MEMORY_LIMIT as usize)
            .table_elements(TABLE_LIMIT as usize)
            .build();
        let mut store = wasmi::Store::new(engine, WiData { limits, host: Host::default() });
        store.limiter(|d| &mut d.limits);
        let _ = store.set_fuel(fuel);
        let linker = match wi_linker(engine) {
            Ok(l) => l,
            Err(e) => return (Outcome::Trap(TrapKind::Other(format!("wasmi linker: {e}"))), None),
        };
        match linker.instantiate_and_start(&mut store, module) {
            Ok(inst) => (Outcome::Values(vec![]), Some(Wasmi { store, inst })),
            Err(e) => (wi_error(&e), None),
        }
    });
    r.unwrap_or_else(|p| (Outcome::Panic(p), None))
}

fn wi_obs(store: impl AsContext, v: &wasmi::Val) -> Obs {
    match v {
        wasmi::Val::I32(x) => Obs::I32(*x as u32),
        wasmi::Val::I64(x) => Obs::I64(*x as u64),
        wasmi::Val::F32(x) => Obs::F32(x.to_bits()),
        wasmi::Val::F64(x) => Obs::F64(x.to_bits()),
        wasmi::Val::V128(_) => Obs::Func(Some("v128?".into())),
        wasmi::Val::FuncRef(r) => wi_func_obs(store, r.val()),
        wasmi::Val::ExternRef(r) => wi_extern_obs(store, r.val()),
    }
}

fn wi_func_obs(store: impl AsContext, f: Option<&wasmi::Func>) -> Obs {
    Obs::Func(f.map(|f| {
        let ty = f.ty(&store);
        sig_string(ty.params().iter().map(|&t| wi_ty(t)), ty.results().iter().map(|&t| wi_ty(t)))
    }))
}

fn wi_extern_obs(store: impl AsContext, e: Option<&wasmi::ExternRef>) -> Obs {
    Obs::Extern(e.map(|e| e.data(store.as_context()).downcast_ref::<u32>().copied().unwrap_or(u32::MAX)))
}

/// Call the export `name` (guarded), with `fuel` in the store.
pub fn wi_call(w: &mut Wasmi, name: &str, args: &[Arg], fuel: u64) -> Outcome {
    let r = guarded(|| {
        let Some(func) = w.inst.get_func(&w.store, name) else {
            return Outcome::Trap(TrapKind::Other(format!("wasmi: no export {name:?}")));
        };
        let vals: Vec<wasmi::Val> = args
            .iter()
            .map(|a| match a {
                Arg::I32(x) => wasmi::Val::I32(*x),
                Arg::I64(x) => wasmi::Val::I64(*x),
                Arg::F32(b) => wasmi::Val::F32(wasmi::F32::from_bits(*b)),
                Arg::F64(b) => wasmi::Val::F64(wasmi::F64::from_bits(*b)),
                Arg::FuncRef(n) => {
                    let f = n.as_ref().and_then(|n| w.inst.get_func(&w.store, n));
                    wasmi::Val::from(f.map_or(wasmi::Nullable::Null, wasmi::Nullable::Val))
                }
                Arg::ExternRef(k) => {
                    let e = k.map(|k| wasmi::ExternRef::new(w.store.as_context_mut(), k));
                    wasmi::Val::from(e.map_or(wasmi::Nullable::Null, wasmi::Nullable::Val))
                }
            })
            .collect();
        let ty = func.ty(&w.store);
        let mut results: Vec<wasmi::Val> = ty.results().iter().map(|&t| wasmi::Val::default_for_ty(t)).collect();
        let _ = w.store.set_fuel(fuel);
        match func.call(&mut w.store, &vals, &mut results) {
            Ok(()) => Outcome::Values(results.iter().map(|v| wi_obs(&w.store, v)).collect()),
            Err(e) => wi_error(&e),
        }
    });
    r.unwrap_or_else(Outcome::Panic)
}

/// An exported global's value.
pub fn wi_global(w: &Wasmi, name: &str) -> Option<Obs> {
    let g = w.inst.get_global(&w.store, name)?;
    Some(wi_obs(&w.store, &g.get(&w.store)))
}

/// An exported memory's bytes.
pub fn wi_memory<'s>(w: &'s Wasmi, name: &str) -> &'s [u8] {
    match w.inst.get_memory(&w.store, name) {
        Some(m) => m.data(&w.store),
        None => &[],
    }
}

/// An exported table: size and a fingerprint of its elements.
pub fn wi_table(w: &Wasmi, name: &str) -> (u32, u64) {
    let Some(t) = w.inst.get_table(&w.store, name) else { return (u32::MAX, 0) };
    let n = t.size(&w.store);
    let mut h = Fnv::default();
    for i in 0..n {
        match t.get(&w.store, i) {
            Some(wasmi::Ref::Func(f)) => wi_func_obs(&w.store, f.val()).feed(&mut h),
            Some(wasmi::Ref::Extern(e)) => wi_extern_obs(&w.store, e.val()).feed(&mut h),
            None => {
                h.write(&[0xff]);
            }
        }
    }
    (n as u32, h.0)
}
