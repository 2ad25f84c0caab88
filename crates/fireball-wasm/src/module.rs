//! Decode: `&[u8]` → [`Module`]. Parses every section of the binary format,
//! borrowing the bytes (a `&'static [u8]` in flash works; function code is
//! never copied), checks the module-level validation rules as it goes, and
//! hands each function body to `validate`, which builds its side table.

use allocator_api2::alloc::{Allocator, Global};
use allocator_api2::vec::Vec;

use crate::error::{fail, Fail, LoadError, OutOfMemory, Reason};
use crate::pack::Prevalidated;
use crate::reader::Reader;
use crate::sidetable::{self, Entry, Header, ENTRY_BYTES, HEADER_ENTRIES, WIDE_BYTES};
use crate::types::*;
use crate::validate;

/// Which optional proposals the loader accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// `return_call`, `return_call_indirect`.
    pub tail_call: bool,
    /// `i32/i64.add/sub/mul` in constant expressions.
    pub extended_const: bool,
    /// Memories with a declared page size (1 byte or 64 KiB).
    pub custom_page_sizes: bool,
    /// More than one memory per module (memory indices in memargs and bulk ops).
    pub multi_memory: bool,
}

impl Default for Features {
    fn default() -> Self {
        Features { tail_call: true, extended_const: true, custom_page_sizes: true, multi_memory: false }
    }
}

/// A signature stored as a range of the module's value-type pool.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TypeSlot {
    pub start: u32,
    pub params: u16,
    pub results: u16,
}

/// What an import provides.
#[derive(Debug, Clone, Copy)]
pub enum ImportDesc {
    /// A function of the given type index.
    Func(u32),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
    /// A global.
    Global(GlobalType),
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Import {
    pub module: (u32, u32),
    pub name: (u32, u32),
    pub desc: ImportDesc,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Export {
    pub name: (u32, u32),
    pub kind: ExternKind,
    pub index: u32,
}

/// A defined global: type and the offset of its constant initializer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GlobalDef {
    pub ty: GlobalType,
    /// Offset of the init expression (0 for imported globals).
    pub init: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SegmentMode {
    Passive,
    Active { index: u32, offset: u32 },
    Declarative,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct ElemSegment {
    pub mode: SegmentMode,
    pub ty: ValType,
    /// Offset of the first item; items are function indices or constant expressions.
    pub items: u32,
    pub count: u32,
    pub exprs: bool,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct DataSegment {
    pub mode: SegmentMode,
    pub start: u32,
    pub len: u32,
}

/// Where a defined function's code and side-table header are: the only
/// per-function record a module keeps in RAM (8 bytes). Everything else a
/// call needs is in the header words at `side[stp_start]` ([`Header`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FuncBody {
    /// Offset of the first instruction.
    pub code_start: u32,
    /// Index of the function's first side-table word (its header).
    pub stp_start: u32,
}

/// A defined function's facts: its [`FuncBody`] and its decoded [`Header`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FuncInfo {
    /// Offset of the first instruction.
    pub code_start: u32,
    /// Offset one past the function's final `end`.
    pub code_end: u32,
    /// Index of the function's first branch entry (after its header).
    pub stp_start: u32,
    /// The header.
    pub header: Header,
}

/// The side table and its overflow records: built in RAM by the validator
/// (`Owned`), or borrowed from a packed module and checked by it (`Packed`).
pub(crate) enum SideTable<'b, A: Allocator> {
    Owned { side: Vec<u8, A>, overflow: Vec<u8, A> },
    Packed { side: &'b [u8], overflow: &'b [u8] },
}

impl<A: Allocator> SideTable<'_, A> {
    pub(crate) fn side(&self) -> &[u8] {
        match self {
            SideTable::Owned { side, .. } => side,
            SideTable::Packed { side, .. } => side,
        }
    }

    pub(crate) fn overflow(&self) -> &[u8] {
        match self {
            SideTable::Owned { overflow, .. } => overflow,
            SideTable::Packed { overflow, .. } => overflow,
        }
    }
}

/// A decoded and validated module. It borrows its bytes; the metadata it owns
/// (types, bodies, side table) is allocated from `A`.
pub struct Module<'b, A: Allocator + Clone = Global> {
    pub(crate) bytes: &'b [u8],
    pub(crate) valtypes: Vec<ValType, A>,
    pub(crate) types: Vec<TypeSlot, A>,
    /// Type index of every function, imports first.
    pub(crate) funcs: Vec<u32, A>,
    pub(crate) tables: Vec<TableType, A>,
    pub(crate) memories: Vec<MemoryType, A>,
    pub(crate) globals: Vec<GlobalDef, A>,
    pub(crate) imports: Vec<Import, A>,
    pub(crate) exports: Vec<Export, A>,
    pub(crate) elems: Vec<ElemSegment, A>,
    pub(crate) datas: Vec<DataSegment, A>,
    pub(crate) bodies: Vec<FuncBody, A>,
    pub(crate) side: SideTable<'b, A>,
    pub(crate) start: Option<u32>,
    pub(crate) imported_funcs: u32,
    pub(crate) imported_tables: u32,
    pub(crate) imported_memories: u32,
    pub(crate) imported_globals: u32,
    pub(crate) data_count: Option<u32>,
    /// Bitset of functions that may be named by `ref.func` in code.
    pub(crate) declared_refs: Vec<u32, A>,
    /// Offset and length of the `name` custom section, if any.
    pub(crate) name_section: Option<(u32, u32)>,
    pub(crate) features: Features,
}

use fail as verr;
use fail as derr;

/// Reserve room for exactly `n` more (a section's count is known before its items:
/// reserving it exactly leaves no doubling slack and no holes in a small partition).
pub(crate) fn reserve<T, A: Allocator>(v: &mut Vec<T, A>, n: u32) -> Result<(), Fail> {
    v.try_reserve_exact(n as usize).map_err(|_| Fail::from(OutOfMemory))
}

/// Push one more, growing by exactly one (imports: their kinds are not counted
/// beforehand, and no vector of a loaded module keeps slack).
fn push_exact<T, A: Allocator>(v: &mut Vec<T, A>, x: T) -> Result<(), Fail> {
    reserve(v, 1)?;
    push_reserved(v, x)
}

/// Push into room [`reserve`]d for it (no growth path).
pub(crate) fn push_reserved<T, A: Allocator>(v: &mut Vec<T, A>, x: T) -> Result<(), Fail> {
    Ok(crate::error::push_reserved(v, x)?)
}

/// The code section's body count, which must be the function section's (`defined`).
#[inline(always)]
fn code_count(s: &mut Reader<'_>, defined: u32) -> Result<u32, Fail> {
    let at = s.pos();
    let n = s.count()?;
    if n != defined {
        return Err(derr(at, Reason::FunctionAndCodeSectionHaveInconsistentLengths));
    }
    Ok(n)
}

/// The next body of the code section: where it starts and its size, which must fit
/// the section. The reader stays at the start (callers skip the body when done).
#[inline(always)]
fn next_body(s: &mut Reader<'_>) -> Result<(usize, usize), Fail> {
    let size = s.u32()? as usize;
    let start = s.pos();
    if size > s.remaining() {
        return Err(derr(start, Reason::UnexpectedEndOfSectionOrFunction));
    }
    Ok((start, size))
}

/// Entry `i` of a packed function index.
fn index_entry(index: &[u8], i: u32) -> Option<u32> {
    let at = i as usize * 4;
    index.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Push, reporting allocator exhaustion as a load error.
pub(crate) fn push<T, A: Allocator>(v: &mut Vec<T, A>, x: T) -> Result<(), Fail> {
    Ok(crate::error::try_push(v, x)?)
}

impl<'b> Module<'b, Global> {
    /// Decode and validate `bytes` with the global allocator and all supported features.
    pub fn new(bytes: &'b [u8]) -> Result<Self, LoadError> {
        Self::new_in(bytes, Features::default(), Global)
    }

    /// Load a packed module (see [`crate::pack`]) with the global allocator and all supported features.
    pub fn from_packed(packed: &'b [u8]) -> Result<Self, LoadError> {
        Self::from_packed_in(packed, Features::default(), Global)
    }
}

impl<'b, A: Allocator + Clone> Module<'b, A> {
    /// Decode and validate `bytes`, allocating the module's metadata (side table
    /// included) from `alloc`.
    pub fn new_in(bytes: &'b [u8], features: Features, alloc: A) -> Result<Self, LoadError> {
        let side = SideTable::Owned { side: Vec::new_in(alloc.clone()), overflow: Vec::new_in(alloc.clone()) };
        Self::load::<false, false>(bytes, side, &[], features, alloc)
    }

    /// Load a packed module: its wasm bytes and its side table stay where they are
    /// (flash); the validator runs as for [`Module::new_in`] but *checks* every
    /// side-table word against the packed one instead of storing it, so a corrupted
    /// or forged table is refused ([`LoadError::SideTable`]) and never trusted.
    /// Only the per-function records and the module-level metadata come from `alloc`.
    pub fn from_packed_in(packed: &'b [u8], features: Features, alloc: A) -> Result<Self, LoadError> {
        let p = crate::pack::parse(packed)?;
        Self::load::<true, false>(p.wasm, SideTable::Packed { side: p.side, overflow: p.overflow }, p.index, features, alloc)
    }

    /// Load a packed module the firmware's build validated *without validating its
    /// function bodies again* (the promise is [`Prevalidated::new`]'s): the sections
    /// are decoded and checked as always, but each body's side table is taken from
    /// the container's function index as it is. The load then costs the container's
    /// hash, the sections and a few checks per function, not the validator's ~150
    /// instructions per wasm instruction (see the README's start-up figures).
    ///
    /// What is still refused with an error: a damaged container (its hash), one of
    /// another format version, and an index or table that does not fit the module
    /// (each header is checked against its body's length, locals and signature).
    pub fn from_prevalidated_in(packed: Prevalidated<'b>, features: Features, alloc: A) -> Result<Self, LoadError> {
        let p = crate::pack::parse(packed.bytes())?;
        Self::load::<true, true>(p.wasm, SideTable::Packed { side: p.side, overflow: p.overflow }, p.index, features, alloc)
    }

    /// `PACKED`: `side` is a packed module's table, to check, and `index` its function
    /// index (see `pack`); `TRUSTED` (with `PACKED`): to use without validating the
    /// bodies. Const parameters, so a firmware links only the kind of loading it uses.
    fn load<const PACKED: bool, const TRUSTED: bool>(bytes: &'b [u8], side: SideTable<'b, A>, index: &[u8], features: Features, alloc: A) -> Result<Self, LoadError> {
        let mut m = Module {
            bytes,
            valtypes: Vec::new_in(alloc.clone()),
            types: Vec::new_in(alloc.clone()),
            funcs: Vec::new_in(alloc.clone()),
            tables: Vec::new_in(alloc.clone()),
            memories: Vec::new_in(alloc.clone()),
            globals: Vec::new_in(alloc.clone()),
            imports: Vec::new_in(alloc.clone()),
            exports: Vec::new_in(alloc.clone()),
            elems: Vec::new_in(alloc.clone()),
            datas: Vec::new_in(alloc.clone()),
            bodies: Vec::new_in(alloc.clone()),
            side,
            start: None,
            imported_funcs: 0,
            imported_tables: 0,
            imported_memories: 0,
            imported_globals: 0,
            data_count: None,
            declared_refs: Vec::new_in(alloc.clone()),
            name_section: None,
            features,
        };
        // Every vector was reserved exactly (see `slack`): nothing to give back, and
        // no `shrink_to_fit`, which aborts when an allocator refuses to shrink.
        m.decode::<PACKED, TRUSTED>(index, alloc).map_err(LoadError::from)?;
        // A packed index lists every defined function (and nothing when there are none).
        if PACKED && index.len() != m.bodies.len() * 4 {
            return Err(LoadError::from(fail(m.bodies.len(), Reason::SideTableMismatch)));
        }
        Ok(m)
    }

    #[inline(never)]
    fn decode<const PACKED: bool, const TRUSTED: bool>(&mut self, index: &[u8], alloc: A) -> Result<(), Fail> {
        let mut r = Reader::new(self.bytes, 0, self.bytes.len());
        if r.take(4).map_err(|_| derr(0, Reason::UnexpectedEnd))? != b"\0asm" {
            return Err(derr(0, Reason::MagicHeaderNotDetected));
        }
        let v = r.take(4).map_err(|_| derr(4, Reason::UnexpectedEnd))?;
        if v != [1, 0, 0, 0] {
            return Err(derr(4, Reason::UnknownBinaryVersion));
        }
        let mut last_id = 0u8;
        let mut func_count: Option<u32> = None;
        let mut saw_code = false;
        // Section order: type import func table mem global export start elem datacount code data.
        const ORDER: [u8; 13] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10];
        while !r.at_end() {
            let id_at = r.pos();
            let id = r.u8()?;
            if id > 12 {
                return Err(derr(id_at, Reason::MalformedSectionId));
            }
            let size = r.u32()? as usize;
            let start = r.pos();
            if size > r.remaining() {
                return Err(derr(start, Reason::SectionOutOfBounds));
            }
            let end = start + size;
            let mut s = Reader::new(self.bytes, start, end);
            if id == 0 {
                let (no, nl) = s.name()?;
                if self.bytes.get(no as usize..(no + nl) as usize) == Some(b"name") {
                    self.name_section = Some((s.pos() as u32, (end - s.pos()) as u32));
                }
                r.skip(size)?;
                continue;
            }
            let rank = ORDER[id as usize];
            if rank <= last_id {
                return Err(derr(id_at, Reason::UnexpectedContentAfterLastSection));
            }
            last_id = rank;
            match id {
                1 => self.type_section(&mut s)?,
                2 => self.import_section(&mut s)?,
                3 => {
                    let n = s.count()?;
                    func_count = Some(n);
                    reserve(&mut self.funcs, n)?;
                    for _ in 0..n {
                        let at = s.pos();
                        let t = s.u32()?;
                        if t as usize >= self.types.len() {
                            return Err(verr(at, Reason::UnknownType));
                        }
                        push_reserved(&mut self.funcs, t)?;
                    }
                }
                4 => {
                    let n = s.count()?;
                    reserve(&mut self.tables, n)?;
                    for _ in 0..n {
                        let t = self.table_type(&mut s)?;
                        push_reserved(&mut self.tables, t)?;
                    }
                }
                5 => {
                    let n = s.count()?;
                    reserve(&mut self.memories, n)?;
                    for _ in 0..n {
                        let t = self.memory_type(&mut s)?;
                        push_reserved(&mut self.memories, t)?;
                    }
                }
                6 => {
                    let n = s.count()?;
                    reserve(&mut self.globals, n)?;
                    for _ in 0..n {
                        let ty = global_type(&mut s)?;
                        let init = s.pos() as u32;
                        let limit = self.globals.len() as u32;
                        self.const_expr(&mut s, ty.ty, limit)?;
                        push_reserved(&mut self.globals, GlobalDef { ty, init })?;
                    }
                }
                7 => self.export_section(&mut s)?,
                8 => {
                    let at = s.pos();
                    let f = s.u32()?;
                    let ty = self.func_type(f).ok_or(verr(at, Reason::UnknownFunction))?;
                    if !ty.params.is_empty() || !ty.results.is_empty() {
                        return Err(verr(at, Reason::StartType));
                    }
                    self.start = Some(f);
                }
                9 => self.elem_section(&mut s)?,
                12 => self.data_count = Some(s.u32()?),
                10 => {
                    saw_code = true;
                    if TRUSTED {
                        self.code_section_trusted(&mut s, func_count.unwrap_or(0), index, alloc.clone())?;
                    } else {
                        self.code_section::<PACKED>(&mut s, func_count.unwrap_or(0), index, alloc.clone())?;
                    }
                }
                11 => self.data_section(&mut s)?,
                _ => return Err(derr(id_at, Reason::MalformedSectionId)),
            }
            if s.pos() != end {
                return Err(derr(s.pos(), Reason::SectionSizeMismatch));
            }
            if (id == 2 || id == 5) && self.memories.len() > 1 && !self.features.multi_memory {
                return Err(verr(id_at, Reason::MultipleMemories));
            }
            r.skip(size)?;
        }
        if func_count.unwrap_or(0) != 0 && !saw_code {
            return Err(derr(self.bytes.len(), Reason::FunctionAndCodeSectionHaveInconsistentLengths));
        }
        if let Some(n) = self.data_count {
            if n as usize != self.datas.len() {
                return Err(derr(self.bytes.len(), Reason::DataCountAndDataSectionHaveInconsistentLengths));
            }
        }
        Ok(())
    }

    fn type_section(&mut self, s: &mut Reader<'b>) -> Result<(), Fail> {
        let n = s.count()?;
        reserve(&mut self.types, n)?;
        for _ in 0..n {
            let at = s.pos();
            if s.u8()? != 0x60 {
                return Err(derr(at, Reason::MalformedFuncType));
            }
            let start = self.valtypes.len() as u32;
            let np = s.count()?;
            reserve(&mut self.valtypes, np)?;
            for _ in 0..np {
                let t = ValType::read(s)?;
                push_reserved(&mut self.valtypes, t)?;
            }
            let nr = s.count()?;
            reserve(&mut self.valtypes, nr)?;
            for _ in 0..nr {
                let t = ValType::read(s)?;
                push_reserved(&mut self.valtypes, t)?;
            }
            if np > u16::MAX as u32 || nr > u16::MAX as u32 {
                return Err(verr(at, Reason::TooManyParametersOrResults));
            }
            push_reserved(&mut self.types, TypeSlot { start, params: np as u16, results: nr as u16 })?;
        }
        Ok(())
    }

    fn import_section(&mut self, s: &mut Reader<'b>) -> Result<(), Fail> {
        let n = s.count()?;
        reserve(&mut self.imports, n)?;
        for _ in 0..n {
            let module = s.name()?;
            let name = s.name()?;
            let at = s.pos();
            let desc = match s.u8()? {
                0x00 => {
                    let t_at = s.pos();
                    let t = s.u32()?;
                    if t as usize >= self.types.len() {
                        return Err(verr(t_at, Reason::UnknownType));
                    }
                    push_exact(&mut self.funcs, t)?;
                    self.imported_funcs += 1;
                    ImportDesc::Func(t)
                }
                0x01 => {
                    let t = self.table_type(s)?;
                    push_exact(&mut self.tables, t)?;
                    self.imported_tables += 1;
                    ImportDesc::Table(t)
                }
                0x02 => {
                    let t = self.memory_type(s)?;
                    push_exact(&mut self.memories, t)?;
                    self.imported_memories += 1;
                    ImportDesc::Memory(t)
                }
                0x03 => {
                    let t = global_type(s)?;
                    push_exact(&mut self.globals, GlobalDef { ty: t, init: 0 })?;
                    self.imported_globals += 1;
                    ImportDesc::Global(t)
                }
                _ => return Err(derr(at, Reason::MalformedImportKind)),
            };
            push_reserved(&mut self.imports, Import { module, name, desc })?;
        }
        Ok(())
    }

    fn table_type(&self, s: &mut Reader<'b>) -> Result<TableType, Fail> {
        let elem = ValType::read_ref(s)?;
        let at = s.pos();
        let flags = s.u8()?;
        if flags > 1 {
            return Err(derr(at, Reason::MalformedLimits));
        }
        let min = s.u32()? as u64;
        let max = if flags == 1 { Some(s.u32()? as u64) } else { None };
        if let Some(mx) = max {
            if mx < min {
                return Err(verr(at, Reason::SizeMinimumMustNotBeGreaterThanMaximum));
            }
        }
        Ok(TableType { elem, limits: Limits { min, max } })
    }

    fn memory_type(&self, s: &mut Reader<'b>) -> Result<MemoryType, Fail> {
        let at = s.pos();
        let flags = s.u8()? as u32;
        let custom = self.features.custom_page_sizes && flags & 0x08 != 0;
        if flags & !(0x01 | if self.features.custom_page_sizes { 0x08 } else { 0 }) != 0 {
            if flags & 0x04 != 0 || flags & 0x02 != 0 {
                return Err(derr(at, Reason::MemoryKindUnsupported));
            }
            return Err(derr(at, Reason::MalformedLimits));
        }
        let min = s.u32()? as u64;
        let max = if flags & 1 != 0 { Some(s.u32()? as u64) } else { None };
        let page_size_log2 = if custom {
            let p_at = s.pos();
            let p = s.u32()?;
            if p > 64 {
                return Err(derr(p_at, Reason::MalformedMemoryPageSize));
            }
            if p != 0 && p != 16 {
                return Err(verr(p_at, Reason::InvalidCustomPageSize));
            }
            p as u8
        } else {
            16
        };
        let ty = MemoryType { limits: Limits { min, max }, page_size_log2 };
        let cap = ty.max_pages_allowed();
        if min > cap {
            return Err(verr(at, if custom { Reason::MemoryTooLarge } else { Reason::MemoryTooLargePages }));
        }
        if let Some(mx) = max {
            if mx > cap {
                return Err(verr(at, if custom { Reason::MemoryTooLarge } else { Reason::MemoryTooLargePages }));
            }
            if mx < min {
                return Err(verr(at, Reason::SizeMinimumMustNotBeGreaterThanMaximum));
            }
        }
        Ok(ty)
    }

    fn export_section(&mut self, s: &mut Reader<'b>) -> Result<(), Fail> {
        let n = s.count()?;
        reserve(&mut self.exports, n)?;
        for _ in 0..n {
            let name_at = s.pos();
            let name = s.name()?;
            let at = s.pos();
            let kind = match s.u8()? {
                0 => ExternKind::Func,
                1 => ExternKind::Table,
                2 => ExternKind::Memory,
                3 => ExternKind::Global,
                _ => return Err(derr(at, Reason::MalformedExportKind)),
            };
            let idx_at = s.pos();
            let index = s.u32()?;
            let (count, what) = match kind {
                ExternKind::Func => (self.funcs.len(), Reason::UnknownFunction),
                ExternKind::Table => (self.tables.len(), Reason::UnknownTable),
                ExternKind::Memory => (self.memories.len(), Reason::UnknownMemory),
                ExternKind::Global => (self.globals.len(), Reason::UnknownGlobal),
            };
            if index as usize >= count {
                return Err(verr(idx_at, what));
            }
            let this = self.str_at(name);
            if self.exports.iter().any(|e| self.str_at(e.name) == this) {
                return Err(verr(name_at, Reason::DuplicateExportName));
            }
            if kind == ExternKind::Func {
                self.declare_ref(index)?;
            }
            push_reserved(&mut self.exports, Export { name, kind, index })?;
        }
        Ok(())
    }

    fn elem_section(&mut self, s: &mut Reader<'b>) -> Result<(), Fail> {
        let n = s.count()?;
        reserve(&mut self.elems, n)?;
        for _ in 0..n {
            let at = s.pos();
            let flags = s.u32()?;
            if flags > 7 {
                return Err(derr(at, Reason::MalformedElementsSegmentKind));
            }
            let passive_or_decl = flags & 1 != 0;
            let explicit_table = flags & 2 != 0;
            let exprs = flags & 4 != 0;
            let mode = if passive_or_decl {
                if explicit_table {
                    SegmentMode::Declarative
                } else {
                    SegmentMode::Passive
                }
            } else {
                let t_at = s.pos();
                let table = if explicit_table { s.u32()? } else { 0 };
                if table as usize >= self.tables.len() {
                    return Err(verr(t_at, Reason::UnknownTable));
                }
                let offset = s.pos() as u32;
                self.const_expr(s, ValType::I32, self.imported_globals)?;
                SegmentMode::Active { index: table, offset }
            };
            // Element type: explicit for flags 1,2,3 (elemkind) and 5,6,7 (reftype).
            let ty_at = s.pos();
            let ty = if flags == 0 || flags == 4 {
                ValType::FuncRef
            } else if exprs {
                ValType::read_ref(s)?
            } else {
                if s.u8()? != 0 {
                    return Err(derr(ty_at, Reason::MalformedElementKind));
                }
                ValType::FuncRef
            };
            if let SegmentMode::Active { index, .. } = mode {
                if self.tables.get(index as usize).is_none_or(|t| t.elem != ty) {
                    return Err(verr(ty_at, Reason::ElemTableMismatch));
                }
            }
            let count = s.count()?;
            let items = s.pos() as u32;
            for _ in 0..count {
                if exprs {
                    let e_at = s.pos();
                    if let Some(f) = self.const_expr(s, ty, self.imported_globals)? {
                        let _ = e_at;
                        self.declare_ref(f)?;
                    }
                } else {
                    let f_at = s.pos();
                    let f = s.u32()?;
                    if f as usize >= self.funcs.len() {
                        return Err(verr(f_at, Reason::UnknownFunction));
                    }
                    self.declare_ref(f)?;
                }
            }
            push_reserved(&mut self.elems, ElemSegment { mode, ty, items, count, exprs })?;
        }
        Ok(())
    }

    fn data_section(&mut self, s: &mut Reader<'b>) -> Result<(), Fail> {
        let n = s.count()?;
        reserve(&mut self.datas, n)?;
        for _ in 0..n {
            let at = s.pos();
            let flags = s.u32()?;
            let mode = match flags {
                0 | 2 => {
                    let m_at = s.pos();
                    let mem = if flags == 2 { s.u32()? } else { 0 };
                    if mem as usize >= self.memories.len() {
                        return Err(verr(m_at, Reason::UnknownMemory));
                    }
                    let offset = s.pos() as u32;
                    self.const_expr(s, ValType::I32, self.imported_globals)?;
                    SegmentMode::Active { index: mem, offset }
                }
                1 => SegmentMode::Passive,
                _ => return Err(derr(at, Reason::MalformedDataSegmentKind)),
            };
            let len = s.u32()? as usize;
            let start = s.pos();
            s.skip(len).map_err(|_| derr(start, Reason::UnexpectedEndOfSectionOrFunction))?;
            push_reserved(&mut self.datas, DataSegment { mode, start: start as u32, len: len as u32 })?;
        }
        Ok(())
    }

    fn code_section<const PACKED: bool>(&mut self, s: &mut Reader<'b>, defined: u32, index: &[u8], alloc: A) -> Result<(), Fail> {
        let n = code_count(s, defined)?;
        let mut bodies: Vec<FuncBody, A> = Vec::new_in(alloc.clone());
        bodies.try_reserve_exact(n as usize).map_err(|_| Fail::from(OutOfMemory))?;
        // The table's final size, bounded before any body is validated: reserved now, it never
        // moves (which would leave a table-sized hole among the validator's scratch blocks).
        if let (false, SideTable::Owned { side, .. }) = (PACKED, &mut self.side) {
            if let Some(words) = validate::count_words(self.bytes, s.pos(), s.end(), n) {
                side.try_reserve_exact(words * ENTRY_BYTES).map_err(|_| Fail::from(OutOfMemory))?;
            }
        }
        let mut scratch = validate::Scratch::new_in(alloc);
        let mut stp = 0u32;
        let mut escapes = 0u32;
        for i in 0..n {
            let (start, size) = next_body(s)?;
            let mut body = Reader::new(self.bytes, start, start + size);
            let func = self.imported_funcs + i;
            let type_idx = self.funcs.get(func as usize).copied().unwrap_or(u32::MAX);
            let first = stp + HEADER_ENTRIES;
            let v = validate::function::<A, PACKED>(self, type_idx, &mut body, &mut scratch, first, escapes)?;
            let (code_start, header) = (v.code_start, v.header);
            escapes = v.escapes;
            let stp_start = stp;
            let [h0, h1] = header.pack();
            self.put::<PACKED>(stp, h0)?;
            self.put::<PACKED>(stp + 1, h1)?;
            for (k, site) in scratch.sites.iter().enumerate() {
                let own = k as u32;
                let dpc = i32::try_from(site.pc as i64 - site.at as i64).map_err(|_| verr(site.at as usize, Reason::BranchTooFar))?;
                let e = Entry { dpc, dstp: site.stp as i32 - own as i32, keep: site.keep, drop: site.drop, cost: site.cost, fall: site.fall };
                let w = match e.pack() {
                    Some(w) => w,
                    None => {
                        self.put_wide::<PACKED>(escapes, &e, first + own)?;
                        escapes += 1;
                        Entry::escape(escapes - 1)
                    }
                };
                self.put::<PACKED>(first + own, w)?;
            }
            stp = first + v.sites;
            if PACKED && index_entry(index, i) != Some(stp_start) {
                return Err(fail(stp_start as usize, Reason::SideTableMismatch));
            }
            push_reserved(&mut bodies, FuncBody { code_start, stp_start })?;
            s.skip(size)?;
        }
        if let (true, SideTable::Packed { side, overflow }) = (PACKED, &self.side) {
            // Nothing may follow the last entry: a packed table is exactly what the validator computes.
            if side.len() != stp as usize * ENTRY_BYTES || overflow.len() != escapes as usize * WIDE_BYTES {
                return Err(fail(stp as usize, Reason::SideTableMismatch));
            }
        }
        self.bodies = bodies;
        Ok(())
    }

    /// The code section of a packed module loaded with `from_prevalidated_in`:
    /// each body's locals are read to find its first instruction, its side table is
    /// where the function index says, and its header must describe it (code length,
    /// locals, signature) — which catches a container of another module or a
    /// misplaced index, not a forged one. Nothing else of the body is read.
    #[inline(never)]
    fn code_section_trusted(&mut self, s: &mut Reader<'b>, defined: u32, index: &[u8], alloc: A) -> Result<(), Fail> {
        let n = code_count(s, defined)?;
        let side = self.side.side();
        let mut bodies: Vec<FuncBody, A> = Vec::new_in(alloc);
        bodies.try_reserve_exact(n as usize).map_err(|_| Fail::from(OutOfMemory))?;
        // Each function's table starts after the previous one's header, at least.
        let mut next = 0u32;
        for i in 0..n {
            let (start, size) = next_body(s)?;
            let mut body = Reader::new(self.bytes, start, start + size);
            let mut locals = 0u64;
            for _ in 0..body.count()? {
                locals += body.u32()? as u64;
                ValType::read(&mut body)?;
            }
            let code_start = body.pos() as u32;
            let stp_start = index_entry(index, i).ok_or(fail(i as usize, Reason::SideTableMismatch))?;
            // (A checked read: the words must lie in the table.)
            if stp_start < next || (stp_start as u64 + HEADER_ENTRIES as u64) * ENTRY_BYTES as u64 > side.len() as u64 {
                return Err(fail(stp_start as usize, Reason::SideTableMismatch));
            }
            let h = Header::unpack(sidetable::word(side, stp_start as usize), sidetable::word(side, stp_start as usize + 1));
            let ft = self.funcs.get((self.imported_funcs + i) as usize).and_then(|&t| self.type_at(t)).ok_or(fail(start, Reason::UnknownType))?;
            if code_start as u64 + h.code_len as u64 != (start + size) as u64
                || h.locals as u64 != ft.params.len() as u64 + locals
                || h.params as usize != ft.params.len()
                || h.results as usize != ft.results.len()
            {
                return Err(fail(stp_start as usize, Reason::SideTableMismatch));
            }
            next = stp_start + HEADER_ENTRIES;
            push_reserved(&mut bodies, FuncBody { code_start, stp_start })?;
            s.skip(size)?;
        }
        self.bodies = bodies;
        Ok(())
    }

    /// Side-table word `index` (a branch site at code offset `at`, or a header):
    /// appended when the table is built here, compared when it is packed.
    #[inline(never)]
    fn put<const PACKED: bool>(&mut self, index: u32, w: u64) -> Result<(), Fail> {
        match (PACKED, &mut self.side) {
            (false, SideTable::Owned { side, .. }) => grow_push(side, &w.to_le_bytes()),
            (true, SideTable::Packed { side, .. }) if side.len() >= (index as usize + 1) * ENTRY_BYTES && sidetable::word(side, index as usize) == w => Ok(()),
            _ => Err(fail(index as usize, Reason::SideTableMismatch)),
        }
    }

    /// Overflow record `index` for the escaped entry `entry`.
    fn put_wide<const PACKED: bool>(&mut self, index: u32, e: &Entry, entry: u32) -> Result<(), Fail> {
        let wide = e.to_wide();
        let at = index as usize * WIDE_BYTES;
        match (PACKED, &mut self.side) {
            (false, SideTable::Owned { overflow, .. }) => grow_push(overflow, &wide),
            (true, SideTable::Packed { overflow, .. }) if overflow.get(at..at + WIDE_BYTES) == Some(&wide[..]) => Ok(()),
            _ => Err(fail(entry as usize, Reason::SideTableMismatch)),
        }
    }

    /// Bytes reserved beyond the vectors' lengths: zero after a load (tested), since
    /// a loaded module lives in a small partition for as long as it runs.
    #[cfg(test)]
    fn slack(&self) -> usize {
        fn s<T, A: Allocator>(v: &Vec<T, A>) -> usize {
            (v.capacity() - v.len()) * core::mem::size_of::<T>()
        }
        let side = match &self.side {
            SideTable::Owned { side, overflow } => s(side) + s(overflow),
            SideTable::Packed { .. } => 0,
        };
        s(&self.valtypes) + s(&self.types) + s(&self.funcs) + s(&self.tables) + s(&self.memories) + s(&self.globals)
            + s(&self.imports) + s(&self.exports) + s(&self.elems) + s(&self.datas) + s(&self.bodies)
            + s(&self.declared_refs) + side
    }

    /// Validate a constant expression of type `ty` whose `global.get`s may name
    /// globals below `globals_visible`. Returns the function named by a lone `ref.func`.
    pub(crate) fn const_expr(&mut self, s: &mut Reader<'b>, ty: ValType, globals_visible: u32) -> Result<Option<u32>, Fail> {
        // No type stack: the only operators (extended constants' i32/i64 add, sub, mul)
        // merge two values of their type into one, so in a valid expression every value
        // has the type of the first, and the stack is that type and a count.
        let mut first: Option<ValType> = None;
        let mut n = 0u32;
        let mut func_ref = None;
        loop {
            let at = s.pos();
            let op = s.u8().map_err(|_| derr(at, Reason::UnexpectedEndOfSectionOrFunction))?;
            let t = match op {
                0x0b => break,
                0x41 => {
                    s.i32()?;
                    ValType::I32
                }
                0x42 => {
                    s.i64()?;
                    ValType::I64
                }
                0x43 => {
                    s.f32_bits()?;
                    ValType::F32
                }
                0x44 => {
                    s.f64_bits()?;
                    ValType::F64
                }
                0xd0 => ValType::read_ref(s)?,
                0xd2 => {
                    let f = s.u32()?;
                    if f as usize >= self.funcs.len() {
                        return Err(verr(at, Reason::UnknownFunction));
                    }
                    self.declare_ref(f)?;
                    func_ref = Some(f);
                    ValType::FuncRef
                }
                0x23 => {
                    let g = s.u32()?;
                    let gt = match self.globals.get(g as usize) {
                        Some(d) if g < globals_visible => d.ty,
                        _ => return Err(verr(at, Reason::UnknownGlobal)),
                    };
                    if gt.mutable {
                        return Err(verr(at, Reason::ConstantExpressionRequired));
                    }
                    gt.ty
                }
                0x6a | 0x6b | 0x6c | 0x7c | 0x7d | 0x7e if self.features.extended_const => {
                    // Two operands of the operator's type in, one out (counted below).
                    let t = if op < 0x70 { ValType::I32 } else { ValType::I64 };
                    if n < 2 {
                        return Err(verr(at, Reason::TypeMismatch));
                    }
                    n -= 2;
                    t
                }
                _ => return Err(verr(at, Reason::ConstantExpressionRequired)),
            };
            if *first.get_or_insert(t) != t {
                return Err(verr(at, Reason::TypeMismatch));
            }
            n += 1;
        }
        if n != 1 || first != Some(ty) {
            return Err(verr(s.pos(), Reason::TypeMismatch));
        }
        Ok(func_ref)
    }

    fn declare_ref(&mut self, f: u32) -> Result<(), Fail> {
        let word = (f / 32) as usize;
        if self.declared_refs.len() <= word {
            // The function count is final here (the function section precedes every
            // section that declares references): one exact bitset for all of them.
            let words = self.funcs.len().div_ceil(32).max(word + 1);
            let more = (words - self.declared_refs.len()) as u32;
            reserve(&mut self.declared_refs, more)?;
            while self.declared_refs.len() < words {
                push_reserved(&mut self.declared_refs, 0)?;
            }
        }
        if let Some(w) = self.declared_refs.get_mut(word) {
            *w |= 1 << (f % 32);
        }
        Ok(())
    }

    pub(crate) fn is_declared_ref(&self, f: u32) -> bool {
        self.declared_refs.get((f / 32) as usize).is_some_and(|w| w & (1 << (f % 32)) != 0)
    }

    pub(crate) fn str_at(&self, (o, l): (u32, u32)) -> &'b str {
        self.bytes.get(o as usize..(o + l) as usize).and_then(|b| core::str::from_utf8(b).ok()).unwrap_or("")
    }

    pub(crate) fn type_at(&self, idx: u32) -> Option<FuncType<'_>> {
        let t = self.types.get(idx as usize)?;
        let s = t.start as usize;
        let p = s + t.params as usize;
        Some(FuncType { params: self.valtypes.get(s..p)?, results: self.valtypes.get(p..p + t.results as usize)? })
    }

    /// Signature of function `f` (imports first).
    #[inline(never)]
    pub fn func_type(&self, f: u32) -> Option<FuncType<'_>> {
        self.type_at(*self.funcs.get(f as usize)?)
    }

    /// The module's bytes.
    pub fn bytes(&self) -> &'b [u8] {
        self.bytes
    }

    /// Number of functions, imports included.
    pub fn func_count(&self) -> u32 {
        self.funcs.len() as u32
    }

    /// Number of imported functions (they come first in the function index space).
    pub fn imported_func_count(&self) -> u32 {
        self.imported_funcs
    }

    /// The exports: (name, kind, index).
    pub fn exports(&self) -> impl Iterator<Item = (&'b str, ExternKind, u32)> + '_ {
        self.exports.iter().map(move |e| (self.str_at(e.name), e.kind, e.index))
    }

    /// Find an export by name.
    pub fn export(&self, name: &str) -> Option<(ExternKind, u32)> {
        self.exports.iter().find(|e| self.str_at(e.name) == name).map(|e| (e.kind, e.index))
    }

    /// The imports: (module, name, description).
    pub fn imports(&self) -> impl Iterator<Item = (&'b str, &'b str, ImportDesc)> + '_ {
        self.imports.iter().map(move |i| (self.str_at(i.module), self.str_at(i.name), i.desc))
    }

    /// Bytes of linear memory 0 the module touches before it allocates anything:
    /// the highest of the end of its active data segments, the initial value of
    /// its first mutable `i32` global (a C toolchain's stack pointer, whose stack
    /// grows down from there) and an exported `__heap_base` (where wasm-ld puts
    /// the heap, after zero-initialised data that has no segment; link with
    /// `--export=__heap_base` to have it). `None` when one of these is not a
    /// plain `i32.const` (it then depends on imports).
    /// What a loader compares with the memory a partition can give.
    pub fn static_footprint(&self) -> Option<u32> {
        let const_i32 = |at: u32| -> Option<u32> {
            let mut r = Reader::new(self.bytes, at as usize, self.bytes.len());
            if r.u8().ok()? != 0x41 {
                return None;
            }
            let v = r.i32().ok()? as u32;
            (r.u8().ok()? == 0x0b).then_some(v)
        };
        let mut end = 0u32;
        for d in self.datas.iter() {
            if let SegmentMode::Active { index: 0, offset } = d.mode {
                end = end.max(const_i32(offset)?.checked_add(d.len)?);
            }
        }
        let imported = self.imported_globals as usize;
        if let Some(g) = self.globals.iter().skip(imported).find(|g| g.ty.mutable && g.ty.ty == ValType::I32) {
            end = end.max(const_i32(g.init)?);
        }
        if let Some((ExternKind::Global, i)) = self.export("__heap_base") {
            let g = self.globals.get(i as usize).filter(|_| i as usize >= imported)?;
            end = end.max(const_i32(g.init)?);
        }
        Some(end)
    }

    /// Memory types, imports first.
    pub fn memories(&self) -> &[MemoryType] {
        &self.memories
    }

    /// Table types, imports first.
    pub fn tables(&self) -> &[TableType] {
        &self.tables
    }

    /// Bodies of the defined functions.
    pub fn bodies(&self) -> &[FuncBody] {
        &self.bodies
    }

    /// Branch entries in the side table (function headers and overflow records not counted).
    pub fn side_entries(&self) -> usize {
        (self.side.side().len() / ENTRY_BYTES).saturating_sub(self.bodies.len() * HEADER_ENTRIES as usize)
    }

    /// Side-table escapes: entries whose numbers needed a 24-byte overflow record.
    pub fn side_escapes(&self) -> usize {
        self.side.overflow().len() / WIDE_BYTES
    }

    /// Bytes of side table (headers, entries and overflow records), wherever it lives.
    pub fn side_bytes(&self) -> usize {
        self.side.side().len() + self.side.overflow().len()
    }

    /// Whether the side table is borrowed from a packed module (flash) rather than built in RAM.
    pub fn is_packed(&self) -> bool {
        matches!(self.side, SideTable::Packed { .. })
    }

    /// The side table and overflow records as stored (what `pack` writes).
    pub fn side_table(&self) -> (&[u8], &[u8]) {
        (self.side.side(), self.side.overflow())
    }

    /// Defined function `i` (counted without imports): where it is and its header.
    pub fn func_info(&self, i: u32) -> Option<FuncInfo> {
        let b = *self.bodies.get(i as usize)?;
        let side = self.side.side();
        let h = Header::unpack(
            sidetable::word(side, b.stp_start as usize),
            sidetable::word(side, b.stp_start as usize + 1),
        );
        Some(FuncInfo { code_start: b.code_start, code_end: b.code_start + h.code_len, stp_start: b.stp_start + HEADER_ENTRIES, header: h })
    }

    /// Total bytes of function code (instructions; local declarations not counted).
    pub fn code_bytes(&self) -> usize {
        (0..self.bodies.len() as u32).filter_map(|i| self.func_info(i)).map(|f| f.header.code_len as usize).sum()
    }

    /// Bytes of RAM this module's metadata occupies (vectors' capacities), side table
    /// included unless it is packed (then it stays in flash with the module).
    pub fn metadata_bytes(&self) -> usize {
        let side = match &self.side {
            SideTable::Owned { side, overflow } => side.capacity() + overflow.capacity(),
            SideTable::Packed { .. } => 0,
        };
        use core::mem::size_of;
        self.valtypes.capacity() * size_of::<ValType>()
            + self.types.capacity() * size_of::<TypeSlot>()
            + self.funcs.capacity() * 4
            + self.tables.capacity() * size_of::<TableType>()
            + self.memories.capacity() * size_of::<MemoryType>()
            + self.globals.capacity() * size_of::<GlobalDef>()
            + self.imports.capacity() * size_of::<Import>()
            + self.exports.capacity() * size_of::<Export>()
            + self.elems.capacity() * size_of::<ElemSegment>()
            + self.datas.capacity() * size_of::<DataSegment>()
            + self.bodies.capacity() * size_of::<FuncBody>()
            + side
            + self.declared_refs.capacity() * 4
    }

    /// Name of function `f` from the `name` section, if the module has one.
    pub fn func_name(&self, f: u32) -> Option<&'b str> {
        let (o, l) = self.name_section?;
        let mut r = Reader::new(self.bytes, o as usize, (o + l) as usize);
        while !r.at_end() {
            let id = r.u8().ok()?;
            let size = r.u32().ok()? as usize;
            let end = r.pos() + size;
            if id == 1 {
                let n = r.u32().ok()?;
                for _ in 0..n {
                    let idx = r.u32().ok()?;
                    let name = r.name().ok()?;
                    if idx == f {
                        return Some(self.str_at(name));
                    }
                }
                return None;
            }
            r.skip(size).ok()?;
            if r.pos() != end {
                return None;
            }
        }
        None
    }
}

/// Append `bytes`, growing exactly (the side table is reserved from
/// `validate::count_words` before the first entry, so this grows only for escapes'
/// overflow records, which are rare; a loaded module keeps no slack).
fn grow_push<A: Allocator>(v: &mut Vec<u8, A>, bytes: &[u8]) -> Result<(), Fail> {
    if v.capacity() - v.len() < bytes.len() {
        v.try_reserve_exact(bytes.len()).map_err(|_| Fail::from(OutOfMemory))?;
    }
    // Byte by byte into the room (`extend_from_slice` would inline a second growth path).
    for &b in bytes {
        push_reserved(v, b)?;
    }
    Ok(())
}

fn global_type(s: &mut Reader<'_>) -> Result<GlobalType, Fail> {
    let ty = ValType::read(s)?;
    let at = s.pos();
    let mutable = match s.u8()? {
        0 => false,
        1 => true,
        _ => return Err(derr(at, Reason::MalformedMutability)),
    };
    Ok(GlobalType { ty, mutable })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alloc_vec() -> Vec<u8, Global> {
        Vec::new_in(Global)
    }

    /// Constant expressions are checked without a type stack (a type and a count):
    /// mixed types, a missing operand and a leftover value are refused, nesting is not.
    #[test]
    fn constant_expressions_without_a_type_stack() {
        extern crate std;
        use std::{format, string::ToString};
        let load = |init: &str| Module::new(&wat::parse_str(format!("(module (global i64 {init}))")).unwrap()).map(|_| ()).map_err(|e| e.to_string());
        assert_eq!(load("(i64.const 1) (i64.const 2) (i64.const 3) (i64.mul) (i64.add)"), Ok(()));
        for bad in ["(i32.const 1) (i64.const 2) (i64.add)", "(i64.const 1) (i32.const 2) (i32.const 3) (i32.add)", "(i64.const 1) (i64.add)",
            "(i64.const 1) (i64.const 2)", "(i32.const 1)", "(i32.const 1) (i32.const 2) (i32.add)", "(f64.const 1) (i64.const 1) (i64.add)"] {
            let e = load(bad).expect_err(bad);
            assert!(e.contains("type mismatch"), "{bad}: {e}");
        }
    }

    /// A loaded module keeps no reserved-but-unused bytes: every vector was
    /// reserved exactly, so nothing needs `shrink_to_fit` (which aborts when the
    /// allocator refuses) and no partition pays for slack.
    #[test]
    fn loaded_modules_keep_no_slack() {
        let wat = r#"(module
            (import "env" "f" (func $f (param i32)))
            (import "env" "g" (func $g))
            (import "env" "t" (table 1 funcref))
            (import "env" "m" (memory 1))
            (import "env" "gl" (global i32))
            (import "env" "h" (func $h (result i64)))
            (global $r funcref (ref.func $k))
            (table $t2 4 funcref)
            (elem (table $t2) (i32.const 0) func $k $k)
            (elem declare func $g)
            (export "k" (func $k))
            (data (i32.const 0) "hi")
            (func $k (param i32) (result i32)
              (block (br_if 0 (local.get 0)))
              (block (br_table 0 0 0 (local.get 0)))
              (local.get 0)))"#;
        let wasm = wat::parse_str(wat).unwrap();
        let programs: [&[u8]; 4] = [
            &wasm,
            include_bytes!("../../../examples/programs/hello-c/hello.wasm"),
            include_bytes!("../../../examples/programs/hello-rust/hello.wasm"),
            include_bytes!("../../../examples/programs/coremark/coremark.wasm"),
        ];
        for (i, bytes) in programs.iter().enumerate() {
            let m = Module::new(bytes).unwrap();
            assert_eq!(m.slack(), 0, "module {i}");
            let mut packed = alloc_vec();
            m.write_packed(|c| packed.extend_from_slice(c));
            let p = Module::from_packed(&packed).unwrap();
            assert_eq!(p.slack(), 0, "packed module {i}");
        }
    }
}
