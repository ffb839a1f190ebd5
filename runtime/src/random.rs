//! The normative counter-based generator of LANGUAGE.md §12: `rand(seed, i)` and `randn(seed, i)`.

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
    z ^ (z >> 31)
}

/// Uniform in [0, 1); depends only on `(seed, i)`, never on the rank count.
pub fn rand(seed: u64, i: u64) -> f64 {
    let h = mix(mix(seed.wrapping_add(0x9e3779b97f4a7c15)) ^ i);
    (h >> 11) as f64 * 2f64.powi(-53)
}

/// Standard normal: `sqrt(-2 ln(1 - rand(seed, 2i))) * cos(2π rand(seed, 2i + 1))`.
pub fn randn(seed: u64, i: u64) -> f64 {
    let u1 = rand(seed, i.wrapping_mul(2));
    let u2 = rand(seed, i.wrapping_mul(2).wrapping_add(1));
    (-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_in_range_and_deterministic() {
        for i in 0..1000 {
            let x = rand(7, i);
            assert!((0.0..1.0).contains(&x));
            assert_eq!(x, rand(7, i));
            assert!(randn(3, i).is_finite());
        }
        assert_ne!(rand(7, 0), rand(8, 0));
    }
}
