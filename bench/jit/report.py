"""Summarizes the samples of bench/jit.sh: median [min..max] of every figure, the ratios against
the peers measured in the same run, and each issue #4 target as met / MISSED.
usage: python report.py SAMPLES N HEAT_N HEAT_STEPS PI_N MANDEL_W MANDEL_H MAXITER"""
import statistics
import sys

samples = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 2 and not line.startswith("#"):
        samples.setdefault(f[0], []).append(float(f[1]))
n, heat_n, heat_steps, pi_n, mw, mh, miter = (int(x) for x in sys.argv[2:9])


def stat(name):
    v = samples.get(name)
    if not v:
        return None
    return statistics.median(v), min(v), max(v), len(v)


def fmt(s, unit="ms"):
    if s is None:
        return "missing"
    med, lo, hi, k = s
    p = 3 if med < 10 else (2 if med < 100 else 1)
    return f"{med:.{p}f} {unit} [{lo:.{p}f}..{hi:.{p}f}] (n={k})"


def verdict(ok):
    return "met" if ok else "MISSED"


targets = []


def target(what, ok, detail):
    targets.append((what, ok, detail))


def row(label, name, unit="ms"):
    print(f"  {label:38s} {fmt(stat(name), unit)}")


def ratio(label, num, den, note=""):
    """num/den of medians (and of minima): > 1 means `den` is faster."""
    a, b = stat(num), stat(den)
    if a is None or b is None:
        print(f"  {label:38s} missing")
        return None
    r, rmin = a[0] / b[0], a[1] / b[1]
    print(f"  {label:38s} {r:6.2f}x  (best/best {rmin:.2f}x) {note}")
    return r, rmin


print("\n## 1. compile latency: check + compile from `dtlc run --time`, 1 rank")
examples = sorted(k[len("compile_"):-3] for k in samples if k.startswith("compile_"))
worst = 0.0
for ex in examples:
    s = stat(f"compile_{ex}_ms")
    worst = max(worst, s[0])
    row(ex, f"compile_{ex}_ms")
row("numba first compile (fresh process)", "numba_compile_ms")
row("import numba", "numba_import_ms")
if examples:
    target("check+compile < 5 ms for every spec example (median)", worst < 5.0,
           f"slowest median {worst:.2f} ms")
    ratio("numba compile / slowest dtl example", "numba_compile_ms",
          f"compile_{max(examples, key=lambda e: stat(f'compile_{e}_ms')[0])}_ms")
row("dtlc run hello.dtl -n 1, wall", "hello_wall_ms")
row("python numba_compile.py, wall", "numba_wall_ms")
ratio("numba process / dtlc run hello", "numba_wall_ms", "hello_wall_ms")
if stat("hello_wall_ms"):
    target("dtlc run hello.dtl total < 30 ms (median)", stat("hello_wall_ms")[0] < 30.0,
           f"{stat('hello_wall_ms')[0]:.1f} ms")

print(f"\n## 2. c = 2.0*a - 4.5*b, n = {n} f64 (peers on one core)")
for label, name in [("dtl, 1 rank", "dtl_axpby_1_ms"), ("dtl, 2 ranks", "dtl_axpby_2_ms"),
                    ("NumPy", "numpy_axpby_ms"), ("Numba @njit loop", "numba_axpby_ms"),
                    ("C -O2 loop", "c_axpby_ms")]:
    row(label, name)
r = ratio("NumPy / dtl 1 rank", "numpy_axpby_ms", "dtl_axpby_1_ms", "(target >= 3x)")
if r:
    target(">= 3x faster than NumPy (1 rank)", r[0] >= 3.0, f"{r[0]:.2f}x")
r = ratio("Numba / dtl 1 rank", "numba_axpby_ms", "dtl_axpby_1_ms", "(target >= 0.91x)")
if r:
    target("within 10% of Numba (1 rank)", r[0] >= 1 / 1.1, f"dtl takes {1 / r[0]:.2f}x Numba's time")
ratio("C / dtl 1 rank", "c_axpby_ms", "dtl_axpby_1_ms")
ratio("NumPy / dtl 2 ranks", "numpy_axpby_ms", "dtl_axpby_2_ms")
ratio("dtl 1 rank / 2 ranks", "dtl_axpby_1_ms", "dtl_axpby_2_ms")

print(f"\n## 3. c = 2.0*a - 4.5*b + 1.1*(sin(a) + cos(b)), n = {n} f64")
for label, name in [("dtl, 1 rank", "dtl_fused_1_ms"), ("dtl, 2 ranks", "dtl_fused_2_ms"),
                    ("NumPy", "numpy_fused_ms"), ("Numba @njit loop", "numba_fused_ms")]:
    row(label, name)
r = ratio("Numba / dtl 1 rank", "numba_fused_ms", "dtl_fused_1_ms", "(target >= 1x)")
if r:
    target("no slower than Numba on 1 rank", r[0] >= 1.0, f"{r[0]:.2f}x")
ratio("NumPy / dtl 1 rank", "numpy_fused_ms", "dtl_fused_1_ms")
r = ratio("speedup dtl 1 -> 2 ranks", "dtl_fused_1_ms", "dtl_fused_2_ms", "(target >= 1.7x)")
if r:
    target(">= 1.7x from 1 to 2 ranks (fused)", r[0] >= 1.7, f"{r[0]:.2f}x")

print(f"\n## 3b. c = exp(a) - 2.0*exp(b), n = {n} f64 (no target)")
for label, name in [("dtl, 1 rank", "dtl_exp_1_ms"), ("NumPy", "numpy_exp_ms"),
                    ("Numba @njit loop", "numba_exp_ms")]:
    row(label, name)
ratio("Numba / dtl 1 rank", "numba_exp_ms", "dtl_exp_1_ms")
ratio("NumPy / dtl 1 rank", "numpy_exp_ms", "dtl_exp_1_ms")

print(f"\n## 4. heat stencil, n = {heat_n}, {heat_steps} steps (bandwidth counts 16 bytes per point"
      " per step: read u, write v)")
for label, name in [("dtl, 1 rank", "dtl_heat_1_ms"), ("dtl, 2 ranks", "dtl_heat_2_ms"),
                    ("Numba @njit, 1 core", "numba_heat_ms"), ("mpi4py+NumPy, mpirun -n 2", "mpi4py_heat_ms")]:
    row(label, name)
row("C STREAM triad, 1 thread", "triad1_GBps", "GB/s")
row("C STREAM triad, 2 threads", "triad2_GBps", "GB/s")
ratio("Numba / dtl 1 rank", "numba_heat_ms", "dtl_heat_1_ms")
ratio("mpi4py 2 ranks / dtl 2 ranks", "mpi4py_heat_ms", "dtl_heat_2_ms")
ratio("speedup dtl 1 -> 2 ranks", "dtl_heat_1_ms", "dtl_heat_2_ms")
bytes_moved = 16.0 * heat_n * heat_steps
for ranks, tri in [(1, "triad1_GBps"), (2, "triad2_GBps")]:
    s, t = stat(f"dtl_heat_{ranks}_ms"), stat(tri)
    if s is None or t is None:
        continue
    bw, bw_best = bytes_moved / (s[0] * 1e-3) / 1e9, bytes_moved / (s[1] * 1e-3) / 1e9
    frac = bw / t[0]
    print(f"  dtl {ranks} rank(s): {bw:6.2f} GB/s (best {bw_best:.2f}) = {100 * frac:5.1f}% of the"
          f" {ranks}-thread triad median ({100 * bw_best / t[2]:.1f}% best vs best)")
    target(f">= 80% of triad bandwidth (heat, {ranks} rank{'s' if ranks > 1 else ''})", frac >= 0.8,
           f"{100 * frac:.0f}%")
s = stat("numba_heat_ms")
if s and stat("triad1_GBps"):
    bw = bytes_moved / (s[0] * 1e-3) / 1e9
    print(f"  Numba 1 core: {bw:6.2f} GB/s = {100 * bw / stat('triad1_GBps')[0]:5.1f}% of triad")

print(f"\n## 5. forall reductions: pi over {pi_n} points, mandelbrot {mw}x{mh} (maxiter {miter})")
for label, name in [("pi, dtl 1 rank", "dtl_pi_1_ms"), ("pi, dtl 2 ranks", "dtl_pi_2_ms"),
                    ("pi, Numba 1 core", "numba_pi_ms"),
                    ("mandel, dtl 1 rank", "dtl_mandel_1_ms"), ("mandel, dtl 2 ranks", "dtl_mandel_2_ms"),
                    ("mandel, Numba 1 core", "numba_mandel_ms")]:
    row(label, name)
row("pi, C -O2 1 thread", "c_pi1_ms")
row("pi, C -O2 2 threads (OpenMP)", "c_pi2_ms")
ctl = ratio("control: C pi 1 -> 2 threads", "c_pi1_ms", "c_pi2_ms", "(what the 2 cores give now)")
for k in ["pi", "mandel"]:
    r = ratio(f"speedup {k} 1 -> 2 ranks", f"dtl_{k}_1_ms", f"dtl_{k}_2_ms", "(target >= 1.8x)")
    if r:
        target(f">= 1.8x from 1 to 2 ranks ({k})", r[0] >= 1.8, f"{r[0]:.2f}x (best/best {r[1]:.2f}x)")
    ratio(f"Numba / dtl 1 rank ({k})", f"numba_{k}_ms", f"dtl_{k}_1_ms")

print("\n## targets (issue #4), judged on medians")
if ctl:
    print(f"  (2-core control in this run: C/OpenMP pi speeds up {ctl[0]:.2f}x from 1 to 2 threads;"
          " a 2-rank target cannot be met when this control is below it)")
for what, ok, detail in targets:
    print(f"  {verdict(ok):6s} {what}: {detail}")
