//! Recoverable calls of the MPI backend (`Comm::call_begin` / `Comm::call_end`, what the Python
//! package wraps around a collective kernel): a failure on one rank becomes an error on every
//! rank, whatever the others were doing, and the communicator stays usable. For
//! `scripts/tests/reliability/signals.sh`: `mpirun -n 2|3 mpi_recover` prints
//! `recover: all scenarios passed on N ranks` (and exits 0), or the first scenario that failed.

use dtl_runtime::comm::mpi;
use dtl_runtime::prelude::*;

/// One recoverable call: `body` on every rank, then the agreement.
fn call(c: &CommRef, body: impl FnOnce() -> Result<()>) -> Result<()> {
    c.call_begin()?;
    let r = body();
    let mine = r.as_ref().err().map(|e| {
        (
            e.code() == Code::R0011,
            format!("error[{}]: {e} (rank {})", e.code(), c.rank()),
        )
    });
    let end = c.call_end(mine.as_ref().map(|(echo, m)| (*echo, m.as_str())));
    // As the Python package does: the agreement's error (which carries the failing rank's
    // message) replaces an R0011 this rank saw inside the call.
    match (r, end) {
        (Err(e), Err(agreed)) if e.code() == Code::R0011 => Err(agreed),
        (r, end) => r.and(end),
    }
}

fn boom() -> DtlError {
    DtlError::AssertionFailed {
        message: "boom".into(),
    }
}

fn expect(name: &str, c: &CommRef, r: Result<()>, fails: usize, want: Code) -> Result<()> {
    let e = match r {
        Ok(()) => {
            return Err(DtlError::invalid(format!(
                "{name}: no error on rank {}",
                c.rank()
            )));
        }
        Err(e) => e,
    };
    let (code, ok) = if c.rank() == fails {
        (e.code(), e.code() == want)
    } else {
        // Every other rank learns the failing rank's own message.
        let ok = matches!(&e, DtlError::PeerFailed { rank, cause }
            if *rank == fails && cause.contains(&format!("error[{want}]")));
        (e.code(), ok)
    };
    if !ok {
        return Err(DtlError::invalid(format!(
            "{name}: rank {} got {code}: {e}",
            c.rank()
        )));
    }
    Ok(())
}

fn scenarios(c: &CommRef) -> Result<()> {
    let last = c.size() - 1;
    // Rank `last` fails while the others wait in an allreduce.
    let r = call(c, || {
        if c.rank() == last {
            return Err(boom());
        }
        c.allreduce_scalar(1.0f64, ReduceOp::Sum).map(|_| ())
    });
    expect("allreduce", c, r, last, Code::R0005)?;
    // ... while rank 0 waits for its message (released by the failure notice).
    let r = call(c, || {
        if c.rank() == last {
            return Err(boom());
        }
        if c.rank() == 0 {
            c.recv(&mut [0u8; 8], Source::Rank(last), TagSel::Any)?;
        }
        Ok(())
    });
    expect("recv", c, r, last, Code::R0005)?;
    // ... while rank 0 computes and only polls the stop word (as a loop of generated code).
    let r = call(c, || {
        if c.rank() == last {
            return Err(boom());
        }
        if c.rank() == 0 {
            while c.stop_word().get() == 0 {
                std::thread::yield_now();
            }
            return Err(c.stop_error());
        }
        Ok(())
    });
    expect("spin", c, r, last, Code::R0005)?;
    // Rank 0 returns while the others call a barrier: R0003 on every rank.
    let r = call(c, || {
        if c.rank() == 0 {
            return Ok(());
        }
        c.barrier(Site::caller())
    });
    if c.size() > 1 && !matches!(&r, Err(e) if e.code() == Code::R0003 || e.code() == Code::R0011) {
        return Err(DtlError::invalid(format!(
            "mismatch: rank {} got {r:?}",
            c.rank()
        )));
    }
    // No failure: the call succeeds, and the communicator is in step after all of the above.
    call(c, || c.allreduce_scalar(1.0f64, ReduceOp::Sum).map(|_| ()))?;
    let n = c.allreduce_scalar(1i64, ReduceOp::Sum)?;
    if n != c.size() as i64 {
        return Err(DtlError::invalid(format!("final allreduce gave {n}")));
    }
    c.barrier(Site::caller())
}

fn main() {
    let c = match mpi::world() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mpi_recover: {e}");
            std::process::exit(1);
        }
    };
    if c.size() < 2 {
        println!("recover: skipped on 1 rank");
        mpi::finalize();
        return;
    }
    let (size, rank) = (c.size(), c.rank());
    if let Err(e) = scenarios(&c) {
        // Not finalized: the other ranks may still be in a scenario.
        eprintln!("mpi_recover: rank {rank}: {e}");
        std::process::exit(1);
    }
    drop(c);
    mpi::finalize();
    if rank == 0 {
        println!("recover: all scenarios passed on {size} ranks");
    }
}
