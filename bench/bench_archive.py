"""Whole archives: photos/s of the plain CLI, of 2 shards run side by side, and of a local Dask cluster of 2, on the
same photos in one run; and the peak memory and time of planning a million inputs.

- throughput: PHOTOS gray photos of --megapixels each, written to a temporary folder; each way colorizes all of
  them into a fresh output folder, timed from the command's start to its end (model loading and cluster start-up
  included: that is what a user waits for). The ways run one after another, alternating over --rounds.
- planning: --inputs empty files named like scans (planning never reads them) in --folders folders of a tmpfs
  (/dev/shm), planned by the real BatchPlan in a fresh process: its peak resident memory and its time.

Run: .venv/bin/python bench/bench_archive.py [--photos 12] [--megapixels 12] [--inputs 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
COLORIZE = [sys.executable, "-m", "gimp_plugin.cli"]


def make_photos(folder: Path, count: int, megapixels: float) -> None:
    folder.mkdir(parents=True)
    width = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = int(width * 3 / 4)
    rng = np.random.default_rng(0)
    ramp = np.linspace(30, 220, width, dtype=np.float32)[None, :] + np.linspace(-20, 20, height)[:, None]
    for index in range(count):
        noise = rng.normal(0, 12, (height // 8, width // 8)).repeat(8, 0).repeat(8, 1)[:height, :width]
        pixels = np.clip(ramp + noise, 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"scan{index:03d}.jpg", quality=90)


def timed(commands: list[list[str]]) -> float:
    """Seconds for the commands run side by side (all started at once, all waited for)."""
    start = time.perf_counter()
    running = [subprocess.Popen(command, cwd=ROOT) for command in commands]
    codes = [process.wait() for process in running]
    if any(codes):
        raise SystemExit(f"a command failed: {codes}")
    return time.perf_counter() - start


def throughput(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        photos = Path(scratch) / "photos"
        make_photos(photos, args.photos, args.megapixels)
        ways = {
            "plain CLI": lambda out: [[*COLORIZE, str(photos), "-o", str(out), "-q"]],
            "2 shards side by side": lambda out: [
                [*COLORIZE, str(photos), "-o", str(out), "-q", "--shard", f"{i}/2", "--threads", "1"] for i in range(2)
            ],
            "local cluster of 2": lambda out: [
                [*COLORIZE, str(photos), "-o", str(out), "-q", "--cluster", "local:2", "--threads", "1"]
            ],
        }
        seconds: dict[str, list[float]] = {name: [] for name in ways}
        for round_ in range(args.rounds):
            for name, commands in ways.items():
                out = Path(scratch) / f"out-{round_}-{len(seconds[name])}-{name.replace(' ', '_')}"
                seconds[name].append(timed(commands(out)))
                shutil.rmtree(out)
        print(
            f"\n{args.photos} photos of {args.megapixels} MP on {os.cpu_count()} CPU cores "
            f"(best of {args.rounds}; start-up included)"
        )
        print("| way | seconds | photos/s |\n|---|---|---|")
        for name, values in seconds.items():
            best = min(values)
            print(f"| {name} | {best:.1f} | {args.photos / best:.2f} |")


PLAN = """import json, resource, sys, time
from pathlib import Path
from gimp_plugin.cli.batch import BatchPlan
start = time.perf_counter()
plan = BatchPlan([Path(sys.argv[1])], Path(sys.argv[2]), None)
checked = time.perf_counter() - start
count = sum(1 for _ in plan.tasks())
print(json.dumps({"inputs": count, "check_s": checked, "total_s": time.perf_counter() - start,
                  "peak_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))"""


def planning(args: argparse.Namespace) -> None:
    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
    scratch = Path(tempfile.mkdtemp(prefix="colorize-plan-bench-", dir=base))
    try:
        per_folder = -(-args.inputs // args.folders)
        made = 0
        for folder_index in range(args.folders):
            folder = scratch / "archive" / f"box{folder_index:04d}"
            folder.mkdir(parents=True)
            for index in range(min(per_folder, args.inputs - made)):
                (folder / f"scan{index:06d}.jpg").touch()
                made += 1
        done = subprocess.run(
            [sys.executable, "-c", PLAN, str(scratch / "archive"), str(scratch / "out")],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"\nplanning {result['inputs']:,} inputs in {args.folders} folders ({base}): checked in "
            f"{result['check_s']:.1f} s, all tasks streamed in {result['total_s']:.1f} s, peak memory "
            f"{result['peak_bytes'] / 2**20:.0f} MiB"
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=12)
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--inputs", type=int, default=1_000_000)
    parser.add_argument("--folders", type=int, default=100)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-planning", action="store_true")
    args = parser.parse_args()
    if not args.skip_throughput:
        throughput(args)
    if not args.skip_planning:
        planning(args)


if __name__ == "__main__":
    main()
