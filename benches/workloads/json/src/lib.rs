//! A JSON round trip with `serde` derive and `serde_json`: builds `n` records
//! (strings with escapes, integers, floats, nested arrays, optional fields),
//! serializes them, parses the text back into the typed structs and once more
//! into an untyped `serde_json::Value`, and folds all three into the checksum.

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, PartialEq)]
struct Reading {
    sensor: String,
    value: f64,
    ok: bool,
}

#[derive(Serialize, Deserialize, PartialEq)]
struct Record {
    id: u64,
    name: String,
    tags: Vec<String>,
    readings: Vec<Reading>,
    parent: Option<u32>,
    note: String,
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn fnv1a(h: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(h, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn records(n: u32) -> Vec<Record> {
    const TAGS: [&str; 6] = ["indoor", "outdoor", "battery", "mains", "zigbee", "lora"];
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    (0..n)
        .map(|i| {
            let r = rng.next();
            let tags = (0..(r % 4)).map(|k| TAGS[((r >> (8 + k * 3)) % 6) as usize].to_string()).collect();
            let readings = (0..(1 + (r >> 20) % 5))
                .map(|k| {
                    let v = rng.next();
                    Reading {
                        sensor: format!("s{}-{}", i % 97, k),
                        // Exactly representable and not: both exercise the float printer and parser.
                        value: (v % 200_000) as f64 / 1000.0 - 50.0,
                        ok: v & 1 == 0,
                    }
                })
                .collect();
            Record {
                id: r >> 11,
                name: format!("node \"{}\" \\ room {}", i, r % 50),
                tags,
                readings,
                parent: if r & 8 == 0 { Some((r >> 40) as u32 % 1000) } else { None },
                note: if r & 16 == 0 { "multi\nline\ttext \u{e9}\u{2603}".to_string() } else { String::new() },
            }
        })
        .collect()
}

/// Serializes and parses `n` records; returns a checksum of the text and of both parses.
pub fn run(n: u32) -> u64 {
    let doc = records(n);
    let text = match serde_json::to_string(&doc) {
        Ok(t) => t,
        Err(_) => return 0,
    };
    let mut h = fnv1a(0xcbf2_9ce4_8422_2325, text.as_bytes());
    let typed: Vec<Record> = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(_) => return 1,
    };
    h ^= (typed == doc) as u64;
    for r in &typed {
        h = h.rotate_left(5) ^ r.id ^ r.tags.len() as u64;
        for x in &r.readings {
            h = h.wrapping_add(x.value.to_bits());
        }
    }
    let value: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(_) => return 2,
    };
    let mut count = 0u64;
    if let Some(items) = value.as_array() {
        for item in items {
            if let Some(rs) = item["readings"].as_array() {
                for x in rs {
                    count += x["value"].as_f64().map_or(0, |f| f.to_bits() >> 52);
                }
            }
            count += item["name"].as_str().map_or(0, |s| s.len() as u64);
        }
    }
    h.wrapping_mul(31).wrapping_add(count)
}

#[cfg(target_arch = "wasm32")]
mod wasm {
    /// The wasm export: `run(n: i32) -> i64`.
    #[no_mangle]
    pub extern "C" fn run(n: i32) -> i64 {
        super::run(n as u32) as i64
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trips() {
        let doc = super::records(20);
        let text = serde_json::to_string(&doc).unwrap();
        let back: Vec<super::Record> = serde_json::from_str(&text).unwrap();
        // serde_json's default float parser may be off by one ulp (exact needs its
        // `float_roundtrip` feature); everything else round-trips exactly.
        assert_eq!(back.len(), doc.len());
        for (a, b) in back.iter().zip(&doc) {
            assert!(a.id == b.id && a.name == b.name && a.tags == b.tags && a.parent == b.parent && a.note == b.note);
            for (x, y) in a.readings.iter().zip(&b.readings) {
                assert!(x.sensor == y.sensor && x.ok == y.ok && (x.value - y.value).abs() <= y.value.abs() * 1e-15);
            }
        }
    }
}
