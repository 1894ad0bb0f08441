"""`colorize-train`: train a colorization generator (optionally as a GAN, NoGAN schedule) on folders of photos.

Single process: ``colorize-train --data PHOTOS --out runs/x``. Several GPUs or nodes:
``torchrun --nproc-per-node 4 -m training.trainer.train --data PHOTOS --out runs/x`` (DDP; gloo on CPU, NCCL on GPU).
"""

from __future__ import annotations

import csv
import json
import logging
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader

from training.common.errors import TrainingError, interrupt_on_sigterm
from training.data import photos as data
from training.data.lab import lab_to_rgb, rgb_to_lab
from training.networks import ab_bins, losses
from training.networks.generators import PatchDiscriminator, ab_bins_of
from training.runs import checkpoint
from training.runs.config import ADJUSTABLE_ON_RESUME, Config, from_dict, parse_args, resume_conflicts
from training.trainer import start
from training.trainer.visual import loss_curves, sample_grid

log = logging.getLogger("colorize.train")
AB_LIMIT = 110.0  # sRGB's a*, b* stay within about +-110: saturation-boosted targets are clipped there
BINS_PIXEL_SHARE = 1 / 8  # of the half-resolution pixels a bins model's cross-entropy samples each step

# --time-limit: the speed is measured over CALIBRATION_STEPS steps after CALIBRATION_SKIP warm-up steps (cuDNN's
# algorithm search, worker start), and the run is planned to use TIME_LIMIT_SHARE of the time left (validation,
# sample grids and checkpoints take the rest). The plan is redone, from the speed so far, each time a quarter
# (1 / REPLANS) of the steps left has passed, as speed drifts; past SAFETY_STOP times the limit it stops.
CALIBRATION_SKIP, CALIBRATION_STEPS, TIME_LIMIT_SHARE, SAFETY_STOP, REPLANS = 10, 30, 0.95, 1.1, 4


def usable_cores() -> int:
    """The cores this process may run on: a job scheduler's or taskset's affinity, not the machine's count, so a
    training pinned to some cores does not start more threads than it has cores."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


@dataclass
class _TimeBudget:
    """--time-limit's bookkeeping within one process."""

    limit: float  # seconds from ``started``
    first_step: int
    started: float
    calibration: tuple[int, float] | None = None  # (step, time) where the speed measurement starts
    next_plan: int = 0
    fitted: bool = False  # whether the run's length has been fitted to the measured speed yet

    def __post_init__(self) -> None:
        self.next_plan = self.first_step + CALIBRATION_SKIP + CALIBRATION_STEPS


def setup_distributed(config: Config) -> tuple[int, int, torch.device]:
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    want_cuda = config.device == "cuda" or (config.device == "auto" and torch.cuda.is_available())
    if config.device == "cuda" and not torch.cuda.is_available():
        raise TrainingError("--device cuda, but PyTorch sees no CUDA GPU")
    if world > 1:
        dist.init_process_group("nccl" if want_cuda else "gloo")
    if want_cuda:
        local = int(os.environ.get("LOCAL_RANK", 0))
        torch.cuda.set_device(local)
        torch.backends.cudnn.benchmark = True  # fixed crop size: the fastest convolution algorithms pay off
        return rank, world, torch.device("cuda", local)
    return rank, world, torch.device("cpu")


def open_tensorboard(out: Path):
    """A SummaryWriter in RUN_DIR/tensorboard when the tensorboard package is installed, else None."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(out / "tensorboard"))


class Trainer:
    # What --time-limit measures time by; a test hands it a clock of its own (a busy machine's real clock makes
    # a test of the planning flaky).
    clock = staticmethod(time.perf_counter)

    def __init__(self, config: Config, out: Path, rank: int, world: int, device: torch.device):
        self.config, self.out, self.rank, self.world, self.device = config, out, rank, world, device
        self.is_main = rank == 0
        torch.manual_seed(config.seed)
        report = data.scan(
            [Path(p) for p in config.data], config.cache_side, workers=usable_cores(), progress=self.is_main
        )
        if self.is_main:
            log.info("%s", report.summary())
        starting = start.resolve(config)
        barrier = dist.barrier if world > 1 else (lambda: None)
        self.train_photos, self.val_photos = start.validation_split(
            report.photos, config, starting, out, self.is_main, barrier
        )
        if config.drop_least_colorful:
            kept = data.without_least_colorful(self.train_photos, config.drop_least_colorful)
            if self.is_main:
                log.info("left out the %d least colourful training photos", len(self.train_photos) - len(kept))
            self.train_photos = kept
        self.scan_report = report
        self.generator = start.generator(config, starting, self.train_photos)
        self.generator = self.generator.to(device).to(memory_format=torch.channels_last)
        self.ema = AveragedModel(self.generator, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay), use_buffers=True)
        self.opt_g = torch.optim.AdamW(
            start.parameter_groups(self.generator, config),
            lr=config.lr,
            weight_decay=config.weight_decay,
            betas=(0.9, 0.99),
        )
        self.total_steps = self._total_steps()
        self.pretrain_steps = self.total_steps - (config.critic_steps + config.gan_steps if config.gan else 0)
        warmup = max(1, min(200, self.pretrain_steps // 20))

        def schedule(step: int) -> float:  # linear warm-up, then cosine decay to 5 % over the pretraining phase
            if step < warmup:
                return (step + 1) / warmup
            progress = min(1.0, (step - warmup) / max(1, self.pretrain_steps - warmup))
            return 0.05 + 0.95 * 0.5 * (1 + torch.cos(torch.tensor(progress * torch.pi)).item())

        self.sched_g = torch.optim.lr_scheduler.LambdaLR(self.opt_g, schedule)
        self.discriminator = self.opt_d = None
        if config.gan:
            self.discriminator = PatchDiscriminator().to(device).to(memory_format=torch.channels_last)
            self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=config.gan_lr * 10, betas=(0.5, 0.99))
        self.train_g = DistributedDataParallel(self.generator) if world > 1 else self.generator
        if config.compile:  # the parameters stay the generator's: checkpoints, EMA and export are unchanged
            self.train_g = torch.compile(self.train_g)
        self.train_d = (
            DistributedDataParallel(self.discriminator) if world > 1 and self.discriminator else self.discriminator
        )
        # fp16 needs loss scaling (its small gradients underflow); bf16 and float32 do not, and skip it.
        self.scaler_g = torch.amp.GradScaler(device.type, enabled=config.amp == "fp16")
        self.scaler_d = torch.amp.GradScaler(device.type, enabled=config.amp == "fp16")
        self.bins = ab_bins_of(self.generator)  # the bin head of a bins model (None for a regression one)
        self.rebalancing = (
            ab_bins.Rebalancing(len(self.bins.centres), config.bins_rebalance)
            if self.bins is not None and config.bins_rebalance
            else None
        )
        self.step = 0
        self.hint_generator = torch.Generator().manual_seed(config.seed * 7919 + rank)
        self.history: dict[str, list[tuple[int, float]]] = {}
        self.tensorboard = open_tensorboard(out) if self.is_main else None

    def _total_steps(self) -> int:
        if self.config.epochs is not None:
            per_epoch = len(self.train_photos) // (self.config.batch_size * self.world)
            return max(1, round(self.config.epochs * per_epoch))
        return self.config.max_steps

    # --- state -------------------------------------------------------------------------------------------------
    def state(self) -> dict:
        return {
            "generator": self.generator.state_dict(),
            "ema": self.ema.module.state_dict(),
            "ema_n_averaged": self.ema.n_averaged,
            "discriminator": self.discriminator.state_dict() if self.discriminator else {},
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict() if self.opt_d else {},
            "scaler_g": self.scaler_g.state_dict(),
            "scaler_d": self.scaler_d.state_dict(),
            "sched_g": self.sched_g.state_dict(),
            "step": self.step,
            "config": asdict(self.config),
            "torch_rng": torch.get_rng_state(),
            "hint_rng": self.hint_generator.get_state(),
            "rebalancing": self.rebalancing.state_dict() if self.rebalancing else {},
        }

    def restore(self, state: dict) -> None:
        self.generator.load_state_dict(state["generator"])
        self.ema.module.load_state_dict(state["ema"])
        self.ema.n_averaged.copy_(state["ema_n_averaged"])
        if self.discriminator and state["discriminator"]:
            self.discriminator.load_state_dict(state["discriminator"])
            self.opt_d.load_state_dict(state["opt_d"])
        self.opt_g.load_state_dict(state["opt_g"])
        for name in ("scaler_g", "scaler_d"):
            if state.get(name):
                getattr(self, name).load_state_dict(state[name])
        self.sched_g.load_state_dict(state["sched_g"])
        self.step = state["step"]
        torch.set_rng_state(state["torch_rng"])
        self.hint_generator.set_state(state["hint_rng"])
        if self.rebalancing and state.get("rebalancing"):
            self.rebalancing.load_state_dict(state["rebalancing"])

    def save(self, name: str = "last.pt") -> None:
        if self.is_main:
            checkpoint.save_atomic(self.state(), self.out / name)

    # --- one step ------------------------------------------------------------------------------------------------
    def phase(self) -> str:
        if not self.config.gan or self.step < self.pretrain_steps:
            return "generator"
        return "critic" if self.step < self.pretrain_steps + self.config.critic_steps else "gan"

    def _autocast(self):
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.config.amp)
        return torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None)

    def prepare_batch(self, rgb_uint8: torch.Tensor):
        rgb = rgb_uint8.to(self.device, non_blocking=True).float() / 255
        lab = rgb_to_lab(rgb)
        lightness, ab = lab[:, :1], lab[:, 1:]
        if self.config.target_saturation != 1:  # before the hints, so a dot still says what the model must paint
            ab = (ab * self.config.target_saturation).clamp(-AB_LIMIT, AB_LIMIT)
        hint_ab, hint_mask = data.draw_hints(
            ab,
            self.hint_generator,
            self.config.hint_probability,
            self.config.hint_max_points,
            self.config.hint_dense_share,
        )
        as_cl = {"memory_format": torch.channels_last}
        return lightness.contiguous(**as_cl), ab, hint_ab.contiguous(**as_cl), hint_mask

    def _generator_loss(self, lightness, ab, predicted, bins_inputs=None) -> dict[str, torch.Tensor]:
        config = self.config
        if bins_inputs is not None:  # a bins model learns its distribution alone, not one colour (ab_bins.py)
            entropy = ab_bins.sampled_cross_entropy(self.bins, bins_inputs, ab, BINS_PIXEL_SHARE, self.rebalancing)
            return {"cross_entropy": entropy}
        terms = {config.chroma_loss: losses.CHROMA_LOSSES[config.chroma_loss](predicted, ab)}
        if config.colorfulness_weight:
            shortfall = losses.SHORTFALL_TERMS[config.colorfulness_form]
            terms["colorfulness"] = config.colorfulness_weight * shortfall(predicted, ab)
        if config.perceptual_weight and hasattr(self.generator, "classifier"):
            features = self.generator.classifier.feature_maps
            terms["perceptual"] = config.perceptual_weight * losses.perceptual(features, lightness, predicted, ab)
        return terms

    def train_step(self, rgb_uint8: torch.Tensor) -> dict[str, float]:
        lightness, ab, hint_ab, hint_mask = self.prepare_batch(rgb_uint8)
        phase = self.phase()
        self.train_g.train(phase != "critic")
        if phase == "gan":  # NoGAN's last phase runs at a low, constant learning rate
            for group in self.opt_g.param_groups:
                group["lr"] = self.config.gan_lr
        logged = {}
        with self._autocast():
            if phase == "critic":
                with torch.no_grad():
                    predicted = self.train_g(lightness, hint_ab, hint_mask).float()
            elif self.bins is not None:  # its loss reads what the bin logits are computed from; the critic, its colour
                predicted, bins_inputs = self.train_g(
                    lightness, hint_ab, hint_mask, bins_inputs=True, annealed=phase == "gan"
                )
                predicted = predicted.float()
            else:
                predicted, bins_inputs = self.train_g(lightness, hint_ab, hint_mask).float(), None
        if phase != "generator":
            logged["critic"] = self._critic_step(lightness, ab, predicted.detach())
        if phase != "critic":
            terms = self._generator_loss(lightness, ab, predicted, bins_inputs)
            if phase == "gan":
                terms["adversarial"] = self.config.gan_weight * self._adversarial_term(lightness, predicted)
            loss = sum(terms.values())
            self.opt_g.zero_grad(set_to_none=True)
            self.scaler_g.scale(loss).backward()
            self.scaler_g.unscale_(self.opt_g)
            torch.nn.utils.clip_grad_norm_(self.generator.parameters(), 5.0)
            self.scaler_g.step(self.opt_g)
            self.scaler_g.update()
            if phase == "generator":
                self.sched_g.step()
            self.ema.update_parameters(self.generator)
            logged.update({name: value.item() for name, value in terms.items()}, loss=loss.item())
        self.step += 1
        return logged

    def _adversarial_term(self, lightness, predicted) -> torch.Tensor:
        """The generator's hinge term. The critic is frozen for it (as in pix2pix): its weights' gradients would be
        thrown away unused (the critic's own step zeroes them first). The bare critic, not its DDP wrapper, because
        DDP expects every forward it sees to be followed by gradients for its parameters."""
        self.discriminator.requires_grad_(False)
        try:
            with self._autocast():
                return losses.generator_hinge(self.discriminator(lightness, predicted)).float()
        finally:
            self.discriminator.requires_grad_(True)

    def _critic_step(self, lightness, ab, fake_ab) -> float:
        with self._autocast():
            loss = losses.discriminator_hinge(self.train_d(lightness, ab), self.train_d(lightness, fake_ab)).float()
        self.opt_d.zero_grad(set_to_none=True)
        self.scaler_d.scale(loss).backward()
        self.scaler_d.step(self.opt_d)
        self.scaler_d.update()
        return loss.item()

    # --- observation ---------------------------------------------------------------------------------------------
    def validate(self, loader) -> dict[str, float]:
        if len(loader.dataset) == 0:
            return {}
        model = self.ema.module.eval()
        l1_total, cf_pred, cf_true, count, first = 0.0, 0.0, 0.0, 0, None
        with torch.no_grad():
            for rgb_uint8 in loader:
                lab = rgb_to_lab(rgb_uint8.to(self.device).float() / 255)
                lightness, ab = lab[:, :1], lab[:, 1:]
                zeros = torch.zeros_like(lightness)
                with self._autocast():
                    predicted = model(lightness, torch.zeros_like(ab), zeros).float()
                l1_total += (predicted - ab).abs().mean(dim=(1, 2, 3)).sum().item()
                rgb_pred = lab_to_rgb(torch.cat([lightness, predicted], 1))
                cf_pred += losses.colorfulness(rgb_pred).sum().item()
                cf_true += losses.colorfulness(rgb_uint8.to(self.device).float() / 255).sum().item()
                count += len(rgb_uint8)
                first = first or (lightness[:8].cpu(), predicted[:8].cpu(), ab[:8].cpu())
        sample_grid(*first, self.out / "samples" / f"step_{self.step:07d}.png")
        return {"val_l1_ab": l1_total / count, "val_cf": cf_pred / count, "val_cf_truth": cf_true / count}

    def record(self, values: dict[str, float]) -> None:
        if self.tensorboard is not None:
            for name, value in values.items():
                self.tensorboard.add_scalar(name, value, self.step)
        path = self.out / "log.csv"
        new = not path.exists()
        with open(path, "a", newline="") as handle:
            writer = csv.writer(handle)
            if new:
                writer.writerow(["step", "name", "value"])
            for name, value in values.items():
                writer.writerow([self.step, name, f"{value:.6g}"])
                self.history.setdefault(name, []).append((self.step, value))

    # --- the loop -----------------------------------------------------------------------------------------------
    def fit_to_time_limit(self, steps_per_s: float, seconds_left: float) -> None:
        """Set the run's length (and so its LR schedule) to end within ``seconds_left`` at the speed measured; the
        fitted length is stored in the config, so a resumed run keeps it."""
        if self.world > 1:  # every rank must plan the same number of steps: rank 0's measurement decides
            planned = torch.tensor([steps_per_s, seconds_left], device=self.device)
            dist.broadcast(planned, 0)
            steps_per_s, seconds_left = planned.tolist()
        later_phases = self.config.critic_steps + self.config.gan_steps if self.config.gan else 0
        # The limit sizes the generator phase only: once it is over, a new plan would move the critic and adversarial
        # phases (a generator step, then the critic's warm-up all over again); the safety stop ends such a run.
        if not (self.config.gan and self.step >= self.pretrain_steps):
            affordable = int(seconds_left * steps_per_s * TIME_LIMIT_SHARE)
            self.total_steps = self.step + max(1 + later_phases, affordable)
            self.pretrain_steps = self.total_steps - later_phases
        self.config.max_steps, self.config.epochs, self.config.time_limit = self.total_steps, None, None
        if self.is_main:
            log.info("time limit: %.2f steps/s measured, planning %d steps in all", steps_per_s, self.total_steps)

    def _last_step(self) -> int:
        return min(self.total_steps, self.config.stop_at_step or self.total_steps)

    def _follow_time_limit(self, budget: _TimeBudget, last_step: int, progress) -> int:
        """After a step: measure, plan again or stop as --time-limit says. Returns the (new) last step."""
        if self.step == budget.first_step + CALIBRATION_SKIP:
            budget.calibration = (self.step, self.clock())
        elif self.step == budget.next_plan and self.step < last_step:
            now = self.clock()
            steps_per_s = (self.step - budget.calibration[0]) / (now - budget.calibration[1])
            self.fit_to_time_limit(steps_per_s, budget.limit - (now - budget.started))
            budget.fitted = True
            last_step = self._last_step()
            budget.next_plan = self.step + max(CALIBRATION_STEPS, (last_step - self.step) // REPLANS)
            if progress:
                progress.total = self.total_steps
                progress.refresh()
        if self._over_time(budget):
            if not budget.fitted:
                log.warning(
                    "time limit: %.0f s ran out at step %d, before the speed was measured and the "
                    "learning-rate schedule fitted to it (planned for %d steps): give a longer --time-limit "
                    "or a --max-steps that fits",
                    budget.limit,
                    self.step,
                    self.total_steps,
                )
            else:
                log.warning("time limit: over %.0f s at step %d; stopping here", budget.limit, self.step)
            last_step = self.step
        return last_step

    def _over_time(self, budget: _TimeBudget) -> bool:
        over = self.clock() - budget.started > SAFETY_STOP * budget.limit
        if self.world > 1:  # all ranks stop at the same step, or DDP waits forever for the one that went on
            flag = torch.tensor([float(over)], device=self.device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            over = bool(flag.item())
        return over

    def run(self) -> None:
        config = self.config
        weights = data.folder_weights(self.train_photos, config.folder_power, data.parse_shares(config.folder_share))
        if self.is_main:
            mix = data.folder_mix(self.train_photos, weights)
            log.info("draws per folder: %s", ", ".join(f"{group} {share:.1%}" for group, share in mix.items()))
        per_epoch = (len(self.train_photos) // (config.batch_size * self.world)) * config.batch_size * self.world
        per_epoch = max(per_epoch, config.batch_size * self.world)
        growing = None
        if config.first_crop_size:  # the first half of the generator phase grows the crops to --image-size

            def growing(step: int) -> int:
                return data.crop_size_at(step, config.first_crop_size, config.image_size, self.pretrain_steps // 2)

        sampler = data.EpochSampler(
            weights, per_epoch, config.seed, self.rank, self.world, size_at=growing, batch_size=config.batch_size
        )
        dataset = data.ColorCrops(
            self.train_photos, config.image_size, config.cache_side, train=True, min_area=config.crop_min_area
        )
        val_dataset = data.ColorCrops(self.val_photos[:64], config.image_size, config.cache_side, train=False)
        val_loader = DataLoader(val_dataset, batch_size=16)
        # The sampler runs in this process, so set_epoch reaches it with persistent workers too.
        loader = DataLoader(
            dataset,
            batch_size=config.batch_size,
            sampler=sampler,
            num_workers=config.workers,
            drop_last=True,
            persistent_workers=config.workers > 0,
            pin_memory=self.device.type == "cuda",
        )
        batches_per_epoch = per_epoch // (config.batch_size * self.world)
        progress = None
        if self.is_main:
            from tqdm import tqdm

            progress = tqdm(total=self.total_steps, initial=self.step, unit="step", desc=f"Training {config.preset}")
        window_start, window_images, running = time.perf_counter(), 0, {}
        budget = _TimeBudget(config.time_limit, self.step, self.clock()) if config.time_limit is not None else None
        last_step = self._last_step()
        while self.step < last_step:
            epoch, position = divmod(self.step, batches_per_epoch)
            sampler.set_epoch(epoch, position * config.batch_size)
            for rgb_uint8 in loader:
                values = self.train_step(rgb_uint8)
                window_images += len(rgb_uint8) * self.world
                for name, value in values.items():
                    running.setdefault(name, []).append(value)
                if progress:
                    progress.update(1)
                if budget is not None:
                    last_step = self._follow_time_limit(budget, last_step, progress)
                if self.is_main and self.step % config.log_every == 0:
                    rate = window_images / (time.perf_counter() - window_start)
                    means = {name: sum(v) / len(v) for name, v in running.items()}
                    self.record({**means, "images_per_s": rate})
                    progress.set_postfix(loss=f"{means.get('loss', 0):.4f}", img_s=f"{rate:.1f}", phase=self.phase())
                    window_start, window_images, running = time.perf_counter(), 0, {}
                last = self.step >= last_step
                if self.is_main and (self.step % config.sample_every == 0 or self.step == self.total_steps or last):
                    self.record(self.validate(val_loader))  # a run cut short by its time limit gets them too
                    loss_curves(self.history, self.out / "loss_curves.png")
                if self.step % config.checkpoint_every == 0 or self.step >= last_step:
                    self.save()
                if self.step >= last_step:
                    break
        if progress:
            progress.close()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config, args = parse_args(argv)
    interrupt_on_sigterm()
    try:
        return train(config, args)
    except TrainingError as error:
        print(f"colorize-train: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        saved = args.out / "last.pt"
        where = (
            f"the last checkpoint ({saved}) is kept: continue with --out {args.out} --resume"
            if saved.is_file()
            else "no checkpoint was written yet"
        )
        print(f"\ncolorize-train: stopped; {where}", file=sys.stderr)
        return 130


def _check_out_folder(out: Path, data_folders: list[str]) -> None:
    """The run folder may not be inside a data folder: the run would train on its own sample grids (which show the
    held-out photos' truth) and checkpoints' neighbours."""
    resolved = out.resolve()
    for folder in data_folders:
        root = Path(folder).resolve()
        if resolved == root or root in resolved.parents:
            raise TrainingError(
                f"--out {out} is inside --data {folder}: the run would train on its own sample "
                "images; put the run folder elsewhere (runs/NAME, say)"
            )


def _lock(out: Path):
    """Hold ``out``'s lock for the run: a second run into the same folder is refused instead of interleaving its
    logs and checkpoints with this one's. The lock goes with the process (a killed run leaves none)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; runs there are not guarded against a second one
        return None
    handle = open(out / ".lock", "a+")  # noqa: SIM115 - held open for the whole run
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise TrainingError(f"another colorize-train is running in {out}; wait for it, or pick another --out") from None
    return handle


def trim_log(path: Path, step: int) -> None:
    """Drop the log rows after ``step``: a resumed run logs them again from its checkpoint."""
    if not path.is_file():
        return
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    kept = [rows[0], *(row for row in rows[1:] if row and row[0].isdigit() and int(row[0]) <= step)] if rows else []
    temporary = path.with_name(f".{path.name}.trim")
    with open(temporary, "w", newline="") as handle:
        csv.writer(handle).writerows(kept)
    os.replace(temporary, path)


def train(config: Config, args) -> int:
    """Run (or resume) the training ``config`` describes, in ``args.out``."""
    out: Path = args.out
    if args.resume:
        if not (out / "last.pt").is_file():
            raise TrainingError(f"--resume: {out} holds no run to continue (no {out / 'last.pt'})")
        saved = checkpoint.load(out / "last.pt")
        stored, unknown = from_dict(saved["config"])
        for name in unknown:
            log.warning("ignoring setting %r of the checkpoint: this version has no such setting", name)
        # A resumed run keeps its settings, except those that may change (ADJUSTABLE_ON_RESUME) when given again;
        # any other given setting that differs is refused.
        if conflicts := resume_conflicts(stored, config, args.changed):
            raise TrainingError(
                f"--resume: these settings cannot change when a run continues: "
                f"{'; '.join(conflicts)}. Leave them out, or start a new run from this one with "
                f"--init-from {out}"
            )
        for name in ADJUSTABLE_ON_RESUME & args.changed:
            setattr(stored, name, getattr(config, name))
        stored.stop_at_step = config.stop_at_step
        config = stored
    elif (out / "last.pt").exists():
        raise TrainingError(f"{out} already holds a run; pass --resume to continue it or pick another --out")
    _check_out_folder(out, config.data)
    rank, world, device = setup_distributed(config)
    torch.set_num_threads(max(1, usable_cores() // world))
    out.mkdir(parents=True, exist_ok=True)
    lock = _lock(out) if rank == 0 else None  # noqa: F841 - held until the process ends
    if rank == 0:
        (out / "config.json").write_text(json.dumps(asdict(config), indent=2) + "\n")
    trainer = Trainer(config, out, rank, world, device)
    if args.resume:
        trainer.restore(saved)
        if rank == 0:
            trim_log(out / "log.csv", trainer.step)
        log.info("resumed at step %d of %d", trainer.step, trainer.total_steps)
    elif config.init_from:
        # What the run starts from, in this run's own parametrization (an exported model's batch norms are
        # calibrated anew each run): training.runs.soup can then average the run's end with its start.
        trainer.save("start.pt")
    trainer.run()
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    if rank == 0:
        log.info("done: %s (step %d)", out / "last.pt", trainer.step)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
