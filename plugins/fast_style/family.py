"""The fast_style family implementation: build, convert, translate."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from stylezoo.family import ModelSpec
from stylezoo.translator import ImageTranslator

from . import convert as _convert
from .model import TransformerNet


class FastStyleTranslator(ImageTranslator):
    """One TransformerNet: one fixed style per network, no options.

    The network works on RGB in [0, 255] and its output is unbounded; the io range
    ``[0, 255]`` makes the base class scale inputs to it and clamp outputs back to [0, 1],
    so users only ever see [0, 1] tensors or ordinary images. Sizes that are not multiples
    of 4 are reflect-padded and cropped back, so the output keeps the input's size.
    """


class FastStyleFamily:
    # TransformerNet has no hyper-parameters in the official code; every official file has
    # the same shapes, so there is nothing to configure.
    default_config: Mapping[str, Any] = {}
    # min_size 8: conv1's 9×9 reflection pad needs sides > 4, and the 3×3 pads at quarter
    # resolution need sides ≥ 2 there (smaller images are reflect-padded up by the core).
    default_io: Mapping[str, Any] = {
        "range": [0.0, 255.0],
        "multiple": 4,
        "min_size": 8,
        "channels": 3,
    }

    def build(self, config: Mapping[str, Any]) -> dict[str, nn.Module]:
        return {"model": TransformerNet()}

    def translator(self, networks: dict[str, nn.Module], spec: ModelSpec) -> FastStyleTranslator:
        return FastStyleTranslator(networks, spec)

    def convert(
        self, files: Mapping[str, Path], config: Mapping[str, Any]
    ) -> dict[str, dict[str, torch.Tensor]]:
        return _convert.convert(files, config)


family = FastStyleFamily()
