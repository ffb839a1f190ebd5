//! Entry points: containers.

use super::*;
use crate::container::{Distributed, Options};
use crate::error::{DtlError, Result};
use crate::halo::Halo;
use crate::map::DistMap;

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
