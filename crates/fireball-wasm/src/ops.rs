//! The instruction set as data. Every *simple* instruction — one whose stack
//! effect is a fixed signature and whose only immediate is at most a memarg —
//! is one row of `for_each_simple_op!` (below): opcode, text name, parameters,
//! results. The validator checks them from this table and the disassembler
//! names them from it; the interpreter implements each row in `exec`.
//! Structured control, variables, references, tables and bulk memory have
//! immediates or polymorphic typing and are validated by hand in `validate`.

use crate::types::ValType;
use crate::types::ValType::{F32, F64, I32, I64};

/// The rows of the simple-instruction table: `opcode name [params] [results] natural_align_log2`.
/// `align` is `-` for non-memory instructions and the log2 of the access width for loads/stores.
#[macro_export]
#[doc(hidden)]
macro_rules! for_each_simple_op {
    ($m:ident) => {
        $m! {
            0x28 "i32.load" [I32] [I32] 2;
            0x29 "i64.load" [I32] [I64] 3;
            0x2a "f32.load" [I32] [F32] 2;
            0x2b "f64.load" [I32] [F64] 3;
            0x2c "i32.load8_s" [I32] [I32] 0;
            0x2d "i32.load8_u" [I32] [I32] 0;
            0x2e "i32.load16_s" [I32] [I32] 1;
            0x2f "i32.load16_u" [I32] [I32] 1;
            0x30 "i64.load8_s" [I32] [I64] 0;
            0x31 "i64.load8_u" [I32] [I64] 0;
            0x32 "i64.load16_s" [I32] [I64] 1;
            0x33 "i64.load16_u" [I32] [I64] 1;
            0x34 "i64.load32_s" [I32] [I64] 2;
            0x35 "i64.load32_u" [I32] [I64] 2;
            0x36 "i32.store" [I32 I32] [] 2;
            0x37 "i64.store" [I32 I64] [] 3;
            0x38 "f32.store" [I32 F32] [] 2;
            0x39 "f64.store" [I32 F64] [] 3;
            0x3a "i32.store8" [I32 I32] [] 0;
            0x3b "i32.store16" [I32 I32] [] 1;
            0x3c "i64.store8" [I32 I64] [] 0;
            0x3d "i64.store16" [I32 I64] [] 1;
            0x3e "i64.store32" [I32 I64] [] 2;
            0x45 "i32.eqz" [I32] [I32] -;
            0x46 "i32.eq" [I32 I32] [I32] -;
            0x47 "i32.ne" [I32 I32] [I32] -;
            0x48 "i32.lt_s" [I32 I32] [I32] -;
            0x49 "i32.lt_u" [I32 I32] [I32] -;
            0x4a "i32.gt_s" [I32 I32] [I32] -;
            0x4b "i32.gt_u" [I32 I32] [I32] -;
            0x4c "i32.le_s" [I32 I32] [I32] -;
            0x4d "i32.le_u" [I32 I32] [I32] -;
            0x4e "i32.ge_s" [I32 I32] [I32] -;
            0x4f "i32.ge_u" [I32 I32] [I32] -;
            0x50 "i64.eqz" [I64] [I32] -;
            0x51 "i64.eq" [I64 I64] [I32] -;
            0x52 "i64.ne" [I64 I64] [I32] -;
            0x53 "i64.lt_s" [I64 I64] [I32] -;
            0x54 "i64.lt_u" [I64 I64] [I32] -;
            0x55 "i64.gt_s" [I64 I64] [I32] -;
            0x56 "i64.gt_u" [I64 I64] [I32] -;
            0x57 "i64.le_s" [I64 I64] [I32] -;
            0x58 "i64.le_u" [I64 I64] [I32] -;
            0x59 "i64.ge_s" [I64 I64] [I32] -;
            0x5a "i64.ge_u" [I64 I64] [I32] -;
            0x5b "f32.eq" [F32 F32] [I32] -;
            0x5c "f32.ne" [F32 F32] [I32] -;
            0x5d "f32.lt" [F32 F32] [I32] -;
            0x5e "f32.gt" [F32 F32] [I32] -;
            0x5f "f32.le" [F32 F32] [I32] -;
            0x60 "f32.ge" [F32 F32] [I32] -;
            0x61 "f64.eq" [F64 F64] [I32] -;
            0x62 "f64.ne" [F64 F64] [I32] -;
            0x63 "f64.lt" [F64 F64] [I32] -;
            0x64 "f64.gt" [F64 F64] [I32] -;
            0x65 "f64.le" [F64 F64] [I32] -;
            0x66 "f64.ge" [F64 F64] [I32] -;
            0x67 "i32.clz" [I32] [I32] -;
            0x68 "i32.ctz" [I32] [I32] -;
            0x69 "i32.popcnt" [I32] [I32] -;
            0x6a "i32.add" [I32 I32] [I32] -;
            0x6b "i32.sub" [I32 I32] [I32] -;
            0x6c "i32.mul" [I32 I32] [I32] -;
            0x6d "i32.div_s" [I32 I32] [I32] -;
            0x6e "i32.div_u" [I32 I32] [I32] -;
            0x6f "i32.rem_s" [I32 I32] [I32] -;
            0x70 "i32.rem_u" [I32 I32] [I32] -;
            0x71 "i32.and" [I32 I32] [I32] -;
            0x72 "i32.or" [I32 I32] [I32] -;
            0x73 "i32.xor" [I32 I32] [I32] -;
            0x74 "i32.shl" [I32 I32] [I32] -;
            0x75 "i32.shr_s" [I32 I32] [I32] -;
            0x76 "i32.shr_u" [I32 I32] [I32] -;
            0x77 "i32.rotl" [I32 I32] [I32] -;
            0x78 "i32.rotr" [I32 I32] [I32] -;
            0x79 "i64.clz" [I64] [I64] -;
            0x7a "i64.ctz" [I64] [I64] -;
            0x7b "i64.popcnt" [I64] [I64] -;
            0x7c "i64.add" [I64 I64] [I64] -;
            0x7d "i64.sub" [I64 I64] [I64] -;
            0x7e "i64.mul" [I64 I64] [I64] -;
            0x7f "i64.div_s" [I64 I64] [I64] -;
            0x80 "i64.div_u" [I64 I64] [I64] -;
            0x81 "i64.rem_s" [I64 I64] [I64] -;
            0x82 "i64.rem_u" [I64 I64] [I64] -;
            0x83 "i64.and" [I64 I64] [I64] -;
            0x84 "i64.or" [I64 I64] [I64] -;
            0x85 "i64.xor" [I64 I64] [I64] -;
            0x86 "i64.shl" [I64 I64] [I64] -;
            0x87 "i64.shr_s" [I64 I64] [I64] -;
            0x88 "i64.shr_u" [I64 I64] [I64] -;
            0x89 "i64.rotl" [I64 I64] [I64] -;
            0x8a "i64.rotr" [I64 I64] [I64] -;
            0x8b "f32.abs" [F32] [F32] -;
            0x8c "f32.neg" [F32] [F32] -;
            0x8d "f32.ceil" [F32] [F32] -;
            0x8e "f32.floor" [F32] [F32] -;
            0x8f "f32.trunc" [F32] [F32] -;
            0x90 "f32.nearest" [F32] [F32] -;
            0x91 "f32.sqrt" [F32] [F32] -;
            0x92 "f32.add" [F32 F32] [F32] -;
            0x93 "f32.sub" [F32 F32] [F32] -;
            0x94 "f32.mul" [F32 F32] [F32] -;
            0x95 "f32.div" [F32 F32] [F32] -;
            0x96 "f32.min" [F32 F32] [F32] -;
            0x97 "f32.max" [F32 F32] [F32] -;
            0x98 "f32.copysign" [F32 F32] [F32] -;
            0x99 "f64.abs" [F64] [F64] -;
            0x9a "f64.neg" [F64] [F64] -;
            0x9b "f64.ceil" [F64] [F64] -;
            0x9c "f64.floor" [F64] [F64] -;
            0x9d "f64.trunc" [F64] [F64] -;
            0x9e "f64.nearest" [F64] [F64] -;
            0x9f "f64.sqrt" [F64] [F64] -;
            0xa0 "f64.add" [F64 F64] [F64] -;
            0xa1 "f64.sub" [F64 F64] [F64] -;
            0xa2 "f64.mul" [F64 F64] [F64] -;
            0xa3 "f64.div" [F64 F64] [F64] -;
            0xa4 "f64.min" [F64 F64] [F64] -;
            0xa5 "f64.max" [F64 F64] [F64] -;
            0xa6 "f64.copysign" [F64 F64] [F64] -;
            0xa7 "i32.wrap_i64" [I64] [I32] -;
            0xa8 "i32.trunc_f32_s" [F32] [I32] -;
            0xa9 "i32.trunc_f32_u" [F32] [I32] -;
            0xaa "i32.trunc_f64_s" [F64] [I32] -;
            0xab "i32.trunc_f64_u" [F64] [I32] -;
            0xac "i64.extend_i32_s" [I32] [I64] -;
            0xad "i64.extend_i32_u" [I32] [I64] -;
            0xae "i64.trunc_f32_s" [F32] [I64] -;
            0xaf "i64.trunc_f32_u" [F32] [I64] -;
            0xb0 "i64.trunc_f64_s" [F64] [I64] -;
            0xb1 "i64.trunc_f64_u" [F64] [I64] -;
            0xb2 "f32.convert_i32_s" [I32] [F32] -;
            0xb3 "f32.convert_i32_u" [I32] [F32] -;
            0xb4 "f32.convert_i64_s" [I64] [F32] -;
            0xb5 "f32.convert_i64_u" [I64] [F32] -;
            0xb6 "f32.demote_f64" [F64] [F32] -;
            0xb7 "f64.convert_i32_s" [I32] [F64] -;
            0xb8 "f64.convert_i32_u" [I32] [F64] -;
            0xb9 "f64.convert_i64_s" [I64] [F64] -;
            0xba "f64.convert_i64_u" [I64] [F64] -;
            0xbb "f64.promote_f32" [F32] [F64] -;
            0xbc "i32.reinterpret_f32" [F32] [I32] -;
            0xbd "i64.reinterpret_f64" [F64] [I64] -;
            0xbe "f32.reinterpret_i32" [I32] [F32] -;
            0xbf "f64.reinterpret_i64" [I64] [F64] -;
            0xc0 "i32.extend8_s" [I32] [I32] -;
            0xc1 "i32.extend16_s" [I32] [I32] -;
            0xc2 "i64.extend8_s" [I64] [I64] -;
            0xc3 "i64.extend16_s" [I64] [I64] -;
            0xc4 "i64.extend32_s" [I64] [I64] -;
        }
    };
}

/// Signature of a simple instruction: (params, results, natural alignment log2 for memory ops).
#[derive(Clone, Copy)]
pub struct Sig {
    /// Text-format name.
    pub name: &'static str,
    /// Operand types, bottom first.
    pub params: &'static [ValType],
    /// Result types.
    pub results: &'static [ValType],
    /// For loads/stores: log2 of the access width (the largest legal alignment).
    pub align: Option<u8>,
}

macro_rules! opt_align {
    (-) => {
        None
    };
    ($a:literal) => {
        Some($a)
    };
}

macro_rules! build_lookup {
    ($($op:literal $name:literal [$($p:ident)*] [$($r:ident)*] $a:tt;)*) => {
        /// The table row for a single-byte opcode, if it is a simple instruction.
        pub fn simple(op: u8) -> Option<Sig> {
            match op {
                $($op => Some(Sig { name: $name, params: &[$($p),*], results: &[$($r),*], align: opt_align!($a) }),)*
                _ => None,
            }
        }
    };
}
for_each_simple_op!(build_lookup);

/// Type code in [`SHAPES`]: `I32`, `I64`, `F32`, `F64` as 0..=3.
const fn code(t: ValType) -> u8 {
    match t {
        I64 => 1,
        F32 => 2,
        F64 => 3,
        _ => 0,
    }
}

/// A simple instruction's signature packed in one byte, for the validator (256
/// bytes of flash instead of a function returning slices): bits 0-1 the operand
/// type, bits 2-3 the result type, bits 4-5 the shape (0 not a simple
/// instruction, 1 unary `[t] -> [r]`, 2 binary `[t t] -> [r]`, 3 store
/// `[i32 t] -> []`), bits 6-7 the natural alignment (log2) of a load or store.
/// A load is unary with operand `i32`. Built from `for_each_simple_op!`.
pub static SHAPES: [u8; 256] = {
    let mut t = [0u8; 256];
    macro_rules! fill {
        ($($op:literal $name:literal [$($p:ident)*] [$($r:ident)*] $a:tt;)*) => {
            $( t[$op] = shape(&[$($p),*], &[$($r),*], align_bits!($a)); )*
        };
    }
    for_each_simple_op!(fill);
    t
};

macro_rules! align_bits {
    (-) => {
        0
    };
    ($a:literal) => {
        $a
    };
}
use align_bits;

const fn shape(params: &[ValType], results: &[ValType], align: u8) -> u8 {
    let (kind, operand, result) = match (params.len(), results.len()) {
        (1, 1) => (1, code(params[0]), code(results[0])),
        (2, 1) => (2, code(params[1]), code(results[0])),
        _ => (3, code(params[1]), 0),
    };
    operand | result << 2 | kind << 4 | align << 6
}

/// The value type of type code `c` (see [`SHAPES`]).
pub const fn type_of(c: u8) -> ValType {
    match c & 3 {
        0 => I32,
        1 => I64,
        2 => F32,
        _ => F64,
    }
}

/// Saturating truncations, `0xFC 0..=7`: (name, param, result).
pub const TRUNC_SAT: [(&str, ValType, ValType); 8] = [
    ("i32.trunc_sat_f32_s", F32, I32),
    ("i32.trunc_sat_f32_u", F32, I32),
    ("i32.trunc_sat_f64_s", F64, I32),
    ("i32.trunc_sat_f64_u", F64, I32),
    ("i64.trunc_sat_f32_s", F32, I64),
    ("i64.trunc_sat_f32_u", F32, I64),
    ("i64.trunc_sat_f64_s", F64, I64),
    ("i64.trunc_sat_f64_u", F64, I64),
];

/// Name of any single-byte opcode, for traces and the disassembler.
pub fn name(op: u8) -> &'static str {
    if let Some(s) = simple(op) {
        return s.name;
    }
    match op {
        0x00 => "unreachable",
        0x01 => "nop",
        0x02 => "block",
        0x03 => "loop",
        0x04 => "if",
        0x05 => "else",
        0x0b => "end",
        0x0c => "br",
        0x0d => "br_if",
        0x0e => "br_table",
        0x0f => "return",
        0x10 => "call",
        0x11 => "call_indirect",
        0x12 => "return_call",
        0x13 => "return_call_indirect",
        0x1a => "drop",
        0x1b | 0x1c => "select",
        0x20 => "local.get",
        0x21 => "local.set",
        0x22 => "local.tee",
        0x23 => "global.get",
        0x24 => "global.set",
        0x25 => "table.get",
        0x26 => "table.set",
        0x3f => "memory.size",
        0x40 => "memory.grow",
        0x41 => "i32.const",
        0x42 => "i64.const",
        0x43 => "f32.const",
        0x44 => "f64.const",
        0xd0 => "ref.null",
        0xd1 => "ref.is_null",
        0xd2 => "ref.func",
        0xfc => "<0xfc prefix>",
        _ => "<unknown>",
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    #[test]
    fn table_is_consistent() {
        let mut n = 0;
        for op in 0..=255u8 {
            if let Some(s) = simple(op) {
                n += 1;
                assert!(s.results.len() <= 1);
                assert_eq!(s.align.is_some(), (0x28..=0x3e).contains(&op), "{}", s.name);
                if let Some(a) = s.align {
                    let width: u32 = s.name.split('.').nth(1).map_or(0, |x| match x {
                        x if x.starts_with("load8") || x.starts_with("store8") => 1,
                        x if x.starts_with("load16") || x.starts_with("store16") => 2,
                        x if x.starts_with("load32") || x.starts_with("store32") => 4,
                        _ => if s.name.starts_with("i64") || s.name.starts_with("f64") { 8 } else { 4 },
                    });
                    assert_eq!(1u32 << a, width, "{}", s.name);
                }
            }
        }
        assert_eq!(n, 23 + 128);
        // The packed table says the same as the rows.
        for op in 0..=255u8 {
            let shape = SHAPES[op as usize];
            match simple(op) {
                None => assert_eq!(shape, 0, "{op:#x}"),
                Some(s) => {
                    let kind = shape >> 4 & 3;
                    let mut params = std::vec![type_of(shape)];
                    if kind == 2 {
                        params.push(type_of(shape));
                    }
                    if kind == 3 {
                        params.insert(0, ValType::I32);
                    }
                    assert_eq!(&params[..], s.params, "{}", s.name);
                    if kind == 3 {
                        assert!(s.results.is_empty(), "{}", s.name);
                    } else {
                        assert_eq!(&[type_of(shape >> 2)][..], s.results, "{}", s.name);
                    }
                    assert_eq!(s.align.unwrap_or(0), shape >> 6, "{}", s.name);
                }
            }
        }
    }
}
