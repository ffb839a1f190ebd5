//! The logos lexer: source text to tokens with byte spans (LANGUAGE §2).
//!
//! Decisions where the spec is silent:
//! - `step` is not a keyword: it lexes as an identifier and the grammar matches it
//!   contextually in `for i in a..b step s`, so `step` stays usable as a variable name.
//! - Type names (`i64`, `f64`, `vector`, `map`, ...) are identifiers too. A `<` directly
//!   after an identifier and directly before a type name is a generic-argument opener
//!   ([`Tok::GenericLt`]), so `vector<f64>(n)` and `recv<i64>(source: 0)` parse while
//!   `i < n` stays a comparison (see [`retag_generics`]).
//! - Float literals need digits on both sides of the point: `1.0`, `1e-3`, `2.5e6`; `.5`
//!   and `1.` are not floats (`1.` would make `0..n` ambiguous). `1e5` is a float.
//! - Integer literals: decimal with `_` separators, or hex `0x1F`; values up to `u64::MAX`
//!   (larger is an error token).
//! - Strings are one line: a raw newline ends an unterminated string (an error), so a
//!   missing `"` does not swallow the rest of the file. Escapes: `\n \t \" \\` (also `\r`
//!   and `\0`); any other escape is an error.
//! - Block comments nest; an unterminated one is an error token running to the end of input.
//! - A lexer error never panics: it becomes a [`Tok::Error`] token carrying a [`LexError`].

use std::fmt;

use logos::{FilterResult, Lexer, Logos};

use crate::span::Span;

/// Why a piece of input is not a token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LexError {
    /// A character that starts no token.
    #[default]
    UnexpectedChar,
    /// `/*` without its matching `*/`.
    UnterminatedComment,
    /// `"` without a closing `"` on the same line.
    UnterminatedString,
    /// A backslash escape other than `\n \t \r \0 \" \\`.
    BadEscape,
    /// An integer literal above `u64::MAX`.
    IntOverflow,
    /// A float literal that does not parse (cannot happen for the accepted forms; kept
    /// so the lexer stays total).
    BadFloat,
    /// A float literal above `f64::MAX` (`1e400`; it used to become infinity).
    FloatOverflow,
    /// `.5`: a float literal needs a digit before the point.
    LeadingDot,
    /// Brackets (or prefix operators) nested deeper than [`crate::ast::MAX_DEPTH`]; the
    /// parser collapses the too-deep tokens into one token carrying this error.
    TooDeep,
}

impl LexError {
    /// A one-line description.
    pub fn message(self) -> &'static str {
        match self {
            LexError::UnexpectedChar => "unexpected character",
            LexError::UnterminatedComment => "unterminated block comment",
            LexError::UnterminatedString => "unterminated string literal",
            LexError::BadEscape => "unknown escape in string literal (use \\n \\t \\\" \\\\)",
            LexError::IntOverflow => "integer literal is too large (the maximum is 2^64 - 1)",
            LexError::BadFloat => "malformed float literal",
            LexError::FloatOverflow => {
                "float literal is too large (the maximum is about 1.8e308; write `1.0 / 0.0` for infinity)"
            }
            LexError::LeadingDot => "a float literal needs a digit before the point (write 0.5)",
            LexError::TooDeep => "nested too deeply (more than 256 levels)",
        }
    }
}

impl fmt::Display for LexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// A token.
#[derive(Logos, Clone, Debug, PartialEq)]
#[logos(error = LexError)]
#[logos(skip r"[ \t\r\n\f]+")]
#[logos(skip(r"//[^\n]*", allow_greedy = true))]
pub enum Tok {
    // Keywords.
    /// `fn`
    #[token("fn")]
    Fn,
    /// `let`
    #[token("let")]
    Let,
    /// `mut`
    #[token("mut")]
    Mut,
    /// `const`
    #[token("const")]
    Const,
    /// `param`
    #[token("param")]
    Param,
    /// `import`
    #[token("import")]
    Import,
    /// `if`
    #[token("if")]
    If,
    /// `else`
    #[token("else")]
    Else,
    /// `for`
    #[token("for")]
    For,
    /// `while`
    #[token("while")]
    While,
    /// `forall`
    #[token("forall")]
    Forall,
    /// `in`
    #[token("in")]
    In,
    /// `return`
    #[token("return")]
    Return,
    /// `break`
    #[token("break")]
    Break,
    /// `continue`
    #[token("continue")]
    Continue,
    /// `true`
    #[token("true")]
    True,
    /// `false`
    #[token("false")]
    False,
    /// `as`
    #[token("as")]
    As,
    /// `with`
    #[token("with")]
    With,

    // Literals and names.
    /// An identifier (including type names and the contextual `step`).
    #[regex(r"[A-Za-z_][A-Za-z0-9_]*", |lex| lex.slice().to_owned())]
    Ident(String),
    /// An integer literal.
    #[regex(r"[0-9][0-9_]*", lex_dec)]
    #[regex(r"0[xX][0-9a-fA-F_]+", lex_hex)]
    Int(u64),
    /// A float literal.
    #[regex(
        r"[0-9][0-9_]*\.[0-9][0-9_]*([eE][+-]?[0-9_]*[0-9][0-9_]*)?",
        lex_float
    )]
    #[regex(r"[0-9][0-9_]*[eE][+-]?[0-9_]*[0-9][0-9_]*", lex_float)]
    Float(f64),
    /// A string literal, escapes processed.
    #[token("\"", lex_string)]
    Str(String),

    // Punctuation and operators.
    /// `::`
    #[token("::")]
    ColonColon,
    /// `->`
    #[token("->")]
    Arrow,
    /// `..`
    #[token("..")]
    DotDot,
    /// `@`
    #[token("@")]
    At,
    /// `,`
    #[token(",")]
    Comma,
    /// `;`
    #[token(";")]
    Semi,
    /// `:`
    #[token(":")]
    Colon,
    /// `(`
    #[token("(")]
    LParen,
    /// `)`
    #[token(")")]
    RParen,
    /// `[`
    #[token("[")]
    LBracket,
    /// `]`
    #[token("]")]
    RBracket,
    /// `{`
    #[token("{")]
    LBrace,
    /// `}`
    #[token("}")]
    RBrace,
    /// `<` as less-than.
    #[token("<")]
    Lt,
    /// `<` opening generic arguments (never produced by logos; see [`retag_generics`]).
    GenericLt,
    /// `>`
    #[token(">")]
    Gt,
    /// `<=`
    #[token("<=")]
    Le,
    /// `>=`
    #[token(">=")]
    Ge,
    /// `==`
    #[token("==")]
    EqEq,
    /// `!=`
    #[token("!=")]
    Ne,
    /// `=`
    #[token("=")]
    Eq,
    /// `+=`
    #[token("+=")]
    PlusEq,
    /// `-=`
    #[token("-=")]
    MinusEq,
    /// `*=`
    #[token("*=")]
    StarEq,
    /// `/=`
    #[token("/=")]
    SlashEq,
    /// `+`
    #[token("+")]
    Plus,
    /// `-`
    #[token("-")]
    Minus,
    /// `*`
    #[token("*")]
    Star,
    /// `/`
    #[token("/")]
    Slash,
    /// `%`
    #[token("%")]
    Percent,
    /// `!`
    #[token("!")]
    Bang,
    /// `&&`
    #[token("&&")]
    AndAnd,
    /// `||`
    #[token("||")]
    OrOr,

    /// Nested block comment; skipped (or an error when unterminated). Never produced.
    #[token("/*", lex_block_comment)]
    BlockComment,
    /// `.5`; always an error. Never produced.
    #[regex(r"\.[0-9]+", lex_leading_dot)]
    LeadingDot,

    /// Input that is not a token (produced by [`lex`], never by logos itself).
    Error(LexError),
}

fn lex_leading_dot(_: &mut Lexer<'_, Tok>) -> Result<(), LexError> {
    Err(LexError::LeadingDot)
}

fn lex_dec(lex: &mut Lexer<'_, Tok>) -> Result<u64, LexError> {
    parse_digits(lex.slice(), 10)
}

fn lex_hex(lex: &mut Lexer<'_, Tok>) -> Result<u64, LexError> {
    parse_digits(&lex.slice()[2..], 16)
}

fn parse_digits(digits: &str, radix: u32) -> Result<u64, LexError> {
    let mut value: u64 = 0;
    let mut any = false;
    for c in digits.chars() {
        if c == '_' {
            continue;
        }
        let d = c.to_digit(radix).ok_or(LexError::UnexpectedChar)?;
        value = value
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(u64::from(d)))
            .ok_or(LexError::IntOverflow)?;
        any = true;
    }
    if any {
        Ok(value)
    } else {
        Err(LexError::UnexpectedChar)
    }
}

fn lex_float(lex: &mut Lexer<'_, Tok>) -> Result<f64, LexError> {
    let cleaned: String = lex.slice().chars().filter(|&c| c != '_').collect();
    match cleaned.parse::<f64>() {
        Ok(v) if v.is_infinite() => Err(LexError::FloatOverflow),
        Ok(v) => Ok(v),
        Err(_) => Err(LexError::BadFloat),
    }
}

/// Scans a string literal after its opening `"`; consumes through the closing `"`, or up to
/// (not including) the end of line / input when unterminated.
fn lex_string(lex: &mut Lexer<'_, Tok>) -> Result<String, LexError> {
    let rest = lex.remainder();
    let mut out = String::new();
    let mut bad_escape = false;
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                lex.bump(i + 1);
                return if bad_escape {
                    Err(LexError::BadEscape)
                } else {
                    Ok(out)
                };
            }
            '\n' => {
                lex.bump(i);
                return Err(LexError::UnterminatedString);
            }
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, '0')) => out.push('\0'),
                Some((_, '"')) => out.push('"'),
                Some((_, '\\')) => out.push('\\'),
                Some((j, '\n')) => {
                    lex.bump(j);
                    return Err(LexError::UnterminatedString);
                }
                Some(_) => bad_escape = true,
                None => break,
            },
            c => out.push(c),
        }
    }
    lex.bump(rest.len());
    Err(LexError::UnterminatedString)
}

/// Skips a (nested) block comment after its opening `/*`.
fn lex_block_comment(lex: &mut Lexer<'_, Tok>) -> FilterResult<(), LexError> {
    let bytes = lex.remainder().as_bytes();
    let mut depth = 1usize;
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b'/', Some(b'*')) => {
                depth += 1;
                i += 2;
            }
            (b'*', Some(b'/')) => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    lex.bump(i);
                    return FilterResult::Skip;
                }
            }
            _ => i += 1,
        }
    }
    lex.bump(bytes.len());
    FilterResult::Error(LexError::UnterminatedComment)
}

impl Tok {
    /// How the token is spelled in messages, e.g. "`;`", "identifier `x`".
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("identifier `{s}`"),
            Tok::Int(v) => format!("integer `{v}`"),
            Tok::Float(v) => format!("float `{v:?}`"),
            Tok::Str(_) => "string literal".to_owned(),
            Tok::Error(e) => e.message().to_owned(),
            other => format!("`{}`", other.symbol()),
        }
    }

    /// The fixed spelling of a keyword or punctuation token ("" for tokens with a payload).
    pub fn symbol(&self) -> &'static str {
        match self {
            Tok::Fn => "fn",
            Tok::Let => "let",
            Tok::Mut => "mut",
            Tok::Const => "const",
            Tok::Param => "param",
            Tok::Import => "import",
            Tok::If => "if",
            Tok::Else => "else",
            Tok::For => "for",
            Tok::While => "while",
            Tok::Forall => "forall",
            Tok::In => "in",
            Tok::Return => "return",
            Tok::Break => "break",
            Tok::Continue => "continue",
            Tok::True => "true",
            Tok::False => "false",
            Tok::As => "as",
            Tok::With => "with",
            Tok::ColonColon => "::",
            Tok::Arrow => "->",
            Tok::DotDot => "..",
            Tok::At => "@",
            Tok::Comma => ",",
            Tok::Semi => ";",
            Tok::Colon => ":",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::Lt | Tok::GenericLt => "<",
            Tok::Gt => ">",
            Tok::Le => "<=",
            Tok::Ge => ">=",
            Tok::EqEq => "==",
            Tok::Ne => "!=",
            Tok::Eq => "=",
            Tok::PlusEq => "+=",
            Tok::MinusEq => "-=",
            Tok::StarEq => "*=",
            Tok::SlashEq => "/=",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::Slash => "/",
            Tok::Percent => "%",
            Tok::Bang => "!",
            Tok::AndAnd => "&&",
            Tok::OrOr => "||",
            Tok::Ident(_)
            | Tok::Int(_)
            | Tok::Float(_)
            | Tok::Str(_)
            | Tok::BlockComment
            | Tok::LeadingDot
            | Tok::Error(_) => "",
        }
    }
}

/// The names that make a preceding `<` a generic-argument opener.
pub fn is_type_name(name: &str) -> bool {
    matches!(
        name,
        "i8" | "i32"
            | "i64"
            | "u8"
            | "u32"
            | "u64"
            | "f32"
            | "f64"
            | "bool"
            | "vector"
            | "array"
            | "tensor"
            | "local"
            | "map"
    )
}

/// Lexes the whole input into tokens with spans, as the parser sees them: lexer errors are
/// [`Tok::Error`] tokens and generic openers are retagged (see [`retag_generics`]).
/// Never panics; runs in linear time.
pub fn lex(src: &str) -> Vec<(Tok, Span)> {
    let mut out = Vec::new();
    let mut lexer = Tok::lexer(src);
    // A byte order mark at the start (some editors write one) is not a token.
    if src.starts_with('\u{feff}') {
        lexer.bump('\u{feff}'.len_utf8());
    }
    while let Some(item) = lexer.next() {
        let span = Span::from(lexer.span());
        let tok = item.unwrap_or_else(Tok::Error);
        out.push((tok, span));
    }
    retag_generics(&mut out);
    out
}

/// Turns `<` into [`Tok::GenericLt`] where it opens generic arguments: directly after an
/// identifier and directly before a type name (`vector<f64>`, `recv<i64>(...)`,
/// `map<i64, f64>`). Everywhere else `<` stays less-than.
pub fn retag_generics(toks: &mut [(Tok, Span)]) {
    for i in 1..toks.len().saturating_sub(1) {
        if toks[i].0 != Tok::Lt {
            continue;
        }
        let after_ident = matches!(toks[i - 1].0, Tok::Ident(_));
        let before_type = matches!(&toks[i + 1].0, Tok::Ident(n) if is_type_name(n));
        if after_ident && before_type {
            toks[i].0 = Tok::GenericLt;
        }
    }
}

/// Renders tokens one per line as `@start..end Kind` (for `dtlc --emit=tokens`).
pub fn print_tokens(toks: &[(Tok, Span)]) -> String {
    let mut out = String::new();
    for (tok, span) in toks {
        let text = match tok {
            Tok::Ident(s) => format!("Ident {s}"),
            Tok::Int(v) => format!("Int {v}"),
            Tok::Float(v) => format!("Float {v:?}"),
            Tok::Str(s) => format!("Str {s:?}"),
            Tok::Error(e) => format!("Error {e:?}"),
            Tok::GenericLt => "GenericLt".to_owned(),
            other => format!("{:?} `{}`", other, other.symbol()),
        };
        out.push_str(&format!("@{span} {text}\n"));
    }
    out
}
