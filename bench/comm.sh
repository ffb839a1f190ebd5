#!/usr/bin/env bash
# Communication benchmark of the threads backend (2 ranks by default; pass another count).
# Prints `name median min max` lines and a summary with GB/s and the fraction of memcpy.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release --quiet -p dtl-runtime --example bench_comm -- "${1:-2}"
