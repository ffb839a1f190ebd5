//! Test harness for golden and end-to-end tests: one `check_*` function per kind of case.
//!
//! - `cases/check/*.dtl`: UI tests. A line carrying `//~ ERROR E0xxx` must be the line of the
//!   primary label of an `E0xxx` diagnostic; every diagnostic must be expected. A case that
//!   checks without errors is also compiled, so code generation's `E0501` is expected the same
//!   way. The full plain rendering is snapshotted with insta.
//! - `spec/errors/*.dtl`: `// error: CODE` and `// line: N [M ...]` headers.
//! - `spec/examples/*.dtl`: must check clean.
//! - `cases/hir/*.dtl`: snapshot of the HIR dump.

use dtl_compiler::diagnostics::{Diagnostic, Style, render};
use dtl_compiler::driver;
use dtl_compiler::source::SourceMap;
use std::path::{Path, PathBuf};

/// The root of the `tests` crate.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `.dtl` files of `dir` (relative to the crate root), sorted.
pub fn dtl_files(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("reading {dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "dtl"))
        .collect();
    v.sort();
    v
}

/// A checked file: its source map, diagnostics and plain rendering.
pub struct Outcome {
    pub sources: SourceMap,
    pub checked: driver::Checked,
    pub rendered: String,
}

impl Outcome {
    /// `(code, line)` of each diagnostic's primary label (lines 1-based).
    pub fn codes_and_lines(&self) -> Vec<(String, usize)> {
        self.checked
            .diagnostics
            .iter()
            .map(|d| (d.code.as_str().to_string(), primary_line(&self.sources, d)))
            .collect()
    }
}

/// The 1-based line of the primary label.
pub fn primary_line(sources: &SourceMap, d: &Diagnostic) -> usize {
    sources
        .get(d.primary.span.file)
        .line_col(d.primary.span.range.start)
        .0
}

/// Checks one file, naming it by its path relative to the crate root (stable in snapshots).
pub fn check_path(path: &Path) -> Outcome {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path
        .strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string();
    let (sources, checked) = driver::check_source(&name, &text);
    let rendered = render(&checked.diagnostics, &sources, Style::Plain);
    Outcome {
        sources,
        checked,
        rendered,
    }
}

/// [`check_path`], then, when the file checks without errors, code generation: its `E0501`
/// diagnostics join the outcome. An internal compiler error fails the calling test (no UI case
/// may reach one).
pub fn check_and_compile_path(path: &Path) -> Outcome {
    let mut out = check_path(path);
    if out.checked.has_errors() {
        return out;
    }
    let Some(hir) = out.checked.hir.as_ref() else {
        return out;
    };
    match driver::compile(hir, &out.sources, Default::default(), false) {
        Ok(_) => {}
        Err(e) if e.is_internal() => {
            panic!(
                "{}: {}",
                path.display(),
                e.render(&out.sources, Style::Plain)
            )
        }
        Err(e) => {
            out.checked
                .diagnostics
                .extend(e.diagnostics().iter().cloned());
            out.rendered = render(&out.checked.diagnostics, &out.sources, Style::Plain);
        }
    }
    out
}

/// The `//~ ERROR CODE` expectations of a source: `(code, line)`, sorted.
pub fn expectations(src: &str) -> Vec<(String, usize)> {
    let mut v = Vec::new();
    for (i, line) in src.lines().enumerate() {
        let mut rest = line;
        while let Some(p) = rest.find("//~") {
            rest = &rest[p + 3..];
            let mut words = rest.split_whitespace();
            let (Some(kind), Some(code)) = (words.next(), words.next()) else {
                continue;
            };
            assert_eq!(kind, "ERROR", "line {}: expected `//~ ERROR CODE`", i + 1);
            v.push((code.to_string(), i + 1));
        }
    }
    v.sort();
    v
}

/// The `// error:` and `// line:` headers of a spec error file: the code and allowed lines.
pub fn spec_header(src: &str) -> (String, Vec<usize>) {
    let mut code = None;
    let mut lines = Vec::new();
    for l in src.lines().take_while(|l| l.starts_with("//")) {
        if let Some(c) = l.strip_prefix("// error:") {
            code = Some(c.trim().to_string());
        }
        if let Some(ns) = l.strip_prefix("// line:") {
            lines.extend(ns.split_whitespace().map(|n| n.parse::<usize>().unwrap()));
        }
    }
    (code.expect("`// error: CODE` header"), lines)
}
