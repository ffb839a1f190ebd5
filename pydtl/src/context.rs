//! `Context`, `Environment`, backend detection and `spmd` (Python functions on thread ranks).

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use dtl_runtime::comm::{CommRef, local};
use dtl_runtime::error::{DtlError, Site};
use dtl_runtime::launch;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::errors::{IntoPyResult, backend, interrupted, invalid};
use dtl_runtime::stop;

/// Whether the objects made on a communicator may still use it: false once the `spmd` rank
/// that owned it has returned (its peers are gone, so collectives could only fail).
pub type Alive = Arc<AtomicBool>;

thread_local! {
    /// The world of the `spmd` rank running on this thread, if any: `Context()` picks it up.
    static CURRENT: RefCell<Option<(CommRef, Alive)>> = const { RefCell::new(None) };
}

/// The execution context: a communicator and its rank. `Context()` is the world: the `spmd`
/// rank's world inside `dtl.spmd`, the MPI world under an MPI build, else one rank.
#[pyclass(frozen, module = "dtl._native")]
pub struct Context {
    comm: CommRef,
    alive: Alive,
    device_id: i64,
}

impl Context {
    pub fn new_on(comm: CommRef, alive: Alive) -> Self {
        Context {
            comm,
            alive,
            device_id: -1,
        }
    }

    /// The communicator, or an error once its `spmd` rank has ended.
    pub fn comm(&self) -> PyResult<&CommRef> {
        if !self.alive.load(Ordering::Relaxed) {
            return Err(invalid(
                "this context belongs to a dtl.spmd rank that has returned; it can no longer communicate",
            ));
        }
        Ok(&self.comm)
    }

    pub fn alive(&self) -> &Alive {
        &self.alive
    }

    /// The world: the `spmd` rank's on an `spmd` thread, else MPI's under an MPI launcher (MPI
    /// build only), else one rank.
    pub(crate) fn world() -> PyResult<(CommRef, Alive)> {
        if let Some(w) = CURRENT.with(|c| c.borrow().clone()) {
            return Ok(w);
        }
        #[cfg(feature = "mpi")]
        if dtl_runtime::comm::mpi::launched_under_mpi() {
            return mpi_world();
        }
        Ok((local::comm(), Arc::new(AtomicBool::new(true))))
    }
}

/// Shared by every MPI context: cleared at interpreter exit before MPI is finalized, so that
/// objects collected afterwards leak their MPI resources instead of calling into a finalized MPI.
#[cfg(feature = "mpi")]
static MPI_ALIVE: std::sync::LazyLock<Alive> =
    std::sync::LazyLock::new(|| Arc::new(AtomicBool::new(true)));

/// The MPI world, created once per process (creating it is collective, so every `Context()`
/// after the first reuses it).
#[cfg(feature = "mpi")]
fn mpi_world() -> PyResult<(CommRef, Alive)> {
    static WORLD: std::sync::OnceLock<Result<CommRef, DtlError>> = std::sync::OnceLock::new();
    let w = WORLD.get_or_init(dtl_runtime::comm::mpi::world);
    match w {
        Ok(c) => Ok((c.clone(), MPI_ALIVE.clone())),
        Err(e) => Err(crate::errors::to_py(e.clone())),
    }
}

/// A communicator over an mpi4py communicator (duplicated; the caller keeps its own).
#[cfg(feature = "mpi")]
fn from_mpi4py(c: &Bound<'_, PyAny>) -> PyResult<(CommRef, Alive)> {
    let f: i32 = c
        .call_method0("py2f")
        .and_then(|h| h.extract())
        .map_err(|_| invalid("comm= must be an mpi4py communicator"))?;
    let comm = dtl_runtime::comm::mpi::from_raw_comm(f).py()?;
    Ok((comm, MPI_ALIVE.clone()))
}

/// Containers and windows alive on MPI communicators (each holds an MPI window).
static MPI_WINDOWS: AtomicUsize = AtomicUsize::new(0);

/// Counts one more object holding a window on `comm` when `comm` is MPI's; returns whether it
/// was counted (pass that to [`mpi_window_closed`]).
pub fn mpi_window_opened(comm: &CommRef) -> bool {
    let mpi = comm.backend() == "mpi";
    if mpi {
        MPI_WINDOWS.fetch_add(1, Ordering::SeqCst);
    }
    mpi
}

pub fn mpi_window_closed(counted: bool) {
    if counted {
        MPI_WINDOWS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Called at interpreter exit (registered by `dtl/__init__.py`): MPI objects still alive are
/// left alone from now on, and MPI is finalized if dtl initialised it and no window is open
/// (finalizing under open windows aborts in some MPI transports; exiting without finalizing
/// is clean).
#[pyfunction]
pub fn _shutdown() {
    #[cfg(feature = "mpi")]
    {
        MPI_ALIVE.store(false, Ordering::SeqCst);
        if MPI_WINDOWS.load(Ordering::SeqCst) == 0 {
            dtl_runtime::comm::mpi::finalize();
        }
    }
}

/// Runs `f` with the GIL released when other ranks may need to progress (more than one rank),
/// holding it otherwise (a one-rank call never waits, and keeping the GIL saves ~100 ns).
pub fn blocking<R: Send>(py: Python<'_>, comm: &CommRef, f: impl FnOnce() -> R + Send) -> R {
    if comm.size() == 1 { f() } else { py.detach(f) }
}

#[pymethods]
impl Context {
    #[new]
    #[pyo3(signature = (comm=None, device_id=None))]
    fn py_new(comm: Option<&Bound<'_, PyAny>>, device_id: Option<i64>) -> PyResult<Self> {
        if let Some(d) = device_id
            && d >= 0
        {
            return Err(crate::errors::to_py(DtlError::NoDevice {
                placement: format!("device {d}"),
            }));
        }
        if let Some(c) = comm
            && !c.is_none()
        {
            #[cfg(feature = "mpi")]
            {
                let (comm, alive) = from_mpi4py(c)?;
                return Ok(Context::new_on(comm, alive));
            }
            // An mpi4py communicator without the MPI backend: only a one-process communicator
            // (COMM_SELF, or COMM_WORLD of a singleton run) maps onto it.
            #[cfg(not(feature = "mpi"))]
            {
                let size: i64 = c
                    .call_method0("Get_size")
                    .and_then(|s| s.extract())
                    .map_err(|_| invalid("comm= must be an mpi4py communicator"))?;
                if size != 1 {
                    return Err(backend(format!(
                        "this build of dtl has no MPI backend; cannot span an MPI communicator of {size} processes (rebuild with the `mpi` feature)"
                    )));
                }
                return Ok(Context::new_on(
                    local::comm(),
                    Arc::new(AtomicBool::new(true)),
                ));
            }
        }
        let (comm, alive) = Context::world()?;
        Ok(Context::new_on(comm, alive))
    }

    #[getter]
    fn rank(&self) -> usize {
        self.comm.rank()
    }
    #[getter]
    fn size(&self) -> usize {
        self.comm.size()
    }
    #[getter]
    fn is_root(&self) -> bool {
        self.comm.rank() == 0
    }
    #[getter]
    fn device_id(&self) -> i64 {
        self.device_id
    }
    #[getter]
    fn has_device(&self) -> bool {
        false
    }
    #[getter]
    fn has_mpi(&self) -> bool {
        self.comm.backend() == "mpi"
    }
    #[getter]
    fn has_cuda(&self) -> bool {
        false
    }
    #[getter]
    fn has_nccl(&self) -> bool {
        false
    }
    #[getter]
    fn nccl_mode(&self) -> i64 {
        -1
    }
    /// The communication backend: `"local"`, `"threads"` or `"mpi"`.
    #[getter]
    fn backend(&self) -> &'static str {
        self.comm.backend()
    }

    /// Collective: returns when every rank has entered.
    fn barrier(&self, py: Python<'_>) -> PyResult<()> {
        let comm = self.comm()?;
        blocking(py, comm, || comm.barrier(Site::NONE)).py()
    }

    /// Local memory fence (orders this rank's memory accesses).
    fn fence(&self) {
        std::sync::atomic::fence(Ordering::SeqCst);
    }

    /// Collective: a context with the same ranks and separate message space.
    fn dup(&self, py: Python<'_>) -> PyResult<Context> {
        let comm = self.comm()?;
        let c = blocking(py, comm, || comm.dup(Site::NONE)).py()?;
        Ok(Context::new_on(c, self.alive.clone()))
    }

    /// Collective: the ranks with the same `color`, ordered by (`key`, rank).
    #[pyo3(signature = (color, key=0))]
    fn split(&self, py: Python<'_>, color: i32, key: i32) -> PyResult<Context> {
        let comm = self.comm()?;
        let c = blocking(py, comm, || comm.split(color, key, Site::NONE)).py()?;
        Ok(Context::new_on(c, self.alive.clone()))
    }

    fn with_cuda(&self, device_id: i64) -> PyResult<Context> {
        Err(crate::errors::to_py(DtlError::NoDevice {
            placement: format!("CUDA device {device_id}"),
        }))
    }

    #[pyo3(signature = (device_id, mode=1))]
    fn with_nccl(&self, device_id: i64, mode: i64) -> PyResult<Context> {
        let _ = (device_id, mode);
        Err(backend("this build of dtl has no NCCL backend"))
    }

    #[pyo3(signature = (color, key=0, device_id=None, mode=1))]
    fn split_nccl(
        &self,
        color: i64,
        key: i64,
        device_id: Option<i64>,
        mode: i64,
    ) -> PyResult<Context> {
        let _ = (color, key, device_id, mode);
        Err(backend("this build of dtl has no NCCL backend"))
    }

    fn nccl_supports_native(&self, op: i64) -> bool {
        let _ = op;
        false
    }

    fn nccl_supports_hybrid(&self, op: i64) -> bool {
        let _ = op;
        false
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) -> bool {
        false
    }

    fn __repr__(&self) -> String {
        format!(
            "Context(rank={}, size={}, backend={:?})",
            self.comm.rank(),
            self.comm.size(),
            self.comm.backend()
        )
    }
}

static ENV_REFS: AtomicUsize = AtomicUsize::new(0);

/// Backend lifecycle handle (reference counted); makes contexts.
#[pyclass(module = "dtl._native")]
pub struct Environment {
    live: bool,
}

#[pymethods]
impl Environment {
    #[new]
    fn py_new() -> Self {
        ENV_REFS.fetch_add(1, Ordering::SeqCst);
        Environment { live: true }
    }

    #[getter]
    fn has_mpi(&self) -> bool {
        has_mpi()
    }
    #[getter]
    fn has_cuda(&self) -> bool {
        false
    }
    #[getter]
    fn has_hip(&self) -> bool {
        false
    }
    #[getter]
    fn has_nccl(&self) -> bool {
        false
    }
    #[getter]
    fn has_shmem(&self) -> bool {
        false
    }

    /// The world context (`device_id` needs CUDA, which this build lacks).
    #[pyo3(signature = (device_id=None))]
    fn make_world_context(&self, device_id: Option<i64>) -> PyResult<Context> {
        Context::py_new(None, device_id)
    }

    /// A one-rank CPU context, whatever the world is.
    fn make_cpu_context(&self) -> Context {
        Context::new_on(local::comm(), Arc::new(AtomicBool::new(true)))
    }

    #[staticmethod]
    fn is_initialized() -> bool {
        ENV_REFS.load(Ordering::SeqCst) > 0
    }

    #[staticmethod]
    fn ref_count() -> usize {
        ENV_REFS.load(Ordering::SeqCst)
    }

    /// Releases this handle (idempotent; also on `with` exit and on garbage collection).
    fn close(&mut self) {
        if self.live {
            self.live = false;
            ENV_REFS.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&mut self, _args: &Bound<'_, PyTuple>) -> bool {
        self.close();
        false
    }
}

impl Drop for Environment {
    fn drop(&mut self) {
        self.close();
    }
}

/// Whether this build has an MPI backend.
#[pyfunction]
pub fn has_mpi() -> bool {
    cfg!(feature = "mpi")
}

/// The backend `Context()` uses outside `dtl.spmd` (without creating it).
#[pyfunction]
pub fn _world_backend() -> &'static str {
    #[cfg(feature = "mpi")]
    if dtl_runtime::comm::mpi::launched_under_mpi() {
        return "mpi";
    }
    "local"
}

/// The communication backends of this build.
#[pyfunction]
pub fn backends_available() -> Vec<&'static str> {
    let mut v = vec!["local", "threads"];
    if has_mpi() {
        v.push("mpi");
    }
    v
}

/// The Python threads running an `spmd` call's ranks (Python thread idents, by rank, while
/// their function runs). On SIGINT each gets an asynchronous KeyboardInterrupt, so a rank in
/// Python code that never calls into dtl stops too; ranks waiting in dtl are released by the
/// world's own interruption.
struct RankThreads {
    ids: Mutex<Vec<Option<std::ffi::c_ulong>>>,
}

impl RankThreads {
    fn enter(&self, rank: usize) {
        // SAFETY: called with the GIL held (inside `Python::attach`); returns this thread's id.
        let id = unsafe { pyo3::ffi::PyThread_get_thread_ident() };
        if let Ok(mut v) = self.ids.lock()
            && let Some(slot) = v.get_mut(rank)
        {
            *slot = Some(id);
        }
    }

    fn leave(&self, rank: usize) {
        if let Ok(mut v) = self.ids.lock()
            && let Some(slot) = v.get_mut(rank)
        {
            *slot = None;
        }
    }
}

impl stop::Interruptible for RankThreads {
    fn interrupt(&self) {
        let ids: Vec<std::ffi::c_ulong> = match self.ids.lock() {
            Ok(v) => v.iter().flatten().copied().collect(),
            Err(_) => return,
        };
        if ids.is_empty() {
            return;
        }
        Python::attach(|_py| {
            for id in ids {
                // SAFETY: the GIL is held; `id` is a thread ident taken from a running rank
                // (an ident no longer in use makes this a no-op returning 0), and the exception
                // is the KeyboardInterrupt class, which the call takes a new reference to.
                unsafe {
                    pyo3::ffi::PyThreadState_SetAsyncExc(
                        id as std::ffi::c_long,
                        pyo3::ffi::PyExc_KeyboardInterrupt,
                    );
                }
            }
        });
    }
}

/// Runs `fn(ctx, *args, **kwargs)` on `nranks` thread ranks, each with its own world `Context`,
/// and returns every rank's result in rank order. The GIL is released while ranks wait in the
/// runtime, so ranks progress together. When a rank raises, the others are released from
/// their waits and the first rank's exception (not the echoes it caused) is re-raised here.
#[pyfunction]
#[pyo3(signature = (nranks, func, args, kwargs=None))]
pub fn run_spmd(
    py: Python<'_>,
    nranks: i64,
    func: Py<PyAny>,
    args: Py<PyTuple>,
    kwargs: Option<Py<PyAny>>,
) -> PyResult<Vec<Py<PyAny>>> {
    if nranks <= 0 {
        return Err(invalid(format!(
            "spmd needs at least one rank, not {nranks}"
        )));
    }
    let n = DtlError::check_size(nranks, "rank count").py()?;
    if n > 1024 {
        return Err(invalid(format!(
            "spmd runs at most 1024 thread ranks, not {n}"
        )));
    }
    let errors: Mutex<Vec<Option<(PyErr, bool)>>> = Mutex::new((0..n).map(|_| None).collect());
    let cfg = launch::Config::new(n).stack_size(16 << 20);
    let threads = Arc::new(RankThreads {
        ids: Mutex::new(vec![None; n]),
    });
    let weak: std::sync::Weak<dyn stop::Interruptible> =
        Arc::downgrade(&threads) as std::sync::Weak<dyn stop::Interruptible>;
    stop::register(weak);
    let sigints = stop::sigint_count();
    let out = py.detach(|| {
        launch::run_with(cfg, |comm| {
            let alive: Alive = Arc::new(AtomicBool::new(true));
            CURRENT.with(|c| *c.borrow_mut() = Some((comm.clone(), alive.clone())));
            let res = Python::attach(|py| -> PyResult<Py<PyAny>> {
                threads.enter(comm.rank());
                let ctx = Py::new(py, Context::new_on(comm.clone(), alive.clone()))?;
                let mut all: Vec<Py<PyAny>> = vec![ctx.into_any()];
                all.extend(args.bind(py).iter().map(|a| a.unbind()));
                let a = PyTuple::new(py, all)?;
                let kw = kwargs.as_ref().map(|k| k.bind(py).clone());
                let kw = match kw {
                    Some(k) => Some(k.cast_into::<pyo3::types::PyDict>()?),
                    None => None,
                };
                let r = func.bind(py).call(a, kw.as_ref())?;
                Ok(r.unbind())
            });
            threads.leave(comm.rank());
            CURRENT.with(|c| *c.borrow_mut() = None);
            alive.store(false, Ordering::SeqCst);
            match res {
                Ok(v) => Ok(v),
                Err(e) => {
                    let (msg, echo) = Python::attach(|py| {
                        let code: Option<String> = e
                            .value(py)
                            .getattr("code")
                            .ok()
                            .and_then(|c| c.extract().ok());
                        (e.to_string(), code.as_deref() == Some("R0011"))
                    });
                    let r = comm.rank();
                    if let Ok(mut g) = errors.lock() {
                        g[r] = Some((e, echo));
                    }
                    Err(DtlError::Backend {
                        detail: format!("rank {r} raised {msg}"),
                    })
                }
            }
        })
    });
    match out {
        Ok(v) => Ok(v),
        Err(e) if stop::sigint_count() != sigints => {
            // Ctrl-C: the ranks were stopped (KeyboardInterrupt in each, R0011/R0016 in their
            // waits and kernels); the main thread raises what Python's handler raises.
            drop(errors);
            Err(interrupted(py, format!("{}: {e}", e.code())))
        }
        Err(e) => {
            let mut slots = match errors.into_inner() {
                Ok(s) => s,
                Err(p) => p.into_inner(),
            };
            // The root cause: the first rank whose exception is not an echo of another's.
            if let Some(i) = slots.iter().position(|s| matches!(s, Some((_, false))))
                && let Some((err, _)) = slots[i].take()
            {
                return Err(err);
            }
            if let Some((err, _)) = slots.iter_mut().find_map(Option::take) {
                return Err(err);
            }
            Err(crate::errors::to_py(e))
        }
    }
}
