//! The MPI backend (feature `mpi`): ranks are MPI processes, every `Comm` call is one MPI call.
//!
//! ## Mapping
//! - Collectives map onto their MPI namesakes (`MPI_Allreduce`, `MPI_Bcast`, `MPI_Gatherv`, ...)
//!   with the dtype's MPI datatype and, where MPI's built-in operator has exactly the runtime's
//!   semantics, MPI's operator. Float `Min`/`Max` (NaN propagation), `Land`/`Lor` on floats and
//!   `MinLoc`/`MaxLoc` ([`LocPair`](crate::elem::LocPair) records) use user-defined operators
//!   that run the runtime's own byte-level reductions ([`crate::ops`]).
//! - Every collective starts with one *header* allreduce of a 56-byte record under a
//!   user-defined operator (a persistent request per communicator, `MPI_Allreduce_init`,
//!   started and waited for in our own loop; see *Waiting*). It carries the packed
//!   [`CollSig`], a lowest-bad-rank field (so an argument error on one rank reaches every
//!   rank, as on the threads backend) and sums that check counts between ranks. Mismatched
//!   collectives therefore meet in the header and give R0003 on every rank instead of a hang. Small payloads ride in the header: an allreduce or
//!   reduce of at most [`PAYLOAD`] bytes and a broadcast of at most [`PAYLOAD`] bytes are that
//!   one MPI call and nothing else.
//! - Point-to-point: sends copy the message and post `MPI_Isend` (a send never waits for the
//!   receiver, as on the threads backend); receives probe first (R0009 for a message longer
//!   than the buffer leaves the message queued, and the probe is our own `MPI_Iprobe` loop),
//!   then `MPI_Recv` the probed message.
//! - Windows: `MPI_Win_create` over the caller's memory with a passive-target `lock_all` epoch
//!   for the window's whole life. Puts, gets and atomics (`MPI_Rput`, `MPI_Rget`,
//!   `MPI_Raccumulate`, `MPI_Rget_accumulate`, waited for in our own loop, and
//!   `MPI_Compare_and_swap`) are locally complete when they return; they are flushed to their
//!   targets at `win_flush`, `win_fence` and `barrier`, which then `MPI_Win_sync` so local
//!   loads see remote updates.
//! - Failure: [`launch`] (and [`Comm::abort`]) print the failing rank's error and call
//!   `MPI_Abort` (status 2), so one failing rank ends the job instead of leaving the others
//!   waiting. The watchdog (`DTL_WATCHDOG_SECS`, default 60 s, `0` disables) reports R0010
//!   when no rank of the world has completed any communication for that long, with where
//!   every rank waits, so no wait is silent forever and no working job is stopped.
//!
//! ## Waiting
//! MPICH's blocking calls spin on the processor for as long as they wait. With more processes
//! than cores that starves the rank being waited for, and a one-sided read needs its target
//! to run MPI's progress engine: a map lookup cost 2.5-10 ms on 3 processes over 2 cores. So
//! every wait for another rank (a collective's header, a probe, a one-sided operation) is our
//! own loop over a nonblocking call ([`MpiComm::wait_for`]): polls for 200 µs (20 µs for a
//! one-sided operation), then a `sched_yield` between polls, or a short nap (about 55 µs) once
//! a yield has been seen to give the core to a process outside the job for a whole time
//! slice. Each process publishes a progress counter and what it waits in through a small
//! window over the world (the *progress window*); a rank that has waited a while reads every
//! rank's record, which is how the watchdog knows whether anyone progressed and where each
//! rank waits. Calls that wait inside MPI after every rank
//! has joined (the body of a large collective, flushes, compare-and-swap, window free, split)
//! are timed per call by a watchdog thread instead.
//!
//! ## Lifetime of MPI
//! [`world`] initialises MPI (with `MPI_THREAD_MULTIPLE`) when nobody has, keeping rsmpi's
//! `Universe` in a process-global; otherwise (mpi4py, a host program) it uses the existing
//! world and never finalizes it. MPI is finalized only by [`finalize`] or at the end of
//! [`launch`]; after that no MPI communicator may be used.
//!
//! This module is one of the runtime's allowed `unsafe` sites (FFI); every block says why.

use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use mpi::ffi;
use mpi::ffi::{MPI_Comm, MPI_Datatype, MPI_Op, MPI_Request, MPI_Win};

use super::{CollKind, CollSig, Comm, CommRef, Source, Status, TagSel, WinId, WinRead, check};
use crate::elem::{DType, ReduceOp};
use crate::error::{DtlError, Result, Site};
use crate::ops;
use crate::stats::Stats;
use crate::stop::{self, StopWord};

/// Payload bytes that travel inside the header of a collective (small allreduce, reduce and
/// broadcast need no second MPI call).
pub const PAYLOAD: usize = 32;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------------------------
// Initialisation and finalization.

/// rsmpi's universe when this module initialised MPI (dropping it calls `MPI_Finalize`).
static UNIVERSE: Mutex<Option<mpi::environment::Universe>> = Mutex::new(None);
/// Set once [`finalize`] ran: no MPI call may follow.
static FINALIZED: AtomicBool = AtomicBool::new(false);

/// Whether the process environment says it was started by an MPI launcher (`mpirun`,
/// `mpiexec`, `srun` with more than one task, a PMI/PMIx process manager); see
/// [`crate::sys::launched_under_mpi`], which needs no MPI library.
pub fn launched_under_mpi() -> bool {
    crate::sys::launched_under_mpi()
}

/// Initialises MPI with `MPI_THREAD_MULTIPLE` unless it already is (then it is left as its
/// owner set it up). Idempotent. R0014 after [`finalize`] or when MPI refuses.
pub fn init() -> Result<()> {
    if FINALIZED.load(Ordering::Acquire) || mpi::environment::is_finalized() {
        return Err(backend("MPI was already finalized in this process"));
    }
    let mut u = lock(&UNIVERSE);
    if u.is_none() && !mpi::environment::is_initialized() {
        let (universe, _level) = mpi::initialize_with_threading(threading_from_env(
            PROGRAM_OWNS_MPI.load(Ordering::Relaxed),
        ))
        .ok_or_else(|| backend("MPI_Init_thread failed"))?;
        *u = Some(universe);
    }
    Ok(())
}

/// Set by [`launch`] / [`launch_with`]: the process is one MPI program whose rank calls MPI
/// from one thread at a time (the watchdog's abort aside), so MPI is initialised with
/// `MPI_THREAD_SERIALIZED` unless `DTL_MPI_THREADING` says otherwise.
static PROGRAM_OWNS_MPI: AtomicBool = AtomicBool::new(false);

/// The thread level to ask MPI for: `DTL_MPI_THREADING` (`single`, `funneled`, `serialized`,
/// `multiple`); by default `serialized` for a program started by [`launch`] (`dtlc run`) and
/// `multiple` otherwise (a library in a host program, Python, mpi4py). A lower level saves
/// MPICH a lock per call (about 0.02 µs of a 0.4 µs allreduce on 2 processes here), but then
/// only one thread of a process may call MPI at a time. Waits for other ranks run their
/// watchdog on the rank's own thread at every level; only the watchdog thread's abort of a
/// call blocked inside MPI steps outside `single`/`funneled`.
fn threading_from_env(program: bool) -> mpi::Threading {
    match std::env::var("DTL_MPI_THREADING").as_deref().map(str::trim) {
        Ok("single") => mpi::Threading::Single,
        Ok("funneled") => mpi::Threading::Funneled,
        Ok("serialized") => mpi::Threading::Serialized,
        Ok("multiple") => mpi::Threading::Multiple,
        _ if program => mpi::Threading::Serialized,
        _ => mpi::Threading::Multiple,
    }
}

/// Finalizes MPI if this module initialised it (a no-op otherwise, or when called again).
/// Every communicator of this backend must be dropped or unused afterwards.
pub fn finalize() {
    let universe = lock(&UNIVERSE).take();
    if universe.is_some() {
        close_progress_window();
        if let Some(Ok(reg)) = REGISTRY.get() {
            free_registry(reg);
        }
        FINALIZED.store(true, Ordering::Release);
        drop(universe);
    }
}

/// Frees the registry's datatypes and operators just before `MPI_Finalize`.
fn free_registry(reg: &Registry) {
    let mut types: Vec<MPI_Datatype> = reg.unit.iter().flatten().copied().collect();
    types.push(reg.header_type);
    for mut t in types {
        // SAFETY: committed types created by this module; nothing uses them after finalize.
        unsafe { ffi::MPI_Type_free(&mut t) };
    }
    let mut ops: Vec<MPI_Op> = reg.user_ops.to_vec();
    ops.push(reg.header_op);
    for mut o in ops {
        // SAFETY: operators created by this module; nothing uses them after finalize.
        unsafe { ffi::MPI_Op_free(&mut o) };
    }
}

fn mpi_usable() -> bool {
    !FINALIZED.load(Ordering::Acquire)
        && mpi::environment::is_initialized()
        && !mpi::environment::is_finalized()
}

/// A fresh communicator over `MPI_COMM_WORLD` (a duplicate, so its messages never meet the
/// host program's), initialising MPI if needed. Without a launcher this is a world of one.
pub fn world() -> Result<CommRef> {
    Ok(world_handle()?)
}

/// [`world`] as its concrete handle.
/// R0009 when `DTL_WATCHDOG_SECS` is not a valid setting (checked before MPI is touched).
pub fn world_handle() -> Result<Arc<MpiComm>> {
    let limit = super::threads::watchdog_from_env()?;
    init()?;
    // SAFETY: MPI is initialised; MPI_COMM_WORLD is a predefined handle.
    let w = unsafe { ffi::RSMPI_COMM_WORLD };
    let c = MpiComm::dup_of(w)?;
    open_progress_window(c.comm, c.rank, c.size)?;
    start_watchdog(limit);
    Ok(c)
}

/// A communicator over the MPI communicator whose Fortran handle is `fhandle` (mpi4py's
/// `comm.py2f()`). The communicator is duplicated first, so the caller keeps ownership of
/// its own handle. MPI must already be initialised (R0014 otherwise).
pub fn from_raw_comm(fhandle: c_int) -> Result<CommRef> {
    let limit = super::threads::watchdog_from_env()?;
    if !mpi_usable() {
        return Err(backend("from_raw_comm: MPI is not initialised"));
    }
    // SAFETY: f2c only converts a handle value; an invalid one yields MPI_COMM_NULL, checked
    // next.
    let c = unsafe { ffi::RSMPI_Comm_f2c(fhandle) };
    // SAFETY: reading a predefined handle.
    if c == unsafe { ffi::RSMPI_COMM_NULL } {
        return Err(DtlError::invalid(format!(
            "from_raw_comm: {fhandle} is not a communicator handle"
        )));
    }
    let comm = MpiComm::dup_of(c)?;
    start_watchdog(limit);
    Ok(comm)
}

/// Runs `f` on the MPI world (initialising MPI if needed) without finalizing it. A rank whose
/// `f` returns an error or panics prints the error to stderr and aborts the whole job with
/// `MPI_Abort` (exit status 2, like every run-time error), so this returns `Err` only when
/// MPI cannot be set up (or `DTL_WATCHDOG_SECS` is invalid, R0009). At the
/// end every rank joins one last header exchange, so a rank still waiting in a collective
/// that another rank never called gets R0003 instead of a hang.
pub fn run<R>(f: impl FnOnce(&CommRef) -> Result<R>) -> Result<R> {
    run_with(f, default_report)
}

/// [`run`] with the failure report in the caller's hands: when `f` fails (or panics) on this
/// rank, `on_failure(world_rank, &error)` runs (print the error as you like) and returns the
/// exit status the job is aborted with (`MPI_Abort(MPI_COMM_WORLD, status)`; mpirun exits with
/// it). Never returns `Err` from `f`: only when MPI cannot be set up.
pub fn run_with<R>(
    f: impl FnOnce(&CommRef) -> Result<R>,
    on_failure: impl FnOnce(usize, &DtlError) -> i32,
) -> Result<R> {
    let comm = world_handle()?;
    let cref: CommRef = comm.clone();
    let out = match catch_unwind(AssertUnwindSafe(|| f(&cref))) {
        Ok(out) => out,
        Err(p) => Err(backend(format!(
            "rank {} panicked: {}",
            comm.rank,
            panic_message(p.as_ref())
        ))),
    };
    let out = out.and_then(|v| comm.finish().map(|_| v));
    match out {
        Ok(v) => Ok(v),
        Err(e) => {
            let rank = world_rank().unwrap_or(comm.rank);
            let status = on_failure(rank, &e);
            abort_with(status)
        }
    }
}

/// The default failure report: `dtl: rank R failed: error[Rxxxx]: message` on stderr, status 2
/// (the status of every run-time error, as `dtlc run` on threads).
pub fn default_report(rank: usize, e: &DtlError) -> i32 {
    use std::io::Write;
    let msg = format!("dtl: rank {rank} failed: error[{}]: {e}\n", e.code());
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(msg.as_bytes());
    let _ = err.flush();
    2
}

/// This process's rank in `MPI_COMM_WORLD` (None before init or after finalize).
pub fn world_rank() -> Option<usize> {
    if !mpi_usable() {
        return None;
    }
    let mut r: c_int = 0;
    // SAFETY: MPI is usable; `r` is a valid out-parameter.
    let rc = unsafe { ffi::MPI_Comm_rank(ffi::RSMPI_COMM_WORLD, &mut r) };
    (rc == 0).then_some(r.max(0) as usize)
}

/// [`run_with`], then [`finalize`].
pub fn launch_with<R>(
    f: impl FnOnce(&CommRef) -> Result<R>,
    on_failure: impl FnOnce(usize, &DtlError) -> i32,
) -> Result<R> {
    PROGRAM_OWNS_MPI.store(true, Ordering::Relaxed);
    let out = run_with(f, on_failure);
    finalize();
    out
}

/// [`run`], then [`finalize`]: the whole life of an MPI program (what `dtlc run --backend mpi`
/// calls). Returns `f`'s result on this rank.
pub fn launch<R>(f: impl FnOnce(&CommRef) -> Result<R>) -> Result<R> {
    PROGRAM_OWNS_MPI.store(true, Ordering::Relaxed);
    let out = run(f);
    finalize();
    out
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-string panic payload)".to_string())
}

fn backend(detail: impl Into<String>) -> DtlError {
    DtlError::Backend {
        detail: detail.into(),
    }
}

/// What a one-sided operation waits in, for watchdog reports.
fn rma_desc(verb: &str, target: usize, win: WinId) -> String {
    format!("one-sided {verb} rank {target} (window {})", win.0)
}

/// Tests a request: whether it completed (R0014 for an MPI error).
fn test(req: &mut MPI_Request, what: &str) -> Result<bool> {
    let mut flag: c_int = 0;
    // SAFETY: `req` is a request handle of ours (active, or null/inactive, which MPI_Test
    // reports as complete).
    check(
        unsafe { ffi::MPI_Test(req, &mut flag, ffi::RSMPI_STATUS_IGNORE) },
        what,
    )?;
    Ok(flag != 0)
}

/// Turns an MPI return code into R0014 with MPI's message.
fn check(rc: c_int, what: &str) -> Result<()> {
    if rc == 0 {
        return Ok(());
    }
    let mut buf = vec![0u8; ffi::MPI_MAX_ERROR_STRING as usize + 1];
    let mut len: c_int = 0;
    // SAFETY: the buffer holds MPI_MAX_ERROR_STRING + 1 bytes, as MPI_Error_string requires.
    let rc2 = unsafe { ffi::MPI_Error_string(rc, buf.as_mut_ptr().cast(), &mut len) };
    let msg = if rc2 == 0 {
        String::from_utf8_lossy(&buf[..(len.max(0) as usize).min(buf.len())]).into_owned()
    } else {
        format!("MPI error {rc}")
    };
    Err(backend(format!("{what}: {msg}")))
}

// ---------------------------------------------------------------------------------------------
// Progress, waiting and the watchdog.
//
// Every wait for *another rank* (the header that opens each collective, a probe, the
// completion of a one-sided operation) is a loop of our own over a nonblocking MPI call: a
// short spin, then `sched_yield` between tests (see [`MpiComm::wait_for`]). MPICH's blocking
// calls spin without ever giving up the processor, so with more processes than cores a
// waiting rank used to hold a core for its whole time slice while the rank it waited for (or
// the target of a one-sided operation, which needs its own process to run MPI's progress
// engine) could not run: a lookup cost 2.5-10 ms. A yielding waiter hands the core over.
//
// Each process publishes a small record (its progress counter, what it waits in) in a window
// over all processes of the world. A rank that has waited a while reads every other rank's
// record with `MPI_Rget`; the watchdog reports a deadlock (R0010) only when no rank's counter
// moved for `DTL_WATCHDOG_SECS`, with where every rank waits. Calls that wait inside MPI after
// every rank has joined (the body of a large collective after its header, flushes,
// compare-and-swap, window free, split) are still timed per call by a watchdog thread.

/// Words of one process's published record: progress counter, the blocked-call stamp of the
/// watchdog thread, the wait state and a short description of the wait.
const REC_WORDS: usize = 16;
const W_PROGRESS: usize = 0;
const W_BLOCKED: usize = 1;
const W_STATE: usize = 2;
const W_DESC: usize = 3;
const DESC_BYTES: usize = (REC_WORDS - W_DESC) * 8;
/// `W_STATE` values.
const STATE_RUNNING: u64 = 0;
const STATE_WAITING: u64 = 1;
const REC_BYTES: usize = REC_WORDS * 8;

/// This process's published record, exposed to every rank through the progress window.
#[repr(C, align(128))]
struct Published([AtomicU64; REC_WORDS]);

static PUBLISHED: Published = Published([const { AtomicU64::new(0) }; REC_WORDS]);

/// The watchdog limit in nanoseconds (0: none), set by [`start_watchdog`].
static LIMIT_NS: AtomicU64 = AtomicU64::new(0);
static WATCHDOG: OnceLock<()> = OnceLock::new();
static WATCH_RANK: AtomicU64 = AtomicU64::new(0);

/// How many times a wait tests its MPI call before it looks at the clock (a peer that is
/// running answers well within it).
const SPIN_TESTS: u32 = 64;
/// How long a wait for other ranks to arrive (a collective's header, a probe) keeps polling
/// before it starts giving the processor away. Ranks of a collective arrive at about the same
/// time unless one was preempted; napping sooner than this added a nap (about 55 µs) to many
/// collectives on a loaded machine (a 1-f64 allreduce on 2 pinned ranks: 2-7 µs with 20 µs,
/// 1.0-1.5 µs with 200 µs, 1.9-6.5 µs before waits were ours).
const SPIN_COLLECTIVE: Duration = Duration::from_micros(200);
/// The same for the completion of a one-sided operation, whose target may be napping (see
/// [`NAP`]): a shorter spin leaves the core to a target that shares it (map lookups with
/// `mpirun -n 3` on 2 cores: 3.2 per ms with 20 µs, 2.3 with 200 µs).
const SPIN_RMA: Duration = Duration::from_micros(20);

/// A `sched_yield` that takes longer than this gave the core away for a time slice, to a
/// process outside the job (Linux schedules process groups fairly, and a yield skips the
/// whole group): waits then nap instead of yielding.
const SLOW_YIELD: Duration = Duration::from_micros(200);
/// One nap (about 55 µs with Linux's default timer slack of 50 µs). A napping process that
/// wakes up preempts CPU-bound ones, so it answers one-sided requests within about that long
/// even on a loaded machine.
const NAP: Duration = Duration::from_micros(1);
/// While napping, every this many naps a wait tries one yield to see if contention is gone.
const NAPS_PER_PROBE: u32 = 64;
/// Whether waits nap (contention from outside the job seen) or yield; process-wide, so each
/// new wait starts with what the last one learned.
static NAPPING: AtomicBool = AtomicBool::new(false);

/// Gives the processor away once, while a wait polls: a yield, or a nap while yields are
/// slow (see [`SLOW_YIELD`]).
fn pause(naps: &mut u32) {
    if NAPPING.load(Ordering::Relaxed) {
        *naps = naps.wrapping_add(1);
        if !naps.is_multiple_of(NAPS_PER_PROBE) {
            std::thread::sleep(NAP);
            return;
        }
    }
    let t = Instant::now();
    std::thread::yield_now();
    NAPPING.store(t.elapsed() > SLOW_YIELD, Ordering::Relaxed);
}

fn published(i: usize) -> &'static AtomicU64 {
    &PUBLISHED.0[i]
}

/// Counts one completed communication of this process (the watchdog's measure of progress).
/// A load and a store: threads of one process racing here can only lose a count.
fn progressed() -> u64 {
    let p = published(W_PROGRESS);
    let v = p.load(Ordering::Relaxed).wrapping_add(1);
    p.store(v, Ordering::Relaxed);
    v
}

/// Publishes what this process waits in (for other ranks' watchdog reports).
fn publish_wait(desc: &str) {
    let mut end = desc.len().min(DESC_BYTES);
    while !desc.is_char_boundary(end) {
        end -= 1;
    }
    let b = &desc.as_bytes()[..end];
    for (i, w) in PUBLISHED.0[W_DESC..].iter().enumerate() {
        let mut chunk = [0u8; 8];
        let lo = (8 * i).min(b.len());
        let hi = (8 * i + 8).min(b.len());
        chunk[..hi - lo].copy_from_slice(&b[lo..hi]);
        w.store(u64::from_le_bytes(chunk), Ordering::Relaxed);
    }
    published(W_STATE).store(STATE_WAITING, Ordering::Release);
}

fn unpublish_wait() {
    published(W_STATE).store(STATE_RUNNING, Ordering::Release);
}

/// The state line of one rank's record in a watchdog report.
fn describe_record(rec: &[u64; REC_WORDS]) -> String {
    if rec[W_STATE] == STATE_WAITING {
        let bytes: Vec<u8> = rec[W_DESC..]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .take_while(|&b| b != 0)
            .collect();
        return String::from_utf8_lossy(&bytes).into_owned();
    }
    match rec[W_BLOCKED] {
        0 => "running (computing, not waiting for another rank)".to_string(),
        b => format!("blocked inside MPI in {}", what_name(b)),
    }
}

fn what_name(blocked: u64) -> &'static str {
    WHAT.get(((blocked & 0xFF) as usize).wrapping_sub(1))
        .copied()
        .unwrap_or("an MPI call")
}

/// A rank's record as this process last read it.
struct Peer {
    /// The `MPI_Rget` in flight into `buf` (`MPI_REQUEST_NULL` when none).
    req: MPI_Request,
    /// Where the read lands; boxed so it stays put while a read is in flight.
    buf: Box<[u64; REC_WORDS]>,
    /// When the read in flight (or the last one) was issued.
    issued: Instant,
    /// The last record read completely.
    known: Option<[u64; REC_WORDS]>,
}

/// The progress window and this process's view of every rank's record.
struct Watch {
    win: Option<MPI_Win>,
    rank: usize,
    peers: Vec<Peer>,
    /// The last time a read showed another rank's progress counter move.
    changed: Option<Instant>,
}

// SAFETY: MPI handles are plain values; the window and requests are only used under the
// `WATCH` mutex, from threads allowed to call MPI.
unsafe impl Send for Watch {}

static WATCH: Mutex<Watch> = Mutex::new(Watch {
    win: None,
    rank: 0,
    peers: Vec::new(),
    changed: None,
});

/// Makes a freshly created window return errors (not abort) and opens a passive-target epoch
/// to every rank for the window's life.
fn begin_passive_epoch(win: MPI_Win) -> Result<()> {
    // SAFETY: `win` was just created by the caller and is not freed while this runs.
    unsafe {
        check(
            ffi::MPI_Win_set_errhandler(win, ffi::RSMPI_ERRORS_RETURN),
            "MPI_Win_set_errhandler",
        )?;
        check(
            ffi::MPI_Win_lock_all(ffi::MPI_MODE_NOCHECK as c_int, win),
            "MPI_Win_lock_all",
        )
    }
}

/// Creates the progress window over `comm` (a duplicate of the world; collective) unless it
/// exists. Without it (a host that only passed us its own communicator) a wait's watchdog
/// knows only its own process and reports after `DTL_WATCHDOG_SECS` of waiting.
fn open_progress_window(comm: MPI_Comm, rank: usize, size: usize) -> Result<()> {
    let mut w = lock(&WATCH);
    if w.win.is_some() {
        return Ok(());
    }
    // SAFETY: reading a predefined handle.
    let mut win = unsafe { ffi::RSMPI_WIN_NULL };
    // SAFETY: PUBLISHED is a static of REC_BYTES bytes that lives as long as the process, and
    // is only ever accessed through atomics here and by MPI's one-sided reads; collective over
    // `comm`, which every process calls (`world_handle`).
    unsafe {
        check(
            ffi::MPI_Win_create(
                std::ptr::from_ref(&PUBLISHED).cast_mut().cast(),
                REC_BYTES as ffi::MPI_Aint,
                1,
                ffi::RSMPI_INFO_NULL,
                comm,
                &mut win,
            ),
            "MPI_Win_create (progress window)",
        )?;
    }
    begin_passive_epoch(win)?;
    let now = Instant::now();
    w.win = Some(win);
    w.rank = rank;
    w.peers = (0..size)
        .map(|_| Peer {
            // SAFETY: reading a predefined handle.
            req: unsafe { ffi::RSMPI_REQUEST_NULL },
            buf: Box::new([0; REC_WORDS]),
            issued: now,
            known: None,
        })
        .collect();
    Ok(())
}

/// Frees the progress window (collective; from [`finalize`]), completing reads in flight.
fn close_progress_window() {
    let mut w = lock(&WATCH);
    let Some(mut win) = w.win.take() else {
        return;
    };
    for p in &mut w.peers {
        // SAFETY: `p.req` is null or an active read into `p.buf`, which is still alive; every
        // process is in `finalize`, inside MPI, so the targets answer.
        unsafe { ffi::MPI_Wait(&mut p.req, ffi::RSMPI_STATUS_IGNORE) };
    }
    w.peers.clear();
    // SAFETY: the window is live and in its lock_all epoch; every process frees it here.
    unsafe {
        ffi::MPI_Win_unlock_all(win);
        ffi::MPI_Win_free(&mut win);
    }
}

/// The watchdog limit, if any.
fn watchdog_limit() -> Option<Duration> {
    match LIMIT_NS.load(Ordering::Relaxed) {
        0 => None,
        ns => Some(Duration::from_nanos(ns)),
    }
}

/// How often a waiting rank re-reads the other ranks' records.
fn look_interval(limit: Duration) -> Duration {
    (limit / 8).clamp(Duration::from_millis(10), Duration::from_secs(1))
}

/// One watchdog step of a wait that started at `since` and waits in `desc`: completes reads
/// in flight, issues new ones, and returns the R0010 report once no rank progressed for
/// `limit`. Of the waiting ranks the lowest reports first; the others allow it a grace
/// period, so a deadlock is normally reported once.
fn watch_step(since: Instant, limit: Duration, desc: &str) -> Option<String> {
    let now = Instant::now();
    let look = look_interval(limit);
    let mut w = lock(&WATCH);
    let Watch {
        win,
        rank,
        peers,
        changed,
    } = &mut *w;
    let me = *rank;
    if let Some(win) = *win {
        for (q, p) in peers.iter_mut().enumerate() {
            if q == me {
                continue;
            }
            // SAFETY: reading a predefined handle.
            let null = unsafe { ffi::RSMPI_REQUEST_NULL };
            if p.req != null {
                let mut flag: c_int = 0;
                // SAFETY: an active read into `p.buf`, alive and untouched until it completes.
                let rc = unsafe { ffi::MPI_Test(&mut p.req, &mut flag, ffi::RSMPI_STATUS_IGNORE) };
                if rc != 0 || flag == 0 {
                    continue;
                }
                let rec = *p.buf;
                // Observed now: the counter moved at the latest now, so measuring idleness
                // from here never reports early.
                if p.known.is_some_and(|k| k[W_PROGRESS] != rec[W_PROGRESS]) {
                    *changed = Some(now);
                }
                p.known = Some(rec);
            }
            if now.saturating_duration_since(p.issued) >= look {
                p.issued = now;
                // SAFETY: `p.buf` holds REC_BYTES bytes and stays alive and untouched until
                // the read completes (tested above, waited for in `close_progress_window`);
                // the window is in its lock_all epoch and `q` is a rank of it.
                let rc = unsafe {
                    ffi::MPI_Rget(
                        p.buf.as_mut_ptr().cast(),
                        REC_BYTES as c_int,
                        ffi::RSMPI_UINT8_T,
                        q as c_int,
                        0,
                        REC_BYTES as c_int,
                        ffi::RSMPI_UINT8_T,
                        win,
                        &mut p.req,
                    )
                };
                if rc != 0 {
                    p.req = null;
                }
            }
        }
    }
    let last = changed.map_or(since, |c| c.max(since));
    let idle = now.saturating_duration_since(last);
    if idle < limit {
        return None;
    }
    // Am I the lowest rank known to wait? Others give it time to report (and abort) first.
    let waits = |rec: &[u64; REC_WORDS]| rec[W_STATE] == STATE_WAITING || rec[W_BLOCKED] != 0;
    let first = (0..peers.len())
        .find(|&q| {
            q == me
                || peers
                    .get(q)
                    .and_then(|p| p.known)
                    .is_some_and(|r| waits(&r))
        })
        .unwrap_or(me);
    let grace = (2 * look).max(Duration::from_secs(2));
    if first != me && idle < limit + grace {
        return None;
    }
    if win.is_none() {
        let r = WATCH_RANK.load(Ordering::Relaxed);
        return Some(format!(
            "  rank {r}: {desc}\n  (other ranks unknown: no progress window on this communicator)\n  \
             this wait saw no communication for {limit:?} (DTL_WATCHDOG_SECS)"
        ));
    }
    let mut lines = Vec::with_capacity(peers.len());
    for q in 0..peers.len() {
        let state = if q == me {
            desc.to_string()
        } else {
            // SAFETY: reading a predefined handle.
            let null = unsafe { ffi::RSMPI_REQUEST_NULL };
            match peers.get(q) {
                Some(Peer {
                    known: Some(rec),
                    req,
                    issued,
                    ..
                }) if *req != null && now.saturating_duration_since(*issued) > 2 * look => format!(
                    "{} as last seen; has not answered for {:?} (computing outside MPI, or stopped)",
                    describe_record(rec),
                    now.saturating_duration_since(*issued)
                ),
                Some(Peer {
                    known: Some(rec), ..
                }) => describe_record(rec),
                _ => {
                    "did not answer (has not entered MPI since: computing, or stopped)".to_string()
                }
            }
        };
        lines.push(format!("  rank {q}: {state}"));
    }
    lines.push(format!(
        "  no rank completed any communication for {limit:?} (DTL_WATCHDOG_SECS)"
    ));
    Some(lines.join("\n"))
}

const WHAT: [&str; 8] = [
    "a collective",
    "a receive",
    "a probe",
    "a window fence",
    "a window flush",
    "a one-sided operation",
    "a window free",
    "a communicator split",
];

/// Marks a blocking MPI call (one that waits inside MPI) for the watchdog thread while alive.
struct Blocked;

impl Blocked {
    fn enter(what: usize) -> Blocked {
        let seq = progressed();
        published(W_BLOCKED).store((seq << 8) | (what as u64 + 1), Ordering::Relaxed);
        Blocked
    }
}

impl Drop for Blocked {
    fn drop(&mut self) {
        published(W_BLOCKED).store(0, Ordering::Relaxed);
    }
}

/// Starts the watchdog (once per process) with the limit from `DTL_WATCHDOG_SECS`: waits in
/// our own loops check it themselves ([`watch_step`]); a thread times the calls that block
/// inside MPI ([`Blocked`]) and aborts the job with R0010 (status 2) when one exceeds it.
fn start_watchdog(limit: Option<Duration>) {
    let Some(limit) = limit else {
        LIMIT_NS.store(0, Ordering::Relaxed);
        return;
    };
    LIMIT_NS.store(
        u64::try_from(limit.as_nanos()).unwrap_or(u64::MAX).max(1),
        Ordering::Relaxed,
    );
    if let Some(r) = world_rank() {
        WATCH_RANK.store(r as u64, Ordering::Relaxed);
    }
    WATCHDOG.get_or_init(|| {
        let spawned = std::thread::Builder::new()
            .name("dtl-mpi-watchdog".into())
            .spawn(move || {
                let mut seen = (0u64, Instant::now());
                loop {
                    let Some(limit) = watchdog_limit() else {
                        std::thread::sleep(Duration::from_millis(100));
                        continue;
                    };
                    std::thread::sleep(look_interval(limit));
                    if !mpi_usable() {
                        return;
                    }
                    let cur = published(W_BLOCKED).load(Ordering::Relaxed);
                    if cur == 0 || cur != seen.0 {
                        seen = (cur, Instant::now());
                        continue;
                    }
                    // The same call has been blocked since `seen.1`.
                    if seen.1.elapsed() >= limit {
                        let rank = WATCH_RANK.load(Ordering::Relaxed);
                        let e = DtlError::Timeout {
                            report: format!(
                                "  rank {rank}: blocked inside MPI in {} for longer than {limit:?} (DTL_WATCHDOG_SECS)",
                                what_name(cur)
                            ),
                        };
                        abort_job(rank as usize, &e);
                    }
                }
            });
        // Without a watchdog thread the job still runs; calls blocked inside MPI are then
        // only ended by the launcher.
        drop(spawned);
    });
}

/// Prints `e` as rank `rank`'s failure and aborts every process of the job.
fn abort_job(rank: usize, e: &DtlError) -> ! {
    abort_with(default_report(rank, e))
}

/// Ends every process of the job with `status` (`MPI_Abort`), or this process without MPI.
fn abort_with(status: i32) -> ! {
    // The launcher forwards our output through a pipe and may drop what it has not forwarded
    // yet once MPI_Abort tears the job down: flush, and give it a moment.
    {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    if mpi_usable() {
        // SAFETY: MPI is initialised and not finalized; MPI_Abort may be called from any thread
        // under MPI_THREAD_MULTIPLE and ends every process of MPI_COMM_WORLD.
        unsafe { ffi::MPI_Abort(ffi::RSMPI_COMM_WORLD, status) };
    }
    std::process::exit(status);
}

// ---------------------------------------------------------------------------------------------
// Datatypes and operators.

const OP_LIST: [ReduceOp; 11] = [
    ReduceOp::Sum,
    ReduceOp::Prod,
    ReduceOp::Min,
    ReduceOp::Max,
    ReduceOp::Land,
    ReduceOp::Lor,
    ReduceOp::Band,
    ReduceOp::Bor,
    ReduceOp::Bxor,
    ReduceOp::MinLoc,
    ReduceOp::MaxLoc,
];

/// [`dtype_index`] of `F64` and [`op_index`] of `Sum`, computed at compile time.
const F64_INDEX: u8 = {
    let mut i = 0;
    while !matches!(DType::ALL[i], DType::F64) {
        i += 1;
    }
    i as u8
};
const SUM_INDEX: u8 = {
    let mut i = 0;
    while !matches!(OP_LIST[i], ReduceOp::Sum) {
        i += 1;
    }
    i as u8
};

fn op_index(op: ReduceOp) -> usize {
    OP_LIST.iter().position(|&o| o == op).unwrap_or(0)
}

fn dtype_index(d: DType) -> usize {
    DType::ALL.iter().position(|&x| x == d).unwrap_or(0)
}

/// MPI objects this backend creates once per process (never freed: they die with MPI).
struct Registry {
    /// Contiguous byte types of one element (`[0]`) or one loc record (`[1]`) per dtype; the
    /// user-defined operators recover the dtype from which of these they are called with.
    unit: [[MPI_Datatype; 9]; 2],
    user_ops: [MPI_Op; 11],
    header_type: MPI_Datatype,
    header_op: MPI_Op,
}

// SAFETY: MPI handles are plain values (integers on MPICH, pointers to immutable library
// objects elsewhere); predefined and committed handles may be used from any thread under
// MPI_THREAD_MULTIPLE.
unsafe impl Send for Registry {}
// SAFETY: as above; the registry is never mutated after creation.
unsafe impl Sync for Registry {}

static REGISTRY: OnceLock<std::result::Result<Registry, DtlError>> = OnceLock::new();

fn registry() -> Result<&'static Registry> {
    REGISTRY
        .get_or_init(create_registry)
        .as_ref()
        .map_err(Clone::clone)
}

fn contiguous(bytes: usize) -> Result<MPI_Datatype> {
    // SAFETY: reading a predefined handle.
    let mut t = unsafe { ffi::RSMPI_DATATYPE_NULL };
    // SAFETY: MPI is initialised (callers ran `init`); `t` is a valid out-parameter.
    check(
        unsafe { ffi::MPI_Type_contiguous(bytes as c_int, ffi::RSMPI_UINT8_T, &mut t) },
        "MPI_Type_contiguous",
    )?;
    // SAFETY: `t` was just created.
    check(unsafe { ffi::MPI_Type_commit(&mut t) }, "MPI_Type_commit")?;
    Ok(t)
}

fn create_op(
    f: unsafe extern "C" fn(*mut c_void, *mut c_void, *mut c_int, *mut MPI_Datatype),
) -> Result<MPI_Op> {
    // SAFETY: reading a predefined handle.
    let mut op = unsafe { ffi::RSMPI_SUM };
    // SAFETY: `f` has MPI_User_function's signature and lives for the whole program.
    check(
        unsafe { ffi::MPI_Op_create(Some(f), 1, &mut op) },
        "MPI_Op_create",
    )?;
    Ok(op)
}

fn create_registry() -> Result<Registry> {
    // SAFETY: reading a predefined handle.
    let null = unsafe { ffi::RSMPI_DATATYPE_NULL };
    let mut unit = [[null; 9]; 2];
    for (i, d) in DType::ALL.into_iter().enumerate() {
        unit[0][i] = contiguous(d.size())?;
        unit[1][i] = contiguous(ops::LOC_SIZE)?;
    }
    let fns: [unsafe extern "C" fn(*mut c_void, *mut c_void, *mut c_int, *mut MPI_Datatype); 11] = [
        user_fn::<0>,
        user_fn::<1>,
        user_fn::<2>,
        user_fn::<3>,
        user_fn::<4>,
        user_fn::<5>,
        user_fn::<6>,
        user_fn::<7>,
        user_fn::<8>,
        user_fn::<9>,
        user_fn::<10>,
    ];
    // SAFETY: reading a predefined handle.
    let mut user_ops = [unsafe { ffi::RSMPI_SUM }; 11];
    for (o, f) in user_ops.iter_mut().zip(fns) {
        *o = create_op(f)?;
    }
    Ok(Registry {
        unit,
        user_ops,
        header_type: contiguous(std::mem::size_of::<Header>())?,
        header_op: create_op(header_fn)?,
    })
}

/// The user-defined reduction `OP_LIST[O]`: `inout = op(inout, in)` with the runtime's
/// semantics ([`ops::reduce_into`]); the dtype comes from the unit datatype it is called with.
unsafe extern "C" fn user_fn<const O: usize>(
    invec: *mut c_void,
    inout: *mut c_void,
    len: *mut c_int,
    dt: *mut MPI_Datatype,
) {
    let Some(Ok(reg)) = REGISTRY.get() else {
        return;
    };
    // SAFETY: MPI passes valid pointers to the count and the datatype.
    let (n, dt) = unsafe { (*len, *dt) };
    let Some((dtype, unit)) = (0..2).find_map(|k| {
        reg.unit[k].iter().position(|&t| t == dt).map(|i| {
            let d = DType::ALL[i];
            (d, if k == 0 { d.size() } else { ops::LOC_SIZE })
        })
    }) else {
        return;
    };
    let bytes = n.max(0) as usize * unit;
    if bytes == 0 {
        return;
    }
    // SAFETY: MPI passes two buffers of `len` elements of `dt` (`unit` bytes each); they do
    // not overlap, and `inout` is ours to write.
    let (a, b) = unsafe {
        (
            std::slice::from_raw_parts_mut(inout.cast::<u8>(), bytes),
            std::slice::from_raw_parts(invec.cast::<u8>().cast_const(), bytes),
        )
    };
    let _ = ops::reduce_into(dtype, OP_LIST[O], a, b);
}

/// The MPI datatype that carries elements of `d` in messages (bool travels as a byte).
fn mpi_type(d: DType) -> MPI_Datatype {
    // SAFETY: reading predefined handles.
    unsafe {
        match d {
            DType::I8 => ffi::RSMPI_INT8_T,
            DType::I32 => ffi::RSMPI_INT32_T,
            DType::I64 => ffi::RSMPI_INT64_T,
            DType::U8 | DType::Bool => ffi::RSMPI_UINT8_T,
            DType::U32 => ffi::RSMPI_UINT32_T,
            DType::U64 => ffi::RSMPI_UINT64_T,
            DType::F32 => ffi::RSMPI_FLOAT,
            DType::F64 => ffi::RSMPI_DOUBLE,
        }
    }
}

/// An unsigned integer type of `d`'s size (compare-and-swap compares bits).
fn bits_type(d: DType) -> MPI_Datatype {
    // SAFETY: reading predefined handles.
    unsafe {
        match d.size() {
            1 => ffi::RSMPI_UINT8_T,
            4 => ffi::RSMPI_UINT32_T,
            _ => ffi::RSMPI_UINT64_T,
        }
    }
}

/// MPI's built-in operator for `op` on `d` when its result is exactly the runtime's.
/// `rma` also accepts float `Min`/`Max` (one-sided accumulates cannot use user operators;
/// NaN handling is then MPI's).
fn builtin_op(d: DType, op: ReduceOp, rma: bool) -> Option<MPI_Op> {
    // SAFETY: reading predefined handles.
    unsafe {
        match op {
            ReduceOp::Sum => Some(ffi::RSMPI_SUM),
            ReduceOp::Prod => Some(ffi::RSMPI_PROD),
            ReduceOp::Min if rma || !d.is_float() => Some(ffi::RSMPI_MIN),
            ReduceOp::Max if rma || !d.is_float() => Some(ffi::RSMPI_MAX),
            ReduceOp::Land if !d.is_float() => Some(ffi::RSMPI_LAND),
            ReduceOp::Lor if !d.is_float() => Some(ffi::RSMPI_LOR),
            ReduceOp::Band => Some(ffi::RSMPI_BAND),
            ReduceOp::Bor => Some(ffi::RSMPI_BOR),
            ReduceOp::Bxor => Some(ffi::RSMPI_BXOR),
            _ => None,
        }
    }
}

/// (datatype, operator, unit bytes) for a reducing collective.
fn reduction(d: DType, op: ReduceOp) -> Result<(MPI_Datatype, MPI_Op, usize)> {
    if let Some(o) = builtin_op(d, op, false) {
        return Ok((mpi_type(d), o, d.size()));
    }
    let reg = registry()?;
    let loc = matches!(op, ReduceOp::MinLoc | ReduceOp::MaxLoc);
    Ok((
        reg.unit[loc as usize][dtype_index(d)],
        reg.user_ops[op_index(op)],
        ops::unit_size(d, op),
    ))
}

fn to_int(n: usize, what: &str) -> Result<c_int> {
    c_int::try_from(n).map_err(|_| DtlError::BadSize {
        requested: n as i128,
        what: format!("{what} (MPI counts are limited to {})", c_int::MAX),
    })
}

// ---------------------------------------------------------------------------------------------
// The header exchange that opens every collective.

const KEY_MISMATCH: u8 = 1;
const AUX_MISMATCH: u8 = 2;
/// The contributing rank failed during a recoverable call and waits in [`MpiComm::call_end`].
const CALL_FAILED: u8 = 4;
const MODE_NONE: u8 = 0;
const MODE_REDUCE: u8 = 1;
const MODE_PICK: u8 = 2;
const MODE_CHECK: u8 = 3;
/// The key of the exchange that ends [`run`] ("this rank finished").
const KEY_FINISH: u64 = u64::MAX;
/// The key of the exchange that ends a recoverable call ([`MpiComm::call_end`]).
const KEY_CALL_END: u64 = u64::MAX - 1;
/// Tag of the zero-byte failure notices on a communicator's notice duplicate.
const NOTICE_TAG: c_int = 1;

/// The record every rank contributes to the header allreduce: 24 bytes plus [`PAYLOAD`], kept
/// small because its size is most of the latency of a small collective.
#[derive(Clone, Copy)]
#[repr(C)]
struct Header {
    /// A hash of the packed [`CollSig`]; ranks that differ set [`KEY_MISMATCH`].
    key: u64,
    /// The lowest rank that found its arguments invalid, `u32::MAX` if none.
    bad: u32,
    flags: u8,
    mode: u8,
    dtype: u8,
    op: u8,
    len: u8,
    has: u8,
    /// With [`CALL_FAILED`]: how many ranks sent failure notices (summed).
    notices: u16,
    /// With [`CALL_FAILED`]: the lowest rank whose failure is its own (not an echo of a
    /// peer's), `u32::MAX` if none.
    root: u32,
    /// `MODE_REDUCE`: elements reduced with (dtype, op); `MODE_PICK`: the root's bytes;
    /// `MODE_CHECK`: three u64 (a value every rank passes equal, and two wrapping sums that
    /// must come out equal).
    payload: [u8; PAYLOAD],
}

impl Header {
    fn new(key: u64) -> Self {
        Header {
            key,
            bad: u32::MAX,
            flags: 0,
            mode: MODE_NONE,
            dtype: 0,
            op: 0,
            len: 0,
            has: 0,
            notices: 0,
            root: u32::MAX,
            payload: [0; PAYLOAD],
        }
    }

    fn word(&self, i: usize) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.payload[8 * i..8 * i + 8]);
        u64::from_le_bytes(b)
    }

    fn set_word(&mut self, i: usize, x: u64) {
        self.payload[8 * i..8 * i + 8].copy_from_slice(&x.to_le_bytes());
    }
}

/// Combines two headers (commutative and associative): see [`Header`].
unsafe extern "C" fn header_fn(
    invec: *mut c_void,
    inout: *mut c_void,
    len: *mut c_int,
    _dt: *mut MPI_Datatype,
) {
    // SAFETY: MPI passes a valid count.
    let n = unsafe { *len }.max(0) as usize;
    let size = std::mem::size_of::<Header>();
    for i in 0..n {
        // SAFETY: both buffers hold `n` headers (valid for reads and `inout` for writes).
        if unsafe {
            add_one_f64(
                invec.cast::<u8>().add(i * size),
                inout.cast::<u8>().add(i * size),
            )
        } {
            continue;
        }
        // SAFETY: both buffers hold `n` headers; MPI's temporaries may be unaligned, hence the
        // unaligned reads and writes.
        let (mut a, b) = unsafe {
            (
                std::ptr::read_unaligned(inout.cast::<u8>().add(i * size).cast::<Header>()),
                std::ptr::read_unaligned(invec.cast::<u8>().add(i * size).cast::<Header>()),
            )
        };
        combine(&mut a, &b);
        // SAFETY: as above.
        unsafe { std::ptr::write_unaligned(inout.cast::<u8>().add(i * size).cast::<Header>(), a) };
    }
}

/// The common case of [`combine`] in place, without copying the headers: both sides carry the
/// same key, no error, and one f64 to sum. Returns whether it applied.
///
/// # Safety
/// `b` must be valid for reading and `a` for reading and writing one [`Header`] each (either
/// may be unaligned).
unsafe fn add_one_f64(b: *const u8, a: *mut u8) -> bool {
    use std::mem::offset_of;
    // SAFETY: every read is inside a header (the caller's contract), unaligned.
    let (ka, kb, ba, bb, fa, fb, ma, mb) = unsafe {
        (
            std::ptr::read_unaligned(a.add(offset_of!(Header, key)).cast::<u64>()),
            std::ptr::read_unaligned(b.add(offset_of!(Header, key)).cast::<u64>()),
            std::ptr::read_unaligned(a.add(offset_of!(Header, bad)).cast::<u32>()),
            std::ptr::read_unaligned(b.add(offset_of!(Header, bad)).cast::<u32>()),
            *a.add(offset_of!(Header, flags)),
            *b.add(offset_of!(Header, flags)),
            // mode, dtype, op, len as one little-endian word on each side
            std::ptr::read_unaligned(a.add(offset_of!(Header, mode)).cast::<[u8; 4]>()),
            std::ptr::read_unaligned(b.add(offset_of!(Header, mode)).cast::<[u8; 4]>()),
        )
    };
    let want = [MODE_REDUCE, F64_INDEX, SUM_INDEX, 8];
    if ka != kb
        || ba != u32::MAX
        || bb != u32::MAX
        || fa != 0
        || fb != 0
        || ma != want
        || mb != want
    {
        return false;
    }
    let at = offset_of!(Header, payload);
    // SAFETY: the payload holds at least 8 bytes in both headers.
    unsafe {
        let x = f64::from_le_bytes(std::ptr::read_unaligned(a.add(at).cast::<[u8; 8]>()));
        let y = f64::from_le_bytes(std::ptr::read_unaligned(b.add(at).cast::<[u8; 8]>()));
        std::ptr::write_unaligned(a.add(at).cast::<[u8; 8]>(), (x + y).to_le_bytes());
    }
    true
}

fn combine(a: &mut Header, b: &Header) {
    if a.key != b.key {
        a.flags |= KEY_MISMATCH;
    }
    a.flags |= b.flags;
    a.bad = a.bad.min(b.bad);
    a.root = a.root.min(b.root);
    a.notices = a.notices.saturating_add(b.notices);
    if a.flags != 0 || a.bad != u32::MAX || a.mode != b.mode || a.len != b.len {
        return;
    }
    let len = (a.len as usize).min(PAYLOAD);
    match a.mode {
        MODE_REDUCE => {
            let d = DType::ALL.get(a.dtype as usize).copied();
            let o = OP_LIST.get(a.op as usize).copied();
            if let (Some(d), Some(o)) = (d, o) {
                let _ = ops::reduce_into(d, o, &mut a.payload[..len], &b.payload[..len]);
            }
        }
        MODE_PICK if a.has == 0 && b.has != 0 => {
            a.payload = b.payload;
            a.has = 1;
        }
        MODE_CHECK => {
            if a.word(0) != b.word(0) {
                a.flags |= AUX_MISMATCH;
            }
            a.set_word(1, a.word(1).wrapping_add(b.word(1)));
            a.set_word(2, a.word(2).wrapping_add(b.word(2)));
        }
        _ => {}
    }
}

/// `CollSig::matches` packed in three words and hashed into one.
fn sig_key(s: &CollSig) -> u64 {
    let kind = s.kind as u64;
    let dtype = s.dtype.map_or(0xFF, |d| dtype_index(d) as u64);
    let op = s.op.map_or(0xFF, |o| op_index(o) as u64);
    let has = (s.root.is_some() as u64) | ((s.count.is_some() as u64) << 1);
    let k = mix(mix(
        mix(kind | (dtype << 8) | (op << 16) | (has << 24)) ^ s.root.unwrap_or(0) as u64
    ) ^ s.count.unwrap_or(0) as u64);
    // KEY_FINISH and KEY_CALL_END are reserved.
    k.min(u64::MAX - 2)
}

/// [`sig_key`] of an allreduce of one element (the general path computes the same key).
/// Computed once per (dtype, operator) and kept ([`KEY_FINISH`] marks an empty slot: no
/// signature hashes to it).
fn small_key(dtype: DType, op: ReduceOp) -> u64 {
    static KEYS: [AtomicU64; DType::ALL.len() * OP_LIST.len()] =
        [const { AtomicU64::new(KEY_FINISH) }; DType::ALL.len() * OP_LIST.len()];
    let slot = KEYS.get(dtype_index(dtype) * OP_LIST.len() + op_index(op));
    if let Some(k) = slot.map(|s| s.load(Ordering::Relaxed))
        && k != KEY_FINISH
    {
        return k;
    }
    let mut sig = CollSig::new(CollKind::Allreduce, Site::NONE);
    sig.dtype = Some(dtype);
    sig.op = Some(op);
    sig.count = Some(1);
    let k = sig_key(&sig);
    if let Some(s) = slot {
        s.store(k, Ordering::Relaxed);
    }
    k
}

/// A 64-bit mix (splitmix64's finalizer) for count checks.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn mix3(a: usize, b: usize, c: usize) -> u64 {
    mix(mix(mix(a as u64) ^ b as u64) ^ c as u64)
}

/// Count checks carried by a header, with the message for a failure.
#[derive(Default)]
struct Checks {
    aux: u64,
    sum_a: u64,
    sum_b: u64,
    what: &'static str,
}

/// An error as bytes, to hand a rank's argument error to every rank: code, then message.
fn encode_error(e: &DtlError) -> Vec<u8> {
    let (tag, rank, size, what): (u8, i64, u64, &str) = match e {
        DtlError::NoSuchRank { rank, size, what } => (1, *rank, *size as u64, what),
        DtlError::BadSize { .. } => (2, 0, 0, ""),
        _ => (0, 0, 0, ""),
    };
    let mut v = vec![tag];
    v.extend_from_slice(&rank.to_le_bytes());
    v.extend_from_slice(&size.to_le_bytes());
    let text = match e {
        DtlError::NoSuchRank { .. } => what.to_string(),
        DtlError::BadSize { what, .. } => what.clone(),
        DtlError::InvalidArgument { detail } => detail.clone(),
        other => format!("error[{}]: {other}", other.code()),
    };
    v.extend_from_slice(text.as_bytes());
    v
}

fn decode_error(v: &[u8], from: usize) -> DtlError {
    if v.len() < 17 {
        return DtlError::invalid(format!("rank {from} passed an invalid argument"));
    }
    let rank = i64::from_le_bytes(v[1..9].try_into().unwrap_or([0; 8]));
    let size = u64::from_le_bytes(v[9..17].try_into().unwrap_or([0; 8]));
    let text = String::from_utf8_lossy(&v[17..]).into_owned();
    match v[0] {
        1 => DtlError::NoSuchRank {
            rank,
            size: size as usize,
            what: match text.as_str() {
                "root rank" => "root rank",
                "target rank" => "target rank",
                "source rank" => "source rank",
                "destination rank" => "destination rank",
                _ => "rank",
            },
        },
        2 => DtlError::BadSize {
            requested: rank as i128,
            what: text,
        },
        _ => DtlError::invalid(format!("on rank {from}: {text}")),
    }
}

// ---------------------------------------------------------------------------------------------
// The communicator.

struct WinState {
    win: MPI_Win,
    /// Each rank's exposed length in bytes.
    lens: Vec<u64>,
    /// Each rank's window starts this many bytes below the memory it exposes: windows are
    /// created over a 16-byte-aligned base, because MPICH 4.0 (ch4/UCX) reads and writes
    /// windows whose base is not 16-byte aligned at the rounded-down address.
    deltas: Vec<u64>,
    /// Operations were issued since the last flush to every target.
    dirty: bool,
}

/// A send in flight: the request and the copy of the message it reads.
struct Pending {
    req: MPI_Request,
    _data: Vec<u8>,
}

/// One rank's handle on an MPI communicator (a duplicate owned by this handle).
pub struct MpiComm {
    comm: MPI_Comm,
    rank: usize,
    size: usize,
    stats: Stats,
    windows: Mutex<HashMap<u64, WinState>>,
    next_win: AtomicU64,
    pending: Mutex<Vec<Pending>>,
    /// Polled by generated code ([`crate::stop`]): SIGINT, and failure notices from peers
    /// during a recoverable call.
    stop: StopWord,
    /// The recoverable-call state ([`MpiComm::call_begin`]).
    calls: Mutex<CallState>,
    /// This handle itself (for the notice watcher).
    me: std::sync::Weak<MpiComm>,
    /// The persistent header allreduce (`MPI_Allreduce_init`) that every collective starts.
    header: Mutex<HeaderReq>,
}

/// What [`MpiComm::call_begin`] / [`MpiComm::call_end`] keep between them.
struct CallState {
    /// The duplicate that carries failure notices (made by the first call, collectively).
    notice: Option<MPI_Comm>,
    /// Inside a call: receives and probes also watch for notices.
    active: bool,
    /// Notices this rank sent in the current call (completed at its end).
    sent: Vec<MPI_Request>,
    /// The rank whose notice set the stop word.
    from: usize,
}

/// A persistent header exchange: the request and the buffers it reads and writes.
struct HeaderReq {
    req: MPI_Request,
    /// `[send, receive]`, boxed so they stay put for the request's whole life.
    bufs: Box<[Header; 2]>,
    /// Started and not completed: a wait on it failed (watchdog, MPI error), and the
    /// communicator is unusable for collectives from then on.
    active: bool,
}

// SAFETY: the handles are plain values; MPI is initialised with MPI_THREAD_MULTIPLE (or by a
// host that chose its level, in which case using one communicator from several threads at
// once is the host's error, as it would be in C). The mutable state is behind mutexes.
unsafe impl Send for MpiComm {}
// SAFETY: as above.
unsafe impl Sync for MpiComm {}

impl Drop for MpiComm {
    fn drop(&mut self) {
        if !mpi_usable() {
            return;
        }
        let pending = std::mem::take(&mut *lock(&self.pending));
        for mut p in pending {
            // SAFETY: `p.req` is an active send request whose buffer we still own.
            unsafe { ffi::MPI_Wait(&mut p.req, ffi::RSMPI_STATUS_IGNORE) };
        }
        let calls = match self.calls.get_mut() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        };
        for mut r in std::mem::take(&mut calls.sent) {
            // SAFETY: an active zero-byte send request of ours.
            unsafe { ffi::MPI_Wait(&mut r, ffi::RSMPI_STATUS_IGNORE) };
        }
        if let Some(mut n) = calls.notice.take() {
            // SAFETY: our own duplicate, unused from now on.
            unsafe { ffi::MPI_Comm_free(&mut n) };
        }
        let h = self
            .header
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        if h.active {
            // MPI may still write the buffers of the unfinished exchange: keep them.
            std::mem::forget(std::mem::replace(
                &mut h.bufs,
                Box::new([Header::new(0); 2]),
            ));
        } else {
            // SAFETY: an inactive persistent request of ours.
            unsafe { ffi::MPI_Request_free(&mut h.req) };
        }
        // Windows still open are left to MPI (freeing one is collective).
        // SAFETY: we own this duplicate; freeing is local for pending-free communicators.
        unsafe { ffi::MPI_Comm_free(&mut self.comm) };
    }
}

impl MpiComm {
    /// Duplicates `c` into a new owned communicator.
    fn dup_of(c: MPI_Comm) -> Result<Arc<MpiComm>> {
        // SAFETY: reading a predefined handle.
        let mut d = unsafe { ffi::RSMPI_COMM_NULL };
        // SAFETY: `c` is a valid communicator, `d` a valid out-parameter; collective over c.
        check(unsafe { ffi::MPI_Comm_dup(c, &mut d) }, "MPI_Comm_dup")?;
        Self::wrap(d)
    }

    fn wrap(c: MPI_Comm) -> Result<Arc<MpiComm>> {
        let (mut r, mut s) = (0, 0);
        // SAFETY: `c` is a communicator we own; out-parameters are valid.
        unsafe {
            check(
                ffi::MPI_Comm_set_errhandler(c, ffi::RSMPI_ERRORS_RETURN),
                "MPI_Comm_set_errhandler",
            )?;
            check(ffi::MPI_Comm_rank(c, &mut r), "MPI_Comm_rank")?;
            check(ffi::MPI_Comm_size(c, &mut s), "MPI_Comm_size")?;
        }
        let reg = registry()?;
        let mut bufs = Box::new([Header::new(0); 2]);
        // SAFETY: reading a predefined handle.
        let mut req = unsafe { ffi::RSMPI_REQUEST_NULL };
        let [send, recv] = &mut *bufs;
        // SAFETY: both buffers hold one header of the registered header type and live (boxed,
        // owned by the communicator, leaked if the request is left active) as long as the
        // request; collective over `c`, which every member calls right after creating it.
        check(
            unsafe {
                ffi::MPI_Allreduce_init(
                    std::ptr::from_ref(send).cast(),
                    std::ptr::from_mut(recv).cast(),
                    1,
                    reg.header_type,
                    reg.header_op,
                    c,
                    ffi::RSMPI_INFO_NULL,
                    &mut req,
                )
            },
            "MPI_Allreduce_init (collective header)",
        )?;
        let comm = Arc::new_cyclic(|me| MpiComm {
            me: me.clone(),
            comm: c,
            rank: r.max(0) as usize,
            size: s.max(1) as usize,
            stats: Stats::default(),
            windows: Mutex::new(HashMap::new()),
            next_win: AtomicU64::new(1),
            pending: Mutex::new(Vec::new()),
            stop: StopWord::new(),
            calls: Mutex::new(CallState {
                notice: None,
                active: false,
                sent: Vec::new(),
                from: 0,
            }),
            header: Mutex::new(HeaderReq {
                req,
                bufs,
                active: false,
            }),
        });
        let weak: std::sync::Weak<dyn stop::Interruptible> =
            Arc::downgrade(&comm) as std::sync::Weak<dyn stop::Interruptible>;
        stop::register(weak);
        Ok(comm)
    }

    /// The MPI communicator handle (valid while `self` lives).
    pub fn raw(&self) -> MPI_Comm {
        self.comm
    }

    /// Prints `e` as this rank's failure and aborts the job.
    pub fn fail(&self, e: &DtlError) -> ! {
        // The world rank identifies the process in the job.
        abort_job(world_rank().unwrap_or(self.rank), e)
    }

    /// The exchange at the end of [`run`]: mismatches any collective another rank still waits in.
    fn finish(&self) -> Result<()> {
        let sig = CollSig::new(CollKind::Barrier, Site::NONE);
        self.enter(&sig, KEY_FINISH, None, Checks::default(), |_| {})
            .map(|_| ())
    }

    fn record(&self, kind: CollKind, bytes: usize) {
        self.stats.record_collective(kind, bytes);
    }

    fn check_root(&self, root: usize) -> Option<DtlError> {
        check::root(root, self.size)
    }

    /// Opens a collective: one header allreduce. Returns the combined header, or the uniform
    /// error (R0003 mismatch, a rank's argument error, a failed count check) on every rank.
    fn enter(
        &self,
        sig: &CollSig,
        key: u64,
        err: Option<DtlError>,
        checks: Checks,
        fill: impl FnOnce(&mut Header),
    ) -> Result<Header> {
        let mut h = Header::new(key);
        if err.is_some() {
            h.bad = u32::try_from(self.rank).unwrap_or(u32::MAX - 1);
        } else if !checks.what.is_empty() {
            h.mode = MODE_CHECK;
            h.len = 24;
            h.set_word(0, checks.aux);
            h.set_word(1, checks.sum_a);
            h.set_word(2, checks.sum_b);
        } else {
            fill(&mut h);
        }
        let what = || {
            if key == KEY_FINISH {
                "finished (returned from the program), waiting for the other ranks".to_string()
            } else {
                sig.to_string()
            }
        };
        let out = self.exchange(&h, &what)?;
        self.resolve(out, sig, key, err, checks)
    }

    /// The header allreduce itself: the communicator's persistent request, started and waited
    /// for in [`MpiComm::wait_for`]. `what` describes the collective for watchdog reports.
    fn exchange(&self, h: &Header, what: &dyn Fn() -> String) -> Result<Header> {
        if self.size == 1 {
            // The allreduce of one header is that header; no MPI call needed.
            return Ok(*h);
        }
        let Ok(mut hr) = self.header.try_lock() else {
            return Err(check::concurrent_use(self.rank));
        };
        if hr.active {
            return Err(backend(
                "this communicator is unusable: an earlier collective on it never completed (watchdog or MPI error)",
            ));
        }
        hr.bufs[0] = *h;
        let HeaderReq { req, active, .. } = &mut *hr;
        // SAFETY: an inactive persistent request over the boxed buffers it was created with.
        check(
            unsafe { ffi::MPI_Start(req) },
            "MPI_Start (collective header)",
        )?;
        *active = true;
        self.wait_for(SPIN_COLLECTIVE, what, &mut || {
            test(req, "MPI_Test (collective header)")
        })?;
        *active = false;
        Ok(hr.bufs[1])
    }

    /// Waits until `poll` says the awaited operation completed: polls for `spin_for`, then
    /// gives the processor away between polls ([`pause`]: a yield, or a nap while yields are
    /// slow), so that with more processes than cores the ranks we wait for (or serve one-sided
    /// operations to) get to run. Counts the completion as progress.
    /// The slow path publishes what we wait in and runs the watchdog: R0010 once no rank of
    /// the world has communicated for `DTL_WATCHDOG_SECS` (see [`watch_step`]).
    #[inline]
    fn wait_for(
        &self,
        spin_for: Duration,
        what: &dyn Fn() -> String,
        poll: &mut dyn FnMut() -> Result<bool>,
    ) -> Result<()> {
        for _ in 0..SPIN_TESTS {
            if poll()? {
                progressed();
                return Ok(());
            }
            std::hint::spin_loop();
        }
        self.wait_slow(spin_for, what, poll)
    }

    #[cold]
    #[inline(never)]
    fn wait_slow(
        &self,
        spin_for: Duration,
        what: &dyn Fn() -> String,
        poll: &mut dyn FnMut() -> Result<bool>,
    ) -> Result<()> {
        let since = Instant::now();
        while since.elapsed() < spin_for {
            for _ in 0..SPIN_TESTS {
                if poll()? {
                    progressed();
                    return Ok(());
                }
                std::hint::spin_loop();
            }
        }
        let desc = what();
        publish_wait(&desc);
        let limit = watchdog_limit();
        let look = limit.map(look_interval);
        // Waits shorter than this never touch the watchdog's state.
        let mut next = since + look.map_or(Duration::ZERO, |l| l.min(Duration::from_millis(50)));
        let mut naps = 0u32;
        let res = loop {
            match poll() {
                Ok(true) => break Ok(()),
                Ok(false) => {}
                Err(e) => break Err(e),
            }
            pause(&mut naps);
            if let (Some(limit), Some(look)) = (limit, look) {
                let now = Instant::now();
                if now >= next {
                    next = now + look.min(Duration::from_millis(50));
                    if let Some(report) = watch_step(since, limit, &desc) {
                        break Err(DtlError::Timeout { report });
                    }
                }
            }
        };
        unpublish_wait();
        if res.is_ok() {
            progressed();
        }
        res
    }

    /// [`MpiComm::wait_for`] for a one-sided operation whose request reads or writes the
    /// caller's buffer: returning early would hand that buffer back while MPI may still use
    /// it, so a failed wait (watchdog, MPI error) aborts the job instead.
    fn wait_rma(&self, req: &mut MPI_Request, what: &dyn Fn() -> String) {
        if let Err(e) = self.wait_for(SPIN_RMA, what, &mut || {
            test(req, "MPI_Test (one-sided operation)")
        }) {
            self.fail(&e);
        }
    }

    /// The combined header, or the uniform error it reports (see [`MpiComm::enter`]).
    fn resolve(
        &self,
        out: Header,
        sig: &CollSig,
        key: u64,
        err: Option<DtlError>,
        checks: Checks,
    ) -> Result<Header> {
        if out.flags & CALL_FAILED != 0 {
            // A rank failed in the recoverable call this collective belongs to and waits in
            // `call_end`: every rank here learns its error and fails too (see `call_end`).
            let (rank, cause) = self.failure_of(&out, None)?;
            return Err(DtlError::PeerFailed { rank, cause });
        }
        if out.flags & KEY_MISMATCH != 0 {
            return Err(self.mismatch(sig, key));
        }
        if out.bad != u32::MAX {
            let q = out.bad as usize;
            let mut msg = match (&err, q == self.rank) {
                (Some(e), true) => encode_error(e),
                _ => Vec::new(),
            };
            self.bcast_bytes(&mut msg, q)?;
            return Err(match err {
                Some(e) if q == self.rank => e,
                _ => decode_error(&msg, q),
            });
        }
        if out.mode == MODE_CHECK && (out.flags & AUX_MISMATCH != 0 || out.word(1) != out.word(2)) {
            return Err(DtlError::invalid(format!("{sig}: {}", checks.what)));
        }
        Ok(out)
    }

    /// After a header mismatch: every rank learns what every rank called.
    fn mismatch(&self, sig: &CollSig, key: u64) -> DtlError {
        let mine = if key == KEY_FINISH {
            "finished (returned from the program)".to_string()
        } else if key == KEY_CALL_END {
            "returned from the collective kernel call".to_string()
        } else {
            sig.to_string()
        };
        match self.allgather_strings(mine.as_bytes()) {
            Ok(all) => DtlError::CollectiveMismatch {
                detail: all
                    .iter()
                    .enumerate()
                    .map(|(q, s)| format!("rank {q}: {s}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            },
            Err(e) => DtlError::CollectiveMismatch {
                detail: format!("rank {}: {mine} (details unavailable: {e})", self.rank),
            },
        }
    }

    fn allgather_strings(&self, mine: &[u8]) -> Result<Vec<String>> {
        let n = to_int(mine.len(), "message")?;
        let mut lens = vec![0 as c_int; self.size];
        // SAFETY: one int per rank into `lens` (size elements).
        check(
            unsafe {
                ffi::MPI_Allgather(
                    (&raw const n).cast(),
                    1,
                    ffi::RSMPI_INT32_T,
                    lens.as_mut_ptr().cast(),
                    1,
                    ffi::RSMPI_INT32_T,
                    self.comm,
                )
            },
            "MPI_Allgather",
        )?;
        let displs = displacements(&lens)?;
        let total = lens.iter().map(|&l| l.max(0) as usize).sum();
        let mut all = vec![0u8; total];
        // SAFETY: `all` holds the sum of `lens` bytes at `displs`; we send `n` bytes.
        check(
            unsafe {
                ffi::MPI_Allgatherv(
                    mine.as_ptr().cast(),
                    n,
                    ffi::RSMPI_UINT8_T,
                    all.as_mut_ptr().cast(),
                    lens.as_ptr(),
                    displs.as_ptr(),
                    ffi::RSMPI_UINT8_T,
                    self.comm,
                )
            },
            "MPI_Allgatherv",
        )?;
        Ok(lens
            .iter()
            .zip(&displs)
            .map(|(&l, &d)| {
                String::from_utf8_lossy(&all[d as usize..(d + l) as usize]).into_owned()
            })
            .collect())
    }

    /// Broadcasts a byte string of any length from `root` (length first).
    fn bcast_bytes(&self, v: &mut Vec<u8>, root: usize) -> Result<()> {
        let mut n = v.len() as u64;
        // SAFETY: one u64 in place on every rank.
        check(
            unsafe {
                ffi::MPI_Bcast(
                    (&raw mut n).cast(),
                    1,
                    ffi::RSMPI_UINT64_T,
                    root as c_int,
                    self.comm,
                )
            },
            "MPI_Bcast",
        )?;
        v.resize(n as usize, 0);
        let len = to_int(v.len(), "message")?;
        // SAFETY: `v` holds `len` bytes on every rank.
        check(
            unsafe {
                ffi::MPI_Bcast(
                    v.as_mut_ptr().cast(),
                    len,
                    ffi::RSMPI_UINT8_T,
                    root as c_int,
                    self.comm,
                )
            },
            "MPI_Bcast",
        )
    }

    /// Waits for a message matching (source, tag) in our own loop of `MPI_Iprobe` (see
    /// [`MpiComm::wait_for`]); `verb` names the call in watchdog reports.
    /// Waits for a message (`probe`, and `recv` before it receives). Inside a recoverable call
    /// the wait also ends on a peer's failure notice ([`Self::probe_watching`]).
    fn probe_wait(&self, verb: &str, source: Source, tag: TagSel) -> Result<Status> {
        let (s, t) = self.check_source(source, tag)?;
        self.progress_sends();
        if let Some(nc) = self.active_notice() {
            return self.probe_watching(s, t, nc);
        }
        let mut raw = Self::empty_status();
        let what = || {
            let from = match source {
                Source::Rank(r) => format!("rank {r}"),
                Source::Any => "any rank".into(),
            };
            let tag = match tag {
                TagSel::Tag(t) => format!("tag {t}"),
                TagSel::Any => "any tag".into(),
            };
            format!("{verb} from {from}, {tag}")
        };
        self.wait_for(SPIN_COLLECTIVE, &what, &mut || {
            let mut flag: c_int = 0;
            // SAFETY: valid source/tag selectors and out-parameters.
            check(
                unsafe { ffi::MPI_Iprobe(s, t, self.comm, &mut flag, &mut raw) },
                "MPI_Iprobe",
            )?;
            Ok(flag != 0)
        })?;
        Self::status_of(&raw)
    }

    /// Completes finished sends (their copies are dropped).
    fn progress_sends(&self) {
        let mut p = lock(&self.pending);
        p.retain_mut(|s| {
            let mut flag: c_int = 0;
            // SAFETY: `s.req` is an active request (completed ones are removed right here).
            let rc = unsafe { ffi::MPI_Test(&mut s.req, &mut flag, ffi::RSMPI_STATUS_IGNORE) };
            rc != 0 || flag == 0
        });
    }

    fn check_source(&self, source: Source, tag: TagSel) -> Result<(c_int, c_int)> {
        let s = match source {
            Source::Rank(s) => check::rank(s, self.size, "source rank")? as c_int,
            // SAFETY: reading a predefined constant.
            Source::Any => unsafe { ffi::RSMPI_ANY_SOURCE },
        };
        let t = match tag {
            TagSel::Tag(t) => check::tag(t)?,
            // SAFETY: reading a predefined constant.
            TagSel::Any => unsafe { ffi::RSMPI_ANY_TAG },
        };
        Ok((s, t))
    }

    fn status_of(st: &ffi::MPI_Status) -> Result<Status> {
        let mut n: c_int = 0;
        // SAFETY: `st` was filled by MPI; `n` is a valid out-parameter.
        check(
            unsafe { ffi::MPI_Get_count(st, ffi::RSMPI_UINT8_T, &mut n) },
            "MPI_Get_count",
        )?;
        Ok(Status {
            source: st.MPI_SOURCE.max(0) as usize,
            tag: st.MPI_TAG,
            bytes: n.max(0) as usize,
        })
    }

    fn empty_status() -> ffi::MPI_Status {
        ffi::MPI_Status {
            count_lo: 0,
            count_hi_and_cancelled: 0,
            MPI_SOURCE: 0,
            MPI_TAG: 0,
            MPI_ERROR: 0,
        }
    }

    /// Flushes every window with operations in flight (before a barrier or fence).
    fn flush_dirty(&self) -> Result<()> {
        let mut w = lock(&self.windows);
        for s in w.values_mut().filter(|s| s.dirty) {
            // SAFETY: the window is live and inside its lock_all epoch.
            check(
                unsafe { ffi::MPI_Win_flush_all(s.win) },
                "MPI_Win_flush_all",
            )?;
            s.dirty = false;
        }
        Ok(())
    }

    /// Makes remote updates visible to local loads on every window (after a barrier or fence).
    fn sync_windows(&self) -> Result<()> {
        let w = lock(&self.windows);
        for s in w.values() {
            // SAFETY: the window is live and inside its lock_all epoch.
            check(unsafe { ffi::MPI_Win_sync(s.win) }, "MPI_Win_sync")?;
        }
        Ok(())
    }

    /// Looks up a window and checks a one-sided access of `len` bytes at `offset` of `target`.
    /// The window and the target displacement of `offset` (bytes into the target's memory).
    fn rma_target(
        &self,
        win: WinId,
        target: usize,
        offset: usize,
        len: usize,
    ) -> Result<(MPI_Win, ffi::MPI_Aint)> {
        let w = lock(&self.windows);
        let s = w.get(&win.0).ok_or_else(|| check::no_window(win.0))?;
        let t = check::rank(target, self.size, "target rank")?;
        let tl = s.lens[t] as usize;
        check::window_range(win.0, target, offset, len, tl)?;
        let disp = offset as u64 + s.deltas.get(t).copied().unwrap_or(0);
        Ok((s.win, disp as ffi::MPI_Aint))
    }

    fn mark_dirty(&self, win: WinId) {
        if let Some(s) = lock(&self.windows).get_mut(&win.0) {
            s.dirty = true;
        }
    }

    /// Completes this rank's pending operations to every target if any are in flight (so a
    /// read sees this rank's own earlier writes, as on the threads backend).
    fn flush_if_dirty(&self, win: WinId) -> Result<()> {
        let mut w = lock(&self.windows);
        if let Some(s) = w.get_mut(&win.0)
            && s.dirty
        {
            // SAFETY: the window is live and inside its lock_all epoch.
            check(
                unsafe { ffi::MPI_Win_flush_all(s.win) },
                "MPI_Win_flush_all",
            )?;
            s.dirty = false;
        }
        Ok(())
    }

    fn rma_op(dtype: DType, op: ReduceOp) -> Result<MPI_Op> {
        builtin_op(dtype, op, true).ok_or_else(|| {
            DtlError::unsupported(format!(
                "one-sided `{op}` on {dtype} with the MPI backend (MPI accumulates take only built-in operators)"
            ))
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Recoverable calls: a failure inside a collective kernel called from a host program (Python)
// becomes an error on every rank instead of `MPI_Abort`.
//
// Between `call_begin` and `call_end` (both collective: every rank calls the same kernel):
// - A rank whose kernel failed on its own (not an R0011 echo) first sends a zero-byte notice to
//   every other rank on the communicator's *notice duplicate*, then enters `call_end`.
// - `call_end` is a loop of header exchanges with the key `KEY_CALL_END`; a failed rank sets
//   `CALL_FAILED` (and `root`, its rank, when the failure is its own). A rank still inside the
//   kernel meets such an exchange in its next collective: the header shows `CALL_FAILED`,
//   every rank of that exchange receives the root's message (one broadcast) and the kernel
//   rank fails with R0011, returns and enters `call_end` too. The loop ends with the first
//   exchange in which every rank is in `call_end` (all keys equal): all ranks see the same
//   header, so they leave together, each having received the same root message.
// - A rank waiting in a receive or probe polls the notice duplicate (R0011 when a notice is
//   there) and its stop word (R0016 on SIGINT); a rank computing in a loop is stopped by the
//   notice watcher thread, which sets the stop word when a notice arrives (only with
//   `MPI_THREAD_MULTIPLE`; otherwise such a rank is released by the watchdog).
// - At the end every rank receives the notices addressed to it (the headers sum how many ranks
//   sent them), completes its own, and clears the stop word: the communicator is in step again
//   and usable for the next call.

/// A byte for zero-length sends (MPI wants a valid address).
static NO_DATA: u8 = 0;

/// Communicators inside a recoverable call, for the notice watcher.
static WATCHED: Mutex<Vec<std::sync::Weak<MpiComm>>> = Mutex::new(Vec::new());
static NOTICE_WATCHER: OnceLock<()> = OnceLock::new();

/// How often the notice watcher looks for notices.
const NOTICE_TICK: Duration = Duration::from_millis(20);

fn watch_call(c: std::sync::Weak<MpiComm>) {
    {
        let mut w = lock(&WATCHED);
        w.retain(|x| x.strong_count() > 0);
        w.push(c);
    }
    if !matches!(
        mpi::environment::threading_support(),
        mpi::Threading::Multiple
    ) {
        return;
    }
    NOTICE_WATCHER.get_or_init(|| {
        let spawned = std::thread::Builder::new()
            .name("dtl-mpi-notices".into())
            .spawn(|| {
                loop {
                    std::thread::sleep(NOTICE_TICK);
                    if !mpi_usable() {
                        return;
                    }
                    let live: Vec<Arc<MpiComm>> = lock(&WATCHED)
                        .iter()
                        .filter_map(std::sync::Weak::upgrade)
                        .collect();
                    for c in live {
                        c.poll_notice();
                    }
                }
            });
        // Without the watcher, calls still end cleanly; only a rank that computes without
        // communicating is not stopped early.
        drop(spawned);
    });
}

fn unwatch_call(c: &MpiComm) {
    lock(&WATCHED).retain(|x| x.strong_count() > 0 && !std::ptr::eq(x.as_ptr(), c));
}

impl MpiComm {
    /// The notice duplicate when a recoverable call is in progress.
    fn active_notice(&self) -> Option<MPI_Comm> {
        let c = lock(&self.calls);
        if c.active { c.notice } else { None }
    }

    /// The watcher's look for a notice: sets the stop word when one is queued.
    fn poll_notice(&self) {
        let mut c = lock(&self.calls);
        let Some(nc) = c.notice.filter(|_| c.active) else {
            return;
        };
        let mut raw = Self::empty_status();
        let mut flag: c_int = 0;
        // SAFETY: a live communicator of ours; valid out-parameters.
        let rc =
            unsafe { ffi::MPI_Iprobe(ffi::RSMPI_ANY_SOURCE, NOTICE_TAG, nc, &mut flag, &mut raw) };
        if rc == 0 && flag != 0 {
            c.from = raw.MPI_SOURCE.max(0) as usize;
            self.stop.set(stop::FAILED);
        }
    }

    /// The failure of a header with [`CALL_FAILED`]: the root rank's message, broadcast from
    /// it to every rank of the exchange (`mine`: the message, on the root).
    fn failure_of(&self, out: &Header, mine: Option<&str>) -> Result<(usize, String)> {
        if out.root == u32::MAX {
            return Ok((0, "a rank failed in this collective call".into()));
        }
        let q = out.root as usize;
        let mut v = match mine {
            Some(m) if q == self.rank => m.as_bytes().to_vec(),
            _ => Vec::new(),
        };
        self.bcast_bytes(&mut v, q)?;
        Ok((q, String::from_utf8_lossy(&v).into_owned()))
    }

    /// Tells every other rank that this one failed (zero-byte notices, completed at the end).
    fn send_notices(&self) -> Result<()> {
        let mut c = lock(&self.calls);
        let Some(nc) = c.notice else {
            return Ok(());
        };
        for q in (0..self.size).filter(|&q| q != self.rank) {
            // SAFETY: reading a predefined handle.
            let mut req = unsafe { ffi::RSMPI_REQUEST_NULL };
            // SAFETY: a zero-byte send from a static byte on our notice duplicate.
            check(
                unsafe {
                    ffi::MPI_Isend(
                        (&raw const NO_DATA).cast(),
                        0,
                        ffi::RSMPI_UINT8_T,
                        q as c_int,
                        NOTICE_TAG,
                        nc,
                        &mut req,
                    )
                },
                "MPI_Isend (failure notice)",
            )?;
            c.sent.push(req);
        }
        Ok(())
    }

    /// Ends a call on every rank: receives the `incoming` notices addressed to this rank,
    /// completes its own, and clears the stop word.
    fn finish_call(&self, incoming: usize) -> Result<()> {
        unwatch_call(self);
        let mut c = lock(&self.calls);
        c.active = false;
        if let Some(nc) = c.notice {
            let _b = Blocked::enter(1);
            for _ in 0..incoming {
                let mut b = 0u8;
                // SAFETY: a zero-byte receive into a valid byte on our notice duplicate; every
                // notice counted was sent before its sender entered `call_end`.
                check(
                    unsafe {
                        ffi::MPI_Recv(
                            (&raw mut b).cast(),
                            0,
                            ffi::RSMPI_UINT8_T,
                            ffi::RSMPI_ANY_SOURCE,
                            NOTICE_TAG,
                            nc,
                            ffi::RSMPI_STATUS_IGNORE,
                        )
                    },
                    "MPI_Recv (failure notice)",
                )?;
            }
        }
        for mut r in std::mem::take(&mut c.sent) {
            // SAFETY: an active zero-byte send request of ours; its receiver just took it.
            check(
                unsafe { ffi::MPI_Wait(&mut r, ffi::RSMPI_STATUS_IGNORE) },
                "MPI_Wait (failure notice)",
            )?;
        }
        self.stop.clear(stop::FAILED);
        Ok(())
    }

    /// A probe inside a recoverable call: also ends on a peer's failure notice (R0011) and on
    /// SIGINT (R0016).
    fn probe_watching(&self, s: c_int, t: c_int, nc: MPI_Comm) -> Result<Status> {
        let _b = Blocked::enter(2);
        let mut spins = 0u32;
        loop {
            let mut raw = Self::empty_status();
            let mut flag: c_int = 0;
            // SAFETY: valid selectors and out-parameters.
            check(
                unsafe { ffi::MPI_Iprobe(s, t, self.comm, &mut flag, &mut raw) },
                "MPI_Iprobe",
            )?;
            if flag != 0 {
                return Self::status_of(&raw);
            }
            if self.stop.get() & stop::INTERRUPTED != 0 {
                return Err(DtlError::Interrupted);
            }
            // SAFETY: as above, on our notice duplicate.
            check(
                unsafe {
                    ffi::MPI_Iprobe(ffi::RSMPI_ANY_SOURCE, NOTICE_TAG, nc, &mut flag, &mut raw)
                },
                "MPI_Iprobe (failure notices)",
            )?;
            if flag != 0 {
                return Err(DtlError::PeerFailed {
                    rank: raw.MPI_SOURCE.max(0) as usize,
                    cause: "it failed during this collective call (its error is reported on every rank at the end of the call)".into(),
                });
            }
            spins = spins.saturating_add(1);
            if spins < 2000 {
                std::hint::spin_loop();
            } else {
                std::thread::sleep(Duration::from_micros(50));
            }
        }
    }
}

/// Prefix sums of `counts` as MPI displacements (R0006 past `c_int`).
fn displacements(counts: &[c_int]) -> Result<Vec<c_int>> {
    let mut d = Vec::with_capacity(counts.len());
    let mut acc: i64 = 0;
    for &c in counts {
        d.push(to_int(acc as usize, "displacement")?);
        acc += c.max(0) as i64;
    }
    Ok(d)
}

fn int_counts(counts: &[usize], what: &str) -> Result<Vec<c_int>> {
    counts.iter().map(|&c| to_int(c, what)).collect()
}

fn total_elems(counts: &[usize]) -> Option<usize> {
    counts.iter().try_fold(0usize, |a, &c| a.checked_add(c))
}

/// Checks one rank's counts (`len == size`, the total matches `buf_len` bytes).
fn counts_error(
    counts: &[usize],
    size: usize,
    dtype: DType,
    buf_len: usize,
    what: &str,
    buf_name: &str,
) -> Option<DtlError> {
    check::counts(counts, size, buf_len, what, buf_name, || {
        total_elems(counts)
            .and_then(|t| t.checked_mul(dtype.size()))
            .ok_or_else(|| DtlError::BadSize {
                requested: i128::MAX,
                what: format!("{what} counts"),
            })
    })
    .or_else(|| int_counts(counts, what).err())
    .or_else(|| to_int(total_elems(counts).unwrap_or(0), what).err())
}

/// [`check::reduction`], plus the count must fit MPI's `c_int`.
fn reduction_args(
    send: &[u8],
    recv_len: Option<usize>,
    dtype: DType,
    op: ReduceOp,
    what: &str,
) -> (usize, Option<DtlError>) {
    let (count, err) = check::reduction(send, recv_len, dtype, op, what);
    (count, err.or_else(|| to_int(count, what).err()))
}

fn reduce_payload(h: &mut Header, send: &[u8], dtype: DType, op: ReduceOp) {
    h.mode = MODE_REDUCE;
    h.dtype = dtype_index(dtype) as u8;
    h.op = op_index(op) as u8;
    h.len = send.len() as u8;
    h.payload[..send.len()].copy_from_slice(send);
}

impl Comm for MpiComm {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn backend(&self) -> &'static str {
        "mpi"
    }

    fn stats(&self) -> &Stats {
        &self.stats
    }

    fn barrier(&self, site: Site) -> Result<()> {
        let sig = CollSig::new(CollKind::Barrier, site);
        self.flush_dirty()?;
        self.enter(&sig, sig_key(&sig), None, Checks::default(), |_| {})?;
        self.sync_windows()?;
        self.record(CollKind::Barrier, 0);
        Ok(())
    }

    fn broadcast(&self, buf: &mut [u8], dtype: DType, root: usize, site: Site) -> Result<()> {
        let mut sig = CollSig::new(CollKind::Broadcast, site);
        sig.dtype = Some(dtype);
        sig.root = Some(root);
        sig.count = Some(buf.len() / dtype.size());
        let err = self
            .check_root(root)
            .or_else(|| check::whole(buf.len(), dtype, "broadcast").err())
            .or_else(|| to_int(buf.len() / dtype.size(), "broadcast").err());
        let len = buf.len();
        let small = len <= PAYLOAD;
        let is_root = self.rank == root;
        let h = self.enter(&sig, sig_key(&sig), err, Checks::default(), |h| {
            if small {
                h.mode = MODE_PICK;
                h.len = len as u8;
                if is_root {
                    h.has = 1;
                    h.payload[..len].copy_from_slice(buf);
                }
            }
        })?;
        self.record(CollKind::Broadcast, if is_root { len } else { 0 });
        if small {
            if !is_root {
                buf.copy_from_slice(&h.payload[..len]);
            }
            return Ok(());
        }
        let _b = Blocked::enter(0);
        // SAFETY: `buf` holds `count` elements of `dtype` on every rank (matching counts).
        check(
            unsafe {
                ffi::MPI_Bcast(
                    buf.as_mut_ptr().cast(),
                    (len / dtype.size()) as c_int,
                    mpi_type(dtype),
                    root as c_int,
                    self.comm,
                )
            },
            "MPI_Bcast",
        )
    }

    fn reduce(
        &self,
        send: &[u8],
        recv: &mut [u8],
        dtype: DType,
        op: ReduceOp,
        root: usize,
        site: Site,
    ) -> Result<()> {
        let is_root = self.rank == root;
        let (count, err) = reduction_args(send, is_root.then_some(recv.len()), dtype, op, "reduce");
        let err = self.check_root(root).or(err);
        let mut sig = CollSig::new(CollKind::Reduce, site);
        sig.dtype = Some(dtype);
        sig.op = Some(op);
        sig.root = Some(root);
        sig.count = Some(count);
        let small = send.len() <= PAYLOAD;
        let h = self.enter(&sig, sig_key(&sig), err, Checks::default(), |h| {
            if small {
                reduce_payload(h, send, dtype, op);
            }
        })?;
        self.record(CollKind::Reduce, send.len());
        if small {
            if is_root {
                recv.copy_from_slice(&h.payload[..send.len()]);
            }
            return Ok(());
        }
        let (t, o, _) = reduction(dtype, op)?;
        let rptr: *mut c_void = if is_root {
            recv.as_mut_ptr().cast()
        } else {
            std::ptr::null_mut()
        };
        let _b = Blocked::enter(0);
        // SAFETY: `send` holds `count` units of `t`; on root `recv` has the same length.
        check(
            unsafe {
                ffi::MPI_Reduce(
                    send.as_ptr().cast(),
                    rptr,
                    count as c_int,
                    t,
                    o,
                    root as c_int,
                    self.comm,
                )
            },
            "MPI_Reduce",
        )
    }

    fn allreduce(
        &self,
        send: &[u8],
        recv: &mut [u8],
        dtype: DType,
        op: ReduceOp,
        site: Site,
    ) -> Result<()> {
        // One element of a plain reduction, valid arguments (the common scalar allreduce):
        // the header with the payload and nothing else, without the general path's argument
        // bookkeeping. Any failure reported by the header takes the general path's handling.
        let size = dtype.size();
        if send.len() == size
            && recv.len() == size
            && size <= PAYLOAD
            && !matches!(op, ReduceOp::MinLoc | ReduceOp::MaxLoc)
            && op.valid_for(dtype)
        {
            let key = small_key(dtype, op);
            let mut h = Header::new(key);
            reduce_payload(&mut h, send, dtype, op);
            let what = || {
                let mut sig = CollSig::new(CollKind::Allreduce, site);
                sig.dtype = Some(dtype);
                sig.op = Some(op);
                sig.count = Some(1);
                sig.to_string()
            };
            let out = self.exchange(&h, &what)?;
            if out.flags != 0 || out.bad != u32::MAX {
                let mut sig = CollSig::new(CollKind::Allreduce, site);
                sig.dtype = Some(dtype);
                sig.op = Some(op);
                sig.count = Some(1);
                self.resolve(out, &sig, key, None, Checks::default())?;
            }
            recv.copy_from_slice(&out.payload[..size]);
            self.record(CollKind::Allreduce, size);
            return Ok(());
        }
        let (count, err) = reduction_args(send, Some(recv.len()), dtype, op, "allreduce");
        let mut sig = CollSig::new(CollKind::Allreduce, site);
        sig.dtype = Some(dtype);
        sig.op = Some(op);
        sig.count = Some(count);
        let small = send.len() <= PAYLOAD;
        let h = self.enter(&sig, sig_key(&sig), err, Checks::default(), |h| {
            if small {
                reduce_payload(h, send, dtype, op);
            }
        })?;
        self.record(CollKind::Allreduce, send.len());
        if small {
            recv.copy_from_slice(&h.payload[..send.len()]);
            return Ok(());
        }
        let (t, o, _) = reduction(dtype, op)?;
        let _b = Blocked::enter(0);
        // SAFETY: `send` and `recv` hold `count` units of `t` (checked above).
        check(
            unsafe {
                ffi::MPI_Allreduce(
                    send.as_ptr().cast(),
                    recv.as_mut_ptr().cast(),
                    count as c_int,
                    t,
                    o,
                    self.comm,
                )
            },
            "MPI_Allreduce",
        )
    }

    fn gatherv(
        &self,
        send: &[u8],
        recv: &mut [u8],
        counts: &[usize],
        dtype: DType,
        root: usize,
        site: Site,
    ) -> Result<()> {
        let is_root = self.rank == root;
        let size = self.size;
        let mine = check::whole(send.len(), dtype, "gatherv");
        let err = self
            .check_root(root)
            .or_else(|| mine.as_ref().err().cloned())
            .or_else(|| {
                is_root
                    .then(|| counts_error(counts, size, dtype, recv.len(), "gatherv", "receive"))
                    .flatten()
            });
        let mut sig = CollSig::new(CollKind::Gatherv, site);
        sig.dtype = Some(dtype);
        sig.root = Some(root);
        let n = mine.unwrap_or(0);
        let checks = Checks {
            sum_a: mix3(self.rank, 0, n),
            sum_b: if is_root && counts.len() == size {
                counts
                    .iter()
                    .enumerate()
                    .fold(0u64, |a, (q, &c)| a.wrapping_add(mix3(q, 0, c)))
            } else {
                0
            },
            what: "a rank's send count differs from what root's counts expect from it",
            ..Checks::default()
        };
        self.enter(&sig, sig_key(&sig), err, checks, |_| {})?;
        self.record(CollKind::Gatherv, send.len());
        let (rc, displs) = if is_root {
            let rc = int_counts(counts, "gatherv")?;
            let d = displacements(&rc)?;
            (rc, d)
        } else {
            (Vec::new(), Vec::new())
        };
        let _b = Blocked::enter(0);
        // SAFETY: `send` holds `n` elements; on root `recv` holds sum(counts) elements at
        // `displs` (checked before the header).
        check(
            unsafe {
                ffi::MPI_Gatherv(
                    send.as_ptr().cast(),
                    n as c_int,
                    mpi_type(dtype),
                    recv.as_mut_ptr().cast(),
                    rc.as_ptr(),
                    displs.as_ptr(),
                    mpi_type(dtype),
                    root as c_int,
                    self.comm,
                )
            },
            "MPI_Gatherv",
        )
    }

    fn scatterv(
        &self,
        send: &[u8],
        counts: &[usize],
        recv: &mut [u8],
        dtype: DType,
        root: usize,
        site: Site,
    ) -> Result<()> {
        let is_root = self.rank == root;
        let size = self.size;
        let mine = check::whole(recv.len(), dtype, "scatterv");
        let err = self
            .check_root(root)
            .or_else(|| mine.as_ref().err().cloned())
            .or_else(|| {
                is_root
                    .then(|| counts_error(counts, size, dtype, send.len(), "scatterv", "send"))
                    .flatten()
            });
        let mut sig = CollSig::new(CollKind::Scatterv, site);
        sig.dtype = Some(dtype);
        sig.root = Some(root);
        let n = mine.unwrap_or(0);
        let checks = Checks {
            sum_a: mix3(self.rank, 1, n),
            sum_b: if is_root && counts.len() == size {
                counts
                    .iter()
                    .enumerate()
                    .fold(0u64, |a, (q, &c)| a.wrapping_add(mix3(q, 1, c)))
            } else {
                0
            },
            what: "a rank's receive buffer differs from what root's counts send it",
            ..Checks::default()
        };
        self.enter(&sig, sig_key(&sig), err, checks, |_| {})?;
        self.record(CollKind::Scatterv, send.len());
        let (sc, displs) = if is_root {
            let sc = int_counts(counts, "scatterv")?;
            let d = displacements(&sc)?;
            (sc, d)
        } else {
            (Vec::new(), Vec::new())
        };
        let _b = Blocked::enter(0);
        // SAFETY: on root `send` holds sum(counts) elements at `displs`; `recv` holds `n`.
        check(
            unsafe {
                ffi::MPI_Scatterv(
                    send.as_ptr().cast(),
                    sc.as_ptr(),
                    displs.as_ptr(),
                    mpi_type(dtype),
                    recv.as_mut_ptr().cast(),
                    n as c_int,
                    mpi_type(dtype),
                    root as c_int,
                    self.comm,
                )
            },
            "MPI_Scatterv",
        )
    }

    fn allgatherv(
        &self,
        send: &[u8],
        recv: &mut [u8],
        counts: &[usize],
        dtype: DType,
        site: Site,
    ) -> Result<()> {
        let size = self.size;
        let err = counts_error(counts, size, dtype, recv.len(), "allgatherv", "receive")
            .or_else(|| check::allgatherv_own(self.rank, counts, dtype, send.len()));
        let mut sig = CollSig::new(CollKind::Allgatherv, site);
        sig.dtype = Some(dtype);
        let checks = Checks {
            aux: counts
                .iter()
                .enumerate()
                .fold(0u64, |a, (q, &c)| mix(a ^ mix3(q, 2, c))),
            what: "ranks passed different counts",
            ..Checks::default()
        };
        self.enter(&sig, sig_key(&sig), err, checks, |_| {})?;
        self.record(CollKind::Allgatherv, send.len());
        let rc = int_counts(counts, "allgatherv")?;
        let displs = displacements(&rc)?;
        let _b = Blocked::enter(0);
        // SAFETY: `recv` holds sum(counts) elements at `displs`; `send` holds counts[rank].
        check(
            unsafe {
                ffi::MPI_Allgatherv(
                    send.as_ptr().cast(),
                    rc[self.rank],
                    mpi_type(dtype),
                    recv.as_mut_ptr().cast(),
                    rc.as_ptr(),
                    displs.as_ptr(),
                    mpi_type(dtype),
                    self.comm,
                )
            },
            "MPI_Allgatherv",
        )
    }

    fn alltoallv(
        &self,
        send: &[u8],
        send_counts: &[usize],
        recv: &mut [u8],
        recv_counts: &[usize],
        dtype: DType,
        site: Site,
    ) -> Result<()> {
        let size = self.size;
        let err = counts_error(send_counts, size, dtype, send.len(), "alltoallv", "send")
            .or_else(|| counts_error(recv_counts, size, dtype, recv.len(), "alltoallv", "receive"));
        let mut sig = CollSig::new(CollKind::Alltoallv, site);
        sig.dtype = Some(dtype);
        let r = self.rank;
        let checks = if err.is_none() {
            Checks {
                sum_a: send_counts
                    .iter()
                    .enumerate()
                    .fold(0u64, |a, (k, &c)| a.wrapping_add(mix3(r, k, c))),
                sum_b: recv_counts
                    .iter()
                    .enumerate()
                    .fold(0u64, |a, (q, &c)| a.wrapping_add(mix3(q, r, c))),
                what: "a rank sends a different number of elements than its receiver expects",
                ..Checks::default()
            }
        } else {
            Checks::default()
        };
        self.enter(&sig, sig_key(&sig), err, checks, |_| {})?;
        self.record(CollKind::Alltoallv, send.len());
        let sc = int_counts(send_counts, "alltoallv")?;
        let rc = int_counts(recv_counts, "alltoallv")?;
        let sd = displacements(&sc)?;
        let rd = displacements(&rc)?;
        let _b = Blocked::enter(0);
        // SAFETY: both buffers hold the totals of their counts at their displacements.
        check(
            unsafe {
                ffi::MPI_Alltoallv(
                    send.as_ptr().cast(),
                    sc.as_ptr(),
                    sd.as_ptr(),
                    mpi_type(dtype),
                    recv.as_mut_ptr().cast(),
                    rc.as_ptr(),
                    rd.as_ptr(),
                    mpi_type(dtype),
                    self.comm,
                )
            },
            "MPI_Alltoallv",
        )
    }

    fn scan(
        &self,
        send: &[u8],
        recv: &mut [u8],
        dtype: DType,
        op: ReduceOp,
        exclusive: bool,
        site: Site,
    ) -> Result<()> {
        let kind = if exclusive {
            CollKind::Exscan
        } else {
            CollKind::Scan
        };
        let (count, err) = reduction_args(send, Some(recv.len()), dtype, op, "scan");
        let mut sig = CollSig::new(kind, site);
        sig.dtype = Some(dtype);
        sig.op = Some(op);
        sig.count = Some(count);
        self.enter(&sig, sig_key(&sig), err, Checks::default(), |_| {})?;
        self.record(kind, send.len());
        let (t, o, _) = reduction(dtype, op)?;
        let _b = Blocked::enter(0);
        if exclusive {
            // MPI leaves rank 0's buffer undefined; the contract leaves it untouched.
            let mut scratch;
            let out: &mut [u8] = if self.rank == 0 {
                scratch = vec![0u8; recv.len()];
                &mut scratch
            } else {
                recv
            };
            // SAFETY: `send` and `out` hold `count` units of `t`.
            check(
                unsafe {
                    ffi::MPI_Exscan(
                        send.as_ptr().cast(),
                        out.as_mut_ptr().cast(),
                        count as c_int,
                        t,
                        o,
                        self.comm,
                    )
                },
                "MPI_Exscan",
            )
        } else {
            // SAFETY: `send` and `recv` hold `count` units of `t`.
            check(
                unsafe {
                    ffi::MPI_Scan(
                        send.as_ptr().cast(),
                        recv.as_mut_ptr().cast(),
                        count as c_int,
                        t,
                        o,
                        self.comm,
                    )
                },
                "MPI_Scan",
            )
        }
    }

    fn send(&self, buf: &[u8], dest: usize, tag: i32) -> Result<()> {
        let dest = check::rank(dest, self.size, "destination rank")?;
        check::tag(tag)?;
        let n = to_int(buf.len(), "message")?;
        self.progress_sends();
        let data = buf.to_vec();
        // SAFETY: reading a predefined handle.
        let mut req = unsafe { ffi::RSMPI_REQUEST_NULL };
        // SAFETY: `data` is moved into the pending list below and kept until the request
        // completes (progress_sends / drop), so MPI may read it until then.
        check(
            unsafe {
                ffi::MPI_Isend(
                    data.as_ptr().cast(),
                    n,
                    ffi::RSMPI_UINT8_T,
                    dest as c_int,
                    tag,
                    self.comm,
                    &mut req,
                )
            },
            "MPI_Isend",
        )?;
        lock(&self.pending).push(Pending { req, _data: data });
        progressed();
        self.stats.record_send(buf.len());
        Ok(())
    }

    fn recv(&self, buf: &mut [u8], source: Source, tag: TagSel) -> Result<Status> {
        let st = self.probe_wait("recv", source, tag)?;
        if st.bytes > buf.len() {
            return Err(check::too_long(st.bytes, st.source, st.tag, buf.len()));
        }
        let mut raw = Self::empty_status();
        {
            let _b = Blocked::enter(1);
            // SAFETY: `buf` holds at least the probed message's bytes; the probed message is
            // the first match from (source, tag), which this receive takes.
            check(
                unsafe {
                    ffi::MPI_Recv(
                        buf.as_mut_ptr().cast(),
                        st.bytes as c_int,
                        ffi::RSMPI_UINT8_T,
                        st.source as c_int,
                        st.tag,
                        self.comm,
                        &mut raw,
                    )
                },
                "MPI_Recv",
            )?;
        }
        let got = Self::status_of(&raw)?;
        self.stats.record_recv(got.bytes);
        Ok(got)
    }

    fn probe(&self, source: Source, tag: TagSel) -> Result<Status> {
        self.probe_wait("probe", source, tag)
    }

    fn iprobe(&self, source: Source, tag: TagSel) -> Result<Option<Status>> {
        let (s, t) = self.check_source(source, tag)?;
        self.progress_sends();
        let mut raw = Self::empty_status();
        let mut flag: c_int = 0;
        // SAFETY: valid selectors and out-parameters.
        check(
            unsafe { ffi::MPI_Iprobe(s, t, self.comm, &mut flag, &mut raw) },
            "MPI_Iprobe",
        )?;
        if flag == 0 {
            return Ok(None);
        }
        Self::status_of(&raw).map(Some)
    }

    fn split(&self, color: i32, key: i32, site: Site) -> Result<CommRef> {
        let sig = CollSig::new(CollKind::Split, site);
        self.enter(&sig, sig_key(&sig), None, Checks::default(), |_| {})?;
        // MPI colors must be non-negative; rank the distinct colors instead.
        let mut all = vec![0 as c_int; self.size];
        // SAFETY: one int per rank.
        check(
            unsafe {
                ffi::MPI_Allgather(
                    (&raw const color).cast(),
                    1,
                    ffi::RSMPI_INT32_T,
                    all.as_mut_ptr().cast(),
                    1,
                    ffi::RSMPI_INT32_T,
                    self.comm,
                )
            },
            "MPI_Allgather",
        )?;
        all.sort_unstable();
        all.dedup();
        let dense = all.iter().position(|&c| c == color).unwrap_or(0) as c_int;
        // SAFETY: reading a predefined handle.
        let mut newc = unsafe { ffi::RSMPI_COMM_NULL };
        {
            let _b = Blocked::enter(7);
            // SAFETY: collective over our communicator; valid out-parameter.
            check(
                unsafe { ffi::MPI_Comm_split(self.comm, dense, key, &mut newc) },
                "MPI_Comm_split",
            )?;
        }
        self.record(CollKind::Split, 0);
        Ok(MpiComm::wrap(newc)?)
    }

    fn dup(&self, site: Site) -> Result<CommRef> {
        let sig = CollSig::new(CollKind::Dup, site);
        self.enter(&sig, sig_key(&sig), None, Checks::default(), |_| {})?;
        let c = {
            let _b = Blocked::enter(7);
            MpiComm::dup_of(self.comm)?
        };
        self.record(CollKind::Dup, 0);
        Ok(c)
    }

    unsafe fn win_create(&self, base: *mut u8, len_bytes: usize, site: Site) -> Result<WinId> {
        let sig = CollSig::new(CollKind::WinCreate, site);
        let err = check::win_create(base, len_bytes).or_else(|| {
            (isize::try_from(len_bytes).is_err()).then(|| DtlError::BadSize {
                requested: len_bytes as i128,
                what: "window".into(),
            })
        });
        self.enter(&sig, sig_key(&sig), err, Checks::default(), |_| {})?;
        // (Nothing to align for an empty window, whose base may be a dangling pointer.)
        let delta = if len_bytes == 0 {
            0
        } else {
            (base as usize % 16) as u64
        };
        let mut both = vec![0u64; 2 * self.size];
        let mine = [len_bytes as u64, delta];
        // SAFETY: two u64 per rank.
        check(
            unsafe {
                ffi::MPI_Allgather(
                    mine.as_ptr().cast(),
                    2,
                    ffi::RSMPI_UINT64_T,
                    both.as_mut_ptr().cast(),
                    2,
                    ffi::RSMPI_UINT64_T,
                    self.comm,
                )
            },
            "MPI_Allgather",
        )?;
        let lens: Vec<u64> = both.iter().step_by(2).copied().collect();
        let deltas: Vec<u64> = both.iter().skip(1).step_by(2).copied().collect();
        let win_base = base.wrapping_sub(delta as usize);
        let win_len = len_bytes + delta as usize;
        // SAFETY: reading a predefined handle.
        let mut win = unsafe { ffi::RSMPI_WIN_NULL };
        // SAFETY: the caller guarantees `base..base+len_bytes` stays valid until win_free
        // (the contract of `Comm::win_create`); collective over our communicator. The up to 15
        // bytes below `base` that the aligned window also covers are never read or written:
        // every displacement is at least the target's delta (see `rma_target`).
        check(
            unsafe {
                ffi::MPI_Win_create(
                    win_base.cast(),
                    win_len as ffi::MPI_Aint,
                    1,
                    ffi::RSMPI_INFO_NULL,
                    self.comm,
                    &mut win,
                )
            },
            "MPI_Win_create",
        )?;
        begin_passive_epoch(win)?;
        let id = self.next_win.fetch_add(1, Ordering::Relaxed);
        lock(&self.windows).insert(
            id,
            WinState {
                win,
                lens,
                deltas,
                dirty: false,
            },
        );
        self.record(CollKind::WinCreate, 0);
        Ok(WinId(id))
    }

    fn win_free(&self, win: WinId, site: Site) -> Result<()> {
        let sig = CollSig::new(CollKind::WinFree, site);
        let state = lock(&self.windows).remove(&win.0);
        let err = state.is_none().then(|| check::no_window(win.0));
        if let Err(e) = self.enter(&sig, sig_key(&sig), err, Checks::default(), |_| {}) {
            if let Some(s) = state {
                lock(&self.windows).insert(win.0, s);
            }
            return Err(e);
        }
        let Some(mut s) = state else {
            return Err(backend("win_free: window vanished"));
        };
        let _b = Blocked::enter(6);
        // SAFETY: the window is live and in its lock_all epoch; every rank frees it here.
        unsafe {
            check(ffi::MPI_Win_flush_all(s.win), "MPI_Win_flush_all")?;
            check(ffi::MPI_Win_unlock_all(s.win), "MPI_Win_unlock_all")?;
            check(ffi::MPI_Win_free(&mut s.win), "MPI_Win_free")?;
        }
        self.record(CollKind::WinFree, 0);
        Ok(())
    }

    fn win_fence(&self, win: WinId, site: Site) -> Result<()> {
        let sig = CollSig::new(CollKind::WinFence, site);
        let err = (!lock(&self.windows).contains_key(&win.0)).then(|| check::no_window(win.0));
        let _b = Blocked::enter(3);
        if err.is_none() {
            self.flush_dirty()?;
        }
        self.enter(&sig, sig_key(&sig), err, Checks::default(), |_| {})?;
        self.sync_windows()?;
        self.record(CollKind::WinFence, 0);
        Ok(())
    }

    fn win_get(&self, win: WinId, target: usize, offset: usize, buf: &mut [u8]) -> Result<()> {
        let (w, disp) = self.rma_target(win, target, offset, buf.len())?;
        let n = to_int(buf.len(), "one-sided get")?;
        self.flush_if_dirty(win)?;
        // SAFETY: reading a predefined handle.
        let mut req = unsafe { ffi::RSMPI_REQUEST_NULL };
        // SAFETY: bounds were checked against the target's exposed length; the get completes
        // locally (its request, `wait_rma`, which never returns early) before `buf` is
        // released to the caller.
        check(
            unsafe {
                ffi::MPI_Rget(
                    buf.as_mut_ptr().cast(),
                    n,
                    ffi::RSMPI_UINT8_T,
                    target as c_int,
                    disp,
                    n,
                    ffi::RSMPI_UINT8_T,
                    w,
                    &mut req,
                )
            },
            "MPI_Rget",
        )?;
        self.wait_rma(&mut req, &|| rma_desc("get from", target, win));
        self.stats.record_rma(buf.len());
        Ok(())
    }

    fn win_get_many(&self, reads: &mut [WinRead<'_>]) -> Result<()> {
        let mut targets = Vec::with_capacity(reads.len());
        for r in reads.iter() {
            let (w, disp) = self.rma_target(r.win, r.target, r.offset, r.buf.len())?;
            targets.push((w, disp, to_int(r.buf.len(), "one-sided get")?));
            self.flush_if_dirty(r.win)?;
        }
        // SAFETY: reading a predefined handle.
        let mut reqs = vec![unsafe { ffi::RSMPI_REQUEST_NULL }; reads.len()];
        let mut issued = Ok(());
        for ((r, &(w, disp, n)), req) in reads.iter_mut().zip(&targets).zip(&mut reqs) {
            // SAFETY: bounds were checked against each target's exposed length; every issued
            // get completes (`wait_rma` below, which never returns early) before the buffers
            // are released to the caller.
            issued = check(
                unsafe {
                    ffi::MPI_Rget(
                        r.buf.as_mut_ptr().cast(),
                        n,
                        ffi::RSMPI_UINT8_T,
                        r.target as c_int,
                        disp,
                        n,
                        ffi::RSMPI_UINT8_T,
                        w,
                        req,
                    )
                },
                "MPI_Rget",
            );
            if issued.is_err() {
                break;
            }
        }
        // The first wait takes the round trip; the others have completed by then.
        for (r, req) in reads.iter().zip(&mut reqs) {
            self.wait_rma(req, &|| rma_desc("get from", r.target, r.win));
            self.stats.record_rma(r.buf.len());
        }
        issued
    }

    fn win_put(&self, win: WinId, target: usize, offset: usize, buf: &[u8]) -> Result<()> {
        let (w, disp) = self.rma_target(win, target, offset, buf.len())?;
        let n = to_int(buf.len(), "one-sided put")?;
        // SAFETY: reading a predefined handle.
        let mut req = unsafe { ffi::RSMPI_REQUEST_NULL };
        // SAFETY: bounds checked; the put completes locally (`wait_rma`) before `buf` is
        // released.
        check(
            unsafe {
                ffi::MPI_Rput(
                    buf.as_ptr().cast(),
                    n,
                    ffi::RSMPI_UINT8_T,
                    target as c_int,
                    disp,
                    n,
                    ffi::RSMPI_UINT8_T,
                    w,
                    &mut req,
                )
            },
            "MPI_Rput",
        )?;
        self.wait_rma(&mut req, &|| rma_desc("put to", target, win));
        self.mark_dirty(win);
        self.stats.record_rma(buf.len());
        Ok(())
    }

    fn win_accumulate(
        &self,
        win: WinId,
        target: usize,
        offset: usize,
        buf: &[u8],
        dtype: DType,
        op: ReduceOp,
    ) -> Result<()> {
        check::atomic(offset, buf.len(), dtype, op)?;
        let (w, disp) = self.rma_target(win, target, offset, buf.len())?;
        let o = Self::rma_op(dtype, op)?;
        let n = to_int(buf.len() / dtype.size(), "one-sided accumulate")?;
        // SAFETY: reading a predefined handle.
        let mut req = unsafe { ffi::RSMPI_REQUEST_NULL };
        // SAFETY: bounds and alignment checked; completes locally (`wait_rma`) before `buf`
        // is released.
        check(
            unsafe {
                ffi::MPI_Raccumulate(
                    buf.as_ptr().cast(),
                    n,
                    mpi_type(dtype),
                    target as c_int,
                    disp,
                    n,
                    mpi_type(dtype),
                    o,
                    w,
                    &mut req,
                )
            },
            "MPI_Raccumulate",
        )?;
        self.wait_rma(&mut req, &|| rma_desc("accumulate to", target, win));
        self.mark_dirty(win);
        self.stats.record_rma(buf.len());
        Ok(())
    }

    fn win_fetch_op(
        &self,
        win: WinId,
        target: usize,
        offset: usize,
        operand: &[u8],
        result: &mut [u8],
        dtype: DType,
        op: ReduceOp,
    ) -> Result<()> {
        let unit = check::atomic(offset, operand.len(), dtype, op)?;
        check::fetch_op(unit, operand.len(), result.len())?;
        let (w, disp) = self.rma_target(win, target, offset, unit)?;
        let o = Self::rma_op(dtype, op)?;
        // SAFETY: reading a predefined handle.
        let mut req = unsafe { ffi::RSMPI_REQUEST_NULL };
        // SAFETY: one element in bounds; completes locally (`result` written, `wait_rma`)
        // before return. `MPI_Rget_accumulate` of one element is `MPI_Fetch_and_op` with a
        // request.
        check(
            unsafe {
                ffi::MPI_Rget_accumulate(
                    operand.as_ptr().cast(),
                    1,
                    mpi_type(dtype),
                    result.as_mut_ptr().cast(),
                    1,
                    mpi_type(dtype),
                    target as c_int,
                    disp,
                    1,
                    mpi_type(dtype),
                    o,
                    w,
                    &mut req,
                )
            },
            "MPI_Rget_accumulate",
        )?;
        self.wait_rma(&mut req, &|| rma_desc("fetch-and-op on", target, win));
        self.mark_dirty(win);
        self.stats.record_rma(operand.len());
        Ok(())
    }

    fn win_compare_and_swap(
        &self,
        win: WinId,
        target: usize,
        offset: usize,
        compare: &[u8],
        swap: &[u8],
        result: &mut [u8],
        dtype: DType,
    ) -> Result<()> {
        let unit = check::compare_and_swap(offset, dtype, compare.len(), swap.len(), result.len())?;
        let (w, disp) = self.rma_target(win, target, offset, unit)?;
        let _b = Blocked::enter(5);
        // SAFETY: one element in bounds, compared bitwise as an unsigned integer of its size;
        // completes locally (result written) before return.
        unsafe {
            check(
                ffi::MPI_Compare_and_swap(
                    swap.as_ptr().cast(),
                    compare.as_ptr().cast(),
                    result.as_mut_ptr().cast(),
                    bits_type(dtype),
                    target as c_int,
                    disp,
                    w,
                ),
                "MPI_Compare_and_swap",
            )?;
            check(
                ffi::MPI_Win_flush_local(target as c_int, w),
                "MPI_Win_flush_local",
            )?;
        }
        self.mark_dirty(win);
        self.stats.record_rma(swap.len());
        Ok(())
    }

    fn win_flush(&self, win: WinId, target: Option<usize>) -> Result<()> {
        let mut ws = lock(&self.windows);
        let s = ws.get_mut(&win.0).ok_or_else(|| check::no_window(win.0))?;
        let _b = Blocked::enter(4);
        match target {
            Some(t) => {
                let t = check::rank(t, self.size, "target rank")?;
                // SAFETY: live window in its lock_all epoch; `t` is a valid rank.
                check(
                    unsafe { ffi::MPI_Win_flush(t as c_int, s.win) },
                    "MPI_Win_flush",
                )
            }
            None => {
                // SAFETY: live window in its lock_all epoch.
                check(
                    unsafe { ffi::MPI_Win_flush_all(s.win) },
                    "MPI_Win_flush_all",
                )?;
                s.dirty = false;
                Ok(())
            }
        }
    }

    fn abort(&self, cause: &str) {
        // `cause` is the rank's whole error message (`error[Rxxxx]: ... at FILE:LINE:COL (rank
        // r)`, as the threads backend prints it): printed as it is, and the job ends with
        // status 2 like a failed `dtlc run` on threads.
        use std::io::Write;
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{cause}");
        let _ = err.flush();
        drop(err);
        abort_with(2)
    }

    fn stop_word(&self) -> &StopWord {
        &self.stop
    }

    fn stop_error(&self) -> DtlError {
        if self.stop.get() & stop::INTERRUPTED != 0 {
            return DtlError::Interrupted;
        }
        DtlError::PeerFailed {
            rank: lock(&self.calls).from,
            cause: "it failed during this collective call (its error is reported on every rank at the end of the call)".into(),
        }
    }

    fn recoverable(&self) -> bool {
        true
    }

    fn call_begin(&self) -> Result<()> {
        {
            let mut c = lock(&self.calls);
            if c.notice.is_none() {
                // SAFETY: reading a predefined handle.
                let mut d = unsafe { ffi::RSMPI_COMM_NULL };
                let _b = Blocked::enter(7);
                // SAFETY: collective over our communicator (every rank starts the same call);
                // valid out-parameter.
                check(
                    unsafe { ffi::MPI_Comm_dup(self.comm, &mut d) },
                    "MPI_Comm_dup (failure notices)",
                )?;
                c.notice = Some(d);
            }
            c.active = true;
            c.from = 0;
        }
        watch_call(self.me.clone());
        Ok(())
    }

    fn call_end(&self, failure: Option<(bool, &str)>) -> Result<()> {
        registry()?;
        // This rank's own failure (not an echo of a peer's): tell every rank at once.
        let own = failure
            .filter(|(echo, _)| !*echo)
            .map(|(_, m)| m.to_string());
        let sent = if own.is_some() {
            self.send_notices()?;
            1u16
        } else {
            0
        };
        let mut failed = failure.is_some();
        let mut mine = own;
        let mut result: Option<DtlError> = None;
        loop {
            let mut h = Header::new(KEY_CALL_END);
            if failed {
                h.flags |= CALL_FAILED;
                h.notices = sent;
                if mine.is_some() {
                    h.root = u32::try_from(self.rank).unwrap_or(u32::MAX - 1);
                }
            }
            let out = self.exchange(&h, &|| "the end of a recoverable call".to_string())?;
            if out.flags & CALL_FAILED != 0 {
                let (q, cause) = self.failure_of(&out, mine.as_deref())?;
                failed = true;
                if result.is_none() {
                    result = Some(DtlError::PeerFailed { rank: q, cause });
                }
                if out.flags & KEY_MISMATCH != 0 {
                    // Ranks still in the call's collectives fail now and come here.
                    continue;
                }
                self.finish_call(usize::from(out.notices).saturating_sub(usize::from(sent)))?;
                return Err(result.unwrap_or_else(|| DtlError::PeerFailed {
                    rank: q,
                    cause: String::new(),
                }));
            }
            if out.flags & KEY_MISMATCH != 0 {
                // Another rank is still in a collective this one never called: R0003 on both,
                // and both meet here again.
                let sig = CollSig::new(CollKind::Barrier, Site::NONE);
                let e = self.mismatch(&sig, KEY_CALL_END);
                mine = Some(format!("error[{}]: {e} (rank {})", e.code(), self.rank));
                failed = true;
                result = Some(e);
                continue;
            }
            self.finish_call(0)?;
            return Ok(());
        }
    }
}

impl stop::Interruptible for MpiComm {
    /// SIGINT: kernels on this rank stop at their next loop head, and receives of a
    /// recoverable call end with R0016; the rest of the call ends as for any failure.
    fn interrupt(&self) {
        self.stop.set(stop::INTERRUPTED);
    }
}
