//! Robustness (issue #3): no input may panic, hang, overflow the stack or take superlinear
//! time. Each case runs on a thread with a 2 MiB stack, so a recursion that grows with the
//! input would overflow here.

use std::time::{Duration, Instant};

use dtl_grammar::ast::{ItemKind, Module};
use dtl_grammar::{SyntaxError, parse, parse_bytes, print_ast};

const STACK: usize = 2 << 20;

/// Parses `src` (and prints and drops the AST) on a small-stack thread; returns the errors
/// and the time it took.
fn run_small_stack(src: Vec<u8>) -> (Vec<SyntaxError>, usize, Duration) {
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || {
            let t = Instant::now();
            let (module, errors): (Module, _) = parse_bytes(&src);
            let printed = print_ast(&module);
            let toks = dtl_grammar::lex(&String::from_utf8_lossy(&src));
            let _ = dtl_grammar::print_tokens(&toks[..toks.len().min(1000)]);
            let n = module.items.len();
            drop(module);
            drop(printed);
            (errors, n, t.elapsed())
        })
        .expect("spawn")
        .join()
        .expect("no panic or overflow")
}

/// Debug builds on a shared 2-core machine: generous, but catches quadratic blow-ups.
fn assert_fast(what: &str, d: Duration) {
    eprintln!("{what}: {d:?}");
    assert!(d < Duration::from_secs(30), "{what} took {d:?}");
}

#[test]
fn empty_file() {
    let (errors, items, _) = run_small_stack(Vec::new());
    assert!(errors.is_empty());
    assert_eq!(items, 0);
    let (errors, _, _) = run_small_stack(b"  // only a comment\n/* and /* nested */ */\n".to_vec());
    assert!(errors.is_empty());
}

#[test]
fn fifty_thousand_nested_parentheses() {
    let n = 50_000;
    let src = format!(
        "fn main() {{ let x = {}1{}; }}",
        "(".repeat(n),
        ")".repeat(n)
    );
    let (errors, _, d) = run_small_stack(src.into_bytes());
    assert_fast("50k parens", d);
    assert!(!errors.is_empty());
    assert!(
        errors[0].message.contains("nested too deeply"),
        "{errors:#?}"
    );
    assert!(errors.len() <= 3, "{errors:#?}");

    // Within the limit, parentheses leave no node and parse fine.
    let src = format!(
        "fn main() {{ let x = {}1{}; }}",
        "(".repeat(200),
        ")".repeat(200)
    );
    assert!(parse(&src).1.is_empty());
}

#[test]
fn deep_nesting_of_every_kind() {
    let n = 50_000;
    let cases: Vec<(&str, String)> = vec![
        (
            "braces",
            format!("fn main() {{ {} {} }}", "{".repeat(n), "}".repeat(n)),
        ),
        (
            "brackets",
            format!("fn main() {{ let x = a{}; }}", "[0]".repeat(n)),
        ),
        (
            "index nest",
            format!(
                "fn main() {{ let x = {}0{}; }}",
                "a[".repeat(n),
                "]".repeat(n)
            ),
        ),
        (
            "calls",
            format!(
                "fn main() {{ let x = {}0{}; }}",
                "f(".repeat(n),
                ")".repeat(n)
            ),
        ),
        (
            "minus",
            format!("fn main() {{ let x = {}1; }}", "-".repeat(n)),
        ),
        (
            "not",
            format!("fn main() {{ let x = {}true; }}", "!".repeat(n)),
        ),
        (
            "left chain",
            format!("fn main() {{ let x = 1{}; }}", " + 1".repeat(n)),
        ),
        (
            "right parens",
            format!(
                "fn main() {{ let x = {}1{}; }}",
                "1 + (".repeat(n),
                ")".repeat(n)
            ),
        ),
        (
            "casts",
            format!("fn main() {{ let x = 1{}; }}", " as i64".repeat(n)),
        ),
        (
            "types",
            format!("fn f(x: {}f64{}) {{ }}", "vector<".repeat(n), ">".repeat(n)),
        ),
        (
            "ifs",
            format!("fn main() {{ {} {} }}", "if a { ".repeat(n), "}".repeat(n)),
        ),
        (
            "whiles",
            format!(
                "fn main() {{ {} {} }}",
                "while a { ".repeat(n),
                "}".repeat(n)
            ),
        ),
        (
            "else if",
            format!("fn main() {{ if a {{ }} {} }}", "else if a { } ".repeat(n)),
        ),
        (
            "annotations",
            format!("fn main() {{ let x = f(){}; }}", " @block".repeat(n)),
        ),
        (
            "ann args",
            format!(
                "fn main() {{ let x = {}1{}; }}",
                "f() @h(".repeat(n),
                ")".repeat(n)
            ),
        ),
        (
            "open parens",
            format!("fn main() {{ let x = {}", "(".repeat(n)),
        ),
        (
            "close parens",
            format!("fn main() {{ let x = 1{}; }}", ")".repeat(n)),
        ),
        ("unclosed braces", "fn main() {".repeat(n)),
        (
            "comments",
            "/*".repeat(n) + &"*/".repeat(n) + "fn main() { }",
        ),
    ];
    for (what, src) in cases {
        let (errors, _, d) = run_small_stack(src.into_bytes());
        assert_fast(what, d);
        assert!(
            errors.len() <= dtl_grammar::MAX_ERRORS + 1,
            "{what}: {} errors",
            errors.len()
        );
    }
}

/// Trees just inside the limit ([`dtl_grammar::MAX_DEPTH`] node levels; a nested block
/// statement is two levels, Stmt and Block) are kept, and printing and dropping them fits a
/// small stack.
#[test]
fn deepest_allowed_trees() {
    let cases = [
        format!(
            "fn main() {{ let x = {}1{}; }}",
            "1 + (".repeat(250),
            ")".repeat(250)
        ),
        format!("fn main() {{ {} {} }}", "{".repeat(120), "}".repeat(120)),
        format!(
            "fn main() {{ {} {} }}",
            "if a { ".repeat(120),
            "}".repeat(120)
        ),
        format!(
            "fn main() {{ let x = {}0{}; }}",
            "f(".repeat(250),
            ")".repeat(250)
        ),
        format!(
            "fn f(x: {}f64{}) {{ }}",
            "vector<".repeat(250),
            ">".repeat(250)
        ),
    ];
    for src in cases {
        let (errors, items, _) = run_small_stack(src.into_bytes());
        assert!(errors.is_empty(), "{errors:#?}");
        assert_eq!(items, 1);
    }
    let too_deep = format!(
        "fn main() {{ let x = {}1{}; }}",
        "1 + (".repeat(300),
        ")".repeat(300)
    );
    let (errors, _, _) = run_small_stack(too_deep.into_bytes());
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].message.contains("nested too deeply"));
}

/// Later passes nest an `else if` chain (each `else if` is an `if` in the `else` block of the
/// one before), so the nesting limit counts its length: a chain within the limit parses, a
/// longer one (here 10,000 and 100,000 branches) is one clear error, fast, whatever follows.
#[test]
fn else_if_chains_count_as_nesting() {
    let chain = |n: usize| {
        format!(
            "fn main() {{ if a {{ }} {} else {{ }} }}\nfn g() {{ }}\n",
            "else if a { } ".repeat(n)
        )
    };
    let (errors, items, _) = run_small_stack(chain(100).into_bytes());
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(items, 2);
    for n in [10_000, 100_000] {
        let (errors, items, d) = run_small_stack(chain(n).into_bytes());
        assert_fast("long else-if chain", d);
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(
            errors[0]
                .message
                .contains("`else if` chain nested too deeply"),
            "{errors:#?}"
        );
        assert_eq!(items, 2);
    }
    // The limit is the nesting limit: 127 `else if`s after an `if` (two levels each) fit, and
    // so do nested ifs inside them as long as the total stays within it.
    let fits = format!(
        "fn main() {{ if a {{ }} {} }}",
        "else if a { } ".repeat(126)
    );
    assert!(parse(&fits).1.is_empty(), "{:#?}", parse(&fits).1);
    let over = format!(
        "fn main() {{ if a {{ }} {} }}",
        "else if a { } ".repeat(128)
    );
    assert_eq!(parse(&over).1.len(), 1);
}

#[test]
fn two_hundred_thousand_statements() {
    let body = "    let x = a[i] + 2 * b;\n".repeat(200_000);
    let src = format!("fn main() {{\n{body}}}\n");
    let (errors, items, d) = run_small_stack(src.into_bytes());
    assert_fast("200k statements", d);
    assert!(errors.is_empty());
    assert_eq!(items, 1);
}

#[test]
fn ten_megabyte_file() {
    let item = "fn f(u: vector<f64>, n: i64) -> f64 {\n    let mut s = 0.0;\n    \
                forall i in u with s: sum { s += u[i] * (i as f64); }\n    return s;\n}\n";
    let mut src = String::new();
    while src.len() < 10 << 20 {
        src.push_str(item);
    }
    let (errors, items, d) = run_small_stack(src.into_bytes());
    assert_fast("10 MB of functions", d);
    assert!(errors.is_empty());
    assert!(items > 50_000);

    // 10 MB of garbage tokens stops after MAX_ERRORS.
    let src = "fn main() { let x = ) ] @ ; ".repeat((10 << 20) / 28);
    let (errors, _, d) = run_small_stack(src.into_bytes());
    assert_fast("10 MB of errors", d);
    assert_eq!(errors.len(), dtl_grammar::MAX_ERRORS + 1);
}

#[test]
fn garbage_after_deep_nesting_is_linear() {
    // An error deep inside brackets, followed by megabytes of tokens that recovery drops.
    let src = format!(
        "fn main() {{ let x = {} 1 {}",
        "(".repeat(250),
        "x ".repeat(2_000_000)
    );
    let (errors, _, d) = run_small_stack(src.into_bytes());
    assert_fast("deep error + 2M dropped tokens", d);
    assert!(!errors.is_empty());
}

/// A tiny deterministic generator (no dependency needed for byte soup).
fn xorshift(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[test]
fn random_bytes() {
    let mut seed = 0x9e37_79b9_7f4a_7c15;
    for len in [1usize, 7, 64, 1000, 100_000, 1 << 20] {
        let bytes: Vec<u8> = (0..len).map(|_| xorshift(&mut seed) as u8).collect();
        let (_, _, d) = run_small_stack(bytes);
        assert_fast("random bytes", d);
    }
    // Random ASCII drawn from the language's alphabet.
    let alphabet = b"fn let mut (){}[]<>=+-*/%!&|@,;:.0123456789xyz_\"\\/* \n";
    for len in [10usize, 1000, 1 << 20] {
        let bytes: Vec<u8> = (0..len)
            .map(|_| alphabet[(xorshift(&mut seed) % alphabet.len() as u64) as usize])
            .collect();
        let (_, _, d) = run_small_stack(bytes);
        assert_fast("random ascii", d);
    }
}

#[test]
fn invalid_utf8() {
    for bytes in [
        vec![0xFF],
        vec![b'f', b'n', 0xC0, 0x80],
        vec![0xED, 0xA0, 0x80],
        b"fn \xF0\x9F\x98".to_vec(),
    ] {
        let (errors, _, _) = run_small_stack(bytes);
        assert!(
            errors.iter().any(|e| e.message.contains("UTF-8")),
            "{errors:#?}"
        );
    }
    // Valid non-ASCII in comments and strings is fine; elsewhere it is an error token.
    let (_, errors) = parse("// héllo ✓\nfn main() { print(\"wörld\"); }");
    assert!(errors.is_empty());
    let (_, errors) = parse("fn main() { let é = 1; }");
    assert!(!errors.is_empty());
}

#[test]
fn error_items_do_not_hide_later_items() {
    let (m, errors) = parse("fn a() { let = ; }\nlet top = 1;\nfn b() { }\n");
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        m.items
            .iter()
            .any(|i| matches!(&i.kind, ItemKind::Fn(f) if f.name.name == "b"))
    );
}

mod soup {
    use proptest::prelude::*;

    const PIECES: &[&str] = &[
        "fn", "let", "mut", "const", "param", "import", "if", "else", "for", "while", "forall",
        "in", "return", "break", "continue", "true", "false", "as", "with", "step", "x", "u",
        "vector", "f64", "i64", "map", "tensor", "0", "1_000", "0x1F", "2.5e6", "1.0", "\"s\"",
        "\"", "::", "->", "..", "@", "@halo", ",", ";", ":", "(", ")", "[", "]", "{", "}", "<",
        ">", "<=", ">=", "==", "!=", "=", "+=", "-=", "*=", "/=", "+", "-", "*", "/", "%", "!",
        "&&", "||", "/*", "*/", "//", "\n", "#", ".", "é",
    ];

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 512,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn token_soup_never_panics(idx in proptest::collection::vec(0..PIECES.len(), 0..200)) {
            let src: String = idx.iter().map(|&i| PIECES[i]).collect::<Vec<_>>().join(" ");
            let (m, errors) = dtl_grammar::parse(&src);
            let _ = dtl_grammar::print_ast(&m);
            for e in &errors {
                prop_assert!(e.span.start <= e.span.end);
                prop_assert!(e.span.end as usize <= src.len());
            }
        }

        #[test]
        fn valid_programs_have_no_errors(n in 0usize..20, m in 1u64..1000) {
            let src = format!(
                "param n: i64 = {m};\nfn main() {{\n{}}}\n",
                "    let mut s = 0;\n    for i in 0..n step 2 { s += i * 3 % 7; }\n".repeat(n)
            );
            let (_, errors) = dtl_grammar::parse(&src);
            prop_assert!(errors.is_empty());
        }
    }
}
