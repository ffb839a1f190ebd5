//! The parser driver: runs the lalrpop grammar over the token stream, builds depth-checked
//! AST nodes for the grammar's actions, and turns parse errors into [`SyntaxError`]s.
//!
//! Robustness measures (issue #3):
//! - Every AST node is built through [`Ctx`], which tracks its nesting depth; a node deeper
//!   than [`MAX_DEPTH`] becomes an `Error` leaf plus one "nested too deeply" error, and the
//!   enclosing item turns into `ItemKind::Error`. So no tree handed out (or dropped while
//!   parsing) is deeper than `MAX_DEPTH`, and recursive passes cannot overflow the stack.
//! - Before parsing, tokens nested deeper than [`MAX_DEPTH`] brackets (or in a longer run of
//!   prefix operators) are collapsed into one error token, which bounds the parser's own
//!   stack and keeps error recovery linear.
//! - At most [`MAX_ERRORS`] syntax errors are reported; after that the token stream ends.

use std::cell::Cell;
use std::rc::Rc;

use lalrpop_util::{ErrorRecovery, ParseError};

use crate::SyntaxError;
use crate::ast::{
    Annotation, Arg, BinaryOp, Block, Expr, ExprKind, Ident, IfBranch, Item, ItemKind, MAX_DEPTH,
    Path, ScalarType, Stmt, StmtKind, Type, TypeKind, UnaryOp,
};
use crate::span::Span;
use crate::token::{LexError, Tok};

/// The most syntax errors reported for one file.
pub const MAX_ERRORS: usize = 100;

/// After this many tokens in a row with no grammar action, the parser is dropping tokens in
/// error recovery (valid input runs an action at least every few hundred tokens: the nesting
/// limits bound the runs of brackets and prefix operators). The token stream then ends, so
/// recovery cost stays linear in the input even when the parser stack is deep.
const MAX_SKIPPED: u32 = 10_000;

/// Depth marker of a subtree replaced by an error because it was nested too deeply.
const POISON: u32 = u32::MAX;

/// A node with its nesting depth (1 for a leaf).
#[derive(Debug)]
pub struct D<T> {
    pub node: T,
    pub depth: u32,
}

/// A type argument as written: a type or an integer (the rank of `tensor<f64, 2>`).
#[derive(Debug)]
pub enum TypeArg {
    Type(D<Type>),
    Int(u64, Span),
}

/// The grammar's state: errors found by actions and by recovery.
pub struct Ctx {
    pub errors: Vec<SyntaxError>,
    pub recovered: Vec<(ErrorRecovery<usize, Tok, LexError>, Span)>,
    count: Rc<Cell<usize>>,
    actions: Rc<Cell<u64>>,
}

pub fn sp(l: usize, r: usize) -> Span {
    Span::from_usize(l, r)
}

fn max_depth<I: IntoIterator<Item = u32>>(it: I) -> u32 {
    it.into_iter().max().unwrap_or(0)
}

impl Ctx {
    /// Notes that the parser made progress (see [`MAX_SKIPPED`]).
    pub fn tick(&mut self) {
        self.actions.set(self.actions.get().wrapping_add(1));
    }

    pub fn ident(&mut self, name: String, span: Span) -> Ident {
        self.tick();
        Ident { name, span }
    }

    fn error(&mut self, span: Span, message: impl Into<String>) {
        self.count.set(self.count.get() + 1);
        self.errors.push(SyntaxError {
            span,
            message: message.into(),
            expected: Vec::new(),
        });
    }

    /// Records an error-recovery point (the `!` of the grammar).
    pub fn recover(&mut self, e: ErrorRecovery<usize, Tok, LexError>, span: Span) {
        self.count.set(self.count.get() + 1);
        self.recovered.push((e, span));
    }

    /// Wraps `node` at depth `child + 1`, or an error leaf when that is too deep.
    fn wrap<T>(
        &mut self,
        child: u32,
        span: Span,
        what: &str,
        node: impl FnOnce() -> T,
        error: T,
    ) -> D<T> {
        self.tick();
        if child == POISON {
            return D {
                node: error,
                depth: POISON,
            };
        }
        let depth = child + 1;
        if depth > MAX_DEPTH {
            self.error(
                span,
                format!("{what} nested too deeply (more than {MAX_DEPTH} levels)"),
            );
            return D {
                node: error,
                depth: POISON,
            };
        }
        D {
            node: node(),
            depth,
        }
    }

    fn expr(&mut self, child: u32, span: Span, kind: impl FnOnce() -> ExprKind) -> D<Expr> {
        self.wrap(
            child,
            span,
            "expression",
            || Expr { kind: kind(), span },
            Expr {
                kind: ExprKind::Error,
                span,
            },
        )
    }

    fn stmt(&mut self, child: u32, span: Span, kind: impl FnOnce() -> StmtKind) -> D<Box<Stmt>> {
        self.wrap(
            child,
            span,
            "statement",
            || Box::new(Stmt { kind: kind(), span }),
            Box::new(Stmt {
                kind: StmtKind::Error,
                span,
            }),
        )
    }

    // ---- expressions ----

    pub fn leaf(&mut self, kind: ExprKind, span: Span) -> D<Expr> {
        self.tick();
        D {
            node: Expr { kind, span },
            depth: 1,
        }
    }

    pub fn path_expr(&mut self, path: Path) -> D<Expr> {
        let span = path.span;
        let kind = if path.segments.len() == 1 {
            match path.segments.into_iter().next() {
                Some(id) => ExprKind::Name(id),
                None => ExprKind::Error,
            }
        } else {
            ExprKind::Path(path)
        };
        D {
            node: Expr { kind, span },
            depth: 1,
        }
    }

    pub fn binary(
        &mut self,
        op: BinaryOp,
        op_span: Span,
        lhs: D<Expr>,
        rhs: D<Expr>,
        span: Span,
    ) -> D<Expr> {
        let child = lhs.depth.max(rhs.depth);
        self.expr(child, span, || ExprKind::Binary {
            op,
            op_span,
            lhs: Box::new(lhs.node),
            rhs: Box::new(rhs.node),
        })
    }

    pub fn unary(&mut self, op: UnaryOp, operand: D<Expr>, span: Span) -> D<Expr> {
        self.expr(operand.depth, span, || ExprKind::Unary {
            op,
            operand: Box::new(operand.node),
        })
    }

    pub fn cast(&mut self, e: D<Expr>, ty: D<Type>, span: Span) -> D<Expr> {
        let child = e.depth.max(ty.depth);
        self.expr(child, span, || ExprKind::Cast {
            expr: Box::new(e.node),
            ty: ty.node,
        })
    }

    pub fn index(&mut self, base: D<Expr>, indices: Vec<D<Expr>>, span: Span) -> D<Expr> {
        let child = base.depth.max(max_depth(indices.iter().map(|i| i.depth)));
        self.expr(child, span, || ExprKind::Index {
            base: Box::new(base.node),
            indices: indices.into_iter().map(|i| i.node).collect(),
        })
    }

    pub fn call(
        &mut self,
        callee: Path,
        type_args: Vec<D<Type>>,
        args: Vec<D<Arg>>,
        span: Span,
    ) -> D<Expr> {
        let child = max_depth(
            type_args
                .iter()
                .map(|t| t.depth)
                .chain(args.iter().map(|a| a.depth)),
        );
        self.expr(child, span, || ExprKind::Call {
            callee,
            type_args: type_args.into_iter().map(|t| t.node).collect(),
            args: args.into_iter().map(|a| a.node).collect(),
            annotations: Vec::new(),
        })
    }

    pub fn arg(&mut self, name: Option<Ident>, value: D<Expr>, span: Span) -> D<Arg> {
        D {
            depth: value.depth,
            node: Arg {
                name,
                value: value.node,
                span,
            },
        }
    }

    pub fn annotation(&mut self, name: Ident, args: Vec<D<Expr>>, span: Span) -> D<Annotation> {
        let depth = max_depth(args.iter().map(|a| a.depth));
        D {
            depth,
            node: Annotation {
                name,
                args: args.into_iter().map(|a| a.node).collect(),
                span,
            },
        }
    }

    /// `base @ann`: appended to a call's annotations, else an `Annotated` node.
    pub fn annotate(&mut self, base: D<Expr>, ann: D<Annotation>, span: Span) -> D<Expr> {
        let mut base = base;
        if base.depth == POISON || ann.depth == POISON {
            return D {
                node: Expr {
                    kind: ExprKind::Error,
                    span,
                },
                depth: POISON,
            };
        }
        match &mut base.node.kind {
            ExprKind::Call { annotations, .. } | ExprKind::Annotated { annotations, .. } => {
                // The annotation's arguments sit one level below the node.
                let depth = base.depth.max(ann.depth + 1);
                if depth > MAX_DEPTH {
                    return self.expr(depth, span, || ExprKind::Error);
                }
                annotations.push(ann.node);
                base.node.span = span;
                base.depth = depth;
                base
            }
            _ => {
                let child = base.depth.max(ann.depth);
                self.expr(child, span, || ExprKind::Annotated {
                    expr: Box::new(base.node),
                    annotations: vec![ann.node],
                })
            }
        }
    }

    // ---- types ----

    /// A named type with optional arguments; unknown names and wrong arities are errors.
    pub fn named_type(&mut self, name: Ident, args: Option<Vec<TypeArg>>, span: Span) -> D<Type> {
        let err = |depth| D {
            node: Type {
                kind: TypeKind::Error,
                span,
            },
            depth,
        };
        let child = max_depth(args.iter().flatten().map(|a| match a {
            TypeArg::Type(t) => t.depth,
            TypeArg::Int(..) => 0,
        }));
        if child == POISON {
            return err(POISON);
        }
        if let Some(s) = ScalarType::from_name(&name.name) {
            if args.is_some() {
                self.error(
                    span,
                    format!("the scalar type `{}` takes no type arguments", name.name),
                );
                return err(1);
            }
            return D {
                node: Type {
                    kind: TypeKind::Scalar(s),
                    span,
                },
                depth: 1,
            };
        }
        let Some(args) = args else {
            let msg = match name.name.as_str() {
                "vector" | "array" | "local" => {
                    format!(
                        "`{}` needs an element type, e.g. `{}<f64>`",
                        name.name, name.name
                    )
                }
                "tensor" => {
                    "`tensor` needs an element type and a rank, e.g. `tensor<f64, 2>`".to_owned()
                }
                "map" => "`map` needs key and value types, e.g. `map<i64, f64>`".to_owned(),
                _ => format!(
                    "unknown type `{}` (types are i8 i32 i64 u8 u32 u64 f32 f64 bool, vector<T>, \
                     array<T>, tensor<T, R>, local<T>, map<K, V>)",
                    name.name
                ),
            };
            self.error(name.span, msg);
            return err(1);
        };
        let mut types = Vec::new();
        let mut ints = Vec::new();
        for a in args {
            match a {
                TypeArg::Type(t) => {
                    if !ints.is_empty() {
                        ints.push((u64::MAX, t.node.span));
                    } else {
                        types.push(t.node);
                    }
                }
                TypeArg::Int(v, s) => ints.push((v, s)),
            }
        }
        let kind = match (name.name.as_str(), types.len(), ints.as_slice()) {
            ("vector", 1, []) => types.pop().map(|t| TypeKind::Vector(Box::new(t))),
            ("array", 1, []) => types.pop().map(|t| TypeKind::Array(Box::new(t))),
            ("local", 1, []) => types.pop().map(|t| TypeKind::Local(Box::new(t))),
            ("tensor", 1, []) => types.pop().map(|t| TypeKind::Tensor {
                elem: Box::new(t),
                rank: None,
            }),
            ("tensor", 1, [(rank, _)]) if *rank != u64::MAX => {
                types.pop().map(|t| TypeKind::Tensor {
                    elem: Box::new(t),
                    rank: Some(*rank),
                })
            }
            ("map", 2, []) => {
                let value = types.pop();
                let key = types.pop();
                key.zip(value).map(|(key, value)| TypeKind::Map {
                    key: Box::new(key),
                    value: Box::new(value),
                })
            }
            _ => None,
        };
        match kind {
            Some(kind) => self.wrap(
                child,
                span,
                "type",
                || Type { kind, span },
                Type {
                    kind: TypeKind::Error,
                    span,
                },
            ),
            None => {
                let msg = match name.name.as_str() {
                    "vector" | "array" | "local" => {
                        format!(
                            "`{}` takes one element type, e.g. `{}<f64>`",
                            name.name, name.name
                        )
                    }
                    "tensor" => "`tensor` takes an element type and a rank, e.g. `tensor<f64, 2>`"
                        .to_owned(),
                    "map" => "`map` takes key and value types, e.g. `map<i64, f64>`".to_owned(),
                    _ => format!("unknown type `{}`", name.name),
                };
                self.error(span, msg);
                err(1)
            }
        }
    }

    // ---- statements ----

    pub fn block(
        &mut self,
        stmts: Vec<D<Box<Stmt>>>,
        tail: Option<D<Expr>>,
        span: Span,
    ) -> D<Block> {
        let child = max_depth(
            stmts
                .iter()
                .map(|s| s.depth)
                .chain(tail.iter().map(|t| t.depth)),
        );
        self.wrap(
            child,
            span,
            "block",
            || Block {
                stmts: stmts.into_iter().map(|s| *s.node).collect(),
                tail: tail.map(|t| Box::new(t.node)),
                span,
            },
            Block {
                stmts: Vec::new(),
                tail: None,
                span,
            },
        )
    }

    /// A statement whose children have the given depths.
    pub fn mk_stmt(
        &mut self,
        depths: &[u32],
        span: Span,
        kind: impl FnOnce() -> StmtKind,
    ) -> D<Box<Stmt>> {
        let child = max_depth(depths.iter().copied());
        self.stmt(child, span, kind)
    }

    /// An `if` with its `else if` branches and `else` block. Later passes nest the chain (each
    /// `else if` becomes an `if` in the `else` block of the one before, two levels deeper, as
    /// if written `else { if ... }`), so the statement's depth counts that nesting: a chain of
    /// more than about `MAX_DEPTH / 2` branches is an error, not a stack overflow later.
    pub fn if_stmt(
        &mut self,
        first: D<IfBranch>,
        rest: Vec<D<IfBranch>>,
        els: Option<D<Block>>,
        span: Span,
    ) -> D<Box<Stmt>> {
        let mut branches = Vec::with_capacity(rest.len() + 1);
        branches.push(first);
        branches.extend(rest);
        let last = branches.len() - 1;
        // (depth of the child as lowered, its span) for each branch and the `else` block.
        let nested = branches
            .iter()
            .enumerate()
            .map(|(i, b)| (b.depth, i, b.node.span))
            .chain(els.as_ref().map(|b| (b.depth, last, b.node.span)));
        let mut child = 0u32;
        let mut too_deep = None;
        for (depth, i, at) in nested {
            if depth == POISON {
                child = POISON;
                break;
            }
            let lowered = u64::from(depth) + 2 * i as u64;
            if lowered >= u64::from(MAX_DEPTH) && depth < MAX_DEPTH && too_deep.is_none() {
                too_deep = Some(at);
            }
            child = child.max(u32::try_from(lowered).unwrap_or(POISON - 1));
        }
        if let (Some(at), false) = (too_deep, child == POISON) {
            self.tick();
            self.error(
                at,
                format!(
                    "`else if` chain nested too deeply: each `else if` counts as one more \
                     nesting level (more than {MAX_DEPTH} levels); split the chain"
                ),
            );
            return D {
                node: Box::new(Stmt {
                    kind: StmtKind::Error,
                    span,
                }),
                depth: POISON,
            };
        }
        self.stmt(child, span, || StmtKind::If {
            branches: branches.into_iter().map(|b| b.node).collect(),
            else_block: els.map(|b| b.node),
        })
    }

    pub fn error_stmt(&mut self, span: Span) -> D<Box<Stmt>> {
        D {
            node: Box::new(Stmt {
                kind: StmtKind::Error,
                span,
            }),
            depth: 1,
        }
    }

    /// Checks the contextual keyword of `for ... step s`.
    pub fn check_step(&mut self, word: &Ident) {
        if word.name != "step" {
            self.error(
                word.span,
                format!("expected `step` or `{{`, found identifier `{}`", word.name),
            );
        }
    }

    // ---- items ----

    pub fn item(&mut self, depth: u32, span: Span, kind: impl FnOnce() -> ItemKind) -> Box<Item> {
        let kind = if depth == POISON {
            ItemKind::Error
        } else {
            kind()
        };
        Box::new(Item { kind, span })
    }
}

/// The token stream fed to lalrpop: stops early after [`MAX_ERRORS`] errors.
struct Feed {
    toks: std::vec::IntoIter<(Tok, Span)>,
    count: Rc<Cell<usize>>,
    actions: Rc<Cell<u64>>,
    last_actions: u64,
    skipped: u32,
    gave_up: Rc<Cell<Option<Span>>>,
}

impl Iterator for Feed {
    type Item = Result<(usize, Tok, usize), LexError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.count.get() >= MAX_ERRORS || self.gave_up.get().is_some() {
            return None;
        }
        let actions = self.actions.get();
        if actions == self.last_actions {
            self.skipped += 1;
        } else {
            self.last_actions = actions;
            self.skipped = 0;
        }
        let (t, s) = self.toks.next()?;
        if self.skipped > MAX_SKIPPED {
            self.gave_up.set(Some(s));
            return None;
        }
        Some(Ok((s.start as usize, t, s.end as usize)))
    }
}

/// Collapses tokens nested deeper than [`MAX_DEPTH`] (brackets, generic `<`, runs of prefix
/// operators) into one `Error(TooDeep)` token per run, bounding the parser's stack.
fn limit_nesting(toks: Vec<(Tok, Span)>) -> Vec<(Tok, Span)> {
    let limit = MAX_DEPTH as usize;
    let mut out: Vec<(Tok, Span)> = Vec::with_capacity(toks.len());
    let mut stack: Vec<Tok> = Vec::new();
    let mut unary_run = 0usize;
    let mut skipping = false;
    let mut prev_operand_end = false;
    for (tok, span) in toks {
        match &tok {
            Tok::LParen | Tok::LBracket | Tok::LBrace | Tok::GenericLt => stack.push(tok.clone()),
            Tok::RParen | Tok::RBracket | Tok::RBrace | Tok::Gt => {
                let opener = match tok {
                    Tok::RParen => Tok::LParen,
                    Tok::RBracket => Tok::LBracket,
                    Tok::RBrace => Tok::LBrace,
                    _ => Tok::GenericLt,
                };
                if stack.last() == Some(&opener) {
                    stack.pop();
                }
            }
            _ => {}
        }
        // A prefix operator is `-`/`!` not following an operand.
        let is_prefix =
            matches!(tok, Tok::Bang) || (matches!(tok, Tok::Minus) && !prev_operand_end);
        unary_run = if is_prefix { unary_run + 1 } else { 0 };
        prev_operand_end = matches!(
            tok,
            Tok::Ident(_)
                | Tok::Int(_)
                | Tok::Float(_)
                | Tok::Str(_)
                | Tok::True
                | Tok::False
                | Tok::RParen
                | Tok::RBracket
        );
        let too_deep = stack.len() > limit || unary_run > limit;
        if too_deep {
            if skipping {
                if let Some(last) = out.last_mut() {
                    last.1 = last.1.to(span);
                }
            } else {
                out.push((Tok::Error(LexError::TooDeep), span));
                skipping = true;
            }
        } else {
            skipping = false;
            out.push((tok, span));
        }
    }
    out
}

fn describe_expected(expected: &[String]) -> Vec<String> {
    let mut out: Vec<String> = expected
        .iter()
        .map(|e| {
            let t = e.trim_matches('"').replace("\\\"", "\"");
            match t.as_str() {
                "ident" => "identifier".to_owned(),
                "int" => "integer literal".to_owned(),
                "float" => "float literal".to_owned(),
                "string" => "string literal".to_owned(),
                "generic<" => "`<`".to_owned(),
                other => format!("`{other}`"),
            }
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn found_message(src: &str, tok: &Tok, span: Span) -> String {
    match tok {
        Tok::Error(LexError::UnexpectedChar) => {
            let text = src.get(span.range()).unwrap_or("");
            format!("unexpected character `{}`", text.escape_debug())
        }
        Tok::Error(e) => e.message().to_owned(),
        other => other.describe(),
    }
}

fn convert(src: &str, err: ParseError<usize, Tok, LexError>) -> SyntaxError {
    match err {
        ParseError::InvalidToken { location } => SyntaxError {
            span: sp(location, location),
            message: "invalid token".to_owned(),
            expected: Vec::new(),
        },
        ParseError::UnrecognizedEof { location, expected } => {
            let expected = describe_expected(&expected);
            let message = match expected.as_slice() {
                [one] => format!("unexpected end of file, expected {one}"),
                _ => "unexpected end of file".to_owned(),
            };
            SyntaxError {
                span: sp(location, location),
                message,
                expected,
            }
        }
        ParseError::UnrecognizedToken {
            token: (l, tok, r),
            expected,
        } => {
            let span = sp(l, r);
            let found = found_message(src, &tok, span);
            if let Tok::Error(_) = tok {
                return SyntaxError {
                    span,
                    message: found,
                    expected: Vec::new(),
                };
            }
            let expected = describe_expected(&expected);
            let starts_stmt = matches!(
                tok,
                Tok::Let
                    | Tok::If
                    | Tok::For
                    | Tok::Forall
                    | Tok::While
                    | Tok::Return
                    | Tok::Break
                    | Tok::Continue
                    | Tok::RBrace
                    | Tok::Fn
            );
            let semi = "`;`".to_owned();
            let is_cmp = matches!(
                tok,
                Tok::Lt | Tok::Gt | Tok::Le | Tok::Ge | Tok::EqEq | Tok::Ne
            );
            let message = if expected.len() == 1 {
                format!("expected {}, found {found}", expected[0])
            } else if starts_stmt && expected.contains(&semi) {
                format!("expected `;`, found {found}")
            } else if is_cmp && expected.contains(&"`&&`".to_owned()) {
                "comparison operators cannot be chained; write `a < b && b < c`".to_owned()
            } else if let Some((last, init)) = expected.split_last().filter(|_| expected.len() <= 4)
            {
                format!("expected {} or {last}, found {found}", init.join(", "))
            } else {
                format!("unexpected {found}")
            };
            SyntaxError {
                span,
                message,
                expected,
            }
        }
        ParseError::ExtraToken { token: (l, tok, r) } => {
            let span = sp(l, r);
            SyntaxError {
                span,
                message: format!("unexpected {}", found_message(src, &tok, span)),
                expected: Vec::new(),
            }
        }
        ParseError::User { error } => SyntaxError {
            span: sp(0, 0),
            message: error.message().to_owned(),
            expected: Vec::new(),
        },
    }
}

/// Parses a token stream (from [`crate::token::lex`]) of `src`.
pub fn parse_tokens(src: &str, toks: Vec<(Tok, Span)>) -> (Vec<Item>, Vec<SyntaxError>) {
    let count = Rc::new(Cell::new(0));
    let actions = Rc::new(Cell::new(0));
    let gave_up = Rc::new(Cell::new(None));
    let mut ctx = Ctx {
        errors: Vec::new(),
        recovered: Vec::new(),
        count: Rc::clone(&count),
        actions: Rc::clone(&actions),
    };
    let feed = Feed {
        toks: limit_nesting(toks).into_iter(),
        count: Rc::clone(&count),
        actions,
        last_actions: 0,
        skipped: 0,
        gave_up: Rc::clone(&gave_up),
    };
    let result = crate::grammar::ModuleParser::new().parse(&mut ctx, feed);
    let truncated = count.get() >= MAX_ERRORS;
    let gave_up = gave_up.get();
    let mut errors = std::mem::take(&mut ctx.errors);
    for (rec, _span) in std::mem::take(&mut ctx.recovered) {
        errors.push(convert(src, rec.error));
    }
    let items = match result {
        Ok(items) => items,
        Err(e) => {
            if !truncated && gave_up.is_none() {
                errors.push(convert(src, e));
            }
            Vec::new()
        }
    };
    errors.sort_by_key(|e| (e.span.start, e.span.end));
    if let (Some(at), false) = (gave_up, truncated) {
        errors.push(SyntaxError {
            span: at,
            message: format!(
                "stopped parsing: no valid input for {MAX_SKIPPED} tokens after a syntax error"
            ),
            expected: Vec::new(),
        });
    }
    if truncated {
        errors.truncate(MAX_ERRORS);
        let at = errors.last().map_or(Span::default(), |e| e.span);
        errors.push(SyntaxError {
            span: at,
            message: format!("too many syntax errors ({MAX_ERRORS}); stopped parsing here"),
            expected: Vec::new(),
        });
    }
    (items, errors)
}
