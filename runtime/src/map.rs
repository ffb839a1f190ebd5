//! The distributed hash map (`map<K, V>`): keys hashed to owner ranks, updates routed to the
//! owner at `sync`, lookups of any key without a collective (one-sided reads of the owner's
//! open-addressing table).
//!
//! `insert`, `atomic_add` and `erase` are buffered per destination and applied at [`DistMap::sync`]
//! (collective: one all-to-all of the pending operations, applied in (source rank, issue
//! order)), so they become visible after it. `lookup`/`contains` read the owner's shard through
//! one-sided windows (linear probing); the owner's own keys are read locally. Tables grow at
//! sync, where the windows are re-created.

use crate::algo::Num;
use crate::comm::{CommExt, CommRef, WinId, WinRead};
use crate::container::{alloc_vec, create_window};
use crate::elem::as_bytes_mut;
use crate::error::{DtlError, Result, Site};
use crate::sort::SortKey;

const EMPTY: u8 = 0;
const FULL: u8 = 1;
const TOMB: u8 = 2;

const OP_INSERT: u64 = 0;
const OP_ADD: u64 = 1;
const OP_ERASE: u64 = 2;

/// splitmix64's finaliser: the fixed hash of a key.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One rank's open-addressing table.
struct Shard<K, V> {
    keys: Vec<K>,
    occ: Vec<u8>,
    vals: Vec<V>,
    len: usize,
    tombs: usize,
}

impl<K: SortKey, V: Num> Shard<K, V> {
    fn with_capacity(cap: usize) -> Result<Self> {
        Ok(Shard {
            keys: alloc_vec(cap, K::ZERO)?,
            occ: alloc_vec(cap, EMPTY)?,
            vals: alloc_vec(cap, V::ZERO)?,
            len: 0,
            tombs: 0,
        })
    }

    fn cap(&self) -> usize {
        self.occ.len()
    }

    /// The slot holding `k`, or None.
    fn find(&self, k: K, h: u64) -> Option<usize> {
        let cap = self.cap();
        if cap == 0 {
            return None;
        }
        let mut s = slot_of(h, cap);
        for _ in 0..cap {
            match self.occ[s] {
                EMPTY => return None,
                FULL if self.keys[s] == k => return Some(s),
                _ => {}
            }
            s = (s + 1) & (cap - 1);
        }
        None
    }

    /// The slot for `k`: where it is, or the first free slot on its probe path.
    fn slot_for(&mut self, k: K, h: u64) -> usize {
        let cap = self.cap();
        let mut s = slot_of(h, cap);
        let mut free = None;
        for _ in 0..cap {
            match self.occ[s] {
                EMPTY => return free.unwrap_or(s),
                FULL if self.keys[s] == k => return s,
                TOMB if free.is_none() => free = Some(s),
                _ => {}
            }
            s = (s + 1) & (cap - 1);
        }
        free.unwrap_or(s)
    }

    fn apply(&mut self, op: u64, k: K, v: V) {
        let h = mix(k.key());
        if op == OP_ERASE {
            if let Some(s) = self.find(k, h) {
                self.occ[s] = TOMB;
                self.len -= 1;
                self.tombs += 1;
            }
            return;
        }
        let s = self.slot_for(k, h);
        if self.occ[s] != FULL {
            if self.occ[s] == TOMB {
                self.tombs -= 1;
            }
            self.occ[s] = FULL;
            self.keys[s] = k;
            self.vals[s] = V::ZERO;
            self.len += 1;
        }
        self.vals[s] = if op == OP_ADD { self.vals[s].add(v) } else { v };
    }

    fn rehash(&mut self, cap: usize) -> Result<()> {
        let mut fresh = Shard::with_capacity(cap)?;
        for s in 0..self.cap() {
            if self.occ[s] == FULL {
                fresh.apply(OP_INSERT, self.keys[s], self.vals[s]);
            }
        }
        *self = fresh;
        Ok(())
    }
}

#[inline]
fn slot_of(h: u64, cap: usize) -> usize {
    // The owner uses h % P; the slot uses the high bits so the two stay independent.
    ((h >> 32) ^ (h << 7)) as usize & (cap - 1)
}

/// A distributed hash map from integer keys to scalar values. Construction, `sync`, `clear`,
/// `global_len` and dropping the map are collective.
pub struct DistMap<K: SortKey, V: Num> {
    comm: CommRef,
    shard: Shard<K, V>,
    /// Every rank's table capacity, as of the last sync.
    caps: Vec<usize>,
    wins: Option<[WinId; 3]>,
    /// Pending operations per destination: (op, key bits) pairs and values.
    ops: Vec<Vec<u64>>,
    vals: Vec<Vec<V>>,
}

impl<K: SortKey, V: Num> std::fmt::Debug for DistMap<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DistMap")
            .field("local_len", &self.shard.len)
            .field("caps", &self.caps)
            .finish()
    }
}

const MIN_CAP: usize = 16;

impl<K: SortKey, V: Num> DistMap<K, V> {
    /// Collective: an empty map over the ranks of `comm`.
    #[track_caller]
    pub fn new(comm: &CommRef) -> Result<Self> {
        if !K::DTYPE.is_integer() {
            return Err(DtlError::invalid(format!(
                "map keys must be integers, not {}",
                K::DTYPE
            )));
        }
        let p = comm.size();
        let mut m = DistMap {
            comm: comm.clone(),
            shard: Shard::with_capacity(MIN_CAP)?,
            caps: vec![MIN_CAP; p],
            wins: None,
            ops: vec![Vec::new(); p],
            vals: vec![Vec::new(); p],
        };
        m.open_windows(Site::caller())?;
        Ok(m)
    }

    fn open_windows(&mut self, site: Site) -> Result<()> {
        let a = create_window(&self.comm, &mut self.shard.keys, site)?;
        let b = create_window(&self.comm, &mut self.shard.occ, site)?;
        let c = create_window(&self.comm, &mut self.shard.vals, site)?;
        self.wins = Some([a, b, c]);
        Ok(())
    }

    fn close_windows(&mut self, site: Site) -> Result<()> {
        if let Some(ws) = self.wins.take() {
            for w in ws {
                if let Err(e) = self.comm.win_free(w, site) {
                    // Another rank may still reach the tables: never free them.
                    std::mem::forget(std::mem::replace(
                        &mut self.shard,
                        Shard {
                            keys: Vec::new(),
                            occ: Vec::new(),
                            vals: Vec::new(),
                            len: 0,
                            tombs: 0,
                        },
                    ));
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    pub fn comm(&self) -> &CommRef {
        &self.comm
    }

    /// The rank that owns key `k`.
    pub fn owner(&self, k: K) -> usize {
        (mix(k.key()) % self.comm.size() as u64) as usize
    }

    fn push(&mut self, op: u64, k: K, v: V) {
        let d = self.owner(k);
        self.ops[d].push(op);
        self.ops[d].push(k.key());
        self.vals[d].push(v);
    }

    /// Buffers `m[k] = v`; visible after the next [`DistMap::sync`]. Not collective.
    pub fn insert(&mut self, k: K, v: V) {
        self.push(OP_INSERT, k, v);
    }

    /// Buffers `m[k] += x` (a missing key counts as 0); visible after the next sync.
    pub fn atomic_add(&mut self, k: K, x: V) {
        self.push(OP_ADD, k, x);
    }

    /// Buffers the removal of `k`; visible after the next sync.
    pub fn erase(&mut self, k: K) {
        self.push(OP_ERASE, k, V::ZERO);
    }

    /// Operations buffered on this rank and not yet synced.
    pub fn pending(&self) -> usize {
        self.vals.iter().map(Vec::len).sum()
    }

    /// Collective: routes every rank's buffered operations to the key owners (one all-to-all)
    /// and applies them in (source rank, issue order); grows tables as needed.
    #[track_caller]
    pub fn sync(&mut self) -> Result<()> {
        let site = Site::caller();
        let p = self.comm.size();
        let counts: Vec<usize> = self.vals.iter().map(Vec::len).collect();
        let ops: Vec<u64> = self.ops.concat();
        let vals: Vec<V> = self.vals.concat();
        let op_counts: Vec<usize> = counts.iter().map(|c| 2 * c).collect();
        let (in_ops, _) = self.comm.alltoallv_vec(&ops, &op_counts)?;
        let (in_vals, _) = self.comm.alltoallv_vec(&vals, &counts)?;
        for r in 0..p {
            self.ops[r].clear();
            self.vals[r].clear();
        }
        // Capacity that keeps the load at most one half even if every op inserts a new key.
        let need = (self.shard.len + self.shard.tombs + in_vals.len()).saturating_mul(2);
        let mut cap = self.shard.cap();
        if need > cap {
            cap = need.next_power_of_two().max(MIN_CAP);
        }
        let caps = self.comm.allgather_counts(cap, site)?;
        if caps != self.caps {
            self.close_windows(site)?;
            if cap != self.shard.cap() {
                self.shard.rehash(cap)?;
            }
            self.apply_all(&in_ops, &in_vals)?;
            self.open_windows(site)?;
            self.caps = caps;
        } else {
            self.apply_all(&in_ops, &in_vals)?;
            // No rank may read a table that another is still writing.
            self.comm.barrier(site)?;
        }
        Ok(())
    }

    fn apply_all(&mut self, ops: &[u64], vals: &[V]) -> Result<()> {
        for (pair, &v) in ops.chunks_exact(2).zip(vals) {
            let k = K::from_key(pair[1]);
            if k.key() != pair[1] {
                return Err(DtlError::invalid("corrupt map operation"));
            }
            self.shard.apply(pair[0], k, v);
        }
        Ok(())
    }

    /// The value of `k`, or `default` when absent (as of the last sync). Not collective: keys
    /// owned by other ranks are read one-sidedly.
    pub fn lookup(&self, k: K, default: V) -> Result<V> {
        Ok(self.find(k)?.unwrap_or(default))
    }

    /// Whether `k` is present (as of the last sync). Not collective.
    pub fn contains(&self, k: K) -> Result<bool> {
        Ok(self.find(k)?.is_some())
    }

    fn find(&self, k: K) -> Result<Option<V>> {
        let h = mix(k.key());
        let o = (h % self.comm.size() as u64) as usize;
        if o == self.comm.rank() {
            return Ok(self.shard.find(k, h).map(|s| self.shard.vals[s]));
        }
        let [wk, wo, wv] = self
            .wins
            .ok_or_else(|| DtlError::invalid("map has no windows"))?;
        let cap = self.caps[o];
        if cap == 0 {
            return Ok(None);
        }
        let mut s = slot_of(h, cap);
        for _ in 0..cap {
            // A slot's state, key and value in one overlapped read (one round trip on MPI).
            let (mut occ, mut key, mut v) = ([0u8], [K::ZERO], [V::ZERO]);
            self.comm.win_get_many(&mut [
                WinRead {
                    win: wo,
                    target: o,
                    offset: s,
                    buf: as_bytes_mut(&mut occ),
                },
                WinRead {
                    win: wk,
                    target: o,
                    offset: s * K::DTYPE.size(),
                    buf: as_bytes_mut(&mut key),
                },
                WinRead {
                    win: wv,
                    target: o,
                    offset: s * V::DTYPE.size(),
                    buf: as_bytes_mut(&mut v),
                },
            ])?;
            match occ[0] {
                EMPTY => return Ok(None),
                FULL if key[0] == k => return Ok(Some(v[0])),
                _ => {}
            }
            s = (s + 1) & (cap - 1);
        }
        Ok(None)
    }

    /// Keys this rank owns.
    pub fn local_len(&self) -> usize {
        self.shard.len
    }

    /// Collective: the number of keys over all ranks.
    #[track_caller]
    pub fn global_len(&self) -> Result<usize> {
        Ok(self
            .comm
            .allreduce_scalar(self.shard.len as u64, crate::elem::ReduceOp::Sum)?
            as usize)
    }

    /// This rank's (key, value) pairs, in table order.
    pub fn local_entries(&self) -> Vec<(K, V)> {
        (0..self.shard.cap())
            .filter(|&s| self.shard.occ[s] == FULL)
            .map(|s| (self.shard.keys[s], self.shard.vals[s]))
            .collect()
    }

    /// Collective: removes every key on every rank and drops pending operations.
    #[track_caller]
    pub fn clear(&mut self) -> Result<()> {
        let site = Site::caller();
        for r in 0..self.ops.len() {
            self.ops[r].clear();
            self.vals[r].clear();
        }
        // Everyone must have stopped reading before the tables are wiped.
        self.comm.barrier(site)?;
        self.shard.occ.fill(EMPTY);
        self.shard.len = 0;
        self.shard.tombs = 0;
        self.comm.barrier(site)
    }
}

impl<K: SortKey, V: Num> Drop for DistMap<K, V> {
    /// Collective (frees the windows); leaks the tables when unwinding or when freeing fails.
    fn drop(&mut self) {
        if std::thread::panicking() {
            if self.wins.is_some() {
                let s = std::mem::replace(
                    &mut self.shard,
                    Shard {
                        keys: Vec::new(),
                        occ: Vec::new(),
                        vals: Vec::new(),
                        len: 0,
                        tombs: 0,
                    },
                );
                std::mem::forget(s);
            }
            return;
        }
        let _ = self.close_windows(Site::NONE);
    }
}
