"""Writing images (gimp_plugin/images/writing.py): atomic, never over a file that appeared meanwhile, full disks
named."""

from __future__ import annotations

import numpy as np
import pytest

from gimp_plugin.core.errors import InputError, OutputError
from gimp_plugin.images import writing as image_write
from gimp_plugin.images.writing import write_image


def test_a_full_disk_is_named_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    def full(pixels, suffix, icc, handle):
        handle.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(image_write, "_encode", full)
    with pytest.raises(OutputError, match="no space left"):
        write_image(tmp_path / "x.png", np.zeros((4, 4), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_a_file_created_meanwhile_by_another_run_is_not_replaced(tmp_path, monkeypatch):
    target = tmp_path / "x.png"
    encode = image_write._encode

    def racing(pixels, suffix, icc, handle):
        target.write_bytes(b"the other run's result")  # appears after the exists check, before the rename
        encode(pixels, suffix, icc, handle)

    monkeypatch.setattr(image_write, "_encode", racing)
    with pytest.raises(InputError, match="exists"):
        write_image(target, np.zeros((4, 4), np.uint8))
    assert target.read_bytes() == b"the other run's result" and len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize("length", [242, 250, 255])
def test_names_up_to_the_file_system_limit_are_written(tmp_path, length):
    name = "é" * ((length - 4) // 2) + "x" * ((length - 4) % 2) + ".png"  # two bytes a character: no half cut
    assert len(name.encode()) == length
    write_image = image_write.write_image
    write_image(tmp_path / name, np.zeros((4, 4, 3), np.uint8))
    assert (tmp_path / name).is_file() and [p.name for p in tmp_path.iterdir()] == [name]
