"""Running kernels on several cores.

A batch is cut into morsels of whole 64-row blocks, so no two threads ever
write the same bitmap word, and the morsels run on one process-wide thread
pool. Kernels are called through ctypes, which releases the GIL for the
duration of the call, so the threads really run at once; the results do not
depend on the number of threads.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from ..errors import ArgumentError

T = TypeVar("T")

# Fewer rows than this per thread are not worth a hand-off to the pool.
MIN_MORSEL_ROWS = 1 << 17


def cpu_count() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class _Pool:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    def executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=max(1, cpu_count()),
                                                    thread_name_prefix="arrowjit")
            return self._executor


_POOL = _Pool()


def resolve(threads: int | None) -> int:
    """A thread count: None means every core."""
    if threads is None:
        return cpu_count()
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise ArgumentError(f"threads must be a positive integer or None, not {threads!r}")
    return threads


def row_ranges(length: int, threads: int) -> list[tuple[int, int]]:
    """``[0, length)`` cut into at most ``threads`` ranges that start on 64-row boundaries."""
    if threads <= 1 or length < 2 * MIN_MORSEL_ROWS:
        return [(0, length)]
    parts = max(1, min(threads, length // MIN_MORSEL_ROWS))
    blocks = (length + 63) // 64
    cuts = [min(length, (blocks * k // parts) * 64) for k in range(parts + 1)]
    return [(cuts[k], cuts[k + 1]) for k in range(parts) if cuts[k] < cuts[k + 1]]


def run(tasks: Sequence[Callable[[], T]], threads: int) -> list[T]:
    """Run ``tasks`` on at most ``threads`` threads (the caller's among them); results in order.

    The tasks are dealt into ``threads`` groups run one after the other: the
    caller runs the first group, pool threads the others, so ``threads`` is a
    real cap whatever the size of the pool.
    """
    if threads <= 1 or len(tasks) <= 1:
        return [task() for task in tasks]
    groups = [list(range(k, len(tasks), threads)) for k in range(min(threads, len(tasks)))]

    def run_group(indices: list[int]) -> list[tuple[int, T]]:
        return [(i, tasks[i]()) for i in indices]

    executor = _POOL.executor()
    futures = [executor.submit(run_group, group) for group in groups[1:]]
    done = run_group(groups[0])
    for future in futures:
        done.extend(future.result())
    return [result for _, result in sorted(done, key=lambda pair: pair[0])]
