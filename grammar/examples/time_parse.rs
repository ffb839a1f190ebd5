//! Times `parse` on generated inputs (manual benchmark: `cargo run --release --example time_parse`).
use std::time::Instant;

fn time(what: &str, src: &str) {
    let t = Instant::now();
    let toks = dtl_grammar::lex(src);
    let lex = t.elapsed();
    let t = Instant::now();
    let (m, e) = dtl_grammar::parse(src);
    let parse = t.elapsed();
    let t = Instant::now();
    let printed = dtl_grammar::print_ast(&m);
    let print = t.elapsed();
    println!(
        "{what}: {} bytes, {} tokens: lex {lex:?}, lex+parse {parse:?}, print {print:?} ({} bytes), {} errors",
        src.len(),
        toks.len(),
        printed.len(),
        e.len()
    );
}

fn main() {
    let item = "fn f(u: vector<f64>, n: i64) -> f64 {\n    let mut s = 0.0;\n    \
                forall i in u with s: sum { s += u[i] * (i as f64); }\n    return s;\n}\n";
    let mut big = String::new();
    while big.len() < 10 << 20 {
        big.push_str(item);
    }
    time("10 MB of functions", &big);
    let body = "    let x = a[i] + 2 * b;\n".repeat(200_000);
    time("200k statements", &format!("fn main() {{\n{body}}}\n"));
    let lines = "    let x = a[i] + 2 * b;\n".repeat(100_000);
    time("100k lines", &format!("fn main() {{\n{lines}}}\n"));
    let n = 50_000;
    time(
        "50k parens",
        &format!(
            "fn main() {{ let x = {}1{}; }}",
            "(".repeat(n),
            ")".repeat(n)
        ),
    );
    time(
        "deep error + 400k dropped",
        &format!(
            "fn main() {{ let x = {} 1 {}",
            "(".repeat(250),
            "x ".repeat(400_000)
        ),
    );
}
