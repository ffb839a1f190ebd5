//! The distributed, fixed-size 1-D array.

use super::{Distributed, Options};
use crate::comm::CommRef;
use crate::elem::Element;
use crate::error::{Result, Site};
use crate::partition::Partition;

/// A distributed fixed-size 1-D array (`array<T>`): like [`crate::container::Vector`] without `resize`.
/// Dereferences to [`Distributed`] for the common API.
#[derive(Debug)]
pub struct Array<T: Element>(pub(crate) Distributed<T>);

impl<T: Element> Array<T> {
    /// Collective: `n` zeros, block partition.
    #[track_caller]
    pub fn new(comm: &CommRef, n: usize) -> Result<Self> {
        Distributed::new_at(comm, &[n], Options::new(), Site::caller()).map(Array)
    }

    /// Collective: `n` elements with the given options.
    #[track_caller]
    pub fn with_options(comm: &CommRef, n: usize, opts: Options<T>) -> Result<Self> {
        Distributed::new_at(comm, &[n], opts, Site::caller()).map(Array)
    }

    /// Collective: `n` elements `f(i)` with the given options.
    #[track_caller]
    pub fn from_fn(
        comm: &CommRef,
        n: usize,
        opts: Options<T>,
        f: impl Fn(usize) -> T,
    ) -> Result<Self> {
        let mut c = Distributed::new_at(comm, &[n], opts, Site::caller())?;
        c.map_indexed(|g, _| f(g));
        Ok(Array(c))
    }

    /// Collective: a copy under another partition (values follow their global index).
    #[track_caller]
    pub fn redistribute(&self, partition: Partition) -> Result<Array<T>> {
        self.0.redistribute(partition).map(Array)
    }

    /// Collective: a copy with the same partition.
    #[track_caller]
    pub fn duplicate(&self) -> Result<Array<T>> {
        self.0.duplicate().map(Array)
    }

    /// Exchanges contents with an aligned vector in O(1) (local; R0008 if not aligned).
    pub fn swap(&mut self, other: &mut Array<T>) -> Result<()> {
        self.0.swap(&mut other.0)
    }

    /// Wraps a core container of one dimension.
    pub fn from_distributed(d: Distributed<T>) -> Result<Self> {
        if d.shape().len() != 1 {
            return Err(crate::error::DtlError::invalid(
                "an array has one dimension",
            ));
        }
        Ok(Array(d))
    }

    pub fn into_distributed(self) -> Distributed<T> {
        self.0
    }
}

super::core_wrapper!(Array);
