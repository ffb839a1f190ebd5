"""A/B timing of two dtlc binaries on the same programs, for changes whose cost should be nil
(docs/performance-notes.md, "Stop polls"). Each round runs every program once with each binary,
in alternating order, and records the process's user CPU time (steadier than wall time on a
shared machine) and the program's own `time_ms`. Prints median [min..max] per binary and the
median of the paired new/base ratios.

    python3 bench/jit/ab.py BASE_DTLC NEW_DTLC [ROUNDS] [RANKS]
"""

from __future__ import annotations

import os
import statistics as st
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = {
    "pi": ["pi.dtl", "-D", "n=100000000", "-D", "reps=1"],
    "mandel": ["mandel.dtl", "-D", "w=1200", "-D", "h=1200", "-D", "maxiter=200", "-D", "reps=1"],
    "heat": ["heat.dtl", "-D", "n=10000000", "-D", "steps=100", "-D", "reps=1"],
}


def once(dtlc: str, args: list[str], ranks: int) -> tuple[float, float]:
    """(user CPU ms, the program's time_ms) of one run."""
    with tempfile.TemporaryFile(mode="w+") as out:
        pid = os.fork()
        if pid == 0:
            os.dup2(out.fileno(), 1)
            os.execv(dtlc, [dtlc, "run", os.path.join(HERE, args[0]), "-n", str(ranks), *args[1:]])
        _, status, ru = os.wait4(pid, 0)
        if status != 0:
            sys.exit(f"{dtlc} {args[0]} failed ({status})")
        out.seek(0)
        t = [float(line.split()[1]) for line in out if line.startswith("time_ms")]
    return ru.ru_utime * 1000, t[0]


def main() -> None:
    base, new = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    ranks = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    res: dict[tuple[str, str, int], list[float]] = {}
    for r in range(rounds):
        for name, args in PROGRAMS.items():
            for who in ("base", "new") if r % 2 == 0 else ("new", "base"):
                for i, v in enumerate(once(base if who == "base" else new, args, ranks)):
                    res.setdefault((name, who, i), []).append(v)
    print(f"| program ({ranks} rank{'s' if ranks > 1 else ''}) | measure | base: median [min..max] | new: median [min..max] | paired new/base median |")
    print("|---|---|---|---|---|")
    for name in PROGRAMS:
        for i, m in enumerate(("user CPU ms", "time_ms")):
            a, b = res[(name, "base", i)], res[(name, "new", i)]
            f = lambda v: f"{st.median(v):.0f} [{min(v):.0f}..{max(v):.0f}]"  # noqa: E731
            ratio = st.median(y / x for x, y in zip(a, b))
            print(f"| {name} | {m} | {f(a)} | {f(b)} | {ratio:.3f} |")


if __name__ == "__main__":
    main()
