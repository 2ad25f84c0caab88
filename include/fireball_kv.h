/*
 * fireball_kv.h: Fireball's typed key-value messages for C guests.
 *
 * The same codec as crates/fireball-sys/src/keyval.rs (whose module docs are
 * the reference), as static inline functions: no libc, no allocation, C99.
 * A guest encodes a message into its own buffer and passes (pointer, length)
 * to an import; it decodes a message the runtime wrote into its memory.
 *
 * Wire format (all integers little-endian):
 *
 *   message = count:u8, then `count` entries, nothing after the last one
 *   entry   = key:u8, type:u8, payload
 *
 *   type  name   payload                                  entry size
 *   0x01  bool   1 byte: 0x00 false, 0x01 true              3
 *   0x02  i32    4 bytes, two's complement                  6
 *   0x03  u32    4 bytes                                    6
 *   0x04  i64    8 bytes, two's complement                 10
 *   0x05  f32    4 bytes, IEEE 754 binary32 bit pattern     6
 *   0x06  bytes  len:u8, then len bytes                     3 + len
 *   0x07  str    len:u8, then len bytes of UTF-8, no NUL    3 + len
 *
 * Encoding:
 *
 *   uint8_t buf[64];
 *   fkv_writer w;
 *   fkv_writer_init(&w, buf, sizeof buf);
 *   fkv_put_i32(&w, 1, -5);
 *   fkv_put_str(&w, 2, "ok");
 *   int32_t len = fkv_writer_finish(&w);   // bytes used, or an FKV_ERR_* code
 *
 * The first error sticks: later puts do nothing and fkv_writer_finish
 * returns it, so one check at the end is enough. The entries written before
 * the error still form a valid message of w.len bytes.
 *
 * Decoding (strings and byte strings point into the message, no copy, and
 * strings are NOT NUL-terminated):
 *
 *   fkv_reader r;
 *   fkv_entry e;
 *   int32_t rc;
 *   fkv_reader_init(&r, msg, len);
 *   while ((rc = fkv_next(&r, &e)) == 1) {
 *       if (e.key == 1 && e.type == FKV_I32) use(e.v.i32);
 *   }
 *   if (rc < 0) fail(rc, r.err_offset);   // e.g. FKV_ERR_TRUNCATED at byte r.err_offset
 *
 * fkv_next returns 1 (an entry), 0 (the end: all `count` entries read and no
 * trailing bytes) or an FKV_ERR_* code with r.err_offset set to the same
 * byte offset the Rust decoder reports; errors stick.
 *
 * Building: clang may turn the copy loops into memcpy calls. A guest linked
 * with wasi-libc has memcpy; one built with -nostdlib adds -fno-builtin, e.g.
 *   clang --target=wasm32 -O2 -nostdlib -fno-builtin -Wl,--no-entry ...
 * (crates/fireball-sys/tests/keyval_c_guest.rs builds a guest exactly so.)
 */
#ifndef FIREBALL_KV_H
#define FIREBALL_KV_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Type codes (byte 1 of an entry). */
#define FKV_BOOL 0x01
#define FKV_I32 0x02
#define FKV_U32 0x03
#define FKV_I64 0x04
#define FKV_F32 0x05
#define FKV_BYTES 0x06
#define FKV_STR 0x07

/* Longest byte string or string, and most entries in a message. */
#define FKV_MAX_LEN 255u
#define FKV_MAX_ENTRIES 255u

/* Errors. The decoder's match keyval::DecodeErrorKind, and err_offset its `offset`:
 *   TRUNCATED       input ends inside a fixed-size field; offset = where the field starts
 *   UNKNOWN_TYPE    type code not 0x01..0x07; offset = the type byte
 *   LENGTH_OVERRUN  len byte claims more than is left; offset = the len byte
 *   INVALID_BOOL    bool payload not 0/1; offset = that byte
 *   INVALID_UTF8    str payload not UTF-8; offset = first byte of the first bad sequence
 *   TRAILING_BYTES  bytes after the last entry; offset = the first of them */
#define FKV_ERR_TRUNCATED (-1)
#define FKV_ERR_UNKNOWN_TYPE (-2)
#define FKV_ERR_LENGTH_OVERRUN (-3)
#define FKV_ERR_INVALID_BOOL (-4)
#define FKV_ERR_INVALID_UTF8 (-5)
#define FKV_ERR_TRAILING_BYTES (-6)
/* The encoder's match keyval::EncodeError. */
#define FKV_ERR_BUFFER_FULL (-7)
#define FKV_ERR_TOO_LONG (-8)
#define FKV_ERR_TOO_MANY_ENTRIES (-9)

/* ---- encoder ---------------------------------------------------------- */

typedef struct fkv_writer {
    uint8_t *buf;
    uint32_t cap;
    uint32_t len; /* bytes written, count byte included */
    int32_t err;  /* 0 or the first FKV_ERR_* */
} fkv_writer;

/* Starts an empty message (count 0) at buf[0]. Needs cap >= 1. */
static inline int32_t fkv_writer_init(fkv_writer *w, uint8_t *buf, uint32_t cap) {
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->err = 0;
    if (cap < 1) {
        w->err = FKV_ERR_BUFFER_FULL;
        return w->err;
    }
    buf[0] = 0;
    w->len = 1;
    return 0;
}

/* One entry: key, type, `nfixed` bytes of `fixed`, then `ndata` bytes of `data`. */
static inline int32_t fkv__put(fkv_writer *w, uint8_t key, uint8_t type, const uint8_t *fixed, uint32_t nfixed,
                               const uint8_t *data, uint32_t ndata) {
    uint32_t i, need;
    uint8_t *out;
    if (w->err) return w->err;
    if (w->buf[0] >= FKV_MAX_ENTRIES) return w->err = FKV_ERR_TOO_MANY_ENTRIES;
    need = 2u + nfixed + ndata;
    if (need > w->cap - w->len) return w->err = FKV_ERR_BUFFER_FULL;
    out = w->buf + w->len;
    out[0] = key;
    out[1] = type;
    for (i = 0; i < nfixed; i++) out[2 + i] = fixed[i];
    for (i = 0; i < ndata; i++) out[2 + nfixed + i] = data[i];
    w->len += need;
    w->buf[0] = (uint8_t)(w->buf[0] + 1u);
    return 0;
}

static inline void fkv__le32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline int32_t fkv_put_bool(fkv_writer *w, uint8_t key, int v) {
    uint8_t b = v ? 1u : 0u;
    return fkv__put(w, key, FKV_BOOL, &b, 1, 0, 0);
}

static inline int32_t fkv_put_u32(fkv_writer *w, uint8_t key, uint32_t v) {
    uint8_t p[4];
    fkv__le32(p, v);
    return fkv__put(w, key, FKV_U32, p, 4, 0, 0);
}

static inline int32_t fkv_put_i32(fkv_writer *w, uint8_t key, int32_t v) {
    uint8_t p[4];
    fkv__le32(p, (uint32_t)v);
    return fkv__put(w, key, FKV_I32, p, 4, 0, 0);
}

static inline int32_t fkv_put_i64(fkv_writer *w, uint8_t key, int64_t v) {
    uint8_t p[8];
    fkv__le32(p, (uint32_t)(uint64_t)v);
    fkv__le32(p + 4, (uint32_t)((uint64_t)v >> 32));
    return fkv__put(w, key, FKV_I64, p, 8, 0, 0);
}

static inline int32_t fkv_put_f32(fkv_writer *w, uint8_t key, float v) {
    union {
        float f;
        uint32_t u;
    } bits;
    uint8_t p[4];
    bits.f = v;
    fkv__le32(p, bits.u);
    return fkv__put(w, key, FKV_F32, p, 4, 0, 0);
}

static inline int32_t fkv__put_len(fkv_writer *w, uint8_t key, uint8_t type, const uint8_t *data, uint32_t len) {
    uint8_t n;
    if (w->err) return w->err;
    if (w->buf[0] >= FKV_MAX_ENTRIES) return w->err = FKV_ERR_TOO_MANY_ENTRIES; /* Rust's order of checks */
    if (len > FKV_MAX_LEN) return w->err = FKV_ERR_TOO_LONG;
    n = (uint8_t)len;
    return fkv__put(w, key, type, &n, 1, data, len);
}

static inline int32_t fkv_put_bytes(fkv_writer *w, uint8_t key, const void *data, uint32_t len) {
    return fkv__put_len(w, key, FKV_BYTES, (const uint8_t *)data, len);
}

/* A string of `len` bytes of UTF-8 (not checked here; the receiver checks). */
static inline int32_t fkv_put_strn(fkv_writer *w, uint8_t key, const char *s, uint32_t len) {
    return fkv__put_len(w, key, FKV_STR, (const uint8_t *)s, len);
}

/* A NUL-terminated string (the NUL is not sent). */
static inline int32_t fkv_put_str(fkv_writer *w, uint8_t key, const char *s) {
    uint32_t len = 0;
    while (s[len] != '\0' && len <= FKV_MAX_LEN) len++;
    return fkv_put_strn(w, key, s, len);
}

/* The message length in bytes, or the first error. */
static inline int32_t fkv_writer_finish(const fkv_writer *w) {
    return w->err ? w->err : (int32_t)w->len;
}

/* ---- decoder ---------------------------------------------------------- */

typedef struct fkv_reader {
    const uint8_t *buf;
    uint32_t len;
    uint32_t pos;        /* next byte to read */
    uint32_t left;       /* entries still to read */
    int32_t err;         /* 0 or the first FKV_ERR_* */
    uint32_t err_offset; /* where, when err != 0 */
} fkv_reader;

typedef struct fkv_slice {
    const uint8_t *ptr; /* into the message */
    uint32_t len;
} fkv_slice;

typedef struct fkv_entry {
    uint8_t key;
    uint8_t type; /* FKV_BOOL … FKV_STR: says which member of v is set */
    union {
        int32_t b; /* 0 or 1 */
        int32_t i32;
        uint32_t u32;
        int64_t i64;
        float f32;
        fkv_slice bytes;
        fkv_slice str; /* UTF-8, not NUL-terminated */
    } v;
} fkv_entry;

static inline int32_t fkv__fail(fkv_reader *r, int32_t err, uint32_t offset) {
    r->err = err;
    r->err_offset = offset;
    return err;
}

/* Starts reading msg[0..len). Fails (FKV_ERR_TRUNCATED at 0) only if len is 0. */
static inline int32_t fkv_reader_init(fkv_reader *r, const uint8_t *msg, uint32_t len) {
    r->buf = msg;
    r->len = len;
    r->pos = 1;
    r->left = 0;
    r->err = 0;
    r->err_offset = 0;
    if (len < 1) return fkv__fail(r, FKV_ERR_TRUNCATED, 0);
    r->left = msg[0];
    return 0;
}

static inline uint32_t fkv__rd32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Index of the first byte of the first invalid UTF-8 sequence in s[0..n), or n. */
static inline uint32_t fkv__utf8_valid_up_to(const uint8_t *s, uint32_t n) {
    uint32_t i = 0, k, need;
    uint8_t c, lo, hi;
    while (i < n) {
        c = s[i];
        lo = 0x80;
        hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c == 0xE0) {
            need = 2;
            lo = 0xA0;
        } else if (c == 0xED) {
            need = 2;
            hi = 0x9F;
        } else if (c >= 0xE1 && c <= 0xEF) {
            need = 2;
        } else if (c == 0xF0) {
            need = 3;
            lo = 0x90;
        } else if (c >= 0xF1 && c <= 0xF3) {
            need = 3;
        } else if (c == 0xF4) {
            need = 3;
            hi = 0x8F;
        } else {
            return i;
        }
        if (n - i - 1 < need) return i;
        if (s[i + 1] < lo || s[i + 1] > hi) return i;
        for (k = 2; k <= need; k++)
            if ((s[i + k] & 0xC0) != 0x80) return i;
        i += need + 1;
    }
    return n;
}

/* The next entry: 1 and *e filled, 0 at the end, or an FKV_ERR_* (sticky). */
static inline int32_t fkv_next(fkv_reader *r, fkv_entry *e) {
    uint32_t at, avail, n, ok;
    const uint8_t *p;
    if (r->err) return r->err;
    if (r->left == 0) {
        if (r->pos < r->len) return fkv__fail(r, FKV_ERR_TRAILING_BYTES, r->pos);
        return 0;
    }
    if (r->len - r->pos < 1) return fkv__fail(r, FKV_ERR_TRUNCATED, r->pos);
    e->key = r->buf[r->pos++];
    if (r->len - r->pos < 1) return fkv__fail(r, FKV_ERR_TRUNCATED, r->pos);
    e->type = r->buf[r->pos];
    at = r->pos++;
    p = r->buf + r->pos;
    avail = r->len - r->pos;
    switch (e->type) {
    case FKV_BOOL:
        if (avail < 1) return fkv__fail(r, FKV_ERR_TRUNCATED, r->pos);
        if (p[0] > 1) return fkv__fail(r, FKV_ERR_INVALID_BOOL, r->pos);
        e->v.b = p[0];
        r->pos += 1;
        break;
    case FKV_I32:
    case FKV_U32:
    case FKV_F32:
        if (avail < 4) return fkv__fail(r, FKV_ERR_TRUNCATED, r->pos);
        if (e->type == FKV_F32) {
            union {
                uint32_t u;
                float f;
            } bits;
            bits.u = fkv__rd32(p);
            e->v.f32 = bits.f;
        } else {
            e->v.u32 = fkv__rd32(p); /* i32 shares the bits */
        }
        r->pos += 4;
        break;
    case FKV_I64:
        if (avail < 8) return fkv__fail(r, FKV_ERR_TRUNCATED, r->pos);
        e->v.i64 = (int64_t)((uint64_t)fkv__rd32(p) | ((uint64_t)fkv__rd32(p + 4) << 32));
        r->pos += 8;
        break;
    case FKV_BYTES:
    case FKV_STR:
        if (avail < 1) return fkv__fail(r, FKV_ERR_TRUNCATED, r->pos);
        n = p[0];
        if (n > avail - 1) return fkv__fail(r, FKV_ERR_LENGTH_OVERRUN, r->pos);
        e->v.bytes.ptr = p + 1;
        e->v.bytes.len = n;
        if (e->type == FKV_STR) {
            ok = fkv__utf8_valid_up_to(p + 1, n);
            if (ok != n) return fkv__fail(r, FKV_ERR_INVALID_UTF8, r->pos + 1 + ok);
        }
        r->pos += 1 + n;
        break;
    default:
        return fkv__fail(r, FKV_ERR_UNKNOWN_TYPE, at);
    }
    r->left--;
    return 1;
}

/* Checks a whole message: its entry count, or an FKV_ERR_* (offset in *err_offset if not NULL). */
static inline int32_t fkv_validate(const uint8_t *msg, uint32_t len, uint32_t *err_offset) {
    fkv_reader r;
    fkv_entry e;
    int32_t rc = fkv_reader_init(&r, msg, len);
    if (rc == 0) {
        while ((rc = fkv_next(&r, &e)) == 1) {
        }
    }
    if (rc < 0) {
        if (err_offset) *err_offset = r.err_offset;
        return rc;
    }
    return msg[0];
}

#ifdef __cplusplus
}
#endif

#endif /* FIREBALL_KV_H */
