"""Network building blocks shared by two or more families (official key layouts kept).

The names below are plain data, importable without torch (family declarations use them);
the blocks themselves are in :mod:`stylezoo.nn.blocks` and are imported on first access.
"""

from __future__ import annotations

from typing import Any

#: Normalisation layers of the junyanz / CUT code bases (``--norm``).
NORMS = ("instance", "batch", "none")
#: Padding of ResNet blocks (``padding_type``).
PADDINGS = ("reflect", "replicate", "zero")
#: ResNet generator names (``--netG``) → number of residual blocks.
RESNET_BLOCKS = {"resnet_9blocks": 9, "resnet_6blocks": 6}

__all__ = ["NORMS", "PADDINGS", "RESNET_BLOCKS", "ResnetBlock", "make_norm", "norm_uses_bias"]

_BLOCKS = {"ResnetBlock", "make_norm", "norm_uses_bias"}


def __getattr__(name: str) -> Any:
    if name in _BLOCKS:
        from . import blocks

        return getattr(blocks, name)
    raise AttributeError(f"module 'stylezoo.nn' has no attribute {name!r}")
