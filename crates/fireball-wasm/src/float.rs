//! Float semantics the hardware does not give for free: NaN-propagating
//! `min`/`max` with signed zeros, round-half-to-even `nearest`, the trapping
//! float→int truncations, and conversions between the float widths and from
//! integers, all on integers (they are rare, and on a Cortex-M compiler-builtins'
//! versions cost more flash than the engine's own code for them).
//!
//! f64 arithmetic, comparisons and `sqrt`: where the CPU has f64 instructions
//! (`cfg(hard_f64)`, set by `build.rs`: x86-64, AArch64) the interpreter uses
//! them, and `sqrt` is libm's, which compiles to the instruction. Elsewhere (the
//! Cortex-M4F and M33 have single-precision FPUs) [`arith64`], [`cmp64_op`] and
//! [`sqrt64_bits`] compute them on integers: ~1.5 KB of flash where
//! compiler-builtins' soft float and libm's `sqrt` took ~4.7 KB. Feature
//! `soft-f64` takes that path on any host, so the spec testsuite checks it.

use crate::trap::TrapCode;

macro_rules! minmax {
    ($min:ident, $max:ident, $t:ty) => {
        /// Wasm `min`: NaN if either operand is NaN; -0 < +0.
        #[inline]
        pub fn $min(a: $t, b: $t) -> $t {
            if a.is_nan() || b.is_nan() {
                return a + b;
            }
            if a == b {
                return <$t>::from_bits(a.to_bits() | b.to_bits());
            }
            if a < b {
                a
            } else {
                b
            }
        }

        /// Wasm `max`: NaN if either operand is NaN; -0 < +0.
        #[inline]
        pub fn $max(a: $t, b: $t) -> $t {
            if a.is_nan() || b.is_nan() {
                return a + b;
            }
            if a == b {
                return <$t>::from_bits(a.to_bits() & b.to_bits());
            }
            if a > b {
                a
            } else {
                b
            }
        }
    };
}
minmax!(fmin32_inline, fmax32_inline, f32);

/// Wasm `f32.min` (`max` false) or `f32.max`, out of line: rare, and ~140 B each inline on a Cortex-M.
#[inline(never)]
pub fn minmax32(a: f32, b: f32, max: bool) -> f32 {
    if max {
        fmax32_inline(a, b)
    } else {
        fmin32_inline(a, b)
    }
}
#[cfg(hard_f64)]
minmax!(fmin64, fmax64, f64);

/// The f64 comparison `op` (`0x61..=0x66`: eq, ne, lt, gt, le, ge) of the bits
/// `a` and `b`, for a CPU without f64 instructions (Cortex-M: the M4F's FPU is
/// single-precision), where compiler-builtins' six soft-float comparisons cost
/// ~570 B of flash; where the CPU has them, the interpreter compares inline.
#[cfg_attr(hard_f64, allow(dead_code))]
#[inline(never)]
pub fn cmp64_op(op: u8, a: u64, b: u64) -> u64 {
    // The outcomes each operator accepts, a nibble per operator from eq (ne: all but equal).
    const ACCEPTS: u32 = (ORD_GT | ORD_EQ) as u32 * 0x10_0000
        + (ORD_LT | ORD_EQ) as u32 * 0x1_0000
        + ORD_GT as u32 * 0x1000
        + ORD_LT as u32 * 0x100
        + (ORD_LT | ORD_GT | ORD_UN) as u32 * 0x10
        + ORD_EQ as u32;
    let want = ACCEPTS >> (4 * (op.wrapping_sub(0x61) as u32 & 7)) & 0xf;
    (cmp64_bits(a, b) as u32 & want != 0) as u64
}

/// [`cmp64_bits`]: `a` is less than, equal to, greater than `b`, or either is a NaN.
const ORD_LT: u8 = 1;
const ORD_EQ: u8 = 2;
const ORD_GT: u8 = 4;
const ORD_UN: u8 = 8;

/// How the f64s with bits `a` and `b` compare: one of `ORD_LT`, `ORD_EQ`, `ORD_GT`,
/// or `ORD_UN` if either is a NaN (unordered); −0 equals +0. Integer arithmetic only.
#[cfg_attr(hard_f64, allow(dead_code))]
#[inline(never)]
fn cmp64_bits(a: u64, b: u64) -> u8 {
    const INF: u64 = 0x7ff0_0000_0000_0000;
    let (ma, mb) = (a << 1 >> 1, b << 1 >> 1);
    if ma > INF || mb > INF {
        return ORD_UN;
    }
    if a == b || ma | mb == 0 {
        return ORD_EQ;
    }
    // Sign and magnitude to an unsigned order: negatives reversed, below the positives.
    let key = |x: u64| if x >> 63 != 0 { !x } else { x | 1 << 63 };
    if key(a) < key(b) {
        ORD_LT
    } else {
        ORD_GT
    }
}

/// Wasm `f64.min` on bits: NaN if either operand is NaN; −0 < +0.
#[cfg(not(hard_f64))]
pub fn fmin64(a: f64, b: f64) -> f64 {
    minmax64(a, b, ORD_LT)
}

/// Wasm `f64.max` on bits: NaN if either operand is NaN; −0 < +0.
#[cfg(not(hard_f64))]
pub fn fmax64(a: f64, b: f64) -> f64 {
    minmax64(a, b, ORD_GT)
}

/// `min` (`want` = `ORD_LT`) or `max` (`ORD_GT`) of two f64s, with [`cmp64_bits`].
#[cfg_attr(hard_f64, allow(dead_code))]
#[inline(never)]
fn minmax64(a: f64, b: f64, want: u8) -> f64 {
    let (x, y) = (a.to_bits(), b.to_bits());
    match cmp64_bits(x, y) {
        // A NaN operand: a NaN result, quiet.
        ORD_UN => f64::from_bits(if x << 1 > 0x7ff << 53 { x | QUIET64 } else { y | QUIET64 }),
        // Equal: ±0 (or the same value): min takes the sign if either has it, max if both.
        ORD_EQ => f64::from_bits(if want == ORD_LT { x | y } else { x & y }),
        o if o == want => a,
        _ => b,
    }
}

#[cfg(hard_f64)]
/// A NaN result made quiet (libm returns signalling NaN inputs unchanged; wasm wants arithmetic NaNs).
#[inline]
pub fn quiet32(x: f32) -> f32 {
    if x.is_nan() {
        f32::from_bits(x.to_bits() | 0x0040_0000)
    } else {
        x
    }
}

#[cfg(hard_f64)]
/// A NaN result made quiet.
#[inline]
pub fn quiet64(x: f64) -> f64 {
    if x.is_nan() {
        f64::from_bits(x.to_bits() | 0x0008_0000_0000_0000)
    } else {
        x
    }
}

/// How [`round`] rounds to an integral value.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Round {
    /// Toward +∞ (`ceil`).
    Up,
    /// Toward −∞ (`floor`).
    Down,
    /// Toward zero (`trunc`).
    Zero,
    /// To nearest, ties to even (`nearest`).
    Even,
}

/// The float with bits `x` (an f64 if `wide`, else an f32 in the low 32 bits)
/// rounded to an integral value as `mode` says; NaNs come back quiet. Integer
/// arithmetic on the bits only: no libm (an f32 costs one exact conversion each way).
///
/// An f32 is rounded as the f64 of the same value (exact both ways: the
/// integral result of an f32 is an f32), so one body serves both widths.
pub fn round(x: u64, wide: bool, mode: Round) -> u64 {
    if wide {
        round64(x, mode)
    } else {
        f32_via_f64(x, |d| round64(d, mode))
    }
}

/// The f32 with bits `x` (low 32 bits) put through `op` as the f64 of the same
/// value, for an `op` whose f64 result, rounded to f32, is the f32 result
/// (`round`: integral values; `sqrt`: see there). The conversions are exact; a
/// NaN operand comes back quiet with its payload, without `op`.
#[inline(always)]
fn f32_via_f64(x: u64, op: impl Fn(u64) -> u64) -> u64 {
    let f = f32::from_bits(x as u32);
    if f.is_nan() {
        return x & 0xffff_ffff | 0x0040_0000;
    }
    demote(op(promote(x as u32))) as u64
}

#[inline(never)]
fn round64(x: u64, mode: Round) -> u64 {
    let (frac, exp_mask, bias, sign_bit) = (52u32, 0x7ffu64, 1023i32, 1u64 << 63);
    let exp = ((x >> frac) & exp_mask) as i32;
    let neg = x & sign_bit != 0;
    if exp as u64 == exp_mask {
        // NaN made quiet; infinity as it is.
        return if x & ((1 << frac) - 1) != 0 { x | 1 << (frac - 1) } else { x };
    }
    let e = exp - bias;
    if e >= frac as i32 {
        return x; // already integral
    }
    let one = (bias as u64) << frac; // 1.0
    let mag = x & !sign_bit;
    if e < 0 {
        // |x| < 1: 0 or 1 with x's sign, by mode.
        let away = match mode {
            Round::Zero => false,
            Round::Up => !neg && mag != 0,
            Round::Down => neg && mag != 0,
            // More than a half, or exactly a half (which ties to 0, even): not away.
            Round::Even => e == -1 && mag > (((bias - 1) as u64) << frac),
        };
        return (x & sign_bit) | if away { one } else { 0 };
    }
    let unit = 1u64 << (frac as i32 - e);
    let rem = mag & (unit - 1);
    let trunc = mag - rem;
    let away = rem != 0
        && match mode {
            Round::Zero => false,
            Round::Up => !neg,
            Round::Down => neg,
            Round::Even => {
                let half = unit >> 1;
                rem > half || (rem == half && trunc & unit != 0)
            }
        };
    // Adding a unit to the magnitude carries into the exponent correctly.
    (x & sign_bit) | if away { trunc + unit } else { trunc }
}

/// The correctly rounded square root of the float with bits `x` (an f64 if
/// `wide`, else an f32 in the low 32 bits); NaNs come back quiet, a negative
/// operand gives the canonical NaN.
///
/// Where the CPU has a square-root instruction for both widths (x86-64, AArch64)
/// this is libm, which compiles to it. Elsewhere (Cortex-M: the M4F's FPU is
/// single-precision, and libm's table-driven `sqrt` costs ~1 KB of flash) it is
/// [`sqrt64_bits`]; an f32 goes through f64, which is exact both ways and, as
/// 53 ≥ 2·24 + 2, rounds the root correctly (Figueroa, 1995).
pub fn sqrt(x: u64, wide: bool) -> u64 {
    #[cfg(hard_f64)]
    {
        if wide {
            quiet64(libm::sqrt(f64::from_bits(x))).to_bits()
        } else {
            quiet32(libm::sqrtf(f32::from_bits(x as u32))).to_bits() as u64
        }
    }
    #[cfg(not(hard_f64))]
    {
        if wide {
            sqrt64_bits(x)
        } else {
            f32_via_f64(x, sqrt64_bits)
        }
    }
}

/// The correctly rounded square root of the f64 with bits `x`, on integers
/// alone: one result bit per step (the restoring method), ~55 steps. NaNs come
/// back quiet, a negative operand gives the canonical NaN.
#[cfg_attr(hard_f64, allow(dead_code))]
#[inline(never)]
pub fn sqrt64_bits(x: u64) -> u64 {
    const FRAC: u32 = 52;
    const QUIET: u64 = 1 << (FRAC - 1);
    let exp = (x >> FRAC) & 0x7ff;
    let mut m = x & ((1 << FRAC) - 1);
    if exp == 0x7ff && m != 0 {
        return x | QUIET; // NaN in, NaN out
    }
    if x << 1 == 0 {
        return x; // ±0
    }
    if x >> 63 != 0 {
        return 0x7ff << FRAC | QUIET; // negative: canonical NaN
    }
    if exp == 0x7ff {
        return x; // +∞
    }
    // m·2^(e−52) with m's leading one at bit 52 (subnormals normalised).
    let mut e = exp as i32 - 1023;
    if exp == 0 {
        e += 1;
        while m & (1 << FRAC) == 0 {
            m <<= 1;
            e -= 1;
        }
    } else {
        m |= 1 << FRAC;
    }
    if e & 1 != 0 {
        m <<= 1; // an even exponent: m doubled, e − 1 (e >> 1 below floors)
    }
    // 54 result bits: 53 of mantissa and one for rounding. Each step tries the
    // next bit `r` of the root `q` (s = 2q); the remainder stays in `m`.
    m <<= 1;
    let (mut q, mut s, mut r) = (0u64, 0u64, 1u64 << (FRAC + 1));
    while r != 0 {
        let t = s + r;
        if t <= m {
            s = t + r;
            m -= t;
            q += r;
        }
        m <<= 1;
        r >>= 1;
    }
    // Round to nearest: a set rounding bit rounds up (an exact tie cannot occur).
    q += q & 1;
    (q >> 1) + (((1022 + (e >> 1)) as u64) << FRAC)
}

/// `f64.add`, `sub`, `mul`, `div` (`op` `0xa0..=0xa3`) on bits, correctly rounded
/// (to nearest, ties to even), for a CPU without f64 instructions: compiler-builtins'
/// three operations cost ~2.6 KB of flash on a Cortex-M. A NaN operand comes back
/// quiet; an invalid operation (∞ − ∞, 0 · ∞, 0 / 0, ∞ / ∞) gives the canonical NaN.
/// Division takes one quotient bit per step (~56 steps), as [`sqrt64_bits`].
/// Where the CPU has f64 instructions the interpreter uses them.
#[cfg_attr(hard_f64, allow(dead_code))]
#[inline(never)]
pub fn arith64(op: u8, a: u64, b: u64) -> u64 {
    const SIGN: u64 = 1 << 63;
    const INF: u64 = 0x7ff << 52;
    const NAN: u64 = 0x7ff8 << 48;
    let (ma, mb) = (a & !SIGN, b & !SIGN);
    if ma > INF {
        return a | QUIET64;
    }
    if mb > INF {
        return b | QUIET64;
    }
    // sub adds the negated operand.
    let b = if op == 0xa1 { b ^ SIGN } else { b };
    let sign = (a ^ b) & SIGN;
    // Infinities and zeros.
    match op {
        0xa0 | 0xa1 => {
            if ma == INF || mb == INF {
                return if ma == mb && sign != 0 { NAN } else if ma == INF { a } else { b };
            }
            if mb == 0 {
                // x + ±0 is x, and −0 + −0 is −0 (+0 for any other pair of zeros).
                return if ma == 0 { a & b } else { a };
            }
            if ma == 0 {
                return b;
            }
        }
        0xa2 => {
            if ma == INF || mb == INF {
                return if ma == 0 || mb == 0 { NAN } else { sign | INF };
            }
            if ma == 0 || mb == 0 {
                return sign;
            }
        }
        _ => {
            if ma == mb && (ma == INF || ma == 0) {
                return NAN;
            }
            if ma == INF || mb == 0 {
                return sign | INF;
            }
            if ma == 0 || mb == INF {
                return sign;
            }
        }
    }
    let (ea, xa) = unpack64(a);
    let (eb, xb) = unpack64(b);
    match op {
        0xa0 | 0xa1 => {
            // The larger magnitude first: the result has its sign. Three bits below
            // the mantissa: guard, round and sticky.
            let ((ex, mx, s), (ey, my)) = if ma < mb { ((eb, xb, b), (ea, xa)) } else { ((ea, xa, a), (eb, xb)) };
            let (mx, my) = (mx << 3, shr_sticky(my << 3, (ex - ey) as u32));
            let m = if sign == 0 { mx + my } else { mx - my };
            if m == 0 {
                return 0; // x − x is +0
            }
            round_pack64(s & SIGN, ex, m)
        }
        0xa2 => {
            // The 106-bit product of the 53-bit mantissas, from four 32×32 products.
            let (a0, a1, b0, b1) = (xa & 0xffff_ffff, xa >> 32, xb & 0xffff_ffff, xb >> 32);
            let (p00, p01, p10) = (a0 * b0, a0 * b1, a1 * b0);
            let mid = (p00 >> 32) + (p01 & 0xffff_ffff) + (p10 & 0xffff_ffff);
            let lo = (p00 & 0xffff_ffff) | mid << 32;
            let hi = a1 * b1 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
            // Its leading one at bit 104 or 105: to bit 55 or 56, the rest sticky.
            round_pack64(sign, ea + eb - 1023, hi << 15 | lo >> 49 | (lo << 15 != 0) as u64)
        }
        _ => {
            let (mut r, mut e) = (xa, ea - eb + 1023);
            if r < xb {
                r <<= 1;
                e -= 1;
            }
            // 56 quotient bits (the first is 1), then the remainder as the sticky bit.
            let mut q = 0u64;
            for _ in 0..56 {
                q <<= 1;
                if r >= xb {
                    r -= xb;
                    q |= 1;
                }
                r <<= 1;
            }
            round_pack64(sign, e, q | (r != 0) as u64)
        }
    }
}

/// The quiet bit of an f64 NaN.
const QUIET64: u64 = 1 << 51;

/// A finite nonzero f64's exponent field (1 for a subnormal) and mantissa with
/// its leading one at bit 52 (a subnormal's normalised, its exponent lowered to match).
#[inline(never)]
fn unpack64(x: u64) -> (i32, u64) {
    let exp = ((x >> 52) & 0x7ff) as i32;
    let m = x & ((1 << 52) - 1);
    if exp != 0 {
        return (exp, m | 1 << 52);
    }
    let shift = m.leading_zeros() - 11;
    (1 - shift as i32, m << shift)
}

/// `m >> n`, with a one in bit 0 if any bit shifted out was one.
#[inline(never)]
fn shr_sticky(m: u64, n: u32) -> u64 {
    if n >= 64 {
        (m != 0) as u64
    } else {
        m >> n | (m << (63 - n) << 1 != 0) as u64
    }
}

/// The f64 of sign `sign` (bit 63) and value `m · 2^(e − 1023 − 55)`: `m`'s leading
/// one at bit 55 or 56 (or lower, once the exponent field is down to 1), its lowest
/// bit sticky; rounded to nearest, ties to even, overflowing to infinity, into the
/// subnormals.
fn round_pack64(sign: u64, mut e: i32, mut m: u64) -> u64 {
    // Normalise: a sum's carry down to bit 55, a difference's cancellation up to it.
    if m >> 56 != 0 {
        m = m >> 1 | (m & 1);
        e += 1;
    }
    let up = (m.leading_zeros() as i32 - 8).clamp(0, (e - 1).max(0));
    m <<= up;
    e -= up;
    if e < 1 {
        m = shr_sticky(m, (1 - e) as u32);
        e = 1;
    }
    let low = m & 7;
    let mut q = m >> 3;
    if low > 4 || (low == 4 && q & 1 != 0) {
        q += 1;
    }
    if e >= 0x7ff {
        return sign | 0x7ff << 52;
    }
    // The leading one (bit 52, or 53 after a rounding carry) adds to the field
    // `e − 1`; a subnormal has none, and its field stays 0.
    let bits = (((e - 1) as u64) << 52) + q;
    if bits >= 0x7ff << 52 {
        return sign | 0x7ff << 52;
    }
    sign | bits
}

/// `f64.promote_f32` on bits: exact; a NaN keeps its payload and comes back quiet.
/// Integer arithmetic only (compiler-builtins' `__aeabi_f2d` on a Cortex-M).
pub fn promote(x: u32) -> u64 {
    let sign = ((x >> 31) as u64) << 63;
    let exp = (x >> 23) & 0xff;
    let mut m = (x & 0x7f_ffff) as u64;
    if exp == 0xff {
        return sign | 0x7ff << 52 | m << 29 | if m != 0 { 1 << 51 } else { 0 };
    }
    if exp == 0 {
        if m == 0 {
            return sign;
        }
        // A subnormal: normalised, its leading one moved to bit 23 (and dropped).
        let shift = m.leading_zeros() - 40;
        m = (m << shift) & 0x7f_ffff;
        return sign | (1023 - 126 - shift as u64) << 52 | m << 29;
    }
    sign | (exp as u64 + 1023 - 127) << 52 | m << 29
}

/// `f32.demote_f64` on bits: rounded to nearest, ties to even, overflowing to
/// infinity, into the subnormals; a NaN keeps its payload's top bits and comes
/// back quiet. Integer arithmetic only (compiler-builtins' `__aeabi_d2f`).
pub fn demote(x: u64) -> u32 {
    let sign = (x >> 32) as u32 & 0x8000_0000;
    let exp = ((x >> 52) & 0x7ff) as i32;
    let m = x & ((1 << 52) - 1);
    if exp == 0x7ff {
        return sign | 0x7f80_0000 | if m != 0 { 0x40_0000 | (m >> 29) as u32 } else { 0 };
    }
    if exp == 0 {
        return sign; // an f64 subnormal is far below half the least f32 subnormal
    }
    let e = exp - 1023 + 127; // the f32 exponent field, if it were in range
    if e >= 0xff {
        return sign | 0x7f80_0000;
    }
    let mm = m | 1 << 52;
    // A normal result keeps 24 bits (its leading one adds 1 to the field `e − 1`);
    // a subnormal keeps fewer, the field 0 (a rounding carry makes it the least normal).
    let (shift, base) = if e > 0 { (29u32, ((e - 1) as u32) << 23) } else { ((30 - e) as u32, 0) };
    if shift > 53 {
        return sign; // below half the least subnormal
    }
    let mut q = (mm >> shift) as u32;
    let rem = mm & ((1 << shift) - 1);
    let half = 1u64 << (shift - 1);
    if rem > half || (rem == half && q & 1 != 0) {
        q += 1;
    }
    sign | (base + q)
}

/// The float nearest (ties to even) to the integer of magnitude `mag` and sign
/// `neg`: its bits as an f64 if `wide`, else as an f32 in the low 32 bits.
/// Integer arithmetic only (on a Cortex-M, compiler-builtins' six conversions
/// cost ~700 B of flash); an integer never overflows either format.
pub fn from_int(mag: u64, neg: bool, wide: bool) -> u64 {
    if mag == 0 {
        return 0;
    }
    let (frac, bias) = if wide { (52u32, 1023u64) } else { (23, 127) };
    let lz = mag.leading_zeros();
    let m = mag << lz; // the leading one at bit 63
    let shift = 63 - frac; // the bits below the mantissa
    let mut q = m >> shift;
    let rem = m << (64 - shift); // the dropped bits, at the top
    let half = 1u64 << 63;
    if rem > half || (rem == half && q & 1 != 0) {
        q += 1; // a carry out of the mantissa makes q 2^(frac+1): still the right bits below
    }
    // Exponent of the leading one, plus a carry's one; the leading one itself is dropped.
    let e = (63 - lz) as u64 + bias + (q >> (frac + 1));
    let bits = (q & ((1 << frac) - 1)) | e << frac;
    let sign = if neg { 1u64 << (frac + 1 + if wide { 10 } else { 7 }) } else { 0 };
    bits | sign
}

/// The float with bits `x` (f64 if `wide`, else f32) truncated toward zero to a
/// `bits`-bit (32 or 64) integer, signed or not, as wasm's `trunc` (trapping:
/// NaN → invalid conversion, out of range → overflow) or `trunc_sat`
/// (`saturate`: NaN → 0, out of range → the nearest bound). Integer arithmetic only.
///
/// An f32 is converted as the f64 of the same value (exact), so one body
/// serves both widths.
pub fn to_int(x: u64, wide: bool, signed: bool, bits: u32, saturate: bool) -> Result<u64, TrapCode> {
    let x = if wide { x } else { promote(x as u32) };
    let (frac, exp_mask, bias, sign_bit) = (52u32, 0x7ffu64, 1023i32, 1u64 << 63);
    let exp = ((x >> frac) & exp_mask) as i32;
    let neg = x & sign_bit != 0;
    let mant = x & ((1 << frac) - 1);
    // The bounds a saturating conversion clamps to.
    let (lo, hi): (u64, u64) = match (signed, bits) {
        (true, 32) => (i32::MIN as u32 as u64, i32::MAX as u64),
        (true, _) => (i64::MIN as u64, i64::MAX as u64),
        (false, 32) => (0, u32::MAX as u64),
        (false, _) => (0, u64::MAX),
    };
    let clamp = |code: TrapCode| if saturate { Ok(if neg { lo } else { hi }) } else { Err(code) };
    if exp as u64 == exp_mask {
        if mant != 0 {
            return if saturate { Ok(0) } else { Err(TrapCode::InvalidConversionToInteger) };
        }
        return clamp(TrapCode::IntegerOverflow);
    }
    let e = exp - bias;
    if e < 0 {
        return Ok(0); // |x| < 1 (zero and subnormals too)
    }
    if e >= 64 {
        return clamp(TrapCode::IntegerOverflow);
    }
    let m = mant | 1 << frac;
    let mag = if e as u32 >= frac { m << (e as u32 - frac) } else { m >> (frac - e as u32) };
    if signed {
        let limit = 1u64 << (bits - 1);
        if mag > limit || (mag == limit && !neg) {
            return clamp(TrapCode::IntegerOverflow);
        }
        let v = if neg { mag.wrapping_neg() } else { mag };
        Ok(if bits == 32 { v as u32 as u64 } else { v })
    } else {
        if neg || (bits == 32 && mag >> 32 != 0) {
            return clamp(TrapCode::IntegerOverflow);
        }
        Ok(mag)
    }
}

/// The trapping float-to-int truncations `0xa8..=0xab` (to i32) and `0xae..=0xb1`
/// (to i64), by opcode, on the operand's bits.
#[inline(never)]
pub fn trunc_trapping(op: u8, a: u64) -> Result<u64, TrapCode> {
    // a8 i32.trunc_f32_s, a9 _u, aa i32.trunc_f64_s, ab _u; ae..b1 the same to i64.
    let k = if op >= 0xae { op - 0xae } else { op - 0xa8 };
    to_int(a, k >= 2, k & 1 == 0, if op >= 0xae { 64 } else { 32 }, false)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;
    use std::vec::Vec;

    /// A deterministic spread of bit patterns (xorshift64) for the host comparisons.
    fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }

    #[test]
    fn min_max_zeros_and_nan() {
        assert!(minmax32(-0.0, 0.0, false).is_sign_negative());
        assert!(minmax32(-0.0, 0.0, true).is_sign_positive());
        assert!(fmin64(f64::NAN, 1.0).is_nan());
    }

    /// The integer comparison against the host's, and min/max through it.
    #[test]
    fn f64_compare_on_bits_matches_the_host() {
        let mut next = xorshift(0x0bad_cafe_1234_5678);
        let mut xs: Vec<f64> = vec![0.0, -0.0, 1.0, -1.0, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, -f64::NAN, f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE, f64::from_bits(1), f64::from_bits(1 << 63 | 1), f64::MAX, f64::MIN, 1.5, -1.5];
        for _ in 0..400 {
            let r = next();
            xs.push(f64::from_bits(r));
            xs.push((r % 1000) as f64 - 500.0);
        }
        let nan_bits = |x: f64| x.to_bits() & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000;
        for &x in &xs {
            for &y in &xs {
                let (a, b) = (x.to_bits(), y.to_bits());
                let m = cmp64_bits(a, b);
                assert_eq!(m & ORD_EQ != 0, x == y, "{x} == {y}");
                assert_eq!(m & ORD_LT != 0, x < y, "{x} < {y}");
                assert_eq!(m & ORD_GT != 0, x > y, "{x} > {y}");
                let (mn, mx) = (minmax64(x, y, ORD_LT), minmax64(x, y, ORD_GT));
                if x.is_nan() || y.is_nan() {
                    assert!(nan_bits(mn) && nan_bits(mx), "min/max {x} {y}");
                } else {
                    assert_eq!(mn.to_bits(), fmin64(x, y).to_bits(), "min {x} {y}");
                    assert_eq!(mx.to_bits(), fmax64(x, y).to_bits(), "max {x} {y}");
                }
                let ops = [x == y, x != y, x < y, x > y, x <= y, x >= y];
                for (op, want) in (0x61..=0x66).zip(ops) {
                    assert_eq!(cmp64_op(op, a, b), want as u64, "{op:#x} {x} {y}");
                }
            }
        }
    }

    /// Soft f64 arithmetic against the host's, on edge values and spreads of bit
    /// patterns: every exponent range (subnormal results, overflow, cancellation).
    #[test]
    fn soft_f64_arithmetic_matches_the_host() {
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
        let edges: Vec<u64> = vec![0, 1 << 63, 1, 2, 0x000f_ffff_ffff_ffff, 0x0010_0000_0000_0000, 0x3ff0_0000_0000_0000, 0xbff0_0000_0000_0000,
            0x7fef_ffff_ffff_ffff, 0x7ff0_0000_0000_0000, 0xfff0_0000_0000_0000, 0x3ff0_0000_0000_0001, 0x3cb0_0000_0000_0000, 0x4340_0000_0000_0000,
            0x7ff8_0000_0000_0000, 0x7ff0_0000_0000_0001, 0x3fe0_0000_0000_0000, 0x0008_0000_0000_0000, 0x8000_0000_0000_0001];
        let mut pairs: Vec<(u64, u64)> = Vec::new();
        for &a in &edges {
            for &b in &edges {
                pairs.push((a, b));
            }
        }
        for _ in 0..300000 {
            let (r, t) = (next(), next());
            pairs.push((r, t));
            // Near each other (cancellation, rounding ties) and at the ends of the range.
            let e = |x: u64, k: u64| (x & 0x800f_ffff_ffff_ffff) | (k % 0x7ff) << 52;
            pairs.push((e(r, t >> 52), e(t, (t >> 52) + (r >> 60))));
            pairs.push((e(r, r >> 58), e(t, 0x7ff - (t >> 58))));
            pairs.push((r, r ^ (t >> (t % 64))));
        }
        let quiet_nan = |z: u64| z & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000;
        for &(a, b) in &pairs {
            let (x, y) = (f64::from_bits(a), f64::from_bits(b));
            for (op, want) in [(0xa0u8, x + y), (0xa1, x - y), (0xa2, x * y), (0xa3, x / y)] {
                let got = arith64(op, a, b);
                if want.is_nan() {
                    assert!(quiet_nan(got), "{op:#x} {a:#x} {b:#x}: {got:#x}");
                    // A NaN operand's payload survives (quieted); otherwise the canonical NaN.
                    if x.is_nan() {
                        assert_eq!(got, a | QUIET64);
                    } else if y.is_nan() {
                        assert_eq!(got & !(1 << 63), (b | QUIET64) & !(1 << 63));
                    } else {
                        assert_eq!(got << 1, 0x7ff8_0000_0000_0000 << 1);
                    }
                } else {
                    assert_eq!(got, want.to_bits(), "{op:#x} {a:#x} {b:#x}");
                }
            }
        }
    }

    /// Promotion and demotion against the host's, NaNs aside (below).
    #[test]
    fn promote_demote_match_the_host() {
        let mut next = xorshift(0x2468_ace0_1357_9bdf);
        let mut xs: Vec<u64> = vec![0, 1 << 63, 1, 0x3ff0_0000_0000_0000, 0x47ef_ffff_f000_0000, 0x47ef_ffff_efff_ffff, 0x47ef_ffff_e000_0000,
            0x36a0_0000_0000_0000, 0x3690_0000_0000_0000, 0x3690_0000_0000_0001, 0x380f_ffff_f000_0000, 0x380f_ffff_e000_0000,
            0x3810_0000_0000_0000, 0x7ff0_0000_0000_0000, 0x000f_ffff_ffff_ffff, 0x3e80_0000_1000_0000, 0x3e80_0000_3000_0000];
        for _ in 0..200000 {
            let seed = next();
            xs.push(seed);
            // Around the f32 range, where demotion rounds, overflows and goes subnormal.
            xs.push((seed & 0x800f_ffff_ffff_ffff) | ((0x360 + (seed >> 52) % 0xa0) << 52));
        }
        for &b in &xs {
            let x = f64::from_bits(b);
            if x.is_nan() {
                continue;
            }
            assert_eq!(demote(b), (x as f32).to_bits(), "demote {b:#x}");
            let y = b as u32;
            if !f32::from_bits(y).is_nan() {
                assert_eq!(promote(y), (f32::from_bits(y) as f64).to_bits(), "promote {y:#x}");
            }
        }
        assert_eq!(promote(0x7f80_0001), 0x7ff8_0000_2000_0000);
        assert_eq!(promote(0xffc0_0000), 0xfff8_0000_0000_0000);
        assert_eq!(demote(0x7ff0_0000_2000_0001), 0x7fc0_0001);
        assert_eq!(demote(0xfff8_0000_0000_0000), 0xffc0_0000);
    }

    /// Integer to float, both widths, against the host's conversions.
    #[test]
    fn from_int_matches_the_host() {
        let mut next = xorshift(0x1357_9bdf_2468_ace0);
        let mut vals: Vec<u64> = vec![0, 1, 2, 3, u64::MAX, i64::MAX as u64, i64::MIN as u64, 1 << 53, (1 << 53) + 1, (1 << 54) + 2, (1 << 24) + 1,
            (1 << 25) + 3, 0xffff_ffff, 0x7fff_ffff, 0x8000_0000, 0xffff_ff80_0000_0000, 0x0000_0000_ffff_ff7f];
        for _ in 0..100000 {
            let seed = next();
            vals.push(seed >> (seed % 64));
            vals.push(seed);
        }
        for &v in &vals {
            let (s, neg) = ((v as i64).unsigned_abs(), (v as i64) < 0);
            assert_eq!(from_int(v, false, true), (v as f64).to_bits(), "u64 {v}");
            assert_eq!(from_int(v, false, false), (v as f32).to_bits() as u64, "u64 f32 {v}");
            assert_eq!(from_int(s, neg, true), (v as i64 as f64).to_bits(), "i64 {v}");
            assert_eq!(from_int(s, neg, false), (v as i64 as f32).to_bits() as u64, "i64 f32 {v}");
        }
    }

    #[test]
    fn trunc_edges() {
        let f32b = |x: f32| x.to_bits() as u64;
        let f64b = f64::to_bits;
        assert_eq!(to_int(f32b(-0.9), false, false, 32, false), Ok(0));
        assert_eq!(to_int(f64b(-2147483648.9), true, true, 32, false), Ok(i32::MIN as u32 as u64));
        assert_eq!(to_int(f64b(2147483648.0), true, true, 32, false), Err(TrapCode::IntegerOverflow));
        assert_eq!(to_int(f64b(f64::NAN), true, false, 64, false), Err(TrapCode::InvalidConversionToInteger));
        assert_eq!(to_int(f64b(-9223372036854775808.0), true, true, 64, false), Ok(i64::MIN as u64));
        assert_eq!(to_int(f64b(1e300), true, true, 32, true), Ok(i32::MAX as u64));
        assert_eq!(to_int(f64b(-1.0), true, false, 32, true), Ok(0));
        assert_eq!(round(f64b(2.5), true, Round::Even), f64b(2.0));
        assert_eq!(round(f32b(-3.5), false, Round::Even), f32b(-4.0));
    }

    /// `round` and `to_int` against the host's float operations, on edge values and
    /// a deterministic spread of bit patterns, both widths, every mode.
    #[test]
    fn bit_arithmetic_matches_the_host() {
        let mut next = xorshift(0x1234_5678_9abc_def0);
        let mut f64s: Vec<f64> = vec![0.0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999999999999994, 4503599627370495.5, 1e300, -1e300,
            f64::INFINITY, f64::NEG_INFINITY, f64::MIN_POSITIVE, 2147483647.9, -2147483648.9, 4294967295.9, 9.223372036854775e18, -9.223372036854776e18, 1.8446744073709552e19];
        for _ in 0..20000 {
            let r = next();
            f64s.push(f64::from_bits(r));
            f64s.push((r % 100_000) as f64 / 64.0 - 700.0);
        }
        for &x in &f64s {
            if x.is_nan() {
                continue;
            }
            let b = x.to_bits();
            assert_eq!(f64::from_bits(round(b, true, Round::Up)), x.ceil(), "ceil {x}");
            assert_eq!(f64::from_bits(round(b, true, Round::Down)), x.floor(), "floor {x}");
            assert_eq!(f64::from_bits(round(b, true, Round::Zero)).to_bits(), x.trunc().to_bits(), "trunc {x}");
            assert_eq!(f64::from_bits(round(b, true, Round::Even)).to_bits(), x.round_ties_even().to_bits(), "nearest {x}");
            assert_eq!(to_int(b, true, true, 32, true), Ok(x as i32 as u32 as u64), "sat i32 {x}");
            assert_eq!(to_int(b, true, false, 64, true), Ok(x as u64), "sat u64 {x}");
            assert_eq!(to_int(b, true, true, 64, true), Ok(x as i64 as u64), "sat i64 {x}");
            let y = x as f32;
            let c = y.to_bits() as u64;
            assert_eq!(f32::from_bits(round(c, false, Round::Up) as u32), y.ceil(), "ceilf {y}");
            assert_eq!(f32::from_bits(round(c, false, Round::Down) as u32), y.floor(), "floorf {y}");
            assert_eq!(f32::from_bits(round(c, false, Round::Even) as u32).to_bits(), y.round_ties_even().to_bits(), "nearestf {y}");
            assert_eq!(to_int(c, false, false, 32, true), Ok(y as u32 as u64), "sat u32 {y}");
        }
        for &x in &f64s {
            if x.is_nan() {
                continue; // NaN operands: below, with their payloads
            }
            let y = x as f32;
            // Below zero the host's NaN may carry the sign; wasm's canonical NaN has either.
            // (libm's host path returns the CPU's default NaN: its sign differs by build.)
            let (got, got32) = (sqrt(x.to_bits(), true), sqrt(y.to_bits() as u64, false));
            if x < 0.0 {
                assert_eq!(got << 1, 0x7ff8_0000_0000_0000 << 1, "sqrt {x}");
            } else {
                assert_eq!(got, x.sqrt().to_bits(), "sqrt {x}");
            }
            if y < 0.0 {
                assert_eq!(got32 << 33, 0x7fc0_0000 << 33, "sqrtf {y}");
            } else {
                assert_eq!(got32, y.sqrt().to_bits() as u64, "sqrtf {y}");
            }
            // The integer path itself, whichever path `sqrt` takes on this host.
            let r = sqrt64_bits(x.to_bits());
            if x < 0.0 {
                assert_eq!(r, 0x7ff8_0000_0000_0000, "sqrt64_bits {x}");
            } else {
                assert_eq!(r, x.sqrt().to_bits(), "sqrt64_bits {x}");
            }
            if y >= 0.0 {
                let r = f32_via_f64(y.to_bits() as u64, sqrt64_bits);
                assert_eq!(r, y.sqrt().to_bits() as u64, "sqrtf through f64 {y}");
            }
        }
        for b in [1u64, 2, 3, 0x000f_ffff_ffff_ffff, 0x0010_0000_0000_0000] {
            assert_eq!(sqrt64_bits(b), f64::from_bits(b).sqrt().to_bits(), "sqrt64_bits of subnormal {b:#x}");
            let x = f64::from_bits(b);
            assert_eq!(sqrt(b, true), x.sqrt().to_bits(), "sqrt of subnormal {b:#x}");
        }
        for b in [1u32, 2, 3, 0x007f_ffff, 0x0080_0000] {
            let y = f32::from_bits(b);
            assert_eq!(sqrt(b as u64, false), y.sqrt().to_bits() as u64, "sqrtf of subnormal {b:#x}");
        }
        assert_eq!(sqrt((-1.0f64).to_bits(), true) << 1, 0x7ff8_0000_0000_0000 << 1);
        assert_eq!(sqrt((-0.0f32).to_bits() as u64, false), (-0.0f32).to_bits() as u64);
        assert_eq!(sqrt(f64::INFINITY.to_bits(), true), f64::INFINITY.to_bits());
        let nan = f64::NAN.to_bits() & !(1 << 51) | 1; // signalling
        assert!(f64::from_bits(sqrt(nan, true)).is_nan() && sqrt(nan, true) & 1 << 51 != 0);
        assert_eq!(sqrt64_bits(nan), nan | 1 << 51);
        assert_eq!(f32_via_f64(0x7f80_0001, sqrt64_bits), 0x7fc0_0001); // a signalling f32 NaN, quieted
        assert_eq!(sqrt64_bits((-2.0f64).to_bits()), 0x7ff8_0000_0000_0000);
        assert!(f64::from_bits(round(nan, true, Round::Even)).is_nan() && round(nan, true, Round::Even) & 1 << 51 != 0);
    }
}
