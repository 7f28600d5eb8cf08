"""The nst family: declarations here, the network and translator imported when used."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stylezoo.family import Family, ModelSpec, Option

if TYPE_CHECKING:
    import torch
    from torch import nn

    from .translator import NSTTranslator


class NST(Family):
    """A VGG feature network; the stylised image is found by optimisation, not computed."""

    name = "nst"
    description = (
        "Neural style transfer by optimisation (Gatys et al.): a VGG loss network, any style "
        "image, L-BFGS or Adam"
    )
    roles = ("vgg",)
    config = {
        "arch": Option(
            "vgg19", "VGG depth: vgg19 (16 convs) or vgg16 (13)", choices=("vgg19", "vgg16")
        ),
        "width": Option(
            64,
            "channels of the first VGG block (64 = VGG; smaller widths make fast test networks)",
            minimum=1,
        ),
        "padding": Option(
            "reflect",
            "conv padding: reflect (the normalised VGG-19 files) or zero (VGG as trained)",
            choices=("reflect", "zero"),
        ),
    }
    # native: the image is optimised at its own size. min_size 32: conv5_1 (after 4 pools)
    # then has at least 2×2 positions, which its reflection padding needs.
    io = {"range": [0.0, 1.0], "multiple": 1, "min_size": 32, "sizing": "native"}
    usage_example = 'result = translator.translate("photo.jpg", style="painting.jpg", steps=300)'

    def build(self, config: Mapping[str, Any]) -> dict[str, nn.Module]:
        from .model import build_vgg

        return {"vgg": build_vgg(config["arch"], config["width"], config["padding"])}

    def translator(self, networks: dict[str, nn.Module], spec: ModelSpec) -> NSTTranslator:
        from .translator import NSTTranslator

        return NSTTranslator(networks, spec)

    def convert(
        self, files: Mapping[str, Path], config: Mapping[str, Any]
    ) -> dict[str, dict[str, torch.Tensor]]:
        from .convert import convert

        return convert(files, config)
