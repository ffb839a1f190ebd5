//! Conversions between Python values and runtime types: dtypes, operators, partitions, NumPy
//! arrays and scalars.

use dtl_runtime::algo::Num;
use dtl_runtime::elem::{DType, Element, ReduceOp};
use dtl_runtime::error::DtlError;
use dtl_runtime::partition::Partition;
use dtl_runtime::sort::SortKey;
use numpy::ndarray::{ArrayD, IxDyn};
use numpy::{
    IntoPyArray, PyArrayDescr, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyFloat, PyInt, PyString};

use crate::errors::{IntoPyResult, invalid};

/// An element type both the runtime and NumPy know.
pub trait Elem:
    Element + Num + SortKey + numpy::Element + for<'a, 'py> FromPyObject<'a, 'py>
{
}
impl<T: Element + Num + SortKey + numpy::Element + for<'a, 'py> FromPyObject<'a, 'py>> Elem for T {}

/// Runs `$body` with `$T` the Rust type of the runtime dtype `$dt` (all nine, bool included).
macro_rules! with_dtype {
    ($dt:expr, $T:ident => $body:expr) => {
        match $dt {
            dtl_runtime::elem::DType::I8 => {
                type $T = i8;
                $body
            }
            dtl_runtime::elem::DType::I32 => {
                type $T = i32;
                $body
            }
            dtl_runtime::elem::DType::I64 => {
                type $T = i64;
                $body
            }
            dtl_runtime::elem::DType::U8 => {
                type $T = u8;
                $body
            }
            dtl_runtime::elem::DType::U32 => {
                type $T = u32;
                $body
            }
            dtl_runtime::elem::DType::U64 => {
                type $T = u64;
                $body
            }
            dtl_runtime::elem::DType::F32 => {
                type $T = f32;
                $body
            }
            dtl_runtime::elem::DType::F64 => {
                type $T = f64;
                $body
            }
            dtl_runtime::elem::DType::Bool => {
                type $T = bool;
                $body
            }
        }
    };
}
pub(crate) use with_dtype;

/// The NumPy name of a dtype (`float64`, …).
pub fn numpy_name(d: DType) -> &'static str {
    match d {
        DType::I8 => "int8",
        DType::I32 => "int32",
        DType::I64 => "int64",
        DType::U8 => "uint8",
        DType::U32 => "uint32",
        DType::U64 => "uint64",
        DType::F32 => "float32",
        DType::F64 => "float64",
        DType::Bool => "bool",
    }
}

/// The NumPy dtype object of a runtime dtype.
pub fn descr(py: Python<'_>, d: DType) -> Bound<'_, PyArrayDescr> {
    with_dtype!(d, T => numpy::dtype::<T>(py))
}

/// The runtime dtype of a NumPy dtype, if it is one of the nine.
pub fn dtype_of_descr(d: &Bound<'_, PyArrayDescr>) -> Option<DType> {
    let py = d.py();
    DType::ALL
        .into_iter()
        .find(|&t| d.is_equiv_to(&descr(py, t)))
}

/// A container element type from a user's `dtype=` (anything `numpy.dtype()` accepts; None is
/// float64). Bool and unknown types are `InvalidArgumentError`.
pub fn container_dtype(obj: Option<&Bound<'_, PyAny>>) -> PyResult<DType> {
    let Some(obj) = obj else {
        return Ok(DType::F64);
    };
    if obj.is_none() {
        return Ok(DType::F64);
    }
    let py = obj.py();
    let d = PyArrayDescr::new(py, obj).map_err(|e| invalid(format!("unknown dtype {obj}: {e}")))?;
    match dtype_of_descr(&d) {
        Some(DType::Bool) | None => Err(invalid(format!(
            "unsupported dtype {d}: containers hold float64, float32, int64, int32, uint64, uint32, int8 or uint8"
        ))),
        Some(t) => Ok(t),
    }
}

/// Any of the nine dtypes (for messages and collectives), from a user's `dtype=`.
pub fn any_dtype(obj: &Bound<'_, PyAny>) -> PyResult<DType> {
    let d = PyArrayDescr::new(obj.py(), obj)
        .map_err(|e| invalid(format!("unknown dtype {obj}: {e}")))?;
    dtype_of_descr(&d).ok_or_else(|| invalid(format!("unsupported dtype {d}")))
}

/// A reduction operator from `dtl.SUM` (`"sum"`), … (case-insensitive).
pub fn reduce_op(obj: &Bound<'_, PyAny>) -> PyResult<ReduceOp> {
    let s = obj.cast::<PyString>().map_err(|_| {
        invalid(format!(
            "unknown reduction operator {obj}; use dtl.SUM, dtl.MAX, …"
        ))
    })?;
    let s = s.to_str()?.to_ascii_lowercase();
    match ReduceOp::from_name(&s) {
        Some(op) if !matches!(op, ReduceOp::MinLoc | ReduceOp::MaxLoc) => Ok(op),
        _ => Err(invalid(format!(
            "unknown reduction operator {s:?}; use dtl.SUM, PROD, MIN, MAX, LAND, LOR, BAND, BOR or BXOR"
        ))),
    }
}

pub const PARTITION_BLOCK: i64 = 0;
pub const PARTITION_CYCLIC: i64 = 1;
pub const PARTITION_BLOCK_CYCLIC: i64 = 2;
pub const PARTITION_HASH: i64 = 3;
pub const PARTITION_REPLICATED: i64 = 4;

pub const PLACEMENT_HOST: i64 = 0;
pub const PLACEMENT_DEVICE: i64 = 1;
pub const PLACEMENT_UNIFIED: i64 = 2;
pub const PLACEMENT_DEVICE_PREFERRED: i64 = 3;

/// A partition from `partition=` and `block_size=`.
pub fn partition(code: i64, block_size: Option<i64>) -> PyResult<Partition> {
    let p = match code {
        PARTITION_BLOCK => Partition::Block,
        PARTITION_CYCLIC => Partition::Cyclic,
        PARTITION_BLOCK_CYCLIC => {
            let b = block_size.unwrap_or(1);
            if b <= 0 {
                return Err(invalid(format!("block_size must be positive, not {b}")));
            }
            Partition::BlockCyclic(DtlError::check_size(b, "block size").py()?)
        }
        PARTITION_HASH => {
            return Err(invalid(
                "PARTITION_HASH applies to DistributedMap, not to vectors, arrays or tensors",
            ));
        }
        PARTITION_REPLICATED => Partition::Replicated,
        other => return Err(invalid(format!("unknown partition policy {other}"))),
    };
    Ok(p)
}

/// The `partition=` code of a partition.
pub fn partition_code(p: Partition) -> i64 {
    match p {
        Partition::Block => PARTITION_BLOCK,
        Partition::Cyclic => PARTITION_CYCLIC,
        Partition::BlockCyclic(_) => PARTITION_BLOCK_CYCLIC,
        Partition::Replicated => PARTITION_REPLICATED,
    }
}

/// Checks a `placement=`: host and device-preferred (which falls back to host) work; device
/// and unified placements need CUDA, which this build does not have.
pub fn placement(code: i64) -> PyResult<i64> {
    match code {
        PLACEMENT_HOST | PLACEMENT_DEVICE_PREFERRED => Ok(code),
        PLACEMENT_DEVICE | PLACEMENT_UNIFIED => Err(crate::errors::to_py(DtlError::NoDevice {
            placement: if code == PLACEMENT_DEVICE {
                "@device".into()
            } else {
                "@unified".into()
            },
        })),
        other => Err(invalid(format!("unknown placement policy {other}"))),
    }
}

/// A Python number as a `T` (floats are cast to integer types only when integral).
pub fn scalar_as<T: Elem>(obj: &Bound<'_, PyAny>) -> PyResult<T> {
    if T::DTYPE == DType::F32
        && let Ok(f) = obj.extract::<f64>()
        && f.is_finite()
        && T::from_f64(f).to_f64().is_infinite()
    {
        // A finite value beyond float32's range would silently become infinity.
        return Err(invalid(format!("{obj} does not fit in float32")));
    }
    if let Ok(x) = obj.extract::<T>() {
        return Ok(x);
    }
    let f: f64 = obj
        .extract()
        .map_err(|_| invalid(format!("{obj} is not a number")))?;
    if T::DTYPE.is_float() || (f.fract() == 0.0 && f.is_finite()) {
        let x = T::from_f64(f);
        if x.to_f64() == f || T::DTYPE.is_float() {
            return Ok(x);
        }
    }
    Err(invalid(format!(
        "{obj} does not fit in {}",
        numpy_name(T::DTYPE)
    )))
}

static ASARRAY: PyOnceLock<(Py<PyAny>, Py<PyAny>)> = PyOnceLock::new();

/// `obj` as a C-contiguous NumPy array (the same object when it already is one; a scalar
/// becomes a 0-d array).
pub fn contiguous<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyUntypedArray>> {
    let py = obj.py();
    if let Ok(a) = obj.cast::<PyUntypedArray>()
        && a.is_c_contiguous()
    {
        return Ok(a.clone());
    }
    let (asarray, ascontig) = ASARRAY.get_or_try_init(py, || {
        let np = py.import("numpy")?;
        Ok::<_, PyErr>((
            np.getattr("asarray")?.unbind(),
            np.getattr("ascontiguousarray")?.unbind(),
        ))
    })?;
    let a = asarray
        .bind(py)
        .call1((obj,))
        .map_err(|e| invalid(format!("expected an array or a number: {e}")))?;
    let a = a
        .cast_into::<PyUntypedArray>()
        .map_err(|_| invalid("expected an array or a number"))?;
    if a.is_c_contiguous() {
        return Ok(a);
    }
    ascontig
        .bind(py)
        .call1((a,))?
        .cast_into::<PyUntypedArray>()
        .map_err(|_| invalid("expected an array or a number"))
}

/// The runtime dtype of an array (InvalidArgumentError for other dtypes).
pub fn array_dtype(a: &Bound<'_, PyUntypedArray>) -> PyResult<DType> {
    let d = a.dtype();
    dtype_of_descr(&d).ok_or_else(|| {
        invalid(format!(
            "unsupported dtype {d}: use float64, float32, int64, int32, uint64, uint32, int8, uint8 or bool"
        ))
    })
}

/// A copy of a C-contiguous array's elements.
pub fn array_vec<T: Elem>(a: &Bound<'_, PyUntypedArray>) -> PyResult<Vec<T>> {
    let t = a
        .cast::<PyArrayDyn<T>>()
        .map_err(|_| invalid("array has the wrong dtype"))?;
    let ro = t.try_readonly().map_err(|e| invalid(format!("{e}")))?;
    let s = ro
        .as_slice()
        .map_err(|e| invalid(format!("array is not contiguous: {e}")))?;
    Ok(s.to_vec())
}

/// A NumPy array of the given shape holding `v`.
pub fn array_from_vec<'py, T: Elem>(
    py: Python<'py>,
    v: Vec<T>,
    shape: &[usize],
) -> PyResult<Bound<'py, PyAny>> {
    let a = ArrayD::from_shape_vec(IxDyn(shape), v)
        .map_err(|e| invalid(format!("array shape {shape:?}: {e}")))?;
    Ok(a.into_pyarray(py).into_any())
}

/// What a collective was given: a Python scalar (kept as Python type on return), or an array
/// (a NumPy scalar counts as a 0-d array and comes back as a NumPy scalar).
pub enum Value<'py> {
    Float(f64),
    Int(i64),
    Array {
        arr: Bound<'py, PyUntypedArray>,
        dtype: DType,
        scalar: bool,
    },
}

pub fn value<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Value<'py>> {
    if obj.is_exact_instance_of::<PyFloat>() {
        return Ok(Value::Float(obj.extract()?));
    }
    if obj.is_exact_instance_of::<PyInt>() {
        return match obj.extract::<i64>() {
            Ok(i) => Ok(Value::Int(i)),
            Err(_) => Err(invalid(format!("integer {obj} does not fit in int64"))),
        };
    }
    if obj.is_instance_of::<PyBool>() {
        let arr = contiguous(obj)?;
        return Ok(Value::Array {
            arr,
            dtype: DType::Bool,
            scalar: true,
        });
    }
    let scalar = !obj.is_instance_of::<PyUntypedArray>()
        && obj
            .py()
            .import("numpy")?
            .getattr("generic")
            .and_then(|g| obj.is_instance(&g))
            .unwrap_or(false);
    if obj.is_instance_of::<PyFloat>() && !scalar {
        return Ok(Value::Float(obj.extract()?));
    }
    let arr = contiguous(obj)?;
    let dtype = array_dtype(&arr)?;
    Ok(Value::Array { arr, dtype, scalar })
}
