//! `dtlc`, the dtl compiler driver: `check`, `explain`, `--emit`, and (later) `run`.

use clap::{Parser, Subcommand, ValueEnum};
use dtl_compiler::diagnostics::{self, Code, Diagnostic, Label, Span, Style};
use dtl_compiler::source::{FileId, SourceMap};
use dtl_compiler::{driver, hir};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

const EXAMPLES: &str = "\
Examples:
  dtlc check prog.dtl                 check one or more files (exit 1 on errors)
  dtlc check --format json prog.dtl   diagnostics as JSON, for editors
  dtlc --emit=ast prog.dtl            print the syntax tree (also: tokens, hir)
  dtlc explain E0301                  explain an error code
  dtlc run prog.dtl -n 4              run on 4 ranks (arrives with the JIT, issue #4)";

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

#[derive(Clone, Copy, ValueEnum)]
enum Emit {
    Tokens,
    Ast,
    Hir,
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
    /// Run a program on N ranks (not supported yet: arrives with the JIT, issue #4).
    Run {
        /// The program.
        file: PathBuf,
        /// Everything else (ranks, -D overrides, ...).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        rest: Vec<String>,
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
                eprintln!("error: {msg}");
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
            println!(
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
            eprintln!("error: {msg}");
            return ExitCode::from(2);
        }
    };
    let text = sources.get(id).text().to_string();
    match what {
        Emit::Tokens => {
            print!("{}", dtl_grammar::print_tokens(&dtl_grammar::lex(&text)));
            ExitCode::SUCCESS
        }
        Emit::Ast => {
            let (ast, errs) = dtl_grammar::parse(&text);
            print!("{}", dtl_grammar::print_ast(&ast));
            if errs.is_empty() && utf8.is_none() {
                ExitCode::SUCCESS
            } else {
                let checked = driver::check(&mut sources, id);
                let mut ds: Vec<Diagnostic> = utf8.into_iter().collect();
                ds.extend(checked.diagnostics);
                eprint!("{}", diagnostics::render(&ds, &sources, stderr_style()));
                ExitCode::from(1)
            }
        }
        Emit::Hir => {
            let checked = driver::check(&mut sources, id);
            let mut ds: Vec<Diagnostic> = utf8.into_iter().collect();
            ds.extend(checked.diagnostics);
            if let Some(h) = &checked.hir {
                print!("{}", hir::print(h));
            }
            if ds.is_empty() {
                ExitCode::SUCCESS
            } else {
                eprint!("{}", diagnostics::render(&ds, &sources, stderr_style()));
                ExitCode::from(1)
            }
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
                print!("# {}: {}\n\n{}", c.as_str(), c.title(), c.explain());
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("error: unknown diagnostic code `{code}` (see `docs/diagnostics/`)");
                ExitCode::from(2)
            }
        },
        Some(Command::Run { file, .. }) => {
            eprintln!(
                "error: `dtlc run {}` is not supported yet: code generation arrives with the JIT (issue #4)",
                file.display()
            );
            ExitCode::from(2)
        }
        None => {
            eprintln!("error: nothing to do; try `dtlc check FILE` or `dtlc --help`");
            ExitCode::from(2)
        }
    }
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal compiler error: {info}");
        eprintln!("note: this is a bug in dtlc; please report it with the input that caused it");
    }));
    // Runs on the main thread: the passes recurse along the syntax tree, whose depth the
    // parser caps (`dtl_grammar::MAX_DEPTH`), well within the main stack.
    std::panic::catch_unwind(real_main).unwrap_or(ExitCode::from(101))
}
