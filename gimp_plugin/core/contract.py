"""The ONNX model contract, version 2 (docs/model-contract.md): names, shapes and metadata keys.

Version 2 adds one optional output, ``features`` (the encoder's features, for matching a reference photo), with its
stride in the metadata; files of version 1 are read as they always were and cannot take a reference.

Both the runtime (which checks models on load) and training (which writes them) use these definitions.
"""

from __future__ import annotations

from dataclasses import dataclass

CONTRACT_VERSION = "2"
READABLE_CONTRACTS = ("1", "2")

INPUT_L = "L"
INPUT_HINT_AB = "hint_ab"
INPUT_HINT_MASK = "hint_mask"
OUTPUT_AB = "ab"
OUTPUT_FEATURES = "features"  # optional, contract 2: [N, C, H / stride, W / stride], any C

# The largest size multiple a model may ask for: the runtime pads every photo to it, so more would waste memory.
MAX_SIZE_MULTIPLE = 256
# The largest default render size a model may name: a network pass at 8192 px already needs ~20 GB.
MAX_RENDER_SIZE = 8192

# name -> channel count; every tensor is float32 [N, C, H, W] with H and W dynamic.
INPUT_CHANNELS = {INPUT_L: 1, INPUT_HINT_AB: 2, INPUT_HINT_MASK: 1}
HINT_INPUTS = (INPUT_HINT_AB, INPUT_HINT_MASK)
OUTPUT_CHANNELS = {OUTPUT_AB: 2}

KEY_CONTRACT = "colorize.contract"
KEY_ARCH = "colorize.arch"
KEY_NATIVE_SIZE = "colorize.native_size"
KEY_RENDER_SIZE = "colorize.default_render_size"
KEY_SIZE_MULTIPLE = "colorize.size_multiple"
KEY_HINTS = "colorize.hints"
KEY_TRAINED_ON = "colorize.trained_on"
KEY_VERSION = "colorize.version"
KEY_FEATURE_STRIDE = "colorize.feature_stride"  # contract 2, with the features output: its stride in pixels
METADATA_KEYS = (
    KEY_CONTRACT,
    KEY_ARCH,
    KEY_NATIVE_SIZE,
    KEY_RENDER_SIZE,
    KEY_SIZE_MULTIPLE,
    KEY_HINTS,
    KEY_TRAINED_ON,
    KEY_VERSION,
)


@dataclass(frozen=True)
class ModelInfo:
    """What the runtime needs to know about a model, read from its metadata."""

    arch: str
    native_size: int
    default_render_size: int
    size_multiple: int
    hints: bool
    trained_on: str
    version: str
    feature_stride: int = 0  # 0: no features output (the model cannot take a reference photo)

    def to_metadata(self) -> dict[str, str]:
        """The metadata_props an exporter writes for this model."""
        return {
            KEY_CONTRACT: CONTRACT_VERSION,
            KEY_ARCH: self.arch,
            KEY_NATIVE_SIZE: str(self.native_size),
            KEY_RENDER_SIZE: str(self.default_render_size),
            KEY_SIZE_MULTIPLE: str(self.size_multiple),
            KEY_HINTS: "true" if self.hints else "false",
            KEY_TRAINED_ON: self.trained_on,
            KEY_VERSION: self.version,
            **({KEY_FEATURE_STRIDE: str(self.feature_stride)} if self.feature_stride else {}),
        }


def _positive_int(metadata: dict[str, str], key: str, problems: list[str]) -> int:
    value = metadata.get(key)
    if value is None:
        return 1  # reported as missing already
    if not value.strip().isdigit() or int(value) <= 0:
        problems.append(f"metadata {key} must be a positive integer, found {value!r}")
        return 1
    return int(value)


def parse_metadata(metadata: dict[str, str]) -> tuple[ModelInfo | None, list[str]]:
    """Read ModelInfo from metadata_props; returns (info or None, list of problems)."""
    problems = [f"metadata key {key} is missing" for key in METADATA_KEYS if key not in metadata]
    contract = metadata.get(KEY_CONTRACT)
    if contract is not None and contract not in READABLE_CONTRACTS:
        problems.append(
            f"metadata {KEY_CONTRACT} is {contract!r}; this runtime reads contracts {' and '.join(READABLE_CONTRACTS)}"
        )
    hints = metadata.get(KEY_HINTS, "false").strip().lower()
    if hints not in ("true", "false"):
        problems.append(f"metadata {KEY_HINTS} must be 'true' or 'false', found {hints!r}")
    info = ModelInfo(
        arch=metadata.get(KEY_ARCH, ""),
        native_size=_positive_int(metadata, KEY_NATIVE_SIZE, problems),
        default_render_size=_positive_int(metadata, KEY_RENDER_SIZE, problems),
        size_multiple=_positive_int(metadata, KEY_SIZE_MULTIPLE, problems),
        hints=hints == "true",
        trained_on=metadata.get(KEY_TRAINED_ON, ""),
        version=metadata.get(KEY_VERSION, ""),
        feature_stride=_positive_int(metadata, KEY_FEATURE_STRIDE, problems) if KEY_FEATURE_STRIDE in metadata else 0,
    )
    if info.default_render_size > MAX_RENDER_SIZE:
        problems.append(
            f"metadata {KEY_RENDER_SIZE} is {info.default_render_size}, above the contract's limit {MAX_RENDER_SIZE}"
        )
    return (None if problems else info), problems
