//! Stopping a run: the *stop word* that generated code polls at loop back-edges, and Ctrl-C.
//!
//! Every communicator has one [`StopWord`] (the threads backend: one per world, shared by its
//! sub-communicators; MPI: one per communicator handle). It is zero while the run may go on.
//! Bits are set, never cleared while a run is in progress:
//! - [`FAILED`] when any rank of the world failed (the threads backend sets it in the same
//!   step that releases every wait with R0011, including a watchdog timeout);
//! - [`INTERRUPTED`] on SIGINT (see [`catch_sigint`]).
//!
//! Generated code reads the word through [`crate::abi::RankCtx`] in every user loop: at the head
//! of every `while` iteration, and once per chunk of 1024 iterations of `forall` row loops and
//! step-less `for` loops; one atomic load (a plain `mov` on x86) and one predictable branch
//! (docs/performance-notes.md, "Stop polls"). When it is
//! nonzero the code calls `dtl_poll_stop`, which records R0011 (a peer failed) or R0016
//! (interrupted) on this rank, and returns like after any failed call. Code that never reaches
//! a loop head (a long runtime call, a bounded SIMD loop) does not see it: launchers that must
//! not wait for such a rank ([`crate::launch::Config::on_stuck`]) give up on it instead.
//!
//! ## Ctrl-C
//! [`catch_sigint`] (called by the Python package) chains a SIGINT handler in front of the
//! current one (Python's): the handler only bumps a counter and writes one byte to a pipe, both
//! async-signal-safe, then calls the previous handler. A watcher thread reads the pipe and
//! calls [`interrupt_all`], which sets [`INTERRUPTED`] on every live communicator and releases
//! the waits of multi-rank worlds. The watcher also re-installs the chained handler when the
//! host replaced it with another function handler (Python's `signal.signal`), within a second;
//! a handler set to "default" or "ignore" is left alone. `dtlc` does not call it: Ctrl-C ends
//! `dtlc` at once, as it ends any process.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, Weak};

/// A rank of the world failed (or the watchdog fired): stop and return R0011.
pub const FAILED: i64 = 1;
/// SIGINT arrived: stop and return R0016.
pub const INTERRUPTED: i64 = 2;

/// The word generated code polls. Aligned to 128 bytes so that it shares no cache line with
/// state written often (polling it stays an L1 hit on every rank).
#[repr(C, align(128))]
#[derive(Debug, Default)]
pub struct StopWord {
    word: AtomicI64,
}

impl StopWord {
    pub const fn new() -> Self {
        StopWord {
            word: AtomicI64::new(0),
        }
    }

    /// Sets `bits` (never clears others).
    pub fn set(&self, bits: i64) {
        self.word.fetch_or(bits, Ordering::SeqCst);
    }

    /// Clears `bits`. Only for a communicator that outlives one call and on which nothing runs
    /// any more (a one-rank world between two kernel calls).
    pub fn clear(&self, bits: i64) {
        self.word.fetch_and(!bits, Ordering::SeqCst);
    }

    pub fn get(&self) -> i64 {
        self.word.load(Ordering::SeqCst)
    }

    /// The address generated code loads (atomically) at loop heads.
    pub fn as_ptr(&self) -> *const i64 {
        self.word.as_ptr().cast_const()
    }
}

/// The stop word of communicators that have none of their own: never set.
pub static NEVER: StopWord = StopWord::new();

/// Something [`interrupt_all`] stops: a communicator's world.
pub trait Interruptible: Send + Sync {
    /// Sets [`INTERRUPTED`] and releases waits that could otherwise block for ever.
    fn interrupt(&self);
}

static TARGETS: Mutex<Vec<Weak<dyn Interruptible>>> = Mutex::new(Vec::new());

/// Registers a communicator's world for [`interrupt_all`] (dropped ones are pruned here).
pub fn register(t: Weak<dyn Interruptible>) {
    let mut v = TARGETS.lock().unwrap_or_else(PoisonError::into_inner);
    v.retain(|w| w.strong_count() > 0);
    v.push(t);
}

/// Interrupts every live registered world (what SIGINT does once [`catch_sigint`] ran).
pub fn interrupt_all() {
    let live: Vec<_> = {
        let mut v = TARGETS.lock().unwrap_or_else(PoisonError::into_inner);
        v.retain(|w| w.strong_count() > 0);
        v.iter().filter_map(Weak::upgrade).collect()
    };
    for t in live {
        t.interrupt();
    }
}

/// SIGINTs seen by the chained handler since the process started.
static SIGINTS: AtomicU64 = AtomicU64::new(0);

/// How many SIGINTs the chained handler has seen (0 without [`catch_sigint`]).
pub fn sigint_count() -> u64 {
    SIGINTS.load(Ordering::SeqCst)
}

/// Chains the stop handler in front of the current SIGINT handler when that is a function
/// (not "default" or "ignore"), and starts the watcher thread (see the module docs).
/// Idempotent. Returns whether the handler is in place.
pub fn catch_sigint() -> bool {
    sig::catch()
}

#[cfg(unix)]
mod sig {
    use super::*;
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicI32, AtomicUsize};

    /// The previous handler (`sa_sigaction` value) and its flags, called after ours.
    static PREV: AtomicUsize = AtomicUsize::new(0);
    static PREV_FLAGS: AtomicI32 = AtomicI32::new(0);
    /// The pipe's write end (the handler's), -1 until the watcher runs.
    static WFD: AtomicI32 = AtomicI32::new(-1);
    /// The process the watcher runs in: a child made by `fork` inherits the handler and the
    /// pipe but not the watcher, and must not wake its parent's.
    static WATCH_PID: AtomicI32 = AtomicI32::new(0);
    static WATCHER: OnceLock<bool> = OnceLock::new();
    static INSTALL: Mutex<()> = Mutex::new(());

    extern "C" fn on_sigint(sig: libc::c_int, info: *mut libc::siginfo_t, uctx: *mut libc::c_void) {
        SIGINTS.fetch_add(1, Ordering::SeqCst);
        let fd = WFD.load(Ordering::SeqCst);
        // SAFETY: getpid(2) is async-signal-safe and cannot fail.
        if fd >= 0 && unsafe { libc::getpid() } == WATCH_PID.load(Ordering::SeqCst) {
            let b = 1u8;
            // SAFETY: write(2) is async-signal-safe; the pipe is non-blocking, so a full pipe
            // (interrupts not yet read) drops the byte instead of blocking the handler.
            let _ = unsafe { libc::write(fd, (&raw const b).cast(), 1) };
        }
        let prev = PREV.load(Ordering::SeqCst);
        if prev == libc::SIG_DFL || prev == libc::SIG_IGN || prev == handler_addr() {
            return;
        }
        if PREV_FLAGS.load(Ordering::SeqCst) & libc::SA_SIGINFO != 0 {
            // SAFETY: `prev` was installed with SA_SIGINFO, so it has this signature.
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                unsafe { std::mem::transmute(prev) };
            f(sig, info, uctx);
        } else {
            // SAFETY: `prev` was installed without SA_SIGINFO: a plain `fn(int)` handler.
            let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(prev) };
            f(sig);
        }
    }

    fn handler_addr() -> usize {
        on_sigint as *const () as usize
    }

    /// Installs the chained handler if the current one is another function handler.
    fn hook() -> bool {
        let _g = INSTALL.lock().unwrap_or_else(PoisonError::into_inner);
        // SAFETY: a zeroed sigaction is a valid out-parameter; querying changes nothing.
        let mut cur: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointers; a null `act` only queries.
        if unsafe { libc::sigaction(libc::SIGINT, std::ptr::null(), &mut cur) } != 0 {
            return false;
        }
        let h = cur.sa_sigaction;
        if h == handler_addr() {
            return true;
        }
        if h == libc::SIG_DFL || h == libc::SIG_IGN {
            return false;
        }
        PREV_FLAGS.store(cur.sa_flags, Ordering::SeqCst);
        PREV.store(h, Ordering::SeqCst);
        let mut act = cur;
        act.sa_sigaction = handler_addr();
        // The previous handler's flags (Python's: no SA_RESTART, so its blocking calls still
        // return EINTR and run its handler), plus SA_SIGINFO for our signature.
        act.sa_flags = cur.sa_flags | libc::SA_SIGINFO;
        // SAFETY: `act` is a valid sigaction with our handler, which only does
        // async-signal-safe work before calling the previous handler.
        unsafe { libc::sigaction(libc::SIGINT, &act, std::ptr::null_mut()) == 0 }
    }

    fn start_watcher() -> bool {
        *WATCHER.get_or_init(|| {
            let mut fds = [0 as libc::c_int; 2];
            // SAFETY: `fds` holds two ints for pipe2's results.
            if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
                return false;
            }
            let rfd = fds[0];
            let spawned = std::thread::Builder::new()
                .name("dtl-sigint".into())
                .spawn(move || watch(rfd));
            if spawned.is_err() {
                return false;
            }
            // SAFETY: getpid(2) cannot fail.
            WATCH_PID.store(unsafe { libc::getpid() }, Ordering::SeqCst);
            WFD.store(fds[1], Ordering::SeqCst);
            true
        })
    }

    fn watch(rfd: libc::c_int) {
        let mut buf = [0u8; 64];
        loop {
            let mut p = libc::pollfd {
                fd: rfd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let n = unsafe { libc::poll(&mut p, 1, 1000) };
            if n > 0 {
                // SAFETY: `buf` is valid for writes of its length; the fd is ours.
                let got = unsafe { libc::read(rfd, buf.as_mut_ptr().cast(), buf.len()) };
                if got > 0 {
                    interrupt_all();
                }
            } else {
                // Every second: chain again if the host installed another handler.
                hook();
            }
        }
    }

    pub fn catch() -> bool {
        start_watcher() && hook()
    }
}

#[cfg(not(unix))]
mod sig {
    pub fn catch() -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_word_bits() {
        let w = StopWord::new();
        assert_eq!(w.get(), 0);
        w.set(INTERRUPTED);
        w.set(FAILED);
        assert_eq!(w.get(), FAILED | INTERRUPTED);
        w.clear(INTERRUPTED);
        assert_eq!(w.get(), FAILED);
        assert_eq!(std::mem::align_of::<StopWord>(), 128);
    }
}
