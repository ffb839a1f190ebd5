//! Test support: runs a closure on N thread ranks (shared by the container and algorithm tests).
#![allow(dead_code)]

use std::time::Duration;

use dtl_runtime::comm::{CommRef, threads};
use dtl_runtime::error::Result;

/// The rank counts every container test runs at.
pub const RANKS: [usize; 5] = [1, 2, 3, 4, 8];

/// Runs `f` on `n` thread ranks and returns every rank's result (panics on any error).
pub fn run<R: Send>(n: usize, f: impl Fn(&CommRef) -> Result<R> + Sync) -> Vec<R> {
    try_run(n, f).unwrap_or_else(|e| panic!("{n} ranks: {e}"))
}

/// Runs `f` on `n` thread ranks; the first error if any rank failed.
pub fn try_run<R: Send>(n: usize, f: impl Fn(&CommRef) -> Result<R> + Sync) -> Result<Vec<R>> {
    let comms = threads::create(n, Some(Duration::from_secs(30)))?;
    std::thread::scope(|s| {
        let hs: Vec<_> = comms
            .into_iter()
            .map(|c| {
                let f = &f;
                s.spawn(move || {
                    let cr: CommRef = c.clone();
                    let r = f(&cr);
                    if let Err(e) = &r {
                        cr.abort(&e.to_string());
                    }
                    c.mark_finished();
                    r
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().expect("rank panicked"))
            .collect()
    })
}

#[test]
fn support_runs() {
    let r = run(3, |c| Ok(c.rank()));
    assert_eq!(r, vec![0, 1, 2]);
}
