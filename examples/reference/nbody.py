"""Reference for examples/nbody.dtl.

The dynamics involve no reduction across ranks (each acceleration is a fixed-order loop over j),
so they are bit-reproducible; only the energy and momentum sums depend on the rank count, and
they are checked in the orders of 1..8 ranks."""
import math
import numpy as np
from dtlref import out, rand, stable_round, block_bounds, seq_sum, block_sums

nb, steps, dt, eps2 = 64, 200, 0.001, 0.01
mass = 1.0 / float(nb)
i = np.arange(nb)
qx = rand(1, 3 * i) - 0.5
qy = rand(1, 3 * i + 1) - 0.5
qz = rand(1, 3 * i + 2) - 0.5
vx = -0.5 * qy
vy = 0.5 * qx
vz = np.zeros(nb)


def accelerations(px, py, pz):
    sx, sy, sz = np.zeros(nb), np.zeros(nb), np.zeros(nb)
    for j in range(nb):
        mask = i != j
        dx = px[j] - px
        dy = py[j] - py
        dz = pz[j] - pz
        r2 = ((dx * dx + dy * dy) + dz * dz) + eps2
        w = mass / (r2 * np.sqrt(r2))
        sx = np.where(mask, sx + w * dx, sx)
        sy = np.where(mask, sy + w * dy, sy)
        sz = np.where(mask, sz + w * dz, sz)
    return sx, sy, sz


def energy(px, py, pz, vx, vy, vz):
    kin_terms = (vx * vx + vy * vy) + vz * vz
    kins = [0.5 * mass * s for s in block_sums(kin_terms)]
    # pair terms in the order a rank's accumulator sees them: i ascending, then j > i
    rows = []
    for a in range(nb):
        dx = px[a + 1:] - px[a]
        dy = py[a + 1:] - py[a]
        dz = pz[a + 1:] - pz[a]
        rows.append(-(mass * mass) / np.sqrt(((dx * dx + dy * dy) + dz * dz) + eps2))
    cands = []
    for p in (1, 2, 3, 4, 8):
        tot = 0.0
        for lo, hi in block_bounds(nb, p):
            tot += seq_sum(np.concatenate(rows[lo:hi]) if hi > lo else np.zeros(0))
        cands.append(tot)
    cands.append(float(np.sum(np.concatenate(rows))))
    return [k + p for k in kins for p in cands]


e0 = energy(qx, qy, qz, vx, vy, vz)
p0 = [s * mass for s in block_sums(vx)]
ax, ay, az = accelerations(qx, qy, qz)
for s in range(steps):
    vx = vx + 0.5 * dt * ax
    vy = vy + 0.5 * dt * ay
    vz = vz + 0.5 * dt * az
    qx = qx + dt * vx
    qy = qy + dt * vy
    qz = qz + dt * vz
    ax, ay, az = accelerations(qx, qy, qz)
    vx = vx + 0.5 * dt * ax
    vy = vy + 0.5 * dt * ay
    vz = vz + 0.5 * dt * az
e1 = energy(qx, qy, qz, vx, vy, vz)
p1 = [s * mass for s in block_sums(vx)]
rmax = math.sqrt(float(((qx * qx + qy * qy) + qz * qz).max()))
out("energy before", stable_round(e0, 9))
out("energy after ", stable_round(e1, 9))
drifts = [abs((b - a) / a) for a in e0 for b in e1]
assert all((d < 0.0001) == (drifts[0] < 0.0001) for d in drifts)
out("relative drift below 1e-4", drifts[0] < 0.0001)
out("momentum x", stable_round(p0, 9), stable_round(p1, 9))
out("farthest body", stable_round(rmax, 6))
