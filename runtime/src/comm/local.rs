//! The one-rank backend: every collective is a local copy, send-to-self goes through a queue.
//!
//! It shares the threads backend's machinery with a single rank (so argument checks, error
//! codes and counters are identical), reports itself as `"local"`, and never waits: with one
//! rank every collective completes at once, and a receive with no matching message in the
//! queue fails at once instead of hanging.

use super::CommRef;
use super::threads::{ThreadsComm, single};
use crate::error::Result;
use std::sync::Arc;

/// A one-rank communicator.
pub struct LocalComm;

impl LocalComm {
    /// A fresh one-rank communicator (`rank() == 0`, `size() == 1`, backend `"local"`).
    #[expect(
        clippy::new_ret_no_self,
        reason = "the communicator is used through CommRef"
    )]
    pub fn new() -> CommRef {
        Self::handle()
    }

    /// The same communicator as its concrete handle (to call [`ThreadsComm::mark_finished`]).
    pub fn handle() -> Arc<ThreadsComm> {
        // With one rank no wait can block on another, so no watchdog is needed.
        single("local")
    }
}

/// A one-rank communicator (shorthand for [`LocalComm::new`]).
pub fn comm() -> CommRef {
    LocalComm::new()
}

/// Runs `f` on a fresh one-rank communicator.
pub fn run<R>(f: impl FnOnce(&CommRef) -> Result<R>) -> Result<R> {
    let c = LocalComm::handle();
    let cref: CommRef = c.clone();
    let out = f(&cref);
    c.mark_finished();
    out
}
