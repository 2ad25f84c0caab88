//! The Benchmarks Game n-body simulation (Sun and the four gas giants) in
//! plain Rust f64, `n` steps of 0.01: square roots, divisions and an inner
//! loop over pairs. Every result is IEEE-exact (no fused multiply-add in Rust
//! unless asked for), so the wasm and native energies agree bit for bit.

// Index loops over x, y, z read like the physics; iterators would not.
#![allow(clippy::needless_range_loop)]

use std::f64::consts::PI;

const SOLAR_MASS: f64 = 4.0 * PI * PI;
const DAYS_PER_YEAR: f64 = 365.24;

#[derive(Clone, Copy)]
struct Body {
    pos: [f64; 3],
    vel: [f64; 3],
    mass: f64,
}

fn bodies() -> [Body; 5] {
    let b = |pos: [f64; 3], vel: [f64; 3], mass: f64| Body {
        pos,
        vel: [vel[0] * DAYS_PER_YEAR, vel[1] * DAYS_PER_YEAR, vel[2] * DAYS_PER_YEAR],
        mass: mass * SOLAR_MASS,
    };
    let mut bodies = [
        b([0.0; 3], [0.0; 3], 1.0),
        b(
            [4.841_431_442_464_72, -1.160_320_044_027_428_4, -0.103_622_044_471_123_1],
            [0.001_660_076_642_744_037, 0.007_699_011_184_197_404, -6.904_600_169_720_63e-5],
            9.547_919_384_243_266e-4,
        ),
        b(
            [8.343_366_718_244_58, 4.124_798_564_124_305, -0.403_523_417_114_321_4],
            [-0.002_767_425_107_268_624, 0.004_998_528_012_349_172, 2.304_172_975_737_639_3e-5],
            2.858_859_806_661_308e-4,
        ),
        b(
            [12.894_369_562_139_131, -15.111_151_401_698_631, -0.223_307_578_892_655_73],
            [0.002_964_601_375_647_616, 0.002_378_471_739_594_809_5, -2.965_895_685_402_375_6e-5],
            4.366_244_043_351_563e-5,
        ),
        b(
            [15.379_697_114_850_917, -25.919_314_609_987_964, 0.179_258_772_950_371_18],
            [0.002_680_677_724_903_893_2, 0.001_628_241_700_382_423, -9.515_922_545_197_159e-5],
            5.151_389_020_466_114_5e-5,
        ),
    ];
    // Offset the Sun's momentum so the system's is zero.
    let mut p = [0.0; 3];
    for body in &bodies {
        for k in 0..3 {
            p[k] += body.vel[k] * body.mass;
        }
    }
    for k in 0..3 {
        bodies[0].vel[k] = -p[k] / SOLAR_MASS;
    }
    bodies
}

fn energy(bodies: &[Body; 5]) -> f64 {
    let mut e = 0.0;
    for (i, a) in bodies.iter().enumerate() {
        e += 0.5 * a.mass * (a.vel[0] * a.vel[0] + a.vel[1] * a.vel[1] + a.vel[2] * a.vel[2]);
        for b in &bodies[i + 1..] {
            let d = [a.pos[0] - b.pos[0], a.pos[1] - b.pos[1], a.pos[2] - b.pos[2]];
            e -= a.mass * b.mass / (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
        }
    }
    e
}

fn advance(bodies: &mut [Body; 5], dt: f64) {
    for i in 0..bodies.len() {
        let (head, tail) = bodies.split_at_mut(i + 1);
        let a = &mut head[i];
        for b in tail {
            let d = [a.pos[0] - b.pos[0], a.pos[1] - b.pos[1], a.pos[2] - b.pos[2]];
            let d2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
            let mag = dt / (d2 * d2.sqrt());
            for k in 0..3 {
                a.vel[k] -= d[k] * b.mass * mag;
                b.vel[k] += d[k] * a.mass * mag;
            }
        }
    }
    for body in bodies.iter_mut() {
        for k in 0..3 {
            body.pos[k] += dt * body.vel[k];
        }
    }
}

/// Simulates `n` steps; returns the bits of the energies before and after, mixed.
pub fn run(n: u32) -> u64 {
    let mut b = bodies();
    let before = energy(&b);
    for _ in 0..n {
        advance(&mut b, 0.01);
    }
    let after = energy(&b);
    after.to_bits() ^ before.to_bits().rotate_left(32)
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
    /// The Benchmarks Game's reference output for 1000 steps: -0.169075164 then -0.169087605.
    #[test]
    fn reference_energies() {
        let mut b = super::bodies();
        assert_eq!(format!("{:.9}", super::energy(&b)), "-0.169075164");
        for _ in 0..1000 {
            super::advance(&mut b, 0.01);
        }
        assert_eq!(format!("{:.9}", super::energy(&b)), "-0.169087605");
    }
}
