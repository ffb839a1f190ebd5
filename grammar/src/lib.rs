//! The dtl grammar: logos tokens, the lalrpop parser and the AST (issue #3).
//!
//! Entry points: [`parse`] (and [`parse_bytes`] for raw file contents), [`lex`] with
//! [`print_tokens`] for `dtlc --emit=tokens`, and [`print_ast`] for `dtlc --emit=ast`.
//! Sans-IO: no files, environment, printing or clocks.
//!
//! Pipeline: [`token::lex`] (logos; lexer errors are `Tok::Error` tokens, `<` before a type
//! name is retagged `GenericLt`) → nesting pre-scan (brackets deeper than [`MAX_DEPTH`]
//! collapse into one error token) → the lalrpop grammar (`grammar.lalrpop`, LR(1), `!`
//! recovery at `;`, `}`, keyword statements and items) → [`ast::Module`].
//!
//! Syntax decisions where LANGUAGE.md is silent (also in the module docs of [`token`]):
//! `step` is contextual; type names are identifiers; `1.` and `.5` are not floats; strings
//! are single-line; `-x as T` is `(-x) as T` as in Rust; comparisons do not chain; a stray
//! `;` is an empty statement; `const`/`param` need a type; `let` needs an initialiser;
//! trailing commas are allowed in argument, parameter and type-argument lists.

pub mod ast;
mod parser;
mod print;
pub mod span;
pub mod token;

lalrpop_util::lalrpop_mod!(
    #[allow(clippy::all, clippy::pedantic, unused)]
    grammar
);

pub use ast::MAX_DEPTH;
pub use parser::MAX_ERRORS;
pub use print::print_ast;
pub use span::Span;
pub use token::{LexError, Tok};

/// A syntax error found by the lexer or the parser (the compiler reports it as E0001).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where: the offending token, or an empty span at the end of the input.
    pub span: Span,
    /// A one-line message, e.g. "expected `;`, found `let`".
    pub message: String,
    /// What the parser would have accepted here (spellings such as "`;`", "identifier"),
    /// sorted; empty when not applicable.
    pub expected: Vec<String>,
}

/// Parses a whole source file. Never panics, runs in linear time and returns a best-effort
/// module (with `Error` nodes where recovery happened) and every syntax error found (at most
/// [`MAX_ERRORS`], plus a final "too many errors" entry), sorted by position.
pub fn parse(src: &str) -> (ast::Module, Vec<SyntaxError>) {
    let span = Span::from_usize(0, src.len());
    if u32::try_from(src.len()).is_err() {
        let error = SyntaxError {
            span: Span::new(0, 0),
            message: "source file is too large (4 GiB or more)".to_owned(),
            expected: Vec::new(),
        };
        return (
            ast::Module {
                items: Vec::new(),
                span,
            },
            vec![error],
        );
    }
    let toks = token::lex(src);
    let (items, errors) = parser::parse_tokens(src, toks);
    (ast::Module { items, span }, errors)
}

/// Parses raw file contents. Invalid UTF-8 is reported as a syntax error whose span covers
/// the first invalid byte sequence; the file is then parsed only up to that point (so the
/// errors before it are reported too).
pub fn parse_bytes(bytes: &[u8]) -> (ast::Module, Vec<SyntaxError>) {
    match std::str::from_utf8(bytes) {
        Ok(src) => parse(src),
        Err(e) => {
            let valid = e.valid_up_to();
            let bad = e.error_len().unwrap_or(bytes.len() - valid);
            let prefix = std::str::from_utf8(&bytes[..valid]).unwrap_or("");
            let (mut module, mut errors) = parse(prefix);
            module.span = Span::from_usize(0, bytes.len());
            errors.push(SyntaxError {
                span: Span::from_usize(valid, valid + bad),
                message: "invalid UTF-8 in source file".to_owned(),
                expected: Vec::new(),
            });
            (module, errors)
        }
    }
}

/// The tokens of `src` as the parser sees them (lexer errors are [`Tok::Error`] tokens).
pub fn lex(src: &str) -> Vec<(Tok, Span)> {
    token::lex(src)
}

/// Renders tokens one per line, `@start..end Kind payload` (for `dtlc --emit=tokens`).
pub fn print_tokens(toks: &[(Tok, Span)]) -> String {
    token::print_tokens(toks)
}
