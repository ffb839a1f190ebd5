"""Helpers shared by the group scripts of bench/run: the record format, agreement checks and
running a tool's process.

A group script appends one JSON object per line to its --out file:

    {"group": "fused", "workload": "axpby", "title": "c = 2a - 4.5b", "size": 10000000,
     "size_unit": "f64", "ranks": 1, "tool": "NumPy", "unit": "ms", "samples": [...],
     "checksum": -12500003.25, "note": "..."}

plus {"kind": "skipped", ...} and {"kind": "mismatch", ...} records. Optional fields the report
understands: "bytes" (bytes moved per sample: the report adds effective GB/s), "reference"
(true: a limit or floor drawn for comparison, never counted as a peer) and "detail" (true: a dtl
figure that shows a part of another, such as the compile call alone; left out of the summary)
and "chart" (workloads with the same key share one figure of bar panels; default: the workload). Tools whose name starts
with "dtl" are dtl; every other tool is a peer.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from collections.abc import Callable
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def parse_args(doc: str | None = None,
               extra: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", choices=["quick", "full"], default="full")
    p.add_argument("--out", required=True, help="JSON-lines file the records are appended to")
    p.add_argument("--dtlc", default=os.environ.get("DTLC"), help="the dtlc binary")
    p.add_argument("--work", default=None, help="scratch directory (default: next to --out)")
    if extra:
        extra(p)
    return p.parse_args()


class Recorder:
    def __init__(self, out: str | Path, group: str) -> None:
        self.out = Path(out)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.group = group
        self.mismatches = 0

    def _write(self, rec: dict[str, Any]) -> None:
        with self.out.open("a") as f:
            f.write(json.dumps(rec) + "\n")

    def record(self, workload: str, title: str, size: int | None, size_unit: str, ranks: int,
               tool: str, unit: str, samples: list[float], checksum: float | None = None,
               note: str | None = None, **extra: Any) -> None:
        rec: dict[str, Any] = {
            "group": self.group, "workload": workload, "title": title, "size": size,
            "size_unit": size_unit, "ranks": ranks, "tool": tool, "unit": unit,
            "samples": [float(s) for s in samples], "checksum": checksum,
        }
        if note:
            rec["note"] = note
        rec.update(extra)
        self._write(rec)
        med = sorted(samples)[len(samples) // 2] if samples else float("nan")
        print(f"  {workload:>10} n={size} r={ranks} {tool:<40} median {med:10.3f} {unit}"
              f" ({len(samples)} samples)", flush=True)

    def skipped(self, tool: str, why: str, workload: str | None = None) -> None:
        rec = {"group": self.group, "kind": "skipped", "tool": tool, "why": why}
        if workload:
            rec["workload"] = workload
        self._write(rec)
        print(f"  skipped: {tool}: {why}", flush=True)

    def mismatch(self, workload: str, size: int | None, values: dict[str, float], rtol: float,
                 why: str) -> None:
        self.mismatches += 1
        self._write({"group": self.group, "kind": "mismatch", "workload": workload, "size": size,
                     "checksums": values, "rtol": rtol, "why": why})
        print(f"  MISMATCH {workload} n={size}: {why}", flush=True)


def disagreement(values: dict[str, float], rtol: float) -> str | None:
    """None when every checksum agrees with the first tool's within rtol (relative to the
    largest magnitude); else a sentence naming the tools that disagree."""
    items = [(t, v) for t, v in values.items() if v is not None]
    if len(items) < 2:
        return None
    ref_tool, ref = items[0]
    scale = max(abs(v) for _, v in items) or 1.0
    bad = [f"{t} = {v!r}" for t, v in items[1:]
           if not math.isfinite(v) or abs(v - ref) > rtol * scale]
    if not math.isfinite(ref):
        bad.insert(0, f"{ref_tool} = {ref!r}")
    if bad:
        return f"{ref_tool} = {ref!r} but " + ", ".join(bad) + f" (relative tolerance {rtol:g})"
    return None


def run_tool(cmd: list[str], timeout: float = 600, env: dict[str, str] | None = None,
             cwd: str | Path | None = None) -> tuple[list[str], str]:
    """Runs a tool's process; returns its stdout lines (raises on failure with its stderr)."""
    e = dict(os.environ)
    if env:
        e.update(env)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=e, cwd=cwd)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()[-800:]}")
    return p.stdout.splitlines(), p.stderr


def parse_samples(lines: list[str]) -> tuple[float | None, list[float]]:
    """`checksum S` and `time_ms T` lines of a tool's output."""
    checksum: float | None = None
    times: list[float] = []
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "checksum":
            checksum = float(parts[1])
        elif len(parts) >= 2 and parts[0] == "time_ms":
            times.append(float(parts[1]))
    return checksum, times


def have_module(python: str, name: str) -> str | None:
    """None when `python -c 'import name'` works, else why not."""
    p = subprocess.run([python, "-c", f"import {name}"], capture_output=True, text=True)
    if p.returncode == 0:
        return None
    last = (p.stderr.strip().splitlines() or ["import failed"])[-1]
    return f"{name} not importable ({last})"


def python_exe() -> str:
    return sys.executable


def peer_python() -> str:
    """The interpreter that runs the Python peers: $PYTHON, else the venv of bench/run, else
    this one."""
    py = os.environ.get("PYTHON", os.path.expanduser("~/.cache/dtl/venv/bin/python"))
    return py if os.path.exists(py) else sys.executable


def run_logged(cmd: list[str], env: dict[str, str], timeout: float,
               log: Callable[..., None], shown: int = 6) -> str:
    """Runs a tool's process; returns its stdout (raises on failure) and logs its wall time."""
    t = time.time()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {(p.stderr or p.stdout)[-600:]}")
    log(f"{time.time() - t:6.1f} s  {' '.join(os.path.basename(c) if '/' in c else c for c in cmd[:shown])}")
    return p.stdout


def find_dtlc(arg: str | None, log: Callable[..., None]) -> str | None:
    """`arg` or $DTLC, else builds dtlc (with MPI when mpicc exists) into $CARGO_TARGET_DIR."""
    d = arg or os.environ.get("DTLC")
    if d:
        return d
    tgt = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
    log("building dtlc (--release --features mpi) into", tgt)
    feats = ["--features", "mpi"] if shutil.which("mpicc") else []
    r = subprocess.run(["cargo", "build", "--release", "-q", "--bin", "dtlc"] + feats,
                       cwd=ROOT, env=dict(os.environ, CARGO_TARGET_DIR=tgt))
    return os.path.join(tgt, "release", "dtlc") if r.returncode == 0 else None
