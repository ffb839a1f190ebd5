# The Python package `dtl` (pydtl/): build and install it into $VENV, run its pytest suite,
# check its stubs, and run examples/python/*.py. Sourced by scripts/test-all, which defines
# `step`, `ok NAME [count]`, `bad NAME [count]` and $VENV.

step "pip install ./pydtl (maturin, release) into $VENV"
if [ ! -x "$VENV/bin/python" ]; then
  bad "python venv missing at $VENV"
else
  if ! "$VENV/bin/python" -c 'import mypy' 2>/dev/null; then
    "$VENV/bin/pip" install -q --disable-pip-version-check mypy || echo "warning: mypy did not install; stubtest will be skipped"
  fi
  # The venv has maturin (test-all installs it): build without an isolated environment (no
  # download, and the workspace's target/ is reused).
  iso=""
  [ -x "$VENV/bin/maturin" ] && iso="--no-build-isolation"
  # With MPICH present, build the MPI variant (`Context()` under mpirun spans the processes;
  # pydtl/tests/test_mpi.py runs it under mpirun); else, or if that build fails, the default.
  installed=""
  if command -v mpirun >/dev/null && command -v mpicc >/dev/null; then
    if PATH="$VENV/bin:$PATH" MATURIN_PEP517_ARGS="--features mpi" "$VENV/bin/pip" install -q --disable-pip-version-check --force-reinstall --no-deps $iso ./pydtl; then
      installed="with --features mpi"
    else
      echo "warning: the MPI build of pydtl failed; building without MPI"
    fi
  fi
  if [ -z "$installed" ] && PATH="$VENV/bin:$PATH" "$VENV/bin/pip" install -q --disable-pip-version-check --force-reinstall --no-deps $iso ./pydtl; then
    installed="without MPI"
  fi
  if [ -n "$installed" ]; then
    ok "pip install ./pydtl ($installed)"

    step "pytest pydtl/tests (warnings are errors)"
    log=$(mktemp)
    (cd pydtl && "$VENV/bin/python" -m pytest -q -rs -W error -p no:cacheprovider tests) 2>&1 | tee "$log"
    summary=$(grep -E "[0-9]+ (passed|failed|errors?)( |,|$)" "$log" | tail -n 1)
    pp=$(awk '{ for (i = 1; i < NF; i++) if ($(i+1) ~ /^passed/) s += $i } END { print s + 0 }' <<<"$summary")
    pf=$(awk '{ for (i = 1; i < NF; i++) if ($(i+1) ~ /^(failed|errors?)/) s += $i } END { print s + 0 }' <<<"$summary")
    [ "$pp" -gt 0 ] && ok "pytest" "$pp"
    if [ "$pf" -gt 0 ]; then bad "pytest: $pf failed" "$pf"; elif [ "$pp" -eq 0 ]; then bad "pytest ran nothing"; fi
    rm -f "$log"

    step "mypy.stubtest dtl (with dtl._native); mypy --strict on the examples and tests"
    if "$VENV/bin/python" -c 'import mypy' 2>/dev/null; then
      if (cd /tmp && "$VENV/bin/python" -m mypy.stubtest dtl); then ok "stubtest"; else bad "stubtest"; fi
      # The stubs in use: the examples and tests type-check against them.
      if "$VENV/bin/python" -m mypy --strict --no-incremental --cache-dir=/dev/null examples/python pydtl/tests; then ok "mypy --strict examples/python pydtl/tests"; else bad "mypy --strict examples/python pydtl/tests"; fi
    else
      echo "skipped: stubtest (mypy not installed)"
    fi

    step "examples/python/*.py (1 and 4 thread ranks)"
    for ex in examples/python/*.py; do
      for n in 1 4; do
        if timeout 300 "$VENV/bin/python" "$ex" "$n" >/dev/null; then ok "python example $(basename "$ex") -n $n"; else bad "python example $(basename "$ex") -n $n"; fi
      done
    done
  else
    bad "pip install ./pydtl"
  fi
fi
