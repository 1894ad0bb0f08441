"""Whole archives with `colorize`: resume by default, stale temporary files removed, --report, --shard."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gimp_plugin.cli import main as cli
from gimp_plugin.cli import photo as files
from gimp_plugin.cli.batch import BatchPlan, Shard
from gimp_plugin.cli.terminal import printable
from gimp_plugin.images import writing as image_write
from tests.cli_runs import run, save_gray


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
        shares = [
            sorted(str(t.source) for t in BatchPlan([archive], tmp_path / "o", None, shard=Shard(i, count)).tasks())
            for i in range(count)
        ]
        assert sorted(sum(shares, [])) == everything
        assert sum(len(share) for share in shares) == len(everything) == 46
    # by the path relative to the input folder: the same archive elsewhere is shared out the same way
    moved = tmp_path / "moved"
    archive.rename(moved)
    again = {
        t.source.relative_to(moved).as_posix()
        for t in BatchPlan([moved], tmp_path / "o", None, shard=Shard(1, 3)).tasks()
    }
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


@pytest.fixture
def colorized(monkeypatch) -> list[int]:
    """Counts the photos the CLI colorizes: problems found when the batch is planned must leave it at 0."""
    calls = []
    real = files.run_request

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(files, "run_request", counting)
    return calls


def test_an_input_is_not_written_over_by_another_inputs_output(tmp_path, model_path):
    scans = tmp_path / "scans"
    original = save_gray(scans / "photo.jpg").read_bytes()
    save_gray(scans / "photo.png")
    assert run(scans, "-o", scans, "--format", "jpg", "--overwrite", "--model", model_path, "-q") == cli.EXIT_USAGE
    assert (scans / "photo.jpg").read_bytes() == original
    (scans / "photo.png").unlink()
    save_gray(scans / "other.png")
    assert run(scans, "-o", scans, "--format", "jpg", "--overwrite", "--model", model_path, "-q") == 1
    assert (scans / "photo.jpg").read_bytes() == original, "photo.jpg is an input: never an output"
    assert (scans / "other.jpg").is_file(), "the other file is still done"


def test_two_inputs_with_one_output_name_stop_the_run_before_any_work(tmp_path, model_path, capsys):
    save_gray(tmp_path / "in" / "a.jpg")
    save_gray(tmp_path / "in" / "a.tif")
    out = tmp_path / "out"
    for extra in ([], ["--overwrite"]):
        assert run(tmp_path / "in", "-o", out, "--format", "png", "--model", model_path, *extra) == cli.EXIT_USAGE
        assert not out.exists(), "nothing was written"
        assert "same output file" in capsys.readouterr().err


def test_a_write_error_skips_that_file_and_the_batch_goes_on(tmp_path, model_path, capsys):
    save_gray(tmp_path / "in" / "a.png")
    save_gray(tmp_path / "in" / "album" / "b.png")
    out = tmp_path / "out"
    out.mkdir()
    (out / "album").write_text("a file where the output folder should be")
    assert run(tmp_path / "in", "-o", out, "--model", model_path, "-q") == 1
    assert (out / "a.png").is_file()
    assert "a part of the folder path is a file" in capsys.readouterr().err


def test_an_output_folder_inside_the_input_folder_is_not_read_again(tmp_path, model_path):
    save_gray(tmp_path / "scans" / "a.png")
    assert run(tmp_path / "scans", "-o", tmp_path / "scans" / "colorized", "--model", model_path, "-q") == 0
    assert (
        run(tmp_path / "scans", "-o", tmp_path / "scans" / "colorized", "--model", model_path, "-q", "--overwrite") == 0
    )
    assert sorted(p.relative_to(tmp_path / "scans").as_posix() for p in (tmp_path / "scans").rglob("*.png")) == [
        "a.png",
        "colorized/a.png",
    ]


def test_gif_is_refused_as_a_file_and_skipped_in_folders(tmp_path, model_path, capsys):
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "anim.gif")
    assert run(tmp_path / "anim.gif", "-o", tmp_path / "o.png", "--model", model_path) == 1
    assert "GIF files are not read" in capsys.readouterr().err


def test_the_hint_image_is_never_written_over_even_with_overwrite(tmp_path, model_path, capsys, colorized):
    save_gray(tmp_path / "photo.png")
    hint = np.zeros((16, 24, 4), np.uint8)
    hint[4, 4] = [255, 0, 0, 255]
    Image.fromarray(hint, "RGBA").save(tmp_path / "h.png")
    painted = (tmp_path / "h.png").read_bytes()
    code = run(
        tmp_path / "photo.png",
        "--hints",
        tmp_path / "h.png",
        "-o",
        tmp_path / "h.png",
        "--overwrite",
        "--model",
        model_path,
    )
    assert code == cli.EXIT_SOME_FAILED and not colorized
    assert (tmp_path / "h.png").read_bytes() == painted
    assert "never written over" in capsys.readouterr().err


def test_a_read_only_output_folder_is_found_before_any_photo_is_colorized(
    tmp_path, model_path, monkeypatch, capsys, colorized
):
    save_gray(tmp_path / "in" / "a.png")
    save_gray(tmp_path / "in" / "b.png")
    real = image_write.tempfile.mkstemp

    def read_only(*args, **kwargs):
        if kwargs.get("prefix", "").startswith(".colorize-probe"):
            raise OSError(errno.EROFS, "Read-only file system")
        return real(*args, **kwargs)

    monkeypatch.setattr(image_write.tempfile, "mkstemp", read_only)
    assert run(tmp_path / "in", "-o", tmp_path / "out", "--model", model_path, "-q") == cli.EXIT_SOME_FAILED
    assert not colorized and "the disk is read-only" in capsys.readouterr().err


def test_a_full_disk_or_a_file_in_the_way_is_found_before_any_photo_is_colorized(
    tmp_path, model_path, monkeypatch, capsys, colorized
):
    save_gray(tmp_path / "in" / "a.png")
    (tmp_path / "taken").write_text("a file where the output folder should be")
    assert run(tmp_path / "in", "-o", tmp_path / "taken" / "out", "--model", model_path, "-q") == 1
    assert "a part of the folder path is a file" in capsys.readouterr().err
    monkeypatch.setattr(image_write.shutil, "disk_usage", lambda path: type("U", (), {"free": 1000})())
    assert run(tmp_path / "in", "-o", tmp_path / "out", "--model", model_path, "-q") == 1
    assert "no space left" in capsys.readouterr().err and not colorized


def test_the_same_file_given_twice_is_done_once(tmp_path, model_path, capsys):
    save_gray(tmp_path / "photo.png")
    assert run(tmp_path / "photo.png", tmp_path / "photo.png", "-o", tmp_path / "out", "--model", model_path) == 0
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["photo.png"]
    assert "given more than once" in capsys.readouterr().err


def test_an_output_ending_in_a_slash_is_a_folder(tmp_path, model_path):
    save_gray(tmp_path / "photo.png")
    assert run(tmp_path / "photo.png", "-o", f"{tmp_path / 'newdir'}/", "--model", model_path, "-q") == 0
    assert (tmp_path / "newdir" / "photo.png").is_file()


@pytest.mark.parametrize("output, message", [("out.xyz", "unknown output format '.xyz'"), ("out", "no file extension")])
def test_a_bad_output_extension_is_found_before_colorizing(tmp_path, model_path, capsys, colorized, output, message):
    save_gray(tmp_path / "photo.png")
    assert run(tmp_path / "photo.png", "-o", tmp_path / output, "--model", model_path) == cli.EXIT_USAGE
    assert message in capsys.readouterr().err and not colorized and not (tmp_path / output).exists()


def test_a_folder_input_with_an_image_file_output_is_refused(tmp_path, model_path, capsys, colorized):
    save_gray(tmp_path / "scans" / "a.png")
    assert run(tmp_path / "scans", "-o", tmp_path / "out.png", "--model", model_path) == cli.EXIT_USAGE
    assert "give an output folder" in capsys.readouterr().err
    assert not (tmp_path / "out.png").exists() and not colorized
