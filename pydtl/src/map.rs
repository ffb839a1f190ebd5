//! `DistributedMap`: the runtime's distributed hash map ([`DistMap`]) with real cross-rank
//! semantics: updates are buffered and routed to the key owners at `sync()` (collective);
//! `get`/`contains` read any rank's keys one-sidedly; `global_size()` counts over all ranks.

use std::sync::atomic::Ordering;

use dtl_runtime::comm::CommRef;
use dtl_runtime::elem::DType;
use dtl_runtime::error::DtlError;
use dtl_runtime::map::DistMap;
use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;

use crate::context::{Alive, Context, blocking};
use crate::convert::{self, scalar_as};
use crate::errors::{IntoPyResult, invalid};

macro_rules! any_map {
    ($($v:ident: $k:ty, $t:ty;)*) => {
        /// A map of one of the supported (key, value) type pairs.
        pub enum AnyMap { $($v(DistMap<$k, $t>),)* }

        /// Runs `$body` with `$m` the typed map, `$K` its key and `$V` its value type.
        macro_rules! with_map {
            ($e:expr, $m:ident, $K:ident, $V:ident => $body:expr) => {
                match $e { $(AnyMap::$v($m) => { type $K = $k; type $V = $t; $body })* }
            };
        }

        /// Collective: a new map.
        fn new_map(comm: &CommRef, signed: bool, value: DType) -> Result<AnyMap, DtlError> {
            $(
                if signed == (<$k>::MIN != 0) && value == <$t as dtl_runtime::elem::Element>::DTYPE {
                    return DistMap::<$k, $t>::new(comm).map(AnyMap::$v);
                }
            )*
            Err(DtlError::invalid(format!("unsupported map value dtype {}", convert::numpy_name(value))))
        }
    };
}

any_map! {
    IF64: i64, f64; IF32: i64, f32; II64: i64, i64; II32: i64, i32;
    IU64: i64, u64; IU32: i64, u32; II8: i64, i8; IU8: i64, u8;
    UF64: u64, f64; UF32: u64, f32; UI64: u64, i64; UI32: u64, i32;
    UU64: u64, u64; UU32: u64, u32; UI8: u64, i8; UU8: u64, u8;
}

/// A distributed hash map from integer keys to numbers. Construction, `sync`, `flush`,
/// `clear`, `global_size` and dropping the map are collective.
#[pyclass(subclass, weakref, module = "dtl._native", name = "DistributedMap")]
pub struct Map {
    inner: Option<AnyMap>,
    comm: CommRef,
    alive: Alive,
    key_dtype: DType,
    value_dtype: DType,
    mpi_counted: bool,
}

impl Map {
    fn map(&self) -> PyResult<&AnyMap> {
        if !self.alive.load(Ordering::Relaxed) {
            return Err(invalid(
                "this map belongs to a dtl.spmd rank that has returned",
            ));
        }
        self.inner
            .as_ref()
            .ok_or_else(|| invalid("the map has been released"))
    }

    fn map_mut(&mut self) -> PyResult<&mut AnyMap> {
        self.map()?;
        self.inner
            .as_mut()
            .ok_or_else(|| invalid("the map has been released"))
    }

    /// A key, checked against the declared key dtype.
    fn key<K: convert::Elem>(&self, k: &Bound<'_, PyAny>) -> PyResult<K> {
        let wide: i128 = k
            .extract::<i128>()
            .map_err(|_| invalid(format!("map keys are integers, not {k}")))?;
        let (lo, hi): (i128, i128) = match self.key_dtype {
            DType::I8 => (i8::MIN.into(), i8::MAX.into()),
            DType::I32 => (i32::MIN.into(), i32::MAX.into()),
            DType::I64 => (i64::MIN.into(), i64::MAX.into()),
            DType::U8 => (0, u8::MAX.into()),
            DType::U32 => (0, u32::MAX.into()),
            _ => (0, u64::MAX.into()),
        };
        if wide < lo || wide > hi {
            return Err(invalid(format!(
                "key {wide} does not fit in {}",
                convert::numpy_name(self.key_dtype)
            )));
        }
        scalar_as::<K>(k)
    }
}

#[pymethods]
impl Map {
    #[new]
    #[pyo3(signature = (ctx, key_dtype=None, value_dtype=None))]
    fn py_new(
        py: Python<'_>,
        ctx: &Bound<'_, Context>,
        key_dtype: Option<&Bound<'_, PyAny>>,
        value_dtype: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let c = ctx.get();
        let comm = c.comm()?.clone();
        let key_dtype = match key_dtype {
            Some(k) if !k.is_none() => convert::container_dtype(Some(k))?,
            _ => DType::I64,
        };
        if !key_dtype.is_integer() {
            return Err(invalid(format!(
                "map keys must be integers, not {}",
                convert::numpy_name(key_dtype)
            )));
        }
        let value_dtype = convert::container_dtype(value_dtype)?;
        let signed = matches!(key_dtype, DType::I8 | DType::I32 | DType::I64);
        let inner = blocking(py, &comm, || new_map(&comm, signed, value_dtype)).py()?;
        let mpi_counted = crate::context::mpi_window_opened(&comm);
        Ok(Map {
            inner: Some(inner),
            comm,
            alive: c.alive().clone(),
            key_dtype,
            value_dtype,
            mpi_counted,
        })
    }

    #[getter]
    fn key_dtype<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        convert::descr(py, self.key_dtype).into_any()
    }

    #[getter]
    fn value_dtype<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        convert::descr(py, self.value_dtype).into_any()
    }

    /// Buffers `m[key] = value`; visible on every rank after the next `sync()`.
    fn insert(&mut self, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let this: &Self = self;
        let (k, v) = with_map!(this.map()?, _m, K, V => {
            (this.key::<K>(key)?.into_bound_py_any(key.py())?, scalar_as::<V>(value)?.into_bound_py_any(key.py())?)
        });
        with_map!(self.map_mut()?, m, K, V => {
            m.insert(k.extract::<K>()?, v.extract::<V>()?);
        });
        Ok(())
    }

    /// Buffers `m[key] += value` (a missing key counts as 0); visible after the next `sync()`.
    fn add(&mut self, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let this: &Self = self;
        let (k, v) = with_map!(this.map()?, _m, K, V => {
            (this.key::<K>(key)?.into_bound_py_any(key.py())?, scalar_as::<V>(value)?.into_bound_py_any(key.py())?)
        });
        with_map!(self.map_mut()?, m, K, V => {
            m.atomic_add(k.extract::<K>()?, v.extract::<V>()?);
        });
        Ok(())
    }

    /// Buffers the removal of `key`; visible after the next `sync()`.
    fn erase(&mut self, key: &Bound<'_, PyAny>) -> PyResult<()> {
        let this: &Self = self;
        let k =
            with_map!(this.map()?, _m, K, _V => this.key::<K>(key)?.into_bound_py_any(key.py())?);
        with_map!(self.map_mut()?, m, K, _V => m.erase(k.extract::<K>()?));
        Ok(())
    }

    /// The value of `key` as of the last `sync()`, or `default` (any rank's keys; not
    /// collective).
    #[pyo3(signature = (key, default=None))]
    fn get<'py>(
        &self,
        key: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let py = key.py();
        with_map!(self.map()?, m, K, V => {
            let k = self.key::<K>(key)?;
            if !m.contains(k).py()? {
                return Ok(default);
            }
            let v: V = m.lookup(k, <V as dtl_runtime::elem::Element>::ZERO).py()?;
            Ok(Some(v.into_bound_py_any(py)?))
        })
    }

    /// Whether `key` is present as of the last `sync()` (not collective).
    fn contains(&self, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        with_map!(self.map()?, m, K, _V => m.contains(self.key::<K>(key)?).py())
    }

    fn __contains__(&self, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.contains(key)
    }

    /// Keys this rank owns (as of the last `sync()`).
    fn size(&self) -> PyResult<usize> {
        Ok(with_map!(self.map()?, m, _K, _V => m.local_len()))
    }

    /// Collective: the number of keys over all ranks.
    fn global_size(&self, py: Python<'_>) -> PyResult<usize> {
        let comm = self.comm.clone();
        with_map!(self.map()?, m, _K, _V => blocking(py, &comm, || m.global_len())).py()
    }

    /// Operations buffered on this rank and not yet synced.
    #[getter]
    fn pending(&self) -> PyResult<usize> {
        Ok(with_map!(self.map()?, m, _K, _V => m.pending()))
    }

    /// This rank's (key, value) pairs.
    fn local_items<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>> {
        with_map!(self.map()?, m, _K, _V => {
            m.local_entries()
                .into_iter()
                .map(|(k, v)| Ok((k.into_bound_py_any(py)?, v.into_bound_py_any(py)?)))
                .collect()
        })
    }

    /// Collective: applies every rank's buffered operations at the key owners.
    fn sync(&mut self, py: Python<'_>) -> PyResult<()> {
        let comm = self.comm.clone();
        with_map!(self.map_mut()?, m, _K, _V => blocking(py, &comm, || m.sync())).py()
    }

    /// Collective: the same as `sync()`.
    fn flush(&mut self, py: Python<'_>) -> PyResult<()> {
        self.sync(py)
    }

    /// Collective: removes every key on every rank and drops pending operations.
    fn clear(&mut self, py: Python<'_>) -> PyResult<()> {
        let comm = self.comm.clone();
        with_map!(self.map_mut()?, m, _K, _V => blocking(py, &comm, || m.clear())).py()
    }

    /// Collective (at interpreter exit under MPI): frees the map now.
    fn _release(&mut self, py: Python<'_>) -> PyResult<bool> {
        self.map()?;
        let comm = self.comm.clone();
        if let Some(m) = self.inner.take() {
            blocking(py, &comm, move || drop(m));
            crate::context::mpi_window_closed(std::mem::take(&mut self.mpi_counted));
        }
        Ok(true)
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        let Some(m) = self.inner.take() else { return };
        if !self.alive.load(Ordering::SeqCst) {
            std::mem::forget(m);
            return;
        }
        if self.comm.size() > 1 {
            Python::attach(|py| py.detach(move || drop(m)));
        } else {
            drop(m);
        }
        crate::context::mpi_window_closed(self.mpi_counted);
    }
}
