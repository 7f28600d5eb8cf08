"""The CUT / FastCUT ResNet generator with the official module indices (state-dict keys).

CUT (Park et al., 2020) uses CycleGAN's ResNet generator with anti-aliased resampling: every
stride-2 conv becomes a stride-1 conv followed by a fixed binomial blur-pool
(:class:`Downsample`), and every transposed conv becomes a fixed blur up-sampler
(:class:`Upsample`) followed by a stride-1 conv. The blur filters are persistent buffers named
``filt`` because the official checkpoints carry them (``model.{7,11,21,25}.filt``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from stylezoo.nn.blocks import ResnetBlock, make_norm, norm_uses_bias

# 1-D binomial taps of the official blur filters; the 2-D filter is their outer product.
_DOWN_TAPS = (1.0, 2.0, 1.0)
_UP_TAPS = (1.0, 3.0, 3.0, 1.0)
# The transposed conv spreads each input pixel over a stride×stride grid of outputs, so the
# normalised up-sampling filter is scaled by stride² = 4 to keep constant images constant.
_UP_GAIN = 4.0


def blur_filter(
    taps: tuple[float, ...],
    channels: int,
    gain: float = 1.0,
    *,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """The depthwise blur filter ``outer(taps, taps) / sum · gain``, shaped [C, 1, k, k].

    Computed in float64 and rounded once; all official values are exact binary fractions
    (k/16 or k/64·4), so the float32 result equals the official buffers bit for bit.
    """
    row = torch.tensor(taps, dtype=torch.float64, device=device)
    kernel = torch.outer(row, row)
    kernel = kernel / kernel.sum() * gain
    size = len(taps)
    return kernel.to(torch.float32).expand(channels, 1, size, size).contiguous()


def downsample_filter(channels: int, *, device: torch.device | str | None = None) -> torch.Tensor:
    """``[1,2,1]⊗[1,2,1] / 16`` for each of ``channels`` channels: [C, 1, 3, 3]."""
    return blur_filter(_DOWN_TAPS, channels, device=device)


def upsample_filter(channels: int, *, device: torch.device | str | None = None) -> torch.Tensor:
    """``[1,3,3,1]⊗[1,3,3,1] / 64 · 4`` for each of ``channels`` channels: [C, 1, 4, 4]."""
    return blur_filter(_UP_TAPS, channels, _UP_GAIN, device=device)


class Downsample(nn.Module):
    """Blur-pool: reflection pad 1, then a depthwise stride-2 binomial blur. H → ceil(H/2)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        # Persistent: the official files carry it, and strict loading needs the key.
        self.filt: torch.Tensor
        self.register_buffer("filt", downsample_filter(channels))
        self.pad = nn.ReflectionPad2d(1)

    def expected_filter(self, *, device: torch.device | str | None = "cpu") -> torch.Tensor:
        """The constant ``filt`` must hold (used by the converter to check official files)."""
        return downsample_filter(self.channels, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(self.pad(x), self.filt, stride=2, groups=x.shape[1])


class Upsample(nn.Module):
    """Blur up-sampling: replication pad 1, depthwise stride-2 transposed blur, crop. H → 2H.

    The official transposed conv (padding 2) yields 2H + 2 rows and then drops the first
    row/column and the last one. A transposed conv's ``padding`` is exactly such a crop of
    that many rows and columns on each side, so padding 3 gives the same 2H result in one
    step, without a strided slice that would lose the memory format.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.filt: torch.Tensor
        self.register_buffer("filt", upsample_filter(channels))
        self.pad = nn.ReplicationPad2d(1)

    def expected_filter(self, *, device: torch.device | str | None = "cpu") -> torch.Tensor:
        """The constant ``filt`` must hold (used by the converter to check official files)."""
        return upsample_filter(self.channels, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv_transpose2d(self.pad(x), self.filt, stride=2, padding=3, groups=x.shape[1])


class CUTGenerator(nn.Module):
    """c7s1-ngf · down(2ngf) · down(4ngf) · n × ResnetBlock · up(2ngf) · up(ngf) · c7s1-3 · tanh.

    ``down`` is conv3 s1 · norm · ReLU · :class:`Downsample` (anti-aliased, the default) or
    conv3 s2 · norm · ReLU (``no_antialias``); ``up`` is :class:`Upsample` · conv3 s1 · norm ·
    ReLU (default) or ConvTranspose2d s2 · norm · ReLU (``no_antialias_up``). The 3×3 convs
    are zero-padded; the 7×7 convs and the residual blocks use reflection padding. With both
    switches on, the layout (and the key set) is CycleGAN's ResNet generator.

    Output size equals input size when H and W are multiples of 4.
    """

    def __init__(
        self,
        ngf: int = 64,
        norm: str = "instance",
        use_dropout: bool = False,
        n_blocks: int = 9,
        no_antialias: bool = False,
        no_antialias_up: bool = False,
    ) -> None:
        super().__init__()
        bias = norm_uses_bias(norm)
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(3, ngf, 7, padding=0, bias=bias),
            make_norm(norm, ngf),
            nn.ReLU(True),
        ]
        for i in range(2):
            channels_in, channels_out = ngf * 2**i, ngf * 2 ** (i + 1)
            if no_antialias:
                layers += [
                    nn.Conv2d(channels_in, channels_out, 3, stride=2, padding=1, bias=bias),
                    make_norm(norm, channels_out),
                    nn.ReLU(True),
                ]
            else:
                layers += [
                    nn.Conv2d(channels_in, channels_out, 3, stride=1, padding=1, bias=bias),
                    make_norm(norm, channels_out),
                    nn.ReLU(True),
                    Downsample(channels_out),
                ]
        for _ in range(n_blocks):
            layers.append(ResnetBlock(ngf * 4, "reflect", norm, use_dropout))
        for i in range(2):
            channels_in = ngf * 2 ** (2 - i)
            channels_out = channels_in // 2
            if no_antialias_up:
                layers += [
                    nn.ConvTranspose2d(
                        channels_in,
                        channels_out,
                        3,
                        stride=2,
                        padding=1,
                        output_padding=1,
                        bias=bias,
                    ),
                    make_norm(norm, channels_out),
                    nn.ReLU(True),
                ]
            else:
                layers += [
                    Upsample(channels_in),
                    nn.Conv2d(channels_in, channels_out, 3, stride=1, padding=1, bias=bias),
                    make_norm(norm, channels_out),
                    nn.ReLU(True),
                ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
