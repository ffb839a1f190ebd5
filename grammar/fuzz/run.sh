#!/usr/bin/env bash
# Runs a fuzz target for a bounded time: grammar/fuzz/run.sh [seconds] [parse|check]
# (default 60 s, target `check`: lexer + parser + resolve + typeck + SPMD checks + rendering).
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Seeds the corpus with
# the spec examples when they are present. FUZZ_FLAGS adds cargo-fuzz options, e.g.
# `FUZZ_FLAGS="-s none -a"` (no sanitizer, with debug assertions: overflow checks).
set -euo pipefail
secs="${1:-60}"
target="${2:-check}"
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
mkdir -p corpus/parse corpus/check
for f in ../../tests/spec/examples/*.dtl ../../tests/spec/errors/*.dtl ../../examples/*.dtl; do
    [ -f "$f" ] && cp -n "$f" corpus/parse/ 2>/dev/null || true
done
if [ -z "$(ls -A corpus/parse)" ]; then
    printf 'param n: i64 = 10;\nfn main() {\n    let u = vector<f64>(n) @block @halo(1);\n    forall i in u with s: sum { s += u[i] as f64; }\n    for k in 0..n step 2 { if k > 1 && !false { print("k", k); } else { break; } }\n}\n' > corpus/parse/seed1.dtl
    printf 'import stats;\nconst PI2: f64 = 6.28;\nfn f(x: tensor<f32, 2>) -> f64 { stats::variance(x) * -1e-3 }\n/* /* nested */ */\n' > corpus/parse/seed2.dtl
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"
cp -n corpus/parse/* corpus/check/ 2>/dev/null || true
# shellcheck disable=SC2086
exec cargo +nightly fuzz run ${FUZZ_FLAGS:-} "$target" "corpus/$target" -- -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048
