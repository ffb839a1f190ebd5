//! The JIT: Cranelift settings, the runtime's symbol table, and compiled programs that run on
//! N ranks.

use std::collections::HashMap;
use std::sync::Arc;

use cranelift_codegen::settings::{self, Configurable};
use cranelift_jit::{JITBuilder, JITModule};
use dtl_runtime::abi::{self, ProgramInfo, RankCtx, Sink};
use dtl_runtime::comm::CommRef;
use dtl_runtime::error::{Code, DtlError, Site};
use dtl_runtime::launch;

use crate::codegen::{self, CodegenError, CodegenOptions};
use crate::hir::{self, GlobalKind, Scalar, Ty};
use crate::source::SourceMap;

/// A compiled program: native code for every function, ready to run on any number of ranks.
pub struct Program {
    _module: CodeMemory,
    _strings: Vec<Box<[u8]>>,
    init: extern "C" fn(*mut RankCtx),
    main: Option<extern "C" fn(*mut RankCtx)>,
    functions: Vec<FnInfo>,
    sites: Vec<Site>,
    params: Vec<(String, Scalar, u32)>,
    nglobals: usize,
    /// Cranelift IR as generated, per function (when requested).
    pub ir: Vec<String>,
    /// Cranelift IR after optimization, per function (when requested).
    pub clif: Vec<String>,
    /// Machine code per function (when requested).
    pub asm: Vec<String>,
}

/// Keeps a finalized JIT module (the code's memory) alive; never used otherwise.
struct CodeMemory(#[allow(dead_code)] JITModule);

// SAFETY: after `finalize_definitions` the module is never read or written again; it is only
// kept so that its code memory stays mapped, and dropped with the `Program`. Sharing or sending
// a value nobody accesses cannot race. The finalized code itself is plain machine code, callable
// from any thread (each call gets its own rank context).
unsafe impl Send for CodeMemory {}
// SAFETY: as above.
unsafe impl Sync for CodeMemory {}

/// A function of the user's module, callable through [`Program::call_on`].
#[derive(Clone, Debug)]
pub struct FnInfo {
    pub name: String,
    /// Parameter names and types.
    pub params: Vec<(String, Ty)>,
    pub ret: Ty,
    /// Whether calling it is collective (every rank must call it).
    pub collective: bool,
    entry: extern "C" fn(*mut RankCtx, *const i64) -> i64,
}

impl FnInfo {
    /// `name(a: f64, x: vector<f64>) -> f64`.
    pub fn signature(&self) -> String {
        let ps: Vec<String> = self
            .params
            .iter()
            .map(|(n, t)| format!("{n}: {t}"))
            .collect();
        match self.ret {
            Ty::Unit => format!("{}({})", self.name, ps.join(", ")),
            r => format!("{}({}) -> {r}", self.name, ps.join(", ")),
        }
    }
}

/// The result of [`Program::call_with`].
#[derive(Debug, Clone, PartialEq)]
pub enum CallValue {
    /// A scalar (or nothing) as bits.
    Bits(i64),
    /// A returned `local<T>` array: its element type and its elements as bits.
    Local(dtl_runtime::elem::DType, Vec<i64>),
    /// A returned distributed container (reported as an error by `call_with`).
    Unsupported,
}

/// The elements of a local array handle as bits.
fn local_bits(h: *mut abi::Obj, dt: dtl_runtime::elem::DType) -> Vec<i64> {
    use dtl_runtime::elem::DType as D;
    fn conv<T: abi::AbiElem>(h: *mut abi::Obj) -> Vec<i64> {
        abi::local_to_vec::<T>(h)
            .map(|v| v.into_iter().map(|x| x.to_abi()).collect())
            .unwrap_or_default()
    }
    match dt {
        D::I8 => conv::<i8>(h),
        D::I32 => conv::<i32>(h),
        D::I64 => conv::<i64>(h),
        D::U8 => conv::<u8>(h),
        D::U32 => conv::<u32>(h),
        D::U64 => conv::<u64>(h),
        D::F32 => conv::<f32>(h),
        D::F64 => conv::<f64>(h),
        D::Bool => conv::<bool>(h),
    }
}

/// How a run ended badly.
#[derive(Debug, Clone)]
pub struct RunError {
    pub code: Code,
    /// `error[Rxxxx]: … at FILE:LINE:COL (rank r)`.
    pub message: String,
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RunError {}

impl From<DtlError> for RunError {
    fn from(e: DtlError) -> Self {
        RunError {
            code: e.code(),
            message: format!("error[{}]: {}", e.code(), e),
        }
    }
}

/// The stack of each rank's thread (`dtlc run` on threads and on MPI): recursion deeper than
/// it allows is R0015.
pub const RANK_STACK: usize = 64 << 20;

/// Options of a run.
#[derive(Clone)]
pub struct RunOptions {
    pub nranks: usize,
    /// `-D name=value` overrides of `param` values.
    pub overrides: Vec<(String, String)>,
    /// Where printed lines go (stdout when `None`).
    pub sink: Option<Sink>,
}

fn isa() -> Result<Arc<dyn cranelift_codegen::isa::TargetIsa>, CodegenError> {
    let err = |m: String| CodegenError::Internal {
        detail: format!("JIT setup: {m}"),
        span: None,
    };
    let mut fb = settings::builder();
    fb.set("use_colocated_libcalls", "false")
        .map_err(|e| err(e.to_string()))?;
    fb.set("is_pic", "false").map_err(|e| err(e.to_string()))?;
    fb.set("opt_level", "speed")
        .map_err(|e| err(e.to_string()))?;
    // Cranelift's own verifier: on in debug builds and tests (with ours in `codegen`), off in
    // release builds, where it is a measurable part of the few milliseconds a compile takes.
    let verify = if cfg!(debug_assertions) {
        "true"
    } else {
        "false"
    };
    fb.set("enable_verifier", verify)
        .map_err(|e| err(e.to_string()))?;
    let isa_b = cranelift_native::builder().map_err(|e| err(e.to_string()))?;
    isa_b
        .finish(settings::Flags::new(fb))
        .map_err(|e| err(e.to_string()))
}

impl Program {
    /// Compiles a checked module (no errors) into native code.
    pub fn compile(
        m: &hir::Module,
        sources: &SourceMap,
        opts: CodegenOptions,
        want_text: bool,
    ) -> Result<Program, CodegenError> {
        let isa = isa()?;
        let mut jb = JITBuilder::with_isa(isa, cranelift_module::default_libcall_names());
        for e in abi::table() {
            jb.symbol(e.name, e.ptr);
        }
        let mut module = JITModule::new(jb);
        let out = codegen::compile(&mut module, m, sources, opts, want_text)?;
        module
            .finalize_definitions()
            .map_err(|e| CodegenError::Internal {
                detail: format!("finalize: {e}"),
                span: None,
            })?;
        let init_p = module.get_finalized_function(out.init);
        // SAFETY: `__init` was declared with the signature `fn(*mut RankCtx)` (one pointer
        // parameter, no result) in `codegen::compile` and is now finalized.
        let init: extern "C" fn(*mut RankCtx) = unsafe { std::mem::transmute(init_p) };
        let main = out.main.map(|id| {
            let p = module.get_finalized_function(id);
            // SAFETY: as above; `main` takes only the context and returns nothing (the type
            // checker requires `fn main()` to have no parameters and no result).
            let f: extern "C" fn(*mut RankCtx) = unsafe { std::mem::transmute(p) };
            f
        });
        let functions = out
            .entries
            .iter()
            .map(|(i, id)| {
                let f = &m.functions[*i];
                let p = module.get_finalized_function(*id);
                // SAFETY: entry wrappers are declared as `fn(ctx, argv) -> i64` (two pointer
                // parameters, one i64 result) in `codegen::compile` and are finalized.
                let entry: extern "C" fn(*mut RankCtx, *const i64) -> i64 =
                    unsafe { std::mem::transmute(p) };
                FnInfo {
                    name: f.name.clone(),
                    params: f
                        .params
                        .iter()
                        .map(|l| {
                            let d = &f.locals[l.0 as usize];
                            (d.name.clone(), d.ty)
                        })
                        .collect(),
                    ret: f.ret,
                    collective: f.collective,
                    entry,
                }
            })
            .collect();
        let params = m
            .globals
            .iter()
            .enumerate()
            .filter(|(_, g)| g.kind == GlobalKind::Param)
            .filter_map(|(i, g)| match g.ty {
                Ty::Scalar(s) => Some((g.name.clone(), s, i as u32)),
                _ => None,
            })
            .collect();
        Ok(Program {
            _module: CodeMemory(module),
            _strings: out.strings,
            init,
            main,
            functions,
            sites: out.sites,
            params,
            nglobals: m.globals.len(),
            ir: out.ir,
            clif: out.clif,
            asm: out.asm,
        })
    }

    /// The `param` names and types, for help and validation.
    pub fn params(&self) -> impl Iterator<Item = (&str, Scalar)> {
        self.params.iter().map(|(n, s, _)| (n.as_str(), *s))
    }

    /// Validates `-D` overrides into the runtime's form.
    pub fn overrides(&self, given: &[(String, String)]) -> Result<HashMap<u32, i64>, String> {
        let mut out = HashMap::new();
        for (name, value) in given {
            let Some((_, s, slot)) = self.params.iter().find(|(n, _, _)| n == name) else {
                let known: Vec<&str> = self.params.iter().map(|(n, _, _)| n.as_str()).collect();
                return Err(if known.is_empty() {
                    format!("-D {name}: this program declares no `param`")
                } else {
                    format!(
                        "-D {name}: no such `param`; this program declares: {}",
                        known.join(", ")
                    )
                });
            };
            let v = value.replace('_', "");
            let bad = || format!("-D {name}={value}: not a valid `{}`", s.name());
            let bits: i64 = match s {
                Scalar::Bool => match v.as_str() {
                    "true" => 1,
                    "false" => 0,
                    _ => return Err(bad()),
                },
                Scalar::F32 | Scalar::F64 => {
                    let f: f64 = v.parse().map_err(|_| bad())?;
                    f.to_bits() as i64
                }
                Scalar::U64 => v.parse::<u64>().map_err(|_| bad())? as i64,
                _ => {
                    let x: i64 = v.parse().map_err(|_| bad())?;
                    let ok = match s {
                        Scalar::I8 => i8::try_from(x).is_ok(),
                        Scalar::I32 => i32::try_from(x).is_ok(),
                        Scalar::U8 => u8::try_from(x).is_ok(),
                        Scalar::U32 => u32::try_from(x).is_ok(),
                        _ => true,
                    };
                    if !ok {
                        return Err(bad());
                    }
                    x
                }
            };
            out.insert(*slot, bits);
        }
        Ok(out)
    }

    fn info(&self, opts: &RunOptions) -> Result<Arc<ProgramInfo>, RunError> {
        let overrides = self.overrides(&opts.overrides).map_err(|m| RunError {
            code: Code::R0009,
            message: format!("error: {m}"),
        })?;
        let mut info = ProgramInfo::new(self.sites.clone(), self.nglobals);
        info.overrides = overrides;
        if let Some(s) = &opts.sink {
            info.sink = s.clone();
        }
        Ok(Arc::new(info))
    }

    /// The functions of the user's module.
    pub fn functions(&self) -> &[FnInfo] {
        &self.functions
    }

    /// Whether the program has a `main`.
    pub fn has_main(&self) -> bool {
        self.main.is_some()
    }

    fn main_fn(&self) -> Result<extern "C" fn(*mut RankCtx), RunError> {
        self.main.ok_or_else(|| RunError {
            code: Code::R0009,
            message: "error[R0009]: the program has no `fn main()` to run".into(),
        })
    }

    /// Runs `main` on one rank of an existing communicator (the caller runs every rank).
    pub fn run_on(
        &self,
        comm: &CommRef,
        info: &Arc<ProgramInfo>,
    ) -> dtl_runtime::error::Result<()> {
        let main = self.main_fn().map_err(|e| DtlError::invalid(e.message))?;
        let mut cx = RankCtx::new(comm, info.clone());
        let p: *mut RankCtx = &mut *cx;
        (self.init)(p);
        if cx.failed == 0 {
            main(p);
        }
        cx.finish()
    }

    /// Calls function `name` on this rank of `comm` with arguments as ABI bits (scalars as in
    /// `runtime::abi`, containers as handles the caller owns and keeps alive), after running
    /// the `const`/`param` initializers. Returns the result as bits (a returned container is a
    /// handle the caller must release). A collective function must be called on every rank.
    pub fn call_on(
        &self,
        comm: &CommRef,
        info: &Arc<ProgramInfo>,
        name: &str,
        args: &[i64],
    ) -> Result<i64, RunError> {
        let f = self.function(name).ok_or_else(|| RunError {
            code: Code::R0009,
            message: format!("error[R0009]: no function `{name}` in this program"),
        })?;
        if args.len() != f.params.len() {
            return Err(arity_error(f, args.len()));
        }
        let mut cx = RankCtx::new(comm, info.clone());
        let p: *mut RankCtx = &mut *cx;
        (self.init)(p);
        let mut r = 0;
        if cx.failed == 0 {
            r = (f.entry)(p, args.as_ptr());
        }
        match cx.finish() {
            Ok(()) => Ok(r),
            Err(e) => Err(match info.take_failure() {
                Some((code, message)) => RunError { code, message },
                None => RunError::from(e),
            }),
        }
    }

    /// The function `name`, if the module has one.
    pub fn function(&self, name: &str) -> Option<&FnInfo> {
        self.functions.iter().find(|f| f.name == name)
    }

    /// Like [`Program::call_on`], for a host program that passes containers it owns: `args` as
    /// bits, where container arguments are handles from `abi::wrap_borrowed` /
    /// `abi::wrap_local_borrowed` listed in `handles`, which this call registers (halos) and
    /// releases at the end (so the caller must not use them afterwards). With `abort` false a
    /// failure does not abort `comm` (use it where no other rank can be waiting: one rank).
    ///
    /// A returned `local<T>` array comes back as its elements' bits; a returned distributed
    /// container is freed and reported as R0013 (not supported yet).
    pub fn call_with(
        &self,
        comm: &CommRef,
        info: &Arc<ProgramInfo>,
        f: &FnInfo,
        args: &[i64],
        handles: &[*mut abi::Obj],
        abort: bool,
    ) -> Result<CallValue, RunError> {
        let mut cx = RankCtx::new(comm, info.clone());
        cx.set_abort_on_fail(abort);
        let p: *mut RankCtx = &mut *cx;
        if args.len() != f.params.len() {
            for &h in handles {
                abi::dtl_release(p, h, -1);
            }
            return Err(arity_error(f, args.len()));
        }
        cx.adopt(handles);
        (self.init)(p);
        let mut r = 0;
        if cx.failed == 0 {
            r = (f.entry)(p, args.as_ptr());
        }
        let mut value = CallValue::Bits(r);
        if f.ret.container().is_some() || matches!(f.ret, Ty::Local(_) | Ty::Map(..)) {
            let h = r as *mut abi::Obj;
            if cx.failed == 0 && !h.is_null() {
                value = match (f.ret, abi::handle_info(h)) {
                    (Ty::Local(_), Some((_, dt))) => CallValue::Local(dt, local_bits(h, dt)),
                    _ => CallValue::Unsupported,
                };
                abi::dtl_release(p, h, -1);
            }
        }
        for &h in handles {
            abi::dtl_release(p, h, -1);
        }
        match cx.finish_with_message() {
            Ok(()) => match value {
                CallValue::Unsupported => Err(RunError {
                    code: Code::R0013,
                    message: format!(
                        "error[R0013]: not supported yet: returning a distributed container to the host program (`{}`); return a scalar or a local array, or pass the result container as a parameter",
                        f.signature()
                    ),
                }),
                v => Ok(v),
            },
            Err((e, message)) => Err(RunError {
                code: e.code(),
                message,
            }),
        }
    }

    /// Runs the program on `opts.nranks` thread ranks.
    pub fn run(&self, opts: &RunOptions) -> Result<(), RunError> {
        let info = self.info(opts)?;
        let cfg = launch::Config::new(opts.nranks).stack_size(RANK_STACK);
        self.run_cfg(cfg, &info)
    }

    /// [`Program::run`] for a caller that must not wait for ranks that do not stop: when ranks
    /// are still running `grace` after the run failed (a rank that reaches no loop head and no
    /// runtime call, see `dtl_runtime::stop`), `on_stuck` gets the run's error message
    /// followed by a note naming those ranks and where every rank is. It may end the process
    /// (`dtlc` does); if it returns, the run goes on waiting for them.
    pub fn run_watched(
        &self,
        opts: &RunOptions,
        grace: std::time::Duration,
        on_stuck: impl Fn(&str) + Send + Sync + 'static,
    ) -> Result<(), RunError> {
        let info = self.info(opts)?;
        let seen = info.clone();
        let cfg = launch::Config::new(opts.nranks)
            .stack_size(RANK_STACK)
            .on_stuck(grace, move |st: &launch::Stuck| {
                on_stuck(&stuck_message(&seen, grace, st));
            });
        self.run_cfg(cfg, &info)
    }

    fn run_cfg(&self, cfg: launch::Config, info: &Arc<ProgramInfo>) -> Result<(), RunError> {
        let (init, main) = (self.init, self.main_fn()?);
        let r = launch::run_with(cfg, |comm| {
            let mut cx = RankCtx::new(comm, info.clone());
            let p: *mut RankCtx = &mut *cx;
            init(p);
            if cx.failed == 0 {
                main(p);
            }
            cx.finish()
        });
        match r {
            Ok(_) => Ok(()),
            Err(e) => Err(match info.take_failure() {
                Some((code, message)) => RunError { code, message },
                None => RunError::from(e),
            }),
        }
    }

    /// Builds the shared run information (for callers that launch ranks themselves).
    pub fn run_info(&self, opts: &RunOptions) -> Result<Arc<ProgramInfo>, RunError> {
        self.info(opts)
    }
}

/// The message for ranks that did not stop after a run failed: the run's first failure, a
/// note naming them, and (unless the failure is a watchdog report already) where every rank is.
fn stuck_message(info: &ProgramInfo, grace: std::time::Duration, st: &launch::Stuck) -> String {
    let first = info.failure.lock().ok().and_then(|f| f.clone());
    let ranks: Vec<String> = st.ranks.iter().map(|r| r.to_string()).collect();
    let (s, verb) = if st.ranks.len() == 1 {
        ("", "is")
    } else {
        ("s", "are")
    };
    let note = format!(
        "note: rank{s} {} did not stop within {grace:?} of the failure and {verb} still running (never at a loop head or runtime call, where ranks check for it); not waiting for {}",
        ranks.join(", "),
        if st.ranks.len() == 1 { "it" } else { "them" }
    );
    match first {
        Some((Code::R0010, m)) => format!("{m}\n{note}"),
        Some((_, m)) => format!("{m}\n{note}; where every rank is:\n{}", st.report),
        None => format!(
            "error[R0011]: a rank failed\n{note}; where every rank is:\n{}",
            st.report
        ),
    }
}

/// R0009 for a call of `f` with `given` arguments.
fn arity_error(f: &FnInfo, given: usize) -> RunError {
    RunError {
        code: Code::R0009,
        message: format!(
            "error[R0009]: `{}` takes {} argument(s), {given} given",
            f.signature(),
            f.params.len(),
        ),
    }
}
