//! keyval: the typed key-value codec every message between guests, services,
//! the router and the HAL is written in. guest / service / hal ──► **keyval
//! bytes** ──► router (checks) ──► hal / services / guest.
//!
//! A message is a flat list of `(key, value)` entries in a caller's buffer.
//! [`Writer`] encodes into a `&mut [u8]` (no allocation); [`Reader`] walks a
//! `&[u8]` and yields entries whose strings and byte strings borrow from the
//! input (no copy). Every malformed input is a [`DecodeError`] carrying the
//! byte offset of the fault — never a panic — so the router can bounce a bad
//! message to its sender and nobody else pays. `include/fireball_kv.h` is the
//! same codec for C guests (static inline helpers, no libc).
//!
//! # Why not CBOR
//!
//! The spec prefers CBOR (`minicbor`) if it fits the flash budget, which
//! leaves the whole subsystem layer (logger, HAL, router, keyval) about 7 KB.
//! Measured on thumbv7em-none-eabihf, opt-level "s", LTO, one codegen unit,
//! as the growth of a minimal cortex-m-rt firmware (which already has
//! memcpy/memset) that encodes one message of all seven types and decodes it
//! with a `match` per value and error offsets:
//!
//! | codec | encode | decode | both |
//! |---|---|---|---|
//! | this TLV | 860 B | 1 336 B (256 B of it core's UTF-8 table) | 1 992 B |
//! | minicbor 2.3.1 (a map with integer keys, same values and loop) | 2 112 B | 4 216 B | 6 076 B |
//!
//! CBOR would take most of the layer's budget for one codec, and it folds
//! `i32`/`u32`/`i64` into one "integer" major type, so a typed message would
//! need a schema or CBOR tags on top. This codec is therefore a small
//! fixed-layout TLV, documented byte by byte below; `include/fireball_kv.h`
//! is the same in C.
//!
//! # Wire format
//!
//! All integers are little-endian. A message is:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | `count`: number of entries, 0..=255 |
//! | 1 | … | `count` entries, back to back, no padding |
//!
//! and nothing after the last entry (extra bytes are [`DecodeErrorKind::TrailingBytes`]).
//! An entry is:
//!
//! | offset in entry | size | field |
//! |---|---|---|
//! | 0 | 1 | `key`: 0..=255, meaning fixed by the message's schema (the endpoint) |
//! | 1 | 1 | `type`: one of the codes below |
//! | 2 | depends on `type` | payload |
//!
//! | type | name | payload | entry size |
//! |---|---|---|---|
//! | `0x01` | bool  | 1 byte: `0x00` false, `0x01` true (anything else is an error) | 3 |
//! | `0x02` | i32   | 4 bytes, two's complement | 6 |
//! | `0x03` | u32   | 4 bytes | 6 |
//! | `0x04` | i64   | 8 bytes, two's complement | 10 |
//! | `0x05` | f32   | 4 bytes, IEEE 754 binary32 bit pattern (NaN payloads kept) | 6 |
//! | `0x06` | bytes | 1 byte `len` (0..=255), then `len` bytes | 3 + len |
//! | `0x07` | str   | 1 byte `len` (0..=255), then `len` bytes of UTF-8 (no NUL) | 3 + len |
//!
//! Codes `0x00` and `0x08..=0xFF` are reserved and rejected
//! ([`DecodeErrorKind::UnknownType`]). A zero-filled buffer is rejected
//! (count 0, then trailing bytes), unless it is the one-byte empty message.
//!
//! Keys are small integers, not strings: a message's schema (which keys an
//! endpoint reads, and their types) belongs to the endpoint, and the URI the
//! router already carries names the endpoint. The codec neither sorts keys nor
//! rejects duplicates; [`find`] returns the first entry with a key.
//!
//! Example: `{1: i32 -5, 2: str "ok", 3: bool true}` is 15 bytes:
//!
//! ```text
//! 03                  count = 3
//! 01 02 fb ff ff ff   key 1, i32, -5
//! 02 07 02 6f 6b      key 2, str, len 2, "ok"
//! 03 01 01            key 3, bool, true
//! ```
//!
//! ```
//! use fireball_sys::keyval::{Reader, Value, Writer};
//! let mut buf = [0u8; 32];
//! let mut w = Writer::new(&mut buf)?;
//! w.i32(1, -5)?.str(2, "ok")?.bool(3, true)?;
//! let msg = w.finish();
//! assert_eq!(msg, [3, 1, 2, 0xfb, 0xff, 0xff, 0xff, 2, 7, 2, b'o', b'k', 3, 1, 1]);
//! let entries: Result<Vec<_>, _> = Reader::new(msg)?.collect();
//! assert_eq!(entries?, [(1, Value::I32(-5)), (2, Value::Str("ok")), (3, Value::Bool(true))]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;

/// Type code of a value on the wire (byte 1 of an entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Type {
    /// `0x01`: one byte, `0` or `1`.
    Bool = 0x01,
    /// `0x02`: four bytes, two's complement.
    I32 = 0x02,
    /// `0x03`: four bytes.
    U32 = 0x03,
    /// `0x04`: eight bytes, two's complement.
    I64 = 0x04,
    /// `0x05`: four bytes of IEEE 754 binary32.
    F32 = 0x05,
    /// `0x06`: a length byte, then that many bytes.
    Bytes = 0x06,
    /// `0x07`: a length byte, then that many bytes of UTF-8.
    Str = 0x07,
}

impl Type {
    /// The type with wire code `code`, if there is one.
    pub const fn from_code(code: u8) -> Option<Type> {
        Some(match code {
            0x01 => Type::Bool,
            0x02 => Type::I32,
            0x03 => Type::U32,
            0x04 => Type::I64,
            0x05 => Type::F32,
            0x06 => Type::Bytes,
            0x07 => Type::Str,
            _ => return None,
        })
    }
}

/// Longest byte string or string a value can hold (its length is one byte).
pub const MAX_LEN: usize = 255;

/// Most entries a message can hold (the count is one byte).
pub const MAX_ENTRIES: usize = 255;

/// A decoded (or to-be-encoded) value. Strings and byte strings borrow from
/// the message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// `0x01`.
    Bool(bool),
    /// `0x02`.
    I32(i32),
    /// `0x03`.
    U32(u32),
    /// `0x04`.
    I64(i64),
    /// `0x05`.
    F32(f32),
    /// `0x06`, at most [`MAX_LEN`] bytes.
    Bytes(&'a [u8]),
    /// `0x07`, at most [`MAX_LEN`] bytes of UTF-8.
    Str(&'a str),
}

impl Value<'_> {
    /// The value's wire type.
    pub const fn ty(&self) -> Type {
        match self {
            Value::Bool(_) => Type::Bool,
            Value::I32(_) => Type::I32,
            Value::U32(_) => Type::U32,
            Value::I64(_) => Type::I64,
            Value::F32(_) => Type::F32,
            Value::Bytes(_) => Type::Bytes,
            Value::Str(_) => Type::Str,
        }
    }

    /// Bytes this value takes as an entry (key and type bytes included).
    pub const fn encoded_len(&self) -> usize {
        2 + match self {
            Value::Bool(_) => 1,
            Value::I32(_) | Value::U32(_) | Value::F32(_) => 4,
            Value::I64(_) => 8,
            Value::Bytes(b) => 1 + b.len(),
            Value::Str(s) => 1 + s.len(),
        }
    }
}

/// Why a message could not be encoded. The writer is unchanged: the entry
/// that failed was not written, and the ones before it are intact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The caller's buffer has no room for the entry (or, from
    /// [`Writer::new`], for the count byte).
    BufferFull {
        /// Bytes the entry needs.
        needed: usize,
        /// Bytes left in the buffer.
        available: usize,
    },
    /// A byte string or string longer than [`MAX_LEN`].
    TooLong {
        /// The entry's key.
        key: u8,
        /// Its length.
        len: usize,
    },
    /// The message already holds [`MAX_ENTRIES`] entries.
    TooManyEntries,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BufferFull { needed, available } => {
                write!(f, "keyval: buffer full ({needed} bytes needed, {available} left)")
            }
            EncodeError::TooLong { key, len } => write!(f, "keyval: key {key}: {len} bytes (at most {MAX_LEN})"),
            EncodeError::TooManyEntries => write!(f, "keyval: more than {MAX_ENTRIES} entries"),
        }
    }
}

impl core::error::Error for EncodeError {}

/// A malformed message: what was wrong and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeError {
    /// Byte offset in the message (see [`DecodeErrorKind`] for which byte each kind points at).
    pub offset: usize,
    /// What was wrong.
    pub kind: DecodeErrorKind,
}

/// The ways a message can be malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ends inside a fixed-size field (count, key, type, length
    /// byte or numeric payload); `offset` is where that field starts.
    Truncated,
    /// A type code that is not `0x01..=0x07`; `offset` is the type byte.
    UnknownType(u8),
    /// A length byte claims more bytes than the input has left; `offset` is the length byte.
    LengthOverrun {
        /// The declared length.
        len: u8,
        /// Bytes actually left after the length byte.
        available: usize,
    },
    /// A bool payload other than `0x00`/`0x01`; `offset` is that byte.
    InvalidBool(u8),
    /// A string payload that is not UTF-8; `offset` is the first byte of the
    /// first invalid sequence.
    InvalidUtf8,
    /// Bytes after the last of `count` entries; `offset` is the first of them.
    TrailingBytes,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "keyval: at byte {}: ", self.offset)?;
        match self.kind {
            DecodeErrorKind::Truncated => write!(f, "message truncated"),
            DecodeErrorKind::UnknownType(t) => write!(f, "unknown type code {t:#04x}"),
            DecodeErrorKind::LengthOverrun { len, available } => {
                write!(f, "length {len} but only {available} bytes left")
            }
            DecodeErrorKind::InvalidBool(b) => write!(f, "bool byte {b:#04x} (expected 0 or 1)"),
            DecodeErrorKind::InvalidUtf8 => write!(f, "string is not UTF-8"),
            DecodeErrorKind::TrailingBytes => write!(f, "trailing bytes after the last entry"),
        }
    }
}

impl core::error::Error for DecodeError {}

/// Encodes one message into a caller-provided buffer.
///
/// ```text
/// new(buf) ──► put(key, value)* ──► finish() -> &buf[..len]
/// ```
///
/// Each `put` either writes a whole entry (and bumps the count byte) or
/// fails with the writer unchanged, so a caller can stop at the first error
/// and still hold a valid message of the entries before it.
#[derive(Debug)]
pub struct Writer<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> Writer<'b> {
    /// Starts an empty message (count `0`) at the start of `buf`.
    pub fn new(buf: &'b mut [u8]) -> Result<Self, EncodeError> {
        match buf.first_mut() {
            Some(count) => *count = 0,
            None => return Err(EncodeError::BufferFull { needed: 1, available: 0 }),
        }
        Ok(Writer { buf, len: 1 })
    }

    /// Appends one entry.
    pub fn put(&mut self, key: u8, value: Value<'_>) -> Result<&mut Self, EncodeError> {
        let count = self.buf.first().copied().unwrap_or(0);
        if usize::from(count) >= MAX_ENTRIES {
            return Err(EncodeError::TooManyEntries);
        }
        let payload: &[u8] = match value {
            Value::Bytes(b) => b,
            Value::Str(s) => s.as_bytes(),
            _ => &[],
        };
        if payload.len() > MAX_LEN {
            return Err(EncodeError::TooLong { key, len: payload.len() });
        }
        let needed = value.encoded_len();
        let available = self.buf.len() - self.len;
        let Some(out) = self.buf.get_mut(self.len..self.len + needed) else {
            return Err(EncodeError::BufferFull { needed, available });
        };
        let mut fixed = [0u8; 8];
        let head: &[u8] = match value {
            Value::Bool(v) => {
                fixed[0] = u8::from(v);
                &fixed[..1]
            }
            Value::I32(v) => le(&mut fixed, &v.to_le_bytes()),
            Value::U32(v) => le(&mut fixed, &v.to_le_bytes()),
            Value::I64(v) => le(&mut fixed, &v.to_le_bytes()),
            Value::F32(v) => le(&mut fixed, &v.to_bits().to_le_bytes()),
            // The length fits a byte: checked above.
            Value::Bytes(_) | Value::Str(_) => {
                fixed[0] = payload.len() as u8;
                &fixed[..1]
            }
        };
        // Key, type, head, payload: `needed` bytes, `out`'s length (written without a split
        // that could panic).
        let bytes = [key, value.ty() as u8].into_iter().chain(head.iter().copied()).chain(payload.iter().copied());
        for (o, b) in out.iter_mut().zip(bytes) {
            *o = b;
        }
        self.len += needed;
        if let Some(c) = self.buf.first_mut() {
            *c = count + 1;
        }
        Ok(self)
    }

    /// Appends a bool.
    pub fn bool(&mut self, key: u8, v: bool) -> Result<&mut Self, EncodeError> {
        self.put(key, Value::Bool(v))
    }

    /// Appends an i32.
    pub fn i32(&mut self, key: u8, v: i32) -> Result<&mut Self, EncodeError> {
        self.put(key, Value::I32(v))
    }

    /// Appends a u32.
    pub fn u32(&mut self, key: u8, v: u32) -> Result<&mut Self, EncodeError> {
        self.put(key, Value::U32(v))
    }

    /// Appends an i64.
    pub fn i64(&mut self, key: u8, v: i64) -> Result<&mut Self, EncodeError> {
        self.put(key, Value::I64(v))
    }

    /// Appends an f32.
    pub fn f32(&mut self, key: u8, v: f32) -> Result<&mut Self, EncodeError> {
        self.put(key, Value::F32(v))
    }

    /// Appends a byte string of at most [`MAX_LEN`] bytes.
    pub fn bytes(&mut self, key: u8, v: &[u8]) -> Result<&mut Self, EncodeError> {
        self.put(key, Value::Bytes(v))
    }

    /// Appends a string of at most [`MAX_LEN`] bytes.
    pub fn str(&mut self, key: u8, v: &str) -> Result<&mut Self, EncodeError> {
        self.put(key, Value::Str(v))
    }

    /// Bytes written so far (count byte included).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the message has no entries yet.
    pub fn is_empty(&self) -> bool {
        self.entries() == 0
    }

    /// Entries written so far.
    pub fn entries(&self) -> u8 {
        self.buf.first().copied().unwrap_or(0)
    }

    /// The encoded message: the first [`len`](Self::len) bytes of the buffer.
    pub fn finish(self) -> &'b [u8] {
        let buf: &'b [u8] = self.buf;
        buf.get(..self.len).unwrap_or_default()
    }
}

fn le<'f>(fixed: &'f mut [u8; 8], bytes: &[u8]) -> &'f [u8] {
    let n = bytes.len().min(8);
    let (head, _) = fixed.split_at_mut(n);
    head.copy_from_slice(bytes.get(..n).unwrap_or_default());
    head
}

/// Walks a message, yielding `Ok((key, value))` per entry in order, then
/// `None`; or, at the first fault, one `Err` and then `None`.
///
/// The count byte is read by [`Reader::new`]; the entries are checked as they
/// are reached, and the check for trailing bytes runs after the last one, so
/// a caller that must refuse a bad message *before* acting on any of it runs
/// [`validate`] first (the router does).
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    left: u8,
    done: bool,
}

impl<'a> Reader<'a> {
    /// Starts reading `bytes`; fails only if there is no count byte.
    pub fn new(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        match bytes.first() {
            Some(&count) => Ok(Reader { bytes, pos: 1, left: count, done: false }),
            None => Err(DecodeError { offset: 0, kind: DecodeErrorKind::Truncated }),
        }
    }

    /// Entries not yet read, as the count byte declares them.
    pub fn remaining(&self) -> u8 {
        self.left
    }

    /// Offset of the next byte to read.
    pub fn offset(&self) -> usize {
        self.pos
    }

    fn fail(&mut self, offset: usize, kind: DecodeErrorKind) -> DecodeError {
        self.done = true;
        DecodeError { offset, kind }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let at = self.pos;
        match self.bytes.get(at..at.saturating_add(n)) {
            Some(s) => {
                self.pos = at + n;
                Ok(s)
            }
            None => Err(self.fail(at, DecodeErrorKind::Truncated)),
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let at = self.pos;
        let s = self.take(N)?;
        <[u8; N]>::try_from(s).map_err(|_| self.fail(at, DecodeErrorKind::Truncated))
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        let [b] = self.array::<1>()?;
        Ok(b)
    }

    fn entry(&mut self) -> Result<(u8, Value<'a>), DecodeError> {
        let key = self.byte()?;
        let type_at = self.pos;
        let code = self.byte()?;
        let Some(ty) = Type::from_code(code) else {
            return Err(self.fail(type_at, DecodeErrorKind::UnknownType(code)));
        };
        let value = match ty {
            Type::Bool => {
                let at = self.pos;
                match self.byte()? {
                    0 => Value::Bool(false),
                    1 => Value::Bool(true),
                    b => return Err(self.fail(at, DecodeErrorKind::InvalidBool(b))),
                }
            }
            Type::I32 => Value::I32(i32::from_le_bytes(self.array()?)),
            Type::U32 => Value::U32(u32::from_le_bytes(self.array()?)),
            Type::I64 => Value::I64(i64::from_le_bytes(self.array()?)),
            Type::F32 => Value::F32(f32::from_bits(u32::from_le_bytes(self.array()?))),
            Type::Bytes | Type::Str => {
                let len_at = self.pos;
                let len = self.byte()?;
                let available = self.bytes.len() - self.pos;
                if usize::from(len) > available {
                    return Err(self.fail(len_at, DecodeErrorKind::LengthOverrun { len, available }));
                }
                let data_at = self.pos;
                let data = self.take(usize::from(len))?;
                if ty == Type::Bytes {
                    Value::Bytes(data)
                } else {
                    match core::str::from_utf8(data) {
                        Ok(s) => Value::Str(s),
                        Err(e) => return Err(self.fail(data_at + e.valid_up_to(), DecodeErrorKind::InvalidUtf8)),
                    }
                }
            }
        };
        Ok((key, value))
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<(u8, Value<'a>), DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.left == 0 {
            self.done = true;
            if self.pos < self.bytes.len() {
                return Some(Err(DecodeError { offset: self.pos, kind: DecodeErrorKind::TrailingBytes }));
            }
            return None;
        }
        let item = self.entry();
        if item.is_ok() {
            self.left -= 1;
        }
        Some(item)
    }
}

impl core::iter::FusedIterator for Reader<'_> {}

/// Checks a whole message; returns its number of entries.
pub fn validate(bytes: &[u8]) -> Result<u8, DecodeError> {
    let reader = Reader::new(bytes)?;
    let count = reader.remaining();
    for item in reader {
        item?;
    }
    Ok(count)
}

/// The first value under `key`, after checking the whole message (a message
/// that is malformed anywhere is an error, even past the entry found).
pub fn find<'a>(bytes: &'a [u8], key: u8) -> Result<Option<Value<'a>>, DecodeError> {
    let mut found = None;
    for item in Reader::new(bytes)? {
        let (k, v) = item?;
        if k == key && found.is_none() {
            found = Some(v);
        }
    }
    Ok(found)
}
