//! The stable HIR printer behind `dtlc --emit=hir` and the HIR golden tests.

use super::*;
use std::fmt::Write;

/// Prints the module: globals, then functions with their locals and typed bodies.
/// Each expression prints as `(form ...): type` with a `'` after the type when it is varying.
pub fn print(m: &Module) -> String {
    let mut p = Printer {
        out: String::new(),
        m,
        f: None,
    };
    for (i, g) in m.globals.iter().enumerate() {
        let kind = match g.kind {
            GlobalKind::Const => "const",
            GlobalKind::Param => "param",
        };
        let _ = write!(p.out, "{kind} g{i} {}: {} = ", g.name, g.ty);
        p.expr(&g.init);
        p.out.push('\n');
    }
    for (i, f) in m.functions.iter().enumerate() {
        p.f = Some(f);
        let _ = write!(p.out, "fn f{i} {}(", f.name);
        for (k, l) in f.params.iter().enumerate() {
            if k > 0 {
                p.out.push_str(", ");
            }
            p.local(*l);
        }
        let _ = write!(p.out, ") -> {}", f.ret);
        if f.collective {
            p.out.push_str(" collective");
        }
        p.out.push_str(" {\n");
        for (k, l) in f.locals.iter().enumerate() {
            let _ = write!(
                p.out,
                "    local l{k} {}{}: {}",
                if l.mutable { "mut " } else { "" },
                l.name,
                l.ty
            );
            if let Some(lay) = &l.layout {
                let _ = write!(p.out, " {}", layout(lay));
            }
            p.out.push_str(if l.uniform {
                " uniform\n"
            } else {
                " varying\n"
            });
        }
        p.block_body(&f.body, 1);
        p.out.push_str("}\n");
    }
    p.out
}

fn layout(l: &Layout) -> String {
    let mut s = match l.partition {
        Partition::Block => "@block".to_string(),
        Partition::Cyclic => "@cyclic".to_string(),
        Partition::BlockCyclic(Some(b)) => format!("@block_cyclic({b})"),
        Partition::BlockCyclic(None) => "@block_cyclic(?)".to_string(),
        Partition::Hash => "@hash".to_string(),
        Partition::Replicated => "@replicated".to_string(),
    };
    match l.placement {
        Placement::Host => {}
        Placement::Device(None) => s.push_str(" @device"),
        Placement::Device(Some(d)) => {
            let _ = write!(s, " @device({d})");
        }
        Placement::Unified => s.push_str(" @unified"),
        Placement::DevicePreferred => s.push_str(" @device_preferred"),
    }
    if let Some(h) = l.halo {
        let _ = write!(
            s,
            " @halo({}{})",
            h.width,
            if h.periodic { ", periodic" } else { "" }
        );
    }
    s
}

struct Printer<'a> {
    out: String,
    m: &'a Module,
    f: Option<&'a Function>,
}

impl Printer<'_> {
    fn indent(&mut self, n: usize) {
        for _ in 0..n {
            self.out.push_str("    ");
        }
    }

    fn local(&mut self, l: LocalId) {
        let name = self
            .f
            .and_then(|f| f.locals.get(l.0 as usize))
            .map_or("?", |d| d.name.as_str());
        let _ = write!(self.out, "{name}#l{}", l.0);
    }

    fn block_body(&mut self, b: &Block, depth: usize) {
        for s in &b.stmts {
            self.stmt(s, depth);
        }
        if let Some(t) = &b.tail {
            self.indent(depth);
            self.out.push_str("tail ");
            self.expr(t);
            self.out.push('\n');
        }
    }

    fn block(&mut self, b: &Block, depth: usize) {
        self.out.push_str("{\n");
        self.block_body(b, depth + 1);
        self.indent(depth);
        self.out.push('}');
    }

    fn stmt(&mut self, s: &Stmt, depth: usize) {
        self.indent(depth);
        match s {
            Stmt::Let { local, init, .. } => {
                self.out.push_str("let ");
                self.local(*local);
                self.out.push_str(" = ");
                self.expr(init);
            }
            Stmt::Assign {
                target, op, value, ..
            } => {
                self.expr(target);
                let _ = write!(self.out, " {}= ", op.map_or("", |o| o.symbol()));
                self.expr(value);
            }
            Stmt::Expr(e) => {
                self.expr(e);
                let barrier = matches!(
                    e.kind,
                    ExprKind::Call {
                        callee: Callee::Builtin(Builtin::Barrier),
                        ..
                    }
                );
                if let Some(s) = self
                    .f
                    .and_then(|f| f.syncs.iter().find(|s| barrier && s.before == e.span))
                {
                    let _ = write!(self.out, "  // inserted by the sync pass: {}", s.reason);
                }
            }
            Stmt::If {
                cond, then, els, ..
            } => {
                self.out.push_str("if ");
                self.expr(cond);
                self.out.push(' ');
                self.block(then, depth);
                if let Some(e) = els {
                    self.out.push_str(" else ");
                    self.block(e, depth);
                }
            }
            Stmt::While { cond, body, .. } => {
                self.out.push_str("while ");
                self.expr(cond);
                self.out.push(' ');
                self.block(body, depth);
            }
            Stmt::For {
                var,
                start,
                end,
                step,
                body,
                ..
            } => {
                self.out.push_str("for ");
                self.local(*var);
                self.out.push_str(" in ");
                self.expr(start);
                self.out.push_str("..");
                self.expr(end);
                if let Some(st) = step {
                    self.out.push_str(" step ");
                    self.expr(st);
                }
                self.out.push(' ');
                self.block(body, depth);
            }
            Stmt::Forall {
                vars,
                over,
                reductions,
                body,
                ..
            } => {
                self.out.push_str("forall ");
                for (k, v) in vars.iter().enumerate() {
                    if k > 0 {
                        self.out.push_str(", ");
                    }
                    self.local(*v);
                }
                self.out.push_str(" in ");
                match over {
                    ForallOver::Container(e) => self.expr(e),
                    ForallOver::Range(a, b) => {
                        self.expr(a);
                        self.out.push_str("..");
                        self.expr(b);
                    }
                }
                for (k, (v, op)) in reductions.iter().enumerate() {
                    self.out.push_str(if k == 0 { " with " } else { ", " });
                    self.local(*v);
                    let _ = write!(self.out, ": {}", op.name());
                }
                self.out.push(' ');
                self.block(body, depth);
            }
            Stmt::Return { value, .. } => {
                self.out.push_str("return");
                if let Some(v) = value {
                    self.out.push(' ');
                    self.expr(v);
                }
            }
            Stmt::Break(_) => self.out.push_str("break"),
            Stmt::Continue(_) => self.out.push_str("continue"),
            Stmt::Block(b) => self.block(b, depth),
        }
        self.out.push('\n');
    }

    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Lit(Lit::Int(v)) => {
                let _ = write!(self.out, "{v}");
            }
            ExprKind::Lit(Lit::Float(v)) => {
                let _ = write!(self.out, "{v:?}");
            }
            ExprKind::Lit(Lit::Bool(v)) => {
                let _ = write!(self.out, "{v}");
            }
            ExprKind::Lit(Lit::Str(s)) => {
                let _ = write!(self.out, "{s:?}");
            }
            ExprKind::Local(l) => self.local(*l),
            ExprKind::Global(g) => {
                let name = self
                    .m
                    .globals
                    .get(g.0 as usize)
                    .map_or("?", |g| g.name.as_str());
                let _ = write!(self.out, "{name}#g{}", g.0);
            }
            ExprKind::Op(op) => self.out.push_str(op.name()),
            ExprKind::Unary(op, a) => {
                self.out.push_str(match op {
                    UnOp::Neg => "(neg ",
                    UnOp::Not => "(not ",
                });
                self.expr(a);
                self.out.push(')');
            }
            ExprKind::Binary(op, a, b) => {
                let _ = write!(self.out, "({} ", op.symbol());
                self.expr(a);
                self.out.push(' ');
                self.expr(b);
                self.out.push(')');
            }
            ExprKind::Cast(a, s) => {
                self.out.push_str("(as ");
                self.expr(a);
                let _ = write!(self.out, " {})", s.name());
            }
            ExprKind::Call {
                callee,
                args,
                layout: lay,
            } => {
                match callee {
                    Callee::Fn(f) => {
                        let name = self
                            .m
                            .functions
                            .get(f.0 as usize)
                            .map_or("?", |f| f.name.as_str());
                        let _ = write!(self.out, "(call {name}#f{}", f.0);
                    }
                    Callee::Builtin(b) => {
                        let _ = write!(self.out, "(builtin {}", b.name());
                    }
                }
                for a in args {
                    self.out.push(' ');
                    self.expr(a);
                }
                if let Some(l) = lay {
                    let _ = write!(self.out, " {}", layout(l));
                }
                self.out.push(')');
            }
            ExprKind::Index(c, idx) => {
                self.out.push_str("(index ");
                self.expr(c);
                for i in idx {
                    self.out.push(' ');
                    self.expr(i);
                }
                self.out.push(')');
            }
            ExprKind::Construct {
                dims,
                fill,
                layout: lay,
            } => {
                self.out.push_str("(new");
                for d in dims {
                    self.out.push(' ');
                    self.expr(d);
                }
                if let Some(f) = fill {
                    self.out.push_str(" fill: ");
                    self.expr(f);
                }
                let _ = write!(self.out, " {})", layout(lay));
            }
            ExprKind::Error => self.out.push_str("(error)"),
        }
        let _ = write!(self.out, ":{}", e.ty);
        if !e.uniform {
            self.out.push('\'');
        }
    }
}
