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


def interleaved_medians(works: dict[str, Callable[[], object]], repeats: int, warmups: int = 2) -> dict[str, float]:
    """Median seconds of each piece of work, their runs interleaved so that a busy machine slows them alike; the
    first ``warmups`` rounds are not counted."""
    times: dict[str, list[float]] = {name: [] for name in works}
    for round_index in range(warmups + repeats):
        for name, work in works.items():
            started = time.perf_counter()
            work()
            if round_index >= warmups:
                times[name].append(time.perf_counter() - started)
    return {name: statistics.median(measured) for name, measured in times.items()}
