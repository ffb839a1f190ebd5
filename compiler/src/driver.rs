//! The pipeline, written out once: parse → resolve → typeck → spmd → sync → typed HIR.
//! Only the driver stops between phases (after syntax errors, and after name/type errors).

use crate::codegen::CodegenError;
use crate::diagnostics::{Code, Diagnostic, Diagnostics, Label, Span, Style, render};
use crate::hir::{self, ParsedModule};
use crate::source::{FileId, SourceMap};
use crate::{resolve, spmd, sync, typeck};

/// The result of checking one file.
#[derive(Debug)]
pub struct Checked {
    /// Every diagnostic, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// The typed HIR, when the program got that far (it may still carry SPMD errors).
    pub hir: Option<hir::Module>,
}

impl Checked {
    /// Whether any error was reported.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == crate::diagnostics::Severity::Error)
    }
}

fn syntax_errors(file: FileId, errs: Vec<dtl_grammar::SyntaxError>, diags: &mut Diagnostics) {
    for e in errs {
        let mut d = Diagnostic::error(
            Code::E0001,
            e.message.clone(),
            Label::new(Span::new(file, e.span.range()), syntax_label(&e)),
        );
        if !e.expected.is_empty() && e.expected.len() <= 8 {
            d = d.with_note(format!("expected one of: {}", e.expected.join(", ")));
        }
        diags.push(d);
    }
}

fn syntax_label(e: &dtl_grammar::SyntaxError) -> String {
    if e.span.is_empty() {
        "here".to_string()
    } else {
        "unexpected here".to_string()
    }
}

/// Parses `file` and the stdlib modules it imports (adding them to `sources` as
/// `<stdlib>/NAME.dtl`). Returns the modules, user module first.
pub fn parse(sources: &mut SourceMap, file: FileId, diags: &mut Diagnostics) -> Vec<ParsedModule> {
    let (ast, errs) = dtl_grammar::parse(sources.get(file).text());
    syntax_errors(file, errs, diags);
    let mut imports: Vec<String> = Vec::new();
    for item in &ast.items {
        if let dtl_grammar::ast::ItemKind::Import { name } = &item.kind
            && dtl_stdlib::source(&name.name).is_some()
            && !imports.contains(&name.name)
        {
            imports.push(name.name.clone());
        }
    }
    let mut modules = vec![ParsedModule {
        name: None,
        file,
        ast,
    }];
    for name in imports {
        let display = format!("<stdlib>/{name}.dtl");
        let id = match sources.find(&display) {
            Some(id) => id,
            None => sources.add(display, dtl_stdlib::source(&name).unwrap_or_default()),
        };
        let (ast, errs) = dtl_grammar::parse(sources.get(id).text());
        syntax_errors(id, errs, diags);
        modules.push(ParsedModule {
            name: Some(name),
            file: id,
            ast,
        });
    }
    modules
}

/// Checks `file` (already in `sources`): every phase up to the typed HIR.
pub fn check(sources: &mut SourceMap, file: FileId) -> Checked {
    check_with(sources, file, true)
}

fn is_missing_main(d: &Diagnostic) -> bool {
    d.code == Code::E0103 && d.message.contains("has no `fn main()`")
}

/// [`check`]; `require_main: false` accepts a file without `fn main()` (kernel sources).
pub fn check_with(sources: &mut SourceMap, file: FileId, require_main: bool) -> Checked {
    let mut diags = Diagnostics::new();
    let modules = parse(sources, file, &mut diags);
    let hir = if diags.has_errors() {
        None
    } else {
        let names = resolve::resolve(&modules, &mut diags);
        let mut hir = typeck::typeck(&modules, &names, &mut diags);
        if !require_main {
            diags.retain(|d| !is_missing_main(d));
        }
        if !diags.has_errors() {
            spmd::spmd(&mut hir, &mut diags);
        }
        if !diags.has_errors() {
            sync::sync(&mut hir, &mut diags);
        }
        Some(hir)
    };
    diags.sort();
    Checked {
        diagnostics: diags.into_vec(),
        hir,
    }
}

/// Checks kernel source (for Python's `dtl.compile`): like [`check_source`], except that a
/// `fn main()` is optional.
pub fn check_kernel_source(name: &str, text: &str) -> (SourceMap, Checked) {
    let mut sources = SourceMap::new();
    let file = sources.add(name, text);
    let checked = check_with(&mut sources, file, false);
    (sources, checked)
}

/// Why [`compile`] produced no program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompileError {
    /// The program uses constructs the code generator does not handle yet (`E0501`, each at
    /// the construct).
    Diagnostics(Vec<Diagnostic>),
    /// The compiler broke one of its own invariants: a bug in dtl, not in the program.
    Internal(InternalError),
}

/// An internal compiler error: what broke and, when known, where lowering was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternalError {
    pub detail: String,
    pub span: Option<Span>,
}

/// The request that closes every internal compiler error report.
pub const ICE_NOTE: &str = "note: this is a bug in the dtl compiler, not in your program; please report it with the input that caused it";

impl CompileError {
    /// The plain or colored text shown to the user: the diagnostics, or the one internal
    /// compiler error report (headline, location when known, the request to report it).
    pub fn render(&self, sources: &SourceMap, style: Style) -> String {
        match self {
            CompileError::Diagnostics(ds) => render(ds, sources, style),
            CompileError::Internal(ice) => {
                let mut out = format!("error: internal compiler error: {}\n", ice.detail);
                if let Some(sp) = &ice.span
                    && let Some(f) = sources.try_get(sp.file)
                {
                    let (l, c) = f.line_col(sp.range.start);
                    out.push_str(&format!("  --> {}:{l}:{c}\n", f.name()));
                }
                out.push_str(ICE_NOTE);
                out.push('\n');
                out
            }
        }
    }

    /// The diagnostics (none for an internal compiler error).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            CompileError::Diagnostics(ds) => ds,
            CompileError::Internal(_) => &[],
        }
    }

    /// Whether this is an internal compiler error.
    pub fn is_internal(&self) -> bool {
        matches!(self, CompileError::Internal(_))
    }
}

/// Maps a code generation failure to what the user sees: a construct that is not supported
/// yet becomes `E0501` at that construct; a broken invariant becomes an internal compiler
/// error (never an E-code at a made-up position).
pub fn report(e: CodegenError) -> CompileError {
    match e {
        CodegenError::Unsupported { what, help, span } => {
            let d = Diagnostic::error(
                Code::E0501,
                format!("not supported yet: {what}"),
                Label::new(span, "not supported yet by the code generator"),
            )
            .with_help(help.unwrap_or_else(|| {
                "the program is valid dtl, but the code generator does not handle this \
                 construct yet (`dtlc explain E0501`)"
                    .to_string()
            }));
            CompileError::Diagnostics(vec![d])
        }
        CodegenError::Internal { detail, span } => {
            CompileError::Internal(InternalError { detail, span })
        }
    }
}

/// Compiles a checked, error-free module to native code. Code generation problems come back
/// through [`report`]: `E0501` diagnostics for constructs that are not supported yet, an
/// internal compiler error for broken invariants.
pub fn compile(
    hir: &hir::Module,
    sources: &SourceMap,
    opts: crate::codegen::CodegenOptions,
    want_text: bool,
) -> Result<crate::jit::Program, CompileError> {
    crate::jit::Program::compile(hir, sources, opts, want_text).map_err(report)
}

/// Checks one source text under display name `name`; convenience for tests and bindings.
pub fn check_source(name: &str, text: &str) -> (SourceMap, Checked) {
    let mut sources = SourceMap::new();
    let file = sources.add(name, text);
    let checked = check(&mut sources, file);
    (sources, checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_file() -> (SourceMap, FileId) {
        let mut sources = SourceMap::new();
        let file = sources.add("k.dtl", "fn main() {\n    let x = 1;\n}\n");
        (sources, file)
    }

    /// A broken invariant is one internal compiler error report: named as such, with the
    /// detail, where lowering was, and the request to report it; no E-code, no diagnostics.
    #[test]
    fn an_internal_error_is_reported_as_an_internal_compiler_error() {
        let (sources, file) = one_file();
        let e = report(CodegenError::Internal {
            detail: "IR of `main` does not verify: v3 undefined".into(),
            span: Some(Span::new(file, 16..26)),
        });
        assert!(e.is_internal());
        assert!(e.diagnostics().is_empty());
        let text = e.render(&sources, Style::Plain);
        assert_eq!(
            text,
            format!(
                "error: internal compiler error: IR of `main` does not verify: v3 undefined\n  \
                 --> k.dtl:2:5\n{ICE_NOTE}\n"
            )
        );
        assert!(!text.contains("E0501") && !text.contains("[E"), "{text}");
    }

    /// Without a position (a Cranelift module error) the report says nothing about one, and a
    /// span of another source map is left out rather than looked up.
    #[test]
    fn an_internal_error_without_a_usable_span_has_no_location() {
        let (sources, _) = one_file();
        for span in [None, Some(Span::new(FileId(7), 0..1))] {
            let e = report(CodegenError::Internal {
                detail: "finalize: bad relocation".into(),
                span,
            });
            assert_eq!(
                e.render(&sources, Style::Plain),
                format!("error: internal compiler error: finalize: bad relocation\n{ICE_NOTE}\n")
            );
        }
    }

    /// A construct that is not supported yet is E0501 at that construct, with the help given
    /// (or the generic one).
    #[test]
    fn an_unsupported_construct_is_e0501_at_its_span() {
        let (_, file) = one_file();
        let span = Span::new(file, 16..26);
        for (help, want) in [
            (Some("do it another way".to_string()), "do it another way"),
            (None, "`dtlc explain E0501`"),
        ] {
            let e = report(CodegenError::Unsupported {
                what: "this".into(),
                help,
                span: span.clone(),
            });
            assert!(!e.is_internal());
            let [d] = e.diagnostics() else {
                panic!("{e:?}")
            };
            assert_eq!(d.code, Code::E0501);
            assert_eq!(d.message, "not supported yet: this");
            assert_eq!(d.primary.span, span);
            assert!(d.help.as_deref().is_some_and(|h| h.contains(want)), "{d:?}");
        }
    }
}
