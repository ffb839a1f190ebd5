//! Halo exchange: ghost cells of width w, periodic or not, when ranks own fewer than w elements
//! or none, for vectors and tensors (ghost rows).

#[path = "containers_support.rs"]
mod support;

use dtl_runtime::container::{Options, Tensor, Vector};
use dtl_runtime::error::Code;
use dtl_runtime::partition::Partition;
use support::{RANKS, run};

/// The expected value of ghost slot s of a rank at `off` owning `len` of `n` (value g+1 at g).
fn expect(s: usize, w: usize, off: usize, len: usize, n: usize, periodic: bool) -> f64 {
    let g = if s < w {
        off as i64 - w as i64 + s as i64
    } else {
        (off + len + s - w) as i64
    };
    if periodic {
        (g.rem_euclid(n as i64) + 1) as f64
    } else if g < 0 || g >= n as i64 {
        0.0
    } else {
        (g + 1) as f64
    }
}

#[test]
fn vector_halos() {
    for p in RANKS {
        for n in [0usize, 1, 2, 5, 17] {
            for w in [1usize, 2, 3] {
                for periodic in [false, true] {
                    run(p, |comm| {
                        let opts = Options::new().halo(w, periodic);
                        let mut v = Vector::from_fn(comm, n, opts, |g| g as f64 + 1.0)?;
                        v.exchange()?;
                        let len = v.local_len();
                        let off = v.local_offset()?;
                        let all = v.local_with_ghosts();
                        assert_eq!(all.len(), len + 2 * w);
                        assert_eq!(v.ghost_len(), w);
                        if len > 0 {
                            for s in 0..2 * w {
                                let pos = if s < w { s } else { len + s };
                                assert_eq!(
                                    all[pos],
                                    expect(s, w, off, len, n, periodic),
                                    "n={n} p={p} w={w} {periodic} s={s}"
                                );
                            }
                        }
                        for k in 0..len {
                            assert_eq!(all[w + k], (off + k + 1) as f64);
                        }
                        Ok(())
                    });
                }
            }
        }
    }
}

#[test]
fn halo_moves_only_ghosts() {
    run(4, |comm| {
        let mut v = Vector::from_fn(comm, 400, Options::new().halo(2, false), |g| g as i64)?;
        let before = comm.stats().snapshot();
        v.exchange()?;
        let d = comm.stats().snapshot().since(&before);
        // Interior ranks receive 2 + 2 ghost elements, the end ranks 2.
        let want = if comm.rank() == 0 || comm.rank() == 3 {
            2
        } else {
            4
        };
        assert_eq!(v.halo_recv_rows(), want);
        assert!(d.collective_bytes <= 4 * 8 + 64, "{d:?}");
        Ok(())
    });
}

#[test]
fn tensor_ghost_rows() {
    for p in RANKS {
        for periodic in [false, true] {
            run(p, |comm| {
                let (rows, cols, w) = (7usize, 3usize, 2usize);
                let mut t = Tensor::<f64>::with_options(
                    comm,
                    &[rows, cols],
                    Options::new().halo(w, periodic),
                )?;
                t.map_indexed(|g, _| g as f64 + 1.0);
                t.exchange()?;
                let len = t.local_rows();
                let off = t.local_offset()? / cols;
                let all = t.local_with_ghosts();
                assert_eq!(t.ghost_len(), w * cols);
                if len > 0 {
                    for s in 0..2 * w {
                        let pos = if s < w { s } else { len + s };
                        let e = expect(s, w, off, len, rows, periodic);
                        for j in 0..cols {
                            let want = if e == 0.0 {
                                0.0
                            } else {
                                (e - 1.0) * cols as f64 + j as f64 + 1.0
                            };
                            assert_eq!(all[pos * cols + j], want, "p={p} s={s} j={j}");
                        }
                    }
                }
                Ok(())
            });
        }
    }
}

#[test]
fn halo_needs_block_and_a_halo() {
    run(2, |comm| {
        let e = Vector::<f64>::with_options(
            comm,
            8,
            Options::new().partition(Partition::Cyclic).halo(1, true),
        );
        assert_eq!(e.unwrap_err().code(), Code::R0009);
        let mut v = Vector::<f64>::new(comm, 8)?;
        assert_eq!(v.exchange().unwrap_err().code(), Code::R0009);
        Ok(())
    });
}
