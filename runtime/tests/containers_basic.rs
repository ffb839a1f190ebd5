//! Distributed vector, array, tensor, span and local array: layout queries, local views and
//! one-sided access, at rank counts 1, 2, 3, 4, 8, every partition and several dtypes.

#[path = "containers_support.rs"]
mod support;

use dtl_runtime::container::{Array, LocalArray, Options, Span, Tensor, Vector, View};
use dtl_runtime::elem::Element;
use dtl_runtime::error::Code;
use dtl_runtime::partition::Partition;
use dtl_runtime::prelude::*;
use support::{RANKS, run, try_run};

const PARTS: [Partition; 5] = [
    Partition::Block,
    Partition::Cyclic,
    Partition::BlockCyclic(3),
    Partition::BlockCyclic(1),
    Partition::Replicated,
];

fn check_vector<T: Element>(f: fn(usize) -> T) {
    for p in RANKS {
        for n in [0usize, 1, 3, 10, 37] {
            for part in PARTS {
                run(p, |comm| {
                    let v = Vector::from_fn(comm, n, Options::new().partition(part), f)?;
                    assert_eq!(v.global_len(), n);
                    assert_eq!(v.partition(), part);
                    for (k, &x) in v.local().iter().enumerate() {
                        assert_eq!(x, f(v.global_of_local(k)));
                        assert!(v.is_local(v.global_of_local(k)));
                    }
                    for i in 0..n {
                        assert_eq!(v.get(i)?, f(i), "get({i}) n={n} p={p} {part}");
                        let o = v.owner(i)?;
                        if part != Partition::Replicated {
                            assert_eq!(v.is_local(i), o == comm.rank());
                        }
                    }
                    assert_eq!(v.get(n).unwrap_err().code(), Code::R0001);
                    let total =
                        comm.allreduce_scalar(v.local_len() as u64, ReduceOp::Sum)? as usize;
                    let want = if part == Partition::Replicated {
                        n * p
                    } else {
                        n
                    };
                    assert_eq!(total, want);
                    if part == Partition::Block {
                        assert_eq!(v.local_offset()?, v.layout().local_offset(comm.rank())?);
                    }
                    Ok(())
                });
            }
        }
    }
}

#[test]
fn vector_f64() {
    check_vector(|i| i as f64 * 0.5);
}

#[test]
fn vector_i32_u8_bool_i8_u64_f32() {
    check_vector(|i| i as i32 - 5);
    check_vector(|i| (i * 7) as u8);
    check_vector(|i| i % 3 == 0);
    check_vector(|i| (i as i8).wrapping_mul(3));
    check_vector(|i| i as u64 * 1_000_000_007);
    check_vector(|i| i as f32);
    check_vector(|i| i as u32);
    check_vector(|i| -(i as i64));
}

#[test]
fn one_sided_put_atomic_cas() {
    for p in RANKS {
        for part in [
            Partition::Block,
            Partition::Cyclic,
            Partition::BlockCyclic(2),
        ] {
            run(p, |comm| {
                let me = comm.rank();
                let slots = Vector::<i64>::with_options(comm, p, Options::new().partition(part))?;
                let counter = Vector::<i64>::new(comm, 1)?;
                let old = counter.atomic_add(0, 1)?;
                slots.put((me + 1) % p, me as i64)?;
                slots.fence()?;
                counter.fence()?;
                let olds = comm.allreduce_scalar(old, ReduceOp::Sum)?;
                assert_eq!(olds, (p * (p - 1) / 2) as i64);
                assert_eq!(counter.get(0)?, p as i64);
                for i in 0..p {
                    assert_eq!(slots.get(i)?, ((i + p - 1) % p) as i64);
                }
                counter.fence()?;
                // Exactly one rank wins a compare-and-swap.
                let won = i64::from(counter.compare_and_swap(0, p as i64, -1)? == p as i64);
                counter.fence()?;
                assert_eq!(comm.allreduce_scalar(won, ReduceOp::Sum)?, 1);
                assert_eq!(counter.get(0)?, -1);
                assert_eq!(slots.put(p, 0).unwrap_err().code(), Code::R0001);
                assert_eq!(counter.atomic_add(1, 0).unwrap_err().code(), Code::R0001);
                Ok(())
            });
        }
    }
}

#[test]
fn replicated_put_reaches_every_copy() {
    for p in RANKS {
        run(p, |comm| {
            let r = Vector::<f64>::with_options(
                comm,
                4,
                Options::new().partition(Partition::Replicated),
            )?;
            assert_eq!(r.local_len(), 4);
            if comm.rank() == 0 {
                r.put(2, 7.5)?;
            }
            r.fence()?;
            assert_eq!(r.local()[2], 7.5);
            assert_eq!(r.atomic_add(0, 1.0).unwrap_err().code(), Code::R0013);
            Ok(())
        });
    }
}

#[test]
fn array_and_tensor() {
    for p in RANKS {
        for part in [
            Partition::Block,
            Partition::Cyclic,
            Partition::BlockCyclic(2),
        ] {
            run(p, |comm| {
                let a =
                    Array::<u32>::with_options(comm, 11, Options::new().partition(part).fill(9))?;
                assert!(a.local().iter().all(|&x| x == 9));
                let mut t =
                    Tensor::<f64>::with_options(comm, &[5, 3], Options::new().partition(part))?;
                assert_eq!(t.global_len(), 15);
                assert_eq!(t.ndim(), 2);
                assert_eq!(t.local_shape()[1], 3);
                t.map_indexed(|g, _| g as f64);
                t.fence()?;
                for i in 0..5 {
                    for j in 0..3 {
                        assert_eq!(t.get_at(&[i, j])?, (i * 3 + j) as f64);
                    }
                }
                assert_eq!(t.get_at(&[5, 0]).unwrap_err().code(), Code::R0001);
                assert_eq!(t.get_at(&[0, 3]).unwrap_err().code(), Code::R0001);
                assert_eq!(t.get_at(&[0]).unwrap_err().code(), Code::R0009);
                let b = t.redistribute(Partition::Cyclic)?;
                for (k, &x) in b.local().iter().enumerate() {
                    assert_eq!(x, b.global_of_local(k) as f64);
                }
                if comm.rank() == p - 1 {
                    t.put_at(&[4, 2], -1.0)?;
                }
                t.fence()?;
                assert_eq!(t.get_at(&[4, 2])?, -1.0);
                Ok(())
            });
        }
    }
}

#[test]
fn construction_errors() {
    run(2, |comm| {
        let e = Vector::<f64>::with_options(
            comm,
            10,
            Options::new().partition(Partition::Cyclic).halo(1, false),
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::R0009);
        let e = Vector::<f64>::new(comm, 1 << 50).unwrap_err();
        assert_eq!(e.code(), Code::R0006);
        let e = Tensor::<f64>::new(comm, &[1 << 30, 1 << 30]).unwrap_err();
        assert_eq!(e.code(), Code::R0006);
        let e = Tensor::<f64>::new(comm, &[]).unwrap_err();
        assert_eq!(e.code(), Code::R0009);
        Ok(())
    });
    // Ranks that disagree on the length get R0003 instead of a hang.
    let e = try_run(3, |comm| {
        Vector::<f64>::new(comm, 10 + comm.rank()).map(|_| ())
    })
    .unwrap_err();
    assert!(matches!(e.code(), Code::R0003 | Code::R0011), "{e}");
}

#[test]
fn resize_keeps_values() {
    for p in RANKS {
        for part in [
            Partition::Block,
            Partition::Cyclic,
            Partition::BlockCyclic(3),
            Partition::Replicated,
        ] {
            run(p, |comm| {
                let mut v =
                    Vector::from_fn(comm, 10, Options::new().partition(part), |i| i as i64 + 1)?;
                v.resize(25)?;
                assert_eq!(v.global_len(), 25);
                for i in 0..25 {
                    assert_eq!(v.get(i)?, if i < 10 { i as i64 + 1 } else { 0 });
                }
                v.resize(3)?;
                for i in 0..3 {
                    assert_eq!(v.get(i)?, i as i64 + 1);
                }
                v.resize(0)?;
                assert_eq!(v.local_len(), 0);
                Ok(())
            });
        }
    }
}

#[test]
fn spans() {
    for p in RANKS {
        for part in [
            Partition::Block,
            Partition::Cyclic,
            Partition::BlockCyclic(2),
        ] {
            run(p, |comm| {
                let v = Vector::from_fn(comm, 20, Options::new().partition(part), |i| i as i32)?;
                let s = Span::new(&v)?;
                assert_eq!(s.len(), 20);
                let sub = s.subspan(5, 10)?;
                let sub2 = sub.subspan(2, 3)?;
                assert_eq!(sub2.get(0)?, 7);
                assert_eq!(sub.get(9)?, 14);
                assert_eq!(sub.get(10).unwrap_err().code(), Code::R0001);
                assert_eq!(s.subspan(15, 6).unwrap_err().code(), Code::R0001);
                for (k, &x) in sub.local().iter().enumerate() {
                    assert_eq!(x as usize, sub.global_of_local(k) + 5);
                }
                let total = comm.allreduce_scalar(sub.local_len() as u64, ReduceOp::Sum)?;
                assert_eq!(total, 10);
                let sum = dtl_runtime::algo::sum(&sub)?;
                assert_eq!(sum, (5..15).sum::<i32>());
                Ok(())
            });
        }
    }
}

#[test]
fn local_arrays() {
    let mut l = LocalArray::<f64>::filled(4, 1.5).unwrap();
    assert_eq!(l.get(3).unwrap(), 1.5);
    l.set(0, 2.0).unwrap();
    assert_eq!(l[0], 2.0);
    assert_eq!(l.get(4).unwrap_err().code(), Code::R0001);
    assert_eq!(l.get(-1).unwrap_err().code(), Code::R0001);
    assert_eq!(LocalArray::<i8>::new(-3).unwrap_err().code(), Code::R0006);
}
