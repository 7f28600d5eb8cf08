"""The CycleGAN family: declarations here, networks and translator imported when used."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stylezoo.family import Family, ModelSpec, Option
from stylezoo.nn import NORMS, PADDINGS, RESNET_BLOCKS

if TYPE_CHECKING:
    import torch
    from torch import nn

    from .trainer import CycleGANTrainer
    from .translator import CycleGANTranslator


class CycleGAN(Family):
    """ResNet generators of junyanz/pytorch-CycleGAN-and-pix2pix (one direction each)."""

    name = "cyclegan"
    description = "CycleGAN ResNet generators (junyanz/pytorch-CycleGAN-and-pix2pix layout)"
    config = {
        "netG": Option("resnet_9blocks", "generator (--netG)", choices=tuple(RESNET_BLOCKS)),
        "ngf": Option(64, "filters of the first conv (--ngf)", minimum=1),
        "norm": Option(
            "instance",
            "normalisation layers (--norm; instance_affine: with a learnt scale and shift)",
            choices=NORMS,
        ),
        "use_dropout": Option(False, "dropout layers in the residual blocks"),
        "padding_type": Option("reflect", "padding of the residual blocks", choices=PADDINGS),
        "input_nc": Option(3, "input channels", choices=(3,)),
        "output_nc": Option(3, "output channels", choices=(3,)),
    }
    # multiple 4: two stride-2 convs, then transposed convs that double the size back.
    # min_size 8: the bottleneck is then 2×2, the least its reflection pads of 1 accept.
    io = {"range": [-1.0, 1.0], "multiple": 4, "min_size": 8}

    def build(self, config: Mapping[str, Any]) -> dict[str, nn.Module]:
        from .model import ResnetGenerator

        return {
            "model": ResnetGenerator(
                ngf=config["ngf"],
                norm=config["norm"],
                use_dropout=config["use_dropout"],
                n_blocks=RESNET_BLOCKS[config["netG"]],
                padding_type=config["padding_type"],
            )
        }

    def translator(self, networks: dict[str, nn.Module], spec: ModelSpec) -> CycleGANTranslator:
        from .translator import CycleGANTranslator

        return CycleGANTranslator(networks, spec)

    def convert(
        self, files: Mapping[str, Path], config: Mapping[str, Any]
    ) -> dict[str, dict[str, torch.Tensor]]:
        from .convert import convert

        return convert(files)

    trains = True

    def trainer(self, config: Mapping[str, Any], **settings: Any) -> CycleGANTrainer:
        from .trainer import CycleGANTrainer

        return CycleGANTrainer(self, config, **settings)
