//! Entry points: point-to-point.

use super::*;
use crate::comm::{CommExt, CommRef, Source, TagSel};
use crate::elem::Element;
use crate::error::{DtlError, Result};

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
pub(super) fn msg_send<T: Element>(comm: &CommRef, x: &[T], dest: usize, tag: i32) -> Result<()> {
    let body = crate::elem::as_bytes(x);
    let mut buf = Vec::with_capacity(8 + body.len());
    buf.extend_from_slice(&(MSG_MAGIC | T::DTYPE as u64).to_le_bytes());
    buf.extend_from_slice(body);
    comm.send(&buf, dest, tag)
}

/// Receives a typed message from `source` with `tag` as elements of `T`: R0003 when it was
/// sent with another element type (or not by [`msg_send`]).
pub(super) fn msg_recv<T: Element>(comm: &CommRef, source: usize, tag: i32) -> Result<Vec<T>> {
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
