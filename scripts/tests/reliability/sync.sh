# Remote accesses see earlier accesses (issue #13 §1): the program that raced before prints the
# right sum on every one of 50 runs at 2..8 ranks on threads, and 50 times per launch under
# mpirun -n 2..8; the sync run cases under mpirun -n 1..3. Sourced by scripts/test-all ($DTLC, $ROOT, step, ok, bad).

step "sync: forall then get, 50 runs at -n 2..8 (threads and MPI); sync run cases under mpirun"
if [ -z "${DTLC:-}" ] || [ ! -x "$DTLC" ]; then
  bad "sync checks: dtlc is not built"
else
  prog="$ROOT/tests/cases/sync/forall_then_get.dtl"
  want=$(cat "${prog%.dtl}.expected")
  for n in 2 3 4 5 6 7 8; do
    wrong=0
    for i in $(seq 50); do
      got=$(timeout 60 "$DTLC" run "$prog" -n "$n" 2>&1)
      [ "$got" == "$want" ] || wrong=$((wrong + 1))
    done
    if [ $wrong -eq 0 ]; then ok "sync: forall then get, 50/50 right on $n thread ranks"; else bad "sync: forall then get on $n thread ranks: $wrong of 50 runs wrong"; fi
  done
  rep="$ROOT/tests/cases/sync/forall_then_get_repeat.dtl"
  for n in 2 5 8; do
    got=$(timeout 60 "$DTLC" run "$rep" -n "$n" 2>&1)
    if [ "$got" == "$(cat "${rep%.dtl}.expected")" ]; then ok "sync: 50 races in one run on $n thread ranks"; else bad "sync: 50 races in one run on $n thread ranks: $got"; fi
  done
  # scripts/test-all builds $DTLC with the MPI backend exactly when mpicc and mpirun exist.
  if command -v mpirun >/dev/null && command -v mpicc >/dev/null; then
    # One mpirun launch costs seconds on 2 cores, so under MPI each rank count runs the race
    # 50 times inside one launch (forall_then_get_repeat.dtl), plus the original program once.
    rep="$ROOT/tests/cases/sync/forall_then_get_repeat.dtl"
    for n in 2 3 4 5 6 7 8; do
      got=$(DTL_WATCHDOG_SECS=60 timeout 300 mpirun -n "$n" "$DTLC" run "$rep" 2>&1)
      got1=$(DTL_WATCHDOG_SECS=60 timeout 120 mpirun -n "$n" "$DTLC" run "$prog" 2>&1)
      if [ "$got" == "$(cat "${rep%.dtl}.expected")" ] && [ "$got1" == "$want" ]; then
        ok "sync: forall then get under mpirun -n $n (50 times in one launch, and once alone)"
      else
        bad "sync: forall then get under mpirun -n $n: $(head -c 300 <<<"$got $got1")"
      fi
    done
    for f in "$ROOT"/tests/cases/run/sync_patterns.dtl "$ROOT"/tests/cases/run/short_circuit_temporaries.dtl; do
      for n in 1 2 3; do
        got=$(DTL_WATCHDOG_SECS=60 timeout 180 mpirun -n "$n" "$DTLC" run "$f" 2>&1)
        if [ "$got" == "$(cat "${f%.dtl}.expected")" ]; then ok "sync: mpirun -n $n $(basename "$f")"; else bad "sync: mpirun -n $n $(basename "$f"): $(head -c 300 <<<"$got")"; fi
      done
    done
  else
    echo "skipped: sync checks under MPI (mpirun or mpicc not found)"
  fi
fi
