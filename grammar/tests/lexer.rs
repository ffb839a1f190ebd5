//! Lexer tests: literals, comments, contextual words and generic retagging.

use dtl_grammar::{LexError, Tok, lex};

fn kinds(src: &str) -> Vec<Tok> {
    lex(src).into_iter().map(|(t, _)| t).collect()
}

fn ident(s: &str) -> Tok {
    Tok::Ident(s.to_owned())
}

#[test]
fn numbers() {
    assert_eq!(
        kinds("42 1_000_000 0x1F 0XfF_ff"),
        [
            Tok::Int(42),
            Tok::Int(1_000_000),
            Tok::Int(31),
            Tok::Int(0xffff)
        ]
    );
    assert_eq!(
        kinds("1.0 1e-3 2.5e6 1E5 3.25e+2"),
        [
            Tok::Float(1.0),
            Tok::Float(1e-3),
            Tok::Float(2.5e6),
            Tok::Float(1e5),
            Tok::Float(325.0)
        ]
    );
    // Ranges are not floats.
    assert_eq!(kinds("0..n"), [Tok::Int(0), Tok::DotDot, ident("n")]);
    // `1.` is an integer followed by an invalid `.`; `.5` is an error.
    assert_eq!(
        kinds("1."),
        [Tok::Int(1), Tok::Error(LexError::UnexpectedChar)]
    );
    assert_eq!(kinds(".5"), [Tok::Error(LexError::LeadingDot)]);
    assert_eq!(
        kinds("18446744073709551616"),
        [Tok::Error(LexError::IntOverflow)]
    );
    assert_eq!(
        kinds("0x1_0000_0000_0000_0000"),
        [Tok::Error(LexError::IntOverflow)]
    );
}

#[test]
fn strings() {
    assert_eq!(
        kinds(r#""a\n\t\"\\b""#),
        [Tok::Str("a\n\t\"\\b".to_owned())]
    );
    assert_eq!(
        kinds("\"abc\nlet"),
        [Tok::Error(LexError::UnterminatedString), Tok::Let]
    );
    assert_eq!(
        kinds(r#""a\qb" x"#),
        [Tok::Error(LexError::BadEscape), ident("x")]
    );
    assert_eq!(kinds("\"abc"), [Tok::Error(LexError::UnterminatedString)]);
    assert_eq!(kinds("\"ünï\""), [Tok::Str("ünï".to_owned())]);
}

#[test]
fn comments_nest() {
    assert_eq!(
        kinds("a /* x /* y */ z */ b // c\nd"),
        [ident("a"), ident("b"), ident("d")]
    );
    assert_eq!(
        kinds("a /* /* */"),
        [ident("a"), Tok::Error(LexError::UnterminatedComment)]
    );
    assert_eq!(kinds("a/**/b"), [ident("a"), ident("b")]);
    assert_eq!(kinds("a // no newline"), [ident("a")]);
}

#[test]
fn keywords_and_contextual_words() {
    assert_eq!(
        kinds("fn let mut forall with step f64 vector"),
        [
            Tok::Fn,
            Tok::Let,
            Tok::Mut,
            Tok::Forall,
            Tok::With,
            ident("step"),
            ident("f64"),
            ident("vector")
        ]
    );
    assert_eq!(kinds("forall_x lets"), [ident("forall_x"), ident("lets")]);
}

#[test]
fn generic_lt_only_before_type_names() {
    assert_eq!(
        kinds("vector<f64>"),
        [ident("vector"), Tok::GenericLt, ident("f64"), Tok::Gt]
    );
    assert_eq!(kinds("i<n"), [ident("i"), Tok::Lt, ident("n")]);
    assert_eq!(kinds("i < 3"), [ident("i"), Tok::Lt, Tok::Int(3)]);
    assert_eq!(
        kinds("(a) < f64"),
        [Tok::LParen, ident("a"), Tok::RParen, Tok::Lt, ident("f64")]
    );
}

#[test]
fn operators() {
    assert_eq!(
        kinds(":: -> .. @ <= >= == != += -= *= /= && || ! % ="),
        [
            Tok::ColonColon,
            Tok::Arrow,
            Tok::DotDot,
            Tok::At,
            Tok::Le,
            Tok::Ge,
            Tok::EqEq,
            Tok::Ne,
            Tok::PlusEq,
            Tok::MinusEq,
            Tok::StarEq,
            Tok::SlashEq,
            Tok::AndAnd,
            Tok::OrOr,
            Tok::Bang,
            Tok::Percent,
            Tok::Eq
        ]
    );
    assert_eq!(
        kinds("& | # $"),
        vec![Tok::Error(LexError::UnexpectedChar); 4]
    );
}

/// A float literal beyond `f64::MAX` is an error, not infinity; the largest finite ones and
/// underflow to zero are fine.
#[test]
fn float_overflow() {
    assert_eq!(kinds("1e400"), [Tok::Error(LexError::FloatOverflow)]);
    let big = format!("{}.5", "9".repeat(400));
    assert_eq!(kinds(&big), [Tok::Error(LexError::FloatOverflow)]);
    assert_eq!(kinds("1.7e308"), [Tok::Float(1.7e308)]);
    assert_eq!(kinds("1e-400"), [Tok::Float(0.0)]);
}

/// A byte order mark at the start of a file is skipped (spans stay byte offsets of the file);
/// anywhere else it is an unexpected character.
#[test]
fn leading_byte_order_mark() {
    let toks = lex("\u{feff}fn main");
    assert_eq!(toks.len(), 2, "{toks:?}");
    assert_eq!(toks[0].0, Tok::Fn);
    assert_eq!(toks[0].1.start, 3);
    assert!(dtl_grammar::parse("\u{feff}fn main() { }\n").1.is_empty());
    assert_eq!(
        kinds("fn \u{feff}"),
        [Tok::Fn, Tok::Error(LexError::UnexpectedChar)]
    );
}
