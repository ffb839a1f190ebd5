# The runtime's MPI backend (feature `mpi`): clippy for the feature, the conformance suite and
# the container checks under `mpirun -n 1, 2, 3` (3 is oversubscribed on a 2-core machine), a
# singleton start without mpirun, the failure scenarios (each must end the job with its
# error, never hang), and every spec example and examples/*.dtl through `dtlc run` (built with
# --features mpi) under `mpirun -n 1, 2, 3` against the expected output. Sourced by scripts/test-all, which defines `step`, `ok NAME [count]`,
# `bad NAME [count]` and $VENV; skipped with a message when MPICH is not installed.

step "MPI backend: clippy --features mpi, conformance under mpirun -n 1..3, failure scenarios"
if ! command -v mpirun >/dev/null || ! command -v mpicc >/dev/null; then
  echo "skipped: MPI tests (mpirun/mpicc not found; apt-get install mpich libmpich-dev libclang-dev)"
else
  if cargo clippy -q -p dtl-runtime --features mpi --all-targets -- -D warnings; then
    ok "clippy dtl-runtime --features mpi"
  else
    bad "clippy dtl-runtime --features mpi"
  fi
  if cargo build -q --release -p dtl-runtime --features mpi --examples; then
    ok "build dtl-runtime --features mpi --examples"
    mpi_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')/release/examples
    # Root may run mpirun with MPICH as is; Open MPI would need --allow-run-as-root.
    mpi_log=$(mktemp)
    if timeout 120 "$mpi_dir/mpi_conformance" >"$mpi_log" 2>&1 && grep -q "checks passed on 1 ranks" "$mpi_log"; then
      ok "mpi conformance singleton (no mpirun)"
    else
      bad "mpi conformance singleton: $(tail -n 3 "$mpi_log")"
    fi
    for n in 1 2 3; do
      if DTL_WATCHDOG_SECS=120 timeout 600 mpirun -n "$n" "$mpi_dir/mpi_conformance" >"$mpi_log" 2>&1 \
        && grep -q "checks passed on $n ranks" "$mpi_log"; then
        ok "mpi conformance mpirun -n $n" "$(grep -c '^ok ' "$mpi_log")"
      else
        bad "mpi conformance mpirun -n $n: $(grep -m 3 -E 'FAIL|error|rror\[' "$mpi_log" | head -c 600)"
      fi
    done
    # Failure scenarios: (mode, what stderr must show). Each must exit nonzero within the timeout.
    for case in "error:error\[R0004\]" "exit:error\[R0003\]" "panic:rank 1 panicked" "hang:error\[R0010\]"; do
      mode=${case%%:*}
      want=${case#*:}
      DTL_WATCHDOG_SECS=3 RUST_BACKTRACE=0 timeout 60 mpirun -n 2 "$mpi_dir/mpi_failures" "$mode" >"$mpi_log" 2>&1
      st=$?
      if [ $st -ne 0 ] && [ $st -ne 124 ] && grep -q "$want" "$mpi_log"; then
        ok "mpi failure '$mode' aborts the job with its error"
      else
        bad "mpi failure '$mode': exit $st, want '$want': $(head -c 400 "$mpi_log")"
      fi
    done
    rm -f "$mpi_log"
  else
    bad "build dtl-runtime --features mpi --examples"
  fi

  step "spec examples and examples/*.dtl under mpirun -n 1..3 (dtlc built with --features mpi)"
  if cargo build -q --release -p dtl-compiler --bin dtlc --features mpi; then
    mpi_scratch=$(mktemp -d)
    # Keep this binary: the plain dtlc build of the next section replaces target/release/dtlc.
    cp "$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')/release/dtlc" "$mpi_scratch/dtlc-mpi"
    for f in tests/spec/examples/*.dtl examples/*.dtl; do
      [ -f "${f%.dtl}.expected" ] || continue
      want_ranks=$(sed -n 's|^// ranks: *||p' "$f")
      for n in 1 2 3; do
        if [ -n "$want_ranks" ] && ! grep -qw "$n" <<<"$want_ranks"; then continue; fi
        got=$(cd "$mpi_scratch" && DTL_WATCHDOG_SECS=60 timeout 180 mpirun -n "$n" ./dtlc-mpi run "$ROOT/$f" 2>"$mpi_scratch/err")
        if [ "$got" == "$(cat "${f%.dtl}.expected")" ]; then ok "mpirun -n $n dtlc run $f"; else bad "mpirun -n $n dtlc run $f: $(head -c 300 "$mpi_scratch/err")"; fi
      done
    done
    # Run-time errors under MPI: the same code, location and rank as on threads, status 2.
    for f in tests/cases/run-errors/*.dtl; do
      code=$(sed -n 's|^// error: *||p' "$f" | tr -d '[:space:]')
      line=$(sed -n 's|^// line: *||p' "$f" | tr -d '[:space:]')
      n=$(sed -n 's|^// ranks: *||p' "$f" | tr -d '[:space:]')
      out=$(cd "$mpi_scratch" && DTL_WATCHDOG_SECS=60 timeout 120 mpirun -n "${n:-2}" ./dtlc-mpi run "$ROOT/$f" 2>&1 >/dev/null); st=$?
      if [ $st -eq 2 ] && grep -q "^error\[$code\]: .* at .*$(basename "$f"):$line:[0-9]* (rank [0-9]*)" <<<"$out"; then
        ok "mpirun dtlc run error $(basename "$f") ($code)"
      else
        bad "mpirun dtlc run error $(basename "$f"): want $code at line $line, got exit $st: $(head -c 300 <<<"$out")"
      fi
    done
    rm -rf "$mpi_scratch"
  else
    bad "build dtlc --features mpi"
  fi
fi
