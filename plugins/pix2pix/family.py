"""The pix2pix family: declarations here, networks and translator imported when used."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stylezoo.family import Family, ModelSpec, Option
from stylezoo.nn import NORMS

if TYPE_CHECKING:
    import torch
    from torch import nn

    from .trainer import Pix2PixTrainer
    from .translator import Pix2PixTranslator

#: number of stride-2 levels per generator; inputs must be multiples of 2 ** num_downs
NUM_DOWNS = {"unet_256": 8, "unet_128": 7}


class Pix2Pix(Family):
    """U-Net generators of junyanz/pytorch-CycleGAN-and-pix2pix (one direction each)."""

    name = "pix2pix"
    description = "pix2pix U-Net generators (junyanz/pytorch-CycleGAN-and-pix2pix layout)"
    config = {
        "netG": Option(
            "unet_256", "generator (--netG; the official U-Nets)", choices=tuple(NUM_DOWNS)
        ),
        "ngf": Option(64, "filters of the first conv (--ngf)", minimum=1),
        "norm": Option("batch", "normalisation layers (--norm)", choices=NORMS),
        "use_dropout": Option(True, "dropout layers in the inner blocks (not --no_dropout)"),
        "input_nc": Option(3, "input channels (--input_nc)", minimum=1),
        "output_nc": Option(3, "output channels (--output_nc)", choices=(3,)),
    }
    # multiple, min_size and channels follow the config (io_for).
    io = {"range": [-1.0, 1.0]}

    def io_for(self, config: Mapping[str, Any]) -> Mapping[str, Any]:
        # The padding multiple is a property of the network (2 ** levels), not of the record:
        # padding a unet_128 input to 256 would change its per-image statistics.
        side = 2 ** NUM_DOWNS[config["netG"]]
        return {"multiple": side, "min_size": side, "channels": config["input_nc"]}

    def build(self, config: Mapping[str, Any]) -> dict[str, nn.Module]:
        from .model import UnetGenerator

        return {
            "model": UnetGenerator(
                input_nc=config["input_nc"],
                output_nc=config["output_nc"],
                num_downs=NUM_DOWNS[config["netG"]],
                ngf=config["ngf"],
                norm=config["norm"],
                use_dropout=config["use_dropout"],
            )
        }

    def translator(self, networks: dict[str, nn.Module], spec: ModelSpec) -> Pix2PixTranslator:
        from .translator import Pix2PixTranslator

        return Pix2PixTranslator(networks, spec)

    def convert(
        self, files: Mapping[str, Path], config: Mapping[str, Any]
    ) -> dict[str, dict[str, torch.Tensor]]:
        import torch

        from .convert import convert

        with torch.device("meta"):
            network = self.build(config)["model"]
        return convert(files, network)

    trains = True

    def trainer(self, config: Mapping[str, Any], **settings: Any) -> Pix2PixTrainer:
        from .trainer import Pix2PixTrainer

        return Pix2PixTrainer(self, config, **settings)
