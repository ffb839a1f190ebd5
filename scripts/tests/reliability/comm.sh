# Reliability of the communication backends and the watchdog (issue #13 §2, §6, §7; see
# docs/reliability/comm.md): DTL_WATCHDOG_SECS is validated (R0009, never a panic) by dtlc on
# threads and under mpirun and by Python; a rank that keeps communicating for 3x the watchdog
# limit while the others wait at a barrier is never stopped; a real deadlock is still reported
# (R0010, exit 2, where every rank waits); a rank killed with SIGKILL under mpirun ends the
# job. Sourced by scripts/test-all with $DTLC, $ROOT, $VENV, `step`, `ok`, `bad`.

step "comm reliability: DTL_WATCHDOG_SECS, watchdog by progress, deadlock reports, killed ranks"
if [ -z "${DTLC:-}" ] || [ ! -x "$DTLC" ]; then
  bad "comm reliability: no dtlc binary"
else
  comm_dir=$(mktemp -d)
  printf 'fn main() {\n    barrier();\n    if rank() == 0 { print("one"); }\n}\n' >"$comm_dir/one.dtl"
  cat >"$comm_dir/long.dtl" <<'EOF'
// Rank 0 looks up map keys (one-sided reads of the other ranks' tables) for `secs` seconds
// while the other ranks wait at a barrier: correct, and longer than the watchdog limit.
param secs: f64 = 6.0;
fn main() {
    let m = map<i64, i64>();
    forall k in 0..100 { insert(m, k, k + 1); }
    barrier();
    if rank() == 0 {
        let t0 = wtime();
        let mut n = 0;
        let mut s = 0;
        while wtime() - t0 < secs {
            s += lookup(m, n % 100, 0);
            n += 1;
        }
        print("lookups", n > 0, s > 0);
    }
    barrier();
    if rank() == 0 { print("done"); }
}
EOF
  cat >"$comm_dir/deadlock.dtl" <<'EOF'
// A real deadlock: rank 0 waits for a message nobody sends, the other ranks at a barrier.
fn main() {
    if rank() == 0 {
        let x = recv<i64>(source: 1);
        print(x);
    }
    barrier();
}
EOF
  have_mpi=""
  # An MPI build of dtlc prints once per job (rank 0 of one world); a threads-only build once
  # per process.
  if command -v mpirun >/dev/null \
    && [ "$(cd "$comm_dir" && timeout 60 mpirun -n 2 "$DTLC" run one.dtl 2>/dev/null)" == "one" ]; then
    have_mpi=1
  else
    echo "skipped: MPI parts of the comm reliability checks (mpirun not found or dtlc without MPI)"
  fi

  # 1. DTL_WATCHDOG_SECS validation: R0009 with the accepted range, exit 2, never a panic.
  bad_values=(1e20 inf -inf nan -1 -0.5 abc 60s 1e-300 " 1e400 ")
  nv=0
  for v in "${bad_values[@]}"; do
    out=$(cd "$comm_dir" && DTL_WATCHDOG_SECS="$v" timeout 60 "$DTLC" run one.dtl -n 2 2>&1); st=$?
    if [ $st -eq 2 ] && grep -q "error\[R0009\].*DTL_WATCHDOG_SECS.*0 to disable" <<<"$out" \
      && ! grep -qiE "internal compiler error|panicked" <<<"$out"; then
      nv=$((nv + 1))
    else
      bad "DTL_WATCHDOG_SECS='$v' on threads: exit $st: $(head -c 300 <<<"$out")"
    fi
  done
  [ $nv -eq ${#bad_values[@]} ] && ok "DTL_WATCHDOG_SECS invalid values rejected by dtlc on threads (R0009, exit 2)" "$nv"
  out=$(cd "$comm_dir" && DTL_WATCHDOG_SECS="" timeout 60 "$DTLC" run one.dtl -n 2 2>&1); st=$?
  if [ $st -eq 0 ] && [ "$out" == "one" ]; then ok "DTL_WATCHDOG_SECS empty means the default"; else bad "DTL_WATCHDOG_SECS empty: exit $st: $out"; fi
  if [ -n "$have_mpi" ]; then
    nv=0
    for v in 1e20 nan abc -1; do
      out=$(cd "$comm_dir" && DTL_WATCHDOG_SECS="$v" timeout 60 mpirun -n 2 "$DTLC" run one.dtl 2>&1); st=$?
      if [ $st -eq 2 ] && grep -q "error\[R0009\].*DTL_WATCHDOG_SECS" <<<"$out" && ! grep -qiE "internal compiler error|panicked" <<<"$out"; then
        nv=$((nv + 1))
      else
        bad "DTL_WATCHDOG_SECS='$v' under mpirun -n 2: exit $st: $(head -c 300 <<<"$out")"
      fi
    done
    [ $nv -eq 4 ] && ok "DTL_WATCHDOG_SECS invalid values rejected under mpirun (R0009, exit 2)" "$nv"
  fi
  if [ -x "${VENV:-}/bin/python" ] && "$VENV/bin/python" -c 'import dtl' 2>/dev/null; then
    out=$(DTL_WATCHDOG_SECS=1e20 timeout 60 "$VENV/bin/python" -c '
import dtl
try:
    dtl.spmd(2)(lambda ctx: 1)()
except dtl.InvalidArgumentError as e:
    print("rejected:", e)
' 2>&1); st=$?
    if [ $st -eq 0 ] && grep -q "^rejected: .*DTL_WATCHDOG_SECS" <<<"$out"; then
      ok "python: DTL_WATCHDOG_SECS=1e20 raises InvalidArgumentError (no PanicException)"
    else
      bad "python: DTL_WATCHDOG_SECS=1e20: exit $st: $(head -c 300 <<<"$out")"
    fi
  else
    echo "skipped: python part of the DTL_WATCHDOG_SECS check (dtl not installed in \$VENV)"
  fi

  # 2. A correct job that communicates for 3x the limit while others wait is never stopped.
  out=$(cd "$comm_dir" && DTL_WATCHDOG_SECS=1 timeout 120 "$DTLC" run long.dtl -n 3 -D secs=3.0 2>&1); st=$?
  if [ $st -eq 0 ] && grep -q "^done$" <<<"$out"; then
    ok "threads -n 3: lookups for 3x DTL_WATCHDOG_SECS while others wait at a barrier"
  else
    bad "threads -n 3 long lookups: exit $st: $(head -c 300 <<<"$out")"
  fi
  if [ -n "$have_mpi" ]; then
    for n in 2 3; do
      out=$(cd "$comm_dir" && DTL_WATCHDOG_SECS=2 timeout 180 mpirun -n "$n" "$DTLC" run long.dtl -D secs=6.0 2>&1); st=$?
      if [ $st -eq 0 ] && grep -q "^done$" <<<"$out"; then
        ok "mpirun -n $n: lookups for 3x DTL_WATCHDOG_SECS while others wait at a barrier"
      else
        bad "mpirun -n $n long lookups: exit $st: $(head -c 300 <<<"$out")"
      fi
    done
  fi

  # 3. A real deadlock is still reported: R0010, exit 2, where every rank waits.
  out=$(cd "$comm_dir" && DTL_WATCHDOG_SECS=1 timeout 60 "$DTLC" run deadlock.dtl -n 3 2>&1); st=$?
  if [ $st -eq 2 ] && grep -q "error\[R0010\]" <<<"$out" && grep -q "rank 0: probe from rank 1" <<<"$out" \
    && grep -q "rank 2: Barrier at" <<<"$out"; then
    ok "threads -n 3: deadlock reported (R0010, exit 2, every rank's wait)"
  else
    bad "threads -n 3 deadlock: exit $st: $(head -c 400 <<<"$out")"
  fi
  if [ -n "$have_mpi" ]; then
    for n in 2 3; do
      out=$(cd "$comm_dir" && DTL_WATCHDOG_SECS=2 timeout 120 mpirun -n "$n" "$DTLC" run deadlock.dtl 2>&1); st=$?
      want_last="rank $((n - 1)): Barrier at .*deadlock.dtl:7:5"
      if [ $st -eq 2 ] && grep -q "error\[R0010\]" <<<"$out" && grep -q "rank 0: probe from rank 1" <<<"$out" \
        && grep -q "$want_last" <<<"$out"; then
        ok "mpirun -n $n: deadlock reported (R0010, exit 2, every rank's wait)"
      else
        bad "mpirun -n $n deadlock: exit $st: $(head -c 400 <<<"$out")"
      fi
    done
  fi

  # 4. A rank killed with SIGKILL mid-run ends the job (no hang), with the launcher's message.
  if [ -n "$have_mpi" ]; then
    for spec in "2 1" "3 1" "3 0"; do
      read -r n victim <<<"$spec"
      log="$comm_dir/kill-$n-$victim.log"
      (cd "$comm_dir" && DTL_WATCHDOG_SECS=600 timeout 120 mpirun -n "$n" "$DTLC" run "$comm_dir/long.dtl" -D secs=60.0 >"$log" 2>&1; echo "status $?" >>"$log") &
      job=$!
      pid=""
      for _ in $(seq 100); do
        sleep 0.2
        ranks_up=0
        for p in $(pgrep -f "$comm_dir/long.dtl" || true); do
          envs=$(tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null || true)
          grep -q "^PMI_RANK=" <<<"$envs" && ranks_up=$((ranks_up + 1))
          grep -qx "PMI_RANK=$victim" <<<"$envs" && pid=$p
        done
        [ -n "$pid" ] && [ $ranks_up -ge "$n" ] && break
      done
      if [ -z "$pid" ]; then
        bad "kill -9 rank $victim of mpirun -n $n: rank process not found"
        wait $job
        continue
      fi
      sleep 2
      t0=$(date +%s)
      kill -9 "$pid"
      wait $job
      took=$(($(date +%s) - t0))
      st=$(sed -n 's/^status //p' "$log")
      if [ "$st" != 0 ] && [ "$st" != 124 ] && [ $took -lt 30 ] && grep -qiE "killed|signal 9" "$log"; then
        ok "kill -9 rank $victim of mpirun -n $n ends the job (status $st after ${took}s)"
      else
        bad "kill -9 rank $victim of mpirun -n $n: status $st after ${took}s: $(head -c 300 "$log")"
      fi
    done
  fi
  rm -rf "$comm_dir"
fi
