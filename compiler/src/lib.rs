//! The dtl compiler: checks, lowering and the Cranelift JIT (issues #3, #4).
//!
//! The front half (this issue) runs, in `driver`: parse (`dtl-grammar`) → `resolve` → `typeck`
//! → `spmd` → typed [`hir`]. The library is sans-IO: it takes source text and returns data;
//! the `dtlc` binary does the reading, printing and exit codes.

pub mod codegen;
pub mod diagnostics;
pub mod driver;
pub mod hir;
pub mod jit;
pub mod resolve;
pub mod source;
pub mod spmd;
pub mod sync;
pub mod typeck;
mod vmath;
