//! Lowering of the typed HIR straight into Cranelift IR (our IR: see ARCHITECTURE.md), one
//! Cranelift function per dtl function plus `__init` for `const`/`param` values.
//!
//! What generated code looks like:
//! - Every function takes the rank context (`*mut RankCtx`) first. Calls into the runtime go
//!   through the `extern "C"` table of `dtl_runtime::abi`; after each call that can fail, the
//!   code reads the context's `failed` word and returns at once when it is set.
//! - Whole-container expressions (`c = 2.0*a - 4.5*b`, `sum(u*u)`, `count(u > 0.0)`) are one
//!   loop over local memory: container operands are loaded at the local index, scalar
//!   subexpressions are computed once before the loop, no temporary containers exist.
//! - `forall` loops run over local rows; reads of aligned containers at `i + k` are plain loads
//!   (ghost rows included), prepared once per loop by `dtl_forall_prepare`, which also performs
//!   the halo exchange when the container was written since the last one.
//! - Container handles are reference counted: a `let` takes a reference, the function's exit
//!   releases its locals, temporaries are released at the end of their statement.

use std::collections::HashMap;

use cranelift_codegen::Context;
use cranelift_codegen::ir::condcodes::{CondCode, FloatCC, IntCC};
use cranelift_codegen::ir::{
    AbiParam, Block, BlockArg, FuncRef, InstBuilder, MemFlagsData, Signature, StackSlot,
    StackSlotData, StackSlotKind, Type, Value, types,
};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use cranelift_module::{FuncId, Linkage, Module};
use dtl_runtime::abi::{self, AbiTy, hdr};
use dtl_runtime::error::Site;

use crate::diagnostics::Span;
use crate::hir::{
    self, BinOp, Builtin, Callee, ContainerKind, Expr, ExprKind, ForallOver, Lit, LocalId,
    Partition, Placement, ReduceOp, Scalar, Stmt, Ty, UnOp,
};
use crate::source::SourceMap;
use crate::vmath;

/// A lowering failure. `driver::compile` turns it into what the user sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodegenError {
    /// A valid program uses a construct the code generator does not handle yet: E0501 at the
    /// construct's `span`, with `help` when there is a way around it.
    Unsupported {
        what: String,
        help: Option<String>,
        span: Span,
    },
    /// A broken invariant of the compiler itself (IR that does not verify, a case the checker
    /// rules out, a Cranelift module error): an internal compiler error, never a diagnostic
    /// with an E-code. `span` is where lowering was, when known.
    Internal { detail: String, span: Option<Span> },
}

impl CodegenError {
    /// An internal error without a position gets `span` (the function being lowered), so the
    /// report says where; other errors are unchanged.
    fn or_at(self, span: &Span) -> CodegenError {
        match self {
            CodegenError::Internal { detail, span: None } => CodegenError::Internal {
                detail,
                span: Some(span.clone()),
            },
            e => e,
        }
    }
}

type CResult<T> = Result<T, CodegenError>;

fn unsupported(what: impl Into<String>, span: &Span) -> CodegenError {
    CodegenError::Unsupported {
        what: what.into(),
        help: None,
        span: span.clone(),
    }
}

/// [`unsupported`] with a way around it.
fn unsupported_help(what: impl Into<String>, help: impl Into<String>, span: &Span) -> CodegenError {
    CodegenError::Unsupported {
        what: what.into(),
        help: Some(help.into()),
        span: span.clone(),
    }
}

/// Options of code generation.
#[derive(Clone, Copy, Debug, Default)]
pub struct CodegenOptions {
    /// Leave out bounds checks (`--unchecked`).
    pub unchecked: bool,
    /// Generate entry wrappers so that every function of the user's module can be called by
    /// name (`Program::call_on`; Python kernels). `dtlc run` only needs `main`.
    pub entries: bool,
}

/// What code generation produced besides the functions in the module.
pub struct Output {
    /// `main`, when the program has one (kernel sources for Python need not).
    pub main: Option<FuncId>,
    /// Per function of the user's module: its index in `hir::Module::functions` and its entry
    /// wrapper `fn(cx, argv: *const i64) -> i64` (arguments and result as bits / handles).
    pub entries: Vec<(usize, FuncId)>,
    pub init: FuncId,
    pub sites: Vec<Site>,
    /// String literal bytes the code points into; must outlive the code.
    pub strings: Vec<Box<[u8]>>,
    /// The generated Cranelift IR of every function, when requested.
    pub ir: Vec<String>,
    /// The same after Cranelift's optimizations.
    pub clif: Vec<String>,
    /// The machine code (Cranelift's disassembly of its lowered code).
    pub asm: Vec<String>,
}

/// The Cranelift type of a scalar.
pub fn clif_ty(s: Scalar) -> Type {
    match s {
        Scalar::I8 | Scalar::U8 | Scalar::Bool => types::I8,
        Scalar::I32 | Scalar::U32 => types::I32,
        Scalar::I64 | Scalar::U64 => types::I64,
        Scalar::F32 => types::F32,
        Scalar::F64 => types::F64,
    }
}

fn size_of(s: Scalar) -> i64 {
    clif_ty(s).bytes() as i64
}

fn signed(s: Scalar) -> bool {
    matches!(s, Scalar::I8 | Scalar::I32 | Scalar::I64)
}

/// The runtime's dtype code of a scalar (`abi::dtype_of_code`).
fn dcode(s: Scalar) -> i64 {
    match s {
        Scalar::I8 => 0,
        Scalar::I32 => 1,
        Scalar::I64 => 2,
        Scalar::U8 => 3,
        Scalar::U32 => 4,
        Scalar::U64 => 5,
        Scalar::F32 => 6,
        Scalar::F64 => 7,
        Scalar::Bool => 8,
    }
}

fn opcode(op: ReduceOp) -> i64 {
    match op {
        ReduceOp::Sum => 0,
        ReduceOp::Prod => 1,
        ReduceOp::Min => 2,
        ReduceOp::Max => 3,
        ReduceOp::Land => 4,
        ReduceOp::Lor => 5,
        ReduceOp::Band => 6,
        ReduceOp::Bor => 7,
        ReduceOp::Bxor => 8,
    }
}

fn abity(t: AbiTy) -> Type {
    match t {
        AbiTy::Ptr | AbiTy::I64 => types::I64,
        AbiTy::I32 => types::I32,
        AbiTy::F64 => types::F64,
    }
}

fn is_handle(t: Ty) -> bool {
    t.container().is_some()
}

/// The Cranelift type a value of `t` has in generated code, if it has one.
fn value_ty(t: Ty) -> Option<Type> {
    match t {
        Ty::Scalar(s) => Some(clif_ty(s)),
        t if is_handle(t) => Some(types::I64),
        _ => None,
    }
}

/// Compiles every function of `m` into `module`.
pub fn compile<M: Module>(
    module: &mut M,
    m: &hir::Module,
    sources: &SourceMap,
    opts: CodegenOptions,
    want_text: bool,
) -> CResult<Output> {
    let ptr = module.target_config().pointer_type();
    let mut imports = HashMap::new();
    for e in abi::table() {
        let mut sig = module.make_signature();
        for p in &e.params {
            sig.params.push(AbiParam::new(abity(*p)));
        }
        if let Some(r) = e.ret {
            sig.returns.push(AbiParam::new(abity(r)));
        }
        let id = module
            .declare_function(e.name, Linkage::Import, &sig)
            .map_err(|err| ice(format!("declare {}: {err}", e.name)))?;
        imports.insert(e.name, id);
    }
    let mut funcs = Vec::new();
    let mut sigs = Vec::new();
    for (i, f) in m.functions.iter().enumerate() {
        let mut sig = module.make_signature();
        sig.params.push(AbiParam::new(ptr));
        for p in &f.params {
            let t = f.locals[p.0 as usize].ty;
            let vt = value_ty(t)
                .ok_or_else(|| unsupported(format!("a parameter of type `{t}`"), &f.span))?;
            sig.params.push(AbiParam::new(vt));
        }
        if let Some(rt) = value_ty(f.ret) {
            sig.returns.push(AbiParam::new(rt));
        }
        let name = format!("dtl_fn{i}_{}", f.name.replace("::", "_"));
        let id = module
            .declare_function(&name, Linkage::Local, &sig)
            .map_err(|e| ice(format!("declare {name}: {e}")))?;
        funcs.push(id);
        sigs.push(sig);
    }
    let mut init_sig = module.make_signature();
    init_sig.params.push(AbiParam::new(ptr));
    let init = module
        .declare_function("dtl_init", Linkage::Local, &init_sig)
        .map_err(|e| ice(format!("declare init: {e}")))?;

    let mut names: HashMap<FuncId, String> =
        imports.iter().map(|(n, id)| (*id, n.to_string())).collect();
    for (i, f) in m.functions.iter().enumerate() {
        names.insert(funcs[i], f.name.clone());
    }
    names.insert(init, "__init".into());
    let mut g = Gen {
        module,
        m,
        sources,
        opts,
        imports,
        names,
        funcs,
        sigs,
        sites: Vec::new(),
        site_ids: HashMap::new(),
        strings: Vec::new(),
        ir: Vec::new(),
        clif: Vec::new(),
        asm: Vec::new(),
        want_text,
        kernels: 0,
        kernel_cache: HashMap::new(),
    };
    let mut ctx = g.module.make_context();
    let mut fctx = FunctionBuilderContext::new();
    // Roots: `main`, and with entries every function of the user's module (callable by name).
    let mut roots: Vec<hir::FnId> = m.main.into_iter().collect();
    for (i, f) in m.functions.iter().enumerate() {
        if opts.entries && !f.name.contains("::") {
            roots.push(hir::FnId(i as u32));
        }
    }
    let live = reachable(m, &roots);
    let recursive = recursive_fns(m);
    for (i, &is_live) in live.iter().enumerate() {
        if !is_live {
            // Never called (e.g. the unused parts of an imported stdlib module): not compiled.
            continue;
        }
        ctx.func.signature = g.sigs[i].clone();
        let f = &m.functions[i];
        let legend = {
            let b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
            let mut fx = FnGen::new(&mut g, b, Some(f), &f.locals);
            fx.function(f, recursive[i]).map_err(|e| e.or_at(&f.span))?;
            fx.legend()
        };
        g.define(g.funcs[i], &mut ctx, &f.name, &legend)
            .map_err(|e| e.or_at(&f.span))?;
    }
    // __init: const and param values in declaration order.
    ctx.func.signature = init_sig;
    {
        let b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
        let mut fx = FnGen::new(&mut g, b, None, &[]);
        fx.init_globals()?;
    }
    g.define(init, &mut ctx, "__init", "")?;
    // Entry wrappers of the user's functions: `fn(cx, argv) -> bits`.
    let mut entries = Vec::new();
    for (i, f) in m.functions.iter().enumerate() {
        if !opts.entries || f.name.contains("::") || !live[i] {
            continue;
        }
        let mut sig = g.module.make_signature();
        sig.params.push(AbiParam::new(ptr));
        sig.params.push(AbiParam::new(ptr));
        sig.returns.push(AbiParam::new(types::I64));
        let id = g
            .module
            .declare_function(&format!("dtl_entry{i}"), Linkage::Local, &sig)
            .map_err(|e| ice(format!("declare entry: {e}")))?;
        ctx.func.signature = sig;
        {
            let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
            let blk = b.create_block();
            b.append_block_params_for_function_params(blk);
            b.switch_to_block(blk);
            let cx = b.block_params(blk)[0];
            let argv = b.block_params(blk)[1];
            let mut args = vec![cx];
            for (k, p) in f.params.iter().enumerate() {
                let t = f.locals[p.0 as usize].ty;
                let bits = b.ins().load(types::I64, flags(), argv, (k * 8) as i32);
                let v = match t {
                    Ty::Scalar(sc) => from_bits_in(&mut b, bits, sc),
                    _ => bits,
                };
                args.push(v);
            }
            let callee = g.module.declare_func_in_func(g.funcs[i], b.func);
            let call = b.ins().call(callee, &args);
            let r = b.inst_results(call).first().copied();
            let out = match (r, f.ret) {
                (Some(v), Ty::Scalar(sc)) => bits_in(&mut b, v, sc),
                (Some(v), _) => v,
                (None, _) => b.ins().iconst(types::I64, 0),
            };
            b.ins().return_(&[out]);
            b.seal_all_blocks();
            b.finalize(g.module.target_config());
        }
        g.define(id, &mut ctx, &format!("entry {}", f.name), "")?;
        entries.push((i, id));
    }
    Ok(Output {
        main: m.main.map(|f| g.funcs[f.0 as usize]),
        entries,
        init,
        sites: g.sites,
        strings: g.strings,
        ir: g.ir,
        clif: g.clif,
        asm: g.asm,
    })
}

fn ice(detail: String) -> CodegenError {
    CodegenError::Internal { detail, span: None }
}

struct Gen<'a, M: Module> {
    module: &'a mut M,
    m: &'a hir::Module,
    sources: &'a SourceMap,
    opts: CodegenOptions,
    imports: HashMap<&'static str, FuncId>,
    /// Names of imported and compiled functions by id (for the IR legend).
    names: HashMap<FuncId, String>,
    funcs: Vec<FuncId>,
    sigs: Vec<Signature>,
    sites: Vec<Site>,
    site_ids: HashMap<(u32, usize), i64>,
    strings: Vec<Box<[u8]>>,
    ir: Vec<String>,
    clif: Vec<String>,
    asm: Vec<String>,
    want_text: bool,
    /// Loop functions made so far (`dtl_vecN`, `dtl_loopN`).
    kernels: usize,
    /// `dtl_vecN` functions by the shape of their loop (see `vec_kernel`).
    kernel_cache: HashMap<String, FuncId>,
}

impl<M: Module> Gen<'_, M> {
    fn define(&mut self, id: FuncId, ctx: &mut Context, name: &str, legend: &str) -> CResult<()> {
        if self.want_text {
            self.ir
                .push(format!("; fn {name}\n{legend}{}", ctx.func.display()));
        }
        if cfg!(debug_assertions) {
            let flags =
                cranelift_codegen::settings::Flags::new(cranelift_codegen::settings::builder());
            if let Err(e) = cranelift_codegen::verify_function(&ctx.func, &flags) {
                return Err(ice(format!("IR of `{name}` does not verify: {e}")));
            }
        }
        ctx.set_disasm(self.want_text);
        self.module
            .define_function(id, ctx)
            .map_err(|e| ice(format!("define `{name}`: {e:?}")))?;
        if self.want_text {
            self.clif
                .push(format!("; fn {name}\n{legend}{}", ctx.func.display()));
            let asm = ctx
                .compiled_code()
                .and_then(|c| c.vcode.clone())
                .unwrap_or_default();
            self.asm.push(format!("; fn {name}\n{asm}"));
        }
        self.module.clear_context(ctx);
        Ok(())
    }

    /// Declares a loop function `{prefix}N` (`dtl_vecN`, `dtl_loopN`) with its name for the
    /// IR legend.
    fn declare_loop_fn(&mut self, prefix: &str, sig: &Signature) -> CResult<(FuncId, String)> {
        let name = format!("{prefix}{}", self.kernels);
        self.kernels += 1;
        let id = self
            .module
            .declare_function(&name, Linkage::Local, sig)
            .map_err(|e| ice(format!("declare {name}: {e}")))?;
        self.names.insert(id, name.clone());
        Ok((id, name))
    }

    fn site(&mut self, span: &Span) -> i64 {
        let key = (span.file.0, span.range.start);
        if let Some(&id) = self.site_ids.get(&key) {
            return id;
        }
        let f = self.sources.get(span.file);
        let (line, col) = f.line_col(span.range.start);
        let id = self.sites.len() as i64;
        self.sites.push(Site::new(
            abi::intern_file(f.name()),
            line as u32,
            col as u32,
        ));
        self.site_ids.insert(key, id);
        id
    }
}

/// A value produced by an expression.
#[derive(Clone, Copy, Debug)]
enum V {
    /// A scalar or a container handle.
    Val(Value),
    /// A string literal: address and length.
    Str(Value, Value),
    Unit,
}

/// Lowering state of one `forall` body.
#[derive(Clone)]
struct ForallCx {
    /// The iteration variable of dimension 0 and its local row.
    var0: LocalId,
    k: Value,
    /// Per container indexed at the iteration index: what the loop needs, loaded once.
    modes: HashMap<LocalId, Acc>,
    /// Whether this forall is over a range (no local rows).
    range: bool,
}

/// A container read or written at `i + k` inside a forall, prepared before the loop.
#[derive(Clone, Copy)]
struct Acc {
    /// Nonzero: index by global row (a replicated container); `None`: by local row.
    by_global: Option<Value>,
    data: Value,
    /// Elements per row (`None`: 1, a vector or array).
    row: Option<Value>,
    grows: Value,
    /// Whether out-of-range global rows are errors (not a periodic halo).
    nonperiodic: Value,
    dim1: Value,
    dim2: Value,
}

/// A prepared elementwise operand tree.
#[derive(Clone)]
enum Elem {
    /// A scalar computed before the loop.
    Hoisted(Value),
    /// A container operand: data pointer and element type.
    Leaf(Value, Scalar),
    Unary(UnOp, Box<Elem>, Scalar),
    Binary(BinOp, Box<Elem>, Box<Elem>, Scalar),
    Cast(Box<Elem>, Scalar, Scalar),
    Call(Builtin, Vec<Elem>, Vec<Scalar>, Scalar),
}

struct FnGen<'g, 'a, M: Module> {
    g: &'g mut Gen<'a, M>,
    b: FunctionBuilder<'g>,
    cx: Value,
    vars: Vec<Option<Variable>>,
    local_tys: Vec<Ty>,
    /// Layouts the checker saw (containers made in this function).
    local_layouts: Vec<Option<hir::Layout>>,
    /// Container locals released at exit (not parameters).
    owned_locals: Vec<Variable>,
    /// In a function with more than [`MAX_SSA_HANDLES`] container locals, each one's stack
    /// slot (by local), holding its current handle for the release at the exit.
    handle_slots: Vec<Option<StackSlot>>,
    exit: Block,
    fail: Block,
    ret: Ty,
    loops: Vec<(Block, Block)>,
    temps: Vec<Value>,
    foralls: Vec<ForallCx>,
    fn_refs: HashMap<FuncId, FuncRef>,
    /// Lowering `__init` (globals are being written).
    in_init: bool,
    /// Inside the interior loop of a peeled forall: offset reads are known to be in bounds.
    elide_bounds: bool,
    /// Float constants a loop function receives as arguments (bits, type, parameter): used
    /// instead of `f64const`, which Cranelift rematerializes inside the loop on every use.
    const_args: Vec<(u64, Scalar, Value)>,
    /// While lowering a `forall`: the site its row loops poll the stop word with (column
    /// loops of tensors and the bounded SIMD and fused loops do not poll).
    row_poll: Option<i64>,
}

fn flags() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// Flags of loads from memory that never changes while generated code runs (the rank and size
/// in the context; globals outside `__init`).
fn ro_flags() -> MemFlagsData {
    MemFlagsData::trusted().with_readonly().with_can_move()
}

/// Flags of SIMD loads and stores: valid addresses, but only element-aligned.
fn vflags() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

/// SIMD vectors per iteration of a vectorized elementwise loop (see [`VBody::unroll`]).
const UNROLL: i64 = 2;

/// A function with more container locals than this keeps their handles for the release at its
/// exit in stack slots, not in SSA variables: as variables, every handle stays live from its
/// `let` to the exit, across every block and call in between, and register allocation grows
/// with their product (4,000 allocations in one function took 17 s and 2 GB to compile). Below
/// it, the code is as before.
const MAX_SSA_HANDLES: usize = 64;

/// Iterations between two polls of the stop word in `forall` row loops and `for` loops without
/// a step (see [`FnGen::stepped_loop`]): a poll per iteration cost 5-7 % of a loop as small as
/// `pi`'s; per chunk it is not measurable, and a chunk of iterations takes microseconds (a
/// loop inside polls for itself).
const POLL_EVERY: i64 = 1024;

impl<'g, 'a, M: Module> FnGen<'g, 'a, M> {
    fn new(
        g: &'g mut Gen<'a, M>,
        b: FunctionBuilder<'g>,
        f: Option<&hir::Function>,
        locals: &[hir::LocalDecl],
    ) -> Self {
        Self::with_locals(
            g,
            b,
            f.map_or(Ty::Unit, |f| f.ret),
            f.is_none(),
            locals.iter().map(|l| l.ty).collect(),
            locals.iter().map(|l| l.layout).collect(),
        )
    }

    /// A generator for a function whose locals have these types and layouts (`new` for a
    /// source function or `__init`; a `dtl_loopN` function shares its caller's locals).
    fn with_locals(
        g: &'g mut Gen<'a, M>,
        mut b: FunctionBuilder<'g>,
        ret: Ty,
        in_init: bool,
        local_tys: Vec<Ty>,
        local_layouts: Vec<Option<hir::Layout>>,
    ) -> Self {
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let cx = b.block_params(entry)[0];
        let exit = b.create_block();
        let fail = b.create_block();
        b.set_cold_block(fail);
        FnGen {
            g,
            b,
            cx,
            vars: vec![None; local_tys.len()],
            local_tys,
            local_layouts,
            owned_locals: Vec::new(),
            handle_slots: Vec::new(),
            exit,
            fail,
            ret,
            loops: Vec::new(),
            temps: Vec::new(),
            foralls: Vec::new(),
            fn_refs: HashMap::new(),
            in_init,
            elide_bounds: false,
            const_args: Vec::new(),
            row_poll: None,
        }
    }

    /// `; fnN = name` lines naming the functions this function calls (for `--emit`).
    fn legend(&self) -> String {
        let mut lines: Vec<String> = self
            .fn_refs
            .iter()
            .map(|(id, r)| {
                let n = self.g.names.get(id).map_or("?", |s| s.as_str());
                format!("; {r} = {n}\n")
            })
            .collect();
        lines.sort();
        lines.concat()
    }

    // ------------------------------------------------------------------ basics

    fn iconst(&mut self, t: Type, v: i64) -> Value {
        self.b.ins().iconst(t, v)
    }

    fn i64c(&mut self, v: i64) -> Value {
        self.b.ins().iconst(types::I64, v)
    }

    fn i32c(&mut self, v: i64) -> Value {
        self.b.ins().iconst(types::I32, v)
    }

    fn site(&mut self, span: &Span) -> Value {
        let id = self.g.site(span);
        self.i32c(id)
    }

    fn import(&mut self, name: &str) -> CResult<FuncRef> {
        let id = *self
            .g
            .imports
            .get(name)
            .ok_or_else(|| ice(format!("no runtime entry point {name}")))?;
        Ok(self.func_ref(id))
    }

    fn func_ref(&mut self, id: FuncId) -> FuncRef {
        if let Some(r) = self.fn_refs.get(&id) {
            return *r;
        }
        let r = self.g.module.declare_func_in_func(id, self.b.func);
        self.fn_refs.insert(id, r);
        r
    }

    /// Calls a runtime entry point; `check`: branch to the failure exit if it failed.
    fn rt(&mut self, name: &str, args: &[Value], check: bool) -> CResult<Option<Value>> {
        let f = self.import(name)?;
        let call = self.b.ins().call(f, args);
        let r = self.b.inst_results(call).first().copied();
        if check {
            self.check_failed();
        }
        Ok(r)
    }

    fn rt1(&mut self, name: &str, args: &[Value], check: bool) -> CResult<Value> {
        self.rt(name, args, check)?
            .ok_or_else(|| ice(format!("{name} returns nothing")))
    }

    fn check_failed(&mut self) {
        let f = self
            .b
            .ins()
            .load(types::I64, flags(), self.cx, abi::cx_offsets::FAILED);
        let cont = self.b.create_block();
        self.b.ins().brif(f, self.fail, &[], cont, &[]);
        self.b.switch_to_block(cont);
        self.b.seal_block(cont);
    }

    /// The stop poll at the head of a user loop: one atomic load of the communicator's stop
    /// word (its address is loaded once, outside the loops: a read-only, movable load) and a
    /// branch to a cold block that records why (`dtl_poll_stop`) and takes the failure exit.
    /// The load is atomic so that Cranelift's alias analysis never merges it with an earlier
    /// poll: a loop whose body touches no memory would otherwise read the word only once.
    fn poll_stop(&mut self, site: i64) -> CResult<()> {
        let p = self
            .b
            .ins()
            .load(types::I64, ro_flags(), self.cx, abi::cx_offsets::STOP);
        let w = self.b.ins().atomic_load(types::I64, flags(), p);
        self.fail_path_if(w, "dtl_poll_stop", |g| Ok(vec![g.cx, g.i32c(site)]))
    }

    /// Where `bad` is set, branches to a cold block that calls the runtime entry `entry` with
    /// the arguments `args` emits there, then takes the failure exit; otherwise goes on.
    fn fail_path_if(
        &mut self,
        bad: Value,
        entry: &str,
        args: impl FnOnce(&mut Self) -> CResult<Vec<Value>>,
    ) -> CResult<()> {
        let failb = self.b.create_block();
        self.b.set_cold_block(failb);
        let cont = self.b.create_block();
        self.b.ins().brif(bad, failb, &[], cont, &[]);
        self.b.switch_to_block(failb);
        self.b.seal_block(failb);
        let args = args(self)?;
        self.rt(entry, &args, false)?;
        self.b.ins().jump(self.fail, &[]);
        self.b.switch_to_block(cont);
        self.b.seal_block(cont);
        Ok(())
    }

    fn hdr(&mut self, h: Value, off: i32) -> Value {
        self.b.ins().load(types::I64, flags(), h, off)
    }

    fn hdr_ptr(&mut self, h: Value) -> Value {
        self.b.ins().load(types::I64, flags(), h, hdr::DATA)
    }

    /// Emits a call of `dtl_fail_bounds` and the jump to the failure exit when `bad` is set.
    fn bounds_fail_if(&mut self, bad: Value, index: Value, len: Value, span: &Span) -> CResult<()> {
        self.fail_path_if(bad, "dtl_fail_bounds", |g| {
            Ok(vec![g.cx, index, len, g.site(span)])
        })
    }

    /// Fails with `dtl_fail(what)` when `bad` is set.
    fn fail_if(&mut self, bad: Value, what: i64, span: &Span) -> CResult<()> {
        self.fail_path_if(bad, "dtl_fail", |g| {
            let s = g.site(span);
            Ok(vec![g.cx, g.i64c(what), s])
        })
    }

    /// `0 <= i < n` fails (unless unchecked).
    fn check_index(&mut self, i: Value, n: Value, span: &Span) -> CResult<()> {
        if self.g.opts.unchecked {
            return Ok(());
        }
        let bad = self.b.ins().icmp(IntCC::UnsignedGreaterThanOrEqual, i, n);
        self.bounds_fail_if(bad, i, n, span)
    }

    fn zero_of(&mut self, t: Type) -> Value {
        if t == types::F64 {
            self.b.ins().f64const(0.0)
        } else if t == types::F32 {
            self.b.ins().f32const(0.0)
        } else {
            self.b.ins().iconst(t, 0)
        }
    }

    // ------------------------------------------------------------------ scalars as bits

    fn bits_of(&mut self, v: Value, s: Scalar) -> Value {
        bits_in(&mut self.b, v, s)
    }

    fn value_of_bits(&mut self, v: Value, s: Scalar) -> Value {
        from_bits_in(&mut self.b, v, s)
    }

    /// Any integer scalar as an i64 (sign- or zero-extended).
    fn as_i64(&mut self, v: Value, s: Scalar) -> Value {
        if s.is_float() {
            let t = if s == Scalar::F32 {
                self.b.ins().fpromote(types::F64, v)
            } else {
                v
            };
            return self.b.ins().fcvt_to_sint_sat(types::I64, t);
        }
        self.bits_of(v, s)
    }

    fn as_f64(&mut self, v: Value, s: Scalar) -> Value {
        match s {
            Scalar::F64 => v,
            Scalar::F32 => self.b.ins().fpromote(types::F64, v),
            s if signed(s) => self.b.ins().fcvt_from_sint(types::F64, v),
            _ => self.b.ins().fcvt_from_uint(types::F64, v),
        }
    }

    // ------------------------------------------------------------------ function bodies

    /// A source function; `recursive`: it can call itself (see [`recursive_fns`]), so its
    /// prologue checks the stack depth.
    fn function(&mut self, f: &hir::Function, recursive: bool) -> CResult<()> {
        // Parameters.
        let entry = self
            .b
            .current_block()
            .ok_or_else(|| ice("no entry block".into()))?;
        let params: Vec<Value> = self.b.block_params(entry)[1..].to_vec();
        for (p, v) in f.params.iter().zip(params) {
            let t = self.local_tys[p.0 as usize];
            let vt = value_ty(t).ok_or_else(|| ice("param type".into()))?;
            let var = self.b.declare_var(vt);
            self.b.def_var(var, v);
            self.vars[p.0 as usize] = Some(var);
        }
        // A recursive function that runs collectives also counts its nesting: each level waits
        // for every rank, so the stack would take minutes to run out.
        let counted = recursive && f.collective;
        if recursive {
            self.stack_check(f, counted)?;
        }
        self.declare_vars(true);
        let rt = value_ty(f.ret);
        if let Some(t) = rt {
            self.b.append_block_param(self.exit, t);
        }
        let tail = self.block(&f.body)?;
        if !self.terminated() {
            match (tail, rt) {
                (Some(V::Val(v)), Some(_)) => {
                    let v = self.own_for_return(v, f.ret);
                    self.b.ins().jump(self.exit, &[BlockArg::Value(v)]);
                }
                (_, Some(t)) => {
                    // Falling off the end of a function with a result (the checker allows it
                    // only after diverging code): return zero.
                    let z = self.zero_of(t);
                    self.b.ins().jump(self.exit, &[BlockArg::Value(z)]);
                }
                (_, None) => {
                    self.b.ins().jump(self.exit, &[]);
                }
            }
        }
        // Normal exit: release owned container locals.
        self.b.switch_to_block(self.exit);
        if counted {
            let left = self.b.ins().load(
                types::I64,
                flags(),
                self.cx,
                abi::cx_offsets::COLLECTIVE_DEPTH_LEFT,
            );
            let left = self.b.ins().iadd_imm_s(left, 1);
            self.b.ins().store(
                flags(),
                left,
                self.cx,
                abi::cx_offsets::COLLECTIVE_DEPTH_LEFT,
            );
        }
        let site = self.site(&f.span);
        for var in self.owned_locals.clone() {
            let h = self.b.use_var(var);
            let cx = self.cx;
            self.rt("dtl_release", &[cx, h, site], false)?;
        }
        for slot in self.handle_slots.clone().into_iter().flatten() {
            let h = self.b.ins().stack_load(types::I64, types::I64, slot, 0);
            let cx = self.cx;
            self.rt("dtl_release", &[cx, h, site], false)?;
        }
        match rt {
            Some(_) => {
                let v = self.b.block_params(self.exit)[0];
                self.b.ins().return_(&[v]);
            }
            None => {
                self.b.ins().return_(&[]);
            }
        }
        self.finish(&rt.into_iter().collect::<Vec<_>>());
        Ok(())
    }

    /// The stack-depth check of a recursive function's prologue: with the stack pointer (after
    /// this function's frame is allocated) below the rank context's `stack_limit`, fail with
    /// R0015 at the function's definition and return, instead of overflowing the stack. The
    /// limit leaves `dtl_runtime::sys::STACK_MARGIN` bytes for the runtime's own calls. With
    /// `counted` (a collective function) it also takes one level from the context's
    /// `collective_depth_left` (given back at the normal exit) and fails when none is left.
    fn stack_check(&mut self, f: &hir::Function, counted: bool) -> CResult<()> {
        let sp = self.b.ins().get_stack_pointer(types::I64);
        let lim = self
            .b
            .ins()
            .load(types::I64, flags(), self.cx, abi::cx_offsets::STACK_LIMIT);
        let mut bad = self.b.ins().icmp(IntCC::UnsignedLessThan, sp, lim);
        if counted {
            let off = abi::cx_offsets::COLLECTIVE_DEPTH_LEFT;
            let left = self.b.ins().load(types::I64, flags(), self.cx, off);
            let left = self.b.ins().iadd_imm_s(left, -1);
            self.b.ins().store(flags(), left, self.cx, off);
            let none = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, left, 0);
            bad = self.b.ins().bor(bad, none);
        }
        self.fail_path_if(bad, "dtl_stack_overflow", |g| {
            let bytes: Box<[u8]> = f.name.as_bytes().into();
            let p = g.i64c(bytes.as_ptr() as i64);
            let n = g.i64c(bytes.len() as i64);
            g.g.strings.push(bytes);
            let s = g.site(&f.span);
            Ok(vec![g.cx, p, n, s])
        })
    }

    /// Declares a variable, zero at the start, for every local with a value that has none
    /// yet (container locals start null, so releasing them is always safe); with
    /// `own_handles` the container ones are released at the normal exit. A function with more
    /// than [`MAX_SSA_HANDLES`] of them keeps each one's handle in a stack slot for that
    /// release instead (see [`FnGen::handle_slots`]).
    fn declare_vars(&mut self, own_handles: bool) {
        let owned = (0..self.local_tys.len())
            .filter(|&i| self.vars[i].is_none() && is_handle(self.local_tys[i]))
            .count();
        let slots = own_handles && owned > MAX_SSA_HANDLES;
        if slots {
            self.handle_slots = vec![None; self.local_tys.len()];
        }
        for (i, t) in self.local_tys.clone().into_iter().enumerate() {
            if self.vars[i].is_none()
                && let Some(vt) = value_ty(t)
            {
                let var = self.b.declare_var(vt);
                let z = self.zero_of(vt);
                self.b.def_var(var, z);
                self.vars[i] = Some(var);
                if own_handles && is_handle(t) {
                    if slots {
                        let slot = self.b.create_sized_stack_slot(StackSlotData::new(
                            StackSlotKind::ExplicitSlot,
                            8,
                            3,
                        ));
                        self.b.ins().stack_store(types::I64, z, slot, 0);
                        self.handle_slots[i] = Some(slot);
                    } else {
                        self.owned_locals.push(var);
                    }
                }
            }
        }
    }

    /// The failure exit (returns zeros of `rets`), then the function is complete.
    fn finish(&mut self, rets: &[Type]) {
        self.b.switch_to_block(self.fail);
        let zeros: Vec<Value> = rets.iter().map(|t| self.zero_of(*t)).collect();
        self.b.ins().return_(&zeros);
        self.b.seal_all_blocks();
        let b = std::mem::replace(&mut self.b, dummy_builder());
        b.finalize(self.g.module.target_config());
    }

    fn init_globals(&mut self) -> CResult<()> {
        let m = self.g.m;
        let gp = self
            .b
            .ins()
            .load(types::I64, flags(), self.cx, abi::cx_offsets::GLOBALS);
        for (i, gl) in m.globals.iter().enumerate() {
            let Ty::Scalar(s) = gl.ty else {
                return Err(unsupported(
                    format!("a global of type `{}`", gl.ty),
                    &gl.span,
                ));
            };
            let v = self.scalar(&gl.init)?;
            let mut bits = self.bits_of(v, s);
            if gl.kind == hir::GlobalKind::Param {
                let gi = self.i64c(i as i64);
                let cx = self.cx;
                bits = self.rt1("dtl_param", &[cx, gi, bits], false)?;
            }
            self.b.ins().store(flags(), bits, gp, (i * 8) as i32);
        }
        self.b.ins().jump(self.exit, &[]);
        self.b.switch_to_block(self.exit);
        self.b.ins().return_(&[]);
        self.finish(&[]);
        Ok(())
    }

    fn terminated(&self) -> bool {
        match self.b.current_block() {
            None => true,
            Some(bl) => self
                .b
                .func
                .layout
                .last_inst(bl)
                .is_some_and(|i| self.b.func.dfg.insts[i].opcode().is_terminator()),
        }
    }

    /// Starts an unreachable block after a terminator, so following statements have a home.
    fn ensure_open(&mut self) {
        if self.terminated() {
            let b = self.b.create_block();
            self.b.switch_to_block(b);
            self.b.seal_block(b);
        }
    }

    fn block(&mut self, blk: &hir::Block) -> CResult<Option<V>> {
        for s in &blk.stmts {
            self.ensure_open();
            self.stmt(s)?;
        }
        self.ensure_open();
        match &blk.tail {
            Some(e) => {
                let v = self.expr(e)?;
                Ok(Some(v))
            }
            None => Ok(None),
        }
    }

    fn release_temps(&mut self, from: usize, site: &Span) -> CResult<()> {
        if self.temps.len() <= from {
            return Ok(());
        }
        let ts: Vec<Value> = self.temps.drain(from..).collect();
        if self.terminated() {
            return Ok(());
        }
        let s = self.site(site);
        for t in ts {
            let cx = self.cx;
            self.rt("dtl_release", &[cx, t, s], true)?;
        }
        Ok(())
    }

    /// Takes ownership of a handle value for storing or returning: a temporary's reference is
    /// transferred, any other value gets a new reference.
    fn own(&mut self, v: Value) -> Value {
        if let Some(p) = self.temps.iter().rposition(|t| *t == v) {
            self.temps.remove(p);
        } else {
            let f = self.import("dtl_retain").ok();
            if let Some(f) = f {
                self.b.ins().call(f, &[v]);
            }
        }
        v
    }

    fn own_for_return(&mut self, v: Value, t: Ty) -> Value {
        if is_handle(t) { self.own(v) } else { v }
    }

    fn stmt(&mut self, s: &Stmt) -> CResult<()> {
        let mark = self.temps.len();
        match s {
            Stmt::Let { local, init, span } => {
                let t = self.local_tys[local.0 as usize];
                let v = self.expr(init)?;
                if let (V::Val(v), Some(var)) = (v, self.vars[local.0 as usize]) {
                    if is_handle(t) {
                        let v = self.own(v);
                        let slot = self.handle_slots.get(local.0 as usize).copied().flatten();
                        let old = match slot {
                            Some(slot) => self.b.ins().stack_load(types::I64, types::I64, slot, 0),
                            None => self.b.use_var(var),
                        };
                        let site = self.site(span);
                        let cx = self.cx;
                        self.rt("dtl_release", &[cx, old, site], true)?;
                        self.b.def_var(var, v);
                        if let Some(slot) = slot {
                            self.b.ins().stack_store(types::I64, v, slot, 0);
                        }
                    } else {
                        self.b.def_var(var, v);
                    }
                }
                self.release_temps(mark, span)?;
            }
            Stmt::Assign {
                target,
                op,
                value,
                span,
            } => {
                self.assign(target, *op, value, span)?;
                self.release_temps(mark, span)?;
            }
            Stmt::Expr(e) => {
                self.expr_stmt(e)?;
                self.release_temps(mark, &e.span)?;
            }
            Stmt::If {
                cond,
                then,
                els,
                span,
            } => {
                let tb = self.b.create_block();
                let eb = self.b.create_block();
                let join = self.b.create_block();
                if branchy(cond) {
                    self.cond_branch(cond, tb, eb)?;
                } else {
                    let c = self.scalar(cond)?;
                    self.release_temps(mark, span)?;
                    self.b.ins().brif(c, tb, &[], eb, &[]);
                }
                self.b.switch_to_block(tb);
                self.b.seal_block(tb);
                self.block(then)?;
                if !self.terminated() {
                    self.b.ins().jump(join, &[]);
                }
                self.b.switch_to_block(eb);
                self.b.seal_block(eb);
                if let Some(e) = els {
                    self.block(e)?;
                }
                if !self.terminated() {
                    self.b.ins().jump(join, &[]);
                }
                self.b.switch_to_block(join);
                self.b.seal_block(join);
            }
            Stmt::While { cond, body, span } => {
                let head = self.b.create_block();
                let bodyb = self.b.create_block();
                let exit = self.b.create_block();
                self.b.ins().jump(head, &[]);
                self.b.switch_to_block(head);
                if branchy(cond) {
                    self.cond_branch(cond, bodyb, exit)?;
                } else {
                    let c = self.scalar(cond)?;
                    self.release_temps(mark, span)?;
                    // Exit first: see `stepped_loop`.
                    let done = self.b.ins().icmp_imm_s(IntCC::Equal, c, 0);
                    self.b.ins().brif(done, exit, &[], bodyb, &[]);
                }
                self.b.switch_to_block(bodyb);
                self.b.seal_block(bodyb);
                let site = self.g.site(span);
                self.poll_stop(site)?;
                self.loops.push((head, exit));
                self.block(body)?;
                self.loops.pop();
                if !self.terminated() {
                    self.b.ins().jump(head, &[]);
                }
                self.b.seal_block(head);
                self.b.switch_to_block(exit);
                self.b.seal_block(exit);
            }
            Stmt::For {
                var,
                start,
                end,
                step,
                body,
                span,
            } => {
                let a = self.scalar(start)?;
                let e = self.scalar(end)?;
                let st = match step {
                    Some(s) => {
                        let v = self.scalar(s)?;
                        let bad = self.b.ins().icmp_imm_s(IntCC::SignedLessThanOrEqual, v, 0);
                        self.fail_if(bad, 2, span)?;
                        v
                    }
                    None => self.i64c(1),
                };
                self.release_temps(mark, span)?;
                // A straight float body over `local` arrays runs its whole vectors first.
                let a = if step.is_none() {
                    self.for_simd(*var, a, e, body)?
                } else {
                    a
                };
                let ivar = self.b.declare_var(types::I64);
                self.b.def_var(ivar, a);
                let head = self.b.create_block();
                let bodyb = self.b.create_block();
                let inc = self.b.create_block();
                let exit = self.b.create_block();
                let site = self.g.site(span);
                // Without a step, the iterations run in chunks of POLL_EVERY with a poll
                // before each (as `stepped_loop`); with one, the poll is per iteration.
                let (limit, chead) = if step.is_none() {
                    let chead = self.b.create_block();
                    let cbody = self.b.create_block();
                    self.b.ins().jump(chead, &[]);
                    self.b.switch_to_block(chead);
                    let i = self.b.use_var(ivar);
                    let done = self.b.ins().icmp(IntCC::SignedGreaterThanOrEqual, i, e);
                    self.b.ins().brif(done, exit, &[], cbody, &[]);
                    self.b.switch_to_block(cbody);
                    self.b.seal_block(cbody);
                    self.poll_stop(site)?;
                    // i < e: see `stepped_loop`.
                    let rem = self.b.ins().isub(e, i);
                    let most = self.i64c(POLL_EVERY);
                    let take = self.b.ins().umin(rem, most);
                    let cend = self.b.ins().iadd(i, take);
                    self.b.ins().jump(head, &[]);
                    (cend, Some(chead))
                } else {
                    self.b.ins().jump(head, &[]);
                    (e, None)
                };
                self.b.switch_to_block(head);
                let i = self.b.use_var(ivar);
                // Exit first: see `stepped_loop`.
                let done = self.b.ins().icmp(IntCC::SignedGreaterThanOrEqual, i, limit);
                self.b
                    .ins()
                    .brif(done, chead.unwrap_or(exit), &[], bodyb, &[]);
                self.b.switch_to_block(bodyb);
                self.b.seal_block(bodyb);
                if chead.is_none() {
                    self.poll_stop(site)?;
                }
                if let Some(v) = self.vars[var.0 as usize] {
                    self.b.def_var(v, i);
                }
                self.loops.push((inc, exit));
                self.block(body)?;
                self.loops.pop();
                if !self.terminated() {
                    self.b.ins().jump(inc, &[]);
                }
                self.b.switch_to_block(inc);
                self.b.seal_block(inc);
                let i = self.b.use_var(ivar);
                if step.is_none() {
                    // i < end <= i64::MAX here, so i + 1 cannot overflow.
                    let n = self.b.ins().iadd_imm_s(i, 1);
                    self.b.def_var(ivar, n);
                } else {
                    // Stop instead of wrapping around at the top of the i64 range.
                    let (n, of) = self.b.ins().sadd_overflow(i, st);
                    self.b.def_var(ivar, n);
                    let cont = self.b.create_block();
                    self.b.ins().brif(of, exit, &[], cont, &[]);
                    self.b.switch_to_block(cont);
                    self.b.seal_block(cont);
                }
                self.b.ins().jump(head, &[]);
                self.b.seal_block(head);
                if let Some(c) = chead {
                    self.b.seal_block(c);
                }
                self.b.switch_to_block(exit);
                self.b.seal_block(exit);
            }
            Stmt::Forall {
                vars,
                over,
                reductions,
                body,
                span,
            } => {
                self.forall(vars, over, reductions, body, span)?;
                self.release_temps(mark, span)?;
            }
            Stmt::Return { value, span } => {
                let rv = match value {
                    Some(e) => match self.expr(e)? {
                        V::Val(v) => Some(self.own_for_return(v, e.ty)),
                        _ => None,
                    },
                    None => None,
                };
                self.release_temps(mark, span)?;
                if !self.foralls.is_empty() {
                    return Err(unsupported("`return` inside a `forall` body", span));
                }
                match rv {
                    Some(v) => {
                        self.b.ins().jump(self.exit, &[BlockArg::Value(v)]);
                    }
                    None => {
                        if let Some(t) = value_ty(self.ret) {
                            let z = self.zero_of(t);
                            self.b.ins().jump(self.exit, &[BlockArg::Value(z)]);
                        } else {
                            self.b.ins().jump(self.exit, &[]);
                        }
                    }
                }
            }
            Stmt::Break(span) => {
                let (_, exit) = *self
                    .loops
                    .last()
                    .ok_or_else(|| unsupported("`break` outside a loop", span))?;
                self.b.ins().jump(exit, &[]);
            }
            Stmt::Continue(span) => {
                let (cont, _) = *self
                    .loops
                    .last()
                    .ok_or_else(|| unsupported("`continue` outside a loop", span))?;
                self.b.ins().jump(cont, &[]);
            }
            Stmt::Block(b) => {
                self.block(b)?;
            }
        }
        Ok(())
    }

    /// An expression statement: like `expr`, except that a map `atomic_add` whose result is
    /// unused needs no lookup.
    fn expr_stmt(&mut self, e: &Expr) -> CResult<()> {
        if let ExprKind::Call {
            callee: Callee::Builtin(Builtin::AtomicAdd),
            args,
            ..
        } = &e.kind
        {
            if matches!(args[0].ty, Ty::Map(..)) {
                self.map_add(args, &e.span, false)?;
                return Ok(());
            }
            // The old value is not used: the update may be combined and sent in bulk.
            let h = self.handle(&args[0])?;
            let i = self.index_value(&args[1])?;
            let (x, xs) = self.arg_scalar(&args[2])?;
            let bits = self.bits_of(x, xs);
            let z = self.i64c(0);
            let s = self.site(&e.span);
            let cx = self.cx;
            self.rt("dtl_atomic_add_nr", &[cx, h, i, z, bits, s], true)?;
            return Ok(());
        }
        self.expr(e)?;
        Ok(())
    }

    // ------------------------------------------------------------------ expressions

    fn scalar(&mut self, e: &Expr) -> CResult<Value> {
        match self.expr(e)? {
            V::Val(v) => Ok(v),
            _ => Err(ice(format!("expected a value from {:?}", e.kind))),
        }
    }

    fn handle(&mut self, e: &Expr) -> CResult<Value> {
        self.scalar(e)
    }

    fn scalar_of(t: Ty, span: &Span) -> CResult<Scalar> {
        match t {
            Ty::Scalar(s) => Ok(s),
            _ => Err(CodegenError::Internal {
                detail: format!("expected a scalar, found `{t}`"),
                span: Some(span.clone()),
            }),
        }
    }

    fn expr(&mut self, e: &Expr) -> CResult<V> {
        // Whole-container expressions used as values (e.g. passed to a function) are computed
        // into a fresh container.
        if e.ty.is_elementwise_container() && self.is_elementwise_op(e) {
            return Err(unsupported_help(
                "a whole-container expression used as a value",
                "assign it to a container first (`let t = ...;`) and use that",
                &e.span,
            ));
        }
        Ok(match &e.kind {
            ExprKind::Lit(l) => match l {
                Lit::Int(v) => {
                    let s = Self::scalar_of(e.ty, &e.span)?;
                    if s.is_float() {
                        V::Val(self.fconst(*v as f64, s))
                    } else {
                        V::Val(self.iconst(clif_ty(s), *v as i64))
                    }
                }
                Lit::Float(f) => {
                    let s = Self::scalar_of(e.ty, &e.span)?;
                    V::Val(self.fconst(*f, s))
                }
                Lit::Bool(b) => V::Val(self.iconst(types::I8, *b as i64)),
                Lit::Str(s) => {
                    let bytes: Box<[u8]> = s.as_bytes().into();
                    let p = bytes.as_ptr() as i64;
                    let n = bytes.len() as i64;
                    self.g.strings.push(bytes);
                    let pv = self.i64c(p);
                    let nv = self.i64c(n);
                    V::Str(pv, nv)
                }
            },
            ExprKind::Local(l) => {
                let var = self.vars[l.0 as usize]
                    .ok_or_else(|| ice(format!("local {} has no variable", l.0)))?;
                V::Val(self.b.use_var(var))
            }
            ExprKind::Global(g) => {
                let s = Self::scalar_of(e.ty, &e.span)?;
                // Globals never change after `__init`, so elsewhere their loads may be hoisted
                // out of loops and merged.
                let fl = if self.in_init { flags() } else { ro_flags() };
                let gp = self
                    .b
                    .ins()
                    .load(types::I64, fl, self.cx, abi::cx_offsets::GLOBALS);
                let bits = self.b.ins().load(types::I64, fl, gp, (g.0 * 8) as i32);
                V::Val(self.value_of_bits(bits, s))
            }
            ExprKind::Op(_) => V::Unit,
            ExprKind::Unary(op, a) => {
                let s = Self::scalar_of(e.ty, &e.span)?;
                let v = self.scalar(a)?;
                V::Val(self.unary(*op, v, s))
            }
            ExprKind::Binary(op, a, b) => V::Val(self.binary_scalar(*op, a, b, &e.span)?),
            ExprKind::Cast(a, to) => {
                let from = Self::scalar_of(a.ty, &a.span)?;
                let v = self.scalar(a)?;
                V::Val(self.cast(v, from, *to))
            }
            ExprKind::Call {
                callee,
                args,
                layout,
            } => match callee {
                Callee::Fn(f) => self.user_call(*f, args, e)?,
                Callee::Builtin(b) => self.builtin(*b, args, *layout, e)?,
            },
            ExprKind::Index(base, idx) => V::Val(self.index_read(base, idx, e)?),
            ExprKind::Construct { dims, fill, layout } => {
                V::Val(self.construct(e, dims, fill.as_deref(), *layout)?)
            }
            ExprKind::Error => {
                return Err(ice("an erroneous expression reached code generation".into()));
            }
        })
    }

    fn fconst(&mut self, f: f64, s: Scalar) -> Value {
        if let Some((_, _, v)) = self
            .const_args
            .iter()
            .find(|(bits, t, _)| *bits == f.to_bits() && *t == s)
        {
            return *v;
        }
        if s == Scalar::F32 {
            self.b.ins().f32const(f as f32)
        } else {
            self.b.ins().f64const(f)
        }
    }

    fn unary(&mut self, op: UnOp, v: Value, s: Scalar) -> Value {
        match op {
            UnOp::Neg if s.is_float() => self.b.ins().fneg(v),
            UnOp::Neg => self.b.ins().ineg(v),
            UnOp::Not => self.b.ins().bxor_imm_s(v, 1),
        }
    }

    /// Branches to `t` if the condition holds, else to `f`, with `&&`, `||` and `!` as control
    /// flow: no boolean is materialized, and the block testing a later conjunct dominates `t`,
    /// so code there reuses what the test computed (`zx * zx` in `while k < m && zx * zx + zy
    /// * zy <= 4.0 { … zx * zx … }`). Every branch names `f` first (see `stepped_loop`). Only
    /// for conditions without container temporaries ([`branchy`]).
    fn cond_branch(&mut self, c: &Expr, t: Block, f: Block) -> CResult<()> {
        match &c.kind {
            ExprKind::Binary(op @ (BinOp::And | BinOp::Or), a, b) => {
                let mid = self.b.create_block();
                if *op == BinOp::And {
                    self.cond_branch(a, mid, f)?;
                } else {
                    self.cond_branch(a, t, mid)?;
                }
                self.b.switch_to_block(mid);
                self.b.seal_block(mid);
                self.cond_branch(b, t, f)
            }
            ExprKind::Unary(UnOp::Not, a) => self.cond_branch(a, f, t),
            // A float comparison: its inverse (true on NaN where the comparison is false)
            // branches to `f`, one compare-and-branch instead of a flag tested again.
            ExprKind::Binary(
                op @ (BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge),
                a,
                b,
            ) if matches!(a.ty, Ty::Scalar(s) if s.is_float()) => {
                let x = self.scalar(a)?;
                let y = self.scalar(b)?;
                let no = self.b.ins().fcmp(float_cc(*op).complement(), x, y);
                self.b.ins().brif(no, f, &[], t, &[]);
                Ok(())
            }
            _ => {
                let v = self.scalar(c)?;
                let no = self.b.ins().icmp_imm_s(IntCC::Equal, v, 0);
                self.b.ins().brif(no, f, &[], t, &[]);
                Ok(())
            }
        }
    }

    fn binary_scalar(&mut self, op: BinOp, a: &Expr, b: &Expr, span: &Span) -> CResult<Value> {
        match op {
            BinOp::And | BinOp::Or if is_cheap(b) => {
                // Both sides are cheap and cannot fail: no branch needed.
                let x = self.scalar(a)?;
                let y = self.scalar(b)?;
                Ok(if op == BinOp::And {
                    self.b.ins().band(x, y)
                } else {
                    self.b.ins().bor(x, y)
                })
            }
            BinOp::And | BinOp::Or => {
                // Short-circuit.
                let x = self.scalar(a)?;
                let rb = self.b.create_block();
                let join = self.b.create_block();
                let res = self.b.append_block_param(join, types::I8);
                if op == BinOp::And {
                    self.b.ins().brif(x, rb, &[], join, &[BlockArg::Value(x)]);
                } else {
                    self.b.ins().brif(x, join, &[BlockArg::Value(x)], rb, &[]);
                }
                self.b.switch_to_block(rb);
                self.b.seal_block(rb);
                // Temporaries made on the right side live only on this path: release them here.
                let mark = self.temps.len();
                let y = self.scalar(b)?;
                self.release_temps(mark, &b.span)?;
                self.b.ins().jump(join, &[BlockArg::Value(y)]);
                self.b.switch_to_block(join);
                self.b.seal_block(join);
                Ok(res)
            }
            _ => {
                let s = Self::scalar_of(a.ty, &a.span)?;
                let x = self.scalar(a)?;
                let y = self.scalar(b)?;
                self.binop(op, x, y, s, span)
            }
        }
    }

    /// A binary operation on scalars of type `s` (the operand type).
    fn binop(&mut self, op: BinOp, x: Value, y: Value, s: Scalar, span: &Span) -> CResult<Value> {
        let f = s.is_float();
        let sg = signed(s);
        let ins = self.b.ins();
        Ok(match op {
            BinOp::Add if f => ins.fadd(x, y),
            BinOp::Sub if f => ins.fsub(x, y),
            BinOp::Mul if f => ins.fmul(x, y),
            BinOp::Div if f => ins.fdiv(x, y),
            BinOp::Rem if f => {
                let xd = self.as_f64(x, s);
                let yd = self.as_f64(y, s);
                let r = self.rt1("dtl_fmod", &[xd, yd], false)?;
                if s == Scalar::F32 {
                    self.b.ins().fdemote(types::F32, r)
                } else {
                    r
                }
            }
            BinOp::Add => ins.iadd(x, y),
            BinOp::Sub => ins.isub(x, y),
            BinOp::Mul => ins.imul(x, y),
            BinOp::Div | BinOp::Rem => return self.int_div(op, x, y, s, span),
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge if f => {
                ins.fcmp(float_cc(op), x, y)
            }
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let cc = match (op, sg) {
                    (BinOp::Eq, _) => IntCC::Equal,
                    (BinOp::Ne, _) => IntCC::NotEqual,
                    (BinOp::Lt, true) => IntCC::SignedLessThan,
                    (BinOp::Le, true) => IntCC::SignedLessThanOrEqual,
                    (BinOp::Gt, true) => IntCC::SignedGreaterThan,
                    (BinOp::Ge, true) => IntCC::SignedGreaterThanOrEqual,
                    (BinOp::Lt, false) => IntCC::UnsignedLessThan,
                    (BinOp::Le, false) => IntCC::UnsignedLessThanOrEqual,
                    (BinOp::Gt, false) => IntCC::UnsignedGreaterThan,
                    _ => IntCC::UnsignedGreaterThanOrEqual,
                };
                ins.icmp(cc, x, y)
            }
            BinOp::And => ins.band(x, y),
            BinOp::Or => ins.bor(x, y),
        })
    }

    fn int_div(&mut self, op: BinOp, x: Value, y: Value, s: Scalar, span: &Span) -> CResult<Value> {
        let zero = self.b.ins().icmp_imm_s(IntCC::Equal, y, 0);
        self.fail_if(zero, 0, span)?;
        if signed(s) {
            // MIN / -1 wraps (as Rust's wrapping_div) instead of trapping.
            let t = clif_ty(s);
            let m1 = self.b.ins().icmp_imm_s(IntCC::Equal, y, -1);
            let one = self.iconst(t, 1);
            let safe = self.b.ins().select(m1, one, y);
            Ok(if op == BinOp::Div {
                let q = self.b.ins().sdiv(x, safe);
                let n = self.b.ins().ineg(x);
                self.b.ins().select(m1, n, q)
            } else {
                self.b.ins().srem(x, safe)
            })
        } else {
            Ok(if op == BinOp::Div {
                self.b.ins().udiv(x, y)
            } else {
                self.b.ins().urem(x, y)
            })
        }
    }

    fn cast(&mut self, v: Value, from: Scalar, to: Scalar) -> Value {
        if from == to {
            return v;
        }
        let (ft, tt) = (clif_ty(from), clif_ty(to));
        if to == Scalar::Bool {
            return if from.is_float() {
                let z = self.fconst(0.0, from);
                self.b.ins().fcmp(FloatCC::NotEqual, v, z)
            } else {
                self.b.ins().icmp_imm_s(IntCC::NotEqual, v, 0)
            };
        }
        match (from.is_float(), to.is_float()) {
            (true, true) => {
                if to == Scalar::F64 {
                    self.b.ins().fpromote(types::F64, v)
                } else {
                    self.b.ins().fdemote(types::F32, v)
                }
            }
            (false, true) => {
                if signed(from) {
                    self.b.ins().fcvt_from_sint(tt, v)
                } else {
                    self.b.ins().fcvt_from_uint(tt, v)
                }
            }
            (true, false) => {
                // Saturating, as Rust's `as`.
                let wide = if tt.bits() < 32 { types::I32 } else { tt };
                let r = if signed(to) {
                    self.b.ins().fcvt_to_sint_sat(wide, v)
                } else {
                    self.b.ins().fcvt_to_uint_sat(wide, v)
                };
                if wide != tt {
                    let (lo, hi) = if signed(to) { (-128, 127) } else { (0, 255) };
                    let lo = self.iconst(types::I32, lo);
                    let hi = self.iconst(types::I32, hi);
                    let r = self.b.ins().smax(r, lo);
                    let r = self.b.ins().smin(r, hi);
                    self.b.ins().ireduce(tt, r)
                } else {
                    r
                }
            }
            (false, false) => {
                if tt.bits() < ft.bits() {
                    self.b.ins().ireduce(tt, v)
                } else if tt.bits() > ft.bits() {
                    if signed(from) {
                        self.b.ins().sextend(tt, v)
                    } else {
                        self.b.ins().uextend(tt, v)
                    }
                } else {
                    v
                }
            }
        }
    }

    fn user_call(&mut self, f: hir::FnId, args: &[Expr], e: &Expr) -> CResult<V> {
        let mut vals = vec![self.cx];
        for a in args {
            match self.expr(a)? {
                V::Val(v) => vals.push(v),
                _ => return Err(ice("argument without a value".into())),
            }
        }
        let id = self.g.funcs[f.0 as usize];
        let r = self.func_ref(id);
        let call = self.b.ins().call(r, &vals);
        let res = self.b.inst_results(call).first().copied();
        self.check_failed();
        Ok(match res {
            Some(v) => {
                if is_handle(e.ty) {
                    self.temps.push(v);
                }
                V::Val(v)
            }
            None => V::Unit,
        })
    }

    // ------------------------------------------------------------------ containers

    fn construct(
        &mut self,
        e: &Expr,
        dims: &[Expr],
        fill: Option<&Expr>,
        layout: hir::Layout,
    ) -> CResult<Value> {
        let elem =
            e.ty.elem()
                .ok_or_else(|| ice("construct without element type".into()))?;
        let fillv = match fill {
            Some(f) => {
                let v = self.scalar(f)?;
                self.bits_of(v, elem)
            }
            None => self.i64c(0),
        };
        let site = self.site(&e.span);
        let cx = self.cx;
        let dt = self.i32c(dcode(elem));
        let h = match e.ty.container() {
            Some(ContainerKind::Local) => {
                let n = self.scalar(&dims[0])?;
                self.rt1("dtl_local_new", &[cx, dt, n, fillv, site], true)?
            }
            Some(ContainerKind::Map) => self.rt1("dtl_map_new", &[cx, dt, site], true)?,
            Some(_) => {
                let mut ds = Vec::new();
                for d in dims {
                    ds.push(self.scalar(d)?);
                }
                while ds.len() < 3 {
                    ds.push(self.i64c(1));
                }
                let nd = self.i64c(dims.len() as i64);
                let (part, bs) = self.partition_code(layout.partition, &e.span)?;
                let (hw, per) = match layout.halo {
                    Some(h) => (h.width, h.periodic as i64),
                    None => (-1, 0),
                };
                let place = match layout.placement {
                    Placement::Host | Placement::DevicePreferred => 0,
                    Placement::Device(_) => 1,
                    Placement::Unified => 2,
                };
                let part = self.i64c(part);
                let bs = self.i64c(bs);
                let hw = self.i64c(hw);
                let per = self.i64c(per);
                let place = self.i64c(place);
                self.rt1(
                    "dtl_dist_new",
                    &[
                        cx, dt, nd, ds[0], ds[1], ds[2], part, bs, hw, per, place, fillv, site,
                    ],
                    true,
                )?
            }
            None => return Err(ice("construct of a non-container".into())),
        };
        self.temps.push(h);
        Ok(h)
    }

    fn partition_code(&mut self, p: Partition, span: &Span) -> CResult<(i64, i64)> {
        Ok(match p {
            Partition::Block | Partition::Hash => (0, 0),
            Partition::Cyclic => (1, 0),
            Partition::BlockCyclic(Some(b)) => (2, b),
            Partition::BlockCyclic(None) => {
                return Err(unsupported(
                    "`@block_cyclic(b)` with a block size that is not a compile-time constant",
                    span,
                ));
            }
            Partition::Replicated => (3, 0),
        })
    }

    /// The offset of a column index list `[j, l]` within a row, bounds-checked.
    fn row_offset(&mut self, h: Value, idx: &[Expr], span: &Span) -> CResult<Value> {
        if idx.len() <= 1 {
            return Ok(self.i64c(0));
        }
        let j = self.index_value(&idx[1])?;
        let d1 = self.hdr(h, hdr::DIM1);
        self.check_index(j, d1, span)?;
        if idx.len() == 2 {
            return Ok(j);
        }
        let l = self.index_value(&idx[2])?;
        let d2 = self.hdr(h, hdr::DIM2);
        self.check_index(l, d2, span)?;
        let jj = self.b.ins().imul(j, d2);
        Ok(self.b.ins().iadd(jj, l))
    }

    fn index_value(&mut self, e: &Expr) -> CResult<Value> {
        let v = self.scalar(e)?;
        let s = Self::scalar_of(e.ty, &e.span)?;
        Ok(self.as_i64(v, s))
    }

    /// The address of element `idx` of `base` when this is a fast forall access.
    fn forall_addr(
        &mut self,
        base: &Expr,
        idx: &[Expr],
        span: &Span,
    ) -> CResult<Option<(Value, Scalar)>> {
        let Some(fa) = self.foralls.last().cloned() else {
            return Ok(None);
        };
        if fa.range {
            return Ok(None);
        }
        let ExprKind::Local(bl) = &base.kind else {
            return Ok(None);
        };
        let Some(&acc) = fa.modes.get(bl) else {
            return Ok(None);
        };
        let Some(off) = iter_offset(&idx[0], fa.var0) else {
            return Ok(None);
        };
        let elem = base
            .ty
            .elem()
            .ok_or_else(|| ice("index of non-container".into()))?;
        let gvar = self.vars[fa.var0.0 as usize].ok_or_else(|| ice("forall var".into()))?;
        let gi = self.b.use_var(gvar);
        let grow = self.b.ins().iadd_imm_s(gi, off);
        let lrow = self.b.ins().iadd_imm_s(fa.k, off);
        if off != 0 && !self.g.opts.unchecked && !self.elide_bounds {
            // Within the global index range unless the halo is periodic.
            let out = self
                .b
                .ins()
                .icmp(IntCC::UnsignedGreaterThanOrEqual, grow, acc.grows);
            let bad = self.b.ins().band(out, acc.nonperiodic);
            self.bounds_fail_if(bad, grow, acc.grows, span)?;
        }
        let row = match acc.by_global {
            Some(m) => self.b.ins().select(m, grow, lrow),
            None => lrow,
        };
        let flat = match acc.row {
            None => row,
            Some(rowlen) => {
                let col = self.cols(acc.dim1, acc.dim2, idx, span)?;
                let r = self.b.ins().imul(row, rowlen);
                self.b.ins().iadd(r, col)
            }
        };
        let bytes = self.b.ins().imul_imm_s(flat, size_of(elem));
        Ok(Some((self.b.ins().iadd(acc.data, bytes), elem)))
    }

    /// The offset within a row of `t[i, j]` / `t[i, j, l]` (bounds-checked).
    fn cols(&mut self, d1: Value, d2: Value, idx: &[Expr], span: &Span) -> CResult<Value> {
        if idx.len() <= 1 {
            return Ok(self.i64c(0));
        }
        let j = self.index_value(&idx[1])?;
        self.check_index(j, d1, span)?;
        if idx.len() == 2 {
            return Ok(j);
        }
        let l = self.index_value(&idx[2])?;
        self.check_index(l, d2, span)?;
        let jj = self.b.ins().imul(j, d2);
        Ok(self.b.ins().iadd(jj, l))
    }

    fn index_read(&mut self, base: &Expr, idx: &[Expr], e: &Expr) -> CResult<Value> {
        let elem = Self::scalar_of(e.ty, &e.span)?;
        if let Some((addr, s)) = self.forall_addr(base, idx, &e.span)? {
            return Ok(self.b.ins().load(clif_ty(s), flags(), addr, 0));
        }
        let h = self.handle(base)?;
        if matches!(base.ty, Ty::Local(_)) {
            let addr = self.local_addr(h, &idx[0], elem, &e.span)?;
            return Ok(self.b.ins().load(clif_ty(elem), flags(), addr, 0));
        }
        let row = self.index_value(&idx[0])?;
        let off = self.row_offset(h, idx, &e.span)?;
        let site = self.site(&e.span);
        let cx = self.cx;
        let bits = self.rt1("dtl_read", &[cx, h, row, off, site], true)?;
        Ok(self.value_of_bits(bits, elem))
    }

    fn local_addr(&mut self, h: Value, i: &Expr, elem: Scalar, span: &Span) -> CResult<Value> {
        let k = self.index_value(i)?;
        let n = self.hdr(h, hdr::ROWS);
        self.check_index(k, n, span)?;
        let data = self.hdr_ptr(h);
        let off = self.b.ins().imul_imm_s(k, size_of(elem));
        Ok(self.b.ins().iadd(data, off))
    }

    fn index_write(
        &mut self,
        base: &Expr,
        idx: &[Expr],
        op: Option<BinOp>,
        value: &Expr,
        span: &Span,
    ) -> CResult<()> {
        let elem = base
            .ty
            .elem()
            .ok_or_else(|| ice("index of non-container".into()))?;
        let addr = if let Some((addr, _)) = self.forall_addr(base, idx, span)? {
            Some(addr)
        } else if matches!(base.ty, Ty::Local(_)) {
            let h = self.handle(base)?;
            Some(self.local_addr(h, &idx[0], elem, span)?)
        } else {
            None
        };
        match addr {
            Some(addr) => {
                let mut v = self.scalar(value)?;
                if let Some(op) = op {
                    let old = self.b.ins().load(clif_ty(elem), flags(), addr, 0);
                    v = self.binop(op, old, v, elem, span)?;
                }
                self.b.ins().store(flags(), v, addr, 0);
            }
            None => {
                let h = self.handle(base)?;
                let row = self.index_value(&idx[0])?;
                let off = self.row_offset(h, idx, span)?;
                let site = self.site(span);
                let cx = self.cx;
                let mut v = self.scalar(value)?;
                if let Some(op) = op {
                    let bits = self.rt1("dtl_read", &[cx, h, row, off, site], true)?;
                    let old = self.value_of_bits(bits, elem);
                    v = self.binop(op, old, v, elem, span)?;
                }
                let bits = self.bits_of(v, elem);
                self.rt("dtl_write", &[cx, h, row, off, bits, site], true)?;
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------------ assignment

    fn assign(
        &mut self,
        target: &Expr,
        op: Option<BinOp>,
        value: &Expr,
        span: &Span,
    ) -> CResult<()> {
        match &target.kind {
            ExprKind::Index(base, idx) => self.index_write(base, idx, op, value, span),
            ExprKind::Local(l) => {
                let t = self.local_tys[l.0 as usize];
                if t.is_elementwise_container() || matches!(t, Ty::Local(_)) {
                    return self.fused_assign(target, op, value, span);
                }
                if is_handle(t) {
                    return Err(unsupported(format!("assigning to a `{t}` variable"), span));
                }
                let var = self.vars[l.0 as usize].ok_or_else(|| ice("assign var".into()))?;
                let s = Self::scalar_of(t, span)?;
                let mut v = self.scalar(value)?;
                if let Some(op) = op {
                    let old = self.b.use_var(var);
                    v = self.binop(op, old, v, s, span)?;
                }
                self.b.def_var(var, v);
                Ok(())
            }
            _ => Err(unsupported("this assignment target", span)),
        }
    }

    /// Is `e` a whole-container operation (as opposed to a container-valued leaf)?
    fn is_elementwise_op(&self, e: &Expr) -> bool {
        if !(e.ty.is_elementwise_container() || matches!(e.ty, Ty::Local(_))) {
            return false;
        }
        match &e.kind {
            ExprKind::Unary(..) | ExprKind::Binary(..) | ExprKind::Cast(..) => true,
            ExprKind::Call {
                callee: Callee::Builtin(b),
                ..
            } => matches!(
                b,
                Builtin::Sin
                    | Builtin::Cos
                    | Builtin::Tan
                    | Builtin::Exp
                    | Builtin::Log
                    | Builtin::Sqrt
                    | Builtin::Abs
                    | Builtin::Floor
                    | Builtin::Ceil
                    | Builtin::Pow
                    | Builtin::Min
                    | Builtin::Max
                    | Builtin::Select
            ),
            _ => false,
        }
    }

    /// Prepares an elementwise tree: hoists scalars, evaluates container leaves to handles.
    fn prep(&mut self, e: &Expr, leaves: &mut Vec<Value>) -> CResult<Elem> {
        let is_cont = e.ty.is_elementwise_container() || matches!(e.ty, Ty::Local(_));
        if !is_cont {
            let v = self.scalar(e)?;
            return Ok(Elem::Hoisted(v));
        }
        let s =
            e.ty.elem()
                .ok_or_else(|| ice("elementwise without element type".into()))?;
        if !self.is_elementwise_op(e) {
            let h = self.handle(e)?;
            leaves.push(h);
            let data = self.hdr_ptr(h);
            return Ok(Elem::Leaf(data, s));
        }
        Ok(match &e.kind {
            ExprKind::Unary(op, a) => Elem::Unary(*op, Box::new(self.prep(a, leaves)?), s),
            ExprKind::Binary(op, a, b) => {
                let os = a.ty.elem().ok_or_else(|| ice("binary operand".into()))?;
                let x = self.prep(a, leaves)?;
                let y = self.prep(b, leaves)?;
                Elem::Binary(*op, Box::new(x), Box::new(y), os)
            }
            ExprKind::Cast(a, to) => {
                let from = a.ty.elem().ok_or_else(|| ice("cast operand".into()))?;
                Elem::Cast(Box::new(self.prep(a, leaves)?), from, *to)
            }
            ExprKind::Call {
                callee: Callee::Builtin(b),
                args,
                ..
            } => {
                let mut xs = Vec::new();
                let mut ss = Vec::new();
                for a in args {
                    ss.push(a.ty.elem().ok_or_else(|| ice("call operand".into()))?);
                    xs.push(self.prep(a, leaves)?);
                }
                Elem::Call(*b, xs, ss, s)
            }
            _ => return Err(ice("elementwise form".into())),
        })
    }

    /// Emits the element `k` of a prepared tree, the calls of the tree (`sin(a)`, `cos(b)`) first and
    /// the rest after them: the operands of the rest are then loaded after the calls instead of
    /// being kept across them (every float register is caller-saved, so a value kept across a
    /// call is stored to the stack and loaded back).
    fn emit_elem_calls_first(&mut self, n: &Elem, k: Value, span: &Span) -> CResult<Value> {
        let mut done: Vec<(*const Elem, Value)> = Vec::new();
        self.emit_calls(n, k, span, &mut done)?;
        self.emit_elem_with(n, k, span, &done)
    }

    /// Emits every [`Elem::Call`] of a tree (innermost first), recording its value.
    fn emit_calls(
        &mut self,
        n: &Elem,
        k: Value,
        span: &Span,
        done: &mut Vec<(*const Elem, Value)>,
    ) -> CResult<()> {
        match n {
            Elem::Hoisted(_) | Elem::Leaf(..) => {}
            Elem::Unary(_, a, _) | Elem::Cast(a, _, _) => self.emit_calls(a, k, span, done)?,
            Elem::Binary(_, a, b, _) => {
                self.emit_calls(a, k, span, done)?;
                self.emit_calls(b, k, span, done)?;
            }
            Elem::Call(..) => {
                let v = self.emit_elem_with(n, k, span, done)?;
                done.push((n as *const Elem, v));
            }
        }
        Ok(())
    }

    /// Emits the element `k` of a prepared tree, where the nodes in `done` already have their
    /// values.
    fn emit_elem_with(
        &mut self,
        n: &Elem,
        k: Value,
        span: &Span,
        done: &[(*const Elem, Value)],
    ) -> CResult<Value> {
        if let Some((_, v)) = done.iter().find(|(p, _)| std::ptr::eq(*p, n)) {
            return Ok(*v);
        }
        Ok(match n {
            Elem::Hoisted(v) => *v,
            Elem::Leaf(data, s) => {
                let off = self.b.ins().imul_imm_s(k, size_of(*s));
                let a = self.b.ins().iadd(*data, off);
                self.b.ins().load(clif_ty(*s), flags(), a, 0)
            }
            Elem::Unary(op, a, s) => {
                let v = self.emit_elem_with(a, k, span, done)?;
                self.unary(*op, v, *s)
            }
            Elem::Binary(op, a, b, os) => {
                let x = self.emit_elem_with(a, k, span, done)?;
                let y = self.emit_elem_with(b, k, span, done)?;
                match op {
                    BinOp::And => self.b.ins().band(x, y),
                    BinOp::Or => self.b.ins().bor(x, y),
                    _ => self.binop(*op, x, y, *os, span)?,
                }
            }
            Elem::Cast(a, from, to) => {
                let v = self.emit_elem_with(a, k, span, done)?;
                self.cast(v, *from, *to)
            }
            Elem::Call(b, xs, ss, s) => {
                let mut vs = Vec::new();
                for x in xs {
                    vs.push(self.emit_elem_with(x, k, span, done)?);
                }
                self.math(*b, &vs, ss, *s)?
            }
        })
    }

    /// Elementwise math on scalar values.
    fn math(&mut self, b: Builtin, vs: &[Value], ss: &[Scalar], s: Scalar) -> CResult<Value> {
        let x = vs[0];
        let xs = ss[0];
        Ok(match b {
            Builtin::Sqrt => self.b.ins().sqrt(x),
            Builtin::Floor => self.b.ins().floor(x),
            Builtin::Ceil => self.b.ins().ceil(x),
            Builtin::Abs if xs.is_float() => self.b.ins().fabs(x),
            Builtin::Abs if signed(xs) => self.b.ins().iabs(x),
            Builtin::Abs => x,
            Builtin::Sin | Builtin::Cos | Builtin::Tan | Builtin::Exp | Builtin::Log => {
                let name = libm_entry(b).ok_or_else(|| ice("math entry".into()))?;
                let d = self.as_f64(x, xs);
                let r = self.rt1(name, &[d], false)?;
                if s == Scalar::F32 {
                    self.b.ins().fdemote(types::F32, r)
                } else {
                    r
                }
            }
            Builtin::Pow => {
                let a = self.as_f64(x, xs);
                let bb = self.as_f64(vs[1], ss[1]);
                let r = self.rt1("dtl_pow", &[a, bb], false)?;
                if s == Scalar::F32 {
                    self.b.ins().fdemote(types::F32, r)
                } else {
                    r
                }
            }
            Builtin::Min | Builtin::Max => {
                let y = vs[1];
                let min = b == Builtin::Min;
                if xs.is_float() {
                    if min {
                        self.b.ins().fmin(x, y)
                    } else {
                        self.b.ins().fmax(x, y)
                    }
                } else if signed(xs) {
                    if min {
                        self.b.ins().smin(x, y)
                    } else {
                        self.b.ins().smax(x, y)
                    }
                } else if min {
                    self.b.ins().umin(x, y)
                } else {
                    self.b.ins().umax(x, y)
                }
            }
            Builtin::Select => self.b.ins().select(vs[0], vs[1], vs[2]),
            _ => return Err(ice(format!("`{}` is not elementwise", b.name()))),
        })
    }

    /// A counted loop `k in 0..n`, with `body(k)`.
    fn counted_loop(
        &mut self,
        n: Value,
        poll: Option<i64>,
        body: impl FnMut(&mut Self, Value) -> CResult<()>,
    ) -> CResult<()> {
        let z = self.i64c(0);
        self.stepped_loop(z, n, 1, poll, body)
    }

    /// A loop over `k in a.0..a.1` then `k in b.0..b.1` (`a.0 <= a.1 <= b.0 <= b.1`) with one
    /// copy of `body(k)`: the two edge ranges around an interior that runs separately.
    fn range_pair_loop(
        &mut self,
        a: (Value, Value),
        b: (Value, Value),
        poll: Option<i64>,
        mut body: impl FnMut(&mut Self, Value) -> CResult<()>,
    ) -> CResult<()> {
        let head = self.b.create_block();
        let bodyb = self.b.create_block();
        let exit = self.b.create_block();
        let kv = self.b.append_block_param(head, types::I64);
        self.b.ins().jump(head, &[BlockArg::Value(a.0)]);
        self.b.switch_to_block(head);
        let at_gap = self.b.ins().icmp(IntCC::Equal, kv, a.1);
        let k = self.b.ins().select(at_gap, b.0, kv);
        // Exit first: see `stepped_loop`.
        let done = self.b.ins().icmp(IntCC::SignedGreaterThanOrEqual, k, b.1);
        self.b.ins().brif(done, exit, &[], bodyb, &[]);
        self.b.switch_to_block(bodyb);
        self.b.seal_block(bodyb);
        if let Some(site) = poll {
            self.poll_stop(site)?;
        }
        body(self, k)?;
        let k1 = self.b.ins().iadd_imm_s(k, 1);
        self.b.ins().jump(head, &[BlockArg::Value(k1)]);
        self.b.seal_block(head);
        self.b.switch_to_block(exit);
        self.b.seal_block(exit);
        Ok(())
    }

    /// A loop `k = start; k < end; k += step`, with `body(k)`. With `poll` (a site) the
    /// iterations run in chunks of [`POLL_EVERY`], and the stop word is polled before each
    /// chunk (see [`FnGen::poll_stop`]): the loop that runs the body is the unpolled one.
    fn stepped_loop(
        &mut self,
        start: Value,
        end: Value,
        step: i64,
        poll: Option<i64>,
        mut body: impl FnMut(&mut Self, Value) -> CResult<()>,
    ) -> CResult<()> {
        let head = self.b.create_block();
        let bodyb = self.b.create_block();
        let exit = self.b.create_block();
        let kv = self.b.append_block_param(head, types::I64);
        // Without a poll the loop leaves to `exit`; with one, to the chunk loop's head.
        let (limit, leave) = match poll {
            None => {
                self.b.ins().jump(head, &[BlockArg::Value(start)]);
                (end, None)
            }
            Some(site) => {
                let chead = self.b.create_block();
                let cbody = self.b.create_block();
                let cv = self.b.append_block_param(chead, types::I64);
                self.b.ins().jump(chead, &[BlockArg::Value(start)]);
                self.b.switch_to_block(chead);
                let done = self.b.ins().icmp(IntCC::SignedGreaterThanOrEqual, cv, end);
                self.b.ins().brif(done, exit, &[], cbody, &[]);
                self.b.switch_to_block(cbody);
                self.b.seal_block(cbody);
                self.poll_stop(site)?;
                // cv < end: `end - cv` is the exact distance as an unsigned value, and the
                // chunk's end `cv + min(distance, POLL_EVERY * step)` cannot pass `end`.
                let rem = self.b.ins().isub(end, cv);
                let most = self.i64c(POLL_EVERY.saturating_mul(step.max(1)));
                let take = self.b.ins().umin(rem, most);
                let cend = self.b.ins().iadd(cv, take);
                self.b.ins().jump(head, &[BlockArg::Value(cv)]);
                (cend, Some(chead))
            }
        };
        self.b.switch_to_block(head);
        // The exit is the branch's first target: Cranelift's optimizer (0.135) visits the
        // header's successors in that order, and only elaborates the body while it still
        // knows it is inside the loop when the body comes second; otherwise loop-invariant
        // values are computed inside the loop instead of hoisted out of it.
        let done = self
            .b
            .ins()
            .icmp(IntCC::SignedGreaterThanOrEqual, kv, limit);
        match leave {
            None => self.b.ins().brif(done, exit, &[], bodyb, &[]),
            Some(chead) => self
                .b
                .ins()
                .brif(done, chead, &[BlockArg::Value(kv)], bodyb, &[]),
        };
        self.b.switch_to_block(bodyb);
        self.b.seal_block(bodyb);
        body(self, kv)?;
        let k1 = self.b.ins().iadd_imm_s(kv, step);
        self.b.ins().jump(head, &[BlockArg::Value(k1)]);
        self.b.seal_block(head);
        if let Some(chead) = leave {
            self.b.seal_block(chead);
        }
        self.b.switch_to_block(exit);
        self.b.seal_block(exit);
        Ok(())
    }

    /// The SIMD type for elements of `s`, when elementwise code over `s` can use one.
    fn simd_ty(s: Scalar) -> Option<Type> {
        match s {
            Scalar::F64 => Some(types::F64X2),
            Scalar::F32 => Some(types::F32X4),
            _ => None,
        }
    }

    /// Whether a tree can be computed on SIMD vectors of `s` (only same-typed float
    /// arithmetic and the functions Cranelift has vector instructions for).
    fn vectorizable(n: &Elem, s: Scalar) -> bool {
        match n {
            Elem::Hoisted(..) => true,
            Elem::Leaf(_, ls) => *ls == s,
            Elem::Unary(UnOp::Neg, a, us) => *us == s && Self::vectorizable(a, s),
            Elem::Unary(..) => false,
            Elem::Binary(op, a, b, os) => {
                *os == s
                    && matches!(op, BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div)
                    && Self::vectorizable(a, s)
                    && Self::vectorizable(b, s)
            }
            Elem::Cast(..) => false,
            Elem::Call(b, xs, ss, rs) => {
                *rs == s
                    && ss.iter().all(|x| *x == s)
                    && simd_math(*b, s)
                    && xs.iter().all(|x| Self::vectorizable(x, s))
            }
        }
    }

    fn fused_assign(
        &mut self,
        target: &Expr,
        op: Option<BinOp>,
        value: &Expr,
        span: &Span,
    ) -> CResult<()> {
        let elem = target
            .ty
            .elem()
            .ok_or_else(|| ice("container target".into()))?;
        let h = self.handle(target)?;
        // `l = other_local` of different lengths, `u = v` of different layouts: checked here.
        let mut leaves = Vec::new();
        let tree = self.prep(value, &mut leaves)?;
        let site = self.site(span);
        for l in &leaves {
            let cx = self.cx;
            self.rt("dtl_check_aligned", &[cx, h, *l, site], true)?;
        }
        let data = self.hdr_ptr(h);
        let rows = self.hdr(h, hdr::ROWS);
        let row = self.hdr(h, hdr::ROW);
        let n = self.b.ins().imul(rows, row);
        let es = size_of(elem);
        let mut start = self.i64c(0);
        let op_ok = matches!(
            op,
            None | Some(BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div)
        );
        if let Some(vt) = Self::simd_ty(elem).filter(|_| op_ok && Self::vectorizable(&tree, elem)) {
            // The SIMD loop: a function of its own (see `vec_kernel`), target pointer first.
            let mut ptrs = vec![data];
            let mut args = Vec::new();
            if let Some(value) = elem_vexpr(&tree, &mut ptrs, &mut args) {
                let stmts = [VStmt {
                    target: 0,
                    op,
                    value,
                }];
                let body = VBody::Store(&stmts);
                let chunk = vt.lane_count() as i64 * body.unroll();
                let kernel = vec_kernel(self.g, elem, ptrs.len(), args.len(), body, vt)?;
                let nv = self.b.ins().band_imm_s(n, !(chunk - 1));
                let f = self.func_ref(kernel);
                let call_args: Vec<Value> = std::iter::once(nv).chain(ptrs).chain(args).collect();
                self.b.ins().call(f, &call_args);
                start = nv;
            }
        }
        self.stepped_loop(start, n, 1, None, |s, k| {
            let mut v = s.emit_elem_calls_first(&tree, k, span)?;
            let off = s.b.ins().imul_imm_s(k, es);
            let a = s.b.ins().iadd(data, off);
            if let Some(op) = op {
                let old = s.b.ins().load(clif_ty(elem), flags(), a, 0);
                v = s.binop(op, old, v, elem, span)?;
            }
            s.b.ins().store(flags(), v, a, 0);
            Ok(())
        })?;
        self.mark_dirty(h);
        Ok(())
    }

    fn mark_dirty(&mut self, h: Value) {
        let one = self.i64c(1);
        self.b.ins().store(flags(), one, h, hdr::DIRTY);
    }

    // ------------------------------------------------------------------ reductions

    fn identity(&mut self, op: ReduceOp, s: Scalar) -> Value {
        let t = clif_ty(s);
        match (op, s.is_float()) {
            (ReduceOp::Sum | ReduceOp::Lor | ReduceOp::Bor | ReduceOp::Bxor, true) => {
                self.fconst(0.0, s)
            }
            (ReduceOp::Prod, true) => self.fconst(1.0, s),
            (ReduceOp::Min, true) => self.fconst(f64::INFINITY, s),
            (ReduceOp::Max, true) => self.fconst(f64::NEG_INFINITY, s),
            (ReduceOp::Land, true) => self.fconst(1.0, s),
            (ReduceOp::Band, true) => self.fconst(0.0, s),
            (ReduceOp::Sum | ReduceOp::Lor | ReduceOp::Bor | ReduceOp::Bxor, false) => {
                self.iconst(t, 0)
            }
            (ReduceOp::Prod | ReduceOp::Land, false) => self.iconst(t, 1),
            (ReduceOp::Band, false) => self.iconst(t, -1),
            (ReduceOp::Min, false) => {
                let v = match s {
                    Scalar::I8 => i8::MAX as i64,
                    Scalar::I32 => i32::MAX as i64,
                    Scalar::I64 => i64::MAX,
                    Scalar::Bool => 1,
                    _ => -1,
                };
                self.iconst(t, v)
            }
            (ReduceOp::Max, false) => {
                let v = match s {
                    Scalar::I8 => i8::MIN as i64,
                    Scalar::I32 => i32::MIN as i64,
                    Scalar::I64 => i64::MIN,
                    _ => 0,
                };
                self.iconst(t, v)
            }
        }
    }

    fn combine(
        &mut self,
        op: ReduceOp,
        a: Value,
        b: Value,
        s: Scalar,
        span: &Span,
    ) -> CResult<Value> {
        Ok(match op {
            ReduceOp::Sum => self.binop(BinOp::Add, a, b, s, span)?,
            ReduceOp::Prod => self.binop(BinOp::Mul, a, b, s, span)?,
            ReduceOp::Min => self.math(Builtin::Min, &[a, b], &[s, s], s)?,
            ReduceOp::Max => self.math(Builtin::Max, &[a, b], &[s, s], s)?,
            ReduceOp::Land | ReduceOp::Band if !s.is_float() => self.b.ins().band(a, b),
            ReduceOp::Lor | ReduceOp::Bor if !s.is_float() => self.b.ins().bor(a, b),
            ReduceOp::Bxor if !s.is_float() => self.b.ins().bxor(a, b),
            _ => {
                return Err(unsupported(
                    format!("reduction `{}` on floats", op.name()),
                    span,
                ));
            }
        })
    }

    /// `v` when container `h` is replicated (uniform decision: every rank sees the same
    /// partition), else its allreduce.
    fn allreduce_unless_replicated(
        &mut self,
        h: Value,
        v: Value,
        s: Scalar,
        op: ReduceOp,
        span: &Span,
    ) -> CResult<Value> {
        let kind = self.hdr(h, hdr::KIND);
        let rep = self
            .b
            .ins()
            .icmp_imm_s(IntCC::Equal, kind, abi::kind::REPLICATED);
        let rb = self.b.create_block();
        let ab = self.b.create_block();
        let join = self.b.create_block();
        let res = self.b.append_block_param(join, clif_ty(s));
        self.b.ins().brif(rep, rb, &[], ab, &[]);
        self.b.switch_to_block(rb);
        self.b.seal_block(rb);
        self.b.ins().jump(join, &[BlockArg::Value(v)]);
        self.b.switch_to_block(ab);
        self.b.seal_block(ab);
        let g = self.allreduce_val(v, s, op, span)?;
        self.b.ins().jump(join, &[BlockArg::Value(g)]);
        self.b.switch_to_block(join);
        self.b.seal_block(join);
        Ok(res)
    }

    fn allreduce_val(&mut self, v: Value, s: Scalar, op: ReduceOp, span: &Span) -> CResult<Value> {
        let bits = self.bits_of(v, s);
        let dt = self.i32c(dcode(s));
        let o = self.i32c(opcode(op));
        let site = self.site(span);
        let cx = self.cx;
        let r = self.rt1("dtl_allreduce", &[cx, bits, dt, o, site], true)?;
        Ok(self.value_of_bits(r, s))
    }

    /// `sum/prod/min/max/count(e)`, `dot(a, b)`: one fused loop and one allreduce (none for
    /// replicated operands, which every rank holds whole).
    fn container_reduce(
        &mut self,
        op: ReduceOp,
        e: &Expr,
        acc_s: Scalar,
        count: bool,
        span: &Span,
    ) -> CResult<Value> {
        let mut leaves = Vec::new();
        let tree = self.prep(e, &mut leaves)?;
        let first = *leaves
            .first()
            .ok_or_else(|| unsupported("a reduction without a container", span))?;
        let site = self.site(span);
        for l in &leaves[1..] {
            let cx = self.cx;
            self.rt("dtl_check_aligned", &[cx, first, *l, site], true)?;
        }
        let rows = self.hdr(first, hdr::ROWS);
        let row = self.hdr(first, hdr::ROW);
        let n = self.b.ins().imul(rows, row);
        let acc = self.b.declare_var(clif_ty(acc_s));
        let id = self.identity(op, acc_s);
        self.b.def_var(acc, id);
        let mut start = self.i64c(0);
        let es = e.ty.elem().unwrap_or(acc_s);
        let op_ok = matches!(op, ReduceOp::Sum | ReduceOp::Min | ReduceOp::Max);
        if let Some(vt) = Self::simd_ty(acc_s)
            .filter(|_| !count && op_ok && es == acc_s && Self::vectorizable(&tree, acc_s))
        {
            // The SIMD loop: a function of its own (see `vec_kernel`) returning the vector
            // accumulators combined; their lanes are combined here.
            let mut ptrs = Vec::new();
            let mut args = Vec::new();
            if let Some(value) = elem_vexpr(&tree, &mut ptrs, &mut args) {
                let lanes = vt.lane_count() as i64;
                let body = VBody::Reduce(op, &value);
                let chunk = lanes * body.unroll();
                let kernel = vec_kernel(self.g, acc_s, ptrs.len(), args.len(), body, vt)?;
                let nv = self.b.ins().band_imm_s(n, !(chunk - 1));
                let f = self.func_ref(kernel);
                let call_args: Vec<Value> = std::iter::once(nv).chain(ptrs).chain(args).collect();
                let call = self.b.ins().call(f, &call_args);
                let tot = self.b.inst_results(call)[0];
                start = nv;
                let mut r = self.b.ins().extractlane(tot, 0);
                for lane in 1..lanes {
                    let x = self.b.ins().extractlane(tot, lane as u8);
                    r = self.combine(op, r, x, acc_s, span)?;
                }
                self.b.def_var(acc, r);
            }
        }
        self.stepped_loop(start, n, 1, None, |s, k| {
            let v = s.emit_elem_calls_first(&tree, k, span)?;
            let v = if count {
                s.b.ins().uextend(types::I64, v)
            } else {
                v
            };
            let a = s.b.use_var(acc);
            let c = s.combine(op, a, v, acc_s, span)?;
            s.b.def_var(acc, c);
            Ok(())
        })?;
        let local = self.b.use_var(acc);
        // Replicated containers: the local value is already the global one.
        self.allreduce_unless_replicated(first, local, acc_s, op, span)
    }

    // ------------------------------------------------------------------ forall

    fn forall(
        &mut self,
        vars: &[LocalId],
        over: &ForallOver,
        reductions: &[(LocalId, ReduceOp)],
        body: &hir::Block,
        span: &Span,
    ) -> CResult<()> {
        // Reduction variables: remember their value, start from the identity.
        let mut reds = Vec::new();
        for (l, op) in reductions {
            let var = self.vars[l.0 as usize].ok_or_else(|| ice("reduction var".into()))?;
            let s = Self::scalar_of(self.local_tys[l.0 as usize], span)?;
            let before = self.b.use_var(var);
            let id = self.identity(*op, s);
            self.b.def_var(var, id);
            reds.push((var, *op, s, before));
        }
        let var0 = vars[0];
        let gvar = self.vars[var0.0 as usize].ok_or_else(|| ice("forall var".into()))?;
        let mut iter_handle = None;
        let saved_poll = self.row_poll;
        let poll = Some(self.g.site(span));
        self.row_poll = poll;
        match over {
            ForallOver::Range(a, b) => {
                let a = self.scalar(a)?;
                let bnd = self.scalar(b)?;
                // More than i64::MAX indices would wrap to a negative count (no iterations).
                let (n0, of) = self.b.ins().ssub_overflow(bnd, a);
                self.fail_if(of, 3, span)?;
                let z = self.i64c(0);
                let n = self.b.ins().smax(n0, z);
                let p = self
                    .b
                    .ins()
                    .load(types::I64, ro_flags(), self.cx, abi::cx_offsets::SIZE);
                let r = self
                    .b
                    .ins()
                    .load(types::I64, ro_flags(), self.cx, abi::cx_offsets::RANK);
                let q = self.b.ins().udiv(n, p);
                let m = self.b.ins().urem(n, p);
                let rq = self.b.ins().imul(r, q);
                let rm = self.b.ins().umin(r, m);
                let lo = self.b.ins().iadd(rq, rm);
                let extra = self.b.ins().icmp(IntCC::UnsignedLessThan, r, m);
                let extra = self.b.ins().uextend(types::I64, extra);
                let cnt = self.b.ins().iadd(q, extra);
                let base = self.b.ins().iadd(a, lo);
                if let Some(live) = self.outline_live_ins(body, var0, reductions) {
                    // The loop as a function of its own: see `range_loop_fn`.
                    self.range_loop_call(base, cnt, (var0, reductions), body, &live, span)?;
                } else {
                    self.range_rows(base, cnt, var0, body)?;
                }
            }
            ForallOver::Container(c) => {
                let h = self.handle(c)?;
                iter_handle = Some(h);
                // Prepare every container the body indexes by the iteration variable.
                let offsets = index_offsets(body, var0);
                // Each indexed container with its reach (the largest |k|).
                let mut acc: Vec<(LocalId, i64)> = offsets
                    .iter()
                    .map(|(l, lo, hi)| (*l, (-lo).max(*hi)))
                    .collect();
                let iter_local = match &c.kind {
                    ExprKind::Local(l) => Some(*l),
                    _ => None,
                };
                let site = self.site(span);
                let mut modes = HashMap::new();
                if let Some(il) = iter_local
                    && !acc.iter().any(|(l, _)| *l == il)
                {
                    acc.push((il, 0));
                }
                for (l, reach) in &acc {
                    let t = self.local_tys[l.0 as usize];
                    if !t.is_elementwise_container() {
                        continue;
                    }
                    let var = self.vars[l.0 as usize].ok_or_else(|| ice("access var".into()))?;
                    let ch = self.b.use_var(var);
                    let by_global = if Some(*l) == iter_local && *reach == 0 {
                        None
                    } else {
                        let r = self.i64c(*reach);
                        let cx = self.cx;
                        let m = self.rt1("dtl_forall_prepare", &[cx, h, ch, r, site], true)?;
                        // The iteration container is always indexed by its local row, and so
                        // is a container known not to be replicated (the runtime has just
                        // checked that it is aligned with the iteration container).
                        let known_local = self.local_layouts[l.0 as usize]
                            .is_some_and(|lay| lay.partition != Partition::Replicated);
                        (Some(*l) != iter_local && !known_local)
                            .then(|| self.b.ins().icmp_imm_s(IntCC::NotEqual, m, 0))
                    };
                    let data = self.hdr_ptr(ch);
                    let row = match t {
                        Ty::Tensor(..) => Some(self.hdr(ch, hdr::ROW)),
                        _ => None,
                    };
                    // Only what the accesses need: global bounds for offset reads, the
                    // other dimensions for tensors.
                    let (grows, nonperiodic) = if *reach > 0 {
                        let grows = self.hdr(ch, hdr::GROWS);
                        let per = self.hdr(ch, hdr::PERIODIC);
                        (grows, self.b.ins().icmp_imm_s(IntCC::Equal, per, 0))
                    } else {
                        let z = self.i64c(0);
                        (z, self.b.ins().iconst(types::I8, 0))
                    };
                    let (dim1, dim2) = if matches!(t, Ty::Tensor(..)) {
                        (self.hdr(ch, hdr::DIM1), self.hdr(ch, hdr::DIM2))
                    } else {
                        let one = self.i64c(1);
                        (one, one)
                    };
                    modes.insert(
                        *l,
                        Acc {
                            by_global,
                            data,
                            row,
                            grows,
                            nonperiodic,
                            dim1,
                            dim2,
                        },
                    );
                }
                let rows = self.hdr(h, hdr::ROWS);
                let base = self.hdr(h, hdr::BASE);
                let stride = self.hdr(h, hdr::STRIDE);
                let bsize = self.hdr(h, hdr::BSIZE);
                let kind = self.hdr(h, hdr::KIND);
                let p = self
                    .b
                    .ins()
                    .load(types::I64, ro_flags(), self.cx, abi::cx_offsets::SIZE);
                let bc = self
                    .b
                    .ins()
                    .icmp_imm_s(IntCC::Equal, kind, abi::kind::BLOCK_CYCLIC);
                let dim1 = self.hdr(h, hdr::DIM1);
                let dim2 = self.hdr(h, hdr::DIM2);
                let vars = vars.to_vec();
                let inner_vars: Vec<Variable> = vars[1..]
                    .iter()
                    .map(|v| self.vars[v.0 as usize].ok_or_else(|| ice("forall var".into())))
                    .collect::<CResult<_>>()?;
                let mut written = Vec::new();
                collect_writes(body, &mut written);
                // Global row of local row k, carried through the loop: `+ step` per row, and
                // for block-cyclic partitions `+ jump` more after each block of `bsize` rows.
                // With a partition known at compile time that is not block-cyclic, the step is
                // constant (1 for block and replicated) and no block bookkeeping is emitted.
                let static_part = iter_local
                    .and_then(|l| self.local_layouts[l.0 as usize])
                    .map(|l| l.partition);
                let simple = matches!(
                    static_part,
                    Some(Partition::Block | Partition::Replicated | Partition::Cyclic)
                );
                let one = self.i64c(1);
                let step = match static_part {
                    Some(Partition::Block | Partition::Replicated) => one,
                    Some(Partition::Cyclic) => stride,
                    _ => self.b.ins().select(bc, one, stride),
                };
                let pm1 = self.b.ins().iadd_imm_s(p, -1);
                let jump = self.b.ins().imul(pm1, bsize);
                let givar = self.b.declare_var(types::I64);
                let cvar = self.b.declare_var(types::I64);
                self.b.def_var(givar, base);
                let z = self.i64c(0);
                self.b.def_var(cvar, z);
                // Block or replicated (step 1, gi = base + k) with offset reads: peel the rows
                // whose neighbours may fall outside the container, so the interior loop runs
                // without the global bounds checks (their outcome is known there).
                let unit_step =
                    matches!(static_part, Some(Partition::Block | Partition::Replicated));
                let offsets: Vec<(LocalId, i64, i64)> = if unit_step && !self.g.opts.unchecked {
                    // Only containers read at a nonzero offset have bounds to check.
                    offsets
                        .into_iter()
                        .filter(|(_, lo, hi)| *lo != 0 || *hi != 0)
                        .collect()
                } else {
                    Vec::new()
                };
                if !offsets.is_empty() {
                    // Interior: klo = max over accesses of (-min_off - base), khi = min of
                    // (n_c - max_off - base), clamped to 0 <= klo <= khi <= rows.
                    let z = self.i64c(0);
                    let mut klo = z;
                    let mut khi = rows;
                    for (l, lo, hi) in &offsets {
                        let Some(acc) = modes.get(l).copied() else {
                            continue;
                        };
                        if acc.by_global.is_some() {
                            continue;
                        }
                        let var =
                            self.vars[l.0 as usize].ok_or_else(|| ice("access var".into()))?;
                        let ch = self.b.use_var(var);
                        let n = self.hdr(ch, hdr::GROWS);
                        let a = self.b.ins().iadd_imm_s(base, *lo);
                        let a = self.b.ins().ineg(a);
                        klo = self.b.ins().smax(klo, a);
                        let bnd = self.b.ins().isub(n, base);
                        let bnd = self.b.ins().iadd_imm_s(bnd, -*hi);
                        khi = self.b.ins().smin(khi, bnd);
                    }
                    let klo = self.b.ins().smin(klo, rows);
                    let khi = self.b.ins().smax(khi, klo);
                    let khi = self.b.ins().smin(khi, rows);
                    // The interior without bounds checks, then the edge rows on both sides
                    // (a forall's rows run in any order) in one loop with them.
                    let saved = self.elide_bounds;
                    self.elide_bounds = true;
                    let dim = (dim1, dim2);
                    let r = if inner_vars.is_empty() {
                        self.forall_interior(klo, khi, base, gvar, var0, &modes, dim, body)
                    } else if inner_vars.len() == 1 {
                        let j = (vars[1], inner_vars[0]);
                        self.tensor_interior(klo, khi, base, gvar, var0, j, &modes, dim, body)
                    } else {
                        self.stepped_loop(klo, khi, 1, poll, |s, k| {
                            let gi = s.b.ins().iadd(base, k);
                            s.forall_row(k, gi, gvar, var0, &modes, &inner_vars, dim1, dim2, body)
                        })
                    };
                    self.elide_bounds = saved;
                    r?;
                    self.range_pair_loop((z, klo), (khi, rows), poll, |s, k| {
                        let gi = s.b.ins().iadd(base, k);
                        s.forall_row(k, gi, gvar, var0, &modes, &inner_vars, dim1, dim2, body)
                    })?;
                } else if unit_step && inner_vars.len() <= 1 {
                    // No offset reads to check (or `--unchecked`): all rows are interior.
                    let z = self.i64c(0);
                    let saved = self.elide_bounds;
                    self.elide_bounds = self.g.opts.unchecked;
                    let dim = (dim1, dim2);
                    let r = if inner_vars.is_empty() {
                        self.forall_interior(z, rows, base, gvar, var0, &modes, dim, body)
                    } else {
                        let j = (vars[1], inner_vars[0]);
                        self.tensor_interior(z, rows, base, gvar, var0, j, &modes, dim, body)
                    };
                    self.elide_bounds = saved;
                    r?;
                } else {
                    let r = self.counted_loop(rows, poll, |s, k| {
                        let gi = s.b.use_var(givar);
                        if simple {
                            let g1 = s.b.ins().iadd(gi, step);
                            s.b.def_var(givar, g1);
                        } else {
                            let c = s.b.use_var(cvar);
                            let c1 = s.b.ins().iadd_imm_s(c, 1);
                            let wrap = s.b.ins().icmp(IntCC::Equal, c1, bsize);
                            let z = s.b.ins().iconst(types::I64, 0);
                            let c2 = s.b.ins().select(wrap, z, c1);
                            let extra = s.b.ins().select(wrap, jump, z);
                            let g1 = s.b.ins().iadd(gi, step);
                            let g2 = s.b.ins().iadd(g1, extra);
                            s.b.def_var(cvar, c2);
                            s.b.def_var(givar, g2);
                        }
                        s.forall_row(k, gi, gvar, var0, &modes, &inner_vars, dim1, dim2, body)
                    });
                    r?;
                }
                for l in written {
                    if let Some(var) = self.vars[l.0 as usize]
                        && self.local_tys[l.0 as usize].is_elementwise_container()
                    {
                        let ch = self.b.use_var(var);
                        self.mark_dirty(ch);
                    }
                }
            }
        }
        self.row_poll = saved_poll;
        for (var, op, s, before) in reds {
            let part = self.b.use_var(var);
            let tot = match iter_handle {
                // Over a replicated container every rank visited every index: its partial
                // result is already the whole one (an allreduce would count each index once
                // per rank).
                Some(h) => self.allreduce_unless_replicated(h, part, s, op, span)?,
                None => self.allreduce_val(part, s, op, span)?,
            };
            let v = self.combine(op, before, tot, s, span)?;
            self.b.def_var(var, v);
        }
        Ok(())
    }

    /// The outer locals a range forall's body reads, when the loop can be a function of its
    /// own: a body without `return`, with at most two reductions, whose only container values
    /// are reads of outer containers (no container made or bound inside), and whose outer
    /// locals all have values.
    fn outline_live_ins(
        &self,
        body: &hir::Block,
        var0: LocalId,
        reductions: &[(LocalId, ReduceOp)],
    ) -> Option<Vec<LocalId>> {
        fn no_return(b: &hir::Block) -> bool {
            b.stmts.iter().all(|s| match s {
                Stmt::Return { .. } => false,
                Stmt::If { then, els, .. } => no_return(then) && els.as_ref().is_none_or(no_return),
                Stmt::While { body, .. } | Stmt::For { body, .. } | Stmt::Forall { body, .. } => {
                    no_return(body)
                }
                Stmt::Block(b) => no_return(b),
                _ => true,
            })
        }
        // At most two results (they come back in registers).
        if !no_return(body) || reductions.len() > 2 {
            return None;
        }
        let inner = body_locals(body);
        if inner.iter().any(|l| {
            is_handle(self.local_tys[l.0 as usize]) && !reductions.iter().any(|(r, _)| r == l)
        }) {
            return None;
        }
        let mut ok = true;
        let mut live: Vec<LocalId> = Vec::new();
        walk_block(body, &mut |e| {
            walk_expr(e, &mut |x: &Expr| {
                if is_handle(x.ty) && !matches!(x.kind, ExprKind::Local(_)) {
                    ok = false;
                }
                if let ExprKind::Local(l) = &x.kind
                    && *l != var0
                    && !inner.contains(l)
                    && !live.contains(l)
                {
                    live.push(*l);
                }
            })
        });
        let all_values = live.iter().all(|l| {
            value_ty(self.local_tys[l.0 as usize]).is_some() && self.vars[l.0 as usize].is_some()
        });
        (ok && all_values).then_some(live)
    }

    /// Runs a range forall's rows `base..base + cnt` through `dtl_loopN`, a function of its own
    /// taking the context, the rows and the live-in locals and returning the reductions'
    /// partial values: Cranelift's register allocator spilled loop-invariant values of such
    /// loops on every iteration when they sat in the caller's loop nests.
    fn range_loop_call(
        &mut self,
        base: Value,
        cnt: Value,
        (var0, reductions): (LocalId, &[(LocalId, ReduceOp)]),
        body: &hir::Block,
        live: &[LocalId],
        span: &Span,
    ) -> CResult<()> {
        let ptr = self.g.module.target_config().pointer_type();
        let mut sig = self.g.module.make_signature();
        sig.params.push(AbiParam::new(ptr));
        sig.params.push(AbiParam::new(types::I64));
        sig.params.push(AbiParam::new(types::I64));
        let mut args = vec![self.cx, base, cnt];
        for l in live {
            let t = value_ty(self.local_tys[l.0 as usize]).ok_or_else(|| ice("live-in".into()))?;
            sig.params.push(AbiParam::new(t));
            let var = self.vars[l.0 as usize].ok_or_else(|| ice("live-in var".into()))?;
            args.push(self.b.use_var(var));
        }
        // The body's float literals come in as arguments too (see `FnGen::const_args`).
        let lits = float_lits(body);
        for (f, s) in &lits {
            sig.params.push(AbiParam::new(clif_ty(*s)));
            args.push(self.fconst(*f, *s));
        }
        for (l, _) in reductions {
            let t =
                value_ty(self.local_tys[l.0 as usize]).ok_or_else(|| ice("reduction".into()))?;
            sig.returns.push(AbiParam::new(t));
        }
        let (id, name) = self.g.declare_loop_fn("dtl_loop", &sig)?;
        let mut ctx = self.g.module.make_context();
        ctx.func.signature = sig;
        let mut fctx = FunctionBuilderContext::new();
        let legend = {
            let b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
            let mut fx = FnGen::with_locals(
                &mut *self.g,
                b,
                Ty::Unit,
                false,
                self.local_tys.clone(),
                self.local_layouts.clone(),
            );
            fx.range_loop_fn(var0, reductions, body, (live, &lits), span)?;
            fx.legend()
        };
        self.g.define(id, &mut ctx, &name, &legend)?;
        let f = self.func_ref(id);
        let call = self.b.ins().call(f, &args);
        let parts = self.b.inst_results(call).to_vec();
        self.check_failed();
        for ((l, _), v) in reductions.iter().zip(parts) {
            let var = self.vars[l.0 as usize].ok_or_else(|| ice("reduction var".into()))?;
            self.b.def_var(var, v);
        }
        Ok(())
    }

    /// The body of a `dtl_loopN` function (see [`FnGen::range_loop_call`]).
    fn range_loop_fn(
        &mut self,
        var0: LocalId,
        reductions: &[(LocalId, ReduceOp)],
        body: &hir::Block,
        (live, lits): (&[LocalId], &[(f64, Scalar)]),
        span: &Span,
    ) -> CResult<()> {
        let entry = self
            .b
            .current_block()
            .ok_or_else(|| ice("no entry block".into()))?;
        let params: Vec<Value> = self.b.block_params(entry).to_vec();
        let (base, cnt) = (params[1], params[2]);
        // The live-ins belong to the caller: never released here.
        self.declare_vars(false);
        for (l, v) in live.iter().zip(&params[3..]) {
            let var = self.vars[l.0 as usize].ok_or_else(|| ice("live-in var".into()))?;
            self.b.def_var(var, *v);
        }
        for ((f, s), v) in lits.iter().zip(&params[3 + live.len()..]) {
            self.const_args.push((f.to_bits(), *s, *v));
        }
        let mut rts = Vec::new();
        for (l, op) in reductions {
            let s = Self::scalar_of(self.local_tys[l.0 as usize], span)?;
            let var = self.vars[l.0 as usize].ok_or_else(|| ice("reduction var".into()))?;
            let id = self.identity(*op, s);
            self.b.def_var(var, id);
            rts.push((var, clif_ty(s)));
        }
        for (_, t) in &rts {
            self.b.append_block_param(self.exit, *t);
        }
        self.row_poll = Some(self.g.site(span));
        self.range_rows(base, cnt, var0, body)?;
        let outs: Vec<BlockArg> = rts
            .iter()
            .map(|(v, _)| BlockArg::Value(self.b.use_var(*v)))
            .collect();
        self.b.ins().jump(self.exit, &outs);
        self.b.switch_to_block(self.exit);
        let rets = self.b.block_params(self.exit).to_vec();
        self.b.ins().return_(&rets);
        self.finish(&rts.iter().map(|(_, t)| *t).collect::<Vec<_>>());
        Ok(())
    }

    /// Rows `base..base + cnt` of a range forall, the body as written.
    fn range_rows(
        &mut self,
        base: Value,
        cnt: Value,
        var0: LocalId,
        body: &hir::Block,
    ) -> CResult<()> {
        let gvar = self.vars[var0.0 as usize].ok_or_else(|| ice("forall var".into()))?;
        self.foralls.push(ForallCx {
            var0,
            k: base,
            modes: HashMap::new(),
            range: true,
        });
        let poll = self.row_poll;
        let r = self.counted_loop(cnt, poll, |s, k| {
            let i = s.b.ins().iadd(base, k);
            s.b.def_var(gvar, i);
            s.forall_body(body)
        });
        self.foralls.pop();
        r
    }

    /// One row of a forall over a container: binds the iteration variables and runs the body
    /// (over the other dimensions of a tensor).
    #[allow(clippy::too_many_arguments)]
    fn forall_row(
        &mut self,
        k: Value,
        gi: Value,
        gvar: Variable,
        var0: LocalId,
        modes: &HashMap<LocalId, Acc>,
        inner_vars: &[Variable],
        dim1: Value,
        dim2: Value,
        body: &hir::Block,
    ) -> CResult<()> {
        self.b.def_var(gvar, gi);
        self.foralls.push(ForallCx {
            var0,
            k,
            modes: modes.clone(),
            range: false,
        });
        let res = match inner_vars.len() {
            0 => self.forall_body(body),
            1 => {
                let jv = inner_vars[0];
                self.counted_loop(dim1, None, |s2, j| {
                    s2.b.def_var(jv, j);
                    s2.forall_body(body)
                })
            }
            _ => {
                let (jv, lv) = (inner_vars[0], inner_vars[1]);
                self.counted_loop(dim1, None, |s2, j| {
                    s2.b.def_var(jv, j);
                    s2.counted_loop(dim2, None, |s3, l| {
                        s3.b.def_var(lv, l);
                        s3.forall_body(body)
                    })
                })
            }
        };
        self.foralls.pop();
        res
    }

    fn forall_body(&mut self, body: &hir::Block) -> CResult<()> {
        // Break/continue are not loops of the forall.
        let saved = std::mem::take(&mut self.loops);
        let r = self.block(body);
        self.loops = saved;
        r?;
        if self.terminated() {
            // Only failure jumps end a body; give the loop a fresh block to continue in.
            self.ensure_open();
        }
        Ok(())
    }

    /// Rows `from..to` of a 1-D forall with step 1 (global row `base + k`), the body as written.
    #[allow(clippy::too_many_arguments)]
    fn plain_rows(
        &mut self,
        from: Value,
        to: Value,
        base: Value,
        gvar: Variable,
        var0: LocalId,
        modes: &HashMap<LocalId, Acc>,
        dim: (Value, Value),
        body: &hir::Block,
    ) -> CResult<()> {
        let poll = self.row_poll;
        self.stepped_loop(from, to, 1, poll, |s, k| {
            let gi = s.b.ins().iadd(base, k);
            s.forall_row(k, gi, gvar, var0, modes, &[], dim.0, dim.1, body)
        })
    }

    /// Rows `from..to` of a 1-D forall with step 1 where offset reads need no bounds checks.
    /// A body that is one `if` whose condition bounds the iteration index by loop-invariant
    /// values (`if i > 0 && i < n - 1 { .. } else { .. }`) is split: the rows where the
    /// condition holds run the `then` block alone, the others (where it is false) the `else`
    /// block alone, if any. The straight part then runs as SIMD code when [`vec_plan`]
    /// accepts it.
    #[allow(clippy::too_many_arguments)]
    fn forall_interior(
        &mut self,
        from: Value,
        to: Value,
        base: Value,
        gvar: Variable,
        var0: LocalId,
        modes: &HashMap<LocalId, Acc>,
        dim: (Value, Value),
        body: &hir::Block,
    ) -> CResult<()> {
        let split = sole_if(body).and_then(|(cond, then, els)| {
            affine_bounds(cond, var0, &body_locals(body)).map(|b| (b, then, els))
        });
        let Some((bounds, then, els)) = split else {
            return self.straight_rows(from, to, base, gvar, var0, modes, dim, body);
        };
        let (a, b) = self.bounds_range(&bounds, from, to, base)?;
        self.straight_rows(a, b, base, gvar, var0, modes, dim, then)?;
        // The rows outside the bounds (any order: it is a forall), one loop for both sides:
        // there the condition is false, so only the `else` block runs, if any.
        let Some(els) = els else {
            return Ok(());
        };
        let poll = self.row_poll;
        self.range_pair_loop((from, a), (b, to), poll, |s, k| {
            let gi = s.b.ins().iadd(base, k);
            s.forall_row(k, gi, gvar, var0, modes, &[], dim.0, dim.1, els)
        })
    }

    /// The part `a..b` of `from..to` (local indices, global = `base + local`) where the
    /// bounds of [`affine_bounds`] hold; `from <= a <= b <= to`.
    fn bounds_range(
        &mut self,
        bounds: &[Bound],
        from: Value,
        to: Value,
        base: Value,
    ) -> CResult<(Value, Value)> {
        // Global indices a_g..b_g where the condition holds, clamped to base+from..base+to.
        let g_from = self.b.ins().iadd(base, from);
        let g_to = self.b.ins().iadd(base, to);
        let (mut a_g, mut b_g) = (g_from, g_to);
        for (lower, e, plus1) in bounds {
            let v = self.scalar(e)?;
            let v = if *plus1 {
                let p = self.b.ins().iadd_imm_s(v, 1);
                let top = self.b.ins().icmp_imm_s(IntCC::Equal, v, i64::MAX);
                self.b.ins().select(top, v, p)
            } else {
                v
            };
            if *lower {
                a_g = self.b.ins().smax(a_g, v);
            } else {
                b_g = self.b.ins().smin(b_g, v);
            }
        }
        let a_g = self.b.ins().smin(a_g, g_to);
        let b_g = self.b.ins().smax(b_g, g_from);
        let a = self.b.ins().isub(a_g, base);
        let b = self.b.ins().isub(b_g, base);
        let b = self.b.ins().smax(a, b);
        Ok((a, b))
    }

    /// Rows `from..to` of a 2-D forall over a tensor (step 1) where row offsets need no bounds
    /// checks. A body that is one `if` whose condition is an `&&` of bounds on `i` and bounds
    /// on `j` (`if i > 0 && i < nx - 1 && j > 0 && j < ny - 1`) is split twice: rows where
    /// the `i` bounds hold, and in them the columns where the `j` bounds hold, run the `then`
    /// block alone; the columns of a row run as SIMD code where [`vec_plan`] accepts them.
    #[allow(clippy::too_many_arguments)]
    fn tensor_interior(
        &mut self,
        from: Value,
        to: Value,
        base: Value,
        gvar: Variable,
        var0: LocalId,
        (jl, jv): (LocalId, Variable),
        modes: &HashMap<LocalId, Acc>,
        dim: (Value, Value),
        body: &hir::Block,
    ) -> CResult<()> {
        let poll = self.row_poll;
        let mut inner = body_locals(body);
        inner.push(jl);
        let split = sole_if(body).and_then(|(cond, then, els)| {
            let (mut ib, mut jb) = (Vec::new(), Vec::new());
            for c in conjuncts(cond) {
                if let Some(b) = affine_bound(c, var0, &inner) {
                    ib.push(b);
                } else {
                    jb.push(affine_bound(c, jl, &inner)?);
                }
            }
            Some((ib, jb, then, els))
        });
        let ctx = (gvar, var0, jl, jv);
        let Some((ib, jb, then, els)) = split else {
            return self.stepped_loop(from, to, 1, poll, |s, k| {
                s.tensor_row(k, base, ctx, modes, dim, body, None)
            });
        };
        let (a, b) = self.bounds_range(&ib, from, to, base)?;
        self.stepped_loop(a, b, 1, poll, |s, k| {
            s.tensor_row(k, base, ctx, modes, dim, body, Some((&jb, then, els)))
        })?;
        // The rows outside the `i` bounds, one loop for both sides: the condition is false
        // there, so only the `else` block runs, if any.
        let Some(els) = els else {
            return Ok(());
        };
        self.range_pair_loop((from, a), (b, to), poll, |s, k| {
            let gi = s.b.ins().iadd(base, k);
            s.forall_row(k, gi, gvar, var0, modes, &[jv], dim.0, dim.1, els)
        })
    }

    /// One row of [`tensor_interior`]: with a split, columns outside the `j` bounds run the
    /// `else` block (if any) and the others the `then` block; the straight part as SIMD code.
    #[allow(clippy::too_many_arguments)]
    fn tensor_row(
        &mut self,
        k: Value,
        base: Value,
        (gvar, var0, jl, jv): (Variable, LocalId, LocalId, Variable),
        modes: &HashMap<LocalId, Acc>,
        dim: (Value, Value),
        body: &hir::Block,
        split: Option<(&[Bound], &hir::Block, Option<&hir::Block>)>,
    ) -> CResult<()> {
        let gi = self.b.ins().iadd(base, k);
        self.b.def_var(gvar, gi);
        self.foralls.push(ForallCx {
            var0,
            k,
            modes: modes.clone(),
            range: false,
        });
        let z = self.i64c(0);
        let res = match split {
            None => self.straight_cols(k, z, dim.0, (var0, jl, jv), modes, body),
            Some((jb, then, els)) => self.bounds_range(jb, z, dim.0, z).and_then(|(ca, cb)| {
                self.straight_cols(k, ca, cb, (var0, jl, jv), modes, then)?;
                // Outside the `j` bounds the condition is false: the `else` block, if any.
                match els {
                    Some(e) => self.plain_col_pair((z, ca), (cb, dim.0), jv, e),
                    None => Ok(()),
                }
            }),
        };
        self.foralls.pop();
        res
    }

    /// Columns `a.0..a.1` and `b.0..b.1` of the current row, the block as written, one loop.
    fn plain_col_pair(
        &mut self,
        a: (Value, Value),
        b: (Value, Value),
        jv: Variable,
        blk: &hir::Block,
    ) -> CResult<()> {
        self.range_pair_loop(a, b, None, |s, j| {
            s.b.def_var(jv, j);
            s.forall_body(blk)
        })
    }

    /// Columns `from..to` of the current row, the block as written.
    fn plain_cols(
        &mut self,
        from: Value,
        to: Value,
        jv: Variable,
        blk: &hir::Block,
    ) -> CResult<()> {
        self.stepped_loop(from, to, 1, None, |s, j| {
            s.b.def_var(jv, j);
            s.forall_body(blk)
        })
    }

    /// Columns `from..to` of row `k`: SIMD vectors where [`vec_plan`] accepts the block and
    /// every column read is within its tensor's row, the scalar block elsewhere.
    fn straight_cols(
        &mut self,
        k: Value,
        from: Value,
        to: Value,
        (var0, jl, jv): (LocalId, LocalId, Variable),
        modes: &HashMap<LocalId, Acc>,
        blk: &hir::Block,
    ) -> CResult<()> {
        let Some(plan) = vec_plan(blk, var0, Some(jl), modes) else {
            return self.plain_cols(from, to, jv, blk);
        };
        let Some(vt) = Self::simd_ty(plan.elem) else {
            return self.plain_cols(from, to, jv, blk);
        };
        let es = size_of(plan.elem);
        // Columns where `j + m` is inside every accessed tensor's row for every read: the
        // others keep the scalar block with its bounds checks.
        let lo = self.i64c(-plan.disp.0);
        let mut vfrom = self.b.ins().smax(from, lo);
        vfrom = self.b.ins().smin(vfrom, to);
        let mut vto = to;
        for (l, _) in &plan.ptrs {
            let acc = modes
                .get(l)
                .ok_or_else(|| ice("vector access without preparation".into()))?;
            let lim = self.b.ins().iadd_imm_s(acc.dim1, -plan.disp.1);
            vto = self.b.ins().smin(vto, lim);
        }
        let vto = self.b.ins().smax(vto, vfrom);
        // The scalar columns `from..vfrom` run with the rest, after the vectors (a forall's
        // elements run in any order). The rest starts after the vectors, or at `vfrom` when an
        // alias forbids them.
        let ok = self.vec_alias_ok(&plan, modes)?;
        let n = self.b.ins().isub(vto, vfrom);
        let rest = self.vec_call(&plan, vt, (vfrom, n), ok, &mut |s, l, key| {
            let acc = modes
                .get(&l)
                .ok_or_else(|| ice("vector access without preparation".into()))?;
            let rowlen = acc
                .row
                .ok_or_else(|| ice("tensor access without row length".into()))?;
            let row = s.b.ins().iadd_imm_s(k, key);
            let first = s.b.ins().imul(row, rowlen);
            let first = s.b.ins().iadd(first, vfrom);
            let off = s.b.ins().imul_imm_s(first, es);
            Ok(s.b.ins().iadd(acc.data, off))
        })?;
        self.plain_col_pair((from, vfrom), (rest, to), jv, blk)
    }

    /// `for j in a..e { body }` (step 1) whose body [`vec_plan`] accepts over `local` arrays
    /// indexed `x[j + c]`: when every index of the whole range is inside its array and no
    /// written array is the memory of one read at an offset (checked here, at run time), the
    /// iterations `a..a + nv` (whole vectors) run as a SIMD loop function. Returns where the
    /// scalar loop starts: `a + nv`, or `a` when the checks fail or there is no plan.
    fn for_simd(&mut self, var: LocalId, a: Value, e: Value, body: &hir::Block) -> CResult<Value> {
        // The local arrays the body indexes, declared outside it.
        let inner = body_locals(body);
        let mut arrays: Vec<LocalId> = Vec::new();
        walk_block(body, &mut |x| {
            collect_local_arrays(x, &self.local_tys, &mut arrays)
        });
        arrays.retain(|l| !inner.contains(l) && self.vars[l.0 as usize].is_some());
        if arrays.is_empty() {
            return Ok(a);
        }
        // Only the plan's question first (no code emitted unless it is accepted).
        let dummy = self.i64c(0);
        let probe: HashMap<LocalId, Acc> = arrays.iter().map(|l| (*l, local_acc(dummy))).collect();
        let Some(plan) = vec_plan(body, var, None, &probe) else {
            return Ok(a);
        };
        let Some(vt) = Self::simd_ty(plan.elem) else {
            return Ok(a);
        };
        let es = size_of(plan.elem);
        let mut modes: HashMap<LocalId, Acc> = HashMap::new();
        let mut lens: HashMap<LocalId, Value> = HashMap::new();
        for l in &arrays {
            let var = self.vars[l.0 as usize].ok_or_else(|| ice("local array var".into()))?;
            let h = self.b.use_var(var);
            let data = self.hdr_ptr(h);
            lens.insert(*l, self.hdr(h, hdr::ROWS));
            modes.insert(*l, local_acc(data));
        }
        let z = self.i64c(0);
        let n = self.b.ins().isub(e, a);
        let n = self.b.ins().smax(n, z);
        let end = self.b.ins().iadd(a, n);
        // Every `x[j + c]` of the range in bounds: a + min c >= 0 and end + max c <= len(x).
        let mut ok = self.b.ins().iconst(types::I8, 1);
        for (slot, (l, _)) in plan.ptrs.iter().enumerate() {
            let (lo, hi) = plan.slot_disp(slot);
            let len = *lens
                .get(l)
                .ok_or_else(|| ice("local array length".into()))?;
            let first = self.b.ins().iadd_imm_s(a, lo);
            let c1 = self
                .b
                .ins()
                .icmp_imm_s(IntCC::SignedGreaterThanOrEqual, first, 0);
            let last = self.b.ins().iadd_imm_s(end, hi);
            let c2 = self.b.ins().icmp(IntCC::SignedLessThanOrEqual, last, len);
            ok = self.b.ins().band(ok, c1);
            ok = self.b.ins().band(ok, c2);
        }
        if let Some(d) = self.vec_alias_ok(&plan, &modes)? {
            ok = self.b.ins().band(ok, d);
        }
        self.vec_call(&plan, vt, (a, n), Some(ok), &mut |s, l, _| {
            let acc = modes
                .get(&l)
                .ok_or_else(|| ice("vector access without preparation".into()))?;
            let off = s.b.ins().imul_imm_s(a, es);
            Ok(s.b.ins().iadd(acc.data, off))
        })
    }

    /// Rows `from..to` of a body without a split: SIMD vectors where [`vec_plan`] accepts the
    /// body (and no written container shares memory with one read at an offset), then the
    /// scalar rest.
    #[allow(clippy::too_many_arguments)]
    fn straight_rows(
        &mut self,
        from: Value,
        to: Value,
        base: Value,
        gvar: Variable,
        var0: LocalId,
        modes: &HashMap<LocalId, Acc>,
        dim: (Value, Value),
        body: &hir::Block,
    ) -> CResult<()> {
        let Some(plan) = vec_plan(body, var0, None, modes) else {
            return self.plain_rows(from, to, base, gvar, var0, modes, dim, body);
        };
        let Some(vt) = Self::simd_ty(plan.elem) else {
            return self.plain_rows(from, to, base, gvar, var0, modes, dim, body);
        };
        let es = size_of(plan.elem);
        // The scalar rest starts after the vectors, or at `from` when an alias forbids them.
        let ok = self.vec_alias_ok(&plan, modes)?;
        let n = self.b.ins().isub(to, from);
        let rest = self.vec_call(&plan, vt, (from, n), ok, &mut |s, l, _| {
            let acc = modes
                .get(&l)
                .ok_or_else(|| ice("vector access without preparation".into()))?;
            let off = s.b.ins().imul_imm_s(from, es);
            Ok(s.b.ins().iadd(acc.data, off))
        })?;
        self.plain_rows(rest, to, base, gvar, var0, modes, dim, body)
    }

    /// Whether no written container of a vector plan is the memory of another local read at
    /// an offset (`let w = u;` aliases), as a run-time condition; `None` when no pair needs it.
    fn vec_alias_ok(
        &mut self,
        plan: &VecPlan,
        modes: &HashMap<LocalId, Acc>,
    ) -> CResult<Option<Value>> {
        let mut distinct: Option<Value> = None;
        for w in &plan.written {
            for r in &plan.shifted {
                if r == w {
                    continue;
                }
                let (Some(aw), Some(ar)) = (modes.get(w), modes.get(r)) else {
                    return Err(ice("vector plan without access".into()));
                };
                let ne = self.b.ins().icmp(IntCC::NotEqual, aw.data, ar.data);
                distinct = Some(match distinct {
                    Some(d) => self.b.ins().band(d, ne),
                    None => ne,
                });
            }
        }
        Ok(distinct)
    }

    /// Runs the SIMD loop of a plan over elements `start..start + nv`, `nv` the largest
    /// multiple of its chunk not above `n`, when `ok` (a run-time condition, if given) holds.
    /// Returns where the scalar rest starts: `start + nv`, or `start` when `ok` fails.
    /// `ptr(l, key)` is the address of element `start` of container `l` read at row offset
    /// `key` (always 0 for vectors).
    ///
    /// The loop is a function of its own (`dtl_vecN`): in a small function the register
    /// allocator keeps the loop's pointers and constants in registers (inside the caller's
    /// loop nests it spilled them on every iteration).
    fn vec_call(
        &mut self,
        plan: &VecPlan,
        vt: Type,
        (start, n): (Value, Value),
        ok: Option<Value>,
        ptr: &mut dyn FnMut(&mut Self, LocalId, i64) -> CResult<Value>,
    ) -> CResult<Value> {
        let join = self.b.create_block();
        let rest = self.b.append_block_param(join, types::I64);
        if let Some(ok) = ok {
            let vb = self.b.create_block();
            self.b
                .ins()
                .brif(ok, vb, &[], join, &[BlockArg::Value(start)]);
            self.b.switch_to_block(vb);
            self.b.seal_block(vb);
        }
        let chunk = vt.lane_count() as i64 * VBody::Store(&plan.stmts).unroll();
        let nv = self.b.ins().band_imm_s(n, !(chunk - 1));
        let mut args = vec![nv];
        for (l, key) in &plan.ptrs {
            args.push(ptr(self, *l, *key)?);
        }
        for e in &plan.invs {
            args.push(self.scalar(e)?);
        }
        let body = VBody::Store(&plan.stmts);
        let kernel = vec_kernel(
            self.g,
            plan.elem,
            plan.ptrs.len(),
            plan.invs.len(),
            body,
            vt,
        )?;
        let f = self.func_ref(kernel);
        self.b.ins().call(f, &args);
        let after = self.b.ins().iadd(start, nv);
        self.b.ins().jump(join, &[BlockArg::Value(after)]);
        self.b.switch_to_block(join);
        self.b.seal_block(join);
        Ok(rest)
    }

    // ------------------------------------------------------------------ builtins

    fn arg_scalar(&mut self, e: &Expr) -> CResult<(Value, Scalar)> {
        let s = Self::scalar_of(e.ty, &e.span)?;
        Ok((self.scalar(e)?, s))
    }

    fn op_of(e: &Expr) -> CResult<ReduceOp> {
        match &e.kind {
            ExprKind::Op(o) => Ok(*o),
            _ => Err(ice("expected an operator argument".into())),
        }
    }

    fn map_add(&mut self, args: &[Expr], span: &Span, want_old: bool) -> CResult<V> {
        let h = self.handle(&args[0])?;
        let (k, ks) = self.arg_scalar(&args[1])?;
        let k = self.bits_of(k, ks);
        let (v, vs) = self.arg_scalar(&args[2])?;
        let vb = self.bits_of(v, vs);
        let site = self.site(span);
        let cx = self.cx;
        let old = if want_old {
            let z = self.zero_of(clif_ty(vs));
            let zb = self.bits_of(z, vs);
            let o = self.rt1("dtl_map_lookup", &[cx, h, k, zb, site], true)?;
            Some(self.value_of_bits(o, vs))
        } else {
            None
        };
        self.rt("dtl_map_add", &[cx, h, k, vb, site], true)?;
        Ok(old.map_or(V::Unit, V::Val))
    }

    fn builtin(
        &mut self,
        b: Builtin,
        args: &[Expr],
        layout: Option<hir::Layout>,
        e: &Expr,
    ) -> CResult<V> {
        use Builtin as B;
        let span = &e.span;
        let cx = self.cx;
        let site_of = |s: &mut Self| s.site(span);
        let ret_s = match e.ty {
            Ty::Scalar(s) => Some(s),
            _ => None,
        };
        Ok(match b {
            B::Rank => V::Val(
                self.b
                    .ins()
                    .load(types::I64, ro_flags(), cx, abi::cx_offsets::RANK),
            ),
            B::Size => V::Val(
                self.b
                    .ins()
                    .load(types::I64, ro_flags(), cx, abi::cx_offsets::SIZE),
            ),
            B::Wtime => V::Val(self.rt1("dtl_wtime", &[], false)?),
            B::HasCuda => {
                let v = self.rt1("dtl_has_cuda", &[], false)?;
                V::Val(self.b.ins().ireduce(types::I8, v))
            }
            B::Len => {
                let h = self.handle(&args[0])?;
                if matches!(args[0].ty, Ty::Map(..)) {
                    let s = site_of(self);
                    V::Val(self.rt1("dtl_map_len", &[cx, h, s], true)?)
                } else {
                    V::Val(self.hdr(h, hdr::GROWS))
                }
            }
            B::Shape => {
                let h = self.handle(&args[0])?;
                let d = self.scalar(&args[1])?;
                let d0 = self.hdr(h, hdr::GROWS);
                let d1 = self.hdr(h, hdr::DIM1);
                let d2 = self.hdr(h, hdr::DIM2);
                let is0 = self.b.ins().icmp_imm_s(IntCC::Equal, d, 0);
                let is1 = self.b.ins().icmp_imm_s(IntCC::Equal, d, 1);
                let is2 = self.b.ins().icmp_imm_s(IntCC::Equal, d, 2);
                let bad = self.b.ins().bor(is0, is1);
                let bad = self.b.ins().bor(bad, is2);
                let bad = self.b.ins().bxor_imm_s(bad, 1);
                let three = self.i64c(3);
                self.bounds_fail_if(bad, d, three, span)?;
                let v = self.b.ins().select(is1, d1, d2);
                V::Val(self.b.ins().select(is0, d0, v))
            }
            B::LocalLen => {
                let h = self.handle(&args[0])?;
                V::Val(self.hdr(h, hdr::ROWS))
            }
            B::LocalOffset => {
                let h = self.handle(&args[0])?;
                let s = site_of(self);
                V::Val(self.rt1("dtl_local_offset", &[cx, h, s], true)?)
            }
            B::Owner | B::IsLocal => {
                let h = self.handle(&args[0])?;
                let i = self.index_value(&args[1])?;
                let s = site_of(self);
                if b == B::Owner {
                    V::Val(self.rt1("dtl_owner", &[cx, h, i, s], true)?)
                } else {
                    let v = self.rt1("dtl_is_local", &[cx, h, i, s], true)?;
                    V::Val(self.b.ins().ireduce(types::I8, v))
                }
            }
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
                if !e.ty.is_elementwise_container() =>
            {
                if b == B::Select {
                    // Lazy, so `select(i > 0, u[i - 1], 0.0)` reads only what it selects.
                    let c = self.scalar(&args[0])?;
                    let t = value_ty(e.ty).ok_or_else(|| ice("select type".into()))?;
                    let tb = self.b.create_block();
                    let fb = self.b.create_block();
                    let join = self.b.create_block();
                    let res = self.b.append_block_param(join, t);
                    self.b.ins().brif(c, tb, &[], fb, &[]);
                    self.b.switch_to_block(tb);
                    self.b.seal_block(tb);
                    let x = self.scalar(&args[1])?;
                    self.b.ins().jump(join, &[BlockArg::Value(x)]);
                    self.b.switch_to_block(fb);
                    self.b.seal_block(fb);
                    let y = self.scalar(&args[2])?;
                    self.b.ins().jump(join, &[BlockArg::Value(y)]);
                    self.b.switch_to_block(join);
                    self.b.seal_block(join);
                    return Ok(V::Val(res));
                }
                let mut vs = Vec::new();
                let mut ss = Vec::new();
                for a in args {
                    let (v, s) = self.arg_scalar(a)?;
                    vs.push(v);
                    ss.push(s);
                }
                let s = ret_s.ok_or_else(|| ice("math result".into()))?;
                V::Val(self.math(b, &vs, &ss, s)?)
            }
            B::Min | B::Max if args.len() == 2 => {
                let (x, xs) = self.arg_scalar(&args[0])?;
                let (y, _) = self.arg_scalar(&args[1])?;
                V::Val(self.math(b, &[x, y], &[xs, xs], xs)?)
            }
            B::Sum | B::Prod | B::Min | B::Max => {
                let op = match b {
                    B::Sum => ReduceOp::Sum,
                    B::Prod => ReduceOp::Prod,
                    B::Min => ReduceOp::Min,
                    _ => ReduceOp::Max,
                };
                let s = ret_s.ok_or_else(|| ice("reduction result".into()))?;
                V::Val(self.container_reduce(op, &args[0], s, false, span)?)
            }
            B::Count => {
                V::Val(self.container_reduce(ReduceOp::Sum, &args[0], Scalar::I64, true, span)?)
            }
            B::Mean => {
                let es = args[0].ty.elem().ok_or_else(|| ice("mean".into()))?;
                let acc = if es.is_float() { es } else { Scalar::F64 };
                let total = if es.is_float() {
                    self.container_reduce(ReduceOp::Sum, &args[0], acc, false, span)?
                } else {
                    // Sum integers exactly, then convert.
                    let t = self.container_reduce(ReduceOp::Sum, &args[0], es, false, span)?;
                    self.as_f64(t, es)
                };
                let mut leaves = Vec::new();
                collect_leaf_exprs(&args[0], &mut leaves);
                let first = leaves
                    .first()
                    .ok_or_else(|| unsupported("mean without a container", span))?;
                let h = self.handle(first)?;
                let rows = self.hdr(h, hdr::GROWS);
                let row = self.hdr(h, hdr::ROW);
                let n = self.b.ins().imul(rows, row);
                let nf = self.b.ins().fcvt_from_sint(types::F64, n);
                let t = self.as_f64(total, acc);
                let m = self.b.ins().fdiv(t, nf);
                V::Val(if acc == Scalar::F32 {
                    self.b.ins().fdemote(types::F32, m)
                } else {
                    m
                })
            }
            B::Dot => {
                let s = ret_s.ok_or_else(|| ice("dot".into()))?;
                let prod = Expr {
                    kind: ExprKind::Binary(
                        BinOp::Mul,
                        Box::new(args[0].clone()),
                        Box::new(args[1].clone()),
                    ),
                    ty: args[0].ty,
                    span: span.clone(),
                    uniform: true,
                };
                V::Val(self.container_reduce(ReduceOp::Sum, &prod, s, false, span)?)
            }
            B::Argmin | B::Argmax => {
                let h = self.handle(&args[0])?;
                let m = self.i64c((b == B::Argmax) as i64);
                let s = site_of(self);
                V::Val(self.rt1("dtl_arg_extreme", &[cx, h, m, s], true)?)
            }
            B::Sort => {
                let h = self.handle(&args[0])?;
                let d = self.scalar(&args[1])?;
                let d = self.b.ins().uextend(types::I64, d);
                let s = site_of(self);
                self.rt("dtl_sort", &[cx, h, d, s], true)?;
                V::Unit
            }
            B::Scan | B::Exscan => {
                let h = self.handle(&args[0])?;
                let op = self.i32c(opcode(Self::op_of(&args[1])?));
                let ex = self.i64c((b == B::Exscan) as i64);
                let s = site_of(self);
                let r = self.rt1("dtl_scan", &[cx, h, op, ex, s], true)?;
                self.temps.push(r);
                V::Val(r)
            }
            B::Copy => {
                let h = self.handle(&args[0])?;
                let (p, bs) = match layout {
                    Some(l) => self.partition_code(l.partition, span)?,
                    None => (-1, 0),
                };
                let p = self.i64c(p);
                let bs = self.i64c(bs);
                let s = site_of(self);
                let r = self.rt1("dtl_copy", &[cx, h, p, bs, s], true)?;
                self.temps.push(r);
                V::Val(r)
            }
            B::Resize => {
                let h = self.handle(&args[0])?;
                let n = self.index_value(&args[1])?;
                let s = site_of(self);
                self.rt("dtl_resize", &[cx, h, n, s], true)?;
                V::Unit
            }
            B::Exchange => {
                let h = self.handle(&args[0])?;
                let s = site_of(self);
                self.rt("dtl_exchange", &[cx, h, s], true)?;
                V::Unit
            }
            B::Swap => {
                let a = self.handle(&args[0])?;
                let c = self.handle(&args[1])?;
                let s = site_of(self);
                self.rt("dtl_swap", &[cx, a, c, s], true)?;
                V::Unit
            }
            B::Barrier => {
                let s = site_of(self);
                self.rt("dtl_barrier", &[cx, s], true)?;
                V::Unit
            }
            B::Fence => {
                let h = self.handle(&args[0])?;
                let s = site_of(self);
                self.rt("dtl_fence", &[cx, h, s], true)?;
                V::Unit
            }
            B::Allreduce | B::Reduce | B::Broadcast | B::ScanRanks | B::ExscanRanks => {
                self.scalar_collective(b, args, e)?
            }
            B::Allgather | B::Gather => {
                let (x, xs) = self.arg_scalar(&args[0])?;
                let bits = self.bits_of(x, xs);
                let dt = self.i32c(dcode(xs));
                let s = site_of(self);
                let r = if b == B::Allgather {
                    self.rt1("dtl_allgather", &[cx, bits, dt, s], true)?
                } else {
                    let root = self.index_value(&args[1])?;
                    self.rt1("dtl_gather", &[cx, bits, dt, root, s], true)?
                };
                self.temps.push(r);
                V::Val(r)
            }
            B::Scatter => {
                let h = self.handle(&args[0])?;
                let root = self.index_value(&args[1])?;
                let s = site_of(self);
                let bits = self.rt1("dtl_scatter", &[cx, h, root, s], true)?;
                let rs = ret_s.ok_or_else(|| ice("scatter".into()))?;
                V::Val(self.value_of_bits(bits, rs))
            }
            B::Alltoall => {
                let h = self.handle(&args[0])?;
                let s = site_of(self);
                let r = self.rt1("dtl_alltoall", &[cx, h, s], true)?;
                self.temps.push(r);
                V::Val(r)
            }
            B::Send => {
                let dest = self.index_value(&args[1])?;
                let tag = self.index_value(&args[2])?;
                let s = site_of(self);
                if matches!(args[0].ty, Ty::Local(_)) {
                    let h = self.handle(&args[0])?;
                    self.rt("dtl_send_local", &[cx, h, dest, tag, s], true)?;
                } else {
                    let (x, xs) = self.arg_scalar(&args[0])?;
                    let bits = self.bits_of(x, xs);
                    let dt = self.i32c(dcode(xs));
                    self.rt("dtl_send", &[cx, bits, dt, dest, tag, s], true)?;
                }
                V::Unit
            }
            B::Recv => {
                let s = site_of(self);
                if args.len() == 3 {
                    let h = self.handle(&args[0])?;
                    let src = self.index_value(&args[1])?;
                    let tag = self.index_value(&args[2])?;
                    self.rt("dtl_recv_local", &[cx, h, src, tag, s], true)?;
                    V::Unit
                } else {
                    let src = self.index_value(&args[0])?;
                    let tag = self.index_value(&args[1])?;
                    let rs = ret_s.ok_or_else(|| ice("recv".into()))?;
                    let dt = self.i32c(dcode(rs));
                    let bits = self.rt1("dtl_recv", &[cx, dt, src, tag, s], true)?;
                    V::Val(self.value_of_bits(bits, rs))
                }
            }
            B::Sendrecv => {
                if matches!(args[0].ty, Ty::Local(_)) {
                    return Err(unsupported_help(
                        "`sendrecv` of a `local<T>` array",
                        "send and receive it separately (`send` and `recv`)",
                        span,
                    ));
                }
                let (x, xs) = self.arg_scalar(&args[0])?;
                let bits = self.bits_of(x, xs);
                let dt = self.i32c(dcode(xs));
                let dest = self.index_value(&args[1])?;
                let src = self.index_value(&args[2])?;
                let tag = self.index_value(&args[3])?;
                let s = site_of(self);
                let r = self.rt1("dtl_sendrecv", &[cx, bits, dt, dest, src, tag, s], true)?;
                V::Val(self.value_of_bits(r, xs))
            }
            B::Get => {
                let h = self.handle(&args[0])?;
                let i = self.index_value(&args[1])?;
                let z = self.i64c(0);
                let s = site_of(self);
                let bits = self.rt1("dtl_get", &[cx, h, i, z, s], true)?;
                let rs = ret_s.ok_or_else(|| ice("get".into()))?;
                V::Val(self.value_of_bits(bits, rs))
            }
            B::Put => {
                let h = self.handle(&args[0])?;
                let i = self.index_value(&args[1])?;
                let (x, xs) = self.arg_scalar(&args[2])?;
                let bits = self.bits_of(x, xs);
                let z = self.i64c(0);
                let s = site_of(self);
                self.rt("dtl_put", &[cx, h, i, z, bits, s], true)?;
                V::Unit
            }
            B::AtomicAdd => {
                if matches!(args[0].ty, Ty::Map(..)) {
                    return self.map_add(args, span, true);
                }
                let h = self.handle(&args[0])?;
                let i = self.index_value(&args[1])?;
                let (x, xs) = self.arg_scalar(&args[2])?;
                let bits = self.bits_of(x, xs);
                let z = self.i64c(0);
                let s = site_of(self);
                let old = self.rt1("dtl_atomic_add", &[cx, h, i, z, bits, s], true)?;
                V::Val(self.value_of_bits(old, xs))
            }
            B::Insert | B::Lookup | B::Contains => {
                let h = self.handle(&args[0])?;
                let (k, ks) = self.arg_scalar(&args[1])?;
                let k = self.bits_of(k, ks);
                let s = site_of(self);
                match b {
                    B::Insert => {
                        let (v, vs) = self.arg_scalar(&args[2])?;
                        let vb = self.bits_of(v, vs);
                        self.rt("dtl_map_insert", &[cx, h, k, vb, s], true)?;
                        V::Unit
                    }
                    B::Lookup => {
                        let (d, ds) = self.arg_scalar(&args[2])?;
                        let db = self.bits_of(d, ds);
                        let r = self.rt1("dtl_map_lookup", &[cx, h, k, db, s], true)?;
                        V::Val(self.value_of_bits(r, ds))
                    }
                    _ => {
                        let r = self.rt1("dtl_map_contains", &[cx, h, k, s], true)?;
                        V::Val(self.b.ins().ireduce(types::I8, r))
                    }
                }
            }
            B::Print | B::PrintAll => {
                for a in args {
                    match self.expr(a)? {
                        V::Str(p, n) => {
                            self.rt("dtl_print_str", &[cx, p, n], false)?;
                        }
                        V::Val(v) => {
                            let s = Self::scalar_of(a.ty, &a.span)?;
                            match s {
                                Scalar::Bool => {
                                    let w = self.b.ins().uextend(types::I64, v);
                                    self.rt("dtl_print_bool", &[cx, w], false)?;
                                }
                                Scalar::F32 | Scalar::F64 => {
                                    let d = self.as_f64(v, s);
                                    let single = self.i64c((s == Scalar::F32) as i64);
                                    self.rt("dtl_print_float", &[cx, d, single], false)?;
                                }
                                _ => {
                                    let w = self.bits_of(v, s);
                                    let u = self.i64c((!signed(s)) as i64);
                                    self.rt("dtl_print_int", &[cx, w, u], false)?;
                                }
                            }
                        }
                        V::Unit => return Err(unsupported("printing this value", &a.span)),
                    }
                }
                if b == B::Print {
                    self.rt("dtl_print_end", &[cx], true)?;
                } else {
                    let s = site_of(self);
                    self.rt("dtl_print_all_end", &[cx, s], true)?;
                }
                V::Unit
            }
            B::Round => {
                let (x, xs) = self.arg_scalar(&args[0])?;
                let d = self.index_value(&args[1])?;
                let xd = self.as_f64(x, xs);
                let r = self.rt1("dtl_round", &[xd, d], false)?;
                V::Val(if xs == Scalar::F32 {
                    self.b.ins().fdemote(types::F32, r)
                } else {
                    r
                })
            }
            B::Rand | B::Randn => {
                let seed = self.index_value(&args[0])?;
                let i = self.index_value(&args[1])?;
                let name = if b == B::Rand {
                    "dtl_rand"
                } else {
                    "dtl_randn"
                };
                let r = self.rt1(name, &[seed, i], false)?;
                let rs = ret_s.unwrap_or(Scalar::F64);
                V::Val(if rs == Scalar::F32 {
                    self.b.ins().fdemote(types::F32, r)
                } else {
                    r
                })
            }
            B::Assert => {
                let c = self.scalar(&args[0])?;
                let (p, n) = match args.get(1).map(|a| self.expr(a)).transpose()? {
                    Some(V::Str(p, n)) => (p, n),
                    _ => {
                        let bytes: Box<[u8]> = b"assertion failed".to_vec().into_boxed_slice();
                        let p = bytes.as_ptr() as i64;
                        let n = bytes.len() as i64;
                        self.g.strings.push(bytes);
                        (self.i64c(p), self.i64c(n))
                    }
                };
                let failb = self.b.create_block();
                self.b.set_cold_block(failb);
                let cont = self.b.create_block();
                self.b.ins().brif(c, cont, &[], failb, &[]);
                self.b.switch_to_block(failb);
                self.b.seal_block(failb);
                let s = site_of(self);
                self.rt("dtl_assert_fail", &[cx, p, n, s], false)?;
                self.b.ins().jump(self.fail, &[]);
                self.b.switch_to_block(cont);
                self.b.seal_block(cont);
                V::Unit
            }
            B::Save => {
                let h = self.handle(&args[0])?;
                let V::Str(p, n) = self.expr(&args[1])? else {
                    return Err(unsupported(
                        "`save` with a path that is not a string literal",
                        span,
                    ));
                };
                let s = site_of(self);
                self.rt("dtl_save", &[cx, h, p, n, s], true)?;
                V::Unit
            }
            B::Load => {
                let V::Str(p, n) = self.expr(&args[0])? else {
                    return Err(unsupported(
                        "`load` with a path that is not a string literal",
                        span,
                    ));
                };
                let es = e.ty.elem().ok_or_else(|| ice("load type".into()))?;
                let dt = self.i32c(dcode(es));
                let (part, bs) = match layout {
                    Some(l) => self.partition_code(l.partition, span)?,
                    None => (0, 0),
                };
                let part = self.i64c(part);
                let bs = self.i64c(bs);
                let s = site_of(self);
                let r = self.rt1("dtl_load", &[cx, dt, p, n, part, bs, s], true)?;
                self.temps.push(r);
                V::Val(r)
            }
            _ => return Err(unsupported(format!("`{}` here", b.name()), span)),
        })
    }

    fn scalar_collective(&mut self, b: Builtin, args: &[Expr], e: &Expr) -> CResult<V> {
        use Builtin as B;
        let span = &e.span;
        let cx = self.cx;
        let site = self.site(span);
        if matches!(args[0].ty, Ty::Local(_)) {
            let h = self.handle(&args[0])?;
            let r = match b {
                B::Allreduce => {
                    let op = self.i32c(opcode(Self::op_of(&args[1])?));
                    self.rt1("dtl_allreduce_local", &[cx, h, op, site], true)?
                }
                B::Broadcast => {
                    let root = self.index_value(&args[1])?;
                    self.rt1("dtl_broadcast_local", &[cx, h, root, site], true)?
                }
                _ => {
                    return Err(unsupported(
                        format!("`{}` of a `local<T>` array", b.name()),
                        span,
                    ));
                }
            };
            self.temps.push(r);
            return Ok(V::Val(r));
        }
        let (x, xs) = self.arg_scalar(&args[0])?;
        let bits = self.bits_of(x, xs);
        let dt = self.i32c(dcode(xs));
        let r = match b {
            B::Allreduce => {
                let op = self.i32c(opcode(Self::op_of(&args[1])?));
                self.rt1("dtl_allreduce", &[cx, bits, dt, op, site], true)?
            }
            B::Reduce => {
                let op = self.i32c(opcode(Self::op_of(&args[1])?));
                let root = self.index_value(&args[2])?;
                self.rt1("dtl_reduce", &[cx, bits, dt, op, root, site], true)?
            }
            B::Broadcast => {
                let root = self.index_value(&args[1])?;
                self.rt1("dtl_broadcast", &[cx, bits, dt, root, site], true)?
            }
            _ => {
                let op = self.i32c(opcode(Self::op_of(&args[1])?));
                let ex = self.i64c((b == B::ExscanRanks) as i64);
                self.rt1("dtl_scan_ranks", &[cx, bits, dt, op, ex, site], true)?
            }
        };
        Ok(V::Val(self.value_of_bits(r, xs)))
    }
}

/// A builder that is never used; stands in after the real one was finalized.
fn dummy_builder<'x>() -> FunctionBuilder<'x> {
    let func = Box::leak(Box::new(cranelift_codegen::ir::Function::new()));
    let fctx = Box::leak(Box::new(FunctionBuilderContext::new()));
    FunctionBuilder::new(func, fctx)
}

/// A scalar as ABI bits (see `FnGen::bits_of`), for code outside a `FnGen`.
fn bits_in(b: &mut FunctionBuilder, v: Value, s: Scalar) -> Value {
    match s {
        Scalar::I8 | Scalar::I32 => b.ins().sextend(types::I64, v),
        Scalar::U8 | Scalar::U32 | Scalar::Bool => b.ins().uextend(types::I64, v),
        Scalar::I64 | Scalar::U64 => v,
        Scalar::F32 => {
            let d = b.ins().fpromote(types::F64, v);
            b.ins().bitcast(types::I64, MemFlagsData::new(), d)
        }
        Scalar::F64 => b.ins().bitcast(types::I64, MemFlagsData::new(), v),
    }
}

/// ABI bits as a scalar (see `FnGen::value_of_bits`).
fn from_bits_in(b: &mut FunctionBuilder, v: Value, s: Scalar) -> Value {
    match s {
        Scalar::I8 | Scalar::U8 => b.ins().ireduce(types::I8, v),
        Scalar::Bool => b.ins().icmp_imm_s(IntCC::NotEqual, v, 0),
        Scalar::I32 | Scalar::U32 => b.ins().ireduce(types::I32, v),
        Scalar::I64 | Scalar::U64 => v,
        Scalar::F32 => {
            let d = b.ins().bitcast(types::F64, MemFlagsData::new(), v);
            b.ins().fdemote(types::F32, d)
        }
        Scalar::F64 => b.ins().bitcast(types::F64, MemFlagsData::new(), v),
    }
}

/// An expression that is cheap to evaluate and cannot fail or have effects (so `a && b` may
/// evaluate `b` even when `a` is false): variables, literals, globals, and arithmetic other than
/// division on them.
/// The float condition code of comparison `op` (`!=` is true on NaN, the others false).
fn float_cc(op: BinOp) -> FloatCC {
    match op {
        BinOp::Eq => FloatCC::Equal,
        BinOp::Ne => FloatCC::NotEqual,
        BinOp::Lt => FloatCC::LessThan,
        BinOp::Le => FloatCC::LessThanOrEqual,
        BinOp::Gt => FloatCC::GreaterThan,
        _ => FloatCC::GreaterThanOrEqual,
    }
}

/// Whether a condition is lowered as branches ([`FnGen::cond_branch`]): it combines tests with
/// `&&`, `||` or `!`, and no part of it makes a container temporary (which the statement would
/// release after the test, on every path).
fn branchy(e: &Expr) -> bool {
    let combined = matches!(
        e.kind,
        ExprKind::Binary(BinOp::And | BinOp::Or, ..) | ExprKind::Unary(UnOp::Not, _)
    );
    // Container locals (`u[i] > 0.0`) make no temporaries; container-valued operations do.
    let mut plain = true;
    walk_expr(e, &mut |x: &Expr| {
        if !matches!(x.ty, Ty::Scalar(_)) && !matches!(x.kind, ExprKind::Local(_)) {
            plain = false;
        }
    });
    combined && plain
}

fn is_cheap(e: &Expr) -> bool {
    fn walk(e: &Expr, budget: &mut i32) -> bool {
        *budget -= 1;
        if *budget < 0 {
            return false;
        }
        match &e.kind {
            ExprKind::Lit(_) | ExprKind::Local(_) | ExprKind::Global(_) => {
                matches!(e.ty, Ty::Scalar(_))
            }
            ExprKind::Unary(_, a) | ExprKind::Cast(a, _) => walk(a, budget),
            ExprKind::Binary(op, a, b) => {
                !matches!(op, BinOp::Div | BinOp::Rem) && walk(a, budget) && walk(b, budget)
            }
            _ => false,
        }
    }
    walk(e, &mut 8)
}

/// Which functions the roots (or a global's initializer) can call.
fn reachable(m: &hir::Module, roots: &[hir::FnId]) -> Vec<bool> {
    fn calls(e: &Expr, out: &mut Vec<hir::FnId>) {
        walk_expr(e, &mut |x| {
            if let ExprKind::Call {
                callee: Callee::Fn(f),
                ..
            } = &x.kind
            {
                out.push(*f);
            }
        });
    }
    let mut live = vec![false; m.functions.len()];
    let mut work = roots.to_vec();
    for g in &m.globals {
        calls(&g.init, &mut work);
    }
    while let Some(f) = work.pop() {
        let Some(l) = live.get_mut(f.0 as usize) else {
            continue;
        };
        if *l {
            continue;
        }
        *l = true;
        let mut found = Vec::new();
        walk_block(&m.functions[f.0 as usize].body, &mut |e| {
            calls(e, &mut found)
        });
        work.extend(found);
    }
    live
}

/// Per function: whether it can call itself, directly or through other functions (it lies on
/// a cycle of the call graph). Only these get the stack-depth check: a call chain without a
/// cycle is at most as deep as the number of functions.
fn recursive_fns(m: &hir::Module) -> Vec<bool> {
    let callees: Vec<Vec<usize>> = m
        .functions
        .iter()
        .map(|f| {
            let mut out = Vec::new();
            walk_block(&f.body, &mut |e| {
                walk_expr(e, &mut |x| {
                    if let ExprKind::Call {
                        callee: Callee::Fn(g),
                        ..
                    } = &x.kind
                    {
                        out.push(g.0 as usize);
                    }
                })
            });
            out
        })
        .collect();
    (0..callees.len())
        .map(|f| {
            let mut seen = vec![false; callees.len()];
            let mut work = callees[f].clone();
            while let Some(g) = work.pop() {
                if g == f {
                    return true;
                }
                if let Some(s) = seen.get_mut(g)
                    && !*s
                {
                    *s = true;
                    work.extend(callees[g].iter().copied());
                }
            }
            false
        })
        .collect()
}

/// Per container indexed as `c[var + k, ...]` in `b`: the smallest and largest `k`, each range
/// including 0.
fn index_offsets(b: &hir::Block, var: LocalId) -> Vec<(LocalId, i64, i64)> {
    let mut out: Vec<(LocalId, i64, i64)> = Vec::new();
    walk_block(b, &mut |e| {
        walk_expr(e, &mut |x| {
            if let ExprKind::Index(base, idx) = &x.kind
                && let ExprKind::Local(l) = &base.kind
                && let Some(k) = idx.first().and_then(|i| iter_offset(i, var))
            {
                match out.iter_mut().find(|(y, _, _)| y == l) {
                    Some((_, lo, hi)) => {
                        *lo = (*lo).min(k);
                        *hi = (*hi).max(k);
                    }
                    None => out.push((*l, k.min(0), k.max(0))),
                }
            }
        })
    });
    out
}

/// Container locals written by index in `b`.
fn collect_writes(b: &hir::Block, out: &mut Vec<LocalId>) {
    fn stmts(b: &hir::Block, out: &mut Vec<LocalId>) {
        for s in &b.stmts {
            match s {
                Stmt::Assign { target, .. } => {
                    if let ExprKind::Index(base, _) = &target.kind
                        && let ExprKind::Local(l) = &base.kind
                        && !out.contains(l)
                    {
                        out.push(*l);
                    }
                }
                Stmt::If { then, els, .. } => {
                    stmts(then, out);
                    if let Some(e) = els {
                        stmts(e, out);
                    }
                }
                Stmt::While { body, .. } | Stmt::For { body, .. } | Stmt::Forall { body, .. } => {
                    stmts(body, out)
                }
                Stmt::Block(b) => stmts(b, out),
                _ => {}
            }
        }
    }
    stmts(b, out);
}

/// The container leaves of an elementwise expression.
fn collect_leaf_exprs<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match &e.kind {
        ExprKind::Unary(_, a) | ExprKind::Cast(a, _) => collect_leaf_exprs(a, out),
        ExprKind::Binary(_, a, b) => {
            collect_leaf_exprs(a, out);
            collect_leaf_exprs(b, out);
        }
        ExprKind::Call {
            callee: Callee::Builtin(_),
            args,
            ..
        } if e.ty.is_elementwise_container()
            && !matches!(
                e.kind,
                ExprKind::Call {
                    callee: Callee::Builtin(
                        Builtin::Copy | Builtin::Scan | Builtin::Exscan | Builtin::Load
                    ),
                    ..
                }
            ) =>
        {
            for a in args {
                collect_leaf_exprs(a, out);
            }
        }
        _ if e.ty.is_elementwise_container() => out.push(e),
        _ => {}
    }
}

/// Calls `f` on every expression of a block (statements, conditions, nested blocks).
fn walk_block(b: &hir::Block, f: &mut dyn FnMut(&Expr)) {
    for s in &b.stmts {
        match s {
            Stmt::Let { init, .. } => f(init),
            Stmt::Assign { target, value, .. } => {
                f(target);
                f(value);
            }
            Stmt::Expr(e) => f(e),
            Stmt::If {
                cond, then, els, ..
            } => {
                f(cond);
                walk_block(then, f);
                if let Some(e) = els {
                    walk_block(e, f);
                }
            }
            Stmt::While { cond, body, .. } => {
                f(cond);
                walk_block(body, f);
            }
            Stmt::For {
                start,
                end,
                step,
                body,
                ..
            } => {
                f(start);
                f(end);
                if let Some(s) = step {
                    f(s);
                }
                walk_block(body, f);
            }
            Stmt::Forall { over, body, .. } => {
                match over {
                    ForallOver::Container(c) => f(c),
                    ForallOver::Range(a, b) => {
                        f(a);
                        f(b);
                    }
                }
                walk_block(body, f);
            }
            Stmt::Return { value: Some(v), .. } => f(v),
            Stmt::Block(b) => walk_block(b, f),
            _ => {}
        }
    }
    if let Some(t) = &b.tail {
        f(t);
    }
}

/// The constant offset `k` of an index `var + k`, `k + var`, `var - k` or `var`.
fn iter_offset(e: &Expr, var: LocalId) -> Option<i64> {
    fn lit(e: &Expr) -> Option<i64> {
        match &e.kind {
            ExprKind::Lit(Lit::Int(v)) => i64::try_from(*v).ok(),
            ExprKind::Unary(UnOp::Neg, a) => lit(a).map(|v| -v),
            _ => None,
        }
    }
    match &e.kind {
        ExprKind::Local(l) if *l == var => Some(0),
        ExprKind::Binary(BinOp::Add, a, b) => match (&a.kind, &b.kind) {
            (ExprKind::Local(l), _) if *l == var => lit(b),
            (_, ExprKind::Local(l)) if *l == var => lit(a),
            _ => None,
        },
        ExprKind::Binary(BinOp::Sub, a, b) => match &a.kind {
            ExprKind::Local(l) if *l == var => lit(b).map(|v| -v),
            _ => None,
        },
        _ => None,
    }
}

/// Access preparation of a `local` array for [`vec_plan`]: addressed by index, no rows.
fn local_acc(data: Value) -> Acc {
    Acc {
        by_global: None,
        data,
        row: None,
        grows: data,
        nonperiodic: data,
        dim1: data,
        dim2: data,
    }
}

/// `local` arrays indexed in an expression (`x[...]` with `x` a local variable).
fn collect_local_arrays(e: &Expr, tys: &[Ty], out: &mut Vec<LocalId>) {
    walk_expr(e, &mut |x| {
        if let ExprKind::Index(base, _) = &x.kind
            && let ExprKind::Local(l) = &base.kind
            && matches!(tys.get(l.0 as usize), Some(Ty::Local(_)))
            && !out.contains(l)
        {
            out.push(*l);
        }
    });
}

/// Calls `f` on `e` and every subexpression of it.
fn walk_expr(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(e);
    match &e.kind {
        ExprKind::Unary(_, a) | ExprKind::Cast(a, _) => walk_expr(a, f),
        ExprKind::Binary(_, a, b) => {
            walk_expr(a, f);
            walk_expr(b, f);
        }
        ExprKind::Call { args, .. } => {
            for a in args {
                walk_expr(a, f);
            }
        }
        ExprKind::Index(base, idx) => {
            walk_expr(base, f);
            for i in idx {
                walk_expr(i, f);
            }
        }
        ExprKind::Construct { dims, fill, .. } => {
            for d in dims {
                walk_expr(d, f);
            }
            if let Some(x) = fill {
                walk_expr(x, f);
            }
        }
        _ => {}
    }
}

/// The condition and `then` block of a body that is one `if` and nothing else.
fn sole_if(body: &hir::Block) -> Option<(&Expr, &hir::Block, Option<&hir::Block>)> {
    match body.stmts.as_slice() {
        [
            Stmt::If {
                cond, then, els, ..
            },
        ] if body.tail.is_none() => Some((cond, then, els.as_ref())),
        _ => None,
    }
}

/// The distinct float literals of a block (at most [`MAX_CONST_ARGS`], first come first),
/// with their types: the constants a loop function takes as arguments.
fn float_lits(body: &hir::Block) -> Vec<(f64, Scalar)> {
    let mut out: Vec<(f64, Scalar)> = Vec::new();
    walk_block(body, &mut |e| {
        walk_expr(e, &mut |x: &Expr| {
            let v = match &x.kind {
                ExprKind::Lit(Lit::Float(f)) => *f,
                ExprKind::Lit(Lit::Int(i)) => *i as f64,
                _ => return,
            };
            if let Ty::Scalar(s) = x.ty
                && s.is_float()
                && out.len() < MAX_CONST_ARGS
                && !out
                    .iter()
                    .any(|(f, t)| f.to_bits() == v.to_bits() && *t == s)
            {
                out.push((v, s));
            }
        })
    });
    out
}

/// Float constants passed to a loop function as arguments, at most (the rest stay constants):
/// with the live-ins they should fit the 16 vector registers.
const MAX_CONST_ARGS: usize = 6;

/// The float builtins generated code computes on SIMD vectors of `s` (a float type): those
/// Cranelift has vector instructions for, and `sin`/`cos`/`exp` (see `vmath`; f32 lanes are
/// computed in f64, as scalar code does).
fn simd_math(b: Builtin, s: Scalar) -> bool {
    s.is_float()
        && (vmath::computes(b)
            || matches!(
                b,
                Builtin::Sqrt
                    | Builtin::Abs
                    | Builtin::Floor
                    | Builtin::Ceil
                    | Builtin::Min
                    | Builtin::Max
            ))
}

/// The operands of an `&&` chain (the expression itself when it is not one).
fn conjuncts(e: &Expr) -> Vec<&Expr> {
    match &e.kind {
        ExprKind::Binary(BinOp::And, a, b) => {
            let mut v = conjuncts(a);
            v.extend(conjuncts(b));
            v
        }
        _ => vec![e],
    }
}

/// Locals a block declares or assigns (anywhere inside, nested blocks included).
fn body_locals(b: &hir::Block) -> Vec<LocalId> {
    fn stmts(b: &hir::Block, out: &mut Vec<LocalId>) {
        for s in &b.stmts {
            match s {
                Stmt::Let { local, .. } => out.push(*local),
                Stmt::Assign { target, .. } => {
                    if let ExprKind::Local(l) = &target.kind {
                        out.push(*l);
                    }
                }
                Stmt::If { then, els, .. } => {
                    stmts(then, out);
                    if let Some(e) = els {
                        stmts(e, out);
                    }
                }
                Stmt::While { body, .. } => stmts(body, out),
                Stmt::For { var, body, .. } => {
                    out.push(*var);
                    stmts(body, out);
                }
                Stmt::Forall { vars, body, .. } => {
                    out.extend(vars.iter().copied());
                    stmts(body, out);
                }
                Stmt::Block(b) => stmts(b, out),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    stmts(b, &mut out);
    out
}

/// Whether `e` has the same value in every iteration of a forall over `var` whose body
/// declares or assigns `inner`, and can be computed once before the loop without a possible
/// failure or side effect (no calls, no integer division).
fn invariant(e: &Expr, var: LocalId, inner: &[LocalId]) -> bool {
    match &e.kind {
        ExprKind::Lit(Lit::Int(_) | Lit::Float(_) | Lit::Bool(_)) | ExprKind::Global(_) => true,
        ExprKind::Local(l) => *l != var && !inner.contains(l) && matches!(e.ty, Ty::Scalar(_)),
        ExprKind::Unary(_, a) | ExprKind::Cast(a, _) => invariant(a, var, inner),
        ExprKind::Binary(op, a, b) => {
            let int_div = matches!(op, BinOp::Div | BinOp::Rem)
                && !matches!(e.ty, Ty::Scalar(s) if s.is_float());
            !int_div && invariant(a, var, inner) && invariant(b, var, inner)
        }
        _ => false,
    }
}

/// A bound on an iteration index from [`affine_bounds`]: `(lower, e, plus1)`.
type Bound<'e> = (bool, &'e Expr, bool);

/// The bounds an `&&` of comparisons `i OP e` (or `e OP i`, `e` invariant i64) puts on the
/// iteration index `var`: `(lower, e, plus1)` means `i >= e (+1)` when `lower`, else
/// `i < e (+1)`. `None` when the condition has another form.
fn affine_bounds<'e>(cond: &'e Expr, var: LocalId, inner: &[LocalId]) -> Option<Vec<Bound<'e>>> {
    conjuncts(cond)
        .into_iter()
        .map(|c| affine_bound(c, var, inner))
        .collect()
}

/// The bound one comparison `i OP e` (or `e OP i`) puts on `var` (see [`affine_bounds`]).
fn affine_bound<'e>(c: &'e Expr, var: LocalId, inner: &[LocalId]) -> Option<Bound<'e>> {
    let ExprKind::Binary(op, a, b) = &c.kind else {
        return None;
    };
    let is_var = |x: &Expr| matches!(x.kind, ExprKind::Local(l) if l == var);
    let inv = |x: &Expr| matches!(x.ty, Ty::Scalar(Scalar::I64)) && invariant(x, var, inner);
    // Normalize to `i OP e`.
    let (op, e) = if is_var(a) && inv(b) {
        (*op, &**b)
    } else if is_var(b) && inv(a) {
        let flipped = match op {
            BinOp::Lt => BinOp::Gt,
            BinOp::Le => BinOp::Ge,
            BinOp::Gt => BinOp::Lt,
            BinOp::Ge => BinOp::Le,
            other => *other,
        };
        (flipped, &**a)
    } else {
        return None;
    };
    Some(match op {
        BinOp::Gt => (true, e, true),
        BinOp::Ge => (true, e, false),
        BinOp::Lt => (false, e, false),
        BinOp::Le => (false, e, true),
        _ => return None,
    })
}

/// An elementwise expression computed on SIMD vectors inside a loop function of its own
/// (`dtl_vecN`): leaves are the function's arguments.
#[derive(Clone, Debug)]
enum VExpr {
    /// Scalar argument `k`, splatted.
    Arg(usize),
    /// A vector at pointer argument `p`, `d` elements from the current position.
    Read(usize, i64),
    Neg(Box<VExpr>),
    Bin(BinOp, Box<VExpr>, Box<VExpr>),
    Call(Builtin, Vec<VExpr>),
}

impl VExpr {
    /// Appends the builtins this expression calls.
    fn builtins(&self, out: &mut Vec<Builtin>) {
        match self {
            VExpr::Arg(_) | VExpr::Read(..) => {}
            VExpr::Neg(a) => a.builtins(out),
            VExpr::Bin(_, a, b) => {
                a.builtins(out);
                b.builtins(out);
            }
            VExpr::Call(f, xs) => {
                out.push(*f);
                xs.iter().for_each(|x| x.builtins(out));
            }
        }
    }
}

/// The runtime's scalar `sin`/`cos`/`exp` as declared in a vector loop function (those it
/// uses), for the lanes the vector code leaves to them.
type ScalarMath = Vec<(Builtin, FuncRef)>;

/// The runtime entry point computing math builtin `b` on one f64.
fn libm_entry(b: Builtin) -> Option<&'static str> {
    Some(match b {
        Builtin::Sin => "dtl_sin",
        Builtin::Cos => "dtl_cos",
        Builtin::Tan => "dtl_tan",
        Builtin::Exp => "dtl_exp",
        Builtin::Log => "dtl_log",
        _ => return None,
    })
}

/// `*(p + i) (op)= e` in a vector loop: pointer argument, operator, value.
#[derive(Debug)]
struct VStmt {
    target: usize,
    op: Option<BinOp>,
    value: VExpr,
}

/// What a vector loop function does per position.
#[derive(Debug)]
enum VBody<'a> {
    /// Stores, in order.
    Store(&'a [VStmt]),
    /// Accumulates a value (`Sum`, `Min`, `Max`) and returns the vector of partial results.
    Reduce(ReduceOp, &'a VExpr),
}

impl VBody<'_> {
    /// The builtins the loop calls.
    fn builtins(&self) -> Vec<Builtin> {
        let mut calls = Vec::new();
        match self {
            VBody::Store(stmts) => stmts.iter().for_each(|s| s.value.builtins(&mut calls)),
            VBody::Reduce(_, e) => e.builtins(&mut calls),
        }
        calls
    }

    /// SIMD vectors per iteration: [`UNROLL`], or 1 when the loop computes `sin`/`cos`/`exp`,
    /// whose 40–70 instructions per vector keep the units busy without unrolling (and
    /// unrolling would double the code to compile).
    fn unroll(&self) -> i64 {
        if self.builtins().into_iter().any(vmath::computes) {
            1
        } else {
            UNROLL
        }
    }
}

/// The index of `x` in `list`, appended if absent.
fn slot<T: PartialEq>(list: &mut Vec<T>, x: T) -> usize {
    match list.iter().position(|y| *y == x) {
        Some(i) => i,
        None => {
            list.push(x);
            list.len() - 1
        }
    }
}

/// A vectorizable [`Elem`] tree as a [`VExpr`] over pointer and scalar argument lists.
fn elem_vexpr(n: &Elem, ptrs: &mut Vec<Value>, args: &mut Vec<Value>) -> Option<VExpr> {
    Some(match n {
        Elem::Hoisted(v) => VExpr::Arg(slot(args, *v)),
        Elem::Leaf(data, _) => VExpr::Read(slot(ptrs, *data), 0),
        Elem::Unary(UnOp::Neg, a, _) => VExpr::Neg(Box::new(elem_vexpr(a, ptrs, args)?)),
        Elem::Binary(op, a, b, _) => VExpr::Bin(
            *op,
            Box::new(elem_vexpr(a, ptrs, args)?),
            Box::new(elem_vexpr(b, ptrs, args)?),
        ),
        Elem::Call(b, xs, _, _) => {
            let mut vs = Vec::new();
            for x in xs {
                vs.push(elem_vexpr(x, ptrs, args)?);
            }
            VExpr::Call(*b, vs)
        }
        Elem::Unary(..) | Elem::Cast(..) => return None,
    })
}

/// Compiles a vector loop as a function of its own:
/// `fn(n, pointers..., scalars...) [-> vector]` runs positions `0..n` (a multiple of the
/// vector chunk) and advances every pointer by one chunk per iteration. In a small function
/// the register allocator keeps the loop's pointers and constants in registers (inside the
/// caller's loop nests it spilled them on every iteration).
fn vec_kernel<M: Module>(
    g: &mut Gen<'_, M>,
    elem: Scalar,
    nptrs: usize,
    nargs: usize,
    body: VBody,
    vt: Type,
) -> CResult<FuncId> {
    // The same loop twice in a program (e.g. `sum` of different vectors) is one function.
    let shape = format!("{elem:?} {nptrs} {nargs} {vt} {body:?}");
    if let Some(id) = g.kernel_cache.get(&shape) {
        return Ok(*id);
    }
    let ptr = g.module.target_config().pointer_type();
    let st = clif_ty(elem);
    let es = size_of(elem);
    let mut sig = g.module.make_signature();
    sig.params.push(AbiParam::new(types::I64));
    for _ in 0..nptrs {
        sig.params.push(AbiParam::new(ptr));
    }
    for _ in 0..nargs {
        sig.params.push(AbiParam::new(st));
    }
    if matches!(body, VBody::Reduce(..)) {
        sig.returns.push(AbiParam::new(vt));
    }
    let (id, name) = g.declare_loop_fn("dtl_vec", &sig)?;
    let mut ctx = g.module.make_context();
    ctx.func.signature = sig;
    let unroll = body.unroll();
    let mut scalar = ScalarMath::new();
    for f in body.builtins() {
        if vmath::computes(f) && !scalar.iter().any(|(h, _)| *h == f) {
            let id = libm_entry(f)
                .and_then(|entry| g.imports.get(entry))
                .ok_or_else(|| ice(format!("no runtime entry point for `{}`", f.name())))?;
            scalar.push((f, g.module.declare_func_in_func(*id, &mut ctx.func)));
        }
    }
    let mut fctx = FunctionBuilderContext::new();
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let params = b.block_params(entry).to_vec();
        let n = params[0];
        let args: Vec<Value> = params[1 + nptrs..]
            .iter()
            .map(|x| b.ins().splat(vt, *x))
            .collect();
        let lanes = vt.lane_count() as i64;
        let head = b.create_block();
        let bodyb = b.create_block();
        let exit = b.create_block();
        let kv = b.append_block_param(head, types::I64);
        let ptrs: Vec<Value> = (0..nptrs)
            .map(|_| b.append_block_param(head, ptr))
            .collect();
        // Reductions: one accumulator per unrolled vector (independent add chains).
        let nacc = if matches!(body, VBody::Reduce(..)) {
            unroll as usize
        } else {
            0
        };
        let accs: Vec<Value> = (0..nacc).map(|_| b.append_block_param(head, vt)).collect();
        let z = b.ins().iconst(types::I64, 0);
        let mut start = vec![BlockArg::Value(z)];
        start.extend(params[1..1 + nptrs].iter().map(|p| BlockArg::Value(*p)));
        if let VBody::Reduce(op, _) = body {
            let s = identity_const(&mut b, op, elem);
            let v = b.ins().splat(vt, s);
            start.extend((0..nacc).map(|_| BlockArg::Value(v)));
        }
        b.ins().jump(head, &start);
        b.switch_to_block(head);
        // Exit first: see `FnGen::stepped_loop`.
        let done = b.ins().icmp(IntCC::SignedGreaterThanOrEqual, kv, n);
        b.ins().brif(done, exit, &[], bodyb, &[]);
        b.switch_to_block(bodyb);
        b.seal_block(bodyb);
        let mut next_accs = Vec::new();
        for u in 0..unroll {
            let lane = u * lanes;
            match &body {
                VBody::Store(stmts) => {
                    for s in *stmts {
                        let mut v =
                            emit_vexpr(&mut b, &s.value, lane, es, vt, &args, &ptrs, &scalar)?;
                        let p = ptrs[s.target];
                        let disp =
                            i32::try_from(lane * es).map_err(|_| ice("vector offset".into()))?;
                        if let Some(op) = s.op {
                            let old = b.ins().load(vt, vflags(), p, disp);
                            v = vbin(&mut b, op, old, v);
                        }
                        b.ins().store(vflags(), v, p, disp);
                    }
                }
                VBody::Reduce(op, e) => {
                    let v = emit_vexpr(&mut b, e, lane, es, vt, &args, &ptrs, &scalar)?;
                    next_accs.push(vcombine(&mut b, *op, accs[u as usize], v));
                }
            }
        }
        let chunk = lanes * unroll;
        let k1 = b.ins().iadd_imm_s(kv, chunk);
        let mut next = vec![BlockArg::Value(k1)];
        for p in &ptrs {
            next.push(BlockArg::Value(b.ins().iadd_imm_s(*p, chunk * es)));
        }
        next.extend(next_accs.iter().map(|a| BlockArg::Value(*a)));
        b.ins().jump(head, &next);
        b.seal_block(head);
        b.switch_to_block(exit);
        b.seal_block(exit);
        if let VBody::Reduce(op, _) = body {
            let mut tot = accs[0];
            for a in &accs[1..] {
                tot = vcombine(&mut b, op, tot, *a);
            }
            b.ins().return_(&[tot]);
        } else {
            b.ins().return_(&[]);
        }
        b.seal_all_blocks();
        b.finalize(g.module.target_config());
    }
    g.define(id, &mut ctx, &name, "")?;
    g.kernel_cache.insert(shape, id);
    Ok(id)
}

/// The identity of a vector reduction (`Sum`, `Min`, `Max` on floats) as a scalar constant.
fn identity_const(b: &mut FunctionBuilder, op: ReduceOp, s: Scalar) -> Value {
    let x = match op {
        ReduceOp::Min => f64::INFINITY,
        ReduceOp::Max => f64::NEG_INFINITY,
        _ => 0.0,
    };
    if s == Scalar::F32 {
        b.ins().f32const(x as f32)
    } else {
        b.ins().f64const(x)
    }
}

/// `a op b` on float vectors (`+ - * /`).
fn vbin(b: &mut FunctionBuilder, op: BinOp, x: Value, y: Value) -> Value {
    match op {
        BinOp::Add => b.ins().fadd(x, y),
        BinOp::Sub => b.ins().fsub(x, y),
        BinOp::Mul => b.ins().fmul(x, y),
        _ => b.ins().fdiv(x, y),
    }
}

/// One step of a vector reduction.
fn vcombine(b: &mut FunctionBuilder, op: ReduceOp, acc: Value, v: Value) -> Value {
    match op {
        ReduceOp::Min => b.ins().fmin(acc, v),
        ReduceOp::Max => b.ins().fmax(acc, v),
        _ => b.ins().fadd(acc, v),
    }
}

/// Emits one SIMD vector of a vector expression: lanes `lane..` after the pointers.
#[allow(clippy::too_many_arguments)]
fn emit_vexpr(
    b: &mut FunctionBuilder,
    v: &VExpr,
    lane: i64,
    es: i64,
    vt: Type,
    args: &[Value],
    ptrs: &[Value],
    scalar: &ScalarMath,
) -> CResult<Value> {
    Ok(match v {
        VExpr::Arg(k) => *args.get(*k).ok_or_else(|| ice("vector argument".into()))?,
        VExpr::Read(p, c) => {
            let p = *ptrs.get(*p).ok_or_else(|| ice("vector pointer".into()))?;
            let disp = i32::try_from((c + lane) * es).map_err(|_| ice("vector offset".into()))?;
            b.ins().load(vt, vflags(), p, disp)
        }
        VExpr::Neg(a) => {
            let x = emit_vexpr(b, a, lane, es, vt, args, ptrs, scalar)?;
            b.ins().fneg(x)
        }
        VExpr::Bin(op, x, y) => {
            let x = emit_vexpr(b, x, lane, es, vt, args, ptrs, scalar)?;
            let y = emit_vexpr(b, y, lane, es, vt, args, ptrs, scalar)?;
            vbin(b, *op, x, y)
        }
        VExpr::Call(f, xs) => {
            let mut vs = Vec::new();
            for x in xs {
                vs.push(emit_vexpr(b, x, lane, es, vt, args, ptrs, scalar)?);
            }
            match f {
                f if vmath::computes(*f) => {
                    let (_, r) = scalar
                        .iter()
                        .find(|(h, _)| h == f)
                        .ok_or_else(|| ice(format!("vector `{}` without its entry", f.name())))?;
                    vmath::call(b, *f, vs[0], vt, *r)
                }
                Builtin::Sqrt => b.ins().sqrt(vs[0]),
                Builtin::Abs => b.ins().fabs(vs[0]),
                Builtin::Floor => b.ins().floor(vs[0]),
                Builtin::Ceil => b.ins().ceil(vs[0]),
                Builtin::Min => b.ins().fmin(vs[0], vs[1]),
                _ => b.ins().fmax(vs[0], vs[1]),
            }
        }
    })
}

/// A forall body that runs as SIMD code: straight-line element assignments of one float type.
struct VecPlan<'e> {
    elem: Scalar,
    stmts: Vec<VStmt>,
    /// The pointer arguments: container and row offset (always 0 for vectors).
    ptrs: Vec<(LocalId, i64)>,
    /// The scalar arguments: loop-invariant expressions, computed before the loop.
    invs: Vec<&'e Expr>,
    /// Containers written, and those read at a nonzero offset (disjoint sets of locals).
    written: Vec<LocalId>,
    shifted: Vec<LocalId>,
    /// The smallest and largest element displacement of the reads (tensor columns `j + m`).
    disp: (i64, i64),
}

impl VecPlan<'_> {
    /// The smallest and largest displacement at which pointer argument `slot` is accessed
    /// (stores at 0).
    fn slot_disp(&self, slot: usize) -> (i64, i64) {
        fn walk(v: &VExpr, slot: usize, r: &mut (i64, i64)) {
            match v {
                VExpr::Arg(_) => {}
                VExpr::Read(p, d) => {
                    if *p == slot {
                        *r = (r.0.min(*d), r.1.max(*d));
                    }
                }
                VExpr::Neg(a) => walk(a, slot, r),
                VExpr::Bin(_, a, b) => {
                    walk(a, slot, r);
                    walk(b, slot, r);
                }
                VExpr::Call(_, xs) => {
                    for x in xs {
                        walk(x, slot, r);
                    }
                }
            }
        }
        let mut r = (0, 0);
        for st in &self.stmts {
            walk(&st.value, slot, &mut r);
        }
        r
    }
}

/// Whether a forall body can run as SIMD vectors, along the rows of a 1-D forall with step 1
/// (`jvar` `None`) or along the columns `jvar` of one row of a 2-D forall over a tensor: only
/// `let x = e;` of floats and `c[i] (op)= e;` / `t[i, j] (op)= e;` where `e` uses `+ - * /`,
/// negation, `sqrt abs floor ceil min max sin cos exp`, loop-invariant scalars
/// and reads `d[i + k]` of vectors (`t[i + k, j + m]` of tensors) addressed by local row, all
/// of one float type; and no written container read at a nonzero offset (the elements of one
/// vector would see each other's old values in a different order).
fn vec_plan<'e>(
    body: &'e hir::Block,
    var: LocalId,
    jvar: Option<LocalId>,
    modes: &HashMap<LocalId, Acc>,
) -> Option<VecPlan<'e>> {
    /// `(row key, displacement)` of an index list, `None` if it is not a vector access.
    fn access(idx: &[Expr], var: LocalId, jvar: Option<LocalId>, acc: &Acc) -> Option<(i64, i64)> {
        if acc.by_global.is_some() {
            return None;
        }
        let (key, d) = match (jvar, idx) {
            (None, [i]) if acc.row.is_none() => (0, iter_offset(i, var)?),
            (Some(j), [i, jj]) if acc.row.is_some() => (iter_offset(i, var)?, iter_offset(jj, j)?),
            _ => return None,
        };
        // Offsets become 32-bit displacements (times the element size): an absurd one such as
        // `a[k - 1000000000000]` stays scalar code, whose bounds check reports it (it was an
        // internal compiler error, "vector offset").
        const MAX_OFFSET: u64 = 1 << 24;
        (key.unsigned_abs() <= MAX_OFFSET && d.unsigned_abs() <= MAX_OFFSET).then_some((key, d))
    }
    /// What the body's expressions refer to: pointer and scalar arguments, reads.
    struct Refs<'e> {
        ptrs: Vec<(LocalId, i64)>,
        invs: Vec<&'e Expr>,
        reads: Vec<(LocalId, i64, i64)>,
    }
    #[allow(clippy::too_many_arguments)]
    fn vexpr<'e>(
        e: &'e Expr,
        s: Scalar,
        var: LocalId,
        jvar: Option<LocalId>,
        inner: &[LocalId],
        lets: &HashMap<LocalId, VExpr>,
        modes: &HashMap<LocalId, Acc>,
        refs: &mut Refs<'e>,
    ) -> Option<VExpr> {
        if e.ty != Ty::Scalar(s) {
            return None;
        }
        if let ExprKind::Local(l) = &e.kind
            && let Some(v) = lets.get(l)
        {
            return Some(v.clone());
        }
        if invariant(e, var, inner) {
            let k = match refs.invs.iter().position(|x| std::ptr::eq(*x, e)) {
                Some(k) => k,
                None => {
                    refs.invs.push(e);
                    refs.invs.len() - 1
                }
            };
            return Some(VExpr::Arg(k));
        }
        let mut sub = |x: &'e Expr| vexpr(x, s, var, jvar, inner, lets, modes, refs);
        Some(match &e.kind {
            ExprKind::Index(base, idx) => {
                let ExprKind::Local(l) = &base.kind else {
                    return None;
                };
                let (key, d) = access(idx, var, jvar, modes.get(l)?)?;
                refs.reads.push((*l, key, d));
                VExpr::Read(slot(&mut refs.ptrs, (*l, key)), d)
            }
            ExprKind::Unary(UnOp::Neg, a) => VExpr::Neg(Box::new(sub(a)?)),
            ExprKind::Binary(op @ (BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div), a, b) => {
                VExpr::Bin(*op, Box::new(sub(a)?), Box::new(sub(b)?))
            }
            ExprKind::Call {
                callee: Callee::Builtin(b),
                args,
                ..
            } if simd_math(*b, s) => {
                let mut xs = Vec::new();
                for a in args {
                    xs.push(sub(a)?);
                }
                VExpr::Call(*b, xs)
            }
            _ => return None,
        })
    }
    if body.tail.is_some() || body.stmts.is_empty() {
        return None;
    }
    let mut inner = body_locals(body);
    inner.extend(jvar);
    let mut elem = None;
    let mut lets = HashMap::new();
    let mut stmts = Vec::new();
    let mut refs = Refs {
        ptrs: Vec::new(),
        invs: Vec::new(),
        reads: Vec::new(),
    };
    for st in &body.stmts {
        match st {
            Stmt::Let { local, init, .. } => {
                let Ty::Scalar(s) = init.ty else { return None };
                if *elem.get_or_insert(s) != s {
                    return None;
                }
                let v = vexpr(init, s, var, jvar, &inner, &lets, modes, &mut refs)?;
                lets.insert(*local, v);
            }
            Stmt::Assign {
                target, op, value, ..
            } => {
                let ExprKind::Index(base, idx) = &target.kind else {
                    return None;
                };
                let ExprKind::Local(t) = &base.kind else {
                    return None;
                };
                if access(idx, var, jvar, modes.get(t)?) != Some((0, 0))
                    || !matches!(
                        op,
                        None | Some(BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div)
                    )
                {
                    return None;
                }
                let Ty::Scalar(s) = target.ty else {
                    return None;
                };
                if *elem.get_or_insert(s) != s {
                    return None;
                }
                let v = vexpr(value, s, var, jvar, &inner, &lets, modes, &mut refs)?;
                stmts.push(VStmt {
                    target: slot(&mut refs.ptrs, (*t, 0)),
                    op: *op,
                    value: v,
                });
            }
            _ => return None,
        }
    }
    let elem = elem?;
    if !elem.is_float() || stmts.is_empty() {
        return None;
    }
    let mut written: Vec<LocalId> = Vec::new();
    for st in &stmts {
        let t = refs.ptrs[st.target].0;
        if !written.contains(&t) {
            written.push(t);
        }
    }
    let mut shifted: Vec<LocalId> = Vec::new();
    let mut disp = (0, 0);
    for (l, key, d) in refs.reads {
        if (key, d) != (0, 0) && !shifted.contains(&l) {
            shifted.push(l);
        }
        disp = (disp.0.min(d), disp.1.max(d));
    }
    if shifted.iter().any(|l| written.contains(l)) {
        return None;
    }
    Some(VecPlan {
        elem,
        stmts,
        ptrs: refs.ptrs,
        invs: refs.invs,
        written,
        shifted,
        disp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    /// An internal error raised without a position takes the function's span; one with a
    /// position, and an unsupported construct, keep theirs.
    #[test]
    fn an_internal_error_without_a_position_takes_the_functions_span() {
        let f = Span::new(FileId(0), 0..40);
        let own = Span::new(FileId(0), 10..12);
        assert_eq!(
            ice("forall var".into()).or_at(&f),
            CodegenError::Internal {
                detail: "forall var".into(),
                span: Some(f.clone()),
            }
        );
        let placed = CodegenError::Internal {
            detail: "x".into(),
            span: Some(own.clone()),
        };
        assert_eq!(placed.clone().or_at(&f), placed);
        let u = unsupported("this", &own);
        assert_eq!(u.clone().or_at(&f), u);
    }
}
