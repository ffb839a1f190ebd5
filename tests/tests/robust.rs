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
