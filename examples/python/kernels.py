"""Kernels from strings: saxpy and an energy reduction compiled by dtl.compile, called on
distributed vectors (zero-copy, in place) on every rank, then a whole program run by prog.run.

    python examples/python/kernels.py [ranks]

Runs on in-process thread ranks (dtl.spmd); the same body runs under mpirun with an MPI build.
"""

import sys

import numpy as np

import dtl

SRC = """
fn saxpy(a: f64, x: vector<f64>, y: vector<f64>) { y += a * x; }
fn energy(u: vector<f64>) -> f64 { return sum(u * u); }
fn shift(c: local<f64>, by: f64) { for j in 0..len(c) { c[j] += by; } }
"""

PROGRAM = """
param n: i64 = 1000;
fn main() {
    let v = vector<f64>(n, fill: 0.5);
    let e = sum(v * v);
    if rank() == 0 { print("n", n, "energy", e); }
}
"""

N = 100_000


def body(ctx: dtl.Context) -> float:
    prog = dtl.compile(SRC)  # compiled once per process: every rank gets the same program
    x = dtl.DistributedVector(ctx, N, fill=1.0)
    y = dtl.DistributedVector(ctx, N, fill=0.5)
    prog.saxpy(2.0, x, y)  # y = 2x + y on this rank's elements, in place
    assert np.all(y.local_view() == 2.5)
    c = np.zeros(3)
    prog.shift(c, 1.5)  # a NumPy array bound to local<f64>, written in place
    assert np.all(c == 1.5)
    return float(prog.energy(y))  # collective: every rank calls it and gets the total


def main() -> None:
    ranks = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    energies = dtl.spmd(ranks)(body)()
    assert all(e == 2.5 * 2.5 * N for e in energies), energies
    print(f"energy on {ranks} ranks: {energies[0]}")
    dtl.compile(PROGRAM).run(ranks=ranks, n=10_000)


if __name__ == "__main__":
    main()
