"""The AdaIN translator: options (style, alpha, interpolation, colour, mask) and the forward.

User-level option values are checked and turned into tensors by
:meth:`AdaINTranslator.prepare_options`, which the core calls on both paths
(``translate(image, **options)`` and the raw ``t(batch, **options)``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

from stylezoo import image as imagelib
from stylezoo.errors import InvalidImageError, InvalidOptionError, InvalidOptionImageError
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
from stylezoo.translator import ImageTranslator

from .model import calc_mean_std, coral, wct

#: translate()'s default style size (the official test.py's --style_size).
DEFAULT_STYLE_SIZE = 512
#: The encoder halves the size three times (ceil mode) before relu4_1.
_ENCODER_STRIDE = 8
_IMAGE_KINDS = (str, os.PathLike, Image.Image, np.ndarray, torch.Tensor)
# PIL modes whose resize matches torchvision's on the RGB image; others are resized as tensors.
_PIL_8BIT = {"RGB", "RGBA", "L", "LA", "P", "PA", "CMYK", "YCbCr", "1", "RGBX", "La", "RGBa"}


class AdaINTranslator(ImageTranslator):
    """Arbitrary style transfer: any style image, one model (Huang & Belongie, 2017).

    The content keeps its size: the networks run on it as it is, as the official code does,
    and the output (8·ceil(side/8) pixels per side after the ceil-mode pools and ×2
    upsamplings) is cropped to the content's size. Values are in [0, 1] in and out; the
    encoder's first layer does the VGG normalisation.

    Example:
        >>> t = stylezoo.load("adain/vgg-decoder")
        >>> out = t.translate("photo.jpg", style="starry_night.jpg", alpha=0.8)
        >>> mix = t.translate("photo.jpg", style=["a.jpg", "b.jpg"], style_weights=[0.3, 0.7])
        >>> whitened = t.translate("photo.jpg", style="starry_night.jpg", transform="wct")
    """

    options = {
        "style": Option(
            None,
            "the style image (PIL image, array, tensor in [0, 1] or path), or a list to mix",
            image=True,
        ),
        "alpha": Option(
            1.0, "how much style: 0 = the content only, 1 = full style", minimum=0, maximum=1
        ),
        "style_weights": Option(
            None, "one weight per style image (non-negative, normalised to sum to 1)"
        ),
        "preserve_color": Option(
            False, "recolour each style with the content's colour statistics first (CORAL)"
        ),
        "style_size": Option(
            None,
            "resize each style so its shorter side has this many pixels (translate() "
            "default 512, as the official test.py; None keeps the style's size)",
            kind="int",
            minimum=1,
        ),
        "mask": Option(
            None, "where to stylise: 1 (white) = style, 0 (black) = content", image=True
        ),
        "transform": Option(
            "adain",
            "the feature transform at relu4_1: adain (channel means and stds) or wct "
            "(whitening and colouring: the whole covariance, Li et al. 2017)",
            choices=("adain", "wct"),
        ),
    }

    def translate(
        self,
        image: Any,
        *,
        batch_size: int = 1,
        style_size: int | None = DEFAULT_STYLE_SIZE,
        **options: Any,
    ) -> Any:
        """Stylise an image (or a list); see :meth:`forward` for the options.

        Unlike the raw call, ``style_size`` defaults to 512 here: each style image is resized
        so that its shorter side is 512 pixels (bilinear, antialiased), as the official
        ``test.py`` does. ``style_size=None`` keeps the style's own size.
        """
        return super().translate(image, batch_size=batch_size, style_size=style_size, **options)

    def prepare_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Check the options and turn style images and the mask into float32 tensors.

        :meth:`translate` prepares once for a whole list of images. Idempotent (preparing
        prepared values gives the same values; a style whose shorter side already is
        ``style_size`` is not resized again).
        """
        options = dict(options)
        style_size = options["style_size"]
        styles = imagelib.option_images(
            options.get("style"),
            "AdaIN needs a style image: pass style=<image>, e.g. "
            "t.translate(photo, style='starry_night.jpg'), or style=[img1, img2] with "
            "style_weights=[…] to mix styles.",
        )
        options["style"] = [_prepare_style(item, name, style_size) for item, name in styles]
        options["style_weights"] = blend_weights(options.get("style_weights"), len(styles))
        if options.get("mask") is not None:
            options["mask"] = _prepare_mask(options["mask"])
        return options

    def export_graph(self, options: Mapping[str, Any]) -> ExportGraph:
        """The graph takes a ``style`` image after the content (1×3×H×W in [0, 1], any size,
        used as it is), unless ``options`` fix one; ``alpha`` is fixed. A mask and
        ``preserve_color`` (CORAL needs a matrix square root, which ONNX lacks) cannot be
        exported."""
        checked = check_options(self.options, options, "adain option")
        if checked["mask"] is not None:
            raise unsupported(self, "a mask", "blend the exported output with the content.")
        if checked["preserve_color"]:
            raise unsupported(
                self, "preserve_color=True", "recolour the style before feeding it (CORAL)."
            )
        if checked["style"] is not None:
            return raw_call_graph(self, options)
        if checked["style_weights"] is not None or checked["style_size"] is not None:
            raise unsupported(
                self,
                "style_weights or style_size but no style",
                "the graph takes one style image, used at the size given; resize it first, "
                "or fix the styles with style=….",
            )
        example = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
        style = ExportInput(
            "style",
            example,
            {2: "style_height", 3: "style_width"},
            "1×3×H×W float32 in [0, 1] (RGB), any size of at least 16×16, used as it is "
            "(translate() resizes it to 512 pixels on the shorter side first)",
        )
        fixed = {**checked, "style_weights": [1.0]}
        return ExportGraph(_StyleImageExport(self, fixed), (style,), plain_options(checked, self))

    def forward(
        self,
        x: torch.Tensor,
        *,
        source: torch.Tensor,
        style: Sequence[torch.Tensor],
        alpha: float,
        style_weights: Sequence[float],
        preserve_color: bool,
        style_size: int | None,
        mask: torch.Tensor | None,
        transform: str = "adain",
    ) -> torch.Tensor:
        """Stylise an NCHW batch in [0, 1] (as given, or padded up to 16 pixels a side).

        Args:
            x: the content batch.
            style: the style image(s), 3×H×W tensors in [0, 1]; several styles are mixed.
                Each style is encoded on its own, so styles may have different sizes.
            alpha: how much style, in [0, 1]: the relu4_1 target is
                alpha·AdaIN(content, style) + (1 − alpha)·content features.
            style_weights: one weight per style (non-negative, any real numbers, normalised
                to sum to 1); equal weights when omitted.
            preserve_color: recolour each style with the content's colour statistics first
                (the official CORAL transfer, in pixel space, float32).
            style_size: resize styles so their shorter side has this many pixels (applied
                by :meth:`prepare_options`; ``None``, the raw-call default, keeps the size).
            mask: N×1×H×W or 1×1×H×W weights in [0, 1], 1 = stylise: the output is
                mask·stylised + (1 − mask)·content in pixel space. A mask of another size
                is resized (bilinear) to the content's size.
            transform: ``"adain"`` matches the channel means and standard deviations of
                the style; ``"wct"`` its mean and whole covariance (:func:`~.model.wct`, a
                float32 eigendecomposition dropping eigenvalues ≤ ``WCT_EPS`` = 1e-5). Style
                blends mix the transformed features with the style weights; ``alpha`` blends
                with the content features either way.
            source: the unpadded content batch in float32, supplied by the core.

        Returns:
            The stylised batch (unbounded; the core clamps it to [0, 1]).
        """
        # The two roles may live on different devices (a device map): self.run feeds each
        # network on its own device and dtype; the AdaIN arithmetic happens on the encoder's.
        device = _placement(self.networks["encoder"])[0]
        # The unpadded content in float32 (given by the core), for CORAL and the mask blend.
        content = source.to(device, torch.float32)
        content_features = self.run("encoder", x).float()
        # AdaIN statistics in float32 even for bfloat16 networks: variances of large
        # activations lose too much in 8 mantissa bits.
        content_mean, content_std = calc_mean_std(content_features)
        normalised = (content_features - content_mean) / content_std
        target = torch.zeros_like(content_features)
        for image, weight in zip(style, style_weights, strict=True):
            pixels = image.to(device, torch.float32).unsqueeze(0)
            if preserve_color:
                # CORAL is per content image: one recoloured style per item of the batch.
                pixels = coral(pixels.expand(x.shape[0], -1, -1, -1), content)
            style_features = self.run("encoder", pixels).float()
            if transform == "wct":
                target = target + weight * wct(content_features, style_features)
                continue
            style_mean, style_std = calc_mean_std(style_features)
            target = target + weight * (normalised * style_std + style_mean)
        target = target * alpha + content_features * (1 - alpha)
        stylised = self.run("decoder", target).to(x.device)
        if mask is None:
            return stylised
        return _blend(stylised, content.to(x.device), mask)


class _StyleImageExport(ExportModule):
    def forward(self, image: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return run_raw_call(self.translator, image, {**self.options, "style": [style[0]]})


def _placement(network: torch.nn.Module) -> tuple[torch.device, torch.dtype]:
    parameter = next(network.parameters())
    return parameter.device, parameter.dtype


def _blend(stylised: torch.Tensor, content: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """mask·stylised + (1 − mask)·content at the content's size, in float32.

    Both ends are exact: where the mask is 0 the content pixels come back unchanged (the
    core's crop then finds nothing left to crop), where it is 1 the stylised ones.
    """
    count, (height, width) = content.shape[0], content.shape[-2:]
    if mask.shape[0] not in (1, count):
        raise InvalidOptionError(
            f"mask holds {mask.shape[0]} masks for a batch of {count} images; pass one mask "
            "for all, or one per image."
        )
    weights = mask.to(content.device, torch.float32)
    if weights.shape[-2:] != (height, width):
        weights = F.interpolate(
            weights, size=(height, width), mode="bilinear", align_corners=False, antialias=True
        )
    # The stylised image as it would be shown: clamped to the valid range before mixing.
    output = stylised[..., :height, :width].float().clamp(0, 1)
    return weights * output + (1 - weights) * content


def _prepare_style(item: Any, name: str, style_size: int | None) -> torch.Tensor:
    """One style image of any kind → 3×H×W float32 in [0, 1] (alpha dropped), resized."""
    if isinstance(item, (str, os.PathLike)):
        item = _open_style(item, name)
    if isinstance(item, Image.Image) and style_size is not None and item.mode in _PIL_8BIT:
        # The official test.py resizes the PIL image (torchvision Resize on PIL = PIL's
        # bilinear resize of the 8-bit image); doing the same keeps its pixels.
        item = _resize_pil_shorter_side(ImageOps.exif_transpose(item).convert("RGB"), style_size)
    rgb = imagelib.prepare_option_image(item, name).rgb
    if style_size is not None:
        rgb = resize_shorter_side(rgb, style_size)
    height, width = rgb.shape[-2:]
    if math.ceil(height / _ENCODER_STRIDE) * math.ceil(width / _ENCODER_STRIDE) < 2:
        raise InvalidOptionImageError(
            f"{name} is {width}×{height} pixels after resizing; AdaIN needs a style with a "
            f"side longer than {_ENCODER_STRIDE} pixels (its relu4_1 features need 2 "
            "positions for a standard deviation). Pass a larger style or style_size."
        )
    return rgb


def _open_style(path: str | os.PathLike[str], name: str) -> Image.Image:
    try:
        return imagelib.open_image(path)
    except InvalidImageError as exc:
        raise InvalidOptionImageError(f"{name}: {exc}") from exc


def _shorter_side_size(height: int, width: int, size: int) -> tuple[int, int]:
    """torchvision ``Resize(size)``: shorter side ``size``, longer side truncated."""
    if height <= width:
        return size, int(size * width / height)
    return int(size * height / width), size


def _resize_pil_shorter_side(image: Image.Image, size: int) -> Image.Image:
    if min(image.size) == size:
        return image
    height, width = _shorter_side_size(image.height, image.width, size)
    return image.resize((width, height), Image.Resampling.BILINEAR)


def resize_shorter_side(rgb: torch.Tensor, size: int) -> torch.Tensor:
    """Resize a C×H×W tensor so its shorter side is ``size`` (torchvision ``Resize(size)``).

    The longer side becomes int(size·long/short), truncated as torchvision does; bilinear
    with antialiasing. An image whose shorter side already is ``size`` is returned as is.
    """
    height, width = rgb.shape[-2:]
    if min(height, width) == size:
        return rgb
    new_height, new_width = _shorter_side_size(height, width, size)
    resized = F.interpolate(
        rgb.unsqueeze(0),
        size=(new_height, new_width),
        mode="bilinear",
        align_corners=False,
        antialias=True,
    )
    return resized[0]


def _prepare_mask(mask: Any) -> torch.Tensor:
    """A mask of any kind → float32 (1 or N)×1×H×W in [0, 1]; 1 = stylise."""
    if isinstance(mask, torch.Tensor):
        return _mask_from_tensor(mask)
    if not isinstance(mask, _IMAGE_KINDS):
        raise InvalidOptionImageError(
            "mask must be an image (PIL image, numpy array, tensor or file path) with 1 (or "
            f"white) where the style goes; got {type(mask).__name__}."
        )
    if (
        isinstance(mask, np.ndarray)
        and mask.dtype in (np.uint8, np.uint16)
        and mask.size
        and int(mask.max()) == 1
    ):
        # Integer arrays are read like images (0–255), so a 0/1 label mask would stylise at
        # 1/255 strength: almost certainly not what was meant.
        raise InvalidOptionImageError(
            f"mask is a {mask.dtype} array holding only 0 and 1; integer masks are read like "
            "images (0–255 for uint8). Pass mask.astype(bool), or scale it to the full range."
        )
    prepared = imagelib.prepare_option_image(mask, "mask")
    rgb = prepared.rgb
    if prepared.restore.channels == 1:
        gray = rgb[:1]
    else:
        luma = torch.tensor(imagelib.LUMA, dtype=rgb.dtype, device=rgb.device).view(3, 1, 1)
        gray = (rgb * luma).sum(0, keepdim=True)
    return gray.unsqueeze(0)


def _mask_from_tensor(mask: torch.Tensor) -> torch.Tensor:
    shape = tuple(mask.shape)
    mask = mask.detach()
    if mask.ndim == 2:
        mask = mask[None, None]
    elif mask.ndim == 3 and mask.shape[0] == 1:
        mask = mask[None]
    elif not (mask.ndim == 4 and mask.shape[1] == 1):
        raise InvalidOptionImageError(
            f"mask is a tensor of shape {shape}; expected H×W, 1×H×W or N×1×H×W (one "
            "channel, 1 = stylise)."
        )
    if mask.dtype == torch.bool:
        mask = mask.float()
    elif not mask.is_floating_point():
        raise InvalidOptionImageError(
            f"mask is a {mask.dtype} tensor; pass a bool tensor or floats in [0, 1]."
        )
    mask = mask.float()
    if not bool(torch.isfinite(mask).all()):
        raise InvalidOptionImageError("mask contains NaN or infinite values.")
    if mask.shape[-2] < 1 or mask.shape[-1] < 1:
        raise InvalidOptionImageError(f"mask is empty (shape {shape}).")
    return mask.clamp(0, 1)
