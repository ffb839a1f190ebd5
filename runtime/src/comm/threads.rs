//! The threads backend: N ranks as N OS threads of one process, sharing memory.
//!
//! ## How a collective works
//! Every rank owns a cache-padded *slot* per communicator, split in two halves by the parity
//! of the collective's epoch. Entering a collective, a rank writes its [`CollSig`] (also packed
//! into three words for a fast comparison), pointers to its own buffers and, for messages of
//! at most [`SMALL`] bytes, a copy of its data into the half of this epoch, then publishes the
//! epoch in that half's flag (release). Once every rank's flag shows the epoch, each rank
//! checks that all signatures match (R0003 on every rank otherwise) and that no rank flagged a
//! bad argument, then:
//! - *small* collectives compute their result from the slot copies and return: one barrier
//!   phase, one cache-line transfer per peer. The parity double-buffering makes that safe: a
//!   rank can only overwrite this half two epochs later, after every rank left this one.
//! - *large* collectives pass a *commit* phase (a shared counter, so that leaving early and
//!   going on are decided atomically), then read and write the other ranks' buffers in place
//!   through the published pointers (an allreduce rank reduces its 1/P chunk of every rank's
//!   send buffer and writes the result into every rank's receive buffer; a broadcast copies
//!   from the root's buffer), then pass a *completion* phase so that no rank returns while
//!   another still touches its memory.
//!
//! ## Waiting
//! Waits spin briefly, then yield, then park on a condition variable; wakers only touch the
//! mutex when someone sleeps. Every wait that may block on another rank is released with R0011
//! when a rank fails ([`Comm::abort`]), and with R0010 (a report of where every rank waits)
//! when no rank of the world has completed any communication for the watchdog limit (the
//! per-rank [`Stats`] counters are the progress measure, so a rank that keeps communicating
//! while others wait restarts everyone's clock). A rank that leaves a commit phase early
//! (failure, watchdog) first *retracts* its increment, so no other rank can start touching its
//! buffers; the completion phase is never cancelled. Any early exit fails the whole world: the
//! communicator is out of step for good.
//!
//! This module is one of the runtime's allowed `unsafe` sites: shared slots, raw buffer
//! pointers and one-sided windows. Every `unsafe` block states why it is sound.

use std::cell::UnsafeCell;
use std::collections::{HashMap, VecDeque};
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use super::{CollKind, CollSig, Comm, CommRef, Source, Status, TagSel, WinId, check};
use crate::elem::{DType, ReduceOp};
use crate::error::{DtlError, Result, Site};
use crate::ops;
use crate::stats::Stats;
use crate::stop::{self, StopWord};

/// Messages of at most this many bytes per rank travel through the slots (one barrier phase).
pub const SMALL: usize = 64;

/// Bytes processed per block in large reductions, so the result is still in cache when it is
/// copied to the other ranks.
const BLOCK: usize = 64 * 1024;

/// How long a wait busy-spins before it starts yielding (a peer that runs arrives well within
/// it; with more ranks than cores it mostly does not, and spinning longer only steals time).
const SPIN_FOR: Duration = Duration::from_micros(4);
/// How long a wait yields before it parks.
const YIELD_FOR: Duration = Duration::from_micros(20);
/// First park of a wait; see `World::wake`.
const PARK_FIRST: Duration = Duration::from_micros(50);
/// Longest single park; waits re-check failure and the watchdog at least this often.
const PARK_MAX: Duration = Duration::from_millis(20);
/// One-sided atomics lock stripes of this many bytes of a target's window.
const STRIPE: usize = 512;
const STRIPES: usize = 64;

/// Default watchdog limit when neither the launcher config nor `DTL_WATCHDOG_SECS` sets one.
pub const DEFAULT_WATCHDOG: Duration = Duration::from_secs(60);

/// The largest watchdog limit `DTL_WATCHDOG_SECS` accepts, in seconds (about 116 days; `0`
/// disables the watchdog instead).
pub const MAX_WATCHDOG_SECS: f64 = 1e7;
/// The smallest nonzero watchdog limit, in seconds.
pub const MIN_WATCHDOG_SECS: f64 = 1e-3;

/// The watchdog limit from `DTL_WATCHDOG_SECS` (see [`parse_watchdog`]), or
/// [`DEFAULT_WATCHDOG`] when the variable is unset or empty. R0009 for a value that is not a
/// number of seconds in range: a typo never silently becomes "no watchdog" or a panic.
pub fn watchdog_from_env() -> Result<Option<Duration>> {
    match std::env::var("DTL_WATCHDOG_SECS") {
        Ok(s) => parse_watchdog(&s),
        Err(std::env::VarError::NotPresent) => Ok(Some(DEFAULT_WATCHDOG)),
        Err(std::env::VarError::NotUnicode(v)) => Err(DtlError::invalid(format!(
            "DTL_WATCHDOG_SECS={} is not a number of seconds",
            v.to_string_lossy()
        ))),
    }
}

/// Parses a watchdog setting: seconds as a decimal number (fractions and exponents allowed),
/// `0` for no watchdog, empty for the default. Values must lie in
/// [`MIN_WATCHDOG_SECS`]..=[`MAX_WATCHDOG_SECS`]; anything else (negative, NaN, infinite,
/// `1e20`, text) is R0009 with the accepted range in the message.
pub fn parse_watchdog(text: &str) -> Result<Option<Duration>> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(Some(DEFAULT_WATCHDOG));
    }
    let range = format!(
        "use a number of seconds from {MIN_WATCHDOG_SECS} to {MAX_WATCHDOG_SECS:e}, or 0 to disable the watchdog"
    );
    let x = t.parse::<f64>().map_err(|_| {
        DtlError::invalid(format!(
            "DTL_WATCHDOG_SECS=`{t}` is not a number of seconds ({range})"
        ))
    })?;
    if x.is_nan() {
        return Err(DtlError::invalid(format!(
            "DTL_WATCHDOG_SECS=`{t}` is not a number of seconds ({range})"
        )));
    }
    if x == 0.0 {
        return Ok(None);
    }
    if !(MIN_WATCHDOG_SECS..=MAX_WATCHDOG_SECS).contains(&x) {
        return Err(DtlError::invalid(format!(
            "DTL_WATCHDOG_SECS=`{t}` is out of range ({range})"
        )));
    }
    Ok(Some(Duration::from_secs_f64(x)))
}

/// Aligns `T` to 128 bytes (two cache lines, which also defeats adjacent-line prefetching) so
/// that per-rank state written by one thread never shares a line with another's.
#[repr(align(128))]
#[derive(Debug, Default)]
pub struct CachePadded<T>(pub T);

impl<T> Deref for CachePadded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Locks a mutex, ignoring poisoning: the data behind our mutexes stays consistent even if a
/// holder panicked (every critical section is a single update).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------------------------
// World: state shared by every communicator of one launch.

struct World {
    size: usize,
    failed: AtomicBool,
    failure: Mutex<Option<(usize, String)>>,
    finished: Box<[CachePadded<AtomicBool>]>,
    /// What each rank waits in, set once a wait leaves its spinning phase (watchdog reports).
    waits: Box<[Mutex<Option<String>>]>,
    stats: Box<[CachePadded<Stats>]>,
    sleepers: CachePadded<AtomicUsize>,
    park: Mutex<()>,
    cv: Condvar,
    watchdog: Option<Duration>,
    next_id: AtomicU64,
    /// Polled by generated code at loop heads: set with `failed`, and on SIGINT.
    stop: StopWord,
}

impl World {
    /// Records `rank`'s failure (the first one wins) and releases every wait.
    fn fail(&self, rank: usize, cause: &str) {
        {
            let mut f = lock(&self.failure);
            if f.is_none() {
                *f = Some((rank, cause.to_string()));
            }
            self.failed.store(true, Ordering::SeqCst);
            self.stop.set(stop::FAILED);
        }
        self.wake_all();
    }

    fn peer_failed(&self) -> DtlError {
        match &*lock(&self.failure) {
            Some((rank, cause)) => DtlError::PeerFailed {
                rank: *rank,
                cause: cause.clone(),
            },
            None => DtlError::PeerFailed {
                rank: 0,
                cause: "unknown".into(),
            },
        }
    }

    /// Wakes parked waiters after a state change, touching the mutex only if someone sleeps.
    ///
    /// No fence here: a full fence after every arrival would triple the latency of a small
    /// collective. The price is a narrow race: our load of `sleepers` may be ordered before
    /// our preceding store becomes visible, while a waiter registers as a sleeper and polls in
    /// between. A waiter stays registered for its whole parking phase and its first park lasts
    /// only [`PARK_FIRST`], by which time such a store is visible; so a missed wake-up costs at
    /// most that much latency, never progress.
    fn wake(&self) {
        if self.sleepers.load(Ordering::SeqCst) > 0 {
            self.wake_all();
        }
    }

    fn wake_all(&self) {
        let _g = lock(&self.park);
        self.cv.notify_all();
    }

    /// Communication operations completed by every rank so far (sends, receives, one-sided
    /// operations, collectives): the watchdog's measure of progress. It is read from the
    /// per-rank [`Stats`] counters, which every operation updates anyway, so the hot paths pay
    /// nothing for it; a waiting rank sums them a few times per watchdog period.
    fn progress(&self) -> u64 {
        self.stats.iter().fold(0u64, |acc, s| {
            let x = s.snapshot();
            acc.wrapping_add(x.messages_sent)
                .wrapping_add(x.messages_received)
                .wrapping_add(x.rma_ops)
                .wrapping_add(x.total_collectives())
        })
    }

    fn report(&self) -> String {
        let mut lines = Vec::with_capacity(self.size);
        for r in 0..self.size {
            let state = if self.finished[r].load(Ordering::Acquire) {
                "finished".to_string()
            } else {
                lock(&self.waits[r])
                    .clone()
                    .unwrap_or_else(|| "running".to_string())
            };
            lines.push(format!("  rank {r}: {state}"));
        }
        lines.join("\n")
    }
}

impl stop::Interruptible for World {
    /// SIGINT: ranks polling the stop word return R0016. A world of more than one rank also
    /// fails, so that ranks waiting for each other are released too (a one-rank world never
    /// waits, and stays usable for the next call once its caller clears the bit).
    fn interrupt(&self) {
        self.stop.set(stop::INTERRUPTED);
        if self.size > 1 {
            let first = (0..self.size)
                .find(|&r| !self.finished[r].load(Ordering::Acquire))
                .unwrap_or(0);
            self.fail(first, "interrupted (SIGINT)");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Groups (communicators) and their slots.

/// What a rank publishes for one collective. Raw pointers point into the rank's own buffers,
/// which stay borrowed by the rank's (blocked) collective call while others use them.
/// The fields a small collective needs come first, so that they share cache lines with the
/// arrival flag.
#[derive(Clone, Copy)]
#[repr(C)]
struct SlotData {
    /// The signature packed for a fast comparison (see `sig_key`).
    key: [u64; 3],
    bad: bool,
    send_len: usize,
    small: [u8; SMALL],
    sig: CollSig,
    send: *const u8,
    recv: *mut u8,
    recv_len: usize,
    counts: *const usize,
    counts_len: usize,
    counts2: *const usize,
    counts2_len: usize,
    words: [i64; 2],
}

/// `CollSig::matches` as three words: equal keys iff matching signatures.
fn sig_key(s: &CollSig) -> [u64; 3] {
    let kind = s.kind as u64;
    let dtype = s.dtype.map_or(0xFF, |d| d as u64);
    let op = s.op.map_or(0xFF, |o| o as u64);
    let has = (s.root.is_some() as u64) | ((s.count.is_some() as u64) << 1);
    [
        kind | (dtype << 8) | (op << 16) | (has << 24),
        s.root.unwrap_or(0) as u64,
        s.count.unwrap_or(0) as u64,
    ]
}

impl SlotData {
    fn new(sig: CollSig) -> Self {
        SlotData {
            key: sig_key(&sig),
            sig,
            bad: false,
            send: std::ptr::null(),
            send_len: 0,
            recv: std::ptr::null_mut(),
            recv_len: 0,
            counts: std::ptr::null(),
            counts_len: 0,
            counts2: std::ptr::null(),
            counts2_len: 0,
            words: [0; 2],
            small: [0; SMALL],
        }
    }

    fn with_send(mut self, send: &[u8]) -> Self {
        self.send = send.as_ptr();
        self.send_len = send.len();
        if send.len() <= SMALL {
            self.small[..send.len()].copy_from_slice(send);
        }
        self
    }

    fn with_recv(mut self, recv: *mut u8, len: usize) -> Self {
        self.recv = recv;
        self.recv_len = len;
        self
    }

    fn with_counts(mut self, c: &[usize]) -> Self {
        self.counts = c.as_ptr();
        self.counts_len = c.len();
        self
    }

    fn with_counts2(mut self, c: &[usize]) -> Self {
        self.counts2 = c.as_ptr();
        self.counts2_len = c.len();
        self
    }

    /// The published send buffer.
    ///
    /// # Safety
    /// Only during the epoch that published it, before its completion phase ends.
    unsafe fn send_slice(&self) -> &[u8] {
        if self.send_len == 0 {
            return &[];
        }
        // SAFETY: the owner published a live `&[u8]` of this length and keeps it borrowed until
        // every rank passed the completion phase (caller's contract).
        unsafe { std::slice::from_raw_parts(self.send, self.send_len) }
    }

    /// The published counts.
    ///
    /// # Safety
    /// As for [`SlotData::send_slice`]; the counts live as long as the send buffer.
    unsafe fn counts(&self) -> &[usize] {
        if self.counts_len == 0 {
            return &[];
        }
        // SAFETY: as in send_slice.
        unsafe { std::slice::from_raw_parts(self.counts, self.counts_len) }
    }

    /// # Safety
    /// As for [`SlotData::counts`].
    unsafe fn counts2(&self) -> &[usize] {
        if self.counts2_len == 0 {
            return &[];
        }
        // SAFETY: as in send_slice.
        unsafe { std::slice::from_raw_parts(self.counts2, self.counts2_len) }
    }
}

/// One half of a slot: the arrival flag and the data of the epochs of one parity.
#[repr(C, align(128))]
struct Half {
    /// The last epoch whose data this half holds (release-published by the owner).
    flag: AtomicU64,
    data: UnsafeCell<SlotData>,
}

struct Slot {
    half: [Half; 2],
    /// Set while this rank is inside a collective of this communicator (guards the slot
    /// against two threads sharing one rank's communicator).
    busy: AtomicBool,
    /// The last epoch this rank entered; written by the owner only.
    epoch: AtomicU64,
    /// Commit and completion phases this rank passed; written by the owner only.
    commits: AtomicU64,
    done_phases: AtomicU64,
    err: [Mutex<Option<DtlError>>; 2],
}

// SAFETY: `half[p].data` is written only by the slot's owner, while it holds `busy` and while
// the world has not failed, before it publishes epoch e (p = e % 2) with a release store of
// `half[p].flag`. Other ranks read it only after an acquire load shows that flag at e, and the
// owner cannot write the same half again before epoch e + 2, which needs every rank to have
// arrived at e + 1, i.e. to have finished reading epoch e. A rank that leaves an epoch early
// does so only once the world has failed, and then never writes its slot again. The raw
// pointers inside are dereferenced only between a successful commit phase and the completion
// phase (see `SlotData::send_slice`).
unsafe impl Sync for Slot {}
// SAFETY: the slot holds no thread-affine state; the raw pointers are plain addresses.
unsafe impl Send for Slot {}

impl Slot {
    fn new() -> Self {
        let empty = SlotData::new(CollSig::new(CollKind::Barrier, Site::NONE));
        let half = || Half {
            flag: AtomicU64::new(0),
            data: UnsafeCell::new(empty),
        };
        Slot {
            half: [half(), half()],
            busy: AtomicBool::new(false),
            epoch: AtomicU64::new(0),
            commits: AtomicU64::new(0),
            done_phases: AtomicU64::new(0),
            err: [Mutex::new(None), Mutex::new(None)],
        }
    }
}

struct Msg {
    source: usize,
    tag: i32,
    data: Vec<u8>,
}

/// Children being built by a split: (epoch, color) -> (group, members yet to pick it up).
type SplitRegistry = HashMap<(u64, i32), (Arc<Group>, usize)>;

struct Group {
    id: u64,
    world: Arc<World>,
    /// World rank of each rank of this group.
    members: Vec<usize>,
    commit: CachePadded<AtomicU64>,
    done: CachePadded<AtomicU64>,
    slots: Box<[CachePadded<Slot>]>,
    /// Per destination: messages in arrival order (FIFO per source).
    boxes: Box<[CachePadded<Mutex<VecDeque<Msg>>>]>,
    splits: Mutex<SplitRegistry>,
    creating: Mutex<HashMap<u64, (Arc<Window>, usize)>>,
    windows: RwLock<HashMap<u64, Arc<Window>>>,
}

impl Group {
    fn new(world: Arc<World>, members: Vec<usize>) -> Self {
        let n = members.len();
        let id = world.next_id.fetch_add(1, Ordering::Relaxed);
        Group {
            id,
            world,
            members,
            commit: CachePadded(AtomicU64::new(0)),
            done: CachePadded(AtomicU64::new(0)),
            slots: (0..n).map(|_| CachePadded(Slot::new())).collect(),
            boxes: (0..n)
                .map(|_| CachePadded(Mutex::new(VecDeque::new())))
                .collect(),
            splits: Mutex::new(HashMap::new()),
            creating: Mutex::new(HashMap::new()),
            windows: RwLock::new(HashMap::new()),
        }
    }

    fn size(&self) -> usize {
        self.members.len()
    }

    fn window(&self, win: WinId) -> Result<Arc<Window>> {
        let map = self.windows.read().unwrap_or_else(PoisonError::into_inner);
        map.get(&win.0)
            .cloned()
            .ok_or_else(|| check::no_window(win.0))
    }
}

// ---------------------------------------------------------------------------------------------
// One-sided windows.

/// A target's exposed memory: a plain address.
#[derive(Clone, Copy)]
struct RawMem(*mut u8);

// SAFETY: the address is only dereferenced through `Window::access`, under the contract of
// `Comm::win_create` (the memory stays valid until `win_free`, which revokes access under the
// target's write gate before returning).
unsafe impl Send for RawMem {}
// SAFETY: as above; concurrent accesses follow MPI's rules (atomics are serialised by stripes).
unsafe impl Sync for RawMem {}

struct Target {
    base: RawMem,
    len: usize,
    /// `true` once the owner released its memory; held for reading during every access.
    revoked: RwLock<bool>,
}

/// A one-sided window: every rank's exposed memory plus lock stripes for atomics.
pub(crate) struct Window {
    id: u64,
    targets: Box<[Target]>,
    stripes: Box<[Mutex<()>]>,
}

impl Window {
    fn new(id: u64, targets: Vec<(*mut u8, usize)>) -> Self {
        Window {
            id,
            targets: targets
                .into_iter()
                .map(|(p, len)| Target {
                    base: RawMem(p),
                    len,
                    revoked: RwLock::new(false),
                })
                .collect(),
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }

    fn stripe(&self, target: usize, byte: usize) -> &Mutex<()> {
        let h = (target.wrapping_mul(0x9E37_79B9) ^ (byte / STRIPE)) % STRIPES;
        &self.stripes[h]
    }

    /// Runs `f` on the address of `target`'s bytes `offset..offset + len`, after bounds and
    /// liveness checks, holding the target's read gate.
    fn access<R>(
        &self,
        target: usize,
        offset: usize,
        len: usize,
        f: impl FnOnce(*mut u8) -> Result<R>,
    ) -> Result<R> {
        let t = self.targets.get(target).ok_or(DtlError::NoSuchRank {
            rank: target as i64,
            size: self.targets.len(),
            what: "target rank",
        })?;
        check::window_range(self.id, target, offset, len, t.len)?;
        let gate = t.revoked.read().unwrap_or_else(PoisonError::into_inner);
        if *gate {
            return Err(DtlError::invalid(format!(
                "window {} of rank {target} was freed",
                self.id
            )));
        }
        // SAFETY: offset + len <= t.len was checked, and the memory stays valid while the gate
        // is held (win_free revokes under the write gate before its memory may go away).
        let p = unsafe { t.base.0.add(offset) };
        f(p)
    }

    fn get(&self, target: usize, offset: usize, buf: &mut [u8]) -> Result<()> {
        self.access(target, offset, buf.len(), |p| {
            // SAFETY: `p..p+len` is in bounds and live (access); `ptr::copy` tolerates overlap
            // with `buf` when a rank reads its own window into itself.
            unsafe { std::ptr::copy(p, buf.as_mut_ptr(), buf.len()) };
            Ok(())
        })
    }

    fn put(&self, target: usize, offset: usize, buf: &[u8]) -> Result<()> {
        self.access(target, offset, buf.len(), |p| {
            // SAFETY: as in get, in the other direction.
            unsafe { std::ptr::copy(buf.as_ptr(), p, buf.len()) };
            Ok(())
        })
    }

    fn accumulate(
        &self,
        target: usize,
        offset: usize,
        buf: &[u8],
        dtype: DType,
        op: ReduceOp,
    ) -> Result<()> {
        check::atomic(offset, buf.len(), dtype, op)?;
        self.access(target, offset, buf.len(), |p| {
            let mut done = 0;
            while done < buf.len() {
                let at = offset + done;
                let n = (STRIPE - at % STRIPE).min(buf.len() - done);
                let _g = lock(self.stripe(target, at));
                // SAFETY: `done + n <= len`, in bounds and live (access); the stripe lock
                // serialises this against every other atomic on these elements.
                let dst = unsafe { std::slice::from_raw_parts_mut(p.add(done), n) };
                ops::reduce_into(dtype, op, dst, &buf[done..done + n])?;
                done += n;
            }
            Ok(())
        })
    }

    fn fetch_op(
        &self,
        target: usize,
        offset: usize,
        operand: &[u8],
        result: &mut [u8],
        dtype: DType,
        op: ReduceOp,
    ) -> Result<()> {
        let unit = check::atomic(offset, operand.len(), dtype, op)?;
        check::fetch_op(unit, operand.len(), result.len())?;
        self.access(target, offset, unit, |p| {
            let _g = lock(self.stripe(target, offset));
            // SAFETY: in bounds and live (access); serialised by the stripe lock.
            let dst = unsafe { std::slice::from_raw_parts_mut(p, unit) };
            result.copy_from_slice(dst);
            ops::reduce_into(dtype, op, dst, operand)
        })
    }

    fn compare_and_swap(
        &self,
        target: usize,
        offset: usize,
        compare: &[u8],
        swap: &[u8],
        result: &mut [u8],
        dtype: DType,
    ) -> Result<()> {
        let unit = check::compare_and_swap(offset, dtype, compare.len(), swap.len(), result.len())?;
        self.access(target, offset, unit, |p| {
            let _g = lock(self.stripe(target, offset));
            // SAFETY: in bounds and live (access); serialised by the stripe lock.
            let dst = unsafe { std::slice::from_raw_parts_mut(p, unit) };
            result.copy_from_slice(dst);
            if dst == compare {
                dst.copy_from_slice(swap);
            }
            Ok(())
        })
    }

    /// Revokes access to `target`'s memory, waiting for accesses in progress.
    fn revoke(&self, target: usize) {
        if let Some(t) = self.targets.get(target) {
            *t.revoked.write().unwrap_or_else(PoisonError::into_inner) = true;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The communicator.

/// One rank's handle on a threads-backend communicator. Create a world with [`create`] (the
/// launcher does); `split`/`dup` derive more. A handle must not run two collectives at once
/// (sharing it between threads of one rank for collectives is an error, R0009).
pub struct ThreadsComm {
    group: Arc<Group>,
    rank: usize,
    name: &'static str,
}

/// Creates the world communicator of `nranks` thread ranks: element r is rank r's handle.
/// `watchdog` is the longest any wait may take (`None`: no limit).
pub fn create(nranks: usize, watchdog: Option<Duration>) -> Result<Vec<Arc<ThreadsComm>>> {
    create_named(nranks, watchdog, "threads")
}

pub(crate) fn create_named(
    nranks: usize,
    watchdog: Option<Duration>,
    name: &'static str,
) -> Result<Vec<Arc<ThreadsComm>>> {
    if nranks == 0 || nranks > (1 << 16) {
        return Err(DtlError::BadSize {
            requested: nranks as i128,
            what: "number of ranks".into(),
        });
    }
    let group = Arc::new(world_group(nranks, watchdog));
    Ok((0..nranks)
        .map(|rank| {
            Arc::new(ThreadsComm {
                group: group.clone(),
                rank,
                name,
            })
        })
        .collect())
}

/// A one-rank world (the local backend).
pub(crate) fn single(name: &'static str) -> Arc<ThreadsComm> {
    Arc::new(ThreadsComm {
        group: Arc::new(world_group(1, None)),
        rank: 0,
        name,
    })
}

fn world_group(nranks: usize, watchdog: Option<Duration>) -> Group {
    let world = Arc::new(World {
        size: nranks,
        failed: AtomicBool::new(false),
        failure: Mutex::new(None),
        finished: (0..nranks)
            .map(|_| CachePadded(AtomicBool::new(false)))
            .collect(),
        waits: (0..nranks).map(|_| Mutex::new(None)).collect(),
        stats: (0..nranks).map(|_| CachePadded(Stats::default())).collect(),
        sleepers: CachePadded(AtomicUsize::new(0)),
        park: Mutex::new(()),
        cv: Condvar::new(),
        watchdog,
        next_id: AtomicU64::new(0),
        stop: StopWord::new(),
    });
    let weak: std::sync::Weak<dyn stop::Interruptible> =
        Arc::downgrade(&world) as std::sync::Weak<dyn stop::Interruptible>;
    stop::register(weak);
    Group::new(world, (0..nranks).collect())
}

enum Poll {
    Ready,
    Pending,
    Fail(DtlError),
}

/// Clears the busy flag of a slot when a collective returns (or unwinds).
struct Busy<'a>(&'a AtomicBool);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// The state after every rank arrived at epoch `e`: read access to all slots' data.
struct Arrived<'a> {
    group: &'a Group,
    p: usize,
}

impl Arrived<'_> {
    fn data(&self, q: usize) -> &SlotData {
        // SAFETY: every rank arrived at this epoch, so every slot's half `p` holds this epoch's
        // data and nobody writes it until we leave the epoch (see `unsafe impl Sync for Slot`).
        unsafe { &*self.group.slots[q].half[self.p].data.get() }
    }
}

/// Runs the completion phase when dropped (also on unwinding), so no rank leaves a large
/// collective while another may still touch its buffers.
struct Completion<'a>(&'a ThreadsComm);

impl Drop for Completion<'_> {
    fn drop(&mut self) {
        self.0.complete();
    }
}

fn ceil_div(a: usize, b: usize) -> usize {
    a.div_ceil(b.max(1))
}

fn bytes_of(count: usize, size: usize, what: &str) -> Result<usize> {
    count.checked_mul(size).ok_or_else(|| DtlError::BadSize {
        requested: count as i128,
        what: what.to_string(),
    })
}

fn total_bytes(counts: &[usize], size: usize, what: &str) -> Result<usize> {
    let mut t: usize = 0;
    for &c in counts {
        t = t
            .checked_add(bytes_of(c, size, what)?)
            .ok_or_else(|| DtlError::BadSize {
                requested: c as i128,
                what: what.to_string(),
            })?;
    }
    Ok(t)
}

/// Messages from this many bytes on are written with non-temporal stores: the destination
/// is not read again soon, and bypassing the cache saves the read-for-ownership traffic.
const STREAM_FROM: usize = 1 << 20;

/// Copies `len` bytes with non-temporal stores on x86-64 (an ordinary copy elsewhere), then
/// fences so that the stores are ordered before the release that publishes them.
///
/// # Safety
/// As for [`copy_raw`].
unsafe fn stream_copy(src: *const u8, dst: *mut u8, len: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_sfence, _mm_stream_si128};
        let head = dst.align_offset(16).min(len);
        let body_end = head + (len - head) / 64 * 64;
        // SAFETY: all offsets stay below `len` (caller's contract covers the ranges);
        // `dst + i` is 16-byte aligned for every streamed store, as `_mm_stream_si128`
        // requires, and SSE2 is part of the x86-64 baseline.
        unsafe {
            copy_raw(src, dst, head);
            let mut i = head;
            while i < body_end {
                for k in (0..64).step_by(16) {
                    let v = _mm_loadu_si128(src.add(i + k).cast::<__m128i>());
                    _mm_stream_si128(dst.add(i + k).cast::<__m128i>(), v);
                }
                i += 64;
            }
            copy_raw(src.add(body_end), dst.add(body_end), len - body_end);
            _mm_sfence();
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: caller's contract.
    unsafe {
        copy_raw(src, dst, len)
    };
}

/// Copies `len` bytes between published buffers.
///
/// # Safety
/// Both ranges must be valid and not overlap, and nobody else may write `dst..dst+len`.
unsafe fn copy_raw(src: *const u8, dst: *mut u8, len: usize) {
    if len > 0 {
        // SAFETY: caller's contract.
        unsafe { std::ptr::copy_nonoverlapping(src, dst, len) };
    }
}

impl ThreadsComm {
    fn world(&self) -> &World {
        &self.group.world
    }

    fn world_rank(&self) -> usize {
        self.group.members[self.rank]
    }

    fn slot(&self) -> &Slot {
        &self.group.slots[self.rank]
    }

    /// Marks this rank's code as returned: receives from it (and collectives it never joined)
    /// now fail at once instead of waiting. The launcher calls it.
    pub fn mark_finished(&self) {
        let w = self.world();
        w.finished[self.world_rank()].store(true, Ordering::SeqCst);
        w.wake_all();
    }

    /// The first failure recorded in this world: (world rank, cause).
    pub fn first_failure(&self) -> Option<(usize, String)> {
        lock(&self.world().failure).clone()
    }

    /// The world ranks whose code has not returned yet (see [`ThreadsComm::mark_finished`]).
    pub fn unfinished(&self) -> Vec<usize> {
        let w = self.world();
        (0..w.size)
            .filter(|&r| !w.finished[r].load(Ordering::Acquire))
            .collect()
    }

    /// Where every rank of the world is: `  rank r: finished | running | <what it waits in>`,
    /// one line each (the report of an R0010 timeout).
    pub fn report(&self) -> String {
        self.world().report()
    }

    /// The generic wait: spins, yields, then parks until `poll` is ready. `cancellable` waits
    /// also end on failure, on a watchdog timeout and when `poll` fails; they then call
    /// `retract`, which returns `false` if the operation completed after all (the wait then
    /// succeeds).
    fn wait(
        &self,
        cancellable: bool,
        poll: &mut dyn FnMut(bool) -> Poll,
        retract: &mut dyn FnMut() -> bool,
        what: &dyn Fn() -> String,
    ) -> Result<()> {
        let world = self.world();
        let me = self.world_rank();
        let mut spins = 0u32;
        let mut spin_start: Option<Instant> = None;
        let mut slow = false;
        let mut start: Option<Instant> = None;
        // The watchdog: (progress seen, when it last changed, when to look again).
        let mut watch: Option<(u64, Instant, Instant)> = None;
        let mut described = false;
        let mut carried: Option<Poll> = None;
        let mut nap: Option<Duration> = None;
        let result = loop {
            let mut outcome = match carried.take() {
                Some(p) => p,
                None => poll(slow),
            };
            // A failure takes precedence over what it may have caused (a finished peer).
            if !matches!(outcome, Poll::Ready)
                && cancellable
                && world.failed.load(Ordering::Acquire)
            {
                outcome = Poll::Fail(world.peer_failed());
            }
            match outcome {
                Poll::Ready => break Ok(()),
                Poll::Fail(e) => break if retract() { Err(e) } else { Ok(()) },
                Poll::Pending => {}
            }
            if !slow {
                spins = spins.wrapping_add(1);
                std::hint::spin_loop();
                if spins.is_multiple_of(64)
                    && spin_start.get_or_insert_with(Instant::now).elapsed() >= SPIN_FOR
                {
                    slow = true;
                }
                continue;
            }
            let t0 = *start.get_or_insert_with(Instant::now);
            let elapsed = t0.elapsed();
            let mut park_for = PARK_MAX;
            if cancellable && let Some(limit) = world.watchdog {
                // A deadlock is when no rank completes any communication for `limit`: any
                // rank's progress restarts every waiter's clock, so a rank that works (and
                // communicates) for longer than the limit while others wait is never reported.
                let look = (limit / 4).clamp(PARK_MAX, Duration::from_secs(3600));
                let now = Instant::now();
                let (seen, changed, next) =
                    watch.get_or_insert_with(|| (world.progress(), t0, now + look));
                if now >= *next {
                    let p = world.progress();
                    if p != *seen {
                        *seen = p;
                        *changed = now;
                    }
                    *next = now + look;
                }
                let idle = now.saturating_duration_since(*changed);
                if idle >= limit {
                    if !described {
                        *lock(&world.waits[me]) = Some(what());
                        described = true;
                    }
                    let report = world.report();
                    if retract() {
                        world.fail(
                            me,
                            &format!(
                                "watchdog: rank {me} waited in {} while no rank communicated for {limit:?}",
                                what()
                            ),
                        );
                        break Err(DtlError::Timeout { report });
                    }
                    break Ok(());
                }
                park_for = park_for
                    .min(limit - idle)
                    .min(next.saturating_duration_since(now));
            }
            if elapsed < YIELD_FOR {
                std::thread::yield_now();
                continue;
            }
            if !described {
                *lock(&world.waits[me]) = Some(what());
                described = true;
            }
            if nap.is_none() {
                // Counted as a sleeper for the whole parking phase; see `World::wake`.
                world.sleepers.fetch_add(1, Ordering::SeqCst);
                nap = Some(PARK_FIRST);
            }
            let guard = lock(&world.park);
            let again = poll(true);
            let stop = !matches!(again, Poll::Pending)
                || (cancellable && world.failed.load(Ordering::SeqCst));
            if stop {
                drop(guard);
            } else {
                let d = nap.unwrap_or(PARK_FIRST);
                let _ = world
                    .cv
                    .wait_timeout(guard, d.min(park_for))
                    .unwrap_or_else(PoisonError::into_inner);
                nap = Some((d * 2).min(PARK_MAX));
            }
            carried = Some(again);
        };
        if nap.is_some() {
            world.sleepers.fetch_sub(1, Ordering::SeqCst);
        }
        if described {
            *lock(&world.waits[me]) = None;
        }
        result
    }

    /// Enters a collective: publishes `d` (and this rank's argument error, if any), waits for
    /// every rank, and checks signatures and arguments uniformly. Returns the epoch's view.
    fn arrive(&self, mut d: SlotData, err: Option<DtlError>) -> Result<(Busy<'_>, Arrived<'_>)> {
        let g = &*self.group;
        let world = self.world();
        let slot = self.slot();
        // After a failure nobody may write its slot again (see `unsafe impl Sync for Slot`).
        if world.failed.load(Ordering::Acquire) {
            return Err(world.peer_failed());
        }
        if slot
            .busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return Err(check::concurrent_use(self.rank));
        }
        let busy = Busy(&slot.busy);
        let e = slot.epoch.load(Ordering::Relaxed) + 1;
        let p = (e & 1) as usize;
        d.bad = err.is_some();
        if let Some(err) = err {
            *lock(&slot.err[p]) = Some(err);
        }
        let sig = d.sig;
        let key = d.key;
        // SAFETY: we hold `busy`, the world has not failed, and half `p` is not read by anyone
        // until we publish epoch e (see `unsafe impl Sync for Slot`).
        unsafe { *slot.half[p].data.get() = d };
        slot.epoch.store(e, Ordering::Relaxed);
        slot.half[p].flag.store(e, Ordering::Release);
        world.wake();
        let size = g.size();
        let mut next = 0;
        let res = self.wait(
            true,
            &mut |slow| {
                while next < size && g.slots[next].half[p].flag.load(Ordering::Acquire) >= e {
                    next += 1;
                }
                if next == size {
                    return Poll::Ready;
                }
                // A failure explains a finished peer better than the finished peer does.
                if slow && !world.failed.load(Ordering::Acquire) {
                    for (q, &wr) in g.members.iter().enumerate() {
                        if world.finished[wr].load(Ordering::Acquire)
                            && g.slots[q].epoch.load(Ordering::Relaxed) < e
                        {
                            return Poll::Fail(DtlError::Backend {
                                detail: format!(
                                    "rank {wr} finished without calling {sig} (rank {} waits in it)",
                                    self.world_rank()
                                ),
                            });
                        }
                    }
                }
                Poll::Pending
            },
            // Leaving before everyone arrived is always possible: nobody touches our buffers
            // before the commit phase, and the world fails so we never write the slot again.
            &mut || true,
            &|| format!("{sig} (communicator {}, collective #{e})", g.id),
        );
        if let Err(err) = res {
            if !matches!(err, DtlError::PeerFailed { .. }) {
                world.fail(self.world_rank(), &err.to_string());
            }
            return Err(err);
        }
        let view = Arrived { group: g, p };
        // Signatures first: with different collectives the arguments mean nothing.
        if (0..size).any(|q| view.data(q).key != key) {
            let detail = (0..size)
                .map(|q| format!("rank {q}: {}", view.data(q).sig))
                .collect::<Vec<_>>()
                .join("; ");
            return Err(DtlError::CollectiveMismatch { detail });
        }
        if view.data(self.rank).bad {
            let mine = lock(&slot.err[p]).clone();
            return Err(mine.unwrap_or_else(|| DtlError::invalid("invalid argument")));
        }
        if let Some(q) = (0..size).find(|&q| view.data(q).bad) {
            let theirs = lock(&g.slots[q].err[p]).clone();
            return Err(theirs.unwrap_or_else(|| {
                DtlError::invalid(format!("rank {q} passed an invalid argument to {sig}"))
            }));
        }
        Ok((busy, view))
    }

    /// The commit phase of a large collective, after a successful arrival: a counter that
    /// every rank increments, so that leaving early (retracting the increment) and going on
    /// are decided atomically. On success the returned guard runs the completion phase, and
    /// between the two this rank may touch the other ranks' published buffers.
    fn commit(&self) -> Result<Completion<'_>> {
        let g = &*self.group;
        let world = self.world();
        let slot = self.slot();
        let k = slot.commits.load(Ordering::Relaxed) + 1;
        slot.commits.store(k, Ordering::Relaxed);
        let target = g.size() as u64 * k;
        if g.commit.fetch_add(1, Ordering::AcqRel) + 1 == target {
            world.wake();
        }
        let res = self.wait(
            true,
            &mut |_| {
                if g.commit.load(Ordering::Acquire) >= target {
                    Poll::Ready
                } else {
                    Poll::Pending
                }
            },
            &mut || {
                let mut c = g.commit.load(Ordering::Acquire);
                loop {
                    if c >= target {
                        return false;
                    }
                    match g.commit.compare_exchange_weak(
                        c,
                        c - 1,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    ) {
                        Ok(_) => return true,
                        Err(x) => c = x,
                    }
                }
            },
            &|| format!("committing a collective (communicator {})", g.id),
        );
        if let Err(err) = res {
            if !matches!(err, DtlError::PeerFailed { .. }) {
                world.fail(self.world_rank(), &err.to_string());
            }
            return Err(err);
        }
        Ok(Completion(self))
    }

    /// The completion phase of a large collective: returns when every rank got here.
    fn complete(&self) {
        let g = &*self.group;
        let slot = self.slot();
        let k = slot.done_phases.load(Ordering::Relaxed) + 1;
        slot.done_phases.store(k, Ordering::Relaxed);
        let target = g.size() as u64 * k;
        if g.done.fetch_add(1, Ordering::AcqRel) + 1 == target {
            g.world.wake();
        }
        // Not cancellable: every rank passed the arrival phase and reaches this point without
        // blocking, and until then it may touch our buffers.
        let _ = self.wait(
            false,
            &mut |_| {
                if g.done.load(Ordering::Acquire) >= target {
                    Poll::Ready
                } else {
                    Poll::Pending
                }
            },
            &mut || false,
            &|| format!("completing a collective (communicator {})", g.id),
        );
    }

    fn sig(&self, kind: CollKind, site: Site) -> CollSig {
        CollSig::new(kind, site)
    }

    fn record(&self, kind: CollKind, bytes: usize) {
        self.stats().record_collective(kind, bytes);
    }

    fn check_root(&self, root: usize) -> Option<DtlError> {
        check::root(root, self.size())
    }

    /// The chunk `[lo, hi)` in bytes of `n` units of `unit` bytes that rank `r` of `p` owns.
    fn chunk(n: usize, unit: usize, r: usize, p: usize) -> (usize, usize) {
        let per = ceil_div(n, p);
        let lo = (per * r).min(n);
        let hi = (per * (r + 1)).min(n);
        (lo * unit, hi * unit)
    }

    /// Reduces bytes `[lo, hi)` of every rank's send buffer (rank order) into `dst`, which is
    /// `hi - lo` bytes long.
    fn reduce_range(
        view: &Arrived<'_>,
        size: usize,
        dtype: DType,
        op: ReduceOp,
        lo: usize,
        dst: &mut [u8],
    ) -> Result<()> {
        let hi = lo + dst.len();
        // SAFETY: within the epoch, before the completion phase (every caller runs under a
        // Completion guard); the send buffers were checked to be `count` units long.
        unsafe {
            dst.copy_from_slice(&view.data(0).send_slice()[lo..hi]);
            for q in 1..size {
                ops::reduce_into(dtype, op, dst, &view.data(q).send_slice()[lo..hi])?;
            }
        }
        Ok(())
    }

    fn reduce_small(
        view: &Arrived<'_>,
        upto: usize,
        dtype: DType,
        op: ReduceOp,
        out: &mut [u8],
    ) -> Result<()> {
        let n = out.len();
        out.copy_from_slice(&view.data(0).small[..n]);
        for q in 1..upto {
            ops::reduce_into(dtype, op, out, &view.data(q).small[..n])?;
        }
        Ok(())
    }

    fn p2p_wait_desc(&self, verb: &str, source: Source, tag: TagSel) -> String {
        let s = match source {
            Source::Rank(r) => format!("rank {r}"),
            Source::Any => "any rank".into(),
        };
        let t = match tag {
            TagSel::Tag(t) => format!("tag {t}"),
            TagSel::Any => "any tag".into(),
        };
        format!("{verb} from {s}, {t} (communicator {})", self.group.id)
    }

    fn check_source(&self, source: Source, tag: TagSel) -> Result<()> {
        if let Source::Rank(s) = source {
            check::rank(s, self.size(), "source rank")?;
        }
        if let TagSel::Tag(t) = tag {
            check::tag(t)?;
        }
        Ok(())
    }

    fn matches(m: &Msg, source: Source, tag: TagSel) -> bool {
        (match source {
            Source::Rank(s) => m.source == s,
            Source::Any => true,
        }) && (match tag {
            TagSel::Tag(t) => m.tag == t,
            TagSel::Any => true,
        })
    }

    /// Whether no matching message can ever arrive: the source (every other rank for
    /// `Source::Any`) has finished, or it is this rank itself.
    fn source_gone(&self, source: Source) -> bool {
        let w = self.world();
        let gone =
            |q: usize| q == self.rank || w.finished[self.group.members[q]].load(Ordering::Acquire);
        match source {
            Source::Rank(s) => gone(s),
            Source::Any => (0..self.size()).all(gone),
        }
    }

    /// Receives or probes: waits for the first matching message; `take` moves it into `buf`.
    fn p2p_wait(&self, buf: Option<&mut [u8]>, source: Source, tag: TagSel) -> Result<Status> {
        self.check_source(source, tag)?;
        let mbox = &self.group.boxes[self.rank];
        let mut found: Option<Status> = None;
        let mut buf = buf;
        let verb = if buf.is_some() { "recv" } else { "probe" };
        let mut try_take = |gone_check: bool| -> Poll {
            // Read "gone" before looking, so a message sent just before the source finished is
            // still found.
            let gone = gone_check
                && !self.world().failed.load(Ordering::Acquire)
                && self.source_gone(source);
            let mut q = lock(mbox);
            let Some(i) = q.iter().position(|m| Self::matches(m, source, tag)) else {
                return if gone {
                    Poll::Fail(DtlError::Backend {
                        detail: format!(
                            "{} can never complete: the sender has finished (or is this rank) without a matching message",
                            self.p2p_wait_desc(verb, source, tag)
                        ),
                    })
                } else {
                    Poll::Pending
                };
            };
            let m = &q[i];
            let st = Status {
                source: m.source,
                tag: m.tag,
                bytes: m.data.len(),
            };
            if let Some(b) = buf.as_deref_mut() {
                if m.data.len() > b.len() {
                    return Poll::Fail(check::too_long(m.data.len(), m.source, m.tag, b.len()));
                }
                b[..m.data.len()].copy_from_slice(&m.data);
                q.remove(i);
            }
            found = Some(st);
            Poll::Ready
        };
        self.wait(true, &mut try_take, &mut || true, &|| {
            self.p2p_wait_desc(verb, source, tag)
        })?;
        found.ok_or_else(|| DtlError::Backend {
            detail: "receive completed without a message".into(),
        })
    }

    /// Builds the communicator of the ranks with `color`, ordered by (key, rank), after an
    /// exchange of (color, key) through the slots.
    fn split_impl(&self, kind: CollKind, color: i32, key: i32, site: Site) -> Result<CommRef> {
        let mut d = SlotData::new(self.sig(kind, site));
        d.words = [color as i64, key as i64];
        let (_busy, view) = self.arrive(d, None)?;
        let g = &*self.group;
        let mut mine: Vec<(i64, usize)> = (0..g.size())
            .filter(|&q| view.data(q).words[0] == color as i64)
            .map(|q| (view.data(q).words[1], q))
            .collect();
        mine.sort_unstable();
        let new_rank = mine
            .iter()
            .position(|&(_, q)| q == self.rank)
            .ok_or_else(|| DtlError::Backend {
                detail: "split: this rank is missing from its own color".into(),
            })?;
        let e = self.slot().epoch.load(Ordering::Relaxed);
        let members: Vec<usize> = mine.iter().map(|&(_, q)| g.members[q]).collect();
        let n = members.len();
        let child = {
            let mut reg = lock(&g.splits);
            let entry = reg
                .entry((e, color))
                .or_insert_with(|| (Arc::new(Group::new(g.world.clone(), members)), n));
            let child = entry.0.clone();
            entry.1 -= 1;
            if entry.1 == 0 {
                reg.remove(&(e, color));
            }
            child
        };
        self.record(kind, 0);
        Ok(Arc::new(ThreadsComm {
            group: child,
            rank: new_rank,
            name: self.name,
        }))
    }
}

impl Comm for ThreadsComm {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.group.size()
    }

    fn backend(&self) -> &'static str {
        self.name
    }

    fn stats(&self) -> &Stats {
        &self.world().stats[self.world_rank()]
    }

    fn barrier(&self, site: Site) -> Result<()> {
        let _ = self.arrive(SlotData::new(self.sig(CollKind::Barrier, site)), None)?;
        self.record(CollKind::Barrier, 0);
        Ok(())
    }

    fn broadcast(&self, buf: &mut [u8], dtype: DType, root: usize, site: Site) -> Result<()> {
        let mut sig = self.sig(CollKind::Broadcast, site);
        sig.dtype = Some(dtype);
        sig.root = Some(root);
        sig.count = Some(buf.len() / dtype.size());
        let err = self
            .check_root(root)
            .or_else(|| check::whole(buf.len(), dtype, "broadcast").err());
        let len = buf.len();
        let ptr = buf.as_mut_ptr();
        let mut d = SlotData::new(sig).with_recv(ptr, len);
        if self.rank == root {
            d = d.with_send(buf);
        }
        let (_busy, view) = self.arrive(d, err)?;
        self.record(CollKind::Broadcast, if self.rank == root { len } else { 0 });
        if len <= SMALL {
            if self.rank != root {
                buf.copy_from_slice(&view.data(root).small[..len]);
            }
            return Ok(());
        }
        let _done = self.commit()?;
        if self.rank != root {
            // SAFETY: the root's buffer holds `len` bytes (matching counts) and stays borrowed
            // until the completion phase; ours is a distinct allocation we hold exclusively.
            unsafe {
                if len >= STREAM_FROM {
                    stream_copy(view.data(root).send, ptr, len)
                } else {
                    copy_raw(view.data(root).send, ptr, len)
                }
            };
        }
        Ok(())
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
        let (count, err) =
            check::reduction(send, is_root.then_some(recv.len()), dtype, op, "reduce");
        let err = self.check_root(root).or(err);
        let mut sig = self.sig(CollKind::Reduce, site);
        sig.dtype = Some(dtype);
        sig.op = Some(op);
        sig.root = Some(root);
        sig.count = Some(count);
        let recv_len = recv.len();
        let rptr = recv.as_mut_ptr();
        let d = SlotData::new(sig).with_send(send).with_recv(rptr, recv_len);
        let (_busy, view) = self.arrive(d, err)?;
        self.record(CollKind::Reduce, send.len());
        let size = self.size();
        if send.len() <= SMALL {
            if is_root {
                Self::reduce_small(&view, size, dtype, op, recv)?;
            }
            return Ok(());
        }
        let _done = self.commit()?;
        let unit = ops::unit_size(dtype, op);
        let (lo, hi) = Self::chunk(count, unit, self.rank, size);
        if hi > lo {
            // SAFETY: disjoint chunk [lo, hi) of root's receive buffer (same length as every
            // send buffer, checked on root), written only by this rank during this epoch.
            let dst =
                unsafe { std::slice::from_raw_parts_mut(view.data(root).recv.add(lo), hi - lo) };
            Self::reduce_range(&view, size, dtype, op, lo, dst)?;
        }
        Ok(())
    }

    fn allreduce(
        &self,
        send: &[u8],
        recv: &mut [u8],
        dtype: DType,
        op: ReduceOp,
        site: Site,
    ) -> Result<()> {
        let (count, err) = check::reduction(send, Some(recv.len()), dtype, op, "allreduce");
        let mut sig = self.sig(CollKind::Allreduce, site);
        sig.dtype = Some(dtype);
        sig.op = Some(op);
        sig.count = Some(count);
        let len = recv.len();
        let rptr = recv.as_mut_ptr();
        let d = SlotData::new(sig).with_send(send).with_recv(rptr, len);
        let (_busy, view) = self.arrive(d, err)?;
        self.record(CollKind::Allreduce, send.len());
        let size = self.size();
        if send.len() <= SMALL {
            return Self::reduce_small(&view, size, dtype, op, recv);
        }
        let _done = self.commit()?;
        let unit = ops::unit_size(dtype, op);
        let (lo, hi) = Self::chunk(count, unit, self.rank, size);
        let block = (BLOCK / unit).max(1) * unit;
        // Large messages are reduced block by block into a cache-resident scratch buffer and
        // streamed out to every rank; smaller ones are reduced in place in our buffer.
        let mut scratch = if len >= STREAM_FROM {
            vec![0u8; block.min(hi - lo)]
        } else {
            Vec::new()
        };
        let mut a = lo;
        while a < hi {
            let b = (a + block).min(hi);
            if scratch.is_empty() {
                // SAFETY: [a, b) lies in this rank's chunk of its own receive buffer, which
                // only this rank writes during this epoch (others write their own chunks).
                let mine = unsafe { std::slice::from_raw_parts_mut(rptr.add(a), b - a) };
                Self::reduce_range(&view, size, dtype, op, a, mine)?;
                for q in (0..size).filter(|&q| q != self.rank) {
                    // SAFETY: rank q's receive buffer has `len` bytes (matching counts); chunk
                    // [a, b) of it is written only by this rank during this epoch.
                    unsafe { copy_raw(rptr.add(a), view.data(q).recv.add(a), b - a) };
                }
            } else {
                let tmp = &mut scratch[..b - a];
                Self::reduce_range(&view, size, dtype, op, a, tmp)?;
                for q in 0..size {
                    // SAFETY: as above, for every rank including this one.
                    unsafe { stream_copy(tmp.as_ptr(), view.data(q).recv.add(a), b - a) };
                }
            }
            a = b;
        }
        Ok(())
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
        let size = self.size();
        let err = self
            .check_root(root)
            .or_else(|| check::whole(send.len(), dtype, "gatherv").err())
            .or_else(|| {
                is_root
                    .then(|| {
                        root_counts_error(counts, size, dtype, recv.len(), "gatherv", "receive")
                    })
                    .flatten()
            });
        let mut sig = self.sig(CollKind::Gatherv, site);
        sig.dtype = Some(dtype);
        sig.root = Some(root);
        let rlen = recv.len();
        let rptr = recv.as_mut_ptr();
        let mut d = SlotData::new(sig).with_send(send);
        if is_root {
            d = d.with_recv(rptr, rlen).with_counts(counts);
        }
        let (_busy, view) = self.arrive(d, err)?;
        self.record(CollKind::Gatherv, send.len());
        // Variable counts always take the pointer path: every rank reads the root's counts,
        // which stay valid until the root passes the completion phase.
        let _done = self.commit()?;
        let sz = dtype.size();
        // SAFETY: the root's counts stay borrowed by its call until the completion phase.
        let rc = unsafe { view.data(root).counts() };
        if let Some(q) = (0..size).find(|&q| rc[q].checked_mul(sz) != Some(view.data(q).send_len)) {
            return Err(DtlError::invalid(format!(
                "gatherv: rank {q} sends {} bytes but root {root} expects {} elements from it",
                view.data(q).send_len,
                rc[q]
            )));
        }
        let off: usize = rc[..self.rank].iter().sum::<usize>() * sz;
        // SAFETY: root's receive buffer holds sum(counts) elements (checked on root); our block
        // [off, off + send.len()) is written only by us, before the completion phase.
        unsafe { copy_raw(send.as_ptr(), view.data(root).recv.add(off), send.len()) };
        Ok(())
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
        let size = self.size();
        let err = self
            .check_root(root)
            .or_else(|| check::whole(recv.len(), dtype, "scatterv").err())
            .or_else(|| {
                is_root
                    .then(|| root_counts_error(counts, size, dtype, send.len(), "scatterv", "send"))
                    .flatten()
            });
        let mut sig = self.sig(CollKind::Scatterv, site);
        sig.dtype = Some(dtype);
        sig.root = Some(root);
        let rlen = recv.len();
        let mut d = SlotData::new(sig).with_recv(recv.as_mut_ptr(), rlen);
        if is_root {
            d = d.with_send(send).with_counts(counts);
        }
        let (_busy, view) = self.arrive(d, err)?;
        self.record(CollKind::Scatterv, send.len());
        let _done = self.commit()?;
        let sz = dtype.size();
        // SAFETY: the root's counts and send buffer stay borrowed until the completion phase.
        let rc = unsafe { view.data(root).counts() };
        if let Some(q) = (0..size).find(|&q| rc[q].checked_mul(sz) != Some(view.data(q).recv_len)) {
            return Err(DtlError::invalid(format!(
                "scatterv: rank {q} receives {} bytes but root {root} sends it {} elements",
                view.data(q).recv_len,
                rc[q]
            )));
        }
        let off: usize = rc[..self.rank].iter().sum::<usize>() * sz;
        // SAFETY: root's send buffer holds sum(counts) elements (checked on root) and stays
        // borrowed until the completion phase; `recv` is ours.
        unsafe { copy_raw(view.data(root).send.add(off), recv.as_mut_ptr(), rlen) };
        Ok(())
    }

    fn allgatherv(
        &self,
        send: &[u8],
        recv: &mut [u8],
        counts: &[usize],
        dtype: DType,
        site: Site,
    ) -> Result<()> {
        let size = self.size();
        let sz = dtype.size();
        let err = check::counts(counts, size, recv.len(), "allgatherv", "receive", || {
            total_bytes(counts, sz, "allgatherv counts")
        })
        .or_else(|| check::allgatherv_own(self.rank, counts, dtype, send.len()));
        let mut sig = self.sig(CollKind::Allgatherv, site);
        sig.dtype = Some(dtype);
        let d = SlotData::new(sig).with_send(send).with_counts(counts);
        let (_busy, view) = self.arrive(d, err)?;
        self.record(CollKind::Allgatherv, send.len());
        let _done = self.commit()?;
        // SAFETY: every rank's counts and send buffer stay borrowed until the completion phase.
        let c0 = unsafe { view.data(0).counts() };
        if let Some(q) = (1..size).find(|&q| unsafe { view.data(q).counts() } != c0) {
            return Err(DtlError::invalid(format!(
                "allgatherv: rank {q} passed different counts than rank 0"
            )));
        }
        let mut off = 0;
        for q in 0..size {
            // SAFETY: as above.
            let src = unsafe { view.data(q).send_slice() };
            recv[off..off + src.len()].copy_from_slice(src);
            off += src.len();
        }
        Ok(())
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
        let size = self.size();
        let sz = dtype.size();
        let check = |c: &[usize], len: usize, what: &str| -> Option<DtlError> {
            if c.len() != size {
                return Some(DtlError::invalid(format!(
                    "alltoallv: {} {what} counts for {size} ranks",
                    c.len()
                )));
            }
            match total_bytes(c, sz, "alltoallv counts") {
                Ok(t) if t != len => Some(DtlError::invalid(format!(
                    "alltoallv: {what} counts total {t} bytes but the {what} buffer has {len}"
                ))),
                Ok(_) => None,
                Err(e) => Some(e),
            }
        };
        let err = check(send_counts, send.len(), "send")
            .or_else(|| check(recv_counts, recv.len(), "receive"));
        let mut sig = self.sig(CollKind::Alltoallv, site);
        sig.dtype = Some(dtype);
        let d = SlotData::new(sig)
            .with_send(send)
            .with_counts(send_counts)
            .with_counts2(recv_counts);
        let (_busy, view) = self.arrive(d, err)?;
        self.record(CollKind::Alltoallv, send.len());
        let _done = self.commit()?;
        // SAFETY (all reads below): every rank's counts and send buffer stay borrowed until the
        // completion phase.
        for q in 0..size {
            let sc = unsafe { view.data(q).counts() };
            for (k, &n) in sc.iter().enumerate() {
                let rc = unsafe { view.data(k).counts2() };
                if rc[q] != n {
                    return Err(DtlError::invalid(format!(
                        "alltoallv: rank {q} sends {n} elements to rank {k}, which expects {}",
                        rc[q]
                    )));
                }
            }
        }
        let mut roff = 0;
        for q in 0..size {
            let sc = unsafe { view.data(q).counts() };
            let off = sc[..self.rank].iter().sum::<usize>() * sz;
            let n = sc[self.rank] * sz;
            let src = unsafe { view.data(q).send_slice() };
            recv[roff..roff + n].copy_from_slice(&src[off..off + n]);
            roff += n;
        }
        Ok(())
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
        let (count, err) = check::reduction(send, Some(recv.len()), dtype, op, "scan");
        let mut sig = self.sig(kind, site);
        sig.dtype = Some(dtype);
        sig.op = Some(op);
        sig.count = Some(count);
        let d = SlotData::new(sig).with_send(send);
        let (_busy, view) = self.arrive(d, err)?;
        self.record(kind, send.len());
        let upto = if exclusive { self.rank } else { self.rank + 1 };
        if send.len() <= SMALL {
            if upto > 0 {
                Self::reduce_small(&view, upto, dtype, op, recv)?;
            }
            return Ok(());
        }
        let _done = self.commit()?;
        if upto > 0 {
            // SAFETY: within the epoch, before the completion phase.
            unsafe {
                recv.copy_from_slice(view.data(0).send_slice());
                for q in 1..upto {
                    ops::reduce_into(dtype, op, recv, view.data(q).send_slice())?;
                }
            }
        }
        Ok(())
    }

    fn send(&self, buf: &[u8], dest: usize, tag: i32) -> Result<()> {
        let dest = check::rank(dest, self.size(), "destination rank")?;
        check::tag(tag)?;
        let msg = Msg {
            source: self.rank,
            tag,
            data: buf.to_vec(),
        };
        lock(&self.group.boxes[dest]).push_back(msg);
        self.stats().record_send(buf.len());
        self.world().wake();
        Ok(())
    }

    fn recv(&self, buf: &mut [u8], source: Source, tag: TagSel) -> Result<Status> {
        let st = self.p2p_wait(Some(buf), source, tag)?;
        self.stats().record_recv(st.bytes);
        Ok(st)
    }

    fn probe(&self, source: Source, tag: TagSel) -> Result<Status> {
        self.p2p_wait(None, source, tag)
    }

    fn iprobe(&self, source: Source, tag: TagSel) -> Result<Option<Status>> {
        self.check_source(source, tag)?;
        let q = lock(&self.group.boxes[self.rank]);
        Ok(q.iter()
            .find(|m| Self::matches(m, source, tag))
            .map(|m| Status {
                source: m.source,
                tag: m.tag,
                bytes: m.data.len(),
            }))
    }

    fn split(&self, color: i32, key: i32, site: Site) -> Result<CommRef> {
        self.split_impl(CollKind::Split, color, key, site)
    }

    fn dup(&self, site: Site) -> Result<CommRef> {
        self.split_impl(CollKind::Dup, 0, self.rank as i32, site)
    }

    unsafe fn win_create(&self, base: *mut u8, len_bytes: usize, site: Site) -> Result<WinId> {
        let mut d = SlotData::new(self.sig(CollKind::WinCreate, site));
        d.recv = base;
        d.recv_len = len_bytes;
        let err = check::win_create(base, len_bytes);
        let (_busy, view) = self.arrive(d, err)?;
        let g = &*self.group;
        let e = self.slot().epoch.load(Ordering::Relaxed);
        let win = {
            let mut reg = lock(&g.creating);
            let entry = reg.entry(e).or_insert_with(|| {
                let targets = (0..g.size())
                    .map(|q| (view.data(q).recv, view.data(q).recv_len))
                    .collect();
                let id = g.world.next_id.fetch_add(1, Ordering::Relaxed);
                let w = Arc::new(Window::new(id, targets));
                g.windows
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(id, w.clone());
                (w, g.size())
            });
            let w = entry.0.clone();
            entry.1 -= 1;
            if entry.1 == 0 {
                reg.remove(&e);
            }
            w
        };
        self.record(CollKind::WinCreate, 0);
        Ok(WinId(win.id))
    }

    fn win_free(&self, win: WinId, site: Site) -> Result<()> {
        let w = self.group.window(win);
        let sync = self.arrive(
            SlotData::new(self.sig(CollKind::WinFree, site)),
            w.as_ref().err().cloned(),
        );
        // Whatever happened, our memory must be unreachable once we return.
        if let Ok(w) = &w {
            w.revoke(self.rank);
        }
        drop(sync?);
        self.group
            .windows
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&win.0);
        self.record(CollKind::WinFree, 0);
        Ok(())
    }

    fn win_fence(&self, win: WinId, site: Site) -> Result<()> {
        let err = self.group.window(win).err();
        drop(self.arrive(SlotData::new(self.sig(CollKind::WinFence, site)), err)?);
        self.record(CollKind::WinFence, 0);
        Ok(())
    }

    fn win_get(&self, win: WinId, target: usize, offset: usize, buf: &mut [u8]) -> Result<()> {
        self.group.window(win)?.get(target, offset, buf)?;
        self.stats().record_rma(buf.len());
        Ok(())
    }

    fn win_put(&self, win: WinId, target: usize, offset: usize, buf: &[u8]) -> Result<()> {
        self.group.window(win)?.put(target, offset, buf)?;
        self.stats().record_rma(buf.len());
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
        self.group
            .window(win)?
            .accumulate(target, offset, buf, dtype, op)?;
        self.stats().record_rma(buf.len());
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
        self.group
            .window(win)?
            .fetch_op(target, offset, operand, result, dtype, op)?;
        self.stats().record_rma(operand.len());
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
        self.group
            .window(win)?
            .compare_and_swap(target, offset, compare, swap, result, dtype)?;
        self.stats().record_rma(swap.len());
        Ok(())
    }

    fn win_flush(&self, win: WinId, target: Option<usize>) -> Result<()> {
        // One-sided operations complete before they return, so a flush only validates.
        self.group.window(win)?;
        if let Some(t) = target {
            check::rank(t, self.size(), "target rank")?;
        }
        Ok(())
    }

    fn abort(&self, cause: &str) {
        self.world().fail(self.world_rank(), cause);
    }

    fn stop_word(&self) -> &StopWord {
        &self.world().stop
    }

    fn stop_error(&self) -> DtlError {
        let w = self.world();
        if w.stop.get() & stop::INTERRUPTED != 0 {
            DtlError::Interrupted
        } else {
            w.peer_failed()
        }
    }
}

/// Checks a root's `counts` (one per rank) against the byte length of its `buf_name` buffer.
fn root_counts_error(
    counts: &[usize],
    size: usize,
    dtype: DType,
    buf_len: usize,
    what: &str,
    buf_name: &str,
) -> Option<DtlError> {
    check::counts(counts, size, buf_len, what, buf_name, || {
        total_bytes(counts, dtype.size(), what)
    })
}
