"""The AdaIN family: declarations here, networks and translator imported when used."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stylezoo.family import Family, ModelSpec, Option

if TYPE_CHECKING:
    import torch
    from torch import nn

    from .trainer import AdaINTrainer
    from .translator import AdaINTranslator


class AdaIN(Family):
    """The normalised VGG-19 encoder (through relu4_1) and decoder of naoto0804/pytorch-AdaIN."""

    name = "adain"
    description = (
        "AdaIN arbitrary style transfer: VGG-19 encoder + decoder (naoto0804/pytorch-AdaIN layout)"
    )
    roles = ("encoder", "decoder")
    config = {
        "width": Option(
            64,
            "channels of the first VGG block (64 = VGG-19, the only width with official "
            "weights; smaller widths make fast test networks)",
            minimum=1,
        ),
    }
    # native: the networks run on the content as it is, as the official test does, and the
    # output (8·ceil(side/8) per side) is cropped to the content's size. min_size 16: relu4_1
    # then has at least 2×2 positions, so the unbiased variance of calc_mean_std is defined.
    io = {"range": [0.0, 1.0], "multiple": 8, "min_size": 16, "sizing": "native"}
    usage_example = 'result = translator.translate("photo.jpg", style="painting.jpg", alpha=0.8)'

    def build(self, config: Mapping[str, Any]) -> dict[str, nn.Module]:
        from .model import build_decoder, build_encoder

        width = config["width"]
        return {"encoder": build_encoder(width), "decoder": build_decoder(width)}

    def translator(self, networks: dict[str, nn.Module], spec: ModelSpec) -> AdaINTranslator:
        from .translator import AdaINTranslator

        return AdaINTranslator(networks, spec)

    def convert(
        self, files: Mapping[str, Path], config: Mapping[str, Any]
    ) -> dict[str, dict[str, torch.Tensor]]:
        from .convert import convert

        return convert(files)

    trains = True

    def trainer(self, config: Mapping[str, Any], **settings: Any) -> AdaINTrainer:
        from .trainer import AdaINTrainer

        return AdaINTrainer(self, config, **settings)
