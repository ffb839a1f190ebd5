#!/usr/bin/env bash
# Regenerate examples/NAME.expected from the reference implementation reference/NAME.py and show
# any difference from the committed file. Needs python3 with numpy.
#   examples/reference/run_all.sh          check: exit 1 if any .expected would change
#   examples/reference/run_all.sh --write  rewrite the .expected files
set -u
here="$(cd "$(dirname "$0")" && pwd)"
ex="$(dirname "$here")"
write=0
[ "${1:-}" = "--write" ] && write=1
python3 -c 'import numpy' 2>/dev/null || { echo "run_all.sh: needs python3 with numpy (pip install numpy)" >&2; exit 2; }
status=0
for py in "$here"/*.py; do
    name="$(basename "$py" .py)"
    [ "$name" = "dtlref" ] && continue
    if [ ! -f "$ex/$name.dtl" ]; then echo "?? $name.py has no $name.dtl"; status=1; continue; fi
    got="$(cd "$here" && python3 "$py")" || { echo "FAIL $name: reference failed"; status=1; continue; }
    if [ $write = 1 ]; then
        printf '%s\n' "$got" > "$ex/$name.expected"
        echo "wrote $name.expected"
    elif [ ! -f "$ex/$name.expected" ]; then
        echo "MISSING $name.expected"; status=1
    elif ! diff -u "$ex/$name.expected" <(printf '%s\n' "$got"); then
        echo "DIFF $name"; status=1
    else
        echo "ok   $name"
    fi
done
for dtl in "$ex"/*.dtl; do
    name="$(basename "$dtl" .dtl)"
    [ -f "$here/$name.py" ] || { echo "?? $name.dtl has no reference/$name.py"; status=1; }
done
exit $status
