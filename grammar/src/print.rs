//! The stable AST printer behind `dtlc --emit=ast` and the golden tests.
//!
//! One node per line, indented two spaces per level, S-expression-like:
//! `Kind detail @start..end`. Child roles that are not obvious are labelled with a line of
//! their own (`then`, `else`, `step`, ...). Recursion is safe: the parser bounds the depth of
//! every tree by [`crate::ast::MAX_DEPTH`].

use std::fmt::Write;

use crate::ast::{
    Annotation, Arg, Block, Expr, ExprKind, FnDecl, ForallDomain, Item, ItemKind, Module, Path,
    Stmt, StmtKind, Type, TypeKind,
};
use crate::span::Span;

/// Renders a module as an indented tree, one node per line.
pub fn print_ast(module: &Module) -> String {
    let mut p = Printer {
        out: String::new(),
        indent: 0,
    };
    p.line(&format!("Module @{}", module.span));
    p.indent += 1;
    for item in &module.items {
        p.item(item);
    }
    p.out
}

struct Printer {
    out: String,
    indent: usize,
}

fn path_text(p: &Path) -> String {
    p.segments
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join("::")
}

fn type_text(t: &Type) -> String {
    match &t.kind {
        TypeKind::Scalar(s) => s.name().to_owned(),
        TypeKind::Vector(e) => format!("vector<{}>", type_text(e)),
        TypeKind::Array(e) => format!("array<{}>", type_text(e)),
        TypeKind::Local(e) => format!("local<{}>", type_text(e)),
        TypeKind::Tensor {
            elem,
            rank: Some(r),
        } => format!("tensor<{}, {r}>", type_text(elem)),
        TypeKind::Tensor { elem, rank: None } => format!("tensor<{}>", type_text(elem)),
        TypeKind::Map { key, value } => format!("map<{}, {}>", type_text(key), type_text(value)),
        TypeKind::Error => "<error>".to_owned(),
    }
}

impl Printer {
    fn line(&mut self, text: &str) {
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn node(&mut self, text: &str, span: Span) {
        self.line(&format!("{text} @{span}"));
    }

    fn nested(&mut self, f: impl FnOnce(&mut Printer)) {
        self.indent += 1;
        f(self);
        self.indent -= 1;
    }

    fn labelled(&mut self, label: &str, f: impl FnOnce(&mut Printer)) {
        self.line(label);
        self.nested(f);
    }

    fn ty(&mut self, t: &Type) {
        self.node(&format!("Type {}", type_text(t)), t.span);
    }

    fn item(&mut self, item: &Item) {
        match &item.kind {
            ItemKind::Import { name } => self.node(&format!("Import {}", name.name), item.span),
            ItemKind::Const { name, ty, value } | ItemKind::Param { name, ty, value } => {
                let kw = if matches!(item.kind, ItemKind::Const { .. }) {
                    "Const"
                } else {
                    "Param"
                };
                self.node(&format!("{kw} {}", name.name), item.span);
                self.nested(|p| {
                    p.ty(ty);
                    p.expr(value);
                });
            }
            ItemKind::Fn(f) => self.fn_decl(f, item.span),
            ItemKind::Error => self.node("ErrorItem", item.span),
        }
    }

    fn fn_decl(&mut self, f: &FnDecl, span: Span) {
        self.node(&format!("Fn {}", f.name.name), span);
        self.nested(|p| {
            for param in &f.params {
                p.node(
                    &format!("Param {}: {}", param.name.name, type_text(&param.ty)),
                    param.span,
                );
            }
            if let Some(ret) = &f.ret {
                p.labelled("returns", |p| p.ty(ret));
            }
            p.block(&f.body);
        });
    }

    fn block(&mut self, b: &Block) {
        self.node("Block", b.span);
        self.nested(|p| {
            for s in &b.stmts {
                p.stmt(s);
            }
            if let Some(tail) = &b.tail {
                p.labelled("tail", |p| p.expr(tail));
            }
        });
    }

    fn stmt(&mut self, s: &Stmt) {
        match &s.kind {
            StmtKind::Let {
                mutable,
                name,
                ty,
                init,
            } => {
                let m = if *mutable { "mut " } else { "" };
                let t = ty
                    .as_ref()
                    .map(|t| format!(": {}", type_text(t)))
                    .unwrap_or_default();
                self.node(&format!("Let {m}{}{t}", name.name), s.span);
                self.nested(|p| p.expr(init));
            }
            StmtKind::Assign {
                target, op, value, ..
            } => {
                self.node(&format!("Assign {}", op.symbol()), s.span);
                self.nested(|p| {
                    p.expr(target);
                    p.expr(value);
                });
            }
            StmtKind::Expr(e) => {
                self.node("ExprStmt", s.span);
                self.nested(|p| p.expr(e));
            }
            StmtKind::If {
                branches,
                else_block,
            } => {
                self.node("If", s.span);
                self.nested(|p| {
                    for b in branches {
                        p.node("Branch", b.span);
                        p.nested(|p| {
                            p.expr(&b.cond);
                            p.block(&b.body);
                        });
                    }
                    if let Some(e) = else_block {
                        p.labelled("else", |p| p.block(e));
                    }
                });
            }
            StmtKind::While { cond, body } => {
                self.node("While", s.span);
                self.nested(|p| {
                    p.expr(cond);
                    p.block(body);
                });
            }
            StmtKind::For {
                var,
                start,
                end,
                step,
                body,
            } => {
                self.node(&format!("For {}", var.name), s.span);
                self.nested(|p| {
                    p.expr(start);
                    p.expr(end);
                    if let Some(step) = step {
                        p.labelled("step", |p| p.expr(step));
                    }
                    p.block(body);
                });
            }
            StmtKind::Forall {
                vars,
                domain,
                reductions,
                body,
            } => {
                let names: Vec<&str> = vars.iter().map(|v| v.name.as_str()).collect();
                self.node(&format!("Forall {}", names.join(", ")), s.span);
                self.nested(|p| {
                    match domain {
                        ForallDomain::Container(e) => p.labelled("in", |p| p.expr(e)),
                        ForallDomain::Range { start, end } => p.labelled("in range", |p| {
                            p.expr(start);
                            p.expr(end);
                        }),
                    }
                    for r in reductions {
                        p.node(&format!("With {}: {}", r.var.name, r.op.name), r.span);
                    }
                    p.block(body);
                });
            }
            StmtKind::Break => self.node("Break", s.span),
            StmtKind::Continue => self.node("Continue", s.span),
            StmtKind::Return(e) => {
                self.node("Return", s.span);
                if let Some(e) = e {
                    self.nested(|p| p.expr(e));
                }
            }
            StmtKind::Block(b) => self.block(b),
            StmtKind::Error => self.node("ErrorStmt", s.span),
        }
    }

    fn annotation(&mut self, a: &Annotation) {
        self.node(&format!("@{}", a.name.name), a.span);
        self.nested(|p| {
            for e in &a.args {
                p.expr(e);
            }
        });
    }

    fn arg(&mut self, a: &Arg) {
        match &a.name {
            Some(name) => {
                self.node(&format!("Arg {}", name.name), a.span);
                self.nested(|p| p.expr(&a.value));
            }
            None => self.expr(&a.value),
        }
    }

    fn expr(&mut self, e: &Expr) {
        let mut buf = String::new();
        match &e.kind {
            ExprKind::Int(v) => {
                let _ = write!(buf, "Int {v}");
                self.node(&buf, e.span);
            }
            ExprKind::Float(v) => {
                let _ = write!(buf, "Float {v:?}");
                self.node(&buf, e.span);
            }
            ExprKind::Bool(v) => self.node(&format!("Bool {v}"), e.span),
            ExprKind::Str(s) => self.node(&format!("Str {s:?}"), e.span),
            ExprKind::Name(id) => self.node(&format!("Name {}", id.name), e.span),
            ExprKind::Path(p) => self.node(&format!("Path {}", path_text(p)), e.span),
            ExprKind::Unary { op, operand } => {
                self.node(&format!("Unary {}", op.symbol()), e.span);
                self.nested(|p| p.expr(operand));
            }
            ExprKind::Binary { op, lhs, rhs, .. } => {
                self.node(&format!("Binary {}", op.symbol()), e.span);
                self.nested(|p| {
                    p.expr(lhs);
                    p.expr(rhs);
                });
            }
            ExprKind::Cast { expr, ty } => {
                self.node(&format!("Cast {}", type_text(ty)), e.span);
                self.nested(|p| p.expr(expr));
            }
            ExprKind::Call {
                callee,
                type_args,
                args,
                annotations,
            } => {
                let targs = if type_args.is_empty() {
                    String::new()
                } else {
                    let t: Vec<String> = type_args.iter().map(type_text).collect();
                    format!("<{}>", t.join(", "))
                };
                self.node(&format!("Call {}{targs}", path_text(callee)), e.span);
                self.nested(|p| {
                    for a in args {
                        p.arg(a);
                    }
                    for a in annotations {
                        p.annotation(a);
                    }
                });
            }
            ExprKind::Index { base, indices } => {
                self.node("Index", e.span);
                self.nested(|p| {
                    p.expr(base);
                    for i in indices {
                        p.expr(i);
                    }
                });
            }
            ExprKind::Annotated { expr, annotations } => {
                self.node("Annotated", e.span);
                self.nested(|p| {
                    p.expr(expr);
                    for a in annotations {
                        p.annotation(a);
                    }
                });
            }
            ExprKind::Error => self.node("ErrorExpr", e.span),
        }
    }
}
