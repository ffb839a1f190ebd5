//! Container algorithms over the runtime's `algo` and `sort` modules (all collective).

use dtl_runtime::algo;
use dtl_runtime::container::Distributed;
use dtl_runtime::elem::ReduceOp;
use dtl_runtime::error::DtlError;
use dtl_runtime::sort as rsort;
use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;

use crate::container::{self, AnyDist, Container, Variant, with_dist};
use crate::context::blocking;
use crate::convert::{self, scalar_as};
use crate::errors::{IntoPyResult, invalid};

fn op_or_sum(op: Option<&Bound<'_, PyAny>>) -> PyResult<ReduceOp> {
    match op {
        Some(o) if !o.is_none() => convert::reduce_op(o),
        _ => Ok(ReduceOp::Sum),
    }
}

/// Sets every element to `value` (local: each rank fills its own part).
#[pyfunction]
pub fn fill(c: &Bound<'_, Container>, value: &Bound<'_, PyAny>) -> PyResult<()> {
    let mut g = container::write(c)?;
    with_dist!(g.dist_mut()?, d, T => {
        let x = scalar_as::<T>(value)?;
        algo::fill(d, x);
        Ok(())
    })
}

/// Collective: the reduction of all elements with `op`, as a Python number.
#[pyfunction]
#[pyo3(signature = (c, op=None))]
pub fn reduce_container<'py>(
    py: Python<'py>,
    c: &Bound<'py, Container>,
    op: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let op = op_or_sum(op)?;
    let g = container::read(c)?;
    let comm = g.comm()?;
    with_dist!(g.dist()?, d, _T => {
        let x = blocking(py, &comm, || algo::reduce(d, op)).py()?;
        x.into_bound_py_any(py)
    })
}

/// Collective: how many elements equal `value`.
#[pyfunction]
pub fn count(
    py: Python<'_>,
    c: &Bound<'_, Container>,
    value: &Bound<'_, PyAny>,
) -> PyResult<usize> {
    let g = container::read(c)?;
    let comm = g.comm()?;
    with_dist!(g.dist()?, d, T => {
        let x = scalar_as::<T>(value)?;
        blocking(py, &comm, || algo::count(d, |y| y == x)).py()
    })
}

/// Collective: the lowest global index holding `value`, or None.
#[pyfunction]
pub fn find(
    py: Python<'_>,
    c: &Bound<'_, Container>,
    value: &Bound<'_, PyAny>,
) -> PyResult<Option<usize>> {
    let g = container::read(c)?;
    let comm = g.comm()?;
    with_dist!(g.dist()?, d, T => {
        let x = scalar_as::<T>(value)?;
        blocking(py, &comm, || algo::find(d, |y| y == x)).py()
    })
}

/// Collective: sorts a vector or array across ranks (ascending, or descending with
/// `reverse=True`), keeping its partition.
#[pyfunction]
#[pyo3(signature = (c, reverse=false))]
pub fn sort(py: Python<'_>, c: &Bound<'_, Container>, reverse: bool) -> PyResult<()> {
    let mut g = container::write(c)?;
    let comm = g.comm()?;
    with_dist!(g.dist_mut()?, d, _T => blocking(py, &comm, || rsort::sort(d, reverse))).py()
}

/// Collective: whether the container is sorted across ranks.
#[pyfunction]
#[pyo3(signature = (c, reverse=false))]
pub fn is_sorted(py: Python<'_>, c: &Bound<'_, Container>, reverse: bool) -> PyResult<bool> {
    let g = container::read(c)?;
    let comm = g.comm()?;
    with_dist!(g.dist()?, d, _T => blocking(py, &comm, || rsort::is_sorted(d, reverse))).py()
}

fn same_dtype(a: &AnyDist, b: &AnyDist) -> PyResult<()> {
    if a.dtype() != b.dtype() {
        return Err(invalid(format!(
            "containers hold different dtypes ({} and {})",
            convert::numpy_name(a.dtype()),
            convert::numpy_name(b.dtype())
        )));
    }
    Ok(())
}

fn typed<T: Variant>(a: &AnyDist) -> Option<&Distributed<T>> {
    with_dist!(a, d, U => {
        let any: &dyn std::any::Any = d;
        let _ = std::marker::PhantomData::<U>;
        any.downcast_ref::<Distributed<T>>()
    })
}

/// Collective: copies `src` into `dst` by global index, whatever their partitions (same
/// shape and dtype).
#[pyfunction]
pub fn copy(
    py: Python<'_>,
    src: &Bound<'_, Container>,
    dst: &Bound<'_, Container>,
) -> PyResult<()> {
    if src.is(dst) {
        return Ok(());
    }
    let s = container::read(src)?;
    let mut t = container::write(dst)?;
    same_dtype(s.dist()?, t.dist()?)?;
    let comm = s.comm()?;
    let sd = s.dist()?;
    with_dist!(t.dist_mut()?, d, T => {
        let from = typed::<T>(sd).ok_or_else(|| invalid("dtype mismatch"))?;
        blocking(py, &comm, || algo::copy_into(from, d)).py()
    })
}

/// Collective: the sum of `a[i] * b[i]` over two aligned containers.
#[pyfunction]
pub fn dot<'py>(
    py: Python<'py>,
    a: &Bound<'py, Container>,
    b: &Bound<'py, Container>,
) -> PyResult<Bound<'py, PyAny>> {
    let x = container::read(a)?;
    let y = container::read(b)?;
    same_dtype(x.dist()?, y.dist()?)?;
    let comm = x.comm()?;
    let yd = y.dist()?;
    with_dist!(x.dist()?, d, T => {
        let other = typed::<T>(yd).ok_or_else(|| invalid("dtype mismatch"))?;
        let r = blocking(py, &comm, || algo::dot(d, other)).py()?;
        r.into_bound_py_any(py)
    })
}

/// Collective: `dst` becomes the inclusive (or exclusive) prefix `op` of `src` in global
/// order (same shape, partition and dtype; `dst` must have no live views).
#[pyfunction]
#[pyo3(signature = (src, dst, op=None, exclusive=false))]
pub fn scan_into(
    py: Python<'_>,
    src: &Bound<'_, Container>,
    dst: &Bound<'_, Container>,
    op: Option<&Bound<'_, PyAny>>,
    exclusive: bool,
) -> PyResult<()> {
    let op = op_or_sum(op)?;
    if src.is(dst) {
        return Err(invalid("scan needs a separate destination"));
    }
    let s = container::read(src)?;
    let mut t = container::write(dst)?;
    same_dtype(s.dist()?, t.dist()?)?;
    let comm = s.comm()?;
    let sd = s.dist()?;
    with_dist!(t.dist_mut()?, d, T => {
        let from = typed::<T>(sd).ok_or_else(|| invalid("dtype mismatch"))?;
        blocking(py, &comm, || -> Result<(), DtlError> {
            let scanned = algo::scan(from, op, exclusive)?;
            // Same shape and options as `from`, hence as `d`: copy by global index.
            algo::copy_into(&scanned, d)
        })
        .py()
    })
}

/// Collective: `(index, value)` of the smallest (or largest) element, or None when empty.
#[pyfunction]
#[pyo3(signature = (c, largest=false))]
pub fn argextreme<'py>(
    py: Python<'py>,
    c: &Bound<'py, Container>,
    largest: bool,
) -> PyResult<Option<(usize, Bound<'py, PyAny>)>> {
    let g = container::read(c)?;
    let comm = g.comm()?;
    with_dist!(g.dist()?, d, _T => {
        let r = blocking(py, &comm, || if largest { algo::argmax(d) } else { algo::argmin(d) }).py()?;
        match r {
            Some((i, x)) => Ok(Some((i, x.into_bound_py_any(py)?))),
            None => Ok(None),
        }
    })
}
