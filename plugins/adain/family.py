"""The AdaIN family implementation: build, convert, translate."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from stylezoo.errors import InvalidOptionError
from stylezoo.family import ModelSpec

from . import convert as _convert
from .model import build_decoder, build_encoder
from .translator import AdaINTranslator


class AdaINFamily:
    # width: channels of the first VGG block (64 = VGG-19, the only width with official
    # weights); smaller widths exist for fast tests and experiments.
    default_config: Mapping[str, Any] = {"width": 64}
    # multiple 8: three 2×2 pools then three ×2 upsamplings. min_size 16: relu4_1 then has
    # at least 2×2 positions, so the unbiased variance of calc_mean_std is defined.
    usage_example = 'result = translator.translate("photo.jpg", style="painting.jpg", alpha=0.8)'
    default_io: Mapping[str, Any] = {
        "range": [0.0, 1.0],
        "multiple": 8,
        "min_size": 16,
        "channels": 3,
    }

    def build(self, config: Mapping[str, Any]) -> dict[str, nn.Module]:
        width = config["width"]
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise InvalidOptionError(
                f"adain config width must be a positive integer (64 for "
                f"the official VGG-19), got {width!r}."
            )
        return {"encoder": build_encoder(width), "decoder": build_decoder(width)}

    def translator(self, networks: dict[str, nn.Module], spec: ModelSpec) -> AdaINTranslator:
        return AdaINTranslator(networks, spec)

    def convert(
        self, files: Mapping[str, Path], config: Mapping[str, Any]
    ) -> dict[str, dict[str, torch.Tensor]]:
        return _convert.convert(files, config)


family = AdaINFamily()
