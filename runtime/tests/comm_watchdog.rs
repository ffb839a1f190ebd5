//! The watchdog on the threads backend reports a deadlock only when no rank communicates for
//! its limit (issue #13 §2), and `DTL_WATCHDOG_SECS` is validated instead of panicking.
//!
//! Timing here is only ever checked from below (a report never comes *before* the limit has
//! passed without progress) or with margins of many times the limit, so a loaded machine can
//! slow these tests down but not flip them.

use std::time::{Duration, Instant};

use dtl_runtime::comm::threads::{
    DEFAULT_WATCHDOG, MAX_WATCHDOG_SECS, MIN_WATCHDOG_SECS, parse_watchdog,
};
use dtl_runtime::error::Code;
use dtl_runtime::launch::Config;
use dtl_runtime::prelude::*;

const SITE: Site = Site::new("w.dtl", 7, 5);
/// Long enough that a rank pausing 1 ms between operations is never mistaken for a stall,
/// even on a loaded machine.
const LIMIT: Duration = Duration::from_millis(500);

/// Rank 0 looks keys up in a distributed map (one-sided reads of the other ranks' tables) for
/// `busy`, pausing 1 ms between lookups, while every other rank waits in a barrier.
fn lookups_while_others_wait(c: &CommRef, busy: Duration) -> Result<u64> {
    let mut m = DistMap::<i64, i64>::new(c)?;
    for k in 0..64 {
        if k as usize % c.size() == c.rank() {
            m.insert(k, 2 * k);
        }
    }
    m.sync()?;
    let mut n = 0u64;
    if c.rank() == 0 {
        let t = Instant::now();
        while t.elapsed() < busy {
            let k = (n % 64) as i64;
            assert_eq!(m.lookup(k, -1)?, 2 * k);
            n += 1;
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    c.barrier(SITE)?;
    Ok(n)
}

#[test]
fn a_rank_that_keeps_communicating_is_never_reported() {
    // 3x the limit of lookups on rank 0 while ranks 1 and 2 wait: before issue #13 the waiting
    // ranks' barrier timed out after LIMIT.
    let cfg = Config::new(3).watchdog(LIMIT);
    let out = launch::run_with(cfg, |c| lookups_while_others_wait(c, 3 * LIMIT)).unwrap();
    assert!(out[0] > 0);
}

#[test]
fn sends_and_receives_count_as_progress() {
    let cfg = Config::new(2).watchdog(LIMIT);
    launch::run_with(cfg, |c| {
        if c.rank() == 0 {
            let t = Instant::now();
            while t.elapsed() < 3 * LIMIT {
                c.send(&[1u8], 0, 4)?;
                c.recv(&mut [0u8; 1], Source::Rank(0), TagSel::Tag(4))?;
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        c.barrier(SITE)
    })
    .unwrap();
}

#[test]
fn a_deadlock_after_progress_is_reported_with_every_rank() {
    let busy = 3 * LIMIT;
    let t = Instant::now();
    let cfg = Config::new(3).watchdog(LIMIT);
    let e = launch::run_with(cfg, |c| {
        lookups_while_others_wait(c, if c.rank() == 0 { busy } else { Duration::ZERO })?;
        // Now a real deadlock: rank 0 waits for a message nobody sends, the others in a barrier.
        if c.rank() == 0 {
            c.recv(&mut [0u8; 8], Source::Rank(1), TagSel::Tag(3))?;
        }
        c.barrier(SITE)
    })
    .unwrap_err();
    let took = t.elapsed();
    assert_eq!(e.code(), Code::R0010, "{e}");
    // Never before the last progress plus the limit.
    assert!(took >= busy + LIMIT, "reported after {took:?}");
    let DtlError::Timeout { report } = &e else {
        panic!("{e}")
    };
    assert!(
        report.contains("rank 0: recv from rank 1, tag 3"),
        "{report}"
    );
    assert!(report.contains("rank 1: Barrier at w.dtl:7:5"), "{report}");
    assert!(report.contains("rank 2: Barrier at w.dtl:7:5"), "{report}");
}

#[test]
fn watchdog_settings_parse_or_fail_with_the_range() {
    assert_eq!(
        parse_watchdog("2.5").unwrap(),
        Some(Duration::from_millis(2500))
    );
    assert_eq!(
        parse_watchdog(" 60 ").unwrap(),
        Some(Duration::from_secs(60))
    );
    assert_eq!(
        parse_watchdog("1e3").unwrap(),
        Some(Duration::from_secs(1000))
    );
    assert_eq!(parse_watchdog("0").unwrap(), None);
    assert_eq!(parse_watchdog("0.0").unwrap(), None);
    assert_eq!(parse_watchdog("").unwrap(), Some(DEFAULT_WATCHDOG));
    assert_eq!(
        parse_watchdog(&MAX_WATCHDOG_SECS.to_string()).unwrap(),
        Some(Duration::from_secs_f64(MAX_WATCHDOG_SECS))
    );
    assert_eq!(
        parse_watchdog(&MIN_WATCHDOG_SECS.to_string()).unwrap(),
        Some(Duration::from_secs_f64(MIN_WATCHDOG_SECS))
    );
    for bad in [
        "1e20", "inf", "-inf", "NaN", "nan", "-1", "-0.5", "abc", "60s", "1e-300", "1e7x",
    ] {
        let e = parse_watchdog(bad).unwrap_err();
        assert_eq!(e.code(), Code::R0009, "{bad}: {e}");
        let msg = e.to_string();
        assert!(msg.contains("DTL_WATCHDOG_SECS"), "{bad}: {msg}");
        assert!(msg.contains("0 to disable"), "{bad}: {msg}");
    }
}

#[test]
fn the_launcher_rejects_a_bad_setting_from_the_environment() {
    // The only test in this binary that touches the environment; launches elsewhere in this
    // file pass their limit in the Config, which takes precedence over the variable.
    // SAFETY: no other thread of this test binary reads or writes DTL_WATCHDOG_SECS.
    unsafe { std::env::set_var("DTL_WATCHDOG_SECS", "1e20") };
    let r = launch::run(2, |c| c.barrier(SITE));
    // SAFETY: as above.
    unsafe { std::env::remove_var("DTL_WATCHDOG_SECS") };
    let e = r.unwrap_err();
    assert_eq!(e.code(), Code::R0009, "{e}");
    assert!(e.to_string().contains("out of range"), "{e}");
}
