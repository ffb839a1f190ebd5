//! The JIT's entry points: one table of `extern "C"` functions that compiled dtl programs call.
//!
//! Conventions (the code generator in `dtl-compiler` relies on every one of them):
//! - The first argument of every entry point that needs rank state is `cx: *mut RankCtx`, the
//!   context the generated `main` received. Errors never unwind into generated code: an entry
//!   point records the error in `cx` (the word at offset 0 becomes nonzero), returns a neutral
//!   value, and the generated code checks that word after the call and returns to its caller.
//! - Scalars cross as *bits* in an `i64`: integers sign- or zero-extended from their type, bools
//!   0/1, floats as the bits of the `f64` value (`f32` widened first). A `dtype` argument (see
//!   [`dtype_of_code`]) says how to read them.
//! - Containers are `*mut Obj` handles whose [`Header`] (at offset 0) the generated code reads
//!   directly, so loops over local elements need no calls. Handles are reference counted
//!   ([`dtl_retain`], [`dtl_release`]); freeing a distributed container is collective.
//! - `site` is an index into the program's table of source locations ([`ProgramInfo::sites`]).
//!
//! Every function is listed once in [`table`], with its Cranelift-level signature checked by the
//! Rust compiler against the definition, and the JIT registers exactly that list.

use std::collections::HashMap;
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};

use crate::algo::{self, Num};
use crate::comm::{CommExt, CommRef, Source, TagSel};
use crate::container::{Distributed, Options};
use crate::elem::{DType, Element, ReduceOp};
use crate::error::{Code, DtlError, Result, Site};
use crate::halo::Halo;
use crate::map::DistMap;
use crate::partition::Partition;
use crate::sort::SortKey;

// ------------------------------------------------------------------------------------------
// Program-wide information

/// Where a compiled program's output lines go.
pub type Sink = Arc<dyn Fn(&str) + Send + Sync>;

/// The standard output sink: one locked write per line, so lines from ranks never interleave.
pub fn stdout_sink() -> Sink {
    Arc::new(|line: &str| {
        let out = std::io::stdout();
        let mut l = out.lock();
        let _ = l.write_all(line.as_bytes());
        let _ = l.flush();
    })
}

/// What every rank of one run shares: source locations, parameter overrides, output.
pub struct ProgramInfo {
    /// Source locations, indexed by the `site` arguments of the entry points.
    pub sites: Vec<Site>,
    /// Number of global slots (`const` and `param` values).
    pub nglobals: usize,
    /// Overridden `param` values by global slot, as bits (see the module docs).
    pub overrides: HashMap<u32, i64>,
    /// Where `print` lines go.
    pub sink: Sink,
    /// The first failure of the run: its code and the full message (with location and rank).
    pub failure: Mutex<Option<(Code, String)>>,
}

impl ProgramInfo {
    pub fn new(sites: Vec<Site>, nglobals: usize) -> Self {
        ProgramInfo {
            sites,
            nglobals,
            overrides: HashMap::new(),
            sink: stdout_sink(),
            failure: Mutex::new(None),
        }
    }

    fn site(&self, id: i32) -> Site {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.sites.get(i).copied())
            .unwrap_or(Site::NONE)
    }

    /// The run's root-cause failure (not an R0011 echo when a root cause exists).
    pub fn take_failure(&self) -> Option<(Code, String)> {
        self.failure.lock().ok().and_then(|mut f| f.take())
    }
}

/// Interns a file name as the `&'static str` a [`Site`] needs (each distinct name leaks once).
pub fn intern_file(name: &str) -> &'static str {
    static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let Ok(mut names) = NAMES.lock() else {
        return "<source>";
    };
    if let Some(n) = names.iter().find(|n| **n == name) {
        return n;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.push(leaked);
    leaked
}

// ------------------------------------------------------------------------------------------
// Rank context

/// The per-rank state generated code passes to every entry point. The first fields have fixed
/// offsets that generated code reads: `failed` (0), `rank` (8), `size` (16), `globals` (24).
#[repr(C)]
pub struct RankCtx {
    /// Nonzero once this rank has failed; generated code returns as soon as it sees it.
    pub failed: i64,
    pub rank: i64,
    pub size: i64,
    /// The global slots (`const`/`param` values as bits).
    pub globals: *mut i64,
    /// The stack-pointer value below which a recursive dtl function fails with R0015 instead
    /// of overflowing the stack (0: no check); see [`crate::sys::stack_limit`]. Set for the
    /// thread that creates the context, which is the thread that runs generated code with it.
    pub stack_limit: u64,
    /// How many more levels recursive functions that run collectives may nest (R0015 below
    /// zero); see [`crate::sys::max_collective_depth`].
    pub collective_depth_left: i64,
    globals_store: Vec<i64>,
    comm: CommRef,
    prog: Arc<ProgramInfo>,
    line: String,
    items: usize,
    /// Live distributed containers with a halo (marked stale at `barrier`) and maps (synced at
    /// `barrier`), in creation order, which is the same on every rank.
    halos: Vec<*mut Obj>,
    maps: Vec<*mut Obj>,
    /// Containers with pending one-sided updates (sent at `barrier`).
    pending: Vec<*mut Obj>,
    error: Option<DtlError>,
    /// Whether a failure aborts the communicator (stops the other ranks). On by default; a
    /// one-rank call from a host program (Python) turns it off so its communicator survives.
    abort_on_fail: bool,
    /// The full message of this rank's failure (with location and rank), once it failed.
    fail_msg: String,
    /// The communicator's stop word ([`crate::stop`]), which generated code loads at the head
    /// of every user loop; valid while `comm` lives. Read through [`cx_offsets::STOP`].
    stop: *const i64,
}

/// Offsets of [`RankCtx`] fields read by generated code.
pub mod cx_offsets {
    pub const FAILED: i32 = 0;
    pub const RANK: i32 = 8;
    pub const SIZE: i32 = 16;
    pub const GLOBALS: i32 = 24;
    pub const STACK_LIMIT: i32 = std::mem::offset_of!(super::RankCtx, stack_limit) as i32;
    pub const COLLECTIVE_DEPTH_LEFT: i32 =
        std::mem::offset_of!(super::RankCtx, collective_depth_left) as i32;
    /// The pointer to the stop word (wherever the field sits in the struct).
    pub const STOP: i32 = std::mem::offset_of!(super::RankCtx, stop) as i32;
}

impl RankCtx {
    pub fn new(comm: &CommRef, prog: Arc<ProgramInfo>) -> Box<RankCtx> {
        let mut g = vec![0i64; prog.nglobals.max(1)];
        let mut cx = Box::new(RankCtx {
            failed: 0,
            rank: comm.rank() as i64,
            size: comm.size() as i64,
            globals: g.as_mut_ptr(),
            stack_limit: crate::sys::stack_limit(),
            collective_depth_left: crate::sys::max_collective_depth(),
            globals_store: Vec::new(),
            comm: comm.clone(),
            prog,
            line: String::new(),
            items: 0,
            halos: Vec::new(),
            maps: Vec::new(),
            pending: Vec::new(),
            error: None,
            abort_on_fail: true,
            fail_msg: String::new(),
            stop: comm.stop_word().as_ptr(),
        });
        cx.globals_store = g;
        cx.globals = cx.globals_store.as_mut_ptr();
        cx
    }

    pub fn comm(&self) -> &CommRef {
        &self.comm
    }

    /// Whether a failure on this rank aborts the communicator (default: yes). Turn it off only
    /// where no other rank can be waiting for this one (a one-rank communicator).
    pub fn set_abort_on_fail(&mut self, on: bool) {
        self.abort_on_fail = on;
    }

    /// Registers handles made by [`wrap_borrowed`] for this call: a container with a halo is
    /// marked stale at `barrier` like the ones the program creates.
    pub fn adopt(&mut self, handles: &[*mut Obj]) {
        for &h in handles {
            if let Ok(o) = obj(h)
                && o.hdr.ghost > 0
                && !self.halos.contains(&h)
            {
                self.halos.push(h);
            }
        }
    }

    /// A handle for a new distributed container. One with a halo is registered (so `barrier`
    /// can mark it stale) and starts stale: its ghost rows hold nothing yet.
    fn new_dist(&mut self, d: Box<dyn DistOps>) -> *mut Obj {
        let o = boxed(Body::Dist(d));
        if let Ok(x) = obj(o)
            && x.hdr.ghost > 0
        {
            x.hdr.dirty = 1;
            self.halos.push(o);
        }
        o
    }

    /// Records a failure at `site` (the first one wins) and stops the other ranks.
    pub fn fail(&mut self, e: DtlError, site: Site) {
        if self.failed != 0 {
            return;
        }
        self.failed = 1;
        let msg = if site.is_known() {
            format!(
                "error[{}]: {} at {} (rank {})",
                e.code(),
                e,
                site,
                self.rank
            )
        } else {
            format!("error[{}]: {} (rank {})", e.code(), e, self.rank)
        };
        if let Ok(mut f) = self.prog.failure.lock() {
            let replace = match &*f {
                None => true,
                Some((c, _)) => *c == Code::R0011 && e.code() != Code::R0011,
            };
            if replace {
                *f = Some((e.code(), msg.clone()));
            }
        }
        if self.abort_on_fail {
            self.comm.abort(&msg);
        }
        self.fail_msg = msg;
        self.error = Some(e);
    }

    /// Like [`RankCtx::finish`], with this rank's own failure message (`error[Rxxxx]: … at
    /// FILE:LINE:COL (rank r)`) next to the error.
    pub fn finish_with_message(mut self: Box<Self>) -> std::result::Result<(), (DtlError, String)> {
        let msg = std::mem::take(&mut self.fail_msg);
        self.finish().map_err(|e| {
            let m = if msg.is_empty() {
                format!("error[{}]: {e}", e.code())
            } else {
                msg
            };
            (e, m)
        })
    }

    /// The result of the run on this rank.
    pub fn finish(mut self: Box<Self>) -> Result<()> {
        match self.error.take() {
            Some(e) => {
                // Containers still alive cannot be freed collectively any more: leak them.
                self.halos.clear();
                self.maps.clear();
                self.pending.clear();
                Err(e)
            }
            None => Ok(()),
        }
    }
}

/// Runs an entry point body: errors and panics become a recorded failure and `default`.
fn guard<T>(
    cx: *mut RankCtx,
    site: i32,
    default: T,
    f: impl FnOnce(&mut RankCtx) -> Result<T>,
) -> T {
    // SAFETY: generated code passes the context it was given by `run_main`, which outlives the
    // call; ranks never share a context, so this is the only live reference.
    let cx = unsafe { &mut *cx };
    if cx.failed != 0 {
        return default;
    }
    match catch_unwind(AssertUnwindSafe(|| f(cx))) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            let s = cx.prog.site(site);
            cx.fail(e, s);
            default
        }
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            let s = cx.prog.site(site);
            cx.fail(
                DtlError::Backend {
                    detail: format!("internal error: {msg}"),
                },
                s,
            );
            default
        }
    }
}

// ------------------------------------------------------------------------------------------
// Scalars as bits

/// An element type the JIT can handle: every runtime dtype.
pub trait AbiElem: Element + Num + SortKey {
    fn from_abi(b: i64) -> Self;
    fn to_abi(self) -> i64;
}

macro_rules! abi_int {
    ($($t:ty),*) => {$(
        impl AbiElem for $t {
            fn from_abi(b: i64) -> Self { b as $t }
            fn to_abi(self) -> i64 { self as i64 }
        }
    )*};
}
abi_int!(i8, i32, i64, u8, u32, u64);

impl AbiElem for f32 {
    fn from_abi(b: i64) -> Self {
        f64::from_bits(b as u64) as f32
    }
    fn to_abi(self) -> i64 {
        (self as f64).to_bits() as i64
    }
}

impl AbiElem for f64 {
    fn from_abi(b: i64) -> Self {
        f64::from_bits(b as u64)
    }
    fn to_abi(self) -> i64 {
        self.to_bits() as i64
    }
}

impl AbiElem for bool {
    fn from_abi(b: i64) -> Self {
        b != 0
    }
    fn to_abi(self) -> i64 {
        self as i64
    }
}

/// The dtype of a code: 0 i8, 1 i32, 2 i64, 3 u8, 4 u32, 5 u64, 6 f32, 7 f64, 8 bool (the order
/// of the compiler's `Scalar`).
pub fn dtype_of_code(code: i32) -> Result<DType> {
    Ok(match code {
        0 => DType::I8,
        1 => DType::I32,
        2 => DType::I64,
        3 => DType::U8,
        4 => DType::U32,
        5 => DType::U64,
        6 => DType::F32,
        7 => DType::F64,
        8 => DType::Bool,
        _ => return Err(DtlError::invalid(format!("unknown dtype code {code}"))),
    })
}

macro_rules! with_dtype {
    ($code:expr, $T:ident => $body:expr) => {
        match $code {
            0 => {
                type $T = i8;
                $body
            }
            1 => {
                type $T = i32;
                $body
            }
            2 => {
                type $T = i64;
                $body
            }
            3 => {
                type $T = u8;
                $body
            }
            4 => {
                type $T = u32;
                $body
            }
            5 => {
                type $T = u64;
                $body
            }
            6 => {
                type $T = f32;
                $body
            }
            7 => {
                type $T = f64;
                $body
            }
            8 => {
                type $T = bool;
                $body
            }
            c => Err(DtlError::invalid(format!("unknown dtype code {c}"))),
        }
    };
}

fn op_of_code(code: i32) -> Result<ReduceOp> {
    Ok(match code {
        0 => ReduceOp::Sum,
        1 => ReduceOp::Prod,
        2 => ReduceOp::Min,
        3 => ReduceOp::Max,
        4 => ReduceOp::Land,
        5 => ReduceOp::Lor,
        6 => ReduceOp::Band,
        7 => ReduceOp::Bor,
        8 => ReduceOp::Bxor,
        _ => return Err(DtlError::invalid(format!("unknown operator code {code}"))),
    })
}

/// Partition codes: 0 block, 1 cyclic, 2 block_cyclic(b), 3 replicated.
fn partition_of_code(code: i64, b: i64) -> Result<Partition> {
    Ok(match code {
        0 => Partition::Block,
        1 => Partition::Cyclic,
        2 => {
            if b <= 0 {
                return Err(DtlError::invalid(format!(
                    "block_cyclic block size must be positive, got {b}"
                )));
            }
            Partition::BlockCyclic(b as usize)
        }
        3 => Partition::Replicated,
        _ => return Err(DtlError::invalid(format!("unknown partition code {code}"))),
    })
}

// ------------------------------------------------------------------------------------------
// Objects

/// Kinds in [`Header::kind`].
pub mod kind {
    pub const BLOCK: i64 = 0;
    pub const CYCLIC: i64 = 1;
    pub const BLOCK_CYCLIC: i64 = 2;
    pub const REPLICATED: i64 = 3;
    pub const LOCAL: i64 = 10;
    pub const MAP: i64 = 11;
}

/// The part of a container handle generated code reads. For a distributed container, the
/// global row of local row `k` is `base + k * stride` unless `kind` is block-cyclic, where it
/// is `(k / bsize) * bsize * size + base + k % bsize`.
#[repr(C)]
#[derive(Debug)]
pub struct Header {
    /// The first owned element (after the leading ghost rows).
    pub data: *mut u8,
    /// Local rows (the length of a `local` array).
    pub rows: i64,
    /// Elements per row (1 for vectors).
    pub row: i64,
    /// Global rows (`len`).
    pub grows: i64,
    pub base: i64,
    pub stride: i64,
    pub bsize: i64,
    /// Ghost rows on each side.
    pub ghost: i64,
    pub periodic: i64,
    pub kind: i64,
    /// Written since the last halo exchange.
    pub dirty: i64,
    pub dim1: i64,
    pub dim2: i64,
    pub refs: i64,
    pub dtype: i64,
}

/// Offsets of [`Header`] fields read by generated code.
pub mod hdr {
    pub const DATA: i32 = 0;
    pub const ROWS: i32 = 8;
    pub const ROW: i32 = 16;
    pub const GROWS: i32 = 24;
    pub const BASE: i32 = 32;
    pub const STRIDE: i32 = 40;
    pub const BSIZE: i32 = 48;
    pub const GHOST: i32 = 56;
    pub const PERIODIC: i32 = 64;
    pub const KIND: i32 = 72;
    pub const DIRTY: i32 = 80;
    pub const DIM1: i32 = 88;
    pub const DIM2: i32 = 96;
}

/// A container behind a handle.
#[repr(C)]
pub struct Obj {
    pub hdr: Header,
    body: Body,
    /// One-sided updates of other ranks' elements not sent yet (flat index, bits): atomics
    /// whose result is unused and puts. They are sent in bulk before anything else touches
    /// the container, at `barrier`, `fence` and when it is freed.
    pend_add: Vec<(usize, i64)>,
    pend_put: Vec<(usize, i64)>,
}

/// Pending one-sided updates per container above which they are sent at once.
const PENDING_MAX: usize = 1 << 20;

enum Body {
    Dist(Box<dyn DistOps>),
    Local(Box<dyn LocalOps>),
    Map(Box<dyn MapOps>),
    /// A container owned by the host program (see [`wrap_borrowed`]): used like `Dist`, never
    /// freed through the handle. `movable`: whether resize/swap may move its buffer.
    Borrowed {
        d: *mut dyn DistOps,
        movable: bool,
    },
}

/// Type-erased operations on a `Distributed<T>`.
trait DistOps {
    fn any(&mut self) -> &mut dyn std::any::Any;
    fn refresh(&mut self, h: &mut Header);
    fn exchange(&mut self) -> Result<()>;
    fn read(&self, row: i64, off: i64) -> Result<i64>;
    fn write(&mut self, row: i64, off: i64, v: i64) -> Result<()>;
    fn get(&self, row: i64, off: i64) -> Result<i64>;
    fn put(&self, row: i64, off: i64, v: i64) -> Result<()>;
    fn atomic_add(&self, row: i64, off: i64, v: i64) -> Result<i64>;
    fn fence(&self) -> Result<()>;
    /// `(flat index, whether this rank holds it)` of an element (R0001 out of range).
    fn locate_flat(&self, row: i64, off: i64) -> Result<(usize, bool)>;
    fn add_local(&mut self, flat: usize, v: i64);
    fn put_local(&mut self, flat: usize, v: i64);
    fn send_bulk(&self, adds: &mut Vec<(usize, i64)>, puts: &mut Vec<(usize, i64)>) -> Result<()>;
    fn arg_extreme(&self, max: bool) -> Result<i64>;
    fn sort(&mut self, descending: bool) -> Result<()>;
    fn scan(&self, op: ReduceOp, exclusive: bool) -> Result<Box<dyn DistOps>>;
    fn copy(&self, partition: Option<Partition>) -> Result<Box<dyn DistOps>>;
    fn resize(&mut self, n: usize, site: Site) -> Result<()>;
    fn swap(&mut self, other: &mut dyn DistOps) -> Result<()>;
    fn save(&self, path: &str) -> Result<()>;
    fn owner(&self, i: i64) -> Result<i64>;
    fn is_local(&self, i: i64) -> bool;
    fn local_offset(&self) -> Result<i64>;
    fn sig(&self) -> (Vec<usize>, Partition);
}

fn index_check(i: i64, n: usize, what: &str) -> Result<usize> {
    if i < 0 || i as u64 >= n as u64 {
        return Err(DtlError::OutOfBounds {
            index: i,
            len: n,
            what: what.into(),
        });
    }
    Ok(i as usize)
}

impl<T: AbiElem> Distributed<T> {
    fn flat(&self, row: i64, off: i64) -> Result<usize> {
        let r = index_check(row, self.shape()[0], "container")?;
        let rl = self.row_len();
        let o = index_check(off, rl.max(1), "row")?;
        Ok(r * rl + o)
    }

    fn local_pos(&self, g: usize) -> Option<usize> {
        let r = self.comm().rank();
        if self.partition() == Partition::Replicated {
            return Some(g);
        }
        let rl = self.row_len().max(1);
        let (owner, k) = self.layout().local_index(g / rl).ok()?;
        (owner == r).then_some(k * rl + g % rl)
    }
}

impl<T: AbiElem> DistOps for Distributed<T> {
    fn any(&mut self) -> &mut dyn std::any::Any {
        self
    }

    fn refresh(&mut self, h: &mut Header) {
        let r = self.comm().rank() as i64;
        let p = self.comm().size() as i64;
        h.rows = self.local_rows() as i64;
        h.row = self.row_len() as i64;
        h.grows = self.shape()[0] as i64;
        h.dim1 = self.shape().get(1).copied().unwrap_or(1) as i64;
        h.dim2 = self.shape().get(2).copied().unwrap_or(1) as i64;
        let (kind, base, stride, bsize) = match self.partition() {
            Partition::Block => (
                kind::BLOCK,
                self.layout().local_offset(r as usize).unwrap_or(0) as i64,
                1,
                i64::MAX,
            ),
            Partition::Cyclic => (kind::CYCLIC, r, p, i64::MAX),
            Partition::BlockCyclic(b) => (kind::BLOCK_CYCLIC, r * b as i64, p, b as i64),
            Partition::Replicated => (kind::REPLICATED, 0, 1, i64::MAX),
        };
        h.kind = kind;
        h.base = base;
        h.stride = stride;
        h.bsize = bsize;
        h.ghost = self.halo().map_or(0, |x| x.width as i64);
        h.periodic = self.halo().is_some_and(|x| x.periodic) as i64;
        h.data = self.local_mut().as_mut_ptr().cast::<u8>();
        h.dtype = T::DTYPE as i64;
    }

    fn exchange(&mut self) -> Result<()> {
        Distributed::exchange(self)
    }

    fn read(&self, row: i64, off: i64) -> Result<i64> {
        let g = self.flat(row, off)?;
        match self.local_pos(g) {
            Some(k) => Ok(self.local()[k].to_abi()),
            None => Ok(Distributed::get(self, g)?.to_abi()),
        }
    }

    fn write(&mut self, row: i64, off: i64, v: i64) -> Result<()> {
        let g = self.flat(row, off)?;
        match self.local_pos(g) {
            Some(k) => {
                self.local_mut()[k] = T::from_abi(v);
                Ok(())
            }
            None => Err(DtlError::invalid(format!(
                "element {row} of this container lives on rank {}; write it with put(u, j, x)",
                DistOps::owner(self, row)?
            ))),
        }
    }

    fn get(&self, row: i64, off: i64) -> Result<i64> {
        let g = self.flat(row, off)?;
        Ok(Distributed::get(self, g)?.to_abi())
    }

    fn put(&self, row: i64, off: i64, v: i64) -> Result<()> {
        let g = self.flat(row, off)?;
        Distributed::put(self, g, T::from_abi(v))
    }

    fn atomic_add(&self, row: i64, off: i64, v: i64) -> Result<i64> {
        let g = self.flat(row, off)?;
        Ok(Distributed::atomic_add(self, g, T::from_abi(v))?.to_abi())
    }

    fn fence(&self) -> Result<()> {
        Distributed::fence(self)
    }

    fn locate_flat(&self, row: i64, off: i64) -> Result<(usize, bool)> {
        let g = self.flat(row, off)?;
        let mine = self.partition() != Partition::Replicated && self.local_pos(g).is_some();
        Ok((g, mine))
    }

    fn add_local(&mut self, flat: usize, v: i64) {
        if let Some(k) = self.local_pos(flat) {
            let x = &mut self.local_mut()[k];
            *x = algo::combine(ReduceOp::Sum, *x, T::from_abi(v));
        }
    }

    fn put_local(&mut self, flat: usize, v: i64) {
        if let Some(k) = self.local_pos(flat) {
            self.local_mut()[k] = T::from_abi(v);
        }
    }

    fn send_bulk(&self, adds: &mut Vec<(usize, i64)>, puts: &mut Vec<(usize, i64)>) -> Result<()> {
        let mut a: Vec<(usize, T)> = adds.drain(..).map(|(i, b)| (i, T::from_abi(b))).collect();
        self.accumulate_many(&mut a)?;
        let mut p: Vec<(usize, T)> = puts.drain(..).map(|(i, b)| (i, T::from_abi(b))).collect();
        self.put_many(&mut p)
    }

    fn arg_extreme(&self, max: bool) -> Result<i64> {
        let r = if max {
            algo::argmax(self)?
        } else {
            algo::argmin(self)?
        };
        Ok(r.map_or(-1, |(i, _)| i as i64))
    }

    fn sort(&mut self, descending: bool) -> Result<()> {
        crate::sort::sort(self, descending)
    }

    fn scan(&self, op: ReduceOp, exclusive: bool) -> Result<Box<dyn DistOps>> {
        Ok(Box::new(algo::scan(self, op, exclusive)?))
    }

    fn copy(&self, partition: Option<Partition>) -> Result<Box<dyn DistOps>> {
        Ok(Box::new(match partition {
            None => self.duplicate()?,
            Some(p) => self.redistribute(p)?,
        }))
    }

    fn resize(&mut self, n: usize, site: Site) -> Result<()> {
        self.resize_rows(n, site)
    }

    fn swap(&mut self, other: &mut dyn DistOps) -> Result<()> {
        match other.any().downcast_mut::<Distributed<T>>() {
            Some(o) => Distributed::swap(self, o),
            None => Err(DtlError::Misaligned {
                detail: "swap: the containers have different element types".into(),
            }),
        }
    }

    fn save(&self, path: &str) -> Result<()> {
        crate::npy::save(self, path)
    }

    fn owner(&self, i: i64) -> Result<i64> {
        let i = index_check(i, self.shape()[0], "container")?;
        Ok(Distributed::owner(self, i)? as i64)
    }

    fn is_local(&self, i: i64) -> bool {
        i >= 0 && (i as u64) < self.shape()[0] as u64 && Distributed::is_local(self, i as usize)
    }

    fn local_offset(&self) -> Result<i64> {
        Ok(Distributed::local_offset(self)? as i64)
    }

    fn sig(&self) -> (Vec<usize>, Partition) {
        (self.shape().to_vec(), self.partition())
    }
}

/// Type-erased operations on a rank-local array.
trait LocalOps {
    fn refresh(&mut self, h: &mut Header);
    fn bits(&self) -> Vec<i64>;
    fn clone_box(&self) -> Box<dyn LocalOps>;
    /// A new local array holding the elementwise allreduce of this one (one allocation, no
    /// copy of the input).
    fn allreduced(&self, comm: &CommRef, op: ReduceOp, site: Site) -> Result<Box<dyn LocalOps>>;
    fn broadcast(&mut self, comm: &CommRef, root: usize) -> Result<()>;
    fn send(&self, comm: &CommRef, dest: usize, tag: i32) -> Result<()>;
    fn recv(&mut self, comm: &CommRef, source: usize, tag: i32) -> Result<()>;
    fn alltoall(&self, comm: &CommRef) -> Result<Box<dyn LocalOps>>;
    fn copy_from(&mut self, other: &dyn LocalOps) -> Result<()>;
    fn as_any(&self) -> &dyn std::any::Any;
    /// Whether the memory belongs to the host program (see [`wrap_local_borrowed`]).
    fn is_borrowed(&self) -> bool {
        false
    }
}

struct LocalVec<T: AbiElem>(Vec<T>);

/// The elementwise allreduce of `x` as a new local array (one allocation, the input is not
/// copied).
fn local_allreduce<T: AbiElem>(
    comm: &CommRef,
    x: &[T],
    op: ReduceOp,
    site: Site,
) -> Result<Box<dyn LocalOps>> {
    let mut out = crate::container::alloc_vec(x.len(), T::ZERO)?;
    comm.allreduce(
        crate::elem::as_bytes(x),
        crate::elem::as_bytes_mut(&mut out),
        T::DTYPE,
        op,
        site,
    )?;
    Ok(Box::new(LocalVec(out)))
}

impl<T: AbiElem> LocalOps for LocalVec<T> {
    fn refresh(&mut self, h: &mut Header) {
        h.data = self.0.as_mut_ptr().cast::<u8>();
        h.rows = self.0.len() as i64;
        h.grows = self.0.len() as i64;
        h.row = 1;
        h.kind = kind::LOCAL;
        h.dtype = T::DTYPE as i64;
    }

    fn bits(&self) -> Vec<i64> {
        self.0.iter().map(|x| x.to_abi()).collect()
    }

    fn clone_box(&self) -> Box<dyn LocalOps> {
        Box::new(LocalVec(self.0.clone()))
    }

    fn allreduced(&self, comm: &CommRef, op: ReduceOp, site: Site) -> Result<Box<dyn LocalOps>> {
        local_allreduce(comm, &self.0, op, site)
    }

    fn broadcast(&mut self, comm: &CommRef, root: usize) -> Result<()> {
        comm.broadcast_slice(&mut self.0, root)
    }

    fn send(&self, comm: &CommRef, dest: usize, tag: i32) -> Result<()> {
        msg_send(comm, &self.0, dest, tag)
    }

    fn recv(&mut self, comm: &CommRef, source: usize, tag: i32) -> Result<()> {
        let v = msg_recv::<T>(comm, source, tag)?;
        if v.len() != self.0.len() {
            return Err(DtlError::invalid(format!(
                "recv: the message has {} elements but the buffer has {}",
                v.len(),
                self.0.len()
            )));
        }
        self.0.copy_from_slice(&v);
        Ok(())
    }

    fn alltoall(&self, comm: &CommRef) -> Result<Box<dyn LocalOps>> {
        let p = comm.size();
        if self.0.len() != p {
            return Err(DtlError::invalid(format!(
                "alltoall needs a local array of size() = {p} elements, got {}",
                self.0.len()
            )));
        }
        let counts = vec![1usize; p];
        let (v, _) = comm.alltoallv_vec(&self.0, &counts)?;
        Ok(Box::new(LocalVec(v)))
    }

    fn copy_from(&mut self, other: &dyn LocalOps) -> Result<()> {
        match local_elems::<T>(other) {
            Some(o) if o.len() == self.0.len() => {
                self.0.copy_from_slice(o);
                Ok(())
            }
            _ => Err(DtlError::Misaligned {
                detail: "local arrays of different lengths".into(),
            }),
        }
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// A rank-local array over memory the host program owns (a NumPy array bound to a `local<T>`
/// parameter; see [`wrap_local_borrowed`]).
struct LocalSlice<T: AbiElem> {
    ptr: *mut T,
    len: usize,
}

impl<T: AbiElem> LocalSlice<T> {
    fn s(&self) -> &[T] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: the contract of `wrap_local_borrowed`: `ptr` points at `len` initialized,
        // aligned elements that stay valid and unaliased while the handle exists.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    fn s_mut(&mut self) -> &mut [T] {
        if self.len == 0 {
            return &mut [];
        }
        // SAFETY: as in `s`; `&mut self` makes this the only reference through the handle.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

/// The elements of a local array of either kind (owned or borrowed) of element type `T`.
fn local_elems<T: AbiElem>(l: &dyn LocalOps) -> Option<&[T]> {
    let a = l.as_any();
    if let Some(v) = a.downcast_ref::<LocalVec<T>>() {
        return Some(&v.0);
    }
    a.downcast_ref::<LocalSlice<T>>().map(|s| s.s())
}

impl<T: AbiElem> LocalOps for LocalSlice<T> {
    fn refresh(&mut self, h: &mut Header) {
        h.data = self.ptr.cast::<u8>();
        h.rows = self.len as i64;
        h.grows = self.len as i64;
        h.row = 1;
        h.kind = kind::LOCAL;
        h.dtype = T::DTYPE as i64;
    }

    fn bits(&self) -> Vec<i64> {
        self.s().iter().map(|x| x.to_abi()).collect()
    }

    fn clone_box(&self) -> Box<dyn LocalOps> {
        Box::new(LocalVec(self.s().to_vec()))
    }

    fn allreduced(&self, comm: &CommRef, op: ReduceOp, site: Site) -> Result<Box<dyn LocalOps>> {
        local_allreduce(comm, self.s(), op, site)
    }

    fn broadcast(&mut self, comm: &CommRef, root: usize) -> Result<()> {
        comm.broadcast_slice(self.s_mut(), root)
    }

    fn send(&self, comm: &CommRef, dest: usize, tag: i32) -> Result<()> {
        msg_send(comm, self.s(), dest, tag)
    }

    fn recv(&mut self, comm: &CommRef, source: usize, tag: i32) -> Result<()> {
        let v = msg_recv::<T>(comm, source, tag)?;
        if v.len() != self.len {
            return Err(DtlError::invalid(format!(
                "recv: the message has {} elements but the buffer has {}",
                v.len(),
                self.len
            )));
        }
        self.s_mut().copy_from_slice(&v);
        Ok(())
    }

    fn alltoall(&self, comm: &CommRef) -> Result<Box<dyn LocalOps>> {
        LocalVec(self.s().to_vec()).alltoall(comm)
    }

    fn copy_from(&mut self, other: &dyn LocalOps) -> Result<()> {
        match local_elems::<T>(other) {
            Some(o) if o.len() == self.len => {
                self.s_mut().copy_from_slice(o);
                Ok(())
            }
            _ => Err(DtlError::Misaligned {
                detail: "local arrays of different lengths".into(),
            }),
        }
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn is_borrowed(&self) -> bool {
        true
    }
}

/// A handle for a container the host program owns, to pass to a compiled function (see
/// `Program::call_with` in the compiler): zero-copy, the function reads and writes `d` in place.
/// Releasing the last reference frees only the handle, never `*d`. `movable`: whether `resize`
/// and `swap` may replace the container's buffer (false while the host has views of it: those
/// operations then fail with R0013).
///
/// # Safety
/// `d` must be valid, and used by nothing else (no other reference, no other thread), from now
/// until the handle's last release.
pub unsafe fn wrap_borrowed<T: AbiElem>(d: *mut Distributed<T>, movable: bool) -> *mut Obj {
    let d: *mut dyn DistOps = d;
    let o = boxed(Body::Borrowed { d, movable });
    // SAFETY: `o` was just made by `boxed`.
    let oo = unsafe { &mut *o };
    if oo.hdr.ghost > 0 {
        // Its ghost rows may be stale: the first stencil read exchanges them.
        oo.hdr.dirty = 1;
    }
    o
}

/// A handle for a rank-local array of `len` elements at `ptr` that the host program owns (a
/// NumPy array bound to a `local<T>` parameter): zero-copy, compiled code may write it.
/// Releasing the last reference frees only the handle.
///
/// # Safety
/// `ptr` must point at `len` initialized, properly aligned elements of `T` (or `len` is 0),
/// valid and used by nothing else from now until the handle's last release.
pub unsafe fn wrap_local_borrowed<T: AbiElem>(ptr: *mut T, len: usize) -> *mut Obj {
    boxed(Body::Local(Box::new(LocalSlice { ptr, len })))
}

/// What a handle holds: its [`Header::kind`] and element type (for maps, the value type).
pub fn handle_info(h: *mut Obj) -> Option<(i64, DType)> {
    let o = obj(h).ok()?;
    let dt = dtype_of_code(i32::try_from(o.hdr.dtype).ok()?).ok()?;
    Some((o.hdr.kind, dt))
}

/// The elements of a local array handle as `T` (None for another kind or element type).
pub fn local_to_vec<T: AbiElem>(h: *mut Obj) -> Option<Vec<T>> {
    let o = obj(h).ok()?;
    let l = o.local().ok()?;
    local_elems::<T>(l).map(|s| s.to_vec())
}

/// Type-erased operations on a distributed map (keys as i64 bits).
trait MapOps {
    fn insert(&mut self, k: i64, v: i64);
    fn atomic_add(&mut self, k: i64, v: i64);
    fn sync(&mut self) -> Result<()>;
    fn lookup(&self, k: i64, default: i64) -> Result<i64>;
    fn contains(&self, k: i64) -> Result<bool>;
    fn global_len(&self) -> Result<i64>;
}

impl<V: AbiElem> MapOps for DistMap<i64, V> {
    fn insert(&mut self, k: i64, v: i64) {
        DistMap::insert(self, k, V::from_abi(v));
    }
    fn atomic_add(&mut self, k: i64, v: i64) {
        DistMap::atomic_add(self, k, V::from_abi(v));
    }
    fn sync(&mut self) -> Result<()> {
        DistMap::sync(self)
    }
    fn lookup(&self, k: i64, default: i64) -> Result<i64> {
        Ok(DistMap::lookup(self, k, V::from_abi(default))?.to_abi())
    }
    fn contains(&self, k: i64) -> Result<bool> {
        DistMap::contains(self, k)
    }
    fn global_len(&self) -> Result<i64> {
        Ok(DistMap::global_len(self)? as i64)
    }
}

fn new_header() -> Header {
    Header {
        data: std::ptr::null_mut(),
        rows: 0,
        row: 1,
        grows: 0,
        base: 0,
        stride: 1,
        bsize: i64::MAX,
        ghost: 0,
        periodic: 0,
        kind: 0,
        dirty: 0,
        dim1: 1,
        dim2: 1,
        refs: 1,
        dtype: 0,
    }
}

fn boxed(body: Body) -> *mut Obj {
    let mut o = Box::new(Obj {
        hdr: new_header(),
        body,
        pend_add: Vec::new(),
        pend_put: Vec::new(),
    });
    o.refresh();
    Box::into_raw(o)
}

impl Obj {
    fn refresh(&mut self) {
        match &mut self.body {
            Body::Dist(d) => d.refresh(&mut self.hdr),
            // SAFETY: see `Body::borrowed_mut`.
            Body::Borrowed { d, .. } => unsafe { &mut **d }.refresh(&mut self.hdr),
            Body::Local(l) => l.refresh(&mut self.hdr),
            Body::Map(_) => self.hdr.kind = kind::MAP,
        }
    }

    /// The distributed container, after sending its pending one-sided updates.
    fn dist(&mut self) -> Result<&mut dyn DistOps> {
        self.flush()?;
        self.dist_raw()
    }

    fn dist_raw(&mut self) -> Result<&mut dyn DistOps> {
        match &mut self.body {
            Body::Dist(d) => Ok(d.as_mut()),
            // SAFETY: the host program keeps a borrowed container alive and untouched for as
            // long as the handle exists (the contract of `wrap_borrowed`), and the handle is
            // used by one rank's thread only, so this is the only live reference.
            Body::Borrowed { d, .. } => Ok(unsafe { &mut **d }),
            _ => Err(DtlError::invalid("expected a distributed container")),
        }
    }

    /// Sends the pending one-sided updates in bulk.
    fn flush(&mut self) -> Result<()> {
        if self.pend_add.is_empty() && self.pend_put.is_empty() {
            return Ok(());
        }
        let mut adds = std::mem::take(&mut self.pend_add);
        let mut puts = std::mem::take(&mut self.pend_put);
        self.dist_raw()?.send_bulk(&mut adds, &mut puts)?;
        // Keep the (now empty) buffers' capacity.
        self.pend_add = adds;
        self.pend_put = puts;
        Ok(())
    }

    fn local(&mut self) -> Result<&mut dyn LocalOps> {
        match &mut self.body {
            Body::Local(l) => Ok(l.as_mut()),
            _ => Err(DtlError::invalid("expected a local array")),
        }
    }

    fn map(&mut self) -> Result<&mut dyn MapOps> {
        match &mut self.body {
            Body::Map(m) => Ok(m.as_mut()),
            _ => Err(DtlError::invalid("expected a map")),
        }
    }
}

/// Frees a handle whose reference count reached zero.
fn free_obj(h: *mut Obj) {
    // SAFETY: the count reached zero, so no other reference exists; `h` came from
    // `Box::into_raw` in `boxed` and is freed exactly once.
    drop(unsafe { Box::from_raw(h) });
}

/// Borrows the object behind a handle.
fn obj<'a>(h: *mut Obj) -> Result<&'a mut Obj> {
    if h.is_null() {
        return Err(DtlError::invalid("use of an uninitialized container"));
    }
    // SAFETY: non-null handles come from `boxed` and stay valid until their last release; the
    // generated code holds a reference for as long as it passes the handle, and a rank's
    // handles are used by that rank's thread only.
    Ok(unsafe { &mut *h })
}

fn str_arg<'a>(ptr: *const u8, len: i64) -> Result<&'a str> {
    if ptr.is_null() || len < 0 {
        return Err(DtlError::invalid("bad string argument"));
    }
    // SAFETY: string arguments point at literals the compiled program owns for its whole run.
    let b = unsafe { std::slice::from_raw_parts(ptr, len as usize) };
    std::str::from_utf8(b).map_err(|_| DtlError::invalid("string is not UTF-8"))
}

// ------------------------------------------------------------------------------------------
// Entry points: containers

/// Collective: a distributed container. `part`/`bsize` as in `partition_of_code`; `halo` < 0 for
/// none; `placement`: 0 host, 1 device, 2 unified, 3 device_preferred.
#[allow(clippy::too_many_arguments)]
pub extern "C" fn dtl_dist_new(
    cx: *mut RankCtx,
    dtype: i32,
    ndim: i64,
    d0: i64,
    d1: i64,
    d2: i64,
    part: i64,
    bsize: i64,
    halo: i64,
    periodic: i64,
    placement: i64,
    fill: i64,
    site: i32,
) -> *mut Obj {
    guard(cx, site, std::ptr::null_mut(), |cx| {
        if placement == 1 || placement == 2 {
            return Err(DtlError::NoDevice {
                placement: if placement == 1 {
                    "@device"
                } else {
                    "@unified"
                }
                .into(),
            });
        }
        let dims = [d0, d1, d2];
        let nd = ndim.clamp(1, 3) as usize;
        let mut shape = Vec::with_capacity(nd);
        for &d in &dims[..nd] {
            shape.push(DtlError::check_size(d, "container dimension")?);
        }
        let p = partition_of_code(part, bsize)?;
        let h = if halo >= 0 {
            Some(if periodic != 0 {
                Halo::periodic(halo as usize)
            } else {
                Halo::new(halo as usize)
            })
        } else {
            None
        };
        let comm = &cx.comm;
        let o = with_dtype!(dtype, T => {
            let mut opts = Options::<T>::new().partition(p).fill(T::from_abi(fill));
            if let Some(h) = h {
                opts = opts.halo(h.width, h.periodic);
            }
            let d = Distributed::<T>::new(comm, &shape, opts)?;
            Ok(cx.new_dist(Box::new(d)))
        })?;
        Ok(o)
    })
}

/// A rank-local array of `n` elements equal to `fill` (not collective).
pub extern "C" fn dtl_local_new(
    cx: *mut RankCtx,
    dtype: i32,
    n: i64,
    fill: i64,
    site: i32,
) -> *mut Obj {
    guard(cx, site, std::ptr::null_mut(), |_| {
        let n = DtlError::check_size(n, "local array length")?;
        with_dtype!(dtype, T => {
            let v = crate::container::alloc_vec(n, T::from_abi(fill))?;
            Ok(boxed(Body::Local(Box::new(LocalVec(v)))))
        })
    })
}

/// Collective: an empty distributed map with value type `vdtype` (keys are integers).
pub extern "C" fn dtl_map_new(cx: *mut RankCtx, vdtype: i32, site: i32) -> *mut Obj {
    guard(cx, site, std::ptr::null_mut(), |cx| {
        let comm = &cx.comm;
        let o = with_dtype!(vdtype, V => {
            let m = DistMap::<i64, V>::new(comm)?;
            Ok(boxed(Body::Map(Box::new(m))))
        })?;
        cx.maps.push(o);
        Ok(o)
    })
}

/// Adds a reference to a handle (null is ignored).
pub extern "C" fn dtl_retain(h: *mut Obj) {
    if let Ok(o) = obj(h) {
        o.hdr.refs += 1;
    }
}

/// Drops a reference; the last one frees the container (collective for distributed ones).
pub extern "C" fn dtl_release(cx: *mut RankCtx, h: *mut Obj, site: i32) {
    guard(cx, site, (), |cx| {
        let Ok(o) = obj(h) else { return Ok(()) };
        o.hdr.refs -= 1;
        if o.hdr.refs > 0 {
            return Ok(());
        }
        cx.halos.retain(|p| *p != h);
        cx.maps.retain(|p| *p != h);
        cx.pending.retain(|p| *p != h);
        o.flush()?;
        free_obj(h);
        Ok(())
    })
}

/// Collective: refreshes the ghost rows of `h` and clears its stale mark.
pub extern "C" fn dtl_exchange(cx: *mut RankCtx, h: *mut Obj, site: i32) {
    guard(cx, site, (), |_| {
        let o = obj(h)?;
        o.dist()?.exchange()?;
        o.hdr.dirty = 0;
        Ok(())
    })
}

/// Checks that `b` is aligned with `a` (same rows and partition), R0008 otherwise.
pub extern "C" fn dtl_check_aligned(cx: *mut RankCtx, a: *mut Obj, b: *mut Obj, site: i32) {
    guard(cx, site, (), |_| {
        let oa = obj(a)?;
        let ob = obj(b)?;
        if oa.hdr.kind == kind::LOCAL || ob.hdr.kind == kind::LOCAL {
            if oa.hdr.rows != ob.hdr.rows || oa.hdr.kind != ob.hdr.kind {
                return Err(DtlError::Misaligned {
                    detail: format!(
                        "local arrays of lengths {} and {}",
                        oa.hdr.rows, ob.hdr.rows
                    ),
                });
            }
            return Ok(());
        }
        let (sa, pa) = oa.dist()?.sig();
        let (sb, pb) = ob.dist()?.sig();
        if sa != sb || pa != pb {
            return Err(DtlError::Misaligned {
                detail: format!("shape {sa:?} {pa} and shape {sb:?} {pb}"),
            });
        }
        Ok(())
    })
}

/// Before a `forall` over `iter`: how the body reads `h` at the iteration index plus offsets
/// up to `reach`. Returns 0 when `h` is aligned with `iter` (read at the local row), 1 when `h`
/// is replicated (read at the global row, at any offset); anything else is an error (R0008),
/// as is a reach beyond `h`'s halo. Exchanges `h`'s halo first when it was written since the
/// last exchange.
pub extern "C" fn dtl_forall_prepare(
    cx: *mut RankCtx,
    iter: *mut Obj,
    h: *mut Obj,
    reach: i64,
    site: i32,
) -> i64 {
    guard(cx, site, 0, |_| {
        let same = std::ptr::eq(iter, h);
        let oh = obj(h)?;
        if oh.hdr.kind == kind::REPLICATED {
            // Every rank holds every row: read at the global row `i + k` (LANGUAGE §8 allows
            // any index), bounds-checked against the global length by the generated code. A
            // replicated iteration container's local rows are its global rows.
            return Ok(1);
        }
        if !same {
            let oi = obj(iter)?;
            let (si, pi) = oi.dist()?.sig();
            let (sh, ph) = obj(h)?.dist()?.sig();
            if si[0] != sh[0] || pi != ph {
                return Err(DtlError::Misaligned {
                    detail: format!(
                        "the forall iterates over shape {si:?} {pi} but reads or writes a container of shape {sh:?} {ph} at the iteration index"
                    ),
                });
            }
        }
        let oh = obj(h)?;
        if reach > 0 {
            if reach > oh.hdr.ghost {
                return Err(DtlError::OutOfBounds {
                    index: reach,
                    len: oh.hdr.ghost as usize,
                    what: "halo (offset from the iteration index beyond the halo width)".into(),
                });
            }
            if oh.hdr.dirty != 0 {
                oh.dist()?.exchange()?;
                oh.hdr.dirty = 0;
            }
        }
        Ok(0)
    })
}

/// Reads any element (`row`, offset in row) of a distributed container: local memory when this
/// rank holds it, else a one-sided get. Bits out.
pub extern "C" fn dtl_read(cx: *mut RankCtx, h: *mut Obj, row: i64, off: i64, site: i32) -> i64 {
    guard(cx, site, 0, |_| obj(h)?.dist()?.read(row, off))
}

/// Writes an element this rank holds (owned or replicated); R0009 for another rank's element.
pub extern "C" fn dtl_write(cx: *mut RankCtx, h: *mut Obj, row: i64, off: i64, v: i64, site: i32) {
    guard(cx, site, (), |_| {
        let o = obj(h)?;
        o.dist()?.write(row, off, v)?;
        o.hdr.dirty = 1;
        Ok(())
    })
}

/// `get(u, j)`.
pub extern "C" fn dtl_get(cx: *mut RankCtx, h: *mut Obj, row: i64, off: i64, site: i32) -> i64 {
    guard(cx, site, 0, |_| obj(h)?.dist()?.get(row, off))
}

/// `put(u, j, x)`: written at once when this rank holds the element, else buffered and sent
/// in bulk (at the latest at the next `barrier`/`fence`).
pub extern "C" fn dtl_put(cx: *mut RankCtx, h: *mut Obj, row: i64, off: i64, v: i64, site: i32) {
    guard(cx, site, (), |cx| {
        let o = obj(h)?;
        if o.hdr.kind == kind::REPLICATED {
            return o.dist()?.put(row, off, v);
        }
        let (flat, mine) = o.dist_raw()?.locate_flat(row, off)?;
        if mine {
            o.dist_raw()?.put_local(flat, v);
            return Ok(());
        }
        buffer(cx, h, o, flat, v, false)
    })
}

fn buffer(
    cx: &mut RankCtx,
    h: *mut Obj,
    o: &mut Obj,
    flat: usize,
    v: i64,
    add: bool,
) -> Result<()> {
    if o.pend_add.is_empty() && o.pend_put.is_empty() && !cx.pending.contains(&h) {
        cx.pending.push(h);
    }
    if add {
        o.pend_add.push((flat, v));
    } else {
        o.pend_put.push((flat, v));
    }
    if o.pend_add.len() + o.pend_put.len() >= PENDING_MAX {
        o.flush()?;
    }
    Ok(())
}

/// `atomic_add(u, j, x);` whose old value is not used: applied at once when this rank holds
/// the element, else buffered, combined per element and sent in bulk.
pub extern "C" fn dtl_atomic_add_nr(
    cx: *mut RankCtx,
    h: *mut Obj,
    row: i64,
    off: i64,
    v: i64,
    site: i32,
) {
    guard(cx, site, (), |cx| {
        let o = obj(h)?;
        if o.hdr.kind == kind::REPLICATED {
            return Err(DtlError::unsupported("atomics on a replicated container"));
        }
        let (flat, mine) = o.dist_raw()?.locate_flat(row, off)?;
        if mine && cx.size == 1 {
            o.dist_raw()?.add_local(flat, v);
            return Ok(());
        }
        buffer(cx, h, o, flat, v, true)
    })
}

/// `atomic_add(u, j, x)`: the old value.
pub extern "C" fn dtl_atomic_add(
    cx: *mut RankCtx,
    h: *mut Obj,
    row: i64,
    off: i64,
    v: i64,
    site: i32,
) -> i64 {
    guard(cx, site, 0, |_| obj(h)?.dist()?.atomic_add(row, off, v))
}

/// Collective `fence(u)`: completes puts and atomics on `u`.
pub extern "C" fn dtl_fence(cx: *mut RankCtx, h: *mut Obj, site: i32) {
    guard(cx, site, (), |_| {
        let o = obj(h)?;
        o.dist()?.fence()?;
        if o.hdr.ghost > 0 {
            o.hdr.dirty = 1;
        }
        Ok(())
    })
}

/// Collective `barrier()`: also completes map inserts and marks halos stale (remote puts may
/// have changed owned elements).
pub extern "C" fn dtl_barrier(cx: *mut RankCtx, site: i32) {
    guard(cx, site, (), |cx| {
        let s = cx.prog.site(site);
        for h in std::mem::take(&mut cx.pending) {
            obj(h)?.flush()?;
        }
        cx.comm.barrier(s)?;
        for &m in &cx.maps {
            obj(m)?.map()?.sync()?;
        }
        for &h in &cx.halos {
            obj(h)?.hdr.dirty = 1;
        }
        Ok(())
    })
}

/// Collective `argmin(u)` / `argmax(u)` (`max` nonzero): the lowest global index of the extreme.
pub extern "C" fn dtl_arg_extreme(cx: *mut RankCtx, h: *mut Obj, max: i64, site: i32) -> i64 {
    guard(cx, site, -1, |_| obj(h)?.dist()?.arg_extreme(max != 0))
}

/// Collective `sort(u, descending)`.
pub extern "C" fn dtl_sort(cx: *mut RankCtx, h: *mut Obj, descending: i64, site: i32) {
    guard(cx, site, (), |_| {
        let o = obj(h)?;
        o.dist()?.sort(descending != 0)?;
        o.refresh();
        o.hdr.dirty = 1;
        Ok(())
    })
}

/// Collective `scan(u, op)` / `exscan(u, op)`: a new container.
pub extern "C" fn dtl_scan(
    cx: *mut RankCtx,
    h: *mut Obj,
    op: i32,
    exclusive: i64,
    site: i32,
) -> *mut Obj {
    guard(cx, site, std::ptr::null_mut(), |cx| {
        let op = op_of_code(op)?;
        let d = obj(h)?.dist()?.scan(op, exclusive != 0)?;
        Ok(cx.new_dist(d))
    })
}

/// Collective `copy(u)` (`part` < 0: the same layout) or `copy(u) @part`.
pub extern "C" fn dtl_copy(
    cx: *mut RankCtx,
    h: *mut Obj,
    part: i64,
    bsize: i64,
    site: i32,
) -> *mut Obj {
    guard(cx, site, std::ptr::null_mut(), |cx| {
        let p = if part < 0 {
            None
        } else {
            Some(partition_of_code(part, bsize)?)
        };
        let src = obj(h)?;
        if src.hdr.kind == kind::LOCAL {
            let l = src.local()?.clone_box();
            return Ok(boxed(Body::Local(l)));
        }
        let d = src.dist()?.copy(p)?;
        Ok(cx.new_dist(d))
    })
}

/// Collective `resize(v, n)`.
pub extern "C" fn dtl_resize(cx: *mut RankCtx, h: *mut Obj, n: i64, site: i32) {
    guard(cx, site, (), |cx| {
        let n = DtlError::check_size(n, "resize")?;
        let s = cx.prog.site(site);
        let o = obj(h)?;
        if let Body::Borrowed { movable: false, .. } = o.body {
            return Err(DtlError::unsupported(
                "resize of a container passed from Python while a local_view() of it is alive",
            ));
        }
        o.dist()?.resize(n, s)?;
        o.refresh();
        o.hdr.dirty = 1;
        Ok(())
    })
}

/// `swap(u, v)`: exchanges the contents of two aligned containers (or local arrays).
pub extern "C" fn dtl_swap(cx: *mut RankCtx, a: *mut Obj, b: *mut Obj, site: i32) {
    guard(cx, site, (), |_| {
        if std::ptr::eq(a, b) {
            return Ok(());
        }
        let oa = obj(a)?;
        let ob = obj(b)?;
        let fixed = |b: &Body| matches!(b, Body::Borrowed { movable: false, .. });
        if fixed(&oa.body) || fixed(&ob.body) {
            return Err(DtlError::unsupported(
                "swap of a container passed from Python while a local_view() of it is alive",
            ));
        }
        if matches!(oa.body, Body::Borrowed { .. }) || matches!(ob.body, Body::Borrowed { .. }) {
            let x = oa.dist()?;
            x.swap(ob.dist()?)?;
        } else {
            match (&mut oa.body, &mut ob.body) {
                (Body::Dist(x), Body::Dist(y)) => x.swap(y.as_mut())?,
                (Body::Local(_), Body::Local(_)) => {
                    if oa.hdr.rows != ob.hdr.rows || oa.hdr.dtype != ob.hdr.dtype {
                        return Err(DtlError::Misaligned {
                            detail: "swap: local arrays of different lengths".into(),
                        });
                    }
                    let borrowed = |b: &Body| match b {
                        Body::Local(l) => l.is_borrowed(),
                        _ => false,
                    };
                    if borrowed(&oa.body) || borrowed(&ob.body) {
                        // Memory the host owns stays where it is: exchange the elements.
                        let tmp = oa.local()?.clone_box();
                        oa.local()?.copy_from(ob.local()?)?;
                        ob.local()?.copy_from(tmp.as_ref())?;
                    } else {
                        std::mem::swap(&mut oa.body, &mut ob.body);
                    }
                }
                _ => return Err(DtlError::invalid("swap needs two containers of one kind")),
            }
        }
        std::mem::swap(&mut oa.hdr.dirty, &mut ob.hdr.dirty);
        oa.refresh();
        ob.refresh();
        Ok(())
    })
}

/// Copies local array `src` into `dst` (same length).
pub extern "C" fn dtl_local_assign(cx: *mut RankCtx, dst: *mut Obj, src: *mut Obj, site: i32) {
    guard(cx, site, (), |_| {
        if std::ptr::eq(dst, src) {
            return Ok(());
        }
        let s = obj(src)?.local()?.clone_box();
        obj(dst)?.local()?.copy_from(s.as_ref())
    })
}

/// `owner(u, i)`.
pub extern "C" fn dtl_owner(cx: *mut RankCtx, h: *mut Obj, i: i64, site: i32) -> i64 {
    guard(cx, site, 0, |_| obj(h)?.dist()?.owner(i))
}

/// `is_local(u, i)`.
pub extern "C" fn dtl_is_local(cx: *mut RankCtx, h: *mut Obj, i: i64, site: i32) -> i64 {
    guard(cx, site, 0, |_| Ok(obj(h)?.dist()?.is_local(i) as i64))
}

/// `local_offset(u)` (block or replicated partitions).
pub extern "C" fn dtl_local_offset(cx: *mut RankCtx, h: *mut Obj, site: i32) -> i64 {
    guard(cx, site, 0, |_| obj(h)?.dist()?.local_offset())
}

/// Collective `save(u, "path")`.
pub extern "C" fn dtl_save(cx: *mut RankCtx, h: *mut Obj, path: *const u8, len: i64, site: i32) {
    guard(cx, site, (), |_| {
        let p = str_arg(path, len)?;
        obj(h)?.dist()?.save(p)
    })
}

/// Collective `load<T>("path") @part`.
pub extern "C" fn dtl_load(
    cx: *mut RankCtx,
    dtype: i32,
    path: *const u8,
    len: i64,
    part: i64,
    bsize: i64,
    site: i32,
) -> *mut Obj {
    guard(cx, site, std::ptr::null_mut(), |cx| {
        let p = str_arg(path, len)?;
        let part = partition_of_code(part.max(0), bsize)?;
        let comm = &cx.comm;
        with_dtype!(dtype, T => {
            // `load<T>` is typed as a vector: the file must be 1-D.
            let d = crate::npy::load_ndim::<T>(comm, p, part, 1)?;
            Ok(cx.new_dist(Box::new(d)))
        })
    })
}

// ------------------------------------------------------------------------------------------
// Entry points: maps

/// `insert(m, k, v)` (visible after the next barrier).
pub extern "C" fn dtl_map_insert(cx: *mut RankCtx, h: *mut Obj, k: i64, v: i64, site: i32) {
    guard(cx, site, (), |_| {
        obj(h)?.map()?.insert(k, v);
        Ok(())
    })
}

/// `atomic_add(m, k, x)` (visible after the next barrier).
pub extern "C" fn dtl_map_add(cx: *mut RankCtx, h: *mut Obj, k: i64, v: i64, site: i32) {
    guard(cx, site, (), |_| {
        obj(h)?.map()?.atomic_add(k, v);
        Ok(())
    })
}

/// `lookup(m, k, default)`.
pub extern "C" fn dtl_map_lookup(
    cx: *mut RankCtx,
    h: *mut Obj,
    k: i64,
    default: i64,
    site: i32,
) -> i64 {
    guard(cx, site, default, |_| obj(h)?.map()?.lookup(k, default))
}

/// `contains(m, k)`.
pub extern "C" fn dtl_map_contains(cx: *mut RankCtx, h: *mut Obj, k: i64, site: i32) -> i64 {
    guard(cx, site, 0, |_| Ok(obj(h)?.map()?.contains(k)? as i64))
}

/// Collective `len(m)`: the global number of keys.
pub extern "C" fn dtl_map_len(cx: *mut RankCtx, h: *mut Obj, site: i32) -> i64 {
    guard(cx, site, 0, |_| obj(h)?.map()?.global_len())
}

// ------------------------------------------------------------------------------------------
// Entry points: scalar and local-array collectives

/// Collective: `allreduce(x, op)` of a scalar given as bits.
pub extern "C" fn dtl_allreduce(cx: *mut RankCtx, x: i64, dtype: i32, op: i32, site: i32) -> i64 {
    guard(cx, site, x, |cx| {
        let op = op_of_code(op)?;
        let comm = &cx.comm;
        with_dtype!(dtype, T => Ok(comm.allreduce_scalar(T::from_abi(x), op)?.to_abi()))
    })
}

/// Collective: `reduce(x, op, root)`: the result on root, `x` elsewhere.
pub extern "C" fn dtl_reduce(
    cx: *mut RankCtx,
    x: i64,
    dtype: i32,
    op: i32,
    root: i64,
    site: i32,
) -> i64 {
    guard(cx, site, x, |cx| {
        let op = op_of_code(op)?;
        let comm = &cx.comm;
        let root = DtlError::check_rank(root, comm.size(), "root")?;
        with_dtype!(dtype, T => Ok(comm.reduce_scalar(T::from_abi(x), op, root)?.to_abi()))
    })
}

/// Collective: `broadcast(x, root)`.
pub extern "C" fn dtl_broadcast(cx: *mut RankCtx, x: i64, dtype: i32, root: i64, site: i32) -> i64 {
    guard(cx, site, x, |cx| {
        let comm = &cx.comm;
        let root = DtlError::check_rank(root, comm.size(), "root")?;
        with_dtype!(dtype, T => Ok(comm.broadcast_scalar(T::from_abi(x), root)?.to_abi()))
    })
}

/// Collective: `scan_ranks(x, op)` (`exclusive` nonzero: `exscan_ranks`; rank 0 gets the
/// operator's identity).
pub extern "C" fn dtl_scan_ranks(
    cx: *mut RankCtx,
    x: i64,
    dtype: i32,
    op: i32,
    exclusive: i64,
    site: i32,
) -> i64 {
    guard(cx, site, x, |cx| {
        let op = op_of_code(op)?;
        let comm = &cx.comm;
        with_dtype!(dtype, T => {
            let v = T::from_abi(x);
            Ok(comm.scan_scalar(v, op, exclusive != 0, algo::identity::<T>(op))?.to_abi())
        })
    })
}

/// Collective: `allgather(x)`: a local array of `size()` elements.
pub extern "C" fn dtl_allgather(cx: *mut RankCtx, x: i64, dtype: i32, site: i32) -> *mut Obj {
    guard(cx, site, std::ptr::null_mut(), |cx| {
        let comm = &cx.comm;
        with_dtype!(dtype, T => {
            let v = comm.allgather_scalar(T::from_abi(x))?;
            Ok(boxed(Body::Local(Box::new(LocalVec(v)))))
        })
    })
}

/// Collective: `gather(x, root)`: `size()` elements on root, none elsewhere.
pub extern "C" fn dtl_gather(
    cx: *mut RankCtx,
    x: i64,
    dtype: i32,
    root: i64,
    site: i32,
) -> *mut Obj {
    guard(cx, site, std::ptr::null_mut(), |cx| {
        let comm = &cx.comm;
        let root = DtlError::check_rank(root, comm.size(), "root")?;
        with_dtype!(dtype, T => {
            let v = comm.gatherv_vec(&[T::from_abi(x)], root)?;
            Ok(boxed(Body::Local(Box::new(LocalVec(v)))))
        })
    })
}

/// Collective: `scatter(l, root)`: element `rank()` of root's `l` (which has `size()` elements).
pub extern "C" fn dtl_scatter(cx: *mut RankCtx, l: *mut Obj, root: i64, site: i32) -> i64 {
    guard(cx, site, 0, |cx| {
        let comm = &cx.comm;
        let p = comm.size();
        let root = DtlError::check_rank(root, p, "root")?;
        let o = obj(l)?;
        let dtype = o.hdr.dtype;
        let bits = o.local()?.bits();
        if comm.rank() == root && bits.len() != p {
            return Err(DtlError::invalid(format!(
                "scatter needs a local array of size() = {p} elements on the root, got {}",
                bits.len()
            )));
        }
        let counts = vec![1usize; p];
        let send: &[i64] = if comm.rank() == root { &bits } else { &[] };
        let _ = dtype;
        let got = comm.scatterv_vec(send, &counts, root)?;
        got.first()
            .copied()
            .ok_or_else(|| DtlError::invalid("scatter received nothing"))
    })
}

/// Collective: `alltoall(l)`.
pub extern "C" fn dtl_alltoall(cx: *mut RankCtx, l: *mut Obj, site: i32) -> *mut Obj {
    guard(cx, site, std::ptr::null_mut(), |cx| {
        let comm = &cx.comm;
        let r = obj(l)?.local()?.alltoall(comm)?;
        Ok(boxed(Body::Local(r)))
    })
}

/// Collective: `allreduce(l, op)` of a local array, elementwise: a new local array.
pub extern "C" fn dtl_allreduce_local(
    cx: *mut RankCtx,
    l: *mut Obj,
    op: i32,
    site: i32,
) -> *mut Obj {
    guard(cx, site, std::ptr::null_mut(), |cx| {
        let op = op_of_code(op)?;
        // Arrays of different lengths meet as a collective mismatch (the element count is part
        // of the collective's signature): R0003.
        let c = obj(l)?
            .local()?
            .allreduced(&cx.comm, op, site_of(cx, site))?;
        Ok(boxed(Body::Local(c)))
    })
}

/// Collective: `broadcast(l, root)` of a local array: a new local array with root's values.
pub extern "C" fn dtl_broadcast_local(
    cx: *mut RankCtx,
    l: *mut Obj,
    root: i64,
    site: i32,
) -> *mut Obj {
    guard(cx, site, std::ptr::null_mut(), |cx| {
        let comm = &cx.comm;
        let root = DtlError::check_rank(root, comm.size(), "root")?;
        let mut c = obj(l)?.local()?.clone_box();
        check_uniform_len(comm, obj(l)?.hdr.rows, site_of(cx, site))?;
        c.broadcast(comm, root)?;
        Ok(boxed(Body::Local(c)))
    })
}

fn site_of(cx: &RankCtx, site: i32) -> Site {
    cx.prog.site(site)
}

fn check_uniform_len(comm: &CommRef, n: i64, site: Site) -> Result<()> {
    crate::container::check_uniform(comm, "local array length", &[n as u64], site)
}

// ------------------------------------------------------------------------------------------
// Entry points: point-to-point

fn rank_arg(cx: &RankCtx, r: i64, what: &'static str) -> Result<usize> {
    DtlError::check_rank(r, cx.comm.size(), what)
}

fn tag_arg(tag: i64) -> Result<i32> {
    i32::try_from(tag)
        .ok()
        .filter(|t| *t >= 0)
        .ok_or_else(|| DtlError::invalid(format!("tag {tag} is out of range")))
}

/// The first word of every point-to-point message a dtl program sends: these bits plus the
/// element type's code ([`dtype_of_code`]) in the low byte. The receive checks it, so
/// `send(1.5)` received by `recv<i64>` is R0003 instead of the float's bits read as an
/// integer.
const MSG_MAGIC: u64 = 0x6474_6c6d_7367_0000;

/// Sends `x` as a typed message (see [`MSG_MAGIC`]).
fn msg_send<T: Element>(comm: &CommRef, x: &[T], dest: usize, tag: i32) -> Result<()> {
    let body = crate::elem::as_bytes(x);
    let mut buf = Vec::with_capacity(8 + body.len());
    buf.extend_from_slice(&(MSG_MAGIC | T::DTYPE as u64).to_le_bytes());
    buf.extend_from_slice(body);
    comm.send(&buf, dest, tag)
}

/// Receives a typed message from `source` with `tag` as elements of `T`: R0003 when it was
/// sent with another element type (or not by [`msg_send`]).
fn msg_recv<T: Element>(comm: &CommRef, source: usize, tag: i32) -> Result<Vec<T>> {
    let (raw, _) = comm.recv_vec::<u8>(Source::Rank(source), TagSel::Tag(tag))?;
    let word = raw
        .get(..8)
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
        .map(u64::from_le_bytes);
    let sent = match word {
        Some(w) if w & !0xFF == MSG_MAGIC => dtype_of_code((w & 0xFF) as i32).ok(),
        _ => None,
    };
    let Some(sent) = sent else {
        return Err(DtlError::MessageMismatch {
            detail: format!(
                "the message from rank {source} (tag {tag}) is not a typed dtl message; expected {} elements",
                T::DTYPE
            ),
        });
    };
    if sent != T::DTYPE {
        return Err(DtlError::MessageMismatch {
            detail: format!(
                "rank {source} sent {sent} (tag {tag}) but it is received as {}",
                T::DTYPE
            ),
        });
    }
    let body = &raw[8..];
    if body.len() % T::DTYPE.size() != 0 {
        return Err(DtlError::MessageMismatch {
            detail: format!(
                "the message from rank {source} holds {} bytes, not whole {} elements",
                body.len(),
                T::DTYPE
            ),
        });
    }
    let mut out = vec![T::ZERO; body.len() / T::DTYPE.size()];
    crate::elem::as_bytes_mut(&mut out).copy_from_slice(body);
    Ok(out)
}

/// `send(x, dest, tag)` of a scalar.
pub extern "C" fn dtl_send(cx: *mut RankCtx, x: i64, dtype: i32, dest: i64, tag: i64, site: i32) {
    guard(cx, site, (), |cx| {
        let d = rank_arg(cx, dest, "destination rank")?;
        let t = tag_arg(tag)?;
        let comm = &cx.comm;
        with_dtype!(dtype, T => msg_send(comm, &[T::from_abi(x)], d, t))
    })
}

/// `recv<T>(source, tag)` of a scalar.
pub extern "C" fn dtl_recv(cx: *mut RankCtx, dtype: i32, source: i64, tag: i64, site: i32) -> i64 {
    guard(cx, site, 0, |cx| {
        let s = rank_arg(cx, source, "source rank")?;
        let t = tag_arg(tag)?;
        let comm = &cx.comm;
        with_dtype!(dtype, T => {
            let v = msg_recv::<T>(comm, s, t)?;
            match v.as_slice() {
                [x] => Ok(x.to_abi()),
                _ => Err(DtlError::invalid(format!(
                    "recv expected one {} but the message has {} elements",
                    T::DTYPE,
                    v.len()
                ))),
            }
        })
    })
}

/// `send(l, dest, tag)` of a local array.
pub extern "C" fn dtl_send_local(cx: *mut RankCtx, l: *mut Obj, dest: i64, tag: i64, site: i32) {
    guard(cx, site, (), |cx| {
        let d = rank_arg(cx, dest, "destination rank")?;
        let t = tag_arg(tag)?;
        let comm = &cx.comm;
        obj(l)?.local()?.send(comm, d, t)
    })
}

/// `recv(buf, source, tag)` into a local array.
pub extern "C" fn dtl_recv_local(cx: *mut RankCtx, l: *mut Obj, source: i64, tag: i64, site: i32) {
    guard(cx, site, (), |cx| {
        let s = rank_arg(cx, source, "source rank")?;
        let t = tag_arg(tag)?;
        let comm = &cx.comm;
        obj(l)?.local()?.recv(comm, s, t)
    })
}

/// `sendrecv(x, dest, source, tag)` of a scalar.
pub extern "C" fn dtl_sendrecv(
    cx: *mut RankCtx,
    x: i64,
    dtype: i32,
    dest: i64,
    source: i64,
    tag: i64,
    site: i32,
) -> i64 {
    guard(cx, site, 0, |cx| {
        let d = rank_arg(cx, dest, "destination rank")?;
        let s = rank_arg(cx, source, "source rank")?;
        let t = tag_arg(tag)?;
        let comm = &cx.comm;
        with_dtype!(dtype, T => {
            msg_send(comm, &[T::from_abi(x)], d, t)?;
            let v = msg_recv::<T>(comm, s, t)?;
            match v.as_slice() {
                [y] => Ok(y.to_abi()),
                _ => Err(DtlError::invalid("sendrecv: the message is not one element")),
            }
        })
    })
}

// ------------------------------------------------------------------------------------------
// Entry points: output, errors, utilities

fn push_item(cx: &mut RankCtx, s: &str) {
    if cx.items > 0 {
        cx.line.push(' ');
    }
    cx.line.push_str(s);
    cx.items += 1;
}

/// Appends an integer (`unsigned` nonzero: the bits are a u64) to the line being printed.
pub extern "C" fn dtl_print_int(cx: *mut RankCtx, x: i64, unsigned: i64) {
    guard(cx, -1, (), |cx| {
        let s = if unsigned != 0 {
            (x as u64).to_string()
        } else {
            x.to_string()
        };
        push_item(cx, &s);
        Ok(())
    })
}

/// Appends a float (`single` nonzero: print as f32) in Rust's `{}` form.
pub extern "C" fn dtl_print_float(cx: *mut RankCtx, x: f64, single: i64) {
    guard(cx, -1, (), |cx| {
        let s = if single != 0 {
            format!("{}", x as f32)
        } else {
            format!("{x}")
        };
        push_item(cx, &s);
        Ok(())
    })
}

/// Appends `true` or `false`.
pub extern "C" fn dtl_print_bool(cx: *mut RankCtx, x: i64) {
    guard(cx, -1, (), |cx| {
        push_item(cx, if x != 0 { "true" } else { "false" });
        Ok(())
    })
}

/// Appends a string literal.
pub extern "C" fn dtl_print_str(cx: *mut RankCtx, p: *const u8, len: i64) {
    guard(cx, -1, (), |cx| {
        let s = str_arg(p, len)?;
        push_item(cx, s);
        Ok(())
    })
}

/// Ends a `print` line: writes it as one atomic line.
pub extern "C" fn dtl_print_end(cx: *mut RankCtx) {
    guard(cx, -1, (), |cx| {
        let mut line = std::mem::take(&mut cx.line);
        cx.items = 0;
        line.push('\n');
        (cx.prog.sink)(&line);
        Ok(())
    })
}

/// Collective: ends a `print_all` line: rank 0 prints every rank's line in rank order, each
/// prefixed `[r] `.
pub extern "C" fn dtl_print_all_end(cx: *mut RankCtx, site: i32) {
    guard(cx, site, (), |cx| {
        let line = std::mem::take(&mut cx.line);
        cx.items = 0;
        let comm = &cx.comm;
        let bytes = line.into_bytes();
        let all = comm.gatherv_vec(&bytes, 0)?;
        let lens = comm.gatherv_vec(&[bytes.len() as u64], 0)?;
        if comm.rank() == 0 {
            let mut out = String::new();
            let mut at = 0usize;
            for (r, &n) in lens.iter().enumerate() {
                let n = n as usize;
                let s = String::from_utf8_lossy(&all[at..at + n]);
                out.push_str(&format!("[{r}] {s}\n"));
                at += n;
            }
            (cx.prog.sink)(&out);
        }
        Ok(())
    })
}

/// A failed bounds check in generated code: `index` against `len` (R0001).
pub extern "C" fn dtl_fail_bounds(cx: *mut RankCtx, index: i64, len: i64, site: i32) {
    guard(cx, site, (), |_| {
        Err(DtlError::OutOfBounds {
            index,
            len: len.max(0) as usize,
            what: "container".into(),
        })
    })
}

/// A failure raised by generated code: 0 division by zero (R0002), 1 misaligned containers
/// (R0008), 2 a `for` loop step that is zero or negative (R0009), 3 a `forall` range with
/// more indices than an i64 counts (R0006).
pub extern "C" fn dtl_fail(cx: *mut RankCtx, what: i64, site: i32) {
    guard(cx, site, (), |_| {
        Err(match what {
            0 => DtlError::DivisionByZero,
            2 => DtlError::invalid("the step of a `for` loop must be positive"),
            3 => DtlError::BadSize {
                requested: 1 << 63,
                what: "the range of a `forall` (more than 2^63 - 1 indices)".into(),
            },
            _ => DtlError::Misaligned {
                detail: "the containers of this expression differ in length or partition".into(),
            },
        })
    })
}

/// A recursive function found the stack pointer below the context's `stack_limit`, or no
/// `collective_depth_left`, in its prologue (R0015). `name` is the function's name (`len`
/// bytes).
pub extern "C" fn dtl_stack_overflow(cx: *mut RankCtx, p: *const u8, len: i64, site: i32) {
    guard(cx, site, (), |cx| {
        let name = str_arg(p, len).unwrap_or("?").to_string();
        if cx.collective_depth_left < 0 {
            return Err(DtlError::CollectiveRecursion {
                function: name,
                limit: crate::sys::max_collective_depth(),
            });
        }
        Err(DtlError::StackOverflow {
            function: name,
            stack: crate::sys::stack_size().unwrap_or(0),
        })
    })
}

/// Generated code found the stop word set at a loop head: records why (R0011 when another
/// rank failed or the watchdog fired, R0016 on SIGINT), and the code returns.
pub extern "C" fn dtl_poll_stop(cx: *mut RankCtx, site: i32) {
    guard(cx, site, (), |cx| Err(cx.comm.stop_error()))
}

/// `assert(c, "msg")` failed (R0005).
pub extern "C" fn dtl_assert_fail(cx: *mut RankCtx, p: *const u8, len: i64, site: i32) {
    guard(cx, site, (), |_| {
        let m = str_arg(p, len).unwrap_or("assertion failed");
        Err(DtlError::AssertionFailed {
            message: m.to_string(),
        })
    })
}

/// The value of `param` slot `g`: its `-D` override when one was given, else `default`.
pub extern "C" fn dtl_param(cx: *mut RankCtx, g: i64, default: i64) -> i64 {
    guard(cx, -1, default, |cx| {
        Ok(u32::try_from(g)
            .ok()
            .and_then(|g| cx.prog.overrides.get(&g).copied())
            .unwrap_or(default))
    })
}

/// Uniform `has_cuda()`: this build drives no GPU yet.
pub extern "C" fn dtl_has_cuda() -> i64 {
    0
}

/// `wtime()`: seconds since the Unix epoch.
pub extern "C" fn dtl_wtime() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `round(x, d)` = `(x * 10^d).round() / 10^d` in f64.
pub extern "C" fn dtl_round(x: f64, d: i64) -> f64 {
    let d = d.clamp(-300, 300) as i32;
    let p = 10f64.powi(d);
    (x * p).round() / p
}

/// `rand(seed, i)`.
pub extern "C" fn dtl_rand(seed: i64, i: i64) -> f64 {
    crate::random::rand(seed as u64, i as u64)
}

/// `randn(seed, i)`.
pub extern "C" fn dtl_randn(seed: i64, i: i64) -> f64 {
    crate::random::randn(seed as u64, i as u64)
}

/// `sin(x)`: dtl's own (see [`crate::math`]), which vector code computes bit for bit alike.
pub extern "C" fn dtl_sin(x: f64) -> f64 {
    crate::math::sin(x)
}

/// `cos(x)`: dtl's own (see [`crate::math`]).
pub extern "C" fn dtl_cos(x: f64) -> f64 {
    crate::math::cos(x)
}

/// `exp(x)`: dtl's own (see [`crate::math`]).
pub extern "C" fn dtl_exp(x: f64) -> f64 {
    crate::math::exp(x)
}

/// The C library's math functions, which Rust's `f64::tan` etc. call on this target (one jump
/// less per element than a wrapper).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod clib {
    unsafe extern "C" {
        pub safe fn tan(x: f64) -> f64;
        pub safe fn log(x: f64) -> f64;
    }
}

// `tan log`: on glibc targets the entry points are the C library's functions
// themselves (what `f64::sin` etc. call there), so generated code calls them directly.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub use clib::{log as dtl_log, tan as dtl_tan};

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
macro_rules! math1 {
    ($($name:ident = $f:ident),*) => {$(
        #[doc = concat!("`", stringify!($f), "(x)`.")]
        pub extern "C" fn $name(x: f64) -> f64 { x.$f() }
    )*};
}
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
math1!(dtl_tan = tan, dtl_log = ln);

/// `pow(x, y)`.
pub extern "C" fn dtl_pow(x: f64, y: f64) -> f64 {
    x.powf(y)
}

/// Float `%` (Rust semantics: the sign of the dividend).
pub extern "C" fn dtl_fmod(x: f64, y: f64) -> f64 {
    x % y
}

// ------------------------------------------------------------------------------------------
// The table

/// The Cranelift-level type of an argument or result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AbiTy {
    /// A pointer (handles, the context, string data).
    Ptr,
    I64,
    I32,
    F64,
}

/// Maps a Rust parameter type to its [`AbiTy`].
pub trait AbiArg {
    const TY: AbiTy;
}
impl AbiArg for *mut RankCtx {
    const TY: AbiTy = AbiTy::Ptr;
}
impl AbiArg for *mut Obj {
    const TY: AbiTy = AbiTy::Ptr;
}
impl AbiArg for *const u8 {
    const TY: AbiTy = AbiTy::Ptr;
}
impl AbiArg for i64 {
    const TY: AbiTy = AbiTy::I64;
}
impl AbiArg for i32 {
    const TY: AbiTy = AbiTy::I32;
}
impl AbiArg for f64 {
    const TY: AbiTy = AbiTy::F64;
}

/// Maps a Rust result type to its optional [`AbiTy`].
pub trait AbiRet {
    const TY: Option<AbiTy>;
}
impl AbiRet for () {
    const TY: Option<AbiTy> = None;
}
impl<T: AbiArg> AbiRet for T {
    const TY: Option<AbiTy> = Some(T::TY);
}

/// One entry point: its symbol, address and signature.
#[derive(Clone, Debug)]
pub struct Entry {
    pub name: &'static str,
    pub ptr: *const u8,
    pub params: Vec<AbiTy>,
    pub ret: Option<AbiTy>,
}

macro_rules! entries {
    ($($name:ident : ($($a:ty),*) -> $r:ty;)*) => {
        /// Every entry point, for the JIT's symbol table and imports.
        pub fn table() -> Vec<Entry> {
            vec![$({
                let f: extern "C" fn($($a),*) -> $r = $name;
                Entry {
                    name: stringify!($name),
                    ptr: f as *const u8,
                    params: vec![$(<$a as AbiArg>::TY),*],
                    ret: <$r as AbiRet>::TY,
                }
            }),*]
        }
    };
}

type Cx = *mut RankCtx;
type H = *mut Obj;
type S = *const u8;

entries! {
    dtl_dist_new: (Cx, i32, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i32) -> H;
    dtl_local_new: (Cx, i32, i64, i64, i32) -> H;
    dtl_map_new: (Cx, i32, i32) -> H;
    dtl_retain: (H) -> ();
    dtl_release: (Cx, H, i32) -> ();
    dtl_exchange: (Cx, H, i32) -> ();
    dtl_check_aligned: (Cx, H, H, i32) -> ();
    dtl_forall_prepare: (Cx, H, H, i64, i32) -> i64;
    dtl_read: (Cx, H, i64, i64, i32) -> i64;
    dtl_write: (Cx, H, i64, i64, i64, i32) -> ();
    dtl_get: (Cx, H, i64, i64, i32) -> i64;
    dtl_put: (Cx, H, i64, i64, i64, i32) -> ();
    dtl_atomic_add_nr: (Cx, H, i64, i64, i64, i32) -> ();
    dtl_atomic_add: (Cx, H, i64, i64, i64, i32) -> i64;
    dtl_fence: (Cx, H, i32) -> ();
    dtl_barrier: (Cx, i32) -> ();
    dtl_arg_extreme: (Cx, H, i64, i32) -> i64;
    dtl_sort: (Cx, H, i64, i32) -> ();
    dtl_scan: (Cx, H, i32, i64, i32) -> H;
    dtl_copy: (Cx, H, i64, i64, i32) -> H;
    dtl_resize: (Cx, H, i64, i32) -> ();
    dtl_swap: (Cx, H, H, i32) -> ();
    dtl_local_assign: (Cx, H, H, i32) -> ();
    dtl_owner: (Cx, H, i64, i32) -> i64;
    dtl_is_local: (Cx, H, i64, i32) -> i64;
    dtl_local_offset: (Cx, H, i32) -> i64;
    dtl_save: (Cx, H, S, i64, i32) -> ();
    dtl_load: (Cx, i32, S, i64, i64, i64, i32) -> H;
    dtl_map_insert: (Cx, H, i64, i64, i32) -> ();
    dtl_map_add: (Cx, H, i64, i64, i32) -> ();
    dtl_map_lookup: (Cx, H, i64, i64, i32) -> i64;
    dtl_map_contains: (Cx, H, i64, i32) -> i64;
    dtl_map_len: (Cx, H, i32) -> i64;
    dtl_allreduce: (Cx, i64, i32, i32, i32) -> i64;
    dtl_reduce: (Cx, i64, i32, i32, i64, i32) -> i64;
    dtl_broadcast: (Cx, i64, i32, i64, i32) -> i64;
    dtl_scan_ranks: (Cx, i64, i32, i32, i64, i32) -> i64;
    dtl_allgather: (Cx, i64, i32, i32) -> H;
    dtl_gather: (Cx, i64, i32, i64, i32) -> H;
    dtl_scatter: (Cx, H, i64, i32) -> i64;
    dtl_alltoall: (Cx, H, i32) -> H;
    dtl_allreduce_local: (Cx, H, i32, i32) -> H;
    dtl_broadcast_local: (Cx, H, i64, i32) -> H;
    dtl_send: (Cx, i64, i32, i64, i64, i32) -> ();
    dtl_recv: (Cx, i32, i64, i64, i32) -> i64;
    dtl_send_local: (Cx, H, i64, i64, i32) -> ();
    dtl_recv_local: (Cx, H, i64, i64, i32) -> ();
    dtl_sendrecv: (Cx, i64, i32, i64, i64, i64, i32) -> i64;
    dtl_print_int: (Cx, i64, i64) -> ();
    dtl_print_float: (Cx, f64, i64) -> ();
    dtl_print_bool: (Cx, i64) -> ();
    dtl_print_str: (Cx, S, i64) -> ();
    dtl_print_end: (Cx) -> ();
    dtl_print_all_end: (Cx, i32) -> ();
    dtl_fail_bounds: (Cx, i64, i64, i32) -> ();
    dtl_fail: (Cx, i64, i32) -> ();
    dtl_poll_stop: (Cx, i32) -> ();
    dtl_assert_fail: (Cx, S, i64, i32) -> ();
    dtl_stack_overflow: (Cx, S, i64, i32) -> ();
    dtl_param: (Cx, i64, i64) -> i64;
    dtl_has_cuda: () -> i64;
    dtl_wtime: () -> f64;
    dtl_round: (f64, i64) -> f64;
    dtl_rand: (i64, i64) -> f64;
    dtl_randn: (i64, i64) -> f64;
    dtl_sin: (f64) -> f64;
    dtl_cos: (f64) -> f64;
    dtl_tan: (f64) -> f64;
    dtl_exp: (f64) -> f64;
    dtl_log: (f64) -> f64;
    dtl_pow: (f64, f64) -> f64;
    dtl_fmod: (f64, f64) -> f64;
}

/// Looks an entry point up by name.
pub fn entry(name: &str) -> Option<Entry> {
    table().into_iter().find(|e| e.name == name)
}

#[cfg(test)]
mod tests;
