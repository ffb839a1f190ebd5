//! Every kind of collective on the threads backend, printing results that do not depend on
//! the rank count. Run: `cargo run -p dtl-runtime --example collectives -- [nranks]` (default 4).

use dtl_runtime::elem::{LocPair, loc_as_bytes, loc_as_bytes_mut};
use dtl_runtime::prelude::*;

fn main() -> Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let lines = launch::run(n, |c| {
        let (r, p) = (c.rank(), c.size());
        let mut out = Vec::new();
        // Sum of 1..=p equals p(p+1)/2 on every rank.
        let s = c.allreduce_scalar(r as i64 + 1, ReduceOp::Sum)?;
        out.push(format!(
            "allreduce sum == p(p+1)/2: {}",
            s == (p * (p + 1) / 2) as i64
        ));
        // The maximum rank, everywhere.
        let m = c.allreduce_scalar(r as u32, ReduceOp::Max)?;
        out.push(format!("allreduce max == p-1: {}", m as usize == p - 1));
        // Broadcast from the last rank.
        let b = c.broadcast_scalar(if r == p - 1 { 2.5f64 } else { 0.0 }, p - 1)?;
        out.push(format!("broadcast from the last rank: {b}"));
        // Inclusive and exclusive scans of ones give rank + 1 and rank.
        let inc = c.scan_scalar(1i32, ReduceOp::Sum, false, 0)?;
        let exc = c.scan_scalar(1i32, ReduceOp::Sum, true, 0)?;
        let ok = c.allreduce_scalar(
            (inc == r as i32 + 1 && exc == r as i32) as u8,
            ReduceOp::Land,
        )?;
        out.push(format!("scans correct on every rank: {}", ok == 1));
        // Allgather of the ranks is 0..p.
        let all = c.allgather_scalar(r as u64)?;
        out.push(format!(
            "allgather == 0..p: {}",
            all == (0..p as u64).collect::<Vec<_>>()
        ));
        // Gather uneven pieces (rank r sends r copies of r) to rank 0 and count them.
        let g = c.gatherv_vec(&vec![r as i64; r], 0)?;
        let total = c.broadcast_scalar(g.len() as u64, 0)?;
        out.push(format!(
            "gatherv total == p(p-1)/2: {}",
            total as usize == p * (p - 1) / 2
        ));
        // Alltoall: element k goes to rank k; everyone receives its own rank from each rank.
        let (recv, _) = c.alltoallv_vec(&(0..p as i32).collect::<Vec<_>>(), &vec![1; p])?;
        out.push(format!(
            "alltoall delivers own rank: {}",
            recv.iter().all(|&x| x == r as i32)
        ));
        // Argmin with ties: value r % 2 at index r; the lowest index with the minimum is 0.
        let mut best = [LocPair::default()];
        let mine = [LocPair::new((r % 2) as f64, r as i64)];
        c.allreduce(
            loc_as_bytes(&mine),
            loc_as_bytes_mut(&mut best),
            DType::F64,
            ReduceOp::MinLoc,
            Site::caller(),
        )?;
        out.push(format!("argmin index: {}", best[0].index));
        let one = c
            .stats()
            .snapshot()
            .collectives(dtl_runtime::comm::CollKind::Broadcast);
        out.push(format!("broadcasts counted on this rank: {one}"));
        Ok(out)
    })?;
    for l in &lines[0] {
        println!("{l}");
    }
    Ok(())
}
