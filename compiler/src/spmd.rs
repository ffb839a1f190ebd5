//! SPMD checks on the typed HIR: uniform/varying inference (LANGUAGE §10), collectives under
//! varying control (E0301) or inside `forall` (E0302), and the forall access rules (E0303,
//! E0304, E0305). Records uniformity on expressions and locals and marks collective functions.
//!
//! Interprocedural and recursion-safe: "can reach a collective", "returns a uniform value
//! when given uniform arguments" and "a parameter is varying when some call passes a varying
//! argument" are fixpoints over the call graph; local uniformity is a
//! flow-insensitive fixpoint per function (a value assigned under varying control, including
//! after a varying early exit, is varying). Recursion follows the HIR, whose depth the parser caps.

use crate::diagnostics::{Code, Diagnostic, Diagnostics, Span};
use crate::hir::{
    BinOp, Block, Builtin, Callee, Expr, ExprKind, FnId, ForallOver, GlobalKind, Lit, LocalDecl,
    LocalId, Module, Partition, Stmt, Ty, UnOp,
};
use std::collections::HashSet;

/// Whether a builtin call is a collective.
pub fn builtin_is_collective(b: Builtin, args: &[Expr]) -> bool {
    use Builtin as B;
    match b {
        B::Sum
        | B::Prod
        | B::Mean
        | B::Count
        | B::Dot
        | B::Argmin
        | B::Argmax
        | B::Sort
        | B::Scan
        | B::Exscan
        | B::Copy
        | B::Resize
        | B::Exchange
        | B::Swap
        | B::Barrier
        | B::Allreduce
        | B::Reduce
        | B::Broadcast
        | B::Allgather
        | B::Gather
        | B::Scatter
        | B::Alltoall
        | B::ScanRanks
        | B::ExscanRanks
        | B::PrintAll
        | B::Save
        | B::Load
        | B::Fence => true,
        B::Min | B::Max => args.len() == 1,
        B::Len => args.first().is_some_and(|a| matches!(a.ty, Ty::Map(..))),
        _ => false,
    }
}

/// Builtins whose result differs between ranks whatever the arguments.
fn builtin_is_varying(b: Builtin) -> bool {
    use Builtin as B;
    matches!(
        b,
        B::Rank
            | B::LocalLen
            | B::LocalOffset
            | B::IsLocal
            | B::Recv
            | B::Sendrecv
            | B::Get
            | B::AtomicAdd
            | B::Lookup
            | B::Contains
            | B::Wtime
            | B::Reduce
            | B::Gather
            | B::Scatter
            | B::Alltoall
            | B::ScanRanks
            | B::ExscanRanks
    )
}

/// Builtins whose result is the same on every rank whatever the arguments.
fn builtin_is_uniform(b: Builtin, args: &[Expr]) -> bool {
    use Builtin as B;
    match b {
        B::Allreduce
        | B::Broadcast
        | B::Allgather
        | B::Sum
        | B::Prod
        | B::Mean
        | B::Count
        | B::Dot
        | B::Argmin
        | B::Argmax
        | B::Len
        | B::Size
        | B::HasCuda
        | B::Shape => true,
        B::Min | B::Max => args.len() == 1,
        _ => false,
    }
}

/// Per-function facts from the call-graph fixpoints.
#[derive(Clone, Debug)]
struct FnFacts {
    name: String,
    /// A collective this function reaches: (span inside the function, what it is).
    collective: Option<(Span, String)>,
    callees: Vec<FnId>,
    ret_uniform: bool,
}

/// A varying control context: why some ranks may not run the code under it.
#[derive(Clone, Debug)]
struct Ctrl {
    cond: Span,
    origin: Option<Span>,
    /// The early exit (`return`, `break`, `continue`) that skips the code, if that is the cause.
    exit: Option<(Span, &'static str)>,
}

#[derive(Default)]
struct Exits {
    ret: Option<Ctrl>,
    brk: Option<Ctrl>,
    cont: Option<Ctrl>,
}

struct ForallCx {
    span: Span,
    vars: Vec<LocalId>,
    first_local: u32,
    range: bool,
    reductions: Vec<LocalId>,
}

/// Runs the SPMD checks, recording uniformity in `m` and pushing diagnostics.
pub fn spmd(m: &mut Module, diags: &mut Diagnostics) {
    let n = m.functions.len();
    let mut facts: Vec<FnFacts> = m
        .functions
        .iter()
        .map(|f| {
            let mut c = Collect::default();
            c.block(&f.body);
            FnFacts {
                name: f.name.clone(),
                collective: c.direct,
                callees: c.callees,
                ret_uniform: true,
            }
        })
        .collect();
    // Fixpoint: a function that calls a collective function is collective. A worklist over
    // callers (not rounds over all functions), so a long call chain stays linear.
    let mut callers: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, f) in facts.iter().enumerate() {
        for c in &f.callees {
            if let Some(v) = callers.get_mut(c.0 as usize) {
                v.push(i);
            }
        }
    }
    for v in &mut callers {
        v.dedup();
    }
    let mut work: std::collections::VecDeque<usize> =
        (0..n).filter(|&i| facts[i].collective.is_some()).collect();
    while let Some(c) = work.pop_front() {
        for &i in &callers[c] {
            if facts[i].collective.is_some() {
                continue;
            }
            // The first collective callee in call order, as the rounds over all functions found.
            let Some(hit) = facts[i]
                .callees
                .iter()
                .find(|c| facts[c.0 as usize].collective.is_some())
                .copied()
            else {
                continue;
            };
            let span =
                find_call(&m.functions[i].body, hit).unwrap_or_else(|| m.functions[i].span.clone());
            facts[i].collective =
                Some((span, format!("a call of `{}`", facts[hit.0 as usize].name)));
            work.push_back(i);
        }
    }
    let global_consts: Vec<Option<i64>> = m
        .globals
        .iter()
        .map(|g| match (&g.kind, &g.init.kind) {
            (GlobalKind::Const, ExprKind::Lit(Lit::Int(v))) => i64::try_from(*v).ok(),
            _ => None,
        })
        .collect();

    // Fixpoint: return uniformity (optimistic start, only ever goes from uniform to varying).
    let mut states: Vec<Vec<Option<Span>>> = m
        .functions
        .iter()
        .map(|f| vec![None; f.locals.len()])
        .collect();
    let mut scratch = Diagnostics::new();
    // Worklist: every function once, then the callers of each whose return uniformity changed.
    let mut queued = vec![true; n];
    let mut work: std::collections::VecDeque<usize> = (0..n).collect();
    while let Some(i) = work.pop_front() {
        queued[i] = false;
        let (ru, _) = settle(m, i, &facts, &global_consts, &mut states[i], &mut scratch);
        if ru != facts[i].ret_uniform {
            facts[i].ret_uniform = ru;
            for &c in &callers[i] {
                if !queued[c] {
                    queued[c] = true;
                    work.push_back(c);
                }
            }
        }
    }
    // Fixpoint: a parameter is varying when any call passes a varying argument (return
    // uniformity above stays "uniform when given uniform arguments"; call sites join the
    // arguments in).
    loop {
        let mut changed = false;
        for i in 0..n {
            let (_, calls) = settle(m, i, &facts, &global_consts, &mut states[i], &mut scratch);
            for (f, k, origin) in calls {
                let Some(&p) = m.functions[f.0 as usize].params.get(k) else {
                    continue;
                };
                if let Some(slot) = states[f.0 as usize].get_mut(p.0 as usize)
                    && slot.is_none()
                {
                    *slot = Some(origin);
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    // Final pass: report, and record uniformity.
    for i in 0..n {
        let mut body = std::mem::take(&mut m.functions[i].body);
        {
            let mut w = Walker::new(&facts, &m.functions[i].locals, &global_consts, diags, true);
            w.locals = std::mem::take(&mut states[i]);
            w.block(&mut body);
            states[i] = std::mem::take(&mut w.locals);
        }
        let f = &mut m.functions[i];
        f.body = body;
        f.collective = facts[i].collective.is_some();
        for (d, s) in f.locals.iter_mut().zip(&states[i]) {
            d.uniform = s.is_none();
        }
    }
}

/// Walks function `i` until its locals' uniformity (`state`, varying ones with the span that
/// made them so) stops changing. Returns whether its return value stayed uniform, and the
/// calls that pass a varying argument to a parameter.
fn settle(
    m: &mut Module,
    i: usize,
    facts: &[FnFacts],
    global_consts: &[Option<i64>],
    state: &mut Vec<Option<Span>>,
    scratch: &mut Diagnostics,
) -> (bool, Vec<(FnId, usize, Span)>) {
    let mut body = std::mem::take(&mut m.functions[i].body);
    let mut w = Walker::new(facts, &m.functions[i].locals, global_consts, scratch, false);
    w.locals = std::mem::take(state);
    loop {
        w.changed = false;
        w.ret_varying = false;
        w.block(&mut body);
        if !w.changed {
            break;
        }
    }
    *state = std::mem::take(&mut w.locals);
    let out = (!w.ret_varying, std::mem::take(&mut w.param_calls));
    drop(w);
    m.functions[i].body = body;
    out
}

/// Collects direct collectives and callees of a function.
#[derive(Default)]
struct Collect {
    direct: Option<(Span, String)>,
    callees: Vec<FnId>,
}

impl Collect {
    fn block(&mut self, b: &Block) {
        for s in &b.stmts {
            self.stmt(s);
        }
        if let Some(t) = &b.tail {
            self.expr(t);
        }
    }

    fn stmt(&mut self, s: &Stmt) {
        match s {
            Stmt::Let { init, .. } => self.expr(init),
            Stmt::Assign { target, value, .. } => {
                self.expr(target);
                self.expr(value);
            }
            Stmt::Expr(e) => self.expr(e),
            Stmt::If {
                cond, then, els, ..
            } => {
                self.expr(cond);
                self.block(then);
                if let Some(e) = els {
                    self.block(e);
                }
            }
            Stmt::While { cond, body, .. } => {
                self.expr(cond);
                self.block(body);
            }
            Stmt::For {
                start,
                end,
                step,
                body,
                ..
            } => {
                self.expr(start);
                self.expr(end);
                if let Some(s) = step {
                    self.expr(s);
                }
                self.block(body);
            }
            Stmt::Forall {
                over,
                reductions,
                body,
                span,
                ..
            } => {
                match over {
                    ForallOver::Container(e) => self.expr(e),
                    ForallOver::Range(a, b) => {
                        self.expr(a);
                        self.expr(b);
                    }
                }
                if !reductions.is_empty() && self.direct.is_none() {
                    self.direct = Some((span.clone(), "a `forall` with a reduction".into()));
                }
                self.block(body);
            }
            Stmt::Return { value: Some(v), .. } => self.expr(v),
            Stmt::Block(b) => self.block(b),
            Stmt::Return { value: None, .. } | Stmt::Break(_) | Stmt::Continue(_) => {}
        }
    }

    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Call { callee, args, .. } => {
                match callee {
                    Callee::Builtin(b) => {
                        if builtin_is_collective(*b, args) && self.direct.is_none() {
                            self.direct = Some((e.span.clone(), format!("`{}`", b.name())));
                        }
                    }
                    Callee::Fn(f) => self.callees.push(*f),
                }
                for a in args {
                    self.expr(a);
                }
            }
            ExprKind::Construct { dims, fill, .. } => {
                if e.ty.is_distributed() && self.direct.is_none() {
                    self.direct =
                        Some((e.span.clone(), format!("the constructor of a `{}`", e.ty)));
                }
                for d in dims {
                    self.expr(d);
                }
                if let Some(f) = fill {
                    self.expr(f);
                }
            }
            ExprKind::Unary(_, a) | ExprKind::Cast(a, _) => self.expr(a),
            ExprKind::Binary(_, a, b) => {
                self.expr(a);
                self.expr(b);
            }
            ExprKind::Index(b, idx) => {
                self.expr(b);
                for i in idx {
                    self.expr(i);
                }
            }
            _ => {}
        }
    }
}

/// The span of the first call of `target` in a block.
fn find_call(b: &Block, target: FnId) -> Option<Span> {
    fn in_expr(e: &Expr, t: FnId) -> Option<Span> {
        match &e.kind {
            ExprKind::Call { callee, args, .. } => {
                if *callee == Callee::Fn(t) {
                    return Some(e.span.clone());
                }
                args.iter().find_map(|a| in_expr(a, t))
            }
            ExprKind::Construct { dims, fill, .. } => dims
                .iter()
                .find_map(|a| in_expr(a, t))
                .or_else(|| fill.as_ref().and_then(|f| in_expr(f, t))),
            ExprKind::Unary(_, a) | ExprKind::Cast(a, _) => in_expr(a, t),
            ExprKind::Binary(_, a, b) => in_expr(a, t).or_else(|| in_expr(b, t)),
            ExprKind::Index(b, idx) => {
                in_expr(b, t).or_else(|| idx.iter().find_map(|a| in_expr(a, t)))
            }
            _ => None,
        }
    }
    fn in_block(b: &Block, t: FnId) -> Option<Span> {
        for s in &b.stmts {
            let hit = match s {
                Stmt::Let { init, .. } => in_expr(init, t),
                Stmt::Assign { target, value, .. } => {
                    in_expr(target, t).or_else(|| in_expr(value, t))
                }
                Stmt::Expr(e) => in_expr(e, t),
                Stmt::If {
                    cond, then, els, ..
                } => in_expr(cond, t)
                    .or_else(|| in_block(then, t))
                    .or_else(|| els.as_ref().and_then(|e| in_block(e, t))),
                Stmt::While { cond, body, .. } => in_expr(cond, t).or_else(|| in_block(body, t)),
                Stmt::For {
                    start,
                    end,
                    step,
                    body,
                    ..
                } => in_expr(start, t)
                    .or_else(|| in_expr(end, t))
                    .or_else(|| step.as_ref().and_then(|s| in_expr(s, t)))
                    .or_else(|| in_block(body, t)),
                Stmt::Forall { over, body, .. } => match over {
                    ForallOver::Container(e) => in_expr(e, t),
                    ForallOver::Range(a, b) => in_expr(a, t).or_else(|| in_expr(b, t)),
                }
                .or_else(|| in_block(body, t)),
                Stmt::Return { value: Some(v), .. } => in_expr(v, t),
                Stmt::Block(b) => in_block(b, t),
                _ => None,
            };
            if hit.is_some() {
                return hit;
            }
        }
        b.tail.as_ref().and_then(|e| in_expr(e, t))
    }
    in_block(b, target)
}

struct Walker<'a> {
    facts: &'a [FnFacts],
    decls: &'a [LocalDecl],
    global_consts: &'a [Option<i64>],
    diags: &'a mut Diagnostics,
    report: bool,
    /// Per local: `None` when uniform, else where it became varying.
    locals: Vec<Option<Span>>,
    changed: bool,
    ret_varying: bool,
    ctrl: Option<Ctrl>,
    forall: Option<ForallCx>,
    reported: HashSet<(u32, usize)>,
    /// Calls with a varying argument: (callee, parameter index, where it varies).
    param_calls: Vec<(FnId, usize, Span)>,
}

impl<'a> Walker<'a> {
    fn new(
        facts: &'a [FnFacts],
        decls: &'a [LocalDecl],
        global_consts: &'a [Option<i64>],
        diags: &'a mut Diagnostics,
        report: bool,
    ) -> Self {
        Walker {
            facts,
            decls,
            global_consts,
            diags,
            report,
            locals: vec![None; decls.len()],
            changed: false,
            ret_varying: false,
            ctrl: None,
            forall: None,
            reported: HashSet::new(),
            param_calls: Vec::new(),
        }
    }

    fn make_varying(&mut self, l: LocalId, origin: Span) {
        if let Some(slot) = self.locals.get_mut(l.0 as usize)
            && slot.is_none()
        {
            *slot = Some(origin);
            self.changed = true;
        }
    }

    fn block(&mut self, b: &mut Block) -> Exits {
        let saved = self.ctrl.clone();
        let mut out = Exits::default();
        for s in &mut b.stmts {
            let ex = self.stmt(s);
            if self.ctrl.is_none()
                && let Some(c) = ex.ret.clone().or(ex.brk.clone()).or(ex.cont.clone())
            {
                // Everything after a varying early exit runs on some ranks only.
                self.ctrl = Some(c);
            }
            out.ret = out.ret.or(ex.ret);
            out.brk = out.brk.or(ex.brk);
            out.cont = out.cont.or(ex.cont);
        }
        if let Some(t) = &mut b.tail {
            let u = self.expr(t);
            if u.is_some() || self.ctrl.is_some() {
                self.ret_varying = true;
            }
        }
        self.ctrl = saved;
        out
    }

    fn sub_block(&mut self, b: &mut Block, ctrl: Option<Ctrl>) -> Exits {
        let saved = self.ctrl.clone();
        if self.ctrl.is_none() {
            self.ctrl = ctrl;
        }
        let ex = self.block(b);
        self.ctrl = saved;
        ex
    }

    fn cond_ctrl(&self, cond: &Expr, u: Option<Span>) -> Option<Ctrl> {
        u.map(|origin| Ctrl {
            cond: cond.span.clone(),
            origin: (origin != cond.span).then_some(origin),
            exit: None,
        })
    }

    fn exit_ctrl(&self, span: &Span, what: &'static str) -> Option<Ctrl> {
        self.ctrl.clone().map(|c| Ctrl {
            exit: Some((span.clone(), what)),
            ..c
        })
    }

    fn stmt(&mut self, s: &mut Stmt) -> Exits {
        match s {
            Stmt::Let { local, init, .. } => {
                let u = self.expr(init);
                if let Some(o) = u {
                    self.make_varying(*local, o);
                }
                Exits::default()
            }
            Stmt::Assign {
                target,
                value,
                span,
                ..
            } => {
                let vu = self.expr(value);
                self.assign_target(target, span);
                if let ExprKind::Local(l) = &target.kind {
                    let l = *l;
                    let scalar = self
                        .decls
                        .get(l.0 as usize)
                        .is_some_and(|d| matches!(d.ty, Ty::Scalar(_)));
                    let is_reduction = self
                        .forall
                        .as_ref()
                        .is_some_and(|f| f.reductions.contains(&l));
                    if scalar && !is_reduction {
                        if let Some(o) = vu {
                            self.make_varying(l, o);
                        } else if self.ctrl.is_some() {
                            self.make_varying(l, span.clone());
                        }
                    }
                }
                Exits::default()
            }
            Stmt::Expr(e) => {
                self.expr(e);
                Exits::default()
            }
            Stmt::If {
                cond, then, els, ..
            } => {
                let u = self.expr(cond);
                let c = self.cond_ctrl(cond, u);
                let a = self.sub_block(then, c.clone());
                let b = match els {
                    Some(e) => self.sub_block(e, c),
                    None => Exits::default(),
                };
                Exits {
                    ret: a.ret.or(b.ret),
                    brk: a.brk.or(b.brk),
                    cont: a.cont.or(b.cont),
                }
            }
            Stmt::While { cond, body, .. } => {
                let u = self.expr(cond);
                let c = self.cond_ctrl(cond, u);
                self.loop_body(body, c)
            }
            Stmt::For {
                var,
                start,
                end,
                step,
                body,
                ..
            } => {
                let mut u = self.expr(start).or(self.expr(end));
                if let Some(st) = step {
                    u = u.or(self.expr(st));
                }
                if let Some(o) = u.clone() {
                    self.make_varying(*var, o);
                }
                let bounds = start.span.to(&end.span);
                let c = u.map(|origin| Ctrl {
                    cond: bounds.clone(),
                    origin: (origin != bounds).then_some(origin),
                    exit: None,
                });
                self.loop_body(body, c)
            }
            Stmt::Forall {
                vars,
                over,
                reductions,
                body,
                span,
            } => {
                match over {
                    ForallOver::Container(e) => {
                        self.expr(e);
                    }
                    ForallOver::Range(a, b) => {
                        let u = self.expr(a).or(self.expr(b));
                        if let Some(o) = u {
                            let sp = a.span.to(&b.span);
                            self.error_once(
                                Diagnostic::error(Code::E0301, "a `forall` range must be uniform", crate::diagnostics::Label::new(sp, "this range can differ between ranks"))
                                    .with_label(o, "it varies because of this")
                                    .with_help("every rank must split the same range; make the bounds uniform, e.g. with `allreduce(.., max)`"),
                            );
                        }
                    }
                }
                for v in vars.iter() {
                    self.make_varying(*v, span.clone());
                }
                if !reductions.is_empty() {
                    let hdr = span.clone();
                    self.collective(&hdr, "a `forall` with a reduction", None);
                    for (l, _) in reductions.iter() {
                        if let Some(Some(o)) = self.locals.get(l.0 as usize).cloned() {
                            let d = self.decls[l.0 as usize].span.clone();
                            self.error_once(
                                Diagnostic::error(Code::E0305, format!("reduction variable `{}` must be uniform before the `forall`", self.decls[l.0 as usize].name), crate::diagnostics::Label::new(hdr.clone(), "reduction over a varying value"))
                                    .with_label(d, "declared here")
                                    .with_label(o, "it becomes varying here"),
                            );
                        }
                    }
                }
                let saved = self.forall.take();
                let first_local = vars.iter().map(|v| v.0).min().unwrap_or(u32::MAX);
                let outer_reds: Vec<LocalId> = saved
                    .as_ref()
                    .map(|f| f.reductions.clone())
                    .unwrap_or_default();
                let mut reds: Vec<LocalId> = reductions.iter().map(|(l, _)| *l).collect();
                reds.extend(outer_reds);
                self.forall = Some(ForallCx {
                    span: span.clone(),
                    vars: vars.clone(),
                    first_local: saved
                        .as_ref()
                        .map_or(first_local, |f| f.first_local.min(first_local)),
                    range: matches!(over, ForallOver::Range(..)),
                    reductions: reds,
                });
                self.block(body);
                self.forall = saved;
                Exits::default()
            }
            Stmt::Return { value, span } => {
                if let Some(v) = value {
                    let u = self.expr(v);
                    if u.is_some() {
                        self.ret_varying = true;
                    }
                }
                if self.ctrl.is_some() {
                    self.ret_varying = true;
                }
                Exits {
                    ret: self.exit_ctrl(span, "return"),
                    ..Exits::default()
                }
            }
            Stmt::Break(span) => Exits {
                brk: self.exit_ctrl(span, "break"),
                ..Exits::default()
            },
            Stmt::Continue(span) => Exits {
                cont: self.exit_ctrl(span, "continue"),
                ..Exits::default()
            },
            Stmt::Block(b) => self.block(b),
        }
    }

    fn loop_body(&mut self, body: &mut Block, c: Option<Ctrl>) -> Exits {
        let ex = self.sub_block(body, c.clone());
        if self.ctrl.is_none() && c.is_none() {
            // A varying `break` or `return` makes later iterations run on some ranks only, so
            // the whole body is under varying control.
            if let Some(x) = ex.brk.clone().or(ex.ret.clone()) {
                let _ = self.sub_block(body, Some(x));
            }
        }
        Exits {
            ret: ex.ret,
            brk: None,
            cont: None,
        }
    }

    fn error_once(&mut self, d: Diagnostic) {
        if !self.report {
            return;
        }
        let key = (d.primary.span.file.0, d.primary.span.range.start);
        if self.reported.insert(key) {
            self.diags.push(d);
        }
    }

    /// A collective at `span`: E0302 inside a forall, E0301 under varying control.
    fn collective(&mut self, span: &Span, what: &str, via: Option<(Span, String)>) {
        if let Some(fa) = &self.forall {
            let mut d = Diagnostic::error(
                Code::E0302,
                format!("collective {what} inside a `forall` body"),
                crate::diagnostics::Label::new(span.clone(), "collective here"),
            )
            .with_label(fa.span.clone(), "inside this `forall`, which runs a different number of times on each rank")
            .with_help("compute it before the `forall` and use the result inside, or use a `with v: op` reduction");
            if let Some((s, inner)) = via {
                d = d.with_label(s, format!("the call reaches {inner} here"));
            }
            self.error_once(d);
            return;
        }
        let Some(c) = self.ctrl.clone() else {
            return;
        };
        let mut d = Diagnostic::error(
            Code::E0301,
            format!("{what} is a collective, but not every rank reaches it"),
            crate::diagnostics::Label::new(span.clone(), "collective not reached by every rank"),
        );
        if let Some((s, inner)) = via {
            d = d.with_label(s, format!("the call reaches {inner} here"));
        }
        if let Some((es, kind)) = &c.exit {
            d = d.with_label(
                es.clone(),
                format!("this `{kind}` runs on some ranks only and can skip the collective"),
            );
        }
        d = d.with_label(c.cond.clone(), "this condition can differ between ranks");
        if let Some(o) = &c.origin {
            d = d.with_label(o.clone(), "it varies because of this");
        }
        d = d
            .with_note("every rank must call the same collectives in the same order (LANGUAGE §10)")
            .with_help("make the condition uniform, e.g. `if allreduce(cond, lor) { ... }`, or move the collective out of the branch");
        self.error_once(d);
    }

    fn assign_target(&mut self, target: &mut Expr, span: &Span) {
        match &mut target.kind {
            ExprKind::Index(base, idx) => {
                self.expr(base);
                for i in idx.iter_mut() {
                    self.expr(i);
                }
                target.uniform = false;
                let Some(fa) = &self.forall else { return };
                if !matches!(base.ty, Ty::Vector(_) | Ty::Array(_) | Ty::Tensor(..)) {
                    return;
                }
                let at_i = matches!(idx.first().map(|x| &x.kind), Some(ExprKind::Local(l)) if fa.vars.first() == Some(l));
                if fa.range || !at_i {
                    let fspan = fa.span.clone();
                    let msg = if fa.range {
                        "a `forall` over a range cannot write distributed containers directly"
                    } else {
                        "`forall` writes a distributed container at an index other than the iteration index"
                    };
                    self.error_once(
                        Diagnostic::error(Code::E0303, msg, crate::diagnostics::Label::new(target.span.clone(), "write outside the iteration index"))
                            .with_label(fspan, "the iteration index comes from this `forall`")
                            .with_help("write at the iteration index (`u[i] = ...`), or use `put(u, j, x)` / `atomic_add(u, j, x)` for remote elements"),
                    );
                }
            }
            ExprKind::Local(l) => {
                let l = *l;
                if let Some(fa) = &self.forall
                    && l.0 < fa.first_local
                    && !fa.reductions.contains(&l)
                    && self
                        .decls
                        .get(l.0 as usize)
                        .is_some_and(|d| matches!(d.ty, Ty::Scalar(_)))
                {
                    let d = &self.decls[l.0 as usize];
                    let diag = Diagnostic::error(
                        Code::E0305,
                        format!("`forall` body assigns the outer scalar `{}`", d.name),
                        crate::diagnostics::Label::new(
                            span.clone(),
                            "outer scalars are read-only in a `forall`",
                        ),
                    )
                    .with_label(d.span.clone(), "declared outside the `forall` here")
                    .with_help(format!(
                        "declare a reduction: `forall ... with {}: sum {{ ... }}`",
                        d.name
                    ));
                    self.error_once(diag);
                }
                self.expr(target);
            }
            _ => {
                self.expr(target);
            }
        }
    }

    fn const_of(&self, e: &Expr) -> Option<i64> {
        match &e.kind {
            ExprKind::Lit(Lit::Int(v)) => i64::try_from(*v).ok(),
            ExprKind::Global(g) => self.global_consts.get(g.0 as usize).copied().flatten(),
            ExprKind::Unary(UnOp::Neg, a) => self.const_of(a)?.checked_neg(),
            _ => None,
        }
    }

    /// The constant offset `k` of an index `i + k` / `i - k` / `i`, where `i` is `var`.
    fn offset(&self, e: &Expr, var: LocalId) -> Option<i64> {
        match &e.kind {
            ExprKind::Local(l) if *l == var => Some(0),
            ExprKind::Binary(BinOp::Add, a, b) => match (&a.kind, &b.kind) {
                (ExprKind::Local(l), _) if *l == var => self.const_of(b),
                (_, ExprKind::Local(l)) if *l == var => self.const_of(a),
                _ => None,
            },
            ExprKind::Binary(BinOp::Sub, a, b) => match &a.kind {
                ExprKind::Local(l) if *l == var => self.const_of(b)?.checked_neg(),
                _ => None,
            },
            _ => None,
        }
    }

    fn check_read(&mut self, base: &Expr, idx: &[Expr], span: &Span) {
        let Some(fa) = &self.forall else { return };
        if !matches!(base.ty, Ty::Vector(_) | Ty::Array(_) | Ty::Tensor(..)) {
            return;
        }
        // Layouts are known for containers made in this function; parameters are checked at
        // run time.
        let layout = match &base.kind {
            ExprKind::Local(l) => self.decls.get(l.0 as usize).and_then(|d| d.layout),
            _ => None,
        };
        let Some(layout) = layout else { return };
        if layout.partition == Partition::Replicated {
            return;
        }
        let Some(first) = idx.first() else { return };
        let halo = layout.halo.map_or(0, |h| h.width);
        let problem = if fa.range {
            Some("a `forall` over a range reads distributed containers only at run-time-checked indices; this read is not local".to_string())
        } else {
            match fa.vars.first().and_then(|v| self.offset(first, *v)) {
                None => {
                    Some("the index is not the iteration index plus a constant offset".to_string())
                }
                Some(k) if k.unsigned_abs() > halo as u64 => {
                    Some(format!("offset {k} is outside the halo (width {halo})"))
                }
                Some(_) => None,
            }
        };
        if let Some(p) = problem {
            let fspan = fa.span.clone();
            let name = match &base.kind {
                ExprKind::Local(l) => self.decls[l.0 as usize].name.clone(),
                _ => "container".into(),
            };
            let mut d = Diagnostic::error(
                Code::E0304,
                format!("`forall` reads `{name}` outside its halo: {p}"),
                crate::diagnostics::Label::new(
                    span.clone(),
                    "this element may live on another rank",
                ),
            )
            .with_label(fspan, "inside this `forall`");
            if let ExprKind::Local(l) = &base.kind {
                d = d.with_label(
                    self.decls[l.0 as usize].span.clone(),
                    format!("`{name}` declared here with halo width {halo}"),
                );
            }
            d = d.with_help(format!(
                "read remote elements with `get({name}, j)`, widen the halo (`@halo(w)`), or make `{name}` `@replicated`"
            ));
            self.error_once(d);
        }
    }

    /// Walks an expression: returns `None` when uniform, else where it became varying.
    fn expr(&mut self, e: &mut Expr) -> Option<Span> {
        let u: Option<Span> = match &mut e.kind {
            ExprKind::Lit(_) | ExprKind::Global(_) | ExprKind::Op(_) | ExprKind::Error => None,
            ExprKind::Local(l) => self.locals.get(l.0 as usize).cloned().flatten(),
            ExprKind::Unary(_, a) | ExprKind::Cast(a, _) => self.expr(a),
            ExprKind::Binary(op, a, b) => {
                let x = self.expr(a);
                let y = if matches!(op, BinOp::And | BinOp::Or) && x.is_some() {
                    // `a && b`, `a || b`: `b` runs only where `a` says so.
                    let c = self.cond_ctrl(a, x.clone());
                    let saved = self.ctrl.clone();
                    if self.ctrl.is_none() {
                        self.ctrl = c;
                    }
                    let y = self.expr(b);
                    self.ctrl = saved;
                    y
                } else {
                    self.expr(b)
                };
                x.or(y)
            }
            ExprKind::Index(base, idx) => {
                self.expr(base);
                for i in idx.iter_mut() {
                    self.expr(i);
                }
                let (b, i) = (&**base, &*idx);
                self.check_read(b, i, &e.span);
                Some(e.span.clone())
            }
            ExprKind::Construct { dims, fill, .. } => {
                for d in dims.iter_mut() {
                    self.expr(d);
                }
                if let Some(f) = fill {
                    self.expr(f);
                }
                if e.ty.is_distributed() {
                    let what = format!("the constructor of a `{}`", e.ty);
                    self.collective(&e.span, &what, None);
                    None
                } else {
                    // A `local<T>`'s uniformity is that of its length.
                    let mut u = None;
                    for d in dims.iter() {
                        if !d.uniform {
                            u = u.or(Some(d.span.clone()));
                        }
                    }
                    u
                }
            }
            ExprKind::Call { callee, args, .. } => {
                let mut au = None;
                let mut arg_u: Vec<Option<Span>> = Vec::with_capacity(args.len());
                for a in args.iter_mut() {
                    let u = self.expr(a);
                    // Distributed container handles are uniform; their element values come
                    // through other paths. A `local<T>`'s uniformity is its length's.
                    if a.ty.container().is_none() || matches!(a.ty, Ty::Local(_)) {
                        au = au.or(u.clone());
                        arg_u.push(u);
                    } else {
                        arg_u.push(None);
                    }
                }
                match *callee {
                    Callee::Builtin(b) => {
                        if builtin_is_collective(b, args) {
                            self.collective(&e.span, &format!("`{}`", b.name()), None);
                        }
                        if builtin_is_varying(b) {
                            Some(e.span.clone())
                        } else if b == Builtin::Len
                            && args.first().is_some_and(|a| matches!(a.ty, Ty::Local(_)))
                        {
                            // The length of a `local<T>` differs between ranks unless it was
                            // made with a uniform length (or by `allgather`, `broadcast`, ...).
                            au
                        } else if builtin_is_uniform(b, args) {
                            None
                        } else {
                            au
                        }
                    }
                    Callee::Fn(f) => {
                        // Parameters are as varying as the arguments of any call.
                        for (k, u) in arg_u.iter().enumerate() {
                            if let Some(o) = u {
                                self.param_calls.push((f, k, o.clone()));
                            }
                        }
                        let facts = &self.facts[f.0 as usize];
                        if let Some((s, what)) = facts.collective.clone() {
                            let msg = format!("`{}` (which reaches {what})", facts.name);
                            self.collective(&e.span, &msg, Some((s, what)));
                        }
                        if !self.facts[f.0 as usize].ret_uniform {
                            Some(e.span.clone())
                        } else {
                            au
                        }
                    }
                }
            }
        };
        e.uniform = u.is_none();
        u
    }
}
