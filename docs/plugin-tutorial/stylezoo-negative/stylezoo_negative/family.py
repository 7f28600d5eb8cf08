"""The negative family: everything stylezoo needs to know, declared without importing torch."""

from __future__ import annotations

from stylezoo import Family, Option


class Negative(Family):
    name = "negative"
    description = "Colour negatives with a 1×1 convolution (tutorial plugin)"
    config = {"channels": Option(3, "channels in and out", choices=(3,))}
    io = {"range": [0.0, 1.0]}
    usage_example = 'result = translator.translate("photo.jpg", strength=0.5)'

    def build(self, config):
        from torch import nn

        return {"model": nn.Conv2d(config["channels"], config["channels"], 1)}

    def translator(self, networks, spec):
        from .translator import NegativeTranslator

        return NegativeTranslator(networks, spec)

    trains = True

    def trainer(self, config, **settings):
        from .trainer import NegativeTrainer

        return NegativeTrainer(self, config, **settings)

    def convert(self, files, config):
        from stylezoo.weights.checkpoint import read_checkpoint

        # The "official" files of this tutorial store the layer under the key "invert.*".
        state = read_checkpoint(files["model"])
        return {"model": {key.removeprefix("invert."): value for key, value in state.items()}}
