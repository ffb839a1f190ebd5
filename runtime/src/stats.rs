//! Per-rank communication counters that tests and benchmarks can assert on.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::comm::CollKind;

const KINDS: usize = 15;

fn kind_index(k: CollKind) -> usize {
    match k {
        CollKind::Barrier => 0,
        CollKind::Broadcast => 1,
        CollKind::Reduce => 2,
        CollKind::Allreduce => 3,
        CollKind::Gatherv => 4,
        CollKind::Scatterv => 5,
        CollKind::Allgatherv => 6,
        CollKind::Alltoallv => 7,
        CollKind::Scan => 8,
        CollKind::Exscan => 9,
        CollKind::Split => 10,
        CollKind::Dup => 11,
        CollKind::WinCreate => 12,
        CollKind::WinFence => 13,
        CollKind::WinFree => 14,
    }
}

/// `c += x` by the counter's single writer (see [`Stats`]).
fn add(c: &AtomicU64, x: u64) {
    c.store(c.load(Relaxed).wrapping_add(x), Relaxed);
}

/// Counters of one rank. Each is written only by the rank's own operations, so an update is a
/// relaxed load and store (no locked read-modify-write: a collective of one f64 is a few hundred
/// nanoseconds, and two locked adds were a measurable part of it); other threads read them.
/// Two threads driving one rank at once could lose a count, never corrupt one.
#[derive(Debug, Default)]
pub struct Stats {
    messages_sent: AtomicU64,
    bytes_sent: AtomicU64,
    messages_received: AtomicU64,
    bytes_received: AtomicU64,
    rma_ops: AtomicU64,
    rma_bytes: AtomicU64,
    collective_bytes: AtomicU64,
    collectives: [AtomicU64; KINDS],
}

/// A plain copy of the counters at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub messages_sent: u64,
    pub bytes_sent: u64,
    pub messages_received: u64,
    pub bytes_received: u64,
    pub rma_ops: u64,
    pub rma_bytes: u64,
    /// Bytes this rank contributed to collectives.
    pub collective_bytes: u64,
    collectives: [u64; KINDS],
}

impl Snapshot {
    /// How many collectives of `kind` this rank completed.
    pub fn collectives(&self, kind: CollKind) -> u64 {
        self.collectives[kind_index(kind)]
    }

    /// Total collectives of every kind.
    pub fn total_collectives(&self) -> u64 {
        self.collectives.iter().sum()
    }

    /// Counter differences `self - earlier`.
    pub fn since(&self, earlier: &Snapshot) -> Snapshot {
        let mut c = [0; KINDS];
        for (i, v) in c.iter_mut().enumerate() {
            *v = self.collectives[i] - earlier.collectives[i];
        }
        Snapshot {
            messages_sent: self.messages_sent - earlier.messages_sent,
            bytes_sent: self.bytes_sent - earlier.bytes_sent,
            messages_received: self.messages_received - earlier.messages_received,
            bytes_received: self.bytes_received - earlier.bytes_received,
            rma_ops: self.rma_ops - earlier.rma_ops,
            rma_bytes: self.rma_bytes - earlier.rma_bytes,
            collective_bytes: self.collective_bytes - earlier.collective_bytes,
            collectives: c,
        }
    }
}

impl Stats {
    pub fn record_send(&self, bytes: usize) {
        add(&self.messages_sent, 1);
        add(&self.bytes_sent, bytes as u64);
    }

    pub fn record_recv(&self, bytes: usize) {
        add(&self.messages_received, 1);
        add(&self.bytes_received, bytes as u64);
    }

    pub fn record_rma(&self, bytes: usize) {
        add(&self.rma_ops, 1);
        add(&self.rma_bytes, bytes as u64);
    }

    pub fn record_collective(&self, kind: CollKind, bytes: usize) {
        add(&self.collectives[kind_index(kind)], 1);
        add(&self.collective_bytes, bytes as u64);
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut c = [0; KINDS];
        for (i, v) in c.iter_mut().enumerate() {
            *v = self.collectives[i].load(Relaxed);
        }
        Snapshot {
            messages_sent: self.messages_sent.load(Relaxed),
            bytes_sent: self.bytes_sent.load(Relaxed),
            messages_received: self.messages_received.load(Relaxed),
            bytes_received: self.bytes_received.load(Relaxed),
            rma_ops: self.rma_ops.load(Relaxed),
            rma_bytes: self.rma_bytes.load(Relaxed),
            collective_bytes: self.collective_bytes.load(Relaxed),
            collectives: c,
        }
    }
}
