#!/usr/bin/env python3
"""Collectives group of the benchmark suite (issue #7): 2 ranks, allreduce (sum, f64) from 8 B
to 16 MiB, broadcast and allgather for a few sizes, barrier.

Tools: dtl threads (`dtlc run coll.dtl -n 2`), dtl MPI (`mpirun -n 2 dtlc run --backend mpi`,
dtlc built with `--features mpi`), C MPI (`coll/coll_mpi.c`, mpicc -O3), mpi4py buffer and
pickle, numba-mpi (`coll/coll_py.py`). Every tool runs the same loops over the same data
(element k of rank r is (r+1)*(k%7+1)); the checksum of each size (sum of the result, minimum
over ranks) must agree across tools and with the closed form before any time is recorded.

usage: python bench/suite/collectives.py --mode quick|full --out FILE.jsonl [--dtlc PATH]
Appends one JSON record per (workload, size, tool) to FILE; exits 1 on a checksum mismatch.
Environment: PYTHON (the venv with numpy/mpi4py/numba), MPIRUN (default mpirun), MPICC
(default mpicc), UCX_TLS (default posix,self for these single-node runs: see
docs/performance-notes.md), DTLC (instead of --dtlc), CARGO_TARGET_DIR (where dtlc is built when
neither is given).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import find_dtlc, parse_args, peer_python, run_logged  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
COLL = os.path.join(HERE, "coll")
GROUP = "collectives"

KINDS = {"allreduce": 0, "broadcast": 1, "allgather": 2, "barrier": 3}
TITLES = {
    "allreduce": "allreduce (sum, f64)",
    "broadcast": "broadcast (f64, root 0)",
    "allgather": "allgather (f64, size per rank)",
    "barrier": "barrier",
}
# mode -> workload -> (lo, hi, step) in bytes; barrier has no size
SIZES = {
    "quick": {"allreduce": (8, 1 << 24, 64), "broadcast": (8, 1 << 21, 4096),
              "allgather": (8, 1 << 21, 4096), "barrier": None},
    "full": {"allreduce": (8, 1 << 24, 8), "broadcast": (8, 1 << 24, 8),
             "allgather": (8, 1 << 21, 8), "barrier": None},
}
# mode -> (rounds, reps per round, warm-up loops, µs per sample (calls calibrated to it),
#          max calls per sample)
PLAN = {"quick": (1, 7, 1, 5000, 1000), "full": (2, 5, 2, 10000, 4000)}


def log(*a):
    print("[collectives]", *a, file=sys.stderr, flush=True)


def run(cmd, env, timeout=600):
    return run_logged(cmd, env, timeout, log, shown=6)


def expected_check(workload, nbytes, p=2):
    if workload == "barrier":
        return 0.0
    n = nbytes // 8
    s = n // 7 * 28 + (n % 7) * (n % 7 + 1) // 2  # sum of k % 7 + 1 for k < n
    if workload == "broadcast":
        return float(s)
    tri = p * (p + 1) // 2
    return float(tri * s)  # allreduce: every element summed over ranks; allgather: all blocks


def parse(out):
    """`size B [calls C] check X` then `[calls C]` and `time_us T` lines -> {size: (check, [us])}."""
    res, cur = {}, None
    for line in out.splitlines():
        m = re.match(r"size (\d+)(?: calls \d+)? check (\S+)", line)
        if m:
            cur = int(m.group(1))
            res[cur] = (float(m.group(2)), [])
            continue
        m = re.match(r"time_us (\S+)", line)
        if m and cur is not None:
            res[cur][1].append(float(m.group(1)))
    return res


def main():
    def extra(ap):
        ap.add_argument("--only", help="comma-separated workloads (default: all)")

    args = parse_args(__doc__, extra)
    t_start = time.time()
    py = peer_python()
    mpirun = os.environ.get("MPIRUN", "mpirun")
    mpicc = os.environ.get("MPICC", "mpicc")
    env = dict(os.environ)
    env.setdefault("UCX_TLS", "posix,self")
    env.setdefault("OMP_NUM_THREADS", "1")
    mpi_note = f"mpirun -n 2, UCX_TLS={env['UCX_TLS']}"
    dtlc = find_dtlc(args.dtlc, log)
    rounds, reps, warm, sample_us, maxcalls = PLAN[args.mode]
    workloads = [w for w in KINDS if not args.only or w in args.only.split(",")]
    out = open(args.out, "a")
    skipped = set()

    def emit(rec):
        rec = dict(group=GROUP, **rec)
        out.write(json.dumps(rec) + "\n")
        out.flush()

    def skip(tool, workload, why):
        if (tool, workload) not in skipped:
            skipped.add((tool, workload))
            emit(dict(kind="skipped", tool=tool, workload=workload, why=why))
            log(f"skipped: {tool} {workload}: {why}")

    tmp = tempfile.mkdtemp(prefix="dtl-bench-coll-")
    have_mpi = shutil.which(mpirun) is not None
    cbin = None
    if have_mpi and shutil.which(mpicc):
        cbin = os.path.join(tmp, "coll_mpi")
        if subprocess.run([mpicc, "-O3", "-march=native", os.path.join(COLL, "coll_mpi.c"), "-o", cbin]).returncode:
            cbin = None

    def py_has(mod):
        return subprocess.run([py, "-c", f"import {mod}"], capture_output=True).returncode == 0

    has_mpi4py = have_mpi and py_has("mpi4py")
    has_nbmpi = has_mpi4py and py_has("numba_mpi")
    prog = os.path.join(COLL, "coll.dtl")

    # tool -> (command builder or None, why skipped)
    def dtl_args(kind, lo, hi, step):
        return ["-D", f"kind={kind}", "-D", f"lo={lo}", "-D", f"hi={hi}", "-D", f"step={step}",
                "-D", f"reps={reps}", "-D", f"warm={warm}", "-D", f"sample_us={sample_us}",
                "-D", f"maxcalls={maxcalls}"]

    def num_args(kind, lo, hi, step):
        return [str(v) for v in (kind, lo, hi, step, reps, warm, sample_us, maxcalls)]

    tools = [
        ("dtl threads", lambda *a: [dtlc, "run", prog, "-n", "2"] + dtl_args(*a),
         None if dtlc else "dtlc did not build",
         "dtlc run -n 2 (threads backend)"),
        ("dtl MPI", lambda *a: [mpirun, "-n", "2", dtlc, "run", prog, "--backend", "mpi"] + dtl_args(*a),
         ("mpirun not found" if not have_mpi else None) if dtlc else "dtlc did not build",
         f"dtlc run --backend mpi under {mpi_note}"),
        ("C MPI", lambda *a: [mpirun, "-n", "2", cbin] + num_args(*a),
         None if cbin else "mpirun/mpicc not found or coll_mpi.c did not build", f"mpicc -O3 -march=native, {mpi_note}"),
        ("mpi4py (buffer)", lambda *a: [mpirun, "-n", "2", py, os.path.join(COLL, "coll_py.py"), "buffer"] + num_args(*a),
         None if has_mpi4py else "mpi4py or mpirun not available", f"Allreduce/Bcast/Allgather on NumPy arrays, {mpi_note}"),
        ("mpi4py (pickle)", lambda *a: [mpirun, "-n", "2", py, os.path.join(COLL, "coll_py.py"), "pickle"] + num_args(*a),
         None if has_mpi4py else "mpi4py or mpirun not available",
         f"allreduce/bcast/allgather of Python objects (a float at 8 B, else a pickled NumPy array), {mpi_note}"),
        ("numba-mpi", lambda *a: [mpirun, "-n", "2", py, os.path.join(COLL, "coll_py.py"), "numba"] + num_args(*a),
         None if has_nbmpi else "numba-mpi not installed (pip install numba-mpi)", f"calls inside one @njit loop, {mpi_note}"),
    ]

    # results[(workload, size)][tool] = (check, samples, note)
    results = {}
    mismatch = False
    for w in workloads:
        kind = KINDS[w]
        sz = SIZES[args.mode][w]
        lo, hi, step = sz if sz else (0, 0, 1)
        for rnd in range(rounds):
            # alternate the tool order between rounds so that drift hits everyone alike
            order = tools if rnd % 2 == 0 else tools[::-1]
            for name, cmd, why, note in order:
                if why:
                    skip(name, w, why)
                    continue
                if (name, w) in skipped:
                    continue
                try:
                    res = parse(run(cmd(kind, lo, hi, step), env, timeout=600))
                except Exception as e:  # a peer that fails is recorded, not fatal
                    skip(name, w, f"failed: {e}")
                    continue
                for size, (check, samples) in res.items():
                    prev = results.setdefault((w, size), {}).get(name)
                    results[(w, size)][name] = (check, (prev[1] if prev else []) + samples, note)
        # agreement first, then the records
        for (ww, size), by_tool in sorted(results.items()):
            if ww != w:
                continue
            exp = expected_check(w, size)
            bad = {t: c for t, (c, _, _) in by_tool.items() if c != exp}
            if bad:
                mismatch = True
                detail = f"{w} {size} B: expected checksum {exp}, got " + ", ".join(f"{t}: {c}" for t, c in bad.items())
                emit(dict(kind="mismatch", workload=w, detail=detail))
                log("MISMATCH", detail)
            for t, (c, samples, note) in by_tool.items():
                if t in bad:
                    continue
                n = note
                if t.startswith("dtl") and w == "allreduce":
                    n += ("; 8 B: allreduce(s, sum) of a scalar; larger: `let y = allreduce(x, sum)` "
                          "of a local<f64>, a new local each call")
                if t.startswith("dtl") and w == "allgather":
                    n += ("; 8 B: scalar allgather(x); larger: copy(u) @replicated of a block vector "
                          "(dtl's allgather takes only a scalar), a new container each call")
                if t.startswith("dtl") and w == "broadcast":
                    n += ("; 8 B: broadcast of a scalar; larger: broadcast(x, root: 0) of a local<f64>, "
                          "a new local each call")
                rec = dict(workload=w, title=TITLES[w], size=size, size_unit="bytes", ranks=2,
                           tool=t, unit="us", samples=samples,
                           checksum=None if w == "barrier" else c, note=n)
                if w != "barrier":
                    rec["bytes"] = size * 2 if w == "allgather" else size  # payload per call
                emit(rec)
    out.close()
    shutil.rmtree(tmp, ignore_errors=True)
    log(f"done in {time.time() - t_start:.1f} s")
    return 1 if mismatch else 0


if __name__ == "__main__":
    sys.exit(main())
