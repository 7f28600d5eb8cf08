"""The family implementation: imported only when a negative model is used."""

from __future__ import annotations

import torch
from torch import nn

from stylezoo.translator import ImageTranslator
from stylezoo.weights import read_checkpoint


class NegativeTranslator(ImageTranslator):
    """Runs the 1×1 convolution; ``strength`` blends between the input and its negative."""

    def forward(self, x: torch.Tensor, *, strength: float = 1.0) -> torch.Tensor:
        if not 0.0 <= strength <= 1.0:
            from stylezoo import InvalidOptionError

            raise InvalidOptionError(f"strength must be in [0, 1], got {strength}.")
        return torch.lerp(x, self.networks["model"](x), strength)


class NegativeFamily:
    default_config = {"channels": 3}
    default_io = {"range": [0.0, 1.0], "multiple": 1, "min_size": 1, "channels": 3}

    def build(self, config):
        return {"model": nn.Conv2d(config["channels"], config["channels"], 1)}

    def translator(self, networks, spec):
        return NegativeTranslator(networks, spec)

    def convert(self, files, config):
        # The "official" files of this tutorial store the layer under the key "invert.*".
        state = read_checkpoint(files["model"])
        return {"model": {key.removeprefix("invert."): value for key, value in state.items()}}


family = NegativeFamily()
