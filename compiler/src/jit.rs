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
    // Keeps the code alive; never used after construction.
    _module: JITModule,
    _strings: Vec<Box<[u8]>>,
    init: extern "C" fn(*mut RankCtx),
    main: extern "C" fn(*mut RankCtx),
    sites: Vec<Site>,
    params: Vec<(String, Scalar, u32)>,
    nglobals: usize,
    /// Cranelift IR as generated, per function (when requested).
    pub ir: Vec<String>,
    /// Cranelift IR after optimization, per function (when requested).
    pub clif: Vec<String>,
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
    let err = |m: String| CodegenError {
        message: format!("internal compiler error: JIT setup: {m}"),
        span: None,
    };
    let mut fb = settings::builder();
    fb.set("use_colocated_libcalls", "false")
        .map_err(|e| err(e.to_string()))?;
    fb.set("is_pic", "false").map_err(|e| err(e.to_string()))?;
    fb.set("opt_level", "speed")
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
        module.finalize_definitions().map_err(|e| CodegenError {
            message: format!("internal compiler error: finalize: {e}"),
            span: None,
        })?;
        let init_p = module.get_finalized_function(out.init);
        let main_p = module.get_finalized_function(out.main);
        // SAFETY: both functions were declared with the signature `fn(*mut RankCtx)` (one
        // pointer parameter, no result) in `codegen::compile` and are now finalized.
        let init: extern "C" fn(*mut RankCtx) = unsafe { std::mem::transmute(init_p) };
        // SAFETY: as above; `main` takes only the context and returns nothing (checked by the
        // type checker: `fn main()` has no parameters).
        let main: extern "C" fn(*mut RankCtx) = unsafe { std::mem::transmute(main_p) };
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
            _module: module,
            _strings: out.strings,
            init,
            main,
            sites: out.sites,
            params,
            nglobals: m.globals.len(),
            ir: out.ir,
            clif: out.clif,
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

    /// Runs `main` on one rank of an existing communicator (the caller runs every rank).
    pub fn run_on(
        &self,
        comm: &CommRef,
        info: &Arc<ProgramInfo>,
    ) -> dtl_runtime::error::Result<()> {
        let mut cx = RankCtx::new(comm, info.clone());
        let p: *mut RankCtx = &mut *cx;
        (self.init)(p);
        if cx.failed == 0 {
            (self.main)(p);
        }
        cx.finish()
    }

    /// Runs the program on `opts.nranks` thread ranks.
    pub fn run(&self, opts: &RunOptions) -> Result<(), RunError> {
        let info = self.info(opts)?;
        let (init, main) = (self.init, self.main);
        let cfg = launch::Config::new(opts.nranks).stack_size(64 << 20);
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
