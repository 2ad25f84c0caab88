//! Float semantics the hardware does not give for free: NaN-propagating
//! `min`/`max` with signed zeros, round-half-to-even `nearest`, and the
//! trapping float→int truncations, and a square root. `libm` supplies the square
//! root where the CPU has an instruction for it (x86-64, AArch64); elsewhere the
//! bit-by-bit [`sqrt64_bits`] does (libm's is ~1 KB of flash on a Cortex-M).

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
minmax!(fmin32, fmax32, f32);
minmax!(fmin64, fmax64, f64);

#[cfg(any(target_feature = "sse2", all(target_arch = "aarch64", target_feature = "neon")))]
/// A NaN result made quiet (libm returns signalling NaN inputs unchanged; wasm wants arithmetic NaNs).
#[inline]
pub fn quiet32(x: f32) -> f32 {
    if x.is_nan() {
        f32::from_bits(x.to_bits() | 0x0040_0000)
    } else {
        x
    }
}

#[cfg(any(target_feature = "sse2", all(target_arch = "aarch64", target_feature = "neon")))]
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
    (f64::from_bits(op((f as f64).to_bits())) as f32).to_bits() as u64
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
    #[cfg(any(target_feature = "sse2", all(target_arch = "aarch64", target_feature = "neon")))]
    {
        if wide {
            quiet64(libm::sqrt(f64::from_bits(x))).to_bits()
        } else {
            quiet32(libm::sqrtf(f32::from_bits(x as u32))).to_bits() as u64
        }
    }
    #[cfg(not(any(target_feature = "sse2", all(target_arch = "aarch64", target_feature = "neon"))))]
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
#[cfg_attr(any(target_feature = "sse2", all(target_arch = "aarch64", target_feature = "neon")), allow(dead_code))]
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

/// The float with bits `x` (f64 if `wide`, else f32) truncated toward zero to a
/// `bits`-bit (32 or 64) integer, signed or not, as wasm's `trunc` (trapping:
/// NaN → invalid conversion, out of range → overflow) or `trunc_sat`
/// (`saturate`: NaN → 0, out of range → the nearest bound). Integer arithmetic only.
///
/// An f32 is converted as the f64 of the same value (exact), so one body
/// serves both widths.
pub fn to_int(x: u64, wide: bool, signed: bool, bits: u32, saturate: bool) -> Result<u64, TrapCode> {
    let x = if wide { x } else { (f32::from_bits(x as u32) as f64).to_bits() };
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

    #[test]
    fn min_max_zeros_and_nan() {
        assert!(fmin32(-0.0, 0.0).is_sign_negative());
        assert!(fmax32(-0.0, 0.0).is_sign_positive());
        assert!(fmin64(f64::NAN, 1.0).is_nan());
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
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
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
