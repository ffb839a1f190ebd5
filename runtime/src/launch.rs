//! The launcher: runs one closure on N thread ranks and returns every rank's result.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// Called when ranks are still running `grace` after the world failed (see
    /// [`Config::on_stuck`]).
    pub on_stuck: Option<(Duration, OnStuck)>,
}

/// What [`Config::on_stuck`] is told: the ranks that did not return, and where every rank is
/// (the lines of an R0010 report).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stuck {
    pub ranks: Vec<usize>,
    pub report: String,
}

/// The callback of [`Config::on_stuck`].
#[derive(Clone)]
pub struct OnStuck(pub Arc<dyn Fn(&Stuck) + Send + Sync>);

impl std::fmt::Debug for OnStuck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnStuck(..)")
    }
}

impl PartialEq for OnStuck {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for OnStuck {}

impl Config {
    pub fn new(nranks: usize) -> Self {
        Config {
            nranks,
            watchdog: None,
            stack_size: None,
            on_stuck: None,
        }
    }

    /// Once a rank failed (or the watchdog fired), every rank normally stops at its next loop
    /// head or runtime call; a rank that reaches neither (a long runtime call, a bounded SIMD
    /// loop, foreign code) keeps the launch waiting. With this, `f` is called (on the
    /// launching thread, which watches the ranks instead of only joining them) when ranks are
    /// still running `grace` after the failure, with those ranks and the report of where every
    /// rank is. The launch still waits for them afterwards: a
    /// process that cannot wait (`dtlc`) prints and exits from `f`.
    pub fn on_stuck(mut self, grace: Duration, f: impl Fn(&Stuck) + Send + Sync + 'static) -> Self {
        self.on_stuck = Some((grace, OnStuck(Arc::new(f))));
        self
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

/// Thread ranks allowed per core by default (see [`max_thread_ranks`]).
pub const THREAD_RANKS_PER_CORE: usize = 64;

/// The most thread ranks [`run_with`] starts: `DTL_MAX_THREAD_RANKS` when set, else
/// [`THREAD_RANKS_PER_CORE`] per core (at least 64). Many more ranks than cores still work,
/// but every collective then waits on threads that are not running, and the time of a run
/// grows with the square of the rank count (heat1d: 1 s on 128 ranks of 2 cores, over 100 s on
/// 1024).
pub fn max_thread_ranks() -> usize {
    if let Some(n) = std::env::var("DTL_MAX_THREAD_RANKS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
    {
        return n;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores * THREAD_RANKS_PER_CORE).max(64)
}

/// Runs `f` on `nranks` ranks of the threads backend (threads named `dtl-rank-{r}`) and
/// returns each rank's result in rank order, or the first error: the root cause, never the
/// R0011 echoes it caused on other ranks. A rank that returns an error or panics (the panic
/// becomes an R0014 error carrying its message) stops every other rank's communication.
/// `nranks == 0` is R0006; more than [`max_thread_ranks`] is R0009.
pub fn run<R: Send, F: Fn(&CommRef) -> Result<R> + Sync>(nranks: usize, f: F) -> Result<Vec<R>> {
    run_with(Config::new(nranks), f)
}

/// [`run`] with a [`Config`].
pub fn run_with<R: Send, F: Fn(&CommRef) -> Result<R> + Sync>(
    config: Config,
    f: F,
) -> Result<Vec<R>> {
    let max = max_thread_ranks();
    if config.nranks > max {
        return Err(DtlError::invalid(format!(
            "{} thread ranks are more than this machine runs well: at most {max} ({THREAD_RANKS_PER_CORE} per core; beyond that every collective wakes every rank and a run slows down quadratically); use fewer ranks, MPI, or set DTL_MAX_THREAD_RANKS",
            config.nranks
        )));
    }
    let watchdog = match config.watchdog {
        Some(d) => Some(d),
        None => threads::watchdog_from_env()?,
    };
    let comms = threads::create(config.nranks, watchdog)?;
    let f = &f;
    // With a monitor (see `on_stuck`), each rank wakes the launching thread when it returns.
    let launcher = config.on_stuck.as_ref().map(|_| std::thread::current());
    let results: Vec<Result<R>> = std::thread::scope(|s| {
        let mut handles = Vec::with_capacity(comms.len());
        for (r, c) in comms.iter().enumerate() {
            let mut b = std::thread::Builder::new().name(format!("dtl-rank-{r}"));
            if let Some(bytes) = config.stack_size {
                b = b.stack_size(bytes);
            }
            let wake = launcher.clone();
            let spawned = b.spawn_scoped(s, move || {
                let out = run_rank(r, c, f);
                if let Some(t) = wake {
                    t.unpark();
                }
                out
            });
            match spawned {
                Ok(h) => handles.push(Some(h)),
                Err(e) => {
                    c.abort(&format!("could not start the thread of rank {r}: {e}"));
                    c.mark_finished();
                    handles.push(None);
                }
            }
        }
        if let (Some((grace, cb)), Some(c0)) = (&config.on_stuck, comms.first()) {
            monitor(c0, *grace, cb);
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

/// Runs on the launching thread until every rank returned (each unparks it when it does):
/// once the world failed and ranks are still running `grace` later, tells `cb` (once).
fn monitor(c: &ThreadsComm, grace: Duration, cb: &OnStuck) {
    const TICK: Duration = Duration::from_millis(50);
    let mut failed_at: Option<Instant> = None;
    loop {
        let running = c.unfinished();
        if running.is_empty() {
            return;
        }
        if failed_at.is_none() && c.first_failure().is_some() {
            failed_at = Some(Instant::now());
        }
        if let Some(t) = failed_at
            && t.elapsed() >= grace
        {
            (cb.0)(&Stuck {
                ranks: running,
                report: c.report(),
            });
            return;
        }
        std::thread::park_timeout(TICK);
    }
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
