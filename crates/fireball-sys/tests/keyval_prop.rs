//! Property tests for the key-value codec with a deterministic PRNG (no extra
//! crates): random messages round-trip exactly; random and mutated byte
//! strings never panic the decoder, and whatever it accepts is canonical
//! (re-encoding the decoded entries gives back the same bytes).

use fireball_sys::keyval::{validate, DecodeError, EncodeError, Reader, Value, Writer};

/// SplitMix64: tiny, fast, and the same sequence on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// Owned values to generate from (a `Value` borrows).
#[derive(Debug, Clone)]
enum Owned {
    Bool(bool),
    I32(i32),
    U32(u32),
    I64(i64),
    F32Bits(u32),
    Bytes(Vec<u8>),
    Str(String),
}

impl Owned {
    fn value(&self) -> Value<'_> {
        match self {
            Owned::Bool(v) => Value::Bool(*v),
            Owned::I32(v) => Value::I32(*v),
            Owned::U32(v) => Value::U32(*v),
            Owned::I64(v) => Value::I64(*v),
            Owned::F32Bits(b) => Value::F32(f32::from_bits(*b)),
            Owned::Bytes(b) => Value::Bytes(b),
            Owned::Str(s) => Value::Str(s),
        }
    }
}

fn random_len(rng: &mut Rng) -> usize {
    // Mostly short, sometimes up to the 255-byte limit.
    if rng.below(8) == 0 {
        rng.below(256) as usize
    } else {
        rng.below(12) as usize
    }
}

fn random_string(rng: &mut Rng, max_bytes: usize) -> String {
    const CHARS: [char; 8] = ['a', 'Z', '0', ' ', 'é', '€', '𝄞', '\u{0}'];
    let mut s = String::new();
    loop {
        let c = CHARS[rng.below(CHARS.len() as u64) as usize];
        if s.len() + c.len_utf8() > max_bytes {
            return s;
        }
        s.push(c);
    }
}

fn random_value(rng: &mut Rng) -> Owned {
    match rng.below(7) {
        0 => Owned::Bool(rng.below(2) == 1),
        1 => Owned::I32(rng.next() as i32),
        2 => Owned::U32(rng.next() as u32),
        3 => Owned::I64(rng.next() as i64),
        // Any bit pattern, NaNs with payloads included.
        4 => Owned::F32Bits(rng.next() as u32),
        5 => {
            let n = random_len(rng);
            Owned::Bytes((0..n).map(|_| rng.byte()).collect())
        }
        _ => {
            let n = random_len(rng);
            Owned::Str(random_string(rng, n))
        }
    }
}

/// Same value, with f32 compared by bits (NaN != NaN otherwise).
fn same(a: Value<'_>, b: Value<'_>) -> bool {
    match (a, b) {
        (Value::F32(x), Value::F32(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

fn reencode(entries: &[(u8, Value<'_>)]) -> Vec<u8> {
    let mut buf = vec![0u8; 1 + entries.iter().map(|(_, v)| v.encoded_len()).sum::<usize>()];
    let mut w = Writer::new(&mut buf).expect("writer");
    for &(k, v) in entries {
        w.put(k, v).expect("sized exactly");
    }
    w.finish().to_vec()
}

#[test]
fn random_messages_round_trip() {
    let mut rng = Rng(0x5eed_0001);
    for round in 0..3000 {
        let n = rng.below(if round % 100 == 0 { 256 } else { 12 }) as usize;
        let entries: Vec<(u8, Owned)> = (0..n).map(|_| (rng.byte(), random_value(&mut rng))).collect();
        let mut buf = vec![0u8; 1 + 258 * 256];
        let mut w = Writer::new(&mut buf).expect("writer");
        let mut expected_len = 1;
        for (k, v) in &entries {
            match w.put(*k, v.value()) {
                Ok(_) => expected_len += v.value().encoded_len(),
                Err(EncodeError::TooManyEntries) => assert_eq!(w.entries(), 255),
                Err(e) => panic!("round {round}: {e}"),
            }
        }
        assert_eq!(w.len(), expected_len);
        let kept = usize::from(w.entries());
        let bytes = w.finish().to_vec();
        let decoded: Vec<(u8, Value<'_>)> = Reader::new(&bytes)
            .expect("reader")
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(decoded.len(), kept);
        for ((k, v), (dk, dv)) in entries.iter().zip(&decoded) {
            assert_eq!(k, dk);
            assert!(same(v.value(), *dv), "round {round}: {v:?} came back as {dv:?}");
        }
        assert_eq!(reencode(&decoded), bytes, "canonical");
    }
}

#[test]
fn a_short_buffer_keeps_a_valid_prefix() {
    let mut rng = Rng(0x5eed_0002);
    for round in 0..2000 {
        let entries: Vec<(u8, Owned)> = (0..8).map(|_| (rng.byte(), random_value(&mut rng))).collect();
        let cap = 1 + rng.below(60) as usize;
        let mut buf = vec![0u8; cap];
        let mut w = Writer::new(&mut buf).expect("writer");
        let mut fitted = 0;
        for (k, v) in &entries {
            let before = w.len();
            match w.put(*k, v.value()) {
                Ok(_) => fitted += 1,
                Err(EncodeError::BufferFull { needed, available }) => {
                    assert_eq!(needed, v.value().encoded_len());
                    assert_eq!(available, cap - before);
                    assert!(needed > available);
                    assert_eq!(w.len(), before, "unchanged");
                }
                Err(e) => panic!("round {round}: {e}"),
            }
        }
        let bytes = w.finish().to_vec();
        assert_eq!(validate(&bytes), Ok(fitted as u8), "round {round}");
    }
}

/// What the decoder makes of arbitrary bytes: no panic; an accepted message
/// is canonical; an error points inside (or just past) the input.
fn check_arbitrary(bytes: &[u8]) -> Result<u8, DecodeError> {
    let result = validate(bytes);
    match result {
        Ok(count) => {
            let entries: Vec<_> = Reader::new(bytes).expect("valid").collect::<Result<_, _>>().expect("valid");
            assert_eq!(entries.len(), usize::from(count));
            assert_eq!(reencode(&entries), bytes, "an accepted message is its own encoding");
        }
        Err(e) => {
            assert!(e.offset <= bytes.len(), "{e} for {bytes:x?}");
            // The iterator stops at the same fault.
            let last = Reader::new(bytes).map(|r| r.last());
            match last {
                Err(first) => assert_eq!(first, e),
                Ok(last) => assert_eq!(last, Some(Err(e))),
            }
        }
    }
    result
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x5eed_0003);
    let mut accepted = 0;
    for _ in 0..50_000 {
        let len = rng.below(48) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|i| match (i, rng.below(4)) {
                // Bias towards small counts, known type codes and short lengths so
                // that some inputs get deep into the decoder.
                (0, _) => rng.below(4) as u8,
                (_, 0) => rng.below(9) as u8,
                _ => rng.byte(),
            })
            .collect();
        if check_arbitrary(&bytes).is_ok() {
            accepted += 1;
        }
    }
    assert!(accepted > 250, "only {accepted} random inputs were valid: the bias is too weak to test much");
}

#[test]
fn mutated_messages_never_panic() {
    let mut rng = Rng(0x5eed_0004);
    for _ in 0..5000 {
        let entries: Vec<(u8, Owned)> = (0..rng.below(6)).map(|_| (rng.byte(), random_value(&mut rng))).collect();
        let borrowed: Vec<(u8, Value<'_>)> = entries.iter().map(|(k, v)| (*k, v.value())).collect();
        let mut bytes = reencode(&borrowed);
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(bytes.len() as u64 + 1) as usize;
            match rng.below(4) {
                0 if at < bytes.len() => bytes[at] = rng.byte(),
                1 if at < bytes.len() => bytes[at] ^= 1 << rng.below(8),
                2 => bytes.truncate(at),
                _ => bytes.insert(at, rng.byte()),
            }
        }
        let _ = check_arbitrary(&bytes);
    }
}
