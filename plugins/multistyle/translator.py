"""The multistyle translator: choose or blend styles, blend with the photo, keep its colours."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from typing import Any

import torch

from stylezoo.errors import InvalidOptionError
from stylezoo.exportable import ExportGraph, ExportInput, ExportModule, raw_call_graph, run_raw_call
from stylezoo.family import Option, check_options
from stylezoo.image import LUMA
from stylezoo.translator import ImageTranslator

from .model import MultiStyleNetwork


class MultiStyleTranslator(ImageTranslator):
    """Many styles in one network (Dumoulin et al., 2017).

    Values are in [0, 1] in and out. Sizes that are not multiples of 4 are reflect-padded
    and cropped back, so the output keeps the input's size.

    Example:
        >>> t = stylezoo.load("multistyle/android-26")
        >>> t.translate("photo.jpg", style=7)
        >>> t.translate("photo.jpg", style={3: 0.5, 12: 0.5}, strength=0.8)
        >>> stylezoo.contact_sheet(t, "photo.jpg").save("sheet.png")  # every style, labelled
    """

    # Fully convolutional; its conditional instance norms are made image-wide when it is
    # tiled, and strength and preserve_color act per pixel.
    tileable = True

    options = {
        "style": Option(
            0,
            "a style index, a blend {index: weight, …}, or one weight per style; blend weights "
            "must be non-negative and are normalised to sum to 1",
            kind="any",
        ),
        "strength": Option(
            1.0, "blend with the input: 0 = the photo, 1 = fully stylised", minimum=0, maximum=1
        ),
        "preserve_color": Option(
            False, "keep the photo's colours: the stylised brightness with the photo's chroma"
        ),
    }

    @property
    def network(self) -> MultiStyleNetwork:
        network = self.networks["model"]
        assert isinstance(network, MultiStyleNetwork)
        return network

    @property
    def styles(self) -> int:
        """How many styles the network holds."""
        return self.network.styles

    def variants(self) -> list[tuple[str, dict[str, Any]]]:
        """One (label, options) pair per style, for :func:`stylezoo.contact_sheet`."""
        return [(f"style {index}", {"style": index}) for index in range(self.styles)]

    def prepare_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Turn ``style`` into a normalised float32 weight vector (idempotent)."""
        options = dict(options)
        options["style"] = style_weights(options["style"], self.styles)
        return options

    def export_graph(self, options: Mapping[str, Any]) -> ExportGraph:
        """The graph takes ``style_weights`` (one weight per style) after the image, unless
        ``options`` fix a ``style``; ``strength`` and ``preserve_color`` are fixed."""
        if "style" in options:
            return raw_call_graph(self, options)
        prepared = self.prepare_options(check_options(self.options, options, "multistyle option"))
        weights = ExportInput(
            "style_weights",
            torch.rand(self.styles, generator=torch.Generator().manual_seed(0)),
            help=f"[{self.styles}] float32: one non-negative weight per style, not all zero; "
            "normalised in the graph to sum to 1 (one-hot: a single style)",
        )
        return ExportGraph(
            _StyleWeightsExport(self, prepared),
            (weights,),
            {"strength": prepared["strength"], "preserve_color": prepared["preserve_color"]},
        )

    def forward(
        self,
        x: torch.Tensor,
        *,
        source: torch.Tensor,
        style: torch.Tensor,
        strength: float,
        preserve_color: bool,
    ) -> torch.Tensor:
        stylised = self.network(x, style.to(x.device))
        if not preserve_color and strength == 1.0:
            return stylised
        height, width = source.shape[-2:]
        out = stylised[..., :height, :width].float()
        photo = source.to(out.device)
        if preserve_color:
            # Same chroma (Cb, Cr) as the photo, the stylised luma: the RGB difference of two
            # colours with equal chroma is their luma difference on every channel.
            luma = torch.tensor(LUMA, device=out.device).view(1, 3, 1, 1)
            out = photo + ((out - photo) * luma).sum(1, keepdim=True)
        if strength != 1.0:
            out = torch.lerp(photo, out, strength)
        return out


class _StyleWeightsExport(ExportModule):
    def forward(self, image: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        weights = style_weights.float()
        options = {**self.options, "style": weights / weights.sum()}
        return run_raw_call(self.translator, image, options)


def style_weights(value: Any, styles: int) -> torch.Tensor:
    """A style spec → a float32 [styles] vector of non-negative weights summing to 1.

    Accepts an index, a mapping ``{index: weight}``, or a sequence (or tensor) of one weight
    per style.
    """
    where = f"multistyle option 'style' (this network has {styles} styles, 0–{styles - 1})"
    weights = torch.zeros(styles, dtype=torch.float64)
    if isinstance(value, bool):
        raise InvalidOptionError(f"{where} must be a style index or a blend, got {value!r}.")
    if isinstance(value, Integral):
        weights[_index(value, styles, where)] = 1.0
    elif isinstance(value, Mapping):
        if not value:
            raise InvalidOptionError(f"{where}: the blend {{}} is empty; name at least one style.")
        for index, weight in value.items():
            weights[_index(index, styles, where)] += _weight(weight, where)
    elif isinstance(value, (Sequence, torch.Tensor)) and not isinstance(value, (str, bytes)):
        items = (
            value.detach().cpu().flatten().tolist() if isinstance(value, torch.Tensor) else value
        )
        if len(items) != styles:
            raise InvalidOptionError(
                f"{where}: a list of weights needs one weight per style ({styles}), got "
                f"{len(items)}. For a few styles, pass a mapping such as {{3: 0.5, 12: 0.5}}."
            )
        weights = torch.tensor([_weight(w, where) for w in items], dtype=torch.float64)
    else:
        raise InvalidOptionError(
            f"{where} must be an index such as 7, a blend such as {{3: 0.5, 12: 0.5}}, or one "
            f"weight per style; got {value!r}."
        )
    total = float(weights.sum())
    if not math.isfinite(total):
        raise InvalidOptionError(f"{where}: the weights are too large to add up; scale them down.")
    if total <= 0:
        raise InvalidOptionError(f"{where}: the weights are all zero; give one style weight > 0.")
    return (weights / total).float()


def _index(value: Any, styles: int, where: str) -> int:
    if isinstance(value, str) and value.strip().isdecimal() and value.strip().isascii():
        value = int(value)  # JSON objects (the CLI's --option style={"7": 0.5}) have string keys
    if isinstance(value, bool) or not isinstance(value, Integral) or not 0 <= int(value) < styles:
        raise InvalidOptionError(f"{where}: {value!r} is not a style index.")
    return int(value)


def _weight(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise InvalidOptionError(f"{where}: blend weight {value!r} is not a finite number.")
    if value < 0:
        raise InvalidOptionError(f"{where}: blend weight {value!r} is negative.")
    return float(value)
