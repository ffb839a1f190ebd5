//! The native module `dtl._native` under the Python package `dtl`: the runtime's contexts,
//! containers, collectives, one-sided windows and algorithms for Python.
//!
//! This file only registers things. Conversions live in `convert.rs`, every error mapping in
//! `errors.rs`; the public Python API (names, defaults, docstrings) is `python/dtl/__init__.py`.

mod algos;
mod coll;
mod container;
mod context;
mod convert;
mod errors;
mod kernel;
mod map;
mod rma;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    // Ctrl-C stops kernels, `run` and `spmd` ranks (dtl_runtime::stop): the handler is chained
    // in front of Python's, which still runs.
    dtl_runtime::stop::catch_sigint();
    m.add_class::<context::Context>()?;
    m.add_class::<context::Environment>()?;
    m.add_class::<container::Container>()?;
    m.add_class::<container::ViewGuard>()?;
    m.add_class::<coll::MessageStatus>()?;
    m.add_class::<rma::Window>()?;
    m.add_class::<map::Map>()?;
    m.add_class::<kernel::Program>()?;
    m.add_function(wrap_pyfunction!(kernel::_compile, m)?)?;
    m.add_function(wrap_pyfunction!(context::has_mpi, m)?)?;
    m.add_function(wrap_pyfunction!(context::backends_available, m)?)?;
    m.add_function(wrap_pyfunction!(context::run_spmd, m)?)?;
    m.add_function(wrap_pyfunction!(context::_shutdown, m)?)?;
    m.add_function(wrap_pyfunction!(context::_world_backend, m)?)?;
    m.add_function(wrap_pyfunction!(container::_root_meta, m)?)?;
    for f in [
        wrap_pyfunction!(coll::allreduce, m)?,
        wrap_pyfunction!(coll::reduce_values, m)?,
        wrap_pyfunction!(coll::broadcast, m)?,
        wrap_pyfunction!(coll::gather, m)?,
        wrap_pyfunction!(coll::scatter, m)?,
        wrap_pyfunction!(coll::allgather, m)?,
        wrap_pyfunction!(coll::allgatherv, m)?,
        wrap_pyfunction!(coll::gatherv, m)?,
        wrap_pyfunction!(coll::scatterv, m)?,
        wrap_pyfunction!(coll::alltoallv, m)?,
        wrap_pyfunction!(coll::scan_values, m)?,
        wrap_pyfunction!(coll::send, m)?,
        wrap_pyfunction!(coll::recv, m)?,
        wrap_pyfunction!(coll::sendrecv, m)?,
        wrap_pyfunction!(coll::probe, m)?,
        wrap_pyfunction!(coll::iprobe, m)?,
        wrap_pyfunction!(rma::rma_put, m)?,
        wrap_pyfunction!(rma::rma_get, m)?,
        wrap_pyfunction!(rma::rma_accumulate, m)?,
        wrap_pyfunction!(rma::rma_fetch_and_add, m)?,
        wrap_pyfunction!(rma::rma_compare_and_swap, m)?,
        wrap_pyfunction!(algos::fill, m)?,
        wrap_pyfunction!(algos::reduce_container, m)?,
        wrap_pyfunction!(algos::count, m)?,
        wrap_pyfunction!(algos::find, m)?,
        wrap_pyfunction!(algos::sort, m)?,
        wrap_pyfunction!(algos::is_sorted, m)?,
        wrap_pyfunction!(algos::copy, m)?,
        wrap_pyfunction!(algos::dot, m)?,
        wrap_pyfunction!(algos::scan_into, m)?,
        wrap_pyfunction!(algos::argextreme, m)?,
    ] {
        m.add_function(f)?;
    }
    Ok(())
}
