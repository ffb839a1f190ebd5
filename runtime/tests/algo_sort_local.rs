//! The local radix sort and the order-preserving keys, checked against the standard sort.

use dtl_runtime::sort::{SortKey, radix_sort_u64, sort_local};

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
    z ^ (z >> 31)
}

#[test]
fn radix_matches_std() {
    for &n in &[0usize, 1, 5, 1000, 1023, 1024, 5000, 100_000] {
        let mut a: Vec<u64> = (0..n as u64).map(mix).collect();
        let mut b = a.clone();
        radix_sort_u64(&mut a);
        b.sort_unstable();
        assert_eq!(a, b);
        // Narrow keys exercise digit skipping.
        let mut a: Vec<u64> = (0..n as u64).map(|i| mix(i) & 0xFFF).collect();
        let mut b = a.clone();
        radix_sort_u64(&mut a);
        b.sort_unstable();
        assert_eq!(a, b);
    }
}

fn check_keys<T: SortKey + PartialOrd + Copy + std::fmt::Debug>(vals: &[T]) {
    for &a in vals {
        assert_eq!(T::from_key(a.key()).key(), a.key());
        for &b in vals {
            if a < b {
                assert!(a.key() < b.key(), "{a:?} < {b:?}");
            }
        }
    }
}

#[test]
fn keys_preserve_order() {
    check_keys(&[i8::MIN, -1, 0, 1, i8::MAX]);
    check_keys(&[i32::MIN, -7, 0, 3, i32::MAX]);
    check_keys(&[i64::MIN, -7, 0, 3, i64::MAX]);
    check_keys(&[0u8, 1, 255]);
    check_keys(&[0u32, 1, u32::MAX]);
    check_keys(&[0u64, 1, u64::MAX]);
    check_keys(&[false, true]);
    check_keys(&[
        f64::NEG_INFINITY,
        -1e300,
        -1.0,
        -1e-300,
        0.0,
        1e-300,
        2.5,
        f64::INFINITY,
    ]);
    check_keys(&[f32::NEG_INFINITY, -1.0, 0.0, 1.5, f32::INFINITY]);
    assert!(f64::NAN.key() > f64::INFINITY.key());
    assert!((-f64::NAN).key() > f64::INFINITY.key());
    assert!(f64::from_key(f64::NAN.key()).is_nan());
}

#[test]
fn sort_local_floats_and_ints() {
    let mut v: Vec<f64> = (0..50_000u64)
        .map(|i| (mix(i) >> 11) as f64 * 2f64.powi(-53) - 0.5)
        .collect();
    v[17] = f64::NAN;
    sort_local(&mut v, false);
    assert!(v[..v.len() - 1].windows(2).all(|w| w[0] <= w[1]));
    assert!(v[v.len() - 1].is_nan());
    let mut w: Vec<i32> = (0..50_000u64).map(|i| mix(i) as i32).collect();
    sort_local(&mut w, true);
    assert!(w.windows(2).all(|p| p[0] >= p[1]));
}

#[test]
fn radix_speed_smoke() {
    // Not a benchmark: makes sure the release path works on a few million keys.
    let n = if cfg!(debug_assertions) {
        200_000
    } else {
        5_000_000
    };
    let mut v: Vec<f64> = (0..n as u64)
        .map(|i| (mix(i) >> 11) as f64 * 2f64.powi(-53))
        .collect();
    let t = std::time::Instant::now();
    sort_local(&mut v, false);
    let dt = t.elapsed();
    assert!(v.windows(2).all(|w| w[0] <= w[1]));
    eprintln!("sort_local of {n} f64: {dt:?}");
}
