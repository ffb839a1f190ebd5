//! dtl's `sin` and `cos`: one algorithm, written so that generated code can run it on SIMD
//! vectors and get the same bits.
//!
//! Generated code computes `sin`/`cos` of whole vectors two lanes at a time (`f64x2`, see the
//! compiler's `vmath` module) and calls the functions here for single elements (loop
//! remainders, edge rows, scalar code). Both follow the same sequence of IEEE operations, with
//! no fused multiply-add, so an element's result does not depend on whether it fell into a
//! vector or not, and so not on the rank count. The compiler's tests check the two agree bit
//! for bit.
//!
//! The algorithm is fdlibm's (as in musl): the argument is reduced by the nearest multiple
//! `n` of π/2 in two rounds of Cody–Waite (π/2 split into 33 + 33 + 53 bits, about 118 bits
//! in all), giving a double-double `y0 + y1` with |y0| ≤ π/4, and fdlibm's `__kernel_sin` and
//! `__kernel_cos` polynomials on it; `n mod 4` picks the kernel and the sign. Where that
//! reduction is not accurate enough (|x| ≥ 1.6·10^6, where `n·π/2` needs more bits, and the
//! rare arguments within 2^-45·|x| of a multiple of π/2), and for infinities and NaN, the
//! C library's function is used instead ([`f64::sin`], [`f64::cos`]).
//!
//! Accuracy: below 1 ulp, like the C library's (the unit tests compare against it over
//! millions of arguments: nearly all agree exactly, the rest by one ulp). The results can
//! differ from NumPy's or C's in the last bit, as those of any two libraries can.

/// 2/π.
pub const INVPIO2: f64 = f64::from_bits(0x3FE4_5F30_6DC9_C883);
/// The first 33 bits of π/2 (`n * PIO2_1` is exact for |n| < 2^20).
pub const PIO2_1: f64 = f64::from_bits(0x3FF9_21FB_5440_0000);
/// The next 33 bits of π/2.
pub const PIO2_2: f64 = f64::from_bits(0x3DD0_B461_1A60_0000);
/// π/2 − PIO2_1 − PIO2_2.
pub const PIO2_2T: f64 = f64::from_bits(0x3BA3_198A_2E03_7073);
/// 1.5·2^52: `(x + TOINT) - TOINT` rounds `x` to an integer, whose low bits are those of
/// `(x + TOINT).to_bits()`.
pub const TOINT: f64 = 6_755_399_441_055_744.0;
/// Arguments at or above this magnitude go to the C library (then |n| < 2^20).
pub const LIMIT: f64 = 1.6e6;
/// A reduced argument below `TINY * |x|` lost too many bits to cancellation.
pub const TINY: f64 = f64::from_bits(0x3D20_0000_0000_0000); // 2^-45

/// fdlibm's `__kernel_sin` coefficients.
pub const S1: f64 = f64::from_bits(0xBFC5_5555_5555_5549);
pub const S2: f64 = f64::from_bits(0x3F81_1111_1110_F8A6);
pub const S3: f64 = f64::from_bits(0xBF2A_01A0_19C1_61D5);
pub const S4: f64 = f64::from_bits(0x3EC7_1DE3_57B1_FE7D);
pub const S5: f64 = f64::from_bits(0xBE5A_E5E6_8A2B_9CEB);
pub const S6: f64 = f64::from_bits(0x3DE5_D93A_5ACF_D57C);
/// fdlibm's `__kernel_cos` coefficients.
pub const C1: f64 = f64::from_bits(0x3FA5_5555_5555_554C);
pub const C2: f64 = f64::from_bits(0xBF56_C16C_16C1_5177);
pub const C3: f64 = f64::from_bits(0x3EFA_01A0_19CB_1590);
pub const C4: f64 = f64::from_bits(0xBE92_7E4F_809C_52AD);
pub const C5: f64 = f64::from_bits(0x3E21_EE9E_BDB4_B1C4);
pub const C6: f64 = f64::from_bits(0xBDA8_FAE9_BE88_38D4);

/// `sin(x)`.
pub fn sin(x: f64) -> f64 {
    sincos(x, 0).unwrap_or_else(|| x.sin())
}

/// `cos(x)`.
pub fn cos(x: f64) -> f64 {
    sincos(x, 1).unwrap_or_else(|| x.cos())
}

/// `sin(x)` for `shift` 0, `cos(x)` for `shift` 1 (cos x = sin(x + π/2)); `None` where the
/// reduction is not accurate enough. The vector code performs the same operations in the
/// same order.
fn sincos(x: f64, shift: u64) -> Option<f64> {
    let ax = x.abs();
    // Also NaN, which compares false.
    if ax.partial_cmp(&LIMIT) != Some(std::cmp::Ordering::Less) {
        return None;
    }
    let t = x * INVPIO2 + TOINT;
    let n = t.to_bits().wrapping_add(shift);
    let f = t - TOINT;
    // x - f*PIO2_1 is exact; then f*PIO2_2 with its rounding error carried in w.
    let r0 = x - f * PIO2_1;
    let w1 = f * PIO2_2;
    let r = r0 - w1;
    let w = f * PIO2_2T - ((r0 - r) - w1);
    let y0 = r - w;
    if y0.abs() < ax * TINY {
        return None;
    }
    let y1 = (r - y0) - w;
    let (s, c) = kernels(y0, y1);
    let v = if n & 1 == 1 { c } else { s };
    Some(f64::from_bits(v.to_bits() ^ ((n & 2) << 62)))
}

/// fdlibm's `__kernel_sin(x, y, 1)` and `__kernel_cos(x, y)` on |x| ≤ π/4 (`y` the tail).
#[inline(always)]
fn kernels(x: f64, y: f64) -> (f64, f64) {
    let z = x * x;
    let w = z * z;
    let r = S2 + z * (S3 + z * S4) + z * w * (S5 + z * S6);
    let v = z * x;
    let s = x - ((z * (0.5 * y - v * r) - y) - v * S1);
    let r = z * (C1 + z * (C2 + z * C3)) + w * w * (C4 + z * (C5 + z * C6));
    let hz = 0.5 * z;
    let w = 1.0 - hz;
    let c = w + (((1.0 - w) - hz) + (z * r - x * y));
    (s, c)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in ulps between two finite floats of the same sign region.
    fn ulps(a: f64, b: f64) -> u64 {
        let key = |x: f64| {
            let i = x.to_bits() as i64;
            if i < 0 { i64::MIN - i } else { i }
        };
        key(a).abs_diff(key(b))
    }

    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Against the C library: at most one ulp apart, and nearly always identical.
    #[test]
    fn within_one_ulp_of_the_c_library() {
        let mut g = Lcg(7);
        for (lo, hi) in [
            (0.0, 1e-8),
            (0.0, 0.8),
            (0.7, 2.5),
            (2.0, 100.0),
            (100.0, 1e4),
            (1e4, 1.7e6),
            (1e6, 1e9),
        ] {
            let (mut same, mut total) = (0u64, 0u64);
            for _ in 0..400_000 {
                let a = lo + (hi - lo) * g.next();
                for x in [a, -a] {
                    for (ours, theirs) in [(sin(x), x.sin()), (cos(x), x.cos())] {
                        let d = ulps(ours, theirs);
                        assert!(d <= 1, "x = {x:e}: {ours:e} vs {theirs:e} ({d} ulps)");
                        same += u64::from(d == 0);
                        total += 1;
                    }
                }
            }
            eprintln!("[{lo}, {hi}): {same} of {total} identical");
            assert!(
                same as f64 >= 0.95 * total as f64,
                "[{lo}, {hi}): only {same} of {total} identical"
            );
        }
    }

    #[test]
    fn special_values() {
        assert_eq!(sin(0.0).to_bits(), 0.0f64.to_bits());
        assert_eq!(sin(-0.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(cos(0.0), 1.0);
        assert_eq!(cos(-0.0), 1.0);
        assert_eq!(sin(1e-300), 1e-300);
        assert_eq!(sin(f64::MIN_POSITIVE / 4.0), f64::MIN_POSITIVE / 4.0);
        for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(sin(x).is_nan() && cos(x).is_nan());
        }
        // Near multiples of π/2, where the reduction cancels: the C library's result.
        for x in [
            std::f64::consts::PI,
            std::f64::consts::FRAC_PI_2,
            355.0 / 113.0,
            1e22,
        ] {
            assert!(
                ulps(sin(x), x.sin()) <= 1 && ulps(cos(x), x.cos()) <= 1,
                "{x}"
            );
        }
        assert_eq!(sin(1e22), 1e22f64.sin());
    }

    #[test]
    fn quadrants_and_symmetry() {
        let mut g = Lcg(11);
        for _ in 0..100_000 {
            let x = 1000.0 * g.next();
            assert_eq!(sin(-x).to_bits(), (-sin(x)).to_bits(), "{x}");
            assert_eq!(cos(-x).to_bits(), cos(x).to_bits(), "{x}");
        }
    }
}
