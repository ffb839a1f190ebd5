//! Benchmark: distributed sample sort of n f64 on N thread ranks, median of 7 runs after a
//! warm-up, each run re-filling the same counter-based random data.
//! Usage: `cargo run --release -p dtl-runtime --example bench_sort -- [ranks] [n]`
//! Prints `sort_f64_ms median min max` (the format of every bench/ peer).

use std::time::Instant;

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
    let runs = 8; // the first is the warm-up
    let times = launch::run(ranks, |comm| {
        let mut u = Vector::from_fn(comm, n, Options::new(), |i| rand(42, i as u64))?;
        let offset = u.local_offset()?;
        let mut samples = Vec::with_capacity(runs);
        for _ in 0..runs {
            for (k, x) in u.local_mut().iter_mut().enumerate() {
                *x = rand(42, (offset + k) as u64);
            }
            comm.barrier(Site::NONE)?;
            let t = Instant::now();
            sort::sort(&mut u, false)?;
            comm.barrier(Site::NONE)?;
            samples.push(t.elapsed().as_secs_f64() * 1e3);
        }
        if !sort::is_sorted(&u, false)? {
            return Err(DtlError::invalid("sort produced unsorted output"));
        }
        Ok(samples)
    })?;
    let mut s = times[0][1..].to_vec();
    s.sort_by(f64::total_cmp);
    println!(
        "sort_f64_ms {:.3} {:.3} {:.3}",
        s[s.len() / 2],
        s[0],
        s[s.len() - 1]
    );
    Ok(())
}
