# Run-time faults as processes (issue #13 §4, §6, §7; docs/reliability/faults.md): deep and
# endless recursion end with R0015 and exit 2 (never SIGSEGV, never a hung mpirun), containers
# larger than the machine's memory are R0006 at once (never a thrashing machine), too many
# thread ranks are refused, and `save` after a failure leaves the old file untouched, on
# threads and under mpirun. Sourced by scripts/test-all with $DTLC, $ROOT, step, ok, bad.

step "reliability: run-time faults (recursion, memory, rank limit, atomic save) on threads and MPI"
if [ -z "${DTLC:-}" ] || [ ! -x "$DTLC" ]; then
  echo "skipped: dtlc is not built"
else
  flt=$(mktemp -d)
  cat >"$flt/rec.dtl" <<'EOF'
fn f(x: i64) -> i64 { return f(x + 1) + 1; }
fn main() { print(f(0)); }
EOF
  cat >"$flt/rec_containers.dtl" <<'EOF'
fn f(v: vector<f64>, d: i64) -> f64 { let w = vector<f64>(4); return f(w, d + 1) + sum(v); }
fn main() { let v = vector<f64>(4); print(f(v, 0)); }
EOF
  cat >"$flt/fib.dtl" <<'EOF'
param n: i64 = 27;
fn fib(x: i64) -> i64 { if x < 2 { return x; } return fib(x - 1) + fib(x - 2); }
fn main() { let r = fib(n); if rank() == 0 { print(r); } }
EOF
  cat >"$flt/big.dtl" <<'EOF'
param n: i64 = 1000;
fn main() { let u = vector<f64>(n); u = 1.0; let s = sum(u); if rank() == 0 { print(s); } }
EOF
  cat >"$flt/save_fail.dtl" <<'EOF'
fn main() {
    let u = vector<f64>(1000, fill: 7.0);
    if rank() == 1 { assert(false, "rank 1 gives up"); }
    save(u, "x.npy");
}
EOF
  # name, command (run in $flt), expected status, a pattern stderr must show, time limit
  flt_check() {
    local name=$1 cmd=$2 want_st=$3 want=$4 limit=$5
    local t0 st out
    t0=$(date +%s)
    out=$(cd "$flt" && timeout "$limit" bash -c "$cmd" 2>&1 >/dev/null); st=$?
    if [ "$st" -eq "$want_st" ] && grep -q -- "$want" <<<"$out"; then
      ok "$name ($(( $(date +%s) - t0 )) s)"
    else
      bad "$name: want exit $want_st and '$want', got exit $st: $(head -c 300 <<<"$out")"
    fi
  }
  # Memory: 1.5 times this machine's RAM over two ranks, each part below the RAM (so each
  # allocation alone would succeed and the machine would thrash).
  mem_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
  big_n=$(( mem_kb * 1024 * 3 / 2 / 8 ))
  flt_check "endless recursion: R0015, exit 2 (threads)" "$DTLC run rec.dtl -n 2" 2 '^error\[R0015\]: .* at rec.dtl:1:1 (rank [01])' 60
  flt_check "recursion through containers: R0015, exit 2 (threads)" "$DTLC run rec_containers.dtl -n 2" 2 '^error\[R0015\]: .* at rec_containers.dtl:1:1 (rank [01])' 120
  flt_check "container of 1.5x RAM: R0006 at once (threads)" "$DTLC run big.dtl -n 2 -D n=$big_n" 2 '^error\[R0006\]: out of memory: .* at big.dtl:2:21 (rank [01])' 30
  flt_check "5000 thread ranks refused with the limit" "$DTLC run fib.dtl -n 5000" 2 'thread ranks are more than this machine runs well' 30
  got=$(cd "$flt" && timeout 60 "$DTLC" run fib.dtl -n 2 2>&1)
  if [ "$got" == "196418" ]; then ok "recursive fib(27) with the stack check"; else bad "fib(27): $got"; fi
  printf 'the old contents' >"$flt/x.npy"
  flt_check "save after a rank failed (threads)" "$DTLC run save_fail.dtl -n 3" 2 '^error\[R0005\]' 60
  if [ "$(cat "$flt/x.npy")" == "the old contents" ] && [ "$(ls -A "$flt" | grep -c dtl-tmp)" -eq 0 ]; then
    ok "save after a rank failed leaves the old file (threads)"
  else
    bad "save after a rank failed changed x.npy or left a temporary file (threads): $(ls -A "$flt")"
  fi
  if command -v mpirun >/dev/null; then
    if (cd "$flt" && timeout 60 mpirun -n 1 "$DTLC" run fib.dtl --backend mpi >/dev/null 2>&1); then
      flt_check "endless recursion: R0015, exit 2 (mpirun -n 2)" "DTL_WATCHDOG_SECS=60 mpirun -n 2 $DTLC run rec.dtl" 2 '^error\[R0015\]: .* at rec.dtl:1:1 (rank [01])' 90
      flt_check "container of 1.5x RAM: R0006 at once (mpirun -n 2)" "mpirun -n 2 $DTLC run big.dtl -D n=$big_n" 2 '^error\[R0006\]: out of memory: .* on each of the 2 ranks' 60
      flt_check "save after a rank failed (mpirun -n 2)" "mpirun -n 2 $DTLC run save_fail.dtl" 2 '^error\[R0005\]' 60
      if [ "$(cat "$flt/x.npy")" == "the old contents" ] && [ "$(ls -A "$flt" | grep -c dtl-tmp)" -eq 0 ]; then
        ok "save after a rank failed leaves the old file (mpirun -n 2)"
      else
        bad "save after a rank failed changed x.npy or left a temporary file (mpirun -n 2): $(ls -A "$flt")"
      fi
    else
      echo "skipped: MPI parts of the fault checks (this dtlc has no MPI backend)"
    fi
  else
    echo "skipped: MPI parts of the fault checks (mpirun not found)"
  fi
  rm -rf "$flt"
fi
