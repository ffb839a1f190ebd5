//! Name resolution: binds every name use to a local, global, function, builtin or operator.
//!
//! Rules: a `let` is visible from the next statement to the end of its block; an inner block
//! may shadow, but one block may not bind the same name twice (E0102). Functions, `const`s and
//! `param`s are visible in their whole module; stdlib modules are reached as `module::name`
//! after `import module;`. Locals shadow globals, which shadow builtins.
//! Recursion follows the AST, whose depth the parser caps at `ast::MAX_DEPTH`.

use crate::diagnostics::{Code, Diagnostic, Diagnostics, Label, Span};
use crate::hir::{
    Builtin, ContainerKind, FnId, FnItem, GlobalId, LocalId, LocalInfo, Names, ParsedModule,
    ReduceOp, Res,
};
use crate::source::FileId;
use dtl_grammar::ast;
use std::collections::HashMap;

/// Builtins whose argument at the given position is a reduction operator.
pub fn op_position(b: Builtin) -> Option<usize> {
    match b {
        Builtin::Allreduce
        | Builtin::Reduce
        | Builtin::Scan
        | Builtin::Exscan
        | Builtin::ScanRanks
        | Builtin::ExscanRanks => Some(1),
        _ => None,
    }
}

/// Resolves all names of `modules` (index 0 is the user's module).
pub fn resolve(modules: &[ParsedModule], diags: &mut Diagnostics) -> Names {
    let mut names = Names::default();
    // Module-level scopes: name -> Res, one per module.
    let mut scopes: Vec<HashMap<String, (Res, Span)>> = vec![HashMap::new(); modules.len()];
    let module_index: HashMap<&str, usize> = modules
        .iter()
        .enumerate()
        .filter_map(|(i, m)| m.name.as_deref().map(|n| (n, i)))
        .collect();
    for (mi, m) in modules.iter().enumerate() {
        let qual = |n: &str| match &m.name {
            Some(mn) => format!("{mn}::{n}"),
            None => n.to_string(),
        };
        for (ii, item) in m.ast.items.iter().enumerate() {
            let (ident, res) = match &item.kind {
                ast::ItemKind::Const { name, .. } | ast::ItemKind::Param { name, .. } => {
                    let id = GlobalId(names.globals.len() as u32);
                    names.globals.push((mi, ii, qual(&name.name)));
                    (name, Res::Global(id))
                }
                ast::ItemKind::Fn(f) => {
                    let id = FnId(names.fns.len() as u32);
                    names.fns.push(FnItem {
                        module: mi,
                        item: ii,
                        name: qual(&f.name.name),
                    });
                    if mi == 0 && f.name.name == "main" {
                        names.main = Some(id);
                    }
                    (&f.name, Res::Fn(id))
                }
                ast::ItemKind::Import { name } => {
                    if dtl_stdlib::source(&name.name).is_none() {
                        diags.push(
                            Diagnostic::error(
                                Code::E0101,
                                format!("unknown module `{}`", name.name),
                                Label::new(span(m.file, name.span), "no such stdlib module"),
                            )
                            .with_help(format!(
                                "the standard library has: {}",
                                dtl_stdlib::MODULES.join(", ")
                            )),
                        );
                    }
                    continue;
                }
                ast::ItemKind::Error => continue,
            };
            let sp = span(m.file, ident.span);
            if let Some((_, prev)) = scopes[mi].get(&ident.name) {
                diags.push(
                    Diagnostic::error(
                        Code::E0102,
                        format!("`{}` is defined twice", ident.name),
                        Label::new(sp, "second definition"),
                    )
                    .with_label(prev.clone(), "first defined here"),
                );
                continue;
            }
            scopes[mi].insert(ident.name.clone(), (res, sp));
        }
    }
    names.fn_locals = vec![Vec::new(); names.fns.len()];

    for (mi, m) in modules.iter().enumerate() {
        let imports: HashMap<&str, usize> = m
            .ast
            .items
            .iter()
            .filter_map(|it| match &it.kind {
                ast::ItemKind::Import { name } => module_index
                    .get(name.name.as_str())
                    .map(|&i| (name.name.as_str(), i)),
                _ => None,
            })
            .collect();
        let mut r = Resolver {
            file: m.file,
            module: mi,
            globals: &scopes,
            imports,
            scopes: Vec::new(),
            locals: Vec::new(),
            names: &mut names,
            diags: &mut *diags,
            suggest_budget: SUGGEST_BUDGET,
        };
        for (ii, item) in m.ast.items.iter().enumerate() {
            match &item.kind {
                ast::ItemKind::Const { value, .. } | ast::ItemKind::Param { value, .. } => {
                    r.expr(value);
                }
                ast::ItemKind::Fn(f) => {
                    let Some(&(Res::Fn(id), _)) = scopes[mi].get(&f.name.name) else {
                        continue;
                    };
                    // A duplicate function is skipped (its name maps to the first one).
                    if r.names.fns[id.0 as usize].item != ii {
                        continue;
                    }
                    r.locals.clear();
                    r.scopes.push(HashMap::new());
                    for p in &f.params {
                        r.bind(&p.name, false);
                    }
                    r.block(&f.body);
                    r.scopes.pop();
                    r.names.fn_locals[id.0 as usize] = std::mem::take(&mut r.locals);
                }
                _ => {}
            }
        }
    }
    names
}

fn span(file: FileId, s: dtl_grammar::Span) -> Span {
    Span::new(file, s.range())
}

struct Resolver<'a> {
    file: FileId,
    module: usize,
    globals: &'a [HashMap<String, (Res, Span)>],
    imports: HashMap<&'a str, usize>,
    /// Block scopes, innermost last: name -> (local, binding span).
    scopes: Vec<HashMap<String, (LocalId, Span)>>,
    locals: Vec<LocalInfo>,
    names: &'a mut Names,
    diags: &'a mut Diagnostics,
    /// Candidate names "did you mean" may still compare against in this module (see
    /// [`SUGGEST_BUDGET`]).
    suggest_budget: usize,
}

/// The most candidate comparisons "did you mean" makes per module: each unknown name is
/// compared with every visible name, so thousands of unknown names among thousands of locals
/// would take quadratic time. Once spent, unknown names get no suggestion (the error stays).
const SUGGEST_BUDGET: usize = 1 << 20;

impl Resolver<'_> {
    fn bind(&mut self, ident: &ast::Ident, mutable: bool) -> LocalId {
        let id = LocalId(self.locals.len() as u32);
        let sp = span(self.file, ident.span);
        self.locals.push(LocalInfo {
            name: ident.name.clone(),
            mutable,
            span: sp.clone(),
        });
        self.names.defs.insert((self.file, ident.span.start), id);
        if let Some(scope) = self.scopes.last_mut() {
            if let Some((_, prev)) = scope.get(&ident.name) {
                let prev = prev.clone();
                self.diags.push(
                    Diagnostic::error(
                        Code::E0102,
                        format!("`{}` is defined twice in this scope", ident.name),
                        Label::new(sp.clone(), "second definition"),
                    )
                    .with_label(prev, "first defined here")
                    .with_help("use another name, or assign with `=` to a `let mut`"),
                );
            }
            scope.insert(ident.name.clone(), (id, sp));
        }
        id
    }

    fn lookup(&self, name: &str) -> Option<Res> {
        for s in self.scopes.iter().rev() {
            if let Some((id, _)) = s.get(name) {
                return Some(Res::Local(*id));
            }
        }
        if let Some((r, _)) = self.globals[self.module].get(name) {
            return Some(*r);
        }
        if let Some(b) = Builtin::from_name(name) {
            return Some(Res::Builtin(b));
        }
        ctor(name).map(Res::Ctor)
    }

    fn record(&mut self, at: dtl_grammar::Span, res: Res) {
        self.names.uses.insert((self.file, at.start), res);
    }

    fn unknown(&mut self, ident: &ast::Ident, what: &str) {
        let mut d = Diagnostic::error(
            Code::E0101,
            format!("unknown {what} `{}`", ident.name),
            Label::new(span(self.file, ident.span), "not found in this scope"),
        );
        if let Some(s) = self.suggest(&ident.name) {
            d = d.with_help(format!("a name with a similar spelling exists: `{s}`"));
        }
        self.diags.push(d);
    }

    /// A visible name within edit distance 1–2 of `name`, for "did you mean"; `None` also
    /// when the module's [`SUGGEST_BUDGET`] is spent.
    fn suggest(&mut self, name: &str) -> Option<String> {
        let visible = self.scopes.iter().map(HashMap::len).sum::<usize>()
            + self.globals[self.module].len()
            + Builtin::ALL.len();
        if visible > self.suggest_budget {
            self.suggest_budget = 0;
            return None;
        }
        self.suggest_budget -= visible;
        let mut best: Option<(usize, String)> = None;
        let mut consider = |cand: &str| {
            let d = edit_distance(name, cand);
            if d > 0
                && d <= 2.min(name.len() / 2 + 1)
                && best.as_ref().is_none_or(|(bd, _)| d < *bd)
            {
                best = Some((d, cand.to_string()));
            }
        };
        for s in &self.scopes {
            for k in s.keys() {
                consider(k);
            }
        }
        for k in self.globals[self.module].keys() {
            consider(k);
        }
        for b in Builtin::ALL {
            consider(b.name());
        }
        best.map(|(_, s)| s)
    }

    fn path(&mut self, p: &ast::Path) -> Res {
        match p.segments.as_slice() {
            [one] => match self.lookup(&one.name) {
                Some(r) => {
                    self.record(p.span, r);
                    r
                }
                None => {
                    self.unknown(one, "name");
                    self.record(p.span, Res::Error);
                    Res::Error
                }
            },
            [m, item] => {
                let res = match self.imports.get(m.name.as_str()) {
                    None => {
                        let mut d = Diagnostic::error(
                            Code::E0101,
                            format!("unknown module `{}`", m.name),
                            Label::new(span(self.file, m.span), "not imported"),
                        );
                        if dtl_stdlib::source(&m.name).is_some() {
                            d = d.with_help(format!(
                                "add `import {};` at the top of the file",
                                m.name
                            ));
                        }
                        self.diags.push(d);
                        Res::Error
                    }
                    Some(&mi) => match self.globals[mi].get(&item.name) {
                        Some((r, _)) => *r,
                        None => {
                            self.diags.push(Diagnostic::error(
                                Code::E0101,
                                format!("`{}` has no item `{}`", m.name, item.name),
                                Label::new(span(self.file, item.span), "not found in this module"),
                            ));
                            Res::Error
                        }
                    },
                };
                self.record(p.span, res);
                res
            }
            _ => {
                self.diags.push(Diagnostic::error(
                    Code::E0101,
                    "unknown path",
                    Label::new(
                        span(self.file, p.span),
                        "paths have the form `module::name`",
                    ),
                ));
                self.record(p.span, Res::Error);
                Res::Error
            }
        }
    }

    fn block(&mut self, b: &ast::Block) {
        self.scopes.push(HashMap::new());
        for s in &b.stmts {
            self.stmt(s);
        }
        if let Some(t) = &b.tail {
            self.expr(t);
        }
        self.scopes.pop();
    }

    fn stmt(&mut self, s: &ast::Stmt) {
        match &s.kind {
            ast::StmtKind::Let {
                mutable,
                name,
                init,
                ..
            } => {
                self.expr(init);
                self.bind(name, *mutable);
            }
            ast::StmtKind::Assign { target, value, .. } => {
                self.expr(target);
                self.expr(value);
            }
            ast::StmtKind::Expr(e) => self.expr(e),
            ast::StmtKind::If {
                branches,
                else_block,
            } => {
                for br in branches {
                    self.expr(&br.cond);
                    self.block(&br.body);
                }
                if let Some(b) = else_block {
                    self.block(b);
                }
            }
            ast::StmtKind::While { cond, body } => {
                self.expr(cond);
                self.block(body);
            }
            ast::StmtKind::For {
                var,
                start,
                end,
                step,
                body,
            } => {
                self.expr(start);
                self.expr(end);
                if let Some(st) = step {
                    self.expr(st);
                }
                self.scopes.push(HashMap::new());
                self.bind(var, false);
                self.block(body);
                self.scopes.pop();
            }
            ast::StmtKind::Forall {
                vars,
                domain,
                reductions,
                body,
            } => {
                match domain {
                    ast::ForallDomain::Container(e) => self.expr(e),
                    ast::ForallDomain::Range { start, end } => {
                        self.expr(start);
                        self.expr(end);
                    }
                }
                for r in reductions {
                    match self.lookup(&r.var.name) {
                        Some(res @ Res::Local(_)) => self.record(r.var.span, res),
                        Some(_) | None => {
                            self.unknown(&r.var, "reduction variable");
                            self.record(r.var.span, Res::Error);
                        }
                    }
                }
                self.scopes.push(HashMap::new());
                for v in vars {
                    self.bind(v, false);
                }
                self.block(body);
                self.scopes.pop();
            }
            ast::StmtKind::Return(Some(e)) => self.expr(e),
            ast::StmtKind::Block(b) => self.block(b),
            ast::StmtKind::Return(None)
            | ast::StmtKind::Break
            | ast::StmtKind::Continue
            | ast::StmtKind::Error => {}
        }
    }

    fn annotations(&mut self, anns: &[ast::Annotation]) {
        for a in anns {
            for (i, arg) in a.args.iter().enumerate() {
                // The second argument of `@halo(w, periodic)` is a word, not a name; typeck
                // checks it.
                if a.name.name == "halo" && i == 1 && matches!(arg.kind, ast::ExprKind::Name(_)) {
                    continue;
                }
                self.expr(arg);
            }
        }
    }

    fn expr(&mut self, e: &ast::Expr) {
        match &e.kind {
            ast::ExprKind::Name(id) => {
                let p = ast::Path {
                    segments: vec![id.clone()],
                    span: id.span,
                };
                self.path(&p);
            }
            ast::ExprKind::Path(p) => {
                self.path(p);
            }
            ast::ExprKind::Unary { operand, .. } => self.expr(operand),
            ast::ExprKind::Binary { lhs, rhs, .. } => {
                self.expr(lhs);
                self.expr(rhs);
            }
            ast::ExprKind::Cast { expr, .. } => self.expr(expr),
            ast::ExprKind::Call {
                callee,
                args,
                annotations,
                ..
            } => {
                let res = self.path(callee);
                let op_pos = match res {
                    Res::Builtin(b) => op_position(b),
                    _ => None,
                };
                let mut pos = 0;
                for a in args {
                    let is_positional = a.name.is_none();
                    if is_positional
                        && Some(pos) == op_pos
                        && let ast::ExprKind::Name(id) = &a.value.kind
                        && let Some(op) = ReduceOp::from_name(&id.name)
                    {
                        self.record(id.span, Res::Op(op));
                    } else {
                        self.expr(&a.value);
                    }
                    if is_positional {
                        pos += 1;
                    }
                }
                self.annotations(annotations);
            }
            ast::ExprKind::Index { base, indices } => {
                self.expr(base);
                for i in indices {
                    self.expr(i);
                }
            }
            ast::ExprKind::Annotated { expr, annotations } => {
                self.expr(expr);
                self.annotations(annotations);
            }
            ast::ExprKind::Int(_)
            | ast::ExprKind::Float(_)
            | ast::ExprKind::Bool(_)
            | ast::ExprKind::Str(_)
            | ast::ExprKind::Error => {}
        }
    }
}

/// The container constructor spelled `name`.
pub fn ctor(name: &str) -> Option<ContainerKind> {
    Some(match name {
        "vector" => ContainerKind::Vector,
        "array" => ContainerKind::Array,
        "tensor" => ContainerKind::Tensor,
        "local" => ContainerKind::Local,
        "map" => ContainerKind::Map,
        _ => return None,
    })
}

/// Levenshtein distance, bounded work for short identifiers.
fn edit_distance(a: &str, b: &str) -> usize {
    // Up to 4 bytes per character: cheap rejections before collecting characters.
    if a.len() > 256 || b.len() > 256 || a.len().abs_diff(b.len()) > 8 {
        return usize::MAX;
    }
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > 2 || a.len() > 64 || b.len() > 64 {
        return usize::MAX;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
