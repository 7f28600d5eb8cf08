"""The CUT / FastCUT translator: one generator, no options."""

from __future__ import annotations

from stylezoo.translator import ImageTranslator


class CUTTranslator(ImageTranslator):
    """One CUT or FastCUT generator (one direction). Inputs in [-1, 1], outputs tanh in [-1, 1].

    CUT and FastCUT differ only in training; their generators run identically. No options.
    """

    # Fully convolutional; its instance norms are made image-wide when it is tiled.
    tileable = True
