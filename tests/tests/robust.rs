//! No input makes the checker panic: empty files, random bytes, token soup, deep nesting.

use dtl_compiler::diagnostics::{Style, render};
use dtl_compiler::driver::check_source;

/// A small deterministic generator (no external crates, same sequence on every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn check_and_render(src: &str) {
    let (sources, checked) = check_source("fuzz.dtl", src);
    let _ = render(&checked.diagnostics, &sources, Style::Plain);
    let _ = render(&checked.diagnostics, &sources, Style::Color);
    let _ = dtl_compiler::diagnostics::to_json(&checked.diagnostics, &sources);
}

#[test]
fn empty_and_whitespace() {
    for src in [
        "",
        " ",
        "\n\n",
        "\u{feff}",
        "fn",
        "fn main",
        "fn main() {",
        "}}}}",
    ] {
        check_and_render(src);
    }
}

#[test]
fn random_bytes() {
    let mut g = Lcg(7);
    for _ in 0..200 {
        let len = (g.next() % 300) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| g.next() as u8).collect();
        check_and_render(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn token_soup() {
    const WORDS: &[&str] = &[
        "fn",
        "main",
        "(",
        ")",
        "{",
        "}",
        "let",
        "mut",
        "x",
        "=",
        "1",
        "2.5",
        ";",
        "if",
        "else",
        "forall",
        "i",
        "in",
        "u",
        "with",
        "s",
        ":",
        "sum",
        "vector",
        "<",
        ">",
        "f64",
        "@halo",
        "@cyclic",
        "(",
        "1",
        ")",
        "rank",
        "barrier",
        "allreduce",
        ",",
        "+",
        "*",
        "[",
        "]",
        "..",
        "return",
        "break",
        "as",
        "i64",
        "root",
        "\"s\"",
        "import",
        "stats",
        "::",
        "variance",
        "for",
        "while",
        "param",
        "const",
        "n",
        "tensor",
        "map",
        "local",
        "print",
        "copy",
        "-",
    ];
    let mut g = Lcg(42);
    for _ in 0..400 {
        let n = (g.next() % 60) as usize;
        let mut src = String::from("fn main() { ");
        for _ in 0..n {
            src.push_str(WORDS[(g.next() as usize) % WORDS.len()]);
            src.push(' ');
        }
        src.push('}');
        check_and_render(&src);
    }
}

#[test]
fn mutated_examples() {
    // Delete or duplicate one random byte range of each spec example, many times.
    let mut g = Lcg(3);
    for path in dtl_tests::dtl_files("spec/examples") {
        let src = std::fs::read_to_string(path).unwrap();
        for _ in 0..30 {
            let a = (g.next() as usize) % src.len();
            let b = (a + (g.next() as usize) % 20).min(src.len());
            if !src.is_char_boundary(a) || !src.is_char_boundary(b) {
                continue;
            }
            let mut m = String::from(&src[..a]);
            if g.next().is_multiple_of(2) {
                m.push_str(&src[a..b]);
                m.push_str(&src[a..]);
            } else {
                m.push_str(&src[b..]);
            }
            check_and_render(&m);
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!(
        "fn main() {{ let x = {}1{}; }}",
        "(".repeat(50_000),
        ")".repeat(50_000)
    );
    let (_, checked) = check_source("deep.dtl", &deep);
    assert!(checked.has_errors());
    // Nesting just under the parser's cap checks without overflowing a test thread's stack.
    let ok = format!(
        "fn main() {{ let x = {}1{}; print(x); }}",
        "(".repeat(200),
        " + 1)".repeat(200)
    );
    let (s, checked) = check_source("ok.dtl", &ok);
    assert!(
        !checked.has_errors(),
        "{}",
        render(&checked.diagnostics, &s, Style::Plain)
    );
}

#[test]
fn many_statements() {
    let mut src = String::from("fn main() {\n    let mut x = 0;\n");
    for i in 0..20_000 {
        src.push_str(&format!("    x += {};\n", i % 7));
    }
    src.push_str("    print(x);\n}\n");
    let (_, checked) = check_source("many.dtl", &src);
    assert!(!checked.has_errors());
}

// ---- issue #13 §3: diagnostics and passes that cannot explode ----------------------------------

const STACK: usize = 4 << 20;

/// Runs `f` on a thread with a 4 MiB stack (half of a main thread's; the deepest programs the
/// nesting limit allows need less than that in a debug build), so a recursion that grows with
/// the input fails.
fn small_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("no panic or stack overflow")
}

/// Checks `src`; returns the number of diagnostics and the plain rendering.
fn check_rendered(src: String) -> (usize, String) {
    small_stack(move || {
        let (sources, checked) = check_source("big.dtl", &src);
        let text = render(&checked.diagnostics, &sources, Style::Plain);
        let _ = dtl_compiler::diagnostics::to_json(&checked.diagnostics, &sources);
        let n = checked.diagnostics.len();
        std::mem::forget(checked.hir);
        (n, text)
    })
}

/// The rendering shows at most 100 diagnostics of bounded size, whatever the line lengths:
/// here 20,000 statements on one line (each snippet used to print the whole line: 4 GB).
/// `scripts/tests/reliability/frontend.sh` times 200,000 with the release `dtlc`.
#[test]
fn twenty_thousand_statements_on_one_line() {
    let ok = format!(
        "fn main() {{ let mut x = 0; {}print(x); }}",
        "x += 1; ".repeat(20_000)
    );
    let (n, text) = check_rendered(ok);
    assert_eq!(n, 0, "{text}");

    let dup = format!("fn main() {{ {}}}", "let x = 1; ".repeat(20_000));
    let (n, text) = check_rendered(dup);
    assert_eq!(n, 19_999);
    assert_eq!(text.matches("] Error: ").count(), 100);
    assert!(text.len() < 100 * 2_000, "{} bytes", text.len());
    assert!(
        text.contains("... and 19899 more errors"),
        "{}",
        &text[text.len() - 300..]
    );
    let longest = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(longest < 300, "a rendered line of {longest} characters");
}

/// 20,000 duplicate function names, one per line: the same bounds.
#[test]
fn twenty_thousand_duplicate_names() {
    let src = format!("{}fn main() {{ }}\n", "fn f() { }\n".repeat(20_000));
    let (n, text) = check_rendered(src);
    assert_eq!(n, 19_999);
    assert_eq!(text.matches("] Error: ").count(), 100);
    assert!(text.len() < 100 * 2_000, "{} bytes", text.len());
    assert!(text.contains("... and 19899 more errors"));
}

/// 20,000 annotations on one container: one error each after the first, rendered bounded.
#[test]
fn twenty_thousand_annotations() {
    let src = format!(
        "fn main() {{ let u = vector<f64>(10){}; }}",
        " @block".repeat(20_000)
    );
    let (n, text) = check_rendered(src);
    assert_eq!(n, 19_999);
    assert!(text.len() < 100 * 2_000, "{} bytes", text.len());
}

/// An `else if` chain of 100,000 used to overflow the SPMD pass's stack (the chain lowers to
/// nested ifs): it is one syntax error now. The longest chain the limit allows goes through
/// every pass, code generation included, on a small stack.
#[test]
fn long_else_if_chains() {
    let src = format!(
        "fn main() {{ let a = rank() == 0; if a {{ }} {}}}",
        "else if a { } ".repeat(100_000)
    );
    let (n, text) = check_rendered(src);
    assert_eq!(n, 1, "{text}");
    assert!(text.contains("`else if` chain nested too deeply"), "{text}");
    let longest = format!(
        "fn main() {{ let a = rank() == 0; if a {{ print(0); }} {}else {{ print(2); }} }}",
        "else if a { print(1); } ".repeat(120)
    );
    compiles_on_a_small_stack(longest);
}

/// Checks, prints the HIR of and compiles `src` (no errors allowed) on a small stack.
fn compiles_on_a_small_stack(src: String) {
    small_stack(move || {
        let (sources, checked) = check_source("deep.dtl", &src);
        assert!(
            checked.diagnostics.is_empty(),
            "{}",
            render(&checked.diagnostics, &sources, Style::Plain)
        );
        let hir = checked.hir.expect("hir");
        let _ = dtl_compiler::hir::print(&hir);
        if let Err(e) = dtl_compiler::driver::compile(&hir, &sources, Default::default(), true) {
            panic!("{}", e.render(&sources, Style::Plain));
        }
    });
}

/// The deepest programs the nesting limit allows pass every phase (resolve, typeck, SPMD
/// checks, HIR printer, code generation) on a small stack.
#[test]
fn deepest_programs_pass_every_phase() {
    let cases = [
        format!(
            "fn main() {{ let x = {}1{}; print(x); }}",
            "1 + (".repeat(250),
            ")".repeat(250)
        ),
        format!(
            "fn main() {{ let a = rank() == 0; {} print(1); {} }}",
            "if a { ".repeat(120),
            "}".repeat(120)
        ),
        format!(
            "fn main() {{ let mut i = 0; {} i += 1; {} }}",
            "while i < 1 { ".repeat(120),
            "}".repeat(120)
        ),
        format!(
            "fn main() {{ {} print(1); {} }}",
            "{".repeat(120),
            "}".repeat(120)
        ),
        format!(
            "fn f(x: i64) -> i64 {{ x + 1 }}\nfn main() {{ print({}0{}); }}",
            "f(".repeat(250),
            ")".repeat(250)
        ),
        format!("fn main() {{ let b = {}true; print(b); }}", "!".repeat(250)),
        format!("fn main() {{ let x = 1{}; print(x); }}", " + 1".repeat(250)),
    ];
    for src in cases {
        compiles_on_a_small_stack(src);
    }
}

/// "Can reach a collective" travels along a call chain of any length and order (the fixpoint
/// used to take one round over every function per link: quadratic).
#[test]
fn long_call_chains_reach_their_collective() {
    for reversed in [false, true] {
        let n = 3_000;
        let mut fns: Vec<String> = (0..n)
            .map(|i| format!("fn f{i}() {{ f{}(); }}\n", i + 1))
            .collect();
        fns.push(format!("fn f{n}() {{ barrier(); }}\n"));
        if reversed {
            fns.reverse();
        }
        let src = format!(
            "{}fn main() {{\n    if rank() == 0 {{\n        f0();\n    }}\n}}\n",
            fns.concat()
        );
        let (sources, checked) = check_source("chain.dtl", &src);
        let codes: Vec<&str> = checked
            .diagnostics
            .iter()
            .map(|d| d.code.as_str())
            .collect();
        assert_eq!(
            codes,
            ["E0301"],
            "{}",
            render(&checked.diagnostics, &sources, Style::Plain)
        );
    }
}

/// "Did you mean" compares each unknown name with every visible one; its work per module is
/// bounded (here 3,000 locals and 3,000 unknown names), so only the first unknown names get a
/// suggestion. Every unknown name is still reported.
#[test]
fn did_you_mean_work_is_bounded() {
    let n = 3_000;
    let src = format!(
        "fn main() {{ {}{}}}",
        (0..n)
            .map(|i| format!("let a{i} = 1; "))
            .collect::<String>(),
        (0..n).map(|i| format!("b{i}; ")).collect::<String>()
    );
    let (_, checked) = check_source("typos.dtl", &src);
    assert_eq!(checked.diagnostics.len(), n);
    let helped = checked
        .diagnostics
        .iter()
        .filter(|d| d.help.is_some())
        .count();
    assert!(helped > 0 && helped < n / 2, "{helped} suggestions");
}
