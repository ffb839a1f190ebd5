//! The typed HIR: names resolved to ids, every expression typed, builtins identified,
//! uniformity recorded. Produced by `typeck` (and annotated by `spmd`), consumed by lowering.

mod print;

pub use print::print;

use crate::diagnostics::Span;

/// A scalar type (the eight runtime dtypes plus bool).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scalar {
    I8,
    I32,
    I64,
    U8,
    U32,
    U64,
    F32,
    F64,
    Bool,
}

impl Scalar {
    /// Parses a scalar type name.
    pub fn from_name(s: &str) -> Option<Scalar> {
        Some(match s {
            "i8" => Scalar::I8,
            "i32" => Scalar::I32,
            "i64" => Scalar::I64,
            "u8" => Scalar::U8,
            "u32" => Scalar::U32,
            "u64" => Scalar::U64,
            "f32" => Scalar::F32,
            "f64" => Scalar::F64,
            "bool" => Scalar::Bool,
            _ => return None,
        })
    }

    /// The spelling in source.
    pub fn name(self) -> &'static str {
        match self {
            Scalar::I8 => "i8",
            Scalar::I32 => "i32",
            Scalar::I64 => "i64",
            Scalar::U8 => "u8",
            Scalar::U32 => "u32",
            Scalar::U64 => "u64",
            Scalar::F32 => "f32",
            Scalar::F64 => "f64",
            Scalar::Bool => "bool",
        }
    }

    /// Integer types.
    pub fn is_int(self) -> bool {
        matches!(
            self,
            Scalar::I8 | Scalar::I32 | Scalar::I64 | Scalar::U8 | Scalar::U32 | Scalar::U64
        )
    }

    /// Float types.
    pub fn is_float(self) -> bool {
        matches!(self, Scalar::F32 | Scalar::F64)
    }

    /// Integer or float.
    pub fn is_numeric(self) -> bool {
        self.is_int() || self.is_float()
    }
}

/// The kind of a container type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContainerKind {
    Vector,
    Array,
    Tensor,
    Local,
    Map,
}

impl ContainerKind {
    /// The spelling in source.
    pub fn name(self) -> &'static str {
        match self {
            ContainerKind::Vector => "vector",
            ContainerKind::Array => "array",
            ContainerKind::Tensor => "tensor",
            ContainerKind::Local => "local",
            ContainerKind::Map => "map",
        }
    }

    /// Distributed across ranks (everything but `local`).
    pub fn is_distributed(self) -> bool {
        !matches!(self, ContainerKind::Local)
    }
}

/// A type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    Scalar(Scalar),
    Vector(Scalar),
    Array(Scalar),
    /// Element type and rank (number of dimensions, ≥ 2).
    Tensor(Scalar, u8),
    Local(Scalar),
    /// Key and value types.
    Map(Scalar, Scalar),
    /// String literal (only as an argument of `print`, `assert`, `save`, `load`).
    Str,
    /// A reduction operator argument (`sum`, `lor`, ...).
    Op,
    /// No value.
    Unit,
    /// The type of an erroneous expression; compatible with everything so errors don't cascade.
    Error,
}

impl Ty {
    /// `i64`.
    pub const I64: Ty = Ty::Scalar(Scalar::I64);
    /// `f64`.
    pub const F64: Ty = Ty::Scalar(Scalar::F64);
    /// `bool`.
    pub const BOOL: Ty = Ty::Scalar(Scalar::Bool);

    /// The container kind, if this is a container.
    pub fn container(self) -> Option<ContainerKind> {
        Some(match self {
            Ty::Vector(_) => ContainerKind::Vector,
            Ty::Array(_) => ContainerKind::Array,
            Ty::Tensor(..) => ContainerKind::Tensor,
            Ty::Local(_) => ContainerKind::Local,
            Ty::Map(..) => ContainerKind::Map,
            _ => return None,
        })
    }

    /// The element type of a container (the value type of a map), or the scalar itself.
    pub fn elem(self) -> Option<Scalar> {
        match self {
            Ty::Scalar(s) | Ty::Vector(s) | Ty::Array(s) | Ty::Tensor(s, _) | Ty::Local(s) => {
                Some(s)
            }
            Ty::Map(_, v) => Some(v),
            _ => None,
        }
    }

    /// Distributed container (vector, array, tensor, map).
    pub fn is_distributed(self) -> bool {
        self.container().is_some_and(ContainerKind::is_distributed)
    }

    /// A container that can appear in a whole-container (elementwise) expression.
    pub fn is_elementwise_container(self) -> bool {
        matches!(self, Ty::Vector(_) | Ty::Array(_) | Ty::Tensor(..))
    }

    /// The same container shape with another element type.
    pub fn with_elem(self, s: Scalar) -> Ty {
        match self {
            Ty::Scalar(_) => Ty::Scalar(s),
            Ty::Vector(_) => Ty::Vector(s),
            Ty::Array(_) => Ty::Array(s),
            Ty::Tensor(_, r) => Ty::Tensor(s, r),
            Ty::Local(_) => Ty::Local(s),
            Ty::Map(k, _) => Ty::Map(k, s),
            other => other,
        }
    }
}

impl std::fmt::Display for Ty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ty::Scalar(s) => write!(f, "{}", s.name()),
            Ty::Vector(s) => write!(f, "vector<{}>", s.name()),
            Ty::Array(s) => write!(f, "array<{}>", s.name()),
            Ty::Tensor(s, r) => write!(f, "tensor<{}, {}>", s.name(), r),
            Ty::Local(s) => write!(f, "local<{}>", s.name()),
            Ty::Map(k, v) => write!(f, "map<{}, {}>", k.name(), v.name()),
            Ty::Str => write!(f, "string"),
            Ty::Op => write!(f, "reduction operator"),
            Ty::Unit => write!(f, "()"),
            Ty::Error => write!(f, "{{error}}"),
        }
    }
}

/// A partition (LANGUAGE §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Partition {
    #[default]
    Block,
    Cyclic,
    /// Block size (`None` when not a compile-time constant).
    BlockCyclic(Option<i64>),
    Hash,
    Replicated,
}

/// Memory placement (LANGUAGE §11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Placement {
    #[default]
    Host,
    /// Device id (`None`: the default device, or not a compile-time constant).
    Device(Option<i64>),
    Unified,
    DevicePreferred,
}

/// A halo (ghost elements on each side of a block).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Halo {
    pub width: i64,
    pub periodic: bool,
}

/// How a new container is laid out, from its annotations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Layout {
    pub partition: Partition,
    pub placement: Placement,
    pub halo: Option<Halo>,
}

/// Reduction and collective operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    Sum,
    Prod,
    Min,
    Max,
    Land,
    Lor,
    Band,
    Bor,
    Bxor,
}

impl ReduceOp {
    /// Parses an operator name.
    pub fn from_name(s: &str) -> Option<ReduceOp> {
        Some(match s {
            "sum" => ReduceOp::Sum,
            "prod" => ReduceOp::Prod,
            "min" => ReduceOp::Min,
            "max" => ReduceOp::Max,
            "land" => ReduceOp::Land,
            "lor" => ReduceOp::Lor,
            "band" => ReduceOp::Band,
            "bor" => ReduceOp::Bor,
            "bxor" => ReduceOp::Bxor,
            _ => return None,
        })
    }

    /// The spelling in source.
    pub fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "sum",
            ReduceOp::Prod => "prod",
            ReduceOp::Min => "min",
            ReduceOp::Max => "max",
            ReduceOp::Land => "land",
            ReduceOp::Lor => "lor",
            ReduceOp::Band => "band",
            ReduceOp::Bor => "bor",
            ReduceOp::Bxor => "bxor",
        }
    }
}

macro_rules! builtins {
    ($($v:ident = $s:literal,)*) => {
        /// Every builtin function of LANGUAGE §6–§12.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Builtin { $($v,)* }
        impl Builtin {
            /// All builtins.
            pub const ALL: &'static [Builtin] = &[$(Builtin::$v),*];
            /// The name in source.
            pub fn name(self) -> &'static str { match self { $(Builtin::$v => $s,)* } }
            /// Looks a builtin up by name.
            pub fn from_name(s: &str) -> Option<Builtin> { match s { $($s => Some(Builtin::$v),)* _ => None } }
        }
    };
}

builtins! {
    Len = "len", Shape = "shape", LocalLen = "local_len", LocalOffset = "local_offset",
    Owner = "owner", IsLocal = "is_local", Rank = "rank", Size = "size",
    Sin = "sin", Cos = "cos", Tan = "tan", Exp = "exp", Log = "log", Sqrt = "sqrt", Abs = "abs",
    Floor = "floor", Ceil = "ceil", Pow = "pow", Min = "min", Max = "max", Select = "select",
    Sum = "sum", Prod = "prod", Mean = "mean", Count = "count", Dot = "dot",
    Argmin = "argmin", Argmax = "argmax", Sort = "sort", Scan = "scan", Exscan = "exscan",
    Copy = "copy", Resize = "resize", Exchange = "exchange", Swap = "swap", Barrier = "barrier",
    Allreduce = "allreduce", Reduce = "reduce", Broadcast = "broadcast", Allgather = "allgather",
    Gather = "gather", Scatter = "scatter", Alltoall = "alltoall", ScanRanks = "scan_ranks",
    ExscanRanks = "exscan_ranks", Send = "send", Recv = "recv", Sendrecv = "sendrecv",
    Get = "get", Put = "put", AtomicAdd = "atomic_add", Fence = "fence", Insert = "insert",
    Lookup = "lookup", Contains = "contains", Print = "print", PrintAll = "print_all",
    Round = "round", Rand = "rand", Randn = "randn", Assert = "assert", Wtime = "wtime",
    Save = "save", Load = "load", HasCuda = "has_cuda",
}

/// Id of a local variable (parameter, `let`, loop or forall variable) within its function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocalId(pub u32);

/// Id of a global (`const` or `param`) in [`Module::globals`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GlobalId(pub u32);

/// Id of a function in [`Module::functions`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FnId(pub u32);

/// A whole program: the user's module plus the imported stdlib modules, flattened.
#[derive(Clone, Debug, Default)]
pub struct Module {
    pub globals: Vec<Global>,
    pub functions: Vec<Function>,
    /// The user's `main`, when present.
    pub main: Option<FnId>,
}

/// `const` or `param`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Copy)]
pub enum GlobalKind {
    Const,
    Param,
}

/// A `const` or `param` item. Both are uniform.
#[derive(Clone, Debug)]
pub struct Global {
    pub kind: GlobalKind,
    /// Qualified name (`stats::x` for stdlib items).
    pub name: String,
    pub ty: Ty,
    pub init: Expr,
    pub span: Span,
}

/// A function.
#[derive(Clone, Debug)]
pub struct Function {
    /// Qualified name (`stats::variance` for stdlib functions).
    pub name: String,
    pub params: Vec<LocalId>,
    pub ret: Ty,
    pub locals: Vec<LocalDecl>,
    pub body: Block,
    pub span: Span,
    /// Set by the SPMD pass: the function can reach a collective.
    pub collective: bool,
    /// Set by the sync pass: the barriers it inserted (each is a `barrier()` statement in
    /// `body` whose span is `before`).
    pub syncs: Vec<InsertedSync>,
}

/// A barrier the sync pass inserted so that a remote access sees an earlier one.
#[derive(Clone, Debug)]
pub struct InsertedSync {
    /// The statement the barrier was inserted before.
    pub before: Span,
    /// The access that needed it.
    pub access: Span,
    /// The earlier access it completes.
    pub earlier: Span,
    /// Why, in words.
    pub reason: String,
}

/// A local variable's declaration.
#[derive(Clone, Debug)]
pub struct LocalDecl {
    pub name: String,
    pub ty: Ty,
    pub mutable: bool,
    /// Layout, when the variable is bound to a container whose layout the compiler can see.
    pub layout: Option<Layout>,
    pub span: Span,
    /// Set by the SPMD pass: the variable holds the same value on every rank.
    pub uniform: bool,
}

/// A block: statements and an optional tail expression (the block's value).
#[derive(Clone, Debug, Default)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub tail: Option<Box<Expr>>,
}

/// What a `forall` iterates over.
#[derive(Clone, Debug)]
pub enum ForallOver {
    /// The indices of a distributed container owned by this rank.
    Container(Expr),
    /// A uniform integer range split across ranks in blocks.
    Range(Expr, Expr),
}

/// A statement.
#[derive(Clone, Debug)]
pub enum Stmt {
    Let {
        local: LocalId,
        init: Expr,
        span: Span,
    },
    /// `target op= value`; `op` is `None` for plain `=`. Assigning a container writes its elements.
    Assign {
        target: Expr,
        op: Option<BinOp>,
        value: Expr,
        span: Span,
    },
    Expr(Expr),
    If {
        cond: Expr,
        then: Block,
        els: Option<Block>,
        span: Span,
    },
    While {
        cond: Expr,
        body: Block,
        span: Span,
    },
    For {
        var: LocalId,
        start: Expr,
        end: Expr,
        step: Option<Expr>,
        body: Block,
        span: Span,
    },
    Forall {
        vars: Vec<LocalId>,
        over: ForallOver,
        reductions: Vec<(LocalId, ReduceOp)>,
        body: Block,
        span: Span,
    },
    Return {
        value: Option<Expr>,
        span: Span,
    },
    Break(Span),
    Continue(Span),
    /// A nested block `{ ... }`.
    Block(Block),
}

impl Stmt {
    /// The blocks nested directly in this statement, in source order (`then` before `else`).
    pub fn blocks(&self) -> impl Iterator<Item = &Block> {
        let (a, b) = match self {
            Stmt::If { then, els, .. } => (Some(then), els.as_ref()),
            Stmt::While { body, .. } | Stmt::For { body, .. } | Stmt::Forall { body, .. } => {
                (Some(body), None)
            }
            Stmt::Block(b) => (Some(b), None),
            _ => (None, None),
        };
        a.into_iter().chain(b)
    }

    /// [`Stmt::blocks`], mutably.
    pub fn blocks_mut(&mut self) -> impl Iterator<Item = &mut Block> {
        let (a, b) = match self {
            Stmt::If { then, els, .. } => (Some(then), els.as_mut()),
            Stmt::While { body, .. } | Stmt::For { body, .. } | Stmt::Forall { body, .. } => {
                (Some(body), None)
            }
            Stmt::Block(b) => (Some(b), None),
            _ => (None, None),
        };
        a.into_iter().chain(b)
    }
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinOp {
    /// The operator symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "&&",
            BinOp::Or => "||",
        }
    }

    /// `+ - * / %`.
    pub fn is_arith(self) -> bool {
        matches!(
            self,
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem
        )
    }

    /// `== != < <= > >=`.
    pub fn is_compare(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
        )
    }
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    Neg,
    Not,
}

/// A literal value (already adapted to its type).
#[derive(Clone, Debug, PartialEq)]
pub enum Lit {
    Int(i128),
    Float(f64),
    Bool(bool),
    Str(String),
}

/// What a call calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Callee {
    Fn(FnId),
    Builtin(Builtin),
}

/// A typed expression.
#[derive(Clone, Debug)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: Ty,
    pub span: Span,
    /// Set by the SPMD pass: the value is the same on every rank.
    pub uniform: bool,
}

/// Expression forms.
#[derive(Clone, Debug)]
pub enum ExprKind {
    Lit(Lit),
    Local(LocalId),
    Global(GlobalId),
    Op(ReduceOp),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Cast(Box<Expr>, Scalar),
    /// A call. Builtin arguments are in canonical order: positional ones, then the named ones of
    /// the signature in declaration order, with defaults filled in (e.g. `tag: 0`).
    Call {
        callee: Callee,
        args: Vec<Expr>,
        /// Partition/placement annotations of `copy(..) @cyclic` and `load<T>(..) @block`.
        layout: Option<Layout>,
    },
    /// `c[i]`, `t[i, j]`.
    Index(Box<Expr>, Vec<Expr>),
    /// `vector<T>(n, fill: x) @...`, `tensor<T>(a, b)`, `local<T>(n)`, `map<K, V>()`.
    Construct {
        dims: Vec<Expr>,
        fill: Option<Box<Expr>>,
        layout: Layout,
    },
    /// An erroneous expression (a diagnostic was reported).
    Error,
}

/// One parsed source module handed to the passes: the user's file (`name: None`) or an
/// imported stdlib module.
#[derive(Clone, Debug)]
pub struct ParsedModule {
    /// `None` for the user's module, else the stdlib module name (`"stats"`).
    pub name: Option<String>,
    pub file: crate::source::FileId,
    pub ast: dtl_grammar::ast::Module,
}

/// What a name use refers to (the output of `resolve`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Res {
    Local(LocalId),
    Global(GlobalId),
    Fn(FnId),
    Builtin(Builtin),
    /// A container constructor: `vector`, `array`, `tensor`, `local`, `map`.
    Ctor(ContainerKind),
    /// A reduction operator in an operator position (`allreduce(x, sum)`).
    Op(ReduceOp),
    /// Unknown (already reported).
    Error,
}

/// Key of a name occurrence: its file and start byte.
pub type NameKey = (crate::source::FileId, u32);

/// A function item found by `resolve`.
#[derive(Clone, Debug)]
pub struct FnItem {
    /// Index into the module list.
    pub module: usize,
    /// Index into that module's items.
    pub item: usize,
    /// Qualified name.
    pub name: String,
}

/// A local found by `resolve`, in declaration order.
#[derive(Clone, Debug)]
pub struct LocalInfo {
    pub name: String,
    pub mutable: bool,
    pub span: Span,
}

/// The output of name resolution: what every name occurrence refers to.
#[derive(Clone, Debug, Default)]
pub struct Names {
    /// Name uses (expression names, paths, callees) → what they refer to.
    pub uses: std::collections::HashMap<NameKey, Res>,
    /// Binding sites (let, params, loop and forall variables) → their local.
    pub defs: std::collections::HashMap<NameKey, LocalId>,
    /// Globals in id order: (module index, item index, qualified name).
    pub globals: Vec<(usize, usize, String)>,
    /// Functions in id order.
    pub fns: Vec<FnItem>,
    /// The locals of each function, indexed by `FnId` then `LocalId`.
    pub fn_locals: Vec<Vec<LocalInfo>>,
    /// The user's `main`.
    pub main: Option<FnId>,
}
