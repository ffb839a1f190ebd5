//! Type checking: strict scalar types with literal adaptation, containers and their layouts,
//! annotations, named arguments and builtin signatures; produces the typed HIR.
//!
//! Literals adapt to the element type the context asks for (`want`); an unconstrained integer
//! literal is `i64`, a float literal `f64`. Recursion follows the AST (depth capped by the parser).

use crate::diagnostics::{Code, Diagnostic, Diagnostics, Label, Span};
use crate::hir::{
    self, BinOp, Block, Builtin, Callee, ContainerKind, Expr, ExprKind, FnId, ForallOver, Function,
    Global, GlobalKind, Halo, Layout, Lit, LocalDecl, LocalId, Names, ParsedModule, Partition,
    Placement, ReduceOp, Res, Scalar, Stmt, Ty, UnOp,
};
use crate::source::FileId;
use dtl_grammar::ast;

/// What the compiler can see of a container's shape, for alignment checks (E0402).
#[derive(Clone, Debug)]
struct Shape {
    /// Each dimension's length when it is a compile-time constant.
    dims: Vec<Option<i64>>,
    /// The partition when known (locally constructed containers).
    partition: Option<Partition>,
    /// Where the container was made.
    origin: Span,
}

fn misaligned(a: &Shape, b: &Shape) -> Option<String> {
    if let (Some(pa), Some(pb)) = (a.partition, b.partition)
        && pa != pb
    {
        return Some(format!(
            "partitions differ ({} vs {})",
            partition_name(pa),
            partition_name(pb)
        ));
    }
    for (x, y) in a.dims.iter().zip(&b.dims) {
        if let (Some(x), Some(y)) = (x, y)
            && x != y
        {
            return Some(format!("lengths differ ({x} vs {y})"));
        }
    }
    None
}

fn partition_name(p: Partition) -> &'static str {
    match p {
        Partition::Block => "block",
        Partition::Cyclic => "cyclic",
        Partition::BlockCyclic(_) => "block_cyclic",
        Partition::Hash => "hash",
        Partition::Replicated => "replicated",
    }
}

fn scalar(s: ast::ScalarType) -> Scalar {
    match s {
        ast::ScalarType::I8 => Scalar::I8,
        ast::ScalarType::I32 => Scalar::I32,
        ast::ScalarType::I64 => Scalar::I64,
        ast::ScalarType::U8 => Scalar::U8,
        ast::ScalarType::U32 => Scalar::U32,
        ast::ScalarType::U64 => Scalar::U64,
        ast::ScalarType::F32 => Scalar::F32,
        ast::ScalarType::F64 => Scalar::F64,
        ast::ScalarType::Bool => Scalar::Bool,
    }
}

/// Whether a value of type `got` can be used where `want` is expected.
fn compatible(got: Ty, want: Ty) -> bool {
    got == want || got == Ty::Error || want == Ty::Error
}

/// Whether an AST expression is built only from literals (so it adapts to its context).
fn is_flexible(e: &ast::Expr) -> bool {
    match &e.kind {
        ast::ExprKind::Int(_) | ast::ExprKind::Float(_) => true,
        ast::ExprKind::Unary {
            op: ast::UnaryOp::Neg,
            operand,
        } => is_flexible(operand),
        ast::ExprKind::Binary { op, lhs, rhs, .. } => {
            !op.is_comparison() && !op.is_logical() && is_flexible(lhs) && is_flexible(rhs)
        }
        _ => false,
    }
}

fn binop(op: ast::BinaryOp) -> BinOp {
    match op {
        ast::BinaryOp::Or => BinOp::Or,
        ast::BinaryOp::And => BinOp::And,
        ast::BinaryOp::Eq => BinOp::Eq,
        ast::BinaryOp::Ne => BinOp::Ne,
        ast::BinaryOp::Lt => BinOp::Lt,
        ast::BinaryOp::Le => BinOp::Le,
        ast::BinaryOp::Gt => BinOp::Gt,
        ast::BinaryOp::Ge => BinOp::Ge,
        ast::BinaryOp::Add => BinOp::Add,
        ast::BinaryOp::Sub => BinOp::Sub,
        ast::BinaryOp::Mul => BinOp::Mul,
        ast::BinaryOp::Div => BinOp::Div,
        ast::BinaryOp::Rem => BinOp::Rem,
    }
}

/// Type-checks every module and builds the HIR (best effort: erroneous parts become `Error`).
pub fn typeck(modules: &[ParsedModule], names: &Names, diags: &mut Diagnostics) -> hir::Module {
    let mut cx = Cx {
        modules,
        names,
        diags,
        global_tys: Vec::new(),
        global_consts: Vec::new(),
        sigs: Vec::new(),
    };
    // Signatures first, so bodies can refer to any item.
    for (mi, ii, _) in &names.globals {
        let (ty, file) = match &modules[*mi].ast.items[*ii].kind {
            ast::ItemKind::Const { ty, .. } | ast::ItemKind::Param { ty, .. } => {
                (ty, modules[*mi].file)
            }
            _ => continue,
        };
        let t = cx.ty(ty, file);
        if !matches!(t, Ty::Scalar(_) | Ty::Error) {
            cx.diags.error(
                Code::E0204,
                format!("`const` and `param` must be scalars, not `{t}`"),
                Span::new(file, ty.span.range()),
                "not a scalar type",
            );
        }
        cx.global_tys.push(t);
        cx.global_consts.push(None);
    }
    for f in &names.fns {
        let file = modules[f.module].file;
        let ast::ItemKind::Fn(decl) = &modules[f.module].ast.items[f.item].kind else {
            cx.sigs.push((Vec::new(), Ty::Unit));
            continue;
        };
        let params = decl.params.iter().map(|p| cx.ty(&p.ty, file)).collect();
        let ret = decl.ret.as_ref().map_or(Ty::Unit, |t| cx.ty(t, file));
        cx.sigs.push((params, ret));
    }

    let mut out = hir::Module::default();
    for (gi, (mi, ii, name)) in names.globals.iter().enumerate() {
        let m = &modules[*mi];
        let item = &m.ast.items[*ii];
        let (kind, value) = match &item.kind {
            ast::ItemKind::Const { value, .. } => (GlobalKind::Const, value),
            ast::ItemKind::Param { value, .. } => (GlobalKind::Param, value),
            _ => continue,
        };
        let ty = cx.global_tys[gi];
        let mut fc = FnCx::new(&mut cx, m.file, Vec::new(), Ty::Unit);
        let init = fc.expr(value, ty.elem());
        fc.expect(&init, ty, "the declared type");
        if let Some((at, what)) = bad_global_init(&init, gi) {
            let d = match what {
                BadInit::Later(g) => Diagnostic::error(
                    Code::E0101,
                    format!(
                        "`{}` is used {}",
                        names.globals.get(g).map_or("?", |n| n.2.as_str()),
                        if g == gi {
                            "in its own initialiser"
                        } else {
                            "before its definition"
                        }
                    ),
                    Label::new(at, if g == gi { "itself" } else { "defined below" }),
                )
                .with_help(
                    "an initialiser can use only the `const`s and `param`s declared above it",
                ),
                BadInit::Call(what) => Diagnostic::error(
                    Code::E0204,
                    format!("a `const` or `param` initialiser cannot use {what}"),
                    Label::new(at, "not allowed in an initialiser"),
                )
                .with_help(
                    "initialisers run once before `main` and must give every rank the same value: \
                     use literals, arithmetic, `as`, math builtins (`sqrt`, `exp`, `min`, ...), \
                     `size()` and the `const`s and `param`s above; compute anything else in \
                     `main`",
                ),
            };
            fc.cx.diags.push(d);
        }
        if kind == GlobalKind::Const {
            let v = fc.const_int(value);
            cx.global_consts[gi] = v;
        }
        out.globals.push(Global {
            kind,
            name: name.clone(),
            ty,
            init,
            span: Span::new(m.file, item.span.range()),
        });
    }

    for (fi, f) in names.fns.iter().enumerate() {
        let m = &modules[f.module];
        let item = &m.ast.items[f.item];
        let ast::ItemKind::Fn(decl) = &item.kind else {
            continue;
        };
        let (ptys, ret) = cx.sigs[fi].clone();
        let infos = &names.fn_locals[fi];
        let locals: Vec<LocalDecl> = infos
            .iter()
            .map(|l| LocalDecl {
                name: l.name.clone(),
                ty: Ty::Error,
                mutable: l.mutable,
                layout: None,
                span: l.span.clone(),
                uniform: true,
            })
            .collect();
        let mut fc = FnCx::new(&mut cx, m.file, locals, ret);
        let mut params = Vec::new();
        for (p, t) in decl.params.iter().zip(&ptys) {
            if let Some(id) = fc.def(&p.name) {
                fc.locals[id.0 as usize].ty = *t;
                if t.container().is_some() {
                    fc.shapes[id.0 as usize] = Some(Shape {
                        dims: vec![None; rank_of(*t)],
                        partition: None,
                        origin: fc.span(p.span),
                    });
                }
                params.push(id);
            }
        }
        let body = fc.block(&decl.body, Some(ret));
        if ret != Ty::Unit && ret != Ty::Error && body.tail.is_none() && !diverges(&body) {
            fc.cx.diags.push(
                Diagnostic::error(
                    Code::E0201,
                    format!("`{}` must return `{ret}` on every path", decl.name.name),
                    Label::new(
                        fc.span(decl.name.span),
                        format!("declared to return `{ret}`"),
                    ),
                )
                .with_help("end the body with `return value;` or a final expression without `;`"),
            );
        }
        let locals = std::mem::take(&mut fc.locals);
        if f.module == 0 && decl.name.name == "main" && (!decl.params.is_empty() || ret != Ty::Unit)
        {
            cx.diags.error(
                Code::E0103,
                "`main` must take no parameters and return nothing",
                Span::new(m.file, decl.name.span.range()),
                "declared here",
            );
        }
        out.functions.push(Function {
            name: f.name.clone(),
            params,
            ret,
            locals,
            body,
            span: Span::new(m.file, item.span.range()),
            collective: false,
            syncs: Vec::new(),
        });
    }
    out.main = names.main;
    if names.main.is_none()
        && let Some(m) = modules.first()
    {
        cx.diags.push(
            Diagnostic::error(
                Code::E0103,
                "the program has no `fn main()`",
                Label::new(Span::new(m.file, 0..0), "`main` expected in this file"),
            )
            .with_help("every rank starts by running `fn main() { ... }`"),
        );
    }
    out
}

fn rank_of(t: Ty) -> usize {
    match t {
        Ty::Tensor(_, r) => r as usize,
        _ => 1,
    }
}

/// Whether a block always ends in `return` (so no tail value is needed).
fn diverges(b: &Block) -> bool {
    match b.stmts.last() {
        Some(Stmt::Return { .. }) => true,
        Some(Stmt::If {
            then, els: Some(e), ..
        }) => (then.tail.is_some() || diverges(then)) && (e.tail.is_some() || diverges(e)),
        Some(Stmt::Block(inner)) => diverges(inner),
        _ => false,
    }
}

struct Cx<'a> {
    modules: &'a [ParsedModule],
    names: &'a Names,
    diags: &'a mut Diagnostics,
    global_tys: Vec<Ty>,
    global_consts: Vec<Option<i64>>,
    sigs: Vec<(Vec<Ty>, Ty)>,
}

impl Cx<'_> {
    fn ty(&mut self, t: &ast::Type, file: FileId) -> Ty {
        let sp = Span::new(file, t.span.range());
        let elem = |cx: &mut Self, e: &ast::Type| -> Option<Scalar> {
            match &e.kind {
                ast::TypeKind::Scalar(s) => Some(scalar(*s)),
                ast::TypeKind::Error => None,
                _ => {
                    cx.diags.error(
                        Code::E0204,
                        "container elements must be scalars",
                        Span::new(file, e.span.range()),
                        "not a scalar type",
                    );
                    None
                }
            }
        };
        match &t.kind {
            ast::TypeKind::Scalar(s) => Ty::Scalar(scalar(*s)),
            ast::TypeKind::Vector(e) => elem(self, e).map_or(Ty::Error, Ty::Vector),
            ast::TypeKind::Array(e) => elem(self, e).map_or(Ty::Error, Ty::Array),
            ast::TypeKind::Local(e) => elem(self, e).map_or(Ty::Error, Ty::Local),
            ast::TypeKind::Tensor { elem: e, rank } => {
                let s = elem(self, e);
                match rank {
                    Some(r) if (2..=8).contains(r) => {
                        s.map_or(Ty::Error, |s| Ty::Tensor(s, *r as u8))
                    }
                    _ => {
                        self.diags.error(
                            Code::E0204,
                            "a tensor type needs a rank between 2 and 8: `tensor<T, R>`",
                            sp,
                            "invalid tensor type",
                        );
                        Ty::Error
                    }
                }
            }
            ast::TypeKind::Map { key, value } => {
                let k = elem(self, key);
                let v = elem(self, value);
                match (k, v) {
                    (Some(k), Some(v)) if k.is_int() => Ty::Map(k, v),
                    (Some(_), Some(_)) => {
                        self.diags.error(
                            Code::E0204,
                            "map keys must be an integer type",
                            Span::new(file, key.span.range()),
                            "not an integer type",
                        );
                        Ty::Error
                    }
                    _ => Ty::Error,
                }
            }
            ast::TypeKind::Error => Ty::Error,
        }
    }
}

/// Signature of a builtin for argument binding: positional count range and named arguments
/// (name, required).
struct Sig {
    min: usize,
    max: usize,
    named: &'static [(&'static str, bool)],
    usage: &'static str,
}

const fn sig(
    min: usize,
    max: usize,
    named: &'static [(&'static str, bool)],
    usage: &'static str,
) -> Sig {
    Sig {
        min,
        max,
        named,
        usage,
    }
}

fn builtin_sig(b: Builtin) -> Sig {
    use Builtin as B;
    match b {
        B::Len => sig(1, 1, &[], "len(c)"),
        B::Shape => sig(2, 2, &[], "shape(t, dim)"),
        B::LocalLen => sig(1, 1, &[], "local_len(u)"),
        B::LocalOffset => sig(1, 1, &[], "local_offset(u)"),
        B::Owner => sig(2, 2, &[], "owner(u, i)"),
        B::IsLocal => sig(2, 2, &[], "is_local(u, i)"),
        B::Rank => sig(0, 0, &[], "rank()"),
        B::Size => sig(0, 0, &[], "size()"),
        B::Wtime => sig(0, 0, &[], "wtime()"),
        B::HasCuda => sig(0, 0, &[], "has_cuda()"),
        B::Barrier => sig(0, 0, &[], "barrier()"),
        B::Sin | B::Cos | B::Tan | B::Exp | B::Log | B::Sqrt | B::Abs | B::Floor | B::Ceil => {
            sig(1, 1, &[], "f(x)")
        }
        B::Pow => sig(2, 2, &[], "pow(x, y)"),
        B::Min => sig(1, 2, &[], "min(e) or min(x, y)"),
        B::Max => sig(1, 2, &[], "max(e) or max(x, y)"),
        B::Select => sig(3, 3, &[], "select(cond, a, b)"),
        B::Sum | B::Prod | B::Mean | B::Count => sig(1, 1, &[], "sum(e)"),
        B::Dot => sig(2, 2, &[], "dot(a, b)"),
        B::Argmin | B::Argmax => sig(1, 1, &[], "argmax(u)"),
        B::Sort => sig(1, 1, &[("descending", false)], "sort(u, descending: b)"),
        B::Scan | B::Exscan => sig(2, 2, &[], "scan(u, op)"),
        B::Copy => sig(1, 1, &[], "copy(u) @partition"),
        B::Resize => sig(2, 2, &[], "resize(v, n)"),
        B::Exchange => sig(1, 1, &[], "exchange(u)"),
        B::Swap => sig(2, 2, &[], "swap(u, v)"),
        B::Allreduce => sig(2, 2, &[], "allreduce(x, op)"),
        B::Reduce => sig(2, 2, &[("root", true)], "reduce(x, op, root: r)"),
        B::Broadcast => sig(1, 1, &[("root", true)], "broadcast(x, root: r)"),
        B::Allgather => sig(1, 1, &[], "allgather(x)"),
        B::Gather => sig(1, 1, &[("root", true)], "gather(x, root: r)"),
        B::Scatter => sig(1, 1, &[("root", true)], "scatter(l, root: r)"),
        B::Alltoall => sig(1, 1, &[], "alltoall(l)"),
        B::ScanRanks | B::ExscanRanks => sig(2, 2, &[], "scan_ranks(x, op)"),
        B::Send => sig(
            1,
            1,
            &[("dest", true), ("tag", false)],
            "send(x, dest: d, tag: t)",
        ),
        B::Recv => sig(
            0,
            1,
            &[("source", true), ("tag", false)],
            "recv<T>(source: s, tag: t) or recv(buf, source: s, tag: t)",
        ),
        B::Sendrecv => sig(
            1,
            1,
            &[("dest", true), ("source", true), ("tag", false)],
            "sendrecv(x, dest: d, source: s, tag: t)",
        ),
        B::Get => sig(2, 2, &[], "get(u, j)"),
        B::Put => sig(3, 3, &[], "put(u, j, x)"),
        B::AtomicAdd => sig(3, 3, &[], "atomic_add(u, j, x)"),
        B::Fence => sig(1, 1, &[], "fence(u)"),
        B::Insert => sig(3, 3, &[], "insert(m, k, v)"),
        B::Lookup => sig(3, 3, &[], "lookup(m, k, default)"),
        B::Contains => sig(2, 2, &[], "contains(m, k)"),
        B::Print | B::PrintAll => sig(0, usize::MAX, &[], "print(a, b, ...)"),
        B::Round => sig(2, 2, &[], "round(x, digits)"),
        B::Rand | B::Randn => sig(2, 2, &[], "rand(seed, i)"),
        B::Assert => sig(1, 2, &[], "assert(cond, \"message\")"),
        B::Save => sig(2, 2, &[], "save(u, \"file.npy\")"),
        B::Load => sig(1, 1, &[], "load<T>(\"file.npy\") @partition"),
    }
}

struct FnCx<'a, 'b> {
    cx: &'b mut Cx<'a>,
    file: FileId,
    locals: Vec<LocalDecl>,
    shapes: Vec<Option<Shape>>,
    ret: Ty,
    /// Loops (`while`, `for`, `forall`) around the statement being checked.
    loop_depth: u32,
}

impl<'a, 'b> FnCx<'a, 'b> {
    fn new(cx: &'b mut Cx<'a>, file: FileId, locals: Vec<LocalDecl>, ret: Ty) -> Self {
        let n = locals.len();
        FnCx {
            cx,
            file,
            locals,
            shapes: vec![None; n],
            ret,
            loop_depth: 0,
        }
    }

    fn span(&self, s: dtl_grammar::Span) -> Span {
        Span::new(self.file, s.range())
    }

    /// The body of a loop: `break` and `continue` are allowed in it.
    fn loop_body(&mut self, body: &ast::Block) -> Block {
        self.loop_depth += 1;
        let b = self.block(body, None);
        self.loop_depth -= 1;
        b
    }

    fn res(&self, at: dtl_grammar::Span) -> Res {
        self.cx
            .names
            .uses
            .get(&(self.file, at.start))
            .copied()
            .unwrap_or(Res::Error)
    }

    fn def(&self, id: &ast::Ident) -> Option<LocalId> {
        self.cx.names.defs.get(&(self.file, id.span.start)).copied()
    }

    fn err(
        &mut self,
        code: Code,
        msg: impl Into<String>,
        at: dtl_grammar::Span,
        label: impl Into<String>,
    ) {
        let sp = self.span(at);
        self.cx.diags.error(code, msg, sp, label);
    }

    fn mk(&self, kind: ExprKind, ty: Ty, at: dtl_grammar::Span) -> Expr {
        Expr {
            kind,
            ty,
            span: self.span(at),
            uniform: true,
        }
    }

    fn error_expr(&self, at: dtl_grammar::Span) -> Expr {
        self.mk(ExprKind::Error, Ty::Error, at)
    }

    /// Reports E0201 unless `e` has type `want`.
    fn expect(&mut self, e: &Expr, want: Ty, what: &str) -> bool {
        if compatible(e.ty, want) {
            return true;
        }
        let mut d = Diagnostic::error(
            Code::E0201,
            format!("mismatched types: expected `{want}`, found `{}`", e.ty),
            Label::new(e.span.clone(), format!("expected `{want}` ({what})")),
        );
        if let (Ty::Scalar(a), Ty::Scalar(b)) = (e.ty, want)
            && a.is_numeric()
            && b.is_numeric()
        {
            d = d.with_help(format!("convert explicitly: `(...) as {}`", b.name()));
        }
        self.cx.diags.push(d);
        false
    }

    fn expect_int(&mut self, e: &Expr, what: &str) {
        match e.ty {
            Ty::Scalar(s) if s.is_int() => {}
            Ty::Error => {}
            t => {
                self.cx.diags.error(
                    Code::E0201,
                    format!("mismatched types: expected an integer, found `{t}`"),
                    e.span.clone(),
                    format!("{what} must be an integer"),
                );
            }
        }
    }

    /// Compile-time integer value of an expression built from literals and `const`s.
    fn const_int(&self, e: &ast::Expr) -> Option<i64> {
        match &e.kind {
            ast::ExprKind::Int(v) => i64::try_from(*v).ok(),
            ast::ExprKind::Unary {
                op: ast::UnaryOp::Neg,
                operand,
            } => self.const_int(operand)?.checked_neg(),
            ast::ExprKind::Binary { op, lhs, rhs, .. } => {
                let (a, b) = (self.const_int(lhs)?, self.const_int(rhs)?);
                match op {
                    ast::BinaryOp::Add => a.checked_add(b),
                    ast::BinaryOp::Sub => a.checked_sub(b),
                    ast::BinaryOp::Mul => a.checked_mul(b),
                    ast::BinaryOp::Div => a.checked_div(b),
                    ast::BinaryOp::Rem => a.checked_rem(b),
                    _ => None,
                }
            }
            ast::ExprKind::Name(id) => match self.res(id.span) {
                Res::Global(g) => self.cx.global_consts.get(g.0 as usize).copied().flatten(),
                _ => None,
            },
            _ => None,
        }
    }

    fn shape_of(&self, e: &Expr) -> Option<Shape> {
        match &e.kind {
            ExprKind::Local(l) => self.shapes.get(l.0 as usize).cloned().flatten(),
            ExprKind::Binary(_, a, b) => {
                if a.ty.is_elementwise_container() {
                    self.shape_of(a)
                } else {
                    self.shape_of(b)
                }
            }
            ExprKind::Unary(_, a) | ExprKind::Cast(a, _) => self.shape_of(a),
            ExprKind::Construct { dims, layout, .. } => Some(Shape {
                dims: dims.iter().map(hir_const).collect(),
                partition: Some(layout.partition),
                origin: e.span.clone(),
            }),
            ExprKind::Call {
                callee: Callee::Builtin(b),
                args,
                layout,
            } => match b {
                Builtin::Copy => {
                    let mut s = self.shape_of(args.first()?)?;
                    if let Some(l) = layout {
                        s.partition = Some(l.partition);
                    }
                    s.origin = e.span.clone();
                    Some(s)
                }
                Builtin::Load => Some(Shape {
                    dims: vec![None],
                    partition: layout.map(|l| l.partition),
                    origin: e.span.clone(),
                }),
                _ => args
                    .iter()
                    .find(|a| a.ty.is_elementwise_container())
                    .and_then(|a| self.shape_of(a)),
            },
            _ => None,
        }
    }

    fn check_aligned(&mut self, a: &Expr, b: &Expr, at: Span) {
        if !(a.ty.is_elementwise_container() && b.ty.is_elementwise_container()) {
            return;
        }
        if let (Some(sa), Some(sb)) = (self.shape_of(a), self.shape_of(b))
            && let Some(why) = misaligned(&sa, &sb)
        {
            let mut d = Diagnostic::error(
                Code::E0402,
                format!("containers in one expression are not aligned: {why}"),
                Label::new(at, "these containers are combined elementwise"),
            );
            if sa.origin != sb.origin {
                d = d
                    .with_label(sa.origin.clone(), "one is made here")
                    .with_label(sb.origin.clone(), "the other is made here");
            }
            d = d.with_help("redistribute one side first, e.g. `let c = copy(b) @block;`");
            self.cx.diags.push(d);
        }
    }

    // ---------------------------------------------------------------- statements

    fn block(&mut self, b: &ast::Block, tail_want: Option<Ty>) -> Block {
        let mut stmts = Vec::with_capacity(b.stmts.len());
        for s in &b.stmts {
            if let Some(s) = self.stmt(s) {
                stmts.push(s);
            }
        }
        let tail = b.tail.as_ref().map(|t| {
            let want = tail_want.and_then(Ty::elem);
            let e = self.expr(t, want);
            if let Some(w) = tail_want {
                if w == Ty::Unit {
                    if e.ty != Ty::Unit && e.ty != Ty::Error {
                        self.cx.diags.push(
                            Diagnostic::error(
                                Code::E0201,
                                format!("mismatched types: expected `()`, found `{}`", e.ty),
                                Label::new(
                                    e.span.clone(),
                                    "this value is returned, but the function returns nothing",
                                ),
                            )
                            .with_help("add `;` after the expression"),
                        );
                    }
                } else {
                    self.expect(&e, w, "the return type");
                }
            }
            Box::new(e)
        });
        Block { stmts, tail }
    }

    fn stmt(&mut self, s: &ast::Stmt) -> Option<Stmt> {
        let span = self.span(s.span);
        Some(match &s.kind {
            ast::StmtKind::Let { name, ty, init, .. } => {
                let declared = ty.as_ref().map(|t| self.cx.ty(t, self.file));
                let init = self.expr(init, declared.and_then(Ty::elem));
                if let Some(d) = declared {
                    self.expect(&init, d, "the declared type");
                }
                let t = declared.unwrap_or(init.ty);
                if matches!(t, Ty::Unit | Ty::Op | Ty::Str) {
                    self.cx.diags.error(
                        Code::E0201,
                        format!("cannot bind a value of type `{t}`"),
                        init.span.clone(),
                        "this has no value to bind",
                    );
                }
                let id = self.def(name)?;
                let shape = self.shape_of(&init);
                let layout = self.layout_of(&init);
                let l = &mut self.locals[id.0 as usize];
                l.ty = t;
                l.layout = layout;
                self.shapes[id.0 as usize] = shape;
                Stmt::Let {
                    local: id,
                    init,
                    span,
                }
            }
            ast::StmtKind::Assign {
                target, op, value, ..
            } => return Some(self.assign(target, *op, value, span)),
            ast::StmtKind::Expr(e) => Stmt::Expr(self.expr(e, None)),
            ast::StmtKind::If {
                branches,
                else_block,
            } => {
                // Checked in source order, then folded into nested ifs from the back.
                let mut arms = Vec::new();
                for br in branches {
                    let cond = self.cond(&br.cond);
                    let then = self.block(&br.body, None);
                    arms.push((cond, then, self.span(br.span)));
                }
                let mut els = else_block.as_ref().map(|b| self.block(b, None));
                let mut last = None;
                while let Some((cond, then, sp)) = arms.pop() {
                    let st = Stmt::If {
                        cond,
                        then,
                        els: els.take(),
                        span: if arms.is_empty() { span.clone() } else { sp },
                    };
                    if arms.is_empty() {
                        last = Some(st);
                    } else {
                        els = Some(Block {
                            stmts: vec![st],
                            tail: None,
                        });
                    }
                }
                last?
            }
            ast::StmtKind::While { cond, body } => Stmt::While {
                cond: self.cond(cond),
                body: self.loop_body(body),
                span,
            },
            ast::StmtKind::For {
                var,
                start,
                end,
                step,
                body,
            } => {
                let start = self.expr(start, Some(Scalar::I64));
                self.expect(&start, Ty::I64, "a `for` bound");
                let end = self.expr(end, Some(Scalar::I64));
                self.expect(&end, Ty::I64, "a `for` bound");
                let step = step.as_ref().map(|st| {
                    let e = self.expr(st, Some(Scalar::I64));
                    self.expect(&e, Ty::I64, "a `for` step");
                    e
                });
                let v = self.def(var)?;
                self.locals[v.0 as usize].ty = Ty::I64;
                Stmt::For {
                    var: v,
                    start,
                    end,
                    step,
                    body: self.loop_body(body),
                    span,
                }
            }
            ast::StmtKind::Forall {
                vars,
                domain,
                reductions,
                body,
            } => {
                let over = match domain {
                    ast::ForallDomain::Container(e) => {
                        let c = self.expr(e, None);
                        let rank = match c.ty {
                            Ty::Vector(_) | Ty::Array(_) => 1,
                            Ty::Tensor(_, r) => r as usize,
                            Ty::Error => vars.len(),
                            t => {
                                self.cx.diags.error(
                                    Code::E0201,
                                    format!("`forall` iterates over a distributed vector, array or tensor, not `{t}`"),
                                    c.span.clone(),
                                    "not a distributed container",
                                );
                                vars.len()
                            }
                        };
                        if vars.len() != rank && vars.len() != 1 {
                            self.err(
                                Code::E0202,
                                format!("wrong number of index variables: the container has {rank} dimension(s), {} given", vars.len()),
                                s.span,
                                format!("expected 1 or {rank} index variables"),
                            );
                        }
                        ForallOver::Container(c)
                    }
                    ast::ForallDomain::Range { start, end } => {
                        let a = self.expr(start, Some(Scalar::I64));
                        self.expect(&a, Ty::I64, "a `forall` bound");
                        let b = self.expr(end, Some(Scalar::I64));
                        self.expect(&b, Ty::I64, "a `forall` bound");
                        if vars.len() != 1 {
                            self.err(
                                Code::E0202,
                                "a `forall` over a range takes one index variable",
                                s.span,
                                "expected one index variable",
                            );
                        }
                        ForallOver::Range(a, b)
                    }
                };
                let mut reds = Vec::new();
                for r in reductions {
                    let op = match ReduceOp::from_name(&r.op.name) {
                        Some(
                            op @ (ReduceOp::Sum | ReduceOp::Prod | ReduceOp::Min | ReduceOp::Max),
                        ) => op,
                        _ => {
                            self.err(
                                Code::E0101,
                                format!("unknown reduction operator `{}`", r.op.name),
                                r.op.span,
                                "expected one of `sum`, `prod`, `min`, `max`",
                            );
                            continue;
                        }
                    };
                    let Res::Local(l) = self.res(r.var.span) else {
                        continue;
                    };
                    if reds.iter().any(|(x, _)| *x == l) {
                        self.err(
                            Code::E0305,
                            format!("`{}` is reduced twice in one `forall`", r.var.name),
                            r.var.span,
                            "second reduction of the same variable",
                        );
                        continue;
                    }
                    let decl = &self.locals[l.0 as usize];
                    let ok_ty =
                        matches!(decl.ty, Ty::Scalar(s) if s.is_numeric()) || decl.ty == Ty::Error;
                    if !decl.mutable || !ok_ty {
                        let dspan = decl.span.clone();
                        self.cx.diags.push(
                            Diagnostic::error(
                                Code::E0305,
                                format!(
                                    "reduction variable `{}` must be a numeric `let mut` scalar",
                                    r.var.name
                                ),
                                Label::new(self.span(r.var.span), "not a numeric `let mut` scalar"),
                            )
                            .with_label(dspan, "declared here"),
                        );
                    }
                    reds.push((l, op));
                }
                let mut ids = Vec::new();
                for v in vars {
                    if let Some(id) = self.def(v) {
                        self.locals[id.0 as usize].ty = Ty::I64;
                        ids.push(id);
                    }
                }
                Stmt::Forall {
                    vars: ids,
                    over,
                    reductions: reds,
                    body: self.loop_body(body),
                    span,
                }
            }
            ast::StmtKind::Break | ast::StmtKind::Continue if self.loop_depth == 0 => {
                let word = if matches!(s.kind, ast::StmtKind::Break) {
                    "break"
                } else {
                    "continue"
                };
                // Was "not supported yet" (E0501) from code generation.
                self.err(
                    Code::E0001,
                    format!("`{word}` outside a loop"),
                    s.span,
                    "not inside `while`, `for` or `forall`",
                );
                return None;
            }
            ast::StmtKind::Break => Stmt::Break(span),
            ast::StmtKind::Continue => Stmt::Continue(span),
            ast::StmtKind::Return(v) => {
                let ret = self.ret;
                let value = v.as_ref().map(|e| {
                    let e = self.expr(e, ret.elem());
                    self.expect(&e, ret, "the function's return type");
                    e
                });
                if value.is_none() && ret != Ty::Unit && ret != Ty::Error {
                    self.cx.diags.error(
                        Code::E0201,
                        format!("mismatched types: this function returns `{ret}`"),
                        span.clone(),
                        format!("`return` needs a `{ret}` value"),
                    );
                }
                Stmt::Return { value, span }
            }
            ast::StmtKind::Block(b) => Stmt::Block(self.block(b, None)),
            ast::StmtKind::Error => return None,
        })
    }

    fn cond(&mut self, e: &ast::Expr) -> Expr {
        let c = self.expr(e, Some(Scalar::Bool));
        self.expect(&c, Ty::BOOL, "a condition");
        c
    }

    fn layout_of(&self, e: &Expr) -> Option<Layout> {
        match &e.kind {
            ExprKind::Construct { layout, .. } => Some(*layout),
            ExprKind::Call {
                layout: Some(l), ..
            } => Some(*l),
            ExprKind::Call {
                callee: Callee::Builtin(Builtin::Copy),
                args,
                layout: None,
            } => args.first().and_then(|a| self.layout_of(a)),
            ExprKind::Local(l) => self.locals.get(l.0 as usize).and_then(|d| d.layout),
            _ => None,
        }
    }

    fn assign(
        &mut self,
        target: &ast::Expr,
        op: ast::AssignOp,
        value: &ast::Expr,
        span: Span,
    ) -> Stmt {
        let bop = op.binary().map(binop);
        let t = match &target.kind {
            ast::ExprKind::Name(id) => {
                let t = self.expr(target, None);
                match self.res(id.span) {
                    Res::Local(l) => {
                        let decl = &self.locals[l.0 as usize];
                        if !decl.mutable && decl.ty.container().is_none() && decl.ty != Ty::Error {
                            let dspan = decl.span.clone();
                            self.cx.diags.push(
                                Diagnostic::error(
                                    Code::E0203,
                                    format!(
                                        "cannot assign twice to immutable variable `{}`",
                                        id.name
                                    ),
                                    Label::new(
                                        span.clone(),
                                        "cannot assign to an immutable binding",
                                    ),
                                )
                                .with_label(dspan, "declared immutable here")
                                .with_help(format!("make it mutable: `let mut {}`", id.name)),
                            );
                        }
                    }
                    Res::Global(_) => {
                        self.cx.diags.push(Diagnostic::error(
                            Code::E0203,
                            format!(
                                "cannot assign to `{}`: `const` and `param` values are immutable",
                                id.name
                            ),
                            Label::new(span.clone(), "cannot assign"),
                        ));
                    }
                    Res::Error => {}
                    _ => {
                        self.err(
                            Code::E0204,
                            "cannot assign to this expression",
                            target.span,
                            "not a variable",
                        );
                    }
                }
                t
            }
            ast::ExprKind::Index { .. } => self.expr(target, None),
            ast::ExprKind::Error => self.error_expr(target.span),
            _ => {
                self.err(
                    Code::E0204,
                    "cannot assign to this expression",
                    target.span,
                    "only variables and elements can be assigned",
                );
                self.expr(target, None)
            }
        };
        let value = if t.ty.is_elementwise_container() || matches!(t.ty, Ty::Local(_)) {
            let v = self.expr(value, t.ty.elem());
            let elem = t.ty.elem();
            if v.ty.container().is_some() {
                if (matches!(t.ty, Ty::Local(_)) && v.ty != t.ty)
                    || v.ty != Ty::Error
                        && (v.ty.container() != t.ty.container()
                            || v.ty.elem() != elem
                            || rank_of(v.ty) != rank_of(t.ty))
                {
                    self.expect(&v, t.ty, "the assigned container");
                } else {
                    self.check_aligned(&t, &v, span.clone());
                }
            } else if let Some(e) = elem {
                self.expect(&v, Ty::Scalar(e), "an element of the target container");
            }
            v
        } else {
            let v = self.expr(value, t.ty.elem());
            if t.ty.container().is_some() {
                self.expect(&v, t.ty, "the target");
            } else {
                self.expect(&v, t.ty, "the assigned variable's type");
            }
            v
        };
        if let (Some(b), Some(s)) = (bop, t.ty.elem())
            && !s.is_numeric()
            && t.ty != Ty::Error
        {
            self.cx.diags.error(
                Code::E0201,
                format!("`{}=` needs numbers, found `{}`", b.symbol(), t.ty),
                span.clone(),
                "not numeric",
            );
        }
        Stmt::Assign {
            target: t,
            op: bop,
            value,
            span,
        }
    }

    // ---------------------------------------------------------------- expressions

    /// An integer literal `v` (`negated`: the operand of a unary minus, which may be one past
    /// the type's maximum, so that `-128` is an `i8` and `-9223372036854775808` an `i64`; a
    /// bare `9223372036854775808` is out of range).
    fn int_lit(&mut self, e: &ast::Expr, v: u64, want: Option<Scalar>, negated: bool) -> Expr {
        let s = want.filter(|s| s.is_numeric()).unwrap_or(Scalar::I64);
        if s.is_int() && !int_fits(v as i128, s, negated) {
            self.err(
                Code::E0201,
                format!("integer literal out of range for `{}`", s.name()),
                e.span,
                format!("does not fit in `{}`", s.name()),
            );
        }
        let lit = if s.is_float() {
            Lit::Float(v as f64)
        } else {
            Lit::Int(v as i128)
        };
        self.mk(ExprKind::Lit(lit), Ty::Scalar(s), e.span)
    }

    fn expr(&mut self, e: &ast::Expr, want: Option<Scalar>) -> Expr {
        match &e.kind {
            ast::ExprKind::Int(v) => self.int_lit(e, *v, want, false),
            ast::ExprKind::Float(v) => {
                let s = want.filter(|s| s.is_float()).unwrap_or(Scalar::F64);
                self.mk(ExprKind::Lit(Lit::Float(*v)), Ty::Scalar(s), e.span)
            }
            ast::ExprKind::Bool(b) => self.mk(ExprKind::Lit(Lit::Bool(*b)), Ty::BOOL, e.span),
            ast::ExprKind::Str(s) => self.mk(ExprKind::Lit(Lit::Str(s.clone())), Ty::Str, e.span),
            ast::ExprKind::Name(_) | ast::ExprKind::Path(_) => {
                let at = match &e.kind {
                    ast::ExprKind::Name(id) => id.span,
                    ast::ExprKind::Path(p) => p.span,
                    _ => e.span,
                };
                match self.res(at) {
                    Res::Local(l) => {
                        let ty = self.locals.get(l.0 as usize).map_or(Ty::Error, |d| d.ty);
                        self.mk(ExprKind::Local(l), ty, e.span)
                    }
                    Res::Global(g) => {
                        let ty = self
                            .cx
                            .global_tys
                            .get(g.0 as usize)
                            .copied()
                            .unwrap_or(Ty::Error);
                        self.mk(ExprKind::Global(g), ty, e.span)
                    }
                    Res::Op(op) => self.mk(ExprKind::Op(op), Ty::Op, e.span),
                    Res::Error => self.error_expr(e.span),
                    Res::Fn(_) | Res::Builtin(_) | Res::Ctor(_) => {
                        self.err(
                            Code::E0204,
                            "functions are not values",
                            e.span,
                            "a function used as a value",
                        );
                        self.error_expr(e.span)
                    }
                }
            }
            ast::ExprKind::Unary { op, operand } => {
                let a = match (&operand.kind, op) {
                    (ast::ExprKind::Int(v), ast::UnaryOp::Neg) => {
                        self.int_lit(operand, *v, want, true)
                    }
                    _ => self.expr(operand, want),
                };
                let (uop, ok) = match op {
                    ast::UnaryOp::Neg => (UnOp::Neg, a.ty.elem().is_none_or(|s| s.is_numeric())),
                    ast::UnaryOp::Not => (UnOp::Not, a.ty.elem().is_none_or(|s| s == Scalar::Bool)),
                };
                if !ok
                    || matches!(
                        a.ty,
                        Ty::Local(_) | Ty::Map(..) | Ty::Str | Ty::Unit | Ty::Op
                    )
                {
                    self.err(
                        Code::E0201,
                        format!("cannot apply `{}` to `{}`", op.symbol(), a.ty),
                        e.span,
                        "invalid operand",
                    );
                    return self.error_expr(e.span);
                }
                let ty = a.ty;
                self.mk(ExprKind::Unary(uop, Box::new(a)), ty, e.span)
            }
            ast::ExprKind::Binary {
                op,
                op_span,
                lhs,
                rhs,
            } => self.binary(*op, *op_span, lhs, rhs, want, e.span),
            ast::ExprKind::Cast { expr, ty } => {
                let target = self.cx.ty(ty, self.file);
                let a = self.expr(expr, None);
                let Ty::Scalar(ts) = target else {
                    if target != Ty::Error {
                        self.err(
                            Code::E0201,
                            format!("`as` converts to a scalar type, not `{target}`"),
                            ty.span,
                            "not a scalar type",
                        );
                    }
                    return self.error_expr(e.span);
                };
                let ok = match a.ty.elem() {
                    Some(s) if a.ty == Ty::Scalar(s) || a.ty.is_elementwise_container() => {
                        s.is_numeric() && (ts.is_numeric())
                            || s == Scalar::Bool && (ts.is_int() || ts == Scalar::Bool)
                    }
                    _ => a.ty == Ty::Error,
                };
                if !ok {
                    self.err(
                        Code::E0201,
                        format!("cannot convert `{}` to `{}`", a.ty, ts.name()),
                        e.span,
                        "invalid `as` conversion",
                    );
                    return self.error_expr(e.span);
                }
                let ty = if a.ty == Ty::Error {
                    Ty::Scalar(ts)
                } else {
                    a.ty.with_elem(ts)
                };
                self.mk(ExprKind::Cast(Box::new(a), ts), ty, e.span)
            }
            ast::ExprKind::Call {
                callee,
                type_args,
                args,
                annotations,
            } => self.call(e, callee, type_args, args, annotations, want),
            ast::ExprKind::Index { base, indices } => {
                let b = self.expr(base, None);
                let idx: Vec<Expr> = indices
                    .iter()
                    .map(|i| {
                        let x = self.expr(i, Some(Scalar::I64));
                        self.expect_int(&x, "an index");
                        x
                    })
                    .collect();
                let (elem, n) = match b.ty {
                    Ty::Vector(s) | Ty::Array(s) | Ty::Local(s) => (s, 1),
                    Ty::Tensor(s, r) => (s, r as usize),
                    Ty::Error => return self.error_expr(e.span),
                    Ty::Map(..) => {
                        self.err(
                            Code::E0204,
                            "maps are not indexed",
                            e.span,
                            "use `lookup(m, k, default)` or `insert(m, k, v)`",
                        );
                        return self.error_expr(e.span);
                    }
                    t => {
                        self.err(
                            Code::E0204,
                            format!("cannot index a value of type `{t}`"),
                            base.span,
                            "not a container",
                        );
                        return self.error_expr(e.span);
                    }
                };
                if idx.len() != n {
                    self.err(
                        Code::E0202,
                        format!("`{}` takes {n} index(es), {} given", b.ty, idx.len()),
                        e.span,
                        format!("expected {n} index(es)"),
                    );
                    return self.error_expr(e.span);
                }
                self.mk(ExprKind::Index(Box::new(b), idx), Ty::Scalar(elem), e.span)
            }
            ast::ExprKind::Annotated { expr, annotations } => {
                let inner = self.expr(expr, want);
                if let Some(a) = annotations.first() {
                    self.err(
                        Code::E0403,
                        "annotations are allowed only on container constructors, `copy(...)` and `load<T>(...)`",
                        a.span,
                        "annotation not allowed here",
                    );
                }
                inner
            }
            ast::ExprKind::Error => self.error_expr(e.span),
        }
    }

    fn binary(
        &mut self,
        op: ast::BinaryOp,
        op_span: dtl_grammar::Span,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
        want: Option<Scalar>,
        at: dtl_grammar::Span,
    ) -> Expr {
        let bop = binop(op);
        let operand_want = if op.is_logical() {
            Some(Scalar::Bool)
        } else if op.is_comparison() {
            None
        } else {
            want
        };
        let (l, r) = if is_flexible(lhs) && !is_flexible(rhs) {
            let r = self.expr(rhs, operand_want);
            let l = self.expr(lhs, r.ty.elem().or(operand_want));
            (l, r)
        } else {
            let l = self.expr(lhs, operand_want);
            let r = self.expr(rhs, l.ty.elem().or(operand_want));
            (l, r)
        };
        if l.ty == Ty::Error || r.ty == Ty::Error {
            return self.error_expr(at);
        }
        let bad_kind = |t: Ty| !matches!(t, Ty::Scalar(_)) && !t.is_elementwise_container();
        if bad_kind(l.ty) || bad_kind(r.ty) {
            let which = if bad_kind(l.ty) { &l } else { &r };
            let msg = match which.ty {
                Ty::Local(_) => {
                    "`local` arrays are not elementwise containers; loop over their elements"
                        .to_string()
                }
                t => format!("cannot apply `{}` to `{t}`", bop.symbol()),
            };
            let sp = which.span.clone();
            self.cx.diags.error(Code::E0201, msg, sp, "invalid operand");
            return self.error_expr(at);
        }
        let (ls, rs) = (l.ty.elem(), r.ty.elem());
        let (Some(ls), Some(rs)) = (ls, rs) else {
            return self.error_expr(at);
        };
        if ls != rs {
            let d = Diagnostic::error(
                Code::E0201,
                format!(
                    "mismatched types: `{}` {} `{}`",
                    ls.name(),
                    bop.symbol(),
                    rs.name()
                ),
                Label::new(
                    self.span(op_span),
                    format!(
                        "no implicit conversion between `{}` and `{}`",
                        ls.name(),
                        rs.name()
                    ),
                ),
            )
            .with_label(l.span.clone(), format!("this is `{}`", l.ty))
            .with_label(r.span.clone(), format!("this is `{}`", r.ty))
            .with_help(format!(
                "convert one side with `as`, e.g. `(...) as {}`",
                if rs.is_float() { rs.name() } else { ls.name() }
            ));
            self.cx.diags.push(d);
            return self.error_expr(at);
        }
        let ok = if op.is_logical() {
            ls == Scalar::Bool
        } else if matches!(bop, BinOp::Eq | BinOp::Ne) {
            true
        } else {
            ls.is_numeric()
        };
        if !ok {
            self.err(
                Code::E0201,
                format!("cannot apply `{}` to `{}`", bop.symbol(), ls.name()),
                op_span,
                "invalid operand types",
            );
            return self.error_expr(at);
        }
        let res_s = if op.is_comparison() { Scalar::Bool } else { ls };
        let lc = l.ty.is_elementwise_container();
        let rc = r.ty.is_elementwise_container();
        let ty = match (lc, rc) {
            (false, false) => Ty::Scalar(res_s),
            (true, false) => l.ty.with_elem(res_s),
            (false, true) => r.ty.with_elem(res_s),
            (true, true) => {
                if l.ty.container() != r.ty.container() || rank_of(l.ty) != rank_of(r.ty) {
                    self.err(
                        Code::E0201,
                        format!(
                            "mismatched containers: `{}` {} `{}`",
                            l.ty,
                            bop.symbol(),
                            r.ty
                        ),
                        op_span,
                        "containers of different kinds",
                    );
                    return self.error_expr(at);
                }
                let sp = self.span(at);
                self.check_aligned(&l, &r, sp);
                l.ty.with_elem(res_s)
            }
        };
        self.mk(ExprKind::Binary(bop, Box::new(l), Box::new(r)), ty, at)
    }

    /// Binds call arguments to a signature; reports E0202 and returns `None` on mismatch.
    fn bind_args<'e>(
        &mut self,
        name: &str,
        sig: &Sig,
        args: &'e [ast::Arg],
        at: dtl_grammar::Span,
    ) -> Option<(Vec<&'e ast::Expr>, Vec<Option<&'e ast::Expr>>)> {
        let mut pos = Vec::new();
        let mut named: Vec<Option<&ast::Expr>> = vec![None; sig.named.len()];
        let mut ok = true;
        for a in args {
            match &a.name {
                None => pos.push(&a.value),
                Some(n) => match sig.named.iter().position(|(k, _)| *k == n.name) {
                    Some(i) if named[i].is_none() => named[i] = Some(&a.value),
                    Some(_) => {
                        self.err(
                            Code::E0202,
                            format!("argument `{}` given twice", n.name),
                            a.span,
                            "duplicate argument",
                        );
                        ok = false;
                    }
                    None => {
                        let allowed: Vec<String> =
                            sig.named.iter().map(|(k, _)| format!("`{k}:`")).collect();
                        let mut d = Diagnostic::error(
                            Code::E0202,
                            format!("`{name}` has no argument named `{}`", n.name),
                            Label::new(self.span(n.span), "unknown argument name"),
                        );
                        d = d.with_help(if allowed.is_empty() {
                            format!("`{name}` takes only positional arguments: `{}`", sig.usage)
                        } else {
                            format!(
                                "named arguments of `{name}`: {}; usage: `{}`",
                                allowed.join(", "),
                                sig.usage
                            )
                        });
                        self.cx.diags.push(d);
                        ok = false;
                    }
                },
            }
        }
        if pos.len() < sig.min || pos.len() > sig.max {
            let expected = if sig.min == sig.max {
                format!("{}", sig.min)
            } else if sig.max == usize::MAX {
                format!("at least {}", sig.min)
            } else {
                format!("{} to {}", sig.min, sig.max)
            };
            self.cx.diags.push(
                Diagnostic::error(
                    Code::E0202,
                    format!(
                        "`{name}` takes {expected} positional argument(s), but {} were given",
                        pos.len()
                    ),
                    Label::new(self.span(at), format!("expected {expected}")),
                )
                .with_help(format!("usage: `{}`", sig.usage)),
            );
            ok = false;
        }
        for (i, (k, req)) in sig.named.iter().enumerate() {
            if *req && named[i].is_none() && ok {
                self.cx.diags.push(
                    Diagnostic::error(
                        Code::E0202,
                        format!("`{name}` needs the named argument `{k}:`"),
                        Label::new(self.span(at), format!("missing `{k}:`")),
                    )
                    .with_help(format!("usage: `{}`", sig.usage)),
                );
                ok = false;
            }
        }
        ok.then_some((pos, named))
    }

    fn check_all_args(&mut self, args: &[ast::Arg]) {
        for a in args {
            let _ = self.expr(&a.value, None);
        }
    }

    fn call(
        &mut self,
        e: &ast::Expr,
        callee: &ast::Path,
        type_args: &[ast::Type],
        args: &[ast::Arg],
        annotations: &[ast::Annotation],
        want: Option<Scalar>,
    ) -> Expr {
        let res = self.res(callee.span);
        let annotatable = matches!(
            res,
            Res::Ctor(_) | Res::Builtin(Builtin::Copy | Builtin::Load)
        );
        if !annotatable && let Some(a) = annotations.first() {
            self.err(
                Code::E0403,
                "annotations are allowed only on container constructors, `copy(...)` and `load<T>(...)`",
                a.span,
                "annotation not allowed here",
            );
        }
        let takes_types = matches!(
            res,
            Res::Ctor(_) | Res::Builtin(Builtin::Recv | Builtin::Load)
        );
        if !takes_types && let Some(t) = type_args.first() {
            self.err(
                Code::E0202,
                "this call takes no type arguments",
                t.span,
                "unexpected type argument",
            );
        }
        match res {
            Res::Fn(f) => self.user_call(e, callee, f, args),
            Res::Builtin(b) => self.builtin(e, b, type_args, args, annotations, want),
            Res::Ctor(k) => self.construct(e, k, type_args, args, annotations),
            Res::Error => {
                self.check_all_args(args);
                self.error_expr(e.span)
            }
            Res::Local(_) | Res::Global(_) | Res::Op(_) => {
                self.err(
                    Code::E0204,
                    "this is not a function",
                    callee.span,
                    "not callable",
                );
                self.check_all_args(args);
                self.error_expr(e.span)
            }
        }
    }

    fn user_call(&mut self, e: &ast::Expr, callee: &ast::Path, f: FnId, args: &[ast::Arg]) -> Expr {
        let (ptys, ret) = self.cx.sigs[f.0 as usize].clone();
        let name = self.cx.names.fns[f.0 as usize].name.clone();
        if let Some(a) = args.iter().find(|a| a.name.is_some()) {
            self.err(
                Code::E0202,
                format!("`{name}` takes only positional arguments"),
                a.span,
                "named argument",
            );
            self.check_all_args(args);
            return self.error_expr(e.span);
        }
        if args.len() != ptys.len() {
            let fspan = {
                let fi = &self.cx.names.fns[f.0 as usize];
                let m = &self.cx.modules[fi.module];
                match &m.ast.items[fi.item].kind {
                    ast::ItemKind::Fn(d) => Some(Span::new(m.file, d.name.span.range())),
                    _ => None,
                }
            };
            let mut d = Diagnostic::error(
                Code::E0202,
                format!(
                    "`{name}` takes {} argument(s), but {} were given",
                    ptys.len(),
                    args.len()
                ),
                Label::new(
                    self.span(e.span),
                    format!("expected {} argument(s)", ptys.len()),
                ),
            );
            if let Some(fs) = fspan {
                d = d.with_label(fs, "defined here");
            }
            self.cx.diags.push(d);
            self.check_all_args(args);
            return self.error_expr(e.span);
        }
        let mut out = Vec::new();
        for (a, t) in args.iter().zip(&ptys) {
            let x = self.expr(&a.value, t.elem());
            self.expect(&x, *t, "the parameter type");
            out.push(x);
        }
        let _ = callee;
        self.mk(
            ExprKind::Call {
                callee: Callee::Fn(f),
                args: out,
                layout: None,
            },
            ret,
            e.span,
        )
    }

    fn int_arg(&mut self, a: &ast::Expr, what: &str) -> Expr {
        let x = self.expr(a, Some(Scalar::I64));
        self.expect_int(&x, what);
        x
    }

    fn i64_arg(&mut self, a: &ast::Expr, what: &str) -> Expr {
        let x = self.expr(a, Some(Scalar::I64));
        self.expect(&x, Ty::I64, what);
        x
    }

    /// Type of a container argument, reporting E0201 when `ok` rejects it.
    fn container_arg(&mut self, a: &ast::Expr, ok: fn(Ty) -> bool, what: &str) -> Expr {
        let x = self.expr(a, None);
        if x.ty != Ty::Error && !ok(x.ty) {
            self.cx.diags.error(
                Code::E0201,
                format!("mismatched types: expected {what}, found `{}`", x.ty),
                x.span.clone(),
                format!("expected {what}"),
            );
            return Expr { ty: Ty::Error, ..x };
        }
        x
    }

    fn builtin(
        &mut self,
        e: &ast::Expr,
        b: Builtin,
        type_args: &[ast::Type],
        args: &[ast::Arg],
        annotations: &[ast::Annotation],
        want: Option<Scalar>,
    ) -> Expr {
        use Builtin as B;
        let sig = builtin_sig(b);
        let Some((pos, named)) = self.bind_args(b.name(), &sig, args, e.span) else {
            self.check_all_args(args);
            return self.error_expr(e.span);
        };
        let dist = |t: Ty| matches!(t, Ty::Vector(_) | Ty::Array(_) | Ty::Tensor(..));
        let dist1 = |t: Ty| matches!(t, Ty::Vector(_) | Ty::Array(_));
        let any_dist = |t: Ty| t.is_distributed();
        let any_container = |t: Ty| t.container().is_some();
        let mut out: Vec<Expr> = Vec::new();
        let mut layout = None;
        let float_want = want.filter(|s| s.is_float()).or(Some(Scalar::F64));
        let ty: Ty = match b {
            B::Len => {
                out.push(self.container_arg(pos[0], any_container, "a container"));
                Ty::I64
            }
            B::Shape => {
                out.push(self.container_arg(pos[0], dist, "a distributed container"));
                out.push(self.i64_arg(pos[1], "a dimension"));
                Ty::I64
            }
            B::LocalLen | B::LocalOffset => {
                let c = self.container_arg(pos[0], dist, "a distributed vector, array or tensor");
                if b == B::LocalOffset
                    && let Some(l) = self.layout_of(&c)
                    && l.partition != Partition::Block
                {
                    self.cx.diags.error(
                        Code::E0404,
                        "`local_offset` needs a block-partitioned container",
                        c.span.clone(),
                        format!("this container is {}", partition_name(l.partition)),
                    );
                }
                out.push(c);
                Ty::I64
            }
            B::Owner | B::IsLocal => {
                out.push(self.container_arg(pos[0], dist, "a distributed container"));
                out.push(self.i64_arg(pos[1], "an index"));
                if b == B::Owner { Ty::I64 } else { Ty::BOOL }
            }
            B::Rank | B::Size => Ty::I64,
            B::Wtime => Ty::F64,
            B::HasCuda => Ty::BOOL,
            B::Barrier => Ty::Unit,
            B::Sin | B::Cos | B::Tan | B::Exp | B::Log | B::Sqrt | B::Floor | B::Ceil | B::Abs => {
                let hint = if b == B::Abs {
                    want.or(None)
                } else {
                    float_want
                };
                let x = self.expr(pos[0], hint);
                let ok = match x.ty.elem() {
                    Some(s) if matches!(x.ty, Ty::Scalar(_)) || x.ty.is_elementwise_container() => {
                        if b == B::Abs {
                            s.is_numeric()
                        } else {
                            s.is_float()
                        }
                    }
                    _ => x.ty == Ty::Error,
                };
                if !ok {
                    let what = if b == B::Abs { "a number" } else { "a float" };
                    self.cx.diags.push(
                        Diagnostic::error(
                            Code::E0201,
                            format!("mismatched types: `{}` expects {what} (or a container of them), found `{}`", b.name(), x.ty),
                            Label::new(x.span.clone(), format!("expected {what}")),
                        )
                        .with_help("convert with `as f64`"),
                    );
                    return self.error_expr(e.span);
                }
                let t = x.ty;
                out.push(x);
                t
            }
            B::Pow | B::Min | B::Max if pos.len() == 2 => {
                let hint = if b == B::Pow { float_want } else { want };
                let (x, y) = if is_flexible(pos[0]) && !is_flexible(pos[1]) {
                    let y = self.expr(pos[1], hint);
                    (self.expr(pos[0], y.ty.elem().or(hint)), y)
                } else {
                    let x = self.expr(pos[0], hint);
                    let y = self.expr(pos[1], x.ty.elem().or(hint));
                    (x, y)
                };
                let t = self.elementwise2(b, &x, &y, e.span);
                out.push(x);
                out.push(y);
                t
            }
            B::Select => {
                let c = self.expr(pos[0], Some(Scalar::Bool));
                if c.ty.elem().is_some_and(|s| s != Scalar::Bool)
                    || matches!(c.ty, Ty::Local(_) | Ty::Map(..))
                {
                    self.expect(&c, Ty::BOOL, "the condition of `select`");
                }
                let (x, y) = if is_flexible(pos[1]) && !is_flexible(pos[2]) {
                    let y = self.expr(pos[2], want);
                    (self.expr(pos[1], y.ty.elem().or(want)), y)
                } else {
                    let x = self.expr(pos[1], want);
                    let y = self.expr(pos[2], x.ty.elem().or(want));
                    (x, y)
                };
                let t = self.elementwise2(b, &x, &y, e.span);
                let t = if c.ty.is_elementwise_container() && !t.is_elementwise_container() {
                    t.elem().map_or(Ty::Error, |s| c.ty.with_elem(s))
                } else {
                    t
                };
                out.push(c);
                out.push(x);
                out.push(y);
                t
            }
            B::Sum | B::Prod | B::Min | B::Max | B::Mean | B::Count | B::Pow => {
                if b == B::Pow {
                    return self.error_expr(e.span);
                }
                let x = self.container_arg(pos[0], dist, "a distributed container expression");
                let s = x.ty.elem();
                let t = match (b, s) {
                    (_, None) => Ty::Error,
                    (B::Count, Some(Scalar::Bool)) => Ty::I64,
                    (B::Count, Some(_)) => {
                        self.cx.diags.error(
                            Code::E0201,
                            format!("`count` counts `true` elements; found `{}`", x.ty),
                            x.span.clone(),
                            "expected a bool container expression, e.g. `count(u > 0.0)`",
                        );
                        Ty::Error
                    }
                    (_, Some(Scalar::Bool)) => {
                        self.cx.diags.error(
                            Code::E0201,
                            format!("`{}` needs numbers, found `{}`", b.name(), x.ty),
                            x.span.clone(),
                            "use `count` for bools",
                        );
                        Ty::Error
                    }
                    (B::Mean, Some(s)) if s.is_int() => Ty::F64,
                    (_, Some(s)) => Ty::Scalar(s),
                };
                out.push(x);
                t
            }
            B::Dot => {
                let x = self.container_arg(pos[0], dist, "a distributed container");
                let y = self.container_arg(pos[1], dist, "a distributed container");
                let t = if x.ty == Ty::Error || y.ty == Ty::Error {
                    Ty::Error
                } else if x.ty != y.ty || !x.ty.elem().is_some_and(Scalar::is_numeric) {
                    self.cx.diags.error(
                        Code::E0201,
                        format!(
                            "`dot` needs two numeric containers of one type, found `{}` and `{}`",
                            x.ty, y.ty
                        ),
                        self.span(e.span),
                        "mismatched containers",
                    );
                    Ty::Error
                } else {
                    let sp = self.span(e.span);
                    self.check_aligned(&x, &y, sp);
                    x.ty.elem().map_or(Ty::Error, Ty::Scalar)
                };
                out.push(x);
                out.push(y);
                t
            }
            B::Argmin | B::Argmax => {
                out.push(self.container_arg(pos[0], dist1, "a distributed vector or array"));
                Ty::I64
            }
            B::Sort => {
                out.push(self.container_arg(pos[0], dist1, "a distributed vector or array"));
                let d = match named[0] {
                    Some(x) => {
                        let x = self.expr(x, Some(Scalar::Bool));
                        self.expect(&x, Ty::BOOL, "`descending:`");
                        x
                    }
                    None => self.mk(ExprKind::Lit(Lit::Bool(false)), Ty::BOOL, e.span),
                };
                out.push(d);
                Ty::Unit
            }
            B::Scan | B::Exscan => {
                let x = self.container_arg(pos[0], dist1, "a distributed vector or array");
                let op = self.op_arg(pos[1], x.ty.elem());
                let t = x.ty;
                out.push(x);
                out.push(op);
                t
            }
            B::Copy => {
                let x = self.container_arg(pos[0], dist, "a distributed container");
                let t = x.ty;
                if !annotations.is_empty() {
                    let mut l = self.layout_of(&x).unwrap_or_default();
                    l = self.annotations(annotations, ContainerKind::Vector, Some(l));
                    layout = Some(l);
                }
                out.push(x);
                t
            }
            B::Resize => {
                let x = self.container_arg(pos[0], dist1, "a distributed vector");
                if matches!(x.ty, Ty::Array(_)) {
                    self.cx.diags.push(
                        Diagnostic::error(
                            Code::E0404,
                            "`resize` needs a `vector`; `array` has a fixed size",
                            Label::new(x.span.clone(), format!("this is `{}`", x.ty)),
                        )
                        .with_help("declare the container as `vector<T>(n)`"),
                    );
                }
                out.push(x);
                out.push(self.i64_arg(pos[1], "the new length"));
                Ty::Unit
            }
            B::Exchange | B::Fence => {
                out.push(self.container_arg(pos[0], any_dist, "a distributed container"));
                Ty::Unit
            }
            B::Swap => {
                let x = self.container_arg(pos[0], dist, "a distributed container");
                let y = self.container_arg(pos[1], dist, "a distributed container");
                if x.ty != Ty::Error && y.ty != Ty::Error {
                    if x.ty != y.ty {
                        self.expect(&y, x.ty, "the type of the first argument");
                    } else {
                        let sp = self.span(e.span);
                        self.check_aligned(&x, &y, sp);
                    }
                }
                out.push(x);
                out.push(y);
                Ty::Unit
            }
            B::Allreduce | B::Reduce | B::ScanRanks | B::ExscanRanks => {
                let x = self.expr(pos[0], None);
                let ok = matches!(x.ty, Ty::Scalar(_) | Ty::Error)
                    || (matches!(x.ty, Ty::Local(_)) && matches!(b, B::Allreduce | B::Reduce));
                if !ok {
                    self.cx.diags.error(
                        Code::E0201,
                        format!(
                            "`{}` takes a scalar{}, found `{}`",
                            b.name(),
                            if matches!(b, B::Allreduce | B::Reduce) {
                                " or a `local<T>`"
                            } else {
                                ""
                            },
                            x.ty
                        ),
                        x.span.clone(),
                        "not a scalar",
                    );
                }
                let op = self.op_arg(pos[1], x.ty.elem());
                let t = if ok { x.ty } else { Ty::Error };
                out.push(x);
                out.push(op);
                if b == B::Reduce {
                    out.push(self.named_i64(named[0], e.span, "`root:`"));
                }
                t
            }
            B::Broadcast => {
                let x = self.expr(pos[0], None);
                let ok = matches!(x.ty, Ty::Scalar(_) | Ty::Local(_) | Ty::Error);
                if !ok {
                    self.cx.diags.error(
                        Code::E0201,
                        format!(
                            "`broadcast` takes a scalar or a `local<T>`, found `{}`",
                            x.ty
                        ),
                        x.span.clone(),
                        "not a scalar",
                    );
                }
                let t = if ok { x.ty } else { Ty::Error };
                out.push(x);
                out.push(self.named_i64(named[0], e.span, "`root:`"));
                t
            }
            B::Allgather | B::Gather => {
                let x = self.expr(pos[0], None);
                let t = match x.ty {
                    Ty::Scalar(s) => Ty::Local(s),
                    Ty::Error => Ty::Error,
                    t => {
                        self.cx.diags.error(
                            Code::E0201,
                            format!("`{}` takes a scalar, found `{t}`", b.name()),
                            x.span.clone(),
                            "not a scalar",
                        );
                        Ty::Error
                    }
                };
                out.push(x);
                if b == B::Gather {
                    out.push(self.named_i64(named[0], e.span, "`root:`"));
                }
                t
            }
            B::Scatter | B::Alltoall => {
                let x = self.container_arg(pos[0], |t| matches!(t, Ty::Local(_)), "a `local<T>`");
                let t = match x.ty {
                    Ty::Local(s) if b == B::Scatter => Ty::Scalar(s),
                    t => t,
                };
                out.push(x);
                if b == B::Scatter {
                    out.push(self.named_i64(named[0], e.span, "`root:`"));
                }
                t
            }
            B::Send => {
                let x = self.expr(pos[0], None);
                if !matches!(x.ty, Ty::Scalar(_) | Ty::Local(_) | Ty::Error) {
                    self.cx.diags.error(
                        Code::E0201,
                        format!("`send` takes a scalar or a `local<T>`, found `{}`", x.ty),
                        x.span.clone(),
                        "cannot be sent",
                    );
                }
                out.push(x);
                out.push(self.named_i64(named[0], e.span, "`dest:`"));
                out.push(self.tag(named[1], e.span));
                Ty::Unit
            }
            B::Recv => {
                let t = match (pos.first(), type_args) {
                    (Some(buf), []) => {
                        let x = self.container_arg(
                            buf,
                            |t| matches!(t, Ty::Local(_)),
                            "a `local<T>` buffer",
                        );
                        out.push(x);
                        Ty::Unit
                    }
                    (None, [t]) => match self.cx.ty(t, self.file) {
                        Ty::Scalar(s) => Ty::Scalar(s),
                        Ty::Error => Ty::Error,
                        other => {
                            self.err(
                                Code::E0201,
                                format!("`recv<T>` receives a scalar, not `{other}`"),
                                t.span,
                                "not a scalar type",
                            );
                            Ty::Error
                        }
                    },
                    _ => {
                        self.cx.diags.push(
                            Diagnostic::error(Code::E0202, "`recv` needs either a type argument or a buffer", Label::new(self.span(e.span), "ambiguous `recv`"))
                                .with_help("write `recv<f64>(source: s)` for a scalar or `recv(buf, source: s)` into a `local<T>`"),
                        );
                        Ty::Error
                    }
                };
                out.push(self.named_i64(named[0], e.span, "`source:`"));
                out.push(self.tag(named[1], e.span));
                t
            }
            B::Sendrecv => {
                let x = self.expr(pos[0], None);
                let t = match x.ty {
                    Ty::Scalar(_) | Ty::Local(_) | Ty::Error => x.ty,
                    t => {
                        self.cx.diags.error(
                            Code::E0201,
                            format!("`sendrecv` takes a scalar or a `local<T>`, found `{t}`"),
                            x.span.clone(),
                            "cannot be sent",
                        );
                        Ty::Error
                    }
                };
                out.push(x);
                out.push(self.named_i64(named[0], e.span, "`dest:`"));
                out.push(self.named_i64(named[1], e.span, "`source:`"));
                out.push(self.tag(named[2], e.span));
                t
            }
            B::Get | B::Put | B::AtomicAdd => {
                let c = self.container_arg(
                    pos[0],
                    |t| matches!(t, Ty::Vector(_) | Ty::Array(_) | Ty::Map(..)),
                    "a distributed vector, array or map",
                );
                let (key, elem) = match c.ty {
                    Ty::Map(k, v) => (Some(k), Some(v)),
                    Ty::Vector(s) | Ty::Array(s) => (Some(Scalar::I64), Some(s)),
                    _ => (None, None),
                };
                if matches!(c.ty, Ty::Map(..)) && b != B::AtomicAdd {
                    self.cx.diags.push(Diagnostic::error(
                        Code::E0201,
                        format!(
                            "`{}` works on vectors and arrays; for maps use `lookup`/`insert`",
                            b.name()
                        ),
                        Label::new(c.span.clone(), "this is a map"),
                    ));
                }
                let k = self.expr(pos[1], key);
                if let Some(ks) = key {
                    self.expect(&k, Ty::Scalar(ks), "an index or key");
                }
                out.push(c);
                out.push(k);
                if b != B::Get {
                    let v = self.expr(pos[2], elem);
                    if let Some(s) = elem {
                        self.expect(&v, Ty::Scalar(s), "the element type");
                        if b == B::AtomicAdd && !s.is_numeric() {
                            self.cx.diags.error(
                                Code::E0201,
                                "`atomic_add` needs a numeric element type",
                                v.span.clone(),
                                "not numeric",
                            );
                        }
                    }
                    out.push(v);
                }
                match (b, elem) {
                    (B::Put, _) => Ty::Unit,
                    (_, Some(s)) => Ty::Scalar(s),
                    _ => Ty::Error,
                }
            }
            B::Insert | B::Lookup | B::Contains => {
                let m = self.container_arg(pos[0], |t| matches!(t, Ty::Map(..)), "a `map<K, V>`");
                let (k, v) = match m.ty {
                    Ty::Map(k, v) => (Some(k), Some(v)),
                    _ => (None, None),
                };
                let key = self.expr(pos[1], k);
                if let Some(k) = k {
                    self.expect(&key, Ty::Scalar(k), "the key type");
                }
                out.push(m);
                out.push(key);
                if b != B::Contains {
                    let x = self.expr(pos[2], v);
                    if let Some(v) = v {
                        self.expect(&x, Ty::Scalar(v), "the value type");
                    }
                    out.push(x);
                }
                match (b, v) {
                    (B::Insert, _) => Ty::Unit,
                    (B::Contains, _) => Ty::BOOL,
                    (_, Some(v)) => Ty::Scalar(v),
                    _ => Ty::Error,
                }
            }
            B::Print | B::PrintAll => {
                for p in &pos {
                    let x = self.expr(p, None);
                    if !matches!(x.ty, Ty::Scalar(_) | Ty::Str | Ty::Error) {
                        self.cx.diags.push(
                            Diagnostic::error(
                                Code::E0201,
                                format!(
                                    "`{}` prints scalars and strings, not `{}`",
                                    b.name(),
                                    x.ty
                                ),
                                Label::new(x.span.clone(), "cannot be printed"),
                            )
                            .with_help("print an element, or a reduction such as `sum(u)`"),
                        );
                    }
                    out.push(x);
                }
                Ty::Unit
            }
            B::Round => {
                let x = self.expr(pos[0], Some(Scalar::F64));
                self.expect(&x, Ty::F64, "`round` rounds an f64");
                out.push(x);
                out.push(self.int_arg(pos[1], "the number of digits"));
                Ty::F64
            }
            B::Rand | B::Randn => {
                out.push(self.int_arg(pos[0], "the seed"));
                out.push(self.int_arg(pos[1], "the counter"));
                Ty::F64
            }
            B::Assert => {
                out.push(self.cond(pos[0]));
                if let Some(m) = pos.get(1) {
                    let x = self.expr(m, None);
                    self.expect(&x, Ty::Str, "the assertion message");
                    out.push(x);
                }
                Ty::Unit
            }
            B::Save => {
                out.push(self.container_arg(pos[0], dist, "a distributed container"));
                let x = self.expr(pos[1], None);
                self.expect(&x, Ty::Str, "a file name string");
                out.push(x);
                Ty::Unit
            }
            B::Load => {
                let x = self.expr(pos[0], None);
                self.expect(&x, Ty::Str, "a file name string");
                out.push(x);
                let t = match type_args {
                    [t] => match self.cx.ty(t, self.file) {
                        Ty::Scalar(s) => Ty::Vector(s),
                        Ty::Error => Ty::Error,
                        other => {
                            self.err(
                                Code::E0204,
                                format!("`load<T>` takes an element type, not `{other}`"),
                                t.span,
                                "not a scalar type",
                            );
                            Ty::Error
                        }
                    },
                    _ => {
                        self.err(
                            Code::E0202,
                            "`load` needs one type argument: `load<f64>(\"x.npy\")`",
                            e.span,
                            "missing element type",
                        );
                        Ty::Error
                    }
                };
                layout = Some(self.annotations(annotations, ContainerKind::Vector, None));
                t
            }
        };
        if ty == Ty::Error {
            return self.error_expr(e.span);
        }
        self.mk(
            ExprKind::Call {
                callee: Callee::Builtin(b),
                args: out,
                layout,
            },
            ty,
            e.span,
        )
    }

    fn elementwise2(&mut self, b: Builtin, x: &Expr, y: &Expr, at: dtl_grammar::Span) -> Ty {
        if x.ty == Ty::Error || y.ty == Ty::Error {
            return Ty::Error;
        }
        let ok_kind = |t: Ty| matches!(t, Ty::Scalar(_)) || t.is_elementwise_container();
        // An argument without an element type (a string) is a mismatch too; it used to leave
        // an erroneous expression without a diagnostic, an internal error in code generation.
        let (xs, ys) = (x.ty.elem(), y.ty.elem());
        if !ok_kind(x.ty) || !ok_kind(y.ty) || xs.is_none() || xs != ys {
            self.cx.diags.push(
                Diagnostic::error(
                    Code::E0201,
                    format!("mismatched types: `{}` needs two arguments of one type, found `{}` and `{}`", b.name(), x.ty, y.ty),
                    Label::new(self.span(at), "mismatched arguments"),
                )
                .with_help("convert one argument with `as`"),
            );
            return Ty::Error;
        }
        let Some(xs) = xs else {
            return Ty::Error;
        };
        if b == Builtin::Pow && !xs.is_float() || b != Builtin::Select && !xs.is_numeric() {
            self.err(
                Code::E0201,
                format!(
                    "`{}` needs {}, found `{}`",
                    b.name(),
                    if b == Builtin::Pow {
                        "floats"
                    } else {
                        "numbers"
                    },
                    xs.name()
                ),
                at,
                "invalid argument type",
            );
            return Ty::Error;
        }
        match (
            x.ty.is_elementwise_container(),
            y.ty.is_elementwise_container(),
        ) {
            (true, true) => {
                if x.ty != y.ty {
                    self.err(
                        Code::E0201,
                        format!("mismatched containers `{}` and `{}`", x.ty, y.ty),
                        at,
                        "mismatched containers",
                    );
                    return Ty::Error;
                }
                let sp = self.span(at);
                self.check_aligned(x, y, sp);
                x.ty
            }
            (true, false) => x.ty,
            (false, true) => y.ty,
            (false, false) => x.ty,
        }
    }

    fn named_i64(&mut self, a: Option<&ast::Expr>, at: dtl_grammar::Span, what: &str) -> Expr {
        match a {
            Some(a) => self.i64_arg(a, what),
            None => self.error_expr(at),
        }
    }

    fn tag(&mut self, a: Option<&ast::Expr>, at: dtl_grammar::Span) -> Expr {
        match a {
            Some(a) => self.i64_arg(a, "`tag:`"),
            None => self.mk(ExprKind::Lit(Lit::Int(0)), Ty::I64, at),
        }
    }

    fn op_arg(&mut self, a: &ast::Expr, elem: Option<Scalar>) -> Expr {
        let x = self.expr(a, None);
        match (&x.kind, elem) {
            (ExprKind::Op(op), Some(s)) => {
                let ok = match op {
                    ReduceOp::Sum | ReduceOp::Prod | ReduceOp::Min | ReduceOp::Max => {
                        s.is_numeric()
                    }
                    ReduceOp::Land | ReduceOp::Lor => s == Scalar::Bool,
                    ReduceOp::Band | ReduceOp::Bor | ReduceOp::Bxor => s.is_int(),
                };
                if !ok {
                    self.cx.diags.error(
                        Code::E0201,
                        format!("operator `{}` does not apply to `{}`", op.name(), s.name()),
                        x.span.clone(),
                        "invalid operator for this type",
                    );
                }
            }
            (ExprKind::Op(_), None) | (ExprKind::Error, _) => {}
            _ => {
                self.cx.diags.push(
                    Diagnostic::error(
                        Code::E0201,
                        "expected a reduction operator",
                        Label::new(x.span.clone(), "not an operator"),
                    )
                    .with_help("one of `sum prod min max land lor band bor bxor`"),
                );
            }
        }
        x
    }

    fn construct(
        &mut self,
        e: &ast::Expr,
        k: ContainerKind,
        type_args: &[ast::Type],
        args: &[ast::Arg],
        annotations: &[ast::Annotation],
    ) -> Expr {
        let (nt, usage) = match k {
            ContainerKind::Map => (2, "map<K, V>()"),
            ContainerKind::Tensor => (1, "tensor<T>(d0, d1, ..., fill: x)"),
            _ => (1, "vector<T>(n, fill: x)"),
        };
        let tys: Vec<Option<Scalar>> = type_args
            .iter()
            .map(|t| match self.cx.ty(t, self.file) {
                Ty::Scalar(s) => Some(s),
                Ty::Error => None,
                other => {
                    self.err(
                        Code::E0204,
                        format!("container elements must be scalars, not `{other}`"),
                        t.span,
                        "not a scalar type",
                    );
                    None
                }
            })
            .collect();
        if tys.len() != nt {
            self.cx.diags.push(
                Diagnostic::error(
                    Code::E0202,
                    format!(
                        "`{}` takes {nt} type argument(s), {} given",
                        k.name(),
                        tys.len()
                    ),
                    Label::new(self.span(e.span), "wrong number of type arguments"),
                )
                .with_help(format!("usage: `{usage}`")),
            );
            self.check_all_args(args);
            return self.error_expr(e.span);
        }
        let (min, max) = match k {
            ContainerKind::Map => (0, 0),
            ContainerKind::Tensor => (2, 8),
            _ => (1, 1),
        };
        let named: &'static [(&'static str, bool)] = if k == ContainerKind::Map {
            &[]
        } else {
            &[("fill", false)]
        };
        let sig = Sig {
            min,
            max,
            named,
            usage,
        };
        let Some((pos, named)) = self.bind_args(k.name(), &sig, args, e.span) else {
            self.check_all_args(args);
            return self.error_expr(e.span);
        };
        let dims: Vec<Expr> = pos.iter().map(|p| self.i64_arg(p, "a length")).collect();
        let elem = tys[0];
        let fill = named.first().copied().flatten().map(|f| {
            let x = self.expr(f, elem);
            if let Some(s) = elem {
                self.expect(&x, Ty::Scalar(s), "the element type");
            }
            Box::new(x)
        });
        let layout = self.annotations(annotations, k, None);
        let ty = match (k, tys.as_slice()) {
            (ContainerKind::Map, [Some(kt), Some(v)]) => {
                if !kt.is_int() {
                    self.err(
                        Code::E0204,
                        "map keys must be an integer type",
                        type_args[0].span,
                        "not an integer type",
                    );
                    Ty::Error
                } else {
                    Ty::Map(*kt, *v)
                }
            }
            (ContainerKind::Vector, [Some(s)]) => Ty::Vector(*s),
            (ContainerKind::Array, [Some(s)]) => Ty::Array(*s),
            (ContainerKind::Local, [Some(s)]) => Ty::Local(*s),
            (ContainerKind::Tensor, [Some(s)]) => Ty::Tensor(*s, dims.len() as u8),
            _ => Ty::Error,
        };
        if ty == Ty::Error {
            return self.error_expr(e.span);
        }
        self.mk(ExprKind::Construct { dims, fill, layout }, ty, e.span)
    }

    /// Parses partition/placement/halo annotations for a container of kind `k`, starting from
    /// `base` (for `copy`, the source's layout without its halo).
    fn annotations(
        &mut self,
        anns: &[ast::Annotation],
        k: ContainerKind,
        base: Option<Layout>,
    ) -> Layout {
        let mut layout = base.map(|b| Layout { halo: None, ..b }).unwrap_or(Layout {
            partition: if k == ContainerKind::Map {
                Partition::Hash
            } else {
                Partition::Block
            },
            ..Layout::default()
        });
        if k == ContainerKind::Local {
            if let Some(a) = anns.first() {
                self.err(
                    Code::E0403,
                    "a `local<T>` array belongs to one rank and takes no annotations",
                    a.span,
                    "annotation not allowed here",
                );
            }
            return layout;
        }
        let mut part_at: Option<dtl_grammar::Span> = None;
        let mut place_at: Option<dtl_grammar::Span> = None;
        let mut halo_at: Option<dtl_grammar::Span> = None;
        for a in anns {
            let name = a.name.name.as_str();
            let nargs = a.args.len();
            let arity_ok = match name {
                "block" | "cyclic" | "hash" | "replicated" | "host" | "unified"
                | "device_preferred" => nargs == 0,
                "block_cyclic" => nargs == 1,
                "device" => nargs <= 1,
                "halo" => nargs == 1 || nargs == 2,
                _ => {
                    self.cx.diags.push(
                        Diagnostic::error(Code::E0101, format!("unknown annotation `@{name}`"), Label::new(self.span(a.name.span), "not a known annotation"))
                            .with_help("annotations: @block @cyclic @block_cyclic(b) @hash @replicated @host @device @device(id) @unified @device_preferred @halo(w) @halo(w, periodic)"),
                    );
                    continue;
                }
            };
            if !arity_ok {
                self.err(
                    Code::E0401,
                    format!("wrong arguments for `@{name}`"),
                    a.span,
                    "unknown or missing annotation argument",
                );
                continue;
            }
            let is_part = matches!(
                name,
                "block" | "cyclic" | "block_cyclic" | "hash" | "replicated"
            );
            let is_place = matches!(name, "host" | "device" | "unified" | "device_preferred");
            if is_part {
                if let Some(prev) = part_at {
                    let d = Diagnostic::error(
                        Code::E0401,
                        "two partition annotations on one container",
                        Label::new(self.span(a.span), "second partition"),
                    )
                    .with_label(self.span(prev), "first partition");
                    self.cx.diags.push(d);
                    continue;
                }
                part_at = Some(a.span);
                layout.partition = match name {
                    "block" => Partition::Block,
                    "cyclic" => Partition::Cyclic,
                    "hash" => Partition::Hash,
                    "replicated" => Partition::Replicated,
                    _ => {
                        let b = self.const_int(&a.args[0]);
                        let x = self.expr(&a.args[0], Some(Scalar::I64));
                        self.expect(&x, Ty::I64, "a block size");
                        if b.is_some_and(|b| b <= 0) {
                            self.err(
                                Code::E0401,
                                "the block size must be positive",
                                a.args[0].span,
                                "not positive",
                            );
                        }
                        Partition::BlockCyclic(b)
                    }
                };
                let is_map = k == ContainerKind::Map;
                if (layout.partition == Partition::Hash) != is_map
                    && !(is_map && layout.partition == Partition::Hash)
                {
                    let msg = if is_map {
                        "maps are hash-partitioned; only `@hash` applies"
                    } else {
                        "`@hash` applies only to maps"
                    };
                    self.err(Code::E0401, msg, a.span, "partition not valid here");
                }
            } else if is_place {
                if let Some(prev) = place_at {
                    let d = Diagnostic::error(
                        Code::E0401,
                        "two placement annotations on one container",
                        Label::new(self.span(a.span), "second placement"),
                    )
                    .with_label(self.span(prev), "first placement");
                    self.cx.diags.push(d);
                    continue;
                }
                place_at = Some(a.span);
                layout.placement = match name {
                    "host" => Placement::Host,
                    "unified" => Placement::Unified,
                    "device_preferred" => Placement::DevicePreferred,
                    _ => Placement::Device(a.args.first().and_then(|x| {
                        let _ = self.i64_arg(x, "a device id");
                        self.const_int(x)
                    })),
                };
            } else {
                // halo
                if halo_at.is_some() {
                    self.err(
                        Code::E0401,
                        "two halo annotations on one container",
                        a.span,
                        "second halo",
                    );
                    continue;
                }
                halo_at = Some(a.span);
                let w = self.const_int(&a.args[0]);
                match w {
                    Some(w) if w >= 0 => {}
                    _ => {
                        self.err(
                            Code::E0401,
                            "the halo width must be a non-negative integer constant",
                            a.args[0].span,
                            "not a constant width",
                        );
                    }
                }
                let periodic = match a.args.get(1).map(|x| &x.kind) {
                    None => false,
                    Some(ast::ExprKind::Name(id)) if id.name == "periodic" => true,
                    Some(_) => {
                        self.err(Code::E0401, "unknown annotation argument: the second argument of `@halo` can only be `periodic`", a.args[1].span, "expected `periodic`");
                        false
                    }
                };
                layout.halo = Some(Halo {
                    width: w.unwrap_or(0).max(0),
                    periodic,
                });
                if k == ContainerKind::Map {
                    self.err(
                        Code::E0401,
                        "maps have no halo",
                        a.span,
                        "halo not valid here",
                    );
                }
            }
        }
        if let Some(h) = halo_at
            && layout.partition != Partition::Block
        {
            let mut d = Diagnostic::error(
                Code::E0401,
                format!(
                    "a halo needs a block partition, but this container is {}",
                    partition_name(layout.partition)
                ),
                Label::new(self.span(h), "halo on a non-block partition"),
            )
            .with_help("use `@block @halo(w)`, or drop the halo");
            if let Some(p) = part_at {
                d = d.with_label(self.span(p), "partition chosen here");
            }
            self.cx.diags.push(d);
        }
        layout
    }
}

/// Why a `const` or `param` initialiser is not allowed.
enum BadInit {
    /// It reads global `g`, declared at or after it (it would read zero: globals are set in
    /// declaration order before `main`).
    Later(usize),
    /// It calls a function, a builtin that is not plain math, or makes a container (`rank()`
    /// would make a "uniform" `param` differ between ranks; a collective would run before
    /// `main`).
    Call(String),
}

/// The first part of global initialiser `e` (of global `this`) that is not allowed.
fn bad_global_init(e: &Expr, this: usize) -> Option<(Span, BadInit)> {
    use Builtin as B;
    match &e.kind {
        ExprKind::Lit(_) | ExprKind::Op(_) | ExprKind::Local(_) | ExprKind::Error => None,
        ExprKind::Global(g) => {
            (g.0 as usize >= this).then(|| (e.span.clone(), BadInit::Later(g.0 as usize)))
        }
        ExprKind::Unary(_, a) | ExprKind::Cast(a, _) => bad_global_init(a, this),
        ExprKind::Binary(_, a, b) => bad_global_init(a, this).or_else(|| bad_global_init(b, this)),
        ExprKind::Call {
            callee:
                Callee::Builtin(
                    B::Sin
                    | B::Cos
                    | B::Tan
                    | B::Exp
                    | B::Log
                    | B::Sqrt
                    | B::Abs
                    | B::Floor
                    | B::Ceil
                    | B::Pow
                    | B::Min
                    | B::Max
                    | B::Select
                    | B::Round
                    | B::Size,
                ),
            args,
            ..
        } => args.iter().find_map(|a| bad_global_init(a, this)),
        ExprKind::Call {
            callee: Callee::Builtin(b),
            ..
        } => Some((e.span.clone(), BadInit::Call(format!("`{}()`", b.name())))),
        ExprKind::Call { .. } => Some((e.span.clone(), BadInit::Call("a function call".into()))),
        ExprKind::Index(..) | ExprKind::Construct { .. } => {
            Some((e.span.clone(), BadInit::Call("containers".into())))
        }
    }
}

/// Compile-time value of an integer HIR expression (literals, `const`s and arithmetic).
/// `const` globals print as `Global`; their values are not tracked here, so they count as unknown.
fn hir_const(e: &Expr) -> Option<i64> {
    match &e.kind {
        ExprKind::Lit(Lit::Int(v)) => i64::try_from(*v).ok(),
        ExprKind::Unary(UnOp::Neg, a) => hir_const(a)?.checked_neg(),
        ExprKind::Binary(op, a, b) => {
            let (a, b) = (hir_const(a)?, hir_const(b)?);
            match op {
                BinOp::Add => a.checked_add(b),
                BinOp::Sub => a.checked_sub(b),
                BinOp::Mul => a.checked_mul(b),
                BinOp::Div => a.checked_div(b),
                BinOp::Rem => a.checked_rem(b),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether literal `v` fits `s`; `negated` (under a unary minus) allows one past a signed
/// type's maximum: `-(128)` is `i8::MIN`.
fn int_fits(v: i128, s: Scalar, negated: bool) -> bool {
    let one = i128::from(negated);
    let (lo, hi): (i128, i128) = match s {
        Scalar::I8 => (i8::MIN.into(), i128::from(i8::MAX) + one),
        Scalar::I32 => (i32::MIN.into(), i128::from(i32::MAX) + one),
        Scalar::I64 => (i64::MIN.into(), i128::from(i64::MAX) + one),
        Scalar::U8 => (0, u8::MAX.into()),
        Scalar::U32 => (0, u32::MAX.into()),
        Scalar::U64 => (0, u64::MAX.into()),
        _ => return true,
    };
    (lo..=hi).contains(&v)
}
