"""The CycleGAN family implementation: build, convert, translate."""

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


class CycleGANTranslator(ImageTranslator):
    """One CycleGAN generator (one direction). Inputs in [-1, 1], outputs tanh in [-1, 1]."""


class CycleGANFamily:
    default_config: Mapping[str, Any] = {
        "netG": "resnet_9blocks",
        "ngf": 64,
        "norm": "instance",
        "use_dropout": False,
        "padding_type": "reflect",
        "input_nc": 3,
        "output_nc": 3,
    }
    default_io: Mapping[str, Any] = {
        "range": [-1.0, 1.0],
        "multiple": 4,
        "min_size": 8,
        "channels": 3,
    }

    def build(self, config: Mapping[str, Any]) -> dict[str, nn.Module]:
        return {"model": build_generator(dict(config))}

    def translator(self, networks: dict[str, nn.Module], spec: ModelSpec) -> CycleGANTranslator:
        return CycleGANTranslator(networks, spec)

    def convert(
        self, files: Mapping[str, Path], config: Mapping[str, Any]
    ) -> dict[str, dict[str, torch.Tensor]]:
        return _convert.convert(files, config)


family = CycleGANFamily()
