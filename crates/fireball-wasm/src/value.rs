//! Values crossing the embedder boundary. Inside the engine every value is an
//! untyped 64-bit slot: integers in the low bits, floats as their IEEE bits
//! (NaN payloads survive), references as `address + 1` with 0 meaning null —
//! so a zeroed slot is a valid default for every type.

use crate::types::ValType;

/// A typed WebAssembly value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// `i32`
    I32(i32),
    /// `i64`
    I64(i64),
    /// `f32`, as IEEE bits.
    F32(u32),
    /// `f64`, as IEEE bits.
    F64(u64),
    /// `funcref`: a store function address, or null.
    FuncRef(Option<u32>),
    /// `externref`: an opaque host value, or null.
    ExternRef(Option<u32>),
}

impl Value {
    /// The value's type.
    pub fn ty(&self) -> ValType {
        match self {
            Value::I32(_) => ValType::I32,
            Value::I64(_) => ValType::I64,
            Value::F32(_) => ValType::F32,
            Value::F64(_) => ValType::F64,
            Value::FuncRef(_) => ValType::FuncRef,
            Value::ExternRef(_) => ValType::ExternRef,
        }
    }

    /// The engine's slot encoding.
    pub fn to_bits(&self) -> u64 {
        match *self {
            Value::I32(x) => x as u32 as u64,
            Value::I64(x) => x as u64,
            Value::F32(x) => x as u64,
            Value::F64(x) => x,
            Value::FuncRef(r) | Value::ExternRef(r) => r.map_or(0, |a| a as u64 + 1),
        }
    }

    /// Decode a slot of type `ty` (an i32 or f32 from its low 32 bits only: the
    /// interpreter may leave the high half undefined, see `raw::LOW_WORD_I32`).
    pub fn from_bits(bits: u64, ty: ValType) -> Value {
        let r = if bits == 0 { None } else { Some((bits - 1) as u32) };
        match ty {
            ValType::I32 => Value::I32(bits as u32 as i32),
            ValType::I64 => Value::I64(bits as i64),
            ValType::F32 => Value::F32(bits as u32),
            ValType::F64 => Value::F64(bits),
            ValType::FuncRef => Value::FuncRef(r),
            ValType::ExternRef => Value::ExternRef(r),
        }
    }

    /// The `i32` inside, if this is one.
    pub fn i32(&self) -> Option<i32> {
        if let Value::I32(x) = self {
            Some(*x)
        } else {
            None
        }
    }

    /// The `i64` inside, if this is one.
    pub fn i64(&self) -> Option<i64> {
        if let Value::I64(x) = self {
            Some(*x)
        } else {
            None
        }
    }

    /// The `f32` inside, if this is one.
    pub fn f32(&self) -> Option<f32> {
        if let Value::F32(x) = self {
            Some(f32::from_bits(*x))
        } else {
            None
        }
    }

    /// The `f64` inside, if this is one.
    pub fn f64(&self) -> Option<f64> {
        if let Value::F64(x) = self {
            Some(f64::from_bits(*x))
        } else {
            None
        }
    }
}

impl core::fmt::Display for Value {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Value::I32(x) => write!(f, "{x}"),
            Value::I64(x) => write!(f, "{x}"),
            Value::F32(x) => write!(f, "{}", f32::from_bits(x)),
            Value::F64(x) => write!(f, "{}", f64::from_bits(x)),
            Value::FuncRef(None) | Value::ExternRef(None) => f.write_str("null"),
            Value::FuncRef(Some(a)) => write!(f, "func@{a}"),
            Value::ExternRef(Some(a)) => write!(f, "extern@{a}"),
        }
    }
}
