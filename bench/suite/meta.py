"""The run's metadata for the report (bench/run calls it; meta.json next to results.jsonl):

    python meta.py start META --command CMD --mode quick|full
    python meta.py group META NAME STATUS WALL_S LOAD_START        (after each group)
    python meta.py end META

`start` records the date, the machine (cores, CPU model, memory), the load average and the
versions of the tools; `group` merges one group's status, wall time and load into the groups of
an earlier run (so `bench/run --only G` keeps the others); `end` adds the end's load and date.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())


def first_line(cmd: list[str]) -> str | None:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = (p.stdout or p.stderr).strip().splitlines()
    return out[0].strip() if p.returncode == 0 and out else None


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "?"
    mem = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 2**20:.1f}"
    except OSError:
        pass
    extra = []
    try:
        lscpu = dict(line.split(":", 1) for line in subprocess.run(
            ["lscpu"], capture_output=True, text=True, timeout=10).stdout.splitlines() if ":" in line)
        lscpu = {k.strip(): v.strip() for k, v in lscpu.items()}
        if "CPU family" in lscpu:
            extra.append(f"family {lscpu['CPU family']} model {lscpu.get('Model', '?')}")
        if "Hypervisor vendor" in lscpu:
            extra.append(f"{lscpu['Hypervisor vendor']} guest")
        for k in ("L2 cache", "L3 cache"):
            if k in lscpu:
                extra.append(f"{k} {lscpu[k]}")
        flags = lscpu.get("Flags", "").split()
        extra.append("AVX-512" if "avx512f" in flags else ("AVX2" if "avx2" in flags else "no AVX2"))
    except (OSError, subprocess.TimeoutExpired, ValueError):
        pass
    try:
        thp = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text().split()
        extra.append("THP " + next(w.strip("[]") for w in thp if w.startswith("[")))
    except (OSError, StopIteration):
        pass
    if extra:
        cpu += " (" + ", ".join(extra) + ")"
    return {"cores": os.cpu_count(), "cpu": cpu, "mem_gib": mem,
            "os": f"{platform.system()} {platform.release()}"}


def versions() -> dict[str, str]:
    v: dict[str, str] = {}
    v["rustc"] = first_line(["rustc", "--version"]) or "not found"
    v["python"] = sys.version.split()[0]
    for mod in ("numpy", "numba", "numexpr", "mpi4py", "numba-mpi", "matplotlib", "dtl"):
        try:
            v[mod] = metadata.version(mod)
        except metadata.PackageNotFoundError:
            v[mod] = "not installed"
    mpich = first_line(["mpichversion"])
    if mpich is None:
        out = subprocess.run(["mpirun", "--version"], capture_output=True, text=True).stdout \
            if first_line(["which", "mpirun"]) else ""
        mpich = next((ln.strip() for ln in out.splitlines() if "Version" in ln or "mpirun" in ln), None)
    v["MPICH"] = (mpich or "not found").replace("MPICH Version:", "").strip()
    v["gcc"] = first_line(["gcc", "--version"]) or "not found"
    return v


def commit() -> str | None:
    c = first_line(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    if c is None:
        return None
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return c + (" (with uncommitted changes)" if dirty else "")


def main() -> None:
    what, path = sys.argv[1], Path(sys.argv[2])
    meta: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    if what == "start":
        args = dict(zip(sys.argv[3::2], sys.argv[4::2]))
        groups = meta.get("groups", {})
        meta = {"command": args.get("--command", "bench/run"), "mode": args.get("--mode", "full"),
                "date_start": now(), "t_start": time.time(), "load_start": load(),
                "machine": machine(), "versions": versions(), "commit": commit(),
                "groups": groups}
    elif what == "group":
        name, status, wall, load_start = sys.argv[3:7]
        meta.setdefault("groups", {})[name] = {
            "status": status, "wall_s": float(wall), "load_start": load_start,
            "load_end": load(), "date": now()}
    elif what == "end":
        meta["date_end"] = now()
        meta["load_end"] = load()
        meta["wall_s"] = time.time() - meta.get("t_start", time.time())
    else:
        raise SystemExit(__doc__)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(meta, indent=1) + "\n")


if __name__ == "__main__":
    main()
