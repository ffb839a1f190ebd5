//! The argument checks and error texts both backends (`threads.rs`, `mpi.rs`) share, so that a
//! misuse of the [`Comm`](super::Comm) interface fails with the same code and message whichever
//! backend runs it. Checks that only one backend needs (MPI's `c_int` limits, the threads
//! backend's own count overflow reports) stay in that backend.

use crate::elem::{DType, ReduceOp};
use crate::error::{DtlError, Result};
use crate::ops;

/// A rank argument checked against the communicator's size: R0004 naming it `what` ("root
/// rank", "source rank", "destination rank", "target rank").
pub(super) fn rank(r: usize, size: usize, what: &'static str) -> Result<usize> {
    DtlError::check_rank(i64::try_from(r).unwrap_or(i64::MAX), size, what)
}

/// The error of a collective's `root` argument, if any.
pub(super) fn root(root: usize, size: usize) -> Option<DtlError> {
    rank(root, size, "root rank").err()
}

/// A collective was called on a communicator handle while another collective ran on it (from
/// another thread).
pub(super) fn concurrent_use(rank: usize) -> DtlError {
    DtlError::invalid(format!(
        "rank {rank} called a collective while another collective of the same communicator was running on it \
         (one communicator handle must not be used by two threads at once)"
    ))
}

/// A tag a message is sent with or received by: never negative.
pub(super) fn tag(t: i32) -> Result<i32> {
    if t < 0 {
        return Err(DtlError::invalid(format!("tag {t} is negative")));
    }
    Ok(t)
}

/// A message of `bytes` bytes from `source` with `tag` is longer than the receive buffer.
pub(super) fn too_long(bytes: usize, source: usize, tag: i32, buf_len: usize) -> DtlError {
    DtlError::invalid(format!(
        "message of {bytes} bytes from rank {source} (tag {tag}) does not fit a receive buffer of {buf_len} bytes"
    ))
}

/// The number of `dtype` elements in `len` bytes, which must be a whole number of them.
pub(super) fn whole(len: usize, dtype: DType, what: &str) -> Result<usize> {
    if !len.is_multiple_of(dtype.size()) {
        return Err(DtlError::invalid(format!(
            "{what}: {len} bytes are not a whole number of {dtype} elements"
        )));
    }
    Ok(len / dtype.size())
}

/// The arguments of a reduction (`reduce`, `allreduce`, `scan`): the operator applies to the
/// dtype, the send buffer holds whole units, and the receive buffer (where there is one) has
/// the same length. Returns the unit count and the first error.
pub(super) fn reduction(
    send: &[u8],
    recv_len: Option<usize>,
    dtype: DType,
    op: ReduceOp,
    what: &str,
) -> (usize, Option<DtlError>) {
    let count = send.len() / ops::unit_size(dtype, op);
    let err = ops::check_op(dtype, op)
        .and_then(|_| ops::unit_count(send.len(), dtype, op))
        .and_then(|_| match recv_len {
            Some(r) if r != send.len() => Err(DtlError::invalid(format!(
                "{what}: send buffer of {} bytes but receive buffer of {r} bytes",
                send.len()
            ))),
            _ => Ok(()),
        })
        .err();
    (count, err)
}

/// Checks `counts` (one per rank) against the byte length of the `buf_name` buffer.
/// `total_bytes` computes the counts' total in bytes (each backend reports an overflow its own
/// way); it is called only when there is one count per rank.
pub(super) fn counts(
    counts: &[usize],
    size: usize,
    buf_len: usize,
    what: &str,
    buf_name: &str,
    total_bytes: impl FnOnce() -> Result<usize>,
) -> Option<DtlError> {
    if counts.len() != size {
        return Some(DtlError::invalid(format!(
            "{what}: {} counts for {size} ranks",
            counts.len()
        )));
    }
    match total_bytes() {
        Ok(t) if t == buf_len => None,
        Ok(t) => Some(DtlError::invalid(format!(
            "{what}: counts total {t} bytes but the {buf_name} buffer has {buf_len}"
        ))),
        Err(e) => Some(e),
    }
}

/// `allgatherv`: this rank's own count (`counts` has one per rank, already checked) must match
/// its send buffer of `send_len` bytes.
pub(super) fn allgatherv_own(
    rank: usize,
    counts: &[usize],
    dtype: DType,
    send_len: usize,
) -> Option<DtlError> {
    (counts[rank].checked_mul(dtype.size()) != Some(send_len)).then(|| {
        DtlError::invalid(format!(
            "allgatherv: rank {rank} sends {send_len} bytes but counts[{rank}] = {}",
            counts[rank]
        ))
    })
}

/// The window `id` is not (or no longer) registered on this communicator.
pub(super) fn no_window(id: u64) -> DtlError {
    DtlError::invalid(format!(
        "window {id} does not exist on this communicator (freed?)"
    ))
}

/// A one-sided access of `len` bytes at `offset` of `target`'s `target_len` exposed bytes of
/// window `id` must stay inside them (R0001).
pub(super) fn window_range(
    id: u64,
    target: usize,
    offset: usize,
    len: usize,
    target_len: usize,
) -> Result<()> {
    if offset.checked_add(len).is_none_or(|e| e > target_len) {
        let index = i64::try_from(offset.saturating_add(len.saturating_sub(1))).unwrap_or(i64::MAX);
        return Err(DtlError::OutOfBounds {
            index,
            len: target_len,
            what: format!("window {id} of rank {target} (bytes)"),
        });
    }
    Ok(())
}

/// The local arguments of `win_create`: a null base only with length 0.
pub(super) fn win_create(base: *mut u8, len_bytes: usize) -> Option<DtlError> {
    (base.is_null() && len_bytes > 0)
        .then(|| DtlError::invalid("win_create: null base with a nonzero length"))
}

/// A one-sided atomic (`accumulate`, `fetch_op`) of `len` bytes at byte `offset`: the operator
/// applies to the dtype, the length is whole units, and the offset is aligned to a unit.
/// Returns the unit size in bytes.
pub(super) fn atomic(offset: usize, len: usize, dtype: DType, op: ReduceOp) -> Result<usize> {
    ops::check_op(dtype, op)?;
    ops::unit_count(len, dtype, op)?;
    let unit = ops::unit_size(dtype, op);
    if !offset.is_multiple_of(unit) {
        return Err(DtlError::invalid(format!(
            "one-sided atomic at byte offset {offset}, not a multiple of the element size {unit}"
        )));
    }
    Ok(unit)
}

/// `fetch_op` takes exactly one unit of `unit` bytes as operand and result.
pub(super) fn fetch_op(unit: usize, operand_len: usize, result_len: usize) -> Result<()> {
    if operand_len != unit || result_len != unit {
        return Err(DtlError::invalid(format!(
            "fetch_op needs one element ({unit} bytes), got {operand_len} and {result_len} bytes"
        )));
    }
    Ok(())
}

/// `compare_and_swap` of one `dtype` element at an aligned byte `offset`. Returns the element
/// size in bytes.
pub(super) fn compare_and_swap(
    offset: usize,
    dtype: DType,
    compare_len: usize,
    swap_len: usize,
    result_len: usize,
) -> Result<usize> {
    let unit = dtype.size();
    if !offset.is_multiple_of(unit) {
        return Err(DtlError::invalid(format!(
            "compare_and_swap at unaligned byte offset {offset}"
        )));
    }
    if compare_len != unit || swap_len != unit || result_len != unit {
        return Err(DtlError::invalid(format!(
            "compare_and_swap needs one {dtype} element"
        )));
    }
    Ok(unit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;

    fn text(e: DtlError) -> (Code, String) {
        (e.code(), e.to_string())
    }

    fn invalid(msg: &str) -> (Code, String) {
        text(DtlError::invalid(msg.to_string()))
    }

    #[test]
    fn rank_and_tag_arguments() {
        assert_eq!(rank(2, 3, "root rank").ok(), Some(2));
        let e = rank(3, 3, "destination rank").err().map(text);
        let want = DtlError::NoSuchRank {
            rank: 3,
            size: 3,
            what: "destination rank",
        };
        assert_eq!(e, Some(text(want)));
        let huge = rank(usize::MAX, 2, "source rank").err();
        assert!(matches!(
            huge,
            Some(DtlError::NoSuchRank { rank: i64::MAX, .. })
        ));
        assert!(root(0, 1).is_none());
        assert!(root(1, 1).is_some());
        assert_eq!(tag(0).ok(), Some(0));
        assert_eq!(tag(-1).err().map(text), Some(invalid("tag -1 is negative")));
        assert_eq!(
            text(too_long(9, 1, 4, 8)),
            invalid(
                "message of 9 bytes from rank 1 (tag 4) does not fit a receive buffer of 8 bytes"
            )
        );
        assert_eq!(
            text(concurrent_use(1)),
            invalid(
                "rank 1 called a collective while another collective of the same communicator was \
                 running on it (one communicator handle must not be used by two threads at once)"
            )
        );
    }

    #[test]
    fn buffer_and_count_arguments() {
        assert_eq!(whole(16, DType::F64, "gatherv").ok(), Some(2));
        assert_eq!(
            whole(12, DType::F64, "gatherv").err().map(text),
            Some(invalid(
                "gatherv: 12 bytes are not a whole number of f64 elements"
            ))
        );
        let send = [0u8; 16];
        assert_eq!(
            reduction(&send, Some(16), DType::I64, ReduceOp::Sum, "allreduce"),
            (2, None)
        );
        let (n, e) = reduction(&send, Some(8), DType::I64, ReduceOp::Sum, "allreduce");
        assert_eq!(n, 2);
        assert_eq!(
            e.map(text),
            Some(invalid(
                "allreduce: send buffer of 16 bytes but receive buffer of 8 bytes"
            ))
        );
        let c = [1usize, 2];
        assert!(counts(&c, 2, 24, "gatherv", "receive", || Ok(24)).is_none());
        assert_eq!(
            counts(&c, 3, 24, "gatherv", "receive", || Ok(24)).map(text),
            Some(invalid("gatherv: 2 counts for 3 ranks"))
        );
        assert_eq!(
            counts(&c, 2, 16, "scatterv", "send", || Ok(24)).map(text),
            Some(invalid(
                "scatterv: counts total 24 bytes but the send buffer has 16"
            ))
        );
        let overflow = || {
            Err(DtlError::BadSize {
                requested: 1,
                what: "x".into(),
            })
        };
        assert!(matches!(
            counts(&c, 2, 16, "gatherv", "receive", overflow),
            Some(DtlError::BadSize { .. })
        ));
        assert!(allgatherv_own(1, &c, DType::I32, 8).is_none());
        assert_eq!(
            allgatherv_own(1, &c, DType::I32, 4).map(text),
            Some(invalid(
                "allgatherv: rank 1 sends 4 bytes but counts[1] = 2"
            ))
        );
    }

    #[test]
    fn window_arguments() {
        assert_eq!(
            text(no_window(7)),
            invalid("window 7 does not exist on this communicator (freed?)")
        );
        assert!(window_range(7, 1, 8, 8, 16).is_ok());
        let e = window_range(7, 1, 12, 8, 16).err().map(text);
        let want = DtlError::OutOfBounds {
            index: 19,
            len: 16,
            what: "window 7 of rank 1 (bytes)".into(),
        };
        assert_eq!(e, Some(text(want)));
        assert!(window_range(7, 1, usize::MAX, 2, 16).is_err());
        assert!(win_create(std::ptr::null_mut(), 0).is_none());
        assert_eq!(
            win_create(std::ptr::null_mut(), 8).map(text),
            Some(invalid("win_create: null base with a nonzero length"))
        );
        assert_eq!(atomic(8, 16, DType::I64, ReduceOp::Sum).ok(), Some(8));
        assert_eq!(
            atomic(4, 8, DType::I64, ReduceOp::Sum).err().map(text),
            Some(invalid(
                "one-sided atomic at byte offset 4, not a multiple of the element size 8"
            ))
        );
        assert!(fetch_op(8, 8, 8).is_ok());
        assert_eq!(
            fetch_op(8, 8, 4).err().map(text),
            Some(invalid(
                "fetch_op needs one element (8 bytes), got 8 and 4 bytes"
            ))
        );
        assert_eq!(compare_and_swap(8, DType::I64, 8, 8, 8).ok(), Some(8));
        assert_eq!(
            compare_and_swap(4, DType::I64, 8, 8, 8).err().map(text),
            Some(invalid("compare_and_swap at unaligned byte offset 4"))
        );
        assert_eq!(
            compare_and_swap(8, DType::I64, 8, 4, 8).err().map(text),
            Some(invalid("compare_and_swap needs one i64 element"))
        );
    }
}
