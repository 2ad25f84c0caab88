//! One error type per stage of the data flow: [`DecodeError`] (malformed bytes),
//! [`ValidateError`] (well-formed but invalid), [`LoadError`] (either, from
//! `Module::new`) and [`InstantiateError`]. Each names the byte offset or the
//! index that lets a user find the fault. Run-time faults are `Trap`s (see `trap`).

use core::fmt;

/// The bytes are not a well-formed WebAssembly binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeError {
    /// Absolute byte offset in the module.
    pub offset: usize,
    /// What was wrong, in the spec's words where it has them.
    pub reason: &'static str,
}

/// The module is well-formed but breaks a validation rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidateError {
    /// Absolute byte offset in the module.
    pub offset: usize,
    /// The rule that was broken.
    pub reason: &'static str,
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
        /// Index of the first wrong side-table word.
        entry: u32,
        /// Code offset of the branch site (or function) it belongs to.
        offset: usize,
    },
}

impl LoadError {
    /// Byte offset of the fault, if it has one.
    pub fn offset(&self) -> Option<usize> {
        match self {
            LoadError::Decode(e) => Some(e.offset),
            LoadError::Validate(e) => Some(e.offset),
            LoadError::OutOfMemory => None,
            LoadError::SideTable { offset, .. } => Some(*offset),
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
            LoadError::Decode(e) => write!(f, "malformed module at offset {:#x}: {}", e.offset, e.reason),
            LoadError::Validate(e) => write!(f, "invalid module at offset {:#x}: {}", e.offset, e.reason),
            LoadError::OutOfMemory => f.write_str("out of memory while loading module"),
            LoadError::SideTable { entry, offset } => write!(
                f,
                "packed side table refused: word {entry} (code offset {offset:#x}) is not what the validator computes"
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
    v.push(x);
    Ok(())
}
