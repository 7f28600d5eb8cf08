"""The pix2pix family implementation: build, convert, translate (with the test-time modes)."""

from __future__ import annotations

import contextlib
import logging
import numbers
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn

from stylezoo.errors import InvalidOptionError
from stylezoo.family import ModelSpec
from stylezoo.nn.blocks import NORMS
from stylezoo.translator import ImageTranslator

from . import convert as _convert
from .model import NUM_DOWNS, UnetGenerator, build_generator

logger = logging.getLogger(__name__)

# torch.manual_seed accepts exactly this range (negative seeds wrap around).
_SEED_MIN, _SEED_END = -(2**63), 2**64


class Pix2PixTranslator(ImageTranslator):
    """One pix2pix U-Net generator. Inputs in [-1, 1], outputs tanh in [-1, 1].

    Options (``translate(image, **options)`` and ``t(batch, **options)``):

    * ``dropout`` (default ``False``): apply the Dropout(0.5) layers as the official test does
      without ``--eval``. Off by default, so results are deterministic (the official test with
      ``--no_dropout``).
    * ``seed`` (only with ``dropout=True``): draw the masks as the official code does right
      after ``torch.manual_seed(seed)``. Each image of a batch is translated as if alone, right
      after that call; the generators' previous states are restored afterwards. Without a
      seed, ``dropout=True`` draws from torch's global generator as it stands (and advances it).
    * ``batch_stats`` (default ``True``): batch norm uses each image's own statistics (the
      official test without ``--eval``); ``False`` uses the stored running statistics (the
      official ``--eval``).
    """

    def prepare_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Check option values before anything runs (both translate() and the raw call)."""
        for flag in ("dropout", "batch_stats"):
            if flag in options and not isinstance(options[flag], bool):
                raise InvalidOptionError(
                    f"pix2pix option {flag}={options[flag]!r} must be True or False."
                )
        seed = options.get("seed")
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
                raise InvalidOptionError(
                    f"pix2pix option seed={seed!r} must be an integer (as for "
                    "torch.manual_seed), or None."
                )
            if not _SEED_MIN <= int(seed) < _SEED_END:
                raise InvalidOptionError(
                    f"pix2pix option seed={seed} is outside the range torch.manual_seed "
                    f"accepts ([-2**63, 2**64)). Pass a smaller integer."
                )
            if options.get("dropout") is not True:
                # A seed alone would silently give the deterministic default output, which is
                # not what the official (stochastic) test produces for that seed.
                raise InvalidOptionError(
                    "pix2pix option seed only selects dropout masks: pass dropout=True with "
                    "it to reproduce the official test (README command) for that seed, or "
                    "drop seed for the deterministic default output."
                )
            options["seed"] = int(seed)
        if options.get("dropout") is True and not self.generator.has_dropout:
            raise InvalidOptionError(
                "This pix2pix model was built without dropout layers (config use_dropout = "
                "false), so dropout=True has nothing to act on. Leave dropout off."
            )
        return options

    @property
    def generator(self) -> UnetGenerator:
        return cast(UnetGenerator, self.networks["model"])  # built by Pix2PixFamily.build

    def forward(
        self,
        x: torch.Tensor,
        *,
        dropout: bool = False,
        seed: int | None = None,
        batch_stats: bool = True,
    ) -> torch.Tensor:
        """Run the generator on an NCHW batch in [-1, 1] (sizes already multiples of 2^n)."""
        network = self.generator
        x = x.contiguous()
        if not dropout:
            # Per-image statistics are computed per sample, so the batch runs at once.
            return network(x, batch_stats=batch_stats, dropout=False)
        # With dropout the official test draws masks for a batch of one: run image by image
        # so each image gets exactly the masks (shapes and draw order) of a lone test image.
        outputs = []
        with _forked_rng(x.device, enabled=seed is not None):
            for index in range(x.shape[0]):
                if seed is not None:
                    _reseed(x.device, seed)
                outputs.append(network(x[index : index + 1], batch_stats=batch_stats, dropout=True))
        return torch.cat(outputs)


@contextlib.contextmanager
def _forked_rng(device: torch.device, enabled: bool) -> Iterator[None]:
    """Restore the CPU generator (and the device's generators) when the block ends."""
    if device.type == "cpu":
        with torch.random.fork_rng(devices=[], enabled=enabled, device_type="cpu"):
            yield
        return
    module = torch.get_device_module(device.type)
    indices = list(range(module.device_count()))
    with torch.random.fork_rng(devices=indices, enabled=enabled, device_type=device.type):
        yield


def _reseed(device: torch.device, seed: int) -> None:
    """What ``torch.manual_seed(seed)`` does to the generators this forward pass draws from.

    Only those are touched (the CPU one, and the tensor's device's one), so a CPU run does not
    queue a reseed of a CUDA device that this call could not restore.
    """
    torch.default_generator.manual_seed(seed)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        torch.cuda.default_generators[index].manual_seed(seed)
    elif device.type != "cpu":
        torch.get_device_module(device.type).manual_seed(seed)


class Pix2PixFamily:
    default_config: Mapping[str, Any] = {
        "netG": "unet_256",
        "ngf": 64,
        "norm": "batch",
        "use_dropout": True,
        "input_nc": 3,
        "output_nc": 3,
    }
    # multiple/min_size/channels follow the config (io_for): unet_128 needs 128, unet_256 256.
    default_io: Mapping[str, Any] = {
        "range": [-1.0, 1.0],
        "multiple": 256,
        "min_size": 256,
        "channels": 3,
    }

    def build(self, config: Mapping[str, Any]) -> dict[str, nn.Module]:
        _check_config(config)
        return {"model": build_generator(dict(config))}

    def io_for(self, config: Mapping[str, Any]) -> Mapping[str, Any]:
        # The padding multiple is a property of the network (2 ** levels), not of the record:
        # padding a unet_128 input to 256 would change its per-image statistics.
        side = 2 ** NUM_DOWNS[config["netG"]]
        return {"multiple": side, "min_size": side, "channels": config["input_nc"]}

    def translator(self, networks: dict[str, nn.Module], spec: ModelSpec) -> Pix2PixTranslator:
        return Pix2PixTranslator(networks, spec)

    def convert(
        self, files: Mapping[str, Path], config: Mapping[str, Any]
    ) -> dict[str, dict[str, torch.Tensor]]:
        _check_config(config)
        return _convert.convert(files, config)


def _check_config(config: Mapping[str, Any]) -> None:
    if config["netG"] not in NUM_DOWNS:
        raise InvalidOptionError(
            f"pix2pix netG {config['netG']!r} is not supported; use one of {sorted(NUM_DOWNS)} "
            "(the official U-Nets)."
        )
    if config["norm"] not in NORMS:
        raise InvalidOptionError(
            f"pix2pix norm {config['norm']!r} is not supported; use one of {list(NORMS)}."
        )
    if not isinstance(config["use_dropout"], bool):
        raise InvalidOptionError(
            f"pix2pix use_dropout must be true or false, got {config['use_dropout']!r}."
        )
    for key in ("ngf", "input_nc", "output_nc"):
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidOptionError(f"pix2pix {key} must be a positive integer, got {value!r}.")


family = Pix2PixFamily()
