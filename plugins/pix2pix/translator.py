"""The pix2pix translator, with the official test-time modes (dropout, batch statistics)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any, cast

import torch

from stylezoo.errors import InvalidOptionError
from stylezoo.exportable import ExportGraph, raw_call_graph, unsupported
from stylezoo.family import Option
from stylezoo.translator import ImageTranslator

from .model import UnetGenerator

# torch.manual_seed accepts exactly this range (negative seeds wrap around).
_SEED_MIN, _SEED_MAX = -(2**63), 2**64 - 1


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

    options = {
        "dropout": Option(
            False,
            "apply the Dropout(0.5) layers as the official test does without --eval",
        ),
        "seed": Option(
            None,
            "with dropout=True: draw the masks as the official code does after "
            "torch.manual_seed(seed)",
            kind="int",
            minimum=_SEED_MIN,
            maximum=_SEED_MAX,
        ),
        "batch_stats": Option(
            True,
            "batch norm uses each image's own statistics (the official test without --eval); "
            "False uses the stored running statistics",
        ),
    }

    def prepare_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Check that the options make sense together, before anything runs."""
        if options["seed"] is not None and options["dropout"] is not True:
            # A seed alone would silently give the deterministic default output, which is
            # not what the official (stochastic) test produces for that seed.
            raise InvalidOptionError(
                "pix2pix option seed only selects dropout masks: pass dropout=True with "
                "it to reproduce the official test (README command) for that seed, or "
                "drop seed for the deterministic default output."
            )
        if options["dropout"] and not self.generator.has_dropout:
            raise InvalidOptionError(
                "This pix2pix model was built without dropout layers (config use_dropout = "
                "false), so dropout=True has nothing to act on. Leave dropout off."
            )
        return options

    def export_graph(self, options: Mapping[str, Any]) -> ExportGraph:
        """The raw call with ``batch_stats`` fixed; dropout (random masks) cannot be exported."""
        if options.get("dropout"):
            raise unsupported(
                self, "dropout=True", "its masks are random; export the deterministic default."
            )
        return raw_call_graph(self, options)

    @property
    def generator(self) -> UnetGenerator:
        return cast(UnetGenerator, self.networks["model"])  # built by Pix2Pix.build

    def forward(
        self,
        x: torch.Tensor,
        *,
        source: torch.Tensor,
        dropout: bool,
        seed: int | None,
        batch_stats: bool,
    ) -> torch.Tensor:
        """Run the generator on an NCHW batch in [-1, 1] (sizes already multiples of 2^n)."""
        network = self.generator
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
