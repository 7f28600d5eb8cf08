"""The CUT / FastCUT family: declarations here, networks and translator imported when used."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stylezoo.family import Family, ModelSpec, Option
from stylezoo.nn import NORMS, RESNET_BLOCKS

if TYPE_CHECKING:
    import torch
    from torch import nn

    from .trainer import CUTTrainer
    from .translator import CUTTranslator


class CUT(Family):
    """Anti-aliased ResNet generators of taesungp/contrastive-unpaired-translation."""

    name = "cut"
    description = (
        "CUT / FastCUT anti-aliased ResNet generators "
        "(taesungp/contrastive-unpaired-translation layout)"
    )
    config = {
        "netG": Option(
            "resnet_9blocks",
            "generator (--netG; the official pretrained models use resnet_9blocks)",
            choices=tuple(RESNET_BLOCKS),
        ),
        "ngf": Option(64, "filters of the first conv (--ngf)", minimum=1),
        "norm": Option("instance", "normalisation layers (--normG)", choices=NORMS),
        "use_dropout": Option(False, "dropout layers in the residual blocks"),
        "no_antialias": Option(False, "stride-2 convs instead of blur-pool downsampling"),
        "no_antialias_up": Option(False, "transposed convs instead of blur upsampling"),
    }
    # min_size 8: two halvings leave 2×2 at the bottleneck, the least that the residual
    # blocks' reflection pad of 1 (and instance norm) accept; 4 would leave 1×1.
    io = {"range": [-1.0, 1.0], "multiple": 4, "min_size": 8}

    def build(self, config: Mapping[str, Any]) -> dict[str, nn.Module]:
        from .model import CUTGenerator

        return {
            "model": CUTGenerator(
                ngf=config["ngf"],
                norm=config["norm"],
                use_dropout=config["use_dropout"],
                n_blocks=RESNET_BLOCKS[config["netG"]],
                no_antialias=config["no_antialias"],
                no_antialias_up=config["no_antialias_up"],
            )
        }

    def translator(self, networks: dict[str, nn.Module], spec: ModelSpec) -> CUTTranslator:
        from .translator import CUTTranslator

        return CUTTranslator(networks, spec)

    def convert(
        self, files: Mapping[str, Path], config: Mapping[str, Any]
    ) -> dict[str, dict[str, torch.Tensor]]:
        import torch

        from .convert import convert
        from .model import CUTGenerator

        with torch.device("meta"):
            network = self.build(config)["model"]
        assert isinstance(network, CUTGenerator)
        return convert(files, network)

    trains = True

    def trainer(self, config: Mapping[str, Any], **settings: Any) -> CUTTrainer:
        from .trainer import CUTTrainer

        return CUTTrainer(self, config, **settings)
