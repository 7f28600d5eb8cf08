"""Adversarial-training pieces shared by CycleGAN, pix2pix and CUT (junyanz / CUT layouts).

The PatchGAN discriminator keeps the official module indices (``model.{0,2,5,8,11}``), so
discriminators trained here and official ``latest_net_D`` files have the same keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import make_norm, norm_uses_bias


class PatchGAN(nn.Module):
    """``NLayerDiscriminator`` (``--netD basic`` with ``n_layers=3``: the 70×70 PatchGAN).

    Conv k4 s2 · LReLU(0.2) · (n_layers − 1) × [Conv k4 s2 · norm · LReLU] · Conv k4 s1 ·
    norm · LReLU · Conv k4 s1 → 1 channel of logits. With ``antialias`` (CUT's default) each
    stride-2 conv is a stride-1 conv followed by a blur-pool (``blur`` builds it).
    """

    def __init__(
        self,
        input_nc: int = 3,
        ndf: int = 64,
        n_layers: int = 3,
        norm: str = "instance",
        blur: Any = None,
    ) -> None:
        super().__init__()
        bias = norm_uses_bias(norm)
        layers: list[nn.Module] = []
        if blur is None:
            layers += [nn.Conv2d(input_nc, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        else:
            layers += [
                nn.Conv2d(input_nc, ndf, 4, stride=1, padding=1),
                nn.LeakyReLU(0.2, True),
                blur(ndf),
            ]
        mult = 1
        for n in range(1, n_layers):
            previous, mult = mult, min(2**n, 8)
            if blur is None:
                layers += [
                    nn.Conv2d(ndf * previous, ndf * mult, 4, stride=2, padding=1, bias=bias),
                    make_norm(norm, ndf * mult),
                    nn.LeakyReLU(0.2, True),
                ]
            else:
                layers += [
                    nn.Conv2d(ndf * previous, ndf * mult, 4, stride=1, padding=1, bias=bias),
                    make_norm(norm, ndf * mult),
                    nn.LeakyReLU(0.2, True),
                    blur(ndf * mult),
                ]
        previous, mult = mult, min(2**n_layers, 8)
        layers += [
            nn.Conv2d(ndf * previous, ndf * mult, 4, stride=1, padding=1, bias=bias),
            make_norm(norm, ndf * mult),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1),
        ]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.model(x)
        return out


GAN_MODES = ("lsgan", "vanilla")


def to_signed(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] images (the training data) → [-1, 1] (the junyanz and CUT networks' range)."""
    return x * 2 - 1


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] → [0, 1]."""
    return (x + 1) / 2


def junyanz_options() -> dict[str, Any]:
    """The optimiser, schedule and init options CycleGAN and pix2pix share (official
    defaults: Adam 2e-4, β 0.5/0.999, 100 + 100 epochs, normal(0, 0.02) init)."""
    from ..family import Option

    return {
        "lr": Option(2e-4, "Adam learning rate (--lr)", minimum=0),
        "beta1": Option(0.5, "Adam beta1 (--beta1)", minimum=0),
        "beta2": Option(0.999, "Adam beta2", minimum=0),
        "n_epochs": Option(100, "epochs at the initial learning rate (--n_epochs)", minimum=0),
        "n_epochs_decay": Option(100, "epochs of linear decay to 0 (--n_epochs_decay)", minimum=0),
        "init_type": Option("normal", "weight init", choices=("normal", "xavier", "kaiming")),
        "init_gain": Option(0.02, "init scale (--init_gain)", minimum=0),
    }


def gan_loss(logits: torch.Tensor, real: bool, mode: str) -> torch.Tensor:
    """The official ``GANLoss``: MSE against 1/0 (``lsgan``) or BCE with logits (``vanilla``)."""
    target = torch.full_like(logits, 1.0 if real else 0.0)
    if mode == "lsgan":
        return F.mse_loss(logits.float(), target.float())
    if mode == "vanilla":
        return F.binary_cross_entropy_with_logits(logits.float(), target.float())
    raise ValueError(f"gan_mode must be one of {GAN_MODES}, got {mode!r}")


def init_weights(network: nn.Module, kind: str = "normal", gain: float = 0.02) -> None:
    """The official ``init_weights``: conv/linear weights N(0, gain) (or xavier/kaiming),
    biases 0; BatchNorm weights N(1, gain), biases 0."""
    for module in network.modules():
        name = type(module).__name__
        weight = getattr(module, "weight", None)
        if isinstance(weight, torch.Tensor) and ("Conv" in name or "Linear" in name):
            if kind == "normal":
                nn.init.normal_(weight, 0.0, gain)
            elif kind == "xavier":
                nn.init.xavier_normal_(weight, gain=gain)
            elif kind == "kaiming":
                nn.init.kaiming_normal_(weight, a=0, mode="fan_in")
            else:
                raise ValueError(f"init must be normal, xavier or kaiming, got {kind!r}")
            bias = getattr(module, "bias", None)
            if isinstance(bias, torch.Tensor):
                nn.init.zeros_(bias)
        elif "BatchNorm2d" in name and isinstance(weight, torch.Tensor):
            nn.init.normal_(weight, 1.0, gain)
            bias = getattr(module, "bias", None)
            if isinstance(bias, torch.Tensor):
                nn.init.zeros_(bias)


class ImagePool:
    """The official history of generated images (Shrivastava et al.) fed to discriminators.

    Until ``size`` images are stored each new image is stored and returned; afterwards, per
    image, with probability 0.5 a random stored image is returned and replaced by the new one,
    else the new one is returned. Random choices come from ``generator`` (saved with the
    trainer's checkpoints), so resumed runs make the same choices.
    """

    def __init__(self, size: int, generator: torch.Generator) -> None:
        self.size = size
        self.generator = generator
        self.images: list[torch.Tensor] = []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        chosen = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                chosen.append(image)
            elif float(torch.rand((), generator=self.generator)) > 0.5:
                index = int(torch.randint(0, self.size, (1,), generator=self.generator))
                chosen.append(self.images[index].clone())
                self.images[index] = image.clone()
            else:
                chosen.append(image)
        return torch.cat(chosen, 0)

    def state_dict(self) -> dict[str, Any]:
        return {"images": [image.cpu() for image in self.images]}

    def load_state_dict(self, state: Mapping[str, Any], device: torch.device) -> None:
        self.images = [image.to(device) for image in state.get("images", [])]


def check_patchgan_input(crop_size: int, n_layers: int) -> None:
    """A PatchGAN halves its input ``n_layers`` times and then needs ≥ 3×3 positions for its
    last norm; smaller crops are an error naming the fix."""
    from ..errors import InvalidOptionError

    smallest = 3 * 2**n_layers
    if crop_size < smallest:
        raise InvalidOptionError(
            f"crop_size {crop_size} is too small for a PatchGAN with n_layers_D={n_layers}: it "
            f"needs at least {smallest} pixels; raise crop_size or lower n_layers_D."
        )
