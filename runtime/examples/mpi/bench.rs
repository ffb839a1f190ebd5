//! Allreduce of one f64, 1 MiB and 16 MiB through the runtime's MPI communicator (`dyn Comm`),
//! with the loops of `bench/c/mpi_allreduce.c`, for `bench/mpi.sh`. Each sample of the runtime
//! alternates with a sample of a bare `MPI_Allreduce` on the same communicator in the same
//! process (`raw_*` lines), so the overhead is measured under the same noise.
//! Run: `mpirun -n 2 target/release/examples/bench_mpi`. Prints `name median min max` (µs).

use std::time::Instant;

use dtl_runtime::comm::mpi;
use dtl_runtime::elem::{as_bytes, as_bytes_mut};
use dtl_runtime::prelude::*;

const SAMPLES: usize = 11;

fn report(c: &CommRef, name: &str, mut s: Vec<f64>) {
    s.sort_by(f64::total_cmp);
    if c.rank() == 0 {
        println!(
            "{name} {:.3} {:.3} {:.3}",
            s[SAMPLES / 2],
            s[0],
            s[SAMPLES - 1]
        );
    }
}

fn run(comm: &mpi::MpiComm, c: &CommRef, name: &str, n: usize, calls: usize) -> Result<()> {
    let a: Vec<f64> = (0..n)
        .map(|i| (i % 1000) as f64 + c.rank() as f64)
        .collect();
    let mut b = vec![0f64; n];
    let dtl = |b: &mut [f64]| {
        c.allreduce(
            as_bytes(&a),
            as_bytes_mut(b),
            DType::F64,
            ReduceOp::Sum,
            Site::NONE,
        )
    };
    let raw = |b: &mut [f64]| {
        // SAFETY: both buffers hold `n` doubles; the communicator is live.
        let rc = unsafe {
            ::mpi::ffi::MPI_Allreduce(
                a.as_ptr().cast(),
                b.as_mut_ptr().cast(),
                n as i32,
                ::mpi::ffi::RSMPI_DOUBLE,
                ::mpi::ffi::RSMPI_SUM,
                comm.raw(),
            )
        };
        assert_eq!(rc, 0);
    };
    for _ in 0..calls {
        dtl(&mut b)?;
        raw(&mut b);
    }
    let (mut sd, mut sr) = (Vec::new(), Vec::new());
    for _ in 0..SAMPLES {
        c.barrier(Site::NONE)?;
        let t = Instant::now();
        for _ in 0..calls {
            dtl(&mut b)?;
        }
        sd.push(t.elapsed().as_secs_f64() / calls as f64 * 1e6);
        c.barrier(Site::NONE)?;
        let t = Instant::now();
        for _ in 0..calls {
            raw(&mut b);
        }
        sr.push(t.elapsed().as_secs_f64() / calls as f64 * 1e6);
    }
    report(c, name, sd);
    report(c, &format!("raw_{name}"), sr);
    Ok(())
}

fn main() {
    let out = mpi::world_handle().and_then(|comm| {
        let c: CommRef = comm.clone();
        run(&comm, &c, "allreduce_f64_1_us", 1, 20000)?;
        run(&comm, &c, "allreduce_1MiB_us", (1 << 20) / 8, 50)?;
        run(&comm, &c, "allreduce_16MiB_us", (16 << 20) / 8, 4)
    });
    mpi::finalize();
    if let Err(e) = out {
        eprintln!("bench_mpi: {e}");
        std::process::exit(1);
    }
}
