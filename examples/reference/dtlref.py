"""Shared helpers for the reference implementations of examples/*.dtl.

Everything here follows LANGUAGE.md §12: Rust `{}` float formatting, `round(x, d)` as
`(x * 10^d).round() / 10^d` with half away from zero, and the normative counter-based
generator `rand`/`randn` (u64 wrapping arithmetic).

The reference programs compute each printed value; where a value comes from a floating-point
reduction (whose last bits depend on the rank count and on the order in which a rank adds its
elements), they compute it several ways (`block_sums`) and `stable_round` asserts that every
way prints the same digits, so the `.expected` file holds for any rank count.
"""
import math

import numpy as np

M64 = (1 << 64) - 1


# ---------------------------------------------------------------- formatting (§12)

def rust_fmt(x):
    """Format one print() argument as dtl does: ints decimal, bools true/false,
    floats as Rust's `{}` (shortest round-trip digits, never exponent notation)."""
    if isinstance(x, (bool, np.bool_)):
        return "true" if x else "false"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, str):
        return x
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0.0:
        return "-0" if math.copysign(1.0, x) < 0 else "0"
    r = repr(x)  # shortest round-trip digits, as Rust
    sign = ""
    if r[0] == "-":
        sign, r = "-", r[1:]
    if "e" in r or "E" in r:
        mant, exp = r.lower().split("e")
        exp = int(exp)
    else:
        mant, exp = r, 0
    if "." in mant:
        ip, fp = mant.split(".")
    else:
        ip, fp = mant, ""
    digits = (ip + fp).lstrip("0")
    # position of the decimal point relative to the start of ip+fp
    point = len(ip) + exp
    lead_zeros = len(ip + fp) - len((ip + fp).lstrip("0"))
    point -= lead_zeros
    digits = digits.rstrip("0")
    if not digits:
        return sign + "0"
    if point <= 0:
        s = "0." + "0" * (-point) + digits
    elif point >= len(digits):
        s = digits + "0" * (point - len(digits))
    else:
        s = digits[:point] + "." + digits[point:]
    return sign + s


def out(*args):
    """print(a, b, ...) of dtl."""
    print(" ".join(rust_fmt(a) for a in args))


def rust_round_f(y):
    """f64::round: half away from zero."""
    y = float(y)
    if math.isnan(y) or math.isinf(y):
        return y
    r = math.floor(abs(y) + 0.5)
    # floor(|y| + 0.5) overshoots when |y| + 0.5 itself rounds up (0.49999999999999994, odd
    # integers above 2^52): Rust's round never moves a value by more than 0.5
    if r - abs(y) > 0.5:
        r -= 1.0
    return math.copysign(r, y)


def dround(x, d):
    """dtl's round(x, d) = (x * 10^d).round() / 10^d in f64."""
    p = float(10 ** d)
    return rust_round_f(float(x) * p) / p


def stable_round(candidates, d, margin=0.02):
    """round(x, d) of a value whose last bits depend on the summation order.

    `candidates` are the value computed in several orders; all must round alike, and the
    scaled value must lie at least `margin` away from a rounding boundary (x.5)."""
    if not isinstance(candidates, (list, tuple)):
        candidates = [candidates]
    rs = {dround(c, d) for c in candidates}
    assert len(rs) == 1, f"value rounds differently in different orders: {candidates} -> {rs}"
    for c in candidates:
        y = abs(float(c)) * 10.0 ** d
        frac = y - math.floor(y)
        assert abs(frac - 0.5) > margin, f"{c} is too close to a rounding boundary at {d} digits"
    return rs.pop()


# ---------------------------------------------------------------- partitions (§6)

def block_bounds(n, p):
    """[(lo, hi)] of each rank's block under the normative block rule."""
    out_, lo = [], 0
    for r in range(p):
        k = n // p + (1 if r < n % p else 0)
        out_.append((lo, lo + k))
        lo += k
    return out_


def seq_sum(a):
    """Left-to-right sum (np.cumsum adds strictly in order, unlike np.sum)."""
    a = np.asarray(a, dtype=np.float64).ravel()
    return float(np.cumsum(a)[-1]) if a.size else 0.0


def block_sums(a, ranks=(1, 2, 3, 4, 5, 8)):
    """The sum of `a` (flattened along dim 0 blocks) as a rank-partitioned reduction would
    compute it for several rank counts, plus NumPy's pairwise sum and the exact sum."""
    a = np.asarray(a, dtype=np.float64)
    cands = [float(np.sum(a)), math.fsum(a.ravel().tolist())]
    for p in ranks:
        parts = [seq_sum(a[lo:hi]) for lo, hi in block_bounds(a.shape[0], p)]
        s = 0.0
        for v in parts:
            s += v
        cands.append(s)
    return cands


# ---------------------------------------------------------------- random (§12)

def _mix(z):
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def rand(seed, i):
    """rand(seed, i) for an int or an integer array i (i64 reinterpreted as u64)."""
    s = np.uint64(seed & M64)
    with np.errstate(over="ignore"):
        a = _mix(s + np.uint64(0x9E3779B97F4A7C15))
    ii = np.asarray(i, dtype=np.int64).astype(np.uint64)
    h = _mix(a ^ ii)
    r = (h >> np.uint64(11)).astype(np.float64) * (2.0 ** -53)
    return float(r) if np.ndim(r) == 0 else r


def randn(seed, i):
    """randn(seed, i): uses the C library's log and cos, element by element, as the runtime."""
    ii = np.asarray(i, dtype=np.int64)
    u1 = np.atleast_1d(rand(seed, 2 * ii))
    u2 = np.atleast_1d(rand(seed, 2 * ii + 1))
    r = np.array([math.sqrt(-2.0 * math.log(1.0 - a)) * math.cos(2.0 * math.pi * b)
                  for a, b in zip(u1.tolist(), u2.tolist())])
    return float(r[0]) if np.ndim(i) == 0 else r
