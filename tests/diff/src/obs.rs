//! What a call is observed to do, in terms both engines (and node) can be
//! mapped to: argument and result values, trap kinds, outcomes.

use std::fmt;

/// An argument of a planned call, engine-neutral.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    /// `i32`
    I32(i32),
    /// `i64`
    I64(i64),
    /// `f32` as IEEE bits (NaN payloads included).
    F32(u32),
    /// `f64` as IEEE bits.
    F64(u64),
    /// `funcref`: null, or the module's exported function of that name.
    FuncRef(Option<String>),
    /// `externref`: null, or a host object carrying this number.
    ExternRef(Option<u32>),
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::I32(x) => write!(f, "i32:{x}"),
            Arg::I64(x) => write!(f, "i64:{x}"),
            Arg::F32(b) => write!(f, "f32:{b:#010x}({:?})", f32::from_bits(*b)),
            Arg::F64(b) => write!(f, "f64:{b:#018x}({:?})", f64::from_bits(*b)),
            Arg::FuncRef(None) => f.write_str("funcref:null"),
            Arg::FuncRef(Some(n)) => write!(f, "funcref:{n:?}"),
            Arg::ExternRef(None) => f.write_str("externref:null"),
            Arg::ExternRef(Some(k)) => write!(f, "externref:{k}"),
        }
    }
}

/// A value seen after a call (a result, a global, a table element).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Obs {
    /// `i32` bits.
    I32(u32),
    /// `i64` bits.
    I64(u64),
    /// `f32` bits.
    F32(u32),
    /// `f64` bits.
    F64(u64),
    /// `funcref`: null, or the signature of the function it points to
    /// (function identity is not comparable across engines).
    Func(Option<String>),
    /// `externref`: null, or the number the host object carries.
    Extern(Option<u32>),
}

impl Obs {
    /// Equal as wasm values, except that any NaN equals any NaN (their payloads are
    /// not fully determined by the spec). See [`Obs::same_bits`] for the exact test.
    pub fn same(&self, other: &Obs) -> bool {
        match (self, other) {
            (Obs::F32(a), Obs::F32(b)) => a == b || (f32::from_bits(*a).is_nan() && f32::from_bits(*b).is_nan()),
            (Obs::F64(a), Obs::F64(b)) => a == b || (f64::from_bits(*a).is_nan() && f64::from_bits(*b).is_nan()),
            _ => self == other,
        }
    }

    /// Bit-for-bit equal.
    pub fn same_bits(&self, other: &Obs) -> bool {
        self == other
    }

    /// Bytes for a fingerprint (tables).
    pub fn feed(&self, h: &mut Fnv) {
        match self {
            Obs::I32(x) => h.write(&[1]).write(&x.to_le_bytes()),
            Obs::I64(x) => h.write(&[2]).write(&x.to_le_bytes()),
            Obs::F32(x) => h.write(&[3]).write(&x.to_le_bytes()),
            Obs::F64(x) => h.write(&[4]).write(&x.to_le_bytes()),
            Obs::Func(None) => h.write(&[5]),
            Obs::Func(Some(s)) => h.write(&[6]).write(s.as_bytes()).write(&[0]),
            Obs::Extern(None) => h.write(&[7]),
            Obs::Extern(Some(k)) => h.write(&[8]).write(&k.to_le_bytes()),
        };
    }
}

impl fmt::Display for Obs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Obs::I32(x) => write!(f, "i32:{}", *x as i32),
            Obs::I64(x) => write!(f, "i64:{}", *x as i64),
            Obs::F32(b) => write!(f, "f32:{b:#010x}({:?})", f32::from_bits(*b)),
            Obs::F64(b) => write!(f, "f64:{b:#018x}({:?})", f64::from_bits(*b)),
            Obs::Func(None) => f.write_str("funcref:null"),
            Obs::Func(Some(s)) => write!(f, "funcref:<{s}>"),
            Obs::Extern(None) => f.write_str("externref:null"),
            Obs::Extern(Some(k)) => write!(f, "externref:{k}"),
        }
    }
}

/// Both engines' trap codes, mapped onto one set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrapKind {
    /// `unreachable`
    Unreachable,
    /// out of bounds memory access (loads, stores, bulk memory, data segments)
    MemoryOutOfBounds,
    /// out of bounds table access (incl. `call_indirect` index, element segments)
    TableOutOfBounds,
    /// `call_indirect` on a null entry
    IndirectCallToNull,
    /// `call_indirect` signature mismatch
    IndirectCallTypeMismatch,
    /// signed division overflow, float→int overflow
    IntegerOverflow,
    /// division or remainder by zero
    IntegerDivideByZero,
    /// NaN → int
    InvalidConversionToInteger,
    /// value stack or call depth exhausted (limits differ per engine: never compared)
    Exhaustion,
    /// a host function failed (the fuzzer's `env.h5` on an odd argument)
    Host,
    /// anything else (engine-internal, host), with the engine's words
    Other(String),
}

impl TrapKind {
    /// Coarse class, as far as V8's messages tell them apart (node tie-breaker).
    pub fn coarse(&self) -> &'static str {
        match self {
            TrapKind::Unreachable => "unreachable",
            TrapKind::MemoryOutOfBounds => "memory",
            TrapKind::TableOutOfBounds => "table",
            TrapKind::IndirectCallToNull | TrapKind::IndirectCallTypeMismatch => "indirect",
            TrapKind::IntegerOverflow | TrapKind::InvalidConversionToInteger => "overflow",
            TrapKind::IntegerDivideByZero => "divzero",
            TrapKind::Exhaustion => "exhaustion",
            TrapKind::Host => "host",
            TrapKind::Other(_) => "other",
        }
    }

    /// From Fireball's trap code.
    pub fn from_fireball(c: fireball_wasm::TrapCode) -> TrapKind {
        use fireball_wasm::TrapCode as C;
        match c {
            C::Unreachable => TrapKind::Unreachable,
            C::MemoryOutOfBounds => TrapKind::MemoryOutOfBounds,
            C::TableOutOfBounds => TrapKind::TableOutOfBounds,
            C::UninitializedElement => TrapKind::IndirectCallToNull,
            C::IndirectCallTypeMismatch => TrapKind::IndirectCallTypeMismatch,
            C::IntegerOverflow => TrapKind::IntegerOverflow,
            C::IntegerDivideByZero => TrapKind::IntegerDivideByZero,
            C::InvalidConversionToInteger => TrapKind::InvalidConversionToInteger,
            C::StackOverflow | C::CallStackExhausted => TrapKind::Exhaustion,
            C::Host => TrapKind::Host,
            other => TrapKind::Other(format!("fireball: {other}")),
        }
    }

    /// From wasmi's trap code (`OutOfFuel` is not a trap here: see [`Outcome::OutOfFuel`]).
    pub fn from_wasmi(c: wasmi::TrapCode) -> TrapKind {
        use wasmi::TrapCode as C;
        match c {
            C::UnreachableCodeReached => TrapKind::Unreachable,
            C::MemoryOutOfBounds => TrapKind::MemoryOutOfBounds,
            C::TableOutOfBounds => TrapKind::TableOutOfBounds,
            C::IndirectCallToNull => TrapKind::IndirectCallToNull,
            C::BadSignature => TrapKind::IndirectCallTypeMismatch,
            C::IntegerOverflow => TrapKind::IntegerOverflow,
            C::IntegerDivisionByZero => TrapKind::IntegerDivideByZero,
            C::BadConversionToInteger => TrapKind::InvalidConversionToInteger,
            C::StackOverflow => TrapKind::Exhaustion,
            other => TrapKind::Other(format!("wasmi: {other:?}")),
        }
    }
}

/// How a call (or an instantiation, start function included) ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Returned these values.
    Values(Vec<Obs>),
    /// Trapped (an instantiation refused for an out-of-bounds segment counts as a trap).
    Trap(TrapKind),
    /// Ran past the fuel budget.
    OutOfFuel,
    /// The engine panicked (caught), with the message.
    Panic(String),
}

impl Outcome {
    /// Same outcome, NaNs equal to NaNs.
    pub fn same(&self, other: &Outcome) -> bool {
        match (self, other) {
            (Outcome::Values(a), Outcome::Values(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same(y)),
            (Outcome::Trap(TrapKind::Other(_)), Outcome::Trap(TrapKind::Other(_))) => false,
            _ => self == other,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Values(v) if v.is_empty() => f.write_str("returned ()"),
            Outcome::Values(v) => {
                f.write_str("returned (")?;
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{x}")?;
                }
                f.write_str(")")
            }
            Outcome::Trap(k) => write!(f, "trap {k:?}"),
            Outcome::OutOfFuel => f.write_str("out of fuel"),
            Outcome::Panic(m) => write!(f, "PANIC: {m}"),
        }
    }
}

/// FNV-1a, 64 bit (fingerprints), with a 32-bit variant the node script computes too.
#[derive(Clone, Copy)]
pub struct Fnv(pub u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    /// Feed bytes.
    pub fn write(&mut self, bytes: &[u8]) -> &mut Self {
        for &b in bytes {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x100_0000_01b3);
        }
        self
    }
}

/// FNV-1a, 32 bit, of a memory (what the node tie-breaker reports).
pub fn fnv32(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in bytes {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// How two linear memories compare.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemDiff {
    /// Byte for byte.
    Equal,
    /// Only inside 4- or 8-byte windows that hold a NaN in both (spec-allowed payload differences).
    NanOnly {
        /// First differing byte.
        first: usize,
    },
    /// Really different.
    Differs {
        /// First byte not explained by NaN payloads (or the shorter length).
        first: usize,
    },
}

/// Compare two memories, tolerating NaN payload differences (see [`MemDiff`]).
pub fn mem_diff(a: &[u8], b: &[u8]) -> MemDiff {
    if a.len() != b.len() {
        return MemDiff::Differs { first: a.len().min(b.len()) };
    }
    if a == b {
        return MemDiff::Equal;
    }
    let mut first = None;
    let mut i = 0;
    while i < a.len() {
        let end = (i + 256).min(a.len());
        if a[i..end] == b[i..end] {
            i = end;
            continue;
        }
        for j in i..end {
            if a[j] != b[j] {
                first.get_or_insert(j);
                if !nan_window(a, b, j) {
                    return MemDiff::Differs { first: j };
                }
            }
        }
        i = end;
    }
    MemDiff::NanOnly { first: first.unwrap_or(0) }
}

/// Whether byte `j` lies in a 4- or 8-byte window that is a NaN (f32 or f64, little endian) in both memories.
fn nan_window(a: &[u8], b: &[u8], j: usize) -> bool {
    let f32_nan = |m: &[u8], s: usize| f32::from_le_bytes(m[s..s + 4].try_into().unwrap_or([0; 4])).is_nan();
    let f64_nan = |m: &[u8], s: usize| f64::from_le_bytes(m[s..s + 8].try_into().unwrap_or([0; 8])).is_nan();
    let lo4 = j.saturating_sub(3);
    if (lo4..=j).any(|s| s + 4 <= a.len() && f32_nan(a, s) && f32_nan(b, s)) {
        return true;
    }
    let lo8 = j.saturating_sub(7);
    (lo8..=j).any(|s| s + 8 <= a.len() && f64_nan(a, s) && f64_nan(b, s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_equals_nan_but_not_bits() {
        let a = Obs::F32(0x7fc0_0000);
        let b = Obs::F32(0xffc0_0001);
        assert!(a.same(&b));
        assert!(!a.same_bits(&b));
        assert!(!Obs::F32(0).same(&Obs::F32(0x8000_0000)), "-0 is not +0");
        assert!(!Obs::F64(0x7ff8_0000_0000_0000).same(&Obs::F64(0x7ff0_0000_0000_0000)), "NaN is not inf");
    }

    #[test]
    fn memory_nan_windows() {
        let mut a = vec![0u8; 32];
        let mut b = vec![0u8; 32];
        assert_eq!(mem_diff(&a, &b), MemDiff::Equal);
        a[5..9].copy_from_slice(&0x7fc0_0000u32.to_le_bytes());
        b[5..9].copy_from_slice(&0x7fc0_1234u32.to_le_bytes());
        assert_eq!(mem_diff(&a, &b), MemDiff::NanOnly { first: 5 });
        b[20] = 1;
        assert_eq!(mem_diff(&a, &b), MemDiff::Differs { first: 20 });
        assert_eq!(mem_diff(&a, &b[..16]), MemDiff::Differs { first: 16 });
        let (mut c, mut d) = (vec![0u8; 8], vec![0u8; 8]);
        c.copy_from_slice(&0x7ff8_0000_0000_0000u64.to_le_bytes());
        d.copy_from_slice(&0x7ff8_0000_0000_0001u64.to_le_bytes());
        assert_eq!(mem_diff(&c, &d), MemDiff::NanOnly { first: 0 });
    }
}
