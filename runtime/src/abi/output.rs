//! Entry points: output, errors, utilities.

use super::*;
use crate::comm::CommExt;
use crate::error::DtlError;

fn push_item(cx: &mut RankCtx, s: &str) {
    if cx.items > 0 {
        cx.line.push(' ');
    }
    cx.line.push_str(s);
    cx.items += 1;
}

/// Appends an integer (`unsigned` nonzero: the bits are a u64) to the line being printed.
pub extern "C" fn dtl_print_int(cx: *mut RankCtx, x: i64, unsigned: i64) {
    guard(cx, -1, (), |cx| {
        let s = if unsigned != 0 {
            (x as u64).to_string()
        } else {
            x.to_string()
        };
        push_item(cx, &s);
        Ok(())
    })
}

/// Appends a float (`single` nonzero: print as f32) in Rust's `{}` form.
pub extern "C" fn dtl_print_float(cx: *mut RankCtx, x: f64, single: i64) {
    guard(cx, -1, (), |cx| {
        let s = if single != 0 {
            format!("{}", x as f32)
        } else {
            format!("{x}")
        };
        push_item(cx, &s);
        Ok(())
    })
}

/// Appends `true` or `false`.
pub extern "C" fn dtl_print_bool(cx: *mut RankCtx, x: i64) {
    guard(cx, -1, (), |cx| {
        push_item(cx, if x != 0 { "true" } else { "false" });
        Ok(())
    })
}

/// Appends a string literal.
pub extern "C" fn dtl_print_str(cx: *mut RankCtx, p: *const u8, len: i64) {
    guard(cx, -1, (), |cx| {
        let s = str_arg(p, len)?;
        push_item(cx, s);
        Ok(())
    })
}

/// Ends a `print` line: writes it as one atomic line.
pub extern "C" fn dtl_print_end(cx: *mut RankCtx) {
    guard(cx, -1, (), |cx| {
        let mut line = std::mem::take(&mut cx.line);
        cx.items = 0;
        line.push('\n');
        (cx.prog.sink)(&line);
        Ok(())
    })
}

/// Collective: ends a `print_all` line: rank 0 prints every rank's line in rank order, each
/// prefixed `[r] `.
pub extern "C" fn dtl_print_all_end(cx: *mut RankCtx, site: i32) {
    guard(cx, site, (), |cx| {
        let line = std::mem::take(&mut cx.line);
        cx.items = 0;
        let comm = &cx.comm;
        let bytes = line.into_bytes();
        let all = comm.gatherv_vec(&bytes, 0)?;
        let lens = comm.gatherv_vec(&[bytes.len() as u64], 0)?;
        if comm.rank() == 0 {
            let mut out = String::new();
            let mut at = 0usize;
            for (r, &n) in lens.iter().enumerate() {
                let n = n as usize;
                let s = String::from_utf8_lossy(&all[at..at + n]);
                out.push_str(&format!("[{r}] {s}\n"));
                at += n;
            }
            (cx.prog.sink)(&out);
        }
        Ok(())
    })
}

/// A failed bounds check in generated code: `index` against `len` (R0001).
pub extern "C" fn dtl_fail_bounds(cx: *mut RankCtx, index: i64, len: i64, site: i32) {
    guard(cx, site, (), |_| {
        Err(DtlError::OutOfBounds {
            index,
            len: len.max(0) as usize,
            what: "container".into(),
        })
    })
}

/// A failure raised by generated code: 0 division by zero (R0002), 1 misaligned containers
/// (R0008), 2 a `for` loop step that is zero or negative (R0009), 3 a `forall` range with
/// more indices than an i64 counts (R0006).
pub extern "C" fn dtl_fail(cx: *mut RankCtx, what: i64, site: i32) {
    guard(cx, site, (), |_| {
        Err(match what {
            0 => DtlError::DivisionByZero,
            2 => DtlError::invalid("the step of a `for` loop must be positive"),
            3 => DtlError::BadSize {
                requested: 1 << 63,
                what: "the range of a `forall` (more than 2^63 - 1 indices)".into(),
            },
            _ => DtlError::Misaligned {
                detail: "the containers of this expression differ in length or partition".into(),
            },
        })
    })
}

/// A recursive function found the stack pointer below the context's `stack_limit`, or no
/// `collective_depth_left`, in its prologue (R0015). `name` is the function's name (`len`
/// bytes).
pub extern "C" fn dtl_stack_overflow(cx: *mut RankCtx, p: *const u8, len: i64, site: i32) {
    guard(cx, site, (), |cx| {
        let name = str_arg(p, len).unwrap_or("?").to_string();
        if cx.collective_depth_left < 0 {
            return Err(DtlError::CollectiveRecursion {
                function: name,
                limit: crate::sys::max_collective_depth(),
            });
        }
        Err(DtlError::StackOverflow {
            function: name,
            stack: crate::sys::stack_size().unwrap_or(0),
        })
    })
}

/// Generated code found the stop word set at a loop head: records why (R0011 when another
/// rank failed or the watchdog fired, R0016 on SIGINT), and the code returns.
pub extern "C" fn dtl_poll_stop(cx: *mut RankCtx, site: i32) {
    guard(cx, site, (), |cx| Err(cx.comm.stop_error()))
}

/// `assert(c, "msg")` failed (R0005).
pub extern "C" fn dtl_assert_fail(cx: *mut RankCtx, p: *const u8, len: i64, site: i32) {
    guard(cx, site, (), |_| {
        let m = str_arg(p, len).unwrap_or("assertion failed");
        Err(DtlError::AssertionFailed {
            message: m.to_string(),
        })
    })
}

/// The value of `param` slot `g`: its `-D` override when one was given, else `default`.
pub extern "C" fn dtl_param(cx: *mut RankCtx, g: i64, default: i64) -> i64 {
    guard(cx, -1, default, |cx| {
        Ok(u32::try_from(g)
            .ok()
            .and_then(|g| cx.prog.overrides.get(&g).copied())
            .unwrap_or(default))
    })
}

/// Uniform `has_cuda()`: this build drives no GPU yet.
pub extern "C" fn dtl_has_cuda() -> i64 {
    0
}

/// `wtime()`: seconds since the Unix epoch.
pub extern "C" fn dtl_wtime() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `round(x, d)` = `(x * 10^d).round() / 10^d` in f64.
pub extern "C" fn dtl_round(x: f64, d: i64) -> f64 {
    let d = d.clamp(-300, 300) as i32;
    let p = 10f64.powi(d);
    (x * p).round() / p
}

/// `rand(seed, i)`.
pub extern "C" fn dtl_rand(seed: i64, i: i64) -> f64 {
    crate::random::rand(seed as u64, i as u64)
}

/// `randn(seed, i)`.
pub extern "C" fn dtl_randn(seed: i64, i: i64) -> f64 {
    crate::random::randn(seed as u64, i as u64)
}

/// `sin(x)`: dtl's own (see [`crate::math`]), which vector code computes bit for bit alike.
pub extern "C" fn dtl_sin(x: f64) -> f64 {
    crate::math::sin(x)
}

/// `cos(x)`: dtl's own (see [`crate::math`]).
pub extern "C" fn dtl_cos(x: f64) -> f64 {
    crate::math::cos(x)
}

/// `exp(x)`: dtl's own (see [`crate::math`]).
pub extern "C" fn dtl_exp(x: f64) -> f64 {
    crate::math::exp(x)
}

/// The C library's math functions, which Rust's `f64::tan` etc. call on this target (one jump
/// less per element than a wrapper).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod clib {
    unsafe extern "C" {
        pub safe fn tan(x: f64) -> f64;
        pub safe fn log(x: f64) -> f64;
    }
}

// `tan log`: on glibc targets the entry points are the C library's functions
// themselves (what `f64::sin` etc. call there), so generated code calls them directly.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub use clib::{log as dtl_log, tan as dtl_tan};

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
macro_rules! math1 {
    ($($name:ident = $f:ident),*) => {$(
        #[doc = concat!("`", stringify!($f), "(x)`.")]
        pub extern "C" fn $name(x: f64) -> f64 { x.$f() }
    )*};
}
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
math1!(dtl_tan = tan, dtl_log = ln);

/// `pow(x, y)`.
pub extern "C" fn dtl_pow(x: f64, y: f64) -> f64 {
    x.powf(y)
}

/// Float `%` (Rust semantics: the sign of the dividend).
pub extern "C" fn dtl_fmod(x: f64, y: f64) -> f64 {
    x % y
}
