"""Contact sheets: one photo through every variant of a model, side by side, labelled.

People choose a style by looking, not by index: ``stylezoo sheet multistyle/... photo.jpg
-o sheet.png`` shows the photo in every style the model knows. A translator lists its
variants with ``variants()`` (a multi-style network: one per style; others: just one).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .errors import InvalidOptionError

if TYPE_CHECKING:
    from PIL import Image

    from .translator import Translator

#: Height of the label strip under each tile, in pixels.
LABEL_HEIGHT = 22


def contact_sheet(
    translator: Translator,
    image: Any,
    *,
    variants: Sequence[tuple[str, Mapping[str, Any]]] | None = None,
    size: int = 256,
    columns: int | None = None,
    include_input: bool = True,
) -> Image.Image:
    """Translate ``image`` once per variant and lay the results out in a labelled grid.

    Args:
        translator: a loaded model.
        image: the photo (anything :meth:`~stylezoo.Translator.translate` takes).
        variants: (label, options) pairs; default: the translator's own ``variants()``.
        size: the longer side of each tile, in pixels. The photo is downscaled to it before
            translating (so a sheet of many styles stays quick), never upscaled.
        columns: tiles per row; default: about square.
        include_input: put the photo itself first, labelled "input".

    Returns:
        An RGB PIL image.

    Example:
        >>> t = stylezoo.load("multistyle/android-26")
        >>> stylezoo.contact_sheet(t, "photo.jpg").save("sheet.png")
    """
    from PIL import Image, ImageDraw

    from .image import open_image

    if isinstance(size, bool) or not isinstance(size, int) or size < 8:
        raise InvalidOptionError(f"sheet tile size must be an integer ≥ 8, got {size!r}.")
    if isinstance(image, (str, os.PathLike)):
        image = open_image(image)
    photo = _as_rgb_pil(image)
    photo.thumbnail((size, size), Image.Resampling.LANCZOS)
    if columns is not None and (
        isinstance(columns, bool) or not isinstance(columns, int) or columns < 1
    ):
        raise InvalidOptionError(f"sheet columns must be a positive integer, got {columns!r}.")
    if variants is None:
        listed = getattr(translator, "variants", None)
        variants = listed() if callable(listed) else [("", {})]
    pairs = list(variants) if isinstance(variants, (list, tuple)) else None
    if pairs is None or not all(
        isinstance(v, (list, tuple)) and len(v) == 2 and isinstance(v[1], Mapping) for v in pairs
    ):
        raise InvalidOptionError(
            "sheet variants must be a list of (label, options) pairs, e.g. "
            f"[('style 3', {{'style': 3}})]; got {variants!r}."
        )
    if not pairs and not include_input:
        raise InvalidOptionError("The sheet has no tiles: pass at least one variant.")
    tiles: list[tuple[str, Image.Image]] = [("input", photo)] if include_input else []
    for label, options in pairs:
        tiles.append((str(label), translator.translate(photo, **dict(options))))
    if columns is None:
        columns = math.ceil(math.sqrt(len(tiles)))
    rows = math.ceil(len(tiles) / columns)
    width, height = photo.size
    sheet = Image.new("RGB", (columns * width, rows * (height + LABEL_HEIGHT)), "white")
    draw = ImageDraw.Draw(sheet)
    for index, (label, tile) in enumerate(tiles):
        x, y = (index % columns) * width, (index // columns) * (height + LABEL_HEIGHT)
        sheet.paste(tile.convert("RGB"), (x, y))
        draw.text((x + 4, y + height + 4), _fit(draw, label, width - 8), fill="black")
    return sheet


def _as_rgb_pil(image: Any) -> Image.Image:
    """Any input kind as an 8-bit RGB PIL image (the sheet is for looking at)."""
    import numpy as np
    from PIL import Image

    from .image import prepare

    prepared = prepare(image, name="sheet photo")
    array = (prepared.rgb.permute(1, 2, 0).cpu().numpy() * 255.0).round().clip(0, 255)
    return Image.fromarray(array.astype(np.uint8), "RGB")


def _fit(draw: Any, text: str, width: int) -> str:
    """``text`` shortened with an ellipsis until it fits ``width`` pixels."""
    if draw.textlength(text) <= width:
        return text
    while text and draw.textlength(text + "…") > width:
        text = text[:-1]
    return text + "…"
