//! Distributed sample sort of counter-based random numbers on N thread ranks.
//! Usage: `cargo run --release -p dtl-runtime --example sort -- 2 [n]` (n defaults to 10^7).

use std::time::Instant;

use dtl_runtime::algo;
use dtl_runtime::container::{Options, Vector};
use dtl_runtime::prelude::*;
use dtl_runtime::random::rand;
use dtl_runtime::sort;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let ranks: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(2);
    let n: usize = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let out = launch::run(ranks, |comm| {
        let mut u = Vector::from_fn(comm, n, Options::new(), |i| rand(42, i as u64))?;
        let before = algo::reduce(&*u, ReduceOp::Sum)?;
        comm.barrier(Site::NONE)?;
        let t = Instant::now();
        sort::sort(&mut u, false)?;
        comm.barrier(Site::NONE)?;
        let dt = t.elapsed();
        let sorted = sort::is_sorted(&u, false)?;
        let after = algo::reduce(&*u, ReduceOp::Sum)?;
        Ok((
            sorted,
            (before - after).abs() < 1e-6 * n as f64,
            u.get(0)?,
            u.get(n - 1)?,
            dt,
        ))
    })?;
    let (sorted, kept, first, last, dt) = out[0];
    println!("sorted {sorted}");
    println!("sum kept {kept}");
    println!("first {first}");
    println!("last {last}");
    eprintln!(
        "sort of {n} f64 on {ranks} ranks: {:.1} ms",
        dt.as_secs_f64() * 1e3
    );
    Ok(())
}
