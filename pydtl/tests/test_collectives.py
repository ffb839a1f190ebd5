"""Collectives and point-to-point messages, on one rank and on 2-4 thread ranks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import dtl

NS = [1, 2, 3, 4]


def test_scalars_one_rank(ctx: dtl.Context) -> None:
    r = dtl.allreduce(ctx, 42.0, op=dtl.SUM)
    assert isinstance(r, float) and r == 42.0
    r2 = dtl.allreduce(ctx, 5)
    assert isinstance(r2, int) and r2 == 5
    r3 = dtl.allreduce(ctx, np.float32(2.5))
    assert isinstance(r3, np.float32) and r3 == 2.5
    r4 = dtl.allreduce(ctx, np.array([1.0, 2.0, 3.0]), op=dtl.SUM)
    assert isinstance(r4, np.ndarray) and (r4 == [1, 2, 3]).all()
    assert dtl.reduce(ctx, 3.0, op=dtl.MAX, root=0) == 3.0
    assert dtl.broadcast(ctx, 7, root=0) == 7
    assert dtl.allreduce(ctx, True, op=dtl.LAND) == np.True_


@pytest.mark.parametrize("p", NS)
def test_allreduce_ops(p: int) -> None:
    @dtl.spmd(p)
    def run(ctx: dtl.Context) -> dict[str, Any]:
        r = ctx.rank
        return {
            "sum": dtl.allreduce(ctx, float(r + 1), op=dtl.SUM),
            "prod": dtl.allreduce(ctx, r + 1, op=dtl.PROD),
            "min": dtl.allreduce(ctx, np.int32(r + 5), op=dtl.MIN),
            "max": dtl.allreduce(ctx, np.array([r, -r]), op=dtl.MAX),
            "land": dtl.allreduce(ctx, np.array([r > 0, True]), op=dtl.LAND),
            "lor": dtl.allreduce(ctx, np.array([r > 0, False]), op=dtl.LOR),
            "band": dtl.allreduce(ctx, np.uint32(0xFF ^ (1 << r)), op=dtl.BAND),
            "bor": dtl.allreduce(ctx, np.int64(1 << r), op=dtl.BOR),
            "bxor": dtl.allreduce(ctx, np.uint8(3), op=dtl.BXOR),
        }

    import math

    for out in run():
        assert out["sum"] == p * (p + 1) / 2
        assert out["prod"] == math.factorial(p)
        assert out["min"] == 5 and isinstance(out["min"], np.int32)
        assert list(out["max"]) == [p - 1, 0]
        assert list(out["land"]) == [p == 1 and False or (p > 0 and all(r > 0 for r in range(p))), True]
        assert list(out["lor"]) == [p > 1, False]
        assert out["band"] == 0xFF & ~sum(1 << r for r in range(p)) & 0xFF
        assert out["bor"] == (1 << p) - 1
        assert out["bxor"] == (3 if p % 2 else 0)


def test_bad_ops(ctx: dtl.Context) -> None:
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.allreduce(ctx, 1.0, op="median")
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.allreduce(ctx, 1.0, op=3)  # type: ignore[arg-type]
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.allreduce(ctx, 1.5, op=dtl.BXOR)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.allreduce(ctx, np.array([1 + 1j]))
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.allreduce(ctx, "text")
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.allreduce(ctx, 1 << 70)


@pytest.mark.parametrize("p", NS)
def test_guide_collective_shapes(p: int) -> None:
    @dtl.spmd(p)
    def run(ctx: dtl.Context) -> dict[str, Any]:
        local_value = np.array([ctx.rank * 10.0])
        out: dict[str, Any] = {}
        out["global_sum"] = dtl.allreduce(ctx, local_value, op=dtl.SUM)
        out["global_max"] = dtl.reduce(ctx, local_value, op=dtl.MAX, root=0)
        data = np.array([1.0, 2.0, 3.0]) if ctx.is_root else np.zeros(3)
        out["bcast"] = dtl.broadcast(ctx, data, root=0)
        my_data = np.array([ctx.rank])
        out["gathered"] = dtl.gather(ctx, my_data, root=0)
        if ctx.is_root:
            all_data: Any = np.arange(ctx.size * 3).reshape(ctx.size, 3)
        else:
            all_data = np.empty((ctx.size, 3))
        out["chunk"] = dtl.scatter(ctx, all_data, root=0)
        out["allgathered"] = dtl.allgather(ctx, my_data)
        out["scalar_gather"] = dtl.allgather(ctx, float(ctx.rank))
        return out

    res = run()
    for r, out in enumerate(res):
        assert out["global_sum"].shape == (1,) and out["global_sum"][0] == 10.0 * p * (p - 1) / 2
        if r == 0:
            assert out["global_max"][0] == 10.0 * (p - 1)
            assert out["gathered"].shape == (p, 1) and list(out["gathered"].ravel()) == list(range(p))
        else:
            assert out["global_max"] is None and out["gathered"] is None
        assert list(out["bcast"]) == [1.0, 2.0, 3.0]
        assert out["chunk"].shape == (3,) and list(out["chunk"]) == [3 * r, 3 * r + 1, 3 * r + 2]
        assert out["allgathered"].shape == (p, 1)
        assert list(out["scalar_gather"]) == [float(i) for i in range(p)]


@pytest.mark.parametrize("p", NS)
def test_v_collectives(p: int) -> None:
    @dtl.spmd(p)
    def run(ctx: dtl.Context) -> dict[str, Any]:
        r = ctx.rank
        mine = np.full(r + 1, r, dtype=np.int32)
        out: dict[str, Any] = {}
        out["allgatherv"] = dtl.allgatherv(ctx, mine)
        counts = [i + 1 for i in range(p)]
        out["gatherv"] = dtl.gatherv(ctx, mine, recvcounts=counts if r == 0 else None, root=0)
        data = np.arange(sum(counts), dtype=np.float32) if r == 0 else None
        out["scatterv"] = dtl.scatterv(ctx, data, counts, root=0)
        # alltoallv: rank r sends (k + 1) copies of r to rank k.
        send = np.concatenate([np.full(k + 1, r, dtype=np.int64) for k in range(p)])
        out["alltoallv"] = dtl.alltoallv(ctx, send, [k + 1 for k in range(p)], [r + 1] * p)
        out["scan"] = dtl.scan(ctx, float(r + 1))
        out["exscan"] = dtl.exscan(ctx, np.int64(r + 1))
        return out

    res = run()
    expect_all = np.concatenate([np.full(i + 1, i) for i in range(p)])
    for r, out in enumerate(res):
        assert (out["allgatherv"] == expect_all).all() and out["allgatherv"].dtype == np.int32
        if r == 0:
            assert (out["gatherv"] == expect_all).all()
        else:
            assert out["gatherv"] is None
        start = sum(i + 1 for i in range(r))
        assert (out["scatterv"] == np.arange(start, start + r + 1)).all()
        assert out["scatterv"].dtype == np.float32
        assert (out["alltoallv"] == np.repeat(np.arange(p), r + 1)).all()
        assert out["scan"] == (r + 1) * (r + 2) / 2
        assert out["exscan"] == r * (r + 1) // 2


def test_collective_argument_errors() -> None:
    @dtl.spmd(3)
    def run(ctx: dtl.Context) -> list[str]:
        caught = []
        for call in (
            lambda: dtl.broadcast(ctx, 1.0, root=3),
            lambda: dtl.reduce(ctx, 1.0, root=-1),
            lambda: dtl.gather(ctx, np.zeros(ctx.rank + 1)),
            lambda: dtl.allgather(ctx, np.zeros(ctx.rank + 1)),
            lambda: dtl.scatter(ctx, np.zeros((2, 2)) if ctx.is_root else None),
            lambda: dtl.scatterv(ctx, np.zeros(5) if ctx.is_root else None, [1, 1, 1]),
            lambda: dtl.scatterv(ctx, np.zeros(3) if ctx.is_root else None, [-1, 2, 2]),
            lambda: dtl.gatherv(ctx, np.zeros(2), recvcounts=[1, 1, 1]),
            lambda: dtl.alltoallv(ctx, np.zeros(3), [1, 1, 1], [2, 2, 2]),
            lambda: dtl.alltoallv(ctx, np.zeros(3), [1, 1]),
        ):
            try:
                call()
            except dtl.InvalidArgumentError as e:
                caught.append(type(e).__name__)
        return caught

    for caught in run():
        assert len(caught) == 10


def test_mismatched_collectives_are_reported_not_hung() -> None:
    @dtl.spmd(2)
    def run(ctx: dtl.Context) -> None:
        if ctx.rank == 0:
            dtl.allreduce(ctx, 1.0)
        else:
            dtl.broadcast(ctx, 1.0)

    with pytest.raises(dtl.CommunicationError):
        run()

    @dtl.spmd(2)
    def dtypes(ctx: dtl.Context) -> None:
        dtl.allreduce(ctx, 1.0 if ctx.rank == 0 else 1)

    with pytest.raises(dtl.CommunicationError):
        dtypes()


def test_rank_exception_propagates() -> None:
    @dtl.spmd(3)
    def run(ctx: dtl.Context) -> None:
        if ctx.rank == 1:
            raise KeyError("boom on rank 1")
        ctx.barrier()

    with pytest.raises(KeyError, match="boom on rank 1"):
        run()


def test_spmd_arguments_and_results() -> None:
    def fn(ctx: dtl.Context, a: int, b: int = 0) -> tuple[int, int, int]:
        inner = dtl.Context()
        assert inner.size == ctx.size and inner.rank == ctx.rank
        return ctx.rank, a, b

    assert dtl.spmd(2)(fn)(5, b=6) == [(0, 5, 6), (1, 5, 6)]
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.spmd(0)(fn)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.spmd(-3)(fn)


def test_context_after_spmd_is_inert() -> None:
    @dtl.spmd(2)
    def run(ctx: dtl.Context) -> Any:
        return ctx, dtl.DistributedVector(ctx, 10)

    res = run()
    ctx, v = res[0]
    with pytest.raises(dtl.InvalidArgumentError):
        ctx.barrier()
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.allreduce(ctx, 1.0)
    with pytest.raises(dtl.InvalidArgumentError):
        v.fence()
    assert v.local_view().shape == (5,)  # local data stays readable
    del res, ctx, v  # dropping them must not hang


@pytest.mark.parametrize("p", [2, 3, 4])
def test_split_and_dup(p: int) -> None:
    @dtl.spmd(p)
    def run(ctx: dtl.Context) -> tuple[int, int, float]:
        sub = ctx.split(color=ctx.rank % 2, key=-ctx.rank)
        d = ctx.dup()
        d.barrier()
        return sub.rank, sub.size, dtl.allreduce(sub, float(ctx.rank))

    res = run()
    for r, (srank, ssize, total) in enumerate(res):
        group = [q for q in range(p) if q % 2 == r % 2]
        assert ssize == len(group)
        assert srank == sorted(group, reverse=True).index(r)
        assert total == float(sum(group))


# ---- point-to-point -----------------------------------------------------------------------------


@pytest.mark.parametrize("p", [2, 3, 4])
def test_ring_send_recv(p: int) -> None:
    @dtl.spmd(p)
    def run(ctx: dtl.Context) -> Any:
        r, n = ctx.rank, ctx.size
        dtl.send(ctx, np.arange(3, dtype=np.int32) + r, dest=(r + 1) % n, tag=7)
        got = dtl.recv(ctx, source=(r - 1) % n, tag=7)
        dtl.send(ctx, float(r), dest=(r + 1) % n)
        f = dtl.recv(ctx, (r - 1) % n, dtype=np.float64)
        x = dtl.sendrecv(ctx, np.ones((2, 2)) * r, dest=(r + 1) % n, source=(r - 1) % n, send_tag=1, recv_tag=1)
        return got, f, x

    for r, (got, f, x) in enumerate(run()):
        left = (r - 1) % p
        assert got.dtype == np.int32 and list(got) == [left, left + 1, left + 2]
        assert isinstance(f, float) and f == left
        assert x.shape == (2, 2) and (x == left).all()


def test_probe_iprobe() -> None:
    @dtl.spmd(2)
    def run(ctx: dtl.Context) -> Any:
        if ctx.rank == 0:
            assert dtl.iprobe(ctx) is None or True
            dtl.send(ctx, np.zeros(4), dest=1, tag=3)
            ctx.barrier()
            return None
        ctx.barrier()
        st = dtl.probe(ctx, source=-1, tag=-1)
        st2 = dtl.iprobe(ctx, source=0, tag=3)
        msg = dtl.recv(ctx, st.source, st.tag)
        none = dtl.iprobe(ctx)
        return st.source, st.tag, st.nbytes, st2 is not None, msg.shape, none, repr(st)

    res = run()[1]
    assert res[:6] == (0, 3, 32, True, (4,), None)
    assert "MessageStatus" in res[6]


def test_p2p_errors() -> None:
    @dtl.spmd(2)
    def run(ctx: dtl.Context) -> int:
        n = 0
        for call in (
            lambda: dtl.send(ctx, 1.0, dest=2),
            lambda: dtl.send(ctx, 1.0, dest=-5),
            lambda: dtl.send(ctx, 1.0, dest=0, tag=-2),
            lambda: dtl.recv(ctx, source=9),
            lambda: dtl.probe(ctx, source=2),
        ):
            try:
                call()
            except dtl.InvalidArgumentError:
                n += 1
        # Wrong dtype / count on receive: both still consume nothing on failure paths below.
        other = 1 - ctx.rank
        dtl.send(ctx, np.zeros(3, np.int32), dest=other)
        try:
            dtl.recv(ctx, other, dtype=np.float64)
        except dtl.InvalidArgumentError:
            n += 1
        dtl.send(ctx, np.zeros(3, np.int32), dest=other)
        try:
            dtl.recv(ctx, other, count=2)
        except dtl.InvalidArgumentError:
            n += 1
        return n

    assert run() == [7, 7]


def test_recv_from_finished_rank_does_not_hang() -> None:
    @dtl.spmd(2)
    def run(ctx: dtl.Context) -> None:
        if ctx.rank == 1:
            dtl.recv(ctx, source=0)

    with pytest.raises(dtl.DTLError):
        run()


def test_one_rank_self_messages(ctx: dtl.Context) -> None:
    dtl.send(ctx, np.arange(4), dest=0, tag=1)
    assert dtl.iprobe(ctx, 0, 1) is not None
    assert list(dtl.recv(ctx, 0, 1)) == [0, 1, 2, 3]
    with pytest.raises(dtl.DTLError):
        dtl.recv(ctx, 0, 1)  # nothing queued: fails at once instead of hanging


def test_spmd_pauses_cycle_collector() -> None:
    import gc

    @dtl.spmd(2)
    def run(ctx: dtl.Context) -> bool:
        v = dtl.DistributedVector(ctx, 8)
        holder: dict[str, Any] = {"v": v}
        holder["self"] = holder  # a cycle through a container
        del holder, v
        return gc.isenabled()

    assert run() == [False, False]
    assert gc.isenabled()
    gc.collect()  # the cycle is collected after the ranks returned: no hang, no crash
