"""CycleGAN training with the official recipe (junyanz ``cycle_gan_model.py``).

Two generators (G_A: A→B, G_B: B→A) and two 70×70 PatchGANs (D_A judges domain B, D_B domain
A); LSGAN, cycle L1 × 10 each way, identity L1 × 0.5 of that, image pools of 50, Adam 2e-4
(β 0.5, 0.999), a constant then linearly decaying learning rate; per iteration the generators
step first (discriminators frozen), then the discriminators.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from stylezoo.family import Option
from stylezoo.nn.gan import (
    GAN_MODES,
    ImagePool,
    PatchGAN,
    check_patchgan_input,
    gan_loss,
    init_weights,
    junyanz_options,
    to_signed,
    to_unit,
)
from stylezoo.training import BaseTrainer
from stylezoo.training.data import TrainingData, augment_from, unpaired


class CycleGANTrainer(BaseTrainer):
    """Trains ``out/model`` (A→B) and ``out/model-BA`` (B→A) from two unpaired folders."""

    recipe = {
        "gan_mode": Option("lsgan", "adversarial loss (--gan_mode)", choices=GAN_MODES),
        "lambda_A": Option(10.0, "cycle loss weight A→B→A (--lambda_A)", minimum=0),
        "lambda_B": Option(10.0, "cycle loss weight B→A→B (--lambda_B)", minimum=0),
        "lambda_identity": Option(0.5, "identity loss, relative to lambda (--lambda_identity)"),
        "pool_size": Option(50, "generated images kept for the discriminators", minimum=0),
        "ndf": Option(64, "discriminator filters (--ndf)", minimum=1),
        "n_layers_D": Option(3, "PatchGAN layers (--n_layers_D)", minimum=1),
        "norm_D": Option("instance", "discriminator norm", choices=("instance", "batch", "none")),
        **junyanz_options(),
    }
    schedule_options = ("n_epochs", "n_epochs_decay")

    def setup(self) -> None:
        h = self.hparams
        check_patchgan_input(h["crop_size"], h["n_layers_D"])
        generators = {
            name: self.implementation.build_networks(self.config)["model"]
            for name in ("G_A", "G_B")
        }
        discriminators = {
            name: PatchGAN(3, h["ndf"], h["n_layers_D"], h["norm_D"]) for name in ("D_A", "D_B")
        }
        self.networks = {**generators, **discriminators}
        for network in self.networks.values():
            init_weights(network, h["init_type"], h["init_gain"])
        betas = (h["beta1"], h["beta2"])
        self.optimizers = {
            "G": torch.optim.Adam(
                itertools.chain(generators["G_A"].parameters(), generators["G_B"].parameters()),
                lr=h["lr"],
                betas=betas,
            ),
            "D": torch.optim.Adam(
                itertools.chain(
                    discriminators["D_A"].parameters(), discriminators["D_B"].parameters()
                ),
                lr=h["lr"],
                betas=betas,
            ),
        }
        self.pools = {
            "A": ImagePool(h["pool_size"], self.generator),
            "B": ImagePool(h["pool_size"], self.generator),
        }

    def dataset(self, data: Any) -> TrainingData:
        return unpaired(data, augment_from(self.hparams), self.seed)

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        h = self.hparams
        real_a, real_b = to_signed(batch["A"]), to_signed(batch["B"])
        g_a, g_b = self.net("G_A"), self.net("G_B")
        d_a, d_b = self.networks["D_A"], self.networks["D_B"]
        mode = h["gan_mode"]
        losses: dict[str, torch.Tensor] = {}
        with self.autocast():
            fake_b = g_a(real_a)
            rec_a = g_b(fake_b)
            fake_a = g_b(real_b)
            rec_b = g_a(fake_a)
            # Generators first, with the discriminators frozen.
            self.set_requires_grad([d_a, d_b], False)
            total = torch.zeros((), device=real_a.device)
            if h["lambda_identity"] > 0:
                idt_a = g_a(real_b)
                idt_b = g_b(real_a)
                losses["idt_A"] = (
                    F.l1_loss(idt_a.float(), real_b.float()) * h["lambda_B"] * h["lambda_identity"]
                )
                losses["idt_B"] = (
                    F.l1_loss(idt_b.float(), real_a.float()) * h["lambda_A"] * h["lambda_identity"]
                )
                total = total + losses["idt_A"] + losses["idt_B"]
            losses["G_A"] = gan_loss(d_a(fake_b), True, mode)
            losses["G_B"] = gan_loss(d_b(fake_a), True, mode)
            losses["cycle_A"] = F.l1_loss(rec_a.float(), real_a.float()) * h["lambda_A"]
            losses["cycle_B"] = F.l1_loss(rec_b.float(), real_b.float()) * h["lambda_B"]
            total = total + losses["G_A"] + losses["G_B"] + losses["cycle_A"] + losses["cycle_B"]
        self.optimise("G", total)
        self.set_requires_grad([d_a, d_b], True)
        with self.autocast():
            pooled_b = self.pools["A"].query(fake_b)  # fakes of domain B, for D_A
            pooled_a = self.pools["B"].query(fake_a)
            losses["D_A"] = self._d_loss(self.net("D_A"), real_b, pooled_b)
            losses["D_B"] = self._d_loss(self.net("D_B"), real_a, pooled_a)
        self.optimise("D", losses["D_A"] + losses["D_B"])
        return losses

    def _d_loss(self, d: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        mode = self.hparams["gan_mode"]
        return 0.5 * (gan_loss(d(real), True, mode) + gan_loss(d(fake.detach()), False, mode))

    def exports(self) -> dict[str, tuple[str, dict[str, nn.Module], Mapping[str, Any]]]:
        return {
            "model": ("cyclegan", {"model": self.networks["G_A"]}, self.config),
            "model-BA": ("cyclegan", {"model": self.networks["G_B"]}, self.config),
        }

    def preview(self, batch: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        a, b = batch["A"], batch["B"]
        g_a, g_b = self.networks["G_A"], self.networks["G_B"]
        return [
            a,
            to_unit(g_a(to_signed(a))),
            b,
            to_unit(g_b(to_signed(b))),
        ]

    def extra_state(self) -> dict[str, Any]:
        return {name: pool.state_dict() for name, pool in self.pools.items()}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        for name, pool in self.pools.items():
            pool.load_state_dict(state.get(name, {}), self.device)
