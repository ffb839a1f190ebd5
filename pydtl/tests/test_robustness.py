"""Nothing a caller passes may crash or hang the interpreter."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

import dtl

ODD: list[Any] = [
    None, -1, 0, 1, 2**63, -(2**63) - 1, 1.5, float("nan"), "x", b"x", [], [1, 2], (3,),
    np.zeros(0), np.zeros((2, 0)), np.array([1 + 2j]), np.array(["a"]), object(), np.zeros((3, 3))[:, 1],
]


def test_collectives_with_odd_values(ctx: dtl.Context) -> None:
    fns = [
        lambda v: dtl.allreduce(ctx, v),
        lambda v: dtl.reduce(ctx, v),
        lambda v: dtl.broadcast(ctx, v),
        lambda v: dtl.gather(ctx, v),
        lambda v: dtl.scatter(ctx, v),
        lambda v: dtl.allgather(ctx, v),
        lambda v: dtl.allgatherv(ctx, v),
        lambda v: dtl.gatherv(ctx, v),
        lambda v: dtl.scatterv(ctx, v, [1]),
        lambda v: dtl.alltoallv(ctx, v, [1]),
        lambda v: dtl.send(ctx, v, 0),
        lambda v: dtl.allreduce(ctx, 1.0, op=v),
        lambda v: dtl.broadcast(ctx, 1.0, root=v),
    ]
    for f, v in itertools.product(fns, ODD):
        try:
            f(v)
        except (dtl.DTLError, TypeError, OverflowError):
            pass
    # Drain anything sent to self.
    while dtl.iprobe(ctx) is not None:
        dtl.recv(ctx)


def test_constructors_with_odd_values(ctx: dtl.Context) -> None:
    for cls, v in itertools.product([dtl.DistributedVector, dtl.DistributedArray, dtl.DistributedTensor], ODD):
        for kw in ({}, {"dtype": v}, {"fill": v}, {"partition": v}, {"placement": v}, {"block_size": v}):
            try:
                cls(ctx, v if not kw else 4, **kw)
            except (dtl.DTLError, TypeError, OverflowError):
                pass


def test_container_methods_with_odd_values(ctx: dtl.Context) -> None:
    v = dtl.DistributedVector(ctx, 4)
    for name, x in itertools.product(["is_local", "owner", "get", "resize", "gather_to_numpy"], ODD):
        try:
            getattr(v, name)(x)
        except (dtl.DTLError, TypeError, OverflowError):
            pass
    for x in ODD:
        for f in (dtl.fill, dtl.find, dtl.count):
            try:
                f(v, x)
            except (dtl.DTLError, TypeError, OverflowError):
                pass
    assert v.global_size in (4, 0, 1, 2)


def test_rma_with_odd_values(ctx: dtl.Context) -> None:
    win = dtl.Window(ctx, size=64)
    for x in ODD:
        for f in (
            lambda: dtl.rma_put(win, x, 0, np.zeros(1)),
            lambda: dtl.rma_put(win, 0, x, np.zeros(1)),
            lambda: dtl.rma_put(win, 0, 0, x),
            lambda: dtl.rma_get(win, 0, 0, x),
            lambda: dtl.rma_get(win, 0, 0, 8, dtype=x),
            lambda: dtl.rma_accumulate(win, 0, 0, x),
            lambda: dtl.rma_fetch_and_add(win, 0, 0, x),
            lambda: dtl.rma_compare_and_swap(win, 0, 0, x, x),
            lambda: win.flush(x),
            lambda: win.lock(x),
        ):
            try:
                f()
            except (dtl.DTLError, TypeError, OverflowError):
                pass
    win.free()
    win.free()


@pytest.mark.parametrize("p", [2, 4])
def test_root_out_of_range_on_every_rank(p: int) -> None:
    @dtl.spmd(p)
    def run(ctx: dtl.Context) -> int:
        n = 0
        for root in (-1, p, 10**6):
            for f in (dtl.broadcast, dtl.gather, dtl.reduce):
                try:
                    f(ctx, 1.0, root=root)
                except dtl.InvalidArgumentError:
                    n += 1
        return n

    assert run() == [9] * p
