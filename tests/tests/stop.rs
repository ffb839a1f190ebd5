//! Stopping a run (`dtl_runtime::stop`): generated code polls the stop word at the head of every
//! user loop, so a rank that loops stops when another rank fails or the watchdog fires, and a
//! rank that never reaches a loop head is reported instead of waited for (`run_watched`).
//! Interrupts are in `interrupt.rs` (they reach every run of the process).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dtl_compiler::codegen::CodegenOptions;
use dtl_compiler::driver;
use dtl_compiler::jit::{Program, RunError, RunOptions};
use dtl_runtime::error::Code;
use dtl_runtime::launch;

fn compile(name: &str, src: &str) -> Program {
    let (sources, checked) = driver::check_source(name, src);
    assert!(!checked.has_errors(), "{name}: {:?}", checked.diagnostics);
    let hir = checked.hir.expect("hir");
    match driver::compile(&hir, &sources, CodegenOptions::default(), true) {
        Ok(p) => p,
        Err(d) => panic!("{name}: {d:?}"),
    }
}

/// Calls of runtime entry `entry` in the generated IR of function `f`.
fn calls(p: &Program, f: &str, entry: &str) -> usize {
    let head = format!("; fn {f}\n");
    let ir =
        p.ir.iter()
            .find(|t| t.starts_with(&head))
            .unwrap_or_else(|| panic!("{f} in IR"));
    ir.lines()
        .filter_map(|l| l.strip_prefix("; "))
        .filter_map(|l| l.split_once(" = "))
        .filter(|(_, n)| *n == entry)
        .map(|(r, _)| ir.matches(format!("call {r}(").as_str()).count())
        .sum()
}

fn functions(p: &Program, prefix: &str) -> Vec<String> {
    p.ir.iter()
        .filter_map(|t| t.strip_prefix("; fn "))
        .filter_map(|t| t.lines().next())
        .filter(|n| n.starts_with(prefix))
        .map(str::to_string)
        .collect()
}

fn polls(p: &Program, f: &str) -> usize {
    calls(p, f, "dtl_poll_stop")
}

#[test]
fn user_loops_poll_the_stop_word_and_bounded_inner_loops_do_not() {
    let main = |body: &str| format!("fn main() {{\n{body}\n}}\n");
    // One poll per `while` and per `for`.
    let p = compile(
        "w.dtl",
        &main("let mut k = 0; while k < 3 { k += 1; } for j in 0..3 { k += j; } print(k);"),
    );
    assert_eq!(polls(&p, "main"), 2);
    // A fused elementwise assignment is a bounded inner loop: no poll.
    let p = compile(
        "f.dtl",
        &main(
            "let v = vector<f64>(100); let w = vector<f64>(100); w = v * 2.0 + 1.0; print(sum(w));",
        ),
    );
    assert_eq!(polls(&p, "main"), 0);
    // A range forall polls in its loop function.
    let p = compile(
        "r.dtl",
        &main("let mut s = 0.0; forall i in 0..100 with s: sum { s += i as f64; } print(s);"),
    );
    assert_eq!(functions(&p, "dtl_loop"), vec!["dtl_loop0".to_string()]);
    assert_eq!(polls(&p, "dtl_loop0"), 1);
    assert_eq!(polls(&p, "main"), 0);
    // A container forall polls in its row loops; its SIMD loop functions do not.
    let p = compile(
        "c.dtl",
        &main(
            "let u = vector<f64>(100) @halo(1); let v = vector<f64>(100);\n\
             forall i in u { if i > 0 && i < 99 { v[i] = u[i - 1] + u[i + 1]; } else { v[i] = u[i]; } }\n\
             print(sum(v));",
        ),
    );
    let vecs = functions(&p, "dtl_vec");
    assert!(!vecs.is_empty());
    for f in &vecs {
        assert_eq!(polls(&p, f), 0, "{f}");
    }
    assert!(polls(&p, "main") >= 1);
    // A tensor forall polls per row, not per column: the same count with one or two dims.
    let rows = compile(
        "t1.dtl",
        &main("let t = vector<i64>(10); forall i in t { t[i] = i * 2; } print(sum(t));"),
    );
    let cols = compile(
        "t2.dtl",
        &main("let t = tensor<i64>(10, 10); forall i, j in t { t[i, j] = i * j; } print(sum(t));"),
    );
    assert!(polls(&rows, "main") >= 1);
    assert_eq!(polls(&cols, "main"), polls(&rows, "main"));
}

fn run(p: &Program, n: usize) -> (String, Result<(), RunError>) {
    let out = Arc::new(Mutex::new(String::new()));
    let o = out.clone();
    let r = p.run(&RunOptions {
        nranks: n,
        overrides: vec![],
        sink: Some(Arc::new(move |s: &str| o.lock().unwrap().push_str(s))),
    });
    let text = out.lock().unwrap().clone();
    (text, r)
}

/// Without the poll, rank 0 would finish its billions of iterations (seconds) and print.
#[test]
fn a_looping_rank_stops_when_another_rank_fails() {
    let fail = "if rank() == 1 { let a = local<i64>(2); print(a[5]); }";
    let loops = [
        "let mut x = 0; let mut i = 0; while i < 4_000_000_000 { x = x + i % 7; i += 1; } print(\"finished\", x);",
        "let mut x = 0; for i in 0..4_000_000_000 { x = x + i % 7; } print(\"finished\", x);",
        "let mut x = 0; let mut i = 0; while true { i += 1; if i > 4_000_000_000 { break; } } print(\"finished\", i);",
    ];
    for l in loops {
        let src = format!("fn main() {{\n{fail}\n{l}\n}}\n");
        let p = compile("spin.dtl", &src);
        let (out, r) = run(&p, 2);
        let e = r.unwrap_err();
        assert_eq!(e.code, Code::R0001, "{l}: {}", e.message);
        assert!(e.message.contains("(rank 1)"), "{}", e.message);
        assert!(!out.contains("finished"), "{l}: rank 0 did not stop: {out}");
    }
    // A range forall: rank 1 fails at the first row of its half, rank 0 stops in its own.
    let src = "param n: i64 = 8_000_000_000;\n\
               fn main() {\n\
               let mut s = 0;\n\
               forall i in 0..n with s: sum { s += 10 / (i - n / 2); }\n\
               print(\"finished\", s);\n\
               }\n";
    let p = compile("range.dtl", src);
    let (out, r) = run(&p, 2);
    let e = r.unwrap_err();
    assert_eq!(e.code, Code::R0002, "{}", e.message);
    assert!(e.message.contains("(rank 1)"), "{}", e.message);
    assert!(!out.contains("finished"), "{out}");
}

/// The watchdog fails the world while rank 1 spins without calling the runtime: rank 1 stops at
/// its next loop head and the run reports R0010 with where every rank was.
#[test]
fn the_watchdog_stops_a_rank_that_spins_in_user_code() {
    let src = "fn main() {\n\
               if rank() == 1 { let mut x = 0; while true { x += 1; } }\n\
               barrier();\n\
               print(\"done\");\n\
               }\n";
    let p = compile("spin.dtl", src);
    let info = p
        .run_info(&RunOptions {
            nranks: 2,
            overrides: vec![],
            sink: Some(Arc::new(|_: &str| {})),
        })
        .unwrap();
    let cfg = launch::Config::new(2).watchdog(Duration::from_millis(200));
    let e = launch::run_with(cfg, |c| p.run_on(c, &info)).unwrap_err();
    assert_eq!(e.code(), Code::R0010, "{e}");
    let (code, msg) = info.take_failure().unwrap();
    assert_eq!(code, Code::R0010);
    assert!(msg.contains("rank 0: Barrier at spin.dtl:3:1"), "{msg}");
    assert!(msg.contains("rank 1: running"), "{msg}");
}

/// A rank that never reaches a loop head (recursion) cannot be stopped: `run_watched` reports
/// it with the run's error instead of leaving the caller waiting without a word.
#[test]
fn a_rank_outside_any_loop_is_reported_with_the_error() {
    let src = "fn fib(n: i64) -> i64 { if n < 2 { return n; } return fib(n - 1) + fib(n - 2); }\n\
               fn main() {\n\
               if rank() == 0 { let a = local<i64>(1); print(a[3]); }\n\
               if rank() == 1 { print(fib(40)); }\n\
               barrier();\n\
               }\n";
    let p = compile("fib.dtl", src);
    let told = Arc::new(Mutex::new(Vec::<String>::new()));
    let t2 = told.clone();
    let opts = RunOptions {
        nranks: 2,
        overrides: vec![],
        sink: Some(Arc::new(|_: &str| {})),
    };
    let r = p.run_watched(&opts, Duration::from_millis(10), move |m| {
        t2.lock().unwrap().push(m.to_string());
    });
    assert_eq!(r.unwrap_err().code, Code::R0001);
    let told = told.lock().unwrap();
    assert_eq!(told.len(), 1, "{told:?}");
    let m = &told[0];
    assert!(m.starts_with("error[R0001]: "), "{m}");
    assert!(m.contains("fib.dtl:3:"), "{m}");
    assert!(
        m.contains("note: rank 1 did not stop within 10ms of the failure"),
        "{m}"
    );
    assert!(m.contains("  rank 0: finished"), "{m}");
    assert!(m.contains("  rank 1: running"), "{m}");
}
