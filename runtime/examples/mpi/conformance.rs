//! The communication conformance suite (and container checks) on the MPI backend.
//!
//! Run under a launcher, e.g. `mpirun -n 3 target/release/examples/mpi_conformance`, or alone
//! as a world of one. Every rank runs every check of `runtime/tests/comm_conformance.rs` and of
//! `runtime/tests/mpi_containers.rs` against the MPI world; the first failing check prints
//! `FAIL` and aborts the job (nonzero exit). Rank 0 prints one `ok` line per check.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use dtl_runtime::comm::mpi;
use dtl_runtime::prelude::*;

#[expect(
    dead_code,
    reason = "the threads-backend runner of the suite is unused here"
)]
#[path = "../../tests/comm_conformance.rs"]
mod conformance;

#[path = "../../tests/mpi_containers.rs"]
mod containers;

fn main() {
    let filter: Vec<String> = std::env::args().skip(1).collect();
    let out = mpi::launch(|c| {
        let checks = conformance::CHECKS.iter().chain(containers::CHECKS);
        let mut n = 0;
        for (name, check) in checks {
            if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
                continue;
            }
            let t0 = Instant::now();
            let res = catch_unwind(AssertUnwindSafe(|| check(c)));
            let res = match res {
                Ok(r) => r,
                Err(p) => Err(DtlError::Backend {
                    detail: format!(
                        "check panicked: {}",
                        p.downcast_ref::<String>()
                            .cloned()
                            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default()
                    ),
                }),
            };
            if let Err(e) = res {
                eprintln!("FAIL {name} (rank {} of {}): {e}", c.rank(), c.size());
                return Err(e);
            }
            c.barrier(Site::caller())?;
            if c.rank() == 0 {
                println!("ok {name} ({:.1} ms)", t0.elapsed().as_secs_f64() * 1e3);
            }
            n += 1;
        }
        Ok((n, c.size(), c.rank()))
    });
    match out {
        Ok((n, p, 0)) => println!("mpi conformance: {n} checks passed on {p} ranks"),
        Ok(_) => {}
        Err(e) => {
            eprintln!("mpi conformance: {e}");
            std::process::exit(1);
        }
    }
}
