//! The pipeline, written out once: parse → resolve → typeck → spmd → sync → typed HIR.
//! Only the driver stops between phases (after syntax errors, and after name/type errors).

use crate::diagnostics::{Code, Diagnostic, Diagnostics, Label, Span};
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

/// Compiles a checked, error-free module to native code. Code generation problems come back
/// as diagnostics (`E0501` for constructs that are not supported yet).
pub fn compile(
    hir: &hir::Module,
    sources: &SourceMap,
    opts: crate::codegen::CodegenOptions,
    want_text: bool,
) -> Result<crate::jit::Program, Vec<Diagnostic>> {
    crate::jit::Program::compile(hir, sources, opts, want_text).map_err(|e| {
        let span = e.span.unwrap_or_else(|| Span::new(FileId(0), 0..0));
        vec![Diagnostic::error(
            Code::E0501,
            e.message,
            Label::new(span, "here"),
        )]
    })
}

/// Checks one source text under display name `name`; convenience for tests and bindings.
pub fn check_source(name: &str, text: &str) -> (SourceMap, Checked) {
    let mut sources = SourceMap::new();
    let file = sources.add(name, text);
    let checked = check(&mut sources, file);
    (sources, checked)
}
