//! The stop word (`dtl_runtime::stop`) on the threads backend, and the launcher's report of
//! ranks that do not stop after a failure. (Interrupts, which reach every world of the
//! process, are in `stop_interrupt.rs`, a test binary of their own.)

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dtl_runtime::comm::{Comm, threads};
use dtl_runtime::error::{Code, DtlError, Site};
use dtl_runtime::launch::{self, Config};
use dtl_runtime::stop;

#[test]
fn a_failure_sets_the_stop_word_of_every_rank() {
    let comms = threads::create(3, None).unwrap();
    for c in &comms {
        assert_eq!(c.stop_word().get(), 0);
    }
    comms[1].abort("rank 1 broke");
    for c in &comms {
        assert_eq!(c.stop_word().get() & stop::FAILED, stop::FAILED);
        match c.stop_error() {
            DtlError::PeerFailed { rank, cause } => {
                assert_eq!(rank, 1);
                assert_eq!(cause, "rank 1 broke");
            }
            e => panic!("{e:?}"),
        }
    }
    // Sub-communicators share the world's word.
    let sub = launch::run(2, |c| {
        let s = c.split(0, c.rank() as i32, Site::NONE)?;
        Ok(std::ptr::eq(s.stop_word(), c.stop_word()))
    })
    .unwrap();
    assert_eq!(sub, vec![true, true]);
}

#[test]
fn a_watchdog_timeout_sets_the_stop_word() {
    let seen = launch::run_with(Config::new(2).watchdog(Duration::from_millis(100)), |c| {
        if c.rank() == 0 {
            c.barrier(Site::NONE)?;
        } else {
            // Rank 1 never calls the barrier: it waits for the stop word, as a loop of
            // generated code would.
            while c.stop_word().get() == 0 {
                std::thread::yield_now();
            }
        }
        Ok(c.stop_word().get() & stop::FAILED)
    });
    assert_eq!(seen.unwrap_err().code(), Code::R0010);
}

#[test]
fn a_rank_that_does_not_stop_is_reported_after_the_grace_period() {
    let release = Arc::new(AtomicBool::new(false));
    let told: Arc<Mutex<Option<launch::Stuck>>> = Arc::new(Mutex::new(None));
    let (r2, t2) = (release.clone(), told.clone());
    let cfg = Config::new(3).on_stuck(Duration::from_millis(30), move |st| {
        *t2.lock().unwrap() = Some(st.clone());
        // What `dtlc` would not do (it exits): let the stuck rank go.
        r2.store(true, Ordering::SeqCst);
    });
    let r = launch::run_with(cfg, |c| {
        match c.rank() {
            0 => return Err(DtlError::invalid("rank 0 fails")),
            // Rank 1 looks at nothing the failure changes (foreign code, a long runtime call).
            1 => {
                while !release.load(Ordering::SeqCst) {
                    std::thread::yield_now();
                }
            }
            _ => {}
        }
        Ok(())
    });
    assert_eq!(r.unwrap_err().code(), Code::R0009);
    let st = told.lock().unwrap().clone().expect("on_stuck was called");
    assert_eq!(st.ranks, vec![1]);
    assert!(st.report.contains("rank 1: running"), "{}", st.report);
    assert!(st.report.contains("rank 0: finished"), "{}", st.report);
}

#[test]
fn no_report_when_every_rank_stops() {
    let called = Arc::new(AtomicBool::new(false));
    let c2 = called.clone();
    let cfg = Config::new(2).on_stuck(Duration::from_millis(1), move |_| {
        c2.store(true, Ordering::SeqCst);
    });
    let r = launch::run_with(cfg, |c| {
        if c.rank() == 0 {
            return Err(DtlError::invalid("rank 0 fails"));
        }
        // Rank 1 stops at its next wait.
        c.barrier(Site::NONE)
    });
    assert_eq!(r.unwrap_err().code(), Code::R0009);
    assert!(!called.load(Ordering::SeqCst));
    let ok = launch::run_with(Config::new(2).on_stuck(Duration::ZERO, |_| panic!()), |c| {
        c.barrier(Site::NONE)
    });
    assert!(ok.is_ok());
}
