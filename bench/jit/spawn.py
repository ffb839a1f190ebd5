"""Wall time of whole processes, start to exit (fork/exec included): runs CMD... REPS times, each
a fresh process, after one untimed warm-up run, and prints `NAME value_ms` per run. Lines of the
command's output that look like samples (`word_ms number`) are passed through; the rest is
discarded. usage: python spawn.py NAME REPS CMD..."""
import re
import subprocess
import sys
import time

name, reps, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
for _ in range(reps):
    t = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True, text=True)
    dt = time.perf_counter() - t
    for line in p.stdout.splitlines():
        if re.fullmatch(r"\w+_ms [0-9.eE+-]+", line):
            print(line)
    print(f"{name} {dt * 1e3:.3f}", flush=True)
