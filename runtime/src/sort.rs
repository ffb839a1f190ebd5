//! Distributed sample sort, and the local LSD radix sort it stands on.
//!
//! [`sort`] is collective: it samples the data on every rank, picks splitters from an allgather
//! of the samples, sends every element to the rank of its key range (one all-to-all), sorts
//! locally with a radix sort on order-preserving u64 keys, then moves elements once more so
//! that each rank ends with exactly its layout's share, globally sorted in global-index order.
//! The data is never gathered in one place.

use crate::comm::CommExt;
use crate::container::{Distributed, Source, transfer_from};
use crate::elem::{DType, Element, as_bytes, as_bytes_mut};
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

/// Widest MSD digit over memory-resident data: 2^11 buckets keep the scatter's write streams
/// within the TLB and L1.
const MAX_DIGIT: u32 = 11;
/// Widest digit once a bucket fits in L2 ([`IN_CACHE`] keys): wider digits leave buckets of a
/// few keys after one more pass.
const CACHE_DIGIT: u32 = 13;
const IN_CACHE: usize = 1 << 16;
/// Buckets this small are finished by a comparison sort.
const SMALL: usize = 64;

/// OR of `x ^ keys[0]` over all keys: the bits on which the keys do not all agree.
fn diff_bits(keys: &[u64]) -> u64 {
    let Some(&f) = keys.first() else { return 0 };
    keys.iter().fold(0, |d, &k| d | (k ^ f))
}

/// Sorts `a` ascending with `b` (same length) as scratch; the result ends in `a` when
/// `out_in_a`, else in `b`. `diff` is [`diff_bits`] of `a` when the caller already has it;
/// `stack` holds every level's bucket counts (grown on demand, one allocation for the sort).
///
/// MSD radix: the digit is the bits just below the highest bit on which the keys differ, so
/// constant leading bits cost nothing and every bucket is strictly smaller than its parent;
/// small buckets fall back to `sort_unstable`.
fn msd_sort(
    a: &mut [u64],
    b: &mut [u64],
    out_in_a: bool,
    diff: Option<u64>,
    stack: &mut Vec<usize>,
) {
    let n = a.len();
    debug_assert_eq!(n, b.len());
    if n <= SMALL {
        if out_in_a {
            a.sort_unstable();
        } else {
            b.copy_from_slice(a);
            b.sort_unstable();
        }
        return;
    }
    let diff = diff.unwrap_or_else(|| diff_bits(a));
    if diff == 0 {
        if !out_in_a {
            b.copy_from_slice(a);
        }
        return;
    }
    let hi = 63 - diff.leading_zeros(); // highest differing bit
    // About 4 keys a bucket, capped by where the data lives, never above the differing range.
    let cap = if n <= IN_CACHE {
        CACHE_DIGIT
    } else {
        MAX_DIGIT
    };
    let want = (usize::BITS - (n / 4).leading_zeros()).clamp(1, cap);
    let bits = want.min(hi + 1);
    let shift = hi + 1 - bits;
    let nb = 1usize << bits;
    let mask = (nb - 1) as u64;
    let base = stack.len();
    stack.resize(base + 2 * nb, 0);
    {
        let (count, pos) = stack[base..].split_at_mut(nb);
        for &k in a.iter() {
            count[((k >> shift) & mask) as usize] += 1;
        }
        let mut sum = 0;
        for (p, &c) in pos.iter_mut().zip(count.iter()) {
            *p = sum;
            sum += c;
        }
        for &k in a.iter() {
            let d = ((k >> shift) & mask) as usize;
            // Indexing stays checked: the bounds checks are cheap next to the scattered stores.
            b[pos[d]] = k;
            pos[d] += 1;
        }
    }
    let mut lo = 0;
    for d in 0..nb {
        let c = stack[base + d];
        if c > 0 {
            let r = lo..lo + c;
            msd_sort(&mut b[r.clone()], &mut a[r], !out_in_a, None, stack);
        }
        lo += c;
    }
    stack.truncate(base);
}

/// Sorts u64 keys ascending: an MSD radix sort that skips the leading bits on which all keys
/// agree and finishes small buckets with `sort_unstable`.
pub fn radix_sort_u64(keys: &mut [u64]) {
    if keys.len() <= SMALL {
        keys.sort_unstable();
        return;
    }
    let mut buf = vec![0u64; keys.len()];
    msd_sort(keys, &mut buf, true, None, &mut Vec::new());
}

/// Keys of `xs` (complemented when `descending`) and their [`diff_bits`], in one pass.
fn keys_of<T: SortKey>(xs: &[T], flip: u64) -> (Vec<u64>, u64) {
    let mut diff = 0;
    let f = xs.first().map_or(0, |&x| x.key() ^ flip);
    let keys = xs
        .iter()
        .map(|&x| {
            let k = x.key() ^ flip;
            diff |= k ^ f;
            k
        })
        .collect();
    (keys, diff)
}

/// Local: sorts a slice ascending (or descending) by [`SortKey`] order.
pub fn sort_local<T: SortKey>(xs: &mut [T], descending: bool) {
    let flip = if descending { u64::MAX } else { 0 };
    let (mut keys, diff) = keys_of(xs, flip);
    if diff == 0 {
        return;
    }
    let mut buf = vec![0u64; keys.len()];
    msd_sort(&mut keys, &mut buf, true, Some(diff), &mut Vec::new());
    for (x, &k) in xs.iter_mut().zip(&keys) {
        *x = T::from_key(k ^ flip);
    }
}

/// Merges sorted `a` and `b` into `out` (length `a.len() + b.len()`), branch-free in the
/// inner loop.
fn merge2(a: &[u64], b: &[u64], out: &mut [u64]) {
    debug_assert_eq!(a.len() + b.len(), out.len());
    let (mut i, mut j, mut k) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        let take_b = y < x;
        out[k] = if take_b { y } else { x };
        j += usize::from(take_b);
        i += usize::from(!take_b);
        k += 1;
    }
    out[k..k + a.len() - i].copy_from_slice(&a[i..]);
    k += a.len() - i;
    out[k..].copy_from_slice(&b[j..]);
}

/// Merges the sorted runs of `v` (lengths `runs`) into one sorted vector: pairwise rounds,
/// ping-ponging with one scratch buffer.
fn merge_runs(v: Vec<u64>, runs: &[usize], scratch: Vec<u64>) -> Vec<u64> {
    let mut bounds: Vec<usize> = Vec::with_capacity(runs.len() + 1);
    bounds.push(0);
    for &r in runs {
        if r > 0 {
            bounds.push(bounds[bounds.len() - 1] + r);
        }
    }
    if bounds.len() <= 2 {
        return v;
    }
    let mut src = v;
    let mut dst = scratch;
    dst.clear();
    dst.resize(src.len(), 0);
    while bounds.len() > 2 {
        let mut next = Vec::with_capacity(bounds.len() / 2 + 2);
        next.push(0);
        let mut i = 0;
        while i + 1 < bounds.len() {
            let (lo, mid) = (bounds[i], bounds[i + 1]);
            if i + 2 < bounds.len() {
                let hi = bounds[i + 2];
                merge2(&src[lo..mid], &src[mid..hi], &mut dst[lo..hi]);
                next.push(hi);
                i += 2;
            } else {
                dst[lo..mid].copy_from_slice(&src[lo..mid]);
                next.push(mid);
                i += 1;
            }
        }
        std::mem::swap(&mut src, &mut dst);
        bounds = next;
    }
    src
}

/// Samples each rank contributes per rank of the communicator.
const OVERSAMPLE: usize = 64;

/// Collective: sorts a 1-D container ascending (or descending) in global-index order, keeping
/// its partition: afterwards every rank holds exactly its layout's share. Floats sort by total
/// order with NaNs last (first when descending). Ghost cells are not refreshed. R0009 for
/// tensors.
///
/// Every rank radix-sorts its own keys, splitters come from regular samples of the sorted
/// runs, one all-to-all sends each rank its key range as P sorted runs, which are merged; a
/// final exchange (only the boundary overhang for block layouts) restores the layout.
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
    let (mut keys, diff) = keys_of(c.local(), flip);
    let n = keys.len();
    // Scratch for the radix sort, then the receive buffer: the same pages throughout.
    let mut buf = vec![0u64; n];
    if n > SMALL {
        msd_sort(&mut keys, &mut buf, true, Some(diff), &mut Vec::new());
    } else {
        keys.sort_unstable();
    }

    // Splitters from regular samples of every rank's sorted keys.
    let want = OVERSAMPLE * p;
    let samples: Vec<u64> = if n == 0 {
        Vec::new()
    } else {
        let s = want.min(n);
        (0..s).map(|i| keys[i * n / s + n / (2 * s)]).collect()
    };
    let mut all = comm.allgatherv_vec(&samples)?;
    all.sort_unstable();
    // Cut points: rank r gets the keys in [splitter r-1, splitter r).
    let mut counts = vec![0usize; p];
    if !all.is_empty() {
        let mut prev = 0;
        for (r, c) in counts.iter_mut().enumerate().take(p - 1) {
            let s = all[(r + 1) * all.len() / p];
            let cut = prev + keys[prev..].partition_point(|&k| k < s);
            *c = cut - prev;
            prev = cut;
        }
        counts[p - 1] = n - prev;
    } else {
        counts[p - 1] = n;
    }
    let sc: Vec<u64> = counts.iter().map(|&c| c as u64).collect();
    let mut rc = vec![0u64; p];
    let ones = vec![1; p];
    comm.alltoallv(
        as_bytes(&sc),
        &ones,
        as_bytes_mut(&mut rc),
        &ones,
        DType::U64,
        site,
    )?;
    let rcounts: Vec<usize> = rc.iter().map(|&c| c as usize).collect();
    let mut recv = buf;
    recv.clear();
    recv.resize(rcounts.iter().sum(), 0);
    comm.alltoallv(
        as_bytes(&keys),
        &counts,
        as_bytes_mut(&mut recv),
        &rcounts,
        DType::U64,
        site,
    )?;
    let mine = merge_runs(recv, &rcounts, keys);

    // Rebalance: this rank holds sorted positions prefix[me]..prefix[me+1].
    let sizes = comm.allgather_counts(mine.len(), site)?;
    let mut prefix = vec![0usize; p + 1];
    for r in 0..p {
        prefix[r + 1] = prefix[r] + sizes[r];
    }
    let me = comm.rank();
    let dst = *c.layout();
    if dst.partition() == Partition::Block {
        return rebalance_block(c, &mine, &prefix, flip, site);
    }
    let vals: Vec<T> = mine.iter().map(|&k| T::from_key(k ^ flip)).collect();
    drop(mine);
    let runs = [(prefix[me], sizes[me])];
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

/// The final exchange for a block layout: this rank's sorted keys `mine` hold global positions
/// `prefix[me]..prefix[me+1]`; the part inside its own block is decoded straight into place,
/// only the overhang travels (one all-to-all of contiguous runs).
fn rebalance_block<T: SortKey>(
    c: &mut Distributed<T>,
    mine: &[u64],
    prefix: &[usize],
    flip: u64,
    site: Site,
) -> Result<()> {
    let comm = c.comm().clone();
    let p = comm.size();
    let me = comm.rank();
    let dst = *c.layout();
    let (s_lo, s_hi) = (prefix[me], prefix[me + 1]);
    let overlap = |r: usize| -> (usize, usize) {
        let b = dst.block_range(r).unwrap_or(0..0);
        let lo = b.start.max(s_lo);
        let hi = b.end.min(s_hi);
        if hi > lo { (lo, hi) } else { (s_lo, s_lo) }
    };
    let mut counts = vec![0usize; p];
    let mut send: Vec<T> = Vec::new();
    for (r, cnt) in counts.iter_mut().enumerate() {
        if r == me {
            continue;
        }
        let (lo, hi) = overlap(r);
        *cnt = hi - lo;
        send.extend(
            mine[lo - s_lo..hi - s_lo]
                .iter()
                .map(|&k| T::from_key(k ^ flip)),
        );
    }
    let (recv, rcounts) = comm.alltoallv_vec(&send, &counts)?;
    drop(send);
    let below: usize = rcounts[..me].iter().sum();
    let (lo, hi) = overlap(me);
    let out = c.local_mut();
    out[..below].copy_from_slice(&recv[..below]);
    let own = hi - lo;
    for (x, &k) in out[below..below + own]
        .iter_mut()
        .zip(&mine[lo - s_lo..hi - s_lo])
    {
        *x = T::from_key(k ^ flip);
    }
    out[below + own..].copy_from_slice(&recv[below..]);
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
