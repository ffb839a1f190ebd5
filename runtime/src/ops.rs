//! Byte-level elementwise reductions: the arithmetic behind every reducing collective.
//!
//! Buffers are raw bytes plus a [`DType`], as they cross [`crate::comm::Comm`]. Each call
//! dispatches once on (dtype, op) and then runs a tight loop over fixed-size byte arrays that
//! the compiler turns into plain (vectorised) loads and stores, so no alignment is required.
//!
//! Semantics:
//! - integers wrap on overflow (`Sum`, `Prod`);
//! - `Land`/`Lor` treat nonzero (NaN included) as true and produce 0 or 1 in the element type;
//! - `Band`/`Bor`/`Bxor` need integers or bool; `Sum`/`Prod` reject bool;
//! - float `Min`/`Max` propagate NaN (a NaN operand gives NaN, like NumPy's `minimum`);
//! - `MinLoc`/`MaxLoc` work on 16-byte [`LocPair`](crate::elem::LocPair) records; the smaller
//!   (larger) value wins, ties go to the lowest index, and a NaN value beats every number (the
//!   lowest-indexed NaN wins), which matches `np.argmin`/`np.argmax`.

use crate::elem::{DType, ReduceOp};
use crate::error::{DtlError, Result};

/// Size in bytes of one reduction unit: the element size, or 16 for `MinLoc`/`MaxLoc` records.
pub fn unit_size(dtype: DType, op: ReduceOp) -> usize {
    if is_loc(op) { LOC_SIZE } else { dtype.size() }
}

/// Size of a [`crate::elem::LocPair`] record in bytes.
pub const LOC_SIZE: usize = 16;

fn is_loc(op: ReduceOp) -> bool {
    matches!(op, ReduceOp::MinLoc | ReduceOp::MaxLoc)
}

/// Checks that `op` is defined for `dtype` (R0009 otherwise).
pub fn check_op(dtype: DType, op: ReduceOp) -> Result<()> {
    if op.valid_for(dtype) {
        Ok(())
    } else {
        Err(DtlError::invalid(format!(
            "reduction `{op}` is not defined for {dtype}"
        )))
    }
}

/// Number of reduction units in `len` bytes (R0009 if `len` is not a whole number of them).
pub fn unit_count(len: usize, dtype: DType, op: ReduceOp) -> Result<usize> {
    let u = unit_size(dtype, op);
    if !len.is_multiple_of(u) {
        let what = if is_loc(op) {
            "loc records".to_string()
        } else {
            format!("{dtype} elements")
        };
        return Err(DtlError::invalid(format!(
            "{len} bytes are not a whole number of {what}"
        )));
    }
    Ok(len / u)
}

/// `acc[i] = op(acc[i], other[i])` elementwise over two byte buffers of equal length holding
/// elements of `dtype` (or `LocPair` records for `MinLoc`/`MaxLoc`).
///
/// Errors (R0009): lengths differ or are not whole elements, or `op` is invalid for `dtype`.
pub fn reduce_into(dtype: DType, op: ReduceOp, acc: &mut [u8], other: &[u8]) -> Result<()> {
    check_op(dtype, op)?;
    if acc.len() != other.len() {
        return Err(DtlError::invalid(format!(
            "reduction over buffers of {} and {} bytes",
            acc.len(),
            other.len()
        )));
    }
    unit_count(acc.len(), dtype, op)?;
    if is_loc(op) {
        loc_reduce(dtype, op == ReduceOp::MinLoc, acc, other);
        return Ok(());
    }
    match dtype {
        DType::I8 => int_i8(op, acc, other),
        DType::I32 => int_i32(op, acc, other),
        DType::I64 => int_i64(op, acc, other),
        DType::U8 => int_u8(op, acc, other),
        DType::U32 => int_u32(op, acc, other),
        DType::U64 => int_u64(op, acc, other),
        DType::F32 => float_f32(op, acc, other),
        DType::F64 => float_f64(op, acc, other),
        DType::Bool => boolean(op, acc, other),
    }
    Ok(())
}

/// The identity element of `op` for `dtype`, as bytes (e.g. to pre-fill an exclusive scan).
/// For `MinLoc`/`MaxLoc` the record holds the identity value and index `i64::MAX`.
pub fn identity(dtype: DType, op: ReduceOp) -> Result<Vec<u8>> {
    check_op(dtype, op)?;
    macro_rules! id {
        ($t:ty, $min:expr, $max:expr, $one:expr, $zero:expr) => {{
            let v: $t = match op {
                ReduceOp::Sum | ReduceOp::Lor | ReduceOp::Bor | ReduceOp::Bxor => $zero,
                ReduceOp::Prod | ReduceOp::Land => $one,
                ReduceOp::Band => !($zero as $t),
                ReduceOp::Min | ReduceOp::MinLoc => $max,
                ReduceOp::Max | ReduceOp::MaxLoc => $min,
            };
            v.to_ne_bytes().to_vec()
        }};
    }
    macro_rules! idf {
        ($t:ty) => {{
            let v: $t = match op {
                ReduceOp::Sum | ReduceOp::Lor => 0.0,
                ReduceOp::Prod | ReduceOp::Land => 1.0,
                ReduceOp::Min | ReduceOp::MinLoc => <$t>::INFINITY,
                ReduceOp::Max | ReduceOp::MaxLoc => <$t>::NEG_INFINITY,
                // Rejected by check_op above.
                ReduceOp::Band | ReduceOp::Bor | ReduceOp::Bxor => 0.0,
            };
            v.to_ne_bytes().to_vec()
        }};
    }
    let mut v = match dtype {
        DType::I8 => id!(i8, i8::MIN, i8::MAX, 1, 0),
        DType::I32 => id!(i32, i32::MIN, i32::MAX, 1, 0),
        DType::I64 => id!(i64, i64::MIN, i64::MAX, 1, 0),
        DType::U8 => id!(u8, u8::MIN, u8::MAX, 1, 0),
        DType::U32 => id!(u32, u32::MIN, u32::MAX, 1, 0),
        DType::U64 => id!(u64, u64::MIN, u64::MAX, 1, 0),
        DType::F32 => idf!(f32),
        DType::F64 => idf!(f64),
        DType::Bool => {
            let b = match op {
                ReduceOp::Land | ReduceOp::Band | ReduceOp::Min | ReduceOp::MinLoc => 1u8,
                _ => 0u8,
            };
            vec![b]
        }
    };
    if is_loc(op) {
        v.resize(8, 0);
        v.extend_from_slice(&i64::MAX.to_ne_bytes());
    }
    Ok(v)
}

/// Applies `f` to every element pair, `N` bytes per element, converting with `from`/`to`.
#[inline(always)]
fn lanes<T: Copy, const N: usize>(
    acc: &mut [u8],
    other: &[u8],
    from: impl Fn([u8; N]) -> T,
    to: impl Fn(T) -> [u8; N],
    f: impl Fn(T, T) -> T,
) {
    let (a, _) = acc.as_chunks_mut::<N>();
    let (b, _) = other.as_chunks::<N>();
    for (x, y) in a.iter_mut().zip(b) {
        *x = to(f(from(*x), from(*y)));
    }
}

macro_rules! int_kernel {
    ($name:ident, $t:ty) => {
        fn $name(op: ReduceOp, acc: &mut [u8], other: &[u8]) {
            const N: usize = std::mem::size_of::<$t>();
            let from = <$t>::from_ne_bytes;
            let to = <$t>::to_ne_bytes;
            match op {
                ReduceOp::Sum => lanes::<$t, N>(acc, other, from, to, |a, b| a.wrapping_add(b)),
                ReduceOp::Prod => lanes::<$t, N>(acc, other, from, to, |a, b| a.wrapping_mul(b)),
                ReduceOp::Min => lanes::<$t, N>(acc, other, from, to, |a, b| a.min(b)),
                ReduceOp::Max => lanes::<$t, N>(acc, other, from, to, |a, b| a.max(b)),
                ReduceOp::Land => {
                    lanes::<$t, N>(acc, other, from, to, |a, b| ((a != 0) & (b != 0)) as $t)
                }
                ReduceOp::Lor => {
                    lanes::<$t, N>(acc, other, from, to, |a, b| ((a != 0) | (b != 0)) as $t)
                }
                ReduceOp::Band => lanes::<$t, N>(acc, other, from, to, |a, b| a & b),
                ReduceOp::Bor => lanes::<$t, N>(acc, other, from, to, |a, b| a | b),
                ReduceOp::Bxor => lanes::<$t, N>(acc, other, from, to, |a, b| a ^ b),
                // Handled by the caller before dispatch.
                ReduceOp::MinLoc | ReduceOp::MaxLoc => {}
            }
        }
    };
}

int_kernel!(int_i8, i8);
int_kernel!(int_i32, i32);
int_kernel!(int_i64, i64);
int_kernel!(int_u8, u8);
int_kernel!(int_u32, u32);
int_kernel!(int_u64, u64);

macro_rules! float_kernel {
    ($name:ident, $t:ty) => {
        fn $name(op: ReduceOp, acc: &mut [u8], other: &[u8]) {
            const N: usize = std::mem::size_of::<$t>();
            let from = <$t>::from_ne_bytes;
            let to = <$t>::to_ne_bytes;
            match op {
                ReduceOp::Sum => lanes::<$t, N>(acc, other, from, to, |a, b| a + b),
                ReduceOp::Prod => lanes::<$t, N>(acc, other, from, to, |a, b| a * b),
                // NaN propagates, like NumPy's `minimum`/`maximum`.
                ReduceOp::Min => lanes::<$t, N>(acc, other, from, to, |a, b| {
                    if a.is_nan() || b.is_nan() {
                        <$t>::NAN
                    } else if b < a {
                        b
                    } else {
                        a
                    }
                }),
                ReduceOp::Max => lanes::<$t, N>(acc, other, from, to, |a, b| {
                    if a.is_nan() || b.is_nan() {
                        <$t>::NAN
                    } else if b > a {
                        b
                    } else {
                        a
                    }
                }),
                ReduceOp::Land => lanes::<$t, N>(acc, other, from, to, |a, b| {
                    if a != 0.0 && b != 0.0 { 1.0 } else { 0.0 }
                }),
                ReduceOp::Lor => lanes::<$t, N>(acc, other, from, to, |a, b| {
                    if a != 0.0 || b != 0.0 { 1.0 } else { 0.0 }
                }),
                // Rejected by check_op; MinLoc/MaxLoc are handled by the caller.
                _ => {}
            }
        }
    };
}

float_kernel!(float_f32, f32);
float_kernel!(float_f64, f64);

fn boolean(op: ReduceOp, acc: &mut [u8], other: &[u8]) {
    let from = |b: [u8; 1]| b[0] != 0;
    let to = |v: bool| [v as u8];
    match op {
        ReduceOp::Min | ReduceOp::Land | ReduceOp::Band => {
            lanes::<bool, 1>(acc, other, from, to, |a, b| a & b)
        }
        ReduceOp::Max | ReduceOp::Lor | ReduceOp::Bor => {
            lanes::<bool, 1>(acc, other, from, to, |a, b| a | b)
        }
        ReduceOp::Bxor => lanes::<bool, 1>(acc, other, from, to, |a, b| a ^ b),
        // Sum/Prod are rejected by check_op; MinLoc/MaxLoc are handled by the caller.
        _ => {}
    }
}

/// A comparable view of a LocPair's value.
#[derive(Clone, Copy, PartialEq, PartialOrd)]
enum Key {
    Int(i128),
    Float(f64),
}

fn loc_key(dtype: DType, v: &[u8; 8]) -> Key {
    let b4 = [v[0], v[1], v[2], v[3]];
    match dtype {
        DType::I8 => Key::Int(i8::from_ne_bytes([v[0]]) as i128),
        DType::U8 | DType::Bool => Key::Int(v[0] as i128),
        DType::I32 => Key::Int(i32::from_ne_bytes(b4) as i128),
        DType::U32 => Key::Int(u32::from_ne_bytes(b4) as i128),
        DType::I64 => Key::Int(i64::from_ne_bytes(*v) as i128),
        DType::U64 => Key::Int(u64::from_ne_bytes(*v) as i128),
        DType::F32 => Key::Float(f32::from_ne_bytes(b4) as f64),
        DType::F64 => Key::Float(f64::from_ne_bytes(*v)),
    }
}

fn is_nan(k: Key) -> bool {
    matches!(k, Key::Float(f) if f.is_nan())
}

fn loc_reduce(dtype: DType, min: bool, acc: &mut [u8], other: &[u8]) {
    let (a, _) = acc.as_chunks_mut::<LOC_SIZE>();
    let (b, _) = other.as_chunks::<LOC_SIZE>();
    for (x, y) in a.iter_mut().zip(b) {
        let (xv, xi) = split_loc(x);
        let (yv, yi) = split_loc(y);
        let (kx, ky) = (loc_key(dtype, &xv), loc_key(dtype, &yv));
        let take_other = match (is_nan(kx), is_nan(ky)) {
            (true, true) => yi < xi,
            (true, false) => false,
            (false, true) => true,
            (false, false) => {
                let better = if min { ky < kx } else { ky > kx };
                better || (ky == kx && yi < xi)
            }
        };
        if take_other {
            *x = *y;
        }
    }
}

fn split_loc(r: &[u8; LOC_SIZE]) -> ([u8; 8], i64) {
    let (v, i) = r.split_at(8);
    let mut vb = [0u8; 8];
    vb.copy_from_slice(v);
    let mut ib = [0u8; 8];
    ib.copy_from_slice(i);
    (vb, i64::from_ne_bytes(ib))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elem::{Element, LocPair, as_bytes, as_bytes_mut, loc_as_bytes, loc_as_bytes_mut};

    fn red<T: Element>(op: ReduceOp, a: &[T], b: &[T]) -> Vec<T> {
        let mut acc = a.to_vec();
        reduce_into(T::DTYPE, op, as_bytes_mut(&mut acc), as_bytes(b)).unwrap();
        acc
    }

    #[test]
    fn integer_ops_wrap_and_normalise() {
        assert_eq!(
            red(ReduceOp::Sum, &[i8::MAX, 3], &[1i8, 4]),
            vec![i8::MIN, 7]
        );
        assert_eq!(red(ReduceOp::Prod, &[u8::MAX], &[2u8]), vec![254]);
        assert_eq!(red(ReduceOp::Min, &[-5i64, 9], &[3, -9]), vec![-5, -9]);
        assert_eq!(red(ReduceOp::Max, &[5u32, 1], &[3, 9]), vec![5, 9]);
        assert_eq!(
            red(ReduceOp::Land, &[5i32, 0, 7], &[3, 3, 0]),
            vec![1, 0, 0]
        );
        assert_eq!(red(ReduceOp::Lor, &[5u64, 0, 0], &[0, 3, 0]), vec![1, 1, 0]);
        assert_eq!(red(ReduceOp::Band, &[0b1100u8], &[0b1010]), vec![0b1000]);
        assert_eq!(red(ReduceOp::Bor, &[0b1100i64], &[0b1010]), vec![0b1110]);
        assert_eq!(red(ReduceOp::Bxor, &[0b1100u32], &[0b1010]), vec![0b0110]);
    }

    #[test]
    fn float_ops() {
        assert_eq!(
            red(ReduceOp::Sum, &[1.5f64, 2.0], &[2.5, -2.0]),
            vec![4.0, 0.0]
        );
        assert_eq!(red(ReduceOp::Prod, &[1.5f32], &[2.0]), vec![3.0]);
        assert_eq!(
            red(ReduceOp::Land, &[0.5f64, 0.0], &[f64::NAN, 1.0]),
            vec![1.0, 0.0]
        );
        assert_eq!(
            red(ReduceOp::Lor, &[0.0f32, 0.0], &[-0.0, 2.0]),
            vec![0.0, 1.0]
        );
        let m = red(
            ReduceOp::Min,
            &[1.0f64, f64::NAN, 3.0],
            &[f64::NAN, 2.0, -1.0],
        );
        assert!(m[0].is_nan() && m[1].is_nan() && m[2] == -1.0);
        let m = red(ReduceOp::Max, &[1.0f32, 5.0], &[f32::NAN, 2.0]);
        assert!(m[0].is_nan() && m[1] == 5.0);
    }

    #[test]
    fn bool_ops() {
        let a = [true, true, false, false];
        let b = [true, false, true, false];
        assert_eq!(red(ReduceOp::Land, &a, &b), vec![true, false, false, false]);
        assert_eq!(red(ReduceOp::Min, &a, &b), vec![true, false, false, false]);
        assert_eq!(red(ReduceOp::Lor, &a, &b), vec![true, true, true, false]);
        assert_eq!(red(ReduceOp::Max, &a, &b), vec![true, true, true, false]);
        assert_eq!(red(ReduceOp::Bxor, &a, &b), vec![false, true, true, false]);
    }

    #[test]
    fn invalid_combinations_are_rejected() {
        let mut a = [0u8; 8];
        let b = [0u8; 8];
        for op in [ReduceOp::Band, ReduceOp::Bor, ReduceOp::Bxor] {
            for d in [DType::F32, DType::F64] {
                let e = reduce_into(d, op, &mut a, &b).unwrap_err();
                assert_eq!(e.code(), crate::error::Code::R0009);
            }
        }
        for op in [ReduceOp::Sum, ReduceOp::Prod] {
            assert!(reduce_into(DType::Bool, op, &mut a, &b).is_err());
        }
        assert!(reduce_into(DType::F64, ReduceOp::Sum, &mut a[..7], &b[..7]).is_err());
        assert!(reduce_into(DType::F64, ReduceOp::Sum, &mut a, &b[..4]).is_err());
        assert!(reduce_into(DType::I32, ReduceOp::MinLoc, &mut a, &b).is_err());
    }

    #[test]
    fn every_dtype_and_op_reduces_like_a_scalar_fold() {
        use ReduceOp::*;
        for d in DType::ALL {
            for op in [Sum, Prod, Min, Max, Land, Lor, Band, Bor, Bxor] {
                if !op.valid_for(d) {
                    continue;
                }
                // 1000 elements so the vectorised loop and its tail both run.
                let n = 1000;
                let mk = |s: u64| -> Vec<u8> {
                    (0..n as u64)
                        .flat_map(|i| {
                            let x = (i * 7 + s * 13) % 5;
                            let v: Vec<u8> = match d {
                                DType::Bool => vec![(x % 2) as u8],
                                DType::F32 => (x as f32).to_ne_bytes().to_vec(),
                                DType::F64 => (x as f64).to_ne_bytes().to_vec(),
                                _ => {
                                    let b = x.to_ne_bytes();
                                    b[..d.size()].to_vec()
                                }
                            };
                            v
                        })
                        .collect()
                };
                let (mut acc, other) = (mk(1), mk(2));
                let orig = acc.clone();
                reduce_into(d, op, &mut acc, &other).unwrap();
                let sz = d.size();
                for i in 0..n {
                    let mut one = orig[i * sz..(i + 1) * sz].to_vec();
                    reduce_into(d, op, &mut one, &other[i * sz..(i + 1) * sz]).unwrap();
                    assert_eq!(one, acc[i * sz..(i + 1) * sz].to_vec(), "{d} {op} at {i}");
                }
            }
        }
    }

    #[test]
    fn identities_are_neutral() {
        use ReduceOp::*;
        for d in DType::ALL {
            for op in [Sum, Prod, Min, Max, Land, Lor, Band, Bor, Bxor] {
                if !op.valid_for(d) {
                    continue;
                }
                let id = identity(d, op).unwrap();
                let x = if d == DType::Bool {
                    vec![1u8]
                } else {
                    {
                        let mut v = vec![0u8; d.size()];
                        v[0] = 1;
                        if d == DType::F64 {
                            v = 1.0f64.to_ne_bytes().to_vec();
                        }
                        if d == DType::F32 {
                            v = 1.0f32.to_ne_bytes().to_vec();
                        }
                        v
                    }
                };
                let mut acc = id.clone();
                reduce_into(d, op, &mut acc, &x).unwrap();
                assert_eq!(acc, x, "{d} {op}");
            }
        }
    }

    #[test]
    fn minloc_maxloc_ties_and_nan() {
        let mut a = vec![
            LocPair::new(3.0f64, 5),
            LocPair::new(1.0f64, 9),
            LocPair::new(f64::NAN, 4),
        ];
        let b = [
            LocPair::new(3.0f64, 2),
            LocPair::new(2.0f64, 1),
            LocPair::new(f64::NAN, 3),
        ];
        reduce_into(
            DType::F64,
            ReduceOp::MinLoc,
            loc_as_bytes_mut(&mut a),
            loc_as_bytes(&b),
        )
        .unwrap();
        assert_eq!(a[0].index, 2);
        assert_eq!((a[1].value::<f64>(), a[1].index), (1.0, 9));
        assert_eq!(a[2].index, 3);

        let mut a = vec![
            LocPair::new(-3i32, 5),
            LocPair::new(7i32, 0),
            LocPair::new(1i32, 8),
        ];
        let b = [
            LocPair::new(-3i32, 6),
            LocPair::new(8i32, 3),
            LocPair::new(0i32, 8),
        ];
        reduce_into(
            DType::I32,
            ReduceOp::MaxLoc,
            loc_as_bytes_mut(&mut a),
            loc_as_bytes(&b),
        )
        .unwrap();
        assert_eq!(a.iter().map(|p| p.index).collect::<Vec<_>>(), vec![5, 3, 8]);
        assert_eq!(a[1].value::<i32>(), 8);

        let mut a = vec![LocPair::new(1.0f32, 7)];
        let b = [LocPair::new(f32::NAN, 9)];
        reduce_into(
            DType::F32,
            ReduceOp::MaxLoc,
            loc_as_bytes_mut(&mut a),
            loc_as_bytes(&b),
        )
        .unwrap();
        assert_eq!(a[0].index, 9);
        let mut a = vec![LocPair::new(u64::MAX, 7)];
        let b = [LocPair::new(0u64, 9)];
        reduce_into(
            DType::U64,
            ReduceOp::MaxLoc,
            loc_as_bytes_mut(&mut a),
            loc_as_bytes(&b),
        )
        .unwrap();
        assert_eq!(a[0].index, 7);
    }
}
