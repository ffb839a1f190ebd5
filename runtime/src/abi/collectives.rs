//! Entry points: scalar and local-array collectives.

use super::*;
use crate::algo;
use crate::comm::{CommExt, CommRef};
use crate::error::{DtlError, Result, Site};

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
