"""The CUT / FastCUT family implementation: build, convert, translate."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from stylezoo.family import ModelSpec
from stylezoo.translator import ImageTranslator

from . import convert as _convert
from .model import build_generator


class CUTTranslator(ImageTranslator):
    """One CUT or FastCUT generator (one direction). Inputs in [-1, 1], outputs tanh in [-1, 1].

    CUT and FastCUT differ only in training; their generators run identically. No options.
    """


class CUTFamily:
    """Anti-aliased ResNet generators of taesungp/contrastive-unpaired-translation."""

    default_config: Mapping[str, Any] = {
        "netG": "resnet_9blocks",
        "ngf": 64,
        "norm": "instance",
        "use_dropout": False,
        "no_antialias": False,
        "no_antialias_up": False,
    }
    # min_size 8: two halvings leave 2×2 at the bottleneck, the least that the residual
    # blocks' reflection pad of 1 (and instance norm) accept; 4 would leave 1×1.
    default_io: Mapping[str, Any] = {
        "range": [-1.0, 1.0],
        "multiple": 4,
        "min_size": 8,
        "channels": 3,
    }

    def build(self, config: Mapping[str, Any]) -> dict[str, nn.Module]:
        return {"model": build_generator(config)}

    def translator(self, networks: dict[str, nn.Module], spec: ModelSpec) -> CUTTranslator:
        return CUTTranslator(networks, spec)

    def convert(
        self, files: Mapping[str, Path], config: Mapping[str, Any]
    ) -> dict[str, dict[str, torch.Tensor]]:
        return _convert.convert(files, config)


family = CUTFamily()
