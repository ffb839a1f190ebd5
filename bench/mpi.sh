#!/usr/bin/env bash
# MPI benchmark: allreduce of one f64, 1 MiB and 16 MiB on 2 processes through the runtime's
# MPI communicator (runtime/examples/mpi/bench.rs) against C MPI_Allreduce
# (bench/c/mpi_allreduce.c), measured in the same run: the two programs alternate ROUNDS times
# (default 3) and the median of each figure's medians is compared.
# Usage: bench/mpi.sh [ROUNDS]            environment: UCX_TLS etc. pass through to mpirun.
# Prints `figure c_us raw_us dtl_us dtl/c dtl/raw` (ratios below 1: dtl is faster).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
if ! command -v mpirun >/dev/null || ! command -v mpicc >/dev/null; then
    echo "bench/mpi.sh: skipped (mpirun/mpicc not found; apt-get install mpich libmpich-dev)"
    exit 0
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
cargo build --release --quiet -p dtl-runtime --features mpi --example bench_mpi
mkdir -p "$CARGO_TARGET_DIR/c"
mpicc -O3 -march=native bench/c/mpi_allreduce.c -o "$CARGO_TARGET_DIR/c/mpi_allreduce"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for _ in $(seq "$rounds"); do
    mpirun -n 2 "$CARGO_TARGET_DIR/c/mpi_allreduce" >>"$out/c.txt"
    mpirun -n 2 "$CARGO_TARGET_DIR/release/examples/bench_mpi" >>"$out/dtl.txt"
done
echo "# 2 processes, UCX_TLS=${UCX_TLS:-<unset>}, $rounds rounds, median of per-round medians (µs per call)"
echo "# raw = bare MPI_Allreduce on the runtime's communicator, alternating with dtl in the same process"
med() { awk -v f="$1" '$1==f{print $2}' "$2" | sort -g | awk '{a[NR]=$1}END{print a[int((NR+1)/2)]}'; }
printf '%-22s %11s %11s %11s %7s %7s\n' figure c_us raw_us dtl_us dtl/c dtl/raw
for f in allreduce_f64_1_us allreduce_1MiB_us allreduce_16MiB_us; do
    c=$(med "$f" "$out/c.txt")
    r=$(med "raw_$f" "$out/dtl.txt")
    d=$(med "$f" "$out/dtl.txt")
    printf '%-22s %11.3f %11.3f %11.3f %7.2f %7.2f\n' "$f" "$c" "$r" "$d" \
        "$(awk -v a="$d" -v b="$c" 'BEGIN{print a/b}')" "$(awk -v a="$d" -v b="$r" 'BEGIN{print a/b}')"
done
