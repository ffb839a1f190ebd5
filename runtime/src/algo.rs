//! Container algorithms: fill, transform, reduce, count, find, argmin/argmax, dot, scan,
//! redistribute and copy.
//!
//! Functions marked *collective* must be called by every rank in the same order; their results
//! are uniform (identical on every rank). The others touch only this rank's elements.
//! Reductions work on anything that implements [`View`] (containers and spans).

use crate::comm::CommExt;
use crate::container::{Distributed, Options, View, transfer};
use crate::elem::{
    Element, LocPair, ReduceOp, as_bytes, as_bytes_mut, loc_as_bytes, loc_as_bytes_mut,
};
use crate::error::{DtlError, Result, Site};
use crate::partition::Partition;

/// Arithmetic the algorithms need, implemented for all nine element types. Integer arithmetic
/// wraps; bitwise operators on floats are rejected before they are reached.
pub trait Num: Element {
    const ONE: Self;
    /// The smallest value (negative infinity for floats).
    const LOWEST: Self;
    /// The largest value (infinity for floats).
    const HIGHEST: Self;
    fn add(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn band(self, o: Self) -> Self;
    fn bor(self, o: Self) -> Self;
    fn bxor(self, o: Self) -> Self;
    /// All bits set (the identity of `band`).
    fn all_ones() -> Self;
    fn truthy(self) -> bool;
    fn from_bool(b: bool) -> Self;
}

macro_rules! num_int {
    ($($t:ty),*) => {$(
        impl Num for $t {
            const ONE: Self = 1;
            const LOWEST: Self = <$t>::MIN;
            const HIGHEST: Self = <$t>::MAX;
            #[inline] fn add(self, o: Self) -> Self { self.wrapping_add(o) }
            #[inline] fn mul(self, o: Self) -> Self { self.wrapping_mul(o) }
            #[inline] fn band(self, o: Self) -> Self { self & o }
            #[inline] fn bor(self, o: Self) -> Self { self | o }
            #[inline] fn bxor(self, o: Self) -> Self { self ^ o }
            #[inline] fn all_ones() -> Self { !0 }
            #[inline] fn truthy(self) -> bool { self != 0 }
            #[inline] fn from_bool(b: bool) -> Self { Self::from(b) }
        }
    )*};
}
num_int!(i8, i32, i64, u8, u32, u64);

macro_rules! num_float {
    ($($t:ty),*) => {$(
        impl Num for $t {
            const ONE: Self = 1.0;
            const LOWEST: Self = <$t>::NEG_INFINITY;
            const HIGHEST: Self = <$t>::INFINITY;
            #[inline] fn add(self, o: Self) -> Self { self + o }
            #[inline] fn mul(self, o: Self) -> Self { self * o }
            #[inline] fn band(self, _: Self) -> Self { self }
            #[inline] fn bor(self, _: Self) -> Self { self }
            #[inline] fn bxor(self, _: Self) -> Self { self }
            #[inline] fn all_ones() -> Self { 0.0 }
            #[inline] fn truthy(self) -> bool { self != 0.0 }
            #[inline] fn from_bool(b: bool) -> Self { if b { 1.0 } else { 0.0 } }
        }
    )*};
}
num_float!(f32, f64);

impl Num for bool {
    const ONE: Self = true;
    const LOWEST: Self = false;
    const HIGHEST: Self = true;
    #[inline]
    fn add(self, o: Self) -> Self {
        self | o
    }
    #[inline]
    fn mul(self, o: Self) -> Self {
        self & o
    }
    #[inline]
    fn band(self, o: Self) -> Self {
        self & o
    }
    #[inline]
    fn bor(self, o: Self) -> Self {
        self | o
    }
    #[inline]
    fn bxor(self, o: Self) -> Self {
        self ^ o
    }
    #[inline]
    fn all_ones() -> Self {
        true
    }
    #[inline]
    fn truthy(self) -> bool {
        self
    }
    #[inline]
    fn from_bool(b: bool) -> Self {
        b
    }
}

/// `a op b` for the elementwise operators (not `MinLoc`/`MaxLoc`).
#[inline]
pub fn combine<T: Num>(op: ReduceOp, a: T, b: T) -> T {
    match op {
        ReduceOp::Sum => a.add(b),
        ReduceOp::Prod => a.mul(b),
        ReduceOp::Min | ReduceOp::MinLoc => {
            if b < a {
                b
            } else {
                a
            }
        }
        ReduceOp::Max | ReduceOp::MaxLoc => {
            if b > a {
                b
            } else {
                a
            }
        }
        ReduceOp::Land => T::from_bool(a.truthy() && b.truthy()),
        ReduceOp::Lor => T::from_bool(a.truthy() || b.truthy()),
        ReduceOp::Band => a.band(b),
        ReduceOp::Bor => a.bor(b),
        ReduceOp::Bxor => a.bxor(b),
    }
}

/// The identity of `op` for `T`.
pub fn identity<T: Num>(op: ReduceOp) -> T {
    match op {
        ReduceOp::Sum | ReduceOp::Lor | ReduceOp::Bor | ReduceOp::Bxor => T::ZERO,
        ReduceOp::Prod | ReduceOp::Land => T::ONE,
        ReduceOp::Min | ReduceOp::MinLoc => T::HIGHEST,
        ReduceOp::Max | ReduceOp::MaxLoc => T::LOWEST,
        ReduceOp::Band => T::all_ones(),
    }
}

fn check_elementwise<T: Element>(op: ReduceOp) -> Result<()> {
    if matches!(op, ReduceOp::MinLoc | ReduceOp::MaxLoc) {
        return Err(DtlError::invalid(
            "minloc/maxloc reduce (value, index) pairs: use argmin/argmax",
        ));
    }
    if !op.valid_for(T::DTYPE) {
        return Err(DtlError::invalid(format!(
            "operator {op} is not defined for {}",
            T::DTYPE
        )));
    }
    Ok(())
}

/// Local fold of a slice with `op` (the identity for an empty slice).
pub fn fold_local<T: Num>(xs: &[T], op: ReduceOp) -> T {
    match op {
        // Separate loops so each is a tight, vectorisable loop.
        ReduceOp::Sum => xs.iter().fold(T::ZERO, |a, &b| a.add(b)),
        ReduceOp::Min => xs
            .iter()
            .fold(T::HIGHEST, |a, &b| if b < a { b } else { a }),
        ReduceOp::Max => xs.iter().fold(T::LOWEST, |a, &b| if b > a { b } else { a }),
        _ => xs.iter().fold(identity(op), |a, &b| combine(op, a, b)),
    }
}

/// Local: sets every owned element to `x`.
pub fn fill<T: Element>(c: &mut Distributed<T>, x: T) {
    c.local_mut().fill(x);
}

/// Local: `x = f(x)` for every owned element.
pub fn transform<T: Element>(c: &mut Distributed<T>, f: impl Fn(T) -> T) {
    for x in c.local_mut() {
        *x = f(*x);
    }
}

/// Local: `x = f(global index, x)` for every owned element.
pub fn transform_indexed<T: Element>(c: &mut Distributed<T>, f: impl Fn(usize, T) -> T) {
    c.map_indexed(f);
}

/// Local: calls `f(global index, x)` for every owned element, in increasing global order.
pub fn for_each<T: Element, V: View<T> + ?Sized>(v: &V, mut f: impl FnMut(usize, T)) {
    for (k, &x) in v.local().iter().enumerate() {
        f(v.global_of_local(k), x);
    }
}

/// Collective: the reduction of all elements with `op` (uniform; the identity when empty).
#[track_caller]
pub fn reduce<T: Num, V: View<T> + ?Sized>(v: &V, op: ReduceOp) -> Result<T> {
    let site = Site::caller();
    check_elementwise::<T>(op)?;
    let local = fold_local(v.local(), op);
    if v.is_replicated() {
        return Ok(local);
    }
    let mut out = [local];
    v.comm().allreduce(
        as_bytes(&[local]),
        as_bytes_mut(&mut out),
        T::DTYPE,
        op,
        site,
    )?;
    Ok(out[0])
}

/// Collective: the sum of all elements.
#[track_caller]
pub fn sum<T: Num, V: View<T> + ?Sized>(v: &V) -> Result<T> {
    reduce(v, ReduceOp::Sum)
}

/// Collective: the number of elements for which `pred` holds.
#[track_caller]
pub fn count<T: Element, V: View<T> + ?Sized>(v: &V, pred: impl Fn(T) -> bool) -> Result<usize> {
    let c = v.local().iter().filter(|&&x| pred(x)).count() as u64;
    if v.is_replicated() {
        return Ok(c as usize);
    }
    Ok(v.comm().allreduce_scalar(c, ReduceOp::Sum)? as usize)
}

/// Collective: the lowest global index whose element satisfies `pred`, or None.
#[track_caller]
pub fn find<T: Element, V: View<T> + ?Sized>(
    v: &V,
    pred: impl Fn(T) -> bool,
) -> Result<Option<usize>> {
    // Local order is increasing global order, so the first local match is this rank's lowest.
    let mine = v
        .local()
        .iter()
        .position(|&x| pred(x))
        .map_or(u64::MAX, |k| v.global_of_local(k) as u64);
    if v.is_replicated() {
        return Ok((mine != u64::MAX).then_some(mine as usize));
    }
    let g = v.comm().allreduce_scalar(mine, ReduceOp::Min)?;
    Ok((g != u64::MAX).then_some(g as usize))
}

fn loc_reduce<T: Num, V: View<T> + ?Sized>(
    v: &V,
    max: bool,
    site: Site,
) -> Result<Option<(usize, T)>> {
    let xs = v.local();
    // Strict comparison keeps the first (lowest-index) of equal values; NaNs never win.
    let mut best: Option<(usize, T)> = None;
    for (k, &x) in xs.iter().enumerate() {
        let better = match best {
            // A value equal to itself: not a NaN.
            None => x.partial_cmp(&x).is_some(),
            Some((_, b)) => {
                if max {
                    x > b
                } else {
                    x < b
                }
            }
        };
        if better {
            best = Some((k, x));
        }
    }
    if v.is_replicated() {
        return Ok(best.map(|(k, x)| (v.global_of_local(k), x)));
    }
    let rec = match best {
        Some((k, x)) => LocPair::new(x, v.global_of_local(k) as i64),
        None => LocPair::new(if max { T::LOWEST } else { T::HIGHEST }, i64::MAX),
    };
    let mut out = [rec];
    let op = if max {
        ReduceOp::MaxLoc
    } else {
        ReduceOp::MinLoc
    };
    v.comm().allreduce(
        loc_as_bytes(&[rec]),
        loc_as_bytes_mut(&mut out),
        T::DTYPE,
        op,
        site,
    )?;
    let r = out[0];
    if r.index == i64::MAX || r.index < 0 {
        return Ok(None);
    }
    Ok(Some((r.index as usize, r.value::<T>())))
}

/// Collective: `(index, value)` of the smallest element, the lowest global index on ties; None
/// when the container is empty (or holds only NaNs).
#[track_caller]
pub fn argmin<T: Num, V: View<T> + ?Sized>(v: &V) -> Result<Option<(usize, T)>> {
    loc_reduce(v, false, Site::caller())
}

/// Collective: `(index, value)` of the largest element, the lowest global index on ties.
#[track_caller]
pub fn argmax<T: Num, V: View<T> + ?Sized>(v: &V) -> Result<Option<(usize, T)>> {
    loc_reduce(v, true, Site::caller())
}

/// Collective: the sum of `a[i] * b[i]` over aligned containers (R0008 if not aligned).
#[track_caller]
pub fn dot<T: Num>(a: &Distributed<T>, b: &Distributed<T>) -> Result<T> {
    a.check_aligned(b, "dot")?;
    if T::DTYPE == crate::elem::DType::Bool {
        return Err(DtlError::invalid("dot is not defined for bool"));
    }
    let local = a
        .local()
        .iter()
        .zip(b.local())
        .fold(T::ZERO, |acc, (&x, &y)| acc.add(x.mul(y)));
    if a.partition() == Partition::Replicated {
        return Ok(local);
    }
    a.comm().allreduce_scalar(local, ReduceOp::Sum)
}

/// Collective: the inclusive (or exclusive) prefix combination of `c` with `op` in global
/// index order, as a new container with `c`'s shape, partition and halo. The exclusive scan
/// starts from the identity of `op`. Correct when ranks own nothing.
#[track_caller]
pub fn scan<T: Num>(c: &Distributed<T>, op: ReduceOp, exclusive: bool) -> Result<Distributed<T>> {
    let site = Site::caller();
    check_elementwise::<T>(op)?;
    match c.partition() {
        Partition::Block | Partition::Replicated => {
            let opts = Options {
                partition: c.partition(),
                halo: c.halo(),
                fill: T::ZERO,
            };
            let mut out = Distributed::new_at(c.comm(), c.shape(), opts, site)?;
            let prefix = if c.partition() == Partition::Block {
                let total = fold_local(c.local(), op);
                let mut p = [identity::<T>(op)];
                c.comm().scan(
                    as_bytes(&[total]),
                    as_bytes_mut(&mut p),
                    T::DTYPE,
                    op,
                    true,
                    site,
                )?;
                p[0]
            } else {
                identity(op)
            };
            scan_local(c.local(), out.local_mut(), op, exclusive, prefix);
            out.fence_at(site)?;
            Ok(out)
        }
        p => {
            // Global order interleaves ranks: scan a block copy and deal it back.
            let block = c.redistribute(Partition::Block)?;
            let scanned = scan(&block, op, exclusive)?;
            let opts = Options {
                partition: p,
                halo: c.halo(),
                fill: T::ZERO,
            };
            let mut out = Distributed::new_at(c.comm(), c.shape(), opts, site)?;
            let dst = *out.layout();
            transfer(
                c.comm(),
                scanned.layout(),
                scanned.local(),
                &dst,
                out.local_mut(),
                c.row_len(),
                site,
            )?;
            out.fence_at(site)?;
            Ok(out)
        }
    }
}

fn scan_local<T: Num>(xs: &[T], out: &mut [T], op: ReduceOp, exclusive: bool, prefix: T) {
    let mut acc = prefix;
    if exclusive {
        for (o, &x) in out.iter_mut().zip(xs) {
            *o = acc;
            acc = combine(op, acc, x);
        }
    } else {
        for (o, &x) in out.iter_mut().zip(xs) {
            acc = combine(op, acc, x);
            *o = acc;
        }
    }
}

/// Collective: a copy of `c` under `partition` (one all-to-all; values follow their global
/// index).
#[track_caller]
pub fn redistribute<T: Element>(
    c: &Distributed<T>,
    partition: Partition,
) -> Result<Distributed<T>> {
    c.redistribute(partition)
}

/// Collective: copies `src` into `dst` by global index, whatever the two partitions (R0008 when
/// the shapes differ).
#[track_caller]
pub fn copy_into<T: Element>(src: &Distributed<T>, dst: &mut Distributed<T>) -> Result<()> {
    let site = Site::caller();
    if src.shape() != dst.shape() {
        return Err(DtlError::Misaligned {
            detail: format!("copy: shapes {:?} and {:?}", src.shape(), dst.shape()),
        });
    }
    if src.layout() == dst.layout() {
        dst.local_mut().copy_from_slice(src.local());
        return dst.fence_at(site);
    }
    let dl = *dst.layout();
    transfer(
        src.comm(),
        src.layout(),
        src.local(),
        &dl,
        dst.local_mut(),
        src.row_len(),
        site,
    )?;
    dst.fence_at(site)
}

/// Collective: the whole container in global order on `root` (empty elsewhere).
#[track_caller]
pub fn gather_to_root<T: Element>(c: &Distributed<T>, root: usize) -> Result<Vec<T>> {
    let site = Site::caller();
    let p = c.comm().size();
    let root = DtlError::check_rank(root as i64, p, "root")?;
    if c.partition() == Partition::Block {
        let counts: Vec<usize> = (0..p)
            .map(|r| c.layout().local_len(r) * c.row_len())
            .collect();
        let total = if c.comm().rank() == root {
            c.global_len()
        } else {
            0
        };
        let mut out = crate::container::alloc_vec(total, T::ZERO)?;
        c.comm().gatherv(
            as_bytes(c.local()),
            as_bytes_mut(&mut out),
            &counts,
            T::DTYPE,
            root,
            site,
        )?;
        return Ok(out);
    }
    let block = c.redistribute(Partition::Block)?;
    gather_to_root(&block, root)
}
