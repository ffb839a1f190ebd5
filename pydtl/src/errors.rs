//! The one place where runtime errors become Python exceptions; the exception classes are
//! declared here once.
//!
//! `DTLError` is the root. Subclasses that also mean a built-in error inherit from it too
//! (`BoundsError` is an `IndexError`, `InvalidArgumentError` a `ValueError`, `MemoryError` the
//! built-in `MemoryError`), so `except IndexError` keeps working. Every raised exception carries
//! the runtime's stable code in `e.code` (`"R0001"`, …; `None` for errors raised by the binding
//! itself).

use dtl_runtime::error::{Code, DtlError};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

/// The exception classes of the package, created once per interpreter.
pub struct Classes {
    pub dtl: Py<PyType>,
    pub communication: Py<PyType>,
    pub memory: Py<PyType>,
    pub bounds: Py<PyType>,
    pub invalid: Py<PyType>,
    pub backend: Py<PyType>,
    pub unsupported: Py<PyType>,
    pub compile: Py<PyType>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

fn make(
    py: Python<'_>,
    name: &str,
    doc: &str,
    bases: &[&Bound<'_, PyAny>],
) -> PyResult<Py<PyType>> {
    let ns = PyDict::new(py);
    ns.set_item("__module__", "dtl")?;
    ns.set_item("__doc__", doc)?;
    ns.set_item("code", py.None())?;
    let bases = PyTuple::new(py, bases)?;
    let ty = py
        .import("builtins")?
        .getattr("type")?
        .call1((name, bases, ns))?;
    Ok(ty.cast_into::<PyType>()?.unbind())
}

/// The exception classes (created on first use).
pub fn classes(py: Python<'_>) -> PyResult<&'static Classes> {
    CLASSES.get_or_try_init(py, || {
        let b = py.import("builtins")?;
        let exc = py.get_type::<PyException>().into_any();
        let dtl = make(py, "DTLError", "Base class of every dtl error.", &[&exc])?;
        let d = dtl.bind(py).clone().into_any();
        let sub = |name: &str, doc: &str, builtin: Option<&str>| -> PyResult<Py<PyType>> {
            match builtin {
                Some(bname) => {
                    let bt = b.getattr(bname)?;
                    make(py, name, doc, &[&d, &bt])
                }
                None => make(py, name, doc, &[&d]),
            }
        };
        let backend = sub("BackendError", "A backend (MPI, CUDA, NCCL) failed or is absent.", None)?;
        let unsupported = {
            let bk = backend.bind(py).clone().into_any();
            let ni = b.getattr("NotImplementedError")?;
            make(
                py,
                "NotSupportedError",
                "A feature this build does not support yet (R0013).",
                &[&bk, &ni],
            )?
        };
        Ok(Classes {
            communication: sub(
                "CommunicationError",
                "Communication failed: mismatched collectives, a failed peer rank, a watchdog timeout.",
                None,
            )?,
            memory: sub("MemoryError", "Memory allocation failed.", Some("MemoryError"))?,
            bounds: sub("BoundsError", "Index out of bounds (R0001).", Some("IndexError"))?,
            invalid: sub(
                "InvalidArgumentError",
                "Invalid argument: bad size, dtype, root, rank or buffer length.",
                Some("ValueError"),
            )?,
            backend,
            unsupported,
            compile: sub("CompileError", "A dtl kernel did not compile.", None)?,
            dtl,
        })
    })
}

fn raise(py: Python<'_>, ty: &Py<PyType>, msg: String, code: Option<Code>) -> PyErr {
    let made = ty.bind(py).call1((msg.clone(),)).and_then(|e| {
        if let Some(c) = code {
            e.setattr("code", c.to_string())?;
        }
        Ok(e)
    });
    match made {
        Ok(e) => PyErr::from_value(e),
        Err(e) => e,
    }
}

/// The Python exception for a runtime error.
pub fn to_py(e: DtlError) -> PyErr {
    Python::attach(|py| {
        let cls = match classes(py) {
            Ok(c) => c,
            Err(err) => return err,
        };
        let ty = match &e {
            DtlError::OutOfBounds { .. } => &cls.bounds,
            DtlError::OutOfMemory { .. } | DtlError::NotEnoughMemory { .. } => &cls.memory,
            DtlError::BadSize { .. }
            | DtlError::NoSuchRank { .. }
            | DtlError::Misaligned { .. }
            | DtlError::InvalidArgument { .. } => &cls.invalid,
            DtlError::CollectiveMismatch { .. }
            | DtlError::MessageMismatch { .. }
            | DtlError::Timeout { .. }
            | DtlError::PeerFailed { .. } => &cls.communication,
            DtlError::NoDevice { .. } | DtlError::Backend { .. } => &cls.backend,
            DtlError::Unsupported { .. } => &cls.unsupported,
            DtlError::DivisionByZero
            | DtlError::AssertionFailed { .. }
            | DtlError::Io { .. }
            | DtlError::StackOverflow { .. }
            | DtlError::CollectiveRecursion { .. } => &cls.dtl,
            DtlError::Interrupted => return interrupted(py, format!("{}: {e}", e.code())),
        };
        raise(py, ty, format!("{}: {e}", e.code()), Some(e.code()))
    })
}

/// The Python exception for a runtime error code with a ready message (kernel errors).
pub fn from_code(code: Code, msg: String) -> PyErr {
    Python::attach(|py| {
        let cls = match classes(py) {
            Ok(c) => c,
            Err(err) => return err,
        };
        let ty = match code {
            Code::R0001 => &cls.bounds,
            Code::R0006 if msg.contains("memory") => &cls.memory,
            Code::R0004 | Code::R0006 | Code::R0008 | Code::R0009 => &cls.invalid,
            Code::R0003 | Code::R0010 | Code::R0011 => &cls.communication,
            Code::R0007 | Code::R0014 => &cls.backend,
            Code::R0013 => &cls.unsupported,
            Code::R0002 | Code::R0005 | Code::R0012 | Code::R0015 => &cls.dtl,
            Code::R0016 => return interrupted(py, msg),
        };
        raise(py, ty, msg, Some(code))
    })
}

/// `KeyboardInterrupt` for a dtl call that SIGINT stopped. On the main thread Python's own
/// handler runs first (it has been called by the signal and waits for the interpreter), so the
/// exception is the one it raises (KeyboardInterrupt, or whatever a custom handler raises) and
/// it does not fire a second time later; a handler that raises nothing, or another thread,
/// gets a plain `KeyboardInterrupt(msg)`.
pub fn interrupted(py: Python<'_>, msg: String) -> PyErr {
    match py.check_signals() {
        Err(e) => e,
        Ok(()) => pyo3::exceptions::PyKeyboardInterrupt::new_err(msg),
    }
}

/// `InvalidArgumentError` for a mistake the binding itself detects.
pub fn invalid(msg: impl Into<String>) -> PyErr {
    to_py(DtlError::invalid(msg))
}

/// `BackendError` for a backend this build or machine lacks.
pub fn backend(msg: impl Into<String>) -> PyErr {
    to_py(DtlError::Backend { detail: msg.into() })
}

/// `.py()?` turns a runtime result into a Python one.
pub trait IntoPyResult<T> {
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for Result<T, DtlError> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}

/// Adds the exception classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let c = classes(m.py())?;
    for (name, ty) in [
        ("DTLError", &c.dtl),
        ("CommunicationError", &c.communication),
        ("MemoryError", &c.memory),
        ("BoundsError", &c.bounds),
        ("InvalidArgumentError", &c.invalid),
        ("BackendError", &c.backend),
        ("NotSupportedError", &c.unsupported),
        ("CompileError", &c.compile),
    ] {
        m.add(name, ty.clone_ref(m.py()))?;
    }
    Ok(())
}
