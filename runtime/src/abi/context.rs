//! The rank context generated code passes to every entry point, and the `guard` that turns
//! errors and panics into a recorded failure.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use super::*;
use crate::comm::CommRef;
use crate::error::{Code, DtlError, Result, Site};

/// The per-rank state generated code passes to every entry point. The first fields have fixed
/// offsets that generated code reads: `failed` (0), `rank` (8), `size` (16), `globals` (24).
#[repr(C)]
pub struct RankCtx {
    /// Nonzero once this rank has failed; generated code returns as soon as it sees it.
    pub failed: i64,
    pub rank: i64,
    pub size: i64,
    /// The global slots (`const`/`param` values as bits).
    pub globals: *mut i64,
    /// The stack-pointer value below which a recursive dtl function fails with R0015 instead
    /// of overflowing the stack (0: no check); see [`crate::sys::stack_limit`]. Set for the
    /// thread that creates the context, which is the thread that runs generated code with it.
    pub stack_limit: u64,
    /// How many more levels recursive functions that run collectives may nest (R0015 below
    /// zero); see [`crate::sys::max_collective_depth`].
    pub collective_depth_left: i64,
    pub(super) globals_store: Vec<i64>,
    pub(super) comm: CommRef,
    pub(super) prog: Arc<ProgramInfo>,
    pub(super) line: String,
    pub(super) items: usize,
    /// Live distributed containers with a halo (marked stale at `barrier`) and maps (synced at
    /// `barrier`), in creation order, which is the same on every rank.
    pub(super) halos: Vec<*mut Obj>,
    pub(super) maps: Vec<*mut Obj>,
    /// Containers with pending one-sided updates (sent at `barrier`).
    pub(super) pending: Vec<*mut Obj>,
    pub(super) error: Option<DtlError>,
    /// Whether a failure aborts the communicator (stops the other ranks). On by default; a
    /// one-rank call from a host program (Python) turns it off so its communicator survives.
    pub(super) abort_on_fail: bool,
    /// The full message of this rank's failure (with location and rank), once it failed.
    pub(super) fail_msg: String,
    /// The communicator's stop word ([`crate::stop`]), which generated code loads at the head
    /// of every user loop; valid while `comm` lives. Read through [`cx_offsets::STOP`].
    pub(super) stop: *const i64,
}

/// Offsets of [`RankCtx`] fields read by generated code.
pub mod cx_offsets {
    pub const FAILED: i32 = 0;
    pub const RANK: i32 = 8;
    pub const SIZE: i32 = 16;
    pub const GLOBALS: i32 = 24;
    pub const STACK_LIMIT: i32 = std::mem::offset_of!(super::RankCtx, stack_limit) as i32;
    pub const COLLECTIVE_DEPTH_LEFT: i32 =
        std::mem::offset_of!(super::RankCtx, collective_depth_left) as i32;
    /// The pointer to the stop word (wherever the field sits in the struct).
    pub const STOP: i32 = std::mem::offset_of!(super::RankCtx, stop) as i32;
}

impl RankCtx {
    pub fn new(comm: &CommRef, prog: Arc<ProgramInfo>) -> Box<RankCtx> {
        let mut g = vec![0i64; prog.nglobals.max(1)];
        let mut cx = Box::new(RankCtx {
            failed: 0,
            rank: comm.rank() as i64,
            size: comm.size() as i64,
            globals: g.as_mut_ptr(),
            stack_limit: crate::sys::stack_limit(),
            collective_depth_left: crate::sys::max_collective_depth(),
            globals_store: Vec::new(),
            comm: comm.clone(),
            prog,
            line: String::new(),
            items: 0,
            halos: Vec::new(),
            maps: Vec::new(),
            pending: Vec::new(),
            error: None,
            abort_on_fail: true,
            fail_msg: String::new(),
            stop: comm.stop_word().as_ptr(),
        });
        cx.globals_store = g;
        cx.globals = cx.globals_store.as_mut_ptr();
        cx
    }

    pub fn comm(&self) -> &CommRef {
        &self.comm
    }

    /// Whether a failure on this rank aborts the communicator (default: yes). Turn it off only
    /// where no other rank can be waiting for this one (a one-rank communicator).
    pub fn set_abort_on_fail(&mut self, on: bool) {
        self.abort_on_fail = on;
    }

    /// Registers handles made by [`wrap_borrowed`] for this call: a container with a halo is
    /// marked stale at `barrier` like the ones the program creates.
    pub fn adopt(&mut self, handles: &[*mut Obj]) {
        for &h in handles {
            if let Ok(o) = obj(h)
                && o.hdr.ghost > 0
                && !self.halos.contains(&h)
            {
                self.halos.push(h);
            }
        }
    }

    /// A handle for a new distributed container. One with a halo is registered (so `barrier`
    /// can mark it stale) and starts stale: its ghost rows hold nothing yet.
    pub(super) fn new_dist(&mut self, d: Box<dyn DistOps>) -> *mut Obj {
        let o = boxed(Body::Dist(d));
        if let Ok(x) = obj(o)
            && x.hdr.ghost > 0
        {
            x.hdr.dirty = 1;
            self.halos.push(o);
        }
        o
    }

    /// Records a failure at `site` (the first one wins) and stops the other ranks.
    pub fn fail(&mut self, e: DtlError, site: Site) {
        if self.failed != 0 {
            return;
        }
        self.failed = 1;
        let msg = if site.is_known() {
            format!(
                "error[{}]: {} at {} (rank {})",
                e.code(),
                e,
                site,
                self.rank
            )
        } else {
            format!("error[{}]: {} (rank {})", e.code(), e, self.rank)
        };
        if let Ok(mut f) = self.prog.failure.lock() {
            let replace = match &*f {
                None => true,
                Some((c, _)) => *c == Code::R0011 && e.code() != Code::R0011,
            };
            if replace {
                *f = Some((e.code(), msg.clone()));
            }
        }
        if self.abort_on_fail {
            self.comm.abort(&msg);
        }
        self.fail_msg = msg;
        self.error = Some(e);
    }

    /// Like [`RankCtx::finish`], with this rank's own failure message (`error[Rxxxx]: … at
    /// FILE:LINE:COL (rank r)`) next to the error.
    pub fn finish_with_message(mut self: Box<Self>) -> std::result::Result<(), (DtlError, String)> {
        let msg = std::mem::take(&mut self.fail_msg);
        self.finish().map_err(|e| {
            let m = if msg.is_empty() {
                format!("error[{}]: {e}", e.code())
            } else {
                msg
            };
            (e, m)
        })
    }

    /// The result of the run on this rank.
    pub fn finish(mut self: Box<Self>) -> Result<()> {
        match self.error.take() {
            Some(e) => {
                // Containers still alive cannot be freed collectively any more: leak them.
                self.halos.clear();
                self.maps.clear();
                self.pending.clear();
                Err(e)
            }
            None => Ok(()),
        }
    }
}

/// Runs an entry point body: errors and panics become a recorded failure and `default`.
pub(super) fn guard<T>(
    cx: *mut RankCtx,
    site: i32,
    default: T,
    f: impl FnOnce(&mut RankCtx) -> Result<T>,
) -> T {
    // SAFETY: generated code passes the context it was given by `run_main`, which outlives the
    // call; ranks never share a context, so this is the only live reference.
    let cx = unsafe { &mut *cx };
    if cx.failed != 0 {
        return default;
    }
    match catch_unwind(AssertUnwindSafe(|| f(cx))) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            let s = cx.prog.site(site);
            cx.fail(e, s);
            default
        }
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            let s = cx.prog.site(site);
            cx.fail(
                DtlError::Backend {
                    detail: format!("internal error: {msg}"),
                },
                s,
            );
            default
        }
    }
}
