//! End-to-end runs through the library: `tests/cases/run/*.dtl` print their `.expected` on every
//! rank count of their `// ranks:` header; `tests/cases/run-errors/*.dtl` fail with their
//! `// error:` code at their `// line:`; `tests/cases/ir/*.dtl` check the shape of the generated
//! code through `// structure:` headers.

use std::path::Path;
use std::sync::{Arc, Mutex};

use dtl_compiler::codegen::CodegenOptions;
use dtl_compiler::driver;
use dtl_compiler::jit::{Program, RunError, RunOptions};
use dtl_tests::{dtl_files, root};

fn header<'a>(src: &'a str, key: &str) -> Option<&'a str> {
    src.lines()
        .filter_map(|l| l.strip_prefix("//"))
        .find_map(|l| l.trim().strip_prefix(key))
        .map(str::trim)
}

fn compile(path: &Path, want_text: bool) -> Program {
    let src = std::fs::read_to_string(path).expect("read case");
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("case.dtl");
    compile_text(name, &src, want_text)
}

/// Checks and compiles source text (default options); panics on any diagnostic.
fn compile_text(name: &str, src: &str, want_text: bool) -> Program {
    let (sources, checked) = driver::check_source(name, src);
    assert!(!checked.has_errors(), "{name}: {:?}", checked.diagnostics);
    let hir = checked.hir.expect("hir");
    match driver::compile(&hir, &sources, CodegenOptions::default(), want_text) {
        Ok(p) => p,
        Err(d) => panic!("{name}: {d:?}"),
    }
}

/// The optimized CLIF of function `name` (compiled with `want_text`).
fn clif_of<'p>(p: &'p Program, name: &str) -> &'p str {
    let head = format!("; fn {name}\n");
    p.clif
        .iter()
        .find(|t| t.starts_with(&head))
        .unwrap_or_else(|| panic!("{name} in CLIF"))
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

fn ranks(src: &str) -> Vec<usize> {
    header(src, "ranks:")
        .map(|r| {
            r.split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect()
        })
        .unwrap_or_else(|| vec![1, 2, 3])
}

#[test]
fn run_cases_print_their_expected_output_on_every_rank_count() {
    let files = dtl_files("cases/run");
    assert!(files.len() >= 3);
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap();
        let want = std::fs::read_to_string(f.with_extension("expected")).unwrap();
        let p = compile(&f, false);
        for n in ranks(&src) {
            let (got, r) = run(&p, n);
            assert!(r.is_ok(), "{} -n {n}: {:?}", f.display(), r);
            assert_eq!(got, want, "{} -n {n}", f.display());
        }
    }
}

#[test]
fn run_errors_give_their_code_line_and_rank() {
    let files = dtl_files("cases/run-errors");
    assert!(files.len() >= 5);
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap();
        let code = header(&src, "error:").expect("error header");
        let line = header(&src, "line:").expect("line header");
        let p = compile(&f, false);
        let n = ranks(&src)[0].max(2);
        let n = if header(&src, "ranks:").is_some() {
            ranks(&src)[0]
        } else {
            n
        };
        let (_, r) = run(&p, n);
        let e = r.expect_err("must fail");
        let name = f.file_name().unwrap().to_str().unwrap();
        assert_eq!(e.code.to_string(), code, "{name}: {}", e.message);
        assert!(
            e.message.starts_with(&format!("error[{code}]: "))
                && e.message.contains(&format!("{name}:{line}:"))
                && e.message.contains("(rank "),
            "{name}: {}",
            e.message
        );
    }
}

#[test]
fn unchecked_mode_removes_bounds_checks_but_keeps_division_checks() {
    let f = root().join("cases/run-errors/div_zero.dtl");
    let src = std::fs::read_to_string(&f).unwrap();
    let (sources, checked) = driver::check_source("div_zero.dtl", &src);
    let hir = checked.hir.unwrap();
    let p = driver::compile(
        &hir,
        &sources,
        CodegenOptions {
            unchecked: true,
            entries: false,
        },
        false,
    )
    .unwrap();
    let (_, r) = run(&p, 1);
    assert_eq!(r.unwrap_err().code.to_string(), "R0002");
}

#[test]
fn param_overrides_are_validated() {
    let f = root().join("spec/examples/pi.dtl");
    let p = compile(&f, false);
    assert!(p.overrides(&[("n".into(), "1_000".into())]).is_ok());
    let e = p.overrides(&[("m".into(), "3".into())]).unwrap_err();
    assert!(e.contains("no such `param`") && e.contains('n'), "{e}");
    let e = p.overrides(&[("n".into(), "1.5".into())]).unwrap_err();
    assert!(e.contains("not a valid `i64`"), "{e}");
    let out = Arc::new(Mutex::new(String::new()));
    let o = out.clone();
    p.run(&RunOptions {
        nranks: 2,
        overrides: vec![("n".into(), "1000".into())],
        sink: Some(Arc::new(move |s: &str| o.lock().unwrap().push_str(s))),
    })
    .unwrap();
    assert_eq!(out.lock().unwrap().as_str(), "pi 3.1415927369\n");
}

/// Loop-invariant values stay outside their loops after Cranelift's optimizations (loops branch
/// to their exit first; with the body first, Cranelift 0.135 computed `x` on every iteration).
#[test]
fn loop_invariants_are_hoisted() {
    let src = "fn main() {\n\
               let x = sqrt((rank() as f64) + 2.0);\n\
               let mut s = 0.0;\n\
               let mut k = 0;\n\
               while k < 100 { s = s + x; k += 1; }\n\
               for j in 0..10 { s = s * x; }\n\
               print(s);\n\
               }\n";
    let p = compile_text("licm.dtl", src, true);
    let main = clif_of(&p, "main");
    // `sqrt` is in the entry block, before the first branch.
    let entry_end = main.find("jump").expect("a jump");
    let at = main.find("sqrt").expect("sqrt in the optimized CLIF");
    assert!(at < entry_end, "sqrt inside a loop:\n{main}");
    assert_eq!(main.matches("sqrt").count(), 1, "{main}");
}

/// A range forall runs in `dtl_loopN`, whose float literals arrive as arguments: a constant
/// in the loop would be rematerialized on every iteration (two instructions each on x86).
#[test]
fn loop_function_literals_are_arguments() {
    let src = "fn main() {\n\
               let n = 1000;\n\
               let h = 1.0 / (n as f64);\n\
               let mut s = 0.0;\n\
               forall i in 0..n with s: sum { let x = h * ((i as f64) + 0.5); s += 4.0 / (1.0 + x * x); }\n\
               if rank() == 0 { print(round(s * h, 6)); }\n\
               }\n";
    let p = compile_text("lits.dtl", src, true);
    let f = clif_of(&p, "dtl_loop0");
    // Only the reduction's identity 0.0 is a constant; 0.5, 1.0 and 4.0 are parameters. (The
    // cold failure exit, taken when the stop word is set, returns a 0.0 of its own.)
    let hot: usize = f
        .split("\nblock")
        .filter(|b| !b.lines().next().is_some_and(|h| h.contains("cold")))
        .map(|b| b.matches("f64const").count())
        .sum();
    assert_eq!(hot, 1, "{f}");
    let (out, r) = run(&p, 2);
    r.unwrap();
    assert_eq!(out, "3.141593\n");
}

/// `// structure: name=count ...`: in the CLIF of function `main`, calls of runtime entry
/// `name` appear exactly `count` times (e.g. fused expressions make no containers).
#[test]
fn ir_structure_headers_hold() {
    let files = dtl_files("cases/ir");
    assert!(!files.is_empty());
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap();
        let p = compile(&f, true);
        let main =
            p.ir.iter()
                .find(|t| t.starts_with("; fn main\n"))
                .expect("main in IR");
        for item in header(&src, "structure:").unwrap().split_whitespace() {
            let (name, count) = item.split_once('=').unwrap();
            let count: usize = count.parse().unwrap();
            let refs: Vec<String> = main
                .lines()
                .filter_map(|l| l.strip_prefix("; "))
                .filter_map(|l| l.split_once(" = "))
                .filter(|(_, n)| *n == name)
                .map(|(r, _)| format!("call {r}("))
                .collect();
            let calls: usize = refs.iter().map(|r| main.matches(r.as_str()).count()).sum();
            assert_eq!(calls, count, "{}: calls of {name}\n{main}", f.display());
        }
    }
}

/// Kernel mode (Python's `dtl.compile`): no `main` needed; functions are called by name with
/// arguments as ABI bits, collectively when they are collective.
#[test]
fn kernels_are_called_by_name_on_every_rank() {
    let src = "fn add(a: f64, b: i64) -> f64 { a + (b as f64) }\n\
               fn total(x: i64) -> i64 { allreduce(x, sum) }\n\
               fn ok(b: bool) -> bool { !b }\n";
    // Kernel sources get the SPMD checks too.
    let (_, bad) =
        driver::check_kernel_source("k.dtl", "fn f() { if rank() == 0 { barrier(); } }\n");
    assert!(
        bad.diagnostics.iter().any(|d| d.code.as_str() == "E0301"),
        "{:?}",
        bad.diagnostics
    );
    let (sources, checked) = driver::check_kernel_source("k.dtl", src);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let p = driver::compile(
        &checked.hir.unwrap(),
        &sources,
        CodegenOptions {
            unchecked: false,
            entries: true,
        },
        false,
    )
    .unwrap();
    assert!(!p.has_main());
    let total = p.functions().iter().find(|f| f.name == "total").unwrap();
    assert!(total.collective);
    let names: Vec<String> = p.functions().iter().map(|f| f.signature()).collect();
    assert!(
        names.contains(&"add(a: f64, b: i64) -> f64".to_string()),
        "{names:?}"
    );
    let info = p
        .run_info(&RunOptions {
            nranks: 3,
            overrides: vec![],
            sink: None,
        })
        .unwrap();
    let out = dtl_runtime::launch::run(3, |comm| {
        let a = p
            .call_on(comm, &info, "add", &[1.5f64.to_bits() as i64, 2])
            .unwrap();
        let t = p
            .call_on(comm, &info, "total", &[comm.rank() as i64 + 1])
            .unwrap();
        let b = p.call_on(comm, &info, "ok", &[0]).unwrap();
        assert!(p.call_on(comm, &info, "nope", &[]).is_err());
        assert!(p.call_on(comm, &info, "add", &[1]).is_err());
        Ok((f64::from_bits(a as u64), t, b))
    })
    .unwrap();
    assert_eq!(out, vec![(3.5, 6, 1); 3]);
    assert!(
        p.run(&RunOptions {
            nranks: 1,
            overrides: vec![],
            sink: None
        })
        .is_err()
    );
}

/// A valid program the code generator does not handle yet is E0501 with the construct named,
/// never a crash or a silent miscompile.
#[test]
fn unsupported_constructs_are_e0501() {
    let src = "fn main() {\n    let b = 4 * size();\n    let u = vector<f64>(100) @block_cyclic(b);\n    print(len(u));\n}\n";
    let (sources, checked) = driver::check_source("bc.dtl", src);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let Err(e) = driver::compile(
        &checked.hir.unwrap(),
        &sources,
        CodegenOptions::default(),
        false,
    ) else {
        panic!("must not compile");
    };
    let d = e.diagnostics();
    assert_eq!(d.len(), 1, "{e:?}");
    assert_eq!(d[0].code.as_str(), "E0501");
    assert!(d[0].message.contains("not supported yet") && d[0].message.contains("block_cyclic"));
    // At the construct (line 3), not at a made-up position.
    let sp = &d[0].primary.span;
    assert_eq!(sources.get(sp.file).line_col(sp.range.start).0, 3);
    assert!(!sp.range.is_empty());
}

/// A function with more than 64 container locals keeps their handles in stack slots for the
/// release at its exit (as SSA variables each stayed live to the exit, and register allocation
/// grew with containers × blocks: 4,000 allocations took 17 s to compile); with fewer, the
/// code is unchanged. `cases/run/many_container_locals.dtl` runs such a function.
#[test]
fn many_container_locals_use_stack_slots() {
    for (n, slots) in [(64, false), (65, true), (3_000, true)] {
        let lets: String = (0..n)
            .map(|i| format!("    let u{i} = vector<f64>(4);\n"))
            .collect();
        let src = format!("fn main() {{\n{lets}    print(1);\n}}\n");
        let p = compile_text("many.dtl", &src, true);
        let main =
            p.ir.iter()
                .find(|t| t.starts_with("; fn main\n"))
                .expect("main in IR");
        assert_eq!(main.contains("explicit_slot"), slots, "{n} containers");
        let (out, r) = run(&p, 2);
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(out, "1\n1\n");
    }
}
