"""Blocks of the junyanz / CUT code bases, with the same module indices (state-dict keys)."""

from __future__ import annotations

import torch
from torch import nn

from .names import NORMS, PADDINGS


def make_norm(kind: str, channels: int) -> nn.Module:
    """``instance``: InstanceNorm without affine or running stats; ``instance_affine``: the
    same with a learnt scale and shift; ``batch``: BatchNorm with both; ``none``: identity
    (kept as a module so indices match the official layout)."""
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "instance_affine":
        return nn.InstanceNorm2d(channels, affine=True, track_running_stats=False)
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
