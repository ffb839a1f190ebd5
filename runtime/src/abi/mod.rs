//! The JIT's entry points: one table of `extern "C"` functions that compiled dtl programs call.
//!
//! Conventions (the code generator in `dtl-compiler` relies on every one of them):
//! - The first argument of every entry point that needs rank state is `cx: *mut RankCtx`, the
//!   context the generated `main` received. Errors never unwind into generated code: an entry
//!   point records the error in `cx` (the word at offset 0 becomes nonzero), returns a neutral
//!   value, and the generated code checks that word after the call and returns to its caller.
//! - Scalars cross as *bits* in an `i64`: integers sign- or zero-extended from their type, bools
//!   0/1, floats as the bits of the `f64` value (`f32` widened first). A `dtype` argument (see
//!   [`dtype_of_code`]) says how to read them.
//! - Containers are `*mut Obj` handles whose [`Header`] (at offset 0) the generated code reads
//!   directly, so loops over local elements need no calls. Handles are reference counted
//!   ([`dtl_retain`], [`dtl_release`]); freeing a distributed container is collective.
//! - `site` is an index into the program's table of source locations ([`ProgramInfo::sites`]).
//!
//! Every function is listed once in [`table()`], with its Cranelift-level signature checked by the
//! Rust compiler against the definition, and the JIT registers exactly that list.

mod context;
mod program;
#[macro_use]
mod scalars;
mod collectives;
mod containers;
mod maps;
mod messages;
mod objects;
mod output;
mod table;

pub use collectives::*;
pub use containers::*;
pub use context::*;
pub use maps::*;
pub use messages::*;
pub use objects::*;
pub use output::*;
pub use program::*;
pub use scalars::*;
pub use table::*;

#[cfg(test)]
mod tests;
