"""The arbitrary translator: any image (or a blend of several) as the style, at any size."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from stylezoo import image as imagelib
from stylezoo.errors import InvalidOptionImageError
from stylezoo.exportable import (
    ExportGraph,
    ExportInput,
    ExportModule,
    plain_options,
    raw_call_graph,
    run_raw_call,
    unsupported,
)
from stylezoo.family import Option, blend_weights, check_options
from stylezoo.image import LUMA
from stylezoo.translator import ImageTranslator

#: The predictor's training size: style images are centre-cropped to a square of this side.
DEFAULT_STYLE_SIZE = 256


class ArbitraryTranslator(ImageTranslator):
    """Any picture as the style (Ghiasi et al., 2017): a style predictor maps the style image
    to a 100-d vector and the transformer paints the content with it.

    The content runs at its own size (no resizing; the network's output is cropped to the
    input's size). The predictor always runs in float32 (it is small, and its vector is
    sensitive); the transformer runs in the model's dtype.

    Example:
        >>> t = stylezoo.load("arbitrary/magenta")
        >>> t.translate("photo.jpg", style="painting.jpg")
        >>> t.translate("photo.jpg", style=["a.jpg", "b.jpg"], style_weights=[0.3, 0.7])
        >>> t.translate("photo.jpg", style="painting.jpg", strength=0.5)  # half-way styles
    """

    options = {
        "style": Option(
            None,
            "the style image (PIL image, array, tensor in [0, 1] or path), or a list to blend",
            image=True,
        ),
        "style_weights": Option(
            None, "one weight per style image (non-negative, normalised to sum to 1)"
        ),
        "style_size": Option(
            DEFAULT_STYLE_SIZE,
            "styles are centre-cropped to a square and resized to this side, as the predictor "
            "was trained (None: the style as it is)",
            kind="int",
            minimum=16,
            nullable=True,
        ),
        "strength": Option(
            1.0,
            "0 = the content's own style, 1 = the style's: interpolates the two style "
            "vectors, as the paper does",
            minimum=0,
            maximum=1,
        ),
        "preserve_color": Option(
            False, "keep the content's colours: the stylised brightness with its chroma"
        ),
    }

    # The transformer is fully convolutional; its style norms are made image-wide when tiled.
    tileable = True

    def __init__(self, networks: Any, spec: Any) -> None:
        super().__init__(networks, spec)
        self.networks["predictor"].float()

    def tiling_problem(self, options: Mapping[str, Any]) -> str | None:
        """Tiles are fine at strength 1; below it the content's own style vector is needed,
        which the predictor takes from the whole content image."""
        if options["strength"] != 1.0:
            return (
                "arbitrary with strength < 1 cannot be tiled: it blends in the style vector of "
                "the whole content image. Use strength=1 with tile=, or translate without tile=."
            )
        return None

    @property
    def dtype(self) -> torch.dtype:
        """The transformer's dtype (the predictor always runs in float32)."""
        return next(self.networks["transformer"].parameters()).dtype

    def to(
        self, device: Any = None, dtype: Any = None, *, memory_format: Any = None
    ) -> ArbitraryTranslator:
        super().to(device, dtype, memory_format=memory_format)
        self.networks["predictor"].float()  # see the class docstring
        return self

    def prepare_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Style images → prepared float32 tensors; weights normalised (idempotent)."""
        options = dict(options)
        styles = imagelib.option_images(
            options.get("style"),
            "The arbitrary family needs a style image: pass style=<image>, e.g. "
            "t.translate(photo, style='painting.jpg'), or style=[a, b] with "
            "style_weights=[…] to blend styles.",
        )
        options["style"] = [
            _prepare_style(item, name, options["style_size"]) for item, name in styles
        ]
        options["style_weights"] = blend_weights(options["style_weights"], len(styles))
        return options

    def export_graph(self, options: Mapping[str, Any]) -> ExportGraph:
        """The graph takes a ``style`` image after the content, 1×3×S×S in [0, 1] with S =
        ``style_size`` (256: centre-crop and resize the style first, as translate() does),
        unless ``options`` fix one; ``preserve_color`` is fixed. ``strength`` below 1 (a
        style vector per content image) cannot be exported."""
        checked = check_options(self.options, options, "arbitrary option")
        if checked["strength"] != 1.0:
            raise unsupported(
                self,
                f"strength={checked['strength']}",
                "export with strength 1 and blend the output with the content yourself.",
            )
        if checked["style"] is not None:
            return raw_call_graph(self, options)
        size = checked["style_size"]
        if size is None or checked["style_weights"] is not None:
            raise unsupported(
                self,
                "style_size=None or style_weights but no style",
                "the graph takes one square style image of style_size pixels a side; or fix "
                "the styles with style=….",
            )
        example = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0))
        style = ExportInput(
            "style",
            example,
            help=f"1×3×{size}×{size} float32 in [0, 1] (RGB): the style, centre-cropped to a "
            f"square and resized to {size}² (bilinear, antialiased) as translate() does",
        )
        fixed = {**checked, "style_weights": [1.0]}
        return ExportGraph(_StyleImageExport(self, fixed), (style,), plain_options(checked, self))

    def style_vector(self, image: torch.Tensor, style_size: int | None) -> torch.Tensor:
        """The predictor's [1, 100] vector of one 3×H×W float image in [0, 1]."""
        pixels = _square(image, style_size)[None] if style_size else image[None]
        return self.run("predictor", pixels.float()).float()

    def forward(
        self,
        x: torch.Tensor,
        *,
        source: torch.Tensor,
        style: Sequence[torch.Tensor],
        style_weights: Sequence[float],
        style_size: int | None,
        strength: float,
        preserve_color: bool,
    ) -> torch.Tensor:
        vector = sum(
            weight * self.style_vector(image, style_size)
            for image, weight in zip(style, style_weights, strict=True)
        )
        assert isinstance(vector, torch.Tensor)
        vector = vector.expand(x.shape[0], -1)
        if strength != 1.0:
            own = torch.cat([self.style_vector(content, style_size) for content in source])
            vector = torch.lerp(own, vector, strength)
        transformer = next(self.networks["transformer"].parameters())
        out = self.run("transformer", x, vector.to(transformer.device, transformer.dtype))
        if not preserve_color:
            return out
        height, width = source.shape[-2:]
        out = out[..., :height, :width].float()
        photo = source.to(out.device)
        luma = torch.tensor(LUMA, device=out.device).view(1, 3, 1, 1)
        return photo + ((out - photo) * luma).sum(1, keepdim=True)


class _StyleImageExport(ExportModule):
    def forward(self, image: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return run_raw_call(self.translator, image, {**self.options, "style": [style[0]]})


def _square(image: torch.Tensor, size: int | None) -> torch.Tensor:
    """Centre crop to a square, resized to ``size`` (bilinear, antialiased)."""
    height, width = image.shape[-2:]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = image[:, top : top + side, left : left + side]
    if size is None or side == size:
        return square
    return F.interpolate(
        square[None], size=(size, size), mode="bilinear", align_corners=False, antialias=True
    )[0]


def _prepare_style(item: Any, name: str, style_size: int | None) -> torch.Tensor:
    rgb = imagelib.prepare_option_image(item, name).rgb
    if min(rgb.shape[-2:]) < 16:
        raise InvalidOptionImageError(
            f"{name} is {rgb.shape[-1]}×{rgb.shape[-2]} pixels; the style predictor needs at "
            "least 16 pixels a side. Pass a larger style image."
        )
    return _square(rgb, style_size) if style_size else rgb
