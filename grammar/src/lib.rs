//! The dtl grammar: logos tokens, the lalrpop parser and the AST (issue #3).

pub mod ast;
pub mod span;

pub use span::Span;

/// A syntax error found by the lexer or the parser (the compiler reports it as E0001).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where: the offending token, or an empty span at the end of the input.
    pub span: Span,
    /// A one-line message, e.g. "expected `;`, found `let`".
    pub message: String,
    /// What the parser would have accepted here (spellings such as "`;`", "identifier").
    pub expected: Vec<String>,
}

/// Parses a whole source file. Never panics; returns a best-effort module (with `Error` nodes
/// where recovery happened) and every syntax error found.
pub fn parse(src: &str) -> (ast::Module, Vec<SyntaxError>) {
    // Placeholder until the parser lands.
    let module = ast::Module {
        items: Vec::new(),
        span: Span::from_usize(0, src.len()),
    };
    (module, Vec::new())
}
