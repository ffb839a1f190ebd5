//! The table of entry points the JIT registers.

use super::*;

/// The Cranelift-level type of an argument or result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AbiTy {
    /// A pointer (handles, the context, string data).
    Ptr,
    I64,
    I32,
    F64,
}

/// Maps a Rust parameter type to its [`AbiTy`].
pub trait AbiArg {
    const TY: AbiTy;
}
impl AbiArg for *mut RankCtx {
    const TY: AbiTy = AbiTy::Ptr;
}
impl AbiArg for *mut Obj {
    const TY: AbiTy = AbiTy::Ptr;
}
impl AbiArg for *const u8 {
    const TY: AbiTy = AbiTy::Ptr;
}
impl AbiArg for i64 {
    const TY: AbiTy = AbiTy::I64;
}
impl AbiArg for i32 {
    const TY: AbiTy = AbiTy::I32;
}
impl AbiArg for f64 {
    const TY: AbiTy = AbiTy::F64;
}

/// Maps a Rust result type to its optional [`AbiTy`].
pub trait AbiRet {
    const TY: Option<AbiTy>;
}
impl AbiRet for () {
    const TY: Option<AbiTy> = None;
}
impl<T: AbiArg> AbiRet for T {
    const TY: Option<AbiTy> = Some(T::TY);
}

/// One entry point: its symbol, address and signature.
#[derive(Clone, Debug)]
pub struct Entry {
    pub name: &'static str,
    pub ptr: *const u8,
    pub params: Vec<AbiTy>,
    pub ret: Option<AbiTy>,
}

macro_rules! entries {
    ($($name:ident : ($($a:ty),*) -> $r:ty;)*) => {
        /// Every entry point, for the JIT's symbol table and imports.
        pub fn table() -> Vec<Entry> {
            vec![$({
                let f: extern "C" fn($($a),*) -> $r = $name;
                Entry {
                    name: stringify!($name),
                    ptr: f as *const u8,
                    params: vec![$(<$a as AbiArg>::TY),*],
                    ret: <$r as AbiRet>::TY,
                }
            }),*]
        }
    };
}

type Cx = *mut RankCtx;
type H = *mut Obj;
type S = *const u8;

entries! {
    dtl_dist_new: (Cx, i32, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i32) -> H;
    dtl_local_new: (Cx, i32, i64, i64, i32) -> H;
    dtl_map_new: (Cx, i32, i32) -> H;
    dtl_retain: (H) -> ();
    dtl_release: (Cx, H, i32) -> ();
    dtl_exchange: (Cx, H, i32) -> ();
    dtl_check_aligned: (Cx, H, H, i32) -> ();
    dtl_forall_prepare: (Cx, H, H, i64, i32) -> i64;
    dtl_read: (Cx, H, i64, i64, i32) -> i64;
    dtl_write: (Cx, H, i64, i64, i64, i32) -> ();
    dtl_get: (Cx, H, i64, i64, i32) -> i64;
    dtl_put: (Cx, H, i64, i64, i64, i32) -> ();
    dtl_atomic_add_nr: (Cx, H, i64, i64, i64, i32) -> ();
    dtl_atomic_add: (Cx, H, i64, i64, i64, i32) -> i64;
    dtl_fence: (Cx, H, i32) -> ();
    dtl_barrier: (Cx, i32) -> ();
    dtl_arg_extreme: (Cx, H, i64, i32) -> i64;
    dtl_sort: (Cx, H, i64, i32) -> ();
    dtl_scan: (Cx, H, i32, i64, i32) -> H;
    dtl_copy: (Cx, H, i64, i64, i32) -> H;
    dtl_resize: (Cx, H, i64, i32) -> ();
    dtl_swap: (Cx, H, H, i32) -> ();
    dtl_local_assign: (Cx, H, H, i32) -> ();
    dtl_owner: (Cx, H, i64, i32) -> i64;
    dtl_is_local: (Cx, H, i64, i32) -> i64;
    dtl_local_offset: (Cx, H, i32) -> i64;
    dtl_save: (Cx, H, S, i64, i32) -> ();
    dtl_load: (Cx, i32, S, i64, i64, i64, i32) -> H;
    dtl_map_insert: (Cx, H, i64, i64, i32) -> ();
    dtl_map_add: (Cx, H, i64, i64, i32) -> ();
    dtl_map_lookup: (Cx, H, i64, i64, i32) -> i64;
    dtl_map_contains: (Cx, H, i64, i32) -> i64;
    dtl_map_len: (Cx, H, i32) -> i64;
    dtl_allreduce: (Cx, i64, i32, i32, i32) -> i64;
    dtl_reduce: (Cx, i64, i32, i32, i64, i32) -> i64;
    dtl_broadcast: (Cx, i64, i32, i64, i32) -> i64;
    dtl_scan_ranks: (Cx, i64, i32, i32, i64, i32) -> i64;
    dtl_allgather: (Cx, i64, i32, i32) -> H;
    dtl_gather: (Cx, i64, i32, i64, i32) -> H;
    dtl_scatter: (Cx, H, i64, i32) -> i64;
    dtl_alltoall: (Cx, H, i32) -> H;
    dtl_allreduce_local: (Cx, H, i32, i32) -> H;
    dtl_broadcast_local: (Cx, H, i64, i32) -> H;
    dtl_send: (Cx, i64, i32, i64, i64, i32) -> ();
    dtl_recv: (Cx, i32, i64, i64, i32) -> i64;
    dtl_send_local: (Cx, H, i64, i64, i32) -> ();
    dtl_recv_local: (Cx, H, i64, i64, i32) -> ();
    dtl_sendrecv: (Cx, i64, i32, i64, i64, i64, i32) -> i64;
    dtl_print_int: (Cx, i64, i64) -> ();
    dtl_print_float: (Cx, f64, i64) -> ();
    dtl_print_bool: (Cx, i64) -> ();
    dtl_print_str: (Cx, S, i64) -> ();
    dtl_print_end: (Cx) -> ();
    dtl_print_all_end: (Cx, i32) -> ();
    dtl_fail_bounds: (Cx, i64, i64, i32) -> ();
    dtl_fail: (Cx, i64, i32) -> ();
    dtl_poll_stop: (Cx, i32) -> ();
    dtl_assert_fail: (Cx, S, i64, i32) -> ();
    dtl_stack_overflow: (Cx, S, i64, i32) -> ();
    dtl_param: (Cx, i64, i64) -> i64;
    dtl_has_cuda: () -> i64;
    dtl_wtime: () -> f64;
    dtl_round: (f64, i64) -> f64;
    dtl_rand: (i64, i64) -> f64;
    dtl_randn: (i64, i64) -> f64;
    dtl_sin: (f64) -> f64;
    dtl_cos: (f64) -> f64;
    dtl_tan: (f64) -> f64;
    dtl_exp: (f64) -> f64;
    dtl_log: (f64) -> f64;
    dtl_pow: (f64, f64) -> f64;
    dtl_fmod: (f64, f64) -> f64;
}

/// Looks an entry point up by name.
pub fn entry(name: &str) -> Option<Entry> {
    table().into_iter().find(|e| e.name == name)
}
