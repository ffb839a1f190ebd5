//! Robustness (issue #3): no input may panic, hang, overflow the stack or take superlinear
//! work. Each case runs on a thread with a 2 MiB stack, so a recursion that grows with the
//! input would overflow here. Nothing is timed (a loaded machine must not fail a test): the
//! work is counted instead, as the allocations the case's thread makes (a counting global
//! allocator, per thread), and doubling an input may at most [`MAX_GROWTH`] times them.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use dtl_grammar::ast::{ItemKind, Module};
use dtl_grammar::{SyntaxError, parse, parse_bytes, print_ast};

const STACK: usize = 2 << 20;

thread_local! {
    /// Allocations counted on this thread: (number of allocations and reallocations, bytes
    /// requested by them).
    static ALLOCATED: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

fn count(bytes: usize) {
    // `try_with`: the allocator also runs while a thread's locals are torn down.
    let _ = ALLOCATED.try_with(|c| {
        let (n, b) = c.get();
        c.set((n + 1, b + bytes as u64));
    });
}

/// The system allocator, counting what each thread allocates.
struct Counting;

// SAFETY: every call is forwarded unchanged to the system allocator, which upholds the
// `GlobalAlloc` contract; the counting touches only a thread-local `Cell` and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded with the caller's layout (non-zero size, per the contract).
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: as in `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, that is from `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: `ptr` came from `System` with `layout`; the caller guarantees `new_size`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The work one case did: allocations and bytes allocated on its thread. Deterministic for a
/// given input, whatever the machine's load.
#[derive(Clone, Copy, Debug)]
struct Work {
    allocs: u64,
    bytes: u64,
}

/// Doubling an input may multiply its [`Work`] by at most this: linear work doubles (plus
/// constants), quadratic work quadruples.
const MAX_GROWTH: f64 = 2.5;

/// Parses `src` (and prints and drops the AST) on a small-stack thread; returns the errors,
/// the number of items and the work it took.
fn run_small_stack(src: Vec<u8>) -> (Vec<SyntaxError>, usize, Work) {
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || {
            let before = ALLOCATED.with(Cell::get);
            let (module, errors): (Module, _) = parse_bytes(&src);
            let printed = print_ast(&module);
            let toks = dtl_grammar::lex(&String::from_utf8_lossy(&src));
            let _ = dtl_grammar::print_tokens(&toks[..toks.len().min(1000)]);
            let n = module.items.len();
            drop(module);
            drop(printed);
            drop(toks);
            let after = ALLOCATED.with(Cell::get);
            let work = Work {
                allocs: after.0 - before.0,
                bytes: after.1 - before.1,
            };
            (errors, n, work)
        })
        .expect("spawn")
        .join()
        .expect("no panic or overflow")
}

/// Runs the case `make(n)` and `make(2 * n)` and checks that the larger did at most
/// [`MAX_GROWTH`] times the work of the smaller (a quadratic pass would do four times it).
/// Returns the errors and item count of the larger.
fn assert_linear(
    what: &str,
    n: usize,
    make: impl Fn(usize) -> Vec<u8>,
) -> (Vec<SyntaxError>, usize) {
    let (_, _, small) = run_small_stack(make(n));
    let (errors, items, large) = run_small_stack(make(2 * n));
    eprintln!("{what}: n={n}: {small:?}, 2n: {large:?}");
    for (unit, a, b) in [
        ("allocations", small.allocs, large.allocs),
        ("bytes", small.bytes, large.bytes),
    ] {
        assert!(
            b as f64 <= MAX_GROWTH * a.max(1) as f64,
            "{what}: doubling the input took {a} -> {b} {unit} (more than {MAX_GROWTH}x)"
        );
    }
    (errors, items)
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
    let (errors, _) = assert_linear("25k and 50k parens", 25_000, |n| {
        format!(
            "fn main() {{ let x = {}1{}; }}",
            "(".repeat(n),
            ")".repeat(n)
        )
        .into_bytes()
    });
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
    type Make = Box<dyn Fn(usize) -> String>;
    let cases: Vec<(&str, Make)> = vec![
        (
            "braces",
            Box::new(|n| format!("fn main() {{ {} {} }}", "{".repeat(n), "}".repeat(n))),
        ),
        (
            "brackets",
            Box::new(|n| format!("fn main() {{ let x = a{}; }}", "[0]".repeat(n))),
        ),
        (
            "index nest",
            Box::new(|n| {
                format!(
                    "fn main() {{ let x = {}0{}; }}",
                    "a[".repeat(n),
                    "]".repeat(n)
                )
            }),
        ),
        (
            "calls",
            Box::new(|n| {
                format!(
                    "fn main() {{ let x = {}0{}; }}",
                    "f(".repeat(n),
                    ")".repeat(n)
                )
            }),
        ),
        (
            "minus",
            Box::new(|n| format!("fn main() {{ let x = {}1; }}", "-".repeat(n))),
        ),
        (
            "not",
            Box::new(|n| format!("fn main() {{ let x = {}true; }}", "!".repeat(n))),
        ),
        (
            "left chain",
            Box::new(|n| format!("fn main() {{ let x = 1{}; }}", " + 1".repeat(n))),
        ),
        (
            "right parens",
            Box::new(|n| {
                format!(
                    "fn main() {{ let x = {}1{}; }}",
                    "1 + (".repeat(n),
                    ")".repeat(n)
                )
            }),
        ),
        (
            "casts",
            Box::new(|n| format!("fn main() {{ let x = 1{}; }}", " as i64".repeat(n))),
        ),
        (
            "types",
            Box::new(|n| format!("fn f(x: {}f64{}) {{ }}", "vector<".repeat(n), ">".repeat(n))),
        ),
        (
            "ifs",
            Box::new(|n| format!("fn main() {{ {} {} }}", "if a { ".repeat(n), "}".repeat(n))),
        ),
        (
            "whiles",
            Box::new(|n| {
                format!(
                    "fn main() {{ {} {} }}",
                    "while a { ".repeat(n),
                    "}".repeat(n)
                )
            }),
        ),
        (
            "else if",
            Box::new(|n| format!("fn main() {{ if a {{ }} {} }}", "else if a { } ".repeat(n))),
        ),
        (
            "annotations",
            Box::new(|n| format!("fn main() {{ let x = f(){}; }}", " @block".repeat(n))),
        ),
        (
            "ann args",
            Box::new(|n| {
                format!(
                    "fn main() {{ let x = {}1{}; }}",
                    "f() @h(".repeat(n),
                    ")".repeat(n)
                )
            }),
        ),
        (
            "open parens",
            Box::new(|n| format!("fn main() {{ let x = {}", "(".repeat(n))),
        ),
        (
            "close parens",
            Box::new(|n| format!("fn main() {{ let x = 1{}; }}", ")".repeat(n))),
        ),
        ("unclosed braces", Box::new(|n| "fn main() {".repeat(n))),
        (
            "comments",
            Box::new(|n| "/*".repeat(n) + &"*/".repeat(n) + "fn main() { }"),
        ),
    ];
    // 25,000 and 50,000 levels (far past the nesting limit).
    for (what, make) in cases {
        let (errors, _) = assert_linear(what, 25_000, |n| make(n).into_bytes());
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
    for n in [5_000, 50_000] {
        let (errors, items) = assert_linear("long else-if chain", n, |n| chain(n).into_bytes());
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

/// 50,000 and 100,000 statements in one function: linear work, no deep recursion. (Was
/// 200,000 statements under a 30 s limit, which a loaded machine missed; an allocation per
/// statement that grows with the statements before it fails this.)
#[test]
fn statements_scale_linearly() {
    let (errors, items) = assert_linear("50k and 100k statements", 50_000, |n| {
        let body = "    let x = a[i] + 2 * b;\n".repeat(n);
        format!("fn main() {{\n{body}}}\n").into_bytes()
    });
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(items, 1);
}

/// 2 and 4 MiB of functions, and 2 and 4 MiB of garbage tokens (which stop after
/// [`dtl_grammar::MAX_ERRORS`]): linear work. (Was one 10 MB file under a 30 s limit.)
#[test]
fn megabytes_of_source_scale_linearly() {
    let item = "fn f(u: vector<f64>, n: i64) -> f64 {\n    let mut s = 0.0;\n    \
                forall i in u with s: sum { s += u[i] * (i as f64); }\n    return s;\n}\n";
    let (errors, items) = assert_linear("2 and 4 MiB of functions", 2 << 20, |bytes| {
        item.repeat(bytes.div_ceil(item.len())).into_bytes()
    });
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(items > 20_000, "{items} items");

    let garbage = "fn main() { let x = ) ] @ ; ";
    let (errors, _) = assert_linear("2 and 4 MiB of errors", 2 << 20, |bytes| {
        garbage.repeat(bytes / garbage.len()).into_bytes()
    });
    assert_eq!(errors.len(), dtl_grammar::MAX_ERRORS + 1);
}

#[test]
fn garbage_after_deep_nesting_is_linear() {
    // An error deep inside brackets, followed by megabytes of tokens that recovery drops.
    let (errors, _) = assert_linear("deep error + 1M and 2M dropped tokens", 1_000_000, |n| {
        format!(
            "fn main() {{ let x = {} 1 {}",
            "(".repeat(250),
            "x ".repeat(n)
        )
        .into_bytes()
    });
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
    for len in [1usize, 7, 64, 1000, 100_000] {
        let bytes: Vec<u8> = (0..len).map(|_| xorshift(&mut seed) as u8).collect();
        run_small_stack(bytes);
    }
    // The same stream, 512 KiB and 1 MiB of it.
    let from = seed;
    assert_linear("random bytes", 1 << 19, |len| {
        let mut seed = from;
        (0..len).map(|_| xorshift(&mut seed) as u8).collect()
    });
    // Random ASCII drawn from the language's alphabet.
    let alphabet = b"fn let mut (){}[]<>=+-*/%!&|@,;:.0123456789xyz_\"\\/* \n";
    let ascii = |seed: &mut u64, len: usize| -> Vec<u8> {
        (0..len)
            .map(|_| alphabet[(xorshift(seed) % alphabet.len() as u64) as usize])
            .collect()
    };
    for len in [10usize, 1000] {
        run_small_stack(ascii(&mut seed, len));
    }
    let from = seed;
    assert_linear("random ascii", 1 << 19, |len| ascii(&mut from.clone(), len));
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
