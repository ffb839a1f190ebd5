#!/usr/bin/env bash
# One-sided access under oversubscription (issue #13 §2): bench/rma_lookups.dtl (rank 0 does
# map lookups while the other ranks wait at a barrier) under `mpirun -n N` for each N, ROUNDS
# times, with the release dtlc built --features mpi. Prints the median and min..max of
# lookups per ms per rank count.
# Usage: bench/rma_lookups.sh [ROUNDS] [RANKS...]     (default: 5 rounds, ranks 2 3 4)
# Environment: DTLC (a dtlc binary to measure instead of building one), LOOKUPS (default
# 20000), TIMEOUT (seconds per run, default 300); MPICH's variables pass through to mpirun.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
shift || true
ranks=("$@")
[ ${#ranks[@]} -gt 0 ] || ranks=(2 3 4)
if ! command -v mpirun >/dev/null; then
    echo "bench/rma_lookups.sh: skipped (mpirun not found; apt-get install mpich libmpich-dev)"
    exit 0
fi
if [ -z "${DTLC:-}" ]; then
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
    cargo build --release --quiet --bin dtlc --features mpi
    DTLC="$CARGO_TARGET_DIR/release/dtlc"
fi
lookups="${LOOKUPS:-20000}"
echo "# $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg) at start, $rounds rounds, $lookups lookups on rank 0"
printf '%-6s %12s %12s %12s\n' ranks median min max
for n in "${ranks[@]}"; do
    vals=()
    for _ in $(seq "$rounds"); do
        v=$(DTL_WATCHDOG_SECS="${DTL_WATCHDOG_SECS:-600}" timeout "${TIMEOUT:-300}" mpirun -n "$n" "$DTLC" run bench/rma_lookups.dtl -D n="$lookups" 2>/dev/null \
            | sed -n 's/^lookups_per_ms //p')
        vals+=("${v:-nan}")
    done
    printf '%s\n' "${vals[@]}" | sort -g | awk -v n="$n" '{a[NR]=$1} END {printf "%-6s %12.2f %12.2f %12.2f\n", n, a[int((NR+1)/2)], a[1], a[NR]}'
done
