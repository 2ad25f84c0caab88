//! SHA-256 and SHA-512 (crate `sha2`, portable software implementation on wasm)
//! over `n` KiB of pseudo-random bytes, fed in uneven slices so the block
//! buffering is exercised too. The checksum folds both digests.

use sha2::{Digest, Sha256, Sha512};

/// Hashes `n` KiB; returns the first 8 bytes of SHA-256 xor the first 8 of SHA-512.
pub fn run(n: u32) -> u64 {
    let mut s256 = Sha256::new();
    let mut s512 = Sha512::new();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut buf = [0u8; 1024];
    for kib in 0..n {
        for chunk in buf.chunks_mut(8) {
            // xorshift64*
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let v = state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        // Uneven split: 0..=1023 bytes, then the rest.
        let cut = (kib as usize * 37) % buf.len();
        s256.update(&buf[..cut]);
        s256.update(&buf[cut..]);
        s512.update(&buf[..cut]);
        s512.update(&buf[cut..]);
    }
    let a = s256.finalize();
    let b = s512.finalize();
    let mut x = [0u8; 8];
    for i in 0..8 {
        x[i] = a[i] ^ b[i];
    }
    u64::from_le_bytes(x)
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
    fn deterministic() {
        assert_eq!(super::run(3), super::run(3));
        assert_ne!(super::run(3), super::run(4));
    }
}
