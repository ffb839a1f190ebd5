//! Parser tests: precedence, every statement and expression form, error recovery, and
//! insta snapshots of the AST printer.

use dtl_grammar::ast::{Expr, ExprKind, ItemKind, Module, StmtKind, TypeKind};
use dtl_grammar::{parse, print_ast};

/// Parses `src`, asserting it has no syntax errors.
fn ok(src: &str) -> Module {
    let (m, errors) = parse(src);
    assert!(
        errors.is_empty(),
        "unexpected errors for {src:?}: {errors:#?}"
    );
    m
}

/// A compact S-expression of an expression, for precedence tests.
fn sx(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Int(v) => v.to_string(),
        ExprKind::Float(v) => format!("{v:?}"),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Str(s) => format!("{s:?}"),
        ExprKind::Name(i) => i.name.clone(),
        ExprKind::Path(p) => p
            .segments
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join("::"),
        ExprKind::Unary { op, operand } => format!("({}{})", op.symbol(), sx(operand)),
        ExprKind::Binary { op, lhs, rhs, .. } => {
            format!("({} {} {})", sx(lhs), op.symbol(), sx(rhs))
        }
        ExprKind::Cast { expr, .. } => format!("({} as T)", sx(expr)),
        ExprKind::Call {
            callee,
            type_args,
            args,
            annotations,
        } => {
            let name = callee
                .segments
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>();
            let args: Vec<String> = args
                .iter()
                .map(|a| match &a.name {
                    Some(n) => format!("{}: {}", n.name, sx(&a.value)),
                    None => sx(&a.value),
                })
                .collect();
            let anns: String = annotations
                .iter()
                .map(|a| format!(" @{}", a.name.name))
                .collect();
            let targs = if type_args.is_empty() { "" } else { "<..>" };
            format!("{}{targs}({}){anns}", name.join("::"), args.join(", "))
        }
        ExprKind::Index { base, indices } => {
            let ix: Vec<String> = indices.iter().map(sx).collect();
            format!("{}[{}]", sx(base), ix.join(", "))
        }
        ExprKind::Annotated { expr, annotations } => {
            let anns: String = annotations
                .iter()
                .map(|a| format!(" @{}", a.name.name))
                .collect();
            format!("({}{anns})", sx(expr))
        }
        ExprKind::Error => "<error>".to_owned(),
    }
}

/// The expression of `fn f() { let x = <src>; }`.
fn expr(src: &str) -> String {
    let m = ok(&format!("fn f() {{ let x = {src}; }}"));
    let ItemKind::Fn(f) = &m.items[0].kind else {
        panic!("not a fn")
    };
    let StmtKind::Let { init, .. } = &f.body.stmts[0].kind else {
        panic!("not a let")
    };
    sx(init)
}

#[test]
fn precedence_follows_rust() {
    assert_eq!(expr("1 + 2 * 3"), "(1 + (2 * 3))");
    assert_eq!(expr("1 - 2 - 3"), "((1 - 2) - 3)");
    assert_eq!(expr("a || b && c"), "(a || (b && c))");
    assert_eq!(expr("a && b || c"), "((a && b) || c)");
    assert_eq!(expr("a + 1 < b * 2 && c"), "(((a + 1) < (b * 2)) && c)");
    assert_eq!(expr("a % b / c"), "((a % b) / c)");
    assert_eq!(expr("-a * b"), "((-a) * b)");
    assert_eq!(expr("!a && b"), "((!a) && b)");
    assert_eq!(expr("-x as f64"), "((-x) as T)");
    assert_eq!(expr("x as f64 * 2.0"), "((x as T) * 2.0)");
    assert_eq!(expr("x as i64 as f64"), "((x as T) as T)");
    assert_eq!(expr("-u[i]"), "(-u[i])");
    assert_eq!(expr("(a + b) * c"), "((a + b) * c)");
    assert_eq!(expr("a == b || c != d"), "((a == b) || (c != d))");
}

#[test]
fn comparisons_do_not_chain() {
    let (_, errors) = parse("fn f() { let x = a < b < c; }");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].message.contains("cannot be chained"),
        "{}",
        errors[0].message
    );
}

#[test]
fn generic_calls_and_less_than() {
    assert_eq!(
        expr("vector<f64>(n) @block @halo(1)"),
        "vector<..>(n) @block @halo"
    );
    assert_eq!(
        expr("recv<i64>(source: r - 1)"),
        "recv<..>(source: (r - 1))"
    );
    assert_eq!(expr("map<i64, f64>()"), "map<..>()");
    assert_eq!(
        expr("load<f64>(\"x.npy\") @cyclic"),
        "load<..>(\"x.npy\") @cyclic"
    );
    assert_eq!(expr("i < n"), "(i < n)");
    assert_eq!(expr("i<n"), "(i < n)");
    assert_eq!(expr("a < b && c > d"), "((a < b) && (c > d))");
    assert_eq!(expr("x as f64 < y"), "((x as T) < y)");
    assert_eq!(expr("copy(a) @block_cyclic(7)"), "copy(a) @block_cyclic");
    assert_eq!(expr("stats::variance(u)"), "stats::variance(u)");
    assert_eq!(expr("stats::PI * 2.0"), "(stats::PI * 2.0)");
    assert_eq!(expr("t[i - 1, j]"), "t[(i - 1), j]");
    assert_eq!(expr("squares[k][0]"), "squares[k][0]");
    assert_eq!(expr("(a) @block"), "(a @block)");
}

#[test]
fn types() {
    let m = ok(
        "fn f(a: vector<f64>, b: tensor<f32, 2>, c: map<i64, vector<u8>>, d: local<bool>, \
                e: array<i32>, f: u64) -> tensor<f64> { }",
    );
    let ItemKind::Fn(f) = &m.items[0].kind else {
        panic!()
    };
    let tys: Vec<&TypeKind> = f.params.iter().map(|p| &p.ty.kind).collect();
    assert!(matches!(tys[0], TypeKind::Vector(_)));
    assert!(matches!(tys[1], TypeKind::Tensor { rank: Some(2), .. }));
    assert!(matches!(tys[2], TypeKind::Map { .. }));
    assert!(matches!(tys[3], TypeKind::Local(_)));
    assert!(matches!(tys[4], TypeKind::Array(_)));
    assert!(matches!(tys[5], TypeKind::Scalar(_)));
    assert!(matches!(
        f.ret.as_ref().map(|t| &t.kind),
        Some(TypeKind::Tensor { rank: None, .. })
    ));

    for bad in [
        "fn f(a: foo) {}",
        "fn f(a: vector) {}",
        "fn f(a: map<i64>) {}",
        "fn f(a: f64<i64>) {}",
    ] {
        let (_, errors) = parse(bad);
        assert_eq!(errors.len(), 1, "{bad}: {errors:#?}");
    }
}

#[test]
fn step_is_contextual() {
    let m = ok("fn f() { let step = 2; for i in 0..10 step step { print(i); } }");
    let ItemKind::Fn(f) = &m.items[0].kind else {
        panic!()
    };
    let StmtKind::For { step: Some(s), .. } = &f.body.stmts[1].kind else {
        panic!()
    };
    assert_eq!(sx(s), "step");
    let (_, errors) = parse("fn f() { for i in 0..10 by 2 { } }");
    assert_eq!(errors.len(), 1);
    assert!(errors[0].message.contains("`step`"));
}

#[test]
fn tail_expression_and_empty_statements() {
    let m = ok("fn sq(x: f64) -> f64 { x * x } fn g() { ;; let a = 1;; }");
    let ItemKind::Fn(f) = &m.items[0].kind else {
        panic!()
    };
    assert!(f.body.stmts.is_empty());
    assert_eq!(f.body.tail.as_deref().map(sx).as_deref(), Some("(x * x)"));
    let ItemKind::Fn(g) = &m.items[1].kind else {
        panic!()
    };
    assert_eq!(g.body.stmts.len(), 1);
}

#[test]
fn if_chains_are_flat() {
    let m = ok("fn f() { if a { } else if b { } else if c { } else { x = 1; } }");
    let ItemKind::Fn(f) = &m.items[0].kind else {
        panic!()
    };
    let StmtKind::If {
        branches,
        else_block,
    } = &f.body.stmts[0].kind
    else {
        panic!()
    };
    assert_eq!(branches.len(), 3);
    assert!(else_block.is_some());
}

#[test]
fn forall_forms() {
    let m = ok("fn f() { forall i, j in t { } forall i in 0..n with s: sum, m: max { } }");
    let ItemKind::Fn(f) = &m.items[0].kind else {
        panic!()
    };
    let StmtKind::Forall {
        vars, reductions, ..
    } = &f.body.stmts[0].kind
    else {
        panic!()
    };
    assert_eq!(vars.len(), 2);
    assert!(reductions.is_empty());
    let StmtKind::Forall { reductions, .. } = &f.body.stmts[1].kind else {
        panic!()
    };
    assert_eq!(reductions.len(), 2);
}

#[test]
fn spans_cover_nodes() {
    let src = "fn main() { let x = 1 + 2; }";
    let m = ok(src);
    let ItemKind::Fn(f) = &m.items[0].kind else {
        panic!()
    };
    let s = &f.body.stmts[0];
    assert_eq!(&src[s.span.range()], "let x = 1 + 2;");
    let StmtKind::Let { init, name, .. } = &s.kind else {
        panic!()
    };
    assert_eq!(&src[init.span.range()], "1 + 2");
    assert_eq!(&src[name.span.range()], "x");
    assert_eq!(&src[m.items[0].span.range()], src);
}

#[test]
fn missing_semicolon_is_reported_on_the_next_statement() {
    let src = "fn main() {\n    let a = 1;\n    let b = 2\n    let c = a + b;\n    print(c);\n}\n";
    let (m, errors) = parse(src);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].message, "expected `;`, found `let`");
    assert!(errors[0].expected.contains(&"`;`".to_owned()));
    let line = src[..errors[0].span.start as usize].matches('\n').count() + 1;
    assert_eq!(line, 4);
    // Recovery keeps the rest of the function.
    let ItemKind::Fn(f) = &m.items[0].kind else {
        panic!()
    };
    assert!(f.body.stmts.len() >= 3);
}

#[test]
fn several_errors_in_one_run() {
    let src = "fn main() {\n let a = (1 + ;\n x = = 3;\n if a < b < c { y = 1; }\n let ok = 2;\n}\n\
               fn g( { }\nfn h() { let z = 1; }\n";
    let (m, errors) = parse(src);
    assert!(errors.len() >= 4, "{errors:#?}");
    // `h` survives the broken `g`.
    assert!(
        m.items
            .iter()
            .any(|i| matches!(&i.kind, ItemKind::Fn(f) if f.name.name == "h"))
    );
}

#[test]
fn lexer_errors_become_syntax_errors() {
    let cases = [
        ("fn f() { let x = 1 # 2; }", "unexpected character `#`"),
        ("fn f() { let x = .5; }", "digit before the point"),
        ("fn f() { let x = 18446744073709551616; }", "too large"),
        ("fn f() { print(\"abc); }", "unterminated string"),
        ("fn f() { print(\"a\\qb\"); }", "unknown escape"),
        ("fn f() { } /* /* */", "unterminated block comment"),
    ];
    for (src, want) in cases {
        let (_, errors) = parse(src);
        assert!(!errors.is_empty(), "{src}");
        assert!(
            errors.iter().any(|e| e.message.contains(want)),
            "{src}: {errors:#?}"
        );
    }
    // The largest literal is fine.
    ok("fn f() { let x = 18446744073709551615; let y = 0xFFFF_FFFF_FFFF_FFFF; }");
}

#[test]
fn invalid_utf8_is_an_error_with_a_span() {
    let mut bytes = b"fn main() { let x = 1; }\n// caf".to_vec();
    bytes.extend_from_slice(&[0xC3, 0x28, b'\n']);
    let (m, errors) = dtl_grammar::parse_bytes(&bytes);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].span.start as usize, bytes.len() - 3);
    assert!(errors[0].message.contains("UTF-8"));
    assert_eq!(m.items.len(), 1);
}

const HEAT: &str = "// 1-D heat equation
param n: i64 = 1000;
param steps: i64 = 100;

fn main() {
    let u = vector<f64>(n) @block @halo(1);
    let v = vector<f64>(n) @block @halo(1);
    forall i in u { u[i] = select(i == n / 2, 1.0, 0.0); }
    for s in 0..steps {
        forall i in u {
            if i > 0 && i < n - 1 {
                v[i] = 0.25 * u[i - 1] + 0.5 * u[i] + 0.25 * u[i + 1];
            } else {
                v[i] = u[i];
            }
        }
        swap(u, v);
    }
    if rank() == 0 { print(\"total\", round(sum(u), 9)); }
}
";

const ALL_FORMS: &str = r#"import stats;
const PI2: f64 = 6.283185307179586;
param n: i64 = 1_000_000;

fn norm(u: vector<f64>) -> f64 { return sqrt(dot(u, u)); }
fn sq(x: f64) -> f64 { x * x }

fn main() {
    let mut acc: i64 = 0x1F;
    let g = vector<f64>(n, fill: 1.5) @block @halo(2, periodic) @device(0);
    let t = tensor<f32>(512, 512) @block;
    let m = map<i64, f64>();
    let l = local<i64>(size());
    let y = recv<f64>(source: 0, tag: 7);
    let w = load<f64>("x.npy") @cyclic;
    acc += 1; acc -= 2; acc *= 3; acc /= 4;
    while acc > 0 && !false { acc = acc - 1; if acc == 3 { break; } else { continue; } }
    for i in 0..10 step 2 { l[i] = i * 100 % 7; }
    forall i, j in t with s: sum { s += t[i, j] as f64; }
    { let inner = -1e-3; }
    print("a\tb\n", stats::variance(g), 2.5e6, true);
    return;
}
"#;

#[test]
fn snapshot_heat() {
    insta::assert_snapshot!(print_ast(&ok(HEAT)));
}

#[test]
fn snapshot_all_forms() {
    insta::assert_snapshot!(print_ast(&ok(ALL_FORMS)));
}

#[test]
fn snapshot_recovered_errors() {
    let src = "fn main() {\n    let a = 1;\n    let b = 2\n    let c = (a + ;\n    if a < b < c { a = 1; }\n}\nfn ok() { }\n";
    let (m, errors) = parse(src);
    let mut out = String::new();
    for e in &errors {
        out.push_str(&format!(
            "@{} {} [expected: {}]\n",
            e.span,
            e.message,
            e.expected.len()
        ));
    }
    out.push_str(&print_ast(&m));
    insta::assert_snapshot!(out);
}

#[test]
fn tokens_snapshot() {
    let toks = dtl_grammar::lex(
        "let v = vector<f64>(n) @halo(1); /* a /* b */ */ i < 0x1F // c\n\"s\\n\"",
    );
    insta::assert_snapshot!(dtl_grammar::print_tokens(&toks));
}
