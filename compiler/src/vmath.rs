//! `sin`, `cos` and `exp` on `f64x2` vectors in generated code (on `f32x4` through two `f64x2`).
//!
//! The same operations, in the same order, as `dtl_runtime::math::sin`/`cos`/`exp`, which
//! generated code calls for single elements: a lane's result is bit for bit what the scalar
//! function gives, so it does not matter whether an element falls into a vector. Lanes the
//! fast path cannot handle (for `sin`/`cos` |x| ≥ 1.6·10^6 and heavy cancellation near a
//! multiple of π/2, for `exp` |x| ≥ 708; infinities, NaN) are rare; when a vector has one,
//! both lanes are recomputed by the scalar function.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    BlockArg, ConstantData, Endianness, FuncRef, Immediate, InstBuilder, MemFlagsData, Type, Value,
    types,
};
use cranelift_frontend::FunctionBuilder;
use dtl_runtime::math as m;

use crate::hir::Builtin;

/// The builtins this module computes on vectors.
pub(crate) fn computes(f: Builtin) -> bool {
    matches!(f, Builtin::Sin | Builtin::Cos | Builtin::Exp)
}

/// Builtin `f` (one of [`computes`]) of a vector of type `vt` (`f64x2`, or `f32x4` computed as
/// two `f64x2`); `scalar` is the runtime's function of one f64. Leaves the builder in a new
/// block.
pub(crate) fn call(
    b: &mut FunctionBuilder,
    f: Builtin,
    x: Value,
    vt: Type,
    scalar: FuncRef,
) -> Value {
    let one = |b: &mut FunctionBuilder, v: Value| match f {
        Builtin::Exp => exp(b, v, scalar),
        _ => sincos(b, v, f == Builtin::Cos, scalar),
    };
    if vt == types::F32X4 {
        via_f64(b, x, one)
    } else {
        one(b, x)
    }
}

/// A constant vector with `bits` in both 64-bit lanes.
fn splat64(b: &mut FunctionBuilder, ty: Type, bits: u64) -> Value {
    let mut bytes = bits.to_le_bytes().to_vec();
    bytes.extend_from_slice(&bits.to_le_bytes());
    let h = b.func.dfg.constants.insert(ConstantData::from(bytes));
    b.ins().vconst(ty, h)
}

fn fc(b: &mut FunctionBuilder, x: f64) -> Value {
    splat64(b, types::F64X2, x.to_bits())
}

fn ic(b: &mut FunctionBuilder, x: u64) -> Value {
    splat64(b, types::I64X2, x)
}

/// A lane-wise reinterpretation of a 128-bit vector.
fn cast(b: &mut FunctionBuilder, ty: Type, v: Value) -> Value {
    b.ins().bitcast(
        ty,
        MemFlagsData::new().with_endianness(Endianness::Little),
        v,
    )
}

/// A byte-shuffle mask.
fn mask(b: &mut FunctionBuilder, bytes: [u8; 16]) -> Immediate {
    b.func
        .dfg
        .immediates
        .push(ConstantData::from(bytes.to_vec()))
}

/// `f` (an `f64x2` function) of each lane of an `f32x4`, computed in f64 like the scalar code
/// (promote, the f64 function, demote): the same bits.
fn via_f64(
    b: &mut FunctionBuilder,
    x: Value,
    mut f: impl FnMut(&mut FunctionBuilder, Value) -> Value,
) -> Value {
    let lo = b.ins().fvpromote_low(x);
    // Lanes 2 and 3 moved down, then promoted.
    let xb = cast(b, types::I8X16, x);
    let down = mask(b, [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]);
    let hb = b.ins().shuffle(xb, xb, down);
    let hf = cast(b, types::F32X4, hb);
    let hi = b.ins().fvpromote_low(hf);
    let rlo = f(b, lo);
    let rhi = f(b, hi);
    // Demoted: each result in the low two lanes; joined.
    let dlo = b.ins().fvdemote(rlo);
    let dhi = b.ins().fvdemote(rhi);
    let dlo = cast(b, types::I8X16, dlo);
    let dhi = cast(b, types::I8X16, dhi);
    let join = mask(b, [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]);
    let r = b.ins().shuffle(dlo, dhi, join);
    cast(b, types::F32X4, r)
}

/// `sin(x)` (`cos` false) or `cos(x)` of an `f64x2`; `scalar` is the runtime's function for
/// one element (`dtl_sin` / `dtl_cos`). Leaves the builder in a new block.
fn sincos(b: &mut FunctionBuilder, x: Value, cos: bool, scalar: FuncRef) -> Value {
    let ax = b.ins().fabs(x);
    let lim = fc(b, m::LIMIT);
    let ok = b.ins().fcmp(FloatCC::LessThan, ax, lim);
    // t = x*INVPIO2 + TOINT; its low bits are n, the nearest integer to x*2/π.
    let inv = fc(b, m::INVPIO2);
    let toint = fc(b, m::TOINT);
    let xi = b.ins().fmul(x, inv);
    let t = b.ins().fadd(xi, toint);
    let mut n = cast(b, types::I64X2, t);
    if cos {
        let one = ic(b, 1);
        n = b.ins().iadd(n, one);
    }
    let f = b.ins().fsub(t, toint);
    // r0 = x - f*PIO2_1; w1 = f*PIO2_2; r = r0 - w1; w = f*PIO2_2T - ((r0 - r) - w1).
    let p1 = fc(b, m::PIO2_1);
    let fp1 = b.ins().fmul(f, p1);
    let r0 = b.ins().fsub(x, fp1);
    let p2 = fc(b, m::PIO2_2);
    let w1 = b.ins().fmul(f, p2);
    let r = b.ins().fsub(r0, w1);
    let p2t = fc(b, m::PIO2_2T);
    let fp2t = b.ins().fmul(f, p2t);
    let d = b.ins().fsub(r0, r);
    let d = b.ins().fsub(d, w1);
    let w = b.ins().fsub(fp2t, d);
    let y0 = b.ins().fsub(r, w);
    // Lanes for the scalar function: !(|x| < LIMIT) || |y0| < |x|*TINY.
    let ay0 = b.ins().fabs(y0);
    let tiny = fc(b, m::TINY);
    let at = b.ins().fmul(ax, tiny);
    let cancel = b.ins().fcmp(FloatCC::LessThan, ay0, at);
    let far = b.ins().bnot(ok);
    let bad = b.ins().bor(far, cancel);
    let y1 = b.ins().fsub(r, y0);
    let y1 = b.ins().fsub(y1, w);
    let (s, c) = kernels(b, y0, y1);
    // n odd: the cosine kernel; n & 2: negated.
    let one = ic(b, 1);
    let odd = b.ins().band(n, one);
    let odd = b.ins().icmp(IntCC::Equal, odd, one);
    let sb = cast(b, types::I64X2, s);
    let cb = cast(b, types::I64X2, c);
    let v = b.ins().bitselect(odd, cb, sb);
    let two = ic(b, 2);
    let sign = b.ins().band(n, two);
    let sign = b.ins().ishl_imm_u(sign, 62);
    let v = b.ins().bxor(v, sign);
    let fast = cast(b, types::F64X2, v);
    finish(b, x, fast, bad, scalar)
}

/// `exp(x)` of an `f64x2`; `scalar` is the runtime's `dtl_exp`. Leaves the builder in a new
/// block.
fn exp(b: &mut FunctionBuilder, x: Value, scalar: FuncRef) -> Value {
    let ax = b.ins().fabs(x);
    let lim = fc(b, m::EXP_LIMIT);
    let ok = b.ins().fcmp(FloatCC::LessThan, ax, lim);
    let bad = b.ins().bnot(ok);
    // kd = x*128/ln2 rounded; its low bits (of kd + TOINT) are k.
    let inv = fc(b, m::EXP_INVLN2N);
    let z = b.ins().fmul(inv, x);
    let toint = fc(b, m::TOINT);
    let kd = b.ins().fadd(z, toint);
    let ki = cast(b, types::I64X2, kd);
    let kd = b.ins().fsub(kd, toint);
    // r = x + kd*(-ln2/128 hi) + kd*(-ln2/128 lo)
    let hi = fc(b, m::EXP_NEGLN2HIN);
    let khi = b.ins().fmul(kd, hi);
    let r = b.ins().fadd(x, khi);
    let lo = fc(b, m::EXP_NEGLN2LON);
    let klo = b.ins().fmul(kd, lo);
    let r = b.ins().fadd(r, klo);
    // The table entries of k mod 128, lane by lane (the index is masked, so lanes bound for
    // the scalar function read in bounds too). The runtime's static table is addressed by an
    // absolute constant: generated code runs in the process that compiled it.
    let tab = b.ins().iconst(types::I64, m::EXP_TAB.as_ptr() as i64);
    let mut tails = [None, None];
    let mut sbits = [None, None];
    for lane in 0..2u8 {
        let k = b.ins().extractlane(ki, lane);
        let i = b.ins().band_imm_u(k, 127);
        let off = b.ins().ishl_imm_u(i, 4);
        let p = b.ins().iadd(tab, off);
        let fl = MemFlagsData::trusted().with_readonly();
        tails[usize::from(lane)] = Some(b.ins().load(types::F64, fl, p, 0));
        sbits[usize::from(lane)] = Some(b.ins().load(types::I64, fl, p, 8));
    }
    let [Some(t0), Some(t1)] = tails else {
        unreachable!("both lanes loaded")
    };
    let [Some(s0), Some(s1)] = sbits else {
        unreachable!("both lanes loaded")
    };
    let tail = b.ins().scalar_to_vector(types::F64X2, t0);
    let tail = b.ins().insertlane(tail, t1, 1);
    let sb = b.ins().scalar_to_vector(types::I64X2, s0);
    let sb = b.ins().insertlane(sb, s1, 1);
    let top = b.ins().ishl_imm_u(ki, 45);
    let sb = b.ins().iadd(sb, top);
    // tmp = tail + r + r2*(C2 + r*C3) + r2*r2*(C4 + r*C5)
    let r2 = b.ins().fmul(r, r);
    let tmp = b.ins().fadd(tail, r);
    let c3 = fc(b, m::EXP_C3);
    let a = b.ins().fmul(r, c3);
    let c2 = fc(b, m::EXP_C2);
    let a = b.ins().fadd(c2, a);
    let a = b.ins().fmul(r2, a);
    let tmp = b.ins().fadd(tmp, a);
    let r4 = b.ins().fmul(r2, r2);
    let c5 = fc(b, m::EXP_C5);
    let e = b.ins().fmul(r, c5);
    let c4 = fc(b, m::EXP_C4);
    let e = b.ins().fadd(c4, e);
    let e = b.ins().fmul(r4, e);
    let tmp = b.ins().fadd(tmp, e);
    // scale + scale*tmp
    let scale = cast(b, types::F64X2, sb);
    let st = b.ins().fmul(scale, tmp);
    let fast = b.ins().fadd(scale, st);
    finish(b, x, fast, bad, scalar)
}

/// The result: `fast`, or, when a lane of `bad` is set, `scalar` of both lanes of `x`.
fn finish(b: &mut FunctionBuilder, x: Value, fast: Value, bad: Value, scalar: FuncRef) -> Value {
    let any = b.ins().vany_true(bad);
    let slow = b.create_block();
    b.set_cold_block(slow);
    let join = b.create_block();
    let res = b.append_block_param(join, types::F64X2);
    b.ins().brif(any, slow, &[], join, &[BlockArg::Value(fast)]);
    b.switch_to_block(slow);
    b.seal_block(slow);
    let x0 = b.ins().extractlane(x, 0);
    let x1 = b.ins().extractlane(x, 1);
    let c0 = b.ins().call(scalar, &[x0]);
    let r0 = b.inst_results(c0)[0];
    let c1 = b.ins().call(scalar, &[x1]);
    let r1 = b.inst_results(c1)[0];
    let v = b.ins().scalar_to_vector(types::F64X2, r0);
    let v = b.ins().insertlane(v, r1, 1);
    b.ins().jump(join, &[BlockArg::Value(v)]);
    b.switch_to_block(join);
    b.seal_block(join);
    res
}

/// fdlibm's `__kernel_sin(x, y, 1)` and `__kernel_cos(x, y)`, as in `dtl_runtime::math`.
fn kernels(b: &mut FunctionBuilder, x: Value, y: Value) -> (Value, Value) {
    let z = b.ins().fmul(x, x);
    let w = b.ins().fmul(z, z);
    // r = S2 + z*(S3 + z*S4) + z*w*(S5 + z*S6)
    let s4 = fc(b, m::S4);
    let a = b.ins().fmul(z, s4);
    let s3 = fc(b, m::S3);
    let a = b.ins().fadd(s3, a);
    let a = b.ins().fmul(z, a);
    let s2 = fc(b, m::S2);
    let a = b.ins().fadd(s2, a);
    let s6 = fc(b, m::S6);
    let e = b.ins().fmul(z, s6);
    let s5 = fc(b, m::S5);
    let e = b.ins().fadd(s5, e);
    let zw = b.ins().fmul(z, w);
    let e = b.ins().fmul(zw, e);
    let r = b.ins().fadd(a, e);
    // s = x - ((z*(0.5*y - v*r) - y) - v*S1), v = z*x
    let v = b.ins().fmul(z, x);
    let half = fc(b, 0.5);
    let hy = b.ins().fmul(half, y);
    let vr = b.ins().fmul(v, r);
    let q = b.ins().fsub(hy, vr);
    let q = b.ins().fmul(z, q);
    let q = b.ins().fsub(q, y);
    let s1 = fc(b, m::S1);
    let vs1 = b.ins().fmul(v, s1);
    let q = b.ins().fsub(q, vs1);
    let s = b.ins().fsub(x, q);
    // r = z*(C1 + z*(C2 + z*C3)) + w*w*(C4 + z*(C5 + z*C6))
    let c3 = fc(b, m::C3);
    let a = b.ins().fmul(z, c3);
    let c2 = fc(b, m::C2);
    let a = b.ins().fadd(c2, a);
    let a = b.ins().fmul(z, a);
    let c1 = fc(b, m::C1);
    let a = b.ins().fadd(c1, a);
    let a = b.ins().fmul(z, a);
    let c6 = fc(b, m::C6);
    let e = b.ins().fmul(z, c6);
    let c5 = fc(b, m::C5);
    let e = b.ins().fadd(c5, e);
    let e = b.ins().fmul(z, e);
    let c4 = fc(b, m::C4);
    let e = b.ins().fadd(c4, e);
    let ww = b.ins().fmul(w, w);
    let e = b.ins().fmul(ww, e);
    let r = b.ins().fadd(a, e);
    // c = w' + (((1 - w') - hz) + (z*r - x*y)), hz = 0.5*z, w' = 1 - hz
    let hz = b.ins().fmul(half, z);
    let one = fc(b, 1.0);
    let w2 = b.ins().fsub(one, hz);
    let t = b.ins().fsub(one, w2);
    let t = b.ins().fsub(t, hz);
    let zr = b.ins().fmul(z, r);
    let xy = b.ins().fmul(x, y);
    let u = b.ins().fsub(zr, xy);
    let t = b.ins().fadd(t, u);
    let c = b.ins().fadd(w2, t);
    (s, c)
}
