"""Group `fused` of bench/run: two elementwise expressions over n f64 by dtl and its peers, with
the STREAM triad as the bandwidth limit.

    axpby:  c = 2a - 4.5b                         (memory-bound: 24 bytes per element)
    fused:  c = 2a - 4.5b + 1.1 (sin a + cos b)   (compute-bound)

by dtl (`dtlc run` on 1 and 2 thread ranks; Python kernels from strings on NumPy arrays bound to
`local<f64>` and on DistributedVectors), NumPy, NumPy with out=, numexpr (1 and 2 threads), Numba
(@njit, and parallel=True on 2 threads), a C loop (gcc -O3 -march=native; OpenMP on 2 threads),
with the STREAM triad (C) as the bandwidth limit.

    python bench/suite/fused.py --mode quick|full --out FILE.jsonl [--dtlc PATH]
                                [--sizes 1e6,1e7] [--rounds R]

For each (expression, size): first every tool computes it once (compiling and touching every
page: the warm-up) and reports the sum of c; the sums must agree within a relative 1e-9 (else a
`mismatch` record, that expression and size are not timed, and the script exits 1). Then R >= 7
rounds, each taking one sample of every tool back to back, in an order rotated each round, so
that all tools see the same load of a shared machine. The Python tools are long-lived processes
(bench/suite/fused/peers.py) answering one command per sample; dtlc and C run one process per
sample, each making its own warm-up pass before the timed one.
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
from common import Recorder, disagreement, have_module, parse_args, parse_samples, run_tool  # noqa: E402

HERE = Path(__file__).resolve().parent / "fused"
RTOL = 1e-9
TITLES = {
    "axpby": "c = 2a - 4.5b",
    "fused": "c = 2a - 4.5b + 1.1(sin a + cos b)",
}
BYTES_PER_ELEMENT = 24  # read a and b, write c (the STREAM convention: no write-allocate traffic)


class Server:
    """A tool's process (peers.py) that answers one command per line."""

    def __init__(self, cmd: list[str]) -> None:
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, bufsize=1)

    def ask(self, line: str) -> float:
        assert self.p.stdin and self.p.stdout
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        out = self.p.stdout.readline().strip()
        if out.startswith(("checksum ", "time_ms ")):
            return float(out.split()[1])
        err = ""
        if not out and self.p.poll() is not None and self.p.stderr:
            err = self.p.stderr.read().strip()[-600:]
        raise RuntimeError(out or f"exited {self.p.returncode}: {err}")

    def close(self) -> None:
        try:
            if self.p.poll() is None and self.p.stdin:
                self.p.stdin.write("quit\n")
                self.p.stdin.close()
            self.p.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.p.kill()


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
        p.add_argument("--rounds", type=int, default=None, help="samples per figure (>= 7)")
        p.add_argument("--only-tools", default=None, help="comma-separated peer ids (debugging)")

    args = parse_args(__doc__, extra)
    quick = args.mode == "quick"
    sizes = [int(float(s)) for s in (args.sizes or ("1e5" if quick else "1e6,1e7")).split(",")]
    rounds = max(args.rounds or 7, 7)
    rec = Recorder(args.out, "fused")
    work = Path(args.work or Path(args.out).parent / "work-fused")
    work.mkdir(parents=True, exist_ok=True)
    jobs = [(k, n) for n in sizes for k in ("axpby", "fused")]
    triad: dict[tuple[int, int], list[float]] = {}

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

    servers: dict[str, Server] = {}
    for t in tools:
        if t.how.startswith("py:"):
            servers[t.key] = Server([sys.executable, str(HERE / "peers.py"), t.how[3:]])

    def sample(t: Tool, kind: str, n: int, prep: bool) -> float | None:
        """prep: the warm-up and the checksum; else one timed pass (ms)."""
        if t.key in servers:
            return servers[t.key].ask(f"prep {kind} {n}" if prep else "time")
        # dtlc and C: one process per sample, which makes its own warm-up pass first
        k = "0" if prep else "1"
        if t.how == "dtlc":
            cmd = [args.dtlc, "run", str(HERE / f"{kind}.dtl"), "-n", str(t.ranks),
                   "-D", f"n={n}", "-D", f"reps={k}"]
        else:
            cmd = [str(cbin), "triad" if t.how == "triad" else kind, str(n), k, str(t.ranks)]
        s, times = parse_samples(run_tool(cmd, cwd=work)[0])
        return s if prep else times[0]

    def drop(t: Tool, why: str) -> None:
        if t in tools:
            tools.remove(t)
            rec.skipped(t.name, why)
            if t.key in servers:
                servers.pop(t.key).close()

    try:
        for kind, n in jobs:
            # 1. Agreement, before any timing (this also compiles and warms every tool up).
            sums: dict[str, float] = {}
            for t in list(tools):
                if t.how == "triad" and kind == "fused":
                    continue
                try:
                    s = sample(t, kind, n, prep=True)
                except Exception as e:  # noqa: BLE001 - a failing tool is reported, not fatal
                    drop(t, f"failed on {kind} n={n}: {e}")
                    continue
                if not t.reference and s is not None:
                    sums[t.key] = s
            why = disagreement(sums, RTOL)
            if why:
                rec.mismatch(kind, n, sums, RTOL, why)
                continue
            print(f"  agree: {kind} n={n}: {len(sums)} tools, sum = {next(iter(sums.values()), None)!r}",
                  flush=True)
            # 2. Timing: one sample per tool per round, the tools in a rotated order each round.
            samples: dict[str, list[float]] = defaultdict(list)
            for r in range(rounds):
                active = [t for t in tools if not (t.how == "triad" and kind == "fused")]
                off = r % len(active) if active else 0
                for t in active[off:] + active[:off]:
                    try:
                        v = sample(t, kind, n, prep=False)
                    except Exception as e:  # noqa: BLE001
                        drop(t, f"failed while timing {kind} n={n}: {e}")
                        continue
                    if v is not None:
                        samples[t.key].append(v)
            for t in tools:
                src = samples.get(t.key)
                if t.how == "triad" and kind == "fused":
                    src = triad.get((n, t.ranks))
                if not src:
                    continue
                if t.how == "triad":
                    triad[n, t.ranks] = src
                rec.record(kind, TITLES[kind], n, "f64", t.ranks, t.name, "ms", src,
                           None if t.reference else sums.get(t.key), t.note or None,
                           bytes=BYTES_PER_ELEMENT * n, **({"reference": True} if t.reference else {}))
    finally:
        for srv in servers.values():
            srv.close()
    return 1 if rec.mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
