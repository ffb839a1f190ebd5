"""Reference for examples/heat1d_long.dtl."""
import math
import numpy as np
from dtlref import out, stable_round, block_sums, dround

n, steps, report = 201, 5000, 1000
PI = 3.141592653589793
h = 1.0 / (n - 1)
r = 0.45
u = np.array([math.sin(PI * (float(i) * h)) + 0.5 * math.sin(7.0 * PI * (float(i) * h))
              for i in range(n)])
m0s = block_sums(u)
m0 = m0s[0]
for s in range(1, steps + 1):
    v = np.zeros(n)
    v[1:-1] = u[1:-1] + r * ((u[:-2] - 2.0 * u[1:-1]) + u[2:])
    u = v
    if s % report == 0:
        peak = float(u.max())
        masses = [a / b for a, b in zip(block_sums(u), m0s)]
        out("step", s, "peak", stable_round(peak, 9), "mass", stable_round(masses, 9))
g1 = 1.0 - 4.0 * r * math.pow(math.sin(PI * h / 2.0), 2.0)
g7 = 1.0 - 4.0 * r * math.pow(math.sin(7.0 * PI * h / 2.0), 2.0)
predicted = math.pow(g1, float(steps)) - 0.5 * math.pow(g7, float(steps))
centre = float(u[(n - 1) // 2])
out("centre", stable_round(centre, 9), "predicted", stable_round(predicted, 9))
out("argmax", int(np.argmax(u)), "ends", float(u[0]), float(u[n - 1]))
