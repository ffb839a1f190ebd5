//! `dtlc`, the dtl compiler driver: `run`, `check`, `explain`, `--emit`.

use clap::{Parser, Subcommand, ValueEnum};
use dtl_compiler::diagnostics::{self, Code, Diagnostic, Label, Span, Style};
use dtl_compiler::source::{FileId, SourceMap};
use dtl_compiler::{driver, hir};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set when writing to stdout failed other than by a closed pipe (exit status 2 at the end).
static OUT_FAILED: AtomicBool = AtomicBool::new(false);

/// Writes to stdout. A closed pipe (`dtlc --emit=ir f.dtl | head`) drops the rest of the output
/// quietly; another failure (a full disk) is reported once and makes the exit status 2. Never
/// panics, unlike `print!`.
fn write_out(text: &str) {
    let mut o = std::io::stdout().lock();
    if let Err(e) = o.write_all(text.as_bytes()).and_then(|()| o.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
        && !OUT_FAILED.swap(true, Ordering::Relaxed)
    {
        write_err(&format!("error: cannot write the output: {e}\n"));
    }
}

/// Writes to stderr, ignoring failures (there is nowhere left to report them).
fn write_err(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

macro_rules! out {
    ($($t:tt)*) => { write_out(&format!($($t)*)) };
}
macro_rules! outln {
    ($($t:tt)*) => { write_out(&format!("{}\n", format_args!($($t)*))) };
}
macro_rules! err {
    ($($t:tt)*) => { write_err(&format!($($t)*)) };
}
macro_rules! errln {
    ($($t:tt)*) => { write_err(&format!("{}\n", format_args!($($t)*))) };
}

const EXAMPLES: &str = "\
Examples:
  dtlc check prog.dtl                 check one or more files (exit 1 on errors)
  dtlc check --format json prog.dtl   diagnostics as JSON, for editors
  dtlc --emit=ast prog.dtl            print the syntax tree (also: tokens, hir, ir, clif, asm)
  dtlc explain E0301                  explain an error code
  dtlc run prog.dtl -n 4              run on 4 ranks (threads; default: one per core)
  dtlc run prog.dtl -D n=5000 --time  override a `param`, print compile and run times";

#[derive(Parser)]
#[command(
    name = "dtlc",
    version,
    about = "The dtl compiler: checks and runs SPMD array programs",
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    /// Print an intermediate form of FILE instead of checking it.
    #[arg(long, value_enum, requires = "file")]
    emit: Option<Emit>,
    /// The file for `--emit`.
    file: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Emit {
    Tokens,
    Ast,
    Hir,
    /// Cranelift IR as generated from the HIR.
    Ir,
    /// Cranelift IR after Cranelift's optimizations.
    Clif,
    /// The generated machine code.
    Asm,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Debug)]
enum Backend {
    /// N ranks as N threads of this process.
    Threads,
    /// One rank per MPI process (start with mpirun/srun).
    Mpi,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Format {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Check files for errors without running them.
    #[command(
        after_help = "Exit status: 0 when every file is clean, 1 when any has errors, 2 when a file cannot be read."
    )]
    Check {
        /// Output format for diagnostics (on stderr for human, stdout for json).
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        /// The files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Explain a diagnostic code, e.g. `dtlc explain E0301`.
    Explain {
        /// The code (`E0301`, or just `0301`).
        code: String,
    },
    /// Compile a program with the JIT and run it on N ranks.
    #[command(
        after_help = "Exit status: 0 on success, 1 on compile errors, 2 on run-time errors (printed as `error[Rxxxx]: ... at FILE:LINE:COL (rank r)`), 101 on an internal compiler error."
    )]
    Run {
        /// The program.
        file: PathBuf,
        /// Number of ranks (default: the number of cores).
        #[arg(short = 'n', long = "ranks", value_name = "N")]
        ranks: Option<usize>,
        /// Communication backend; `mpi` is chosen automatically under mpirun/srun.
        #[arg(long, value_enum)]
        backend: Option<Backend>,
        /// Override a `param`: `-D n=5000` (repeatable).
        #[arg(short = 'D', value_name = "NAME=VALUE")]
        define: Vec<String>,
        /// Leave out bounds checks.
        #[arg(long)]
        unchecked: bool,
        /// Print compile and run times on stderr.
        #[arg(long)]
        time: bool,
    },
}

/// Reads a file into the source map; invalid UTF-8 is replaced and reported as E0002.
fn load(sources: &mut SourceMap, path: &PathBuf) -> Result<(FileId, Option<Diagnostic>), String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let name = path.display().to_string();
    match String::from_utf8(bytes) {
        Ok(text) => Ok((sources.add(name, text), None)),
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let id = sources.add(name, text);
            let d = Diagnostic::error(
                Code::E0002,
                "source file is not valid UTF-8",
                Label::new(
                    Span::new(id, valid..valid + 1),
                    "invalid byte sequence here",
                ),
            )
            .with_help("re-save the file as UTF-8");
            Ok((id, Some(d)))
        }
    }
}

/// The exit status after a failed compile: 1 for diagnostics, 101 for an internal compiler
/// error (as for a panic in dtlc: a bug in the compiler, not in the program).
fn compile_failure_status(e: &driver::CompileError) -> ExitCode {
    if e.is_internal() {
        ExitCode::from(101)
    } else {
        ExitCode::from(1)
    }
}

fn stderr_style() -> Style {
    if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        Style::Color
    } else {
        Style::Plain
    }
}

fn check(format: Format, files: &[PathBuf]) -> ExitCode {
    let mut sources = SourceMap::new();
    let mut all: Vec<Diagnostic> = Vec::new();
    let mut unreadable = false;
    for path in files {
        match load(&mut sources, path) {
            Ok((id, utf8)) => {
                all.extend(utf8);
                let checked = driver::check(&mut sources, id);
                all.extend(checked.diagnostics);
                // The process ends soon; freeing a large HIR node by node only costs time.
                std::mem::forget(checked.hir);
            }
            Err(msg) => {
                errln!("error: {msg}");
                unreadable = true;
            }
        }
    }
    let errors = all
        .iter()
        .filter(|d| d.severity == diagnostics::Severity::Error)
        .count();
    match format {
        Format::Json => {
            let json = diagnostics::to_json(&all, &sources);
            outln!(
                "{}",
                serde_json::to_string_pretty(&json).unwrap_or_else(|_| "[]".into())
            );
        }
        Format::Human => {
            let text = diagnostics::render(&all, &sources, stderr_style());
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(text.as_bytes());
            if errors > 0 {
                let _ = writeln!(
                    err,
                    "error: could not check: {errors} error{} found",
                    if errors == 1 { "" } else { "s" }
                );
            }
        }
    }
    if unreadable {
        ExitCode::from(2)
    } else if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn emit(what: Emit, path: &PathBuf) -> ExitCode {
    let mut sources = SourceMap::new();
    let (id, utf8) = match load(&mut sources, path) {
        Ok(x) => x,
        Err(msg) => {
            errln!("error: {msg}");
            return ExitCode::from(2);
        }
    };
    let text = sources.get(id).text().to_string();
    match what {
        Emit::Tokens => {
            out!("{}", dtl_grammar::print_tokens(&dtl_grammar::lex(&text)));
            ExitCode::SUCCESS
        }
        Emit::Ast => {
            let (ast, errs) = dtl_grammar::parse(&text);
            out!("{}", dtl_grammar::print_ast(&ast));
            if errs.is_empty() && utf8.is_none() {
                ExitCode::SUCCESS
            } else {
                let checked = driver::check(&mut sources, id);
                let mut ds: Vec<Diagnostic> = utf8.into_iter().collect();
                ds.extend(checked.diagnostics);
                err!("{}", diagnostics::render(&ds, &sources, stderr_style()));
                ExitCode::from(1)
            }
        }
        Emit::Ir | Emit::Clif | Emit::Asm => {
            let checked = driver::check(&mut sources, id);
            let mut ds: Vec<Diagnostic> = utf8.into_iter().collect();
            ds.extend(checked.diagnostics);
            let Some(h) = checked.hir.filter(|_| ds.is_empty()) else {
                err!("{}", diagnostics::render(&ds, &sources, stderr_style()));
                return ExitCode::from(1);
            };
            match driver::compile(&h, &sources, Default::default(), true) {
                Ok(p) => {
                    let text = match what {
                        Emit::Ir => &p.ir,
                        Emit::Clif => &p.clif,
                        _ => &p.asm,
                    };
                    for f in text {
                        outln!("{f}");
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    err!("{}", e.render(&sources, stderr_style()));
                    compile_failure_status(&e)
                }
            }
        }
        Emit::Hir => {
            let checked = driver::check(&mut sources, id);
            let mut ds: Vec<Diagnostic> = utf8.into_iter().collect();
            ds.extend(checked.diagnostics);
            if let Some(h) = &checked.hir {
                out!("{}", hir::print(h));
            }
            if ds.is_empty() {
                ExitCode::SUCCESS
            } else {
                err!("{}", diagnostics::render(&ds, &sources, stderr_style()));
                ExitCode::from(1)
            }
        }
    }
}

/// MPI when built with it and started by an MPI launcher, else threads.
fn default_backend() -> Backend {
    #[cfg(feature = "mpi")]
    if dtl_runtime::sys::launched_under_mpi() {
        return Backend::Mpi;
    }
    Backend::Threads
}

/// Runs this process's rank under MPI on a thread with the same stack as a thread rank
/// (`Program::run`), so the recursion depth limit (R0015) does not depend on the backend or
/// on `ulimit -s`. MPI is initialised, used and finalized on that one thread. A failing rank
/// prints its error and aborts the job with exit status 2.
#[cfg(feature = "mpi")]
fn run_mpi(
    prog: &dtl_compiler::jit::Program,
    opts: &dtl_compiler::jit::RunOptions,
    ranks: Option<usize>,
) -> Result<(), dtl_compiler::jit::RunError> {
    let backend_error = |message: String| dtl_compiler::jit::RunError {
        code: dtl_runtime::error::Code::R0014,
        message: format!("error[R0014]: {message}"),
    };
    std::thread::scope(|s| {
        match std::thread::Builder::new()
            .name("dtl-rank".into())
            .stack_size(dtl_compiler::jit::RANK_STACK)
            .spawn_scoped(s, || run_mpi_rank(prog, opts, ranks))
        {
            Ok(h) => h
                .join()
                .unwrap_or_else(|_| Err(backend_error("the rank's thread panicked".into()))),
            Err(e) => Err(backend_error(format!(
                "could not start the rank's thread: {e}"
            ))),
        }
    })
}

/// The MPI rank itself (see [`run_mpi`]).
#[cfg(feature = "mpi")]
fn run_mpi_rank(
    prog: &dtl_compiler::jit::Program,
    opts: &dtl_compiler::jit::RunOptions,
    ranks: Option<usize>,
) -> Result<(), dtl_compiler::jit::RunError> {
    use dtl_runtime::comm::mpi;
    let info = prog.run_info(opts)?;
    let report = info.clone();
    mpi::launch_with(
        |comm| {
            if let Some(n) = ranks
                && n != comm.size()
            {
                return Err(dtl_runtime::error::DtlError::invalid(format!(
                    "-n {n} does not match the {} MPI processes of this job (leave -n out under mpirun)",
                    comm.size()
                )));
            }
            prog.run_on(comm, &info)
        },
        move |rank, e| {
            let msg = match report.take_failure() {
                Some((_, m)) => m,
                None => format!("error[{}]: {e} (rank {rank})", e.code()),
            };
            errln!("{msg}");
            2
        },
    )
    .map_err(dtl_compiler::jit::RunError::from)
}

#[cfg(not(feature = "mpi"))]
fn run_mpi(
    _prog: &dtl_compiler::jit::Program,
    _opts: &dtl_compiler::jit::RunOptions,
    _ranks: Option<usize>,
) -> Result<(), dtl_compiler::jit::RunError> {
    Err(dtl_compiler::jit::RunError {
        code: dtl_runtime::error::Code::R0013,
        message: "error[R0013]: not supported: this dtlc was built without MPI".into(),
    })
}

/// How long `dtlc run` waits for the ranks to stop after the run failed before it exits
/// without them (ranks that poll stop within microseconds).
const STUCK_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

struct RunArgs {
    file: PathBuf,
    ranks: Option<usize>,
    backend: Option<Backend>,
    define: Vec<String>,
    unchecked: bool,
    time: bool,
}

fn run(a: &RunArgs) -> ExitCode {
    let t0 = std::time::Instant::now();
    let mut overrides = Vec::new();
    for d in &a.define {
        match d.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                overrides.push((k.trim().to_string(), v.trim().to_string()))
            }
            _ => {
                errln!("error: -D expects NAME=VALUE, got `{d}`");
                return ExitCode::from(2);
            }
        }
    }
    let backend = a.backend.unwrap_or_else(default_backend);
    if a.backend.is_none() && !cfg!(feature = "mpi") && dtl_runtime::sys::launched_under_mpi() {
        // Without this, `mpirun -n P` would run P independent copies of the whole program,
        // each printing everything and writing the same files.
        eprintln!(
            "error: this dtlc was built without MPI, but an MPI launcher (mpirun/mpiexec/srun) started it; rebuild with `cargo build --release --bin dtlc --features mpi`, or pass `--backend threads` to run independent copies on purpose"
        );
        return ExitCode::from(2);
    }
    if backend == Backend::Mpi && !cfg!(feature = "mpi") {
        errln!(
            "error: this dtlc was built without MPI; rebuild with `cargo build --release --bin dtlc --features mpi`"
        );
        return ExitCode::from(2);
    }
    let nranks = match a.ranks {
        Some(0) => {
            errln!("error: -n must be at least 1");
            return ExitCode::from(2);
        }
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let mut sources = SourceMap::new();
    let (id, utf8) = match load(&mut sources, &a.file) {
        Ok(x) => x,
        Err(msg) => {
            errln!("error: {msg}");
            return ExitCode::from(2);
        }
    };
    let checked = driver::check(&mut sources, id);
    let mut ds: Vec<Diagnostic> = utf8.into_iter().collect();
    ds.extend(checked.diagnostics);
    let errors = ds
        .iter()
        .filter(|d| d.severity == diagnostics::Severity::Error)
        .count();
    if !ds.is_empty() {
        err!("{}", diagnostics::render(&ds, &sources, stderr_style()));
    }
    let hir = match checked.hir {
        Some(h) if errors == 0 => h,
        _ => {
            errln!(
                "error: could not compile: {errors} error{} found",
                if errors == 1 { "" } else { "s" }
            );
            return ExitCode::from(1);
        }
    };
    let t_check = t0.elapsed();
    let opts = dtl_compiler::codegen::CodegenOptions {
        unchecked: a.unchecked,
        entries: false,
    };
    let prog = match driver::compile(&hir, &sources, opts, false) {
        Ok(p) => p,
        Err(e) => {
            err!("{}", e.render(&sources, stderr_style()));
            errln!("error: could not compile");
            return compile_failure_status(&e);
        }
    };
    let t_compile = t0.elapsed();
    let ropts = dtl_compiler::jit::RunOptions {
        nranks,
        overrides,
        // `print` lines through `write_out`: a failed write is an error, not silently lost.
        sink: Some(std::sync::Arc::new(write_out)),
    };
    let r = if backend == Backend::Mpi {
        run_mpi(&prog, &ropts, a.ranks)
    } else {
        // A rank that does not stop after the run failed (one that never reaches a loop head
        // or a runtime call) is not waited for: print the error and leave.
        prog.run_watched(&ropts, STUCK_GRACE, |msg| {
            let _ = std::io::stdout().flush();
            eprintln!("{msg}");
            std::process::exit(2);
        })
    };
    let t_run = t0.elapsed();
    if a.time {
        errln!(
            "time: check {:.3} ms, compile {:.3} ms, run {:.3} ms on {nranks} rank{} (total {:.3} ms)",
            t_check.as_secs_f64() * 1e3,
            (t_compile - t_check).as_secs_f64() * 1e3,
            (t_run - t_compile).as_secs_f64() * 1e3,
            if nranks == 1 { "" } else { "s" },
            t_run.as_secs_f64() * 1e3
        );
    }
    let _ = std::io::stdout().flush();
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            errln!("{}", e.message);
            ExitCode::from(2)
        }
    }
}

fn real_main() -> ExitCode {
    let cli = Cli::parse();
    if let (Some(e), Some(f)) = (cli.emit, &cli.file) {
        return emit(e, f);
    }
    match cli.command {
        Some(Command::Check { format, files }) => check(format, &files),
        Some(Command::Explain { code }) => match Code::parse(&code) {
            Some(c) => {
                out!("# {}: {}\n\n{}", c.as_str(), c.title(), c.explain());
                ExitCode::SUCCESS
            }
            None => {
                errln!("error: unknown diagnostic code `{code}` (see `docs/diagnostics/`)");
                ExitCode::from(2)
            }
        },
        Some(Command::Run {
            file,
            ranks,
            backend,
            define,
            unchecked,
            time,
        }) => run(&RunArgs {
            file,
            ranks,
            backend,
            define,
            unchecked,
            time,
        }),
        None => {
            errln!("error: nothing to do; try `dtlc check FILE` or `dtlc --help`");
            ExitCode::from(2)
        }
    }
}

/// Keeps freed large blocks in glibc's heaps instead of handing their pages back to the
/// kernel: a program that makes a new `local` result or container per iteration (an
/// allreduce of a 2 MiB `local` in a loop) otherwise faults every page of it in again on each
/// iteration (rank threads allocate from per-thread arenas, which trim freed memory with
/// `madvise`); measured 1.3-1.5 ms per call on one rank, two thirds of it in the kernel.
/// `dtlc` owns its process, so it sets this for the whole program; blocks above 32 MiB still
/// come from `mmap` and return to the kernel when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    unsafe extern "C" {
        fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
    }
    const M_TRIM_THRESHOLD: std::ffi::c_int = -1;
    const M_MMAP_THRESHOLD: std::ffi::c_int = -3;
    // SAFETY: mallopt only adjusts glibc malloc's tunables; it is called before any other
    // thread exists. A refused value (return 0) leaves the default, which is only slower.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, 32 << 20);
        mallopt(M_TRIM_THRESHOLD, 1 << 30);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}

fn main() -> ExitCode {
    keep_freed_memory();
    std::panic::set_hook(Box::new(|info| {
        errln!("error: internal compiler error: {info}");
        errln!("note: this is a bug in dtlc; please report it with the input that caused it");
    }));
    // Runs on the main thread: the passes recurse along the syntax tree, whose depth the
    // parser caps (`dtl_grammar::MAX_DEPTH`), well within the main stack.
    let code = std::panic::catch_unwind(real_main).unwrap_or(ExitCode::from(101));
    if OUT_FAILED.load(Ordering::Relaxed) {
        return ExitCode::from(2);
    }
    code
}
