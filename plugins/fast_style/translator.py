"""The fast_style translator: one fixed style per network, no options."""

from __future__ import annotations

from stylezoo.translator import ImageTranslator


class FastStyleTranslator(ImageTranslator):
    """One TransformerNet: one fixed style per network, no options.

    The network works on RGB in [0, 255] and its output is unbounded; the io range
    ``[0, 255]`` makes the base class scale inputs to it and clamp outputs back to [0, 1],
    so users only ever see [0, 1] tensors or ordinary images. The network runs on the image
    as it is, as the official code does; at sides that are not multiples of 4 its output is
    a little larger (two stride-2 convs, then ×2 upsamplings: 250 → 252) and is cropped to the
    input's size.
    """

    # Fully convolutional; its instance norms are made image-wide when it is tiled.
    tileable = True
