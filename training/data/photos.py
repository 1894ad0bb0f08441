"""Training data: folders of color photos -> seeded random crops, a fixed validation split, and color hints.

Every random choice (crop, flip, sample order, hints) comes from a torch.Generator seeded by (run seed, epoch,
sample), so a resumed run sees exactly the data an unbroken one would.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import shutil
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset, Sampler

from gimp_plugin.cli.terminal import printable
from gimp_plugin.core import color
from gimp_plugin.images.reading import IMAGE_EXTENSIONS
from training.common.errors import TrainingError

log = logging.getLogger("colorize.train")

# Mean Lab chroma below which a photo counts as gray: it would only teach the model to paint nothing.
MIN_MEAN_CHROMA = 2.0
MAX_HINT_PATCH = 5  # hint patches are 1..5 px square


@dataclass(frozen=True)
class Photo:
    path: Path
    key: str  # path relative to its --data root: the name used in split files
    group: str  # top-level folder under the root, for per-folder sampling weights
    pixels: np.ndarray | None = None  # cached RGB uint8, short side at most the cache side
    chroma: float = 0.0  # mean Lab chroma, measured when scanned


@dataclass
class ScanReport:
    photos: list[Photo]
    unreadable: list[str]
    gray: list[str]
    passed_folders: list[str] = field(default_factory=list)  # unreadable folders, links to folders

    def summary(self) -> str:
        folders = f" and {len(self.passed_folders)} folder(s)" if self.passed_folders else ""
        return (
            f"{len(self.photos)} usable photos in {len(set(p.group for p in self.photos))} folder(s); "
            f"skipped {len(self.unreadable)} unreadable and {len(self.gray)} near-gray file(s){folders}"
        )


def find_files(roots: list[Path], passed: list[str] | None = None) -> list[tuple[Path, str, str]]:
    """(path, key, group) for every image file under the roots, in a stable order. Folders that cannot be read,
    and links to folders (not followed), are appended to ``passed`` in words, so the caller can count them."""
    found = []
    for root in roots:
        if not root.is_dir():
            raise TrainingError(f"--data {root}: not a folder")

        def unreadable(error: OSError) -> None:
            if passed is not None:
                passed.append(f"{error.filename}: cannot read this folder ({error.strerror or error})")

        paths = []
        for folder, dirs, files in os.walk(root, onerror=unreadable):
            for name in sorted(dirs):
                if (Path(folder) / name).is_symlink() and passed is not None:
                    passed.append(f"{Path(folder) / name}: a link to a folder, not followed")
            paths += [Path(folder) / name for name in files]
        for path in sorted(paths):  # the order of the paths themselves: a run's draws do not depend on the walk
            if path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".") and path.is_file():
                relative = path.relative_to(root)
                group = relative.parts[0] if len(relative.parts) > 1 else root.name
                found.append((path, relative.as_posix(), group))
    return found


def load_rgb(path: Path, short_side: int | None) -> np.ndarray:
    """RGB uint8 pixels, shrunk (never enlarged) so the short side is at most ``short_side``."""
    with Image.open(path) as image:
        if short_side:
            image.draft("RGB", (short_side, short_side))  # JPEG: decode at a reduced scale, much faster
        image = image.convert("RGB")
        if short_side and min(image.size) > short_side:
            scale = short_side / min(image.size)
            size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            image = image.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)
        return np.asarray(image)


def mean_chroma(pixels: np.ndarray) -> float:
    step = max(1, max(pixels.shape[:2]) // 64)
    lab = color.rgb_to_lab(pixels[::step, ::step].astype(np.float32) / 255)
    return float(np.hypot(lab[..., 1], lab[..., 2]).mean())


def _inspect(entry: tuple[Path, str, str], cache_side: int | None):
    path, key, group = entry
    try:
        pixels = load_rgb(path, cache_side or 256)
    except Exception as error:  # any decoder failure means: skip this file
        return "unreadable", key, str(error)
    if min(pixels.shape[:2]) < 8:
        return "unreadable", key, "smaller than 8 pixels"
    chroma = mean_chroma(pixels)
    if chroma < MIN_MEAN_CHROMA:
        return "gray", key, None
    return "ok", Photo(path, key, group, pixels if cache_side else None, chroma), None


def scan(roots: list[Path], cache_side: int | None = None, workers: int = 2, progress: bool = True) -> ScanReport:
    """Find, check and (with ``cache_side``) load every photo. Unreadable and near-gray files are counted."""
    passed: list[str] = []
    entries = find_files(roots, passed)
    report = ScanReport([], [], [], passed)
    for reason in passed:
        log.warning("skipping %s", printable(reason))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = pool.map(lambda entry: _inspect(entry, cache_side), entries)
        if progress:
            from tqdm import tqdm

            results = tqdm(results, total=len(entries), desc="Scanning photos", unit="img")
        for status, value, reason in results:
            if status == "ok":
                report.photos.append(value)
            elif status == "gray":
                report.gray.append(value)
            else:
                report.unreadable.append(value)
                log.warning("skipping unreadable %s: %s", printable(value), printable(reason))
    if not report.photos:
        raise TrainingError(
            f"no usable color photos in {', '.join(map(str, roots))} "
            f"({len(entries)} image file(s) found, {len(report.unreadable)} unreadable, {len(report.gray)} near-gray)"
        )
    return report


def without_least_colorful(photos: list[Photo], share: float) -> list[Photo]:
    """The photos less the ``share`` of lowest mean chroma (ties by key, so the choice is stable), in their order."""
    count = int(len(photos) * share)
    if count == 0:
        return photos
    dullest = {p.key for p in sorted(photos, key=lambda p: (p.chroma, p.key))[:count]}
    return [p for p in photos if p.key not in dullest]


def _hash(key: str) -> str:
    return hashlib.md5(key.encode()).hexdigest()


DEFAULT_VALIDATION_SHARE, MAX_DEFAULT_VALIDATION = 0.1, 300


def default_validation_count(photos: int) -> int:
    """Photos held out when --val-count is not given: a tenth of them, at most 300 (a few dozen is enough to
    watch a run; more would only take photos from training)."""
    return min(MAX_DEFAULT_VALIDATION, max(1, int(photos * DEFAULT_VALIDATION_SHARE))) if photos > 1 else 0


def choose_validation(photos: list[Photo], count: int | None) -> list[str]:
    """A fixed validation split: ``count`` keys spread over the folders in proportion, chosen by hash."""
    by_group: dict[str, list[str]] = {}
    for photo in photos:
        by_group.setdefault(photo.group, []).append(photo.key)
    count = min(count, len(photos) // 2) if count is not None else default_validation_count(len(photos))
    chosen = []
    for _, keys in sorted(by_group.items()):
        share = max(1, round(count * len(keys) / len(photos))) if count else 0
        chosen += sorted(keys, key=_hash)[: min(share, len(keys) - 1)]
    return sorted(chosen)


def validation_split_file(out: Path, given: str | None, inherited: list[Path], write: bool = True) -> Path:
    """The validation split file: ``given``; else the run folder's, which a fine-tune first fills with the first of
    its source run's split files (``inherited``) that exists, so that it never trains on the photos those held out."""
    if given:
        if not Path(given).is_file():  # a mistyped name must not become a new split that trains on the held-out
            raise TrainingError(
                f"--val-split {given}: no such file. Name an existing split file, or leave "
                f"--val-split out to hold out a new split (written to {out / 'val_split.txt'})"
            )
        return Path(given)
    own = out / "val_split.txt"
    if inherited and not own.exists():
        found = next((path for path in inherited if path.is_file()), None)
        if found is None:
            log.warning("the source run's validation split was not found; choosing a new one")
        elif write:
            own.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(found, own)
    return own


def read_split(split_file: Path) -> set[str]:
    """The photo names (paths relative to a --data folder) a split file holds out, one per line."""
    try:
        return {line.strip() for line in Path(split_file).read_text().splitlines() if line.strip()}
    except OSError as error:
        raise TrainingError(f"cannot read the split file {split_file}: {error.strerror or error}") from error


def split(photos: list[Photo], split_file: Path, count: int | None) -> tuple[list[Photo], list[Photo]]:
    """(train, validation). The split file is read if present, else chosen and written, so it never changes."""
    if split_file.is_file():
        keys = read_split(split_file)
    else:
        keys = set(choose_validation(photos, count))
        split_file.parent.mkdir(parents=True, exist_ok=True)
        split_file.write_text("".join(f"{key}\n" for key in sorted(keys)))
    train = [p for p in photos if p.key not in keys]
    validation = [p for p in photos if p.key in keys]
    return train, validation


def parse_shares(entries: list[str]) -> dict[str, float]:
    """``["faces=0.05", ...]`` -> {"faces": 0.05}; the shares must lie in [0, 1] and sum to at most 1."""
    shares = {}
    for entry in entries:
        name, _, value = entry.rpartition("=")
        try:
            share = float(value)
        except ValueError:
            share = float("nan")
        if not name or not 0 <= share <= 1:
            raise TrainingError(f"--folder-share {entry!r}: give NAME=FRACTION with a fraction from 0 to 1")
        shares[name] = share
    if sum(shares.values()) > 1 + 1e-9:
        raise TrainingError(f"--folder-share: the shares add up to {sum(shares.values()):.3g}, more than 1")
    return shares


def folder_weights(photos: list[Photo], power: float = 0.5, shares: dict[str, float] | None = None) -> torch.Tensor:
    """Per-image sampling weights. A folder named in ``shares`` is drawn that share of the time; the others share
    the rest, a folder of n photos in proportion to n**power (power 0.5: a folder 100x larger is drawn 10x as often,
    so big folders count more, but sub-linearly). Within a folder every photo is equally likely."""
    shares = dict(shares or {})
    sizes = Counter(photo.group for photo in photos)
    unknown = sorted(set(shares) - set(sizes))
    if unknown:
        raise TrainingError(
            f"--folder-share names {', '.join(unknown)}, not among the training folders ({', '.join(sorted(sizes))})"
        )
    rest = {group: size**power for group, size in sizes.items() if group not in shares}
    left = 1.0 - sum(shares.values())
    if rest and left <= 0:
        log.warning("--folder-share leaves nothing for %s: they are never drawn", ", ".join(sorted(rest)))
    total_rest = sum(rest.values())
    for group, weight in rest.items():
        shares[group] = max(left, 0.0) * weight / total_rest
    if sum(shares.values()) <= 0:
        raise TrainingError("--folder-share: every folder has share 0; nothing would be drawn")
    return torch.tensor([shares[p.group] / sizes[p.group] for p in photos], dtype=torch.float64)


def folder_mix(photos: list[Photo], weights: torch.Tensor) -> dict[str, float]:
    """Each folder's share of the draws under ``weights``, largest first (for the log and config)."""
    mix: dict[str, float] = {}
    for photo, weight in zip(photos, weights.tolist(), strict=True):
        mix[photo.group] = mix.get(photo.group, 0.0) + weight
    total = sum(mix.values())
    return dict(sorted(((group, value / total) for group, value in mix.items()), key=lambda item: -item[1]))


def _generator(*seeds: int) -> torch.Generator:
    generator = torch.Generator()
    generator.manual_seed(int(hashlib.sha256(repr(seeds).encode()).hexdigest()[:15], 16))
    return generator


def crop_size_at(step: int, first: int, final: int, growing_steps: int) -> int:
    """The crop side at ``step`` when crops grow from ``first`` to ``final`` in 32 px stages over ``growing_steps``
    steps (each stage an equal share of them), and stay ``final`` after."""
    if step >= growing_steps:
        return final
    stages = [*range(first, final, 32), final]
    return stages[min(len(stages) - 1, step * len(stages) // max(1, growing_steps))]


class EpochSampler(Sampler):
    """Weighted sampling with replacement, reproducible per (seed, epoch), split across DDP ranks like
    DistributedSampler (rank r takes every world-th draw). Yields (index, sample seed), or (index, sample seed,
    crop side) with ``size_at`` (the crop side of a training step): every draw of one batch gets its step's side."""

    def __init__(
        self,
        weights: torch.Tensor,
        samples_per_epoch: int,
        seed: int,
        rank: int = 0,
        world: int = 1,
        size_at: Callable[[int], int] | None = None,
        batch_size: int = 1,
    ):
        self.weights, self.seed, self.rank, self.world = weights, seed, rank, world
        self.per_rank = samples_per_epoch // world
        self.epoch, self.skip = 0, 0
        self.size_at, self.batch_size = size_at, batch_size

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        """Start ``epoch``, leaving out its first ``skip`` draws on this rank (to resume mid-epoch)."""
        self.epoch, self.skip = epoch, skip

    def __len__(self) -> int:
        return self.per_rank - self.skip

    def __iter__(self):
        draws = torch.multinomial(
            self.weights, self.per_rank * self.world, True, generator=_generator(self.seed, self.epoch)
        )
        mine = draws[self.rank :: self.world].tolist()
        batches_per_epoch = self.per_rank // self.batch_size
        for position in range(self.skip, self.per_rank):
            draw = mine[position], hash((self.seed, self.epoch, self.rank, position)) & 0x7FFFFFFF
            if self.size_at is None:
                yield draw
            else:
                yield *draw, self.size_at(self.epoch * batches_per_epoch + position // self.batch_size)


class ColorCrops(Dataset):
    """Square RGB uint8 crops [3, size, size]. Training: random resized crop and flip; validation: centre crop."""

    def __init__(
        self, photos: list[Photo], size: int, cache_side: int | None, train: bool = True, min_area: float = 0.3
    ):
        self.photos, self.size, self.cache_side, self.train = photos, size, cache_side, train
        self.min_area = min_area

    def __len__(self) -> int:
        return len(self.photos)

    def _pixels(self, photo: Photo) -> np.ndarray:
        return photo.pixels if photo.pixels is not None else load_rgb(photo.path, self.cache_side)

    def __getitem__(self, item) -> torch.Tensor:
        """``item``: an index, (index, sample seed), or (index, sample seed, crop side) from a growing schedule."""
        index, sample_seed, size = (*item, self.size)[:3] if isinstance(item, tuple) else (item, None, self.size)
        image = Image.fromarray(self._pixels(self.photos[index]))
        width, height = image.size
        if self.train:
            generator = _generator(sample_seed)
            uniform = torch.rand(4, generator=generator).tolist()
            area = width * height * (self.min_area + (1 - self.min_area) * uniform[0])
            ratio = math.exp(math.log(3 / 4) + uniform[1] * math.log(16 / 9))
            crop_w = min(width, round(math.sqrt(area * ratio)))
            crop_h = min(height, round(math.sqrt(area / ratio)))
            left, top = round(uniform[2] * (width - crop_w)), round(uniform[3] * (height - crop_h))
            flip = bool(torch.randint(2, (1,), generator=generator))
        else:
            side = min(width, height)
            crop_w = crop_h = side
            left, top, flip = (width - side) // 2, (height - side) // 2, False
        box = (left, top, left + crop_w, top + crop_h)
        crop = image.resize((size, size), Image.Resampling.BILINEAR, box=box, reducing_gap=2.0)
        if flip:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return torch.from_numpy(np.asarray(crop).copy()).permute(2, 0, 1)


def draw_hints(
    ab: torch.Tensor,
    generator: torch.Generator,
    probability: float = 0.5,
    max_points: int = 20,
    dense_share: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random user-like hints from the true ab [N, 2, H, W] (Zhang et al. 2017): with ``probability`` a sample gets
    1..max_points patches (1-5 px, more small counts than large), each holding the patch's mean true color.

    Vectorised over the batch and on ab's device (a per-patch loop cost more than a GPU training step); the random
    numbers come from ``generator`` on the CPU, so a resumed run draws the same hints. ``dense_share`` of the
    hinted samples also get a reference's dots (``dense_dots``)."""
    batch, _, height, width = ab.shape
    gets_hints = torch.rand(batch, generator=generator) < probability
    counts = torch.exp(torch.rand(batch, generator=generator) * math.log(max_points + 1)).long().clamp(min=1)
    used = torch.arange(max_points) < torch.where(gets_hints, counts, 0)[:, None]  # [N, P]
    sizes = torch.randint(1, MAX_HINT_PATCH + 1, (batch, max_points), generator=generator)
    tops = (torch.rand(batch, max_points, generator=generator) * (height - sizes + 1).clamp(min=1)).long()
    lefts = (torch.rand(batch, max_points, generator=generator) * (width - sizes + 1).clamp(min=1)).long()
    offsets = torch.arange(MAX_HINT_PATCH)
    rows = tops[..., None, None] + offsets[:, None]  # [N, P, 5, 1]
    columns = lefts[..., None, None] + offsets[None, :]  # [N, P, 1, 5]
    inside = (  # the patch's own pixels, clipped to the image: [N, P, 5, 5]
        used[..., None, None]
        & (offsets[:, None] < sizes[..., None, None])
        & (offsets[None, :] < sizes[..., None, None])
        & (rows < height)
        & (columns < width)
    )
    samples = torch.arange(batch)[:, None, None, None]
    pixel = ((samples * height + rows.clamp(max=height - 1)) * width + columns.clamp(max=width - 1)).to(ab.device)
    inside = inside.to(ab.device)
    flat_ab = ab.permute(0, 2, 3, 1).reshape(-1, 2)
    weight = inside.to(ab.dtype)[..., None]
    means = (flat_ab[pixel] * weight).sum(dim=(2, 3)) / weight.sum(dim=(2, 3)).clamp(min=1)  # [N, P, 2]
    painted = pixel[inside]
    hint_ab = torch.zeros_like(flat_ab)
    hint_ab[painted] = means[:, :, None, None, :].expand(-1, -1, MAX_HINT_PATCH, MAX_HINT_PATCH, -1)[inside]
    hint_mask = torch.zeros(batch * height * width, dtype=ab.dtype, device=ab.device)
    hint_mask[painted] = 1.0
    hint_ab = hint_ab.reshape(batch, height, width, 2).permute(0, 3, 1, 2).contiguous()
    hint_mask = hint_mask.reshape(batch, 1, height, width)
    if dense_share > 0:  # drawn only then, so that runs without it keep their sequence of random numbers
        chosen = gets_hints & (torch.rand(batch, generator=generator) < dense_share)
        dense_ab, dense_mask = dense_dots(ab, chosen, generator)
        hint_ab = torch.where(dense_mask > 0, dense_ab, hint_ab)
        hint_mask = torch.maximum(hint_mask, dense_mask)
    return hint_ab, hint_mask


# As a reference's matched cells give them (gimp_plugin/guidance/reference.py: its stride and DOT).
DENSE_CELL, DENSE_DOT = 8, 3


def dense_dots(ab: torch.Tensor, chosen: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """What a matched reference photo gives the network: a DENSE_DOT-px dot at the centre of many DENSE_CELL-px
    cells, in the cell's mean true color, over the part of the photo the reference shows (a random window, 30 to
    100 % of each side) with 20 to 100 % of its cells matched. Only samples where ``chosen`` get any. Users'
    random dots alone never number more than a few dozen; a reference gives hundreds, and a network trained only on
    the few does not follow them (docs/model-card.md, "Colors from a reference photo")."""
    batch, _, height, width = ab.shape
    rows, columns = height // DENSE_CELL, width // DENSE_CELL
    spans = 0.3 + 0.7 * torch.rand(batch, 2, generator=generator)
    starts = torch.rand(batch, 2, generator=generator) * (1 - spans)
    kept = 0.2 + 0.8 * torch.rand(batch, generator=generator)
    keep = torch.rand(batch, rows, columns, generator=generator) < kept[:, None, None]
    row_place = (torch.arange(rows) + 0.5) / rows
    column_place = (torch.arange(columns) + 0.5) / columns
    in_rows = (row_place >= starts[:, :1]) & (row_place < starts[:, :1] + spans[:, :1])  # [N, rows]
    in_columns = (column_place >= starts[:, 1:]) & (column_place < starts[:, 1:] + spans[:, 1:])
    cells = (keep & in_rows[:, :, None] & in_columns[:, None, :] & chosen[:, None, None]).to(ab.device, ab.dtype)
    means = torch.nn.functional.avg_pool2d(ab[:, :, : rows * DENSE_CELL, : columns * DENSE_CELL], DENSE_CELL)
    dot = torch.zeros(DENSE_CELL, DENSE_CELL, dtype=ab.dtype, device=ab.device)
    low = DENSE_CELL // 2 - DENSE_DOT // 2
    dot[low : low + DENSE_DOT, low : low + DENSE_DOT] = 1
    tiled = dot.repeat(rows, columns)
    mask = torch.zeros(batch, 1, height, width, dtype=ab.dtype, device=ab.device)
    spread = cells.repeat_interleave(DENSE_CELL, 1).repeat_interleave(DENSE_CELL, 2)
    mask[:, 0, : rows * DENSE_CELL, : columns * DENSE_CELL] = spread * tiled
    colors = torch.zeros_like(ab)
    colors[:, :, : rows * DENSE_CELL, : columns * DENSE_CELL] = means.repeat_interleave(
        DENSE_CELL, 2
    ).repeat_interleave(DENSE_CELL, 3)
    return colors * mask, mask
