//! The distributed, resizable 1-D vector.

use super::{Distributed, Options};
use crate::comm::CommRef;
use crate::elem::Element;
use crate::error::{Result, Site};
use crate::partition::Partition;

/// A distributed 1-D vector (`vector<T>`): block-partitioned by default, resizable.
/// Dereferences to [`Distributed`] for the common API.
#[derive(Debug)]
pub struct Vector<T: Element>(pub(crate) Distributed<T>);

impl<T: Element> Vector<T> {
    /// Collective: `n` zeros, block partition.
    #[track_caller]
    pub fn new(comm: &CommRef, n: usize) -> Result<Self> {
        Distributed::new_at(comm, &[n], Options::new(), Site::caller()).map(Vector)
    }

    /// Collective: `n` elements with the given options.
    #[track_caller]
    pub fn with_options(comm: &CommRef, n: usize, opts: Options<T>) -> Result<Self> {
        Distributed::new_at(comm, &[n], opts, Site::caller()).map(Vector)
    }

    /// Collective: `n` elements `f(i)` with the given options (ends with a fence).
    #[track_caller]
    pub fn from_fn(
        comm: &CommRef,
        n: usize,
        opts: Options<T>,
        f: impl Fn(usize) -> T,
    ) -> Result<Self> {
        let site = Site::caller();
        let mut c = Distributed::new_at(comm, &[n], opts, site)?;
        c.map_indexed(|g, _| f(g));
        c.fence_at(site)?;
        Ok(Vector(c))
    }

    /// Collective: resizes to `n` elements, keeping values by global index (new elements are
    /// zero). The partition and halo stay; every rank must pass the same `n`. Invalidates
    /// slices and pointers into the local part (the window is re-created).
    #[track_caller]
    pub fn resize(&mut self, n: usize) -> Result<()> {
        self.0.resize_rows(n, Site::caller())
    }

    /// Collective: a copy under another partition (values follow their global index).
    #[track_caller]
    pub fn redistribute(&self, partition: Partition) -> Result<Vector<T>> {
        self.0.redistribute(partition).map(Vector)
    }

    /// Collective: a copy with the same partition.
    #[track_caller]
    pub fn duplicate(&self) -> Result<Vector<T>> {
        self.0.duplicate().map(Vector)
    }

    /// Exchanges contents with an aligned vector in O(1) (local; R0008 if not aligned).
    pub fn swap(&mut self, other: &mut Vector<T>) -> Result<()> {
        self.0.swap(&mut other.0)
    }

    /// Wraps a core container of one dimension.
    pub fn from_distributed(d: Distributed<T>) -> Result<Self> {
        if d.shape().len() != 1 {
            return Err(crate::error::DtlError::invalid(
                "a vector has one dimension",
            ));
        }
        Ok(Vector(d))
    }

    pub fn into_distributed(self) -> Distributed<T> {
        self.0
    }
}

super::core_wrapper!(Vector);
