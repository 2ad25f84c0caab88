//! Run-time faults. A trap ends the running call (the thread), never the host:
//! exec → **Trap** (code, wasm byte offset, function) → the embedder, which can
//! also walk the thread's frames for a stack trace.

use core::fmt;

/// Why execution trapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrapCode {
    /// `unreachable` was executed.
    Unreachable,
    /// A load, store or bulk-memory operation left linear memory (or the host limit).
    MemoryOutOfBounds,
    /// A table access, `table.init/copy/fill` or `call_indirect` index was out of bounds.
    TableOutOfBounds,
    /// `call_indirect` hit a null entry.
    UninitializedElement,
    /// `call_indirect` found a function of another type.
    IndirectCallTypeMismatch,
    /// Signed division overflow, or a float too large for the integer type.
    IntegerOverflow,
    /// Division or remainder by zero.
    IntegerDivideByZero,
    /// NaN converted to an integer.
    InvalidConversionToInteger,
    /// The value stack limit would be exceeded.
    StackOverflow,
    /// The call depth limit would be exceeded.
    CallStackExhausted,
    /// A host function reported failure.
    Host,
    /// A broken invariant inside the engine (a bug; reported, never a crash).
    Internal,
}

impl TrapCode {
    /// The spec testsuite's wording for this trap.
    pub fn message(self) -> &'static str {
        match self {
            TrapCode::Unreachable => "unreachable",
            TrapCode::MemoryOutOfBounds => "out of bounds memory access",
            TrapCode::TableOutOfBounds => "out of bounds table access",
            TrapCode::UninitializedElement => "uninitialized element",
            TrapCode::IndirectCallTypeMismatch => "indirect call type mismatch",
            TrapCode::IntegerOverflow => "integer overflow",
            TrapCode::IntegerDivideByZero => "integer divide by zero",
            TrapCode::InvalidConversionToInteger => "invalid conversion to integer",
            TrapCode::StackOverflow => "value stack exhausted",
            TrapCode::CallStackExhausted => "call stack exhausted",
            TrapCode::Host => "host function failed",
            TrapCode::Internal => "internal engine error",
        }
    }

    /// Whether this is resource exhaustion (`assert_exhaustion` in the spec suite).
    pub fn is_exhaustion(self) -> bool {
        matches!(self, TrapCode::StackOverflow | TrapCode::CallStackExhausted)
    }
}

impl fmt::Display for TrapCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// A trap with the place it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trap {
    /// What went wrong.
    pub code: TrapCode,
    /// Absolute byte offset, in the faulting module, of the instruction that trapped
    /// (0 when the trap did not come from wasm code).
    pub offset: u32,
    /// Store address of the function that was running.
    pub func: u32,
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "trap: {} at offset {:#x}", self.code, self.offset)
    }
}
