//! The three trigonometric terms of the haversine formula, four lanes at a time, for the
//! bounded arguments the formula has.
//!
//! General-purpose sine and arcsine (libm's, or `wide`'s vector ones) handle any argument,
//! NaN and infinity; here the arguments are bounded and finite, so a fold by a quarter
//! or half turn and one polynomial on `[-π/4, π/4]` suffice. The polynomials are
//! fdlibm's minimax kernels (their coefficients are the published ones); the functions
//! built on them are within a few units in the last place of libm (the tests sweep each
//! domain).
//!
//! Only `+`, `-`, `*`, `/`, `sqrt`, comparisons and selections are used, all correctly
//! rounded IEEE operations on each lane, so the results are the same bits on every
//! platform, whatever its libm.

use std::f64::consts::{FRAC_PI_2, FRAC_PI_4, PI};

use wide::f64x4;

/// π/2 − `FRAC_PI_2`: the low part of a quarter turn, for folding without cancellation.
const FRAC_PI_2_LOW: f64 = 6.123_233_995_736_766e-17;

/// π − `PI`: the low part of a half turn.
const PI_LOW: f64 = 1.224_646_799_147_353_2e-16;

/// fdlibm's sine kernel: sin x ≈ x + x³·(S1 + x²·(S2 + … )) on [-π/4, π/4].
const SIN: [f64; 6] = [
    -1.666_666_666_666_663_2e-1,
    8.333_333_333_322_49e-3,
    -1.984_126_982_985_795e-4,
    2.755_731_370_707_006_8e-6,
    -2.505_076_025_340_686_3e-8,
    1.589_690_995_211_55e-10,
];

/// fdlibm's cosine kernel: cos x ≈ 1 − x²/2 + x⁴·(C1 + x²·(C2 + … )) on [-π/4, π/4].
const COS: [f64; 6] = [
    4.166_666_666_666_66e-2,
    -1.388_888_888_887_411e-3,
    2.480_158_728_947_673e-5,
    -2.755_731_435_139_066_3e-7,
    2.087_572_321_298_175e-9,
    -1.135_964_755_778_819_5e-11,
];

/// fdlibm's arcsine kernel: asin x ≈ x + x·P(x²)/Q(x²) for |x| ≤ 1/2; P's coefficients.
const ASIN_P: [f64; 6] = [
    1.666_666_666_666_666_6e-1,
    -3.255_658_186_224_009e-1,
    2.012_125_321_348_629_3e-1,
    -4.005_553_450_067_941e-2,
    7.915_349_942_898_145e-4,
    3.479_331_075_960_212e-5,
];

/// Q's coefficients after its leading 1.
const ASIN_Q: [f64; 4] = [
    -2.403_394_911_734_414,
    2.020_945_760_233_505_7,
    -6.882_839_716_054_533e-1,
    7.703_815_055_590_194e-2,
];

/// Returns sin²(x) for |x| ≤ π.
#[inline]
pub(super) fn sin_squared(x: f64x4) -> f64x4 {
    // sin² has period π and is even: fold onto [0, π/2]. Up to π/4 it is the kernel's
    // sine squared; beyond, sin²(u) = 1 − cos²(u) = 1 − sin²(π/2 − u), where the result
    // is at least ½ so the subtraction loses nothing.
    let u = x.abs();
    let u = u
        .simd_gt(splat(FRAC_PI_2))
        .select((splat(PI) - u) + splat(PI_LOW), u);
    let near = u.simd_le(splat(FRAC_PI_4));
    let sin = sin_kernel(near.select(u, (splat(FRAC_PI_2) - u) + splat(FRAC_PI_2_LOW)));
    let sin_squared = sin * sin;
    near.select(sin_squared, splat(1.0) - sin_squared)
}

/// Returns cos(x) for |x| ≤ π/2.
#[inline]
pub(super) fn cos(x: f64x4) -> f64x4 {
    let u = x.abs();
    let past_eighth = u.simd_gt(splat(FRAC_PI_4));
    let v = past_eighth.select((splat(FRAC_PI_2) - u) + splat(FRAC_PI_2_LOW), u);
    past_eighth.select(sin_kernel(v), cos_kernel(v))
}

/// Returns asin(√a) for 0 ≤ a ≤ 1: half the central angle whose haversine is `a`.
#[inline]
pub(super) fn half_angle(a: f64x4) -> f64x4 {
    // With s = √a and c = √(1 − a), the angle θ has sin θ = s and cos θ = c. Each third
    // of [0, π/2] takes an arcsine of at most 1/2, where the kernel is accurate:
    //   a ≤ 1/4:        θ = asin(s)
    //   a ≥ 3/4:        θ = π/2 − asin(c)
    //   in between:     θ = π/4 + asin(2a − 1)/2     (sin(2θ − π/2) = −cos 2θ = 2a − 1)
    // where 2a − 1 is exact.
    let low = a.simd_le(splat(0.25));
    let high = a.simd_ge(splat(0.75));
    let s = a.sqrt();
    let c = (splat(1.0) - a).sqrt();
    let middle = (a + a) - splat(1.0);
    let asin = asin_kernel(low.select(s, high.select(c, middle)));
    low.select(
        asin,
        high.select(
            splat(FRAC_PI_2) - asin,
            splat(FRAC_PI_4) + splat(0.5) * asin,
        ),
    )
}

#[inline]
fn splat(value: f64) -> f64x4 {
    f64x4::splat(value)
}

/// sin x for |x| ≤ π/4.
#[inline]
fn sin_kernel(x: f64x4) -> f64x4 {
    let z = x * x;
    x + (z * x) * horner(z, &SIN)
}

/// cos x for |x| ≤ π/4.
#[inline]
fn cos_kernel(x: f64x4) -> f64x4 {
    let z = x * x;
    let half_z = splat(0.5) * z;
    let w = splat(1.0) - half_z;
    // 1 − z/2 rounded, plus what its rounding lost, plus the small terms.
    w + (((splat(1.0) - w) - half_z) + z * (z * horner(z, &COS)))
}

/// asin x for |x| ≤ 1/2.
#[inline]
fn asin_kernel(x: f64x4) -> f64x4 {
    let z = x * x;
    let p = z * horner(z, &ASIN_P);
    let q = splat(1.0) + z * horner(z, &ASIN_Q);
    x + x * (p / q)
}

/// Returns c₀ + z·(c₁ + z·(c₂ + …)) for `coefficients` c, evaluated innermost first.
#[inline]
fn horner(z: f64x4, coefficients: &[f64]) -> f64x4 {
    match coefficients.split_last() {
        Some((&last, rest)) => rest
            .iter()
            .rev()
            .fold(splat(last), |sum, &c| splat(c) + z * sum),
        None => f64x4::ZERO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies `f` to `x` in lane 0 and returns lane 0.
    fn lane(f: fn(f64x4) -> f64x4, x: f64) -> f64 {
        f(splat(x)).to_array()[0]
    }

    /// Units in the last place between `ours` and `libm`, measured at `libm`'s scale.
    fn ulps(ours: f64, libm: f64) -> f64 {
        let ulp = f64::from_bits(libm.abs().to_bits() + 1) - libm.abs();
        (ours - libm).abs() / ulp.max(f64::MIN_POSITIVE)
    }

    fn sweep(from: f64, to: f64, steps: u32) -> impl Iterator<Item = f64> {
        (0..=steps).map(move |i| from + (to - from) * f64::from(i) / f64::from(steps))
    }

    #[test]
    fn sin_squared_is_within_a_few_ulps_of_libm_on_its_whole_domain() {
        for x in sweep(-PI, PI, 200_001).chain([0.0, 1e-300, 1e-9, -1e-9, PI, -PI]) {
            let (ours, libm) = (lane(sin_squared, x), x.sin().powi(2));
            assert!(ulps(ours, libm) <= 4.0, "sin²({x:e}): {ours:e} vs {libm:e}");
        }
    }

    #[test]
    fn cos_is_within_a_few_ulps_of_libm_on_latitudes() {
        for x in sweep(-FRAC_PI_2, FRAC_PI_2, 200_001).chain([0.0, 1e-9, FRAC_PI_4]) {
            let (ours, libm) = (lane(cos, x), x.cos());
            assert!(ulps(ours, libm) <= 2.0, "cos({x:e}): {ours:e} vs {libm:e}");
        }
        assert!(lane(cos, FRAC_PI_2) > 0.0);
    }

    #[test]
    fn half_angle_is_within_a_few_ulps_of_libm_on_its_whole_domain() {
        let near_ends = [0.0, 1e-300, 1e-20, 0.25, 0.75, 1.0 - 1e-16, 1.0];
        for a in sweep(0.0, 1.0, 200_001).chain(near_ends) {
            let (ours, libm) = (lane(half_angle, a), a.sqrt().atan2((1.0 - a).sqrt()));
            assert!(
                ulps(ours, libm) <= 4.0,
                "half_angle({a:e}): {ours:e} vs {libm:e}"
            );
        }
        assert_eq!(lane(half_angle, 0.0), 0.0);
        assert_eq!(lane(half_angle, 1.0), FRAC_PI_2);
    }

    #[test]
    fn small_arguments_keep_their_relative_accuracy() {
        // Short hops: haversine terms far below the linear sweeps' steps.
        for exponent in 1..=300 {
            let x = 10f64.powi(-exponent);
            let (ours, libm) = (lane(sin_squared, x), x.sin().powi(2));
            assert!(ulps(ours, libm) <= 4.0, "sin²({x:e}): {ours:e} vs {libm:e}");
            let (ours, libm) = (lane(half_angle, x), x.sqrt().atan2((1.0 - x).sqrt()));
            assert!(
                ulps(ours, libm) <= 4.0,
                "half_angle({x:e}): {ours:e} vs {libm:e}"
            );
        }
    }

    #[test]
    fn lanes_are_independent() {
        let inputs = [0.1, -2.0, 3.0, 0.7];
        let together = sin_squared(f64x4::from(inputs)).to_array();
        for (x, value) in inputs.into_iter().zip(together) {
            assert_eq!(lane(sin_squared, x).to_bits(), value.to_bits());
        }
    }
}
