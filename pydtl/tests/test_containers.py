"""Containers: construction, properties, zero-copy views and their safety, resize, NumPy."""

from __future__ import annotations

import gc
from typing import Any

import numpy as np
import pytest

import dtl

DTYPES = [np.float64, np.float32, np.int64, np.int32, np.uint64, np.uint32, np.int8, np.uint8]


def block_range(n: int, p: int, r: int) -> tuple[int, int]:
    base, extra = divmod(n, p)
    start = r * base + min(r, extra)
    return start, start + base + (1 if r < extra else 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_vector_dtypes(ctx: dtl.Context, dtype: Any) -> None:
    v = dtl.DistributedVector(ctx, size=10, dtype=dtype, fill=3)
    assert v.dtype == np.dtype(dtype)
    lv = v.local_view()
    assert lv.dtype == np.dtype(dtype)
    assert (lv == 3).all()
    assert v.to_numpy().dtype == np.dtype(dtype)


def test_vector_properties(ctx: dtl.Context) -> None:
    v = dtl.DistributedVector(ctx, size=1000, dtype=np.float64)
    assert v.global_size == 1000 and v.local_size == 1000 and v.local_offset == 0
    assert len(v) == 1000
    assert v.shape == (1000,) and v.local_shape == (1000,) and v.ndim == 1
    assert v.partition_policy == dtl.PARTITION_BLOCK
    assert v.placement_policy == dtl.PLACEMENT_HOST
    assert v.is_local(0) and v.is_local(999) and not v.is_local(1000) and not v.is_local(-1)
    assert v.owner(999) == 0
    with pytest.raises(dtl.BoundsError):
        v.owner(1000)
    with pytest.raises(dtl.BoundsError):
        v.owner(-1)
    assert "float64" in repr(v)


def test_fill_and_default_dtype(ctx: dtl.Context) -> None:
    v = dtl.DistributedVector(ctx, 5)
    assert v.dtype == np.float64
    assert (v.local_view() == 0).all()
    w = dtl.DistributedVector(ctx, size=10000, dtype=np.float32, fill=0.0)
    assert w.local_view().sum() == 0
    i = dtl.DistributedVector(ctx, 4, np.int32, fill=7.0)
    assert (i.local_view() == 7).all()
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.DistributedVector(ctx, 4, np.int32, fill=7.5)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.DistributedVector(ctx, 4, np.uint8, fill=300)


def test_local_view_is_zero_copy(ctx: dtl.Context) -> None:
    v = dtl.DistributedVector(ctx, 8)
    a = v.local_view()
    b = v.local_view()
    assert a.ctypes.data == b.ctypes.data
    a[:] = np.arange(8)
    assert (v.to_numpy() == np.arange(8)).all()
    np.multiply(a, 2, out=a)
    assert v.get(3) == 6.0
    assert a.flags.writeable


def test_view_keeps_container_alive(ctx: dtl.Context) -> None:
    # The guide's "UNDEFINED BEHAVIOR" example is safe here.
    local = dtl.DistributedVector(ctx, 1000).local_view()
    gc.collect()
    local[:] = 0
    local[:] = np.arange(1000)
    assert local.sum() == 999 * 1000 / 2
    sub = dtl.DistributedVector(ctx, 100).local_view()[10:20]
    gc.collect()
    sub[:] = 1.0
    assert sub.sum() == 10.0


def test_resize_refused_while_views_live(ctx: dtl.Context) -> None:
    v = dtl.DistributedVector(ctx, 10)
    view = v.local_view()
    view[:] = np.arange(10)
    assert v.view_count == 1
    with pytest.raises(dtl.InvalidArgumentError, match="live local_view"):
        v.resize(1000)
    derived = view[2:4]
    del view
    with pytest.raises(dtl.InvalidArgumentError):
        v.resize(1000)  # a slice of a view is still a view
    del derived
    gc.collect()
    assert v.view_count == 0
    v.resize(20)
    assert v.global_size == 20
    after = v.local_view()
    assert (after[:10] == np.arange(10)).all() and (after[10:] == 0).all()
    del after
    v.resize(3)
    assert (v.to_numpy() == [0, 1, 2]).all()
    with pytest.raises(dtl.InvalidArgumentError):
        v.resize(-1)


def test_array_has_no_resize(ctx: dtl.Context) -> None:
    arr = dtl.DistributedArray(ctx, size=1000, dtype=np.float64, fill=0.0)
    assert arr.global_size == 1000
    with pytest.raises(AttributeError):
        arr.resize(2000)  # type: ignore[attr-defined]
    with pytest.raises(dtl.InvalidArgumentError):
        arr._resize(5)
    cyc = dtl.DistributedArray(ctx, size=1000, dtype=np.float64, partition=dtl.PARTITION_CYCLIC)
    assert cyc.partition_policy == dtl.PARTITION_CYCLIC


def test_tensor(ctx: dtl.Context) -> None:
    t = dtl.DistributedTensor(ctx, shape=(100, 64, 64), dtype=np.float32)
    assert t.shape == (100, 64, 64) and t.local_shape == (100, 64, 64) and t.ndim == 3
    local = t.local_view()
    assert local.shape == (100, 64, 64)
    local[:] = np.random.randn(*local.shape)
    assert t.global_size == 100 * 64 * 64
    t2 = dtl.DistributedTensor(ctx, 7)
    assert t2.shape == (7,)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.DistributedTensor(ctx, shape=())
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.DistributedTensor(ctx, shape=(3, -2))


def test_bad_arguments(ctx: dtl.Context) -> None:
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.DistributedVector(ctx, -1)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.DistributedVector(ctx, 10, dtype=np.complex128)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.DistributedVector(ctx, 10, dtype=np.bool_)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.DistributedVector(ctx, 10, dtype="not-a-dtype")
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.DistributedVector(ctx, 2.5)  # type: ignore[arg-type]
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.DistributedVector(ctx, 10, partition=99)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.DistributedVector(ctx, 10, partition=dtl.PARTITION_HASH)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.DistributedVector(ctx, 10, partition=dtl.PARTITION_BLOCK_CYCLIC, block_size=0)
    with pytest.raises(dtl.DTLError):
        dtl.DistributedVector(ctx, 10, placement=dtl.PLACEMENT_DEVICE)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.DistributedVector(ctx, 1 << 62)
    with pytest.raises(TypeError):
        dtl.DistributedVector("ctx", 10)  # type: ignore[arg-type]


def test_device_preferred_falls_back(ctx: dtl.Context) -> None:
    v = dtl.DistributedVector(ctx, 10, placement=dtl.PLACEMENT_DEVICE_PREFERRED)
    assert v.placement_policy == dtl.PLACEMENT_DEVICE_PREFERRED


def test_get_put_fence(ctx: dtl.Context) -> None:
    v = dtl.DistributedVector(ctx, 4, np.int64)
    v.put(2, 9)
    v.fence()
    assert v.get(2) == 9
    with pytest.raises(dtl.BoundsError):
        v.get(4)


def test_from_numpy_and_gather(ctx: dtl.Context) -> None:
    src = np.arange(10, dtype=np.int32)
    v = dtl.DistributedVector.from_numpy(ctx, src, partition=dtl.PARTITION_CYCLIC)
    assert v.dtype == np.int32 and v.partition_policy == dtl.PARTITION_CYCLIC
    g = v.gather_to_numpy(root=0)
    assert g is not None and (g == src).all()
    t = dtl.DistributedTensor.from_numpy(ctx, np.ones((4, 3)))
    assert t.shape == (4, 3)
    a = dtl.DistributedArray.from_numpy(ctx, np.arange(5.0))
    assert (a.to_numpy() == np.arange(5.0)).all()
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.DistributedVector.from_numpy(ctx, np.ones((2, 2)))
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.DistributedVector.from_numpy(ctx, np.array([1 + 2j]))
    with pytest.raises(dtl.InvalidArgumentError):
        v.gather_to_numpy(root=1)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.DistributedVector.from_numpy(ctx, src, root=-1)


def test_span(ctx: dtl.Context) -> None:
    vec = dtl.DistributedVector(ctx, size=1000, dtype=np.float64)
    vec.local_view()[:] = np.arange(1000)
    span = dtl.DistributedSpan(vec)
    local = span.local_view()
    assert local.shape == (1000,)
    copy = span.to_numpy()
    copy[:] = -1
    assert vec.get(0) == 0
    sub = span.subspan(10, 20)
    assert sub.global_size == 20 and sub.local_size == 20 and len(sub) == 20
    assert (sub.local_view() == np.arange(10, 30)).all()
    sub.local_view()[:] = 5
    assert vec.get(10) == 5
    assert sub.rank == 0 and sub.num_ranks == 1 and sub.dtype == np.float64
    assert sub.subspan(5, 5).offset == 15
    with pytest.raises(dtl.BoundsError):
        span.subspan(990, 20)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.DistributedSpan(dtl.DistributedTensor(ctx, (2, 2)))
    dtl.fill(sub, 1.5)
    assert vec.get(29) == 1.5


@pytest.mark.parametrize("p", [2, 3, 4])
@pytest.mark.parametrize("part", [dtl.PARTITION_BLOCK, dtl.PARTITION_CYCLIC, dtl.PARTITION_BLOCK_CYCLIC, dtl.PARTITION_REPLICATED])
def test_partition_math_across_ranks(p: int, part: int) -> None:
    n = 23

    @dtl.spmd(p)
    def run(ctx: dtl.Context) -> tuple[list[int], int, int]:
        v = dtl.DistributedVector(ctx, n, np.int64, partition=part, block_size=3)
        mine = [i for i in range(n) if v.is_local(i)]
        owners = [v.owner(i) for i in range(n)]
        # Fill with global indices through the view and check they come back in order.
        lv = v.local_view()
        lv[:] = mine
        g = v.gather_to_numpy()
        if g is not None and part != dtl.PARTITION_REPLICATED:
            assert (g == np.arange(n)).all()
        sp = dtl.DistributedSpan(v).subspan(5, 10)
        assert list(sp.local_view()) == [i for i in mine if 5 <= i < 15]
        assert len(owners) == n
        return mine, v.local_size, v.local_offset

    res = run()
    for r, (mine, size, off) in enumerate(res):
        assert len(mine) == size
        if part == dtl.PARTITION_BLOCK:
            lo, hi = block_range(n, p, r)
            assert mine == list(range(lo, hi)) and off == lo
        elif part == dtl.PARTITION_CYCLIC:
            assert mine == list(range(r, n, p))
        elif part == dtl.PARTITION_BLOCK_CYCLIC:
            assert mine == [i for i in range(n) if (i // 3) % p == r]
        else:
            assert mine == list(range(n))


@pytest.mark.parametrize("p", [1, 2, 3])
def test_from_numpy_scatters_from_root(p: int) -> None:
    data = np.arange(17.0)

    @dtl.spmd(p)
    def run(ctx: dtl.Context) -> Any:
        arr = data if ctx.rank == 1 % p else None
        v = dtl.DistributedVector.from_numpy(ctx, arr, partition=dtl.PARTITION_CYCLIC, root=1 % p)
        t = dtl.DistributedTensor.from_numpy(ctx, data.reshape(17, 1) if ctx.is_root else None)
        assert t.local_shape[1] == 1
        return v.to_numpy(), v.gather_to_numpy(root=p - 1), t.gather_to_numpy()

    res = run()
    for r, (local, g, tg) in enumerate(res):
        assert (local == data[r::p]).all()
        if r == p - 1:
            assert (g == data).all()
        else:
            assert g is None
        if r == 0:
            assert (tg.ravel() == data).all()


def test_resize_across_ranks() -> None:
    @dtl.spmd(3)
    def run(ctx: dtl.Context) -> Any:
        v = dtl.DistributedVector(ctx, 10, np.int64)
        v.local_view()[:] = np.arange(v.local_offset, v.local_offset + v.local_size)
        v.resize(25)
        return v.gather_to_numpy()

    g = run()[0]
    assert list(g[:10]) == list(range(10)) and (g[10:] == 0).all()
