//! Facts about the process and the machine that guard against faults: the current thread's
//! stack bounds (the stack-depth check), the memory the system can still give (the memory
//! check before large allocations), and whether an MPI launcher started this process.

use std::sync::OnceLock;

/// Bytes of stack kept free below the deepest dtl function frame: room for the runtime's own
/// calls (formatting an error, a collective inside MPI, `malloc`) when generated code is at
/// its limit.
pub const STACK_MARGIN: usize = 1 << 20;

/// Allocations (bytes per rank, times the ranks that share this machine) below this size skip
/// the memory check: it reads `/proc/meminfo`, which costs more than a small allocation.
pub const MEMORY_CHECK_MIN: u64 = 64 << 20;

/// How deep recursive functions that run collectives may nest by default. Each level waits
/// for every rank, so reaching the end of the stack (hundreds of thousands of levels) can
/// take minutes (and under MPI each level's containers hold communicators, of which MPICH has
/// about 2000); divide-and-conquer over ranks or containers needs tens.
pub const MAX_COLLECTIVE_DEPTH: i64 = 1000;

/// `DTL_MAX_COLLECTIVE_DEPTH` when set to a positive number, else [`MAX_COLLECTIVE_DEPTH`]
/// (read once per process).
pub fn max_collective_depth() -> i64 {
    static V: OnceLock<i64> = OnceLock::new();
    *V.get_or_init(|| {
        std::env::var("DTL_MAX_COLLECTIVE_DEPTH")
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|&n| n > 0)
            .unwrap_or(MAX_COLLECTIVE_DEPTH)
    })
}

/// The lowest and highest address of the current thread's stack, when the platform says.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn stack_bounds() -> Option<(usize, usize)> {
    use std::ffi::{c_int, c_void};
    // glibc's pthread_attr_t is 56 bytes on x86-64 and 64 on AArch64; 128 aligned bytes hold
    // either.
    #[repr(C, align(16))]
    struct Attr([u8; 128]);
    unsafe extern "C" {
        fn pthread_self() -> usize;
        fn pthread_getattr_np(th: usize, attr: *mut Attr) -> c_int;
        fn pthread_attr_getstack(
            attr: *const Attr,
            addr: *mut *mut c_void,
            size: *mut usize,
        ) -> c_int;
        fn pthread_attr_destroy(attr: *mut Attr) -> c_int;
    }
    let mut attr = Attr([0; 128]);
    let mut addr: *mut c_void = std::ptr::null_mut();
    let mut size: usize = 0;
    // SAFETY: `attr` is writable storage at least as large and aligned as glibc's
    // pthread_attr_t; pthread_getattr_np initialises it for the calling thread, and it is
    // destroyed exactly once after use. `addr` and `size` are valid out-parameters.
    let ok = unsafe {
        if pthread_getattr_np(pthread_self(), &mut attr) != 0 {
            return None;
        }
        let rc = pthread_attr_getstack(&attr, &mut addr, &mut size);
        pthread_attr_destroy(&mut attr);
        rc == 0
    };
    let lo = addr as usize;
    (ok && lo != 0 && size > 0).then(|| (lo, lo.saturating_add(size)))
}

/// The lowest and highest address of the current thread's stack, when the platform says.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn stack_bounds() -> Option<(usize, usize)> {
    None
}

/// The stack-pointer value below which a dtl function refuses to run on this thread: the
/// bottom of the stack plus [`STACK_MARGIN`]; 0 (no check) when the bounds are unknown or the
/// stack is smaller than twice the margin.
pub fn stack_limit() -> u64 {
    match stack_bounds() {
        Some((lo, hi)) if hi - lo >= 2 * STACK_MARGIN => (lo + STACK_MARGIN) as u64,
        _ => 0,
    }
}

/// Size in bytes of the current thread's stack, when known.
pub fn stack_size() -> Option<usize> {
    stack_bounds().map(|(lo, hi)| hi - lo)
}

/// `DTL_MEMORY_LIMIT` overrides what the system reports (bytes, or with a `K`/`M`/`G`/`T`
/// suffix, powers of 1024); read once per process.
fn limit_override() -> Option<u64> {
    static V: OnceLock<Option<u64>> = OnceLock::new();
    *V.get_or_init(|| {
        std::env::var("DTL_MEMORY_LIMIT")
            .ok()
            .and_then(|s| parse_bytes(&s))
    })
}

/// Parses `123`, `64M`, `2G`, `1.5T` (powers of 1024) into bytes.
pub fn parse_bytes(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mul) = match s.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return None,
            };
            (&s[..i], m)
        }
        _ => (s, 1),
    };
    let x: f64 = num.trim().parse().ok()?;
    (x.is_finite() && x >= 0.0).then_some((x * mul as f64) as u64)
}

/// The `MemAvailable` line of `/proc/meminfo`, in bytes.
fn meminfo_available(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

/// What the cgroup (v2, else v1) this process runs in still allows, in bytes.
fn cgroup_available() -> Option<u64> {
    let read = |p: &str| std::fs::read_to_string(p).ok();
    let num = |s: Option<String>| s.and_then(|s| s.trim().parse::<u64>().ok());
    if let Some(max) = num(read("/sys/fs/cgroup/memory.max")) {
        let cur = num(read("/sys/fs/cgroup/memory.current")).unwrap_or(0);
        return Some(max.saturating_sub(cur));
    }
    let max = num(read("/sys/fs/cgroup/memory/memory.limit_in_bytes"))?;
    // v1 reports "no limit" as a huge number near i64::MAX.
    if max >= 1 << 60 {
        return None;
    }
    let cur = num(read("/sys/fs/cgroup/memory/memory.usage_in_bytes")).unwrap_or(0);
    Some(max.saturating_sub(cur))
}

/// The memory the system can still give this process, in bytes: `DTL_MEMORY_LIMIT` when set,
/// else the smaller of `MemAvailable` (`/proc/meminfo`) and the cgroup's remaining limit;
/// `None` when nothing is known (then no check happens).
pub fn available_memory() -> Option<u64> {
    if let Some(v) = limit_override() {
        return Some(v);
    }
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| meminfo_available(&t));
    match (mem, cgroup_available()) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// How many ranks of the job share this machine's memory with one rank of `backend` with
/// `size` ranks: all of them for thread ranks (one process), the launcher's local rank count
/// for MPI processes (`MPI_LOCALNRANKS` from MPICH's Hydra, `OMPI_COMM_WORLD_LOCAL_SIZE` from
/// Open MPI, `SLURM_NTASKS_PER_NODE`), else 1.
pub fn ranks_sharing_memory(backend: &str, size: usize) -> u64 {
    if backend != "mpi" {
        return size.max(1) as u64;
    }
    [
        "MPI_LOCALNRANKS",
        "OMPI_COMM_WORLD_LOCAL_SIZE",
        "SLURM_NTASKS_PER_NODE",
    ]
    .iter()
    .find_map(|k| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
    })
    .filter(|&n| n > 0)
    .unwrap_or(1)
}

/// The memory check: `Err(available)` when `bytes` on each of `sharers` ranks of this machine
/// do not fit in `available` bytes.
pub fn check_fits(bytes: u64, sharers: u64, available: Option<u64>) -> Result<(), u64> {
    let total = bytes.saturating_mul(sharers.max(1));
    match available {
        Some(avail) if total >= MEMORY_CHECK_MIN && total > avail => Err(avail),
        _ => Ok(()),
    }
}

/// Whether the environment says an MPI launcher started this process (`mpirun`, `mpiexec`,
/// `srun` with more than one task, a PMI/PMIx process manager). Needs no MPI library, so a
/// build without MPI can refuse to run as N independent copies.
pub fn launched_under_mpi() -> bool {
    let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    let num = |k: &str| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    set("PMI_RANK")
        || set("PMI_SIZE")
        || set("PMIX_RANK")
        || set("OMPI_COMM_WORLD_SIZE")
        || set("MPI_LOCALNRANKS")
        || set("HYDRA_CONTROL_FD")
        || (set("SLURM_PROCID") && num("SLURM_NTASKS").is_some_and(|n| n > 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_parse_with_suffixes() {
        assert_eq!(parse_bytes("123"), Some(123));
        assert_eq!(parse_bytes("64M"), Some(64 << 20));
        assert_eq!(parse_bytes("2g"), Some(2 << 30));
        assert_eq!(parse_bytes("1.5K"), Some(1536));
        assert_eq!(parse_bytes("x"), None);
        assert_eq!(parse_bytes("-1"), None);
        assert_eq!(parse_bytes("3Q"), None);
    }

    #[test]
    fn meminfo_line() {
        let t = "MemTotal:       24000000 kB\nMemFree:  1 kB\nMemAvailable:   2000 kB\n";
        assert_eq!(meminfo_available(t), Some(2000 * 1024));
        assert_eq!(meminfo_available("MemTotal: 5 kB\n"), None);
    }

    #[test]
    fn fits_counts_every_sharing_rank() {
        let g = 1u64 << 30;
        assert_eq!(check_fits(g, 1, Some(2 * g)), Ok(()));
        assert_eq!(check_fits(g, 4, Some(2 * g)), Err(2 * g));
        // Small allocations are never refused, unknown memory never either.
        assert_eq!(check_fits(1 << 20, 1, Some(1)), Ok(()));
        assert_eq!(check_fits(u64::MAX, 8, None), Ok(()));
        assert_eq!(check_fits(u64::MAX, u64::MAX, Some(g)), Err(g));
    }

    #[test]
    fn this_thread_has_a_stack_limit_inside_its_stack() {
        let local = 0u8;
        let sp = &local as *const u8 as usize;
        if let Some((lo, hi)) = stack_bounds() {
            assert!(lo < sp && sp < hi, "{lo:#x} < {sp:#x} < {hi:#x}");
            let lim = stack_limit() as usize;
            assert!(lim == 0 || (lim > lo && lim < sp));
        }
        let big = std::thread::Builder::new()
            .stack_size(16 << 20)
            .spawn(|| (stack_size(), stack_limit()))
            .unwrap()
            .join()
            .unwrap();
        if let (Some(sz), lim) = big {
            assert!(sz >= 16 << 20, "{sz}");
            assert_ne!(lim, 0);
        }
    }
}
