//! Who is wrong when the engines disagree. Two witnesses, used only once a
//! divergence is found:
//!
//! 1. **node** (V8), a third engine: it replays the instantiation and the
//!    calls up to the divergent one and reports that step's outcome, the
//!    exported globals and a hash of each exported memory. It sees less than
//!    the engines do (JS numbers lose NaN payloads, V8's trap messages merge
//!    some trap kinds, it has no fuel), so the comparison is coarse; and node
//!    20 (V8 11.3) has neither custom page sizes nor multi-memory, so modules
//!    using them cannot be tie-broken this way.
//! 2. **patterns** of wasmi 2.0.0's known miscompilations, searched in the
//!    printed module: (a) an `if` with parameters whose then-arm holds a nested
//!    block (a value below it reads as 0 when the branch is not taken) — and,
//!    found by this fuzzer, the same with a `block` with parameters left early
//!    by `br_if` (below); (b) a `select` whose condition is
//!    `i32.eqz`/`ref.is_null` of a local (returns its first operand
//!    regardless). (c), a translator panic, is caught as an oracle crash and
//!    needs no pattern.
//!
//! The `block` form of (a), minimised from seed 20261128, module 102427
//! (node agrees with Fireball: `g` is the bits of 1.5, wasmi leaves it 0):
//!
//! ```text
//! (module
//!   (global $g (export "g") (mut i64) (i64.const 0))
//!   (global $c (mut i32) (i32.const 0))
//!   (func $f (param f64) (result f64)
//!     local.get 0
//!     local.get 0
//!     global.get $c
//!     global.get $c
//!     i32.le_s                 ;; 1: the br_if below is taken
//!     block (param i32)
//!       br_if 0
//!       i64.const 1
//!       block (result f32) f32.const 0 end
//!       drop
//!       drop
//!     end
//!     i64.reinterpret_f64      ;; wasmi reads the f64 below the block as 0
//!     global.set $g)
//!   (func (export "t") (result f64) f64.const 1.5 call $f))
//! ```

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::gen::Call;
use crate::obs::{Arg, Obs, Outcome};

/// An engine's (or node's) view of one step, in node's coarse terms.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct View {
    /// `values <v>…` or `trap <class>`.
    pub outcome: String,
    /// Exported globals, by hex name.
    pub globals: Vec<(String, String)>,
    /// Exported memories: hex name, length, FNV-1a 32.
    pub memories: Vec<(String, usize, u32)>,
}

/// A name for the script: `n` and the hex of its UTF-8 (unambiguous, never empty).
pub fn hex(s: &str) -> String {
    std::iter::once("n".to_string()).chain(s.bytes().map(|b| format!("{b:02x}"))).collect()
}

fn num(x: f64) -> String {
    format!("num:{:x}", x.to_bits())
}

/// A value as the script prints it.
pub fn js_value(o: &Obs) -> String {
    match o {
        Obs::I32(x) => num(*x as i32 as f64),
        Obs::I64(x) => format!("big:{}", *x as i64),
        Obs::F32(b) => num(f32::from_bits(*b) as f64),
        Obs::F64(b) => num(f64::from_bits(*b)),
        Obs::Func(None) | Obs::Extern(None) => "null".into(),
        Obs::Func(Some(_)) => "func".into(),
        Obs::Extern(Some(k)) => format!("ext:{k}"),
    }
}

/// An outcome as the script prints it (trap class only).
pub fn js_outcome(o: &Outcome) -> String {
    match o {
        Outcome::Values(v) => {
            let parts: Vec<String> = v.iter().map(js_value).collect();
            format!("values {}", parts.join(" ")).trim_end().to_string()
        }
        Outcome::Trap(k) => format!("trap {}", k.coarse()),
        Outcome::OutOfFuel => "out-of-fuel".into(),
        Outcome::Panic(_) => "panic".into(),
    }
}

fn same_token(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (a.strip_prefix("num:"), b.strip_prefix("num:")) {
        (Some(x), Some(y)) => {
            let (x, y) = (u64::from_str_radix(x, 16).unwrap_or(0), u64::from_str_radix(y, 16).unwrap_or(1));
            x == y || (f64::from_bits(x).is_nan() && f64::from_bits(y).is_nan())
        }
        _ => false,
    }
}

/// Whether node's view matches an engine's (NaN equals NaN; trap class only).
pub fn agrees(node: &View, engine: &View) -> bool {
    disagreement(node, engine).is_none()
}

/// The first thing node's view and an engine's differ in, if any.
pub fn disagreement(node: &View, engine: &View) -> Option<String> {
    let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    let (n, e) = (words(&node.outcome), words(&engine.outcome));
    let outcome_ok = if n.first().map(String::as_str) == Some("trap") {
        e.first().map(String::as_str) == Some("trap") && n.get(1) == e.get(1)
    } else {
        n.len() == e.len() && n.iter().zip(&e).all(|(a, b)| same_token(a, b))
    };
    if !outcome_ok {
        return Some(format!("outcome: node {:?}, engine {:?}", node.outcome, engine.outcome));
    }
    if node.globals.len() != engine.globals.len() {
        return Some(format!("{} globals in node, {} in the engine", node.globals.len(), engine.globals.len()));
    }
    for (a, b) in node.globals.iter().zip(&engine.globals) {
        if a.0 != b.0 || !same_token(&a.1, &b.1) {
            return Some(format!("global {}: node {}, engine {}", a.0, a.1, b.1));
        }
    }
    if node.memories != engine.memories {
        return Some(format!("memories (name, length, fnv32): node {:?}, engine {:?}", node.memories, engine.memories));
    }
    None
}

const SCRIPT: &str = r#"
const fs = require('fs');
const lines = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(l => l.length);
const hex = h => Buffer.from(h.slice(1), 'hex').toString('utf8');
let bytes, calls = [], globals = [], memories = [];
for (const l of lines) {
  const p = l.split(' ');
  if (p[0] === 'module') bytes = fs.readFileSync(p.slice(1).join(' '));
  else if (p[0] === 'call') calls.push(p.slice(1));
  else if (p[0] === 'global') globals.push(p[1]);
  else if (p[0] === 'memory') memories.push(p[1]);
}
const dv = new DataView(new ArrayBuffer(8));
const num = x => { dv.setFloat64(0, x, true); return 'num:' + dv.getBigUint64(0, true).toString(16); };
const show = v => typeof v === 'number' ? num(v)
  : typeof v === 'bigint' ? 'big:' + BigInt.asIntN(64, v)
  : v === null ? 'null' : typeof v === 'function' ? 'func'
  : (v && typeof v === 'object' && 'fbid' in v) ? 'ext:' + v.fbid : v === undefined ? 'undef' : '?:' + typeof v;
const classify = e => {
  const m = String(e && e.message || e);
  let c = 'other';
  if (/fireball-diff host trap/.test(m)) c = 'host';
  else if (e instanceof RangeError && /call stack|stack size/i.test(m)) c = 'exhaustion';
  else if (/unreachable/.test(m)) c = 'unreachable';
  else if (/null function|signature mismatch/.test(m)) c = 'indirect';
  else if (/by zero/.test(m)) c = 'divzero';
  else if (/unrepresentable/.test(m)) c = 'overflow';
  else if (/memory|data segment/.test(m)) c = 'memory';
  else if (/table|element segment/.test(m)) c = 'table';
  return c + ' ' + m.replace(/\s+/g, '_');
};
const externs = new Map();
const ext = k => { if (!externs.has(k)) externs.set(k, { fbid: k }); return externs.get(k); };
// The host functions of engines::HOST_IMPORTS, the same arithmetic.
let counter = 0;
const imports = { env: {
  h0: () => { counter = (counter + 1) | 0; return counter; },
  h1: x => (((x << 5) | (x >>> 27)) ^ 0x12345678) | 0,
  h2: (a, b) => BigInt.asIntN(64, a * 31n + BigInt(b)),
  h3: (f, d) => [d, f],
  h4: x => { counter = (counter + x) | 0; },
  h5: x => { if (x & 1) throw new Error('fireball-diff host trap'); return (x / 2) | 0; },
} };
let inst;
const finish = (step, outcome) => {
  const out = ['step ' + step, 'outcome ' + outcome];
  if (inst) {
    for (const g of globals) out.push('global ' + g + ' ' + show(inst.exports[hex(g)].value));
    for (const m of memories) {
      const b = new Uint8Array(inst.exports[hex(m)].buffer);
      let h = 0x811c9dc5;
      for (let i = 0; i < b.length; i++) { h ^= b[i]; h = Math.imul(h, 0x01000193) >>> 0; }
      out.push('memory ' + m + ' ' + b.length + ' ' + h);
    }
  }
  console.log(out.join('\n'));
  process.exit(0);
};
let mod;
try { mod = new WebAssembly.Module(bytes); } catch (e) { console.log('compile ' + String(e.message).replace(/\s+/g, '_')); process.exit(0); }
try { inst = new WebAssembly.Instance(mod, imports); } catch (e) { inst = undefined; finish(0, 'trap ' + classify(e)); }
if (calls.length === 0) finish(0, 'ok');
calls.forEach((c, i) => {
  const f = inst.exports[hex(c[0])];
  const args = c.slice(1).map(a => {
    const k = a.indexOf(':'), t = a.slice(0, k), v = a.slice(k + 1);
    switch (t) {
      case 'i32': return Number(v);
      case 'i64': return BigInt(v);
      case 'f32': dv.setUint32(0, parseInt(v, 16), true); return dv.getFloat32(0, true);
      case 'f64': dv.setBigUint64(0, BigInt('0x' + v), true); return dv.getFloat64(0, true);
      case 'funcref': return v === 'null' ? null : inst.exports[hex(v)];
      default: return v === 'null' ? null : ext(Number(v));
    }
  });
  let outcome;
  try {
    const r = f(...args);
    outcome = ('values ' + (r === undefined ? '' : Array.isArray(r) ? r.map(show).join(' ') : show(r))).trim();
  } catch (e) { outcome = 'trap ' + classify(e); }
  if (i === calls.length - 1) finish(i + 1, outcome);
});
"#;

fn js_arg(a: &Arg) -> String {
    match a {
        Arg::I32(x) => format!("i32:{x}"),
        Arg::I64(x) => format!("i64:{x}"),
        Arg::F32(b) => format!("f32:{b:x}"),
        Arg::F64(b) => format!("f64:{b:x}"),
        Arg::FuncRef(None) => "funcref:null".into(),
        Arg::FuncRef(Some(n)) => format!("funcref:{}", hex(n)),
        Arg::ExternRef(None) => "externref:null".into(),
        Arg::ExternRef(Some(k)) => format!("externref:{k}"),
    }
}

/// Run `calls` (instantiation only if empty) in node and return its view of the last step,
/// or why it could not.
pub fn node_view(dir: &Path, wasm: &Path, calls: &[Call], globals: &[String], memories: &[String]) -> Result<View, String> {
    let script = dir.join("tiebreak.js");
    std::fs::write(&script, SCRIPT).map_err(|e| e.to_string())?;
    let mut input = format!("module {}\n", wasm.display());
    for c in calls {
        input.push_str(&format!("call {}", hex(&c.export)));
        for a in &c.args {
            input.push(' ');
            input.push_str(&js_arg(a));
        }
        input.push('\n');
    }
    for g in globals {
        input.push_str(&format!("global {}\n", hex(g)));
    }
    for m in memories {
        input.push_str(&format!("memory {}\n", hex(m)));
    }
    let plan = dir.join("tiebreak.plan");
    std::fs::File::create(&plan).and_then(|mut f| f.write_all(input.as_bytes())).map_err(|e| e.to_string())?;
    let mut child = Command::new("node")
        .arg("--experimental-wasm-extended-const")
        .arg(&script)
        .arg(&plan)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("node not available ({e})"))?;
    let t0 = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if t0.elapsed() > Duration::from_secs(30) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("node timed out (30 s)".into());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(e.to_string()),
        }
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut v = View::default();
    let mut seen = false;
    for l in text.lines() {
        let (k, rest) = l.split_once(' ').unwrap_or((l, ""));
        match k {
            "compile" => return Err(format!("node cannot compile it: {}", rest.replace('_', " "))),
            "outcome" => {
                seen = true;
                let mut w: Vec<&str> = rest.split_whitespace().collect();
                if w.first() == Some(&"trap") {
                    w.truncate(2);
                } else if w.first() == Some(&"ok") {
                    w = vec!["values"];
                }
                v.outcome = w.join(" ");
            }
            "global" => {
                let (n, val) = rest.split_once(' ').unwrap_or((rest, ""));
                v.globals.push((n.into(), val.into()));
            }
            "memory" => {
                let p: Vec<&str> = rest.split_whitespace().collect();
                if p.len() == 3 {
                    v.memories.push((p[0].into(), p[1].parse().unwrap_or(0), p[2].parse().unwrap_or(0)));
                }
            }
            _ => {}
        }
    }
    if !seen {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("node gave no answer: {}", err.lines().take(3).collect::<Vec<_>>().join(" / ")));
    }
    Ok(v)
}

/// Which of wasmi 2.0.0's known miscompilation patterns the printed module contains.
pub fn known_wasmi_patterns(wat: &str) -> Vec<&'static str> {
    let lines: Vec<&str> = wat.lines().map(str::trim).collect();
    let opens = |l: &str| l == "block" || l == "loop" || l == "if" || l.starts_with("block ") || l.starts_with("loop ") || l.starts_with("if ");
    let mut found = vec![];
    // (a) `if` (or `block`) with params, a nested block in its then-arm (body).
    'a: for (i, l) in lines.iter().enumerate() {
        if !((l.starts_with("if ") || l.starts_with("block ")) && l.contains("(param")) {
            continue;
        }
        for m in &lines[i + 1..] {
            if *m == "else" || *m == "end" || m.starts_with("end ") {
                break;
            }
            if opens(m) {
                found.push("(a) `if`/`block` with parameters holding a nested block");
                break 'a;
            }
        }
    }
    // (b) `local.get/tee; i32.eqz|ref.is_null; select`.
    for w in lines.windows(3) {
        if (w[0].starts_with("local.get ") || w[0].starts_with("local.tee "))
            && (w[1] == "i32.eqz" || w[1] == "ref.is_null")
            && (w[2] == "select" || w[2].starts_with("select "))
        {
            found.push("(b) `select` on `i32.eqz`/`ref.is_null` of a local");
            break;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_found() {
        let a = "func\n  if (type 1) (param i32) (result i32) ;; label = @1\n    block ;; label = @2\n    end\n  else\n  end\n";
        assert_eq!(known_wasmi_patterns(a).len(), 1);
        let not_a = "if (type 1) (param i32) (result i32)\n  drop\nelse\n  block\n  end\nend\n";
        assert!(known_wasmi_patterns(not_a).is_empty());
        let a_block = "block (type 0) (param i32) ;; label = @1\n  br_if 0 (;@1;)\n  i64.const 1\n  block (result f32) ;; label = @2\n";
        assert_eq!(known_wasmi_patterns(a_block).len(), 1);
        let b = "local.get 3\ni32.eqz\nselect (result i64)\n";
        assert_eq!(known_wasmi_patterns(b).len(), 1);
        assert!(known_wasmi_patterns("local.get 3\ni32.eqz\ni32.add\n").is_empty());
    }

    #[test]
    fn views_compare_coarsely() {
        let n = View { outcome: "values num:7ff8000000000001".into(), ..View::default() };
        let e = View { outcome: js_outcome(&Outcome::Values(vec![Obs::F64(0x7ff8_0000_0000_0000)])), ..View::default() };
        assert!(agrees(&n, &e));
        let t = View { outcome: "trap overflow".into(), ..View::default() };
        let e = View { outcome: js_outcome(&Outcome::Trap(crate::obs::TrapKind::InvalidConversionToInteger)), ..View::default() };
        assert!(agrees(&t, &e));
        assert_eq!(js_value(&Obs::I32(u32::MAX)), num(-1.0));
    }
}
