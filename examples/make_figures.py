"""Regenerate the sample results and the README's hint figure with the shipped model, through the real CLI.

Run after shipping a new model: .venv/bin/python examples/make_figures.py
Writes examples/*_color.png, examples/astronaut_hinted.png, docs/before_after.png (the inputs above, the results
below), docs/model/hints_demo.png (gray | automatic | the hint dots | with the hints | the original; the original
is scikit-image's astronaut, a dev dependency) and docs/model/hint_suggestions.png (gray | automatic | where the
model is unsure | the 10 suggested dots, in the model's guess | the same dots recolored from the original | the
result with them | the original, scikit-image's astronaut) and docs/model/reference_demo.png (gray | a
reference made from the original | automatic | with the reference | the original).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gimp_plugin.cli import main as cli  # noqa: E402

EXAMPLES = ROOT / "examples"
PANEL = 256


def colorize(source: Path, target: Path, *extra: str) -> None:
    if cli.main([str(source), "-o", str(target), "--overwrite", "--quiet", *extra]) != 0:
        raise SystemExit(f"colorize failed on {source}")


def panel(image: Image.Image) -> Image.Image:
    return image.convert("RGB").resize((PANEL, PANEL), Image.Resampling.LANCZOS)


def hint_panel(gray: Image.Image, hints: Image.Image) -> Image.Image:
    """The hint dots drawn over the gray photo, each grown to 5 px so that it shows at panel size."""
    dots = np.asarray(hints.convert("RGBA"))
    grown = np.zeros(dots.shape[:2], bool)
    colors = dots[..., :3].copy()
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            shifted = np.roll(dots, (dy, dx), axis=(0, 1))
            covered = shifted[..., 3] > 0
            colors[covered] = shifted[..., :3][covered]
            grown |= covered
    base = np.asarray(gray.convert("RGB")).copy()
    base[grown] = colors[grown]
    return panel(Image.fromarray(base))


def before_after(pairs: list[tuple[Path, Path]], height: int = 240) -> Image.Image:
    """Each input above its result, side by side, all scaled to ``height``."""
    columns = []
    for source, result in pairs:
        images = [Image.open(path).convert("RGB") for path in (source, result)]
        width = round(images[0].width * height / images[0].height)
        columns.append([image.resize((width, height), Image.Resampling.LANCZOS) for image in images])
    gap = 6
    sheet = Image.new("RGB", (sum(c[0].width for c in columns) + gap * (len(columns) - 1), 2 * height + gap), "white")
    left = 0
    for above, below in columns:
        sheet.paste(above, (left, 0))
        sheet.paste(below, (left, height + gap))
        left += above.width + gap
    return sheet


def suggestion_figure(folder: Path, count: int = 10) -> Image.Image:
    """The suggested hint points on examples/astronaut_bw.jpg, recolored from the original as a user would."""
    from skimage import data

    gray_path, truth = EXAMPLES / "astronaut_bw.jpg", data.astronaut()
    dots_path, unsure_path = folder / "dots.png", folder / "unsure.png"
    colorize(gray_path, dots_path, "--suggest-hints", str(count), "--uncertainty-map", str(unsure_path))
    colorize(gray_path, folder / "automatic.png")
    dots = np.asarray(Image.open(dots_path).convert("RGBA")).copy()
    painted = dots[..., 3] > 0
    recolored = dots.copy()
    recolored[painted, :3] = truth[painted]  # the user picks each dot's color from the original
    Image.fromarray(recolored, "RGBA").save(folder / "recolored.png")
    colorize(gray_path, folder / "with_dots.png", "--hints", str(folder / "recolored.png"))
    gray = Image.open(gray_path)
    panels = [
        panel(gray),
        panel(Image.open(folder / "automatic.png")),
        panel(Image.open(unsure_path)),
        hint_panel(gray, Image.open(dots_path)),
        hint_panel(gray, Image.open(folder / "recolored.png")),
        panel(Image.open(folder / "with_dots.png")),
        panel(Image.fromarray(truth)),
    ]
    sheet = Image.new("RGB", (PANEL * len(panels), PANEL))
    for index, image in enumerate(panels):
        sheet.paste(image, (index * PANEL, 0))
    return sheet


def reference_figure(folder: Path) -> Image.Image:
    """examples/astronaut_bw.jpg colorized with a reference: the original mirrored, cropped to a 70 % window and
    scaled to 60 % (colorize-eval's 'same scene' case), beside the automatic result and the original."""
    from skimage import data

    sys.path.insert(0, str(ROOT))
    from training.measure.reference_cases import same_scene

    gray_path, truth = EXAMPLES / "astronaut_bw.jpg", data.astronaut()
    Image.fromarray(same_scene(truth)).save(folder / "reference.png")
    colorize(gray_path, folder / "with_reference.png", "--reference", str(folder / "reference.png"))
    panels = [
        panel(Image.open(gray_path)),
        panel(Image.open(folder / "reference.png")),
        panel(Image.open(EXAMPLES / "astronaut_color.png")),
        panel(Image.open(folder / "with_reference.png")),
        panel(Image.fromarray(truth)),
    ]
    sheet = Image.new("RGB", (PANEL * len(panels), PANEL))
    for index, image in enumerate(panels):
        sheet.paste(image, (index * PANEL, 0))
    return sheet


def main() -> int:
    pairs = []
    for source in sorted(EXAMPLES.glob("*_bw.*")):
        target = EXAMPLES / source.name.replace("_bw", "_color").replace(source.suffix, ".png")
        colorize(source, target)
        pairs.append((source, target))
    before_after(pairs).save(ROOT / "docs" / "before_after.png", optimize=True)
    gray_path, hints_path = EXAMPLES / "astronaut_bw.jpg", EXAMPLES / "astronaut_hints.png"
    colorize(gray_path, EXAMPLES / "astronaut_hinted.png", "--hints", str(hints_path))
    from skimage import data

    gray, hints = Image.open(gray_path), Image.open(hints_path)
    panels = [
        panel(gray),
        panel(Image.open(EXAMPLES / "astronaut_color.png")),
        hint_panel(gray, hints),
        panel(Image.open(EXAMPLES / "astronaut_hinted.png")),
        panel(Image.fromarray(data.astronaut())),
    ]
    sheet = Image.new("RGB", (PANEL * len(panels), PANEL))
    for index, image in enumerate(panels):
        sheet.paste(image, (index * PANEL, 0))
    sheet.save(ROOT / "docs" / "model" / "hints_demo.png", optimize=True)
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        suggestion_figure(Path(folder)).save(ROOT / "docs" / "model" / "hint_suggestions.png", optimize=True)
        reference_figure(Path(folder)).save(ROOT / "docs" / "model" / "reference_demo.png", optimize=True)
    print(
        "wrote examples/*_color.png, examples/astronaut_hinted.png, docs/before_after.png, docs/model/hints_demo.png,"
        " docs/model/hint_suggestions.png, docs/model/reference_demo.png"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
