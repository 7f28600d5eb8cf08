"""CUT and FastCUT training with the official recipe (taesungp ``cut_model.py``).

PatchNCE between input and output features of the generator's encoder (layers 0, 4, 8, 12,
16; 256 patches per layer at the same locations in both; a two-layer MLP head per layer, L2
normalised; temperature 0.07; negatives from the same image only), LSGAN with an anti-aliased
PatchGAN, Adam 2e-4 (β 0.5, 0.999) for G, D and the MLP heads; per iteration D steps first,
then G and the heads. CUT: λ_NCE 1 with the identity NCE on (B, G(B)), 200 + 200 epochs.
FastCUT (``mode="fastcut"``): λ_NCE 10, no identity term, flip equivariance, 150 + 50 epochs.
In the decay phase the images are resized to the crop size (no scale jitter), as upstream.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from stylezoo.errors import InvalidOptionError
from stylezoo.family import Option
from stylezoo.nn.gan import (
    PatchGAN,
    check_patchgan_input,
    gan_loss,
    init_weights,
    to_signed,
    to_unit,
)
from stylezoo.training import BaseTrainer
from stylezoo.training.data import TrainingData, UnpairedImages, augment_from, unpaired

from .model import Downsample

MODES = {
    # mode: (lambda_NCE, nce_idt, flip_equivariance, n_epochs, n_epochs_decay)
    "cut": (1.0, True, False, 200, 200),
    "fastcut": (10.0, False, True, 150, 50),
}


def _layers(generator: nn.Module) -> nn.Sequential:
    layers = generator.model
    assert isinstance(layers, nn.Sequential)
    return layers


class PatchHeads(nn.Module):
    """``PatchSampleF`` (``--netF mlp_sample``): per layer Linear(C→nc) · ReLU · Linear(nc→nc).

    Keys ``mlp_{i}.0.*`` and ``mlp_{i}.2.*`` as upstream (created eagerly here, from the
    channel counts of the layers, instead of on the first forward).
    """

    def __init__(self, channels: Sequence[int], nc: int = 256) -> None:
        super().__init__()
        self.count = len(channels)
        for index, c in enumerate(channels):
            setattr(
                self, f"mlp_{index}", nn.Sequential(nn.Linear(c, nc), nn.ReLU(), nn.Linear(nc, nc))
            )

    def forward(
        self, features: Sequence[torch.Tensor], ids: Sequence[torch.Tensor]
    ) -> list[torch.Tensor]:
        out = []
        for index, (feature, patch_ids) in enumerate(zip(features, ids, strict=True)):
            flat = feature.permute(0, 2, 3, 1).flatten(1, 2)  # [B, HW, C]
            sample = flat[:, patch_ids.to(flat.device), :].flatten(0, 1)  # [B·P, C]
            sample = getattr(self, f"mlp_{index}")(sample.float())
            out.append(sample / (sample.norm(p=2, dim=1, keepdim=True) + 1e-7))
        return out


def patch_nce(q: torch.Tensor, k: torch.Tensor, batch: int, temperature: float) -> torch.Tensor:
    """Per-patch PatchNCE loss: positive = the same location, negatives = the image's other
    sampled locations (the self-pair at −10 before dividing by T)."""
    k = k.detach()
    dim = q.shape[1]
    positive = (q * k).sum(dim=1, keepdim=True)  # [B·P, 1]
    q_b, k_b = q.view(batch, -1, dim), k.view(batch, -1, dim)
    patches = q_b.shape[1]
    negative = torch.bmm(q_b, k_b.transpose(2, 1))  # [B, P, P]
    eye = torch.eye(patches, dtype=torch.bool, device=q.device)[None]
    negative = negative.masked_fill(eye, -10.0).view(-1, patches)
    logits = torch.cat([positive, negative], dim=1) / temperature
    target = torch.zeros(logits.shape[0], dtype=torch.long, device=q.device)
    return F.cross_entropy(logits, target, reduction="none")


class CUTTrainer(BaseTrainer):
    """Trains ``out/model`` (A→B) from two unpaired folders."""

    recipe = {
        "mode": Option("cut", "cut or fastcut (--CUT_mode)", choices=tuple(MODES)),
        "lambda_GAN": Option(1.0, "GAN loss weight (--lambda_GAN)", minimum=0),
        "lambda_NCE": Option(0.0, "NCE weight (--lambda_NCE; 0: the mode's, 1 or 10)", minimum=0),
        "nce_layers": Option([0, 4, 8, 12, 16], "generator layers for PatchNCE", kind="any"),
        "num_patches": Option(256, "patches per layer (--num_patches)", minimum=1),
        "nce_T": Option(0.07, "NCE temperature (--nce_T)", minimum=0),
        "netF_nc": Option(256, "MLP head width (--netF_nc)", minimum=1),
        "ndf": Option(64, "discriminator filters (--ndf)", minimum=1),
        "n_layers_D": Option(3, "PatchGAN layers (--n_layers_D)", minimum=1),
        "lr": Option(2e-4, "Adam learning rate (--lr)", minimum=0),
        "beta1": Option(0.5, "Adam beta1 (--beta1)", minimum=0),
        "beta2": Option(0.999, "Adam beta2", minimum=0),
        "n_epochs": Option(0, "epochs at the initial rate (0: the mode's, 200 or 150)", minimum=0),
        "n_epochs_decay": Option(0, "epochs of decay (0: the mode's, 200 or 50)", minimum=0),
        "init_gain": Option(0.02, "xavier init gain (--init_gain)", minimum=0),
    }
    schedule_options = ("n_epochs", "n_epochs_decay")

    def setup(self) -> None:
        h = self.hparams
        check_patchgan_input(h["crop_size"], h["n_layers_D"])
        lambda_nce, self.nce_idt, self.flip_equivariance, epochs, decay = MODES[h["mode"]]
        if not h["lambda_NCE"]:
            h["lambda_NCE"] = lambda_nce
        if not h["n_epochs"] and not h["n_epochs_decay"]:
            h["n_epochs"], h["n_epochs_decay"] = epochs, decay
        layers = h["nce_layers"]
        if (
            not isinstance(layers, list)
            or not layers
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in layers)
        ):
            raise InvalidOptionError(f"nce_layers must be a list of layer indices, got {layers!r}.")
        generator = self.implementation.build_networks(self.config)["model"]
        depth = len(_layers(generator))
        if max(layers) >= depth or min(layers) < 0:
            raise InvalidOptionError(
                f"nce_layers {layers} are not all layers of this generator (0–{depth - 1})."
            )
        with torch.no_grad():
            channels = [f.shape[1] for f in self._encode(generator, torch.zeros(1, 3, 32, 32))]
        discriminator = PatchGAN(3, h["ndf"], h["n_layers_D"], "instance", blur=Downsample)
        heads = PatchHeads(channels, h["netF_nc"])
        self.networks = {"G": generator, "D": discriminator, "F": heads}
        for network in self.networks.values():
            init_weights(network, "xavier", h["init_gain"])
        betas = (h["beta1"], h["beta2"])
        self.optimizers = {
            name: torch.optim.Adam(network.parameters(), lr=h["lr"], betas=betas)
            for name, network in self.networks.items()
        }

    def _encode(self, generator: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
        layers = set(self.hparams["nce_layers"])
        last = max(layers)
        features = []
        for index, layer in enumerate(_layers(generator)):
            x = layer(x)
            if index in layers:
                features.append(x)
            if index == last:
                break
        return features

    def dataset(self, data: Any) -> TrainingData:
        return unpaired(data, augment_from(self.hparams), self.seed)

    def prepare_data(self, dataset: TrainingData) -> None:
        if isinstance(dataset, UnpairedImages):
            dataset.plain_from = self.decay_start(len(dataset))

    def _nce(self, source: torch.Tensor, target: torch.Tensor, flipped: bool) -> torch.Tensor:
        h = self.hparams
        generator, heads = self.networks["G"], self.net("F")
        queries = self._encode(generator, target)
        if flipped:
            queries = [torch.flip(q, [3]) for q in queries]
        keys = self._encode(generator, source)
        ids = []
        for feature in keys:
            count = feature.shape[2] * feature.shape[3]
            ids.append(torch.randperm(count, generator=self.generator)[: h["num_patches"]])
        q_all, k_all = heads(queries, ids), heads(keys, ids)
        total = torch.zeros((), device=source.device)
        for q, k in zip(q_all, k_all, strict=True):
            total = total + patch_nce(q, k, source.shape[0], h["nce_T"]).mean() * h["lambda_NCE"]
        return total / len(q_all)

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        h = self.hparams
        real_a, real_b = to_signed(batch["A"]), to_signed(batch["B"])
        count = real_a.shape[0]
        real = torch.cat([real_a, real_b]) if self.nce_idt else real_a
        flipped = self.flip_equivariance and float(torch.rand((), generator=self.generator)) < 0.5
        if flipped:
            real = torch.flip(real, [3])
        losses: dict[str, torch.Tensor] = {}
        with self.autocast():
            fake = self.net("G")(real)
            fake_b = fake[:count]
            idt_b = fake[count:] if self.nce_idt else None
            d = self.net("D")
            losses["D_fake"] = gan_loss(d(fake_b.detach()), False, "lsgan")
            losses["D_real"] = gan_loss(d(real_b), True, "lsgan")
        self.optimise("D", 0.5 * (losses["D_fake"] + losses["D_real"]))
        raw_d = self.networks["D"]
        self.set_requires_grad([raw_d], False)
        with self.autocast():
            losses["G_GAN"] = gan_loss(raw_d(fake_b), True, "lsgan") * h["lambda_GAN"]
            losses["NCE"] = self._nce(real_a, fake_b, flipped)
            total = losses["G_GAN"]
            if idt_b is not None:
                losses["NCE_Y"] = self._nce(real_b, idt_b, flipped)
                total = total + 0.5 * (losses["NCE"] + losses["NCE_Y"])
            else:
                total = total + losses["NCE"]
        self._step_generator(total)
        self.set_requires_grad([raw_d], True)
        return losses

    def _step_generator(self, loss: torch.Tensor) -> None:
        g, f = self.optimizers["G"], self.optimizers["F"]
        scaler = self._scalers["G"]
        g.zero_grad(set_to_none=True)
        f.zero_grad(set_to_none=True)
        torch.autograd.backward(scaler.scale(loss))
        scaler.step(g)
        scaler.step(f)
        scaler.update()

    def exports(self) -> dict[str, tuple[str, dict[str, nn.Module], Mapping[str, Any]]]:
        return {"model": ("cut", {"model": self.networks["G"]}, self.config)}

    def preview(self, batch: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        a = batch["A"]
        return [a, to_unit(self.networks["G"](to_signed(a))), batch["B"]]
