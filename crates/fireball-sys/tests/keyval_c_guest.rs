//! `include/fireball_kv.h` against the Rust codec, through a real C guest:
//! the header compiles cleanly for wasm32 (C99, C11, C++), and a guest built
//! from C with clang runs on Fireball's engine, where
//! - its encoder produces byte-for-byte the message the Rust `Writer` makes
//!   from the same random values (the same PRNG on both sides), and
//! - its decoder agrees with the Rust `Reader` on every input — the values of
//!   a good message (as a digest), and for a bad one the error kind and the
//!   byte offset — over random, mutated and hand-made malformed messages.
//!
//! Needs `clang` and `wasm-ld` (scripts/setup.sh installs both); without
//! them the tests print why and pass.


mod common;
use common::{clang, include_dir, scratch};
use fireball_sys::keyval::{DecodeErrorKind, Reader, Value, Writer};
use fireball_wasm::{Exit, HostLimits, Instance, Module, StackLimits, Store, Thread, Value as WasmValue};

const GUEST_C: &str = r#"
#include "fireball_kv.h"

static uint8_t out[2048];
static uint8_t in[2048];
static uint32_t digest;
static uint32_t err_offset;

__attribute__((export_name("out_ptr"))) uint8_t *out_ptr(void) { return out; }
__attribute__((export_name("in_ptr"))) uint8_t *in_ptr(void) { return in; }
__attribute__((export_name("digest"))) uint32_t get_digest(void) { return digest; }
__attribute__((export_name("err_offset"))) uint32_t get_err_offset(void) { return err_offset; }

/* xorshift32: the Rust test runs the same generator. */
static uint32_t rng;
static uint32_t next(void) {
    uint32_t x = rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng = x;
}

/* A message of random entries from `seed` into out[0..cap): its length or an error. */
__attribute__((export_name("encode_random"))) int32_t encode_random(uint32_t seed, uint32_t cap) {
    fkv_writer w;
    uint32_t n, i, k, len;
    uint8_t bytes[40];
    char str[40];
    rng = seed ? seed : 1u;
    fkv_writer_init(&w, out, cap);
    n = next() % 10u;
    for (i = 0; i < n; i++) {
        uint8_t key = (uint8_t)next();
        switch (next() % 7u) {
        case 0: fkv_put_bool(&w, key, (int)(next() & 1u)); break;
        case 1: fkv_put_i32(&w, key, (int32_t)next()); break;
        case 2: fkv_put_u32(&w, key, next()); break;
        case 3: {
            uint64_t hi = next();
            uint64_t lo = next();
            fkv_put_i64(&w, key, (int64_t)((hi << 32) | lo));
            break;
        }
        case 4: {
            union { uint32_t u; float f; } b;
            b.u = next();
            fkv_put_f32(&w, key, b.f);
            break;
        }
        case 5:
            len = next() % 40u;
            for (k = 0; k < len; k++) bytes[k] = (uint8_t)next();
            fkv_put_bytes(&w, key, bytes, len);
            break;
        default:
            len = next() % 39u;
            for (k = 0; k < len; k++) str[k] = (char)('a' + next() % 26u);
            str[len] = '\0';
            fkv_put_str(&w, key, str);
            break;
        }
    }
    return fkv_writer_finish(&w);
}

static uint32_t mix(uint32_t h, uint32_t byte) { return (h ^ (byte & 0xffu)) * 16777619u; }
static uint32_t mix32(uint32_t h, uint32_t v) {
    h = mix(h, v);
    h = mix(h, v >> 8);
    h = mix(h, v >> 16);
    return mix(h, v >> 24);
}

/* Decodes in[0..len): the entry count (digest of the values in `digest`) or
 * an error (its offset in `err_offset`). */
__attribute__((export_name("decode"))) int32_t decode(uint32_t len) {
    fkv_reader r;
    fkv_entry e;
    int32_t rc;
    uint32_t h = 2166136261u, i;
    rc = fkv_reader_init(&r, in, len);
    if (rc == 0) {
        while ((rc = fkv_next(&r, &e)) == 1) {
            h = mix(mix(h, e.key), e.type);
            switch (e.type) {
            case FKV_BOOL: h = mix(h, (uint32_t)e.v.b); break;
            case FKV_I32: h = mix32(h, (uint32_t)e.v.i32); break;
            case FKV_U32: h = mix32(h, e.v.u32); break;
            case FKV_I64:
                h = mix32(h, (uint32_t)(uint64_t)e.v.i64);
                h = mix32(h, (uint32_t)((uint64_t)e.v.i64 >> 32));
                break;
            case FKV_F32: {
                union { float f; uint32_t u; } b;
                b.f = e.v.f32;
                h = mix32(h, b.u);
                break;
            }
            case FKV_STR:
                for (i = 0; i < e.v.str.len; i++) h = mix(h, e.v.str.ptr[i]);
                break;
            default:
                h = mix32(h, e.v.bytes.len);
                for (i = 0; i < e.v.bytes.len; i++) h = mix(h, e.v.bytes.ptr[i]);
                break;
            }
        }
    }
    digest = h;
    err_offset = r.err_offset;
    return rc < 0 ? rc : (int32_t)in[0];
}
"#;


#[test]
fn header_compiles_cleanly_for_wasm32() {
    let src = scratch("keyval_c_guest", "header_only.c");
    std::fs::write(&src, "#include \"fireball_kv.h\"\nint32_t probe(uint8_t *b) { fkv_writer w; fkv_writer_init(&w, b, 8); fkv_put_bool(&w, 1, 1); return fkv_writer_finish(&w); }\n")
        .expect("write");
    let inc = format!("-I{}", include_dir().display());
    let obj = scratch("keyval_c_guest", "header_only.o");
    let warn = ["-Wall", "-Wextra", "-Werror", "-pedantic", "-Wconversion", "-Wsign-conversion"];
    for std in ["-std=c99", "-std=c11"] {
        let mut args = vec!["--target=wasm32", "-O2", "-nostdlib", std, &inc, "-c", src.to_str().expect("utf8")];
        args.extend(warn);
        args.extend(["-o", obj.to_str().expect("utf8")]);
        let Some(out) = clang(&args, "include/fireball_kv.h") else { return };
        assert!(out.status.success(), "clang {std}:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    let Some(out) = clang(&[
        "--target=wasm32",
        "-x",
        "c++",
        "-std=c++17",
        "-Wall",
        "-Wextra",
        "-Werror",
        &inc,
        "-fsyntax-only",
        src.to_str().expect("utf8"),
    ], "include/fireball_kv.h") else {
        return;
    };
    assert!(out.status.success(), "clang c++:\n{}", String::from_utf8_lossy(&out.stderr));
}

/// The guest as wasm, or `None` if the toolchain is missing (reason printed).
fn build_guest() -> Option<Vec<u8>> {
    let src = scratch("keyval_c_guest", "guest.c");
    let wasm = scratch("keyval_c_guest", "guest.wasm");
    std::fs::write(&src, GUEST_C).expect("write");
    let inc = format!("-I{}", include_dir().display());
    let out = clang(&[
        "--target=wasm32",
        "-O2",
        "-nostdlib",
        "-fno-builtin",
        "-std=c99",
        "-Wall",
        "-Wextra",
        "-Werror",
        &inc,
        "-Wl,--no-entry",
        "-Wl,-z,stack-size=8192",
        "-o",
        wasm.to_str().expect("utf8"),
        src.to_str().expect("utf8"),
    ], "include/fireball_kv.h")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success()
        && (stderr.contains("wasm-ld") && stderr.contains("not found") || stderr.contains("unable to execute"))
    {
        eprintln!("SKIPPED: clang cannot link wasm32 (wasm-ld missing: install lld):\n{stderr}");
        return None;
    }
    assert!(out.status.success(), "building the C guest:\n{stderr}");
    Some(std::fs::read(&wasm).expect("read guest.wasm"))
}

/// The C guest on the engine.
struct Guest<'m> {
    store: Store<'m>,
    inst: Instance,
    thread: Thread,
}

impl<'m> Guest<'m> {
    fn new(module: &'m Module<'m>) -> Self {
        let mut store = Store::new(HostLimits::default());
        let inst = store.instantiate(module, |_, _, _| None).expect("instantiate");
        Guest { store, inst, thread: Thread::new(StackLimits::default()).expect("thread") }
    }

    fn call(&mut self, name: &str, args: &[WasmValue]) -> i32 {
        let f = self.store.export_func(self.inst, name).unwrap_or_else(|| panic!("export {name}"));
        self.thread.invoke(&self.store, f, args).expect("invoke");
        match self.thread.run(&mut self.store) {
            Exit::Done => {}
            other => panic!("{name}: {other:?}"),
        }
        match self.thread.results(&self.store).next() {
            Some(WasmValue::I32(v)) => v,
            other => panic!("{name} returned {other:?}"),
        }
    }

    fn memory(&mut self) -> &mut [u8] {
        let mem = self.store.instance_memory(self.inst, 0).expect("memory");
        self.store.memory_data_mut(mem).expect("memory data")
    }

    fn read(&mut self, ptr_fn: &str, len: usize) -> Vec<u8> {
        let at = self.call(ptr_fn, &[]) as usize;
        self.memory()[at..at + len].to_vec()
    }

    /// The C decoder's verdict on `bytes`: Ok((count, digest)) or Err((code, offset)).
    fn decode(&mut self, bytes: &[u8]) -> Result<(u8, u32), (i32, usize)> {
        let at = self.call("in_ptr", &[]) as usize;
        self.memory()[at..at + bytes.len()].copy_from_slice(bytes);
        let rc = self.call("decode", &[WasmValue::I32(bytes.len() as i32)]);
        if rc >= 0 {
            Ok((rc as u8, self.call("digest", &[]) as u32))
        } else {
            Err((rc, self.call("err_offset", &[]) as usize))
        }
    }
}

/// The guest's xorshift32.
struct XorShift(u32);

impl XorShift {
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }
}

/// What the guest's `encode_random(seed, cap)` writes, built with the Rust `Writer`.
fn encode_random(seed: u32, cap: usize) -> Result<Vec<u8>, fireball_sys::keyval::EncodeError> {
    let mut rng = XorShift(if seed == 0 { 1 } else { seed });
    let mut buf = vec![0u8; cap];
    let mut w = Writer::new(&mut buf)?;
    let n = rng.next() % 10;
    for _ in 0..n {
        let key = rng.next() as u8;
        match rng.next() % 7 {
            0 => w.bool(key, rng.next() & 1 == 1)?,
            1 => w.i32(key, rng.next() as i32)?,
            2 => w.u32(key, rng.next())?,
            3 => {
                let hi = u64::from(rng.next());
                let lo = u64::from(rng.next());
                w.i64(key, ((hi << 32) | lo) as i64)?
            }
            4 => w.f32(key, f32::from_bits(rng.next()))?,
            5 => {
                let len = rng.next() % 40;
                let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                w.bytes(key, &bytes)?
            }
            _ => {
                let len = rng.next() % 39;
                let s: String = (0..len).map(|_| char::from(b'a' + (rng.next() % 26) as u8)).collect();
                w.str(key, &s)?
            }
        };
    }
    Ok(w.finish().to_vec())
}

/// The guest's digest of decoded values, computed from the Rust `Reader`'s.
fn rust_verdict(bytes: &[u8]) -> Result<(u8, u32), (i32, usize)> {
    fn mix(h: u32, b: u32) -> u32 {
        (h ^ (b & 0xff)).wrapping_mul(16_777_619)
    }
    fn mix32(h: u32, v: u32) -> u32 {
        v.to_le_bytes().iter().fold(h, |h, &b| mix(h, b.into()))
    }
    let code = |kind: DecodeErrorKind| match kind {
        DecodeErrorKind::Truncated => -1,
        DecodeErrorKind::UnknownType(_) => -2,
        DecodeErrorKind::LengthOverrun { .. } => -3,
        DecodeErrorKind::InvalidBool(_) => -4,
        DecodeErrorKind::InvalidUtf8 => -5,
        DecodeErrorKind::TrailingBytes => -6,
        _ => unreachable!("a kind the header does not know"),
    };
    let reader = Reader::new(bytes).map_err(|e| (code(e.kind), e.offset))?;
    let count = reader.remaining();
    let mut h: u32 = 2_166_136_261;
    for item in reader {
        let (key, value) = item.map_err(|e| (code(e.kind), e.offset))?;
        h = mix(mix(h, key.into()), value.ty() as u32);
        h = match value {
            Value::Bool(b) => mix(h, b.into()),
            Value::I32(v) => mix32(h, v as u32),
            Value::U32(v) => mix32(h, v),
            Value::I64(v) => mix32(mix32(h, v as u32), (v as u64 >> 32) as u32),
            Value::F32(v) => mix32(h, v.to_bits()),
            Value::Str(s) => s.bytes().fold(h, |h, b| mix(h, b.into())),
            Value::Bytes(b) => b.iter().fold(mix32(h, b.len() as u32), |h, &b| mix(h, b.into())),
        };
    }
    Ok((count, h))
}

#[test]
fn c_guest_and_rust_agree_on_every_message() {
    let Some(wasm) = build_guest() else { return };
    let module = Module::new(&wasm).expect("load the C guest");
    let mut guest = Guest::new(&module);

    // 1. The C encoder writes exactly what the Rust encoder writes.
    for seed in 1..=300u32 {
        let len = guest.call("encode_random", &[WasmValue::I32(seed as i32), WasmValue::I32(2048)]);
        assert!(len > 0, "seed {seed}: C encoder error {len}");
        let c_bytes = guest.read("out_ptr", len as usize);
        let rust_bytes = encode_random(seed, 2048).expect("rust encoder");
        assert_eq!(c_bytes, rust_bytes, "seed {seed}");
        assert_eq!(guest.decode(&c_bytes), rust_verdict(&c_bytes), "seed {seed}");
        assert!(rust_verdict(&c_bytes).is_ok());
    }

    // 2. Out of room: both stop at the same entry (C reports BUFFER_FULL = -7).
    for seed in 1..=100u32 {
        let cap = 1 + seed % 40;
        let len = guest.call("encode_random", &[WasmValue::I32(seed as i32), WasmValue::I32(cap as i32)]);
        match encode_random(seed, cap as usize) {
            Ok(bytes) => assert_eq!(len as usize, bytes.len(), "seed {seed} cap {cap}"),
            Err(fireball_sys::keyval::EncodeError::BufferFull { .. }) => assert_eq!(len, -7, "seed {seed} cap {cap}"),
            Err(e) => panic!("{e}"),
        }
    }

    // 3. Malformed messages: the same error kind at the same offset.
    let hand_made: &[&[u8]] = &[
        &[],
        &[0],
        &[0, 0],
        &[1],
        &[1, 5],
        &[1, 5, 9],
        &[1, 5, 0],
        &[1, 5, 2, 1, 2],
        &[1, 5, 1, 2],
        &[1, 5, 6, 9, 1],
        &[1, 5, 7, 2, 0xc3, 0x28],
        &[1, 5, 7, 3, 0xed, 0xa0, 0x80],
        &[1, 5, 7, 4, 0xf0, 0x9f, 0x98, 0x80],
        &[2, 5, 1, 1],
        &[1, 5, 1, 1, 0xff],
    ];
    for bytes in hand_made {
        assert_eq!(guest.decode(bytes), rust_verdict(bytes), "{bytes:x?}");
    }
    let mut rng = XorShift(0x1234_5678);
    let mut errors = 0;
    for round in 0..3000u32 {
        let mut bytes = encode_random(1 + round % 300, 2048).expect("rust encoder");
        for _ in 0..1 + rng.next() % 3 {
            let at = (rng.next() as usize) % (bytes.len() + 1);
            match rng.next() % 4 {
                0 if at < bytes.len() => bytes[at] = rng.next() as u8,
                1 if at < bytes.len() => bytes[at] ^= 1 << (rng.next() % 8),
                2 => bytes.truncate(at),
                _ => bytes.insert(at, rng.next() as u8),
            }
        }
        let rust = rust_verdict(&bytes);
        errors += usize::from(rust.is_err());
        assert_eq!(guest.decode(&bytes), rust, "round {round}: {bytes:x?}");
    }
    assert!(errors > 1000, "the mutations should break most messages ({errors})");
}
