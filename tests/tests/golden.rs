//! Golden tests: UI cases, the spec's error and example programs, HIR dumps, generated docs.

use dtl_compiler::diagnostics::Code;
use dtl_compiler::hir;
use dtl_tests::{check_and_compile_path, check_path, dtl_files, expectations, root, spec_header};

fn snapshot_settings(dir: &str) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(root().join("snapshots").join(dir));
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    s
}

fn stem(p: &std::path::Path) -> String {
    p.file_stem().unwrap().to_string_lossy().into_owned()
}

/// `cases/check/*.dtl`: every `//~ ERROR` expectation is met, nothing else is reported (also
/// by code generation, for cases that check clean), and the full plain rendering matches its
/// snapshot.
#[test]
fn check_cases() {
    let files = dtl_files("cases/check");
    assert!(files.len() >= 60, "only {} check cases", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let src = std::fs::read_to_string(path).unwrap();
        let want = expectations(&src);
        let out = check_and_compile_path(path);
        let mut got = out.codes_and_lines();
        got.sort();
        got.dedup();
        let mut want_d = want.clone();
        want_d.dedup();
        if got != want_d {
            failures.push(format!(
                "{}:\n  expected {want_d:?}\n  got      {got:?}\n{}",
                path.display(),
                out.rendered
            ));
        }
        let rendered = out.rendered.clone();
        snapshot_settings("check").bind(|| {
            insta::assert_snapshot!(stem(path), rendered);
        });
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `spec/errors/*.dtl`: the header's code is reported with its primary label on a listed line.
#[test]
fn spec_errors() {
    let mut failures = Vec::new();
    for path in dtl_files("spec/errors") {
        let src = std::fs::read_to_string(&path).unwrap();
        let (code, lines) = spec_header(&src);
        let out = check_path(&path);
        let ok = out.checked.has_errors()
            && out
                .codes_and_lines()
                .iter()
                .any(|(c, l)| *c == code && lines.contains(l));
        if !ok {
            failures.push(format!(
                "{}: expected {code} on line(s) {lines:?}, got {:?}\n{}",
                path.display(),
                out.codes_and_lines(),
                out.rendered
            ));
        }
        // The rendering names FILE:LINE:COL of the primary label.
        let d = &out.checked.diagnostics[0];
        let f = out.sources.get(d.primary.span.file);
        let (l, c) = f.line_col(d.primary.span.range.start);
        let loc = format!("{}:{l}:{c}", f.name());
        assert!(
            out.rendered.contains(&loc),
            "{loc} not in\n{}",
            out.rendered
        );
        let rendered = out.rendered.clone();
        snapshot_settings("spec_errors").bind(|| {
            insta::assert_snapshot!(stem(&path), rendered);
        });
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `spec/examples/*.dtl` check clean.
#[test]
fn spec_examples() {
    let files = dtl_files("spec/examples");
    assert!(!files.is_empty());
    for path in files {
        let out = check_path(&path);
        assert!(
            out.checked.diagnostics.is_empty(),
            "{} should check clean:\n{}",
            path.display(),
            out.rendered
        );
        assert!(out.checked.hir.is_some());
    }
}

/// `cases/hir/*.dtl`: snapshot of the HIR dump (the programs must check clean).
#[test]
fn hir_cases() {
    for path in dtl_files("cases/hir") {
        let out = check_path(&path);
        assert!(
            out.checked.diagnostics.is_empty(),
            "{}:\n{}",
            path.display(),
            out.rendered
        );
        let dump = hir::print(out.checked.hir.as_ref().unwrap());
        snapshot_settings("hir").bind(|| {
            insta::assert_snapshot!(stem(&path), dump);
        });
    }
}

/// Every code has a case in `cases/check/` that expects it (except the file-level E0002).
#[test]
fn every_code_has_a_case() {
    let mut seen = std::collections::HashSet::new();
    for path in dtl_files("cases/check") {
        for (c, _) in expectations(&std::fs::read_to_string(path).unwrap()) {
            seen.insert(c);
        }
    }
    let missing: Vec<&str> = Code::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| *c != "E0002" && !seen.contains(*c))
        .collect();
    assert!(missing.is_empty(), "no check case for {missing:?}");
}

/// `docs/diagnostics/` is generated from the codes' doc comments; regenerates it and fails
/// when it was stale (commit the result).
#[test]
fn diagnostics_docs_are_fresh() {
    let dir = root().join("../docs/diagnostics");
    std::fs::create_dir_all(&dir).unwrap();
    let mut pages: Vec<(String, String)> = Code::ALL
        .iter()
        .map(|c| (format!("{}.md", c.as_str()), c.doc_page()))
        .collect();
    pages.push(("README.md".to_string(), Code::doc_index()));
    let mut stale = Vec::new();
    for (name, text) in pages {
        let path = dir.join(&name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text).unwrap();
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "docs/diagnostics was stale and has been regenerated ({stale:?}); commit it"
    );
}
