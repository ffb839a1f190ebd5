//! Interrupting a run (what SIGINT does once `dtl_runtime::stop::catch_sigint` ran: the
//! watcher calls `stop::interrupt_all`). Interrupts reach every run of the process, so this
//! binary holds one test only.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use dtl_compiler::codegen::CodegenOptions;
use dtl_compiler::driver;
use dtl_compiler::jit::{CallValue, Program, RunOptions};
use dtl_runtime::error::Code;
use dtl_runtime::stop;

fn compile(name: &str, src: &str, entries: bool) -> Program {
    let (sources, checked) = if entries {
        driver::check_kernel_source(name, src)
    } else {
        driver::check_source(name, src)
    };
    assert!(!checked.has_errors(), "{name}: {:?}", checked.diagnostics);
    let hir = checked.hir.expect("hir");
    let opts = CodegenOptions {
        unchecked: false,
        entries,
    };
    match driver::compile(&hir, &sources, opts, false) {
        Ok(p) => p,
        Err(d) => panic!("{name}: {d:?}"),
    }
}

#[test]
fn an_interrupt_stops_every_rank_of_a_run_and_a_kernel_on_one_rank() {
    // Rank 0 spins in a loop, rank 1 waits in a barrier: both stop.
    let src = "fn main() {\n\
               print(\"started\");\n\
               if rank() == 0 { let mut x = 0; while true { x += 1; } }\n\
               barrier();\n\
               print(\"finished\");\n\
               }\n";
    let p = compile("spin.dtl", src, false);
    let (tx, rx) = mpsc::channel::<()>();
    let tx = Mutex::new(tx);
    let out = Arc::new(Mutex::new(String::new()));
    let o = out.clone();
    let opts = RunOptions {
        nranks: 2,
        overrides: vec![],
        sink: Some(Arc::new(move |s: &str| {
            o.lock().unwrap().push_str(s);
            let _ = tx.lock().unwrap().send(());
        })),
    };
    let r = std::thread::scope(|s| {
        let h = s.spawn(|| p.run(&opts));
        // Both ranks printed "started": rank 0 is in its loop or about to be.
        rx.recv().unwrap();
        rx.recv().unwrap();
        stop::interrupt_all();
        h.join().unwrap()
    });
    let e = r.unwrap_err();
    assert_eq!(e.code, Code::R0016, "{}", e.message);
    assert!(
        e.message
            .starts_with("error[R0016]: interrupted (SIGINT) at spin.dtl:3:"),
        "{}",
        e.message
    );
    assert!(!out.lock().unwrap().contains("finished"));

    // A kernel on a one-rank communicator (Python's): interrupted, then usable again once the
    // caller clears the bit (pydtl does before each call).
    let k = compile(
        "k.dtl",
        "fn spin(n: i64) -> i64 { let mut i = 0; while i < n { i += 1; } return i; }\n",
        true,
    );
    let comm = dtl_runtime::comm::local::comm();
    let info = k
        .run_info(&RunOptions {
            nranks: 1,
            overrides: vec![],
            sink: None,
        })
        .unwrap();
    let f = k.function("spin").unwrap().clone();
    let r = std::thread::scope(|s| {
        let h = s.spawn(|| k.call_with(&comm, &info, &f, &[i64::MAX], &[], false));
        while comm.stop_word().get() == 0 {
            stop::interrupt_all();
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        h.join().unwrap()
    });
    assert_eq!(r.unwrap_err().code, Code::R0016);
    comm.stop_word().clear(stop::INTERRUPTED);
    let r = k.call_with(&comm, &info, &f, &[1000], &[], false);
    assert_eq!(r.unwrap(), CallValue::Bits(1000));
}
