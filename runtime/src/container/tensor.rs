//! The distributed N-D tensor, partitioned along dimension 0 with contiguous rows.

use super::{Distributed, Options};
use crate::comm::CommRef;
use crate::elem::Element;
use crate::error::{DtlError, Result, Site};
use crate::partition::Partition;

/// A distributed N-D tensor (`tensor<T, R>`): dimension 0 is split by the partition, each
/// rank's rows are contiguous and row-major. Flat global indices are row-major over the whole
/// shape. Dereferences to [`Distributed`].
#[derive(Debug)]
pub struct Tensor<T: Element>(pub(crate) Distributed<T>);

impl<T: Element> Tensor<T> {
    /// Collective: zeros of the given shape, block partition.
    #[track_caller]
    pub fn new(comm: &CommRef, shape: &[usize]) -> Result<Self> {
        Distributed::new_at(comm, shape, Options::new(), Site::caller()).map(Tensor)
    }

    /// Collective: a tensor with the given options (a halo gives ghost rows).
    #[track_caller]
    pub fn with_options(comm: &CommRef, shape: &[usize], opts: Options<T>) -> Result<Self> {
        Distributed::new_at(comm, shape, opts, Site::caller()).map(Tensor)
    }

    pub fn ndim(&self) -> usize {
        self.0.shape().len()
    }

    /// The shape of this rank's part (`local_rows` for dimension 0).
    pub fn local_shape(&self) -> Vec<usize> {
        let mut s = self.0.shape().to_vec();
        s[0] = self.0.local_rows();
        s
    }

    /// The flat global index of a multi-index (R0001 when out of range, R0009 for the wrong
    /// number of indices).
    pub fn flat_index(&self, idx: &[usize]) -> Result<usize> {
        let shape = self.0.shape();
        if idx.len() != shape.len() {
            return Err(DtlError::invalid(format!(
                "{} indices for a tensor of {} dimensions",
                idx.len(),
                shape.len()
            )));
        }
        let mut flat = 0usize;
        for (&i, &d) in idx.iter().zip(shape) {
            if i >= d {
                return Err(DtlError::OutOfBounds {
                    index: i64::try_from(i).unwrap_or(i64::MAX),
                    len: d,
                    what: "tensor dimension".into(),
                });
            }
            flat = flat * d + i;
        }
        Ok(flat)
    }

    /// One-sided read of `t[idx]`.
    pub fn get_at(&self, idx: &[usize]) -> Result<T> {
        self.0.get(self.flat_index(idx)?)
    }

    /// One-sided write of `t[idx]`, visible at the next fence or barrier.
    pub fn put_at(&self, idx: &[usize], x: T) -> Result<()> {
        self.0.put(self.flat_index(idx)?, x)
    }

    /// Collective: a copy under another partition of dimension 0.
    #[track_caller]
    pub fn redistribute(&self, partition: Partition) -> Result<Tensor<T>> {
        self.0.redistribute(partition).map(Tensor)
    }

    /// Exchanges contents with an aligned tensor in O(1).
    pub fn swap(&mut self, other: &mut Tensor<T>) -> Result<()> {
        self.0.swap(&mut other.0)
    }
}

super::core_wrapper!(Tensor);
