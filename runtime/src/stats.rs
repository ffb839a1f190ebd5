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

/// Counters of one rank. Updated with relaxed atomics: cheap, and exact once the rank's
/// operations have returned.
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
        self.messages_sent.fetch_add(1, Relaxed);
        self.bytes_sent.fetch_add(bytes as u64, Relaxed);
    }

    pub fn record_recv(&self, bytes: usize) {
        self.messages_received.fetch_add(1, Relaxed);
        self.bytes_received.fetch_add(bytes as u64, Relaxed);
    }

    pub fn record_rma(&self, bytes: usize) {
        self.rma_ops.fetch_add(1, Relaxed);
        self.rma_bytes.fetch_add(bytes as u64, Relaxed);
    }

    pub fn record_collective(&self, kind: CollKind, bytes: usize) {
        self.collectives[kind_index(kind)].fetch_add(1, Relaxed);
        self.collective_bytes.fetch_add(bytes as u64, Relaxed);
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
