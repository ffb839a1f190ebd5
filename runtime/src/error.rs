//! The runtime's one error type, carrying the R-codes of LANGUAGE.md §13.

use std::fmt;

/// A source location attached to a runtime call: where a collective was called from, or where a
/// JIT-compiled program performed an access. `file` is `'static` because compiled programs keep
/// their file name alive for as long as their code exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Site {
    pub file: &'static str,
    pub line: u32,
    pub col: u32,
}

impl Site {
    /// No location known.
    pub const NONE: Site = Site {
        file: "",
        line: 0,
        col: 0,
    };

    pub const fn new(file: &'static str, line: u32, col: u32) -> Self {
        Site { file, line, col }
    }

    /// The Rust location of the caller (for Rust users of the runtime).
    #[track_caller]
    pub fn caller() -> Self {
        let l = std::panic::Location::caller();
        Site {
            file: l.file(),
            line: l.line(),
            col: l.column(),
        }
    }

    pub fn is_known(&self) -> bool {
        !self.file.is_empty()
    }
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_known() {
            write!(f, "{}:{}:{}", self.file, self.line, self.col)
        } else {
            f.write_str("<unknown location>")
        }
    }
}

/// The stable runtime error codes. R0001–R0007 are fixed by LANGUAGE.md §13; the others extend
/// the table (never renumber).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    /// Index out of bounds.
    R0001,
    /// Integer division by zero.
    R0002,
    /// Mismatched collectives between ranks, or a message received as another element type
    /// than it was sent with.
    R0003,
    /// Message to or from a rank that does not exist (also: a root out of range).
    R0004,
    /// Assertion failed.
    R0005,
    /// Out of memory, or a size that is negative or too large.
    R0006,
    /// Device placement requested without a CUDA device.
    R0007,
    /// Containers are not aligned (length or partition differ).
    R0008,
    /// Invalid argument (mismatched buffer lengths, bad operation for a type, ...).
    R0009,
    /// A wait exceeded the watchdog limit (probable deadlock).
    R0010,
    /// This rank was stopped because another rank failed.
    R0011,
    /// File input/output failed.
    R0012,
    /// A feature that is not supported yet.
    R0013,
    /// A communication backend reported an error.
    R0014,
    /// Stack overflow: recursion too deep (or without a base case).
    R0015,
    /// The run was interrupted (SIGINT, Ctrl-C).
    R0016,
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Every error the runtime returns. `code()` gives its stable R-code.
#[derive(Clone, Debug, PartialEq)]
pub enum DtlError {
    /// R0001
    OutOfBounds {
        index: i64,
        len: usize,
        what: String,
    },
    /// R0002
    DivisionByZero,
    /// R0003: the ranks called different collectives; `detail` names what each rank called.
    CollectiveMismatch { detail: String },
    /// R0004
    NoSuchRank {
        rank: i64,
        size: usize,
        what: &'static str,
    },
    /// R0005
    AssertionFailed { message: String },
    /// R0006
    BadSize { requested: i128, what: String },
    /// R0006
    OutOfMemory { bytes: usize },
    /// R0006: the memory check before a large allocation refused it; `ranks` ranks of this
    /// machine each asked for `bytes`, and the system had `available` bytes left.
    NotEnoughMemory {
        bytes: u64,
        ranks: u64,
        available: u64,
        what: String,
    },
    /// R0007
    NoDevice { placement: String },
    /// R0008
    Misaligned { detail: String },
    /// R0009
    InvalidArgument { detail: String },
    /// R0010: the watchdog fired; `report` lists where every rank is waiting.
    Timeout { report: String },
    /// R0011: released from a wait because `rank` failed with `cause`.
    PeerFailed { rank: usize, cause: String },
    /// R0012
    Io { path: String, detail: String },
    /// R0013
    Unsupported { what: String },
    /// R0014
    Backend { detail: String },
    /// R0003: a point-to-point message received as another element type or shape than sent.
    MessageMismatch { detail: String },
    /// R0015: the stack-depth check in the prologue of `function` found the stack (of `stack`
    /// bytes, 0 if unknown) used up.
    StackOverflow { function: String, stack: usize },
    /// R0015: recursive functions that run collectives nested more than `limit` deep.
    CollectiveRecursion { function: String, limit: i64 },
    /// R0016: stopped by SIGINT (Ctrl-C) while running.
    Interrupted,
}

impl DtlError {
    pub fn code(&self) -> Code {
        match self {
            DtlError::OutOfBounds { .. } => Code::R0001,
            DtlError::DivisionByZero => Code::R0002,
            DtlError::CollectiveMismatch { .. } => Code::R0003,
            DtlError::NoSuchRank { .. } => Code::R0004,
            DtlError::AssertionFailed { .. } => Code::R0005,
            DtlError::BadSize { .. }
            | DtlError::OutOfMemory { .. }
            | DtlError::NotEnoughMemory { .. } => Code::R0006,
            DtlError::NoDevice { .. } => Code::R0007,
            DtlError::Misaligned { .. } => Code::R0008,
            DtlError::InvalidArgument { .. } => Code::R0009,
            DtlError::Timeout { .. } => Code::R0010,
            DtlError::PeerFailed { .. } => Code::R0011,
            DtlError::Io { .. } => Code::R0012,
            DtlError::Unsupported { .. } => Code::R0013,
            DtlError::Backend { .. } => Code::R0014,
            DtlError::MessageMismatch { .. } => Code::R0003,
            DtlError::StackOverflow { .. } | DtlError::CollectiveRecursion { .. } => Code::R0015,
            DtlError::Interrupted => Code::R0016,
        }
    }

    pub fn invalid(detail: impl Into<String>) -> Self {
        DtlError::InvalidArgument {
            detail: detail.into(),
        }
    }

    pub fn unsupported(what: impl Into<String>) -> Self {
        DtlError::Unsupported { what: what.into() }
    }

    /// Checks a user-given size: negative or absurdly large sizes are R0006.
    pub fn check_size(n: i64, what: &str) -> Result<usize> {
        // Nothing that holds elements may exceed isize::MAX bytes; u32::MAX * 2^16 is a
        // generous bound on element counts that keeps byte arithmetic from overflowing.
        const MAX_ELEMS: i64 = 1 << 48;
        if !(0..=MAX_ELEMS).contains(&n) {
            return Err(DtlError::BadSize {
                requested: n as i128,
                what: what.to_string(),
            });
        }
        Ok(n as usize)
    }

    /// Checks that `rank` names a rank of a communicator of `size` ranks (R0004 otherwise).
    pub fn check_rank(rank: i64, size: usize, what: &'static str) -> Result<usize> {
        if rank < 0 || rank as u64 >= size as u64 {
            return Err(DtlError::NoSuchRank { rank, size, what });
        }
        Ok(rank as usize)
    }
}

impl fmt::Display for DtlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DtlError::OutOfBounds { index, len, what } => {
                write!(f, "index {index} out of bounds for {what} of length {len}")
            }
            DtlError::DivisionByZero => f.write_str("integer division by zero"),
            DtlError::CollectiveMismatch { detail } => {
                write!(f, "ranks called different collectives: {detail}")
            }
            DtlError::NoSuchRank { rank, size, what } => {
                write!(f, "{what} {rank} does not exist (ranks are 0..{size})")
            }
            DtlError::AssertionFailed { message } => write!(f, "assertion failed: {message}"),
            DtlError::BadSize { requested, what } => {
                write!(f, "invalid size {requested} for {what}")
            }
            DtlError::OutOfMemory { bytes } => write!(f, "out of memory allocating {bytes} bytes"),
            DtlError::NoDevice { placement } => write!(
                f,
                "placement {placement} requested but no CUDA device is available (use @device_preferred to fall back to host)"
            ),
            DtlError::Misaligned { detail } => write!(f, "containers are not aligned: {detail}"),
            DtlError::InvalidArgument { detail } => write!(f, "invalid argument: {detail}"),
            DtlError::Timeout { report } => {
                write!(
                    f,
                    "watchdog: no rank communicated within the watchdog limit (deadlock?)\n{report}"
                )
            }
            DtlError::PeerFailed { rank, cause } => {
                write!(f, "stopped because rank {rank} failed: {cause}")
            }
            DtlError::Io { path, detail } => write!(f, "{path}: {detail}"),
            DtlError::Unsupported { what } => write!(f, "not supported yet: {what}"),
            DtlError::Backend { detail } => write!(f, "backend error: {detail}"),
            DtlError::NotEnoughMemory {
                bytes,
                ranks,
                available,
                what,
            } => {
                let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
                if *ranks > 1 {
                    write!(
                        f,
                        "out of memory: {what} needs {:.2} GiB on each of the {ranks} ranks of this machine ({:.2} GiB in all) but only {:.2} GiB are available",
                        gib(*bytes),
                        gib(bytes.saturating_mul(*ranks)),
                        gib(*available)
                    )
                } else {
                    write!(
                        f,
                        "out of memory: {what} needs {:.2} GiB but only {:.2} GiB are available",
                        gib(*bytes),
                        gib(*available)
                    )
                }
            }
            DtlError::MessageMismatch { detail } => {
                write!(f, "message does not match the receive: {detail}")
            }
            DtlError::StackOverflow { function, stack } => {
                write!(f, "stack overflow in `{function}`: recursion too deep")?;
                if *stack > 0 {
                    write!(f, " (the {} MiB stack is used up)", stack >> 20)?;
                }
                Ok(())
            }
            DtlError::CollectiveRecursion { function, limit } => write!(
                f,
                "recursion too deep in `{function}`: recursive functions that run collectives may nest at most {limit} levels (DTL_MAX_COLLECTIVE_DEPTH)"
            ),
            DtlError::Interrupted => f.write_str("interrupted (SIGINT)"),
        }
    }
}

impl std::error::Error for DtlError {}

pub type Result<T, E = DtlError> = std::result::Result<T, E>;
