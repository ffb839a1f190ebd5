//! Objects: container handles, their header and the type-erased operations behind them.

use super::*;
use crate::algo;
use crate::comm::{CommExt, CommRef};
use crate::container::Distributed;
use crate::elem::{DType, ReduceOp};
use crate::error::{DtlError, Result, Site};
use crate::map::DistMap;
use crate::partition::Partition;

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
    pub(super) body: Body,
    /// One-sided updates of other ranks' elements not sent yet (flat index, bits): atomics
    /// whose result is unused and puts. They are sent in bulk before anything else touches
    /// the container, at `barrier`, `fence` and when it is freed.
    pub(super) pend_add: Vec<(usize, i64)>,
    pub(super) pend_put: Vec<(usize, i64)>,
}

/// Pending one-sided updates per container above which they are sent at once.
pub(super) const PENDING_MAX: usize = 1 << 20;

pub(super) enum Body {
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
pub(super) trait DistOps {
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
pub(super) trait LocalOps {
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

pub(super) struct LocalVec<T: AbiElem>(pub(super) Vec<T>);

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
pub(super) trait MapOps {
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

pub(super) fn boxed(body: Body) -> *mut Obj {
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
    pub(super) fn refresh(&mut self) {
        match &mut self.body {
            Body::Dist(d) => d.refresh(&mut self.hdr),
            // SAFETY: see `Body::borrowed_mut`.
            Body::Borrowed { d, .. } => unsafe { &mut **d }.refresh(&mut self.hdr),
            Body::Local(l) => l.refresh(&mut self.hdr),
            Body::Map(_) => self.hdr.kind = kind::MAP,
        }
    }

    /// The distributed container, after sending its pending one-sided updates.
    pub(super) fn dist(&mut self) -> Result<&mut dyn DistOps> {
        self.flush()?;
        self.dist_raw()
    }

    pub(super) fn dist_raw(&mut self) -> Result<&mut dyn DistOps> {
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
    pub(super) fn flush(&mut self) -> Result<()> {
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

    pub(super) fn local(&mut self) -> Result<&mut dyn LocalOps> {
        match &mut self.body {
            Body::Local(l) => Ok(l.as_mut()),
            _ => Err(DtlError::invalid("expected a local array")),
        }
    }

    pub(super) fn map(&mut self) -> Result<&mut dyn MapOps> {
        match &mut self.body {
            Body::Map(m) => Ok(m.as_mut()),
            _ => Err(DtlError::invalid("expected a map")),
        }
    }
}

/// Frees a handle whose reference count reached zero.
pub(super) fn free_obj(h: *mut Obj) {
    // SAFETY: the count reached zero, so no other reference exists; `h` came from
    // `Box::into_raw` in `boxed` and is freed exactly once.
    drop(unsafe { Box::from_raw(h) });
}

/// Borrows the object behind a handle.
pub(super) fn obj<'a>(h: *mut Obj) -> Result<&'a mut Obj> {
    if h.is_null() {
        return Err(DtlError::invalid("use of an uninitialized container"));
    }
    // SAFETY: non-null handles come from `boxed` and stay valid until their last release; the
    // generated code holds a reference for as long as it passes the handle, and a rank's
    // handles are used by that rank's thread only.
    Ok(unsafe { &mut *h })
}

pub(super) fn str_arg<'a>(ptr: *const u8, len: i64) -> Result<&'a str> {
    if ptr.is_null() || len < 0 {
        return Err(DtlError::invalid("bad string argument"));
    }
    // SAFETY: string arguments point at literals the compiled program owns for its whole run.
    let b = unsafe { std::slice::from_raw_parts(ptr, len as usize) };
    std::str::from_utf8(b).map_err(|_| DtlError::invalid("string is not UTF-8"))
}
