//! The renderer's bounds: the cap on diagnostics shown, cut long lines, cut long texts.

use super::*;
use crate::diagnostics::{Code, Label, Span};

fn error_at(file: FileId, range: std::ops::Range<usize>, msg: &str) -> Diagnostic {
    Diagnostic::error(Code::E0101, msg, Label::new(Span::new(file, range), "here"))
}

fn headers(text: &str) -> usize {
    text.matches("] Error: ").count() + text.matches("] Warning: ").count()
}

#[test]
fn at_most_max_rendered_then_one_line_for_the_rest() {
    let mut map = SourceMap::new();
    let f = map.add("a.dtl", "x y z\n");
    let mut ds: Vec<Diagnostic> = (0..150).map(|_| error_at(f, 0..1, "e")).collect();
    let text = render(&ds, &map, Style::Plain);
    assert_eq!(headers(&text), MAX_RENDERED);
    assert!(text.ends_with(
        "... and 50 more errors (only the first 100 diagnostics are shown; \
         `dtlc check --format json` lists all)\n"
    ));
    ds.truncate(101);
    let mut w = error_at(f, 2..3, "w");
    w.severity = Severity::Warning;
    ds.push(w);
    let text = render(&ds, &map, Style::Plain);
    assert!(
        text.contains("... and 1 more error and 1 warning (only"),
        "{text}"
    );
    ds.truncate(100);
    assert!(!render(&ds, &map, Style::Plain).contains("... and"));
}

#[test]
fn long_lines_are_cut_around_the_label() {
    let mut map = SourceMap::new();
    let line = format!("{}bad{}", "a + ".repeat(500_000), " + b".repeat(500_000));
    let at = line.find("bad").unwrap();
    let f = map.add("long.dtl", format!("fn main() {{\n{line}\n}}\n"));
    let start = 12 + at;
    let d = error_at(f, start..start + 3, "unknown name `bad`");
    for style in [Style::Plain, Style::Color] {
        let text = render_one(&d, &map, style);
        assert!(text.len() < 4_000, "{} bytes", text.len());
        assert!(text.contains(&format!("long.dtl:2:{} ", at + 1)), "{text}");
    }
    let plain = render_one(&d, &map, Style::Plain);
    assert!(plain.contains(" + a + a + bad + b + b + "), "{plain}");
    assert_eq!(plain.matches('…').count(), 2, "{plain}");
    assert!(plain.contains(" 2 │"), "{plain}");
    let shown = plain.lines().find(|l| l.contains("bad")).unwrap();
    // The margin, then a window of SNIPPET_WIDTH characters and two ellipses.
    assert!(shown.chars().count() <= SNIPPET_WIDTH + 12, "{shown}");
}

#[test]
fn far_apart_labels_on_one_line_get_a_window_each() {
    let mut map = SourceMap::new();
    let line = format!("let x = 1; {}let x = 2;", "y; ".repeat(100_000));
    let second = line.rfind("x").unwrap();
    let f = map.add("dup.dtl", line.clone());
    let d = error_at(f, second..second + 1, "`x` is defined twice")
        .with_label(Span::new(f, 4..5), "first defined here");
    let text = render_one(&d, &map, Style::Plain);
    assert!(text.len() < 3_000, "{text}");
    assert!(text.contains("let x = 1; y; y;"), "{text}");
    assert!(text.contains("…y; y; "), "{text}");
    assert!(text.contains(" y; y; let x = 2;\n"), "{text}");
    assert!(
        text.contains(&format!("dup.dtl:1:{} ", second + 1)),
        "{text}"
    );
}

#[test]
fn multi_line_labels_and_labels_in_two_files() {
    let mut map = SourceMap::new();
    let long = "q".repeat(10_000);
    let a = map.add("a.dtl", format!("short\n{long}\nmiddle\n{long}\n"));
    let b = map.add("b.dtl", format!("{long}x{long}\n"));
    // From the middle of line 2 to the middle of line 4, plus a label in the other file.
    let d = error_at(a, 6 + 5_000..6 + 10_001 + 7 + 5_000, "spans lines")
        .with_label(Span::new(b, 10_000..10_001), "over there");
    let text = render_one(&d, &map, Style::Plain);
    assert!(text.len() < 3_000, "{text}");
    assert!(text.contains("a.dtl:2:5001 "), "{text}");
    assert!(text.contains("b.dtl:1:10001 "), "{text}");
    assert!(text.contains(" 4 │"), "{text}");
}

#[test]
fn odd_spans_on_long_lines_do_not_panic() {
    let mut map = SourceMap::new();
    let text = format!("{}\r\n{}", "é".repeat(1_000), "✓".repeat(1_000));
    let len = text.len();
    let f = map.add("odd.dtl", text);
    // The last one is reversed: a span from a buggy pass must not panic either.
    for (a, b) in [
        (0, 0),
        (1, 1),
        (2000, 2003),
        (2001, 2002),
        (len, len),
        (len + 5, len + 9),
        (3, 2),
    ] {
        let r = a..b;
        let out = render_one(&error_at(f, r.clone(), "m"), &map, Style::Plain);
        assert!(out.contains("odd.dtl:"), "{r:?}: {out}");
        assert!(out.len() < 2_000, "{r:?}: {out}");
    }
}

#[test]
fn long_texts_are_cut() {
    let mut map = SourceMap::new();
    let f = map.add("t.dtl", "x\n");
    let name = "n".repeat(100_000);
    let d = error_at(f, 0..1, &format!("unknown name `{name}`"))
        .with_note(name.clone())
        .with_help(name.clone());
    let text = render_one(&d, &map, Style::Plain);
    assert!(text.len() < 4 * (MAX_TEXT + 200), "{} bytes", text.len());
    assert!(text.contains("nnn…"));
    // The data stays whole (JSON lists it).
    let json = to_json(std::slice::from_ref(&d), &map);
    assert!(json[0]["message"].as_str().unwrap().len() > 100_000);
}

/// Fuzz crash 9147d332 (target `check`): a 2,048-byte program whose last diagnostic points at
/// the end of the text panicked in `SourceFile::line_col` (subtract with overflow) while the
/// header was fixed up. It renders now, header included.
#[test]
fn fuzz_crash_at_the_end_of_a_whole_chunk_text() {
    let bytes = include_bytes!("fuzz/check-crash-9147d332.bin");
    let src = std::str::from_utf8(bytes).unwrap();
    let (sources, checked) = crate::driver::check_source("fuzz.dtl", src);
    assert!(!checked.diagnostics.is_empty());
    let at_end = checked
        .diagnostics
        .iter()
        .any(|d| d.primary.span.range.start >= src.len());
    assert!(at_end, "the input must keep a diagnostic at its end");
    let text = render(&checked.diagnostics, &sources, Style::Plain);
    assert!(text.contains("fuzz.dtl:"), "{text}");
}
