//! Communication benchmark on 2 thread ranks: allreduce of one f64, allreduce and broadcast of
//! 16 MiB, and the machine's memcpy bandwidth of 16 MiB measured in the same run.
//!
//! Run with `bench/comm.sh` (release build). Each figure: warm-up, then 9 samples; prints
//! `name median min max` like `bench/c/mpi_collectives.c`, then a human summary.

use std::hint::black_box;
use std::time::Instant;

use dtl_runtime::prelude::*;

const SAMPLES: usize = 9;
const BYTES: usize = 16 << 20;
const SMALL_ITERS: usize = 20_000;

fn stats(mut s: Vec<f64>) -> (f64, f64, f64) {
    s.sort_by(|a, b| a.total_cmp(b));
    (s[s.len() / 2], s[0], s[s.len() - 1])
}

fn line(name: &str, s: &[f64]) -> f64 {
    let (med, min, max) = stats(s.to_vec());
    println!("{name} {med:.4} {min:.4} {max:.4}");
    med
}

fn memcpy_ms() -> Vec<f64> {
    let a = vec![1u8; BYTES];
    let mut b = vec![2u8; BYTES];
    for _ in 0..3 {
        b.copy_from_slice(black_box(&a));
    }
    (0..SAMPLES)
        .map(|_| {
            let t = Instant::now();
            b.copy_from_slice(black_box(&a));
            black_box(&mut b);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect()
}

fn main() -> Result<()> {
    let nranks: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let mem = memcpy_ms();
    let per_rank = launch::run(nranks, |c| {
        let x = c.rank() as f64;
        for _ in 0..SMALL_ITERS {
            black_box(c.allreduce_scalar(black_box(x), ReduceOp::Sum)?);
        }
        let mut small = Vec::new();
        for _ in 0..SAMPLES {
            c.barrier(Site::caller())?;
            let t = Instant::now();
            for _ in 0..SMALL_ITERS {
                black_box(c.allreduce_scalar(black_box(x), ReduceOp::Sum)?);
            }
            small.push(t.elapsed().as_secs_f64() / SMALL_ITERS as f64 * 1e6);
        }
        let n = BYTES / 8;
        let a: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let mut b = vec![0f64; n];
        let mut big = Vec::new();
        for k in 0..SAMPLES + 2 {
            c.barrier(Site::caller())?;
            let t = Instant::now();
            c.allreduce_slice(&a, &mut b, ReduceOp::Sum)?;
            if k >= 2 {
                big.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
        assert_eq!(b[7], 7.0 * c.size() as f64);
        let mut bc = Vec::new();
        for k in 0..SAMPLES + 2 {
            c.barrier(Site::caller())?;
            let t = Instant::now();
            c.broadcast_slice(&mut b, 0)?;
            if k >= 2 {
                bc.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
        Ok((small, big, bc))
    })?;
    let (small, big, bc) = &per_rank[0];
    println!("# dtl threads backend, {nranks} ranks; figures: name median min max");
    let mem_ms = line("memcpy_16MiB_ms", &mem);
    let us = line("allreduce_f64_1_us", small);
    let ar = line("allreduce_16MiB_ms", big);
    let bcm = line("bcast_16MiB_ms", bc);
    let gbps = |ms: f64| BYTES as f64 / (ms * 1e-3) / 1e9;
    println!("#");
    println!(
        "# memcpy 16 MiB:        {mem_ms:.3} ms  ({:.2} GB/s)",
        gbps(mem_ms)
    );
    println!("# allreduce 1 x f64:    {us:.3} us");
    println!(
        "# allreduce 16 MiB:     {ar:.3} ms  ({:.2} GB/s, {:.0}% of memcpy bandwidth)",
        gbps(ar),
        100.0 * mem_ms / ar
    );
    println!(
        "# broadcast 16 MiB:     {bcm:.3} ms  ({:.2} GB/s, {:.0}% of memcpy bandwidth)",
        gbps(bcm),
        100.0 * mem_ms / bcm
    );
    Ok(())
}
