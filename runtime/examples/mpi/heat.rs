//! Weak scaling of the 1-D heat stencil (halo exchange of width 1, 3-point update, swap) on the
//! MPI world or on thread ranks, for `docs/scaling.md`.
//!
//! `mpirun -n P target/release/examples/mpi_heat PER_RANK STEPS` runs P processes with
//! PER_RANK points each; `mpi_heat PER_RANK STEPS --threads P` runs the same program on P
//! thread ranks. Rank 0 prints `backend ranks points steps seconds total`.

use std::time::Instant;

use dtl_runtime::algo;
use dtl_runtime::comm::mpi;
use dtl_runtime::container::{Options, Vector};
use dtl_runtime::prelude::*;

fn heat(comm: &CommRef, n: usize, steps: usize) -> Result<(f64, f64)> {
    let opts = Options::new().halo(1, false);
    let mut u = Vector::from_fn(comm, n, opts, |i| if i == n / 2 { 1.0 } else { 0.0 })?;
    let mut v = Vector::<f64>::with_options(comm, n, opts)?;
    let off = u.local_offset()?;
    comm.barrier(Site::caller())?;
    let t = Instant::now();
    for _ in 0..steps {
        u.exchange()?;
        let src = u.local_with_ghosts();
        let dst = v.local_mut();
        for (k, d) in dst.iter_mut().enumerate() {
            let i = off + k;
            *d = if i > 0 && i < n - 1 {
                0.25 * src[k] + 0.5 * src[k + 1] + 0.25 * src[k + 2]
            } else {
                src[k + 1]
            };
        }
        u.swap(&mut v)?;
    }
    comm.barrier(Site::caller())?;
    let secs = comm.allreduce_scalar(t.elapsed().as_secs_f64(), ReduceOp::Max)?;
    let total = algo::reduce(&*u, ReduceOp::Sum)?;
    Ok((secs, total))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let per_rank: usize = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let steps: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100);
    let threads: Option<usize> = args
        .iter()
        .position(|a| a == "--threads")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok());
    let out = match threads {
        Some(p) => launch::run(p, |c| heat(c, per_rank * p, steps)).map(|r| ("threads", p, r[0])),
        None => mpi::launch(|c| {
            let p = c.size();
            heat(c, per_rank * p, steps).map(|r| ("mpi", if c.rank() == 0 { p } else { 0 }, r))
        }),
    };
    match out {
        Ok((backend, p, (secs, total))) if p > 0 => {
            println!(
                "{backend} {p} {} {steps} {secs:.4} {total:.6}",
                per_rank * p
            )
        }
        Ok(_) => {}
        Err(e) => {
            eprintln!("mpi_heat: {e}");
            std::process::exit(1);
        }
    }
}
