//! Types of the WebAssembly type system as the decoder produces them and the
//! validator and store consume them.

use crate::error::{fail, Fail, Reason};
use crate::reader::Reader;

/// A value type. SIMD (`v128`) is not supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ValType {
    /// 32-bit integer.
    I32 = 0x7f,
    /// 64-bit integer.
    I64 = 0x7e,
    /// 32-bit IEEE float.
    F32 = 0x7d,
    /// 64-bit IEEE float.
    F64 = 0x7c,
    /// Function reference.
    FuncRef = 0x70,
    /// External (host) reference.
    ExternRef = 0x6f,
}

impl ValType {
    /// Decode from its binary encoding.
    #[inline(never)]
    pub fn from_byte(b: u8) -> Option<ValType> {
        Some(match b {
            0x7f => ValType::I32,
            0x7e => ValType::I64,
            0x7d => ValType::F32,
            0x7c => ValType::F64,
            0x70 => ValType::FuncRef,
            0x6f => ValType::ExternRef,
            _ => return None,
        })
    }

    #[inline(never)]
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<ValType, Fail> {
        let at = r.pos();
        let b = r.u8()?;
        ValType::from_byte(b).ok_or(fail(at, if b == 0x7b { Reason::SimdUnsupported } else { Reason::MalformedValueType }))
    }

    #[inline(never)]
    pub(crate) fn read_ref(r: &mut Reader<'_>) -> Result<ValType, Fail> {
        let at = r.pos();
        match ValType::read(r)? {
            t @ (ValType::FuncRef | ValType::ExternRef) => Ok(t),
            _ => Err(fail(at, Reason::MalformedReferenceType)),
        }
    }

    /// Whether this is `funcref` or `externref`.
    pub fn is_ref(self) -> bool {
        matches!(self, ValType::FuncRef | ValType::ExternRef)
    }

    /// Lower-case text-format name.
    pub fn name(self) -> &'static str {
        match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
            ValType::FuncRef => "funcref",
            ValType::ExternRef => "externref",
        }
    }
}

/// A function signature, borrowed from the module or store that holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuncType<'a> {
    /// Parameter types.
    pub params: &'a [ValType],
    /// Result types.
    pub results: &'a [ValType],
}

/// Size limits of a table or memory, in elements or pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Initial size.
    pub min: u64,
    /// Maximum size, if declared.
    pub max: Option<u64>,
}

impl Limits {
    /// Import subtyping: `self` (the provided object's current limits) matches `import`.
    pub fn matches(&self, import: &Limits) -> bool {
        self.min >= import.min
            && match (self.max, import.max) {
                (_, None) => true,
                (Some(a), Some(b)) => a <= b,
                (None, Some(_)) => false,
            }
    }
}

/// A table's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableType {
    /// `funcref` or `externref`.
    pub elem: ValType,
    /// Size limits in elements.
    pub limits: Limits,
}

/// A memory's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryType {
    /// Size limits in pages.
    pub limits: Limits,
    /// log2 of the page size: 16 (64 KiB) normally, 0 (1 byte) with custom-page-sizes.
    pub page_size_log2: u8,
}

impl MemoryType {
    /// Page size in bytes.
    pub fn page_size(&self) -> u64 {
        1u64 << self.page_size_log2
    }

    /// The largest number of pages a 32-bit memory may have.
    pub fn max_pages_allowed(&self) -> u64 {
        (1u64 << 32) >> self.page_size_log2
    }
}

/// A global's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlobalType {
    /// Value type.
    pub ty: ValType,
    /// Whether `global.set` is allowed.
    pub mutable: bool,
}

/// The kind of an import or export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExternKind {
    /// A function.
    Func,
    /// A table.
    Table,
    /// A memory.
    Memory,
    /// A global.
    Global,
}

/// The type of a block, `if` or `loop`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockType {
    /// `[] -> []`
    Empty,
    /// `[] -> [t]`
    Value(ValType),
    /// A function type by index.
    Func(u32),
}
