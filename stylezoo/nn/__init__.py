"""Network building blocks shared by two or more families (official key layouts kept).

The names below are plain data, importable without torch (family declarations use them);
the blocks themselves are in :mod:`stylezoo.nn.blocks` and are imported on first access.
"""

from __future__ import annotations

from typing import Any

from .names import NORMS, PADDINGS, RESNET_BLOCKS

__all__ = [
    "NORMS",
    "PADDINGS",
    "RESNET_BLOCKS",
    "InstanceNorm",
    "ResnetBlock",
    "instance_norm",
    "make_norm",
    "norm_uses_bias",
]

_BLOCKS = {"InstanceNorm", "ResnetBlock", "instance_norm", "make_norm", "norm_uses_bias"}


def __getattr__(name: str) -> Any:
    if name in _BLOCKS:
        from . import blocks

        return getattr(blocks, name)
    raise AttributeError(f"module 'stylezoo.nn' has no attribute {name!r}")
