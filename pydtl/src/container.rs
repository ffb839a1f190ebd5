//! The native container behind `DistributedVector`, `DistributedArray` and
//! `DistributedTensor`: one runtime [`Distributed`] of one of eight element types.
//!
//! Views: `local_view()` is a NumPy array over the container's own buffer whose `base` is a
//! small guard object holding the container, so a view keeps its container alive. The guard
//! counts live views; `resize` (the only operation that moves the buffer) refuses with
//! `InvalidArgumentError` while any view (or any array derived from one) is alive, so no view
//! ever dangles.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use dtl_runtime::algo;
use dtl_runtime::comm::CommRef;
use dtl_runtime::container::{Distributed, Options, Vector};
use dtl_runtime::elem::{DType, Element, as_bytes, as_bytes_mut};
use dtl_runtime::error::{DtlError, Site};
use dtl_runtime::partition::Partition;
use numpy::PyArray;
use numpy::ndarray::{ArrayViewMutD, IxDyn};
use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::context::{Alive, Context, blocking};
use crate::convert::{self, Elem, array_from_vec, array_vec, contiguous, scalar_as, with_dtype};
use crate::errors::{IntoPyResult, invalid};

/// A runtime container of one of the eight container element types.
pub enum AnyDist {
    I8(Distributed<i8>),
    I32(Distributed<i32>),
    I64(Distributed<i64>),
    U8(Distributed<u8>),
    U32(Distributed<u32>),
    U64(Distributed<u64>),
    F32(Distributed<f32>),
    F64(Distributed<f64>),
}

/// Runs `$body` with `$d` bound to the typed container and `$T` its element type.
macro_rules! with_dist {
    ($e:expr, $d:ident, $T:ident => $body:expr) => {
        match $e {
            $crate::container::AnyDist::I8($d) => {
                type $T = i8;
                $body
            }
            $crate::container::AnyDist::I32($d) => {
                type $T = i32;
                $body
            }
            $crate::container::AnyDist::I64($d) => {
                type $T = i64;
                $body
            }
            $crate::container::AnyDist::U8($d) => {
                type $T = u8;
                $body
            }
            $crate::container::AnyDist::U32($d) => {
                type $T = u32;
                $body
            }
            $crate::container::AnyDist::U64($d) => {
                type $T = u64;
                $body
            }
            $crate::container::AnyDist::F32($d) => {
                type $T = f32;
                $body
            }
            $crate::container::AnyDist::F64($d) => {
                type $T = f64;
                $body
            }
        }
    };
}
pub(crate) use with_dist;

/// Typed access to the `AnyDist` variant of `T`.
pub trait Variant: Elem {
    fn wrap(d: Distributed<Self>) -> AnyDist;
}

macro_rules! variant {
    ($($t:ty => $v:ident),*) => {$(
        impl Variant for $t {
            fn wrap(d: Distributed<$t>) -> AnyDist { AnyDist::$v(d) }
        }
    )*};
}
variant!(i8 => I8, i32 => I32, i64 => I64, u8 => U8, u32 => U32, u64 => U64, f32 => F32, f64 => F64);

impl AnyDist {
    pub fn dtype(&self) -> DType {
        with_dist!(self, _d, T => <T as dtl_runtime::elem::Element>::DTYPE)
    }

    fn common(&self) -> (&CommRef, Partition, &[usize], usize, usize) {
        with_dist!(self, d, _T => (d.comm(), d.partition(), d.shape(), d.local_len(), d.local_rows()))
    }
}

fn make<T: Variant>(
    comm: &CommRef,
    shape: &[usize],
    partition: Partition,
    fill: Option<&Bound<'_, PyAny>>,
) -> PyResult<AnyDist> {
    let mut opts = Options::<T>::new().partition(partition);
    if let Some(f) = fill
        && !f.is_none()
    {
        opts = opts.fill(scalar_as::<T>(f)?);
    }
    let py = fill.map(|f| f.py());
    let run = || Distributed::<T>::new(comm, shape, opts);
    let d = match py {
        Some(py) => blocking(py, comm, run),
        None => run(),
    }
    .py()?;
    Ok(T::wrap(d))
}

/// Builds a container (collective).
pub fn new_any(
    py: Python<'_>,
    comm: &CommRef,
    dtype: DType,
    shape: &[usize],
    partition: Partition,
    fill: Option<&Bound<'_, PyAny>>,
) -> PyResult<AnyDist> {
    let _ = py;
    match dtype {
        DType::I8 => make::<i8>(comm, shape, partition, fill),
        DType::I32 => make::<i32>(comm, shape, partition, fill),
        DType::I64 => make::<i64>(comm, shape, partition, fill),
        DType::U8 => make::<u8>(comm, shape, partition, fill),
        DType::U32 => make::<u32>(comm, shape, partition, fill),
        DType::U64 => make::<u64>(comm, shape, partition, fill),
        DType::F32 => make::<f32>(comm, shape, partition, fill),
        DType::F64 => make::<f64>(comm, shape, partition, fill),
        DType::Bool => Err(invalid("containers do not hold bool")),
    }
}

/// `kind=` of a `DistributedVector` (1 is an array, 2 a tensor): only vectors resize.
pub const KIND_VECTOR: u8 = 0;

/// The native distributed container (`dtl.DistributedVector` and friends subclass it).
#[pyclass(subclass, module = "dtl._native", name = "_Container")]
pub struct Container {
    inner: Option<AnyDist>,
    ctx: Py<Context>,
    alive: Alive,
    kind: u8,
    placement: i64,
    block_size: usize,
    views: Arc<AtomicUsize>,
    /// Whether this container is counted among the MPI windows (see `mpi_window_opened`).
    mpi_counted: bool,
}

/// The `base` of every `local_view()` array: keeps the container alive and counts views.
#[pyclass(frozen, module = "dtl._native", name = "_ViewGuard")]
pub struct ViewGuard {
    #[expect(dead_code, reason = "held only to keep the container alive")]
    owner: Py<PyAny>,
    views: Arc<AtomicUsize>,
}

impl Drop for ViewGuard {
    fn drop(&mut self) {
        self.views.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The error for a container (or window) another thread's call holds: a kernel, or a
/// collective that released the GIL, has not returned yet.
pub fn in_use(what: &str) -> PyErr {
    invalid(format!(
        "the {what} is in use by a call on another thread (a kernel or a collective that has not returned yet)"
    ))
}

/// `c` borrowed for reading ([`in_use`] instead of pyo3's panic while another call holds it).
pub fn read<'py>(c: &Bound<'py, Container>) -> PyResult<PyRef<'py, Container>> {
    c.try_borrow().map_err(|_| in_use("container"))
}

/// `c` borrowed for writing ([`in_use`] instead of pyo3's panic while another call holds it).
pub fn write<'py>(c: &Bound<'py, Container>) -> PyResult<PyRefMut<'py, Container>> {
    c.try_borrow_mut().map_err(|_| in_use("container"))
}

impl Container {
    pub fn dist(&self) -> PyResult<&AnyDist> {
        self.inner
            .as_ref()
            .ok_or_else(|| invalid("container has been released"))
    }

    pub fn dist_mut(&mut self) -> PyResult<&mut AnyDist> {
        self.inner
            .as_mut()
            .ok_or_else(|| invalid("container has been released"))
    }

    /// The communicator, or an error once its `spmd` rank has ended.
    pub fn comm(&self) -> PyResult<CommRef> {
        if !self.alive.load(Ordering::Relaxed) {
            return Err(invalid(
                "this container belongs to a dtl.spmd rank that has returned",
            ));
        }
        Ok(self.dist()?.common().0.clone())
    }

    /// 0 vector, 1 array, 2 tensor.
    pub fn kind_code(&self) -> u8 {
        self.kind
    }

    /// The number of dimensions.
    pub fn shape_len(&self) -> PyResult<usize> {
        Ok(self.dist()?.common().2.len())
    }

    pub fn live_views(&self) -> usize {
        self.views.load(Ordering::SeqCst)
    }

    fn local_shape_vec(&self) -> PyResult<Vec<usize>> {
        let (_, _, shape, _, rows) = self.dist()?.common();
        let mut s = shape.to_vec();
        s[0] = rows;
        Ok(s)
    }

    fn index(&self, i: i64) -> PyResult<usize> {
        let n = self.dist()?.common();
        let len = with_dist!(self.dist()?, d, _T => d.global_len());
        let _ = n;
        if i < 0 || i as u64 >= len as u64 {
            return Err(crate::errors::to_py(DtlError::OutOfBounds {
                index: i,
                len,
                what: "distributed container".into(),
            }));
        }
        Ok(i as usize)
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let Some(d) = self.inner.take() else { return };
        if !self.alive.load(Ordering::SeqCst) {
            // Its ranks are gone (or MPI is shutting down): freeing the window is a collective
            // nobody else will join. The window stays open, so it stays counted.
            std::mem::forget(d);
            return;
        }
        if d.common().0.size() > 1 {
            // Freeing the window is collective: let the other ranks run meanwhile.
            Python::attach(|py| py.detach(move || drop(d)));
        } else {
            drop(d);
        }
        crate::context::mpi_window_closed(self.mpi_counted);
    }
}

#[pymethods]
impl Container {
    #[new]
    #[pyo3(signature = (ctx, shape, dtype=None, fill=None, partition=0, block_size=None, placement=0, kind=0))]
    #[expect(clippy::too_many_arguments, reason = "mirrors the Python constructors")]
    fn py_new(
        py: Python<'_>,
        ctx: Py<Context>,
        shape: Vec<i64>,
        dtype: Option<&Bound<'_, PyAny>>,
        fill: Option<&Bound<'_, PyAny>>,
        partition: i64,
        block_size: Option<i64>,
        placement: i64,
        kind: u8,
    ) -> PyResult<Self> {
        if shape.is_empty() {
            return Err(invalid("a container needs at least one dimension"));
        }
        let shape: Vec<usize> = shape
            .iter()
            .map(|&n| DtlError::check_size(n, "container size"))
            .collect::<Result<_, _>>()
            .py()?;
        let dtype = convert::container_dtype(dtype)?;
        let part = convert::partition(partition, block_size)?;
        let placement = convert::placement(placement)?;
        let c = ctx.get();
        let comm = c.comm()?.clone();
        let alive = c.alive().clone();
        let fill = fill.filter(|f| !f.is_none());
        let inner = match fill {
            Some(f) => new_any(py, &comm, dtype, &shape, part, Some(f))?,
            None => {
                let none = py.None().into_bound(py);
                new_any(py, &comm, dtype, &shape, part, Some(&none))?
            }
        };
        Ok(Container {
            inner: Some(inner),
            ctx,
            alive,
            kind,
            placement,
            block_size: match part {
                Partition::BlockCyclic(b) => b,
                _ => 0,
            },
            views: Arc::new(AtomicUsize::new(0)),
            mpi_counted: crate::context::mpi_window_opened(&comm),
        })
    }

    /// Total number of elements across all ranks.
    #[getter]
    fn global_size(&self) -> PyResult<usize> {
        Ok(with_dist!(self.dist()?, d, _T => d.global_len()))
    }

    /// Number of elements on this rank.
    #[getter]
    fn local_size(&self) -> PyResult<usize> {
        Ok(self.dist()?.common().3)
    }

    /// Global (flat) index of this rank's first element.
    #[getter]
    fn local_offset(&self) -> PyResult<usize> {
        let d = self.dist()?;
        Ok(with_dist!(d, d, _T => match d.local_offset() {
            Ok(o) => o,
            Err(_) => if d.local_len() > 0 { d.global_of_local(0) } else { 0 },
        }))
    }

    #[getter]
    fn dtype<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(convert::descr(py, self.dist()?.dtype()).into_any())
    }

    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.dist()?.common().2)
    }

    #[getter]
    fn local_shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.local_shape_vec()?)
    }

    #[getter]
    fn ndim(&self) -> PyResult<usize> {
        Ok(self.dist()?.common().2.len())
    }

    #[getter]
    fn partition_policy(&self) -> PyResult<i64> {
        Ok(convert::partition_code(self.dist()?.common().1))
    }

    #[getter]
    fn block_size(&self) -> usize {
        self.block_size
    }

    #[getter]
    fn placement_policy(&self) -> i64 {
        self.placement
    }

    #[getter]
    fn rank(&self) -> PyResult<usize> {
        Ok(self.dist()?.common().0.rank())
    }

    #[getter]
    fn num_ranks(&self) -> PyResult<usize> {
        Ok(self.dist()?.common().0.size())
    }

    #[getter]
    fn context(&self, py: Python<'_>) -> Py<Context> {
        self.ctx.clone_ref(py)
    }

    /// Number of live `local_view()` arrays (while nonzero, `resize` is refused).
    #[getter]
    fn view_count(&self) -> usize {
        self.live_views()
    }

    fn __len__(&self) -> PyResult<usize> {
        self.global_size()
    }

    /// Zero-copy NumPy view of this rank's elements (shape `local_shape`). The view keeps the
    /// container alive.
    fn local_view<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        // Borrowed first: a guard made and then dropped on an error would miscount the views.
        let mut g = write(slf)?;
        let views = g.views.clone();
        let shape = g.local_shape_vec()?;
        let guard = Bound::new(
            py,
            ViewGuard {
                owner: slf.clone().into_any().unbind(),
                views: views.clone(),
            },
        )?;
        views.fetch_add(1, Ordering::SeqCst);
        let arr = with_dist!(g.dist_mut()?, d, T => {
            let s = d.local_mut();
            // SAFETY: `s` is the container's owned region, exactly `product(shape)` elements,
            // contiguous and aligned for T. The buffer is not freed while the guard (the
            // array's base) holds the container, and not moved: `resize`, the only operation
            // that reallocates it, refuses while the guard's view count is nonzero.
            let v = unsafe { ArrayViewMutD::<T>::from_shape_ptr(IxDyn(&shape), s.as_mut_ptr()) };
            // SAFETY: as above; the guard is the base object that owns the memory.
            let a = unsafe { PyArray::borrow_from_array(&v, guard.clone().into_any()) };
            a.into_any()
        });
        Ok(arr)
    }

    /// A copy of this rank's elements.
    fn to_numpy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let shape = self.local_shape_vec()?;
        with_dist!(self.dist()?, d, _T => array_from_vec(py, d.local().to_vec(), &shape))
    }

    /// Whether flat global index `i` is on this rank.
    fn is_local(&self, i: i64) -> PyResult<bool> {
        if i < 0 {
            return Ok(false);
        }
        Ok(with_dist!(self.dist()?, d, _T => d.is_local(i as usize)))
    }

    /// The rank that owns flat global index `i` (BoundsError when out of range).
    fn owner(&self, i: i64) -> PyResult<usize> {
        let i = self.index(i)?;
        with_dist!(self.dist()?, d, _T => d.owner(i)).py()
    }

    /// One-sided read of flat global index `i` from whichever rank owns it.
    fn get<'py>(&self, py: Python<'py>, i: i64) -> PyResult<Bound<'py, PyAny>> {
        let i = self.index(i)?;
        with_dist!(self.dist()?, d, _T => {
            let x = d.get(i).py()?;
            x.into_bound_py_any(py)
        })
    }

    /// One-sided write of flat global index `i`; visible to other ranks after `fence()`.
    fn put(&self, i: i64, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let i = self.index(i)?;
        with_dist!(self.dist()?, d, T => d.put(i, scalar_as::<T>(value)?).py())
    }

    /// Collective: completes every rank's one-sided `put`s and makes them visible.
    fn fence(&self, py: Python<'_>) -> PyResult<()> {
        let comm = self.comm()?;
        with_dist!(self.dist()?, d, _T => blocking(py, &comm, || d.fence())).py()
    }

    /// Collective (vector only): resize keeping values by global index; refused while views
    /// are alive.
    fn _resize(&mut self, py: Python<'_>, n: i64) -> PyResult<()> {
        if self.kind != KIND_VECTOR {
            return Err(invalid("only DistributedVector can be resized"));
        }
        let n = DtlError::check_size(n, "vector size").py()?;
        let views = self.live_views();
        if views > 0 {
            return Err(invalid(format!(
                "resize would move memory under {views} live local_view() array(s); delete them first"
            )));
        }
        let comm = self.comm()?;
        let d = self
            .inner
            .take()
            .ok_or_else(|| invalid("container has been released"))?;
        let (d, r) = with_dist!(d, d, T => {
            let mut v = match Vector::<T>::from_distributed(d) {
                Ok(v) => v,
                Err(e) => return Err(crate::errors::to_py(e)),
            };
            let r = blocking(py, &comm, || v.resize(n));
            (T::wrap(v.into_distributed()), r)
        });
        self.inner = Some(d);
        r.py()
    }

    /// Collective (at interpreter exit under MPI): frees the container's memory and window now,
    /// unless views of it are alive (then it is left as is). Returns whether it was freed.
    fn _release(&mut self, py: Python<'_>) -> PyResult<bool> {
        if self.live_views() > 0 || self.inner.is_none() {
            return Ok(false);
        }
        let comm = self.comm()?;
        if let Some(d) = self.inner.take() {
            blocking(py, &comm, move || drop(d));
            crate::context::mpi_window_closed(std::mem::take(&mut self.mpi_counted));
        }
        Ok(true)
    }

    /// Collective: the whole container (global shape) at `root`, None elsewhere.
    #[pyo3(signature = (root=0))]
    fn gather_to_numpy<'py>(
        &self,
        py: Python<'py>,
        root: i64,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let comm = self.comm()?;
        let root = DtlError::check_rank(root, comm.size(), "root").py()?;
        let shape = self.dist()?.common().2.to_vec();
        with_dist!(self.dist()?, d, _T => {
            let v = blocking(py, &comm, || algo::gather_to_root(d, root)).py()?;
            if comm.rank() == root {
                Ok(Some(array_from_vec(py, v, &shape)?))
            } else {
                Ok(None)
            }
        })
    }

    /// Collective: fills this container from `arr` on `root` (shape and dtype already agreed
    /// by `_root_meta`).
    fn _load_from_root(
        &mut self,
        py: Python<'_>,
        arr: &Bound<'_, PyAny>,
        root: usize,
    ) -> PyResult<()> {
        let comm = self.comm()?;
        let me = comm.rank();
        let shape = self.dist()?.common().2.to_vec();
        with_dist!(self.dist_mut()?, d, T => {
            let src: Vec<T> = if me == root {
                let a = contiguous(arr)?;
                array_vec::<T>(&a)?
            } else {
                Vec::new()
            };
            blocking(py, &comm, || -> Result<(), DtlError> {
                let site = Site::NONE;
                let p = comm.size();
                let scatter_into = |dst: &mut Distributed<T>| -> Result<(), DtlError> {
                    let row = dst.row_len();
                    let counts: Vec<usize> = (0..p).map(|r| dst.layout().local_len(r) * row).collect();
                    comm.scatterv(as_bytes(&src), &counts, as_bytes_mut(dst.local_mut()), T::DTYPE, root, site)?;
                    dst.fence()
                };
                if d.partition() == Partition::Block {
                    scatter_into(d)
                } else {
                    let mut blk = Distributed::<T>::new(&comm, &shape, Options::new())?;
                    scatter_into(&mut blk)?;
                    algo::copy_into(&blk, d)
                }
            }).py()
        })
    }

    fn __repr__(&self) -> PyResult<String> {
        let (comm, part, shape, local, _) = self.dist()?.common();
        Ok(format!(
            "<dtl container dtype={} shape={:?} partition={} rank={}/{} local_size={}>",
            convert::numpy_name(self.dist()?.dtype()),
            shape,
            part,
            comm.rank(),
            comm.size(),
            local
        ))
    }
}

/// Collective: root's array's dtype name and shape, on every rank (InvalidArgumentError on
/// every rank when root's array is unusable).
#[pyfunction]
pub fn _root_meta(
    py: Python<'_>,
    ctx: &Bound<'_, Context>,
    arr: &Bound<'_, PyAny>,
    root: i64,
) -> PyResult<(String, Vec<usize>)> {
    let comm = ctx.get().comm()?.clone();
    let root = DtlError::check_rank(root, comm.size(), "root").py()?;
    const MAXD: usize = 8;
    let mut hdr = [0u64; 2 + MAXD];
    let mut why = String::new();
    if comm.rank() == root {
        match contiguous(arr).and_then(|a| {
            let dt = convert::array_dtype(&a)?;
            Ok((dt, numpy::PyUntypedArrayMethods::shape(&a).to_vec()))
        }) {
            Ok((dt, shape)) if dt != DType::Bool && !shape.is_empty() && shape.len() <= MAXD => {
                hdr[0] = 1 + DType::ALL.iter().position(|&t| t == dt).unwrap_or(0) as u64;
                hdr[1] = shape.len() as u64;
                for (k, &s) in shape.iter().enumerate() {
                    hdr[2 + k] = s as u64;
                }
            }
            Ok((dt, shape)) => {
                why = format!(
                    "from_numpy needs an array of 1 to {MAXD} dimensions and a container dtype, not {} of shape {shape:?}",
                    convert::numpy_name(dt)
                );
            }
            Err(e) => why = e.to_string(),
        }
    }
    blocking(py, &comm, || {
        comm.broadcast(as_bytes_mut(&mut hdr), DType::U64, root, Site::NONE)
    })
    .py()?;
    if hdr[0] == 0 {
        if why.is_empty() {
            why = format!("rank {root}'s array cannot become a container");
        }
        return Err(invalid(why));
    }
    let dt = DType::ALL
        .get(hdr[0] as usize - 1)
        .copied()
        .ok_or_else(|| invalid("bad dtype"))?;
    let nd = (hdr[1] as usize).min(MAXD);
    let shape = hdr[2..2 + nd].iter().map(|&s| s as usize).collect();
    let _ = with_dtype!(dt, T => std::mem::size_of::<T>());
    Ok((convert::numpy_name(dt).to_string(), shape))
}
