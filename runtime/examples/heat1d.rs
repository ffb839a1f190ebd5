//! 1-D heat equation with a 3-point stencil and halo exchange on N thread ranks (the Rust twin
//! of `spec/examples/heat1d.dtl`). Usage: `cargo run --release -p dtl-runtime --example heat1d -- 4`.
//! The printed results do not depend on the rank count.

use dtl_runtime::algo;
use dtl_runtime::container::{Options, Vector};
use dtl_runtime::prelude::*;

fn main() -> Result<()> {
    let ranks: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let (n, steps) = (1000usize, 100usize);
    let out = launch::run(ranks, |comm| {
        let opts = Options::new().halo(1, false);
        let mut u = Vector::from_fn(comm, n, opts, |i| if i == n / 2 { 1.0 } else { 0.0 })?;
        let mut v = Vector::<f64>::with_options(comm, n, opts)?;
        let off = u.local_offset()?;
        for _ in 0..steps {
            u.exchange()?;
            let w = u.ghost_len();
            let src = u.local_with_ghosts();
            let dst = v.local_mut();
            for (k, d) in dst.iter_mut().enumerate() {
                let i = off + k;
                let c = k + w;
                *d = if i > 0 && i < n - 1 {
                    0.25 * src[c - 1] + 0.5 * src[c] + 0.25 * src[c + 1]
                } else {
                    src[c]
                };
            }
            u.swap(&mut v)?;
        }
        u.fence()?;
        let total = algo::reduce(&*u, ReduceOp::Sum)?;
        let peak = algo::reduce(&*u, ReduceOp::Max)?;
        let center = u.get(n / 2)?;
        let edge = u.get(n / 2 + 101)?;
        Ok((total, peak, center, edge))
    })?;
    let (total, peak, center, edge) = out[0];
    let round = |x: f64, d: i32| (x * 10f64.powi(d)).round() / 10f64.powi(d);
    println!("total {}", round(total, 9));
    println!("peak {}", round(peak, 9));
    println!("center {}", round(center, 9));
    println!("edge {edge}");
    Ok(())
}
