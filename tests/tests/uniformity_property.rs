//! The uniformity rule against brute force: generated programs put collectives under
//! conditions that depend on `rank()` through parameters, locals, loops, returns, `&&` and
//! local lengths; every program `dtlc check` accepts must run without a collective mismatch
//! on 1..4 ranks (the checker is sound). Programs it rejects are run too, and the share that
//! really misbehaves is printed (how precise it is; not asserted).
//!
//! The same programs read and write a distributed container from rank-dependent places, so
//! the sync pass is checked as well: an accepted program prints the same in every run.

use std::sync::{Arc, Mutex};

use dtl_compiler::codegen::CodegenOptions;
use dtl_compiler::driver;
use dtl_compiler::jit::{RunError, RunOptions};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

/// Generates one program: helpers `h0..hk` (i64 parameters, some returning early), `main`.
struct Gen {
    rng: Rng,
    depth: usize,
    /// Scalar variables in scope (all `i64`).
    vars: Vec<String>,
    /// Helpers defined so far: (name, arity).
    helpers: Vec<(String, usize)>,
    fresh: usize,
}

impl Gen {
    fn name(&mut self, p: &str) -> String {
        self.fresh += 1;
        format!("{p}{}", self.fresh)
    }

    fn atom(&mut self) -> String {
        match self.rng.below(6) {
            0 => "rank()".into(),
            1 => "size()".into(),
            2 | 3 if !self.vars.is_empty() => {
                let k = self.rng.below(self.vars.len() as u64) as usize;
                self.vars[k].clone()
            }
            4 => format!("{}", self.rng.below(4)),
            _ => "1".into(),
        }
    }

    fn expr(&mut self, d: usize) -> String {
        if d == 0 {
            return self.atom();
        }
        match self.rng.below(8) {
            0 => format!("({} + {})", self.expr(d - 1), self.expr(d - 1)),
            1 => format!("({} % 2)", self.expr(d - 1)),
            2 => format!("allreduce({}, max)", self.expr(d - 1)),
            3 if !self.helpers.is_empty() => {
                let k = self.rng.below(self.helpers.len() as u64) as usize;
                let (n, a) = self.helpers[k].clone();
                let args: Vec<String> = (0..a).map(|_| self.expr(d - 1)).collect();
                format!("{n}(u, {})", args.join(", "))
            }
            4 => format!("len(local<i64>({} + 1))", self.expr(d - 1)),
            5 => format!("broadcast({}, root: 0)", self.expr(d - 1)),
            _ => self.atom(),
        }
    }

    fn cond(&mut self) -> String {
        let a = self.expr(1);
        let b = self.expr(1);
        let c = match self.rng.below(3) {
            0 => format!("{a} == {b}"),
            1 => format!("{a} < {b}"),
            _ => format!("{a} >= {b}"),
        };
        if self.rng.chance(15) {
            let e = self.expr(1);
            format!("{c} && allreduce({e}, sum) > 0")
        } else {
            c
        }
    }

    fn stmts(&mut self, out: &mut String, n: usize, in_helper: bool) {
        let saved = self.vars.len();
        for _ in 0..n {
            self.stmt(out, in_helper);
        }
        self.vars.truncate(saved);
    }

    fn stmt(&mut self, out: &mut String, in_helper: bool) {
        let deep = self.depth >= 3;
        match self.rng.below(if deep { 5 } else { 10 }) {
            0 => out.push_str("barrier();\n"),
            1 => {
                let v = self.name("s");
                let e = self.expr(1);
                out.push_str(&format!("let {v} = allreduce({e}, sum);\n"));
                self.vars.push(v);
            }
            2 | 3 => {
                let v = self.name("x");
                let e = self.expr(2);
                out.push_str(&format!("let {v} = {e};\n"));
                self.vars.push(v);
            }
            4 => {
                // The container: written by the owner, read remotely, from varying places.
                let e = self.expr(1);
                let a = self.atom();
                match self.rng.below(4) {
                    0 => out.push_str(&format!("forall i in u {{ u[i] = i + {a}; }}\n")),
                    1 => out.push_str(&format!("acc += get(u, ({e}) % len(u)) - get(u, 0);\n")),
                    2 => out.push_str(&format!(
                        "if rank() == ({e}) % size() {{ acc += get(u, len(u) - 1); }}\n"
                    )),
                    _ => out.push_str("acc += u[len(u) / 2] - u[0];\n"),
                }
            }
            5 | 6 => {
                let c = self.cond();
                out.push_str(&format!("if {c} {{\n"));
                self.depth += 1;
                let k = 1 + self.rng.below(3) as usize;
                self.stmts(out, k, in_helper);
                if self.rng.chance(50) {
                    out.push_str("} else {\n");
                    self.stmts(out, k, in_helper);
                }
                self.depth -= 1;
                out.push_str("}\n");
            }
            7 => {
                let j = self.name("j");
                let b = if self.rng.chance(50) {
                    format!("{}", 1 + self.rng.below(3))
                } else {
                    format!("({}) % 3", self.expr(1))
                };
                out.push_str(&format!("for {j} in 0..{b} {{\n"));
                self.depth += 1;
                self.vars.push(j);
                let k = 1 + self.rng.below(3) as usize;
                self.stmts(out, k, in_helper);
                if self.rng.chance(20) {
                    let c = self.cond();
                    out.push_str(&format!("if {c} {{ break; }}\n"));
                }
                self.vars.pop();
                self.depth -= 1;
                out.push_str("}\n");
            }
            8 if in_helper => {
                let c = self.cond();
                out.push_str(&format!("if {c} {{ return 0; }}\n"));
            }
            _ => {
                if !self.helpers.is_empty() {
                    let k = self.rng.below(self.helpers.len() as u64) as usize;
                    let (n, a) = self.helpers[k].clone();
                    let args: Vec<String> = (0..a).map(|_| self.expr(1)).collect();
                    out.push_str(&format!("acc += {n}(u, {});\n", args.join(", ")));
                } else {
                    out.push_str("barrier();\n");
                }
            }
        }
    }

    fn program(&mut self) -> String {
        let mut src = String::new();
        let nh = self.rng.below(3) as usize;
        for h in 0..nh {
            let arity = 1 + self.rng.below(2) as usize;
            let params: Vec<String> = (0..arity).map(|k| format!("p{k}")).collect();
            self.vars = params.clone();
            let mut body = String::new();
            // Helpers get the container through a parameter.
            body.push_str("let mut acc = 0;\n");
            let k = 1 + self.rng.below(4) as usize;
            self.stmts(&mut body, k, true);
            let ret = self.expr(1);
            src.push_str(&format!(
                "fn h{h}(u: vector<i64>, {}) -> i64 {{\n{body}return acc + {ret};\n}}\n",
                params
                    .iter()
                    .map(|p| format!("{p}: i64"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            self.helpers.push((format!("h{h}"), arity));
        }
        self.vars.clear();
        let mut body = String::new();
        let k = 2 + self.rng.below(5) as usize;
        self.stmts(&mut body, k, false);
        format!(
            "{src}fn main() {{\nlet u = vector<i64>(12);\nforall i in u {{ u[i] = i; }}\nlet mut acc = 0;\n{body}let total = allreduce(acc, sum);\nif rank() == 0 {{ print(\"total\", total); }}\n}}\n"
        )
    }
}

fn run(p: &dtl_compiler::jit::Program, n: usize) -> (String, Result<(), RunError>) {
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

#[test]
fn accepted_programs_never_mismatch_collectives() {
    // A mismatch is detected at once; the watchdog only guards against a bug here.
    // SAFETY: set before any thread of this test binary reads the environment for it; the
    // other tests of this binary do not depend on it.
    unsafe { std::env::set_var("DTL_WATCHDOG_SECS", "20") };
    let mut accepted = 0;
    let mut rejected = 0;
    let mut rejected_really_fail = 0;
    let mut other = Vec::new();
    for seed in 1..=300u64 {
        let mut g = Gen {
            rng: Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1),
            depth: 0,
            vars: Vec::new(),
            helpers: Vec::new(),
            fresh: 0,
        };
        let src = g.program();
        let (sources, checked) = driver::check_source("gen.dtl", &src);
        let codes: Vec<&str> = checked
            .diagnostics
            .iter()
            .map(|d| d.code.as_str())
            .collect();
        if codes.iter().any(|c| *c != "E0301" && *c != "E0306") {
            other.push(format!("seed {seed}: {codes:?}\n{src}"));
            continue;
        }
        let hir = checked.hir.expect("hir");
        let prog = match driver::compile(&hir, &sources, CodegenOptions::default(), false) {
            Ok(p) => p,
            Err(d) => {
                other.push(format!("seed {seed}: compile {d:?}\n{src}"));
                continue;
            }
        };
        if codes.is_empty() {
            accepted += 1;
            for n in 1..=4 {
                let (out, r) = run(&prog, n);
                assert!(r.is_ok(), "seed {seed}, {n} ranks: {r:?}\n{src}");
                // Rank-dependent values make the output depend on the rank count, but never
                // on timing: a second run prints the same.
                let (again, _) = run(&prog, n);
                assert_eq!(
                    again, out,
                    "seed {seed}: two runs on {n} ranks differ\n{src}"
                );
            }
        } else if codes.iter().all(|c| *c == "E0301") {
            rejected += 1;
            if (1..=4).any(|n| run(&prog, n).1.is_err()) {
                rejected_really_fail += 1;
            }
        }
    }
    assert!(other.is_empty(), "{}", other.join("\n"));
    println!(
        "uniformity property: {accepted} accepted (all ran on 1..4 ranks), {rejected} rejected with E0301, {rejected_really_fail} of which fail at some rank count"
    );
    assert!(
        accepted >= 50 && rejected >= 50,
        "{accepted} accepted, {rejected} rejected"
    );
}
