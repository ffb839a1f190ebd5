"""dtl: distributed containers, collectives and one-sided windows over the dtl runtime.

The names, keyword arguments and return shapes follow the DTL Python guide; see
``docs/book/python.md`` for the guide to this implementation.
"""

from __future__ import annotations

import atexit
import functools
import gc
import inspect
import itertools
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from . import _native
from ._native import (
    BackendError,
    BoundsError,
    CommunicationError,
    CompileError,
    Context,
    DTLError,
    Environment,
    InvalidArgumentError,
    MemoryError,
    MessageStatus,
    NotSupportedError,
    allgather,
    allgatherv,
    allreduce,
    alltoallv,
    broadcast,
    gather,
    gatherv,
    iprobe,
    probe,
    recv,
    rma_accumulate,
    rma_compare_and_swap,
    rma_fetch_and_add,
    rma_get,
    rma_put,
    scatter,
    scatterv,
    send,
    sendrecv,
)

# Objects holding MPI windows, by creation order. At exit they are freed in that order (the
# same on every rank of an SPMD program) so MPI can be finalized (by dtl, or by mpi4py) with no
# window open; objects with live views are left alone, and then dtl does not finalize MPI.
_mpi_objects: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
_mpi_seq = itertools.count()


def _track(obj: Any, ctx: Context) -> None:
    if ctx.backend == "mpi":
        _mpi_objects[next(_mpi_seq)] = obj


def _at_exit() -> None:
    for key in sorted(_mpi_objects.keys()):
        obj = _mpi_objects.get(key)
        if obj is None:
            continue
        try:
            if isinstance(obj, _native.Window):
                obj.free()
            else:
                obj._release()
        except DTLError:
            break
    _native._shutdown()


atexit.register(_at_exit)

__version__ = "0.1.0"
version_info = (0, 1, 0)

# --- policies and operators ------------------------------------------------------------------

PARTITION_BLOCK = 0
PARTITION_CYCLIC = 1
PARTITION_BLOCK_CYCLIC = 2
PARTITION_HASH = 3
PARTITION_REPLICATED = 4

PLACEMENT_HOST = 0
PLACEMENT_DEVICE = 1
PLACEMENT_UNIFIED = 2
PLACEMENT_DEVICE_PREFERRED = 3

EXEC_SEQ = 0
EXEC_PAR = 1
EXEC_ASYNC = 2

SUM = "sum"
PROD = "prod"
MIN = "min"
MAX = "max"
LAND = "land"
LOR = "lor"
BAND = "band"
BOR = "bor"
BXOR = "bxor"

DTL_NCCL_MODE_NATIVE_ONLY = 0
DTL_NCCL_MODE_HYBRID_PARITY = 1
DTL_NCCL_OP_ALLREDUCE = 0
DTL_NCCL_OP_BROADCAST = 1
DTL_NCCL_OP_REDUCE = 2
DTL_NCCL_OP_ALLGATHER = 3
DTL_NCCL_OP_SCAN = 4

# --- detection ---------------------------------------------------------------------------------


def has_mpi() -> bool:
    """Whether this build has an MPI backend (it tells the truth about the build)."""
    return bool(_native.has_mpi())


def has_cuda() -> bool:
    """Whether CUDA placements work: this build has no CUDA backend."""
    return False


def has_hip() -> bool:
    """Whether HIP placements work: this build has no HIP backend."""
    return False


def has_nccl() -> bool:
    """Whether NCCL works: this build has no NCCL backend."""
    return False


def has_shmem() -> bool:
    """Whether OpenSHMEM works: this build has no SHMEM backend."""
    return False


def placement_available(placement: int) -> bool:
    """Whether containers can be placed with ``placement`` on this build and machine."""
    return placement in (PLACEMENT_HOST, PLACEMENT_DEVICE_PREFERRED)


class _Backends:
    """Communication backends of this build (``dtl.backends``)."""

    def available(self) -> list[str]:
        return list(_native.backends_available())

    def count(self) -> int:
        return len(self.available())

    def name(self) -> str:
        """The backend ``Context()`` uses outside ``dtl.spmd``: ``"mpi"`` under an MPI launcher
        with an MPI build, else ``"local"`` (one rank)."""
        return str(_native._world_backend())


backends = _Backends()

# --- containers --------------------------------------------------------------------------------


class DistributedVector(_native._Container):
    """A resizable 1-D array partitioned across the ranks of a context."""

    def __new__(
        cls,
        ctx: Context,
        size: int,
        dtype: Any = np.float64,
        *,
        fill: Any = None,
        partition: int = PARTITION_BLOCK,
        block_size: int | None = None,
        placement: int = PLACEMENT_HOST,
        execution: int = EXEC_SEQ,
    ) -> DistributedVector:
        obj = super().__new__(cls, ctx, [_int(size)], dtype, fill, partition, block_size, placement, 0)
        _track(obj, ctx)
        return obj

    def resize(self, n: int) -> None:
        """Collective: ``n`` elements, keeping values by global index (new ones are zero).

        Raises InvalidArgumentError while any ``local_view()`` of this vector is alive: the
        buffer moves, and a view must never dangle.
        """
        self._resize(_int(n))

    @classmethod
    def from_numpy(
        cls, ctx: Context, arr: Any, *, partition: int = PARTITION_BLOCK, block_size: int | None = None, root: int = 0
    ) -> DistributedVector:
        """Collective: a vector holding root's 1-D array, scattered from ``root``."""
        dtype, shape = _native._root_meta(ctx, arr, root)
        if len(shape) != 1:
            raise InvalidArgumentError(f"DistributedVector.from_numpy needs a 1-D array, not shape {tuple(shape)}")
        v = cls(ctx, shape[0], dtype, partition=partition, block_size=block_size)
        v._load_from_root(arr, root)
        return v


class DistributedArray(_native._Container):
    """A fixed-size 1-D array partitioned across ranks (no ``resize``)."""

    def __new__(
        cls,
        ctx: Context,
        size: int,
        dtype: Any = np.float64,
        *,
        fill: Any = None,
        partition: int = PARTITION_BLOCK,
        block_size: int | None = None,
        placement: int = PLACEMENT_HOST,
        execution: int = EXEC_SEQ,
    ) -> DistributedArray:
        obj = super().__new__(cls, ctx, [_int(size)], dtype, fill, partition, block_size, placement, 1)
        _track(obj, ctx)
        return obj

    @classmethod
    def from_numpy(
        cls, ctx: Context, arr: Any, *, partition: int = PARTITION_BLOCK, block_size: int | None = None, root: int = 0
    ) -> DistributedArray:
        """Collective: an array holding root's 1-D array, scattered from ``root``."""
        dtype, shape = _native._root_meta(ctx, arr, root)
        if len(shape) != 1:
            raise InvalidArgumentError(f"DistributedArray.from_numpy needs a 1-D array, not shape {tuple(shape)}")
        a = cls(ctx, shape[0], dtype, partition=partition, block_size=block_size)
        a._load_from_root(arr, root)
        return a


class DistributedTensor(_native._Container):
    """An N-D array partitioned across ranks along dimension 0."""

    def __new__(
        cls,
        ctx: Context,
        shape: Sequence[int] | int,
        dtype: Any = np.float64,
        *,
        fill: Any = None,
        partition: int = PARTITION_BLOCK,
        block_size: int | None = None,
        placement: int = PLACEMENT_HOST,
        execution: int = EXEC_SEQ,
    ) -> DistributedTensor:
        dims = [_int(shape)] if isinstance(shape, (int, np.integer)) else [_int(d) for d in shape]
        obj = super().__new__(cls, ctx, dims, dtype, fill, partition, block_size, placement, 2)
        _track(obj, ctx)
        return obj

    @classmethod
    def from_numpy(
        cls, ctx: Context, arr: Any, *, partition: int = PARTITION_BLOCK, block_size: int | None = None, root: int = 0
    ) -> DistributedTensor:
        """Collective: a tensor holding root's array, scattered from ``root`` along dim 0."""
        dtype, shape = _native._root_meta(ctx, arr, root)
        t = cls(ctx, tuple(shape), dtype, partition=partition, block_size=block_size)
        t._load_from_root(arr, root)
        return t


def _int(n: Any, what: str = "sizes") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise InvalidArgumentError(f"{what} must be integers, not {n!r}")
    return int(n)


_Containers = (DistributedVector, DistributedArray, DistributedTensor)


class DistributedSpan:
    """A non-owning view of global indices ``offset..offset+count`` of a 1-D container.

    The span holds its container, so it never outlives it; its local part is the container's
    elements in the range that this rank owns (contiguous under every partition).
    """

    def __init__(self, container: Any, offset: int = 0, count: int | None = None) -> None:
        base = container._base if isinstance(container, DistributedSpan) else container
        start = container._offset if isinstance(container, DistributedSpan) else 0
        if not isinstance(base, _native._Container) or base.ndim != 1:
            raise InvalidArgumentError("DistributedSpan views a DistributedVector or DistributedArray")
        total = container.global_size
        count = total - offset if count is None else count
        if offset < 0 or count < 0 or offset + count > total:
            raise BoundsError(f"span {offset}..{offset + count} out of bounds for length {total}")
        self._base = base
        self._offset = start + offset
        self._count = count

    def _range(self) -> tuple[int, int]:
        b = self._base
        if self._offset + self._count > b.global_size:
            raise BoundsError("the container was resized below this span")
        lo = _local_count_below(b, self._offset)
        hi = _local_count_below(b, self._offset + self._count)
        return lo, hi

    @property
    def global_size(self) -> int:
        return self._count

    @property
    def local_size(self) -> int:
        lo, hi = self._range()
        return hi - lo

    @property
    def offset(self) -> int:
        return self._offset

    @property
    def rank(self) -> int:
        return int(self._base.rank)

    @property
    def num_ranks(self) -> int:
        return int(self._base.num_ranks)

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._base.dtype  # type: ignore[no-any-return]

    @property
    def container(self) -> Any:
        return self._base

    def local_view(self) -> np.ndarray[Any, Any]:
        """Zero-copy NumPy view of this rank's part of the span."""
        lo, hi = self._range()
        return self._base.local_view()[lo:hi]  # type: ignore[no-any-return]

    def to_numpy(self) -> np.ndarray[Any, Any]:
        """A copy of this rank's part of the span."""
        return self.local_view().copy()

    def subspan(self, offset: int, count: int) -> DistributedSpan:
        """The span of indices ``offset..offset+count`` of this span."""
        return DistributedSpan(self, offset, count)

    def __len__(self) -> int:
        return self._count


def _local_count_below(c: Any, g: int) -> int:
    """How many of this rank's elements have global index below ``g``."""
    n = c.global_size
    p = c.num_ranks
    r = c.rank
    part = c.partition_policy
    if part == PARTITION_REPLICATED:
        return min(g, n)
    if part == PARTITION_BLOCK:
        base, extra = divmod(n, p)
        start = r * base + min(r, extra)
        size = base + (1 if r < extra else 0)
        return max(0, min(g, start + size) - start)
    b = 1 if part == PARTITION_CYCLIC else int(c.block_size)
    full_blocks, rem = divmod(g, b)
    # Blocks k < full_blocks with k % p == r are all below g; then the partial block.
    mine = full_blocks // p + (1 if r < full_blocks % p else 0)
    count = mine * b
    if full_blocks % p == r:
        count += rem
    return min(count, c.local_size)


class Window(_native.Window):
    """A window of memory every rank can read and write one-sidedly.

    ``Window(ctx, size=nbytes)`` allocates the memory; ``Window(ctx, base=array)`` exposes a
    C-contiguous, writeable NumPy array (kept referenced while the window lives). Collective.
    """

    def __new__(cls, ctx: Context, size: int | None = None, base: Any = None) -> Window:
        obj = super().__new__(cls, ctx, size, base)
        _track(obj, ctx)
        return obj


class DistributedMap(_native.DistributedMap):
    """A distributed hash map from integer keys to numbers, with cross-rank semantics.

    ``insert``, ``add`` and ``erase`` are buffered and applied at the key owners by ``sync()``
    (collective; ``flush()`` is the same); ``get`` and ``contains`` then see any rank's keys.
    ``size()`` counts this rank's keys, ``global_size()`` (collective) all of them.
    """

    def __new__(cls, ctx: Context, key_dtype: Any = np.int64, value_dtype: Any = np.float64) -> DistributedMap:
        obj = super().__new__(cls, ctx, key_dtype, value_dtype)
        _track(obj, ctx)
        return obj


# --- collectives that share a name with algorithms --------------------------------------------


def reduce(target: Any, value: Any = SUM, op: str | None = None, root: int = 0) -> Any:
    """``reduce(container, op=SUM)``: collective reduction of all elements (every rank gets it).

    ``reduce(ctx, value, op=SUM, root=0)``: collective reduction of every rank's value; the
    result at ``root``, ``None`` elsewhere.
    """
    if isinstance(target, _native._Container):
        return _native.reduce_container(target, op if op is not None else value)
    if isinstance(target, DistributedSpan):
        raise InvalidArgumentError("reduce a span's container or its local_view() instead")
    return _native.reduce_values(target, value, op if op is not None else SUM, root)


def scan(target: Any, value: Any = SUM, op: str | None = None, exclusive: bool = False) -> Any:
    """``scan(container, op=SUM)``: a new container of prefix combinations in global order.

    ``scan(ctx, value, op=SUM)``: the prefix combination over ranks of every rank's value.
    """
    if isinstance(target, _native._Container):
        the_op = op if op is not None else value
        out = _like(target)
        _native.scan_into(target, out, the_op, exclusive)
        return out
    return _native.scan_values(target, value, op if op is not None else SUM, exclusive)


def exscan(target: Any, value: Any = SUM, op: str | None = None) -> Any:
    """Exclusive :func:`scan` (rank/element 0 gets the identity of ``op``)."""
    return scan(target, value, op, exclusive=True)


def _like(c: Any) -> Any:
    """Collective: a zero container with ``c``'s class, shape, dtype and partition."""
    cls = type(c) if isinstance(c, _Containers) else DistributedVector
    shape = c.shape if isinstance(c, DistributedTensor) else c.shape[0]
    return cls(c.context, shape, c.dtype, partition=c.partition_policy, block_size=c.block_size or None)


# --- algorithms --------------------------------------------------------------------------------


def _view(c: Any) -> np.ndarray[Any, Any]:
    if isinstance(c, (_native._Container, DistributedSpan)):
        return c.local_view()  # type: ignore[no-any-return]
    raise InvalidArgumentError(f"expected a dtl container, not {type(c).__name__}")


def for_each(container: Any, func: Callable[[Any], Any]) -> None:
    """Calls ``func(x)`` for each local element, in global index order (local, no results)."""
    for x in _view(container):
        func(x)


def transform(src: Any, dst: Any, func: Callable[[Any], Any]) -> None:
    """``dst = func(src)`` on each rank's part; ``func`` gets the local NumPy view (ufuncs and
    vectorised lambdas work). The containers must be aligned (same length and partition)."""
    s = _view(src)
    d = _view(dst)
    if s.shape != d.shape or getattr(src, "partition_policy", None) != getattr(dst, "partition_policy", None):
        raise InvalidArgumentError(f"transform: containers are not aligned ({s.shape} and {d.shape})")
    res = func(s)
    try:
        d[...] = res
    except (ValueError, TypeError) as e:
        raise InvalidArgumentError(f"transform: the function's result does not fit the destination: {e}") from None


def fill(container: Any, value: Any) -> None:
    """Sets every element to ``value`` (each rank fills its own part)."""
    if isinstance(container, DistributedSpan):
        container.local_view()[...] = value
        return
    _native.fill(container, value)


def copy(src: Any, dst: Any) -> None:
    """Collective: copies ``src`` into ``dst`` by global index, whatever their partitions."""
    _native.copy(src, dst)


def find(container: Any, value: Any) -> int | None:
    """Collective: the lowest global index holding ``value``, or ``None``."""
    return _native.find(container, value)  # type: ignore[no-any-return]


def count(container: Any, value: Any) -> int:
    """Collective: how many elements equal ``value``."""
    return int(_native.count(container, value))


def sort(container: Any, reverse: bool = False) -> None:
    """Collective: sorts a vector or array across ranks, keeping its partition."""
    _native.sort(container, reverse)


def is_sorted(container: Any, reverse: bool = False) -> bool:
    """Collective: whether the container is sorted in global order."""
    return bool(_native.is_sorted(container, reverse))


def dot(a: Any, b: Any) -> Any:
    """Collective: the sum of ``a[i] * b[i]`` over two aligned containers."""
    return _native.dot(a, b)


def argmin(container: Any) -> tuple[int, Any] | None:
    """Collective: ``(index, value)`` of the smallest element (lowest index on ties)."""
    return _native.argextreme(container, False)  # type: ignore[no-any-return]


def argmax(container: Any) -> tuple[int, Any] | None:
    """Collective: ``(index, value)`` of the largest element (lowest index on ties)."""
    return _native.argextreme(container, True)  # type: ignore[no-any-return]


# --- futures -----------------------------------------------------------------------------------


class Future:
    """The result of an ``async_*`` call.

    Collectives must run in the same order on every rank, so the operation runs when the
    ``async_*`` function is called; the future holds its result or its exception.
    """

    def __init__(self, fn: Callable[[], Any] | None = None, *, value: Any = None) -> None:
        self._value: Any = value
        self._error: BaseException | None = None
        if fn is not None:
            try:
                self._value = fn()
            except Exception as e:  # noqa: BLE001 - re-raised by result()
                self._error = e

    def done(self) -> bool:
        return True

    def wait(self, timeout: float | None = None) -> bool:
        return True

    def result(self, timeout: float | None = None) -> Any:
        if self._error is not None:
            raise self._error
        return self._value


def async_for_each(container: Any, func: Callable[[Any], Any]) -> Future:
    return Future(lambda: for_each(container, func))


def async_transform(src: Any, dst: Any, func: Callable[[Any], Any]) -> Future:
    return Future(lambda: transform(src, dst, func))


def async_reduce(container: Any, op: str = SUM) -> Future:
    return Future(lambda: reduce(container, op))


def async_sort(container: Any, reverse: bool = False) -> Future:
    return Future(lambda: sort(container, reverse))


def async_fill(container: Any, value: Any) -> Future:
    return Future(lambda: fill(container, value))


def async_copy(src: Any, dst: Any) -> Future:
    return Future(lambda: copy(src, dst))


def when_all(futures: Iterable[Future]) -> Future:
    """A future of every future's result, in order (raises the first exception)."""
    fs = list(futures)
    return Future(lambda: [f.result() for f in fs])


def when_any(futures: Iterable[Future]) -> Future:
    """A future of ``(index, result)`` of the first completed future."""
    fs = list(futures)
    if not fs:
        raise InvalidArgumentError("when_any needs at least one future")
    return Future(lambda: (0, fs[0].result()))


# --- topology and MPMD roles -----------------------------------------------------------------


def _balanced_dims(n: int, ndims: int) -> list[int]:
    """Factor ``n`` into ``ndims`` factors as equal as possible, largest first (MPI_Dims_create)."""
    dims = [1] * ndims
    m = n
    f = 2
    factors: list[int] = []
    while f * f <= m:
        while m % f == 0:
            factors.append(f)
            m //= f
        f += 1
    if m > 1:
        factors.append(m)
    for p in sorted(factors, reverse=True):
        dims[dims.index(min(dims))] *= p
    return sorted(dims, reverse=True)


class Topology:
    """A Cartesian grid over the ranks of a context (local: no communication).

    ``Topology(ctx, dims=None, periodic=False)``: ``dims`` defaults to a balanced 2-D grid;
    ranks are laid out row-major. ``coords``, ``rank_of`` and ``shift`` give neighbours for
    halo exchanges (``-1`` past a non-periodic edge, like ``MPI_PROC_NULL``).
    """

    def __init__(self, ctx: Context, dims: Sequence[int] | None = None, periodic: bool | Sequence[bool] = False) -> None:
        dd = list(dims) if dims is not None else _balanced_dims(ctx.size, 2)
        if not dd or any((not isinstance(d, (int, np.integer))) or d <= 0 for d in dd):
            raise InvalidArgumentError(f"dims must be positive integers, not {dd}")
        total = 1
        for d in dd:
            total *= int(d)
        if total != ctx.size:
            raise InvalidArgumentError(f"dims {dd} hold {total} ranks, the context has {ctx.size}")
        per = [bool(periodic)] * len(dd) if isinstance(periodic, bool) else [bool(p) for p in periodic]
        if len(per) != len(dd):
            raise InvalidArgumentError("periodic needs one flag per dimension")
        self.context = ctx
        self.dims: tuple[int, ...] = tuple(int(d) for d in dd)
        self.periodic: tuple[bool, ...] = tuple(per)

    @property
    def ndims(self) -> int:
        return len(self.dims)

    @property
    def rank(self) -> int:
        return int(self.context.rank)

    @property
    def size(self) -> int:
        return int(self.context.size)

    def coords(self, rank: int | None = None) -> tuple[int, ...]:
        """Grid coordinates of ``rank`` (this rank by default)."""
        r = self.rank if rank is None else rank
        if not 0 <= r < self.size:
            raise InvalidArgumentError(f"rank {r} does not exist (ranks are 0..{self.size})")
        out = []
        for d in reversed(self.dims):
            out.append(r % d)
            r //= d
        return tuple(reversed(out))

    def rank_of(self, coords: Sequence[int]) -> int:
        """The rank at ``coords`` (wrapped in periodic dimensions); -1 outside the grid."""
        if len(coords) != self.ndims:
            raise InvalidArgumentError(f"{len(coords)} coordinates for a {self.ndims}-D grid")
        r = 0
        for c, d, p in zip(coords, self.dims, self.periodic):
            if p:
                c %= d
            elif not 0 <= c < d:
                return -1
            r = r * d + c
        return r

    def shift(self, dim: int, disp: int = 1) -> tuple[int, int]:
        """``(source, dest)``: the ranks ``disp`` steps back and forward along ``dim``."""
        if not 0 <= dim < self.ndims:
            raise InvalidArgumentError(f"dimension {dim} of a {self.ndims}-D grid")
        me = list(self.coords())
        back = list(me)
        fwd = list(me)
        back[dim] -= disp
        fwd[dim] += disp
        return self.rank_of(back), self.rank_of(fwd)


class RoleManager:
    """MPMD roles over a context: consecutive ranks take the roles in the order added.

    >>> rm = dtl.RoleManager(ctx)
    >>> rm.add_role("producer", 1).add_role("consumer", ctx.size - 1)
    >>> rm.assign()          # collective: rm.role_context spans this rank's role
    """

    def __init__(self, ctx: Context) -> None:
        self.context = ctx
        self._roles: list[tuple[str, int]] = []
        self._ctx: Context | None = None

    def add_role(self, name: str, count: int) -> RoleManager:
        if self._ctx is not None:
            raise InvalidArgumentError("roles are fixed once assign() ran")
        if any(n == name for n, _ in self._roles):
            raise InvalidArgumentError(f"role {name!r} added twice")
        if _int(count) <= 0:
            raise InvalidArgumentError(f"role {name!r} needs at least one rank, not {count}")
        self._roles.append((name, int(count)))
        return self

    def assign(self) -> RoleManager:
        """Collective: checks the roles cover the context and splits it by role."""
        total = sum(c for _, c in self._roles)
        if total != self.context.size:
            raise InvalidArgumentError(f"roles take {total} ranks, the context has {self.context.size}")
        color = [i for i, name in enumerate(self.roles) if self.context.rank in self.ranks(name)][0]
        self._ctx = self.context.split(color=color, key=self.context.rank)
        return self

    @property
    def roles(self) -> list[str]:
        return [n for n, _ in self._roles]

    def ranks(self, role: str) -> list[int]:
        """The context ranks that play ``role``."""
        start = 0
        for name, count in self._roles:
            if name == role:
                return list(range(start, start + count))
            start += count
        raise InvalidArgumentError(f"no role {role!r} (roles: {self.roles})")

    @property
    def role(self) -> str:
        """This rank's role."""
        for name in self.roles:
            if self.context.rank in self.ranks(name):
                return name
        raise InvalidArgumentError("roles do not cover this rank; call add_role() and assign()")

    def is_role(self, role: str) -> bool:
        return self.role == role

    @property
    def role_context(self) -> Context:
        """The context of the ranks sharing this rank's role (after ``assign()``)."""
        if self._ctx is None:
            raise InvalidArgumentError("call assign() first")
        return self._ctx

    @property
    def role_rank(self) -> int:
        return self.ranks(self.role).index(self.context.rank)


def intergroup_send(rm: RoleManager, data: Any, role: str, index: int = 0, tag: int = 0) -> None:
    """Sends ``data`` to the ``index``-th rank of ``role``."""
    ranks = rm.ranks(role)
    if not 0 <= index < len(ranks):
        raise InvalidArgumentError(f"role {role!r} has {len(ranks)} ranks, not index {index}")
    send(rm.context, data, ranks[index], tag)


def intergroup_recv(rm: RoleManager, role: str, index: int = 0, tag: int = 0) -> Any:
    """Receives from the ``index``-th rank of ``role``."""
    ranks = rm.ranks(role)
    if not 0 <= index < len(ranks):
        raise InvalidArgumentError(f"role {role!r} has {len(ranks)} ranks, not index {index}")
    return recv(rm.context, ranks[index], tag)


# --- in-process ranks --------------------------------------------------------------------------


def spmd(nranks: int) -> Callable[[Callable[..., Any]], Callable[..., list[Any]]]:
    """Decorator: ``dtl.spmd(4)(fn)(*args)`` runs ``fn(ctx, *args)`` on 4 thread ranks.

    Each rank gets its own world ``Context`` (and ``dtl.Context()`` inside ``fn`` returns it).
    Returns every rank's result in rank order. When a rank raises, the others are released
    from their waits and that first exception is re-raised here.
    """
    n = _int(nranks, "spmd(nranks): rank counts")
    if n < 1:
        raise InvalidArgumentError(f"spmd needs at least one rank, not {n}")

    def deco(fn: Callable[..., Any]) -> Callable[..., list[Any]]:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> list[Any]:
            # Python's cycle collector would free ranks' containers on whichever rank's thread
            # it happens to run, outside the SPMD order that freeing (a collective) needs: it is
            # paused while the ranks run, and cycles are collected when they have returned.
            enabled = gc.isenabled()
            gc.disable()
            try:
                return list(_native.run_spmd(n, fn, args, kwargs or None))
            finally:
                if enabled:
                    gc.enable()

        return run

    return deco


# --- kernels -----------------------------------------------------------------------------------


class KernelDiagnostic:
    """One compile diagnostic of a kernel source: ``code`` (``"E0201"``…), ``message`` and the
    1-based ``line`` and ``column`` of its primary location."""

    __slots__ = ("code", "column", "line", "message")

    def __init__(self, code: str, message: str, line: int, column: int) -> None:
        self.code = code
        self.message = message
        self.line = line
        self.column = column

    def __repr__(self) -> str:
        return f"KernelDiagnostic({self.code!r}, {self.message!r}, line={self.line}, column={self.column})"


# Default for CompileError raised elsewhere; dtl.compile sets it on each instance.
CompileError.diagnostics = []  # type: ignore[attr-defined]

_SCALAR_PY = {"f64": "float", "f32": "float", "bool": "bool"}
_KIND_PY = {"vector": "DistributedVector", "array": "DistributedArray", "tensor": "DistributedTensor"}


def _kernel_function(native: Any, idx: int, name: str, sig: str, params: list[Any], collective: bool) -> Any:
    call = native.call

    def fn(*args: Any, ctx: Context | None = None) -> Any:
        return call(idx, args, ctx)

    ps = []
    for pname, kind, dt, nd in params:
        if kind == "scalar":
            ann = _SCALAR_PY.get(dt, "int")
        elif kind in _KIND_PY:
            ann = f"{_KIND_PY[kind]}[{dt}]" + (f" ({nd}-D)" if kind == "tensor" else "")
        elif kind == "local":
            ann = f"numpy.ndarray[{dt}]"
        else:
            ann = kind
        ps.append(inspect.Parameter(pname, inspect.Parameter.POSITIONAL_ONLY, annotation=ann))
    ps.append(inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, default=None, annotation="Context | None"))
    fn.__name__ = name
    fn.__qualname__ = f"KernelProgram.{name}"
    fn.__signature__ = inspect.Signature(ps)  # type: ignore[attr-defined]
    note = (
        "Collective: call it on every rank of the containers' context."
        if collective
        else "If it reaches a collective (a reduction of a container, allreduce, barrier, ...), "
        "call it on every rank of the containers' context."
    )
    fn.__doc__ = (
        f"dtl kernel ``{sig}``.\n\n{note} Containers bind zero-copy (in place); NumPy arrays bind "
        "to ``local<T>`` parameters; ``ctx=`` picks the context when no container is passed."
    )
    return fn


class KernelProgram:
    """Kernels compiled by :func:`dtl.compile`: each function of the source is an attribute
    (``prog.saxpy(2.0, x, y)``, signature in ``help(prog.saxpy)``), and :meth:`run` runs
    ``fn main()`` on in-process thread ranks."""

    def __init__(self, native: Any, source: str) -> None:
        self._native = native
        self.source = source
        fns = native.functions()
        self.functions: tuple[str, ...] = tuple(f[0] for f in fns)
        self.signatures: dict[str, str] = {f[0]: f[1] for f in fns}
        for idx, (name, sig, params, collective) in enumerate(fns):
            self.__dict__[name] = _kernel_function(native, idx, name, sig, params, collective)
        self._params: dict[str, str] = dict(native.params())

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        known = ", ".join(self.__dict__.get("functions", ())) or "none"
        raise AttributeError(f"the kernel source has no function {name!r} (functions: {known})")

    def __repr__(self) -> str:
        return f"<dtl.KernelProgram: {', '.join(self.signatures.values()) or 'no functions'}>"

    def run(self, ranks: int = 1, **params: Any) -> None:
        """Runs ``fn main()`` on ``ranks`` in-process thread ranks, ``params`` overriding the
        source's ``param`` values by name (like ``dtlc run -D name=value``); the program's
        output goes to ``sys.stdout``. Returns None; a failure raises the matching exception."""
        if isinstance(ranks, bool) or not isinstance(ranks, int):
            raise InvalidArgumentError(f"run(): ranks must be an int, got {type(ranks).__name__}")
        overrides = []
        for name, value in params.items():
            ty = self._params.get(name)
            if ty is None:
                known = ", ".join(self._params) or "none"
                raise InvalidArgumentError(f"run(): no `param {name}` in the kernel source (params: {known})")
            if ty == "bool":
                if not isinstance(value, (bool, np.bool_)):
                    raise InvalidArgumentError(f"run(): param `{name}` is bool, got {type(value).__name__}")
                text = "true" if value else "false"
            elif ty in ("f64", "f32"):
                if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
                    raise InvalidArgumentError(f"run(): param `{name}` is {ty}, got {type(value).__name__}")
                text = repr(float(value))
            else:
                if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
                    raise InvalidArgumentError(f"run(): param `{name}` is {ty}, got {type(value).__name__}")
                text = str(int(value))
            overrides.append((name, text))
        self._native.run(ranks, overrides)


_kernel_cache: dict[str, KernelProgram] = {}


def compile(source: str) -> KernelProgram:  # noqa: A001 - the contract's name
    """Parses, checks and JIT-compiles dtl kernel source (once per distinct source per process).

    Functions become attributes of the result; ``fn main()`` is optional (``run`` needs it).
    Raises CompileError (``str(e)`` the rendered diagnostics, ``e.diagnostics`` a list of
    :class:`KernelDiagnostic`) when the source does not compile.
    """
    if not isinstance(source, str):
        raise InvalidArgumentError("dtl.compile takes the kernel source as a str")
    hit = _kernel_cache.get(source)
    if hit is not None:
        return hit
    native, rendered, diags = _native._compile(source)
    if native is None:
        err = CompileError(rendered.rstrip("\n"))
        err.diagnostics = [KernelDiagnostic(*d) for d in diags]  # type: ignore[attr-defined]
        if diags:
            err.code = diags[0][0]  # type: ignore[attr-defined]
        raise err
    prog = KernelProgram(native, source)
    return _kernel_cache.setdefault(source, prog)


kernel = compile

__all__ = [
    "BAND",
    "BOR",
    "BXOR",
    "DTL_NCCL_MODE_HYBRID_PARITY",
    "DTL_NCCL_MODE_NATIVE_ONLY",
    "DTL_NCCL_OP_ALLGATHER",
    "DTL_NCCL_OP_ALLREDUCE",
    "DTL_NCCL_OP_BROADCAST",
    "DTL_NCCL_OP_REDUCE",
    "DTL_NCCL_OP_SCAN",
    "EXEC_ASYNC",
    "EXEC_PAR",
    "EXEC_SEQ",
    "LAND",
    "LOR",
    "MAX",
    "MIN",
    "PARTITION_BLOCK",
    "PARTITION_BLOCK_CYCLIC",
    "PARTITION_CYCLIC",
    "PARTITION_HASH",
    "PARTITION_REPLICATED",
    "PLACEMENT_DEVICE",
    "PLACEMENT_DEVICE_PREFERRED",
    "PLACEMENT_HOST",
    "PLACEMENT_UNIFIED",
    "PROD",
    "SUM",
    "RoleManager",
    "Topology",
    "BackendError",
    "BoundsError",
    "CommunicationError",
    "CompileError",
    "Context",
    "DTLError",
    "DistributedArray",
    "DistributedMap",
    "DistributedSpan",
    "DistributedTensor",
    "DistributedVector",
    "Environment",
    "Future",
    "InvalidArgumentError",
    "KernelDiagnostic",
    "KernelProgram",
    "MemoryError",
    "MessageStatus",
    "NotSupportedError",
    "Window",
    "__version__",
    "allgather",
    "allgatherv",
    "allreduce",
    "alltoallv",
    "argmax",
    "argmin",
    "async_copy",
    "async_fill",
    "async_for_each",
    "async_reduce",
    "async_sort",
    "async_transform",
    "backends",
    "broadcast",
    "compile",
    "copy",
    "count",
    "dot",
    "exscan",
    "fill",
    "find",
    "for_each",
    "gather",
    "gatherv",
    "has_cuda",
    "has_hip",
    "has_mpi",
    "has_nccl",
    "has_shmem",
    "intergroup_recv",
    "intergroup_send",
    "iprobe",
    "is_sorted",
    "kernel",
    "placement_available",
    "probe",
    "recv",
    "reduce",
    "rma_accumulate",
    "rma_compare_and_swap",
    "rma_fetch_and_add",
    "rma_get",
    "rma_put",
    "scan",
    "scatter",
    "scatterv",
    "send",
    "sendrecv",
    "sort",
    "spmd",
    "transform",
    "version_info",
    "when_all",
    "when_any",
]
