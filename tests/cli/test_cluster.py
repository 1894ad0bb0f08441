"""`colorize --cluster`: a batch on Dask distributed, with a worker killed mid-run."""

import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gimp_plugin.cli.cluster import parse_address, run_on_cluster
from gimp_plugin.cli.photo import DONE_BEFORE, WRITTEN, Settings
from gimp_plugin.images.reading import read_image
from tests.cli_runs import run


def test_without_dask_the_user_is_told_what_to_install(tmp_path, gray_u8, model_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    Image.fromarray(gray_u8).save(tmp_path / "a.png")
    assert run(tmp_path / "a.png", "-o", tmp_path / "out.png", "--model", model_path, "--cluster", "local") == 2
    assert "./install.sh --cluster" in capsys.readouterr().err and not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("text", ["local:0", "local:x", "localhost:8786", ""])
def test_a_bad_cluster_address_is_refused_in_words(text):
    with pytest.raises(ValueError, match="local:N"):
        parse_address(text)


def _photos(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    base = np.tile(np.linspace(0, 255, 320, dtype=np.float32), (240, 1))
    paths = []
    for index in range(count):
        pixels = np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)
        paths.append(folder / f"scan{index:02d}.png")
        Image.fromarray(pixels).save(paths[-1])
    return paths


def _kill_a_worker_once_work_is_under_way(out: Path, killed: list[int]) -> None:
    import psutil

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(out.glob("*.png"))) < 3:
        time.sleep(0.02)
    workers = [p for p in psutil.Process().children(recursive=True) if "spawn" in " ".join(p.cmdline())]
    if workers:
        os.kill(workers[0].pid, signal.SIGKILL)
        killed.append(workers[0].pid)


@pytest.mark.slow
def test_a_local_cluster_survives_a_killed_worker_and_writes_every_photo_once(tmp_path, model_path):
    pytest.importorskip("distributed")
    photos = _photos(tmp_path / "scans", 36)
    out = tmp_path / "out"
    out.mkdir()
    outcomes, killed = [], []
    killer = threading.Thread(target=_kill_a_worker_once_work_is_under_way, args=(out, killed))
    killer.start()
    spec = {"model_path": str(model_path), "digest": None, "device": "cpu", "threads": 1}
    pairs = [(photo, out / photo.name) for photo in photos]
    run_on_cluster("local:2", pairs, Settings(threads=1), spec, outcomes.append, chunk_size=2)
    killer.join()
    assert killed, "a worker was killed while the batch ran"
    assert sorted(o.input for o in outcomes) == sorted(map(str, photos)), "one outcome per photo"
    assert {o.status for o in outcomes} <= {WRITTEN, DONE_BEFORE}, [o.message for o in outcomes]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in photos), "no temporary file is left"
    # the same outputs as the plain CLI's
    plain = tmp_path / "plain"
    assert run(tmp_path / "scans", "-o", plain, "--model", model_path, "-q", "--threads", "1") == 0
    for photo in photos:
        there, here = read_image(out / photo.name).pixels, read_image(plain / photo.name).pixels
        assert np.abs(there.astype(int) - here.astype(int)).max() <= 1


@pytest.mark.slow
def test_the_cli_runs_a_batch_on_a_local_cluster_and_resumes(tmp_path, model_path, capsys):
    pytest.importorskip("distributed")
    _photos(tmp_path / "scans", 5)
    out, report = tmp_path / "out", tmp_path / "run.jsonl"
    (out).mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(out / "scan00.png")  # done before
    (tmp_path / "scans" / "broken.png").write_bytes(b"not a png")
    status = run(tmp_path / "scans", "-o", out, "--model", model_path, "--cluster", "local:1", "--report", report)
    assert status == 1, "one photo failed, and the exit status says so"
    error = capsys.readouterr().err
    assert "broken.png" in error and "1 done before" in error
    assert len(report.read_text().splitlines()) == 6
    assert sorted(p.name for p in out.iterdir()) == [f"scan{i:02d}.png" for i in range(5)]


@pytest.mark.slow
def test_a_scheduler_that_is_not_there_is_said_in_words(tmp_path, gray_u8, model_path, capsys, monkeypatch):
    pytest.importorskip("distributed")
    from gimp_plugin.cli import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", "2s")
    Image.fromarray(gray_u8).save(tmp_path / "a.png")
    code = run(tmp_path / "a.png", "-o", tmp_path / "out.png", "--model", model_path, "--cluster", "tcp://127.0.0.1:9")
    assert code == 2 and "cannot reach a Dask scheduler" in capsys.readouterr().err
    assert not (tmp_path / "out.png").exists()
