//! The rank-local array (`local<T>`): an ordinary buffer owned by one rank, with checked indexing.

use std::ops::{Deref, DerefMut};

use crate::container::alloc_vec;
use crate::elem::Element;
use crate::error::{DtlError, Result};

/// A rank-local array. Creating one is not a collective. Indexing through [`LocalArray::get`]
/// and [`LocalArray::set`] is checked (R0001); it dereferences to a slice for bulk work.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LocalArray<T: Element> {
    data: Vec<T>,
}

impl<T: Element> LocalArray<T> {
    /// `n` zeros (R0006 for a negative or too large `n`).
    pub fn new(n: i64) -> Result<Self> {
        Self::filled(n, T::ZERO)
    }

    /// `n` copies of `x`.
    pub fn filled(n: i64, x: T) -> Result<Self> {
        let n = DtlError::check_size(n, "local array length")?;
        Ok(LocalArray {
            data: alloc_vec(n, x)?,
        })
    }

    pub fn from_vec(data: Vec<T>) -> Self {
        LocalArray { data }
    }

    pub fn into_vec(self) -> Vec<T> {
        self.data
    }

    fn check(&self, i: i64) -> Result<usize> {
        if i < 0 || i as u64 >= self.data.len() as u64 {
            return Err(DtlError::OutOfBounds {
                index: i,
                len: self.data.len(),
                what: "local array".into(),
            });
        }
        Ok(i as usize)
    }

    /// Checked read (R0001).
    pub fn get(&self, i: i64) -> Result<T> {
        Ok(self.data[self.check(i)?])
    }

    /// Checked write (R0001).
    pub fn set(&mut self, i: i64, x: T) -> Result<()> {
        let i = self.check(i)?;
        self.data[i] = x;
        Ok(())
    }
}

impl<T: Element> Deref for LocalArray<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.data
    }
}

impl<T: Element> DerefMut for LocalArray<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.data
    }
}

impl<T: Element> From<Vec<T>> for LocalArray<T> {
    fn from(data: Vec<T>) -> Self {
        LocalArray { data }
    }
}
