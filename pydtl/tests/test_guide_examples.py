"""Every example of the DTL Python guide, as written (run on 1 and on several thread ranks).

Changes allowed by PYTHON.md: ``reduce``/``gather`` return ``None`` off root, the
"UNDEFINED BEHAVIOR" view example is safe, ``Context(comm=…)`` needs an MPI build for more
than one process.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import dtl

NS = [1, 3, 4]


def spmd_run(p: int, fn: Any) -> list[Any]:
    return dtl.spmd(p)(fn)()


@pytest.mark.parametrize("p", NS)
def test_quick_start(p: int) -> None:
    def body(_: dtl.Context) -> Any:
        with dtl.Context() as ctx:
            vec = dtl.DistributedVector(ctx, size=1000, dtype=np.float64)
            local = vec.local_view()
            local[:] = np.arange(len(local)) + vec.local_offset
            local_sum = np.sum(local)
            global_sum = dtl.allreduce(ctx, local_sum, op=dtl.SUM)
            return global_sum

    assert spmd_run(p, body) == [999 * 1000 / 2] * p


def test_environment_examples() -> None:
    env = dtl.Environment()
    with dtl.Environment() as env2:
        ctx = env2.make_world_context()
        assert f"Rank {ctx.rank} of {ctx.size}" == "Rank 0 of 1"
    ctx = env.make_world_context()
    ctx = env.make_cpu_context()
    assert ctx.size == 1
    assert dtl.Environment.is_initialized()
    env.close()


@pytest.mark.parametrize("p", NS)
def test_containers_section(p: int) -> None:
    def body(ctx: dtl.Context) -> Any:
        vec = dtl.DistributedVector(ctx, size=10000, dtype=np.float64)
        vec = dtl.DistributedVector(ctx, size=10000, dtype=np.float32, fill=0.0)
        local = vec.local_view()
        local[:] = np.random.randn(len(local))
        owners = {vec.owner(i) for i in range(0, 10000, 997)}
        assert vec.is_local(vec.local_offset)
        arr = dtl.DistributedArray(ctx, size=1000, dtype=np.float64)
        arr = dtl.DistributedArray(ctx, size=1000, dtype=np.float64, fill=0.0)
        arr = dtl.DistributedArray(ctx, size=1000, dtype=np.float64, partition=dtl.PARTITION_CYCLIC)
        al = arr.local_view()
        al[:] = np.arange(len(al))
        assert not hasattr(arr, "resize")
        vec2 = dtl.DistributedVector(ctx, size=1000, dtype=np.float64)
        span = dtl.DistributedSpan(vec2)
        span.local_view()
        span.to_numpy()
        span.subspan(10, 20)
        tensor = dtl.DistributedTensor(ctx, shape=(100, 64, 64), dtype=np.float32)
        tl = tensor.local_view()
        tl[:] = np.random.randn(*tl.shape)
        return vec.global_size, arr.global_size, tensor.shape, tensor.local_shape, len(owners)

    res = spmd_run(p, body)
    assert sum(r[3][0] for r in res) == 100
    assert all(r[:3] == (10000, 1000, (100, 64, 64)) for r in res)


@pytest.mark.parametrize("p", NS)
def test_policy_section(p: int) -> None:
    def body(ctx: dtl.Context) -> Any:
        vec_block = dtl.DistributedVector(ctx, size=1000, dtype=np.float64, partition=dtl.PARTITION_BLOCK)
        vec_cyclic = dtl.DistributedVector(ctx, size=1000, dtype=np.float64, partition=dtl.PARTITION_CYCLIC)
        cpu_vec = dtl.DistributedVector(ctx, size=1000, dtype=np.float64, placement=dtl.PLACEMENT_HOST)
        if dtl.has_cuda():
            dtl.DistributedVector(ctx, size=1000, dtype=np.float64, placement=dtl.PLACEMENT_DEVICE)
        return vec_block.partition_policy, vec_cyclic.partition_policy, cpu_vec.placement_policy

    assert spmd_run(p, body)[0] == (dtl.PARTITION_BLOCK, dtl.PARTITION_CYCLIC, dtl.PLACEMENT_HOST)


@pytest.mark.parametrize("p", NS)
def test_numpy_integration(p: int) -> None:
    def body(ctx: dtl.Context) -> Any:
        vec = dtl.DistributedVector(ctx, 1000)
        local = vec.local_view()
        local[:] = np.sin(np.arange(len(local)))
        mean = np.mean(local)
        local_sorted = np.sort(local)
        np.multiply(local, 2, out=local)
        local[:] = np.exp(local)
        vec = dtl.DistributedVector(ctx, 1000)
        local = vec.local_view()
        local[:] = 0
        local = dtl.DistributedVector(ctx, 1000).local_view()
        local[:] = 0  # safe here: the view keeps its vector alive
        return float(mean), local_sorted.shape

    spmd_run(p, body)


@pytest.mark.parametrize("p", NS)
def test_example_1_distributed_mean(p: int) -> None:
    def body(_: dtl.Context) -> Any:
        with dtl.Context() as ctx:
            vec = dtl.DistributedVector(ctx, size=1_000_000, dtype=np.float64)
            local = vec.local_view()
            np.random.seed(42 + ctx.rank)
            local[:] = np.random.randn(len(local))
            local_sum = np.sum(local)
            local_count = len(local)
            global_sum = dtl.allreduce(ctx, local_sum, op=dtl.SUM)
            global_count = dtl.allreduce(ctx, float(local_count), op=dtl.SUM)
            global_mean = global_sum / global_count
            return global_mean, global_count

    res = spmd_run(p, body)
    assert res[0][1] == 1_000_000.0 and abs(res[0][0]) < 0.01
    assert len({r[0] for r in res}) == 1


@pytest.mark.parametrize("p", NS)
def test_example_2_dot_product(p: int) -> None:
    def body(_: dtl.Context) -> Any:
        with dtl.Context() as ctx:
            N = 100_000
            a = dtl.DistributedVector(ctx, size=N, dtype=np.float64)
            b = dtl.DistributedVector(ctx, size=N, dtype=np.float64)
            local_a = a.local_view()
            local_b = b.local_view()
            local_a[:] = np.arange(len(local_a)) + a.local_offset
            local_b[:] = 2.0
            local_dot = np.dot(local_a, local_b)
            global_dot = dtl.allreduce(ctx, local_dot, op=dtl.SUM)
            return global_dot, N * (N - 1)

    for got, expected in spmd_run(p, body):
        assert got == expected


@pytest.mark.parametrize("p", NS)
def test_example_3_stencil(p: int) -> None:
    def body(_: dtl.Context) -> Any:
        with dtl.Context() as ctx:
            N = 1000
            vec = dtl.DistributedVector(ctx, size=N, dtype=np.float64)
            local = vec.local_view()
            local[:] = np.sin(np.linspace(0, 2 * np.pi, vec.global_size))[vec.local_offset : vec.local_offset + len(local)]
            result = np.zeros_like(local)
            for i in range(1, len(local) - 1):
                result[i] = 0.25 * local[i - 1] + 0.5 * local[i] + 0.25 * local[i + 1]
            result[0] = local[0]
            result[-1] = local[-1]
            local[:] = result
            ctx.barrier()
            return "Stencil computation complete" if ctx.is_root else None

    assert spmd_run(p, body)[0] == "Stencil computation complete"


@pytest.mark.parametrize("p", NS)
def test_rma_distributed_counter(p: int) -> None:
    def body(_: dtl.Context) -> Any:
        with dtl.Context() as ctx:
            counter = np.zeros(1, dtype=np.int64)
            win = dtl.Window(ctx, base=counter)
            win.lock(target=0, mode="exclusive")
            dtl.rma_fetch_and_add(win, target=0, offset=0, addend=1, dtype=np.int64)
            win.unlock(target=0)
            ctx.barrier()
            out = int(counter[0]) if ctx.is_root else None
            win.free()
            return out

    assert spmd_run(p, body)[0] == p


def test_exception_handling_example(ctx: dtl.Context) -> None:
    caught = None
    try:
        dtl.DistributedVector(ctx, -1)
    except dtl.InvalidArgumentError as e:
        caught = f"Invalid argument: {e}"
    except dtl.DTLError as e:
        caught = f"DTL error: {e}"
    assert caught is not None and caught.startswith("Invalid argument")


def test_mpi4py_interop_one_process() -> None:
    mpi = pytest.importorskip("mpi4py.MPI")
    world = mpi.COMM_WORLD
    if world.Get_size() != 1:
        pytest.skip("multi-process MPI needs an MPI build of dtl")
    ctx = dtl.Context(comm=world)
    color = ctx.rank % 2
    sub_comm = world.Split(color, ctx.rank)
    sub_ctx = dtl.Context(comm=sub_comm)
    vec = dtl.DistributedVector(sub_ctx, 1000)
    assert vec.local_size == 1000
    sub_comm.Free()
