//! Partitions and the normative index math of LANGUAGE.md §6: who owns which global index.
//!
//! A [`Layout`] is a global length `n`, a rank count `P` and a [`Partition`]. Every query here is
//! local (no communication) and uniform: every rank computes the same answer for the same
//! arguments.
//!
//! - **block**: rank r owns `n/P + (r < n%P)` consecutive elements, the first ranks taking the
//!   remainder;
//! - **cyclic**: rank r owns r, r+P, r+2P, …;
//! - **block_cyclic(b)**: blocks of b consecutive elements dealt round-robin (block k to rank
//!   k % P);
//! - **replicated**: every rank holds all n elements.
//!
//! On every rank, the local order of owned elements is increasing global order, so the owned
//! global indices form a few [`Run`]s of consecutive indices (one for block, one per element for
//! cyclic, one per block for block-cyclic).

use std::fmt;

use crate::error::{DtlError, Result};

/// How a distributed container's global index space is split across ranks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Partition {
    /// Consecutive blocks; the first `n % P` ranks own one element more.
    #[default]
    Block,
    /// Element i on rank i % P.
    Cyclic,
    /// Blocks of the given size dealt round-robin.
    BlockCyclic(usize),
    /// Every rank holds every element.
    Replicated,
}

impl Partition {
    /// The dtl spelling (`block`, `cyclic`, `block_cyclic(8)`, `replicated`).
    pub fn name(&self) -> String {
        match self {
            Partition::Block => "block".into(),
            Partition::Cyclic => "cyclic".into(),
            Partition::BlockCyclic(b) => format!("block_cyclic({b})"),
            Partition::Replicated => "replicated".into(),
        }
    }

    /// Checks the partition's own parameters (block size > 0).
    pub fn check(&self) -> Result<()> {
        if let Partition::BlockCyclic(0) = self {
            return Err(DtlError::invalid(
                "block_cyclic block size must be positive",
            ));
        }
        Ok(())
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// A maximal set of consecutive global indices held consecutively on one rank:
/// local `local..local+len` are global `global..global+len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    pub local: usize,
    pub global: usize,
    pub len: usize,
}

/// A global length, a rank count and a partition: the whole of the index math.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Layout {
    n: usize,
    nranks: usize,
    partition: Partition,
}

impl Layout {
    /// A layout of `n` elements over `nranks` ranks. `n` beyond the runtime's size limit is
    /// R0006, `nranks == 0` or `block_cyclic(0)` is R0009.
    pub fn new(n: usize, nranks: usize, partition: Partition) -> Result<Layout> {
        let n = DtlError::check_size(i64::try_from(n).unwrap_or(i64::MAX), "container length")?;
        Self::build(n, nranks, partition)
    }

    /// Like [`Layout::new`] from a signed length as a program gives it: negative is R0006.
    pub fn checked(n: i64, nranks: usize, partition: Partition) -> Result<Layout> {
        let n = DtlError::check_size(n, "container length")?;
        Self::build(n, nranks, partition)
    }

    fn build(n: usize, nranks: usize, partition: Partition) -> Result<Layout> {
        if nranks == 0 {
            return Err(DtlError::invalid("a layout needs at least one rank"));
        }
        partition.check()?;
        Ok(Layout {
            n,
            nranks,
            partition,
        })
    }

    /// The global length.
    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    pub fn nranks(&self) -> usize {
        self.nranks
    }

    pub fn partition(&self) -> Partition {
        self.partition
    }

    /// The same partition and rank count with another global length.
    pub fn with_len(&self, n: usize) -> Result<Layout> {
        Layout::new(n, self.nranks, self.partition)
    }

    /// Number of elements rank `r` holds (`r` must be `< nranks`; larger ranks hold nothing).
    pub fn local_len(&self, r: usize) -> usize {
        if r >= self.nranks {
            return 0;
        }
        let (n, p) = (self.n, self.nranks);
        match self.partition {
            Partition::Block | Partition::Cyclic => n / p + usize::from(r < n % p),
            Partition::BlockCyclic(b) => {
                let full = n / b;
                let rem = n % b;
                let mut len = (full / p + usize::from(r < full % p)) * b;
                if rem > 0 && full % p == r {
                    len += rem;
                }
                len
            }
            Partition::Replicated => n,
        }
    }

    /// The largest local length over all ranks.
    pub fn max_local_len(&self) -> usize {
        match self.partition {
            Partition::Block | Partition::Cyclic => self.n.div_ceil(self.nranks),
            Partition::BlockCyclic(b) => self.n.div_ceil(b).div_ceil(self.nranks) * b,
            Partition::Replicated => self.n,
        }
    }

    /// First global index of rank `r` under block (and replicated: 0). Other partitions: R0009.
    pub fn local_offset(&self, r: usize) -> Result<usize> {
        match self.partition {
            Partition::Block => Ok(self.block_offset(r)),
            Partition::Replicated => Ok(0),
            p => Err(DtlError::invalid(format!(
                "local_offset needs a block partition, not {p}"
            ))),
        }
    }

    fn block_offset(&self, r: usize) -> usize {
        let r = r.min(self.nranks);
        let (q, m) = (self.n / self.nranks, self.n % self.nranks);
        r * q + r.min(m)
    }

    fn check_index(&self, g: usize) -> Result<()> {
        if g >= self.n {
            return Err(DtlError::OutOfBounds {
                index: i64::try_from(g).unwrap_or(i64::MAX),
                len: self.n,
                what: "distributed container".into(),
            });
        }
        Ok(())
    }

    /// The rank that owns global index `g` (R0001 when out of range). Under replicated every
    /// rank holds `g`; the canonical owner is rank 0.
    pub fn owner(&self, g: usize) -> Result<usize> {
        self.check_index(g)?;
        Ok(self.owner_unchecked(g))
    }

    /// [`Layout::owner`] for an index known to be in range.
    #[inline]
    pub fn owner_unchecked(&self, g: usize) -> usize {
        let p = self.nranks;
        match self.partition {
            Partition::Block => {
                let (q, m) = (self.n / p, self.n % p);
                let big = m * (q + 1);
                if g < big {
                    g / (q + 1)
                } else {
                    m + (g - big) / q.max(1)
                }
            }
            Partition::Cyclic => g % p,
            Partition::BlockCyclic(b) => (g / b) % p,
            Partition::Replicated => 0,
        }
    }

    /// `(owner, local index on the owner)` of global index `g` (R0001 when out of range).
    pub fn local_index(&self, g: usize) -> Result<(usize, usize)> {
        self.check_index(g)?;
        Ok(self.local_index_unchecked(g))
    }

    /// [`Layout::local_index`] for an index known to be in range.
    #[inline]
    pub fn local_index_unchecked(&self, g: usize) -> (usize, usize) {
        let p = self.nranks;
        match self.partition {
            Partition::Block => {
                let r = self.owner_unchecked(g);
                (r, g - self.block_offset(r))
            }
            Partition::Cyclic => (g % p, g / p),
            Partition::BlockCyclic(b) => {
                let blk = g / b;
                (blk % p, (blk / p) * b + g % b)
            }
            Partition::Replicated => (0, g),
        }
    }

    /// The global index of local element `local` of rank `r` (R0001 when `local` is not below
    /// `local_len(r)`, R0004 for a bad rank).
    pub fn global_index(&self, r: usize, local: usize) -> Result<usize> {
        DtlError::check_rank(i64::try_from(r).unwrap_or(i64::MAX), self.nranks, "rank")?;
        let len = self.local_len(r);
        if local >= len {
            return Err(DtlError::OutOfBounds {
                index: i64::try_from(local).unwrap_or(i64::MAX),
                len,
                what: format!("local part of rank {r}"),
            });
        }
        Ok(self.global_index_unchecked(r, local))
    }

    /// [`Layout::global_index`] for arguments known to be in range.
    #[inline]
    pub fn global_index_unchecked(&self, r: usize, local: usize) -> usize {
        let p = self.nranks;
        match self.partition {
            Partition::Block => self.block_offset(r) + local,
            Partition::Cyclic => local * p + r,
            Partition::BlockCyclic(b) => ((local / b) * p + r) * b + local % b,
            Partition::Replicated => local,
        }
    }

    /// Whether rank `r` holds global index `g` (under replicated: every rank, every index).
    pub fn is_local(&self, r: usize, g: usize) -> bool {
        g < self.n && (self.partition == Partition::Replicated || self.owner_unchecked(g) == r)
    }

    /// The runs of consecutive global indices rank `r` holds, in local order.
    pub fn runs(&self, r: usize) -> Runs {
        let len = self.local_len(r);
        let step = match self.partition {
            Partition::Block | Partition::Replicated => len.max(1),
            Partition::Cyclic => 1,
            Partition::BlockCyclic(b) => b,
        };
        Runs {
            layout: *self,
            rank: r,
            local: 0,
            len,
            step,
        }
    }

    /// The global indices rank `r` holds, in local (= increasing global) order.
    pub fn global_indices(&self, r: usize) -> impl Iterator<Item = usize> + use<> {
        self.runs(r)
            .flat_map(|run| run.global..run.global + run.len)
    }

    /// The block range of rank `r` (block and replicated only).
    pub fn block_range(&self, r: usize) -> Option<std::ops::Range<usize>> {
        match self.partition {
            Partition::Block => {
                let o = self.block_offset(r);
                Some(o..o + self.local_len(r))
            }
            Partition::Replicated => Some(0..self.n),
            _ => None,
        }
    }

    /// Number of local elements of rank `r` whose global index is below `g`.
    pub fn local_count_below(&self, r: usize, g: usize) -> usize {
        let g = g.min(self.n);
        let p = self.nranks;
        match self.partition {
            Partition::Block => {
                let o = self.block_offset(r);
                g.saturating_sub(o).min(self.local_len(r))
            }
            Partition::Cyclic => {
                if g > r {
                    (g - r).div_ceil(p)
                } else {
                    0
                }
            }
            Partition::BlockCyclic(b) => {
                // Whole blocks below g, then the part of g's block.
                let blk = g / b;
                let whole = blk / p + usize::from(r < blk % p);
                let part = if blk % p == r { g % b } else { 0 };
                whole * b + part
            }
            Partition::Replicated => g,
        }
    }
}

/// Iterator over the [`Run`]s of one rank.
#[derive(Clone, Debug)]
pub struct Runs {
    layout: Layout,
    rank: usize,
    local: usize,
    len: usize,
    step: usize,
}

impl Iterator for Runs {
    type Item = Run;

    fn next(&mut self) -> Option<Run> {
        if self.local >= self.len {
            return None;
        }
        let take = self.step.min(self.len - self.local);
        let global = self.layout.global_index_unchecked(self.rank, self.local);
        let run = Run {
            local: self.local,
            global,
            len: take,
        };
        self.local += take;
        Some(run)
    }
}
