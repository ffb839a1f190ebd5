//! `dtl-runtime`: the distributed runtime under dtl programs, the Python package and Rust users.
//!
//! A program runs as N *ranks* (SPMD). Ranks talk only through a [`comm::Comm`]: the one-rank
//! backend ([`comm::local`]), the threads backend ([`comm::threads`], N ranks as N OS threads,
//! the default) and, behind the `mpi` feature, MPI. Distributed containers are partitioned over
//! the ranks by the normative index math of [`partition`]; collectives, point-to-point and
//! one-sided operations are checked for SPMD mistakes and never hang silently.
//!
//! ```
//! use dtl_runtime::prelude::*;
//!
//! let sums = launch::run(4, |comm| {
//!     let r = comm.rank() as f64;
//!     comm.allreduce_scalar(r, ReduceOp::Sum)
//! })
//! .unwrap();
//! assert_eq!(sums, vec![6.0; 4]);
//! ```

pub mod abi;
pub mod algo;
pub mod comm;
pub mod container;
pub mod elem;
pub mod error;
pub mod halo;
pub mod launch;
pub mod map;
pub mod math;
pub mod npy;
pub mod ops;
pub mod partition;
pub mod random;
pub mod sort;
pub mod stats;
pub mod stop;
pub mod sys;

/// The names most users need.
pub mod prelude {
    pub use crate::comm::{Comm, CommExt, CommRef, Source, TagSel};
    pub use crate::container::{
        Array, Distributed, LocalArray, Options, Span, Tensor, Vector, View,
    };
    pub use crate::elem::{DType, Element, ReduceOp};
    pub use crate::error::{Code, DtlError, Result, Site};
    pub use crate::halo::Halo;
    pub use crate::launch;
    pub use crate::map::DistMap;
    pub use crate::partition::{Layout, Partition};
}
