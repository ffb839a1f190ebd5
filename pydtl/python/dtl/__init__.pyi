"""Type stubs of the public API of ``dtl`` (checked against the package by ``mypy.stubtest``)."""

import numpy as np
from . import _native
from ._native import BackendError as BackendError, BoundsError as BoundsError, CommunicationError as CommunicationError, CompileError as CompileError, Context as Context, DTLError as DTLError, Environment as Environment, InvalidArgumentError as InvalidArgumentError, MemoryError as MemoryError, MessageStatus as MessageStatus, NotSupportedError as NotSupportedError, allgather as allgather, allgatherv as allgatherv, allreduce as allreduce, alltoallv as alltoallv, broadcast as broadcast, gather as gather, gatherv as gatherv, iprobe as iprobe, probe as probe, recv as recv, rma_accumulate as rma_accumulate, rma_compare_and_swap as rma_compare_and_swap, rma_fetch_and_add as rma_fetch_and_add, rma_get as rma_get, rma_put as rma_put, scatter as scatter, scatterv as scatterv, send as send, sendrecv as sendrecv
from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = ['BAND', 'BOR', 'BXOR', 'DTL_NCCL_MODE_HYBRID_PARITY', 'DTL_NCCL_MODE_NATIVE_ONLY', 'DTL_NCCL_OP_ALLGATHER', 'DTL_NCCL_OP_ALLREDUCE', 'DTL_NCCL_OP_BROADCAST', 'DTL_NCCL_OP_REDUCE', 'DTL_NCCL_OP_SCAN', 'EXEC_ASYNC', 'EXEC_PAR', 'EXEC_SEQ', 'LAND', 'LOR', 'MAX', 'MIN', 'PARTITION_BLOCK', 'PARTITION_BLOCK_CYCLIC', 'PARTITION_CYCLIC', 'PARTITION_HASH', 'PARTITION_REPLICATED', 'PLACEMENT_DEVICE', 'PLACEMENT_DEVICE_PREFERRED', 'PLACEMENT_HOST', 'PLACEMENT_UNIFIED', 'PROD', 'SUM', 'RoleManager', 'Topology', 'BackendError', 'BoundsError', 'CommunicationError', 'CompileError', 'Context', 'DTLError', 'DistributedArray', 'DistributedMap', 'DistributedSpan', 'DistributedTensor', 'DistributedVector', 'Environment', 'Future', 'InvalidArgumentError', 'KernelDiagnostic', 'KernelProgram', 'MemoryError', 'MessageStatus', 'NotSupportedError', 'Window', '__version__', 'allgather', 'allgatherv', 'allreduce', 'alltoallv', 'argmax', 'argmin', 'async_copy', 'async_fill', 'async_for_each', 'async_reduce', 'async_sort', 'async_transform', 'backends', 'broadcast', 'compile', 'copy', 'count', 'dot', 'exscan', 'fill', 'find', 'for_each', 'gather', 'gatherv', 'has_cuda', 'has_hip', 'has_mpi', 'has_nccl', 'has_shmem', 'intergroup_recv', 'intergroup_send', 'iprobe', 'is_sorted', 'kernel', 'placement_available', 'probe', 'recv', 'reduce', 'rma_accumulate', 'rma_compare_and_swap', 'rma_fetch_and_add', 'rma_get', 'rma_put', 'scan', 'scatter', 'scatterv', 'send', 'sendrecv', 'sort', 'spmd', 'transform', 'version_info', 'when_all', 'when_any']

__version__: str
version_info: tuple[int, int, int]
PARTITION_BLOCK: int
PARTITION_CYCLIC: int
PARTITION_BLOCK_CYCLIC: int
PARTITION_HASH: int
PARTITION_REPLICATED: int
PLACEMENT_HOST: int
PLACEMENT_DEVICE: int
PLACEMENT_UNIFIED: int
PLACEMENT_DEVICE_PREFERRED: int
EXEC_SEQ: int
EXEC_PAR: int
EXEC_ASYNC: int
SUM: str
PROD: str
MIN: str
MAX: str
LAND: str
LOR: str
BAND: str
BOR: str
BXOR: str
DTL_NCCL_MODE_NATIVE_ONLY: int
DTL_NCCL_MODE_HYBRID_PARITY: int
DTL_NCCL_OP_ALLREDUCE: int
DTL_NCCL_OP_BROADCAST: int
DTL_NCCL_OP_REDUCE: int
DTL_NCCL_OP_ALLGATHER: int
DTL_NCCL_OP_SCAN: int

def has_mpi() -> bool:
    """Whether this build has an MPI backend (it tells the truth about the build)."""
def has_cuda() -> bool:
    """Whether CUDA placements work: this build has no CUDA backend."""
def has_hip() -> bool:
    """Whether HIP placements work: this build has no HIP backend."""
def has_nccl() -> bool:
    """Whether NCCL works: this build has no NCCL backend."""
def has_shmem() -> bool:
    """Whether OpenSHMEM works: this build has no SHMEM backend."""
def placement_available(placement: int) -> bool:
    """Whether containers can be placed with ``placement`` on this build and machine."""

class _Backends:
    """Communication backends of this build (``dtl.backends``)."""
    def available(self) -> list[str]: ...
    def count(self) -> int: ...
    def name(self) -> str:
        """The backend ``Context()`` uses outside ``dtl.spmd``."""

backends: _Backends

class DistributedVector(_native._Container):
    """A resizable 1-D array partitioned across the ranks of a context."""
    def __new__(cls, ctx: Context, size: int, dtype: Any = ..., *, fill: Any = None, partition: int = ..., block_size: int | None = None, placement: int = ..., execution: int = ...) -> DistributedVector: ...
    def resize(self, n: int) -> None:
        """Collective: ``n`` elements, keeping values by global index (new ones are zero).

        Raises InvalidArgumentError while any ``local_view()`` of this vector is alive: the
        buffer moves, and a view must never dangle.
        """
    @classmethod
    def from_numpy(cls, ctx: Context, arr: Any, *, partition: int = ..., block_size: int | None = None, root: int = 0) -> DistributedVector:
        """Collective: a vector holding root's 1-D array, scattered from ``root``."""

class DistributedArray(_native._Container):
    """A fixed-size 1-D array partitioned across ranks (no ``resize``)."""
    def __new__(cls, ctx: Context, size: int, dtype: Any = ..., *, fill: Any = None, partition: int = ..., block_size: int | None = None, placement: int = ..., execution: int = ...) -> DistributedArray: ...
    @classmethod
    def from_numpy(cls, ctx: Context, arr: Any, *, partition: int = ..., block_size: int | None = None, root: int = 0) -> DistributedArray:
        """Collective: an array holding root's 1-D array, scattered from ``root``."""

class DistributedTensor(_native._Container):
    """An N-D array partitioned across ranks along dimension 0."""
    def __new__(cls, ctx: Context, shape: Sequence[int] | int, dtype: Any = ..., *, fill: Any = None, partition: int = ..., block_size: int | None = None, placement: int = ..., execution: int = ...) -> DistributedTensor: ...
    @classmethod
    def from_numpy(cls, ctx: Context, arr: Any, *, partition: int = ..., block_size: int | None = None, root: int = 0) -> DistributedTensor:
        """Collective: a tensor holding root's array, scattered from ``root`` along dim 0."""

class Window(_native.Window):
    """A window of memory every rank can read and write one-sidedly."""
    def __new__(cls, ctx: Context, size: int | None = None, base: Any = None) -> Window: ...

class DistributedMap(_native.DistributedMap):
    """A distributed hash map from integer keys to numbers, with cross-rank semantics."""
    def __new__(cls, ctx: Context, key_dtype: Any = ..., value_dtype: Any = ...) -> DistributedMap: ...

class DistributedSpan:
    """A non-owning view of global indices ``offset..offset+count`` of a 1-D container.

    The span holds its container, so it never outlives it; its local part is the container's
    elements in the range that this rank owns (contiguous under every partition).
    """
    def __init__(self, container: Any, offset: int = 0, count: int | None = None) -> None: ...
    @property
    def global_size(self) -> int: ...
    @property
    def local_size(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def rank(self) -> int: ...
    @property
    def num_ranks(self) -> int: ...
    @property
    def dtype(self) -> np.dtype[Any]: ...
    @property
    def container(self) -> Any: ...
    def local_view(self) -> np.ndarray[Any, Any]:
        """Zero-copy NumPy view of this rank's part of the span."""
    def to_numpy(self) -> np.ndarray[Any, Any]:
        """A copy of this rank's part of the span."""
    def subspan(self, offset: int, count: int) -> DistributedSpan:
        """The span of indices ``offset..offset+count`` of this span."""
    def __len__(self) -> int: ...

def reduce(target: Any, value: Any = ..., op: str | None = None, root: int = 0) -> Any:
    """``reduce(container, op=SUM)``: collective reduction of all elements (every rank gets it).

    ``reduce(ctx, value, op=SUM, root=0)``: collective reduction of every rank's value; the
    result at ``root``, ``None`` elsewhere.
    """
def scan(target: Any, value: Any = ..., op: str | None = None, exclusive: bool = False) -> Any:
    """``scan(container, op=SUM)``: a new container of prefix combinations in global order.

    ``scan(ctx, value, op=SUM)``: the prefix combination over ranks of every rank's value.
    """
def exscan(target: Any, value: Any = ..., op: str | None = None) -> Any:
    """Exclusive :func:`scan` (rank/element 0 gets the identity of ``op``)."""
def for_each(container: Any, func: Callable[[Any], Any]) -> None:
    """Calls ``func(x)`` for each local element, in global index order (local, no results)."""
def transform(src: Any, dst: Any, func: Callable[[Any], Any]) -> None:
    """``dst = func(src)`` on each rank's part; ``func`` gets the local NumPy view (ufuncs and
    vectorised lambdas work). The containers must be aligned (same length and partition)."""
def fill(container: Any, value: Any) -> None:
    """Sets every element to ``value`` (each rank fills its own part)."""
def copy(src: Any, dst: Any) -> None:
    """Collective: copies ``src`` into ``dst`` by global index, whatever their partitions."""
def find(container: Any, value: Any) -> int | None:
    """Collective: the lowest global index holding ``value``, or ``None``."""
def count(container: Any, value: Any) -> int:
    """Collective: how many elements equal ``value``."""
def sort(container: Any, reverse: bool = False) -> None:
    """Collective: sorts a vector or array across ranks, keeping its partition."""
def is_sorted(container: Any, reverse: bool = False) -> bool:
    """Collective: whether the container is sorted in global order."""
def dot(a: Any, b: Any) -> Any:
    """Collective: the sum of ``a[i] * b[i]`` over two aligned containers."""
def argmin(container: Any) -> tuple[int, Any] | None:
    """Collective: ``(index, value)`` of the smallest element (lowest index on ties)."""
def argmax(container: Any) -> tuple[int, Any] | None:
    """Collective: ``(index, value)`` of the largest element (lowest index on ties)."""

class Future:
    """The result of an ``async_*`` call.

    Collectives must run in the same order on every rank, so the operation runs when the
    ``async_*`` function is called; the future holds its result or its exception.
    """
    def __init__(self, fn: Callable[[], Any] | None = None, *, value: Any = None) -> None: ...
    def done(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> bool: ...
    def result(self, timeout: float | None = None) -> Any: ...

def async_for_each(container: Any, func: Callable[[Any], Any]) -> Future: ...
def async_transform(src: Any, dst: Any, func: Callable[[Any], Any]) -> Future: ...
def async_reduce(container: Any, op: str = ...) -> Future: ...
def async_sort(container: Any, reverse: bool = False) -> Future: ...
def async_fill(container: Any, value: Any) -> Future: ...
def async_copy(src: Any, dst: Any) -> Future: ...
def when_all(futures: Iterable[Future]) -> Future:
    """A future of every future's result, in order (raises the first exception)."""
def when_any(futures: Iterable[Future]) -> Future:
    """A future of ``(index, result)`` of the first completed future."""
def spmd(nranks: int) -> Callable[[Callable[..., Any]], Callable[..., list[Any]]]:
    """Decorator: ``dtl.spmd(4)(fn)(*args)`` runs ``fn(ctx, *args)`` on 4 thread ranks.

    Each rank gets its own world ``Context`` (and ``dtl.Context()`` inside ``fn`` returns it).
    Returns every rank's result in rank order. When a rank raises, the others are released
    from their waits and that first exception is re-raised here.
    """
class KernelDiagnostic:
    """One compile diagnostic of a kernel source: ``code`` (``"E0201"``…), ``message`` and the
    1-based ``line`` and ``column`` of its primary location."""
    code: str
    message: str
    line: int
    column: int
    def __init__(self, code: str, message: str, line: int, column: int) -> None: ...

class KernelProgram:
    """Kernels compiled by :func:`dtl.compile`: each function of the source is an attribute
    (``prog.saxpy(2.0, x, y)``, signature in ``help(prog.saxpy)``), and :meth:`run` runs
    ``fn main()`` on in-process thread ranks."""
    source: str
    functions: tuple[str, ...]
    signatures: dict[str, str]
    def __init__(self, native: Any, source: str) -> None: ...
    def __getattr__(self, name: str) -> Callable[..., Any]: ...
    def run(self, ranks: int = 1, **params: Any) -> None:
        """Runs ``fn main()`` on ``ranks`` in-process thread ranks, ``params`` overriding the
        source's ``param`` values by name (like ``dtlc run -D name=value``); the program's
        output goes to ``sys.stdout``. Returns None; a failure raises the matching exception."""

def compile(source: str) -> KernelProgram:
    """Parses, checks and JIT-compiles dtl kernel source (once per distinct source per process).

    Functions become attributes of the result; ``fn main()`` is optional (``run`` needs it).
    Raises CompileError (``str(e)`` the rendered diagnostics, ``e.diagnostics`` a list of
    :class:`KernelDiagnostic`) when the source does not compile.
    """
kernel = compile

class Topology:
    """A Cartesian grid over the ranks of a context (local: no communication)."""
    context: Context
    dims: tuple[int, ...]
    periodic: tuple[bool, ...]
    def __init__(self, ctx: Context, dims: Sequence[int] | None = None, periodic: bool | Sequence[bool] = False) -> None: ...
    @property
    def ndims(self) -> int: ...
    @property
    def rank(self) -> int: ...
    @property
    def size(self) -> int: ...
    def coords(self, rank: int | None = None) -> tuple[int, ...]: ...
    def rank_of(self, coords: Sequence[int]) -> int: ...
    def shift(self, dim: int, disp: int = 1) -> tuple[int, int]: ...

class RoleManager:
    """MPMD roles over a context: consecutive ranks take the roles in the order added."""
    context: Context
    def __init__(self, ctx: Context) -> None: ...
    def add_role(self, name: str, count: int) -> RoleManager: ...
    def assign(self) -> RoleManager: ...
    @property
    def roles(self) -> list[str]: ...
    def ranks(self, role: str) -> list[int]: ...
    @property
    def role(self) -> str: ...
    def is_role(self, role: str) -> bool: ...
    @property
    def role_context(self) -> Context: ...
    @property
    def role_rank(self) -> int: ...

def intergroup_send(rm: RoleManager, data: Any, role: str, index: int = 0, tag: int = 0) -> None: ...
def intergroup_recv(rm: RoleManager, role: str, index: int = 0, tag: int = 0) -> Any: ...
