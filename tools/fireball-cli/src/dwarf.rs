//! Source lines and inlined calls for a trap's backtrace: the DWARF a module
//! carries in its custom sections (clang `-g`, rustc's debuginfo), looked up with
//! `addr2line` for code offsets in the module's bytes.

use addr2line::gimli::{self, EndianSlice, LittleEndian};

/// A module's line tables.
pub struct Lines<'a> {
    ctx: addr2line::Context<EndianSlice<'a, LittleEndian>>,
    /// Where the code section's contents start: DWARF addresses count from there.
    code_start: u32,
}

/// A module's custom sections (name, contents), and where its code section's contents start.
type Sections<'a> = (Vec<(&'a str, &'a [u8])>, Option<u32>);

/// The wasm binary's sections ([`Sections`]); `None` if it is not a well-formed section list.
/// A packed module (`fireball pack`) is read through to the wasm it keeps whole.
fn sections(wasm: &[u8]) -> Option<Sections<'_>> {
    let wasm = if wasm.starts_with(&fireball_wasm::pack::MAGIC) { fireball_wasm::pack::parse(wasm).ok()?.wasm } else { wasm };
    if wasm.get(..4) != Some(b"\0asm") {
        return None;
    }
    let mut custom = Vec::new();
    let mut code_start = None;
    let mut at = 8usize;
    while at < wasm.len() {
        let id = *wasm.get(at)?;
        let (size, n) = leb(wasm.get(at + 1..)?)?;
        let start = at + 1 + n;
        let end = start.checked_add(size)?;
        let body = wasm.get(start..end)?;
        match id {
            0 => {
                let (len, m) = leb(body)?;
                let name = std::str::from_utf8(body.get(m..m.checked_add(len)?)?).ok()?;
                custom.push((name, body.get(m + len..)?));
            }
            10 => code_start = Some(u32::try_from(start).ok()?),
            _ => {}
        }
        at = end;
    }
    Some((custom, code_start))
}

/// Bytes of DWARF (`.debug_*` custom sections) in the wasm binary `wasm`.
pub fn debug_bytes(wasm: &[u8]) -> usize {
    sections(wasm).map_or(0, |(custom, _)| custom.iter().filter(|(n, _)| n.starts_with(".debug_")).map(|(_, d)| d.len()).sum())
}

impl<'a> Lines<'a> {
    /// The line tables of the wasm binary `wasm` (or of the wasm a packed module
    /// keeps); `None` if it has none (no `.debug_info`) or they do not parse.
    pub fn new(wasm: &'a [u8]) -> Option<Self> {
        let (custom, code_start) = sections(wasm)?;
        if !custom.iter().any(|&(name, _)| name == ".debug_info") {
            return None;
        }
        let dwarf = gimli::Dwarf::load(|id| -> Result<_, gimli::Error> {
            let data = custom.iter().find(|&&(name, _)| name == id.name()).map_or(&[][..], |&(_, d)| d);
            Ok(EndianSlice::new(data, LittleEndian))
        })
        .ok()?;
        if !shallow(&dwarf) {
            return None;
        }
        Some(Lines { ctx: addr2line::Context::from_dwarf(dwarf).ok()?, code_start: code_start? })
    }

    /// What the code at `offset` in the module's bytes is, innermost first: the
    /// functions inlined there (each its name and where in it), then the function
    /// itself (its name from the DWARF, if any, and where in it). Empty if the line
    /// tables do not cover it.
    pub fn frames(&self, offset: u32) -> Vec<Frame> {
        let mut out = Vec::new();
        let Some(addr) = offset.checked_sub(self.code_start) else { return out };
        let Ok(mut frames) = self.ctx.find_frames(u64::from(addr)).skip_all_loads() else { return out };
        while let Ok(Some(f)) = frames.next() {
            let name = f.function.as_ref().and_then(|n| n.demangle().ok()).map(|n| n.into_owned());
            out.push(Frame { name, at: f.location.and_then(|l| at(&l)) });
        }
        out
    }
}

/// One function in a DWARF frame list: its name and `file:line:column`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The function's name, demangled (Rust, C++).
    pub name: Option<String>,
    /// Where in its source.
    pub at: Option<String>,
}

/// A location as `file:line:column`.
fn at(loc: &addr2line::Location<'_>) -> Option<String> {
    let mut s = loc.file?.to_string();
    if let Some(line) = loc.line {
        s.push_str(&format!(":{line}"));
        if let Some(col) = loc.column {
            s.push_str(&format!(":{col}"));
        }
    }
    Some(s)
}

/// A name as written: Rust's and C++'s demangled (Rust's without its hash), others as they are.
pub fn demangle(name: &str) -> String {
    addr2line::demangle_auto(std::borrow::Cow::Borrowed(name), None).into_owned()
}

/// How deep DWARF's entries may nest: compilers nest a few dozen levels (scopes,
/// inlined calls within inlined calls); far below what could exhaust a stack.
const MAX_NESTING: isize = 512;

/// Whether every unit parses and no entry nests deeper than [`MAX_NESTING`]:
/// `addr2line` walks nested inlined calls recursively, so a module crafted with
/// entries nested thousands deep could otherwise overflow the tool's stack. One
/// pass over the entries, iterative.
fn shallow<'a>(dwarf: &gimli::Dwarf<EndianSlice<'a, LittleEndian>>) -> bool {
    let mut units = dwarf.units();
    while let Ok(Some(header)) = units.next() {
        let Ok(unit) = dwarf.unit(header) else { return false };
        let Ok(mut entries) = unit.entries_raw(None) else { return false };
        while !entries.is_empty() {
            if entries.next_depth() > MAX_NESTING {
                return false;
            }
            match entries.read_abbreviation() {
                Ok(Some(abbrev)) => {
                    if entries.skip_attributes(abbrev.attributes()).is_err() {
                        return false;
                    }
                }
                Ok(None) => {}
                Err(_) => return false,
            }
        }
    }
    true
}

/// An unsigned LEB128 at the start of `b`: its value and length (at most 5 bytes).
fn leb(b: &[u8]) -> Option<(usize, usize)> {
    let mut v = 0usize;
    for (i, &byte) in b.iter().take(5).enumerate() {
        v |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_module_without_dwarf_or_a_broken_one_has_no_lines() {
        let plain = wat::parse_str("(module (func))").unwrap_or_default();
        assert!(!plain.is_empty() && Lines::new(&plain).is_none());
        // A section whose size runs past the end, an overlong LEB, not wasm at all.
        assert!(Lines::new(b"\0asm\x01\0\0\0\x00\xff\x01").is_none());
        assert!(Lines::new(b"\0asm\x01\0\0\0\x00\xff\xff\xff\xff\xff\xff").is_none());
        assert!(Lines::new(b"\x7fELF").is_none());
        // DWARF that does not parse: no lines, no panic.
        let mut junk = plain.clone();
        junk.extend_from_slice(&[0, 13, 11]);
        junk.extend_from_slice(b".debug_info");
        junk.extend_from_slice(&[1, 2]);
        if let Some(l) = Lines::new(&junk) {
            assert_eq!(l.frames(0x30), []);
        }
    }
}

#[cfg(test)]
mod nesting {
    use super::Lines;

    /// `wasm` with a custom section `name` holding `data`.
    fn with_section(mut wasm: Vec<u8>, name: &str, data: &[u8]) -> Vec<u8> {
        let mut body = vec![name.len() as u8];
        body.extend_from_slice(name.as_bytes());
        body.extend_from_slice(data);
        let mut n = body.len();
        wasm.push(0);
        while n >= 0x80 {
            wasm.push((n as u8 & 0x7f) | 0x80);
            n >>= 7;
        }
        wasm.push(n as u8);
        wasm.extend_from_slice(&body);
        wasm
    }

    /// A module whose DWARF is one compile unit with lexical blocks nested `depth` deep.
    fn nested(depth: usize) -> Vec<u8> {
        let wasm = wat::parse_str("(module (func))").unwrap_or_default();
        // Abbreviations: 1 = compile unit, 2 = lexical block, both with children, no attributes.
        let abbrev = [1, 0x11, 1, 0, 0, 2, 0x0b, 1, 0, 0, 0];
        let mut dies = vec![1u8];
        dies.extend(std::iter::repeat_n(2u8, depth));
        dies.extend(std::iter::repeat_n(0u8, depth + 1));
        // DWARF 4 unit header: length, version, abbreviation offset, address size.
        let mut info = ((dies.len() + 7) as u32).to_le_bytes().to_vec();
        info.extend_from_slice(&4u16.to_le_bytes());
        info.extend_from_slice(&0u32.to_le_bytes());
        info.push(4);
        info.extend_from_slice(&dies);
        with_section(with_section(wasm, ".debug_abbrev", &abbrev), ".debug_info", &info)
    }

    #[test]
    fn dwarf_nested_too_deep_is_not_read() {
        assert!(Lines::new(&nested(10)).is_some(), "a few levels: read");
        assert!(Lines::new(&nested(100_000)).is_none(), "crafted deep: refused, no stack overflow");
    }
}

#[cfg(test)]
mod demangling {
    #[test]
    fn rust_and_cpp_names_are_demangled_others_kept() {
        assert_eq!(super::demangle("_ZN2r14main17h6f8d6f9dd9f174fdE"), "r1::main");
        assert_eq!(super::demangle("_ZN3geo11checked_divEii"), "geo::checked_div(int, int)");
        assert_eq!(super::demangle("divide"), "divide");
    }
}
