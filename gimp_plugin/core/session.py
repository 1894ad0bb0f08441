"""Loading an ONNX colorization model with onnxruntime, checking it against the contract, and running it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from gimp_plugin.core import contract
from gimp_plugin.core.errors import ModelError

DEVICES = ("auto", "cpu", "cuda")
AB_RANGE = 128  # a*, b* of real colours stay within about this
MAX_AB = 4 * AB_RANGE  # beyond this a model's output is garbage, not an oversaturated colour
PROBE_SIDE = 64  # the gray square a model is tried on when it loads


def _import_onnxruntime():
    try:
        import onnxruntime
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ModelError(
            "onnxruntime is not installed in this Python; run ./install.sh (or pip install onnxruntime)"
        ) from error
    return onnxruntime


def choose_providers(device: str, available: list[str]) -> list[str]:
    """Execution providers for ``device`` given onnxruntime's available ones; CUDA falls back to CPU."""
    if device not in DEVICES:
        raise ModelError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    has_cuda = "CUDAExecutionProvider" in available
    if device == "cuda" and not has_cuda:
        raise ModelError(
            "--device cuda was asked for, but this onnxruntime has no CUDA support "
            f"(available: {', '.join(available)}); install with ./install.sh --gpu on a machine with an NVIDIA GPU"
        )
    if device in ("cuda", "auto") and has_cuda:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def _describe(arg) -> str:
    return f"{arg.name} {arg.type} {arg.shape}"


def check_signature(inputs, outputs) -> list[str]:
    """Problems with a session's inputs/outputs (onnxruntime NodeArg lists) against the contract."""
    problems = []
    names = {arg.name: arg for arg in inputs}
    if contract.INPUT_L not in names:
        problems.append(f"input {contract.INPUT_L!r} is missing (inputs are: {', '.join(names) or 'none'})")
    present_hints = [name for name in contract.HINT_INPUTS if name in names]
    if len(present_hints) == 1:
        problems.append(f"input {present_hints[0]!r} is present without its partner; give both hint inputs or neither")
    for name in names:
        if name not in contract.INPUT_CHANNELS:
            problems.append(f"unexpected input {name!r}; the contract allows {', '.join(contract.INPUT_CHANNELS)}")
    output_names = {arg.name: arg for arg in outputs}
    for name in output_names:
        if name not in (contract.OUTPUT_AB, contract.OUTPUT_FEATURES):
            problems.append(
                f"unexpected output {name!r}; the contract allows {contract.OUTPUT_AB} and {contract.OUTPUT_FEATURES}"
            )
    if contract.OUTPUT_AB not in output_names:
        problems.append(f"output {contract.OUTPUT_AB!r} is missing (outputs are: {', '.join(output_names) or 'none'})")
    expected = {**contract.INPUT_CHANNELS, **contract.OUTPUT_CHANNELS}
    for name, arg in {**names, **output_names}.items():
        if name not in expected:
            continue
        if arg.type != "tensor(float)":
            problems.append(f"{name} must be float32, found {arg.type}")
        shape = list(arg.shape)
        if len(shape) != 4:
            problems.append(f"{name} must have 4 dimensions [N, C, H, W], found {shape}")
            continue
        if isinstance(shape[0], int) and shape[0] != 1:
            problems.append(f"{name} must have a dynamic (or 1) batch size, found {shape[0]} ({_describe(arg)})")
        if isinstance(shape[1], int) and shape[1] != expected[name]:
            problems.append(f"{name} must have {expected[name]} channel(s), found {shape[1]} ({_describe(arg)})")
        if isinstance(shape[2], int) or isinstance(shape[3], int):
            problems.append(f"{name} must have dynamic H and W, found fixed {shape[2:]}")
    return problems


class ColorizationModel:
    """An ONNX colorization model that follows the contract. Raises ModelError with the reasons otherwise."""

    def __init__(self, path: str | os.PathLike, device: str = "auto", threads: int | None = None):
        self.path = Path(path)
        if self.path.is_dir():
            raise ModelError(f"{self.path} is a folder; give the model's .onnx file")
        if not self.path.is_file():
            raise ModelError(f"model file not found: {self.path}")
        ort = _import_onnxruntime()
        options = ort.SessionOptions()
        if threads:  # never more than the cores: thousands of threads starve the machine and ignore signals
            options.intra_op_num_threads = max(1, min(int(threads), os.cpu_count() or 1))
            options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # Idle inference threads would otherwise spin for a while after each run, on the cores that the pre- and
        # post-processing (numpy, threaded) needs next: on 2 cores that cost 20-30 ms per 12 MP photo.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers = choose_providers(device, ort.get_available_providers())
        try:
            self.session = ort.InferenceSession(str(self.path), sess_options=options, providers=providers)
        except Exception as error:
            raise ModelError(f"cannot load model {self.path}: not a valid ONNX model ({error})") from error
        self.providers = self.session.get_providers()
        problems = check_signature(self.session.get_inputs(), self.session.get_outputs())
        metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        info, metadata_problems = contract.parse_metadata(metadata)
        problems += metadata_problems
        input_names = {arg.name for arg in self.session.get_inputs()}
        has_hint_inputs = all(name in input_names for name in contract.HINT_INPUTS)
        if info is not None and info.hints and not has_hint_inputs:
            problems.append(f"metadata {contract.KEY_HINTS} is true but the hint inputs are missing")
        if problems:
            raise ModelError(
                f"model {self.path.name} does not follow the Colorize model contract "
                f"v{contract.CONTRACT_VERSION}:\n  - " + "\n  - ".join(problems)
            )
        self.info: contract.ModelInfo = info
        if info.size_multiple > contract.MAX_SIZE_MULTIPLE:
            raise ModelError(
                f"model {self.path.name}: metadata {contract.KEY_SIZE_MULTIPLE} is {info.size_multiple}, "
                f"above the contract's limit {contract.MAX_SIZE_MULTIPLE}"
            )
        self.accepts_hints = has_hint_inputs
        has_output = contract.OUTPUT_FEATURES in {arg.name for arg in self.session.get_outputs()}
        if has_output != bool(info.feature_stride):
            raise ModelError(
                f"model {self.path.name}: the '{contract.OUTPUT_FEATURES}' output and metadata "
                f"{contract.KEY_FEATURE_STRIDE} come together (contract 2); it has one of "
                "them only"
            )
        self.has_features = has_output
        self._try_once()

    def _try_once(self) -> None:
        """Run the network once on a small gray image: a model whose declared shapes hide a wrong output (two
        channels declared dynamic, say) is refused on load, not after the first photo was read."""
        side = self.info.size_multiple * max(1, -(-PROBE_SIDE // self.info.size_multiple))
        try:
            self.predict(np.full((1, 1, side, side), 50.0, np.float32))
        except ModelError as error:
            raise ModelError(
                f"model {self.path.name} does not work: a test run at {side} x {side} failed ({error})"
            ) from error

    def predict(
        self,
        lightness: np.ndarray,
        hint_ab: np.ndarray | None = None,
        hint_mask: np.ndarray | None = None,
    ) -> np.ndarray:
        """Run the network: L [N,1,H,W] (+ hints) -> ab [N,2,H,W]. H and W must already fit size_multiple."""
        lightness = np.ascontiguousarray(lightness, dtype=np.float32)
        batch, _, height, width = lightness.shape
        if hint_mask is not None and not self.accepts_hints:
            raise ModelError(f"model {self.path.name} has no hint inputs, so it cannot use color hints")
        feeds = self._feeds(lightness, hint_ab, hint_mask)
        try:
            (ab,) = self.session.run([contract.OUTPUT_AB], feeds)
        except Exception as error:
            raise ModelError(f"model {self.path.name} failed at {height}x{width}: {error}") from error
        if ab.shape != (batch, 2, height, width):
            raise ModelError(
                f"model {self.path.name} returned ab of shape {list(ab.shape)}, expected {[batch, 2, height, width]}"
            )
        if not np.isfinite(ab).all():
            raise ModelError(f"model {self.path.name} returned invalid values (NaN or infinity)")
        peak = float(np.abs(ab).max()) if ab.size else 0.0
        if peak > MAX_AB:
            raise ModelError(
                f"model {self.path.name} returned a*/b* up to {peak:.3g}, far outside the Lab range "
                f"(about +-{AB_RANGE}): it is broken or not a Colorize model"
            )
        return ab

    def _feeds(self, lightness: np.ndarray, hint_ab=None, hint_mask=None) -> dict[str, np.ndarray]:
        """The session's inputs for L [N, 1, H, W]: with a model that takes hints, no hints are zeros."""
        feeds = {contract.INPUT_L: lightness}
        if self.accepts_hints:
            batch, _, height, width = lightness.shape
            if hint_mask is None:
                hint_ab = np.zeros((batch, 2, height, width), np.float32)
                hint_mask = np.zeros((batch, 1, height, width), np.float32)
            feeds[contract.INPUT_HINT_AB] = np.ascontiguousarray(hint_ab, dtype=np.float32)
            feeds[contract.INPUT_HINT_MASK] = np.ascontiguousarray(hint_mask, dtype=np.float32)
        return feeds

    def features(self, lightness: np.ndarray) -> np.ndarray:
        """The encoder's features for L [1, 1, H, W] (no hints; H, W fitting size_multiple): [C, H / s, W / s] for
        the model's feature stride s. ModelError when the model has none (contract 1 files)."""
        if not self.has_features:
            raise ModelError(
                f"model {self.path.name} cannot take a reference photo: it has no "
                f"'{contract.OUTPUT_FEATURES}' output (contract 2); export it again with "
                "colorize-export"
            )
        feeds = self._feeds(np.ascontiguousarray(lightness, dtype=np.float32))
        try:
            (features,) = self.session.run([contract.OUTPUT_FEATURES], feeds)
        except Exception as error:
            raise ModelError(f"model {self.path.name} failed to give its features: {error}") from error
        if features.ndim != 4 or not np.isfinite(features).all():
            raise ModelError(f"model {self.path.name} returned unusable features (shape {list(features.shape)})")
        return features[0]


def default_model_path() -> Path:
    """The model the CLI and plug-in use when none is named: COLORIZE_MODEL, else the shipped one."""
    override = os.environ.get("COLORIZE_MODEL")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[1] / "models" / "colorize.onnx"


def installed_models(folder: Path | None = None) -> list[Path]:
    """Every .onnx file in the models folder, the shipped default first."""
    folder = folder or Path(__file__).resolve().parents[1] / "models"
    found = sorted(folder.glob("*.onnx"))
    return sorted(found, key=lambda path: path.name != "colorize.onnx")


def load_model(path: str | os.PathLike | None = None, device: str = "auto", threads: int | None = None):
    """Load ``path`` (default: $COLORIZE_MODEL, else the shipped model), saying which was missing if none is."""
    resolved = Path(path) if path else default_model_path()
    if path is None and not resolved.is_file():
        if os.environ.get("COLORIZE_MODEL"):
            raise ModelError(
                f"COLORIZE_MODEL is set to {resolved}, and there is no model file there; "
                "unset it to use the shipped model, or point it to an .onnx file"
            )
        raise ModelError(
            f"no model found at {resolved}: the shipped model is missing from this copy of Colorize. "
            "Get it again (git checkout gimp_plugin/models/colorize.onnx), or pass --model PATH "
            "(see docs/training.md to train and export your own)."
        )
    return ColorizationModel(resolved, device=device, threads=threads)
