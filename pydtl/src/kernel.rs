//! Kernels from strings: `dtl.compile(src)` checks and JIT-compiles dtl source (the compiler
//! crate), and calls its functions on this rank with the caller's containers bound zero-copy.
//!
//! Binding (see `runtime::abi::wrap_borrowed`): a `DistributedVector/Array/Tensor` argument is
//! mutably borrowed (pyo3 borrow flag) for the call and its runtime container is handed to the
//! kernel by pointer; a NumPy array bound to a `local<T>` parameter is borrowed read-write
//! (numpy's borrow checker) and handed over as pointer + length. The kernel runs with the GIL
//! released on the containers' communicator. A kernel returning a `local<T>` array gives a new
//! NumPy array; one returning a distributed container raises `NotSupportedError` (not supported
//! yet: pass the result container as a parameter instead).

use std::sync::Arc;

use dtl_compiler::codegen::CodegenOptions;
use dtl_compiler::diagnostics::{Severity, Style, render};
use dtl_compiler::driver;
use dtl_compiler::hir::{Scalar, Ty};
use dtl_compiler::jit::{self, CallValue, FnInfo, RunOptions};
use dtl_runtime::abi::{self, AbiElem, Obj, ProgramInfo, Sink};
use dtl_runtime::comm::CommRef;
use dtl_runtime::elem::DType;
use dtl_runtime::error::Code;
use dtl_runtime::stop;
use numpy::{PyArray1, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyTuple};

use crate::container::{AnyDist, Container};
use crate::context::Context;
use crate::convert::array_from_vec;
use crate::errors::{from_code, interrupted, invalid};

/// The file name kernel sources get in diagnostics and runtime error locations.
const KERNEL_FILE: &str = "<kernel>";

/// A compiled kernel module (`dtl.compile` wraps it).
#[pyclass(frozen, module = "dtl._native", name = "_Program")]
pub struct Program {
    prog: Arc<jit::Program>,
    info: Arc<ProgramInfo>,
}

/// A sink that writes the program's lines to Python's `sys.stdout` (from any thread).
fn py_sink() -> Sink {
    Arc::new(|line: &str| {
        Python::attach(|py| {
            let r = py
                .import("sys")
                .and_then(|s| s.getattr("stdout"))
                .and_then(|o| o.call_method1("write", (line,)));
            if let Err(e) = r {
                e.print(py);
            }
        })
    })
}

fn scalar_dtype(s: Scalar) -> DType {
    match s {
        Scalar::I8 => DType::I8,
        Scalar::I32 => DType::I32,
        Scalar::I64 => DType::I64,
        Scalar::U8 => DType::U8,
        Scalar::U32 => DType::U32,
        Scalar::U64 => DType::U64,
        Scalar::F32 => DType::F32,
        Scalar::F64 => DType::F64,
        Scalar::Bool => DType::Bool,
    }
}

/// `(program or None, rendered diagnostics, [(code, message, line, column)])`.
type CompileOutcome = (
    Option<Py<Program>>,
    String,
    Vec<(String, String, usize, usize)>,
);

/// Checks and compiles `src` (the GIL is released meanwhile).
#[pyfunction]
pub fn _compile(py: Python<'_>, src: &str) -> PyResult<CompileOutcome> {
    let src = src.to_string();
    let r = py.detach(move || {
        let (sources, checked) = driver::check_kernel_source(KERNEL_FILE, &src);
        let diags_of = |ds: &[dtl_compiler::diagnostics::Diagnostic]| {
            let rendered = render(ds, &sources, Style::Plain);
            let list: Vec<(String, String, usize, usize)> = ds
                .iter()
                .map(|d| {
                    let (l, c) = sources
                        .get(d.primary.span.file)
                        .line_col(d.primary.span.range.start);
                    (d.code.as_str().to_string(), d.message.clone(), l, c)
                })
                .collect();
            (rendered, list)
        };
        if checked.has_errors() {
            let errs: Vec<_> = checked
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .cloned()
                .collect();
            return Err(diags_of(&errs));
        }
        let Some(hir) = checked.hir.as_ref() else {
            return Err((
                "error: the kernel source did not produce a module".to_string(),
                Vec::new(),
            ));
        };
        driver::compile(
            hir,
            &sources,
            CodegenOptions {
                unchecked: false,
                entries: true,
            },
            false,
        )
        .map_err(|e| match e {
            // An internal compiler error still raises CompileError (`str(e)` the report, no
            // diagnostics): a bug in dtl, not in the kernel.
            driver::CompileError::Internal(_) => (e.render(&sources, Style::Plain), Vec::new()),
            driver::CompileError::Diagnostics(ds) => diags_of(&ds),
        })
    });
    match r {
        Ok(prog) => {
            let opts = RunOptions {
                nranks: 1,
                overrides: Vec::new(),
                sink: Some(py_sink()),
            };
            let info = prog
                .run_info(&opts)
                .map_err(|e| from_code(e.code, e.message))?;
            let p = Program {
                prog: Arc::new(prog),
                info,
            };
            Ok((Some(Py::new(py, p)?), String::new(), Vec::new()))
        }
        Err((rendered, list)) => Ok((None, rendered, list)),
    }
}

/// `(param, kind, dtype, ndim)`.
type ParamDesc = (String, String, String, u8);
/// `(name, signature, params, collective)`.
type FnDesc = (String, String, Vec<ParamDesc>, bool);

/// Raw call arguments, moved to the thread-detached call.
struct Raw {
    args: Vec<i64>,
    handles: Vec<*mut Obj>,
}

// SAFETY: the handles point at containers and arrays whose Python owners stay mutably borrowed
// (pyo3 / numpy borrow flags) by the calling frame for the whole call, so nothing else touches
// them while the kernel runs on the calling thread; the pointers only travel into the closure
// that `detach` runs on that same thread.
unsafe impl Send for Raw {}

impl Drop for Raw {
    fn drop(&mut self) {
        // Handles not consumed by a call (a binding error): free the handles only; the
        // borrowed containers stay with their owners.
        if self.handles.is_empty() {
            return;
        }
        let comm = dtl_runtime::comm::local::comm();
        let info = Arc::new(ProgramInfo::new(Vec::new(), 0));
        let mut cx = abi::RankCtx::new(&comm, info);
        cx.set_abort_on_fail(false);
        let p: *mut abi::RankCtx = &mut *cx;
        for h in self.handles.drain(..) {
            abi::dtl_release(p, h, -1);
        }
        let _ = cx.finish();
    }
}

/// Something the calling frame holds for the duration of a call (a borrow guard).
trait Held {}
impl<T> Held for T {}

fn type_name(a: &Bound<'_, PyAny>) -> String {
    a.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

fn scalar_bits(f: &FnInfo, pname: &str, s: Scalar, a: &Bound<'_, PyAny>) -> PyResult<i64> {
    let bad = || {
        invalid(format!(
            "{}(): parameter `{pname}` is `{}`, got {} ({})",
            f.name,
            s.name(),
            type_name(a),
            a.repr().map(|r| r.to_string()).unwrap_or_default()
        ))
    };
    if s == Scalar::F64 || s == Scalar::F32 {
        let x = match a.cast::<PyFloat>() {
            Ok(x) => x.value(),
            Err(_) if a.is_instance_of::<PyBool>() => return Err(bad()),
            Err(_) => a.extract::<f64>().map_err(|_| bad())?,
        };
        if s == Scalar::F32 && x.is_finite() && (x as f32).is_infinite() {
            // Passed on, it would silently become infinity.
            return Err(invalid(format!(
                "{}(): parameter `{pname}` is `f32`; {x:e} is out of its range",
                f.name
            )));
        }
        return Ok(x.to_bits() as i64);
    }
    if s == Scalar::Bool {
        let b: bool = a.extract().map_err(|_| bad())?;
        return Ok(b as i64);
    }
    if a.is_instance_of::<PyBool>() || a.is_instance_of::<PyFloat>() {
        return Err(bad());
    }
    if !a.is_instance_of::<PyInt>() && a.extract::<i64>().is_err() && a.extract::<u64>().is_err() {
        return Err(bad());
    }
    let range = |lo: i64, hi: i64| -> PyResult<i64> {
        let x: i64 = a.extract().map_err(|_| bad())?;
        if x < lo || x > hi {
            return Err(invalid(format!(
                "{}(): parameter `{pname}` is `{}`; {x} is out of its range",
                f.name,
                s.name()
            )));
        }
        Ok(x)
    };
    match s {
        Scalar::I8 => range(i8::MIN as i64, i8::MAX as i64),
        Scalar::I32 => range(i32::MIN as i64, i32::MAX as i64),
        Scalar::I64 => range(i64::MIN, i64::MAX),
        Scalar::U8 => range(0, u8::MAX as i64),
        Scalar::U32 => range(0, u32::MAX as i64),
        _ => {
            let x: u64 = a.extract().map_err(|_| {
                invalid(format!(
                    "{}(): parameter `{pname}` is `u64`; {} is out of its range",
                    f.name,
                    a.repr().map(|r| r.to_string()).unwrap_or_default()
                ))
            })?;
            Ok(x as i64)
        }
    }
}

fn kind_name(k: u8, ndim: usize) -> String {
    match k {
        0 => "DistributedVector".into(),
        1 => "DistributedArray".into(),
        _ => format!("DistributedTensor ({ndim}-D)"),
    }
}

fn comm_id(c: &CommRef) -> *const () {
    Arc::as_ptr(c) as *const ()
}

/// A runtime container as a borrowed kernel handle.
fn wrap_any(d: &mut AnyDist, movable: bool) -> *mut Obj {
    fn w<T: AbiElem>(d: &mut dtl_runtime::container::Distributed<T>, movable: bool) -> *mut Obj {
        // SAFETY: the caller keeps the owning `Container` mutably borrowed until the handle is
        // released at the end of the call (see `Raw`), so `d` stays valid and unaliased.
        unsafe { abi::wrap_borrowed(d as *mut _, movable) }
    }
    match d {
        AnyDist::I8(d) => w(d, movable),
        AnyDist::I32(d) => w(d, movable),
        AnyDist::I64(d) => w(d, movable),
        AnyDist::U8(d) => w(d, movable),
        AnyDist::U32(d) => w(d, movable),
        AnyDist::U64(d) => w(d, movable),
        AnyDist::F32(d) => w(d, movable),
        AnyDist::F64(d) => w(d, movable),
    }
}

/// A NumPy array bound to `local<T>`: borrowed read-write for the call.
fn wrap_numpy<'py, T: AbiElem + numpy::Element>(
    f: &FnInfo,
    pname: &str,
    a: &Bound<'py, PyAny>,
    held: &mut Vec<Box<dyn Held + 'py>>,
) -> PyResult<*mut Obj> {
    let arr = a.cast::<PyArray1<T>>().map_err(|_| {
        // The dtype of an array; the type of anything else (a container or a NumPy scalar
        // has a dtype too, but is no array).
        let what = match a.cast::<numpy::PyUntypedArray>() {
            Ok(arr) => arr.dtype().to_string(),
            Err(_) => type_name(a),
        };
        let nd = a
            .getattr("ndim")
            .and_then(|n| n.extract::<usize>())
            .unwrap_or(0);
        invalid(format!(
            "{}(): parameter `{pname}` is `local<{}>`: needs a 1-D NumPy array of dtype {}, got {}",
            f.name,
            T::DTYPE,
            crate::convert::numpy_name(T::DTYPE),
            if nd > 1 {
                format!("a {nd}-D array")
            } else {
                what
            }
        ))
    })?;
    let mut rw = arr.try_readwrite().map_err(|e| {
        invalid(format!(
            "{}(): parameter `{pname}`: the array cannot be borrowed for writing ({e}; is it read-only, or passed twice?)",
            f.name
        ))
    })?;
    let s = rw.as_slice_mut().map_err(|_| {
        invalid(format!(
            "{}(): parameter `{pname}`: the array must be C-contiguous (use numpy.ascontiguousarray)",
            f.name
        ))
    })?;
    let (ptr, len) = (s.as_mut_ptr(), s.len());
    held.push(Box::new(rw));
    // SAFETY: `rw` (now in `held`) keeps the array borrowed read-write until the call ends, so
    // `ptr..ptr+len` stays valid and nothing else writes it.
    Ok(unsafe { abi::wrap_local_borrowed(ptr, len) })
}

fn bits_to_py<'py>(py: Python<'py>, ty: Ty, r: i64) -> PyResult<Bound<'py, PyAny>> {
    match ty {
        Ty::Scalar(s) => match s {
            Scalar::F32 | Scalar::F64 => f64::from_bits(r as u64).into_bound_py_any(py),
            Scalar::Bool => (r != 0).into_bound_py_any(py),
            Scalar::U64 => (r as u64).into_bound_py_any(py),
            _ => r.into_bound_py_any(py),
        },
        _ => Ok(py.None().into_bound(py)),
    }
}

fn local_to_py(py: Python<'_>, dt: DType, bits: Vec<i64>) -> PyResult<Bound<'_, PyAny>> {
    let n = bits.len();
    crate::convert::with_dtype!(dt, T => {
        let v: Vec<T> = bits.into_iter().map(<T as AbiElem>::from_abi).collect();
        array_from_vec(py, v, &[n])
    })
}

#[pymethods]
impl Program {
    /// `[(name, signature, [(param, kind, dtype, ndim)], collective)]`; kind is one of
    /// `scalar vector array tensor local map`.
    fn functions(&self) -> Vec<FnDesc> {
        self.prog
            .functions()
            .iter()
            .map(|f| {
                let ps = f
                    .params
                    .iter()
                    .map(|(n, t)| {
                        let (k, s, nd) = match *t {
                            Ty::Scalar(s) => ("scalar", s.name(), 0),
                            Ty::Vector(s) => ("vector", s.name(), 1),
                            Ty::Array(s) => ("array", s.name(), 1),
                            Ty::Tensor(s, r) => ("tensor", s.name(), r),
                            Ty::Local(s) => ("local", s.name(), 1),
                            Ty::Map(_, v) => ("map", v.name(), 0),
                            _ => ("other", "", 0),
                        };
                        (n.clone(), k.to_string(), s.to_string(), nd)
                    })
                    .collect();
                (f.name.clone(), f.signature(), ps, f.collective)
            })
            .collect()
    }

    /// `[(name, type)]` of the program's `param` declarations.
    fn params(&self) -> Vec<(String, String)> {
        self.prog
            .params()
            .map(|(n, s)| (n.to_string(), s.name().to_string()))
            .collect()
    }

    /// Whether the program has a `fn main()`.
    fn has_main(&self) -> bool {
        self.prog.has_main()
    }

    /// Calls function number `idx` on this rank with `args` (see the module docs).
    #[pyo3(signature = (idx, args, ctx=None))]
    fn call<'py>(
        &self,
        py: Python<'py>,
        idx: usize,
        args: &Bound<'py, PyTuple>,
        ctx: Option<&Bound<'py, Context>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let f = self
            .prog
            .functions()
            .get(idx)
            .ok_or_else(|| invalid("no such kernel function"))?;
        if args.len() != f.params.len() {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "{}() takes {} argument(s) ({} given): {}",
                f.name,
                f.params.len(),
                args.len(),
                f.signature()
            )));
        }
        // Declared before `raw`, so dropped after it: on an early return the handles are
        // released while their owners are still borrowed.
        let mut held: Vec<Box<dyn Held + 'py>> = Vec::new();
        let mut raw = Raw {
            args: Vec::with_capacity(args.len()),
            handles: Vec::new(),
        };
        let mut bound: Vec<(*mut pyo3::ffi::PyObject, *mut Obj)> = Vec::new();
        let mut comm: Option<CommRef> = None;
        for ((pname, ty), a) in f.params.iter().zip(args.iter()) {
            let bits = match *ty {
                Ty::Scalar(s) => scalar_bits(f, pname, s, &a)?,
                Ty::Vector(s) | Ty::Array(s) | Ty::Tensor(s, _) => {
                    let (want_kind, want_nd) = match *ty {
                        Ty::Vector(_) => (0u8, 1usize),
                        Ty::Array(_) => (1, 1),
                        Ty::Tensor(_, r) => (2, r as usize),
                        _ => (0, 1),
                    };
                    let Ok(c) = a.cast::<Container>() else {
                        return Err(invalid(format!(
                            "{}(): parameter `{pname}` is `{ty}`: needs a {}, got {}",
                            f.name,
                            kind_name(want_kind, want_nd),
                            type_name(&a)
                        )));
                    };
                    if let Some(&(_, h)) = bound.iter().find(|(p, _)| *p == a.as_ptr()) {
                        // The same container twice: one handle, aliased as in dtl.
                        abi::dtl_retain(h);
                        raw.handles.push(h);
                        raw.args.push(h as i64);
                        continue;
                    }
                    let mut c = c.try_borrow_mut().map_err(|_| {
                        invalid(format!(
                            "{}(): parameter `{pname}`: the container is in use by another call",
                            f.name
                        ))
                    })?;
                    let (kind, nd) = (c.kind_code(), c.shape_len()?);
                    if kind != want_kind || (kind == 2 && nd != want_nd) {
                        return Err(invalid(format!(
                            "{}(): parameter `{pname}` is `{ty}`: needs a {}, got a {}",
                            f.name,
                            kind_name(want_kind, want_nd),
                            kind_name(kind, nd)
                        )));
                    }
                    let dt = c.dist()?.dtype();
                    if dt != scalar_dtype(s) {
                        return Err(invalid(format!(
                            "{}(): parameter `{pname}` is `{ty}`, got a container of {}",
                            f.name,
                            crate::convert::numpy_name(dt)
                        )));
                    }
                    let cc = c.comm()?;
                    match &comm {
                        None => comm = Some(cc),
                        Some(c0) if comm_id(c0) != comm_id(&cc) => {
                            return Err(invalid(format!(
                                "{}(): parameter `{pname}`: the containers belong to different contexts",
                                f.name
                            )));
                        }
                        Some(_) => {}
                    }
                    let movable = c.live_views() == 0;
                    let h = wrap_any(c.dist_mut()?, movable);
                    held.push(Box::new(c));
                    raw.handles.push(h);
                    bound.push((a.as_ptr(), h));
                    h as i64
                }
                Ty::Local(s) => {
                    let h = crate::convert::with_dtype!(scalar_dtype(s), T => {
                        wrap_numpy::<T>(f, pname, &a, &mut held)
                    })?;
                    raw.handles.push(h);
                    h as i64
                }
                _ => {
                    return Err(from_code(
                        dtl_runtime::error::Code::R0013,
                        format!(
                            "not supported yet: passing a `{ty}` (parameter `{pname}` of {}) from Python",
                            f.name
                        ),
                    ));
                }
            };
            raw.args.push(bits);
        }
        let comm = match comm {
            Some(c) => c,
            None => match ctx {
                Some(c) => c.get().comm()?.clone(),
                None => Context::world()?.0,
            },
        };
        // A failure aborts a multi-rank communicator (threads: the world is failed, every rank
        // waiting in it is released) unless it can recover: under MPI a collective kernel is a
        // recoverable call (every rank raises, the communicator stays usable; see
        // `Comm::call_end`), and a non-collective one only fails here.
        let multi = comm.size() > 1;
        let recover = multi && comm.recoverable() && f.collective;
        let abort = multi && !comm.recoverable();
        if !multi || comm.recoverable() {
            // A SIGINT that came while no kernel ran on this (long-lived) communicator is
            // Python's to raise, not this call's.
            comm.stop_word().clear(stop::INTERRUPTED);
        }
        let sigints = stop::sigint_count();
        let prog = &self.prog;
        let info = &self.info;
        let r = py.detach(move || {
            let mut raw = raw;
            if recover && let Err(e) = comm.call_begin() {
                return Err(jit::RunError::from(e));
            }
            let handles = std::mem::take(&mut raw.handles);
            let out = prog.call_with(&comm, info, f, &raw.args, &handles, abort);
            if recover {
                let mine = out
                    .as_ref()
                    .err()
                    .map(|e| (e.code == Code::R0011, e.message.as_str()));
                // Another rank's failure becomes this rank's error (also in place of an R0011
                // echo seen inside the kernel: this one carries the failing rank's message);
                // a failure of its own stays.
                if let Err(e) = comm.call_end(mine)
                    && out.as_ref().err().is_none_or(|o| o.code == Code::R0011)
                {
                    return Err(jit::RunError::from(e));
                }
            }
            out
        });
        drop(held);
        match r {
            Ok(CallValue::Bits(b)) => bits_to_py(py, f.ret, b),
            Ok(CallValue::Local(dt, bits)) => local_to_py(py, dt, bits),
            Ok(CallValue::Unsupported) => Err(from_code(
                dtl_runtime::error::Code::R0013,
                "not supported yet: returning a distributed container".into(),
            )),
            Err(e) => Err(run_error(py, e, sigints)),
        }
    }

    /// Runs `main` on `ranks` thread ranks with `-D` overrides (the GIL is released; printed
    /// lines go to `sys.stdout`).
    fn run(&self, py: Python<'_>, ranks: i64, overrides: Vec<(String, String)>) -> PyResult<()> {
        if !(1..=4096).contains(&ranks) {
            return Err(invalid(format!(
                "ranks must be between 1 and 4096, got {ranks}"
            )));
        }
        if !self.prog.has_main() {
            return Err(invalid("run(): the kernel source has no `fn main()`"));
        }
        self.prog.overrides(&overrides).map_err(invalid)?;
        let opts = RunOptions {
            nranks: ranks as usize,
            overrides,
            sink: Some(py_sink()),
        };
        let prog = &self.prog;
        let sigints = stop::sigint_count();
        py.detach(move || prog.run(&opts))
            .map_err(|e| run_error(py, e, sigints))
    }
}

/// The Python exception for a failed call or run: `KeyboardInterrupt` when SIGINT stopped it
/// (R0016 on some rank, or any failure while a SIGINT arrived: the ranks it released report
/// R0011), else the exception of the error's code.
fn run_error(py: Python<'_>, e: jit::RunError, sigints: u64) -> PyErr {
    if e.code == Code::R0016 || stop::sigint_count() != sigints {
        return interrupted(py, e.message);
    }
    from_code(e.code, e.message)
}
