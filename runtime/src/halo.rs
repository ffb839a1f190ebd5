//! Halos: ghost cells (ghost rows for tensors) of width w on block-partitioned containers, and
//! the exchange that refreshes them.
//!
//! A container with a halo stores, on each rank, `[w ghost rows | owned rows | w ghost rows]` in
//! one buffer. Ghost row k of the left side holds global row `offset - w + k`, ghost row k of the
//! right side holds global row `offset + local_len + k` (both modulo n when periodic; rows beyond
//! the ends of a non-periodic container are never written and stay as they were, zero at
//! construction). A ghost region may span several ranks when neighbours own fewer than w rows;
//! the exchange plan, computed once per layout, names the owner of every ghost row, and an
//! exchange moves exactly those rows (one all-to-all with exact counts). Ranks that own nothing
//! have no ghosts.

use crate::comm::CommRef;
use crate::elem::{Element, as_bytes, as_bytes_mut};
use crate::error::{DtlError, Result, Site};
use crate::partition::{Layout, Partition};

/// A halo specification: width and whether the index space wraps around.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Halo {
    pub width: usize,
    pub periodic: bool,
}

impl Halo {
    /// A non-periodic halo of `width` ghost elements (rows) on each side.
    pub fn new(width: usize) -> Halo {
        Halo {
            width,
            periodic: false,
        }
    }

    /// A periodic halo: the left ghosts of rank 0 hold the last elements, and so on.
    pub fn periodic(width: usize) -> Halo {
        Halo {
            width,
            periodic: true,
        }
    }
}

/// Where ghost slot `s` (`0..w` left, `w..2w` right) lives, in rows from the start of the
/// buffer of a rank that owns `len` rows.
#[inline]
pub(crate) fn slot_row(s: usize, w: usize, len: usize) -> usize {
    if s < w { s } else { len + s }
}

/// The exchange plan of one rank: which owned rows go where and which ghost slots come from
/// where, in a fixed order that sender and receiver agree on.
#[derive(Clone, Debug, Default)]
pub(crate) struct HaloPlan {
    width: usize,
    /// Owned (local, 0-based among owned rows) row indices to pack, grouped by destination.
    send_rows: Vec<usize>,
    /// Rows sent to each rank.
    send_counts: Vec<usize>,
    /// Ghost slots to fill, grouped by source.
    recv_slots: Vec<usize>,
    /// Rows received from each rank.
    recv_counts: Vec<usize>,
    /// (owned row, ghost slot) pairs this rank serves itself (periodic wrap onto itself).
    self_copies: Vec<(usize, usize)>,
}

impl HaloPlan {
    /// The plan of rank `me` for a block `layout` (over rows) with `halo`.
    pub(crate) fn new(layout: &Layout, me: usize, halo: Halo) -> Result<HaloPlan> {
        if layout.partition() != Partition::Block {
            return Err(DtlError::invalid(format!(
                "a halo needs a block partition, not {}",
                layout.partition()
            )));
        }
        let p = layout.nranks();
        let n = layout.len();
        let w = halo.width;
        let mut plan = HaloPlan {
            width: w,
            ..HaloPlan::default()
        };
        let mut sends: Vec<Vec<usize>> = vec![Vec::new(); p];
        let mut recvs: Vec<Vec<usize>> = vec![Vec::new(); p];
        if n > 0 && w > 0 {
            #[expect(
                clippy::needless_range_loop,
                reason = "d indexes sends and names a rank"
            )]
            for d in 0..p {
                let len_d = layout.local_len(d);
                if len_d == 0 {
                    continue;
                }
                let off_d = layout.local_offset(d)?;
                for s in 0..2 * w {
                    // Signed global row of ghost slot s of rank d.
                    let g = if s < w {
                        off_d as i128 - w as i128 + s as i128
                    } else {
                        (off_d + len_d + (s - w)) as i128
                    };
                    let g = if halo.periodic {
                        g.rem_euclid(n as i128) as usize
                    } else if g < 0 || g >= n as i128 {
                        continue;
                    } else {
                        g as usize
                    };
                    let (o, lr) = layout.local_index_unchecked(g);
                    if o == me && d == me {
                        plan.self_copies.push((lr, s));
                    } else if o == me {
                        sends[d].push(lr);
                    } else if d == me {
                        recvs[o].push(s);
                    }
                }
            }
        }
        plan.send_counts = sends.iter().map(Vec::len).collect();
        plan.recv_counts = recvs.iter().map(Vec::len).collect();
        plan.send_rows = sends.concat();
        plan.recv_slots = recvs.concat();
        Ok(plan)
    }

    /// Ghost rows this rank receives from other ranks per exchange.
    pub(crate) fn recv_rows(&self) -> usize {
        self.recv_slots.len()
    }

    /// Collective: refreshes the ghost rows of `data` (`[w | len | w]` rows of `row` elements).
    pub(crate) fn exchange<T: Element>(
        &self,
        comm: &CommRef,
        data: &mut [T],
        len: usize,
        row: usize,
        site: Site,
    ) -> Result<()> {
        let w = self.width;
        let ghost = w * row;
        for &(lr, s) in &self.self_copies {
            let src = ghost + lr * row;
            let dst = slot_row(s, w, len) * row;
            data.copy_within(src..src + row, dst);
        }
        if comm.size() == 1 {
            return Ok(());
        }
        let mut send = Vec::with_capacity(self.send_rows.len() * row);
        for &lr in &self.send_rows {
            let src = ghost + lr * row;
            send.extend_from_slice(&data[src..src + row]);
        }
        let mut recv = vec![T::ZERO; self.recv_slots.len() * row];
        let sc: Vec<usize> = self.send_counts.iter().map(|c| c * row).collect();
        let rc: Vec<usize> = self.recv_counts.iter().map(|c| c * row).collect();
        comm.alltoallv(
            as_bytes(&send),
            &sc,
            as_bytes_mut(&mut recv),
            &rc,
            T::DTYPE,
            site,
        )?;
        for (k, &s) in self.recv_slots.iter().enumerate() {
            let dst = slot_row(s, w, len) * row;
            data[dst..dst + row].copy_from_slice(&recv[k * row..(k + 1) * row]);
        }
        Ok(())
    }
}
