"""pix2pix training with the official recipe (junyanz ``pix2pix_model.py``).

U-Net generator, a PatchGAN on the (input, output) channel pair, vanilla GAN loss plus L1 × 100,
no image pool, Adam 2e-4 (β 0.5, 0.999), a constant then linearly decaying learning rate; per
iteration the discriminator steps first, then the generator. Aligned pairs get the same
resize, crop and flip.

The generator's batch-norm layers normalise each image with its own statistics, which is
what the official code computes at its batch size of 1 (and what stylezoo's translator does at
test time); running statistics are not tracked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from stylezoo.family import Option
from stylezoo.nn.gan import (
    GAN_MODES,
    PatchGAN,
    check_patchgan_input,
    gan_loss,
    init_weights,
    junyanz_options,
    to_signed,
    to_unit,
)
from stylezoo.training import BaseTrainer
from stylezoo.training.data import TrainingData, augment_from, paired


class Pix2PixTrainer(BaseTrainer):
    """Trains ``out/model`` from aligned pairs (AB images or two folders of matching names)."""

    recipe = {
        "direction": Option("AtoB", "AtoB or BtoA (--direction)", choices=("AtoB", "BtoA")),
        "gan_mode": Option("vanilla", "adversarial loss (--gan_mode)", choices=GAN_MODES),
        "lambda_L1": Option(100.0, "L1 loss weight (--lambda_L1)", minimum=0),
        "ndf": Option(64, "discriminator filters (--ndf)", minimum=1),
        "n_layers_D": Option(3, "PatchGAN layers (--n_layers_D)", minimum=1),
        "norm_D": Option("batch", "discriminator norm", choices=("instance", "batch", "none")),
        **junyanz_options(),
    }
    schedule_options = ("n_epochs", "n_epochs_decay")

    def setup(self) -> None:
        h = self.hparams
        check_patchgan_input(h["crop_size"], h["n_layers_D"])
        generator = self.implementation.build_networks(self.config)["model"]
        channels = self.config["input_nc"] + self.config["output_nc"]
        discriminator = PatchGAN(channels, h["ndf"], h["n_layers_D"], h["norm_D"])
        self.networks = {"G": generator, "D": discriminator}
        for network in self.networks.values():
            init_weights(network, h["init_type"], h["init_gain"])
        betas = (h["beta1"], h["beta2"])
        self.optimizers = {
            "G": torch.optim.Adam(generator.parameters(), lr=h["lr"], betas=betas),
            "D": torch.optim.Adam(discriminator.parameters(), lr=h["lr"], betas=betas),
        }

    def dataset(self, data: Any) -> TrainingData:
        return paired(data, augment_from(self.hparams), self.seed, self.hparams["direction"])

    def _generate(self, g: nn.Module, a: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = g(a, batch_stats=True, dropout=self.config["use_dropout"])
        return out

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        h = self.hparams
        mode = h["gan_mode"]
        real_a, real_b = to_signed(batch["A"]), to_signed(batch["B"])
        if self.config["input_nc"] == 1:
            real_a = real_a.mean(1, keepdim=True)
        losses: dict[str, torch.Tensor] = {}
        with self.autocast():
            fake_b = self._generate(self.net("G"), real_a)
            d = self.net("D")
            fake_pair = torch.cat([real_a, fake_b], 1).detach()
            real_pair = torch.cat([real_a, real_b], 1)
            losses["D_fake"] = gan_loss(d(fake_pair), False, mode)
            losses["D_real"] = gan_loss(d(real_pair), True, mode)
        self.optimise("D", 0.5 * (losses["D_fake"] + losses["D_real"]))
        raw_d = self.networks["D"]
        self.set_requires_grad([raw_d], False)
        with self.autocast():
            losses["G_GAN"] = gan_loss(raw_d(torch.cat([real_a, fake_b], 1)), True, mode)
            losses["G_L1"] = F.l1_loss(fake_b.float(), real_b.float()) * h["lambda_L1"]
        self.optimise("G", losses["G_GAN"] + losses["G_L1"])
        self.set_requires_grad([raw_d], True)
        return losses

    def exports(self) -> dict[str, tuple[str, dict[str, nn.Module], Mapping[str, Any]]]:
        return {"model": ("pix2pix", {"model": self.networks["G"]}, self.config)}

    def preview(self, batch: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        a, b = batch["A"], batch["B"]
        signed = to_signed(a)
        if self.config["input_nc"] == 1:
            signed = signed.mean(1, keepdim=True)
        fake = self.networks["G"](signed, batch_stats=True, dropout=False)
        return [a, to_unit(fake), b]
