//! The launcher: runs one closure on N thread ranks and returns every rank's result.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use crate::comm::threads::{self, ThreadsComm};
use crate::comm::{Comm, CommRef};
use crate::error::{DtlError, Result};

/// How to launch: rank count, watchdog limit and thread stack size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub nranks: usize,
    /// Longest any wait may take before it fails with R0010 and a report of every rank's wait.
    /// `None`: `DTL_WATCHDOG_SECS` (seconds; `0` disables; R0009 when it is not a number of
    /// seconds in range, see [`threads::parse_watchdog`]), else 60 s.
    pub watchdog: Option<Duration>,
    /// Stack size of each rank's thread in bytes (`None`: the Rust default).
    pub stack_size: Option<usize>,
}

impl Config {
    pub fn new(nranks: usize) -> Self {
        Config {
            nranks,
            watchdog: None,
            stack_size: None,
        }
    }

    pub fn watchdog(mut self, limit: Duration) -> Self {
        self.watchdog = Some(limit);
        self
    }

    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }
}

/// Runs `f` on `nranks` ranks of the threads backend (threads named `dtl-rank-{r}`) and
/// returns each rank's result in rank order, or the first error: the root cause, never the
/// R0011 echoes it caused on other ranks. A rank that returns an error or panics (the panic
/// becomes an R0014 error carrying its message) stops every other rank's communication.
/// `nranks == 0` is R0006.
pub fn run<R: Send, F: Fn(&CommRef) -> Result<R> + Sync>(nranks: usize, f: F) -> Result<Vec<R>> {
    run_with(Config::new(nranks), f)
}

/// [`run`] with a [`Config`].
pub fn run_with<R: Send, F: Fn(&CommRef) -> Result<R> + Sync>(
    config: Config,
    f: F,
) -> Result<Vec<R>> {
    let watchdog = match config.watchdog {
        Some(d) => Some(d),
        None => threads::watchdog_from_env()?,
    };
    let comms = threads::create(config.nranks, watchdog)?;
    let f = &f;
    let results: Vec<Result<R>> = std::thread::scope(|s| {
        let mut handles = Vec::with_capacity(comms.len());
        for (r, c) in comms.iter().enumerate() {
            let mut b = std::thread::Builder::new().name(format!("dtl-rank-{r}"));
            if let Some(bytes) = config.stack_size {
                b = b.stack_size(bytes);
            }
            let spawned = b.spawn_scoped(s, move || run_rank(r, c, f));
            match spawned {
                Ok(h) => handles.push(Some(h)),
                Err(e) => {
                    c.abort(&format!("could not start the thread of rank {r}: {e}"));
                    c.mark_finished();
                    handles.push(None);
                }
            }
        }
        handles
            .into_iter()
            .enumerate()
            .map(|(r, h)| match h {
                Some(h) => h.join().unwrap_or_else(|p| Err(panic_error(r, p.as_ref()))),
                None => Err(DtlError::Backend {
                    detail: format!("could not start the thread of rank {r}"),
                }),
            })
            .collect()
    });
    let first = comms.first().and_then(|c| c.first_failure());
    if let Some((rank, cause)) = first {
        return match results.into_iter().nth(rank) {
            Some(Err(e)) => Err(e),
            _ => Err(DtlError::PeerFailed { rank, cause }),
        };
    }
    results.into_iter().collect()
}

fn run_rank<R, F: Fn(&CommRef) -> Result<R>>(
    r: usize,
    c: &std::sync::Arc<ThreadsComm>,
    f: &F,
) -> Result<R> {
    let cref: CommRef = c.clone();
    let out = match catch_unwind(AssertUnwindSafe(|| f(&cref))) {
        Ok(out) => out,
        Err(p) => Err(panic_error(r, p.as_ref())),
    };
    if let Err(e) = &out {
        // The first failure wins; an R0011 echo only lands here after the root cause did.
        c.abort(&e.to_string());
    }
    c.mark_finished();
    out
}

fn panic_error(rank: usize, p: &(dyn std::any::Any + Send)) -> DtlError {
    let msg = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-string panic payload)".to_string());
    DtlError::Backend {
        detail: format!("rank {rank} panicked: {msg}"),
    }
}

/// Runs `f` once on this process's rank of the MPI world and finalizes MPI afterwards (the
/// whole life of a program under `mpirun`/`srun`; a world of one without a launcher). A rank
/// whose `f` fails prints its error and aborts the job; see [`crate::comm::mpi::launch`].
#[cfg(feature = "mpi")]
pub fn run_mpi<R>(f: impl FnOnce(&CommRef) -> Result<R>) -> Result<R> {
    crate::comm::mpi::launch(f)
}
