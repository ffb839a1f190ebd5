//! Distributed sample sort, and the local LSD radix sort it stands on.
//!
//! [`sort`] is collective: it samples the data on every rank, picks splitters from an allgather
//! of the samples, sends every element to the rank of its key range (one all-to-all), sorts
//! locally with a radix sort on order-preserving u64 keys, then moves elements once more so
//! that each rank ends with exactly its layout's share, globally sorted in global-index order.
//! The data is never gathered in one place.

use crate::comm::CommExt;
use crate::container::{Distributed, Source, transfer_from};
use crate::elem::Element;
use crate::error::{DtlError, Result, Site};
use crate::partition::Partition;

/// An order-preserving map of an element type to u64: `a < b` iff `key(a) < key(b)` (floats:
/// -inf < … < -0 < +0 < … < inf < NaN, every NaN mapping to the largest key).
pub trait SortKey: Element {
    fn key(self) -> u64;
    fn from_key(k: u64) -> Self;
}

macro_rules! key_unsigned {
    ($($t:ty),*) => {$(
        impl SortKey for $t {
            #[inline] fn key(self) -> u64 { self as u64 }
            #[inline] fn from_key(k: u64) -> Self { k as $t }
        }
    )*};
}
key_unsigned!(u8, u32, u64);

macro_rules! key_signed {
    ($($t:ty, $u:ty);*) => {$(
        impl SortKey for $t {
            #[inline] fn key(self) -> u64 { ((self as $u) ^ (1 << (<$u>::BITS - 1))) as u64 }
            #[inline] fn from_key(k: u64) -> Self { ((k as $u) ^ (1 << (<$u>::BITS - 1))) as $t }
        }
    )*};
}
key_signed!(i8, u8; i32, u32; i64, u64);

impl SortKey for bool {
    #[inline]
    fn key(self) -> u64 {
        u64::from(self)
    }
    #[inline]
    fn from_key(k: u64) -> Self {
        k != 0
    }
}

impl SortKey for f64 {
    #[inline]
    fn key(self) -> u64 {
        const S: u64 = 1 << 63;
        if self.is_nan() {
            return u64::MAX;
        }
        let b = self.to_bits();
        if b & S != 0 { !b } else { b | S }
    }
    #[inline]
    fn from_key(k: u64) -> Self {
        const S: u64 = 1 << 63;
        f64::from_bits(if k & S != 0 { k ^ S } else { !k })
    }
}

impl SortKey for f32 {
    #[inline]
    fn key(self) -> u64 {
        const S: u32 = 1 << 31;
        if self.is_nan() {
            return u64::from(u32::MAX);
        }
        let b = self.to_bits();
        u64::from(if b & S != 0 { !b } else { b | S })
    }
    #[inline]
    fn from_key(k: u64) -> Self {
        const S: u32 = 1 << 31;
        let k = k as u32;
        f32::from_bits(if k & S != 0 { k ^ S } else { !k })
    }
}

const BITS: usize = 8;
const RADIX: usize = 1 << BITS;
const MASK: u64 = RADIX as u64 - 1;
const PASSES: usize = 64_usize.div_ceil(BITS);

/// Sorts u64 keys ascending: an LSD radix sort with 8-bit digits that skips digits on which
/// all keys agree; `sort_unstable` for small inputs.
pub fn radix_sort_u64(keys: &mut Vec<u64>) {
    let n = keys.len();
    if n < 1024 {
        keys.sort_unstable();
        return;
    }
    let mut hist = vec![[0usize; RADIX]; PASSES];
    for &k in keys.iter() {
        for (p, h) in hist.iter_mut().enumerate() {
            h[((k >> (p * BITS)) & MASK) as usize] += 1;
        }
    }
    let mut buf = vec![0u64; n];
    for (p, h) in hist.iter_mut().enumerate() {
        if h.contains(&n) {
            continue;
        }
        let mut sum = 0;
        for c in h.iter_mut() {
            let t = *c;
            *c = sum;
            sum += t;
        }
        let shift = p * BITS;
        for &k in keys.iter() {
            let d = ((k >> shift) & MASK) as usize;
            buf[h[d]] = k;
            h[d] += 1;
        }
        std::mem::swap(keys, &mut buf);
    }
}

/// Local: sorts a slice ascending (or descending) by [`SortKey`] order.
pub fn sort_local<T: SortKey>(xs: &mut [T], descending: bool) {
    let flip = if descending { u64::MAX } else { 0 };
    let mut keys: Vec<u64> = xs.iter().map(|&x| x.key() ^ flip).collect();
    radix_sort_u64(&mut keys);
    for (x, &k) in xs.iter_mut().zip(&keys) {
        *x = T::from_key(k ^ flip);
    }
}

/// Samples each rank contributes per rank of the communicator.
const OVERSAMPLE: usize = 64;

/// Collective: sorts a 1-D container ascending (or descending) in global-index order, keeping
/// its partition: afterwards every rank holds exactly its layout's share. Floats sort by total
/// order with NaNs last (first when descending). Ghost cells are not refreshed. R0009 for
/// tensors.
#[track_caller]
pub fn sort<T: SortKey>(c: &mut Distributed<T>, descending: bool) -> Result<()> {
    let site = Site::caller();
    if c.shape().len() != 1 {
        return Err(DtlError::invalid("sort needs a 1-D container"));
    }
    let comm = c.comm().clone();
    let p = comm.size();
    if p == 1 || c.partition() == Partition::Replicated {
        sort_local(c.local_mut(), descending);
        return c.fence_at(site);
    }
    let flip = if descending { u64::MAX } else { 0 };
    let keys: Vec<u64> = c.local().iter().map(|&x| x.key() ^ flip).collect();

    // Splitters from evenly spaced samples of every rank's (unsorted) keys.
    let want = OVERSAMPLE * p;
    let n = keys.len();
    let samples: Vec<u64> = if n == 0 {
        Vec::new()
    } else {
        let s = want.min(n);
        (0..s).map(|i| keys[i * n / s]).collect()
    };
    let mut all = comm.allgatherv_vec(&samples)?;
    all.sort_unstable();
    let splitters: Vec<u64> = if all.is_empty() {
        Vec::new()
    } else {
        (1..p).map(|i| all[i * all.len() / p]).collect()
    };

    // Bucket by destination (count, then place), then one all-to-all.
    let dest = |k: u64| splitters.partition_point(|&s| s < k);
    let mut counts = vec![0usize; p];
    for &k in &keys {
        counts[dest(k)] += 1;
    }
    let mut starts = vec![0usize; p];
    for r in 1..p {
        starts[r] = starts[r - 1] + counts[r - 1];
    }
    let mut send = vec![0u64; n];
    for &k in &keys {
        let d = dest(k);
        send[starts[d]] = k;
        starts[d] += 1;
    }
    drop(keys);
    let (mut mine, _) = comm.alltoallv_vec(&send, &counts)?;
    drop(send);
    radix_sort_u64(&mut mine);
    let vals: Vec<T> = mine.iter().map(|&k| T::from_key(k ^ flip)).collect();
    drop(mine);

    // Rebalance: this rank holds sorted positions prefix[me]..prefix[me+1].
    let sizes = comm.allgather_counts(vals.len(), site)?;
    let mut prefix = vec![0usize; p + 1];
    for r in 0..p {
        prefix[r + 1] = prefix[r] + sizes[r];
    }
    let me = comm.rank();
    let runs = [(prefix[me], sizes[me])];
    let dst = *c.layout();
    transfer_from(
        &comm,
        &Source::Ranges(&prefix),
        &runs,
        &vals,
        &dst,
        c.local_mut(),
        1,
        site,
    )?;
    c.fence_at(site)
}

/// Collective: whether a 1-D container is sorted ascending (or descending) in global order
/// (one exchange of boundary elements).
#[track_caller]
pub fn is_sorted<T: SortKey>(c: &Distributed<T>, descending: bool) -> Result<bool> {
    let block;
    let c = if c.partition() == Partition::Block || c.partition() == Partition::Replicated {
        c
    } else {
        block = c.redistribute(Partition::Block)?;
        &block
    };
    let flip = if descending { u64::MAX } else { 0 };
    let xs = c.local();
    let local_ok = xs
        .windows(2)
        .all(|w| (w[0].key() ^ flip) <= (w[1].key() ^ flip));
    if c.partition() == Partition::Replicated {
        return Ok(local_ok);
    }
    let ends: [u64; 3] = match (xs.first(), xs.last()) {
        (Some(&a), Some(&b)) => [1, a.key() ^ flip, b.key() ^ flip],
        _ => [0, 0, 0],
    };
    let all = c.comm().allgatherv_vec(&ends)?;
    let mut prev: Option<u64> = None;
    let mut ok = true;
    for e in all.chunks(3) {
        if e[0] == 1 {
            if let Some(pv) = prev {
                ok &= pv <= e[1];
            }
            prev = Some(e[2]);
        }
    }
    let bad = u64::from(!(ok && local_ok));
    Ok(c.comm().allreduce_scalar(bad, crate::elem::ReduceOp::Max)? == 0)
}
