//! Entry points: maps.

use super::*;

/// `insert(m, k, v)` (visible after the next barrier).
pub extern "C" fn dtl_map_insert(cx: *mut RankCtx, h: *mut Obj, k: i64, v: i64, site: i32) {
    guard(cx, site, (), |_| {
        obj(h)?.map()?.insert(k, v);
        Ok(())
    })
}

/// `atomic_add(m, k, x)` (visible after the next barrier).
pub extern "C" fn dtl_map_add(cx: *mut RankCtx, h: *mut Obj, k: i64, v: i64, site: i32) {
    guard(cx, site, (), |_| {
        obj(h)?.map()?.atomic_add(k, v);
        Ok(())
    })
}

/// `lookup(m, k, default)`.
pub extern "C" fn dtl_map_lookup(
    cx: *mut RankCtx,
    h: *mut Obj,
    k: i64,
    default: i64,
    site: i32,
) -> i64 {
    guard(cx, site, default, |_| obj(h)?.map()?.lookup(k, default))
}

/// `contains(m, k)`.
pub extern "C" fn dtl_map_contains(cx: *mut RankCtx, h: *mut Obj, k: i64, site: i32) -> i64 {
    guard(cx, site, 0, |_| Ok(obj(h)?.map()?.contains(k)? as i64))
}

/// Collective `len(m)`: the global number of keys.
pub extern "C" fn dtl_map_len(cx: *mut RankCtx, h: *mut Obj, site: i32) -> i64 {
    guard(cx, site, 0, |_| obj(h)?.map()?.global_len())
}
