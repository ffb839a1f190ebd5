//! SPMD mistakes and failures on the threads backend: mismatched collectives (R0003), failure
//! release (R0011), the watchdog (R0010), finished peers, panics and the launcher's errors.

use std::time::{Duration, Instant};

use dtl_runtime::comm::local;
use dtl_runtime::error::Code;
use dtl_runtime::launch::Config;
use dtl_runtime::prelude::*;

const SITE: Site = Site::new("f.dtl", 3, 5);

/// Runs `f` on n ranks; every rank returns what its call produced (an error is a value here).
fn each_rank<T: Send>(n: usize, f: impl Fn(&CommRef) -> Result<T> + Sync) -> Vec<Result<T>> {
    launch::run(n, |c| Ok(f(c))).unwrap()
}

#[test]
fn mismatched_kinds_fail_on_every_rank() {
    for n in [2, 3, 8] {
        let out = each_rank(n, |c| {
            let mut x = [1.0f64];
            if c.rank() == 0 {
                let mut y = [0.0f64];
                c.allreduce(
                    dtl_runtime::elem::as_bytes(&x),
                    dtl_runtime::elem::as_bytes_mut(&mut y),
                    DType::F64,
                    ReduceOp::Sum,
                    SITE,
                )
            } else {
                c.broadcast(
                    dtl_runtime::elem::as_bytes_mut(&mut x),
                    DType::I64,
                    0,
                    Site::NONE,
                )
            }
        });
        for r in out {
            let e = r.unwrap_err();
            assert_eq!(e.code(), Code::R0003);
            let DtlError::CollectiveMismatch { detail } = e else {
                panic!()
            };
            assert!(
                detail.contains("rank 0: Allreduce(f64, sum, count 1) at f.dtl:3:5"),
                "{detail}"
            );
            assert!(
                detail.contains("rank 1: Broadcast(i64, root 0, count 1)"),
                "{detail}"
            );
        }
    }
}

#[test]
fn mismatched_dtypes_and_counts_fail_and_ranks_stay_in_step() {
    let out = each_rank(4, |c| {
        let e1 = if c.rank() == 2 {
            c.allreduce_scalar(1i32, ReduceOp::Sum).map(|_| ())
        } else {
            c.allreduce_scalar(1i64, ReduceOp::Sum).map(|_| ())
        }
        .unwrap_err();
        let n = if c.rank() == 1 { 3 } else { 2 };
        let e2 = c
            .allreduce_slice(&vec![1.0f64; n], &mut vec![0.0; n], ReduceOp::Max)
            .unwrap_err();
        let e3 = c
            .reduce_scalar(1u8, ReduceOp::Sum, c.rank() % 2)
            .unwrap_err();
        // After the mismatches the ranks are still in step.
        let s = c.allreduce_scalar(1u64, ReduceOp::Sum)?;
        Ok((e1.code(), e2.code(), e3.code(), s))
    });
    for r in out {
        assert_eq!(r.unwrap(), (Code::R0003, Code::R0003, Code::R0003, 4));
    }
}

#[test]
fn launcher_returns_the_mismatch() {
    let e = launch::run(2, |c| {
        if c.rank() == 0 {
            c.barrier(SITE)
        } else {
            c.broadcast_scalar(1u8, 0).map(|_| ())
        }
    })
    .unwrap_err();
    assert_eq!(e.code(), Code::R0003);
}

#[derive(Debug)]
struct Marker;

#[test]
fn a_failing_rank_releases_everyone_with_the_root_cause() {
    for n in [2, 4, 8] {
        let t = Instant::now();
        let e = launch::run(n, |c| {
            if c.rank() == n - 1 {
                std::thread::sleep(Duration::from_millis(20));
                return Err(DtlError::AssertionFailed {
                    message: "boom".into(),
                });
            }
            if c.rank() % 2 == 0 {
                c.barrier(Site::NONE)?;
            } else {
                c.recv(&mut [0u8; 4], Source::Rank(n - 1), TagSel::Any)?;
            }
            Ok(Marker)
        })
        .unwrap_err();
        assert_eq!(
            e,
            DtlError::AssertionFailed {
                message: "boom".into()
            }
        );
        assert!(t.elapsed() < Duration::from_secs(5));
    }
}

#[test]
fn peers_see_peer_failed() {
    let out = launch::run(3, |c| {
        if c.rank() == 1 {
            c.abort("gave up");
            return Ok(None);
        }
        Ok(Some(c.barrier(Site::NONE).unwrap_err()))
    });
    let e = out.unwrap_err();
    assert_eq!(
        e,
        DtlError::PeerFailed {
            rank: 1,
            cause: "gave up".into()
        }
    );
    // Seen from the waiting ranks.
    let seen = std::sync::Mutex::new(Vec::new());
    let _ = launch::run(3, |c| {
        if c.rank() == 1 {
            c.abort("gave up");
            return Ok(());
        }
        let e = c.barrier(Site::NONE).unwrap_err();
        seen.lock().unwrap().push(e);
        Ok(())
    });
    let seen = seen.into_inner().unwrap();
    assert_eq!(
        seen,
        vec![
            DtlError::PeerFailed {
                rank: 1,
                cause: "gave up".into()
            };
            2
        ]
    );
}

#[test]
fn a_panicking_rank_becomes_an_error() {
    let e = launch::run(4, |c| {
        if c.rank() == 2 {
            panic!("rank two exploded");
        }
        c.barrier(Site::NONE)
    })
    .unwrap_err();
    assert_eq!(e.code(), Code::R0014);
    assert!(
        e.to_string().contains("rank 2 panicked: rank two exploded"),
        "{e}"
    );
}

#[test]
fn watchdog_reports_every_rank() {
    let t = Instant::now();
    let cfg = Config::new(3).watchdog(Duration::from_millis(200));
    let e = launch::run_with(cfg, |c| match c.rank() {
        0 => c
            .recv(&mut [0u8; 8], Source::Rank(1), TagSel::Tag(0))
            .map(|_| ()),
        1 => c.barrier(SITE),
        2 => c.probe(Source::Rank(0), TagSel::Tag(9)).map(|_| ()),
        _ => Ok(()),
    })
    .unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(e.code(), Code::R0010, "{e}");
    let DtlError::Timeout { report } = &e else {
        panic!()
    };
    assert!(
        report.contains("rank 0: recv from rank 1, tag 0"),
        "{report}"
    );
    assert!(report.contains("rank 1: Barrier at f.dtl:3:5"), "{report}");
    assert!(
        report.contains("rank 2: probe from rank 0, tag 9"),
        "{report}"
    );
}

#[test]
fn waiting_on_a_finished_rank_fails_at_once() {
    let t = Instant::now();
    let e = launch::run(2, |c| {
        if c.rank() == 0 {
            c.recv(&mut [0u8; 8], Source::Rank(1), TagSel::Any)?;
        }
        Ok(())
    })
    .unwrap_err();
    assert!(e.to_string().contains("recv from rank 1"), "{e}");
    let e = launch::run(3, |c| {
        if c.rank() == 0 {
            Ok(())
        } else {
            c.barrier(SITE)
        }
    })
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("rank 0 finished without calling Barrier"),
        "{e}"
    );
    // A message sent just before finishing is still received.
    let v = launch::run(2, |c| {
        if c.rank() == 1 {
            c.send_slice(&[42u32], 0, 0)?;
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(20));
        Ok(c.recv_vec::<u32>(Source::Any, TagSel::Any)?.0[0])
    })
    .unwrap();
    assert_eq!(v, vec![42, 0]);
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[test]
fn launcher_arguments() {
    assert_eq!(launch::run(0, |_| Ok(())).unwrap_err().code(), Code::R0006);
    let cfg = Config::new(3).stack_size(256 * 1024);
    let names =
        launch::run_with(cfg, |_| Ok(std::thread::current().name().map(String::from))).unwrap();
    assert_eq!(
        names,
        vec![
            Some("dtl-rank-0".into()),
            Some("dtl-rank-1".into()),
            Some("dtl-rank-2".into())
        ]
    );
}

#[test]
fn local_backend_never_waits() {
    let e = local::run(|c| {
        assert_eq!(c.backend(), "local");
        c.send(&[1], 0, 0)?;
        let mut b = [0u8];
        c.recv(&mut b, Source::Rank(0), TagSel::Tag(0))?;
        assert_eq!(b, [1]);
        c.recv(&mut b, Source::Any, TagSel::Any).map(|_| ())
    })
    .unwrap_err();
    assert_eq!(e.code(), Code::R0014);
}
