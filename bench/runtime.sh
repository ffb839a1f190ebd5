#!/usr/bin/env bash
# Issue #2 benchmarks: the runtime's threads backend against its peers, measured in one run.
#   bash bench/runtime.sh
# Peers: C memcpy (the bandwidth limit), MPICH's C MPI_Allreduce / MPI_Bcast on 2 processes
# (skipped without mpicc), NumPy's np.sort on one core (skipped without numpy).
# Every figure is `name median min max` over >= 7 samples after warm-up.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${BENCH_OUT:-bench/out}
mkdir -p "$OUT"
PY=${PYTHON:-$HOME/.cache/dtl/venv/bin/python}
[ -x "$PY" ] || PY=python3

echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "# rustc: $(rustc --version)"

gcc -O3 -march=native bench/c/memcpy.c -o "$OUT/memcpy"
"$OUT/memcpy" | tee "$OUT/peers.txt"

if command -v mpicc >/dev/null && command -v mpirun >/dev/null; then
  mpicc -O3 -march=native bench/c/mpi_collectives.c -o "$OUT/mpi_collectives"
  mpirun -n 2 "$OUT/mpi_collectives" | sed 's/^/mpi_/' | tee -a "$OUT/peers.txt"
else
  echo "skipped: C MPI peer (no mpicc/mpirun)"
fi
if "$PY" -c 'import numpy' 2>/dev/null; then
  "$PY" bench/py/np_sort.py | tee -a "$OUT/peers.txt"
else
  echo "skipped: NumPy peer (no numpy)"
fi

cargo build --release -q -p dtl-runtime --example bench_comm --example bench_sort
TARGET=$(cargo metadata --format-version 1 --no-deps | "$PY" -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')
"$TARGET/release/examples/bench_comm" 2 | tee "$OUT/dtl.txt"
"$TARGET/release/examples/bench_sort" 2 10000000 | tee -a "$OUT/dtl.txt"

"$PY" - "$OUT/peers.txt" "$OUT/dtl.txt" <<'PYEOF'
import sys
def load(p):
    d = {}
    for line in open(p):
        f = line.split()
        if len(f) == 4 and not line.startswith("#"):
            d[f[0]] = tuple(float(x) for x in f[1:])
    return d
peers, dtl = load(sys.argv[1]), load(sys.argv[2])
def find(d, *keys):
    for k in d:
        if all(s in k for s in keys):
            return d[k]
    return None
print("\n# ratios (peer / dtl: > 1 means dtl is faster)")
rows = [
    ("allreduce 1 f64 (us)", find(dtl, "allreduce", "1_us") or find(dtl, "allreduce", "f64_1"), peers.get("mpi_allreduce_f64_1_us"), "MPICH C"),
    ("allreduce 16 MiB (ms)", find(dtl, "allreduce", "16MiB"), peers.get("mpi_allreduce_16MiB_ms"), "MPICH C"),
    ("broadcast 16 MiB (ms)", find(dtl, "bcast", "16MiB"), peers.get("mpi_broadcast_16MiB_ms"), "MPICH C"),
    ("sort 10^7 f64, 2 ranks (ms)", dtl.get("sort_f64_ms"), peers.get("np_sort_1e7_ms"), "np.sort, 1 core"),
]
for name, d, p, peer in rows:
    if d is None or p is None:
        print(f"{name:32s} dtl {d} peer {p}: missing")
        continue
    print(f"{name:32s} dtl {d[0]:10.4f} [{d[1]:.4f}..{d[2]:.4f}]  {peer} {p[0]:10.4f} [{p[1]:.4f}..{p[2]:.4f}]  ratio {p[0]/d[0]:6.2f}x")
PYEOF
