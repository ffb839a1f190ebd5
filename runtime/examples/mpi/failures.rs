//! Failure scenarios of the MPI backend, for `scripts/tests/mpi.sh`: each must end the job
//! with a nonzero status and the error on stderr, never hang.
//!
//! `mpirun -n 2 mpi_failures error`: rank 1 fails with R0004 while rank 0 waits in a barrier.
//! `mpirun -n 2 mpi_failures exit`: rank 0 returns while the others wait in a barrier (R0003).
//! `mpirun -n 2 mpi_failures panic`: rank 1 panics.
//! `DTL_WATCHDOG_SECS=2 mpirun -n 2 mpi_failures hang`: rank 0 waits for a message that never
//! comes while rank 1 waits in a barrier; the watchdog ends the job with R0010.

use dtl_runtime::comm::mpi;
use dtl_runtime::prelude::*;

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let out = mpi::launch(|c| {
        match mode.as_str() {
            "error" if c.rank() == 1 => {
                c.send(&[1], c.size() + 5, 0)?;
            }
            "panic" if c.rank() == 1 => panic!("rank 1 gives up"),
            "exit" if c.rank() == 0 => return Ok(()),
            "hang" if c.rank() == 0 => {
                c.recv(&mut [0u8; 8], Source::Rank(c.size() - 1), TagSel::Any)?;
            }
            _ => {}
        }
        c.barrier(Site::caller())?;
        Ok(())
    });
    if let Err(e) = out {
        eprintln!("mpi_failures: {e}");
        std::process::exit(1);
    }
}
