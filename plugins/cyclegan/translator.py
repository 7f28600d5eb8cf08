"""The CycleGAN translator: one generator, no options."""

from __future__ import annotations

from stylezoo.translator import ImageTranslator


class CycleGANTranslator(ImageTranslator):
    """One CycleGAN generator (one direction). Inputs in [-1, 1], outputs tanh in [-1, 1]."""

    # Fully convolutional; its instance norms are made image-wide when it is tiled.
    tileable = True
