"""The fast_style family: declarations here, the network and translator imported when used."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stylezoo.family import Family, ModelSpec

if TYPE_CHECKING:
    import torch
    from torch import nn

    from .trainer import FastStyleTrainer
    from .translator import FastStyleTranslator


class FastStyle(Family):
    """TransformerNet of pytorch/examples ``fast_neural_style``."""

    name = "fast_style"
    description = "Fast neural style TransformerNet (pytorch/examples fast_neural_style layout)"
    # TransformerNet has no hyper-parameters in the official code; every official file has
    # the same shapes, so there is nothing to configure.
    config = {}
    # native: the network runs on the image as it is, as the official code does, and its
    # output is cropped to the input's size. min_size 8: conv1's 9×9 reflection pad needs
    # sides > 4, and the 3×3 pads at quarter resolution need sides ≥ 2 there.
    io = {"range": [0.0, 255.0], "multiple": 4, "min_size": 8, "sizing": "native"}

    def build(self, config: Mapping[str, Any]) -> dict[str, nn.Module]:
        from .model import TransformerNet

        return {"model": TransformerNet()}

    def translator(self, networks: dict[str, nn.Module], spec: ModelSpec) -> FastStyleTranslator:
        from .translator import FastStyleTranslator

        return FastStyleTranslator(networks, spec)

    def convert(
        self, files: Mapping[str, Path], config: Mapping[str, Any]
    ) -> dict[str, dict[str, torch.Tensor]]:
        from .convert import convert

        return convert(files)

    trains = True

    def trainer(self, config: Mapping[str, Any], **settings: Any) -> FastStyleTrainer:
        from .trainer import FastStyleTrainer

        return FastStyleTrainer(self, config, **settings)
