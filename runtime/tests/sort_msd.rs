//! The MSD radix sort and the sort-first sample sort: skewed and degenerate key
//! distributions, all nine element types, both directions, every partition, n < P.

#[path = "containers_support.rs"]
mod support;

use dtl_runtime::container::{Options, Vector};
use dtl_runtime::partition::Partition;
use dtl_runtime::sort::{self, SortKey, radix_sort_u64, sort_local};
use support::{RANKS, run};

const PARTS: [Partition; 4] = [
    Partition::Block,
    Partition::Cyclic,
    Partition::BlockCyclic(3),
    Partition::Replicated,
];

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
    z ^ (z >> 31)
}

/// Key distributions that stress the MSD digit choice and the bucket recursion.
type Dist = (&'static str, fn(u64) -> u64);

fn dists() -> Vec<Dist> {
    vec![
        ("uniform", |i| mix(i)),
        ("all_equal", |_| 0xDEAD_BEEF_0000_0001),
        ("two_values", |i| if mix(i) & 1 == 0 { 5 } else { u64::MAX }),
        ("skewed_90pc", |i| {
            if !mix(i).is_multiple_of(10) {
                1 << 40
            } else {
                mix(i + 7)
            }
        }),
        ("low_bits_only", |i| {
            0xABCD_0000_0000_0000 | (mix(i) & 0x3FF)
        }),
        ("mid_bits_only", |i| {
            (mix(i) & 0xFF_F000) | 0x8000_0000_0000_0007
        }),
        ("exponential", |i| mix(i) >> (mix(i + 1) % 64)),
        ("sorted", |i| i * 3),
        ("reversed", |i| u64::MAX - i),
        ("one_outlier", |i| if i == 17 { u64::MAX } else { i % 3 }),
    ]
}

#[test]
fn msd_radix_matches_std() {
    for (name, f) in dists() {
        for n in [0usize, 1, 2, 63, 64, 65, 200, 4097, 70_000, 300_000] {
            let mut a: Vec<u64> = (0..n as u64).map(f).collect();
            let mut b = a.clone();
            radix_sort_u64(&mut a);
            b.sort_unstable();
            assert!(a == b, "{name}, n = {n}");
        }
    }
}

#[test]
fn sort_local_float_specials() {
    let specials = [
        f64::NAN,
        -f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.0,
        -0.0,
        f64::MIN_POSITIVE,
        -f64::MIN_POSITIVE,
        f64::MAX,
        f64::MIN,
        5e-324,
    ];
    for n in [11usize, 100, 10_000] {
        let mut v: Vec<f64> = (0..n)
            .map(|i| {
                if i % 7 == 0 {
                    specials[(mix(i as u64) % 11) as usize]
                } else {
                    (mix(i as u64) >> 11) as f64 * 2f64.powi(-40) - 1000.0
                }
            })
            .collect();
        let mut want = v.clone();
        want.sort_by_key(|x| x.key());
        sort_local(&mut v, false);
        let k: Vec<u64> = v.iter().map(|x| x.key()).collect();
        let w: Vec<u64> = want.iter().map(|x| x.key()).collect();
        assert_eq!(k, w);
        assert!(v.last().unwrap().is_nan());
        sort_local(&mut v, true);
        assert!(v[0].is_nan());
        assert!(v.windows(2).all(|p| p[0].key() >= p[1].key()));
    }
}

/// Sorts `n` elements `g(i)` on `p` ranks and checks every element against the standard sort
/// (by key, so NaNs compare by their class).
fn check<T: SortKey + Send + Sync>(p: usize, n: usize, part: Partition, g: fn(usize) -> T) {
    for descending in [false, true] {
        run(p, |comm| {
            let mut v = Vector::from_fn(comm, n, Options::new().partition(part), g)?;
            let lens = v.local_len();
            sort::sort(&mut v, descending)?;
            assert_eq!(v.local_len(), lens);
            assert!(sort::is_sorted(&v, descending)?);
            let mut want: Vec<u64> = (0..n).map(|i| g(i).key()).collect();
            want.sort_unstable();
            if descending {
                want.reverse();
            }
            for (k, &x) in v.local().iter().enumerate() {
                assert_eq!(
                    x.key(),
                    want[v.global_of_local(k)],
                    "p = {p}, n = {n}, {part}, descending = {descending}"
                );
            }
            Ok(())
        });
    }
}

#[test]
fn distributed_all_types() {
    for p in RANKS {
        for n in [0usize, 1, 3, 7, 150, 3000] {
            for part in PARTS {
                check::<f64>(p, n, part, |i| {
                    if i % 13 == 5 {
                        f64::NAN
                    } else {
                        (mix(i as u64) % 1000) as f64 / 7.0 - 50.0
                    }
                });
                check::<f32>(p, n, part, |i| {
                    if i % 11 == 3 {
                        f32::NAN
                    } else {
                        (mix(i as u64) % 1000) as f32 / 3.0 - 100.0
                    }
                });
                check::<i64>(p, n, part, |i| mix(i as u64) as i64);
                check::<i32>(p, n, part, |i| (mix(i as u64) % 100) as i32 - 50);
                check::<i8>(p, n, part, |i| mix(i as u64) as i8);
                check::<u64>(p, n, part, |i| mix(i as u64) >> (i % 64));
                check::<u32>(p, n, part, |i| mix(i as u64) as u32);
                check::<u8>(p, n, part, |i| (mix(i as u64) % 3) as u8);
                check::<bool>(p, n, part, |i| mix(i as u64) & 1 == 0);
            }
        }
    }
}

#[test]
fn distributed_skewed() {
    for p in [2usize, 3, 4] {
        for (_, f) in dists() {
            // Function pointers cannot capture, so each distribution goes through u64 keys.
            for part in [Partition::Block, Partition::Cyclic] {
                run(p, |comm| {
                    let n = 20_000;
                    let mut v =
                        Vector::from_fn(comm, n, Options::new().partition(part), |i| f(i as u64))?;
                    sort::sort(&mut v, false)?;
                    let mut want: Vec<u64> = (0..n as u64).map(f).collect();
                    want.sort_unstable();
                    for (k, &x) in v.local().iter().enumerate() {
                        assert_eq!(x, want[v.global_of_local(k)]);
                    }
                    Ok(())
                });
            }
        }
    }
}
