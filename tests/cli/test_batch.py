"""Whole archives with `colorize`: resume by default, stale temporary files removed, --report, --shard."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gimp_plugin.cli import main as cli
from gimp_plugin.cli.batch import BatchPlan, Shard
from gimp_plugin.cli.terminal import printable


def run(*args) -> int:
    return cli.main([str(a) for a in args])


@pytest.fixture
def archive(tmp_path, gray_u8) -> Path:
    folder = tmp_path / "archive"
    for index in range(6):
        (folder / f"box{index % 2}").mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.roll(gray_u8, index, axis=1)).save(folder / f"box{index % 2}" / f"scan{index}.png")
    return folder


def _outputs(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_a_batch_run_again_does_only_what_is_left_and_exits_0(archive, tmp_path, model_path, capsys):
    out = tmp_path / "out"
    assert run(archive / "box0", "-o", out / "box0", "--model", model_path, "-q") == 0
    first = {name: (out / name).stat().st_mtime_ns for name in _outputs(out)}
    capsys.readouterr()
    assert run(archive, "-o", out, "--model", model_path) == 0
    error = capsys.readouterr().err
    assert "3 done before (pass --overwrite to redo them)" in error and "3 images written" in error
    assert len(_outputs(out)) == 6
    assert all((out / name).stat().st_mtime_ns == when for name, when in first.items()), "done ones are untouched"


def test_temporary_files_of_an_interrupted_run_are_removed_when_planned(archive, tmp_path, model_path, capsys):
    out = tmp_path / "out"
    (out / "box0").mkdir(parents=True)
    stale = out / "box0" / ".scan0.png.k2j4_9xq.tmp"  # what a kill -9 during the write leaves
    stale.write_bytes(b"half an image")
    someone_elses = out / "box0" / ".notes.txt.k2j4_9xq.tmp"  # not the temporary file of an output of this run
    someone_elses.write_bytes(b"keep")
    assert run(archive, "-o", out, "--model", model_path, "-q") == 0
    assert not stale.exists() and someone_elses.exists()
    assert len(_outputs(out)) == 7


def test_the_report_has_a_line_per_input_as_the_run_goes(archive, tmp_path, model_path):
    out, report = tmp_path / "out", tmp_path / "run.jsonl"
    (archive / "box1" / "broken.png").write_bytes(b"not a png")
    (out / "box0").mkdir(parents=True)
    (out / "box0" / "scan0.png").write_bytes(b"done by an earlier run")
    assert run(archive, tmp_path / "ghost.png", "-o", out, "--model", model_path, "-q", "--report", report) == 1
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert [set(line) for line in lines] == [{"input", "output", "status", "message", "seconds"}] * 8
    by_input = {Path(line["input"]).name: line for line in lines}
    assert by_input["ghost.png"]["status"] == "failed" and "no such file" in by_input["ghost.png"]["message"]
    assert by_input["broken.png"]["status"] == "failed" and by_input["broken.png"]["message"]
    assert by_input["scan0.png"]["status"] == "done-before"
    written = [line for line in lines if line["status"] == "written"]
    assert len(written) == 5 and all(Path(line["output"]).is_file() and line["seconds"] > 0 for line in written)
    # a resumed run appends to the same report
    assert run(archive, "-o", out, "--model", model_path, "-q", "--report", report) == 1
    assert len(report.read_text().splitlines()) == 8 + 7


def test_the_report_is_never_an_image_nor_written_through_a_link(archive, tmp_path, model_path, capsys):
    target = tmp_path / "precious.txt"
    target.write_text("keep")
    (tmp_path / "link.jsonl").symlink_to(target)
    assert run(archive, "-o", tmp_path / "out", "--model", model_path, "--report", tmp_path / "link.jsonl") == 2
    assert "symbolic link" in capsys.readouterr().err and target.read_text() == "keep"
    assert run(archive, "-o", tmp_path / "out", "--model", model_path, "--report", tmp_path / "r.png") == 2
    assert "names an image file" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_shards_together_do_every_input_exactly_once_whatever_the_listing_order(archive, tmp_path):
    for index in range(40):
        (archive / f"extra{index:02d}.jpg").write_bytes(b"")  # planning does not read the images
    everything = sorted(str(t.source) for t in BatchPlan([archive], tmp_path / "o", None).tasks())
    for count in (1, 3, 7):
        shares = [sorted(str(t.source) for t in BatchPlan([archive], tmp_path / "o", None, shard=Shard(i, count))
                  .tasks()) for i in range(count)]  # fmt: skip
        assert sorted(sum(shares, [])) == everything
        assert sum(len(share) for share in shares) == len(everything) == 46
    # by the path relative to the input folder: the same archive elsewhere is shared out the same way
    moved = tmp_path / "moved"
    archive.rename(moved)
    again = {t.source.relative_to(moved).as_posix() for t in BatchPlan([moved], tmp_path / "o", None,
                                                                       shard=Shard(1, 3)).tasks()}  # fmt: skip
    assert again == {Path(p).relative_to(archive).as_posix() for p in shares_of(everything, archive, 1, 3)}


def shares_of(paths: list[str], root: Path, index: int, count: int) -> list[str]:
    return [p for p in paths if Shard(index, count).holds(Path(p).relative_to(root).as_posix())]


def test_a_shard_run_writes_only_its_share(archive, tmp_path, model_path, capsys):
    out = tmp_path / "out"
    shares = [{t.destination for t in BatchPlan([archive], out, None, shard=Shard(i, 3)).tasks()} for i in range(3)]
    for index in range(3):
        assert run(archive, "-o", out, "--model", model_path, "-q", "--shard", f"{index}/3") == 0
        assert {p for p in out.rglob("*") if p.is_file()} == set().union(*shares[: index + 1])
    assert len(_outputs(out)) == 6
    with pytest.raises(SystemExit) as stopped:
        run(archive, "-o", out, "--model", model_path, "--shard", "3/3")
    assert stopped.value.code == 2 and "0 <= I < N" in capsys.readouterr().err


def test_stale_temporary_files_of_other_shards_are_left_to_them(archive, tmp_path):
    out = tmp_path / "out" / "box0"
    out.mkdir(parents=True)
    temporaries = [out / f".scan{i}.png.abcdefgh.tmp" for i in (0, 2, 4)]
    for path in temporaries:
        path.write_bytes(b"")
    mine = {t.destination.name for t in BatchPlan([archive], tmp_path / "out", None, shard=Shard(0, 2)).tasks()}
    assert {p.name for p in temporaries if p.exists()} == {
        f".{name}.abcdefgh.tmp" for name in ("scan0.png", "scan2.png", "scan4.png") if name not in mine
    }


def test_names_with_escape_sequences_reach_the_terminal_escaped(tmp_path, gray_u8, model_path, capsys):
    name = "evil\x1b]0;owned\x07\x1b[2J.png"
    Image.fromarray(gray_u8).save(tmp_path / name)
    (tmp_path / "bad\x1b[31m.png").write_bytes(b"broken")
    assert run(tmp_path, "-o", tmp_path / "out", "--model", model_path) == 1
    error = capsys.readouterr().err
    assert "\x1b" not in error and "\x07" not in error and "\\x1b" in error


def test_printable_keeps_letters_and_escapes_the_rest():
    assert printable("Ångström 写真.png") == "Ångström 写真.png"
    assert printable("a\x00b\x1b[2Jc\u202ed") == "a\\x00b\\x1b[2Jc\\u202ed"
    assert printable(os.fsdecode(b"caf\xe9.png")) == "caf\\xe9.png"


def test_an_unreadable_folder_fails_by_name_and_the_rest_is_done(archive, tmp_path, model_path, capsys, monkeypatch):
    locked = archive / "locked"
    locked.mkdir()
    real_scandir = os.scandir

    def scandir(path):  # root reads any folder: a folder it cannot read is made by refusing it here
        if os.fspath(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert run(archive, "-o", tmp_path / "out", "--model", model_path, "-q") == 1
    assert "locked: cannot read this folder (Permission denied)" in capsys.readouterr().err
    assert len(_outputs(tmp_path / "out")) == 6


def test_a_linked_folder_is_named_in_a_note(archive, tmp_path, model_path, capsys):
    (archive / "elsewhere").symlink_to(tmp_path / "nowhere-in-particular", target_is_directory=True)
    (tmp_path / "nowhere-in-particular").mkdir()
    assert run(archive, "-o", tmp_path / "out", "--model", model_path) == 0
    assert "elsewhere: a link to a folder, not followed" in capsys.readouterr().err


def test_a_photo_too_large_for_its_format_fails_alone(tmp_path, model_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(np.full((1, 17000), 120, np.uint8)).save(folder / "a_strip.png")
    Image.fromarray(np.full((20, 30), 120, np.uint8)).save(folder / "b_small.png")
    assert run(folder, "-o", tmp_path / "out", "--format", "webp", "--model", model_path, "-q") == 1
    assert "WEBP holds at most 16383 pixels a side" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["b_small.webp"]


def test_a_single_output_and_format_that_disagree_are_refused(tmp_path, model_path, gray_u8, capsys):
    Image.fromarray(gray_u8).save(tmp_path / "a.png")
    assert run(tmp_path / "a.png", "-o", tmp_path / "single.webp", "--format", "jpg", "--model", model_path) == 2
    assert "name two formats" in capsys.readouterr().err and not list(tmp_path.glob("single.*"))
