//! Remote-access synchronisation (docs/language.md, "Remote reads see earlier writes"): a pass on
//! the checked HIR that makes every remote access of a distributed container see the writes
//! that come before it in program order, whichever rank made them, by inserting `barrier()`
//! where it is needed, and rejecting (E0306) the programs where no rank-uniform point exists.
//!
//! The analysis is a forward dataflow over each function's structured body. The state is, per
//! *class* of container handles (locals that may name the same container, merged by `let`
//! aliasing), the kinds of access made since the last point every rank passed together:
//! owner writes (`forall` writes, fused assignments, element writes), owner reads, remote reads
//! (`get`, element reads outside a `forall`, `lookup`), puts, atomics and map inserts. An
//! access conflicts with a pending one when the two may touch the same element from different
//! ranks in an order the program does not fix (read after write, write after read, write
//! after write). A conflict is resolved by a barrier before the outermost statement that
//! contains the later access, runs on every rank the same number of times, and does not
//! contain the earlier access; if there is none (both inside one `forall` body or one
//! rank-dependent branch), the program is rejected.
//!
//! Collectives are synchronisation points: any collective completes owner reads and writes and
//! remote reads (every collective makes all ranks wait for all); puts, atomics and map inserts
//! are buffered by the runtime and only `barrier()` (or `fence(u)` for `u`) completes them.
//!
//! Interprocedural: each function gets a summary (which accesses it makes to its container
//! parameters before it synchronises, what it leaves pending on them, which pending kinds
//! survive a call), computed to a fixpoint over the call graph, so recursion is handled.
//! A barrier is only inserted into a function every call of which is reached by every rank;
//! elsewhere the conflict is an error.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::diagnostics::{Code, Diagnostic, Diagnostics, Label, Span};
use crate::hir::{
    BinOp, Block, Builtin, Callee, Expr, ExprKind, FnId, ForallOver, Function, InsertedSync,
    Module, Partition, Stmt, Ty,
};

/// Access kinds (bits).
const LW: u8 = 1; // owner write
const LR: u8 = 2; // owner read (including halo reads)
const RR: u8 = 4; // remote read
const RW: u8 = 8; // put
const RA: u8 = 16; // atomic add
const MI: u8 = 32; // map insert
const ALL: u8 = LW | LR | RR | RW | RA | MI;
/// Completed by any collective.
const WEAK: u8 = LW | LR | RR;

/// The pending kinds an access of kind `a` conflicts with.
fn conflicts_with(a: u8, map: bool) -> u8 {
    if map {
        // Map inserts and atomics are buffered until `barrier()`: reads must come after them;
        // nothing conflicts with an earlier lookup.
        return match a {
            RR => MI | RA,
            RA => MI,
            _ => 0,
        };
    }
    match a {
        LW => RR | RW | RA,
        LR => RW | RA,
        RR => LW | RW | RA | MI,
        RW => LW | LR | RR | RA,
        RA => LW | LR | RR | RW | MI,
        _ => 0,
    }
}

/// What a function does to its container parameters, as seen by a caller.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Summary {
    /// (parameter, access kind, the caller's pending kinds it can conflict with): accesses
    /// the function makes before synchronising.
    needs: Vec<(usize, u8, u8)>,
    /// (parameter, kinds): pending on a parameter at return. Parameter index `params.len()`
    /// is the returned container.
    leaves: Vec<(usize, u8)>,
    /// Kinds pending in the caller that survive a call (all of them unless the function
    /// synchronises on every path).
    survive: u8,
    /// Pairs of parameters whose aliasing would make the function race internally.
    pairs: Vec<(usize, usize)>,
}

impl Summary {
    fn bottom() -> Self {
        Summary::default()
    }

    fn absorb(&mut self, o: &Summary) -> bool {
        let before = self.clone();
        for n in &o.needs {
            if !self.needs.contains(n) {
                self.needs.push(*n);
            }
        }
        for &(p, k) in &o.leaves {
            match self.leaves.iter_mut().find(|(q, _)| *q == p) {
                Some(e) => e.1 |= k,
                None => self.leaves.push((p, k)),
            }
        }
        self.survive |= o.survive;
        for pr in &o.pairs {
            if !self.pairs.contains(pr) {
                self.pairs.push(*pr);
            }
        }
        self.needs.sort_unstable();
        self.leaves.sort_unstable();
        self.pairs.sort_unstable();
        *self != before
    }
}

#[derive(Clone, Debug)]
struct Pend {
    mask: u8,
    /// Kinds that were pending before the statement being probed.
    outer: u8,
    /// Per kind (bit index): the site of the first such access.
    sites: [Option<Span>; 6],
}

impl Pend {
    /// The site of an access of one of the kinds in `mask`.
    fn site(&self, mask: u8) -> Option<Span> {
        (0..6)
            .filter(|b| mask & (1 << b) != 0)
            .find_map(|b| self.sites[b].clone())
            .or_else(|| self.sites.iter().flatten().next().cloned())
    }
}

#[derive(Clone, Debug)]
struct State {
    pend: BTreeMap<u32, Pend>,
    /// Kinds the caller may have pending on any container (function entry: all of them).
    ext: u8,
}

impl State {
    fn same(&self, o: &State) -> bool {
        self.ext == o.ext
            && self.pend.len() == o.pend.len()
            && self
                .pend
                .iter()
                .zip(&o.pend)
                .all(|((a, x), (b, y))| a == b && x.mask == y.mask && x.outer == y.outer)
    }

    fn kill(&mut self, keep: u8) {
        self.ext &= keep;
        for p in self.pend.values_mut() {
            p.mask &= keep;
            p.outer &= keep;
        }
        self.pend.retain(|_, p| p.mask != 0);
    }
}

fn join(a: Option<State>, b: Option<State>) -> Option<State> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(mut a), Some(b)) => {
            a.ext |= b.ext;
            for (c, p) in b.pend {
                match a.pend.get_mut(&c) {
                    Some(q) => {
                        q.mask |= p.mask;
                        q.outer |= p.outer;
                        for (x, y) in q.sites.iter_mut().zip(p.sites) {
                            if x.is_none() {
                                *x = y;
                            }
                        }
                    }
                    None => {
                        a.pend.insert(c, p);
                    }
                }
            }
            Some(a)
        }
    }
}

fn same_opt(a: &Option<State>, b: &Option<State>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.same(b),
        _ => false,
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// Looking for conflicts with what was pending before the probed statement.
    Probe,
    /// At rank-uniform level: probe each statement, insert barriers.
    Decide,
    /// Under rank-dependent control or in a `forall` body: conflicts are errors.
    Varying,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum InForall {
    No,
    Container,
    Range,
}

#[derive(Clone, Copy, Debug)]
struct Cx {
    mode: Mode,
    forall: InForall,
    /// The code runs on every rank alike (for call sites).
    uniform: bool,
    /// The code runs on one rank only (under `if rank() == k`): its accesses are in program
    /// order among themselves.
    single: bool,
    /// Where the innermost rank-dependent region (a `forall`, a branch) starts.
    region: usize,
}

#[derive(Default)]
struct Frame {
    brk: Option<State>,
    cont: Option<State>,
}

/// One access to check: its class, kind and the pending kinds it may conflict with.
struct Access<'n> {
    class: u32,
    map: bool,
    kind: u8,
    filter: u8,
    name: &'n str,
}

#[derive(Clone)]
struct Hit {
    access: Span,
    earlier: Span,
    what: String,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct MemoKey {
    body: usize,
    cx: (u8, u8, bool, bool, usize),
    state: Fingerprint,
}

/// What analysing one loop produced.
#[derive(Clone)]
struct Memo {
    out: Option<State>,
    inserts: Vec<(usize, usize, InsertedSync)>,
    errors: Vec<Diagnostic>,
    fixed: Vec<(Span, Span, String)>,
    calls: Vec<(FnId, bool, Span)>,
    raced: Vec<(usize, u32)>,
    rets: Option<State>,
    hit: Option<Hit>,
}

/// A state without its sites: `ext`, then (class, kinds, kinds from before the probe).
type Fingerprint = Option<(u8, Vec<(u32, u8, u8)>)>;

fn fingerprint(st: &Option<State>) -> Fingerprint {
    st.as_ref().map(|s| {
        (
            s.ext,
            s.pend.iter().map(|(c, p)| (*c, p.mask, p.outer)).collect(),
        )
    })
}

/// Per-function results of the last analysis.
#[derive(Default)]
struct FnOut {
    summary: Summary,
    /// (block address, statement index, record).
    inserts: Vec<(usize, usize, InsertedSync)>,
    errors: Vec<Diagnostic>,
    /// Calls: (callee, reached by every rank alike, span).
    calls: Vec<(FnId, bool, Span)>,
    /// Conflicts that an insertion fixed, for the error when the insertion is not allowed.
    fixed: Vec<(Span, Span, String)>,
    /// (region, class) pairs already reported.
    raced: Vec<(usize, u32)>,
}

/// Runs the pass: inserts barriers into `m` and pushes E0306 errors.
pub fn sync(m: &mut Module, diags: &mut Diagnostics) {
    let n = m.functions.len();
    let mut sums: Vec<Summary> = vec![Summary::bottom(); n];
    let mut outs: Vec<FnOut> = Vec::new();
    // The call-graph fixpoint; summaries only grow, so this ends; the cap is a safety net.
    for _ in 0..64 {
        outs = (0..n).map(|i| analyze(m, FnId(i as u32), &sums)).collect();
        let mut changed = false;
        for (s, o) in sums.iter_mut().zip(&outs) {
            changed |= s.absorb(&o.summary);
        }
        if !changed {
            break;
        }
    }
    // Functions that gain a barrier become collective, and so do their callers; every call of
    // such a function must be reached by every rank.
    let mut coll: Vec<bool> = m.functions.iter().map(|f| f.collective).collect();
    let mut gained: Vec<bool> = vec![false; n];
    for (i, o) in outs.iter().enumerate() {
        if !o.inserts.is_empty() && !coll[i] {
            coll[i] = true;
            gained[i] = true;
        }
    }
    loop {
        let mut changed = false;
        for (i, o) in outs.iter().enumerate() {
            if !coll[i] && o.calls.iter().any(|(c, _, _)| coll[c.0 as usize]) {
                coll[i] = true;
                gained[i] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    // A call that now reaches a barrier but is not reached by every rank: the barrier cannot
    // go into the callee.
    let mut refused: HashSet<usize> = HashSet::new();
    for o in &outs {
        for (c, uniform, span) in &o.calls {
            if gained[c.0 as usize] && !uniform {
                // Find the function whose own insertion is behind this (the callee or one of
                // its callees): report at each insertion of every gained function reachable.
                let mut stack = vec![c.0 as usize];
                let mut seen = HashSet::new();
                while let Some(f) = stack.pop() {
                    if !seen.insert(f) {
                        continue;
                    }
                    if !outs[f].inserts.is_empty()
                        && !m.functions[f].collective
                        && refused.insert(f)
                    {
                        for (access, earlier, what) in &outs[f].fixed {
                            diags.push(
                                Diagnostic::error(
                                    Code::E0306,
                                    format!("{what}, and no point every rank reaches separates them"),
                                    Label::new(access.clone(), "this access can race"),
                                )
                                .with_label(earlier.clone(), "with this earlier access")
                                .with_label(
                                    span.clone(),
                                    format!(
                                        "the barrier would go inside `{}`, but not every rank makes this call",
                                        m.functions[f].name
                                    ),
                                )
                                .with_help(
                                    "call `barrier()` between the two accesses at a point every rank reaches, e.g. before the rank-dependent branch that makes this call",
                                ),
                            );
                        }
                    }
                    for (cc, _, _) in &outs[f].calls {
                        if gained[cc.0 as usize] {
                            stack.push(cc.0 as usize);
                        }
                    }
                }
            }
        }
    }
    for (i, o) in outs.into_iter().enumerate() {
        for e in o.errors {
            diags.push(e);
        }
        if refused.contains(&i) {
            continue;
        }
        if o.inserts.is_empty() {
            continue;
        }
        let f = &mut m.functions[i];
        let mut by_block: HashMap<usize, Vec<(usize, InsertedSync)>> = HashMap::new();
        for (b, k, r) in o.inserts {
            by_block.entry(b).or_default().push((k, r));
        }
        let mut records = Vec::new();
        insert_into(&mut f.body, &mut by_block, &mut records);
        f.syncs.extend(records);
    }
    for (f, c) in m.functions.iter_mut().zip(coll) {
        f.collective |= c;
    }
}

fn insert_into(
    b: &mut Block,
    plan: &mut HashMap<usize, Vec<(usize, InsertedSync)>>,
    records: &mut Vec<InsertedSync>,
) {
    let key = b as *const Block as usize;
    // Nested blocks first: inserting into this block's statements may move them.
    for s in &mut b.stmts {
        if plan.is_empty() {
            break;
        }
        for inner in s.blocks_mut() {
            insert_into(inner, plan, records);
        }
    }
    if let Some(mut ins) = plan.remove(&key) {
        ins.sort_by_key(|(k, _)| std::cmp::Reverse(*k));
        ins.dedup_by_key(|(k, _)| *k);
        for (k, r) in ins {
            let span = r.before.clone();
            b.stmts.insert(
                k.min(b.stmts.len()),
                Stmt::Expr(Expr {
                    kind: ExprKind::Call {
                        callee: Callee::Builtin(Builtin::Barrier),
                        args: Vec::new(),
                        layout: None,
                    },
                    ty: Ty::Unit,
                    span,
                    uniform: true,
                }),
            );
            records.push(r);
        }
    }
}

/// The span of a statement.
fn stmt_span(s: &Stmt) -> Option<Span> {
    match s {
        Stmt::Let { span, .. }
        | Stmt::Assign { span, .. }
        | Stmt::If { span, .. }
        | Stmt::While { span, .. }
        | Stmt::For { span, .. }
        | Stmt::Forall { span, .. }
        | Stmt::Return { span, .. }
        | Stmt::Break(span)
        | Stmt::Continue(span) => Some(span.clone()),
        Stmt::Expr(e) => Some(e.span.clone()),
        Stmt::Block(b) => b
            .stmts
            .first()
            .and_then(stmt_span)
            .or_else(|| b.tail.as_ref().map(|t| t.span.clone())),
    }
}

/// Whether each statement runs on every rank alike (the uniformity rule's control part:
/// conditions, loop bounds, and early exits under rank-dependent control).
#[derive(Default, Clone, Copy)]
struct Exits {
    ret: bool,
    brk: bool,
    cont: bool,
}

/// Statement levels (key: statement address) and tail levels (key: block address).
#[derive(Default)]
struct Levels {
    stmts: HashMap<usize, bool>,
    tails: HashMap<usize, bool>,
}

fn levels(b: &Block, uni: bool, out: &mut Levels) -> Exits {
    let mut uni = uni;
    let mut ex = Exits::default();
    for s in &b.stmts {
        out.stmts.insert(s as *const Stmt as usize, uni);
        let e = level_stmt(s, uni, out);
        if uni && (e.ret || e.brk || e.cont) {
            uni = false;
        }
        ex.ret |= e.ret;
        ex.brk |= e.brk;
        ex.cont |= e.cont;
    }
    // The tail expression's level (key: the block).
    out.tails.insert(b as *const Block as usize, uni);
    ex
}

fn level_stmt(s: &Stmt, uni: bool, out: &mut Levels) -> Exits {
    match s {
        Stmt::If {
            cond, then, els, ..
        } => {
            let cu = uni && cond.uniform;
            let a = levels(then, cu, out);
            let b = els.as_ref().map(|e| levels(e, cu, out)).unwrap_or_default();
            Exits {
                ret: a.ret || b.ret,
                brk: a.brk || b.brk,
                cont: a.cont || b.cont,
            }
        }
        Stmt::While { cond, body, .. } => loop_levels(body, uni && cond.uniform, out),
        Stmt::For {
            start,
            end,
            step,
            body,
            ..
        } => {
            let bu = start.uniform && end.uniform && step.as_ref().is_none_or(|s| s.uniform);
            loop_levels(body, uni && bu, out)
        }
        Stmt::Forall { body, .. } => {
            levels(body, false, out);
            Exits::default()
        }
        Stmt::Return { .. } => Exits {
            ret: !uni,
            ..Exits::default()
        },
        Stmt::Break(_) => Exits {
            brk: !uni,
            ..Exits::default()
        },
        Stmt::Continue(_) => Exits {
            cont: !uni,
            ..Exits::default()
        },
        Stmt::Block(b) => levels(b, uni, out),
        Stmt::Let { .. } | Stmt::Assign { .. } | Stmt::Expr(_) => Exits::default(),
    }
}

fn loop_levels(body: &Block, uni: bool, out: &mut Levels) -> Exits {
    let e = levels(body, uni, out);
    if uni && (e.brk || e.ret) {
        // Later iterations run on some ranks only.
        levels(body, false, out);
    }
    Exits {
        ret: e.ret,
        ..Exits::default()
    }
}

struct Fx<'a> {
    m: &'a Module,
    f: &'a Function,
    sums: &'a [Summary],
    /// Union-find over locals (container classes).
    uf: Vec<u32>,
    /// Per class root: the parameters in it.
    params_of: HashMap<u32, Vec<usize>>,
    level: Levels,
    frames: Vec<Frame>,
    rets: Option<State>,
    out: FnOut,
    hit: Option<Hit>,
    memo: HashMap<MemoKey, Memo>,
}

fn find(uf: &mut [u32], x: u32) -> u32 {
    let mut r = x;
    while uf[r as usize] != r {
        r = uf[r as usize];
    }
    let mut y = x;
    while uf[y as usize] != r {
        let next = uf[y as usize];
        uf[y as usize] = r;
        y = next;
    }
    r
}

fn union(uf: &mut [u32], a: u32, b: u32) {
    let (ra, rb) = (find(uf, a), find(uf, b));
    if ra != rb {
        uf[ra.max(rb) as usize] = ra.min(rb);
    }
}

/// Container locals bound by `let` to another handle, or to a call that may return one of its
/// arguments.
fn aliases(b: &Block, f: &Function, uf: &mut [u32]) {
    fn expr_handles(e: &Expr, out: &mut Vec<u32>) {
        match &e.kind {
            ExprKind::Local(l) => out.push(l.0),
            ExprKind::Call {
                callee: Callee::Fn(_),
                args,
                ..
            } => {
                for a in args {
                    if a.ty.is_distributed() {
                        expr_handles(a, out);
                    }
                }
            }
            _ => {}
        }
    }
    for s in &b.stmts {
        match s {
            Stmt::Let { local, init, .. }
                if f.locals
                    .get(local.0 as usize)
                    .is_some_and(|d| d.ty.is_distributed()) =>
            {
                let mut hs = Vec::new();
                expr_handles(init, &mut hs);
                for h in hs {
                    if (h as usize) < uf.len() {
                        union(uf, local.0, h);
                    }
                }
            }
            _ => {
                for inner in s.blocks() {
                    aliases(inner, f, uf);
                }
            }
        }
    }
}

fn analyze(m: &Module, id: FnId, sums: &[Summary]) -> FnOut {
    let f = &m.functions[id.0 as usize];
    let mut uf: Vec<u32> = (0..f.locals.len() as u32).collect();
    aliases(&f.body, f, &mut uf);
    let mut params_of: HashMap<u32, Vec<usize>> = HashMap::new();
    for (k, p) in f.params.iter().enumerate() {
        if f.locals
            .get(p.0 as usize)
            .is_some_and(|d| d.ty.is_distributed())
        {
            let r = find(&mut uf, p.0);
            params_of.entry(r).or_default().push(k);
        }
    }
    let mut level = Levels::default();
    levels(&f.body, true, &mut level);
    let mut fx = Fx {
        m,
        f,
        sums,
        uf,
        params_of,
        level,
        frames: Vec::new(),
        rets: None,
        out: FnOut::default(),
        hit: None,
        memo: HashMap::new(),
    };
    let mut st = Some(State {
        pend: BTreeMap::new(),
        ext: ALL,
    });
    let cx = Cx {
        mode: Mode::Decide,
        forall: InForall::No,
        uniform: true,
        single: false,
        region: 0,
    };
    fx.block(&f.body, &mut st, cx);
    if let (Some(t), Some(s)) = (&f.body.tail, &st)
        && t.ty.is_distributed()
    {
        let s = s.clone();
        fx.gen_ret(t, &s);
    }
    let rets = fx.rets.take();
    let exit = join(st, rets);
    let mut summary = std::mem::take(&mut fx.out.summary);
    summary.survive = exit.as_ref().map_or(0, |s| s.ext);
    if let Some(s) = &exit {
        for (c, p) in &s.pend {
            if let Some(ps) = fx.params_of.get(c) {
                for &k in ps {
                    summary.leaves.push((k, p.mask));
                }
            }
        }
    }
    let mut norm = Summary::bottom();
    norm.absorb(&summary);
    fx.out.summary = norm;
    fx.out
}

impl<'a> Fx<'a> {
    fn class(&mut self, e: &Expr) -> Option<u32> {
        if !e.ty.is_distributed() {
            return None;
        }
        match &e.kind {
            ExprKind::Local(l) if (l.0 as usize) < self.uf.len() => Some(find(&mut self.uf, l.0)),
            ExprKind::Call {
                callee: Callee::Fn(_),
                args,
                ..
            } => args.iter().find_map(|a| self.class(a)),
            _ => None,
        }
    }

    fn is_map(&self, e: &Expr) -> bool {
        matches!(e.ty, Ty::Map(..))
    }

    fn replicated(&self, e: &Expr) -> bool {
        match &e.kind {
            ExprKind::Local(l) => self
                .f
                .locals
                .get(l.0 as usize)
                .and_then(|d| d.layout)
                .is_some_and(|lay| lay.partition == Partition::Replicated),
            _ => false,
        }
    }

    fn name_of(&self, e: &Expr) -> String {
        match &e.kind {
            ExprKind::Local(l) => self
                .f
                .locals
                .get(l.0 as usize)
                .map_or("container".to_string(), |d| format!("`{}`", d.name)),
            _ => "a container".to_string(),
        }
    }

    /// An access of `kind` to the container `e` at `span`.
    fn access(&mut self, st: &mut Option<State>, e: &Expr, kind: u8, span: &Span, cx: Cx) {
        let Some(c) = self.class(e) else { return };
        let map = self.is_map(e);
        let name = self.name_of(e);
        let a = Access {
            class: c,
            map,
            kind,
            filter: ALL,
            name: &name,
        };
        self.check(st, &a, span, cx);
        self.add(st, c, kind, span);
    }

    /// Checks an access against what is pending: a probe hit, an error, or (for parameters)
    /// part of the summary.
    fn check(&mut self, st: &mut Option<State>, a: &Access<'_>, span: &Span, cx: Cx) {
        let (c, map, kind, filter, name) = (a.class, a.map, a.kind, a.filter, a.name);
        let Some(s) = st.as_ref() else { return };
        let conf = conflicts_with(kind, map) & filter;
        if conf == 0 {
            return;
        }
        if let Some(p) = s.pend.get(&c) {
            let what = format!(
                "{} {name} can race with {}",
                match kind {
                    LW => "writing",
                    LR | RR => "reading",
                    RW => "putting into",
                    RA => "adding atomically to",
                    _ => "inserting into",
                },
                earlier_words(p.mask & conf)
            );
            match cx.mode {
                Mode::Probe => {
                    if p.outer & conf != 0 && self.hit.is_none() {
                        self.hit = Some(Hit {
                            access: span.clone(),
                            earlier: p.site(p.outer & conf).unwrap_or_else(|| span.clone()),
                            what,
                        });
                    }
                }
                Mode::Decide | Mode::Varying => {
                    if p.mask & conf != 0 && !cx.single {
                        let in_forall = cx.forall != InForall::No;
                        let help = if in_forall {
                            "iterations of one `forall` run on different ranks at the same time: read from a copy made before it (`let old = copy(...);`), or split the `forall` in two".to_string()
                        } else if cx.mode == Mode::Decide {
                            // Rank-uniform level: both accesses are in one statement that every
                            // rank runs, so no statement boundary lies between them.
                            "every rank runs this statement, so one rank's access races with another's inside it: let one rank do it (`if rank() == 0 { ... }`), use `atomic_add`, or split it in two statements".to_string()
                        } else {
                            "move the later access out of the rank-dependent branch, after a `barrier()` that every rank reaches".to_string()
                        };
                        let d = Diagnostic::error(
                            Code::E0306,
                            format!("{what}, and no point every rank reaches separates them"),
                            Label::new(span.clone(), "this access can race"),
                        )
                        .with_label(
                            p.site(p.mask & conf).unwrap_or_else(|| span.clone()),
                            "with this earlier access",
                        )
                        .with_note("a remote access sees every access made before it in program order only when a point that every rank reaches lies between them; the compiler inserts a barrier there when it can (docs/language.md)")
                        .with_help(help);
                        // One error per container and rank-dependent region.
                        if !self.out.raced.contains(&(cx.region, c)) {
                            self.out.raced.push((cx.region, c));
                            self.out.errors.push(d);
                        }
                    }
                }
            }
        }
        if cx.mode == Mode::Probe {
            return;
        }
        // Conflicts with what the caller may have pending: part of the summary.
        if s.ext & conf != 0
            && let Some(ps) = self.params_of.get(&c).cloned()
        {
            for k in ps {
                let n = (k, kind, s.ext & filter);
                if !self.out.summary.needs.contains(&n) {
                    self.out.summary.needs.push(n);
                }
            }
        }
        // Conflicts that only aliasing of two parameters would cause.
        if let Some(ps) = self.params_of.get(&c).cloned() {
            let others: Vec<(u32, u8)> = s
                .pend
                .iter()
                .filter(|(oc, p)| **oc != c && p.mask & conf != 0)
                .map(|(oc, p)| (*oc, p.mask))
                .collect();
            for (oc, _) in others {
                if let Some(qs) = self.params_of.get(&oc).cloned() {
                    for &p in &ps {
                        for &q in &qs {
                            let pr = (p.min(q), p.max(q));
                            if !self.out.summary.pairs.contains(&pr) {
                                self.out.summary.pairs.push(pr);
                            }
                        }
                    }
                }
            }
        }
    }

    fn add(&mut self, st: &mut Option<State>, c: u32, kind: u8, span: &Span) {
        let Some(s) = st.as_mut() else { return };
        let p = s.pend.entry(c).or_insert(Pend {
            mask: 0,
            outer: 0,
            sites: Default::default(),
        });
        p.mask |= kind;
        let b = kind.trailing_zeros() as usize;
        if b < 6 && p.sites[b].is_none() {
            p.sites[b] = Some(span.clone());
        }
    }

    fn weak(&mut self, st: &mut Option<State>) {
        if let Some(s) = st {
            s.kill(!WEAK);
        }
    }

    fn full(&mut self, st: &mut Option<State>) {
        if let Some(s) = st {
            s.kill(0);
        }
    }

    fn gen_ret(&mut self, value: &Expr, st: &State) {
        if let Some(c) = self.class(value)
            && let Some(p) = st.pend.get(&c)
        {
            let k = self.f.params.len();
            let mask = p.mask;
            match self.out.summary.leaves.iter_mut().find(|(q, _)| *q == k) {
                Some(e) => e.1 |= mask,
                None => self.out.summary.leaves.push((k, mask)),
            }
        }
    }

    fn is_uniform_level(&self, s: &Stmt) -> bool {
        self.level
            .stmts
            .get(&(s as *const Stmt as usize))
            .copied()
            .unwrap_or(false)
    }

    // ------------------------------------------------------------------ statements

    fn block(&mut self, b: &Block, st: &mut Option<State>, cx: Cx) {
        for (k, s) in b.stmts.iter().enumerate() {
            let uni = self.is_uniform_level(s) && cx.forall == InForall::No && cx.uniform;
            let mut done = false;
            if cx.mode == Mode::Decide
                && uni
                && st.as_ref().is_some_and(|x| !x.pend.is_empty())
                && let Some(h) = self.probe(st, |fx, ps, pcx| fx.stmt(s, ps, pcx), cx)
            {
                if matches!(s, Stmt::For { .. } | Stmt::While { .. })
                    && self.loop_covers_itself(s, st, cx)
                {
                    // The barriers the loop needs inside anyway also complete what was
                    // pending before it: none before the loop (it would run once per
                    // iteration of every enclosing loop). `loop_covers_itself` left the
                    // loop's analysis in place.
                    done = true;
                } else {
                    self.insert(b, k, s, h);
                    self.full(st);
                }
            }
            if done {
                continue;
            }
            let scx = Cx {
                mode: if cx.mode == Mode::Decide && !uni {
                    Mode::Varying
                } else {
                    cx.mode
                },
                uniform: cx.uniform && uni,
                region: if uni || cx.mode != Mode::Decide {
                    cx.region
                } else {
                    stmt_span(s).map_or(cx.region, |sp| sp.range.start)
                },
                ..cx
            };
            self.stmt(s, st, scx);
        }
        if let Some(t) = &b.tail {
            let uni = self
                .level
                .tails
                .get(&(b as *const Block as usize))
                .copied()
                .unwrap_or(false)
                && cx.forall == InForall::No
                && cx.uniform;
            if cx.mode == Mode::Decide
                && uni
                && st.as_ref().is_some_and(|x| !x.pend.is_empty())
                && let Some(h) = self.probe(st, |fx, ps, pcx| fx.expr(t, ps, pcx), cx)
            {
                let span = t.span.clone();
                self.record_insert(b, b.stmts.len(), span, h);
                self.full(st);
            }
            let scx = Cx {
                mode: if cx.mode == Mode::Decide && !uni {
                    Mode::Varying
                } else {
                    cx.mode
                },
                uniform: cx.uniform && uni,
                ..cx
            };
            self.expr(t, st, scx);
        }
    }

    /// For a loop at rank-uniform level whose accesses conflict with what is pending before
    /// it: analyses the loop both with a barrier before it and without; when both give the
    /// same barriers inside and no more errors, keeps the analysis without (and `st` after
    /// it) and returns true; else leaves nothing behind and returns false.
    fn loop_covers_itself(&mut self, s: &Stmt, st: &mut Option<State>, cx: Cx) -> bool {
        let marks = (
            self.out.inserts.len(),
            self.out.errors.len(),
            self.out.fixed.len(),
            self.out.calls.len(),
            self.out.raced.len(),
        );
        let truncate = |fx: &mut Self| {
            fx.out.inserts.truncate(marks.0);
            fx.out.errors.truncate(marks.1);
            fx.out.fixed.truncate(marks.2);
            fx.out.calls.truncate(marks.3);
            fx.out.raced.truncate(marks.4);
        };
        let rets = self.rets.clone();
        let positions = |fx: &Self| -> Vec<(usize, usize)> {
            fx.out.inserts[marks.0..]
                .iter()
                .map(|(b, k, _)| (*b, *k))
                .collect()
        };
        let mut with = st.clone();
        self.full(&mut with);
        self.stmt(s, &mut with, cx);
        let (ins_with, err_with) = (positions(self), self.out.errors.len() - marks.1);
        truncate(self);
        self.rets = rets.clone();
        let mut without = st.clone();
        self.stmt(s, &mut without, cx);
        let (ins_without, err_without) = (positions(self), self.out.errors.len() - marks.1);
        if ins_with == ins_without && err_with == err_without {
            *st = without;
            true
        } else {
            truncate(self);
            self.rets = rets;
            false
        }
    }

    fn insert(&mut self, b: &Block, k: usize, s: &Stmt, h: Hit) {
        let span = stmt_span(s).unwrap_or_else(|| h.access.clone());
        self.record_insert(b, k, span, h);
    }

    fn record_insert(&mut self, b: &Block, k: usize, before: Span, h: Hit) {
        self.out
            .fixed
            .push((h.access.clone(), h.earlier.clone(), h.what.clone()));
        self.out.inserts.push((
            b as *const Block as usize,
            k,
            InsertedSync {
                before,
                access: h.access,
                earlier: h.earlier,
                reason: h.what,
            },
        ));
    }

    /// Runs `walk` in probe mode on a copy of the state: the first conflict with what was
    /// pending before.
    fn probe(
        &mut self,
        st: &Option<State>,
        walk: impl FnOnce(&mut Self, &mut Option<State>, Cx),
        cx: Cx,
    ) -> Option<Hit> {
        let mut ps = st.clone();
        if let Some(s) = ps.as_mut() {
            for p in s.pend.values_mut() {
                p.outer = p.mask;
            }
        }
        let frames = std::mem::take(&mut self.frames);
        // Exits to loops outside the probed statement go to frames that are thrown away.
        self.frames = (0..frames.len()).map(|_| Frame::default()).collect();
        let rets = self.rets.take();
        let saved = self.hit.take();
        walk(
            self,
            &mut ps,
            Cx {
                mode: Mode::Probe,
                ..cx
            },
        );
        let hit = self.hit.take();
        self.hit = saved;
        self.rets = rets;
        self.frames = frames;
        hit
    }

    fn stmt(&mut self, s: &Stmt, st: &mut Option<State>, cx: Cx) {
        match s {
            Stmt::Let { local, init, .. } => {
                self.expr(init, st, cx);
                if produces_written_container(init) && (local.0 as usize) < self.uf.len() {
                    let c = find(&mut self.uf, local.0);
                    self.add(st, c, LW, &init.span);
                }
            }
            Stmt::Assign {
                target, op, value, ..
            } => self.assign(target, *op, value, st, cx),
            Stmt::Expr(e) => self.expr(e, st, cx),
            Stmt::If {
                cond, then, els, ..
            } => {
                self.expr(cond, st, cx);
                let mut a = st.clone();
                let tcx = Cx {
                    single: cx.single || one_rank(cond),
                    ..cx
                };
                self.block(then, &mut a, tcx);
                let mut b = st.clone();
                if let Some(e) = els {
                    self.block(e, &mut b, cx);
                }
                *st = join(a, b);
            }
            Stmt::While { cond, body, .. } => {
                self.looped(st, cx, |fx, s, c| fx.expr(cond, s, c), body, true);
            }
            Stmt::For {
                start,
                end,
                step,
                body,
                ..
            } => {
                self.expr(start, st, cx);
                self.expr(end, st, cx);
                if let Some(x) = step {
                    self.expr(x, st, cx);
                }
                self.looped(st, cx, |_, _, _| {}, body, false);
            }
            Stmt::Forall {
                over,
                reductions,
                body,
                ..
            } => {
                let kind = match over {
                    ForallOver::Container(e) => {
                        // Iterating reads no element.
                        if !matches!(e.kind, ExprKind::Local(_)) {
                            self.expr(e, st, cx);
                        }
                        InForall::Container
                    }
                    ForallOver::Range(a, b) => {
                        self.expr(a, st, cx);
                        self.expr(b, st, cx);
                        InForall::Range
                    }
                };
                let bcx = Cx {
                    mode: if cx.mode == Mode::Probe {
                        Mode::Probe
                    } else {
                        Mode::Varying
                    },
                    forall: kind,
                    uniform: false,
                    single: cx.single,
                    region: stmt_span(s).map_or(cx.region, |sp| sp.range.start),
                };
                self.looped(st, bcx, |_, _, _| {}, body, false);
                if !reductions.is_empty() {
                    self.weak(st);
                }
            }
            Stmt::Return { value, .. } => {
                if let Some(v) = value {
                    self.expr(v, st, cx);
                    if v.ty.is_distributed()
                        && cx.mode != Mode::Probe
                        && let Some(s) = st.clone()
                    {
                        self.gen_ret(v, &s);
                    }
                }
                if cx.mode != Mode::Probe {
                    let r = self.rets.take();
                    self.rets = join(r, st.take());
                }
                *st = None;
            }
            Stmt::Break(_) => {
                let s = st.take();
                if let Some(fr) = self.frames.last_mut() {
                    fr.brk = join(fr.brk.take(), s);
                }
            }
            Stmt::Continue(_) => {
                let s = st.take();
                if let Some(fr) = self.frames.last_mut() {
                    fr.cont = join(fr.cont.take(), s);
                }
            }
            Stmt::Block(b) => self.block(b, st, cx),
        }
    }

    /// A loop: `head` runs at the top of every iteration (a `while` condition), `body` after
    /// it. Iterates to a fixpoint; the result is the state after the loop. Results are
    /// memoized per loop, context and entry state, so that an enclosing loop's iterations do
    /// not re-analyse nested loops they already saw with the same state (nested loops would
    /// otherwise cost exponential time in their depth).
    fn looped(
        &mut self,
        st: &mut Option<State>,
        cx: Cx,
        head: impl Fn(&mut Self, &mut Option<State>, Cx),
        body: &Block,
        exit_after_head: bool,
    ) {
        let key = MemoKey {
            body: body as *const Block as usize,
            cx: (
                cx.mode as u8,
                cx.forall as u8,
                cx.uniform,
                cx.single,
                cx.region,
            ),
            state: fingerprint(st),
        };
        if let Some(m) = self.memo.get(&key).cloned() {
            self.out.inserts.extend(m.inserts);
            self.out.errors.extend(m.errors);
            self.out.fixed.extend(m.fixed);
            self.out.calls.extend(m.calls);
            self.out.raced.extend(m.raced);
            self.rets = join(self.rets.take(), m.rets);
            if self.hit.is_none() {
                self.hit = m.hit;
            }
            *st = m.out;
            return;
        }
        let marks = (
            self.out.inserts.len(),
            self.out.errors.len(),
            self.out.fixed.len(),
            self.out.calls.len(),
            self.out.raced.len(),
        );
        let rets_before = self.rets.take();
        let hit_before = self.hit.take();
        let mut h = st.clone();
        loop {
            self.out.inserts.truncate(marks.0);
            self.out.errors.truncate(marks.1);
            self.out.fixed.truncate(marks.2);
            self.out.calls.truncate(marks.3);
            self.out.raced.truncate(marks.4);
            self.rets = None;
            self.hit = None;
            let mut s = h.clone();
            head(self, &mut s, cx);
            let after_head = s.clone();
            self.frames.push(Frame::default());
            self.block(body, &mut s, cx);
            let fr = self.frames.pop().unwrap_or_default();
            let end = join(s, fr.cont);
            // Only grows, over a finite lattice: this ends.
            let next = join(join(h.clone(), st.clone()), end);
            if same_opt(&next, &h) {
                let out = if exit_after_head {
                    after_head
                } else {
                    h.clone()
                };
                *st = join(out, fr.brk);
                break;
            }
            h = next;
        }
        let rets = self.rets.take();
        let hit = self.hit.take();
        self.memo.insert(
            key,
            Memo {
                out: st.clone(),
                inserts: self.out.inserts[marks.0..].to_vec(),
                errors: self.out.errors[marks.1..].to_vec(),
                fixed: self.out.fixed[marks.2..].to_vec(),
                calls: self.out.calls[marks.3..].to_vec(),
                raced: self.out.raced[marks.4..].to_vec(),
                rets: rets.clone(),
                hit: hit.as_ref().map(|h| Hit {
                    access: h.access.clone(),
                    earlier: h.earlier.clone(),
                    what: h.what.clone(),
                }),
            },
        );
        self.rets = join(rets_before, rets);
        self.hit = hit_before.or(hit);
    }

    fn assign(
        &mut self,
        target: &Expr,
        op: Option<BinOp>,
        value: &Expr,
        st: &mut Option<State>,
        cx: Cx,
    ) {
        if target.ty.is_distributed() && !matches!(target.kind, ExprKind::Index(..)) {
            self.fused(value, st, cx);
        } else {
            self.expr(value, st, cx);
        }
        match &target.kind {
            ExprKind::Index(base, idx) => {
                for i in idx {
                    self.expr(i, st, cx);
                }
                if base.ty.is_distributed() {
                    if op.is_some() {
                        let k = self.read_kind(base, cx);
                        self.access(st, base, k, &target.span, cx);
                    }
                    self.access(st, base, LW, &target.span, cx);
                }
            }
            _ if target.ty.is_distributed() => {
                // A whole-container assignment: the right side's containers are read at the
                // same index, the target written.
                if op.is_some() {
                    self.access(st, target, LR, &target.span, cx);
                }
                self.access(st, target, LW, &target.span, cx);
            }
            _ => {}
        }
    }

    fn read_kind(&self, base: &Expr, cx: Cx) -> u8 {
        if self.replicated(base) || cx.forall == InForall::Container {
            LR
        } else {
            RR
        }
    }

    // ------------------------------------------------------------------ expressions

    fn expr(&mut self, e: &Expr, st: &mut Option<State>, cx: Cx) {
        if e.ty.is_elementwise_container()
            && matches!(
                e.kind,
                ExprKind::Binary(..) | ExprKind::Unary(..) | ExprKind::Cast(..)
            )
        {
            return self.fused(e, st, cx);
        }
        match &e.kind {
            // A handle: reading it reads no element (operands of whole-container expressions
            // are accessed through `fused`).
            ExprKind::Lit(_)
            | ExprKind::Global(_)
            | ExprKind::Op(_)
            | ExprKind::Error
            | ExprKind::Local(_) => {}
            ExprKind::Unary(_, a) | ExprKind::Cast(a, _) => self.expr(a, st, cx),
            ExprKind::Binary(op, a, b) => {
                self.expr(a, st, cx);
                if matches!(op, BinOp::And | BinOp::Or) && !a.uniform && cx.mode == Mode::Decide {
                    // The right side runs on some ranks only.
                    let c = Cx {
                        mode: Mode::Varying,
                        uniform: false,
                        ..cx
                    };
                    let mut s2 = st.clone();
                    self.expr(b, &mut s2, c);
                    *st = join(st.take(), s2);
                } else {
                    self.expr(b, st, cx);
                }
            }
            ExprKind::Index(base, idx) => {
                for i in idx {
                    self.expr(i, st, cx);
                }
                if base.ty.is_distributed() {
                    let k = self.read_kind(base, cx);
                    self.access(st, base, k, &e.span, cx);
                }
            }
            ExprKind::Construct { dims, fill, .. } => {
                for d in dims {
                    self.expr(d, st, cx);
                }
                if let Some(x) = fill {
                    self.expr(x, st, cx);
                }
                if e.ty.is_distributed() {
                    self.weak(st);
                }
            }
            ExprKind::Call {
                callee: Callee::Fn(g),
                args,
                ..
            } => self.call_fn(*g, args, e, st, cx),
            ExprKind::Call {
                callee: Callee::Builtin(b),
                args,
                ..
            } => self.builtin(*b, args, e, st, cx),
        }
    }

    /// An elementwise (whole-container) expression: every container operand is read at the
    /// local index.
    fn fused(&mut self, e: &Expr, st: &mut Option<State>, cx: Cx) {
        if !e.ty.is_elementwise_container() {
            return self.expr(e, st, cx);
        }
        match &e.kind {
            ExprKind::Local(_) => self.access(st, e, LR, &e.span, cx),
            ExprKind::Unary(_, a) | ExprKind::Cast(a, _) => self.fused(a, st, cx),
            ExprKind::Binary(_, a, b) => {
                self.fused(a, st, cx);
                self.fused(b, st, cx);
            }
            ExprKind::Call {
                callee: Callee::Builtin(b),
                args,
                ..
            } if is_elementwise(*b, args) => {
                for a in args {
                    self.fused(a, st, cx);
                }
            }
            _ => {
                // A container made on the spot (`copy(u)`, a function's result): its effects,
                // then its elements are read.
                self.expr(e, st, cx);
                self.access(st, e, LR, &e.span, cx);
            }
        }
    }

    /// Scalar and index arguments, and the effects of container-valued subexpressions other
    /// than plain handles (containers are accessed by the caller's rules).
    fn scalar_args(&mut self, args: &[Expr], st: &mut Option<State>, cx: Cx) {
        for a in args {
            self.expr(a, st, cx);
        }
    }

    fn call_fn(&mut self, g: FnId, args: &[Expr], e: &Expr, st: &mut Option<State>, cx: Cx) {
        self.scalar_args(args, st, cx);
        if cx.mode != Mode::Probe {
            self.out
                .calls
                .push((g, cx.uniform && cx.forall == InForall::No, e.span.clone()));
        }
        let sum = self.sums[g.0 as usize].clone();
        let classes: Vec<Option<u32>> = args.iter().map(|a| self.class(a)).collect();
        let maps: Vec<bool> = args.iter().map(|a| self.is_map(a)).collect();
        let names: Vec<String> = args.iter().map(|a| self.name_of(a)).collect();
        for &(p, kind, filter) in &sum.needs {
            if let Some(Some(c)) = classes.get(p) {
                let map = maps.get(p).copied().unwrap_or(false);
                let name = names.get(p).cloned().unwrap_or_default();
                let a = Access {
                    class: *c,
                    map,
                    kind,
                    filter,
                    name: &name,
                };
                self.check(st, &a, &e.span, cx);
            }
        }
        if cx.mode != Mode::Probe {
            for &(p, q) in &sum.pairs {
                if let (Some(Some(a)), Some(Some(b))) = (classes.get(p), classes.get(q))
                    && a == b
                {
                    let d = Diagnostic::error(
                        Code::E0306,
                        format!(
                            "the same container is passed twice to `{}`, whose accesses to the two parameters would race",
                            self.m.functions.get(g.0 as usize).map_or("", |f| f.name.as_str())
                        ),
                        Label::new(e.span.clone(), "both arguments name one container"),
                    )
                    .with_help("pass a copy as one of them (`copy(u)`), or call `barrier()` inside the function between the accesses");
                    if !self
                        .out
                        .errors
                        .iter()
                        .any(|x| x.primary.span == d.primary.span)
                    {
                        self.out.errors.push(d);
                    }
                }
            }
        }
        if let Some(s) = st.as_mut() {
            s.kill(sum.survive);
        }
        let nparams = args.len();
        for &(p, kinds) in &sum.leaves {
            let c = if p < nparams {
                classes.get(p).copied().flatten()
            } else {
                // The returned container: treated as one of the container arguments (a
                // `let` binding merges them) or fresh.
                classes.iter().find_map(|c| *c)
            };
            if let Some(c) = c {
                for k in [LW, LR, RR, RW, RA, MI] {
                    if kinds & k != 0 {
                        self.add(st, c, k, &e.span);
                    }
                }
            }
        }
    }

    fn builtin(&mut self, b: Builtin, args: &[Expr], e: &Expr, st: &mut Option<State>, cx: Cx) {
        use Builtin as B;
        let arg = |k: usize| args.get(k);
        match b {
            B::Get => {
                self.scalar_args(args, st, cx);
                if let Some(u) = arg(0) {
                    let k = if self.replicated(u) { LR } else { RR };
                    self.access(st, u, k, &e.span, cx);
                }
            }
            B::Lookup | B::Contains => {
                self.scalar_args(args, st, cx);
                if let Some(u) = arg(0) {
                    self.access(st, u, RR, &e.span, cx);
                }
            }
            B::Put => {
                self.scalar_args(args, st, cx);
                if let Some(u) = arg(0) {
                    let k = if self.replicated(u) { LW } else { RW };
                    self.access(st, u, k, &e.span, cx);
                }
            }
            B::AtomicAdd => {
                self.scalar_args(args, st, cx);
                if let Some(u) = arg(0) {
                    self.access(st, u, RA, &e.span, cx);
                }
            }
            B::Insert => {
                self.scalar_args(args, st, cx);
                if let Some(u) = arg(0) {
                    self.access(st, u, MI, &e.span, cx);
                }
            }
            B::Barrier => self.full(st),
            B::Fence => {
                self.scalar_args(args, st, cx);
                let c = arg(0).and_then(|u| self.class(u));
                if let (Some(s), Some(c)) = (st.as_mut(), c) {
                    s.pend.remove(&c);
                }
                self.weak(st);
            }
            B::Len if arg(0).is_some_and(|a| matches!(a.ty, Ty::Map(..))) => {
                if let Some(u) = arg(0) {
                    self.access(st, u, RR, &e.span, cx);
                }
                self.weak(st);
            }
            B::Sum
            | B::Prod
            | B::Mean
            | B::Count
            | B::Dot
            | B::Argmin
            | B::Argmax
            | B::Min
            | B::Max
                if args.len() <= 2 && args.iter().any(contains_container) =>
            {
                if matches!(b, B::Min | B::Max) && args.len() != 1 {
                    // Elementwise `min(a, b)` of containers.
                    for a in args {
                        self.fused(a, st, cx);
                    }
                    return;
                }
                for a in args {
                    self.fused(a, st, cx);
                }
                self.weak(st);
            }
            B::Sort
            | B::Resize
            | B::Scan
            | B::Exscan
            | B::Save
            | B::Copy
            | B::Exchange
            | B::Swap
            | B::Load
            | B::Allreduce
            | B::Reduce
            | B::Broadcast
            | B::Allgather
            | B::Gather
            | B::Scatter
            | B::Alltoall
            | B::ScanRanks
            | B::ExscanRanks
            | B::PrintAll => self.container_op(b, args, e, st, cx),
            _ => {
                // Elementwise math, queries, printing, messages: their operands only. Query
                // builtins (`len`, `owner`, `local_len`, ...) read no elements.
                let queries = matches!(
                    b,
                    B::Len | B::Shape | B::LocalLen | B::LocalOffset | B::Owner | B::IsLocal
                );
                for a in args {
                    if queries && a.ty.is_distributed() {
                        continue;
                    }
                    self.expr(a, st, cx);
                }
            }
        }
    }

    /// Container algorithms and the collectives on scalars and local arrays.
    fn container_op(
        &mut self,
        b: Builtin,
        args: &[Expr],
        e: &Expr,
        st: &mut Option<State>,
        cx: Cx,
    ) {
        use Builtin as B;
        let arg = |k: usize| args.get(k);
        match b {
            B::Sort | B::Resize => {
                self.scalar_args(args, st, cx);
                if let Some(u) = arg(0) {
                    self.access(st, u, LR, &e.span, cx);
                    self.access(st, u, LW, &e.span, cx);
                }
                self.weak(st);
                if let (Some(u), true) = (arg(0), st.is_some())
                    && let Some(c) = self.class(u)
                {
                    self.add(st, c, LW, &e.span);
                }
            }
            B::Scan | B::Exscan | B::Save => {
                self.scalar_args(args, st, cx);
                if let Some(u) = arg(0) {
                    self.access(st, u, LR, &e.span, cx);
                }
                self.weak(st);
            }
            B::Copy => {
                self.scalar_args(args, st, cx);
                if let Some(u) = arg(0)
                    && u.ty.is_distributed()
                {
                    self.access(st, u, LR, &e.span, cx);
                    self.weak(st);
                }
            }
            B::Exchange => {
                self.scalar_args(args, st, cx);
                if let Some(u) = arg(0) {
                    self.access(st, u, LR, &e.span, cx);
                }
            }
            B::Swap => {
                self.scalar_args(args, st, cx);
                let a = arg(0).and_then(|u| self.class(u));
                let c = arg(1).and_then(|u| self.class(u));
                if let (Some(s), Some(a), Some(c)) = (st.as_mut(), a, c) {
                    let pa = s.pend.get(&a).cloned();
                    let pc = s.pend.get(&c).cloned();
                    for (to, from) in [(a, pc), (c, pa)] {
                        if let Some(p) = from {
                            s.pend
                                .entry(to)
                                .and_modify(|q| {
                                    q.mask |= p.mask;
                                    q.outer |= p.outer;
                                })
                                .or_insert(p);
                        }
                    }
                }
            }
            B::Load => {
                self.scalar_args(args, st, cx);
                self.weak(st);
            }
            B::Allreduce
            | B::Reduce
            | B::Broadcast
            | B::Allgather
            | B::Gather
            | B::Scatter
            | B::Alltoall
            | B::ScanRanks
            | B::ExscanRanks
            | B::PrintAll => {
                for a in args {
                    self.expr(a, st, cx);
                }
                self.weak(st);
            }
            _ => {}
        }
    }
}

/// `rank() == k` (or `k == rank()`) with `k` uniform: true on one rank only.
fn one_rank(cond: &Expr) -> bool {
    let is_rank = |e: &Expr| {
        matches!(
            e.kind,
            ExprKind::Call {
                callee: Callee::Builtin(Builtin::Rank),
                ..
            }
        )
    };
    match &cond.kind {
        ExprKind::Binary(BinOp::Eq, a, b) => (is_rank(a) && b.uniform) || (is_rank(b) && a.uniform),
        ExprKind::Binary(BinOp::And, a, b) => one_rank(a) || one_rank(b),
        _ => false,
    }
}

/// Builtins whose new container is written locally after their last collective.
fn produces_written_container(e: &Expr) -> bool {
    matches!(
        &e.kind,
        ExprKind::Call {
            callee: Callee::Builtin(
                Builtin::Copy | Builtin::Scan | Builtin::Exscan | Builtin::Load
            ),
            ..
        }
    ) && e.ty.is_distributed()
}

/// Elementwise builtins (applied per element to container operands).
fn is_elementwise(b: Builtin, args: &[Expr]) -> bool {
    use Builtin as B;
    match b {
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
        | B::Select
        | B::Round => true,
        B::Min | B::Max => args.len() == 2,
        _ => false,
    }
}

fn contains_container(e: &Expr) -> bool {
    if e.ty.is_elementwise_container() {
        return true;
    }
    match &e.kind {
        ExprKind::Unary(_, a) | ExprKind::Cast(a, _) => contains_container(a),
        ExprKind::Binary(_, a, b) => contains_container(a) || contains_container(b),
        ExprKind::Call { args, .. } => args.iter().any(contains_container),
        _ => false,
    }
}

fn earlier_words(mask: u8) -> String {
    let mut parts = Vec::new();
    for k in [LW, LR, RR, RW, RA, MI] {
        if mask & k != 0 {
            parts.push(match k {
                LW => "writes",
                LR => "reads",
                RR => "remote reads",
                RW => "puts",
                RA => "atomic adds",
                _ => "inserts",
            });
        }
    }
    if parts.is_empty() {
        "other ranks' accesses".to_string()
    } else {
        format!("other ranks' {}", parts.join(" or "))
    }
}
