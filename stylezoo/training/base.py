"""The :class:`Trainer` protocol and :class:`BaseTrainer`, the loop every family's trainer uses.

A family's trainer subclasses :class:`BaseTrainer` and implements four things: which networks
and optimisers training needs (:meth:`BaseTrainer.setup`), how the user's folders become a
dataset (:meth:`BaseTrainer.dataset`), one training iteration (:meth:`BaseTrainer.train_step`)
and which translators the result is (:meth:`BaseTrainer.exports`). The base does the rest:
devices and precision, the deterministic data stream, DistributedDataParallel, learning-rate
schedules, atomic checkpoints and exact resume, NaN checks, progress, logs, sample grids and
the final model directories.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import platform
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import torch
from torch import nn

from .._version import __version__
from ..devices import resolve_device
from ..errors import InvalidOptionError, OutputError, TrainingError
from ..family import Family, ModelSpec, Option, check_options
from . import distributed
from .data import StepSampler, TrainingData

logger = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "stylezoo-training-checkpoint"
CHECKPOINT_VERSION = 1
PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


@runtime_checkable
class Trainer(Protocol):
    """Trains a family's networks on the user's images; the result is a normal translator."""

    family: str

    def fit(
        self,
        data: Any,
        *,
        steps: int | None = None,
        epochs: float | None = None,
        out: str | os.PathLike[str] | None = None,
        resume: bool = False,
        callbacks: Sequence[Any] = (),
    ) -> FitResult:
        """Train for ``steps`` iterations (or ``epochs`` passes over the data)."""
        ...

    def translator(self, name: str = "") -> Any:
        """The current weights as a translator (eval mode; training can continue); ``name``
        picks one of several exports (default: the main one)."""
        ...

    def save(self, directory: str | os.PathLike[str], *, overwrite: bool = False) -> list[Path]:
        """Write the current weights as stylezoo model directories."""
        ...


class Callback:
    """Hooks called during :meth:`BaseTrainer.fit`; override the ones you need."""

    def on_step_end(self, trainer: BaseTrainer, step: int, losses: Mapping[str, float]) -> None:
        """After iteration ``step`` (1-based) with its losses (averaged over processes)."""

    def on_checkpoint(self, trainer: BaseTrainer, path: Path) -> None:
        """After a checkpoint was written (main process only)."""

    def on_fit_end(self, trainer: BaseTrainer, result: FitResult) -> None:
        """After the run ended and the models were saved."""


@dataclass
class FitResult:
    """What a finished :meth:`BaseTrainer.fit` reports."""

    steps: int
    losses: dict[str, float]
    seconds: float
    out: Path | None = None
    models: list[Path] = field(default_factory=list)
    resumed_from: int | None = None


@dataclass(frozen=True)
class Schedule:
    """Learning-rate factor ``1 − max(0, k + 1 − constant) / (decay + 1)`` after ``k`` completed
    units (epochs, as the official code, or steps), or a constant 1 when ``decay`` is 0."""

    unit: str = "epoch"
    constant: int = 0
    decay: int = 0

    def factor(self, completed: int) -> float:
        if self.decay <= 0:
            return 1.0
        return 1.0 - max(0, completed + 1 - self.constant) / (self.decay + 1)


# Options every trainer takes; families add their recipe's.
COMMON_OPTIONS: dict[str, Option] = {
    "batch_size": Option(1, "images per step, over all processes", minimum=1),
    "load_size": Option(286, "resize before cropping", minimum=1),
    "crop_size": Option(256, "training crop", minimum=1),
    "flip": Option(True, "random horizontal flips"),
}


class BaseTrainer:
    """The training loop shared by every family.

    Subclasses set :attr:`recipe` (hyper-parameters with the official defaults) and implement
    :meth:`setup`, :meth:`dataset`, :meth:`train_step` and :meth:`exports`.

    Args:
        family: the family implementation (from the plugin manager).
        config: the family's build options for the networks trained.
        hparams: training options (see :attr:`recipe`); unknown keys are errors.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, …; under torchrun each process takes its
            ``LOCAL_RANK`` GPU.
        precision: ``"fp32"``, ``"bf16"`` or ``"fp16"`` autocast (fp16 with loss scaling).
        seed: seeds the initialisation, the data stream and every random choice in training.
        channels_last: run the networks in channels_last memory format.
        compile: ``torch.compile`` the networks' training forwards.
        init: a model (registry name, directory or translator) to start from, for families
            that fine-tune (e.g. adding a style to a multistyle network).
    """

    family: str = ""
    recipe: ClassVar[Mapping[str, Option]] = {}
    #: The hparam names that say how long the official schedule is, in epochs.
    schedule_options: ClassVar[tuple[str, str] | None] = None

    def __init__(
        self,
        family: Family,
        config: Mapping[str, Any] | None = None,
        hparams: Mapping[str, Any] | None = None,
        *,
        device: Any = "auto",
        precision: str = "fp32",
        seed: int = 0,
        channels_last: bool = False,
        compile: bool = False,
        init: Any = None,
    ) -> None:
        self.implementation = family
        self.family = family.name
        self.config = family.complete_config(config)
        self.user_hparams = dict(hparams or {})
        self.hparams = check_options(
            {**COMMON_OPTIONS, **self.recipe}, hparams, f"{family.name} training option"
        )
        if precision not in PRECISIONS:
            raise InvalidOptionError(
                f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}."
            )
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise InvalidOptionError(f"seed must be an integer, got {seed!r}.")
        io = family.model_io(self.config)
        crop = self.hparams["crop_size"]
        if crop % io.multiple or crop < io.min_size:
            raise InvalidOptionError(
                f"crop_size {crop} does not suit this {family.name} network: it needs a multiple "
                f"of {io.multiple} of at least {io.min_size} (e.g. crop_size="
                f"{max(io.min_size, io.multiple * max(1, round(crop / io.multiple)))})."
            )
        self.precision = precision
        self.seed = seed
        self.channels_last = channels_last
        self.compile = compile
        self.init = init
        self.world = distributed.from_environment()
        self.device = distributed.local_device(self.world, resolve_device(device))
        distributed.join(self.world, self.device)
        self.step = 0
        self.elapsed = 0.0
        self.last_losses: dict[str, float] = {}
        self.data_description: dict[str, Any] = {}
        #: The license of the trained models' card (families starting from a pretrained model
        #: carry its license over).
        self.license = "unknown"
        self.schedule = Schedule()
        self.networks: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        # Every random choice of training (image pool, patch sampling, flips) draws from this
        # generator, so it is saved in checkpoints and restored on resume.
        self.generator = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        self.setup()
        for name, network in self.networks.items():
            network.to(self.device)
            if channels_last:
                network.to(memory_format=torch.channels_last)
            self.networks[name] = network
        self._scalers = {
            name: torch.amp.GradScaler(self.device.type, enabled=precision == "fp16")
            for name in self.optimizers
        }
        for optimizer in self.optimizers.values():
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        self._wrapped = {name: self._wrap(net) for name, net in self.networks.items()}

    # -- to implement -----------------------------------------------------------------------
    def setup(self) -> None:
        """Create :attr:`networks` (everything a checkpoint holds) and :attr:`optimizers`.

        Runs after the seed is set and before the networks move to the device; optimisers
        made here over ``network.parameters()`` follow the networks there.
        """
        raise NotImplementedError

    def dataset(self, data: Any) -> TrainingData:
        """The training data from the user's ``data`` (folders), checked before any compute."""
        raise NotImplementedError

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """One iteration: forward, backward and optimiser steps; returns the losses."""
        raise NotImplementedError

    def exports(self) -> dict[str, tuple[str, dict[str, nn.Module], Mapping[str, Any]]]:
        """The translators training produces: name → (family, networks by role, config).

        The first is the main model (``out/model``); others are saved beside it
        (``out/<name>``), e.g. CycleGAN's reverse generator.
        """
        raise NotImplementedError

    def preview(self, batch: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        """Columns of a sample grid (each N×3×H×W in [0, 1]): inputs, outputs, targets."""
        return []

    def prepare_data(self, dataset: TrainingData) -> None:
        """Called once the run's :attr:`schedule` is known, before the first step (e.g. to
        change augmentation in the decay phase)."""

    def decay_start(self, length: int) -> int:
        """The first global data position of the learning-rate decay phase."""
        batch = int(self.hparams["batch_size"])
        if self.schedule.unit == "epoch":
            return self.schedule.constant * length
        return self.schedule.constant * batch

    def extra_state(self) -> dict[str, Any]:
        """Anything else a checkpoint must hold to resume exactly (e.g. an image pool)."""
        return {}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`extra_state`."""

    # -- helpers for subclasses -------------------------------------------------------------
    def net(self, name: str) -> nn.Module:
        """Network ``name`` for a training forward: the DDP (or compiled) wrapper.

        Use it for forwards whose backward updates that network; for other forwards (a
        discriminator judging the generator's output) use ``self.networks[name]``.
        """
        return self._wrapped[name]

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """Autocast to the run's precision (a no-op for fp32)."""
        if self.precision == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=PRECISIONS[self.precision])

    def optimise(self, name: str, loss: torch.Tensor) -> None:
        """Backward ``loss`` and step optimiser ``name`` (zeroing its gradients first)."""
        optimizer = self.optimizers[name]
        scaler = self._scalers[name]
        optimizer.zero_grad(set_to_none=True)
        torch.autograd.backward(scaler.scale(loss))
        scaler.step(optimizer)
        scaler.update()

    def to_device(self, tensor: torch.Tensor) -> torch.Tensor:
        moved = tensor.to(self.device, non_blocking=True)
        if self.channels_last and moved.dim() == 4:
            moved = moved.contiguous(memory_format=torch.channels_last)
        return moved

    @staticmethod
    def set_requires_grad(networks: Sequence[nn.Module], flag: bool) -> None:
        for network in networks:
            for parameter in network.parameters():
                parameter.requires_grad_(flag)

    def linear_decay(self, steps: int, epochs: float | None = None) -> Schedule:
        """The official constant-then-linear-decay schedule for this run.

        In epochs, as upstream, when the user set the schedule's epoch counts; when training
        by ``epochs`` without them, those epochs split in the official proportion (200
        epochs: 100 + 100); when training by ``steps``, the same shape over the steps.
        """
        if self.schedule_options is None:
            return Schedule()
        constant_key, decay_key = self.schedule_options
        constant, decay = self.hparams[constant_key], self.hparams[decay_key]
        if constant_key in self.user_hparams or decay_key in self.user_hparams:
            return Schedule("epoch", constant, decay)
        share = constant / max(1, constant + decay)
        if epochs is not None:
            whole = max(1, math.ceil(epochs))
            constant_epochs = round(whole * share)
            return Schedule("epoch", constant_epochs, whole - constant_epochs)
        constant_steps = round(steps * share)
        return Schedule("step", constant_steps, steps - constant_steps)

    # -- the loop ---------------------------------------------------------------------------
    def fit(
        self,
        data: Any,
        *,
        steps: int | None = None,
        epochs: float | None = None,
        out: str | os.PathLike[str] | None = None,
        resume: bool = False,
        callbacks: Sequence[Callback] = (),
        checkpoint_every: int = 1000,
        sample_every: int = 500,
        log_every: int = 50,
        workers: int = 0,
        progress: bool = False,
        tensorboard: bool | None = None,
    ) -> FitResult:
        """Train on ``data`` and, with ``out``, write checkpoints, logs, samples and models.

        Args:
            data: the family's data: a folder, or a dict of folders (see the family's docs).
            steps: iterations to reach (counted from the start of the run, so a resumed run
                with the same ``steps`` ends where the uninterrupted one would).
            epochs: passes over the data instead of ``steps``.
            out: the run folder: ``checkpoints/last.pt``, ``log.jsonl``, ``samples/``, and
                at the end ``model/`` (and other exported models) in the stylezoo layout.
            resume: continue from ``out/checkpoints/last.pt`` (exactly: same seed, same data,
                same result as an uninterrupted run).
            callbacks: :class:`Callback` objects.
            checkpoint_every, sample_every, log_every: intervals in steps (0: never; a
                checkpoint is always written at the end).
            workers: DataLoader worker processes decoding images alongside compute.
            progress: show a progress bar with the losses (main process, stderr).
            tensorboard: log to ``out/tensorboard`` (``None``: when tensorboard is installed).
        """
        dataset = self.dataset(data)
        self.data_description = dataset.describe()
        batch = self.hparams["batch_size"]
        total = self._total_steps(steps, epochs, len(dataset), batch)
        run = Path(out) if out is not None else None
        resumed_from = None
        if run is not None:
            checkpoint = run / "checkpoints" / "last.pt"
            if checkpoint.exists() and not resume:
                raise TrainingError(
                    f"{str(run)!r} already holds a training run ({checkpoint}). Pass "
                    "resume=True (--resume) to continue it, or choose another folder."
                )
            if self.world.main:
                _check_writable(run)
                _remove_stale_temporaries(run / "checkpoints")
            if resume and checkpoint.exists():
                self.load_checkpoint(checkpoint)
                resumed_from = self.step
        elif resume:
            raise TrainingError("resume=True needs out= (the run folder to resume).")
        self.schedule = self._schedule_for(total, epochs)
        self.prepare_data(dataset)
        if self.step >= total:
            logger.info("The run is already at step %d of %d.", self.step, total)
        loader = torch.utils.data.DataLoader(
            dataset,
            batch_sampler=StepSampler(self.step, total, batch, self.world.rank, self.world.size),
            num_workers=workers,
            pin_memory=self.device.type == "cuda",
        )
        writer = self._tensorboard(run, tensorboard)
        bar = self._progress(progress, total)
        preview = dataset.preview(min(4, len(dataset))) if run is not None else None
        started = time.perf_counter()
        elapsed_before = self.elapsed
        for module in self.networks.values():
            module.train()
        try:
            for samples in loader:
                self._apply_schedule(len(dataset), batch)
                batch_on_device = {k: self.to_device(v) for k, v in samples.items()}
                losses = self.train_step(batch_on_device)
                values = self._checked(losses)
                self.step += 1
                self.last_losses = values
                self.elapsed = elapsed_before + time.perf_counter() - started
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix({k: f"{v:.3g}" for k, v in values.items()}, refresh=False)
                if run is not None and self.world.main:
                    if log_every and (self.step % log_every == 0 or self.step == total):
                        self._log(run, values, writer)
                    if sample_every and preview is not None and self.step % sample_every == 0:
                        self.write_samples(run, preview)
                for callback in callbacks:
                    callback.on_step_end(self, self.step, values)
                if run is not None and checkpoint_every and self.step % checkpoint_every == 0:
                    self._checkpoint(run, callbacks)
        finally:
            if bar is not None:
                bar.close()
            if writer is not None:
                writer.close()
        result = FitResult(
            steps=self.step,
            losses=dict(self.last_losses),
            seconds=self.elapsed,
            out=run,
            resumed_from=resumed_from,
        )
        if run is not None:
            if not checkpoint_every or self.step % checkpoint_every:
                self._checkpoint(run, callbacks)
            if self.world.main:
                if preview is not None:
                    self.write_samples(run, preview)
                result.models = self.save(run, overwrite=True)
            distributed.barrier(self.world)
        for callback in callbacks:
            callback.on_fit_end(self, result)
        return result

    def _total_steps(self, steps: int | None, epochs: float | None, length: int, batch: int) -> int:
        if (steps is None) == (epochs is None):
            raise InvalidOptionError("Give exactly one of steps= and epochs= (--steps/--epochs).")
        if steps is not None:
            if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
                raise InvalidOptionError(f"steps must be a positive integer, got {steps!r}.")
            return steps
        if not isinstance(epochs, (int, float)) or isinstance(epochs, bool) or not epochs > 0:
            raise InvalidOptionError(f"epochs must be a positive number, got {epochs!r}.")
        return max(1, math.ceil(epochs * length / batch))

    def _schedule_for(self, total: int, epochs: float | None) -> Schedule:
        return self.linear_decay(total, epochs)

    def _apply_schedule(self, length: int, batch: int) -> None:
        if self.schedule.unit == "epoch":
            completed = (self.step * batch) // length
        else:
            completed = self.step
        factor = self.lr_factor(completed)
        for optimizer in self.optimizers.values():
            for group in optimizer.param_groups:
                group["lr"] = group["initial_lr"] * factor

    def lr_factor(self, completed: int) -> float:
        """The learning-rate multiplier after ``completed`` schedule units (steps or epochs).

        The default is the official linear decay; AdaIN overrides it with its inverse decay.
        """
        return self.schedule.factor(completed)

    def _checked(self, losses: Mapping[str, torch.Tensor]) -> dict[str, float]:
        names = list(losses)
        if not names:
            return {}
        stacked = torch.stack([losses[n].detach().float().reshape(()) for n in names])
        stacked = distributed.mean_across(self.world, stacked).cpu()
        for name, value in zip(names, stacked.tolist(), strict=True):
            if not math.isfinite(value):
                raise TrainingError(
                    f"The {name} loss became {value} at step {self.step + 1}; training stopped "
                    "and the last good checkpoint was kept. Lower the learning rate, use "
                    "--precision fp32, or check the data."
                )
        return dict(zip(names, stacked.tolist(), strict=True))

    def _wrap(self, network: nn.Module) -> nn.Module:
        wrapped = network
        if self.world.distributed and any(p.requires_grad for p in network.parameters()):
            from torch.nn.parallel import DistributedDataParallel

            device_ids = [self.device] if self.device.type == "cuda" else None
            wrapped = DistributedDataParallel(network, device_ids=device_ids)
        if self.compile:
            wrapped = torch.compile(wrapped)  # type: ignore[assignment]
        return wrapped

    # -- checkpoints ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume exactly."""
        return {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "stylezoo_version": __version__,
            "family": self.family,
            "config": dict(self.config),
            "hparams": dict(self.hparams),
            "seed": self.seed,
            "precision": self.precision,
            "step": self.step,
            "elapsed": self.elapsed,
            "losses": dict(self.last_losses),
            "networks": {n: _cpu_state(m.state_dict()) for n, m in self.networks.items()},
            "optimizers": {n: o.state_dict() for n, o in self.optimizers.items()},
            "scalers": {n: s.state_dict() for n, s in self._scalers.items()},
            "extra": self.extra_state(),
            "rng": {
                "torch": torch.get_rng_state(),
                "generator": self.generator.get_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            },
        }

    def load_state_dict(self, state: Mapping[str, Any], where: str = "the checkpoint") -> None:
        """Restore :meth:`state_dict`; the family, config and hparams must match."""
        if state.get("format") != CHECKPOINT_FORMAT:
            raise TrainingError(f"{where} is not a stylezoo training checkpoint.")
        for key, mine in (
            ("family", self.family),
            ("config", dict(self.config)),
            ("hparams", dict(self.hparams)),
            ("seed", self.seed),
        ):
            if state.get(key) != mine:
                raise TrainingError(
                    f"{where} was written with {key} {state.get(key)!r}, but this run has "
                    f"{mine!r}; resume with the same settings or start a new run folder."
                )
        for name, network in self.networks.items():
            network.load_state_dict(state["networks"][name])
        for name, optimizer in self.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][name])
        for name, scaler in self._scalers.items():
            scaler.load_state_dict(state["scalers"][name])
        self.load_extra_state(state.get("extra", {}))
        torch.set_rng_state(state["rng"]["torch"])
        self.generator.set_state(state["rng"]["generator"])
        if torch.cuda.is_available() and state["rng"]["cuda"]:
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        self.step = int(state["step"])
        self.elapsed = float(state["elapsed"])
        self.last_losses = dict(state.get("losses", {}))

    def load_checkpoint(self, path: str | os.PathLike[str]) -> None:
        """Resume from a checkpoint file written by :meth:`fit` (read with weights_only)."""
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # a truncated or foreign file
            raise TrainingError(
                f"Cannot read the training checkpoint {str(path)!r}: {exc}. Delete it to start "
                "over, or restore a good copy."
            ) from exc
        self.load_state_dict(state, f"The checkpoint {str(path)!r}")

    def _checkpoint(self, run: Path, callbacks: Sequence[Callback]) -> None:
        if self.world.main:
            path = run / "checkpoints" / "last.pt"
            write_atomically(path, self.state_dict())
            for callback in callbacks:
                callback.on_checkpoint(self, path)
        distributed.barrier(self.world)

    # -- results ----------------------------------------------------------------------------
    def model_spec(self, name: str) -> ModelSpec:
        family, networks, config = self.exports()[name]
        from ..plugins import get_family

        implementation = get_family(family)
        full = implementation.complete_config(config)
        return ModelSpec(
            family=family,
            config=full,
            io=implementation.model_io(full),
            name="",
            description=f"{family} model trained with stylezoo",
            license=self.license,
            provenance={"trained": self.training_facts()},
            version=__version__,
        )

    def training_facts(self) -> dict[str, Any]:
        """What a model card says about how the weights were trained."""
        return {
            "family": self.family,
            "data": self.data_description,
            "steps": self.step,
            "hparams": dict(self.hparams),
            "seed": self.seed,
            "precision": self.precision,
            "processes": self.world.size,
            "device": str(self.device),
            "hardware": _hardware(self.device),
            "wall_time_s": round(self.elapsed, 1),
            "final_losses": {k: round(v, 6) for k, v in self.last_losses.items()},
            "torch": torch.__version__,
        }

    def translator(self, name: str = "") -> Any:
        """Export ``name`` (default: the main one) as a translator with a copy of the current
        weights, in eval mode on the training device; training can go on."""
        import copy

        exports = self.exports()
        name = name or next(iter(exports))
        if name not in exports:
            raise InvalidOptionError(
                f"This {self.family} trainer exports {sorted(exports)}, not {name!r}."
            )
        from ..plugins import get_family

        family, networks, _ = exports[name]
        copies = {}
        for role, network in networks.items():
            duplicate = copy.deepcopy(network).eval()
            duplicate.to(memory_format=torch.contiguous_format)
            for parameter in duplicate.parameters():
                parameter.requires_grad_(False)
            copies[role] = duplicate
        return get_family(family).translator(copies, self.model_spec(name))

    def save(self, directory: str | os.PathLike[str], *, overwrite: bool = False) -> list[Path]:
        """Write every export: the main one to ``directory/model``, others beside it."""
        from ..weights.directory import save_directory

        written = []
        for name, (_, networks, _) in self.exports().items():
            states = {role: _cpu_state(net.state_dict()) for role, net in networks.items()}
            target = Path(directory) / name
            written.append(
                save_directory(target, self.model_spec(name), states, overwrite=overwrite)
            )
        return written

    def write_samples(self, run: Path, batch: dict[str, torch.Tensor]) -> Path | None:
        """A PNG grid of the preview batch: one row per image, one column per stage."""
        from PIL import Image

        with torch.no_grad():
            for module in self.networks.values():
                module.eval()
            try:
                columns = self.preview({k: self.to_device(v) for k, v in batch.items()})
            finally:
                for module in self.networks.values():
                    module.train()
        if not columns:
            return None
        rows = [
            torch.cat([c[i].float().clamp(0, 1).cpu() for c in columns], dim=2)
            for i in range(columns[0].shape[0])
        ]
        grid = torch.cat(rows, dim=1)
        array = (grid * 255).round().to(torch.uint8).permute(1, 2, 0).contiguous().numpy()
        target = run / "samples" / f"step_{self.step:07d}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        Image.fromarray(array).save(temporary, format="PNG")
        os.replace(temporary, target)
        return target

    def _log(self, run: Path, values: Mapping[str, float], writer: Any) -> None:
        line = {"step": self.step, "elapsed_s": round(self.elapsed, 3), **values}
        with open(run / "log.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")
        if writer is not None:
            for key, value in values.items():
                writer.add_scalar(f"loss/{key}", value, self.step)
        logger.info("step %d: %s", self.step, ", ".join(f"{k} {v:.4g}" for k, v in values.items()))

    def _tensorboard(self, run: Path | None, wanted: bool | None) -> Any:
        if run is None or not self.world.main or wanted is False:
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:
            if wanted:
                raise TrainingError(
                    'TensorBoard logging needs tensorboard: pip install "stylezoo[train]".'
                ) from exc
            return None
        return SummaryWriter(str(run / "tensorboard"))

    def _progress(self, wanted: bool, total: int) -> Any:
        if not wanted or not self.world.main:
            return None
        from tqdm import tqdm

        return tqdm(total=total, initial=self.step, desc=f"train {self.family}", unit="step")

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} family={self.family!r} step={self.step} "
            f"device={self.device} precision={self.precision}>"
        )


def _cpu_state(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in state.items()}


def write_atomically(path: Path, state: Mapping[str, Any]) -> None:
    """``torch.save`` to a temporary file beside ``path``, flushed, then renamed over it.

    A process killed while writing leaves the previous checkpoint intact (and a temporary
    that the next run removes).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(temporary, "wb") as handle:
            torch.save(dict(state), handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise OutputError(
            f"Could not write the checkpoint {str(path)!r}: {exc}. Check the free space."
        ) from exc


def _remove_stale_temporaries(folder: Path) -> None:
    """Delete temporaries of checkpoint writes whose process is gone."""
    if not folder.is_dir():
        return
    for leftover in folder.glob(".*.tmp-*"):
        pid = leftover.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            leftover.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _check_writable(run: Path) -> None:
    from ..weights.directory import output_problem

    problem = output_problem(run)
    if problem is not None:
        raise OutputError(f"Cannot write the run folder {str(run)!r}: {problem}.")
    run.mkdir(parents=True, exist_ok=True)


def _hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model or platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
