"""Version, detection, Environment, Context and the exception hierarchy."""

from __future__ import annotations

import builtins

import numpy as np
import pytest

import dtl


def test_version() -> None:
    assert dtl.__version__ == "0.1.0"
    assert dtl.version_info == (0, 1, 0)


def test_detection_tells_the_truth() -> None:
    # MPI: whatever this build has (the `mpi` cargo feature), consistently reported.
    assert dtl.has_mpi() is bool(dtl._native.has_mpi())
    assert ("mpi" in dtl.backends.available()) == dtl.has_mpi()
    assert dtl.has_cuda() is False
    assert dtl.has_hip() is False
    assert dtl.has_nccl() is False
    assert dtl.has_shmem() is False
    assert dtl.placement_available(dtl.PLACEMENT_HOST)
    assert dtl.placement_available(dtl.PLACEMENT_DEVICE_PREFERRED)
    assert not dtl.placement_available(dtl.PLACEMENT_DEVICE)
    assert not dtl.placement_available(dtl.PLACEMENT_UNIFIED)
    assert dtl.backends.available()[:2] == ["local", "threads"]
    assert dtl.backends.count() == len(dtl.backends.available())
    assert dtl.backends.name() == "local"  # not started by an MPI launcher


def test_environment_lifecycle() -> None:
    before = dtl.Environment.ref_count()
    with dtl.Environment() as env:
        assert dtl.Environment.is_initialized()
        assert dtl.Environment.ref_count() == before + 1
        assert env.has_mpi is dtl.has_mpi() and env.has_cuda is False and env.has_hip is False
        assert env.has_nccl is False and env.has_shmem is False
        ctx = env.make_world_context()
        assert (ctx.rank, ctx.size) == (0, 1)
        cpu = env.make_cpu_context()
        assert cpu.size == 1 and cpu.backend == "local"
        with pytest.raises(dtl.DTLError):
            env.make_world_context(device_id=0)
    assert dtl.Environment.ref_count() == before
    env2 = dtl.Environment()
    env2.close()
    env2.close()
    assert dtl.Environment.ref_count() == before


def test_context_properties(ctx: dtl.Context) -> None:
    assert ctx.rank == 0 and ctx.size == 1 and ctx.is_root
    assert ctx.device_id == -1 and not ctx.has_device
    assert not ctx.has_mpi and not ctx.has_cuda and not ctx.has_nccl
    assert ctx.nccl_mode == -1
    assert ctx.backend == "local"
    ctx.barrier()
    ctx.fence()
    d = ctx.dup()
    assert d.size == 1
    s = ctx.split(color=0, key=0)
    assert s.size == 1
    assert "rank=0" in repr(ctx)


def test_context_gpu_and_nccl_raise(ctx: dtl.Context) -> None:
    with pytest.raises(dtl.BackendError):
        ctx.with_cuda(0)
    with pytest.raises(dtl.BackendError):
        ctx.with_nccl(0)
    with pytest.raises(dtl.BackendError):
        ctx.with_nccl(0, mode=dtl.DTL_NCCL_MODE_NATIVE_ONLY)
    with pytest.raises(dtl.BackendError):
        ctx.split_nccl(color=0, key=0, device_id=0, mode=dtl.DTL_NCCL_MODE_HYBRID_PARITY)
    assert ctx.nccl_supports_native(dtl.DTL_NCCL_OP_ALLREDUCE) is False
    assert ctx.nccl_supports_hybrid(dtl.DTL_NCCL_OP_SCAN) is False
    with pytest.raises(dtl.BackendError):
        dtl.Context(device_id=0)


def test_context_with_mpi4py_comm() -> None:
    mpi = pytest.importorskip("mpi4py.MPI")
    ctx = dtl.Context(comm=mpi.COMM_SELF)
    assert ctx.size == 1
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.Context(comm=object())


def test_exception_hierarchy() -> None:
    assert issubclass(dtl.CommunicationError, dtl.DTLError)
    assert issubclass(dtl.MemoryError, dtl.DTLError) and issubclass(dtl.MemoryError, builtins.MemoryError)
    assert issubclass(dtl.BoundsError, dtl.DTLError) and issubclass(dtl.BoundsError, IndexError)
    assert issubclass(dtl.InvalidArgumentError, dtl.DTLError) and issubclass(dtl.InvalidArgumentError, ValueError)
    assert issubclass(dtl.BackendError, dtl.DTLError)
    assert issubclass(dtl.NotSupportedError, dtl.BackendError)
    assert issubclass(dtl.NotSupportedError, NotImplementedError)
    assert issubclass(dtl.CompileError, dtl.DTLError)
    assert dtl.DTLError.__module__ == "dtl"


def test_error_codes(ctx: dtl.Context) -> None:
    v = dtl.DistributedVector(ctx, 4)
    with pytest.raises(dtl.BoundsError) as e:
        v.owner(4)
    assert e.value.code == "R0001"
    with pytest.raises(dtl.InvalidArgumentError) as e2:
        dtl.broadcast(ctx, 1.0, root=3)
    assert e2.value.code == "R0004"


def test_compile_and_kernel_are_one_function() -> None:
    # The kernels themselves are tested in test_kernels.py.
    assert dtl.kernel is dtl.compile
    assert dtl.compile("fn f() {}").functions == ("f",)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.compile(3)  # type: ignore[arg-type]


def test_policy_constants() -> None:
    assert len({dtl.PARTITION_BLOCK, dtl.PARTITION_CYCLIC, dtl.PARTITION_BLOCK_CYCLIC, dtl.PARTITION_HASH, dtl.PARTITION_REPLICATED}) == 5
    assert len({dtl.PLACEMENT_HOST, dtl.PLACEMENT_DEVICE, dtl.PLACEMENT_UNIFIED, dtl.PLACEMENT_DEVICE_PREFERRED}) == 4
    assert len({dtl.EXEC_SEQ, dtl.EXEC_PAR, dtl.EXEC_ASYNC}) == 3
    ops = [dtl.SUM, dtl.PROD, dtl.MIN, dtl.MAX, dtl.LAND, dtl.LOR, dtl.BAND, dtl.BOR, dtl.BXOR]
    assert len(set(ops)) == 9


def test_all_is_complete() -> None:
    for name in dtl.__all__:
        assert hasattr(dtl, name), name
    assert np is not None
