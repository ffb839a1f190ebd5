//! Container checks written against `&CommRef`, so that every backend runs them: the threads
//! backend here (1, 2, 3 ranks) and MPI through `examples/mpi/conformance.rs`. They cover what
//! containers do through the communicator: one-sided access, halo exchange, redistribution,
//! sample sort, the distributed map and `.npy` save/load.

use dtl_runtime::algo;
use dtl_runtime::error::Code;
use dtl_runtime::npy;
use dtl_runtime::partition::Partition;
use dtl_runtime::prelude::*;
use dtl_runtime::sort;

const PARTS: [Partition; 4] = [
    Partition::Block,
    Partition::Cyclic,
    Partition::BlockCyclic(3),
    Partition::Replicated,
];

fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

pub fn check_vector_one_sided(c: &CommRef) -> Result<()> {
    let p = c.size();
    for part in [
        Partition::Block,
        Partition::Cyclic,
        Partition::BlockCyclic(2),
    ] {
        let v = Vector::from_fn(c, 23, Options::new().partition(part), |i| i as i64)?;
        for i in 0..23 {
            assert_eq!(v.get(i)?, i as i64, "get({i}) {part}");
        }
        assert_eq!(v.get(23).unwrap_err().code(), Code::R0001);
        v.fence()?;
        // Every rank adds 1 to every element; rank 0 also puts into element 5 later.
        for i in 0..23 {
            v.atomic_add(i, 1)?;
        }
        v.fence()?;
        for i in 0..23 {
            assert_eq!(v.get(i)?, i as i64 + p as i64, "after atomics {part}");
        }
        v.fence()?;
        let won = v.compare_and_swap(7, 7 + p as i64, -1)? == 7 + p as i64;
        v.fence()?;
        assert_eq!(c.allreduce_scalar(won as u32, ReduceOp::Sum)?, 1);
        if c.rank() == p - 1 {
            v.put(5, 500)?;
        }
        v.fence()?;
        assert_eq!((v.get(5)?, v.get(7)?), (500, -1));
        v.fence()?;
    }
    Ok(())
}

pub fn check_halo_exchange(c: &CommRef) -> Result<()> {
    for n in [1usize, 5, 40] {
        for w in [1usize, 2] {
            for periodic in [false, true] {
                let mut v =
                    Vector::from_fn(c, n, Options::new().halo(w, periodic), |g| g as f64 + 1.0)?;
                v.exchange()?;
                let len = v.local_len();
                let off = v.local_offset()?;
                let all = v.local_with_ghosts();
                assert_eq!(all.len(), len + 2 * w);
                for k in 0..len {
                    assert_eq!(all[w + k], (off + k + 1) as f64);
                }
                if len > 0 {
                    for s in 0..2 * w {
                        let (pos, g) = if s < w {
                            (s, off as i64 - (w - s) as i64)
                        } else {
                            (len + s, (off + len + s - w) as i64)
                        };
                        let want = if periodic {
                            (g.rem_euclid(n as i64) + 1) as f64
                        } else if g < 0 || g >= n as i64 {
                            0.0
                        } else {
                            (g + 1) as f64
                        };
                        assert_eq!(all[pos], want, "n={n} w={w} {periodic} s={s}");
                    }
                }
            }
        }
    }
    Ok(())
}

pub fn check_redistribute(c: &CommRef) -> Result<()> {
    for n in [0usize, 2, 29] {
        for from in PARTS {
            let v = Vector::from_fn(c, n, Options::new().partition(from), |i| i as i64 * 3)?;
            for to in PARTS {
                let w = v.redistribute(to)?;
                assert_eq!(w.partition(), to);
                for (k, &x) in w.local().iter().enumerate() {
                    assert_eq!(x, w.global_of_local(k) as i64 * 3);
                }
            }
            let all = v.gather_all()?;
            assert_eq!(all, (0..n as i64).map(|i| i * 3).collect::<Vec<_>>());
            let root = algo::gather_to_root(&v, c.size() - 1)?;
            assert_eq!(root.len(), if c.rank() == c.size() - 1 { n } else { 0 });
        }
    }
    Ok(())
}

pub fn check_sample_sort(c: &CommRef) -> Result<()> {
    for n in [0usize, 7, 20_000] {
        for part in [Partition::Block, Partition::Cyclic] {
            for descending in [false, true] {
                let f = |i: usize| (mix(i as u64 + 11) >> 11) as f64 * 2f64.powi(-53) - 0.25;
                let mut v = Vector::from_fn(c, n, Options::new().partition(part), f)?;
                sort::sort(&mut v, descending)?;
                assert!(sort::is_sorted(&v, descending)?);
                let mut want: Vec<f64> = (0..n).map(f).collect();
                want.sort_by(|a, b| a.total_cmp(b));
                if descending {
                    want.reverse();
                }
                for (k, &x) in v.local().iter().enumerate() {
                    assert_eq!(x, want[v.global_of_local(k)]);
                }
            }
        }
    }
    Ok(())
}

pub fn check_dist_map(c: &CommRef) -> Result<()> {
    let me = c.rank() as i64;
    let mut m = DistMap::<i64, i64>::new(c)?;
    for i in 0..1000i64 {
        if i % c.size() as i64 == me {
            m.atomic_add((i * 7919) % 100, 1);
        }
    }
    m.insert(-5 - me, me);
    m.sync()?;
    assert_eq!(m.global_len()?, 100 + c.size());
    for k in 0..100 {
        assert_eq!(m.lookup(k, -1)?, 10, "key {k}");
    }
    assert!(m.contains(-5)?);
    assert!(!m.contains(5000)?);
    if me == 0 {
        m.erase(3);
    }
    m.sync()?;
    assert!(!m.contains(3)?);
    m.clear()?;
    assert_eq!(m.global_len()?, 0);
    Ok(())
}

pub fn check_npy_round_trip(c: &CommRef) -> Result<()> {
    // One file name for every rank (processes differ under MPI): rank 0's process id.
    let id = c.broadcast_scalar(std::process::id() as u64, 0)?;
    let dir = std::env::temp_dir();
    let path = dir
        .join(format!("dtl-conf-{id}-{}.npy", c.size()))
        .to_string_lossy()
        .into_owned();
    for from in [Partition::Block, Partition::Cyclic, Partition::Replicated] {
        for to in [Partition::Block, Partition::Cyclic] {
            let v = Vector::from_fn(c, 37, Options::new().partition(from), |i| i as f64 * 0.25)?;
            npy::save(&v, &path)?;
            let w = npy::load::<f64>(c, &path, to)?;
            assert_eq!(w.global_len(), 37);
            for (k, &x) in w.local().iter().enumerate() {
                assert_eq!(x, w.global_of_local(k) as f64 * 0.25);
            }
            assert_eq!(
                npy::load::<i32>(c, &path, to).unwrap_err().code(),
                Code::R0012
            );
        }
    }
    c.barrier(Site::caller())?;
    if c.rank() == 0 {
        let _ = std::fs::remove_file(&path);
    }
    Ok(())
}

/// Mismatched collectives are R0003 on every rank, and the communicator stays usable.
pub fn check_mismatch_is_r0003(c: &CommRef) -> Result<()> {
    if c.size() == 1 {
        return Ok(());
    }
    let e = if c.rank() == 0 {
        c.barrier(Site::caller()).unwrap_err()
    } else {
        c.allreduce_scalar(1.0f64, ReduceOp::Sum).unwrap_err()
    };
    assert_eq!(e.code(), Code::R0003, "{e}");
    let e = c
        .allreduce_scalar(
            1i32,
            if c.rank() == 0 {
                ReduceOp::Max
            } else {
                ReduceOp::Sum
            },
        )
        .unwrap_err();
    assert_eq!(e.code(), Code::R0003, "{e}");
    // A count mismatch inside a v-collective is an argument error on every rank.
    let counts: Vec<usize> = (0..c.size())
        .map(|q| if c.rank() == 0 { q } else { 1 })
        .collect();
    let mine = vec![0u32; counts[c.rank()]];
    let mut out = vec![0u32; counts.iter().sum()];
    let e = c
        .allgatherv(
            dtl_runtime::elem::as_bytes(&mine),
            dtl_runtime::elem::as_bytes_mut(&mut out),
            &counts,
            DType::U32,
            Site::caller(),
        )
        .unwrap_err();
    assert_eq!(e.code(), Code::R0009, "{e}");
    assert_eq!(c.allreduce_scalar(1i32, ReduceOp::Sum)?, c.size() as i32);
    Ok(())
}

/// A named check of the suite.
pub type Check = (&'static str, fn(&CommRef) -> Result<()>);

/// Every check of this file, for runners on other backends.
pub const CHECKS: &[Check] = &[
    ("vector_one_sided", check_vector_one_sided),
    ("halo_exchange", check_halo_exchange),
    ("redistribute", check_redistribute),
    ("sample_sort", check_sample_sort),
    ("dist_map", check_dist_map),
    ("npy_round_trip", check_npy_round_trip),
    ("mismatch_is_r0003", check_mismatch_is_r0003),
];

#[test]
fn every_check_on_threads() {
    for (name, check) in CHECKS {
        for n in [1usize, 2, 3] {
            launch::run(n, check).unwrap_or_else(|e| panic!("{name} on threads x{n}: {e}"));
        }
    }
}
