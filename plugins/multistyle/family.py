"""The multistyle family: declarations here, the network and translator imported when used."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stylezoo.errors import InvalidOptionError
from stylezoo.family import Family, ModelSpec, Option

if TYPE_CHECKING:
    import torch
    from torch import nn

    from .trainer import MultiStyleTrainer
    from .translator import MultiStyleTranslator


def _widths(value: Any) -> list[int]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise InvalidOptionError(
            f"expand_channels must be a list of positive integers, got {value!r}."
        )
    widths = list(value)
    if not widths or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths):
        raise InvalidOptionError(
            f"expand_channels must be a list of positive integers, got {value!r}."
        )
    return widths


class MultiStyle(Family):
    """Dumoulin et al.'s conditional-instance-norm network: N styles in one transformer."""

    name = "multistyle"
    description = "Multi-style networks with conditional instance norm (Dumoulin et al., 2017)"
    config = {
        "styles": Option(26, "styles held by the norms", minimum=1),
        "channels": Option(32, "width of the contracting and residual layers", minimum=1),
        "residual_blocks": Option(6, "residual blocks", minimum=1),
        "expand_channels": Option(
            [8, 4], "widths after each ×2 upsampling (a list)", kind="any", check=_widths
        ),
    }
    # multiple 4: two stride-2 convs and two ×2 upsamplings; other sizes are reflect-padded
    # and cropped back, as the reference runtime does. min_size 8: the reflection pads at
    # quarter resolution need 2 pixels.
    io = {"range": [0.0, 1.0], "multiple": 4, "min_size": 8}
    usage_example = (
        'result = translator.translate("photo.jpg", style=7)  # or style={3: 0.5, 12: 0.5}'
    )

    def build(self, config: Mapping[str, Any]) -> dict[str, nn.Module]:
        from .model import MultiStyleNetwork

        return {
            "model": MultiStyleNetwork(
                styles=config["styles"],
                channels=config["channels"],
                residual_blocks=config["residual_blocks"],
                expand_channels=config["expand_channels"],
            )
        }

    def translator(self, networks: dict[str, nn.Module], spec: ModelSpec) -> MultiStyleTranslator:
        from .translator import MultiStyleTranslator

        return MultiStyleTranslator(networks, spec)

    def convert(
        self, files: Mapping[str, Path], config: Mapping[str, Any]
    ) -> dict[str, dict[str, torch.Tensor]]:
        from .convert import read_onnx

        _, state = read_onnx(files["model"])
        return {"model": state}

    trains = True

    def trainer(self, config: Mapping[str, Any], **settings: Any) -> MultiStyleTrainer:
        from .trainer import MultiStyleTrainer

        return MultiStyleTrainer(self, config, **settings)
