"""Topology (Cartesian grids) and RoleManager / intergroup messages (MPMD over split)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import dtl


def test_topology_one_rank(ctx: dtl.Context) -> None:
    t = dtl.Topology(ctx)
    assert t.dims == (1, 1) and t.ndims == 2 and t.coords() == (0, 0) and t.rank == 0 and t.size == 1
    assert t.shift(0) == (-1, -1)
    assert dtl.Topology(ctx, periodic=True).shift(1) == (0, 0)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.Topology(ctx, dims=[2])
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.Topology(ctx, dims=[0])
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.Topology(ctx, dims=[1], periodic=[True, False])
    with pytest.raises(dtl.InvalidArgumentError):
        t.coords(1)
    with pytest.raises(dtl.InvalidArgumentError):
        t.rank_of([0])
    with pytest.raises(dtl.InvalidArgumentError):
        t.shift(2)


@pytest.mark.parametrize("p", [2, 3, 4])
def test_topology_grid(p: int) -> None:
    @dtl.spmd(p)
    def run(ctx: dtl.Context) -> Any:
        t = dtl.Topology(ctx, periodic=[True, False])
        src, dst = t.shift(0)
        # A periodic ring along dim 0: pass the rank forward.
        got = dtl.sendrecv(ctx, ctx.rank, dest=dst, source=src) if t.dims[0] > 1 else ctx.rank
        return t.dims, t.coords(), t.rank_of(t.coords()), got, src

    res = run()
    dims = res[0][0]
    assert dims[0] * dims[1] == p and dims[0] >= dims[1]
    for r, (_, coords, back, got, src) in enumerate(res):
        assert back == r and coords == (r // dims[1], r % dims[1])
        assert got == src if dims[0] > 1 else got == r


@pytest.mark.parametrize("p", [2, 3, 4])
def test_roles_and_intergroup(p: int) -> None:
    @dtl.spmd(p)
    def run(ctx: dtl.Context) -> Any:
        rm = dtl.RoleManager(ctx).add_role("producer", 1).add_role("consumer", ctx.size - 1).assign()
        if rm.is_role("producer"):
            for i in range(len(rm.ranks("consumer"))):
                dtl.intergroup_send(rm, np.arange(3) * (i + 1), "consumer", i, tag=5)
            out: Any = None
        else:
            out = dtl.intergroup_recv(rm, "producer", 0, tag=5)
        total = dtl.allreduce(rm.role_context, 1)
        return rm.role, rm.role_rank, rm.role_context.size, total, out

    res = run()
    assert res[0][:4] == ("producer", 0, 1, 1)
    for r in range(1, p):
        role, rr, size, total, out = res[r]
        assert (role, rr, size, total) == ("consumer", r - 1, p - 1, p - 1)
        assert list(out) == [0, r, 2 * r]


def test_role_errors(ctx: dtl.Context) -> None:
    rm = dtl.RoleManager(ctx)
    with pytest.raises(dtl.InvalidArgumentError):
        rm.add_role("a", 0)
    rm.add_role("a", 2)
    with pytest.raises(dtl.InvalidArgumentError):
        rm.add_role("a", 1)
    with pytest.raises(dtl.InvalidArgumentError):
        rm.assign()  # 2 ranks of roles for 1 rank
    with pytest.raises(dtl.InvalidArgumentError):
        rm.ranks("b")
    with pytest.raises(dtl.InvalidArgumentError):
        _ = rm.role_context
    ok = dtl.RoleManager(ctx).add_role("solo", 1).assign()
    assert ok.role == "solo" and ok.roles == ["solo"]
    with pytest.raises(dtl.InvalidArgumentError):
        ok.add_role("late", 1)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.intergroup_send(ok, 1.0, "solo", 3)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.intergroup_recv(ok, "solo", -1)
