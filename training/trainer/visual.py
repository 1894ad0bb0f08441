"""Pictures for people: sample grids (gray | predicted | truth) and loss curves, drawn with Pillow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from training.data.lab import lab_to_rgb


def _to_pil(rgb: torch.Tensor) -> Image.Image:
    array = (rgb.clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    return Image.fromarray(array)


def sample_grid(lightness: torch.Tensor, predicted_ab: torch.Tensor, true_ab: torch.Tensor, path: Path) -> None:
    """One row per image: gray input | prediction | truth."""
    zeros = torch.zeros_like(true_ab)
    columns = [lab_to_rgb(torch.cat([lightness, ab], 1)).float().cpu() for ab in (zeros, predicted_ab, true_ab)]
    size = lightness.shape[-1]
    sheet = Image.new("RGB", (3 * size, lightness.shape[0] * size), "white")
    for row in range(lightness.shape[0]):
        for column, images in enumerate(columns):
            sheet.paste(_to_pil(images[row]), (column * size, row * size))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


def loss_curves(history: dict[str, list[tuple[int, float]]], path: Path, size=(900, 420)) -> None:
    """A line chart of each series against the step (log-scaled values), with a legend."""
    width, height = size
    margin = 50
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    series = {name: points for name, points in history.items() if len(points) > 1}
    if not series:
        image.save(path)
        return
    steps = [s for points in series.values() for s, _ in points]
    values = [np.log10(max(v, 1e-6)) for points in series.values() for _, v in points]
    low_s, high_s = min(steps), max(max(steps), min(steps) + 1)
    low_v, high_v = min(values), max(max(values), min(values) + 1e-3)
    draw.rectangle([margin, margin // 2, width - margin // 2, height - margin], outline="black")
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2"]
    for index, (name, points) in enumerate(sorted(series.items())):
        fill = palette[index % len(palette)]
        xy = [
            (
                margin + (s - low_s) / (high_s - low_s) * (width - 1.5 * margin),
                height - margin - (np.log10(max(v, 1e-6)) - low_v) / (high_v - low_v) * (height - 1.5 * margin),
            )
            for s, v in points
        ]
        draw.line(xy, fill=fill, width=2)
        draw.text((margin + 10, margin // 2 + 5 + 14 * index), name, fill=fill)
    draw.text((margin, height - margin + 8), f"step {low_s}", fill="black")
    draw.text((width - 2 * margin, height - margin + 8), f"{high_s}", fill="black")
    draw.text((5, margin // 2), f"1e{high_v:.1f}", fill="black")
    draw.text((5, height - margin - 10), f"1e{low_v:.1f}", fill="black")
    image.save(path)
