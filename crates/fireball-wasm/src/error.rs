//! One error type per stage of the data flow: [`DecodeError`] (malformed bytes),
//! [`ValidateError`] (well-formed but invalid), [`LoadError`] (either, from
//! `Module::new`) and [`InstantiateError`]. Each names the byte offset or the
//! index that lets a user find the fault. Run-time faults are `Trap`s (see `trap`).

use core::fmt;

/// Why a module was refused: one byte, not a string, so a firmware pays for the
/// messages only if it prints them ([`Reason::message`], `Display`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(u8)]
pub enum Reason {
    /// unexpected end
    UnexpectedEnd,
    /// magic header not detected
    MagicHeaderNotDetected,
    /// unknown binary version
    UnknownBinaryVersion,
    /// malformed section id
    MalformedSectionId,
    /// section size mismatch: length out of bounds
    SectionOutOfBounds,
    /// unexpected content after last section
    UnexpectedContentAfterLastSection,
    /// unknown type
    UnknownType,
    /// unknown function
    UnknownFunction,
    /// start function must have type \\[\\] -> \\[\\]
    StartType,
    /// section size mismatch
    SectionSizeMismatch,
    /// multiple memories
    MultipleMemories,
    /// function and code section have inconsistent lengths
    FunctionAndCodeSectionHaveInconsistentLengths,
    /// data count and data section have inconsistent lengths
    DataCountAndDataSectionHaveInconsistentLengths,
    /// integer representation too long: malformed function type
    MalformedFuncType,
    /// implementation limit: more than 65535 parameters or results
    TooManyParametersOrResults,
    /// malformed import kind
    MalformedImportKind,
    /// integer too large: malformed limits flags
    MalformedLimits,
    /// size minimum must not be greater than maximum
    SizeMinimumMustNotBeGreaterThanMaximum,
    /// memory64 and shared memories are not supported
    MemoryKindUnsupported,
    /// malformed memory page size
    MalformedMemoryPageSize,
    /// invalid custom page size
    InvalidCustomPageSize,
    /// memory size must be at most 4GiB
    MemoryTooLarge,
    /// memory size must be at most 65536 pages (4GiB)
    MemoryTooLargePages,
    /// malformed export kind
    MalformedExportKind,
    /// unknown table
    UnknownTable,
    /// unknown memory
    UnknownMemory,
    /// unknown global
    UnknownGlobal,
    /// duplicate export name
    DuplicateExportName,
    /// malformed elements segment kind
    MalformedElementsSegmentKind,
    /// malformed element kind
    MalformedElementKind,
    /// type mismatch: element segment does not match table
    ElemTableMismatch,
    /// malformed data segment kind
    MalformedDataSegmentKind,
    /// unexpected end of section or function
    UnexpectedEndOfSectionOrFunction,
    /// implementation limit: branch over more than 2 GiB of code
    BranchTooFar,
    /// constant expression required
    ConstantExpressionRequired,
    /// type mismatch
    TypeMismatch,
    /// malformed mutability
    MalformedMutability,
    /// implementation limit: operand stack deeper than 65535 values
    StackTooDeep,
    /// type mismatch: operand stack underflow
    StackUnderflow,
    /// type mismatch: reference expected
    ReferenceExpected,
    /// unknown label
    UnknownLabel,
    /// malformed block type
    MalformedBlockType,
    /// unknown local
    UnknownLocal,
    /// alignment must not be larger than natural
    AlignmentMustNotBeLargerThanNatural,
    /// unknown memory 0
    NoMemory,
    /// zero byte expected
    ZeroByteExpected,
    /// data count section required
    DataCountSectionRequired,
    /// unknown data segment
    UnknownDataSegment,
    /// unknown elem segment
    UnknownElemSegment,
    /// too many locals
    LocalsOverflow,
    /// implementation limit: more than 50000 locals in a function
    TooManyLocals,
    /// else without matching if
    ElseWithoutMatchingIf,
    /// type mismatch: values remaining on stack at end of block
    ValuesRemaining,
    /// type mismatch: if without else must leave its parameters unchanged
    IfWithoutElse,
    /// type mismatch: br_table targets have different arities
    BrTableArity,
    /// type mismatch: call_indirect needs a funcref table
    IndirectNeedsFuncref,
    /// type mismatch: tail call results differ from the caller's
    TailCallResults,
    /// type mismatch: select needs numeric operands
    SelectNeedsNumeric,
    /// invalid result arity
    InvalidResultArity,
    /// global is immutable
    GlobalIsImmutable,
    /// undeclared function reference
    UndeclaredFunctionReference,
    /// illegal opcode
    IllegalOpcode,
    /// section size mismatch: END opcode expected
    EndExpected,
    /// integer representation too long
    IntegerRepresentationTooLong,
    /// integer too large
    IntegerTooLarge,
    /// length out of bounds
    LengthOutOfBounds,
    /// malformed UTF-8 encoding
    MalformedUTF8Encoding,
    /// SIMD (v128) is not supported
    SimdUnsupported,
    /// malformed value type
    MalformedValueType,
    /// malformed reference type
    MalformedReferenceType,
    /// not a packed Fireball module (no FBX header)
    NotPacked,
    /// packed module of another version: pack it again with this Fireball
    PackedVersion,
    /// malformed packed module header
    MalformedPackedModuleHeader,
    /// packed module truncated or with trailing bytes
    PackedLength,
    /// packed module damaged: hash mismatch
    PackedHash,
    /// out of memory while loading module
    OutOfMemory,
    /// packed side table differs from what the validator computes
    SideTableMismatch,
}

impl Reason {
    /// The rule or fault in words (the spec's words where it has them).
    pub fn message(self) -> &'static str {
        match self {
            Reason::UnexpectedEnd => "unexpected end",
            Reason::MagicHeaderNotDetected => "magic header not detected",
            Reason::UnknownBinaryVersion => "unknown binary version",
            Reason::MalformedSectionId => "malformed section id",
            Reason::SectionOutOfBounds => "section size mismatch: length out of bounds",
            Reason::UnexpectedContentAfterLastSection => "unexpected content after last section",
            Reason::UnknownType => "unknown type",
            Reason::UnknownFunction => "unknown function",
            Reason::StartType => "start function must have type [] -> []",
            Reason::SectionSizeMismatch => "section size mismatch",
            Reason::MultipleMemories => "multiple memories",
            Reason::FunctionAndCodeSectionHaveInconsistentLengths => "function and code section have inconsistent lengths",
            Reason::DataCountAndDataSectionHaveInconsistentLengths => "data count and data section have inconsistent lengths",
            Reason::MalformedFuncType => "integer representation too long: malformed function type",
            Reason::TooManyParametersOrResults => "implementation limit: more than 65535 parameters or results",
            Reason::MalformedImportKind => "malformed import kind",
            Reason::MalformedLimits => "integer too large: malformed limits flags",
            Reason::SizeMinimumMustNotBeGreaterThanMaximum => "size minimum must not be greater than maximum",
            Reason::MemoryKindUnsupported => "memory64 and shared memories are not supported",
            Reason::MalformedMemoryPageSize => "malformed memory page size",
            Reason::InvalidCustomPageSize => "invalid custom page size",
            Reason::MemoryTooLarge => "memory size must be at most 4GiB",
            Reason::MemoryTooLargePages => "memory size must be at most 65536 pages (4GiB)",
            Reason::MalformedExportKind => "malformed export kind",
            Reason::UnknownTable => "unknown table",
            Reason::UnknownMemory => "unknown memory",
            Reason::UnknownGlobal => "unknown global",
            Reason::DuplicateExportName => "duplicate export name",
            Reason::MalformedElementsSegmentKind => "malformed elements segment kind",
            Reason::MalformedElementKind => "malformed element kind",
            Reason::ElemTableMismatch => "type mismatch: element segment does not match table",
            Reason::MalformedDataSegmentKind => "malformed data segment kind",
            Reason::UnexpectedEndOfSectionOrFunction => "unexpected end of section or function",
            Reason::BranchTooFar => "implementation limit: branch over more than 2 GiB of code",
            Reason::ConstantExpressionRequired => "constant expression required",
            Reason::TypeMismatch => "type mismatch",
            Reason::MalformedMutability => "malformed mutability",
            Reason::StackTooDeep => "implementation limit: operand stack deeper than 65535 values",
            Reason::StackUnderflow => "type mismatch: operand stack underflow",
            Reason::ReferenceExpected => "type mismatch: reference expected",
            Reason::UnknownLabel => "unknown label",
            Reason::MalformedBlockType => "malformed block type",
            Reason::UnknownLocal => "unknown local",
            Reason::AlignmentMustNotBeLargerThanNatural => "alignment must not be larger than natural",
            Reason::NoMemory => "unknown memory 0",
            Reason::ZeroByteExpected => "zero byte expected",
            Reason::DataCountSectionRequired => "data count section required",
            Reason::UnknownDataSegment => "unknown data segment",
            Reason::UnknownElemSegment => "unknown elem segment",
            Reason::LocalsOverflow => "too many locals",
            Reason::TooManyLocals => "implementation limit: more than 50000 locals in a function",
            Reason::ElseWithoutMatchingIf => "else without matching if",
            Reason::ValuesRemaining => "type mismatch: values remaining on stack at end of block",
            Reason::IfWithoutElse => "type mismatch: if without else must leave its parameters unchanged",
            Reason::BrTableArity => "type mismatch: br_table targets have different arities",
            Reason::IndirectNeedsFuncref => "type mismatch: call_indirect needs a funcref table",
            Reason::TailCallResults => "type mismatch: tail call results differ from the caller's",
            Reason::SelectNeedsNumeric => "type mismatch: select needs numeric operands",
            Reason::InvalidResultArity => "invalid result arity",
            Reason::GlobalIsImmutable => "global is immutable",
            Reason::UndeclaredFunctionReference => "undeclared function reference",
            Reason::IllegalOpcode => "illegal opcode",
            Reason::EndExpected => "section size mismatch: END opcode expected",
            Reason::IntegerRepresentationTooLong => "integer representation too long",
            Reason::IntegerTooLarge => "integer too large",
            Reason::LengthOutOfBounds => "length out of bounds",
            Reason::MalformedUTF8Encoding => "malformed UTF-8 encoding",
            Reason::SimdUnsupported => "SIMD (v128) is not supported",
            Reason::MalformedValueType => "malformed value type",
            Reason::MalformedReferenceType => "malformed reference type",
            Reason::NotPacked => "not a packed Fireball module (no FBX header)",
            Reason::PackedVersion => "packed module of another version: pack it again with this Fireball",
            Reason::MalformedPackedModuleHeader => "malformed packed module header",
            Reason::PackedLength => "packed module truncated or with trailing bytes",
            Reason::PackedHash => "packed module damaged: hash mismatch",
            Reason::OutOfMemory => "out of memory while loading module",
            Reason::SideTableMismatch => "packed side table differs from what the validator computes",
        }
    }

    /// Whether the bytes are malformed (a decoding fault) rather than a well-formed
    /// module that breaks a validation rule.
    pub fn is_malformed(self) -> bool {
        !matches!(
            self,
            Reason::StartType
                | Reason::MultipleMemories
                | Reason::TooManyParametersOrResults
                | Reason::SizeMinimumMustNotBeGreaterThanMaximum
                | Reason::InvalidCustomPageSize
                | Reason::MemoryTooLarge
                | Reason::MemoryTooLargePages
                | Reason::UnknownType
                | Reason::UnknownFunction
                | Reason::UnknownTable
                | Reason::UnknownMemory
                | Reason::UnknownGlobal
                | Reason::UnknownLabel
                | Reason::UnknownLocal
                | Reason::UnknownDataSegment
                | Reason::UnknownElemSegment
                | Reason::DuplicateExportName
                | Reason::ElemTableMismatch
                | Reason::BranchTooFar
                | Reason::ConstantExpressionRequired
                | Reason::TypeMismatch
                | Reason::StackTooDeep
                | Reason::StackUnderflow
                | Reason::ReferenceExpected
                | Reason::AlignmentMustNotBeLargerThanNatural
                | Reason::NoMemory
                | Reason::DataCountSectionRequired
                | Reason::TooManyLocals
                | Reason::ElseWithoutMatchingIf
                | Reason::ValuesRemaining
                | Reason::IfWithoutElse
                | Reason::BrTableArity
                | Reason::IndirectNeedsFuncref
                | Reason::TailCallResults
                | Reason::SelectNeedsNumeric
                | Reason::InvalidResultArity
                | Reason::GlobalIsImmutable
                | Reason::UndeclaredFunctionReference
                | Reason::OutOfMemory
                | Reason::SideTableMismatch
        )
    }
}

/// What the decoder and validator carry through `?`: a byte offset and a
/// [`Reason`] in eight bytes, so that on a 32-bit target a `Result<u32, Fail>`
/// comes back in two registers rather than through memory (the load path's code
/// is a third smaller for it). [`LoadError`] is built from it once, at the API.
/// For [`Reason::SideTableMismatch`], `at` is the index of the wrong side-table word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fail {
    pub(crate) at: u32,
    pub(crate) reason: Reason,
}

/// A fault at byte `at` (offsets saturate at 4 GiB, past any module a device loads).
#[inline]
pub(crate) fn fail(at: usize, reason: Reason) -> Fail {
    Fail { at: u32::try_from(at).unwrap_or(u32::MAX), reason }
}

impl From<OutOfMemory> for Fail {
    #[inline]
    fn from(_: OutOfMemory) -> Self {
        Fail { at: 0, reason: Reason::OutOfMemory }
    }
}

impl From<Fail> for LoadError {
    fn from(f: Fail) -> Self {
        let offset = f.at as usize;
        match f.reason {
            Reason::OutOfMemory => LoadError::OutOfMemory,
            Reason::SideTableMismatch => LoadError::SideTable { entry: f.at },
            reason if reason.is_malformed() => LoadError::Decode(DecodeError { offset, reason }),
            reason => LoadError::Validate(ValidateError { offset, reason }),
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// The bytes are not a well-formed WebAssembly binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeError {
    /// Absolute byte offset in the module.
    pub offset: usize,
    /// What was wrong.
    pub reason: Reason,
}

/// The module is well-formed but breaks a validation rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidateError {
    /// Absolute byte offset in the module.
    pub offset: usize,
    /// The rule that was broken.
    pub reason: Reason,
}

/// Why `Module::new` refused a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoadError {
    /// Malformed bytes.
    Decode(DecodeError),
    /// Invalid module.
    Validate(ValidateError),
    /// The allocator could not provide the module's metadata.
    OutOfMemory,
    /// A packed module's side table differs from what the validator computes for its
    /// code: corrupted or forged, refused.
    SideTable {
        /// Index of the first wrong side-table word (8 bytes each: its byte offset in
        /// the packed table is `entry * 8`), or the number of words the code needs when
        /// the table is longer.
        entry: u32,
    },
}

impl LoadError {
    /// Byte offset of the fault, if it has one.
    pub fn offset(&self) -> Option<usize> {
        match self {
            LoadError::Decode(e) => Some(e.offset),
            LoadError::Validate(e) => Some(e.offset),
            LoadError::OutOfMemory => None,
            LoadError::SideTable { .. } => None,
        }
    }
}

impl From<DecodeError> for LoadError {
    fn from(e: DecodeError) -> Self {
        LoadError::Decode(e)
    }
}

impl From<ValidateError> for LoadError {
    fn from(e: ValidateError) -> Self {
        LoadError::Validate(e)
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // A well-formed module that uses what the engine leaves out is not "malformed".
            LoadError::Decode(e) if matches!(e.reason, Reason::SimdUnsupported | Reason::MemoryKindUnsupported) => {
                write!(f, "unsupported feature at offset {:#x}: {}", e.offset, e.reason)
            }
            LoadError::Decode(e) => write!(f, "malformed module at offset {:#x}: {}", e.offset, e.reason),
            LoadError::Validate(e) => write!(f, "invalid module at offset {:#x}: {}", e.offset, e.reason),
            LoadError::OutOfMemory => f.write_str("out of memory while loading module"),
            LoadError::SideTable { entry } => write!(
                f,
                "packed side table refused: word {entry} (byte {:#x} of the table) is not what the validator computes",
                *entry as u64 * 8
            ),
        }
    }
}

/// Why instantiation failed (before any code ran).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InstantiateError {
    /// Import number `index` has no provider.
    UnknownImport {
        /// Index in the module's import section.
        index: u32,
    },
    /// Import number `index` was provided with the wrong kind or type.
    IncompatibleImport {
        /// Index in the module's import section.
        index: u32,
    },
    /// A table's minimum size exceeds the embedder's limit.
    TableLimit,
    /// The instance's allocator (its partition) is exhausted.
    OutOfMemory,
    /// The store already holds 65 535 instances, or 65 535 distinct function signatures.
    StoreLimit,
    /// An active segment did not fit its table or memory (the trap is in `trap`).
    SegmentOutOfBounds(crate::trap::TrapCode),
}

impl fmt::Display for InstantiateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstantiateError::UnknownImport { index } => write!(f, "unknown import #{index}"),
            InstantiateError::IncompatibleImport { index } => write!(f, "incompatible import type for import #{index}"),
            InstantiateError::TableLimit => f.write_str("table minimum exceeds the host limit"),
            InstantiateError::OutOfMemory => f.write_str("out of memory during instantiation"),
            InstantiateError::StoreLimit => {
                f.write_str("implementation limit: a store holds at most 65535 instances and 65535 distinct function signatures")
            }
            InstantiateError::SegmentOutOfBounds(t) => write!(f, "{t}"),
        }
    }
}

/// The allocator refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfMemory;

impl From<OutOfMemory> for LoadError {
    fn from(_: OutOfMemory) -> Self {
        LoadError::OutOfMemory
    }
}

impl From<OutOfMemory> for InstantiateError {
    fn from(_: OutOfMemory) -> Self {
        InstantiateError::OutOfMemory
    }
}

/// Push onto an allocator-backed vector, reporting exhaustion instead of aborting.
pub(crate) fn try_push<T, A: allocator_api2::alloc::Allocator>(
    v: &mut allocator_api2::vec::Vec<T, A>,
    x: T,
) -> Result<(), OutOfMemory> {
    v.try_reserve(1).map_err(|_| OutOfMemory)?;
    // Not `push`: it would inline a second growth path that cannot run.
    v.push_within_capacity(x).map_err(|_| OutOfMemory)
}

/// Push into room reserved beforehand (an exact `try_reserve` for a count known up
/// front): no growth path is compiled in. Without room it reports exhaustion.
#[inline]
pub(crate) fn push_reserved<T, A: allocator_api2::alloc::Allocator>(
    v: &mut allocator_api2::vec::Vec<T, A>,
    x: T,
) -> Result<(), OutOfMemory> {
    v.push_within_capacity(x).map_err(|_| OutOfMemory)
}

/// Extend `v` with copies of `x` to `n` items, reserving exactly, reporting
/// exhaustion instead of aborting. Out of line: allocator_api2 inlines its
/// growth path into every call site, so this keeps one copy per element type.
#[inline(never)]
pub(crate) fn try_resize<T: Clone, A: allocator_api2::alloc::Allocator>(
    v: &mut allocator_api2::vec::Vec<T, A>,
    n: usize,
    x: T,
) -> Result<(), OutOfMemory> {
    v.try_reserve_exact(n.saturating_sub(v.len())).map_err(|_| OutOfMemory)?;
    // The fill value hidden from the optimiser: zeroing bytes then calls the same
    // `memset` as `memory.fill`, and zeroing words is a store loop, instead of
    // compiler-builtins' separate `memclr` and `memclr8` (~380 B on a Cortex-M).
    v.resize(n, core::hint::black_box(x));
    Ok(())
}
