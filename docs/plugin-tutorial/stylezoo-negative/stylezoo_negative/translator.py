"""The translator: imported only when a negative model is used."""

from __future__ import annotations

import torch

from stylezoo import Option
from stylezoo.translator import ImageTranslator


class NegativeTranslator(ImageTranslator):
    """Runs the 1×1 convolution; ``strength`` blends between the input and its negative."""

    options = {
        "strength": Option(1.0, "0 = the input, 1 = its negative", minimum=0.0, maximum=1.0),
    }

    def forward(self, x: torch.Tensor, *, source: torch.Tensor, strength: float) -> torch.Tensor:
        return torch.lerp(x, self.networks["model"](x), strength)
