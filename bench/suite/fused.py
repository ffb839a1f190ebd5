"""Group `fused` of bench/run: two elementwise expressions over n f64 by dtl and its peers, with
the STREAM triad as the bandwidth limit.

    axpby:  c = 2a - 4.5b                         (memory-bound: 24 bytes per element)
    fused:  c = 2a - 4.5b + 1.1 (sin a + cos b)   (compute-bound)

by dtl (`dtlc run` on 1 and 2 thread ranks; Python kernels from strings on NumPy arrays bound to
`local<f64>` and on DistributedVectors), NumPy, NumPy with out=, numexpr (1 and 2 threads), Numba
(@njit, and parallel=True on 2 threads), a C loop (gcc -O3 -march=native; OpenMP on 2 threads),
with the STREAM triad (C) as the bandwidth limit.

    python bench/suite/fused.py --mode quick|full --out FILE.jsonl [--dtlc PATH]
                                [--sizes 1e6,1e7] [--rounds R] [--reps K]

First every tool computes each (expression, size) once and reports the sum of c; the sums must
agree within a relative 1e-9 (else a `mismatch` record, that workload is not timed, and the
script exits 1). Then the timing: R rounds, each running every tool once (in a rotated order, so
the drift of a shared machine's load spreads over the tools) with one warm-up and K timed
repetitions; the samples of all rounds are pooled (R*K >= 7).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, Recorder, disagreement, have_module, parse_args, parse_samples, run_tool  # noqa: E402

HERE = Path(__file__).resolve().parent / "fused"
RTOL = 1e-9
TITLES = {
    "axpby": "c = 2a - 4.5b",
    "fused": "c = 2a - 4.5b + 1.1(sin a + cos b)",
}
BYTES_PER_ELEMENT = 24  # read a and b, write c (the STREAM convention: no write-allocate traffic)


@dataclass
class Tool:
    name: str
    ranks: int
    how: str  # "py:<peer id>", "dtlc", "c", "triad"
    note: str = ""
    reference: bool = False

    @property
    def key(self) -> str:
        return f"{self.name} [{self.ranks}]"


TOOLS = [
    Tool("dtl (dtlc run)", 1, "dtlc", "bench/suite/fused/*.dtl, 1 thread rank"),
    Tool("dtl (dtlc run)", 2, "dtlc", "2 thread ranks"),
    Tool("dtl (Python kernel, vector<f64>)", 1, "py:dtl_vector_1",
         "dtl.compile, DistributedVector on a 1-rank context, whole-container statement"),
    Tool("dtl (Python kernel, vector<f64>)", 2, "py:dtl_vector_2", "dtl.spmd(2) thread ranks"),
    Tool("dtl (Python kernel, local<f64>)", 1, "py:dtl_local",
         "dtl.compile, NumPy arrays bound to local<f64>, explicit loop"),
    Tool("NumPy", 1, "py:numpy", "allocates its temporaries"),
    Tool("NumPy out=", 1, "py:numpy_out", "preallocated temporaries"),
    Tool("numexpr", 1, "py:numexpr_1", "set_num_threads(1)"),
    Tool("numexpr", 2, "py:numexpr_2", "set_num_threads(2)"),
    Tool("Numba @njit", 1, "py:numba"),
    Tool("Numba parallel=True", 2, "py:numba_parallel", "prange, 2 threads"),
    Tool("C (gcc -O3 -march=native)", 1, "c"),
    Tool("C (gcc -O3 -march=native)", 2, "c", "OpenMP, 2 threads"),
    Tool("STREAM triad (C)", 1, "triad", "a = b + 3c, 24 bytes per element", reference=True),
    Tool("STREAM triad (C)", 2, "triad", "OpenMP, 2 threads", reference=True),
]
NEEDS = {"numexpr": "numexpr", "numba": "numba", "dtl_": "dtl"}


def main() -> int:
    def extra(p: argparse.ArgumentParser) -> None:
        p.add_argument("--sizes", default=None, help="comma-separated sizes (default 1e6,1e7)")
        p.add_argument("--rounds", type=int, default=None)
        p.add_argument("--reps", type=int, default=None)
        p.add_argument("--only-tools", default=None, help="comma-separated peer ids (debugging)")

    args = parse_args(__doc__, extra)
    quick = args.mode == "quick"
    sizes = [int(float(s)) for s in (args.sizes or ("1e5" if quick else "1e6,1e7")).split(",")]
    rounds = args.rounds or (1 if quick else 3)
    reps = args.reps or (7 if quick else 3)
    if rounds * reps < 7:
        reps = -(-7 // rounds)
    rec = Recorder(args.out, "fused")
    work = Path(args.work or Path(args.out).parent / "work-fused")
    work.mkdir(parents=True, exist_ok=True)
    jobs = [(k, n) for n in sizes for k in ("axpby", "fused")]

    # Which tools can run here.
    tools: list[Tool] = []
    skipped: set[str] = set()
    for t in TOOLS:
        why = None
        if t.how == "dtlc" and not (args.dtlc and Path(args.dtlc).exists()):
            why = "no dtlc binary (pass --dtlc)"
        elif t.how in ("c", "triad") and shutil.which("gcc") is None:
            why = "gcc not found"
        elif t.how.startswith("py:"):
            why = have_module(sys.executable, "numpy")
            for prefix, mod in NEEDS.items():
                if not why and t.how[3:].startswith(prefix):
                    why = have_module(sys.executable, mod)
        if args.only_tools and t.how.split(":")[-1] not in args.only_tools.split(","):
            continue
        if why:
            if t.name not in skipped:
                rec.skipped(t.name, why)
                skipped.add(t.name)
        else:
            tools.append(t)
    cbin = work / "peers"
    if any(t.how in ("c", "triad") for t in tools):
        subprocess.run(["gcc", "-O3", "-march=native", "-fopenmp", str(HERE / "peers.c"),
                        "-o", str(cbin), "-lm"], check=True)

    def run(t: Tool, k: int) -> dict[tuple[str, int], tuple[float | None, list[float]]]:
        """One process of tool t (per program for dtlc and C) over all jobs, k repetitions each."""
        out: dict[tuple[str, int], tuple[float | None, list[float]]] = {}
        if t.how.startswith("py:"):
            lines, _ = run_tool([sys.executable, str(HERE / "peers.py"), t.how[3:], str(k)]
                                + [f"{kind}:{n}" for kind, n in jobs])
            cur: tuple[str, int] | None = None
            chunk: list[str] = []
            for line in lines + ["job end 0"]:
                if line.startswith("job "):
                    if cur is not None:
                        out[cur] = parse_samples(chunk)
                    _, kind, n = line.split()
                    cur, chunk = (kind, int(n)), []
                elif line.startswith("skipped"):
                    raise RuntimeError(line)
                else:
                    chunk.append(line)
            return out
        for kind, n in jobs:
            if t.how == "dtlc":
                cmd = [args.dtlc, "run", str(HERE / f"{kind}.dtl"), "-n", str(t.ranks),
                       "-D", f"n={n}", "-D", f"reps={k}"]
            else:
                cmd = [str(cbin), "triad" if t.how == "triad" else kind, str(n), str(k), str(t.ranks)]
                if t.how == "triad" and kind == "fused":
                    out[kind, n] = out["axpby", n]
                    continue
            out[kind, n] = parse_samples(run_tool(cmd, cwd=work)[0])
        return out

    # 1. Agreement, before any timing.
    sums: dict[tuple[str, int], dict[str, float]] = defaultdict(dict)
    for t in list(tools):
        try:
            got = run(t, 0)
        except Exception as e:  # noqa: BLE001 - a failing tool is reported, not fatal
            rec.skipped(t.name, f"failed on the agreement run: {e}")
            tools.remove(t)
            continue
        if t.reference:
            continue
        for job, (s, _) in got.items():
            if s is not None:
                sums[job][t.key] = s
    bad_jobs = set()
    for kind, n in jobs:
        why = disagreement(sums[kind, n], RTOL)
        if why:
            rec.mismatch(kind, n, sums[kind, n], RTOL, why)
            bad_jobs.add((kind, n))
        else:
            print(f"  agree: {kind} n={n}: {len(sums[kind, n])} tools, sum = {next(iter(sums[kind, n].values()), None)!r}")

    # 2. Timing.
    samples: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    checks: dict[tuple[str, str, int], float | None] = {}
    for r in range(rounds):
        order = tools[r % len(tools):] + tools[: r % len(tools)] if tools else []
        for t in order:
            try:
                got = run(t, reps)
            except Exception as e:  # noqa: BLE001
                print(f"  {t.key}: round {r} failed: {e}", file=sys.stderr)
                continue
            for (kind, n), (s, times) in got.items():
                samples[t.key, kind, n] += times
                checks[t.key, kind, n] = s
    for kind, n in jobs:
        if (kind, n) in bad_jobs:
            continue
        for t in tools:
            xs = samples.get((t.key, kind, n))
            if not xs:
                continue
            rec.record(kind, TITLES[kind], n, "f64", t.ranks, t.name, "ms", xs,
                       None if t.reference else checks.get((t.key, kind, n)), t.note or None,
                       bytes=BYTES_PER_ELEMENT * n, **({"reference": True} if t.reference else {}))
    return 1 if rec.mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
