//! Text processing with the `regex` crate (default features: Unicode, the
//! literal and DFA optimisations): compiles a handful of patterns, then over
//! `n` KiB of generated log text counts words, finds e-mail addresses, parses
//! timestamps with captures and rewrites key=value pairs with `replace_all`.

use regex::Regex;

fn fnv1a(h: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(h, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn text(n: u32) -> String {
    const USERS: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];
    const HOSTS: [&str; 3] = ["example.com", "fireball.dev", "mail.test"];
    const WORDS: [&str; 10] =
        ["sensor", "started", "frame", "dropped", "retry", "gateway", "Überlauf", "ok", "timeout", "uplink"];
    let len = n as usize * 1024;
    let mut s = String::with_capacity(len + 128);
    let mut x = 0x1234_5678u32;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    while s.len() < len {
        let r = next();
        use std::fmt::Write;
        let _ = write!(
            s,
            "2024-{:02}-{:02}T{:02}:{:02}:{:02} ",
            1 + r % 12,
            1 + (r >> 4) % 28,
            (r >> 9) % 24,
            (r >> 14) % 60,
            (r >> 20) % 60
        );
        for _ in 0..(3 + r % 6) {
            let w = next();
            match w % 8 {
                0 => {
                    let _ = write!(s, "{}@{} ", USERS[(w >> 3) as usize % 5], HOSTS[(w >> 6) as usize % 3]);
                }
                1 => {
                    let _ = write!(s, "temp={} ", (w >> 8) % 100);
                }
                _ => {
                    s.push_str(WORDS[(w >> 3) as usize % 10]);
                    s.push(' ');
                }
            }
        }
        s.push('\n');
    }
    s
}

/// Runs the patterns over `n` KiB of text; returns a checksum of every match.
pub fn run(n: u32) -> u64 {
    let text = text(n);
    let (Ok(word), Ok(email), Ok(stamp), Ok(kv)) = (
        Regex::new(r"\b\w+\b"),
        Regex::new(r"(?i)[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}"),
        Regex::new(r"(?m)^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})"),
        Regex::new(r"(?P<key>[a-z]+)=(?P<val>\d+)"),
    ) else {
        return 0;
    };
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let words = word.find_iter(&text).count() as u64;
    for m in email.find_iter(&text) {
        h = fnv1a(h, m.as_str().as_bytes()) ^ m.start() as u64;
    }
    let mut secs = 0u64;
    for c in stamp.captures_iter(&text) {
        let f = |i: usize| c.get(i).map_or(0, |m| m.as_str().parse::<u64>().unwrap_or(0));
        secs += ((f(2) * 31 + f(3)) * 24 + f(4)) * 3600 + f(5) * 60 + f(6);
    }
    let rewritten = kv.replace_all(&text, "$val:$key");
    h = fnv1a(h, rewritten.as_bytes());
    h ^ words.wrapping_shl(32) ^ secs
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
    fn finds_things() {
        assert_ne!(super::run(2), 0);
        assert_ne!(super::run(2), super::run(3));
    }
}
