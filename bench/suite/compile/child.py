"""One fresh process of the compile group: imports the tool, compiles one small kernel and calls
it once on NUMPY arrays of 1000 f64, then prints what it measured (perf_counter, ms):

    python child.py dtl|numba KERNEL

    import_ms    importing numpy and the tool
    compile_ms   dtl: the dtl.compile(src) call alone (Numba compiles lazily: not printed)
    first_ms     dtl: compile + first call; Numba: the first call (type inference, LLVM, run)
    checksum     the kernel's result (a sum), compared across tools before any timing

Kernels: axpby (c = 2a - 4.5b), energy (a sum of squares in a loop), smooth (a 3-point stencil
with a branch). Both tools get the same NumPy arrays (dtl binds them to `local<f64>`).
"""

import sys
import time

t_start = time.perf_counter()
tool, kernel = sys.argv[1], sys.argv[2]

DTL = {
    "axpby": """
fn axpby(a: local<f64>, b: local<f64>, c: local<f64>) {
    for j in 0..len(c) { c[j] = 2.0 * a[j] - 4.5 * b[j]; }
}
""",
    "energy": """
fn energy(u: local<f64>) -> f64 {
    let mut s = 0.0;
    for j in 0..len(u) { s += u[j] * u[j]; }
    return s;
}
""",
    "smooth": """
fn smooth(u: local<f64>, v: local<f64>) {
    for j in 1..len(u) - 1 {
        if u[j] > 0.5 { v[j] = 0.25 * (u[j - 1] + 2.0 * u[j] + u[j + 1]); } else { v[j] = u[j]; }
    }
}
""",
}

import numpy as np  # noqa: E402

if tool == "dtl":
    import dtl  # noqa: E402
else:
    from numba import njit  # noqa: E402
t_import = time.perf_counter()

n = 1000
a = np.arange(n, dtype=np.float64) / n
b = 1.0 - a
c = np.zeros(n)

if tool == "dtl":
    t0 = time.perf_counter()
    prog = dtl.compile(DTL[kernel])
    t1 = time.perf_counter()
    fn = getattr(prog, kernel)
    print(f"compile_ms {(t1 - t0) * 1e3:.6f}")
else:

    @njit(cache=False)
    def axpby(a, b, c):
        for j in range(c.shape[0]):
            c[j] = 2.0 * a[j] - 4.5 * b[j]

    @njit(cache=False)
    def energy(u):
        s = 0.0
        for j in range(u.shape[0]):
            s += u[j] * u[j]
        return s

    @njit(cache=False)
    def smooth(u, v):
        for j in range(1, u.shape[0] - 1):
            if u[j] > 0.5:
                v[j] = 0.25 * (u[j - 1] + 2.0 * u[j] + u[j + 1])
            else:
                v[j] = u[j]

    fn = {"axpby": axpby, "energy": energy, "smooth": smooth}[kernel]
    t0 = time.perf_counter()

if kernel == "axpby":
    fn(a, b, c)
    s = float(np.sum(c))
elif kernel == "energy":
    s = fn(a)
else:
    fn(a, c)
    s = float(np.sum(c))
t2 = time.perf_counter()
print(f"first_ms {(t2 - t0) * 1e3:.6f}")
print(f"import_ms {(t_import - t_start) * 1e3:.6f}")
print(f"checksum {s!r}")
