#!/usr/bin/env python3
"""Seeds group of the benchmark suite (issue #7): the seed documents' workloads on 1 and 2
ranks — distributed dot product, mean, 1-D heat with halo exchange, pi by the midpoint rule,
sample sort of f64, 2-D heat — dtl vs mpi4py+NumPy vs Numba.

Tools: dtl threads (`dtlc run seeds/W.dtl -n 1|2`), dtl MPI (`mpirun -n 2 dtlc run
seeds/W.dtl --backend mpi`, 2 ranks only), mpi4py+NumPy (`mpirun -n 1|2 python
seeds/seeds_mpi.py`), Numba (`seeds/seeds_numba.py`: @njit on the 1-rank row,
@njit(parallel=True) with 2 threads on the 2-rank row). Each program times only the kernel
(between barriers, slowest rank; data setup and process start excluded) and prints a checksum;
the checksums must agree across tools and rank counts within the workload's tolerance before
any time is recorded.

usage: python bench/suite/seeds.py --mode quick|full --out FILE.jsonl [--dtlc PATH]
       [--size heat1d:n=4000000,steps=10 ...] [--only dot,pi] [--ranks 1,2]
Appends one JSON record per (workload, ranks, tool) to FILE; exits 1 on a checksum mismatch.
Environment: PYTHON (venv with numpy, mpi4py, numba), MPIRUN, UCX_TLS (default posix,self),
DTLC, CARGO_TARGET_DIR (where dtlc is built when neither --dtlc nor DTLC is given).
"""
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import find_dtlc, parse_args, peer_python, run_logged  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SEEDS = os.path.join(HERE, "seeds")
GROUP = "seeds"
WORKLOADS = ["dot", "mean", "heat1d", "pi", "sort", "heat2d"]
SIZES = {
    "full": {"dot": {"n": 10_000_000}, "mean": {"n": 10_000_000},
             "heat1d": {"n": 10_000_000, "steps": 10}, "pi": {"n": 100_000_000},
             "sort": {"n": 10_000_000}, "heat2d": {"nx": 2000, "ny": 2000, "steps": 10}},
    "quick": {"dot": {"n": 1_000_000}, "mean": {"n": 1_000_000},
              "heat1d": {"n": 1_000_000, "steps": 10}, "pi": {"n": 10_000_000},
              "sort": {"n": 1_000_000}, "heat2d": {"nx": 500, "ny": 500, "steps": 10}},
}
PLAN = {"quick": (7, 1), "full": (7, 1)}  # (timed repetitions, warm-up repetitions)
# (kind, tolerance): rel = relative to the reference value, abs = absolute
TOL = {"dot": ("rel", 1e-12), "mean": ("rel", 1e-12), "heat1d": ("rel", 1e-9),
       "pi": ("abs", 1e-9), "sort": ("rel", 1e-9), "heat2d": ("rel", 1e-9)}


def sci(n):
    e = int(round(math.log10(n))) if n > 0 else 0
    return f"10^{e}" if 10 ** e == n else f"{n:,}"


def title_size(w, kw):
    if w == "dot":
        return f"distributed dot product ({sci(kw['n'])} f64)", kw["n"], "f64 elements"
    if w == "mean":
        return f"mean ({sci(kw['n'])} f64)", kw["n"], "f64 elements"
    if w == "heat1d":
        return f"1-D heat, halo exchange ({sci(kw['n'])} points x {kw['steps']} steps)", kw["n"], "points"
    if w == "pi":
        return f"pi by the midpoint rule ({sci(kw['n'])} points)", kw["n"], "points"
    if w == "sort":
        return f"sample sort ({sci(kw['n'])} f64)", kw["n"], "f64 elements"
    return (f"2-D heat ({kw['nx']}x{kw['ny']} x {kw['steps']} steps)", kw["nx"] * kw["ny"], "points")


def bytes_moved(w, kw):
    """Bytes read + written per timed repetition (the STREAM convention), None where the
    kernel is not a memory stream (pi computes; sort moves data several times)."""
    if w == "dot":
        return 16 * kw["n"]
    if w == "mean":
        return 8 * kw["n"]
    if w == "heat1d":
        return 16 * kw["n"] * kw["steps"]
    if w == "heat2d":
        return 16 * kw["nx"] * kw["ny"] * kw["steps"]
    return None


def log(*a):
    print("[seeds]", *a, file=sys.stderr, flush=True)


def run(cmd, env, timeout=600):
    return run_logged(cmd, env, timeout, log, shown=8)




def parse(out, default=None):
    """-> {workload: {"samples": [...], "check": float, "bad": int|None}}"""
    res, cur = {}, default
    for line in out.splitlines():
        f = line.split()
        if not f:
            continue
        if f[0] == "begin":
            cur = f[1]
            continue
        if cur is None:
            continue
        d = res.setdefault(cur, {"samples": [], "check": None, "bad": None})
        if f[0] == "time_ms":
            d["samples"].append(float(f[1]))
        elif f[0] == "check":
            d["check"] = float(f[1])
        elif f[0] == "bad":
            d["bad"] = int(f[1])
    return res


def main():
    def extra(ap):
        ap.add_argument("--only", help="comma-separated workloads (default: all)")
        ap.add_argument("--ranks", default="1,2")
        ap.add_argument("--no-dtl-mpi", action="store_true", help="leave out the dtl MPI rows (2 ranks)")
        ap.add_argument("--size", action="append", default=[],
                        help="override sizes, e.g. heat1d:n=4000000,steps=10 (repeatable)")

    args = parse_args(__doc__, extra)
    t_start = time.time()
    py = peer_python()
    mpirun = os.environ.get("MPIRUN", "mpirun")
    env = dict(os.environ)
    env.setdefault("UCX_TLS", "posix,self")
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(v, "1")  # one core per rank for NumPy's BLAS (np.dot)
    dtlc = find_dtlc(args.dtlc, log)
    reps, warm = PLAN[args.mode]
    sizes = {w: dict(kw) for w, kw in SIZES[args.mode].items()}
    for s in args.size:
        w, _, kv = s.partition(":")
        sizes[w].update({k: int(v) for k, v in (p.split("=") for p in kv.split(",") if p)})
    workloads = [w for w in WORKLOADS if not args.only or w in args.only.split(",")]
    ranks_list = [int(r) for r in args.ranks.split(",")]
    out = open(args.out, "a")

    def emit(rec):
        out.write(json.dumps(dict(group=GROUP, **rec)) + "\n")
        out.flush()

    def py_has(mod):
        return subprocess.run([py, "-c", f"import {mod}"], capture_output=True).returncode == 0

    has_mpirun = shutil.which(mpirun) is not None
    has_mpi4py = has_mpirun and py_has("mpi4py")
    dtl_mpi_skip = set()
    has_numba = py_has("numba")
    specs = [w + ":" + ",".join(f"{k}={v}" for k, v in sizes[w].items()) for w in workloads]
    mpi_note = f"UCX_TLS={env['UCX_TLS']}, OMP/BLAS threads 1"

    # results[(w, ranks, tool)] = (parsed dict, note)
    results = {}

    def launch(tool, cmd, tool_env, ws, note, default=None):
        """Runs one peer command and files its records for workloads `ws` under `tool` (on the
        current rank count); when it fails, records them as skipped. True when it ran."""
        try:
            res = parse(run(cmd, tool_env), default=default)
            got = {w: (res[w], note(w)) for w in ws}
        except Exception as e:
            for w in ws:
                emit(dict(kind="skipped", tool=tool, workload=w, why=f"failed on {ranks} ranks: {e}"))
            log(f"{tool} failed:", str(e)[:300])
            return False
        for w, v in got.items():
            results[(w, ranks, tool)] = v
        return True

    def skip_all(tool, why):
        for w in workloads:
            emit(dict(kind="skipped", tool=tool, workload=w, why=why))

    def dtl_args(w):
        sized = [a for k, v in sizes[w].items() for a in ("-D", f"{k}={v}")]
        return [os.path.join(SEEDS, f"{w}.dtl"), "-D", f"reps={reps}", "-D", f"warm={warm}"] + sized

    def mpi4py_note(w):
        note = f"mpirun -n {ranks}, {mpi_note}"
        if w == "sort" and ranks > 1:
            note += "; np.sort + regular-sample splitters + Alltoallv + np.sort of the received runs"
        if w == "pi":
            note += "; NumPy over chunks of 2^20 points"
        return note

    def numba_note(w):
        note = "@njit, 1 thread" if ranks == 1 else f"@njit(parallel=True), prange, {ranks} threads"
        if w == "sort":
            note += "; np.sort in njit" + ("" if ranks == 1 else " of 2 halves in a prange, then a serial merge")
        return note

    for ranks in ranks_list:
        # dtl: one program per workload
        if not dtlc:
            if ranks == ranks_list[0]:
                skip_all("dtl threads", "dtlc did not build")
        else:
            for w in workloads:
                cmd = [dtlc, "run", "-n", str(ranks)] + dtl_args(w)
                launch("dtl threads", cmd, env, [w], lambda _: f"dtlc run -n {ranks} (threads backend)", default=w)
        # dtl MPI: the same programs, one process per rank (2+ ranks only: 1 rank is the same code)
        if ranks > 1 and dtlc and has_mpirun and not args.no_dtl_mpi:
            for w in workloads:
                if (w, "dtl MPI") in dtl_mpi_skip:
                    continue
                cmd = [mpirun, "-n", str(ranks), dtlc, "run", "--backend", "mpi"] + dtl_args(w)
                note = f"mpirun -n {ranks} dtlc run --backend mpi, {mpi_note}"
                if not launch("dtl MPI", cmd, env, [w], lambda _: note, default=w):
                    dtl_mpi_skip.add((w, "dtl MPI"))
        # mpi4py + NumPy: one launch for every workload
        if has_mpi4py:
            cmd = [mpirun, "-n", str(ranks), py, os.path.join(SEEDS, "seeds_mpi.py"), str(reps), str(warm)] + specs
            launch("mpi4py+NumPy", cmd, env, workloads, mpi4py_note)
        else:
            skip_all("mpi4py+NumPy", "mpirun or mpi4py not available")
        # Numba: one process, 1 thread (njit) or 2 threads (parallel=True)
        if has_numba:
            nenv = dict(env, NUMBA_CACHE_DIR=os.path.expanduser(f"~/.cache/dtl/numba-bench-{ranks}"))
            nenv.pop("OMP_NUM_THREADS", None)
            nenv["NUMBA_NUM_THREADS"] = str(max(ranks, 1))
            cmd = [py, os.path.join(SEEDS, "seeds_numba.py"), str(ranks), str(reps), str(warm)] + specs
            launch("Numba", cmd, nenv, workloads, numba_note)
        else:
            skip_all("Numba", "numba not installed")

    mismatch = False
    for w in workloads:
        mine = {k: v for k, v in results.items() if k[0] == w}
        if not mine:
            continue
        ref_key = next((k for k in mine if k[2] == "mpi4py+NumPy" and k[1] == 1), next(iter(mine)))
        ref = mine[ref_key][0]["check"]
        kind, tol = TOL[w]
        title, size, unit = title_size(w, sizes[w])
        for (ww, ranks, tool), (d, note) in sorted(mine.items(), key=lambda kv: (kv[0][1], kv[0][2])):
            c = d["check"]
            ok = c is not None and ref is not None and len(d["samples"]) >= 1
            if ok:
                err = abs(c - ref) if kind == "abs" else abs(c - ref) / max(abs(ref), 1e-300)
                ok = err <= tol
            if ok and w == "sort" and d["bad"] != 0:
                ok = False
            if not ok:
                mismatch = True
                detail = (f"{w} on {ranks} ranks, {tool}: checksum {c!r} (out-of-order {d['bad']}) vs "
                          f"{ref!r} from {ref_key[2]} on {ref_key[1]} ranks; tolerance {kind} {tol:g}")
                emit(dict(kind="mismatch", workload=w, detail=detail))
                log("MISMATCH", detail)
                continue
            rec = dict(workload=w, title=title, size=size, size_unit=unit, ranks=ranks, tool=tool,
                       unit="ms", samples=d["samples"], checksum=c,
                       note=note + f"; checksum agrees within {kind} {tol:g}")
            b = bytes_moved(w, sizes[w])
            if b:
                rec["bytes"] = b
            emit(rec)
    out.close()
    log(f"done in {time.time() - t_start:.1f} s")
    return 1 if mismatch else 0


if __name__ == "__main__":
    sys.exit(main())
