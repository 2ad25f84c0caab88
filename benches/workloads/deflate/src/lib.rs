//! zlib compression and decompression (crate `miniz_oxide`, level 6) of `n` KiB
//! of generated text: words drawn from a small skewed vocabulary with numbers
//! mixed in, compressible about 3:1 like a log file. The checksum folds the
//! compressed bytes and the round-tripped text.
use miniz_oxide::deflate::compress_to_vec_zlib;
use miniz_oxide::inflate::decompress_to_vec_zlib;

const WORDS: [&str; 24] = [
    "the",
    "sensor",
    "reading",
    "of",
    "temperature",
    "is",
    "within",
    "bounds",
    "and",
    "the",
    "pump",
    "was",
    "started",
    "at",
    "node",
    "gateway",
    "frame",
    "retry",
    "ok",
    "error",
    "battery",
    "low",
    "uplink",
    "lost",
];

fn fnv1a(h: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(h, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn text(n: u32) -> Vec<u8> {
    let len = n as usize * 1024;
    let mut text = Vec::with_capacity(len + 32);
    let mut state = 0x2545_F491u32;
    while text.len() < len {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        // Skewed choice: small indices are much more frequent.
        let r = state % 1000;
        let w = (r * r / 41_667) as usize; // 0..=23
        text.extend_from_slice(WORDS[w].as_bytes());
        if state & 0x1f0 == 0 {
            let mut num = state >> 16;
            text.push(b' ');
            loop {
                text.push(b'0' + (num % 10) as u8);
                num /= 10;
                if num == 0 {
                    break;
                }
            }
        }
        text.push(if state & 0xf000 == 0 { b'\n' } else { b' ' });
    }
    text.truncate(len);
    text
}

/// Generates `n` KiB of text, deflates it, inflates it back; returns a checksum of both.
pub fn run(n: u32) -> u64 {
    let text = text(n);
    let packed = compress_to_vec_zlib(&text, 6);
    let unpacked = match decompress_to_vec_zlib(&packed) {
        Ok(v) => v,
        Err(_) => return 0,
    };
    let h = fnv1a(0xcbf2_9ce4_8422_2325, &packed);
    let h = fnv1a(h, &unpacked);
    h ^ ((packed.len() as u64) << 40) ^ (unpacked == text) as u64
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
        let text = super::text(16);
        let packed = super::compress_to_vec_zlib(&text, 6);
        assert_eq!(super::decompress_to_vec_zlib(&packed).unwrap(), text);
        assert!(packed.len() * 2 < text.len() && packed.len() * 5 > text.len(), "ratio {}", text.len() / packed.len());
    }
}
