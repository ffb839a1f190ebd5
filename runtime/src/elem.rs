//! Element types (the eight NumPy dtypes and bool), reduction operators and byte views.

use std::fmt;

/// The element types of the runtime: the eight NumPy dtypes plus bool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    I8,
    I32,
    I64,
    U8,
    U32,
    U64,
    F32,
    F64,
    Bool,
}

impl DType {
    pub const ALL: [DType; 9] = [
        DType::I8,
        DType::I32,
        DType::I64,
        DType::U8,
        DType::U32,
        DType::U64,
        DType::F32,
        DType::F64,
        DType::Bool,
    ];

    /// Size of one element in bytes.
    pub const fn size(self) -> usize {
        match self {
            DType::I8 | DType::U8 | DType::Bool => 1,
            DType::I32 | DType::U32 | DType::F32 => 4,
            DType::I64 | DType::U64 | DType::F64 => 8,
        }
    }

    /// The dtl spelling (`f64`, `bool`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            DType::I8 => "i8",
            DType::I32 => "i32",
            DType::I64 => "i64",
            DType::U8 => "u8",
            DType::U32 => "u32",
            DType::U64 => "u64",
            DType::F32 => "f32",
            DType::F64 => "f64",
            DType::Bool => "bool",
        }
    }

    /// The NumPy `.npy` descriptor (little endian).
    pub const fn npy_descr(self) -> &'static str {
        match self {
            DType::I8 => "|i1",
            DType::I32 => "<i4",
            DType::I64 => "<i8",
            DType::U8 => "|u1",
            DType::U32 => "<u4",
            DType::U64 => "<u8",
            DType::F32 => "<f4",
            DType::F64 => "<f8",
            DType::Bool => "|b1",
        }
    }

    pub fn from_name(s: &str) -> Option<DType> {
        DType::ALL.into_iter().find(|d| d.name() == s)
    }

    pub const fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64)
    }

    pub const fn is_integer(self) -> bool {
        !self.is_float() && !matches!(self, DType::Bool)
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Reduction operators of LANGUAGE.md §9, plus `MinLoc`/`MaxLoc` for argmin/argmax.
///
/// `MinLoc`/`MaxLoc` operate on [`LocPair`] records rather than plain elements: on ties the
/// lowest index wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    Sum,
    Prod,
    Min,
    Max,
    Land,
    Lor,
    Band,
    Bor,
    Bxor,
    MinLoc,
    MaxLoc,
}

impl ReduceOp {
    pub const fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "sum",
            ReduceOp::Prod => "prod",
            ReduceOp::Min => "min",
            ReduceOp::Max => "max",
            ReduceOp::Land => "land",
            ReduceOp::Lor => "lor",
            ReduceOp::Band => "band",
            ReduceOp::Bor => "bor",
            ReduceOp::Bxor => "bxor",
            ReduceOp::MinLoc => "minloc",
            ReduceOp::MaxLoc => "maxloc",
        }
    }

    pub fn from_name(s: &str) -> Option<ReduceOp> {
        use ReduceOp::*;
        [
            Sum, Prod, Min, Max, Land, Lor, Band, Bor, Bxor, MinLoc, MaxLoc,
        ]
        .into_iter()
        .find(|o| o.name() == s)
    }

    /// Whether the operator is defined for elements of `dtype` (bitwise ops need integers or
    /// bool; arithmetic needs numbers; logical ops work on everything, nonzero meaning true).
    pub fn valid_for(self, dtype: DType) -> bool {
        match self {
            ReduceOp::Sum | ReduceOp::Prod => dtype != DType::Bool,
            ReduceOp::Band | ReduceOp::Bor | ReduceOp::Bxor => !dtype.is_float(),
            _ => true,
        }
    }
}

impl fmt::Display for ReduceOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A (value, global index) record for `MinLoc`/`MaxLoc`: 16 bytes, the value's bytes first
/// (zero-padded to 8), then the index. Fixed layout so backends can reduce it as bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(C)]
pub struct LocPair {
    value: [u8; 8],
    pub index: i64,
}

impl LocPair {
    pub fn new<T: Element>(value: T, index: i64) -> Self {
        let mut v = [0u8; 8];
        v[..T::DTYPE.size()].copy_from_slice(as_bytes(std::slice::from_ref(&value)));
        LocPair { value: v, index }
    }

    /// The value, read back as `T` (the type it was built with).
    pub fn value<T: Element>(&self) -> T {
        let mut out = [T::ZERO];
        let n = T::DTYPE.size();
        // A bool record was built from a valid bool, so its byte is 0 or 1.
        as_bytes_mut(&mut out).copy_from_slice(&self.value[..n]);
        out[0]
    }

    pub fn value_bytes(&self) -> &[u8; 8] {
        &self.value
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A scalar element type of the runtime. Sealed: implemented exactly for the nine types of
/// [`DType`].
pub trait Element:
    sealed::Sealed + Copy + Send + Sync + PartialEq + PartialOrd + Default + fmt::Debug + 'static
{
    const DTYPE: DType;
    /// The additive identity (false for bool).
    const ZERO: Self;
    /// Converts from f64 the way `as` does in Rust (saturating for integers).
    fn from_f64(x: f64) -> Self;
    /// Converts to f64 the way `as` does in Rust.
    fn to_f64(self) -> f64;
    /// Converts from i64 the way `as` does in Rust.
    fn from_i64(x: i64) -> Self;
}

macro_rules! element {
    ($t:ty, $d:ident, $zero:expr) => {
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = DType::$d;
            const ZERO: Self = $zero;
            #[inline]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline]
            fn from_i64(x: i64) -> Self {
                x as $t
            }
        }
    };
}

element!(i8, I8, 0);
element!(i32, I32, 0);
element!(i64, I64, 0);
element!(u8, U8, 0);
element!(u32, U32, 0);
element!(u64, U64, 0);
element!(f32, F32, 0.0);
element!(f64, F64, 0.0);

impl sealed::Sealed for bool {}
impl Element for bool {
    const DTYPE: DType = DType::Bool;
    const ZERO: Self = false;
    #[inline]
    fn from_f64(x: f64) -> Self {
        x != 0.0
    }
    #[inline]
    fn to_f64(self) -> f64 {
        if self { 1.0 } else { 0.0 }
    }
    #[inline]
    fn from_i64(x: i64) -> Self {
        x != 0
    }
}

/// Views a slice of elements as its bytes.
#[inline]
pub fn as_bytes<T: Element>(s: &[T]) -> &[u8] {
    // SAFETY: every `Element` is a plain scalar without padding or interior mutability, so each
    // of its bytes is initialised; the length in bytes is exactly `size_of_val(s)` and u8 has
    // alignment 1.
    unsafe { std::slice::from_raw_parts(s.as_ptr().cast::<u8>(), std::mem::size_of_val(s)) }
}

/// Views a mutable slice of elements as its bytes.
///
/// Callers inside the runtime only ever store bytes that came from elements of the same
/// [`DType`] (the collective signature check guarantees matching dtypes), or results of the
/// byte-level reductions, which keep bools at 0 or 1. That keeps `bool` slices valid.
#[inline]
pub fn as_bytes_mut<T: Element>(s: &mut [T]) -> &mut [u8] {
    let n = std::mem::size_of_val(s);
    // SAFETY: as in `as_bytes`; in addition the runtime only writes valid bit patterns of `T`
    // through this view (see the function's contract above).
    unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr().cast::<u8>(), n) }
}

/// Views a slice of loc pairs as bytes (16 bytes per record).
#[inline]
pub fn loc_as_bytes(s: &[LocPair]) -> &[u8] {
    // SAFETY: LocPair is repr(C) of [u8; 8] and i64: 16 bytes, no padding, all initialised.
    unsafe { std::slice::from_raw_parts(s.as_ptr().cast::<u8>(), std::mem::size_of_val(s)) }
}

/// Mutable byte view of loc pairs; the same contract as [`as_bytes_mut`].
#[inline]
pub fn loc_as_bytes_mut(s: &mut [LocPair]) -> &mut [u8] {
    let n = std::mem::size_of_val(s);
    // SAFETY: every bit pattern is a valid LocPair (bytes and an i64).
    unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr().cast::<u8>(), n) }
}
