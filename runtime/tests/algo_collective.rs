//! Container algorithms at rank counts 1, 2, 3, 4, 8: reductions, argmin/argmax, find, count,
//! dot, scans, redistribution, sample sort, .npy round trips and the distributed map.

#[path = "containers_support.rs"]
mod support;

use dtl_runtime::algo;
use dtl_runtime::container::{Options, Vector};
use dtl_runtime::error::Code;
use dtl_runtime::map::DistMap;
use dtl_runtime::npy;
use dtl_runtime::partition::Partition;
use dtl_runtime::prelude::*;
use dtl_runtime::sort;
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

#[test]
fn reductions() {
    for p in RANKS {
        for n in [0usize, 1, 5, 100] {
            for part in PARTS {
                run(p, |comm| {
                    let f = |i: usize| (mix(i as u64) % 50) as i64 - 20;
                    let v = Vector::from_fn(comm, n, Options::new().partition(part), f)?;
                    let xs: Vec<i64> = (0..n).map(f).collect();
                    assert_eq!(algo::reduce(&*v, ReduceOp::Sum)?, xs.iter().sum::<i64>());
                    assert_eq!(
                        algo::reduce(&*v, ReduceOp::Min)?,
                        xs.iter().copied().min().unwrap_or(i64::MAX)
                    );
                    assert_eq!(
                        algo::reduce(&*v, ReduceOp::Max)?,
                        xs.iter().copied().max().unwrap_or(i64::MIN)
                    );
                    assert_eq!(
                        algo::reduce(&*v, ReduceOp::Bxor)?,
                        xs.iter().fold(0, |a, b| a ^ b)
                    );
                    assert_eq!(
                        algo::count(&*v, |x| x > 0)?,
                        xs.iter().filter(|&&x| x > 0).count()
                    );
                    assert_eq!(
                        algo::find(&*v, |x| x == 7)?,
                        xs.iter().position(|&x| x == 7)
                    );
                    let amin = xs
                        .iter()
                        .copied()
                        .min()
                        .map(|m| (xs.iter().position(|&x| x == m).unwrap(), m));
                    let amax = xs
                        .iter()
                        .copied()
                        .max()
                        .map(|m| (xs.iter().position(|&x| x == m).unwrap(), m));
                    assert_eq!(algo::argmin(&*v)?, amin);
                    assert_eq!(algo::argmax(&*v)?, amax);
                    let w = Vector::from_fn(comm, n, Options::new().partition(part), |i| {
                        i as f64 * 0.5
                    })?;
                    let ones = Vector::<f64>::with_options(
                        comm,
                        n,
                        Options::new().partition(part).fill(2.0),
                    )?;
                    assert_eq!(algo::dot(&w, &ones)?, (0..n).map(|i| i as f64).sum::<f64>());
                    Ok(())
                });
            }
        }
    }
}

#[test]
fn reduce_errors_and_ties() {
    run(3, |comm| {
        let b = Vector::<bool>::new(comm, 4)?;
        assert_eq!(
            algo::reduce(&*b, ReduceOp::Sum).unwrap_err().code(),
            Code::R0009
        );
        let f = Vector::<f64>::new(comm, 4)?;
        assert_eq!(
            algo::reduce(&*f, ReduceOp::Band).unwrap_err().code(),
            Code::R0009
        );
        let g = Vector::<f64>::with_options(comm, 5, Options::new().partition(Partition::Cyclic))?;
        assert_eq!(algo::dot(&f, &g).unwrap_err().code(), Code::R0008);
        // All equal: the lowest index wins.
        let t = Vector::<f32>::with_options(comm, 9, Options::new().fill(3.0))?;
        assert_eq!(algo::argmax(&*t)?, Some((0, 3.0)));
        assert_eq!(algo::argmin(&*t)?, Some((0, 3.0)));
        Ok(())
    });
}

#[test]
fn scans() {
    for p in RANKS {
        for n in [0usize, 1, 3, 50] {
            for part in PARTS {
                run(p, |comm| {
                    let v = Vector::from_fn(comm, n, Options::new().partition(part), |i| {
                        (i % 7) as i64 + 1
                    })?;
                    let inc = algo::scan(&v, ReduceOp::Sum, false)?;
                    let exc = algo::scan(&v, ReduceOp::Sum, true)?;
                    let mx = algo::scan(&v, ReduceOp::Max, false)?;
                    assert_eq!(inc.partition(), part);
                    let mut acc = 0;
                    let mut m = i64::MIN;
                    for i in 0..n {
                        let x = (i % 7) as i64 + 1;
                        assert_eq!(exc.get(i)?, acc);
                        acc += x;
                        m = m.max(x);
                        assert_eq!(inc.get(i)?, acc);
                        assert_eq!(mx.get(i)?, m);
                    }
                    Ok(())
                });
            }
        }
    }
}

#[test]
fn redistribute_every_pair() {
    for p in RANKS {
        for n in [0usize, 2, 29, 100] {
            for from in PARTS {
                run(p, |comm| {
                    let v =
                        Vector::from_fn(comm, n, Options::new().partition(from), |i| i as i64 * 3)?;
                    for to in PARTS {
                        let c = v.redistribute(to)?;
                        assert_eq!(c.partition(), to);
                        for (k, &x) in c.local().iter().enumerate() {
                            assert_eq!(x, c.global_of_local(k) as i64 * 3);
                        }
                        let mut d =
                            Vector::<i64>::with_options(comm, n, Options::new().partition(to))?;
                        algo::copy_into(&v, &mut d)?;
                        assert_eq!(d.local(), c.local());
                    }
                    let all = v.gather_all()?;
                    assert_eq!(all, (0..n as i64).map(|i| i * 3).collect::<Vec<_>>());
                    let root = algo::gather_to_root(&v, p - 1)?;
                    assert_eq!(root.len(), if comm.rank() == p - 1 { n } else { 0 });
                    Ok(())
                });
            }
        }
    }
}

#[test]
fn sample_sort() {
    for p in RANKS {
        for n in [0usize, 1, 7, 1000, 20_000] {
            for part in PARTS {
                for descending in [false, true] {
                    run(p, |comm| {
                        let f =
                            |i: usize| (mix(i as u64 + 11) >> 11) as f64 * 2f64.powi(-53) - 0.25;
                        let mut v = Vector::from_fn(comm, n, Options::new().partition(part), f)?;
                        let before = algo::reduce(&*v, ReduceOp::Sum)?;
                        let lens = v.local_len();
                        sort::sort(&mut v, descending)?;
                        assert_eq!(v.local_len(), lens);
                        assert!(sort::is_sorted(&v, descending)?);
                        let after = algo::reduce(&*v, ReduceOp::Sum)?;
                        assert!((before - after).abs() < 1e-9);
                        let mut want: Vec<f64> = (0..n).map(f).collect();
                        want.sort_by(|a, b| a.total_cmp(b));
                        if descending {
                            want.reverse();
                        }
                        for (k, &x) in v.local().iter().enumerate() {
                            assert_eq!(x, want[v.global_of_local(k)]);
                        }
                        Ok(())
                    });
                }
            }
        }
    }
}

#[test]
fn sort_ints_with_duplicates() {
    for p in RANKS {
        run(p, |comm| {
            let mut v = Vector::from_fn(comm, 3000, Options::new(), |i| {
                (mix(i as u64) % 5) as i32 - 2
            })?;
            sort::sort(&mut v, false)?;
            assert!(sort::is_sorted(&v, false)?);
            assert_eq!(v.get(0)?, -2);
            assert_eq!(v.get(2999)?, 2);
            let mut b = Vector::from_fn(
                comm,
                100,
                Options::new().partition(Partition::Cyclic),
                |i| i % 2 == 0,
            )?;
            sort::sort(&mut b, true)?;
            assert!(b.get(0)? && !b.get(99)?);
            Ok(())
        });
    }
}

#[test]
fn npy_round_trip() {
    let dir = std::env::temp_dir().join(format!("dtl-npy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for p in [1usize, 3, 4] {
        for from in PARTS {
            for to in [Partition::Block, Partition::Cyclic] {
                let path = dir.join(format!("v{p}.npy")).to_string_lossy().into_owned();
                run(p, |comm| {
                    let v = Vector::from_fn(comm, 37, Options::new().partition(from), |i| {
                        i as f64 * 0.25
                    })?;
                    npy::save(&v, &path)?;
                    let w = npy::load::<f64>(comm, &path, to)?;
                    assert_eq!(w.partition(), to);
                    assert_eq!(w.global_len(), 37);
                    for (k, &x) in w.local().iter().enumerate() {
                        assert_eq!(x, w.global_of_local(k) as f64 * 0.25);
                    }
                    let b =
                        Vector::from_fn(comm, 10, Options::new().partition(from), |i| i % 3 == 0)?;
                    npy::save(&b, &path)?;
                    let c = npy::load::<bool>(comm, &path, to)?;
                    assert_eq!(
                        c.gather_all()?,
                        (0..10).map(|i| i % 3 == 0).collect::<Vec<_>>()
                    );
                    assert_eq!(
                        npy::load::<i32>(comm, &path, to).unwrap_err().code(),
                        Code::R0012
                    );
                    assert_eq!(
                        npy::load::<i32>(comm, "/nonexistent/x.npy", to)
                            .unwrap_err()
                            .code(),
                        Code::R0012
                    );
                    Ok(())
                });
            }
        }
    }
    // The file is a valid .npy for NumPy: check the header by hand.
    let path = dir.join("t.npy").to_string_lossy().into_owned();
    run(2, |comm| {
        let t = dtl_runtime::container::Tensor::<i64>::new(comm, &[3, 4])?;
        npy::save(&t, &path)?;
        Ok(())
    });
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len(), 128 + 96);
    let h = npy::read_header(&mut &bytes[..], &path).unwrap();
    assert_eq!(
        (h.descr.as_str(), h.shape.as_slice(), h.data_offset),
        ("<i8", &[3usize, 4][..], 128)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dist_map() {
    for p in RANKS {
        run(p, |comm| {
            let me = comm.rank() as i64;
            let mut m = DistMap::<i64, i64>::new(comm)?;
            for i in 0..1000i64 {
                if i % comm.size() as i64 == me {
                    m.atomic_add((i * 7919) % 100, 1);
                }
            }
            m.insert(-5 - me, me);
            assert_eq!(m.lookup(0, -1)?, -1);
            m.sync()?;
            assert_eq!(m.global_len()?, 100 + comm.size());
            for k in 0..100 {
                assert_eq!(m.lookup(k, -1)?, 10, "key {k}");
            }
            assert!(m.contains(-5)?);
            assert_eq!(
                m.lookup(-5 - (comm.size() as i64 - 1), -1)?,
                comm.size() as i64 - 1
            );
            assert!(!m.contains(5000)?);
            if me == 0 {
                m.erase(3);
                m.insert(4, 99);
            }
            m.sync()?;
            assert!(!m.contains(3)?);
            assert_eq!(m.lookup(4, 0)?, 99);
            assert_eq!(m.global_len()?, 99 + comm.size());
            m.clear()?;
            assert_eq!(m.global_len()?, 0);
            let mut f = DistMap::<u32, f64>::new(comm)?;
            f.atomic_add(1, 0.5);
            f.sync()?;
            assert_eq!(f.lookup(1, 0.0)?, 0.5 * comm.size() as f64);
            Ok(())
        });
    }
}
