//! Collectives and point-to-point messages on NumPy arrays and Python scalars.
//!
//! Shapes follow the guide: scalars in, scalars out; arrays in, arrays out. `gather` and
//! `allgather` stack the ranks' arrays along a new first axis; `scatter` splits root's array
//! along its first axis; the `v` variants work on flat arrays of per-rank lengths. Non-root
//! ranks get `None` from `reduce`, `gather` and `gatherv`.

use dtl_runtime::comm::{CommExt, CommRef, Source, Status, TagSel};
use dtl_runtime::elem::{DType, ReduceOp, as_bytes, as_bytes_mut};
use dtl_runtime::error::{DtlError, Site};
use numpy::PyUntypedArrayMethods;
use pyo3::prelude::*;
use pyo3::types::{PyFloat, PyInt, PyTuple};

use crate::context::{Context, blocking};
use crate::convert::{self, Value, array_from_vec, array_vec, contiguous, value, with_dtype};
use crate::errors::{IntoPyResult, invalid};

fn comm_of(ctx: &Bound<'_, Context>) -> PyResult<CommRef> {
    Ok(ctx.get().comm()?.clone())
}

fn root_of(comm: &CommRef, root: i64) -> PyResult<usize> {
    DtlError::check_rank(root, comm.size(), "root").py()
}

/// The array form of a value, its shape and whether to return a scalar.
fn as_array<'py>(
    py: Python<'py>,
    v: Value<'py>,
) -> PyResult<(Bound<'py, numpy::PyUntypedArray>, DType, Vec<usize>, Ret)> {
    match v {
        Value::Float(x) => {
            let a = contiguous(&PyFloat::new(py, x).into_any())?;
            Ok((a, DType::F64, vec![], Ret::Float))
        }
        Value::Int(x) => {
            let a = array_from_vec(py, vec![x], &[])?;
            let a = contiguous(&a)?;
            Ok((a, DType::I64, vec![], Ret::Int))
        }
        Value::Array { arr, dtype, scalar } => {
            let shape = arr.shape().to_vec();
            Ok((
                arr,
                dtype,
                shape,
                if scalar { Ret::NpScalar } else { Ret::Array },
            ))
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Ret {
    Float,
    Int,
    NpScalar,
    Array,
}

/// Turns a result array back into the kind of value the caller passed.
fn ret<'py>(py: Python<'py>, a: Bound<'py, PyAny>, kind: Ret) -> PyResult<Bound<'py, PyAny>> {
    match kind {
        Ret::Array => Ok(a),
        Ret::NpScalar => a.get_item(PyTuple::empty(py)),
        Ret::Float => Ok(PyFloat::new(py, a.get_item(PyTuple::empty(py))?.extract()?).into_any()),
        Ret::Int => {
            Ok(PyInt::new(py, a.get_item(PyTuple::empty(py))?.extract::<i64>()?).into_any())
        }
    }
}

/// Collective: `op` over every rank's value, the result on every rank.
#[pyfunction]
#[pyo3(signature = (ctx, value, op=None))]
pub fn allreduce<'py>(
    py: Python<'py>,
    ctx: &Bound<'py, Context>,
    value: &Bound<'py, PyAny>,
    op: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let op = match op {
        Some(o) => convert::reduce_op(o)?,
        None => ReduceOp::Sum,
    };
    let comm = ctx.get().comm()?;
    // Fast path: a Python float.
    if value.is_exact_instance_of::<PyFloat>() {
        let x: f64 = value.extract()?;
        let r = blocking(py, comm, || comm.allreduce_scalar(x, op)).py()?;
        return Ok(PyFloat::new(py, r).into_any());
    }
    let comm = comm.clone();
    let (arr, dt, shape, kind) = as_array(py, self::value(value)?)?;
    let out = with_dtype!(dt, T => {
        let x = array_vec::<T>(&arr)?;
        let mut out = vec![<T as dtl_runtime::elem::Element>::ZERO; x.len()];
        blocking(py, &comm, || comm.allreduce_slice(&x, &mut out, op)).py()?;
        array_from_vec(py, out, &shape)?
    });
    ret(py, out, kind)
}

/// Collective: `op` over every rank's value, the result at `root` (None elsewhere).
#[pyfunction]
#[pyo3(signature = (ctx, value, op=None, root=0))]
pub fn reduce_values<'py>(
    py: Python<'py>,
    ctx: &Bound<'py, Context>,
    value: &Bound<'py, PyAny>,
    op: Option<&Bound<'py, PyAny>>,
    root: i64,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let op = match op {
        Some(o) => convert::reduce_op(o)?,
        None => ReduceOp::Sum,
    };
    let comm = comm_of(ctx)?;
    let root = root_of(&comm, root)?;
    let (arr, dt, shape, kind) = as_array(py, self::value(value)?)?;
    let out = with_dtype!(dt, T => {
        let x = array_vec::<T>(&arr)?;
        let mut out = vec![<T as dtl_runtime::elem::Element>::ZERO; x.len()];
        blocking(py, &comm, || comm.reduce(as_bytes(&x), as_bytes_mut(&mut out), dt, op, root, Site::NONE)).py()?;
        array_from_vec(py, out, &shape)?
    });
    if comm.rank() == root {
        Ok(Some(ret(py, out, kind)?))
    } else {
        Ok(None)
    }
}

/// Collective: root's value on every rank. Every rank passes a value of root's shape and
/// dtype (non-root values are overwritten; arrays are returned as new arrays).
#[pyfunction]
#[pyo3(signature = (ctx, value, root=0))]
pub fn broadcast<'py>(
    py: Python<'py>,
    ctx: &Bound<'py, Context>,
    value: &Bound<'py, PyAny>,
    root: i64,
) -> PyResult<Bound<'py, PyAny>> {
    let comm = comm_of(ctx)?;
    let root = root_of(&comm, root)?;
    let (arr, dt, shape, kind) = as_array(py, self::value(value)?)?;
    let out = with_dtype!(dt, T => {
        let mut x = array_vec::<T>(&arr)?;
        blocking(py, &comm, || comm.broadcast(as_bytes_mut(&mut x), dt, root, Site::NONE)).py()?;
        array_from_vec(py, x, &shape)?
    });
    ret(py, out, kind)
}

/// Every rank's element count; InvalidArgumentError on every rank when they differ and
/// `uniform` is asked.
fn counts(
    py: Python<'_>,
    comm: &CommRef,
    n: usize,
    uniform: bool,
    what: &str,
) -> PyResult<Vec<usize>> {
    let c = blocking(py, comm, || comm.allgather_counts(n, Site::NONE)).py()?;
    if uniform && c.iter().any(|&k| k != n) {
        return Err(invalid(format!(
            "{what}: ranks passed arrays of different sizes {c:?}"
        )));
    }
    Ok(c)
}

/// Collective: every rank's value stacked at `root` (shape `(size, *value.shape)`), None
/// elsewhere.
#[pyfunction]
#[pyo3(signature = (ctx, value, root=0))]
pub fn gather<'py>(
    py: Python<'py>,
    ctx: &Bound<'py, Context>,
    value: &Bound<'py, PyAny>,
    root: i64,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let comm = comm_of(ctx)?;
    let root = root_of(&comm, root)?;
    let (arr, dt, shape, _) = as_array(py, self::value(value)?)?;
    let n: usize = shape.iter().product();
    let c = counts(py, &comm, n, true, "gather")?;
    let mut full = vec![comm.size()];
    full.extend(&shape);
    with_dtype!(dt, T => {
        let x = array_vec::<T>(&arr)?;
        let total = if comm.rank() == root { n * comm.size() } else { 0 };
        let mut out = vec![<T as dtl_runtime::elem::Element>::ZERO; total];
        blocking(py, &comm, || comm.gatherv(as_bytes(&x), as_bytes_mut(&mut out), &c, dt, root, Site::NONE)).py()?;
        if comm.rank() == root { Ok(Some(array_from_vec(py, out, &full)?)) } else { Ok(None) }
    })
}

/// Collective: every rank's value stacked on every rank (shape `(size, *value.shape)`).
#[pyfunction]
pub fn allgather<'py>(
    py: Python<'py>,
    ctx: &Bound<'py, Context>,
    value: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let comm = comm_of(ctx)?;
    let (arr, dt, shape, _) = as_array(py, self::value(value)?)?;
    let n: usize = shape.iter().product();
    let c = counts(py, &comm, n, true, "allgather")?;
    let mut full = vec![comm.size()];
    full.extend(&shape);
    with_dtype!(dt, T => {
        let x = array_vec::<T>(&arr)?;
        let mut out = vec![<T as dtl_runtime::elem::Element>::ZERO; n * comm.size()];
        blocking(py, &comm, || comm.allgatherv(as_bytes(&x), as_bytes_mut(&mut out), &c, dt, Site::NONE)).py()?;
        array_from_vec(py, out, &full)
    })
}

/// Collective: every rank's (flattened) array concatenated in rank order, on every rank.
#[pyfunction]
pub fn allgatherv<'py>(
    py: Python<'py>,
    ctx: &Bound<'py, Context>,
    value: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let comm = comm_of(ctx)?;
    let (arr, dt, shape, _) = as_array(py, self::value(value)?)?;
    let n: usize = shape.iter().product();
    let c = counts(py, &comm, n, false, "allgatherv")?;
    let total: usize = c.iter().sum();
    with_dtype!(dt, T => {
        let x = array_vec::<T>(&arr)?;
        let mut out = vec![<T as dtl_runtime::elem::Element>::ZERO; total];
        blocking(py, &comm, || comm.allgatherv(as_bytes(&x), as_bytes_mut(&mut out), &c, dt, Site::NONE)).py()?;
        array_from_vec(py, out, &[total])
    })
}

/// Collective: every rank's (flattened) array concatenated at `root`, None elsewhere. When
/// `recvcounts` is given on root it must match what the ranks send.
#[pyfunction]
#[pyo3(signature = (ctx, data, recvcounts=None, root=0))]
pub fn gatherv<'py>(
    py: Python<'py>,
    ctx: &Bound<'py, Context>,
    data: &Bound<'py, PyAny>,
    recvcounts: Option<Vec<i64>>,
    root: i64,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let comm = comm_of(ctx)?;
    let root = root_of(&comm, root)?;
    let (arr, dt, shape, _) = as_array(py, self::value(data)?)?;
    let n: usize = shape.iter().product();
    let c = counts(py, &comm, n, false, "gatherv")?;
    let bad = comm.rank() == root
        && recvcounts.as_ref().is_some_and(|rc| {
            rc.len() != c.len()
                || rc
                    .iter()
                    .zip(&c)
                    .any(|(&a, &b)| a < 0 || a as u64 != b as u64)
        });
    // Every rank learns whether root's recvcounts were wrong, so all raise together.
    let any_bad = blocking(py, &comm, || {
        comm.allreduce_scalar(u8::from(bad), ReduceOp::Max)
    })
    .py()?;
    if any_bad != 0 {
        return Err(invalid(format!(
            "gatherv: recvcounts on root do not match the counts sent {c:?}"
        )));
    }
    let total: usize = c.iter().sum();
    with_dtype!(dt, T => {
        let x = array_vec::<T>(&arr)?;
        let t = if comm.rank() == root { total } else { 0 };
        let mut out = vec![<T as dtl_runtime::elem::Element>::ZERO; t];
        blocking(py, &comm, || comm.gatherv(as_bytes(&x), as_bytes_mut(&mut out), &c, dt, root, Site::NONE)).py()?;
        if comm.rank() == root { Ok(Some(array_from_vec(py, out, &[total])?)) } else { Ok(None) }
    })
}

const MAXD: usize = 8;

/// Broadcasts root's dtype and shape (with an ok flag) so non-root ranks need not pass data.
fn root_header(
    py: Python<'_>,
    comm: &CommRef,
    root: usize,
    data: Option<&Bound<'_, PyAny>>,
    check: impl Fn(&[usize]) -> Result<(), String>,
) -> PyResult<(DType, Vec<usize>, Option<Bound<'static, PyAny>>)> {
    let _ = py;
    let mut hdr = [0u64; 2 + MAXD];
    let mut why = String::new();
    if comm.rank() == root {
        let r = data
            .ok_or_else(|| invalid("root must pass the data"))
            .and_then(|d| {
                let (arr, dt, shape, _) = as_array(py, value(d)?)?;
                let _ = arr;
                Ok((dt, shape))
            });
        match r {
            Ok((dt, shape)) if shape.len() <= MAXD => match check(&shape) {
                Ok(()) => {
                    hdr[0] = 1 + DType::ALL.iter().position(|&t| t == dt).unwrap_or(0) as u64;
                    hdr[1] = shape.len() as u64;
                    for (k, &s) in shape.iter().enumerate() {
                        hdr[2 + k] = s as u64;
                    }
                }
                Err(w) => why = w,
            },
            Ok(_) => why = format!("at most {MAXD} dimensions"),
            Err(e) => why = e.to_string(),
        }
    }
    blocking(py, comm, || {
        comm.broadcast(as_bytes_mut(&mut hdr), DType::U64, root, Site::NONE)
    })
    .py()?;
    if hdr[0] == 0 {
        return Err(invalid(if why.is_empty() {
            format!("rank {root} (root) passed unusable data")
        } else {
            why
        }));
    }
    let dt = DType::ALL
        .get(hdr[0] as usize - 1)
        .copied()
        .ok_or_else(|| invalid("bad dtype"))?;
    let nd = (hdr[1] as usize).min(MAXD);
    Ok((
        dt,
        hdr[2..2 + nd].iter().map(|&s| s as usize).collect(),
        None,
    ))
}

/// Collective: root's array split along its first axis (length `size`); rank r gets
/// `values[r]`. Non-root ranks may pass anything (or None).
#[pyfunction]
#[pyo3(signature = (ctx, values=None, root=0))]
pub fn scatter<'py>(
    py: Python<'py>,
    ctx: &Bound<'py, Context>,
    values: Option<&Bound<'py, PyAny>>,
    root: i64,
) -> PyResult<Bound<'py, PyAny>> {
    let comm = comm_of(ctx)?;
    let root = root_of(&comm, root)?;
    let p = comm.size();
    let (dt, shape, _) = root_header(py, &comm, root, values, |s| {
        if s.first() == Some(&p) {
            Ok(())
        } else {
            Err(format!(
                "scatter: root's array must have first dimension {p} (the rank count), not shape {s:?}"
            ))
        }
    })?;
    let per: usize = shape[1..].iter().product();
    with_dtype!(dt, T => {
        let src: Vec<T> = if comm.rank() == root {
            let (arr, _, _, _) = as_array(py, value(values.ok_or_else(|| invalid("root must pass values"))?)?)?;
            array_vec::<T>(&arr)?
        } else {
            Vec::new()
        };
        let cs = vec![per; p];
        let mut out = vec![<T as dtl_runtime::elem::Element>::ZERO; per];
        blocking(py, &comm, || comm.scatterv(as_bytes(&src), &cs, as_bytes_mut(&mut out), dt, root, Site::NONE)).py()?;
        array_from_vec(py, out, &shape[1..])
    })
}

/// Collective: root's flat array cut by `sendcounts` (significant on root); rank r gets
/// `sendcounts[r]` elements.
#[pyfunction]
#[pyo3(signature = (ctx, data, sendcounts, root=0))]
pub fn scatterv<'py>(
    py: Python<'py>,
    ctx: &Bound<'py, Context>,
    data: Option<&Bound<'py, PyAny>>,
    sendcounts: Option<Vec<i64>>,
    root: i64,
) -> PyResult<Bound<'py, PyAny>> {
    let comm = comm_of(ctx)?;
    let root = root_of(&comm, root)?;
    let p = comm.size();
    let sc = sendcounts.clone().unwrap_or_default();
    let (dt, _, _) = root_header(py, &comm, root, data, |s| {
        let n: usize = s.iter().product();
        if sc.len() != p || sc.iter().any(|&c| c < 0) {
            return Err(format!(
                "scatterv: sendcounts must be {p} non-negative counts, not {sc:?}"
            ));
        }
        if sc.iter().map(|&c| c as u128).sum::<u128>() != n as u128 {
            return Err(format!(
                "scatterv: sendcounts {sc:?} do not add up to the {n} elements of the data"
            ));
        }
        Ok(())
    })?;
    with_dtype!(dt, T => {
        let (src, counts): (Vec<T>, Vec<usize>) = if comm.rank() == root {
            let (arr, _, _, _) = as_array(py, value(data.ok_or_else(|| invalid("root must pass data"))?)?)?;
            (array_vec::<T>(&arr)?, sc.iter().map(|&c| c as usize).collect())
        } else {
            (Vec::new(), Vec::new())
        };
        let out = blocking(py, &comm, || comm.scatterv_vec(&src, &counts, root)).py()?;
        let n = out.len();
        array_from_vec(py, out, &[n])
    })
}

/// Collective: block k of the flat `send_data` (`send_counts[k]` elements) goes to rank k;
/// returns what every rank sent here, concatenated in rank order. `recv_counts`, when given,
/// must match what arrives.
#[pyfunction]
#[pyo3(signature = (ctx, send_data, send_counts, recv_counts=None))]
pub fn alltoallv<'py>(
    py: Python<'py>,
    ctx: &Bound<'py, Context>,
    send_data: &Bound<'py, PyAny>,
    send_counts: Vec<i64>,
    recv_counts: Option<Vec<i64>>,
) -> PyResult<Bound<'py, PyAny>> {
    let comm = comm_of(ctx)?;
    let (arr, dt, _, _) = as_array(py, value(send_data)?)?;
    if send_counts.iter().any(|&c| c < 0) {
        return Err(invalid("alltoallv: negative send count"));
    }
    let sc: Vec<usize> = send_counts.iter().map(|&c| c as usize).collect();
    with_dtype!(dt, T => {
        let x = array_vec::<T>(&arr)?;
        let (out, rc) = blocking(py, &comm, || comm.alltoallv_vec(&x, &sc)).py()?;
        if let Some(want) = recv_counts
            && (want.len() != rc.len() || want.iter().zip(&rc).any(|(&a, &b)| a < 0 || a as u64 != b as u64))
        {
            return Err(invalid(format!("alltoallv: recv_counts {want:?} but the ranks sent {rc:?}")));
        }
        let n = out.len();
        array_from_vec(py, out, &[n])
    })
}

// ---- point-to-point --------------------------------------------------------------------------

/// Every message starts with this header: dtype, kind (0 array, 1 float, 2 int, 3 NumPy
/// scalar), ndim, then the shape. Receivers get back exactly what was sent.
const HDR: usize = 3 + MAXD;

fn tag_of(tag: i64) -> PyResult<i32> {
    i32::try_from(tag)
        .ok()
        .filter(|t| *t >= 0)
        .ok_or_else(|| invalid(format!("tags are 0..2^31, not {tag}")))
}

/// Sends `data` (an array or a number) to rank `dest`.
#[pyfunction]
#[pyo3(signature = (ctx, data, dest, tag=0))]
pub fn send(
    py: Python<'_>,
    ctx: &Bound<'_, Context>,
    data: &Bound<'_, PyAny>,
    dest: i64,
    tag: i64,
) -> PyResult<()> {
    let comm = comm_of(ctx)?;
    let dest = DtlError::check_rank(dest, comm.size(), "destination rank").py()?;
    let tag = tag_of(tag)?;
    let (arr, dt, shape, kind) = as_array(py, value(data)?)?;
    if shape.len() > MAXD {
        return Err(invalid(format!("send: at most {MAXD} dimensions")));
    }
    let mut hdr = [0u64; HDR];
    hdr[0] = DType::ALL.iter().position(|&t| t == dt).unwrap_or(0) as u64;
    hdr[1] = match kind {
        Ret::Array => 0,
        Ret::Float => 1,
        Ret::Int => 2,
        Ret::NpScalar => 3,
    };
    hdr[2] = shape.len() as u64;
    for (k, &s) in shape.iter().enumerate() {
        hdr[3 + k] = s as u64;
    }
    let mut msg: Vec<u8> = as_bytes(&hdr).to_vec();
    with_dtype!(dt, T => {
        let x = array_vec::<T>(&arr)?;
        msg.extend_from_slice(as_bytes(&x));
    });
    blocking(py, &comm, || comm.send(&msg, dest, tag)).py()
}

fn source_of(comm: &CommRef, source: i64) -> PyResult<Source> {
    if source == -1 {
        return Ok(Source::Any);
    }
    Ok(Source::Rank(
        DtlError::check_rank(source, comm.size(), "source rank").py()?,
    ))
}

fn tagsel(tag: i64) -> PyResult<TagSel> {
    if tag == -1 {
        Ok(TagSel::Any)
    } else {
        Ok(TagSel::Tag(tag_of(tag)?))
    }
}

fn decode<'py>(py: Python<'py>, msg: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let hb = HDR * 8;
    if msg.len() < hb {
        return Err(invalid("message was not sent by dtl.send"));
    }
    let mut hdr = [0u64; HDR];
    as_bytes_mut(&mut hdr).copy_from_slice(&msg[..hb]);
    let dt = DType::ALL
        .get(hdr[0] as usize)
        .copied()
        .ok_or_else(|| invalid("message was not sent by dtl.send"))?;
    let nd = (hdr[2] as usize).min(MAXD);
    let shape: Vec<usize> = hdr[3..3 + nd].iter().map(|&s| s as usize).collect();
    let kind = match hdr[1] {
        1 => Ret::Float,
        2 => Ret::Int,
        3 => Ret::NpScalar,
        _ => Ret::Array,
    };
    let body = &msg[hb..];
    let a = with_dtype!(dt, T => {
        let sz = std::mem::size_of::<T>();
        let n: usize = shape.iter().product();
        if body.len() != n * sz {
            return Err(invalid("message length does not match its header"));
        }
        let mut v = vec![<T as dtl_runtime::elem::Element>::ZERO; n];
        as_bytes_mut(&mut v).copy_from_slice(body);
        array_from_vec(py, v, &shape)?
    });
    ret(py, a, kind)
}

fn recv_raw(
    py: Python<'_>,
    comm: &CommRef,
    source: Source,
    tag: TagSel,
) -> PyResult<(Vec<u8>, Status)> {
    blocking(py, comm, || -> Result<(Vec<u8>, Status), DtlError> {
        let st = comm.probe(source, tag)?;
        let mut buf = vec![0u8; st.bytes];
        let st = comm.recv(&mut buf, Source::Rank(st.source), TagSel::Tag(st.tag))?;
        Ok((buf, st))
    })
    .py()
}

/// Receives a message from `source` (-1: any) with `tag` (-1: any). `dtype` and `count`, when
/// given, are checked against what arrived.
#[pyfunction]
#[pyo3(signature = (ctx, source=-1, tag=-1, dtype=None, count=0), text_signature = "(ctx, source=-1, tag=-1, dtype=None, count=0)")]
pub fn recv<'py>(
    py: Python<'py>,
    ctx: &Bound<'py, Context>,
    source: i64,
    tag: i64,
    dtype: Option<&Bound<'py, PyAny>>,
    count: i64,
) -> PyResult<Bound<'py, PyAny>> {
    let comm = comm_of(ctx)?;
    let (msg, _) = recv_raw(py, &comm, source_of(&comm, source)?, tagsel(tag)?)?;
    let v = decode(py, &msg)?;
    if let Some(d) = dtype
        && !d.is_none()
    {
        let want = convert::any_dtype(d)?;
        let got = v
            .getattr("dtype")
            .ok()
            .and_then(|x| x.cast_into::<numpy::PyArrayDescr>().ok());
        let got = got.and_then(|g| convert::dtype_of_descr(&g));
        if got.is_some_and(|g| g != want) {
            return Err(invalid(format!(
                "recv: expected {} but the message holds {}",
                convert::numpy_name(want),
                convert::numpy_name(got.unwrap_or(want))
            )));
        }
    }
    if count > 0 {
        let n: usize = v
            .getattr("size")
            .ok()
            .and_then(|s| s.extract().ok())
            .unwrap_or(1);
        if n as i64 > count {
            return Err(invalid(format!(
                "recv: message of {n} elements exceeds count={count}"
            )));
        }
    }
    Ok(v)
}

/// Sends to `dest` and receives from `source` (safe against exchange deadlocks).
#[pyfunction]
#[pyo3(signature = (ctx, send_data, dest, source, send_tag=0, recv_tag=0))]
pub fn sendrecv<'py>(
    py: Python<'py>,
    ctx: &Bound<'py, Context>,
    send_data: &Bound<'py, PyAny>,
    dest: i64,
    source: i64,
    send_tag: i64,
    recv_tag: i64,
) -> PyResult<Bound<'py, PyAny>> {
    send(py, ctx, send_data, dest, send_tag)?;
    recv(py, ctx, source, recv_tag, None, 0)
}

/// What `probe`/`iprobe` found.
#[pyclass(frozen, get_all, module = "dtl._native")]
pub struct MessageStatus {
    pub source: usize,
    pub tag: i32,
    /// Payload size in bytes.
    pub nbytes: usize,
}

#[pymethods]
impl MessageStatus {
    fn __repr__(&self) -> String {
        format!(
            "MessageStatus(source={}, tag={}, nbytes={})",
            self.source, self.tag, self.nbytes
        )
    }
}

fn status(st: Status) -> MessageStatus {
    MessageStatus {
        source: st.source,
        tag: st.tag,
        nbytes: st.bytes.saturating_sub(HDR * 8),
    }
}

/// Blocks until a matching message is available and returns its status.
#[pyfunction]
#[pyo3(signature = (ctx, source=-1, tag=-1), text_signature = "(ctx, source=-1, tag=-1)")]
pub fn probe(
    py: Python<'_>,
    ctx: &Bound<'_, Context>,
    source: i64,
    tag: i64,
) -> PyResult<MessageStatus> {
    let comm = comm_of(ctx)?;
    let (s, t) = (source_of(&comm, source)?, tagsel(tag)?);
    Ok(status(blocking(py, &comm, || comm.probe(s, t)).py()?))
}

/// The status of a matching message if one is available now, else None.
#[pyfunction]
#[pyo3(signature = (ctx, source=-1, tag=-1), text_signature = "(ctx, source=-1, tag=-1)")]
pub fn iprobe(ctx: &Bound<'_, Context>, source: i64, tag: i64) -> PyResult<Option<MessageStatus>> {
    let comm = comm_of(ctx)?;
    Ok(comm
        .iprobe(source_of(&comm, source)?, tagsel(tag)?)
        .py()?
        .map(status))
}

/// Collective: inclusive (or exclusive) prefix `op` over ranks of a scalar or array.
#[pyfunction]
#[pyo3(signature = (ctx, value, op=None, exclusive=false))]
pub fn scan_values<'py>(
    py: Python<'py>,
    ctx: &Bound<'py, Context>,
    value: &Bound<'py, PyAny>,
    op: Option<&Bound<'py, PyAny>>,
    exclusive: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let op = match op {
        Some(o) => convert::reduce_op(o)?,
        None => ReduceOp::Sum,
    };
    let comm = comm_of(ctx)?;
    let (arr, dt, shape, kind) = as_array(py, self::value(value)?)?;
    let out = with_dtype!(dt, T => {
        let x = array_vec::<T>(&arr)?;
        let id = dtl_runtime::algo::identity::<T>(op);
        let mut out = vec![id; x.len()];
        blocking(py, &comm, || comm.scan(as_bytes(&x), as_bytes_mut(&mut out), dt, op, exclusive, Site::NONE)).py()?;
        array_from_vec(py, out, &shape)?
    });
    ret(py, out, kind)
}
