# Stopping a run (issue #13, engineer `signals`): a rank that loops stops when another fails or
# the watchdog fires; `dtlc run` never waits for ever on a rank it cannot stop; recoverable
# calls under MPI. Sourced by scripts/test-all after dtlc is built: uses $DTLC, $ROOT, `step`,
# `ok NAME`, `bad NAME`. Python's side (Ctrl-C, kernel errors under mpirun) is
# pydtl/tests/test_signals.py.

step "stopping runs: spinning and stuck ranks under dtlc (threads), recoverable MPI calls"
if [ -z "${DTLC:-}" ] || [ ! -x "$DTLC" ]; then
  bad "signals: dtlc is not built"
else
  sig_dir=$(mktemp -d)
  cat >"$sig_dir/spin.dtl" <<'DTL'
fn main() {
    if rank() == 1 {
        let mut x: i64 = 0;
        while true { x = x + 1; }
    }
    barrier();
    print("done");
}
DTL
  cat >"$sig_dir/fib.dtl" <<'DTL'
fn fib(n: i64) -> i64 {
    if n < 2 { return n; }
    return fib(n - 1) + fib(n - 2);
}
fn main() {
    if rank() == 1 { print(fib(70)); }
    barrier();
    print("done");
}
DTL
  cat >"$sig_dir/fail_spin.dtl" <<'DTL'
fn main() {
    if rank() == 1 { let a = local<i64>(2); print(a[7]); }
    let mut x: i64 = 0;
    for i in 0..9_000_000_000_000 { x = x + i % 3; }
    print(x);
}
DTL
  # A rank spinning in user code while rank 0 waits: the watchdog's report, exit 2, soon.
  t0=$(date +%s)
  out=$(DTL_WATCHDOG_SECS=1 timeout 30 "$DTLC" run "$sig_dir/spin.dtl" -n 2 2>&1); st=$?
  dt=$(( $(date +%s) - t0 ))
  if [ $st -eq 2 ] && grep -q '^error\[R0010\]' <<<"$out" && grep -q 'rank 0: Barrier at .*spin.dtl:6:5' <<<"$out" \
    && grep -q 'rank 1: running' <<<"$out" && [ $dt -le 10 ]; then
    ok "signals: dtlc reports a rank spinning in user code (R0010, exit 2, ${dt}s)"
  else
    bad "signals: spinning rank: exit $st after ${dt}s: $(head -c 400 <<<"$out")"
  fi
  # A rank that never reaches a loop head (deep recursion): reported, not waited for.
  t0=$(date +%s)
  out=$(DTL_WATCHDOG_SECS=1 timeout 30 "$DTLC" run "$sig_dir/fib.dtl" -n 2 2>&1); st=$?
  dt=$(( $(date +%s) - t0 ))
  if [ $st -eq 2 ] && grep -q '^error\[R0010\]' <<<"$out" && grep -q '^note: rank 1 did not stop within 1s' <<<"$out" \
    && [ $dt -le 10 ]; then
    ok "signals: dtlc exits 2 without a rank it cannot stop (${dt}s)"
  else
    bad "signals: stuck rank: exit $st after ${dt}s: $(head -c 400 <<<"$out")"
  fi
  # A failure on one rank stops the others' loops at once.
  t0=$(date +%s)
  out=$(timeout 30 "$DTLC" run "$sig_dir/fail_spin.dtl" -n 3 2>&1); st=$?
  dt=$(( $(date +%s) - t0 ))
  if [ $st -eq 2 ] && grep -q '^error\[R0001\]: .*fail_spin.dtl:2:.*(rank 1)' <<<"$out" && [ $dt -le 10 ]; then
    ok "signals: a failing rank stops the looping ones (${dt}s)"
  else
    bad "signals: failing rank with loops: exit $st after ${dt}s: $(head -c 400 <<<"$out")"
  fi
  # Recoverable calls under MPI (what a collective kernel from Python is).
  if command -v mpirun >/dev/null && command -v mpicc >/dev/null; then
    if cargo build -q --release -p dtl-runtime --features mpi --example mpi_recover; then
      rec=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')/release/examples/mpi_recover
      for n in 2 3; do
        out=$(DTL_WATCHDOG_SECS=30 timeout 120 mpirun -n "$n" "$rec" 2>&1); st=$?
        if [ $st -eq 0 ] && grep -q "recover: all scenarios passed on $n ranks" <<<"$out"; then
          ok "signals: MPI recoverable calls on $n ranks"
        else
          bad "signals: MPI recoverable calls on $n ranks: exit $st: $(head -c 400 <<<"$out")"
        fi
      done
    else
      bad "signals: build mpi_recover"
    fi
  else
    echo "skipped: MPI recoverable calls (mpirun/mpicc not found)"
  fi
  rm -rf "$sig_dir"
fi
