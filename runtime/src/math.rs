//! dtl's `sin`, `cos` and `exp`: one algorithm each, written so that generated code can
//! run it on SIMD vectors and get the same bits.
//!
//! Generated code computes these functions of whole vectors two lanes at a time (`f64x2`, see
//! the compiler's `vmath` module) and calls the functions here for single elements (loop
//! remainders, edge rows, scalar code). Both follow the same sequence of IEEE operations, with
//! no fused multiply-add, so an element's result does not depend on whether it fell into a
//! vector or not, and so not on the rank count. The compiler's tests check the two agree bit
//! for bit.
//!
//! The algorithms, made branch-free on the common path:
//! - `sin`/`cos`: the argument is reduced by the nearest multiple `n` of π/2 in two rounds of
//!   Cody–Waite (π/2 split into 33 + 33 + 53 bits, about 118 bits in all), giving a
//!   double-double `y0 + y1` with |y0| ≤ π/4, then fdlibm's `__kernel_sin` and `__kernel_cos`
//!   polynomials; `n mod 4` picks the kernel and the sign. Where that reduction is not accurate
//!   enough (|x| ≥ 1.6·10^6, where `n·π/2` needs more bits, and the rare arguments within
//!   2^-45·|x| of a multiple of π/2), and for infinities and NaN, the C library's function is
//!   used instead ([`f64::sin`], [`f64::cos`]).
//! - `exp`: `x = k·ln2/128 + r` with |r| ≤ ln2/256, `2^(k/128)` from a 128-entry table and
//!   `exp(r)` from a degree-5 polynomial (ARM's optimized-routines algorithm, as in glibc and
//!   musl, evaluated without FMA). The C library for |x| ≥ 708 (overflow, subnormal results),
//!   infinities and NaN.
//!
//! Accuracy: below 1 ulp, like the C library's. The unit tests compare against it over
//! millions of arguments: about 97 % of `sin`/`cos` results and 99.9 % of `exp` results are
//! identical, the rest one ulp apart. The results can differ from NumPy's or C's in the last
//! bit, as those of any two libraries can. `log` is not here: a vector version of the same
//! kind was slower than the C library's scalar `log` on the machines we measure (see
//! docs/performance-notes.md).

/// 2/π.
pub const INVPIO2: f64 = f64::from_bits(0x3FE4_5F30_6DC9_C883);
/// The first 33 bits of π/2 (`n * PIO2_1` is exact for |n| < 2^20).
pub const PIO2_1: f64 = f64::from_bits(0x3FF9_21FB_5440_0000);
/// The next 33 bits of π/2.
pub const PIO2_2: f64 = f64::from_bits(0x3DD0_B461_1A60_0000);
/// π/2 − PIO2_1 − PIO2_2.
pub const PIO2_2T: f64 = f64::from_bits(0x3BA3_198A_2E03_7073);
/// 1.5·2^52: `(x + TOINT) - TOINT` rounds `x` to an integer, whose low bits are those of
/// `(x + TOINT).to_bits()`.
pub const TOINT: f64 = 6_755_399_441_055_744.0;
/// Arguments at or above this magnitude go to the C library (then |n| < 2^20).
pub const LIMIT: f64 = 1.6e6;
/// A reduced argument below `TINY * |x|` lost too many bits to cancellation.
pub const TINY: f64 = f64::from_bits(0x3D20_0000_0000_0000); // 2^-45

/// fdlibm's `__kernel_sin` coefficients.
pub const S1: f64 = f64::from_bits(0xBFC5_5555_5555_5549);
pub const S2: f64 = f64::from_bits(0x3F81_1111_1110_F8A6);
pub const S3: f64 = f64::from_bits(0xBF2A_01A0_19C1_61D5);
pub const S4: f64 = f64::from_bits(0x3EC7_1DE3_57B1_FE7D);
pub const S5: f64 = f64::from_bits(0xBE5A_E5E6_8A2B_9CEB);
pub const S6: f64 = f64::from_bits(0x3DE5_D93A_5ACF_D57C);
/// fdlibm's `__kernel_cos` coefficients.
pub const C1: f64 = f64::from_bits(0x3FA5_5555_5555_554C);
pub const C2: f64 = f64::from_bits(0xBF56_C16C_16C1_5177);
pub const C3: f64 = f64::from_bits(0x3EFA_01A0_19CB_1590);
pub const C4: f64 = f64::from_bits(0xBE92_7E4F_809C_52AD);
pub const C5: f64 = f64::from_bits(0x3E21_EE9E_BDB4_B1C4);
pub const C6: f64 = f64::from_bits(0xBDA8_FAE9_BE88_38D4);

/// `sin(x)`.
pub fn sin(x: f64) -> f64 {
    sincos(x, 0).unwrap_or_else(|| x.sin())
}

/// `cos(x)`.
pub fn cos(x: f64) -> f64 {
    sincos(x, 1).unwrap_or_else(|| x.cos())
}

/// `sin(x)` for `shift` 0, `cos(x)` for `shift` 1 (cos x = sin(x + π/2)); `None` where the
/// reduction is not accurate enough. The vector code performs the same operations in the
/// same order.
fn sincos(x: f64, shift: u64) -> Option<f64> {
    let ax = x.abs();
    // Also NaN, which compares false.
    if ax.partial_cmp(&LIMIT) != Some(std::cmp::Ordering::Less) {
        return None;
    }
    let t = x * INVPIO2 + TOINT;
    let n = t.to_bits().wrapping_add(shift);
    let f = t - TOINT;
    // x - f*PIO2_1 is exact; then f*PIO2_2 with its rounding error carried in w.
    let r0 = x - f * PIO2_1;
    let w1 = f * PIO2_2;
    let r = r0 - w1;
    let w = f * PIO2_2T - ((r0 - r) - w1);
    let y0 = r - w;
    if y0.abs() < ax * TINY {
        return None;
    }
    let y1 = (r - y0) - w;
    let (s, c) = kernels(y0, y1);
    let v = if n & 1 == 1 { c } else { s };
    Some(f64::from_bits(v.to_bits() ^ ((n & 2) << 62)))
}

/// fdlibm's `__kernel_sin(x, y, 1)` and `__kernel_cos(x, y)` on |x| ≤ π/4 (`y` the tail).
#[inline(always)]
fn kernels(x: f64, y: f64) -> (f64, f64) {
    let z = x * x;
    let w = z * z;
    let r = S2 + z * (S3 + z * S4) + z * w * (S5 + z * S6);
    let v = z * x;
    let s = x - ((z * (0.5 * y - v * r) - y) - v * S1);
    let r = z * (C1 + z * (C2 + z * C3)) + w * w * (C4 + z * (C5 + z * C6));
    let hz = 0.5 * z;
    let w = 1.0 - hz;
    let c = w + (((1.0 - w) - hz) + (z * r - x * y));
    (s, c)
}

/// `exp`: 128/ln 2.
pub const EXP_INVLN2N: f64 = f64::from_bits(0x4067_1547_652B_82FE);
/// `exp`: −ln 2/128 in two parts (`kd * EXP_NEGLN2HIN` is exact for the k of |x| ≤ 708).
pub const EXP_NEGLN2HIN: f64 = f64::from_bits(0xBF76_2E42_FEFA_0000);
pub const EXP_NEGLN2LON: f64 = f64::from_bits(0xBD0C_F79A_BC9E_3B3A);
/// `exp` takes the fast path for |x| ≤ this (then `2^(k/128)` and the result are normal).
pub const EXP_LIMIT: f64 = 708.0;
/// `exp(r) − 1 − r ≈ r²·(C2 + r·C3) + r⁴·(C4 + r·C5)` on |r| ≤ ln 2/256 (ARM's optimized
/// routines, as in glibc and musl).
pub const EXP_C2: f64 = f64::from_bits(0x3FDF_FFFF_FFFF_FDBD);
pub const EXP_C3: f64 = f64::from_bits(0x3FC5_5555_5555_543C);
pub const EXP_C4: f64 = f64::from_bits(0x3FA5_5555_CF17_2B91);
pub const EXP_C5: f64 = f64::from_bits(0x3F81_1111_67A4_D017);

/// `2^(i/128) = scale_i·(1 + tail_i)`: `EXP_TAB[2i]` holds the bits of `tail_i` and
/// `EXP_TAB[2i + 1]` those of `scale_i` minus `i << 45` (added back with k's bits). Computed
/// with 60-digit arithmetic, each entry the nearest double (`scripts/gen_exp_table.py`).
pub static EXP_TAB: [u64; 256] = [
    0x0000000000000000,
    0x3FF0000000000000,
    0x3C9B3B4F1A88BF6E,
    0x3FEFF63DA9FB3335,
    0xBC7160139CD8DC5D,
    0x3FEFEC9A3E778061,
    0xBC905E7A108766D1,
    0x3FEFE315E86E7F85,
    0x3C8CD2523567F613,
    0x3FEFD9B0D3158574,
    0xBC8BCE8023F98EFA,
    0x3FEFD06B29DDF6DE,
    0x3C60F74E61E6C861,
    0x3FEFC74518759BC8,
    0x3C90A3E45B33D399,
    0x3FEFBE3ECAC6F383,
    0x3C979AA65D837B6D,
    0x3FEFB5586CF9890F,
    0x3C8EB51A92FDEFFC,
    0x3FEFAC922B7247F7,
    0x3C3EBE3D702F9CD1,
    0x3FEFA3EC32D3D1A2,
    0xBC6A033489906E0B,
    0x3FEF9B66AFFED31B,
    0xBC9556522A2FBD0E,
    0x3FEF9301D0125B51,
    0xBC5080EF8C4EEA55,
    0x3FEF8ABDC06C31CC,
    0xBC91C923B9D5F416,
    0x3FEF829AAEA92DE0,
    0x3C80D3E3E95C55AF,
    0x3FEF7A98C8A58E51,
    0xBC801B15EAA59348,
    0x3FEF72B83C7D517B,
    0xBC8F1FF055DE323D,
    0x3FEF6AF9388C8DEA,
    0x3C8B898C3F1353BF,
    0x3FEF635BEB6FCB75,
    0xBC96D99C7611EB26,
    0x3FEF5BE084045CD4,
    0x3C9AECF73E3A2F60,
    0x3FEF54873168B9AA,
    0xBC8FE782CB86389D,
    0x3FEF4D5022FCD91D,
    0x3C8A6F4144A6C38D,
    0x3FEF463B88628CD6,
    0x3C807A05B0E4047D,
    0x3FEF3F49917DDC96,
    0x3C968EFDE3A8A894,
    0x3FEF387A6E756238,
    0x3C875E18F274487D,
    0x3FEF31CE4FB2A63F,
    0x3C80472B981FE7F2,
    0x3FEF2B4565E27CDD,
    0xBC96B87B3F71085E,
    0x3FEF24DFE1F56381,
    0x3C82F7E16D09AB31,
    0x3FEF1E9DF51FDEE1,
    0xBC3D219B1A6FBFFA,
    0x3FEF187FD0DAD990,
    0x3C8B3782720C0AB4,
    0x3FEF1285A6E4030B,
    0x3C6E149289CECB8F,
    0x3FEF0CAFA93E2F56,
    0x3C834D754DB0ABB6,
    0x3FEF06FE0A31B715,
    0x3C864201E2AC744C,
    0x3FEF0170FC4CD831,
    0x3C8FDD395DD3F84A,
    0x3FEEFC08B26416FF,
    0xBC86A3803B8E5B04,
    0x3FEEF6C55F929FF1,
    0xBC924AEDCC4B5068,
    0x3FEEF1A7373AA9CB,
    0xBC9907F81B512D8E,
    0x3FEEECAE6D05D866,
    0xBC71D1E83E9436D2,
    0x3FEEE7DB34E59FF7,
    0xBC991919B3CE1B15,
    0x3FEEE32DC313A8E5,
    0x3C859F48A72A4C6D,
    0x3FEEDEA64C123422,
    0xBC9312607A28698A,
    0x3FEEDA4504AC801C,
    0xBC58A78F4817895B,
    0x3FEED60A21F72E2A,
    0xBC7C2C9B67499A1B,
    0x3FEED1F5D950A897,
    0x3C4363ED60C2AC11,
    0x3FEECE086061892D,
    0x3C9666093B0664EF,
    0x3FEECA41ED1D0057,
    0x3C6ECCE1DAA10379,
    0x3FEEC6A2B5C13CD0,
    0x3C93FF8E3F0F1230,
    0x3FEEC32AF0D7D3DE,
    0x3C7690CEBB7AAFB0,
    0x3FEEBFDAD5362A27,
    0x3C931DBDEB54E077,
    0x3FEEBCB299FDDD0D,
    0xBC8F94340071A38E,
    0x3FEEB9B2769D2CA7,
    0xBC87DECCDC93A349,
    0x3FEEB6DAA2CF6642,
    0xBC78DEC6BD0F385F,
    0x3FEEB42B569D4F82,
    0xBC861246EC7B5CF6,
    0x3FEEB1A4CA5D920F,
    0x3C93350518FDD78E,
    0x3FEEAF4736B527DA,
    0x3C7B98B72F8A9B05,
    0x3FEEAD12D497C7FD,
    0x3C9063E1E21C5409,
    0x3FEEAB07DD485429,
    0x3C34C7855019C6EA,
    0x3FEEA9268A5946B7,
    0x3C9432E62B64C035,
    0x3FEEA76F15AD2148,
    0xBC8CE44A6199769F,
    0x3FEEA5E1B976DC09,
    0xBC8C33C53BEF4DA8,
    0x3FEEA47EB03A5585,
    0xBC845378892BE9AE,
    0x3FEEA34634CCC320,
    0xBC93CEDD78565858,
    0x3FEEA23882552225,
    0x3C5710AA807E1964,
    0x3FEEA155D44CA973,
    0xBC93B3EFBF5E2228,
    0x3FEEA09E667F3BCD,
    0xBC6A12AD8734B982,
    0x3FEEA012750BDABF,
    0xBC6367EFB86DA9EE,
    0x3FEE9FB23C651A2F,
    0xBC80DC3D54E08851,
    0x3FEE9F7DF9519484,
    0xBC781F647E5A3ECF,
    0x3FEE9F75E8EC5F74,
    0xBC86EE4AC08B7DB0,
    0x3FEE9F9A48A58174,
    0xBC8619321E55E68A,
    0x3FEE9FEB564267C9,
    0x3C909CCB5E09D4D3,
    0x3FEEA0694FDE5D3F,
    0xBC7B32DCB94DA51D,
    0x3FEEA11473EB0187,
    0x3C94ECFD5467C06B,
    0x3FEEA1ED0130C132,
    0x3C65EBE1ABD66C55,
    0x3FEEA2F336CF4E62,
    0xBC88A1C52FB3CF42,
    0x3FEEA427543E1A12,
    0xBC9369B6F13B3734,
    0x3FEEA589994CCE13,
    0xBC805E843A19FF1E,
    0x3FEEA71A4623C7AD,
    0xBC94D450D872576E,
    0x3FEEA8D99B4492ED,
    0x3C90AD675B0E8A00,
    0x3FEEAAC7D98A6699,
    0x3C8DB72FC1F0EAB4,
    0x3FEEACE5422AA0DB,
    0xBC65B6609CC5E7FF,
    0x3FEEAF3216B5448C,
    0x3C7BF68359F35F44,
    0x3FEEB1AE99157736,
    0xBC93091FA71E3D83,
    0x3FEEB45B0B91FFC6,
    0xBC5DA9B88B6C1E29,
    0x3FEEB737B0CDC5E5,
    0xBC6C23F97C90B959,
    0x3FEEBA44CBC8520F,
    0xBC92434322F4F9AA,
    0x3FEEBD829FDE4E50,
    0xBC85CA6CD7668E4B,
    0x3FEEC0F170CA07BA,
    0x3C71AFFC2B91CE27,
    0x3FEEC49182A3F090,
    0x3C6DD235E10A73BB,
    0x3FEEC86319E32323,
    0xBC87C50422622263,
    0x3FEECC667B5DE565,
    0x3C8B1C86E3E231D5,
    0x3FEED09BEC4A2D33,
    0xBC91BBD1D3BCBB15,
    0x3FEED503B23E255D,
    0x3C90CC319CEE31D2,
    0x3FEED99E1330B358,
    0x3C8469846E735AB3,
    0x3FEEDE6B5579FDBF,
    0xBC82DFCD978E9DB4,
    0x3FEEE36BBFD3F37A,
    0x3C8C1A7792CB3387,
    0x3FEEE89F995AD3AD,
    0xBC907B8F4AD1D9FA,
    0x3FEEEE07298DB666,
    0xBC55C3D956DCAEBA,
    0x3FEEF3A2B84F15FB,
    0xBC90A40E3DA6F640,
    0x3FEEF9728DE5593A,
    0xBC68D6F438AD9334,
    0x3FEEFF76F2FB5E47,
    0xBC91EEE26B588A35,
    0x3FEF05B030A1064A,
    0x3C74FFD70A5FDDCD,
    0x3FEF0C1E904BC1D2,
    0xBC91BDFBFA9298AC,
    0x3FEF12C25BD71E09,
    0x3C736EAE30AF0CB3,
    0x3FEF199BDD85529C,
    0x3C8EE3325C9FFD94,
    0x3FEF20AB5FFFD07A,
    0x3C84E08FD10959AC,
    0x3FEF27F12E57D14B,
    0x3C63CDAF384E1A67,
    0x3FEF2F6D9406E7B5,
    0x3C676B2C6C921968,
    0x3FEF3720DCEF9069,
    0xBC808A1883CCB5D2,
    0x3FEF3F0B555DC3FA,
    0xBC8FAD5D3FFFFA6F,
    0x3FEF472D4A07897C,
    0xBC900DAE3875A949,
    0x3FEF4F87080D89F2,
    0x3C74A385A63D07A7,
    0x3FEF5818DCFBA487,
    0xBC82919E2040220F,
    0x3FEF60E316C98398,
    0x3C8E5A50D5C192AC,
    0x3FEF69E603DB3285,
    0x3C843A59AC016B4B,
    0x3FEF7321F301B460,
    0xBC82D52107B43E1F,
    0x3FEF7C97337B9B5F,
    0xBC892AB93B470DC9,
    0x3FEF864614F5A129,
    0x3C74B604603A88D3,
    0x3FEF902EE78B3FF6,
    0x3C83C5EC519D7271,
    0x3FEF9A51FBC74C83,
    0xBC8FF7128FD391F0,
    0x3FEFA4AFA2A490DA,
    0xBC8DAE98E223747D,
    0x3FEFAF482D8E67F1,
    0x3C8EC3BC41AA2008,
    0x3FEFBA1BEE615A27,
    0x3C842B94C3A9EB32,
    0x3FEFC52B376BBA97,
    0x3C8A64A931D185EE,
    0x3FEFD0765B6E4540,
    0xBC8E37BAE43BE3ED,
    0x3FEFDBFDAD9CBE14,
    0x3C77893B4D91CD9D,
    0x3FEFE7C1819E90D8,
    0x3C5305C14160CC89,
    0x3FEFF3C22B8F71F1,
];

/// `exp(x)`: `x = k·ln2/128 + r` with |r| ≤ ln2/256, then `exp(x) = 2^(k/128)·exp(r)` from the
/// table and a degree-5 polynomial (ARM's optimized-routines algorithm, without FMA).
pub fn exp(x: f64) -> f64 {
    // Also NaN, which compares false.
    if x.abs().partial_cmp(&EXP_LIMIT) != Some(std::cmp::Ordering::Less) {
        return x.exp();
    }
    let z = EXP_INVLN2N * x;
    let kd = z + TOINT;
    let ki = kd.to_bits();
    let kd = kd - TOINT;
    let r = x + kd * EXP_NEGLN2HIN + kd * EXP_NEGLN2LON;
    let idx = 2 * (ki % 128) as usize;
    let top = ki << 45;
    let tail = f64::from_bits(EXP_TAB[idx]);
    let sbits = EXP_TAB[idx + 1].wrapping_add(top);
    let r2 = r * r;
    let tmp = tail + r + r2 * (EXP_C2 + r * EXP_C3) + r2 * r2 * (EXP_C4 + r * EXP_C5);
    let scale = f64::from_bits(sbits);
    scale + scale * tmp
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in ulps between two finite floats of the same sign region.
    fn ulps(a: f64, b: f64) -> u64 {
        let key = |x: f64| {
            let i = x.to_bits() as i64;
            if i < 0 { i64::MIN - i } else { i }
        };
        key(a).abs_diff(key(b))
    }

    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Against the C library: at most one ulp apart, and nearly always identical.
    #[test]
    fn within_one_ulp_of_the_c_library() {
        let mut g = Lcg(7);
        for (lo, hi) in [
            (0.0, 1e-8),
            (0.0, 0.8),
            (0.7, 2.5),
            (2.0, 100.0),
            (100.0, 1e4),
            (1e4, 1.7e6),
            (1e6, 1e9),
        ] {
            let (mut same, mut total) = (0u64, 0u64);
            for _ in 0..400_000 {
                let a = lo + (hi - lo) * g.next();
                for x in [a, -a] {
                    for (ours, theirs) in [(sin(x), x.sin()), (cos(x), x.cos())] {
                        let d = ulps(ours, theirs);
                        assert!(d <= 1, "x = {x:e}: {ours:e} vs {theirs:e} ({d} ulps)");
                        same += u64::from(d == 0);
                        total += 1;
                    }
                }
            }
            eprintln!("[{lo}, {hi}): {same} of {total} identical");
            assert!(
                same as f64 >= 0.95 * total as f64,
                "[{lo}, {hi}): only {same} of {total} identical"
            );
        }
    }

    /// `exp` against the C library, as for `sin`/`cos`.
    #[test]
    fn exp_within_one_ulp_of_the_c_library() {
        let mut g = Lcg(13);
        for (lo, hi) in [
            (0.0, 1e-9),
            (0.0, 0.4),
            (0.3, 3.0),
            (3.0, 100.0),
            (100.0, 710.0),
        ] {
            let (mut same, mut total) = (0u64, 0u64);
            for _ in 0..400_000 {
                let a = lo + (hi - lo) * g.next();
                for x in [a, -a] {
                    let d = ulps(exp(x), x.exp());
                    assert!(d <= 1, "exp({x:e}): {:e} vs {:e}", exp(x), x.exp());
                    same += u64::from(d == 0);
                    total += 1;
                }
            }
            eprintln!("exp [{lo}, {hi}): {same} of {total} identical");
            assert!(same as f64 >= 0.99 * total as f64);
        }
    }

    #[test]
    fn exp_special_values() {
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-0.0), 1.0);
        assert_eq!(exp(1.0), std::f64::consts::E);
        assert_eq!(exp(1e-300), 1.0);
        assert_eq!(exp(709.5), 709.5f64.exp());
        assert_eq!(exp(710.0), f64::INFINITY);
        assert_eq!(exp(-745.0), (-745.0f64).exp());
        assert_eq!(exp(-800.0), 0.0);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert!(exp(f64::NAN).is_nan());
        for k in -1000..1000 {
            let x = f64::from(k) * std::f64::consts::LN_2;
            assert!(ulps(exp(x), x.exp()) <= 1, "exp({k} ln 2)");
        }
    }

    #[test]
    fn special_values() {
        assert_eq!(sin(0.0).to_bits(), 0.0f64.to_bits());
        assert_eq!(sin(-0.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(cos(0.0), 1.0);
        assert_eq!(cos(-0.0), 1.0);
        assert_eq!(sin(1e-300), 1e-300);
        assert_eq!(sin(f64::MIN_POSITIVE / 4.0), f64::MIN_POSITIVE / 4.0);
        for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(sin(x).is_nan() && cos(x).is_nan());
        }
        // Near multiples of π/2, where the reduction cancels: the C library's result.
        for x in [
            std::f64::consts::PI,
            std::f64::consts::FRAC_PI_2,
            355.0 / 113.0,
            1e22,
        ] {
            assert!(
                ulps(sin(x), x.sin()) <= 1 && ulps(cos(x), x.cos()) <= 1,
                "{x}"
            );
        }
        assert_eq!(sin(1e22), 1e22f64.sin());
    }

    #[test]
    fn quadrants_and_symmetry() {
        let mut g = Lcg(11);
        for _ in 0..100_000 {
            let x = 1000.0 * g.next();
            assert_eq!(sin(-x).to_bits(), (-sin(x)).to_bits(), "{x}");
            assert_eq!(cos(-x).to_bits(), cos(x).to_bits(), "{x}");
        }
    }
}
