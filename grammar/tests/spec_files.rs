//! Parses the spec programs kept in the project's `tests/spec/` (copied there by the golden
//! test suite). Skips silently when that folder does not exist yet; `DTL_SPEC_DIR` points
//! the test at another copy (e.g. the shared spec folder).

use std::path::PathBuf;

fn spec_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("DTL_SPEC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/spec"));
    dir.is_dir().then_some(dir)
}

fn dtl_files(dir: PathBuf) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "dtl"));
    files.sort();
    files
}

#[test]
fn spec_examples_parse_without_errors() {
    let Some(dir) = spec_dir() else { return };
    for path in dtl_files(dir.join("examples")) {
        let src = std::fs::read_to_string(&path).expect("readable example");
        let (module, errors) = dtl_grammar::parse(&src);
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
        assert!(!module.items.is_empty(), "{}", path.display());
    }
}

/// Every error program except the syntax one parses cleanly (their errors are semantic);
/// the syntax one reports E0001 on one of the lines its header names.
#[test]
fn spec_error_programs() {
    let Some(dir) = spec_dir() else { return };
    for path in dtl_files(dir.join("errors")) {
        let src = std::fs::read_to_string(&path).expect("readable error case");
        let (_, errors) = dtl_grammar::parse(&src);
        let code = src
            .lines()
            .find_map(|l| l.strip_prefix("// error: "))
            .unwrap_or("");
        if code.trim() == "E0001" {
            let lines: Vec<usize> = src
                .lines()
                .find_map(|l| l.strip_prefix("// line: "))
                .unwrap_or("")
                .split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect();
            assert!(!errors.is_empty(), "{}: no syntax error", path.display());
            let line = src[..errors[0].span.start as usize].matches('\n').count() + 1;
            assert!(
                lines.contains(&line),
                "{}: error on line {line}: {errors:#?}",
                path.display()
            );
        } else {
            assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
        }
    }
}
