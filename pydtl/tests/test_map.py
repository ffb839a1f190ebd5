"""DistributedMap: buffered updates applied at sync, reads of any rank's keys."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import dtl


def test_map_one_rank(ctx: dtl.Context) -> None:
    m = dtl.DistributedMap(ctx, np.int64, np.float64)
    assert m.key_dtype == np.int64 and m.value_dtype == np.float64
    m.insert(3, 1.5)
    m.add(4, 2.0)
    m.add(4, 2.0)
    assert m.pending == 3 and not m.contains(3)
    m.sync()
    assert m.get(3) == 1.5 and m.get(4) == 4.0 and m.get(5) is None and m.get(5, -1) == -1
    assert 3 in m and 5 not in m
    assert m.size() == 2 and m.global_size() == 2
    assert sorted(m.local_items()) == [(3, 1.5), (4, 4.0)]
    m.erase(3)
    m.flush()
    assert not m.contains(3)
    m.clear()
    assert m.global_size() == 0
    for i in range(1000):
        m.insert(i, float(i))
    m.sync()
    assert m.global_size() == 1000 and m.get(999) == 999.0


def test_map_errors(ctx: dtl.Context) -> None:
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.DistributedMap(ctx, np.float64, np.float64)
    with pytest.raises(dtl.InvalidArgumentError):
        dtl.DistributedMap(ctx, np.int64, np.complex64)
    m = dtl.DistributedMap(ctx, np.uint8, np.int32)
    with pytest.raises(dtl.InvalidArgumentError):
        m.insert(300, 1)
    with pytest.raises(dtl.InvalidArgumentError):
        m.insert(-1, 1)
    with pytest.raises(dtl.InvalidArgumentError):
        m.insert(1.5, 1)  # type: ignore[arg-type]
    with pytest.raises(dtl.InvalidArgumentError):
        m.insert(1, 2**40)
    with pytest.raises(dtl.InvalidArgumentError):
        m.get("k")  # type: ignore[arg-type]
    m.insert(7, -3)
    m.sync()
    assert m.get(7) == -3


@pytest.mark.parametrize("p", [2, 3, 4])
def test_map_across_ranks(p: int) -> None:
    @dtl.spmd(p)
    def run(ctx: dtl.Context) -> Any:
        m = dtl.DistributedMap(ctx, np.int64, np.int64)
        # Word-count style: every rank adds 1 to keys 0..99; key k also gets k on rank 0.
        for k in range(100):
            m.add(k, 1)
            if ctx.rank == 0:
                m.add(k, k)
        m.sync()
        total = m.global_size()
        values = [m.get(k) for k in range(0, 100, 7)]
        mine = m.size()
        m.erase(5)
        m.sync()
        gone = m.contains(5)
        owned = dtl.allreduce(ctx, mine)
        return total, values, gone, owned

    for total, values, gone, owned in run():
        assert total == 100 and owned == 100
        assert values == [p + k for k in range(0, 100, 7)]
        assert gone is False
