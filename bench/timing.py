"""Shared by the benchmark scripts: the median time of a piece of work, after a warm-up."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(work: Callable[[], object], repeats: int) -> float:
    """Median seconds of ``repeats`` runs of ``work``, after one warm-up run (onnxruntime's first run allocates)."""
    work()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)
