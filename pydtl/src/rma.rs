//! One-sided windows: `Window(ctx, size=…)` over memory dtl allocates, `Window(ctx, base=arr)`
//! over a caller's NumPy array, and the `rma_*` operations.
//!
//! Semantics are the runtime's (MPI's): puts, accumulates and atomics reach the target's
//! memory and are visible there after the next `fence()` (or a barrier). `lock`/`unlock` open
//! and close a passive-target epoch: `unlock` completes this rank's operations to the target
//! (a flush). Locks do not exclude other ranks; use the atomics (`rma_fetch_and_add`,
//! `rma_compare_and_swap`, `rma_accumulate`) for concurrent updates.

use std::sync::atomic::Ordering;

use dtl_runtime::comm::{CommRef, WinId};
use dtl_runtime::elem::{ReduceOp, as_bytes, as_bytes_mut};
use dtl_runtime::error::{DtlError, Site};
use numpy::ndarray::{ArrayViewMut1, Ix1};
use numpy::{PyArray, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::context::{Alive, Context, blocking};
use crate::convert::{self, array_from_vec, array_vec, contiguous, scalar_as, with_dtype};
use crate::errors::{IntoPyResult, invalid};

/// A window of memory every rank of a context can read and write one-sidedly.
#[pyclass(subclass, weakref, module = "dtl._native")]
pub struct Window {
    comm: CommRef,
    alive: Alive,
    win: Option<WinId>,
    bytes: usize,
    base: usize,
    /// Memory dtl allocated (u64 for 8-byte alignment), or None over a caller's array.
    owned: Option<Vec<u64>>,
    /// The caller's array, held so it can be neither freed nor resized while exposed.
    array: Option<Py<PyAny>>,
    /// Whether this window is counted among the MPI windows.
    mpi_counted: bool,
}

impl Window {
    fn id(&self) -> PyResult<WinId> {
        if !self.alive.load(Ordering::Relaxed) {
            return Err(invalid(
                "this window belongs to a dtl.spmd rank that has returned",
            ));
        }
        self.win.ok_or_else(|| invalid("the window has been freed"))
    }

    fn target(&self, target: i64) -> PyResult<usize> {
        DtlError::check_rank(target, self.comm.size(), "target rank").py()
    }
}

fn offset_of(off: i64) -> PyResult<usize> {
    DtlError::check_size(off, "window offset").py()
}

#[pymethods]
impl Window {
    #[new]
    #[pyo3(signature = (ctx, size=None, base=None))]
    fn py_new(
        py: Python<'_>,
        ctx: &Bound<'_, Context>,
        size: Option<i64>,
        base: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let c = ctx.get();
        let comm = c.comm()?.clone();
        let alive = c.alive().clone();
        let base = base.filter(|b| !b.is_none());
        let (mut owned, array, bytes) = match (size, base) {
            (Some(_), Some(_)) => return Err(invalid("Window takes size= or base=, not both")),
            (None, None) => {
                return Err(invalid(
                    "Window needs size= (bytes) or base= (a NumPy array)",
                ));
            }
            (Some(n), None) => {
                let n = DtlError::check_size(n, "window size").py()?;
                let words = n.div_ceil(8);
                let mut v: Vec<u64> = Vec::new();
                v.try_reserve_exact(words)
                    .map_err(|_| crate::errors::to_py(DtlError::OutOfMemory { bytes: n }))?;
                v.resize(words, 0);
                (Some(v), None, n)
            }
            (None, Some(b)) => {
                let a = b
                    .cast::<PyUntypedArray>()
                    .map_err(|_| invalid("base= must be a NumPy array"))?;
                if !a.is_c_contiguous() {
                    return Err(invalid("base= must be a C-contiguous array"));
                }
                let writeable: bool = a.getattr("flags")?.getattr("writeable")?.extract()?;
                if !writeable {
                    return Err(invalid("base= must be a writeable array"));
                }
                let nbytes: usize = a.getattr("nbytes")?.extract()?;
                (None, Some(b.clone().unbind()), nbytes)
            }
        };
        let ptr: *mut u8 = match (&mut owned, &array) {
            (Some(v), _) => v.as_mut_ptr().cast(),
            (None, Some(a)) => {
                let a = a
                    .bind(py)
                    .cast::<PyUntypedArray>()
                    .map_err(|_| invalid("base= must be a NumPy array"))?;
                // SAFETY: reading the data pointer field of a live array object.
                unsafe { (*a.as_array_ptr()).fields.data.cast() }
            }
            (None, None) => std::ptr::null_mut(),
        };
        let addr = ptr as usize;
        let id = blocking(py, &comm, || {
            // SAFETY: the memory is either `owned` (a Vec stored in this Window, never resized)
            // or the caller's array, which this Window holds a reference to (so it is not
            // freed, and NumPy refuses to resize an array that others reference). The window
            // is freed (collectively) before either goes: in `free` or in `Drop`.
            unsafe { comm.win_create(addr as *mut u8, bytes, Site::NONE) }
        })
        .py()?;
        let mpi_counted = crate::context::mpi_window_opened(&comm);
        Ok(Window {
            comm,
            alive,
            win: Some(id),
            bytes,
            base: addr,
            owned,
            array,
            mpi_counted,
        })
    }

    /// Size of this rank's window in bytes.
    #[getter]
    fn size(&self) -> usize {
        self.bytes
    }

    /// Address of this rank's window memory.
    #[getter]
    fn base(&self) -> usize {
        self.base
    }

    #[getter]
    fn is_valid(&self) -> bool {
        self.win.is_some() && self.alive.load(Ordering::Relaxed)
    }

    /// A zero-copy NumPy view of this rank's window memory as `dtype` (keeps the window alive).
    #[pyo3(signature = (dtype=None))]
    fn local_view<'py>(
        slf: &Bound<'py, Self>,
        dtype: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let dt = match dtype {
            Some(d) if !d.is_none() => convert::any_dtype(d)?,
            _ => dtl_runtime::elem::DType::U8,
        };
        let g = slf
            .try_borrow()
            .map_err(|_| crate::container::in_use("window"))?;
        if let Some(a) = &g.array {
            return Ok(a.bind(py).clone());
        }
        let base = slf.clone().into_any();
        with_dtype!(dt, T => {
            let n = g.bytes / std::mem::size_of::<T>();
            let ptr = g.base as *mut T;
            if n == 0 || ptr.is_null() {
                return array_from_vec::<T>(py, Vec::new(), &[0]);
            }
            // SAFETY: `ptr` is this window's own allocation (u64-aligned, at least `n` elements
            // of T), never moved, and kept alive by `base` (this Window) for as long as the
            // array exists. Element types are plain data, so any bit pattern is valid.
            let v = unsafe { ArrayViewMut1::<T>::from_shape_ptr(Ix1(n), ptr) };
            // SAFETY: as above; the Window is the array's base object.
            let a = unsafe { PyArray::borrow_from_array(&v, base) };
            Ok(a.into_any())
        })
    }

    /// Collective: completes all one-sided operations on the window and makes them visible.
    fn fence(&self, py: Python<'_>) -> PyResult<()> {
        let id = self.id()?;
        blocking(py, &self.comm, || self.comm.win_fence(id, Site::NONE)).py()
    }

    /// Starts a passive-target epoch on `target` (`mode` is "exclusive" or "shared").
    #[pyo3(signature = (target, mode="exclusive"))]
    fn lock(&self, target: i64, mode: &str) -> PyResult<()> {
        self.id()?;
        self.target(target)?;
        if mode != "exclusive" && mode != "shared" {
            return Err(invalid(format!(
                "lock mode must be \"exclusive\" or \"shared\", not {mode:?}"
            )));
        }
        Ok(())
    }

    /// Ends the epoch on `target`, completing this rank's operations to it.
    fn unlock(&self, target: i64) -> PyResult<()> {
        let t = self.target(target)?;
        self.comm.win_flush(self.id()?, Some(t)).py()
    }

    fn lock_all(&self) -> PyResult<()> {
        self.id().map(|_| ())
    }

    fn unlock_all(&self) -> PyResult<()> {
        self.comm.win_flush(self.id()?, None).py()
    }

    /// Completes this rank's operations to `target`.
    fn flush(&self, target: i64) -> PyResult<()> {
        let t = self.target(target)?;
        self.comm.win_flush(self.id()?, Some(t)).py()
    }

    fn flush_all(&self) -> PyResult<()> {
        self.comm.win_flush(self.id()?, None).py()
    }

    fn flush_local(&self, target: i64) -> PyResult<()> {
        self.flush(target)
    }

    fn flush_local_all(&self) -> PyResult<()> {
        self.flush_all()
    }

    /// Collective: frees the window (also on `with` exit and garbage collection).
    fn free(&mut self, py: Python<'_>) -> PyResult<()> {
        if let Some(id) = self.win
            && self.alive.load(Ordering::Relaxed)
        {
            let comm = self.comm.clone();
            let r = blocking(py, &comm, || comm.win_free(id, Site::NONE));
            if r.is_err() {
                // Another rank may still reach this memory: keep it forever.
                std::mem::forget(self.owned.take());
                std::mem::forget(self.array.take());
            }
            self.win = None;
            if r.is_ok() {
                crate::context::mpi_window_closed(std::mem::take(&mut self.mpi_counted));
            }
            r.py()?;
        }
        Ok(())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&mut self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.free(py)?;
        Ok(false)
    }
}

impl Drop for Window {
    fn drop(&mut self) {
        let Some(id) = self.win.take() else { return };
        if !self.alive.load(Ordering::SeqCst) {
            std::mem::forget(self.owned.take());
            std::mem::forget(self.array.take());
            return;
        }
        let comm = self.comm.clone();
        let r = if comm.size() > 1 {
            Python::attach(|py| py.detach(|| comm.win_free(id, Site::NONE)))
        } else {
            comm.win_free(id, Site::NONE)
        };
        if r.is_err() {
            std::mem::forget(self.owned.take());
            std::mem::forget(self.array.take());
        } else {
            crate::context::mpi_window_closed(self.mpi_counted);
        }
    }
}

/// Writes `data` at byte `offset` of `target`'s window.
#[pyfunction]
#[pyo3(signature = (win, target, offset, data))]
pub fn rma_put(
    win: &Bound<'_, Window>,
    target: i64,
    offset: i64,
    data: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let w = win
        .try_borrow()
        .map_err(|_| crate::container::in_use("window"))?;
    let t = w.target(target)?;
    let off = offset_of(offset)?;
    let a = contiguous(data)?;
    let dt = convert::array_dtype(&a)?;
    with_dtype!(dt, T => {
        let x = array_vec::<T>(&a)?;
        w.comm.win_put(w.id()?, t, off, as_bytes(&x)).py()
    })
}

/// Reads `size` bytes at byte `offset` of `target`'s window as a 1-D array of `dtype`.
#[pyfunction]
#[pyo3(signature = (win, target, offset, size, dtype=None))]
pub fn rma_get<'py>(
    py: Python<'py>,
    win: &Bound<'py, Window>,
    target: i64,
    offset: i64,
    size: i64,
    dtype: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let w = win
        .try_borrow()
        .map_err(|_| crate::container::in_use("window"))?;
    let t = w.target(target)?;
    let off = offset_of(offset)?;
    let n = DtlError::check_size(size, "rma_get size").py()?;
    let dt = match dtype {
        Some(d) if !d.is_none() => convert::any_dtype(d)?,
        _ => dtl_runtime::elem::DType::F64,
    };
    with_dtype!(dt, T => {
        let sz = std::mem::size_of::<T>();
        if n % sz != 0 {
            return Err(invalid(format!("rma_get: {n} bytes is not a whole number of {}", convert::numpy_name(dt))));
        }
        let mut out = vec![<T as dtl_runtime::elem::Element>::ZERO; n / sz];
        w.comm.win_get(w.id()?, t, off, as_bytes_mut(&mut out)).py()?;
        let k = out.len();
        array_from_vec(py, out, &[k])
    })
}

/// Atomically combines `data` into `target`'s window at byte `offset` with `op`.
#[pyfunction]
#[pyo3(signature = (win, target, offset, data, op=None))]
pub fn rma_accumulate(
    win: &Bound<'_, Window>,
    target: i64,
    offset: i64,
    data: &Bound<'_, PyAny>,
    op: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let op = match op {
        Some(o) => convert::reduce_op(o)?,
        None => ReduceOp::Sum,
    };
    let w = win
        .try_borrow()
        .map_err(|_| crate::container::in_use("window"))?;
    let t = w.target(target)?;
    let off = offset_of(offset)?;
    let a = contiguous(data)?;
    let dt = convert::array_dtype(&a)?;
    with_dtype!(dt, T => {
        let x = array_vec::<T>(&a)?;
        w.comm.win_accumulate(w.id()?, t, off, as_bytes(&x), dt, op).py()
    })
}

/// Atomically adds `addend` to the `dtype` element at byte `offset` of `target`'s window and
/// returns the old value.
#[pyfunction]
#[pyo3(signature = (win, target, offset, addend, dtype=None))]
pub fn rma_fetch_and_add<'py>(
    py: Python<'py>,
    win: &Bound<'py, Window>,
    target: i64,
    offset: i64,
    addend: &Bound<'py, PyAny>,
    dtype: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let w = win
        .try_borrow()
        .map_err(|_| crate::container::in_use("window"))?;
    let t = w.target(target)?;
    let off = offset_of(offset)?;
    let dt = match dtype {
        Some(d) if !d.is_none() => convert::any_dtype(d)?,
        _ => dtl_runtime::elem::DType::F64,
    };
    with_dtype!(dt, T => {
        let x: T = scalar_as::<T>(addend)?;
        let mut old = [<T as dtl_runtime::elem::Element>::ZERO];
        w.comm.win_fetch_op(w.id()?, t, off, as_bytes(&[x]), as_bytes_mut(&mut old), dt, ReduceOp::Sum).py()?;
        old[0].into_bound_py_any(py)
    })
}

/// Atomic compare-and-swap of the `dtype` element at byte `offset` of `target`'s window;
/// returns the old value.
#[pyfunction]
#[pyo3(signature = (win, target, offset, compare, swap, dtype=None))]
pub fn rma_compare_and_swap<'py>(
    py: Python<'py>,
    win: &Bound<'py, Window>,
    target: i64,
    offset: i64,
    compare: &Bound<'py, PyAny>,
    swap: &Bound<'py, PyAny>,
    dtype: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let w = win
        .try_borrow()
        .map_err(|_| crate::container::in_use("window"))?;
    let t = w.target(target)?;
    let off = offset_of(offset)?;
    let dt = match dtype {
        Some(d) if !d.is_none() => convert::any_dtype(d)?,
        _ => dtl_runtime::elem::DType::F64,
    };
    with_dtype!(dt, T => {
        let c: T = scalar_as::<T>(compare)?;
        let s: T = scalar_as::<T>(swap)?;
        let mut old = [<T as dtl_runtime::elem::Element>::ZERO];
        w.comm.win_compare_and_swap(w.id()?, t, off, as_bytes(&[c]), as_bytes(&[s]), as_bytes_mut(&mut old), dt).py()?;
        old[0].into_bound_py_any(py)
    })
}
