"""Shared fixtures: a one-rank context and helpers to run code on thread ranks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import dtl


@pytest.fixture
def ctx() -> Iterator[dtl.Context]:
    with dtl.Context() as c:
        yield c


RANKS = [1, 2, 3, 4]
