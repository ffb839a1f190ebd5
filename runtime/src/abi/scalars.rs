//! Scalars as bits: the element types the JIT handles, and the dtype, operator and partition
//! codes.

use crate::algo::Num;
use crate::elem::{DType, Element, ReduceOp};
use crate::error::{DtlError, Result};
use crate::partition::Partition;
use crate::sort::SortKey;

/// An element type the JIT can handle: every runtime dtype.
pub trait AbiElem: Element + Num + SortKey {
    fn from_abi(b: i64) -> Self;
    fn to_abi(self) -> i64;
}

macro_rules! abi_int {
    ($($t:ty),*) => {$(
        impl AbiElem for $t {
            fn from_abi(b: i64) -> Self { b as $t }
            fn to_abi(self) -> i64 { self as i64 }
        }
    )*};
}
abi_int!(i8, i32, i64, u8, u32, u64);

impl AbiElem for f32 {
    fn from_abi(b: i64) -> Self {
        f64::from_bits(b as u64) as f32
    }
    fn to_abi(self) -> i64 {
        (self as f64).to_bits() as i64
    }
}

impl AbiElem for f64 {
    fn from_abi(b: i64) -> Self {
        f64::from_bits(b as u64)
    }
    fn to_abi(self) -> i64 {
        self.to_bits() as i64
    }
}

impl AbiElem for bool {
    fn from_abi(b: i64) -> Self {
        b != 0
    }
    fn to_abi(self) -> i64 {
        self as i64
    }
}

/// The dtype of a code: 0 i8, 1 i32, 2 i64, 3 u8, 4 u32, 5 u64, 6 f32, 7 f64, 8 bool (the order
/// of the compiler's `Scalar`).
pub fn dtype_of_code(code: i32) -> Result<DType> {
    Ok(match code {
        0 => DType::I8,
        1 => DType::I32,
        2 => DType::I64,
        3 => DType::U8,
        4 => DType::U32,
        5 => DType::U64,
        6 => DType::F32,
        7 => DType::F64,
        8 => DType::Bool,
        _ => return Err(DtlError::invalid(format!("unknown dtype code {code}"))),
    })
}

macro_rules! with_dtype {
    ($code:expr, $T:ident => $body:expr) => {
        match $code {
            0 => {
                type $T = i8;
                $body
            }
            1 => {
                type $T = i32;
                $body
            }
            2 => {
                type $T = i64;
                $body
            }
            3 => {
                type $T = u8;
                $body
            }
            4 => {
                type $T = u32;
                $body
            }
            5 => {
                type $T = u64;
                $body
            }
            6 => {
                type $T = f32;
                $body
            }
            7 => {
                type $T = f64;
                $body
            }
            8 => {
                type $T = bool;
                $body
            }
            c => Err(DtlError::invalid(format!("unknown dtype code {c}"))),
        }
    };
}

pub(super) fn op_of_code(code: i32) -> Result<ReduceOp> {
    Ok(match code {
        0 => ReduceOp::Sum,
        1 => ReduceOp::Prod,
        2 => ReduceOp::Min,
        3 => ReduceOp::Max,
        4 => ReduceOp::Land,
        5 => ReduceOp::Lor,
        6 => ReduceOp::Band,
        7 => ReduceOp::Bor,
        8 => ReduceOp::Bxor,
        _ => return Err(DtlError::invalid(format!("unknown operator code {code}"))),
    })
}

/// Partition codes: 0 block, 1 cyclic, 2 block_cyclic(b), 3 replicated.
pub(super) fn partition_of_code(code: i64, b: i64) -> Result<Partition> {
    Ok(match code {
        0 => Partition::Block,
        1 => Partition::Cyclic,
        2 => {
            if b <= 0 {
                return Err(DtlError::invalid(format!(
                    "block_cyclic block size must be positive, got {b}"
                )));
            }
            Partition::BlockCyclic(b as usize)
        }
        3 => Partition::Replicated,
        _ => return Err(DtlError::invalid(format!("unknown partition code {code}"))),
    })
}
