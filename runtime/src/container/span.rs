//! A non-owning view of a global index range of a 1-D distributed container.

use super::{Distributed, View};
use crate::comm::CommRef;
use crate::elem::Element;
use crate::error::{DtlError, Result};

/// A view of global indices `offset..offset+count` of a vector or array (`Span::new(&v)` views
/// all of it). Index i of the span is index `offset + i` of the container. The local part is
/// the container's owned elements that fall in the range (contiguous in local order under every
/// partition). Creating spans is local, not collective.
#[derive(Clone, Copy, Debug)]
pub struct Span<'a, T: Element> {
    base: &'a Distributed<T>,
    offset: usize,
    count: usize,
    /// The local part, as a range of the base's local elements.
    lo: usize,
    hi: usize,
}

impl<'a, T: Element> Span<'a, T> {
    /// A view of the whole container (R0009 for tensors).
    pub fn new(base: &'a Distributed<T>) -> Result<Self> {
        if base.shape().len() != 1 {
            return Err(DtlError::invalid("a span views a 1-D container"));
        }
        Ok(Self::make(base, 0, base.global_len()))
    }

    fn make(base: &'a Distributed<T>, offset: usize, count: usize) -> Self {
        let me = base.comm().rank();
        let l = base.layout();
        let lo = l.local_count_below(me, offset);
        let hi = l.local_count_below(me, offset + count);
        Span {
            base,
            offset,
            count,
            lo,
            hi,
        }
    }

    /// The sub-view `offset..offset+count` of this span (R0001 when it does not fit).
    pub fn subspan(&self, offset: usize, count: usize) -> Result<Span<'a, T>> {
        match offset.checked_add(count) {
            Some(end) if end <= self.count => {
                Ok(Self::make(self.base, self.offset + offset, count))
            }
            _ => Err(DtlError::OutOfBounds {
                index: i64::try_from(offset.saturating_add(count)).unwrap_or(i64::MAX),
                len: self.count,
                what: "span".into(),
            }),
        }
    }

    /// Offset of this span in the underlying container.
    pub fn offset(&self) -> usize {
        self.offset
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn local_len(&self) -> usize {
        self.hi - self.lo
    }

    /// Span index of this rank's first local element (None when this rank holds none).
    pub fn first_local_index(&self) -> Option<usize> {
        (self.hi > self.lo).then(|| self.base.global_of_local(self.lo) - self.offset)
    }

    fn check(&self, i: usize) -> Result<usize> {
        if i >= self.count {
            return Err(DtlError::OutOfBounds {
                index: i64::try_from(i).unwrap_or(i64::MAX),
                len: self.count,
                what: "span".into(),
            });
        }
        Ok(self.offset + i)
    }

    /// The rank owning span index `i`.
    pub fn owner(&self, i: usize) -> Result<usize> {
        self.base.owner(self.check(i)?)
    }

    /// One-sided read of span index `i`.
    pub fn get(&self, i: usize) -> Result<T> {
        self.base.get(self.check(i)?)
    }

    /// One-sided write of span index `i`.
    pub fn put(&self, i: usize, x: T) -> Result<()> {
        self.base.put(self.check(i)?, x)
    }

    pub fn base(&self) -> &'a Distributed<T> {
        self.base
    }
}

impl<T: Element> View<T> for Span<'_, T> {
    fn comm(&self) -> &CommRef {
        self.base.comm()
    }
    fn global_len(&self) -> usize {
        self.count
    }
    fn local(&self) -> &[T] {
        &self.base.local()[self.lo..self.hi]
    }
    fn global_of_local(&self, k: usize) -> usize {
        self.base.global_of_local(self.lo + k) - self.offset
    }
    fn is_replicated(&self) -> bool {
        self.base.is_replicated()
    }
}
