# Front-end robustness (issue #13 §3 and §7): inputs that used to run for minutes, take
# gigabytes, overflow the stack or panic, checked at the process level with the release dtlc.
# Sourced by scripts/test-all with $DTLC, $ROOT, `step`, `ok` and `bad`. Every command runs
# under a generous `timeout` (the machine may be loaded); the times it took are printed.
step "front end: huge inputs, bounded diagnostics, compile time, output errors"
if [ -z "${DTLC:-}" ] || [ ! -x "$DTLC" ]; then
  echo "skipped: dtlc is not built"
else
  fe=$(mktemp -d)
  python3 - "$fe" <<'PY'
import sys
d = sys.argv[1]
w = lambda name, text: open(f"{d}/{name}", "w").write(text)
w("stmts.dtl", "fn main() { let mut x = 0; " + "x += 1; " * 200_000 + "print(x); }\n")
w("dup_lets.dtl", "fn main() { " + "let x = 1; " * 200_000 + "}\n")
w("dup_fns.dtl", "fn f() { }\n" * 200_000 + "fn main() { }\n")
w("dup_json.dtl", "fn main() { " + "let x = 1; " * 20_000 + "}\n")
w("elif.dtl", "fn main() { let a = rank() == 0; if a { } " + "else if a { } " * 100_000 + "}\n")
w("ann.dtl", "fn main() { let u = vector<f64>(10)" + " @block" * 100_000 + "; }\n")
n = 100_000
w("chain.dtl", "".join(f"fn f{i}() {{ f{i+1}(); }}\n" for i in range(n))
  + f"fn f{n}() {{ barrier(); }}\nfn main() {{ f0(); }}\n")
w("typos.dtl", "fn main() { " + "".join(f"let a{i} = 1; " for i in range(n))
  + "".join(f"b{i}; " for i in range(n)) + "}\n")
w("allocs.dtl", "fn main() {\n" + "".join(f"    let u{i} = vector<f64>(4);\n" for i in range(8000))
  + "    if rank() == 0 { print(8000); }\n}\n")
w("tokens.dtl", "fn main() {\n" + "    let x = 1 + 2 * 3;\n" * 20_000 + "}\n")
PY
  # name, expected status, timeout, grep pattern on the output (or -), command...
  fe_case() {
    local name=$1 want=$2 secs=$3 pat=$4
    shift 4
    local t0 t1 st
    t0=$(date +%s.%N)
    timeout "$secs" "$@" >"$fe/out" 2>&1
    st=$?
    t1=$(date +%s.%N)
    local dt
    dt=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
    local size
    size=$(wc -c <"$fe/out")
    if [ "$st" -ne "$want" ]; then
      bad "front end: $name: exit $st (want $want) after ${dt}s: $(tail -c 300 "$fe/out")"
    elif grep -q "internal compiler error" "$fe/out"; then
      bad "front end: $name: internal compiler error"
    elif [ "$pat" != "-" ] && ! grep -q -- "$pat" "$fe/out"; then
      bad "front end: $name: output lacks \`$pat\`: $(tail -c 300 "$fe/out")"
    else
      ok "front end: $name (${dt}s, $size bytes of output)"
    fi
  }
  fe_case "200,000 statements on one line" 0 30 - "$DTLC" check "$fe/stmts.dtl"
  fe_case "200,000 duplicate lets on one line" 1 30 "and 199899 more errors" "$DTLC" check "$fe/dup_lets.dtl"
  [ "$(wc -c <"$fe/out")" -lt 400000 ] && ok "front end: 200,000 duplicates render under 400 kB" || bad "front end: 200,000 duplicates render $(wc -c <"$fe/out") bytes"
  fe_case "200,000 duplicate functions" 1 30 "and 199899 more errors" "$DTLC" check "$fe/dup_fns.dtl"
  fe_case "--format json lists every diagnostic" 1 60 - "$DTLC" check --format json "$fe/dup_json.dtl"
  n=$(grep -c '"code": "E0102"' "$fe/out")
  [ "$n" -eq 19999 ] && ok "front end: json has all 19,999 diagnostics" || bad "front end: json has $n of 19,999 diagnostics"
  fe_case "else-if chain of 100,000" 1 30 "else if\` chain nested too deeply" "$DTLC" check "$fe/elif.dtl"
  fe_case "100,000 annotations" 1 30 "two partition annotations" "$DTLC" check "$fe/ann.dtl"
  fe_case "call chain of 100,000 functions" 0 60 - "$DTLC" check "$fe/chain.dtl"
  fe_case "100,000 unknown names among 100,000 locals" 1 60 "E0101" "$DTLC" check "$fe/typos.dtl"
  fe_case "8,000 container allocations compile" 0 120 "^8000$" "$DTLC" run -n 2 "$fe/allocs.dtl"
  # Output errors: a closed pipe is quiet, a full disk is an error.
  timeout 60 "$DTLC" --emit=tokens "$fe/tokens.dtl" 2>"$fe/err" | head -c 10 >/dev/null
  st=${PIPESTATUS[0]}
  if [ "$st" -eq 0 ] && ! grep -q "internal compiler error" "$fe/err"; then ok "front end: closed stdout"; else bad "front end: closed stdout: exit $st: $(head -c 300 "$fe/err")"; fi
  if [ -w /dev/full ]; then
    timeout 60 "$DTLC" --emit=tokens "$fe/tokens.dtl" >/dev/full 2>"$fe/err"
    st=$?
    if [ "$st" -eq 2 ] && grep -q "cannot write the output" "$fe/err"; then ok "front end: full disk (emit)"; else bad "front end: full disk (emit): exit $st"; fi
    timeout 60 "$DTLC" run -n 2 "$ROOT/tests/spec/examples/hello.dtl" >/dev/full 2>"$fe/err"
    st=$?
    if [ "$st" -eq 2 ] && grep -q "cannot write the output" "$fe/err"; then ok "front end: full disk (print)"; else bad "front end: full disk (print): exit $st"; fi
  else
    echo "skipped: /dev/full is absent"
  fi
  rm -rf "$fe"
fi
