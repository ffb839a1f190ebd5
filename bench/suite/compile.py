"""Group `compile` of bench/run: how long until a small kernel has run once, in fresh processes.

Three kernels (bench/suite/compile/child.py: axpby, a sum-of-squares reduction in a loop, a
3-point stencil with a branch), each in K fresh Python processes per tool:

  - dtl: `dtl.compile(src)` alone, and compile + the first call (1000 f64 NumPy arrays bound
    to `local<f64>`);
  - Numba: the first call of an `@njit` function (its compile + run), no cache;
  - the whole process (interpreter start, imports, compile, first call, exit) for both, with
    `python -c pass` and `python -c 'import numpy'` as floors;

and `dtlc run hello.dtl -n 1` as a whole process next to `python -c pass`.

    python bench/suite/compile.py --mode quick|full --out FILE.jsonl [--dtlc PATH] [--procs K]

One untimed process per tool and kernel comes first (it warms the file cache); its results must
agree across tools (relative 1e-12) before the timed processes run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, Recorder, disagreement, have_module, parse_args  # noqa: E402

CHILD = Path(__file__).resolve().parent / "compile" / "child.py"
KERNELS = {
    "axpby": "c = 2a - 4.5b (loop)",
    "energy": "sum of squares (loop, reduction)",
    "smooth": "3-point stencil with a branch",
}
RTOL = 1e-12
HELLO = ROOT / "tests" / "spec" / "examples" / "hello.dtl"


def timed(cmd: list[str], cwd: Path) -> tuple[float, dict[str, float]]:
    """Wall time of one process (ms) and the `name value` lines it printed."""
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=300)
    dt = (time.perf_counter() - t) * 1e3
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()[-600:]}")
    vals = {}
    for line in p.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                vals[parts[0]] = float(parts[1])
            except ValueError:
                pass
    return dt, vals


def main() -> int:
    def extra(p: argparse.ArgumentParser) -> None:
        p.add_argument("--procs", type=int, default=None, help="fresh processes per figure")

    args = parse_args(__doc__, extra)
    quick = args.mode == "quick"
    procs = args.procs or (3 if quick else 7)
    rec = Recorder(args.out, "compile")
    work = Path(args.work or Path(args.out).parent / "work-compile")
    work.mkdir(parents=True, exist_ok=True)
    py = sys.executable

    tools = []
    for tool, mod in (("dtl", "dtl"), ("numba", "numba")):
        why = have_module(py, mod)
        if why:
            rec.skipped("dtl (dtl.compile)" if tool == "dtl" else "Numba (first call)", why)
        else:
            tools.append(tool)

    # 1. Agreement (and a warm file cache) before timing. Quick: the first kernel only.
    ok_kernels = []
    for k in list(KERNELS)[: 1 if quick else None]:
        sums = {}
        for tool in list(tools):
            try:
                _, vals = timed([py, str(CHILD), tool, k], work)
                sums[tool] = vals.get("checksum")
            except Exception as e:  # noqa: BLE001
                rec.skipped(tool, f"failed on kernel {k}: {e}", workload=k)
        why = disagreement(sums, RTOL)
        if why:
            rec.mismatch(k, 1000, sums, RTOL, why)
        else:
            print(f"  agree: {k}: {sums}")
            ok_kernels.append((k, sums))

    # 2. Fresh processes, interleaved (tool after tool) so the load's drift hits both.
    floors = {"python -c pass": [py, "-c", "pass"]}
    if have_module(py, "numpy") is None:
        floors["python -c 'import numpy'"] = [py, "-c", "import numpy"]
    for cmd in floors.values():
        timed(cmd, work)
    for k, sums in ok_kernels:
        wall: dict[str, list[float]] = {t: [] for t in tools}
        comp: list[float] = []
        first: dict[str, list[float]] = {t: [] for t in tools}
        for _ in range(procs):
            for tool in tools:
                dt, vals = timed([py, str(CHILD), tool, k], work)
                wall[tool].append(dt)
                first[tool].append(vals["first_ms"])
                if tool == "dtl":
                    comp.append(vals["compile_ms"])
        title = f"{KERNELS[k]}: compile + first call on 1000 f64"
        if "dtl" in tools:
            rec.record(k, title, 1000, "f64", 1, "dtl (dtl.compile + first call)", "ms",
                       first["dtl"], sums.get("dtl"), chart="first call")
            rec.record(k, title, 1000, "f64", 1, "dtl (dtl.compile alone)", "ms", comp,
                       sums.get("dtl"), "the compile call without the first call", detail=True,
                       chart="first call")
        if "numba" in tools:
            rec.record(k, title, 1000, "f64", 1, "Numba (first call)", "ms", first["numba"],
                       sums.get("numba"), "@njit, no cache: type inference, LLVM, run",
                       chart="first call")
        ptitle = f"{KERNELS[k]}: a whole fresh process (start, imports, compile, call, exit)"
        if "dtl" in tools:
            rec.record(f"{k} process", ptitle, 1000, "f64", 1, "dtl (python + import dtl)", "ms",
                       wall["dtl"], sums.get("dtl"), chart="process")
        if "numba" in tools:
            rec.record(f"{k} process", ptitle, 1000, "f64", 1, "Numba (python + import numba)",
                       "ms", wall["numba"], sums.get("numba"), chart="process")
        for name, cmd in floors.items():
            rec.record(f"{k} process", ptitle, 1000, "f64", 1, name, "ms",
                       [timed(cmd, work)[0] for _ in range(procs)], None, "floor",
                       reference=True, chart="process")

    # 3. dtlc run hello.dtl: the whole process against the interpreter's start.
    if args.dtlc and Path(args.dtlc).exists():
        cmd = [args.dtlc, "run", str(HELLO), "-n", "1"]
        timed(cmd, work)
        hello: list[float] = []
        floor: list[float] = []
        for _ in range(max(procs, 7) * 2):
            hello.append(timed(cmd, work)[0])
            floor.append(timed(floors["python -c pass"], work)[0])
        title = "`dtlc run hello.dtl -n 1`: a whole process (parse, check, JIT, run, exit)"
        rec.record("hello", title, None, "", 1, "dtl (dtlc run hello.dtl -n 1)", "ms", hello,
                   chart="process")
        rec.record("hello", title, None, "", 1, "python -c pass", "ms", floor, None,
                   "the floor: an interpreter that starts and exits", chart="process")
    else:
        rec.skipped("dtl (dtlc run hello.dtl -n 1)", "no dtlc binary (pass --dtlc)", "hello")
    return 1 if rec.mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
