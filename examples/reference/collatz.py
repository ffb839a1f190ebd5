"""Reference for examples/collatz.dtl."""
from collections import Counter
from dtlref import out

n = 100000
steps = [0] * n
for s in range(1, n):
    x, k = s, 0
    while x != 1:
        x = x // 2 if x % 2 == 0 else 3 * x + 1
        k += 1
    steps[s] = k
c = Counter(steps[1:])
longest = max(steps[1:])
first = min(s for s in range(1, n) if steps[s] == longest)
out("longest chain", longest, "steps, first reached from", first)
out("total steps", sum(steps[1:]))
out("distinct chain lengths", len(c))
out("starts needing 0 steps", c[0], "7 steps", c[7], "100 steps", c[100], "999 steps", c[999])
