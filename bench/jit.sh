#!/usr/bin/env bash
# Issue #4 benchmarks: the Cranelift JIT and `dtlc run` against their peers, measured in one run.
#   bash bench/jit.sh          # full sizes (10^7 f64, heat 100 steps, pi 10^8): 3-4 minutes
#   bash bench/jit.sh quick    # CI-like: 10x smaller sizes, fewer repetitions, same figures
# Programs: bench/jit/*.dtl (each prints one `time_ms` line per repetition, timed inside the
# program with wtime() between barriers, slowest rank by allreduce max). Peers: NumPy and Numba
# (bench/jit/*.py, one core), mpi4py+NumPy under `mpirun -n 2`, C -O2 loops and a STREAM triad
# (bench/c/jit_peers.c). Peers without their tool (numba, mpi4py, mpirun) are skipped.
# Every sample goes to $OUT/samples.txt as `name value`; bench/jit/report.py prints
# median [min..max] of each, the ratios against the peers and every target as met / MISSED.
# DTLC=/path/to/dtlc uses that binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${BENCH_OUT:-bench/out}/jit
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
PY=${PYTHON:-$HOME/.cache/dtl/venv/bin/python}
[ -x "$PY" ] || PY=python3

if [ "${1:-}" = quick ]; then
  N=1000000; REPS=5; HEAT_N=1000000; HEAT_STEPS=20; HEAT_REPS=2; PI_N=10000000
  MW=400; MH=400; MITER=200; KREPS=3; CREPS=3; HELLO_REPS=10; ROUNDS=1
else
  N=10000000; REPS=4; HEAT_N=10000000; HEAT_STEPS=100; HEAT_REPS=1; PI_N=100000000
  MW=1200; MH=1200; MITER=200; KREPS=2; CREPS=7; HELLO_REPS=20; ROUNDS=3
fi

echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# rustc: $(rustc --version); $("$PY" --version 2>&1)"

if [ -z "${DTLC:-}" ]; then
  cargo build --release -q -p dtl-compiler --bin dtlc
  TARGET=$(cargo metadata --format-version 1 --no-deps | "$PY" -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')
  DTLC=$TARGET/release/dtlc
fi
echo "# dtlc: $DTLC"
S=$OUT/samples.txt
: > "$S"
have_py() { "$PY" -c "import $1" 2>/dev/null; }

# dtl NAME RANKS FILE -D ...: one `NAME value` sample per `time_ms` line the program prints
dtl() {
  local name=$1 ranks=$2 file=$3; shift 3
  "$DTLC" run "$ROOT/bench/jit/$file" -n "$ranks" "$@" \
    | awk -v n="$name" '/^time_ms/ { print n, $2; next } { print "# " n ": " $0 }' | tee -a "$S"
}

echo "# 1. compile latency"
for f in "$ROOT"/tests/spec/examples/*.dtl; do
  ex=$(basename "$f" .dtl)
  for _ in $(seq "$CREPS"); do
    # the examples write their files (save_load) into the current directory: run them in $OUT
    (cd "$OUT" && "$DTLC" run --time "$f" -n 1 2>&1 >/dev/null) \
      | sed -n 's/^time: check \([0-9.]*\) ms, compile \([0-9.]*\) ms.*/\1 \2/p' \
      | awk -v n="compile_${ex}_ms" '{ printf "%s %.3f\n", n, $1 + $2 }' >> "$S"
  done
done
grep '^compile_' "$S" | "$PY" -c 'import sys,collections,statistics as st
d=collections.defaultdict(list)
[d[l.split()[0]].append(float(l.split()[1])) for l in sys.stdin]
print("# check+compile medians (ms):", " ".join(f"{k[8:-3]}={st.median(v):.2f}" for k,v in sorted(d.items())))'
"$PY" bench/jit/spawn.py hello_wall_ms "$HELLO_REPS" "$DTLC" run tests/spec/examples/hello.dtl -n 1 | tee -a "$S"
if have_py numba; then
  # a fresh process each time: no Numba cache, nothing compiled before
  "$PY" bench/jit/spawn.py numba_wall_ms 5 "$PY" bench/jit/numba_compile.py | tee -a "$S"
else
  echo "skipped: Numba compile peer (no numba)"
fi

gcc -O2 -fopenmp bench/c/jit_peers.c -o "$OUT/jit_peers"
MPI_OK=0; command -v mpirun >/dev/null && have_py mpi4py && MPI_OK=1
have_py numba || echo "skipped: NumPy/Numba peers (no numba)"
[ "$MPI_OK" = 1 ] || echo "skipped: mpi4py peer (no mpirun or mpi4py)"
# The load of a shared machine drifts over seconds: every figure and its peers are measured in
# each of $ROUNDS rounds, back to back, and the samples of all rounds are pooled.
for round in $(seq "$ROUNDS"); do
  echo "# round $round of $ROUNDS (load $(cut -d' ' -f1-3 /proc/loadavg))"
  echo "# C peers: axpby loop, STREAM triad, pi on 1 and 2 threads"
  OMP_WAIT_POLICY=passive "$OUT/jit_peers" "$N" "$REPS" "$PI_N" | tee -a "$S"

  echo "# 2. c = 2.0*a - 4.5*b"
  dtl dtl_axpby_1_ms 1 axpby.dtl -D n="$N" -D reps="$REPS"
  dtl dtl_axpby_2_ms 2 axpby.dtl -D n="$N" -D reps="$REPS"
  if have_py numba; then "$PY" bench/jit/axpby.py axpby "$N" "$REPS" | tee -a "$S"; fi

  echo "# 3. c = 2.0*a - 4.5*b + 1.1*(sin(a) + cos(b))"
  dtl dtl_fused_1_ms 1 fused.dtl -D n="$N" -D reps="$KREPS"
  dtl dtl_fused_2_ms 2 fused.dtl -D n="$N" -D reps="$KREPS"
  if have_py numba; then "$PY" bench/jit/axpby.py fused "$N" "$KREPS" | tee -a "$S"; fi

  echo "# 3b. c = exp(a) - 2.0*exp(b)"
  dtl dtl_exp_1_ms 1 exp.dtl -D n="$N" -D reps="$KREPS"
  if have_py numba; then "$PY" bench/jit/axpby.py exp "$N" "$KREPS" | tee -a "$S"; fi

  echo "# 4. heat stencil"
  dtl dtl_heat_1_ms 1 heat.dtl -D n="$HEAT_N" -D steps="$HEAT_STEPS" -D reps="$HEAT_REPS"
  dtl dtl_heat_2_ms 2 heat.dtl -D n="$HEAT_N" -D steps="$HEAT_STEPS" -D reps="$HEAT_REPS"
  if have_py numba; then "$PY" bench/jit/heat_numba.py "$HEAT_N" "$HEAT_STEPS" "$HEAT_REPS" | tee -a "$S"; fi
  if [ "$MPI_OK" = 1 ]; then
    mpirun -n 2 "$PY" bench/jit/heat_mpi.py "$HEAT_N" "$HEAT_STEPS" "$HEAT_REPS" | tee -a "$S"
  fi

  echo "# 5. pi and mandelbrot"
  dtl dtl_pi_1_ms 1 pi.dtl -D n="$PI_N" -D reps="$KREPS"
  dtl dtl_pi_2_ms 2 pi.dtl -D n="$PI_N" -D reps="$KREPS"
  dtl dtl_mandel_1_ms 1 mandel.dtl -D w="$MW" -D h="$MH" -D maxiter="$MITER" -D reps="$KREPS"
  dtl dtl_mandel_2_ms 2 mandel.dtl -D w="$MW" -D h="$MH" -D maxiter="$MITER" -D reps="$KREPS"
  if have_py numba; then "$PY" bench/jit/kernels_numba.py "$PI_N" "$MW" "$MH" "$MITER" "$KREPS" | tee -a "$S"; fi
done

echo "# load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" bench/jit/report.py "$S" "$N" "$HEAT_N" "$HEAT_STEPS" "$PI_N" "$MW" "$MH" "$MITER" | tee "$OUT/report.txt"
