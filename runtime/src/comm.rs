//! The communication interface: one object-safe trait that every backend implements.
//!
//! Buffers cross this interface as bytes plus a [`DType`], the way MPI sees them, so the trait
//! stays object-safe (`Arc<dyn Comm>` is what containers, the JIT and Python hold) and the MPI
//! backend maps onto it one call to one call. The typed layer for Rust users is [`CommExt`].
//!
//! ## Contracts
//! *Collective* methods must be called by every rank of the communicator, in the same order,
//! with matching signatures ([`CollSig`]): the same kind, dtype, operator and root, and the
//! same count where the doc says so. A backend that can see a mismatch (the threads backend
//! always can) returns [`DtlError::CollectiveMismatch`] (R0003) on every rank instead of
//! deadlocking. *Blocking* methods return only when their buffers may be reused.
//! Every blocking wait is released with [`DtlError::PeerFailed`] (R0011) when another rank has
//! failed, and with [`DtlError::Timeout`] (R0010) when it exceeds the watchdog limit.
//!
//! Counts and offsets are in elements of the given dtype unless a name says `bytes`.

mod check;
pub mod local;
#[cfg(feature = "mpi")]
pub mod mpi;
pub mod threads;

use std::sync::Arc;

use crate::elem::{DType, Element, ReduceOp, as_bytes, as_bytes_mut};
use crate::error::{DtlError, Result, Site};
use crate::stats::Stats;

/// A shared handle to a communicator, as containers, the JIT and Python hold it.
pub type CommRef = Arc<dyn Comm>;

/// The kind of a collective call, part of its signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CollKind {
    Barrier,
    Broadcast,
    Reduce,
    Allreduce,
    Gatherv,
    Scatterv,
    Allgatherv,
    Alltoallv,
    Scan,
    Exscan,
    Split,
    Dup,
    WinCreate,
    WinFence,
    WinFree,
}

/// What a rank declares when it enters a collective; all ranks must declare equal signatures.
/// `count` is `Some` only where the count must match across ranks (e.g. allreduce, broadcast).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CollSig {
    pub kind: CollKind,
    pub dtype: Option<DType>,
    pub op: Option<ReduceOp>,
    pub root: Option<usize>,
    pub count: Option<usize>,
    /// Where the collective was called from; not compared, only reported.
    pub site: Site,
}

impl CollSig {
    pub fn new(kind: CollKind, site: Site) -> Self {
        CollSig {
            kind,
            dtype: None,
            op: None,
            root: None,
            count: None,
            site,
        }
    }

    /// Whether two signatures describe the same collective (the site is not compared).
    pub fn matches(&self, other: &CollSig) -> bool {
        self.kind == other.kind
            && self.dtype == other.dtype
            && self.op == other.op
            && self.root == other.root
            && self.count == other.count
    }
}

impl std::fmt::Display for CollSig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.kind)?;
        let mut parts = Vec::new();
        if let Some(d) = self.dtype {
            parts.push(d.name().to_string());
        }
        if let Some(o) = self.op {
            parts.push(o.name().to_string());
        }
        if let Some(r) = self.root {
            parts.push(format!("root {r}"));
        }
        if let Some(c) = self.count {
            parts.push(format!("count {c}"));
        }
        if !parts.is_empty() {
            write!(f, "({})", parts.join(", "))?;
        }
        if self.site.is_known() {
            write!(f, " at {}", self.site)?;
        }
        Ok(())
    }
}

/// Source selector for receives and probes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Rank(usize),
    Any,
}

/// Tag selector for receives and probes. Tags are non-negative.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagSel {
    Tag(i32),
    Any,
}

/// What a receive or probe found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    pub source: usize,
    pub tag: i32,
    /// Length of the message in bytes.
    pub bytes: usize,
}

/// A one-sided window handle, created collectively by [`Comm::win_create`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WinId(pub u64);

/// One read of [`Comm::win_get_many`]: `buf.len()` bytes at byte `offset` of `target`'s
/// memory in window `win`.
#[derive(Debug)]
pub struct WinRead<'a> {
    pub win: WinId,
    pub target: usize,
    pub offset: usize,
    pub buf: &'a mut [u8],
}

/// The communication interface. See the module docs for the collective contract.
pub trait Comm: Send + Sync {
    /// This rank, in `0..size()`. Local, non-blocking.
    fn rank(&self) -> usize;
    /// Number of ranks. Local, non-blocking; uniform.
    fn size(&self) -> usize;
    /// Backend name (`"local"`, `"threads"`, `"mpi"`).
    fn backend(&self) -> &'static str;
    /// This rank's counters.
    fn stats(&self) -> &Stats;

    /// Collective, blocking. Returns when every rank has entered.
    fn barrier(&self, site: Site) -> Result<()>;

    /// Collective, blocking: `buf` on `root` is copied into `buf` on every rank.
    /// Must match: dtype, root, count (`buf.len()`).
    fn broadcast(&self, buf: &mut [u8], dtype: DType, root: usize, site: Site) -> Result<()>;

    /// Collective, blocking: elementwise `op` over every rank's `send`, result in `recv` on
    /// `root` (`recv` is untouched elsewhere). `send.len() == recv.len()` on root.
    /// Must match: dtype, op, root, count. For `MinLoc`/`MaxLoc` the buffers hold `LocPair`s.
    fn reduce(
        &self,
        send: &[u8],
        recv: &mut [u8],
        dtype: DType,
        op: ReduceOp,
        root: usize,
        site: Site,
    ) -> Result<()>;

    /// Collective, blocking: elementwise `op` over every rank's `send`, result in every
    /// rank's `recv` (same length). Must match: dtype, op, count.
    fn allreduce(
        &self,
        send: &[u8],
        recv: &mut [u8],
        dtype: DType,
        op: ReduceOp,
        site: Site,
    ) -> Result<()>;

    /// Collective, blocking: rank r's `send` (counts[r] elements) lands at offset
    /// `sum(counts[..r])` of `recv` on `root`. `counts` and `recv` matter only on root, where
    /// `counts.len() == size()` and `recv.len()` is the total. Must match: dtype, root.
    fn gatherv(
        &self,
        send: &[u8],
        recv: &mut [u8],
        counts: &[usize],
        dtype: DType,
        root: usize,
        site: Site,
    ) -> Result<()>;

    /// Collective, blocking: the inverse of gatherv; root's `send` is cut by `counts` (root
    /// only) and rank r receives `counts[r]` elements into `recv` (whose length must equal it).
    /// Must match: dtype, root.
    fn scatterv(
        &self,
        send: &[u8],
        counts: &[usize],
        recv: &mut [u8],
        dtype: DType,
        root: usize,
        site: Site,
    ) -> Result<()>;

    /// Collective, blocking: every rank receives every rank's `send`, concatenated in rank
    /// order; `counts` (length `size()`, identical on all ranks) gives each rank's count.
    /// Must match: dtype.
    fn allgatherv(
        &self,
        send: &[u8],
        recv: &mut [u8],
        counts: &[usize],
        dtype: DType,
        site: Site,
    ) -> Result<()>;

    /// Collective, blocking: block k of `send` (`send_counts[k]` elements) goes to rank k,
    /// arriving as block r (this rank) of k's `recv`. `recv_counts[k]` must equal what rank k
    /// sends here. Must match: dtype.
    fn alltoallv(
        &self,
        send: &[u8],
        send_counts: &[usize],
        recv: &mut [u8],
        recv_counts: &[usize],
        dtype: DType,
        site: Site,
    ) -> Result<()>;

    /// Collective, blocking: prefix reduction over ranks, elementwise. Inclusive gives rank r
    /// the combination of ranks 0..=r; exclusive of ranks 0..r, and leaves rank 0's `recv`
    /// untouched (callers pre-fill it with the identity they want). Must match: dtype, op,
    /// count, exclusive.
    fn scan(
        &self,
        send: &[u8],
        recv: &mut [u8],
        dtype: DType,
        op: ReduceOp,
        exclusive: bool,
        site: Site,
    ) -> Result<()>;

    /// Point-to-point, blocking until `buf` may be reused (the threads backend copies, so
    /// this never waits for the receiver). `dest` out of range is R0004, at once.
    fn send(&self, buf: &[u8], dest: usize, tag: i32) -> Result<()>;

    /// Point-to-point, blocking: receives the first matching message (in send order per
    /// source) into `buf`; a message longer than `buf` is R0009. Returns its status.
    /// Waiting on a rank that has already finished without a matching message is an error.
    fn recv(&self, buf: &mut [u8], source: Source, tag: TagSel) -> Result<Status>;

    /// Blocking: like `recv` but returns the status of the first matching message without
    /// receiving it.
    fn probe(&self, source: Source, tag: TagSel) -> Result<Status>;

    /// Non-blocking probe.
    fn iprobe(&self, source: Source, tag: TagSel) -> Result<Option<Status>>;

    /// Collective: a new communicator of the ranks with the same `color`, ordered by
    /// (`key`, old rank). Must match: nothing beyond the call itself.
    fn split(&self, color: i32, key: i32, site: Site) -> Result<CommRef>;

    /// Collective: a communicator with the same group and separate message/collective spaces.
    fn dup(&self, site: Site) -> Result<CommRef>;

    /// Collective: exposes `len_bytes` bytes at `base` on this rank to one-sided access by
    /// every rank. Lengths may differ across ranks.
    ///
    /// # Safety
    /// `base..base+len_bytes` must stay valid (neither freed nor moved) until `win_free`, and
    /// while the window lives the memory may be read and written by other ranks between
    /// synchronisation points; local accesses that conflict with remote ones between two
    /// fences race, as in MPI.
    unsafe fn win_create(&self, base: *mut u8, len_bytes: usize, site: Site) -> Result<WinId>;

    /// Collective: destroys the window after every rank's pending operations complete.
    fn win_free(&self, win: WinId, site: Site) -> Result<()>;

    /// Collective: completes all one-sided operations on `win` and makes them visible.
    fn win_fence(&self, win: WinId, site: Site) -> Result<()>;

    /// One-sided read of `buf.len()` bytes at byte offset `offset` of `target`'s window.
    /// Bounds are checked (R0001); a bad target is R0004.
    fn win_get(&self, win: WinId, target: usize, offset: usize, buf: &mut [u8]) -> Result<()>;

    /// Several one-sided reads, each as [`Comm::win_get`], that a backend may overlap: the MPI
    /// backend issues them all and then waits once, so reading a few values of one rank costs
    /// one round trip instead of one per value (the distributed map reads a slot's state, key
    /// and value this way). On an error some reads may have happened.
    fn win_get_many(&self, reads: &mut [WinRead<'_>]) -> Result<()> {
        for r in reads {
            self.win_get(r.win, r.target, r.offset, r.buf)?;
        }
        Ok(())
    }

    /// One-sided write; visible to the target at the next fence or barrier.
    fn win_put(&self, win: WinId, target: usize, offset: usize, buf: &[u8]) -> Result<()>;

    /// One-sided elementwise `target[offset..] = op(target[offset..], buf)`, atomic per element
    /// with respect to other accumulate / fetch_op / compare_and_swap calls.
    fn win_accumulate(
        &self,
        win: WinId,
        target: usize,
        offset: usize,
        buf: &[u8],
        dtype: DType,
        op: ReduceOp,
    ) -> Result<()>;

    /// One-sided atomic read-modify-write of one element: `result` gets the old value, the
    /// target gets `op(old, operand)`.
    #[expect(clippy::too_many_arguments, reason = "mirrors MPI_Fetch_and_op")]
    fn win_fetch_op(
        &self,
        win: WinId,
        target: usize,
        offset: usize,
        operand: &[u8],
        result: &mut [u8],
        dtype: DType,
        op: ReduceOp,
    ) -> Result<()>;

    /// One-sided atomic compare-and-swap of one element: if the target equals `compare` it
    /// becomes `swap`; `result` gets the old value either way.
    #[expect(clippy::too_many_arguments, reason = "mirrors MPI_Compare_and_swap")]
    fn win_compare_and_swap(
        &self,
        win: WinId,
        target: usize,
        offset: usize,
        compare: &[u8],
        swap: &[u8],
        result: &mut [u8],
        dtype: DType,
    ) -> Result<()>;

    /// Local: completes this rank's one-sided operations to `target` (all targets if None).
    fn win_flush(&self, win: WinId, target: Option<usize>) -> Result<()>;

    /// Marks this rank as failed with `cause`, releasing every other rank's waits with
    /// R0011. Used by launchers when a rank's code returns an error or panics.
    fn abort(&self, cause: &str);

    /// The word generated code polls at loop heads to stop early ([`crate::stop`]). Local,
    /// non-blocking. The default is a word that is never set.
    fn stop_word(&self) -> &crate::stop::StopWord {
        &crate::stop::NEVER
    }

    /// Whether [`Comm::call_begin`] / [`Comm::call_end`] can turn a failure inside collective
    /// code into an error on every rank (MPI). Where not, a failing rank aborts the
    /// communicator ([`Comm::abort`]) as usual.
    fn recoverable(&self) -> bool {
        false
    }

    /// Collective: starts a *recoverable call* of collective code (a kernel called from a host
    /// program) on every rank. Only where [`Comm::recoverable`]; a no-op elsewhere.
    fn call_begin(&self) -> Result<()> {
        Ok(())
    }

    /// Collective: ends a recoverable call. `failure` is this rank's failure, if any: whether
    /// it is an echo of a peer's (R0011) and its full message. Returns `Ok` when no rank
    /// failed; otherwise `Err` on every rank, with R0011 naming the first rank that failed on
    /// its own and carrying its message (a rank with its own failure reports that instead).
    /// Afterwards the communicator is usable again. A no-op elsewhere.
    fn call_end(&self, failure: Option<(bool, &str)>) -> Result<()> {
        let _ = failure;
        Ok(())
    }

    /// Why [`Comm::stop_word`] is set: R0016 when interrupted, else R0011 naming the rank that
    /// failed first. Local, non-blocking.
    fn stop_error(&self) -> DtlError {
        if self.stop_word().get() & crate::stop::INTERRUPTED != 0 {
            DtlError::Interrupted
        } else {
            DtlError::PeerFailed {
                rank: 0,
                cause: "unknown".into(),
            }
        }
    }
}

/// The typed layer over [`Comm`] for Rust callers: element slices instead of bytes, scalars,
/// and `Vec`-returning variants that exchange counts first. Implemented for every `Comm`
/// (including `dyn Comm`). Each method has the collective contract of the method it wraps.
pub trait CommExt: Comm {
    /// Allreduce of one scalar.
    #[track_caller]
    fn allreduce_scalar<T: Element>(&self, x: T, op: ReduceOp) -> Result<T> {
        let mut out = [x];
        self.allreduce(
            as_bytes(&[x]),
            as_bytes_mut(&mut out),
            T::DTYPE,
            op,
            Site::caller(),
        )?;
        Ok(out[0])
    }

    /// Elementwise allreduce of a slice into `out` (same length).
    #[track_caller]
    fn allreduce_slice<T: Element>(&self, x: &[T], out: &mut [T], op: ReduceOp) -> Result<()> {
        check_len(x.len(), out.len(), "allreduce")?;
        self.allreduce(as_bytes(x), as_bytes_mut(out), T::DTYPE, op, Site::caller())
    }

    /// Reduce of one scalar to `root`; other ranks get their own `x` back.
    #[track_caller]
    fn reduce_scalar<T: Element>(&self, x: T, op: ReduceOp, root: usize) -> Result<T> {
        let mut out = [x];
        self.reduce(
            as_bytes(&[x]),
            as_bytes_mut(&mut out),
            T::DTYPE,
            op,
            root,
            Site::caller(),
        )?;
        Ok(out[0])
    }

    /// Broadcast of one scalar from `root`.
    #[track_caller]
    fn broadcast_scalar<T: Element>(&self, x: T, root: usize) -> Result<T> {
        let mut b = [x];
        self.broadcast(as_bytes_mut(&mut b), T::DTYPE, root, Site::caller())?;
        Ok(b[0])
    }

    /// Broadcast of a slice (same length on every rank) from `root`, in place.
    #[track_caller]
    fn broadcast_slice<T: Element>(&self, buf: &mut [T], root: usize) -> Result<()> {
        self.broadcast(as_bytes_mut(buf), T::DTYPE, root, Site::caller())
    }

    /// Allgather of one scalar per rank.
    #[track_caller]
    fn allgather_scalar<T: Element>(&self, x: T) -> Result<Vec<T>> {
        let p = self.size();
        let mut out = vec![T::ZERO; p];
        let counts = vec![1; p];
        self.allgatherv(
            as_bytes(&[x]),
            as_bytes_mut(&mut out),
            &counts,
            T::DTYPE,
            Site::caller(),
        )?;
        Ok(out)
    }

    /// Allgather of slices of any lengths, concatenated in rank order (exchanges counts first).
    #[track_caller]
    fn allgatherv_vec<T: Element>(&self, x: &[T]) -> Result<Vec<T>> {
        let site = Site::caller();
        let counts = self.allgather_counts(x.len(), site)?;
        let total = counts.iter().sum();
        let mut out = vec![T::ZERO; total];
        self.allgatherv(as_bytes(x), as_bytes_mut(&mut out), &counts, T::DTYPE, site)?;
        Ok(out)
    }

    /// Gather of slices of any lengths to `root` (exchanges counts first); empty elsewhere.
    #[track_caller]
    fn gatherv_vec<T: Element>(&self, x: &[T], root: usize) -> Result<Vec<T>> {
        let site = Site::caller();
        let counts = self.allgather_counts(x.len(), site)?;
        let total = if self.rank() == root {
            counts.iter().sum()
        } else {
            0
        };
        let mut out = vec![T::ZERO; total];
        self.gatherv(
            as_bytes(x),
            as_bytes_mut(&mut out),
            &counts,
            T::DTYPE,
            root,
            site,
        )?;
        Ok(out)
    }

    /// Scatter of `counts[r]` elements of root's `x` to each rank r (`counts` significant on
    /// root only; the receive length is broadcast first).
    #[track_caller]
    fn scatterv_vec<T: Element>(&self, x: &[T], counts: &[usize], root: usize) -> Result<Vec<T>> {
        let site = Site::caller();
        let p = self.size();
        let mut mine = [0u64];
        let c64: Vec<u64> = if self.rank() == root {
            if counts.len() != p || counts.iter().sum::<usize>() != x.len() {
                return Err(DtlError::invalid(format!(
                    "scatterv: {} counts summing to {} for {} ranks and {} elements",
                    counts.len(),
                    counts.iter().sum::<usize>(),
                    p,
                    x.len()
                )));
            }
            counts.iter().map(|&c| c as u64).collect()
        } else {
            Vec::new()
        };
        let ones = vec![1; p];
        self.scatterv(
            as_bytes(&c64),
            &ones,
            as_bytes_mut(&mut mine),
            DType::U64,
            root,
            site,
        )?;
        let mut out = vec![T::ZERO; mine[0] as usize];
        self.scatterv(
            as_bytes(x),
            counts,
            as_bytes_mut(&mut out),
            T::DTYPE,
            root,
            site,
        )?;
        Ok(out)
    }

    /// All-to-all with per-destination counts; exchanges counts first and returns what every
    /// rank sent here, in rank order, with the per-source counts.
    #[track_caller]
    fn alltoallv_vec<T: Element>(
        &self,
        x: &[T],
        send_counts: &[usize],
    ) -> Result<(Vec<T>, Vec<usize>)> {
        let site = Site::caller();
        let p = self.size();
        if send_counts.len() != p || send_counts.iter().sum::<usize>() != x.len() {
            return Err(DtlError::invalid(
                "alltoallv: send counts do not match the buffer",
            ));
        }
        let sc: Vec<u64> = send_counts.iter().map(|&c| c as u64).collect();
        let mut rc = vec![0u64; p];
        let ones = vec![1; p];
        self.alltoallv(
            as_bytes(&sc),
            &ones,
            as_bytes_mut(&mut rc),
            &ones,
            DType::U64,
            site,
        )?;
        let recv_counts: Vec<usize> = rc.iter().map(|&c| c as usize).collect();
        let mut out = vec![T::ZERO; recv_counts.iter().sum()];
        self.alltoallv(
            as_bytes(x),
            send_counts,
            as_bytes_mut(&mut out),
            &recv_counts,
            T::DTYPE,
            site,
        )?;
        Ok((out, recv_counts))
    }

    /// Inclusive (or exclusive) scan of one scalar over ranks; the exclusive scan gives rank 0
    /// `identity`.
    #[track_caller]
    fn scan_scalar<T: Element>(
        &self,
        x: T,
        op: ReduceOp,
        exclusive: bool,
        identity: T,
    ) -> Result<T> {
        let mut out = [identity];
        self.scan(
            as_bytes(&[x]),
            as_bytes_mut(&mut out),
            T::DTYPE,
            op,
            exclusive,
            Site::caller(),
        )?;
        Ok(out[0])
    }

    /// Sends a slice of elements.
    fn send_slice<T: Element>(&self, x: &[T], dest: usize, tag: i32) -> Result<()> {
        self.send(as_bytes(x), dest, tag)
    }

    /// Receives a message of unknown length as elements (probe, then receive).
    fn recv_vec<T: Element>(&self, source: Source, tag: TagSel) -> Result<(Vec<T>, Status)> {
        let st = self.probe(source, tag)?;
        let sz = T::DTYPE.size();
        if st.bytes % sz != 0 {
            return Err(DtlError::invalid(format!(
                "message of {} bytes is not a whole number of {} elements",
                st.bytes,
                T::DTYPE
            )));
        }
        let mut out = vec![T::ZERO; st.bytes / sz];
        let st = self.recv(
            as_bytes_mut(&mut out),
            Source::Rank(st.source),
            TagSel::Tag(st.tag),
        )?;
        Ok((out, st))
    }

    /// Each rank's `n`, gathered on every rank (one allgather of u64).
    fn allgather_counts(&self, n: usize, site: Site) -> Result<Vec<usize>> {
        let p = self.size();
        let mut out = vec![0u64; p];
        let ones = vec![1; p];
        self.allgatherv(
            as_bytes(&[n as u64]),
            as_bytes_mut(&mut out),
            &ones,
            DType::U64,
            site,
        )?;
        Ok(out.into_iter().map(|c| c as usize).collect())
    }
}

impl<C: Comm + ?Sized> CommExt for C {}

fn check_len(a: usize, b: usize, what: &str) -> Result<()> {
    if a != b {
        return Err(DtlError::invalid(format!(
            "{what}: buffers of length {a} and {b}"
        )));
    }
    Ok(())
}
