"""Blocks of the junyanz / CUT code bases, with the same module indices (state-dict keys)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .names import NORMS, PADDINGS


def instance_norm(
    x: torch.Tensor,
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    eps: float = 1e-5,
) -> torch.Tensor:
    """Instance norm of ``x`` [B, C, H, W] (biased variance) with an optional per-channel
    affine step, as ``group_norm`` with one group per channel, in ``x``'s memory format.

    The CPU ``group_norm`` kernel is slow on channels-last tensors with fewer than 32 bytes
    of channels per pixel (under 8 float32 or 16 bfloat16 channels: a 4×512² bfloat16 tensor
    takes about 10× its contiguous time), so such tensors are normalised in contiguous layout
    and turned back; the result is the same.
    """
    channels = x.shape[1]
    if (
        channels * x.element_size() < 32
        and x.device.type == "cpu"
        and x.is_contiguous(memory_format=torch.channels_last)
        and not x.is_contiguous()
    ):
        normed = F.group_norm(x.contiguous(), channels, weight, bias, eps)
        return normed.contiguous(memory_format=torch.channels_last)
    return F.group_norm(x, channels, weight, bias, eps)


class InstanceNorm(nn.InstanceNorm2d):
    """``nn.InstanceNorm2d`` (same arguments, same state-dict keys) computed by ``group_norm``
    with one group per channel.

    The result is the same — per-sample, per-channel mean and biased variance over H×W, then
    the optional affine step — but it is one fused kernel that keeps the input's memory
    format: ``instance_norm`` turns a channels-last tensor into a contiguous one (a layout
    copy each way around every norm) and is 2–3× slower on CPU even on contiguous tensors.
    The statistics accumulate in float32 for bfloat16 and float16 inputs (the kernels'
    accumulation type). Running statistics are not supported (no built-in network keeps any).
    """

    def __init__(self, num_features: int, eps: float = 1e-5, affine: bool = False) -> None:
        super().__init__(num_features, eps=eps, affine=affine, track_running_stats=False)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if input.dim() != 4:  # unbatched CHW, as nn.InstanceNorm2d accepts
            return super().forward(input)
        return instance_norm(input, self.weight, self.bias, self.eps)


def make_norm(kind: str, channels: int) -> nn.Module:
    """``instance``: :class:`InstanceNorm` without affine or running stats; ``instance_affine``: the
    same with a learnt scale and shift; ``batch``: BatchNorm with both; ``none``: identity
    (kept as a module so indices match the official layout)."""
    if kind == "instance":
        return InstanceNorm(channels, affine=False)
    if kind == "instance_affine":
        return InstanceNorm(channels, affine=True)
    if kind == "batch":
        return nn.BatchNorm2d(channels, affine=True, track_running_stats=True)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"norm must be one of {NORMS}, got {kind!r}")


def norm_uses_bias(kind: str) -> bool:
    """The official bias rule: convs followed by a norm have a bias only under instance norm
    (for ``none`` the official comparison is also false, so no bias)."""
    return kind in ("instance", "instance_affine")


def _pad(kind: str, amount: int) -> tuple[list[nn.Module], int]:
    if kind == "reflect":
        return [nn.ReflectionPad2d(amount)], 0
    if kind == "replicate":
        return [nn.ReplicationPad2d(amount)], 0
    if kind == "zero":
        return [], amount
    raise ValueError(f"padding_type must be one of {PADDINGS}, got {kind!r}")


class ResnetBlock(nn.Module):
    """x + conv_block(x); conv_block = pad · conv3 · norm · ReLU · [Dropout] · pad · conv3 · norm.

    Keys: ``conv_block.{1,5}`` (reflect, no dropout), ``conv_block.{1,6}`` with dropout,
    ``conv_block.{0,3}`` / ``{0,4}`` with zero padding.
    """

    def __init__(
        self,
        dim: int,
        padding_type: str = "reflect",
        norm: str = "instance",
        use_dropout: bool = False,
    ) -> None:
        super().__init__()
        bias = norm_uses_bias(norm)
        layers: list[nn.Module] = []
        pad_layers, conv_padding = _pad(padding_type, 1)
        layers += [
            *pad_layers,
            nn.Conv2d(dim, dim, 3, padding=conv_padding, bias=bias),
            make_norm(norm, dim),
            nn.ReLU(True),
        ]
        if use_dropout:
            layers.append(nn.Dropout(0.5))
        pad_layers, conv_padding = _pad(padding_type, 1)
        layers += [
            *pad_layers,
            nn.Conv2d(dim, dim, 3, padding=conv_padding, bias=bias),
            make_norm(norm, dim),
        ]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual: torch.Tensor = self.conv_block(x)
        return x + residual
