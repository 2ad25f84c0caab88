//! A `.wast` script runner over fireball-wasm: every directive of the spec
//! testsuite (modules, register, invoke, assert_return/trap/exhaustion/
//! malformed/invalid/unlinkable) checked against the engine. Calls run in
//! small fuel slices, so every assertion also exercises suspend/resume.

use std::collections::HashMap;

use fireball_wasm::{
    Exit, Extern, Features, FuncAddr, GlobalType, HostLimits, ImportDesc, Instance, Limits, MemoryType, Module, StackLimits, Store,
    TableType, Thread, TrapCode, ValType, Value,
};
use wast::core::{AbstractHeapType, HeapType, NanPattern, WastArgCore, WastRetCore};
use wast::{QuoteWat, WastArg, WastDirective, WastExecute, WastInvoke, WastRet, Wat};

/// Fuel per resume: a prime, so slices end at varied instructions.
const SLICE: u64 = 997;

/// Outcome of one `.wast` file.
#[derive(Debug, Default)]
pub struct FileResult {
    /// Assertions (and commands) that behaved as the script says.
    pub passed: usize,
    /// Those that did not.
    pub failed: usize,
    /// One line per failure: line number and what happened.
    pub failures: Vec<String>,
    /// Function-code bytes of the modules that loaded.
    pub code_bytes: usize,
    /// Side-table bytes built for them (function headers and overflow records included).
    pub side_bytes: usize,
}

thread_local! {
    static LOADED: std::cell::Cell<(usize, usize)> = const { std::cell::Cell::new((0, 0)) };
}

enum Outcome {
    Values(Vec<Value>),
    Trap(TrapCode),
}

struct Runner {
    store: Store<'static>,
    thread: Thread,
    current: Option<Instance>,
    named: HashMap<String, Instance>,
    registered: HashMap<String, Instance>,
    definitions: HashMap<String, &'static Module<'static>>,
    spectest: HashMap<&'static str, Extern>,
    features: Features,
}

fn leak_module(bytes: Vec<u8>, features: Features) -> Result<&'static Module<'static>, String> {
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    let m = Module::new_in(bytes, features, fireball_wasm::Global).map_err(|e| e.to_string())?;
    check_packed(&m, features)?;
    LOADED.with(|c| {
        let (code, side) = c.get();
        c.set((code + m.code_bytes(), side + m.side_bytes()));
    });
    Ok(&*Box::leak(Box::new(m)))
}

/// Every module that loads also loads packed, with the same side table, and a
/// packed copy with one side-table bit flipped is refused.
fn check_packed(m: &Module<'static>, features: Features) -> Result<(), String> {
    let mut packed = Vec::new();
    m.write_packed(|c| packed.extend_from_slice(c));
    let p = Module::from_packed_in(&packed, features, fireball_wasm::Global).map_err(|e| format!("packed: {e}"))?;
    if p.side_table() != m.side_table() || p.metadata_bytes() > m.metadata_bytes() {
        return Err("packed module differs from the plain one".into());
    }
    // SAFETY: `packed` was just written by `write_packed` of `m`, a module that loaded
    // with these features: what the prevalidated loader requires.
    let pre = unsafe { fireball_wasm::Prevalidated::new(&packed) };
    let u = Module::from_prevalidated_in(pre, features, fireball_wasm::Global).map_err(|e| format!("packed, prevalidated: {e}"))?;
    if u.side_table() != m.side_table() || (0..=m.func_count()).any(|i| u.func_info(i) != m.func_info(i)) {
        return Err("module loaded prevalidated differs from the plain one".into());
    }
    let (side, _) = m.side_table();
    if !side.is_empty() {
        let at = fireball_wasm::pack::HEADER_BYTES + ((m.bytes().len() + 7) & !7) + side.len() / 2;
        packed[at] ^= 0x10;
        // Re-hash so the forged table reaches the validator's check.
        let h = fireball_wasm::pack::hash([&packed[fireball_wasm::pack::HEADER_BYTES..]]);
        packed[24..32].copy_from_slice(&h.to_le_bytes());
        match Module::from_packed_in(&packed, features, fireball_wasm::Global) {
            Err(fireball_wasm::LoadError::SideTable { .. }) => {}
            Err(e) => return Err(format!("forged packed table refused for the wrong reason: {e}")),
            Ok(_) => return Err("forged packed side table accepted".into()),
        }
    }
    Ok(())
}

impl Runner {
    fn new(features: Features) -> Self {
        let mut store = Store::new(HostLimits::default());
        let mut spectest = HashMap::new();
        let mut host = |name: &'static str, params: &[ValType], store: &mut Store<'static>| {
            let f = store.host_func(params, &[], 0).expect("host func");
            spectest.insert(name, Extern::Func(f));
        };
        use ValType::*;
        host("print", &[], &mut store);
        host("print_i32", &[I32], &mut store);
        host("print_i64", &[I64], &mut store);
        host("print_f32", &[F32], &mut store);
        host("print_f64", &[F64], &mut store);
        host("print_i32_f32", &[I32, F32], &mut store);
        host("print_f64_f64", &[F64, F64], &mut store);
        let g = |store: &mut Store<'static>, ty, v| store.global(GlobalType { ty, mutable: false }, v).expect("global");
        spectest.insert("global_i32", Extern::Global(g(&mut store, I32, Value::I32(666))));
        spectest.insert("global_i64", Extern::Global(g(&mut store, I64, Value::I64(666))));
        spectest.insert("global_f32", Extern::Global(g(&mut store, F32, Value::F32(666.6f32.to_bits()))));
        spectest.insert("global_f64", Extern::Global(g(&mut store, F64, Value::F64(666.6f64.to_bits()))));
        let t = store.table(TableType { elem: FuncRef, limits: Limits { min: 10, max: Some(20) } }).expect("table");
        spectest.insert("table", Extern::Table(t));
        let m = store
            .memory(MemoryType { limits: Limits { min: 1, max: Some(2) }, page_size_log2: 16 })
            .expect("memory");
        spectest.insert("memory", Extern::Memory(m));
        Runner {
            store,
            thread: Thread::new(StackLimits { value_slots: 64 * 1024, frames: 1000 }).expect("thread"),
            current: None,
            named: HashMap::new(),
            registered: HashMap::new(),
            definitions: HashMap::new(),
            spectest,
            features,
        }
    }

    /// Resolve a module's imports against `spectest` and the registered instances.
    fn imports(&self, module: &Module<'static>) -> HashMap<(String, String), Extern> {
        let mut map = HashMap::new();
        for (m, n, _) in module.imports() {
            let e = if m == "spectest" {
                self.spectest.get(n).copied()
            } else {
                self.registered.get(m).and_then(|&inst| self.store.export(inst, n))
            };
            if let Some(e) = e {
                map.insert((m.to_string(), n.to_string()), e);
            }
        }
        map
    }

    fn instantiate(&mut self, module: &'static Module<'static>) -> Result<Instance, String> {
        let map = self.imports(module);
        let inst = self
            .store
            .instantiate(module, |m, n, _d: &ImportDesc| map.get(&(m.to_string(), n.to_string())).copied())
            .map_err(|e| format!("instantiate: {e}"))?;
        if let Some(start) = self.store.start_func(inst) {
            match self.call(start, &[])? {
                Outcome::Trap(t) => return Err(format!("start trapped: {t}")),
                Outcome::Values(_) => {}
            }
        }
        Ok(inst)
    }

    fn call(&mut self, f: FuncAddr, args: &[Value]) -> Result<Outcome, String> {
        self.thread.invoke(&self.store, f, args).map_err(|e| format!("invoke: {e:?}"))?;
        loop {
            match self.thread.resume(&mut self.store, SLICE) {
                Exit::Done => return Ok(Outcome::Values(self.thread.results(&self.store).collect())),
                Exit::Trap(t) => return Ok(Outcome::Trap(t.code)),
                Exit::OutOfFuel => continue,
                Exit::Breakpoint { offset } => return Err(format!("stopped for a debugger at {offset:#x} with no breakpoint set")),
                Exit::HostCall { .. } => {
                    // spectest.print*: no results.
                    self.thread.host_return(&self.store, &[]).map_err(|e| format!("host_return: {e:?}"))?;
                }
            }
        }
    }

    fn instance(&self, id: Option<wast::token::Id<'_>>) -> Result<Instance, String> {
        match id {
            Some(id) => self.named.get(id.name()).copied().ok_or_else(|| format!("unknown module ${}", id.name())),
            None => self.current.ok_or_else(|| "no current module".to_string()),
        }
    }

    fn invoke(&mut self, inv: &WastInvoke<'_>) -> Result<Outcome, String> {
        let inst = self.instance(inv.module)?;
        let f = self.store.export_func(inst, inv.name).ok_or_else(|| format!("no export {}", inv.name))?;
        let args = inv.args.iter().map(arg).collect::<Result<Vec<_>, _>>()?;
        self.call(f, &args)
    }

    fn execute(&mut self, exec: &mut WastExecute<'_>) -> Result<Outcome, String> {
        match exec {
            WastExecute::Invoke(inv) => self.invoke(inv),
            WastExecute::Wat(wat) => {
                let bytes = wat.encode().map_err(|e| e.to_string())?;
                let m = leak_module(bytes, self.features)?;
                self.instantiate_trapping(m)
            }
            WastExecute::Get { module, global, .. } => {
                let inst = self.instance(*module)?;
                match self.store.export(inst, global) {
                    Some(Extern::Global(g)) => Ok(Outcome::Values(vec![self.store.global_get(g).ok_or("bad global")?])),
                    _ => Err(format!("no global export {global}")),
                }
            }
        }
    }

    /// Instantiate for `assert_trap (module ...)`: a segment or start trap becomes the outcome.
    fn instantiate_trapping(&mut self, m: &'static Module<'static>) -> Result<Outcome, String> {
        let map = self.imports(m);
        let r = self.store.instantiate(m, |mm, n, _| map.get(&(mm.to_string(), n.to_string())).copied());
        match r {
            Err(fireball_wasm::InstantiateError::SegmentOutOfBounds(t)) => Ok(Outcome::Trap(t)),
            Err(e) => Err(format!("instantiate: {e}")),
            Ok(inst) => match self.store.start_func(inst) {
                Some(s) => self.call(s, &[]),
                None => Ok(Outcome::Values(vec![])),
            },
        }
    }

    fn directive(&mut self, d: WastDirective<'_>) -> Result<(), String> {
        match d {
            WastDirective::Module(mut qw) => {
                let name = qw.name().map(|i| i.name().to_string());
                let bytes = qw.encode().map_err(|e| e.to_string())?;
                let m = leak_module(bytes, self.features)?;
                let inst = self.instantiate(m)?;
                self.current = Some(inst);
                if let Some(n) = name {
                    self.named.insert(n, inst);
                }
                Ok(())
            }
            WastDirective::ModuleDefinition(mut qw) => {
                let name = qw.name().map(|i| i.name().to_string());
                let bytes = qw.encode().map_err(|e| e.to_string())?;
                let m = leak_module(bytes, self.features)?;
                if let Some(n) = name {
                    self.definitions.insert(n, m);
                }
                Ok(())
            }
            WastDirective::ModuleInstance { instance, module, .. } => {
                let m = module
                    .and_then(|id| self.definitions.get(id.name()).copied())
                    .ok_or("unknown module definition")?;
                let inst = self.instantiate(m)?;
                self.current = Some(inst);
                if let Some(n) = instance {
                    self.named.insert(n.name().to_string(), inst);
                }
                Ok(())
            }
            WastDirective::Register { name, module, .. } => {
                let inst = self.instance(module)?;
                self.registered.insert(name.to_string(), inst);
                Ok(())
            }
            WastDirective::Invoke(inv) => match self.invoke(&inv)? {
                Outcome::Values(_) => Ok(()),
                Outcome::Trap(t) => Err(format!("invoke trapped: {t}")),
            },
            WastDirective::AssertReturn { mut exec, results, .. } => match self.execute(&mut exec)? {
                Outcome::Values(got) => {
                    if got.len() != results.len() {
                        return Err(format!("expected {} results, got {got:?}", results.len()));
                    }
                    for (g, e) in got.iter().zip(&results) {
                        if !ret_matches(g, e)? {
                            return Err(format!("got {got:?}, expected {results:?}"));
                        }
                    }
                    Ok(())
                }
                Outcome::Trap(t) => Err(format!("unexpected trap: {t}")),
            },
            WastDirective::AssertTrap { mut exec, message, .. } => match self.execute(&mut exec) {
                Ok(Outcome::Trap(t)) if trap_matches(t, message) => Ok(()),
                Ok(Outcome::Trap(t)) => Err(format!("trapped with '{t}', expected '{message}'")),
                Ok(Outcome::Values(v)) => Err(format!("expected trap '{message}', got {v:?}")),
                Err(e) => Err(e),
            },
            WastDirective::AssertExhaustion { call, message, .. } => match self.invoke(&call)? {
                Outcome::Trap(t) if t.is_exhaustion() => Ok(()),
                Outcome::Trap(t) => Err(format!("trapped with '{t}', expected '{message}'")),
                Outcome::Values(v) => Err(format!("expected exhaustion, got {v:?}")),
            },
            WastDirective::AssertMalformed { module, .. } | WastDirective::AssertInvalid { module, .. } => {
                let mut module = module;
                let text_only = matches!(module, QuoteWat::QuoteModule(..));
                match module.encode() {
                    Err(_) => Ok(()), // rejected by the text parser: nothing to feed the engine
                    Ok(bytes) => match leak_module(bytes, self.features) {
                        Err(_) => Ok(()),
                        Ok(_) if text_only => Err("quoted module accepted".into()),
                        Ok(_) => Err("module accepted".into()),
                    },
                }
            }
            WastDirective::AssertUnlinkable { module, .. } => {
                let mut module: Wat<'_> = module;
                let bytes = module.encode().map_err(|e| e.to_string())?;
                let m = leak_module(bytes, self.features)?;
                match self.instantiate(m) {
                    Err(_) => Ok(()),
                    Ok(_) => Err("module linked".into()),
                }
            }
            WastDirective::AssertInvalidCustom { .. } | WastDirective::AssertMalformedCustom { .. } => Ok(()),
            _ => Err("unsupported directive".into()),
        }
    }
}

fn arg(a: &WastArg<'_>) -> Result<Value, String> {
    let WastArg::Core(a) = a else { return Err("component arg".into()) };
    Ok(match a {
        WastArgCore::I32(x) => Value::I32(*x),
        WastArgCore::I64(x) => Value::I64(*x),
        WastArgCore::F32(x) => Value::F32(x.bits),
        WastArgCore::F64(x) => Value::F64(x.bits),
        WastArgCore::RefNull(h) => match h {
            HeapType::Abstract { ty: AbstractHeapType::Extern, .. } => Value::ExternRef(None),
            _ => Value::FuncRef(None),
        },
        WastArgCore::RefExtern(n) => Value::ExternRef(Some(*n)),
        _ => return Err(format!("unsupported arg {a:?}")),
    })
}

fn ret_matches(got: &Value, exp: &WastRet<'_>) -> Result<bool, String> {
    let WastRet::Core(e) = exp else { return Err("component result".into()) };
    Ok(match (e, got) {
        (WastRetCore::I32(x), Value::I32(y)) => x == y,
        (WastRetCore::I64(x), Value::I64(y)) => x == y,
        (WastRetCore::F32(p), Value::F32(bits)) => match p {
            NanPattern::CanonicalNan => bits & 0x7fff_ffff == 0x7fc0_0000,
            NanPattern::ArithmeticNan => bits & 0x7fc0_0000 == 0x7fc0_0000,
            NanPattern::Value(v) => v.bits == *bits,
        },
        (WastRetCore::F64(p), Value::F64(bits)) => match p {
            NanPattern::CanonicalNan => bits & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
            NanPattern::ArithmeticNan => bits & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000,
            NanPattern::Value(v) => v.bits == *bits,
        },
        (WastRetCore::RefNull(_), Value::FuncRef(r) | Value::ExternRef(r)) => r.is_none(),
        (WastRetCore::RefExtern(None), Value::ExternRef(r)) => r.is_some(),
        (WastRetCore::RefExtern(Some(n)), Value::ExternRef(r)) => *r == Some(*n),
        (WastRetCore::RefFunc(_), Value::FuncRef(r)) => r.is_some(),
        _ => false,
    })
}

fn trap_matches(t: TrapCode, message: &str) -> bool {
    match t {
        TrapCode::TableOutOfBounds => {
            message.starts_with("undefined element") || message.starts_with("out of bounds table access")
        }
        TrapCode::UninitializedElement => message.starts_with("uninitialized element"),
        _ => message.starts_with(t.message()) || t.message().starts_with(message),
    }
}

/// Run one `.wast` script.
pub fn run_script(src: &str, features: Features) -> FileResult {
    let mut res = FileResult::default();
    let mut lexer = wast::lexer::Lexer::new(src);
    lexer.allow_confusing_unicode(true);
    let buf = match wast::parser::ParseBuffer::new_with_lexer(lexer) {
        Ok(b) => b,
        Err(e) => {
            res.failed += 1;
            res.failures.push(format!("lex: {e}"));
            return res;
        }
    };
    let script: wast::Wast<'_> = match wast::parser::parse(&buf) {
        Ok(w) => w,
        Err(e) => {
            res.failed += 1;
            res.failures.push(format!("parse: {e}"));
            return res;
        }
    };
    LOADED.with(|c| c.set((0, 0)));
    let mut runner = Runner::new(features);
    for d in script.directives {
        let off = d.span().offset();
        let (line, _) = d.span().linecol_in(src);
        let snippet: String = src[off..].chars().take(70).map(|c| if c == '\n' { ' ' } else { c }).collect();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runner.directive(d))) {
            Ok(Ok(())) => res.passed += 1,
            Ok(Err(e)) => {
                res.failed += 1;
                res.failures.push(format!("line {}: {e}\n        {snippet}", line + 1));
            }
            Err(_) => {
                res.failed += 1;
                res.failures.push(format!("line {}: PANIC", line + 1));
            }
        }
    }
    (res.code_bytes, res.side_bytes) = LOADED.with(|c| c.get());
    res
}
