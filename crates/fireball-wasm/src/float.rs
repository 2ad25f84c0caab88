//! Float semantics the hardware does not give for free: NaN-propagating
//! `min`/`max` with signed zeros, round-half-to-even `nearest`, and the
//! trapping float→int truncations. `libm` supplies what `core` lacks.

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

/// A NaN result made quiet (libm returns signalling NaN inputs unchanged; wasm wants arithmetic NaNs).
#[inline]
pub fn quiet32(x: f32) -> f32 {
    if x.is_nan() {
        f32::from_bits(x.to_bits() | 0x0040_0000)
    } else {
        x
    }
}

/// A NaN result made quiet.
#[inline]
pub fn quiet64(x: f64) -> f64 {
    if x.is_nan() {
        f64::from_bits(x.to_bits() | 0x0008_0000_0000_0000)
    } else {
        x
    }
}

/// Round to nearest, ties to even.
#[inline]
pub fn nearest32(x: f32) -> f32 {
    libm::rintf(x)
}

/// Round to nearest, ties to even.
#[inline]
pub fn nearest64(x: f64) -> f64 {
    libm::rint(x)
}

macro_rules! trunc {
    ($name:ident, $f:ty, $i:ty, $trunc:path, $lo:expr, $hi:expr) => {
        /// Trapping truncation: NaN → invalid conversion, out of range → overflow.
        #[inline]
        pub fn $name(x: $f) -> Result<$i, TrapCode> {
            if x.is_nan() {
                return Err(TrapCode::InvalidConversionToInteger);
            }
            let t = $trunc(x);
            if ($lo..$hi).contains(&t) {
                Ok(t as $i)
            } else {
                Err(TrapCode::IntegerOverflow)
            }
        }
    };
}
trunc!(i32_trunc_f32, f32, i32, libm::truncf, -2147483648.0f32, 2147483648.0f32);
trunc!(u32_trunc_f32, f32, u32, libm::truncf, -0.0f32, 4294967296.0f32);
trunc!(i32_trunc_f64, f64, i32, libm::trunc, -2147483648.0f64, 2147483648.0f64);
trunc!(u32_trunc_f64, f64, u32, libm::trunc, -0.0f64, 4294967296.0f64);
trunc!(i64_trunc_f32, f32, i64, libm::truncf, -9223372036854775808.0f32, 9223372036854775808.0f32);
trunc!(u64_trunc_f32, f32, u64, libm::truncf, -0.0f32, 18446744073709551616.0f32);
trunc!(i64_trunc_f64, f64, i64, libm::trunc, -9223372036854775808.0f64, 9223372036854775808.0f64);
trunc!(u64_trunc_f64, f64, u64, libm::trunc, -0.0f64, 18446744073709551616.0f64);

/// The trapping float-to-int truncations `0xa8..=0xab` (to i32) and `0xae..=0xb1`
/// (to i64), by opcode, on the operand's bits.
#[inline(never)]
pub fn trunc_trapping(op: u8, a: u64) -> Result<u64, TrapCode> {
    let f32_ = f32::from_bits(a as u32);
    let f64_ = f64::from_bits(a);
    Ok(match op {
        0xa8 => i32_trunc_f32(f32_)? as u32 as u64,
        0xa9 => u32_trunc_f32(f32_)? as u64,
        0xaa => i32_trunc_f64(f64_)? as u32 as u64,
        0xab => u32_trunc_f64(f64_)? as u64,
        0xae => i64_trunc_f32(f32_)? as u64,
        0xaf => u64_trunc_f32(f32_)?,
        0xb0 => i64_trunc_f64(f64_)? as u64,
        _ => u64_trunc_f64(f64_)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_max_zeros_and_nan() {
        assert!(fmin32(-0.0, 0.0).is_sign_negative());
        assert!(fmax32(-0.0, 0.0).is_sign_positive());
        assert!(fmin64(f64::NAN, 1.0).is_nan());
    }

    #[test]
    fn trunc_edges() {
        assert_eq!(u32_trunc_f32(-0.9), Ok(0));
        assert_eq!(i32_trunc_f64(-2147483648.9), Ok(i32::MIN));
        assert_eq!(i32_trunc_f64(2147483648.0), Err(TrapCode::IntegerOverflow));
        assert_eq!(u64_trunc_f64(f64::NAN), Err(TrapCode::InvalidConversionToInteger));
        assert_eq!(nearest64(2.5), 2.0);
        assert_eq!(nearest32(-3.5), -4.0);
    }
}
