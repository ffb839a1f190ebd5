//! The abstract syntax tree of a dtl source file, with byte spans on every node.
//!
//! Shape in brief (see `docs` on each type):
//! - [`Module`] → [`Item`]s: `import`, `const`, `param`, `fn`.
//! - [`Stmt`]s live in [`Block`]s; a block may end in a `tail` expression without `;`
//!   (in a fn body that is the return value, LANGUAGE §4).
//! - [`Expr`]s: literals, names, paths, unary/binary operators, `as`, calls (with type
//!   arguments, named arguments and trailing `@annotations`), indexing.
//! - Every node kind has an `Error` variant, produced by parser error recovery; the syntax
//!   error for it has already been reported, so later passes skip such nodes silently.
//!
//! Invariants the parser guarantees (so recursive passes are safe):
//! - The nesting depth of statements, expressions and types together is at most
//!   [`MAX_DEPTH`]; deeper input is replaced by an `Error` node plus a syntax error.
//! - Parentheses leave no node: `(a + b)` is the `Binary` node with the span of `a + b`
//!   (the span excludes the parentheses).
//! - `ExprKind::Path` has at least two segments; a single name is `ExprKind::Name`.

use crate::span::Span;

/// The maximum nesting depth of the tree (statements, expressions and types counted together).
pub const MAX_DEPTH: u32 = 256;

/// An identifier with its span.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ident {
    /// The identifier text.
    pub name: String,
    /// Where it is written.
    pub span: Span,
}

/// A `::`-separated path such as `stats::variance` or just `f` (one segment).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Path {
    /// The segments, at least one.
    pub segments: Vec<Ident>,
    /// The span of the whole path.
    pub span: Span,
}

/// A whole source file.
#[derive(Clone, Debug, PartialEq)]
pub struct Module {
    /// The items in source order.
    pub items: Vec<Item>,
    /// The whole file (`0..len`).
    pub span: Span,
}

/// A top-level item.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// What the item is.
    pub kind: ItemKind,
    /// From the first keyword to the closing `;` or `}`.
    pub span: Span,
}

/// The kinds of top-level items.
#[derive(Clone, Debug, PartialEq)]
pub enum ItemKind {
    /// `import stats;`
    Import {
        /// The module name.
        name: Ident,
    },
    /// `const NAME: T = value;`
    Const {
        /// The constant's name.
        name: Ident,
        /// Its declared type (required).
        ty: Type,
        /// Its value.
        value: Expr,
    },
    /// `param NAME: T = default;` (overridable from the command line).
    Param {
        /// The parameter's name.
        name: Ident,
        /// Its declared type (required).
        ty: Type,
        /// Its default value.
        value: Expr,
    },
    /// `fn name(params) -> ret { body }`
    Fn(FnDecl),
    /// An item that failed to parse (the error is already reported).
    Error,
}

/// A function definition.
#[derive(Clone, Debug, PartialEq)]
pub struct FnDecl {
    /// The function's name.
    pub name: Ident,
    /// The parameters in order.
    pub params: Vec<FnParam>,
    /// The return type; `None` when there is no `->` (unit).
    pub ret: Option<Type>,
    /// The body; its `tail` expression, if any, is the return value.
    pub body: Block,
}

/// One function parameter `name: T`.
#[derive(Clone, Debug, PartialEq)]
pub struct FnParam {
    /// The parameter's name.
    pub name: Ident,
    /// Its type.
    pub ty: Type,
    /// `name: T`.
    pub span: Span,
}

/// A type as written.
#[derive(Clone, Debug, PartialEq)]
pub struct Type {
    /// What the type is.
    pub kind: TypeKind,
    /// Where it is written.
    pub span: Span,
}

/// The scalar types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScalarType {
    /// `i8`
    I8,
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `u8`
    U8,
    /// `u32`
    U32,
    /// `u64`
    U64,
    /// `f32`
    F32,
    /// `f64`
    F64,
    /// `bool`
    Bool,
}

impl ScalarType {
    /// The spelling in source.
    pub fn name(self) -> &'static str {
        match self {
            ScalarType::I8 => "i8",
            ScalarType::I32 => "i32",
            ScalarType::I64 => "i64",
            ScalarType::U8 => "u8",
            ScalarType::U32 => "u32",
            ScalarType::U64 => "u64",
            ScalarType::F32 => "f32",
            ScalarType::F64 => "f64",
            ScalarType::Bool => "bool",
        }
    }

    /// The scalar type spelled `name`, if any.
    pub fn from_name(name: &str) -> Option<ScalarType> {
        Some(match name {
            "i8" => ScalarType::I8,
            "i32" => ScalarType::I32,
            "i64" => ScalarType::I64,
            "u8" => ScalarType::U8,
            "u32" => ScalarType::U32,
            "u64" => ScalarType::U64,
            "f32" => ScalarType::F32,
            "f64" => ScalarType::F64,
            "bool" => ScalarType::Bool,
            _ => return None,
        })
    }
}

/// The kinds of types. Type names are not keywords: the parser recognises them by spelling,
/// and an unknown type name or a wrong number of type arguments is a syntax error that leaves
/// [`TypeKind::Error`].
#[derive(Clone, Debug, PartialEq)]
pub enum TypeKind {
    /// `i8 i32 i64 u8 u32 u64 f32 f64 bool`
    Scalar(ScalarType),
    /// `vector<T>`
    Vector(Box<Type>),
    /// `array<T>`
    Array(Box<Type>),
    /// `tensor<T, R>`; `rank` is `None` for `tensor<T>` (the compiler decides whether that
    /// is allowed where it appears).
    Tensor {
        /// The element type.
        elem: Box<Type>,
        /// The rank literal `R`, if written.
        rank: Option<u64>,
    },
    /// `local<T>`
    Local(Box<Type>),
    /// `map<K, V>`
    Map {
        /// The key type.
        key: Box<Type>,
        /// The value type.
        value: Box<Type>,
    },
    /// A type that failed to parse (the error is already reported).
    Error,
}

/// A `{ ... }` block.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    /// The statements in order.
    pub stmts: Vec<Stmt>,
    /// A final expression without `;` (the value of a fn body; LANGUAGE §4).
    pub tail: Option<Box<Expr>>,
    /// From `{` to `}` inclusive.
    pub span: Span,
}

/// A statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    /// What the statement is.
    pub kind: StmtKind,
    /// From its first token to its `;` or closing `}`.
    pub span: Span,
}

/// The kinds of statements.
#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    /// `let [mut] name [: T] = init;`
    Let {
        /// `let mut`.
        mutable: bool,
        /// The bound name.
        name: Ident,
        /// The declared type, if any.
        ty: Option<Type>,
        /// The initialiser (required).
        init: Expr,
    },
    /// `target op value;` with `op` one of `= += -= *= /=`.
    Assign {
        /// The assigned place: a name, an index expression, ... (the compiler checks).
        target: Expr,
        /// The assignment operator.
        op: AssignOp,
        /// The span of the operator token.
        op_span: Span,
        /// The right-hand side.
        value: Expr,
    },
    /// `expr;`
    Expr(Expr),
    /// `if c1 { } else if c2 { } ... else { }`, flattened: `branches[0]` is the `if`, the rest
    /// are the `else if`s in order.
    If {
        /// The conditional branches, at least one.
        branches: Vec<IfBranch>,
        /// The final `else` block, if any.
        else_block: Option<Block>,
    },
    /// `while cond { body }`
    While {
        /// The loop condition.
        cond: Expr,
        /// The body.
        body: Block,
    },
    /// `for var in start..end [step s] { body }` (half-open).
    For {
        /// The loop variable.
        var: Ident,
        /// The first value.
        start: Expr,
        /// The exclusive bound.
        end: Expr,
        /// The step, if written (`step` is a contextual keyword, still usable as a name).
        step: Option<Expr>,
        /// The body.
        body: Block,
    },
    /// `forall i[, j[, k]] in domain [with v: op, ...] { body }`
    Forall {
        /// The index variables, at least one (the parser accepts any number; the compiler
        /// checks it against the container's rank).
        vars: Vec<Ident>,
        /// What is iterated over.
        domain: ForallDomain,
        /// The `with v: op` reductions in order (empty without `with`).
        reductions: Vec<Reduction>,
        /// The body.
        body: Block,
    },
    /// `break;`
    Break,
    /// `continue;`
    Continue,
    /// `return [e];`
    Return(Option<Expr>),
    /// A nested `{ ... }` block statement.
    Block(Block),
    /// A statement that failed to parse (the error is already reported).
    Error,
}

/// One `if` or `else if` branch.
#[derive(Clone, Debug, PartialEq)]
pub struct IfBranch {
    /// The condition.
    pub cond: Expr,
    /// The block run when it holds.
    pub body: Block,
    /// From `if` to the block's `}`.
    pub span: Span,
}

/// What a `forall` iterates over.
#[derive(Clone, Debug, PartialEq)]
pub enum ForallDomain {
    /// `forall i in u` (the indices of `u` owned by this rank).
    Container(Expr),
    /// `forall i in a..b` (a uniform range split across ranks in blocks).
    Range {
        /// The first index.
        start: Expr,
        /// The exclusive bound.
        end: Expr,
    },
}

/// One `with v: op` clause of a `forall`.
#[derive(Clone, Debug, PartialEq)]
pub struct Reduction {
    /// The reduction variable.
    pub var: Ident,
    /// The operator name as written (`sum prod min max`; the compiler checks it).
    pub op: Ident,
    /// `v: op`.
    pub span: Span,
}

/// Assignment operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AssignOp {
    /// `=`
    Assign,
    /// `+=`
    Add,
    /// `-=`
    Sub,
    /// `*=`
    Mul,
    /// `/=`
    Div,
}

impl AssignOp {
    /// The spelling in source.
    pub fn symbol(self) -> &'static str {
        match self {
            AssignOp::Assign => "=",
            AssignOp::Add => "+=",
            AssignOp::Sub => "-=",
            AssignOp::Mul => "*=",
            AssignOp::Div => "/=",
        }
    }

    /// The binary operator of a compound assignment (`+=` → `+`); `None` for `=`.
    pub fn binary(self) -> Option<BinaryOp> {
        match self {
            AssignOp::Assign => None,
            AssignOp::Add => Some(BinaryOp::Add),
            AssignOp::Sub => Some(BinaryOp::Sub),
            AssignOp::Mul => Some(BinaryOp::Mul),
            AssignOp::Div => Some(BinaryOp::Div),
        }
    }
}

/// An expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What the expression is.
    pub kind: ExprKind,
    /// Where it is written (without surrounding parentheses).
    pub span: Span,
}

/// The kinds of expressions.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// An integer literal. The value is exact (literals above `u64::MAX` are a syntax error);
    /// a negative number is `Unary(Neg, Int)`, so `-9223372036854775808` is representable.
    Int(u64),
    /// A float literal.
    Float(f64),
    /// `true` / `false`
    Bool(bool),
    /// A string literal with escapes processed.
    Str(String),
    /// A single name: a variable, constant, param or function.
    Name(Ident),
    /// A path with two or more segments, e.g. `stats::PI` (calls keep their path in `Call`).
    Path(Path),
    /// `-e` / `!e`
    Unary {
        /// The operator.
        op: UnaryOp,
        /// The operand.
        operand: Box<Expr>,
    },
    /// `lhs op rhs`
    Binary {
        /// The operator.
        op: BinaryOp,
        /// The span of the operator token.
        op_span: Span,
        /// The left operand.
        lhs: Box<Expr>,
        /// The right operand.
        rhs: Box<Expr>,
    },
    /// `expr as ty`
    Cast {
        /// The converted value.
        expr: Box<Expr>,
        /// The target type.
        ty: Type,
    },
    /// `callee<type_args>(args) @annotations`, e.g. `f(x)`, `stats::variance(u)`,
    /// `vector<f64>(n, fill: 1.5) @cyclic`, `recv<i64>(source: 0)`, `copy(a) @block`.
    /// The builtin constructors `vector array tensor local map` are ordinary callee names here.
    Call {
        /// The called function or constructor.
        callee: Path,
        /// `<T, ...>` after the callee; empty when absent.
        type_args: Vec<Type>,
        /// The arguments in order, positional and named (`root: 0`) mixed as written.
        args: Vec<Arg>,
        /// `@name(args)` annotations following the call, in order.
        annotations: Vec<Annotation>,
    },
    /// `base[i]`, `base[i, j]`
    Index {
        /// The indexed container.
        base: Box<Expr>,
        /// The indices, at least one.
        indices: Vec<Expr>,
    },
    /// Annotations following an expression that is not a call (e.g. `(a) @block`); the
    /// compiler rejects these. Annotations after a call go into `Call::annotations` instead.
    Annotated {
        /// The annotated expression.
        expr: Box<Expr>,
        /// The annotations, in order.
        annotations: Vec<Annotation>,
    },
    /// An expression that failed to parse (the error is already reported).
    Error,
}

/// A call argument, positional (`x`) or named (`root: 0`).
#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    /// The name of a named argument.
    pub name: Option<Ident>,
    /// The value.
    pub value: Expr,
    /// The whole argument (`root: 0`).
    pub span: Span,
}

/// An annotation `@name` or `@name(args)`, e.g. `@block`, `@halo(2, periodic)`, `@device(0)`.
/// Arguments are expressions; a bare word such as `periodic` is an `ExprKind::Name`.
#[derive(Clone, Debug, PartialEq)]
pub struct Annotation {
    /// The annotation's name (without `@`).
    pub name: Ident,
    /// The arguments; empty for `@name` and `@name()`.
    pub args: Vec<Expr>,
    /// From `@` to the end.
    pub span: Span,
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `-`
    Neg,
    /// `!`
    Not,
}

impl UnaryOp {
    /// The spelling in source.
    pub fn symbol(self) -> &'static str {
        match self {
            UnaryOp::Neg => "-",
            UnaryOp::Not => "!",
        }
    }
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `||`
    Or,
    /// `&&`
    And,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
}

impl BinaryOp {
    /// The spelling in source.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "||",
            BinaryOp::And => "&&",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
        }
    }

    /// Whether the operator is a comparison (`== != < <= > >=`, non-associative).
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
        )
    }

    /// Whether the operator is `&&` or `||`.
    pub fn is_logical(self) -> bool {
        matches!(self, BinaryOp::And | BinaryOp::Or)
    }
}
