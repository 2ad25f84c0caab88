//! Source lines for a trap's backtrace: the DWARF a module carries in its custom
//! sections (clang `-g`, rustc's debuginfo), looked up with `addr2line` for code
//! offsets in the module's bytes.

use addr2line::gimli::{self, EndianSlice, LittleEndian};

/// A module's line tables.
pub struct Lines<'a> {
    ctx: addr2line::Context<EndianSlice<'a, LittleEndian>>,
    /// Where the code section's contents start: DWARF addresses count from there.
    code_start: u32,
}

impl<'a> Lines<'a> {
    /// The line tables of the wasm binary `wasm`; `None` if it has none (no
    /// `.debug_info`, or not a plain binary: a packed module's are not kept).
    pub fn new(wasm: &'a [u8]) -> Option<Self> {
        if wasm.get(..4) != Some(b"\0asm") {
            return None;
        }
        let mut custom: Vec<(&str, &'a [u8])> = Vec::new();
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
        if !custom.iter().any(|&(name, _)| name == ".debug_info") {
            return None;
        }
        let dwarf = gimli::Dwarf::load(|id| -> Result<_, gimli::Error> {
            let data = custom.iter().find(|&&(name, _)| name == id.name()).map_or(&[][..], |&(_, d)| d);
            Ok(EndianSlice::new(data, LittleEndian))
        })
        .ok()?;
        Some(Lines { ctx: addr2line::Context::from_dwarf(dwarf).ok()?, code_start: code_start? })
    }

    /// `file:line:column` of the code at `offset` in the module's bytes, if the
    /// line tables cover it.
    pub fn at(&self, offset: u32) -> Option<String> {
        let addr = offset.checked_sub(self.code_start)?;
        let loc = self.ctx.find_location(u64::from(addr)).ok()??;
        let mut s = loc.file?.to_string();
        if let Some(line) = loc.line {
            s.push_str(&format!(":{line}"));
            if let Some(col) = loc.column {
                s.push_str(&format!(":{col}"));
            }
        }
        Some(s)
    }
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
            assert_eq!(l.at(0x30), None);
        }
    }
}
