"""Network building blocks shared by two or more families (official key layouts kept)."""

from __future__ import annotations

from .blocks import ResnetBlock, make_norm, norm_uses_bias

__all__ = ["ResnetBlock", "make_norm", "norm_uses_bias"]
