"""``TransformerNet`` of pytorch/examples ``fast_neural_style``, with the official key layout.

Attribute names reproduce the official state-dict keys exactly (``conv1.conv2d.weight``,
``in1.weight``, ``res1.conv1.conv2d.weight``, ``deconv1.conv2d.weight``, …), so the four
official ``saved_models/*.pth`` files load strictly once their deprecated InstanceNorm buffers
are dropped (see :mod:`.convert`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from stylezoo.nn.blocks import InstanceNorm

RESIDUAL_BLOCKS = 5


class ConvLayer(nn.Module):
    """Reflection pad ``kernel_size // 2`` then a biased convolution.

    The pad lives in its own parameter-free attribute, so only ``conv2d`` shows up in the
    state dict, as in the official files.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int) -> None:
        super().__init__()
        self.reflection_pad = nn.ReflectionPad2d(kernel_size // 2)
        self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2d(self.reflection_pad(x))


class UpsampleConvLayer(nn.Module):
    """Nearest-neighbour ×``upsample``, then reflection pad and a stride-1 convolution.

    Despite the official ``deconv`` names this is not a transposed convolution; resizing
    before an ordinary conv is what the official code does (and it avoids checkerboard
    artefacts).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int,
        upsample: int | None = None,
    ) -> None:
        super().__init__()
        self.upsample = upsample
        self.reflection_pad = nn.ReflectionPad2d(kernel_size // 2)
        self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=self.upsample, mode="nearest")
        return self.conv2d(self.reflection_pad(x))


def _instance_norm(channels: int) -> InstanceNorm:
    # Affine, but without running statistics: the official files' running_mean/var are
    # leftovers of an old PyTorch and must never be used.
    return InstanceNorm(channels, affine=True)


class ResidualBlock(nn.Module):
    """conv · IN · ReLU · conv · IN, plus the input; no ReLU after the sum."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in1 = _instance_norm(channels)
        self.conv2 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in2 = _instance_norm(channels)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.in1(self.conv1(x)))
        return self.in2(self.conv2(out)) + x


class TransformerNet(nn.Module):
    """Johnson et al.'s feed-forward style network as trained by pytorch/examples.

    Takes and returns RGB in [0, 255] (no normalisation, no output activation: the output is
    unbounded and the caller clamps). Two stride-2 convs and two ×2 upsamplings make the
    output 4·ceil(H/4) × 4·ceil(W/4); sides must be at least 8 (the 9×9 reflection pads and
    the 3×3 pads at quarter resolution need room).
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = ConvLayer(3, 32, kernel_size=9, stride=1)
        self.in1 = _instance_norm(32)
        self.conv2 = ConvLayer(32, 64, kernel_size=3, stride=2)
        self.in2 = _instance_norm(64)
        self.conv3 = ConvLayer(64, 128, kernel_size=3, stride=2)
        self.in3 = _instance_norm(128)
        # res1 … res5 as separate attributes: the official keys are ``res{n}.…``
        for index in range(1, RESIDUAL_BLOCKS + 1):
            setattr(self, f"res{index}", ResidualBlock(128))
        self.deconv1 = UpsampleConvLayer(128, 64, kernel_size=3, stride=1, upsample=2)
        self.in4 = _instance_norm(64)
        self.deconv2 = UpsampleConvLayer(64, 32, kernel_size=3, stride=1, upsample=2)
        self.in5 = _instance_norm(32)
        self.deconv3 = ConvLayer(32, 3, kernel_size=9, stride=1)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.in1(self.conv1(x)))
        y = self.relu(self.in2(self.conv2(y)))
        y = self.relu(self.in3(self.conv3(y)))
        for index in range(1, RESIDUAL_BLOCKS + 1):
            y = getattr(self, f"res{index}")(y)
        y = self.relu(self.in4(self.deconv1(y)))
        y = self.relu(self.in5(self.deconv2(y)))
        return self.deconv3(y)
