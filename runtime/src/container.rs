//! Distributed containers: [`Vector`] (resizable), [`Array`] (fixed), [`Tensor`] (N-D, split
//! along dimension 0), [`Span`] (a non-owning view), and the rank-local [`LocalArray`].
//!
//! Vector, array and tensor share one core, [`Distributed`], which they dereference to: the
//! layout (rows of dimension 0 split by a [`Partition`]), this rank's storage
//! `[ghost rows | owned rows | ghost rows]` in one buffer, and a one-sided window over the owned
//! rows through which every rank can `get`, `put`, `atomic_add` and `compare_and_swap` any
//! element.
//!
//! Constructors, `resize`, `exchange`, `fence` and dropping a container are **collective**: every
//! rank must make the same call in the same order. Element access through `local()` is local;
//! one-sided calls (`get`, `put`, …) are not collective, and puts and atomics become visible to
//! other ranks at the next `fence()` or barrier.

/// Implements `Deref`/`DerefMut` to [`Distributed`] and [`View`] for a newtype container
/// (`Vector`, `Array`, `Tensor`): they differ only in their constructors and extra methods.
macro_rules! core_wrapper {
    ($name:ident) => {
        impl<T: $crate::elem::Element> ::std::ops::Deref for $name<T> {
            type Target = $crate::container::Distributed<T>;
            fn deref(&self) -> &$crate::container::Distributed<T> {
                &self.0
            }
        }

        impl<T: $crate::elem::Element> ::std::ops::DerefMut for $name<T> {
            fn deref_mut(&mut self) -> &mut $crate::container::Distributed<T> {
                &mut self.0
            }
        }

        impl<T: $crate::elem::Element> $crate::container::View<T> for $name<T> {
            fn comm(&self) -> &$crate::comm::CommRef {
                self.0.comm()
            }
            fn global_len(&self) -> usize {
                self.0.global_len()
            }
            fn local(&self) -> &[T] {
                self.0.local()
            }
            fn global_of_local(&self, k: usize) -> usize {
                self.0.global_of_local(k)
            }
            fn is_replicated(&self) -> bool {
                self.0.is_replicated()
            }
        }
    };
}
use core_wrapper;

mod array;
mod local;
mod span;
mod tensor;
mod vector;

pub use array::Array;
pub use local::LocalArray;
pub use span::Span;
pub use tensor::Tensor;
pub use vector::Vector;

use crate::comm::{CommRef, WinId};
use crate::elem::{DType, Element, ReduceOp, as_bytes, as_bytes_mut};
use crate::error::{DtlError, Result, Site};
use crate::halo::{Halo, HaloPlan};
use crate::partition::{Layout, Partition};

/// Construction options of a distributed container: partition, halo and fill value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Options<T> {
    pub partition: Partition,
    pub halo: Option<Halo>,
    pub fill: T,
}

impl<T: Element> Default for Options<T> {
    fn default() -> Self {
        Options {
            partition: Partition::Block,
            halo: None,
            fill: T::ZERO,
        }
    }
}

impl<T: Element> Options<T> {
    /// Block partition, no halo, zeros.
    pub fn new() -> Self {
        Self::default()
    }

    pub fn partition(mut self, p: Partition) -> Self {
        self.partition = p;
        self
    }

    pub fn fill(mut self, x: T) -> Self {
        self.fill = x;
        self
    }

    /// A halo of `width` (needs a block partition).
    pub fn halo(mut self, width: usize, periodic: bool) -> Self {
        self.halo = Some(Halo { width, periodic });
        self
    }
}

/// Allocates `len` copies of `x`, reporting failure as R0006 instead of aborting.
pub(crate) fn alloc_vec<T: Element>(len: usize, x: T) -> Result<Vec<T>> {
    alloc_vec_shared(len, x, 1)
}

/// [`alloc_vec`] for one of `sharers` ranks of this machine that allocate the same amount at
/// once (the parts of a distributed container): R0006 before anything is allocated when all
/// of them together would not fit in the memory the system has left
/// ([`crate::sys::available_memory`]), instead of a machine that swaps or a rank the kernel
/// kills. The elements are written here, so the memory is resident when this returns and the
/// next check sees it gone.
pub(crate) fn alloc_vec_shared<T: Element>(len: usize, x: T, sharers: u64) -> Result<Vec<T>> {
    let bytes = (len as u64).saturating_mul(T::DTYPE.size() as u64);
    if bytes.saturating_mul(sharers.max(1)) >= crate::sys::MEMORY_CHECK_MIN {
        crate::sys::check_fits(bytes, sharers, crate::sys::available_memory()).map_err(
            |available| DtlError::NotEnoughMemory {
                bytes,
                ranks: sharers,
                available,
                what: format!("a part of {len} {} elements", T::DTYPE),
            },
        )?;
    }
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| DtlError::OutOfMemory {
            bytes: len.saturating_mul(T::DTYPE.size()),
        })?;
    v.resize(len, x);
    Ok(v)
}

/// Collective: exposes `mem` to one-sided access by every rank.
///
/// The caller must keep `mem` alive and in place, and must not take it back for anything but
/// local access, until it calls `win_free` on the returned window.
pub(crate) fn create_window<T: Element>(
    comm: &CommRef,
    mem: &mut [T],
    site: Site,
) -> Result<WinId> {
    let bytes = std::mem::size_of_val(mem);
    // SAFETY: every caller in this crate stores the window next to the Vec that owns `mem`,
    // never reallocates that Vec while the window lives (resize frees the window first), and
    // frees the window in `Drop` before the Vec is dropped (or leaks the Vec if freeing fails).
    unsafe { comm.win_create(mem.as_mut_ptr().cast::<u8>(), bytes, site) }
}

/// Collective check that every rank passed the same values (R0003 naming them otherwise).
pub(crate) fn check_uniform(comm: &CommRef, what: &str, vals: &[u64], site: Site) -> Result<()> {
    if comm.size() == 1 {
        return Ok(());
    }
    let mut both: Vec<u64> = vals.to_vec();
    both.extend(vals.iter().map(|v| !v));
    let mut out = vec![0u64; both.len()];
    comm.allreduce(
        as_bytes(&both),
        as_bytes_mut(&mut out),
        DType::U64,
        ReduceOp::Max,
        site,
    )?;
    let k = vals.len();
    for i in 0..k {
        let (max, min) = (out[i], !out[k + i]);
        if max != min {
            return Err(DtlError::CollectiveMismatch {
                detail: format!(
                    "{what}: ranks passed different values (from {min} to {max}); rank {} passed {:?}",
                    comm.rank(),
                    vals
                ),
            });
        }
    }
    Ok(())
}

fn partition_code(p: Partition) -> u64 {
    match p {
        Partition::Block => 0,
        Partition::Cyclic => 1,
        Partition::Replicated => 2,
        Partition::BlockCyclic(b) => 3 + b as u64,
    }
}

/// The shared core of [`Vector`], [`Array`] and [`Tensor`]: a distributed, row-partitioned
/// buffer with an optional halo and a one-sided window.
pub struct Distributed<T: Element> {
    comm: CommRef,
    layout: Layout,
    shape: Vec<usize>,
    /// Elements per row (product of `shape[1..]`; 1 for vectors).
    row: usize,
    halo: Option<Halo>,
    plan: Option<HaloPlan>,
    /// `[ghost | owned | ghost]`, `ghost` elements on each side.
    data: Vec<T>,
    ghost: usize,
    win: Option<WinId>,
}

impl<T: Element> std::fmt::Debug for Distributed<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Distributed")
            .field("dtype", &T::DTYPE)
            .field("shape", &self.shape)
            .field("partition", &self.layout.partition())
            .field("halo", &self.halo)
            .field("rank", &self.comm.rank())
            .field("local_len", &self.local_len())
            .finish()
    }
}

impl<T: Element> Distributed<T> {
    /// Collective: a container of the given shape (`shape[0]` rows split by the partition).
    /// Every rank must pass the same shape and options (R0003 otherwise). Sizes beyond the
    /// runtime's limit are R0006; a halo on a non-block partition or an empty shape is R0009.
    #[track_caller]
    pub fn new(comm: &CommRef, shape: &[usize], opts: Options<T>) -> Result<Self> {
        Self::new_at(comm, shape, opts, Site::caller())
    }

    pub(crate) fn new_at(
        comm: &CommRef,
        shape: &[usize],
        opts: Options<T>,
        site: Site,
    ) -> Result<Self> {
        if shape.is_empty() {
            return Err(DtlError::invalid(
                "a distributed container needs at least one dimension",
            ));
        }
        let mut total: u64 = 1;
        for &d in shape {
            total = total
                .checked_mul(d as u64)
                .ok_or_else(|| DtlError::BadSize {
                    requested: shape.iter().map(|&d| d as i128).product::<i128>(),
                    what: "container shape".into(),
                })?;
        }
        DtlError::check_size(i64::try_from(total).unwrap_or(i64::MAX), "container size")?;
        let layout = Layout::new(shape[0], comm.size(), opts.partition)?;
        let mut uni: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
        uni.push(shape.len() as u64);
        uni.push(partition_code(opts.partition));
        uni.push(
            opts.halo
                .map_or(0, |h| h.width as u64 * 2 + u64::from(h.periodic)),
        );
        check_uniform(comm, "container construction", &uni, site)?;
        let row: usize = shape[1..].iter().product();
        // Sizes first: a halo wider than memory must fail at once, not after its exchange plan
        // (which visits every ghost row) or an overflowing buffer length.
        let ghost = opts
            .halo
            .map_or(0, |h| h.width)
            .checked_mul(row)
            .ok_or_else(|| DtlError::BadSize {
                requested: opts.halo.map_or(0, |h| h.width as i128) * row as i128,
                what: "halo".into(),
            })?;
        let owned = layout.local_len(comm.rank()) * row;
        let buffer = owned as i128 + 2 * ghost as i128;
        if buffer > 1 << 48 {
            return Err(DtlError::BadSize {
                requested: buffer,
                what: format!(
                    "a container part with a halo of width {}",
                    opts.halo.map_or(0, |h| h.width)
                ),
            });
        }
        let sharers = crate::sys::ranks_sharing_memory(comm.backend(), comm.size());
        let mut data = alloc_vec_shared(owned + 2 * ghost, T::ZERO, sharers)?;
        let plan = match opts.halo {
            Some(h) => Some(HaloPlan::new(&layout, comm.rank(), h)?),
            None => None,
        };
        data[ghost..ghost + owned].fill(opts.fill);
        let mut c = Distributed {
            comm: comm.clone(),
            layout,
            shape: shape.to_vec(),
            row,
            halo: opts.halo,
            plan,
            data,
            ghost,
            win: None,
        };
        c.win = Some(create_window(
            comm,
            &mut c.data[ghost..ghost + owned],
            site,
        )?);
        Ok(c)
    }

    /// The communicator this container lives on.
    pub fn comm(&self) -> &CommRef {
        &self.comm
    }

    /// The layout of dimension 0 (rows).
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn partition(&self) -> Partition {
        self.layout.partition()
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Elements per row (1 for vectors and arrays).
    pub fn row_len(&self) -> usize {
        self.row
    }

    pub fn halo(&self) -> Option<Halo> {
        self.halo
    }

    /// Global number of elements (for a tensor: all of them).
    pub fn global_len(&self) -> usize {
        self.layout.len() * self.row
    }

    /// Number of elements this rank owns.
    pub fn local_len(&self) -> usize {
        self.layout.local_len(self.comm.rank()) * self.row
    }

    /// Number of rows (dimension-0 entries) this rank owns.
    pub fn local_rows(&self) -> usize {
        self.layout.local_len(self.comm.rank())
    }

    /// Global index of this rank's first element (block and replicated only; R0009 otherwise).
    pub fn local_offset(&self) -> Result<usize> {
        Ok(self.layout.local_offset(self.comm.rank())? * self.row)
    }

    /// The rank owning flat global index `i` (R0001 when out of range).
    pub fn owner(&self, i: usize) -> Result<usize> {
        self.locate(i).map(|(o, _)| o)
    }

    /// Whether this rank holds flat global index `i`.
    pub fn is_local(&self, i: usize) -> bool {
        i < self.global_len() && self.layout.is_local(self.comm.rank(), i / self.row)
    }

    /// The flat global index of local element `k` (k must be below `local_len()`).
    #[inline]
    pub fn global_of_local(&self, k: usize) -> usize {
        let r = k / self.row;
        self.layout.global_index_unchecked(self.comm.rank(), r) * self.row + k % self.row
    }

    /// The owned elements (zero-copy; the pointer is stable until a resize).
    pub fn local(&self) -> &[T] {
        let n = self.local_len();
        &self.data[self.ghost..self.ghost + n]
    }

    /// The owned elements, mutable.
    pub fn local_mut(&mut self) -> &mut [T] {
        let n = self.local_len();
        let g = self.ghost;
        &mut self.data[g..g + n]
    }

    /// `[left ghosts | owned | right ghosts]`: stencil code reads this contiguously. Local
    /// element k is at `k + ghost_len()`.
    pub fn local_with_ghosts(&self) -> &[T] {
        &self.data
    }

    /// Mutable [`Distributed::local_with_ghosts`].
    pub fn local_with_ghosts_mut(&mut self) -> &mut [T] {
        &mut self.data
    }

    /// Elements in the ghost region on each side (halo width times row length).
    pub fn ghost_len(&self) -> usize {
        self.ghost
    }

    /// Sets every owned element to `x` (local).
    pub fn fill(&mut self, x: T) {
        self.local_mut().fill(x);
    }

    /// Collective: refreshes the ghost cells from their owners (R0009 without a halo).
    #[track_caller]
    pub fn exchange(&mut self) -> Result<()> {
        let site = Site::caller();
        let plan = self
            .plan
            .as_ref()
            .ok_or_else(|| DtlError::invalid("exchange on a container without a halo"))?;
        let len = self.layout.local_len(self.comm.rank());
        plan.exchange(&self.comm, &mut self.data, len, self.row, site)
    }

    /// Ghost rows this rank receives from other ranks per exchange (0 without a halo).
    pub fn halo_recv_rows(&self) -> usize {
        self.plan.as_ref().map_or(0, HaloPlan::recv_rows)
    }

    /// `(owner, element offset in the owner's window)` of flat global index `i`.
    fn locate(&self, i: usize) -> Result<(usize, usize)> {
        let len = self.global_len();
        if i >= len {
            return Err(DtlError::OutOfBounds {
                index: i64::try_from(i).unwrap_or(i64::MAX),
                len,
                what: "distributed container".into(),
            });
        }
        let (o, lr) = self.layout.local_index_unchecked(i / self.row);
        Ok((o, lr * self.row + i % self.row))
    }

    fn window(&self) -> Result<WinId> {
        self.win
            .ok_or_else(|| DtlError::invalid("container has no window"))
    }

    /// One-sided read of flat global index `i` (R0001 when out of range). Not collective.
    pub fn get(&self, i: usize) -> Result<T> {
        let (o, off) = self.locate(i)?;
        let me = self.comm.rank();
        if o == me || self.partition() == Partition::Replicated {
            let k = if self.partition() == Partition::Replicated {
                i
            } else {
                off
            };
            return Ok(self.data[self.ghost + k]);
        }
        let mut out = [T::ZERO];
        self.comm.win_get(
            self.window()?,
            o,
            off * T::DTYPE.size(),
            as_bytes_mut(&mut out),
        )?;
        Ok(out[0])
    }

    /// One-sided write of flat global index `i`; visible at the next fence or barrier. On a
    /// replicated container every rank's copy is written. Not collective.
    pub fn put(&self, i: usize, x: T) -> Result<()> {
        let (o, off) = self.locate(i)?;
        let win = self.window()?;
        let sz = T::DTYPE.size();
        if self.partition() == Partition::Replicated {
            for r in 0..self.comm.size() {
                self.comm.win_put(win, r, i * sz, as_bytes(&[x]))?;
            }
            return Ok(());
        }
        self.comm.win_put(win, o, off * sz, as_bytes(&[x]))
    }

    fn atomic_target(&self, i: usize) -> Result<(usize, usize)> {
        if self.partition() == Partition::Replicated {
            return Err(DtlError::unsupported("atomics on a replicated container"));
        }
        self.locate(i)
    }

    /// One-sided atomic fetch-and-add: adds `x` to element `i` and returns the old value.
    /// Not collective; visible to plain reads at the next fence or barrier.
    pub fn atomic_add(&self, i: usize, x: T) -> Result<T> {
        let (o, off) = self.atomic_target(i)?;
        let mut old = [T::ZERO];
        self.comm.win_fetch_op(
            self.window()?,
            o,
            off * T::DTYPE.size(),
            as_bytes(&[x]),
            as_bytes_mut(&mut old),
            T::DTYPE,
            ReduceOp::Sum,
        )?;
        Ok(old[0])
    }

    /// One-sided: adds `x` to flat global element `i` for every `(i, x)`, as one accumulate per
    /// run of consecutive elements on one rank after summing the values aimed at the same
    /// element (a histogram of 10^5 updates into 10 bins costs at most 10 calls per rank).
    /// Not collective; visible at the next fence or barrier. `ops` is consumed (sorted).
    pub fn accumulate_many(&self, ops: &mut Vec<(usize, T)>) -> Result<()>
    where
        T: crate::algo::Num,
    {
        if ops.is_empty() {
            return Ok(());
        }
        ops.sort_by_key(|o| o.0);
        let mut merged: Vec<(usize, T)> = Vec::with_capacity(ops.len().min(1 << 16));
        for &(i, x) in ops.iter() {
            match merged.last_mut() {
                Some((j, acc)) if *j == i => *acc = crate::algo::combine(ReduceOp::Sum, *acc, x),
                _ => merged.push((i, x)),
            }
        }
        ops.clear();
        self.runs(&merged, |win, o, off, vals| {
            self.comm
                .win_accumulate(win, o, off, as_bytes(vals), T::DTYPE, ReduceOp::Sum)
        })
    }

    /// One-sided: writes `x` to flat global element `i` for every `(i, x)` (the last write to an
    /// element wins), as one put per run of consecutive elements on one rank. Not collective;
    /// visible at the next fence or barrier. `ops` is consumed.
    pub fn put_many(&self, ops: &mut Vec<(usize, T)>) -> Result<()> {
        if ops.is_empty() {
            return Ok(());
        }
        if self.partition() == Partition::Replicated {
            for (i, x) in ops.drain(..) {
                self.put(i, x)?;
            }
            return Ok(());
        }
        ops.sort_by_key(|o| o.0); // stable: program order kept among equal indices
        let mut last: Vec<(usize, T)> = Vec::with_capacity(ops.len());
        for &(i, x) in ops.iter() {
            match last.last_mut() {
                Some((j, v)) if *j == i => *v = x,
                _ => last.push((i, x)),
            }
        }
        ops.clear();
        self.runs(&last, |win, o, off, vals| {
            self.comm.win_put(win, o, off, as_bytes(vals))
        })
    }

    /// Calls `f(window, owner, byte offset, values)` for each maximal run of `ops` (sorted by
    /// distinct index) that lies consecutively in one owner's window.
    fn runs(
        &self,
        ops: &[(usize, T)],
        mut f: impl FnMut(WinId, usize, usize, &[T]) -> Result<()>,
    ) -> Result<()> {
        if self.partition() == Partition::Replicated {
            return Err(DtlError::unsupported(
                "bulk one-sided updates of a replicated container",
            ));
        }
        let win = self.window()?;
        let sz = T::DTYPE.size();
        let mut vals: Vec<T> = Vec::new();
        let mut start: Option<(usize, usize)> = None;
        let mut prev_off = 0usize;
        for &(i, x) in ops {
            let (o, off) = self.locate(i)?;
            match start {
                Some((so, _)) if so == o && off == prev_off + 1 => {}
                Some((so, soff)) => {
                    f(win, so, soff * sz, &vals)?;
                    vals.clear();
                    start = Some((o, off));
                }
                None => start = Some((o, off)),
            }
            vals.push(x);
            prev_off = off;
        }
        if let Some((so, soff)) = start {
            f(win, so, soff * sz, &vals)?;
        }
        Ok(())
    }

    /// One-sided atomic compare-and-swap: if element `i` equals `cmp` it becomes `new`; returns
    /// the old value either way. Not collective.
    pub fn compare_and_swap(&self, i: usize, cmp: T, new: T) -> Result<T> {
        let (o, off) = self.atomic_target(i)?;
        let mut old = [T::ZERO];
        self.comm.win_compare_and_swap(
            self.window()?,
            o,
            off * T::DTYPE.size(),
            as_bytes(&[cmp]),
            as_bytes(&[new]),
            as_bytes_mut(&mut old),
            T::DTYPE,
        )?;
        Ok(old[0])
    }

    /// Collective: completes every rank's one-sided operations on this container and makes
    /// them visible.
    #[track_caller]
    pub fn fence(&self) -> Result<()> {
        self.fence_at(Site::caller())
    }

    pub(crate) fn fence_at(&self, site: Site) -> Result<()> {
        self.comm.win_fence(self.window()?, site)
    }

    /// Whether `other` has the same shape, partition and rank count (aligned, LANGUAGE.md §7).
    pub fn is_aligned<U: Element>(&self, other: &Distributed<U>) -> bool {
        self.layout == other.layout && self.shape == other.shape
    }

    pub(crate) fn check_aligned<U: Element>(
        &self,
        other: &Distributed<U>,
        what: &str,
    ) -> Result<()> {
        if !self.is_aligned(other) {
            return Err(DtlError::Misaligned {
                detail: format!(
                    "{what}: shape {:?} {} and shape {:?} {}",
                    self.shape,
                    self.partition(),
                    other.shape,
                    other.partition()
                ),
            });
        }
        Ok(())
    }

    /// Exchanges the contents of two aligned containers in O(1) (local; R0008 if not aligned).
    pub fn swap(&mut self, other: &mut Distributed<T>) -> Result<()> {
        self.check_aligned(other, "swap")?;
        if self.halo != other.halo {
            return Err(DtlError::Misaligned {
                detail: "swap: containers have different halos".into(),
            });
        }
        // The windows travel with the buffers they expose, so both stay valid.
        std::mem::swap(&mut self.data, &mut other.data);
        std::mem::swap(&mut self.win, &mut other.win);
        Ok(())
    }

    /// Collective: a container with the same options whose elements are `f(global index)`
    /// (ends with a fence, so every rank can `get` any element at once).
    #[track_caller]
    pub fn from_fn(
        comm: &CommRef,
        shape: &[usize],
        opts: Options<T>,
        f: impl Fn(usize) -> T,
    ) -> Result<Self> {
        let site = Site::caller();
        let mut c = Self::new_at(comm, shape, opts, site)?;
        c.map_indexed(|g, _| f(g));
        // Other ranks may read these elements one-sidedly as soon as this returns.
        c.comm.win_fence(c.window()?, site)?;
        Ok(c)
    }

    /// Local: `x = f(global index, x)` for every owned element.
    pub fn map_indexed(&mut self, mut f: impl FnMut(usize, T) -> T) {
        let me = self.comm.rank();
        let row = self.row;
        let g0 = self.ghost;
        for run in self.layout.runs(me) {
            let s = g0 + run.local * row;
            let gbase = run.global * row;
            for (k, x) in self.data[s..s + run.len * row].iter_mut().enumerate() {
                *x = f(gbase + k, *x);
            }
        }
    }

    /// Collective: a new container with this one's shape and options but the given partition,
    /// holding the same values by global index (one all-to-all). A halo is kept only when the
    /// new partition is block.
    #[track_caller]
    pub fn redistribute(&self, partition: Partition) -> Result<Distributed<T>> {
        let site = Site::caller();
        let halo = if partition == Partition::Block {
            self.halo
        } else {
            None
        };
        let opts = Options {
            partition,
            halo,
            fill: T::ZERO,
        };
        let mut out = Distributed::new_at(&self.comm, &self.shape, opts, site)?;
        transfer(
            &self.comm,
            &self.layout,
            self.local(),
            &out.layout.clone(),
            out.local_mut(),
            self.row,
            site,
        )?;
        out.fence_at(site)?;
        Ok(out)
    }

    /// Collective: a copy with the same partition and halo.
    #[track_caller]
    pub fn duplicate(&self) -> Result<Distributed<T>> {
        let opts = Options {
            partition: self.partition(),
            halo: self.halo,
            fill: T::ZERO,
        };
        let site = Site::caller();
        let mut out = Distributed::new_at(&self.comm, &self.shape, opts, site)?;
        out.data.copy_from_slice(&self.data);
        out.fence_at(site)?;
        Ok(out)
    }

    /// Collective: the whole container on every rank, in global order.
    #[track_caller]
    pub fn gather_all(&self) -> Result<Vec<T>> {
        let site = Site::caller();
        if self.partition() == Partition::Replicated {
            return Ok(self.local().to_vec());
        }
        let repl = Layout::new(
            self.layout.len(),
            self.layout.nranks(),
            Partition::Replicated,
        )?;
        let mut out = alloc_vec(self.global_len(), T::ZERO)?;
        transfer(
            &self.comm,
            &self.layout,
            self.local(),
            &repl,
            &mut out,
            self.row,
            site,
        )?;
        Ok(out)
    }

    /// Collective: resizes to `rows` rows, keeping values by global index; new elements are
    /// zero. The window is re-created, so pointers into `local()` are invalidated.
    pub(crate) fn resize_rows(&mut self, rows: usize, site: Site) -> Result<()> {
        let mut shape = self.shape.clone();
        shape[0] = rows;
        let opts = Options {
            partition: self.partition(),
            halo: self.halo,
            fill: T::ZERO,
        };
        let mut fresh = Distributed::new_at(&self.comm, &shape, opts, site)?;
        let new_layout = fresh.layout;
        transfer(
            &self.comm,
            &self.layout,
            self.local(),
            &new_layout,
            fresh.local_mut(),
            self.row,
            site,
        )?;
        std::mem::swap(self, &mut fresh);
        // `fresh` now holds the old buffer and window and frees them collectively on drop.
        fresh.free(site)
    }

    fn free(&mut self, site: Site) -> Result<()> {
        if let Some(w) = self.win.take()
            && let Err(e) = self.comm.win_free(w, site)
        {
            // Another rank might still reach this memory: never free it.
            std::mem::forget(std::mem::take(&mut self.data));
            return Err(e);
        }
        Ok(())
    }
}

impl<T: Element> Drop for Distributed<T> {
    /// Collective (freeing the window). When unwinding or when freeing fails, the buffer is
    /// leaked rather than freed under other ranks' feet.
    fn drop(&mut self) {
        if std::thread::panicking() {
            if self.win.is_some() {
                std::mem::forget(std::mem::take(&mut self.data));
            }
            return;
        }
        let _ = self.free(Site::NONE);
    }
}

/// The owner and local position of rows under a source distribution that is either a layout or
/// consecutive ranges of rows per rank (prefix offsets, as a sort leaves them).
pub(crate) enum Source<'a> {
    Layout(&'a Layout),
    Ranges(&'a [usize]),
}

impl Source<'_> {
    fn nrows(&self) -> usize {
        match self {
            Source::Layout(l) => l.len(),
            Source::Ranges(p) => p.last().copied().unwrap_or(0),
        }
    }

    fn owner(&self, g: usize) -> usize {
        match self {
            Source::Layout(l) => l.owner_unchecked(g),
            // The last rank whose range starts at or before g.
            Source::Ranges(p) => p
                .partition_point(|&s| s <= g)
                .saturating_sub(1)
                .min(p.len().saturating_sub(2)),
        }
    }

    /// `(owner, lo, hi)`: the owner of `g` and a range around `g` with the same owner.
    fn interval(&self, g: usize) -> (usize, usize, usize) {
        match self {
            Source::Layout(l) => {
                let o = l.owner_unchecked(g);
                match l.partition() {
                    Partition::Block => {
                        let lo = l.global_index_unchecked(o, 0);
                        (o, lo, lo + l.local_len(o))
                    }
                    Partition::Cyclic => (o, g, g + 1),
                    Partition::BlockCyclic(b) => {
                        let lo = g / b * b;
                        (o, lo, (lo + b).min(l.len()))
                    }
                    Partition::Replicated => (o, 0, l.len()),
                }
            }
            Source::Ranges(p) => {
                let o = self.owner(g);
                (o, p[o], p[o + 1])
            }
        }
    }

    fn replicated(&self) -> bool {
        matches!(self, Source::Layout(l) if l.partition() == Partition::Replicated)
    }
}

/// Owner lookups for increasing global indices, O(1) amortised for interval distributions.
struct Cursor<'a, 'b> {
    src: &'a Source<'b>,
    owner: usize,
    lo: usize,
    hi: usize,
}

impl<'a, 'b> Cursor<'a, 'b> {
    fn new(src: &'a Source<'b>) -> Self {
        Cursor {
            src,
            owner: 0,
            lo: 0,
            hi: 0,
        }
    }

    #[inline]
    fn owner(&mut self, g: usize) -> usize {
        if g < self.lo || g >= self.hi {
            (self.owner, self.lo, self.hi) = self.src.interval(g);
        }
        self.owner
    }
}

/// Collective: moves rows from `src` (this rank's rows `mine`, in local order) to `dst` (this
/// rank's rows into `out`), by global row index, with one all-to-all of exact counts. Rows that
/// exist in only one of the two layouts (different lengths) are dropped or left as they are.
pub(crate) fn transfer<T: Element>(
    comm: &CommRef,
    src: &Layout,
    mine: &[T],
    dst: &Layout,
    out: &mut [T],
    row: usize,
    site: Site,
) -> Result<()> {
    let me = comm.rank();
    let runs: Vec<(usize, usize)> = src.runs(me).map(|r| (r.global, r.len)).collect();
    transfer_from(comm, &Source::Layout(src), &runs, mine, dst, out, row, site)
}

/// [`transfer`] from any [`Source`]; `runs` are this rank's (global start, len) row runs in
/// local order.
#[expect(
    clippy::too_many_arguments,
    reason = "internal plumbing shared by redistribute, resize and sort"
)]
pub(crate) fn transfer_from<T: Element>(
    comm: &CommRef,
    src: &Source<'_>,
    runs: &[(usize, usize)],
    mine: &[T],
    dst: &Layout,
    out: &mut [T],
    row: usize,
    site: Site,
) -> Result<()> {
    let me = comm.rank();
    let p = comm.size();
    let common = src.nrows().min(dst.len());
    let dst_repl = dst.partition() == Partition::Replicated;
    if src.replicated() || p == 1 {
        // Every row this rank needs is already here. With one rank (or a replicated source)
        // the local index is the global one, less the start of this rank's range: consecutive
        // destination rows are consecutive source rows, copied a run at a time.
        let base = if src.replicated() {
            0
        } else {
            runs.first().map_or(0, |r| r.0)
        };
        let rows = dst.global_indices(me).take_while(|&g| g < common);
        for_each_run(rows, |k, g, n| {
            let from = g - base;
            out[k * row..(k + n) * row].copy_from_slice(&mine[from * row..(from + n) * row]);
        });
        return Ok(());
    }
    // Send side: rows in local order, grouped by destination rank.
    let dsrc = Source::Layout(dst);
    let mut dcur = Cursor::new(&dsrc);
    let mut send_counts = vec![0usize; p];
    let mut lens = 0usize;
    for &(g, len) in runs {
        let end = (g + len).min(common);
        if dst_repl {
            for c in send_counts.iter_mut() {
                *c += end.saturating_sub(g);
            }
        } else {
            let mut gg = g;
            while gg < end {
                let (o, _, hi) = dsrc.interval(gg);
                let upto = hi.min(end);
                send_counts[o] += upto - gg;
                gg = upto;
            }
        }
        lens += len;
    }
    debug_assert_eq!(lens * row, mine.len());
    let mut starts = vec![0usize; p];
    for r in 1..p {
        starts[r] = starts[r - 1] + send_counts[r - 1];
    }
    let total: usize = send_counts.iter().sum();
    let mut send = alloc_vec(total * row, T::ZERO)?;
    // A run of rows at a time: every rank's copy for a replicated destination, else the parts
    // of the run with one owner.
    let mut local = 0usize;
    for &(g, len) in runs {
        let end = (g + len).min(common);
        let mut gg = g;
        while gg < end {
            let upto = if dst_repl {
                end
            } else {
                let (_, _, hi) = dsrc.interval(gg);
                hi.min(end)
            };
            let n = upto - gg;
            let at = local + (gg - g);
            let src_rows = &mine[at * row..(at + n) * row];
            if dst_repl {
                for s in starts.iter_mut() {
                    send[*s * row..(*s + n) * row].copy_from_slice(src_rows);
                    *s += n;
                }
            } else {
                let d = dcur.owner(gg);
                let s = starts[d];
                send[s * row..(s + n) * row].copy_from_slice(src_rows);
                starts[d] += n;
            }
            gg = upto;
        }
        local += len;
    }
    // Receive side: what each source sends, counted from the same index math, over runs of
    // consecutive rows with one source owner: `(k, g, n, owner)`, rows `g..g + n` to local
    // rows `k..k + n`.
    let mut pieces: Vec<(usize, usize, usize, usize)> = Vec::new();
    for_each_run(
        dst.global_indices(me).take_while(|&g| g < common),
        |k, g, n| {
            let mut at = 0;
            while at < n {
                let (o, _, hi) = src.interval(g + at);
                let m = (hi - (g + at)).min(n - at);
                pieces.push((k + at, g + at, m, o));
                at += m;
            }
        },
    );
    let mut recv_counts = vec![0usize; p];
    for &(_, _, n, o) in &pieces {
        recv_counts[o] += n;
    }
    let rtotal: usize = recv_counts.iter().sum();
    let mut recv = alloc_vec(rtotal * row, T::ZERO)?;
    let sc: Vec<usize> = send_counts.iter().map(|c| c * row).collect();
    let rc: Vec<usize> = recv_counts.iter().map(|c| c * row).collect();
    comm.alltoallv(
        as_bytes(&send),
        &sc,
        as_bytes_mut(&mut recv),
        &rc,
        T::DTYPE,
        site,
    )?;
    // Each source's rows arrive in increasing global order, as this rank's rows are.
    let mut cursor = vec![0usize; p];
    for r in 1..p {
        cursor[r] = cursor[r - 1] + recv_counts[r - 1];
    }
    for &(k, _, n, s) in &pieces {
        let c = cursor[s];
        out[k * row..(k + n) * row].copy_from_slice(&recv[c * row..(c + n) * row]);
        cursor[s] += n;
    }
    Ok(())
}

/// Calls `f(k, g, n)` for each maximal run of consecutive indices in `rows` (the `k`-th item
/// is `g`, and the run holds `g..g + n`).
fn for_each_run(rows: impl Iterator<Item = usize>, mut f: impl FnMut(usize, usize, usize)) {
    let mut run: Option<(usize, usize, usize)> = None;
    for (k, g) in rows.enumerate() {
        run = match run {
            Some((k0, g0, n)) if g == g0 + n => Some((k0, g0, n + 1)),
            Some((k0, g0, n)) => {
                f(k0, g0, n);
                Some((k, g, 1))
            }
            None => Some((k, g, 1)),
        };
    }
    if let Some((k0, g0, n)) = run {
        f(k0, g0, n);
    }
}

/// Read access shared by distributed containers and spans, for the algorithms of
/// [`crate::algo`]: the local elements in local order, which is increasing global order.
pub trait View<T: Element> {
    fn comm(&self) -> &CommRef;
    /// Global number of elements.
    fn global_len(&self) -> usize;
    /// This rank's elements, in increasing global-index order.
    fn local(&self) -> &[T];
    /// The global index of local element `k`.
    fn global_of_local(&self, k: usize) -> usize;
    /// Whether every rank holds every element (reductions then need no communication).
    fn is_replicated(&self) -> bool {
        false
    }
}

impl<T: Element> View<T> for Distributed<T> {
    fn comm(&self) -> &CommRef {
        &self.comm
    }
    fn global_len(&self) -> usize {
        Distributed::global_len(self)
    }
    fn local(&self) -> &[T] {
        Distributed::local(self)
    }
    fn global_of_local(&self, k: usize) -> usize {
        Distributed::global_of_local(self, k)
    }
    fn is_replicated(&self) -> bool {
        self.partition() == Partition::Replicated
    }
}
