"""Dynamic load balancing with one-sided atomics: ranks take tasks from a shared counter.

    python examples/python/work_queue.py [ranks]

Rank 0 exposes a counter in an RMA window over a NumPy array; every rank repeatedly does
rma_fetch_and_add to claim the next task until none are left. Task costs vary, so a static
split would be unbalanced; the claimed tasks are checked to cover each task exactly once.
"""

import sys

import numpy as np

import dtl

TASKS = 200


def task(i: int) -> int:
    # Collatz steps: irregular cost per task.
    n, steps = i + 1, 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


def body(ctx: dtl.Context) -> tuple[list[int], int]:
    counter = np.zeros(1, dtype=np.int64)
    with dtl.Window(ctx, base=counter) as win:
        mine: list[int] = []
        total = 0
        while True:
            i = int(dtl.rma_fetch_and_add(win, target=0, offset=0, addend=1, dtype=np.int64))
            if i >= TASKS:
                break
            mine.append(i)
            total += task(i)
        ctx.barrier()
        grand = dtl.allreduce(ctx, total, op=dtl.SUM)
    return mine, grand


def main() -> None:
    ranks = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    res = dtl.spmd(ranks)(body)()
    claimed = sorted(i for mine, _ in res for i in mine)
    assert claimed == list(range(TASKS)), "every task exactly once"
    grand = res[0][1]
    assert grand == sum(task(i) for i in range(TASKS))
    print(f"{TASKS} tasks claimed exactly once by {ranks} ranks; total Collatz steps {grand}")


if __name__ == "__main__":
    main()
