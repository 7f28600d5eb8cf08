"""Conversions between image kinds and the NCHW float tensors networks see.

Every supported input (PIL image, numpy array, torch tensor, file path) becomes a float32
CHW tensor in [0, 1] with 3 colour channels plus, when present, an alpha channel kept aside.
:class:`Restore` turns a translated tensor back into the kind, size, channel count and dtype
of the input.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageTooLargeError, InvalidImageError

#: ITU-R BT.601 luma, the weights PIL uses for RGB -> L, so grayscale output matches PIL.
LUMA = (0.299, 0.587, 0.114)
_PIL_VIA_RGB = {"CMYK", "YCbCr", "LAB", "HSV", "RGBX"}


@dataclass
class Prepared:
    """One image ready for a network, and how to give it back."""

    rgb: torch.Tensor  # 3×H×W float32 in [0, 1], on the CPU or the input tensor's device
    restore: Restore


@dataclass
class Restore:
    """What is needed to turn a translated 3×H×W [0, 1] tensor back into the input's kind."""

    kind: str  # "pil", "numpy" or "tensor"
    channels: int  # colour channels of the input: 1 or 3
    alpha: torch.Tensor | None  # 1×H×W, untouched copy of the input's alpha
    pil_mode: str | None = None  # mode to give back for PIL inputs
    pil_info: dict[str, Any] | None = None  # ICC profile and DPI, given back on the output
    numpy_dtype: np.dtype | None = None
    numpy_shape: tuple[int, ...] | None = None
    tensor_dtype: torch.dtype | None = None
    tensor_device: torch.device | None = None
    tensor_batched: bool = False

    def __call__(self, rgb: torch.Tensor) -> Any:
        """Rebuild the output from a 3×H×W float tensor in [0, 1]."""
        rgb = rgb.clamp(0, 1)
        if self.channels == 1:
            weights = torch.tensor(LUMA, dtype=rgb.dtype, device=rgb.device).view(3, 1, 1)
            colour = (rgb * weights).sum(0, keepdim=True)
        else:
            colour = rgb
        if self.alpha is not None:
            colour = torch.cat([colour, self.alpha.to(colour.device, colour.dtype)], 0)
        if self.kind == "tensor":
            out = colour.to(self.tensor_device, self.tensor_dtype)
            return out.unsqueeze(0) if self.tensor_batched else out
        if self.kind == "numpy":
            return _to_numpy(colour, self.numpy_dtype, self.numpy_shape)
        image = _to_pil(colour, self.pil_mode or "RGB")
        image.info.update(self.pil_info or {})
        return image


def _to_numpy(chw: torch.Tensor, dtype: np.dtype | None, shape: tuple[int, ...] | None) -> Any:
    hwc = chw.detach().float().cpu().permute(1, 2, 0).numpy()
    dtype = np.dtype(dtype or np.float32)
    if dtype == np.uint8:
        out = np.clip(np.rint(hwc * 255.0), 0, 255).astype(np.uint8)
    elif dtype == np.uint16:
        out = np.clip(np.rint(hwc * 65535.0), 0, 65535).astype(np.uint16)
    else:
        out = hwc.astype(dtype)
    return out.reshape(shape) if shape is not None else out


def _to_pil(chw: torch.Tensor, mode: str) -> Image.Image:
    if mode in ("I;16", "I", "I;16B", "I;16L"):
        array = _to_numpy(chw, np.dtype(np.uint16), None)[..., 0]
        image = Image.fromarray(array)
        return image if mode == "I;16" else image.convert(mode) if mode == "I" else image
    if mode == "F":
        return Image.fromarray(chw[0].detach().float().cpu().numpy(), mode="F")
    array = _to_numpy(chw, np.dtype(np.uint8), None)
    if array.shape[2] == 1:
        array = array[..., 0]
    base_mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[chw.shape[0]]
    image = Image.fromarray(array, mode=base_mode)
    return image.convert(mode) if mode != base_mode else image


def open_image(path: str | os.PathLike[str]) -> Image.Image:
    """Open an image file fully (so truncation is detected now), with EXIF orientation applied.

    Any failure to read or decode the file (corrupt, truncated, empty, not an image, a
    decompression bomb) is an :class:`~stylezoo.errors.InvalidImageError` naming it.
    """
    path = Path(path)
    try:
        exists, is_dir = path.exists(), path.is_dir()
    except (OSError, ValueError) as exc:  # e.g. a NUL byte or a name too long
        raise InvalidImageError(f"{str(path)!r} is not a usable file path ({exc}).") from exc
    if not exists:
        raise InvalidImageError(f"Image file {str(path)!r} does not exist. Check the path.")
    if is_dir:
        raise InvalidImageError(f"{str(path)!r} is a directory, not an image file.")
    try:
        with Image.open(path) as image:
            image.load()
            return _exif_transpose(image, str(path))
    except InvalidImageError:
        raise
    except UnidentifiedImageError as exc:
        raise InvalidImageError(
            f"{str(path)!r} is not an image file Pillow can read (PNG, JPEG, WebP, TIFF, …)."
        ) from exc
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(
            f"Image file {str(path)!r} is too large to open safely ({exc}). Downscale it "
            "with another tool first, or raise PIL.Image.MAX_IMAGE_PIXELS if you trust it."
        ) from exc
    except PermissionError as exc:
        raise InvalidImageError(
            f"Image file {str(path)!r} cannot be read: permission denied. Check its permissions."
        ) from exc
    except Exception as exc:  # decoders raise many types on bad data (OSError, EOFError, …)
        raise InvalidImageError(
            f"Image file {str(path)!r} could not be decoded ({type(exc).__name__}: {exc}); it "
            "is probably truncated or corrupt. Re-export or re-download it."
        ) from exc


def _exif_transpose(image: Image.Image, name: str) -> Image.Image:
    """The image upright; a corrupt EXIF block is an error naming the image."""
    try:
        return ImageOps.exif_transpose(image)
    except (OSError, SyntaxError):
        raise  # the pixels themselves cannot be read (a truncated file): the caller says so
    except Exception as exc:  # malformed EXIF raises whatever the parser hits
        raise InvalidImageError(
            f"{name} has unreadable EXIF metadata ({type(exc).__name__}: {exc}). Re-save the "
            "image without EXIF, e.g. with PIL: Image.open(path).save(new_path)."
        ) from exc


def prepare(item: Any, name: str = "image") -> Prepared:
    """Convert one image of any supported kind to a 3×H×W float [0, 1] tensor."""
    if isinstance(item, (str, os.PathLike)):
        return _prepare_pil(open_image(item), name=str(item))
    if isinstance(item, Image.Image):
        try:
            return _prepare_pil(_exif_transpose(item, name), name)
        except (OSError, SyntaxError) as exc:  # a lazily opened image whose file is bad
            raise InvalidImageError(
                f"{name} (a PIL image) could not be decoded ({type(exc).__name__}: {exc}); its "
                "file is probably truncated or corrupt."
            ) from exc
    if isinstance(item, np.ndarray):
        return _prepare_numpy(item, name)
    if isinstance(item, torch.Tensor):
        return _prepare_tensor(item, name)
    raise InvalidImageError(
        f"Cannot translate {name} of type {type(item).__name__}: pass a PIL image, a numpy "
        "array (HW or HWC), a float tensor (CHW or NCHW, values in [0, 1]) or a file path."
    )


def _check_size(height: int, width: int, name: str) -> None:
    if height < 2 or width < 2:
        raise InvalidImageError(
            f"{name} is {width}×{height} pixels; stylezoo needs at least 2×2 (larger models "
            "need more). Pass a larger image."
        )


def _prepare_pil(image: Image.Image, name: str) -> Prepared:
    mode = image.mode
    info = {k: v for k, v in image.info.items() if k in ("dpi", "icc_profile")}
    _check_size(image.height, image.width, name)
    if mode == "P" or mode == "PA":
        has_alpha = mode == "PA" or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
        mode = image.mode  # palette images come back as RGB(A): see docs/images.md
    if mode == "1":
        image, mode = image.convert("L"), "L"
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float32) / 65535.0
        gray = torch.from_numpy(np.clip(array, 0, 1)).unsqueeze(0)
        return Prepared(
            gray.expand(3, -1, -1).contiguous(),
            Restore("pil", 1, None, pil_mode=mode, pil_info=info),
        )
    if mode == "F":
        values = np.asarray(image, dtype=np.float32)
        if not np.isfinite(values).all():
            raise InvalidImageError(f"{name} (a mode F image) contains NaN or infinite values.")
        gray = torch.from_numpy(values.clip(0, 1)).unsqueeze(0)
        return Prepared(
            gray.expand(3, -1, -1).contiguous(),
            Restore("pil", 1, None, pil_mode="F", pil_info=info),
        )
    if mode in _PIL_VIA_RGB:
        rgb = _u8_to_tensor(np.asarray(image.convert("RGB")))
        return Prepared(rgb, Restore("pil", 3, None, pil_mode=mode, pil_info=info))
    if mode in ("L", "LA", "RGB", "RGBA", "La", "RGBa"):
        if mode in ("La", "RGBa"):  # premultiplied alpha: store straight alpha
            image = image.convert(mode.upper())
            mode = image.mode
        array = np.asarray(image)
        prepared = _prepare_numpy(array, name)
        prepared.restore.kind, prepared.restore.pil_mode = "pil", mode
        prepared.restore.pil_info = info
        return prepared
    raise InvalidImageError(
        f"{name} has PIL mode {mode!r}, which stylezoo cannot translate. "
        "Convert it first, e.g. image.convert('RGB')."
    )


def _u8_to_tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(array, dtype=np.float32)).permute(2, 0, 1).div_(255.0)


def _prepare_numpy(array: np.ndarray, name: str) -> Prepared:
    shape = array.shape
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 2, 3, 4):
        raise InvalidImageError(
            f"{name} is a numpy array of shape {shape}; expected HW (grayscale) or HWC with "
            "1, 2 (gray + alpha), 3 (RGB) or 4 (RGBA) channels. For CHW data, transpose it "
            "or pass a torch tensor."
        )
    _check_size(array.shape[0], array.shape[1], name)
    dtype = array.dtype
    if dtype == np.uint8:
        values = array.astype(np.float32) / 255.0
    elif dtype == np.uint16:
        values = array.astype(np.float32) / 65535.0
    elif dtype == np.bool_:
        values = array.astype(np.float32)
    elif np.issubdtype(dtype, np.floating):
        values = array.astype(np.float32)
        if not np.isfinite(values).all():
            raise InvalidImageError(
                f"{name} contains NaN or infinite values; replace them first (np.nan_to_num)."
            )
        check_unit_range(float(values.min()), float(values.max()), name, "np.clip(a, 0, 1)")
        values = np.clip(values, 0.0, 1.0)
    elif np.issubdtype(dtype, np.integer):
        low, high = int(array.min()), int(array.max())
        hint = (
            "it fits uint8: pass array.astype(np.uint8)"
            if 0 <= low and high <= 255
            else "scale it to uint8 (0–255), uint16 (0–65535) or float (0–1) first"
        )
        raise InvalidImageError(
            f"{name} has dtype {dtype} (values {low}…{high}); stylezoo reads uint8 (0–255), "
            f"uint16 (0–65535) or float (0–1) images: {hint}."
        )
    else:
        raise InvalidImageError(
            f"{name} has dtype {dtype}; use uint8 (0–255), uint16 (0–65535) or float (0–1)."
        )
    chw = torch.from_numpy(np.ascontiguousarray(values)).permute(2, 0, 1)
    rgb, channels, alpha = _split_channels(chw)
    restore = Restore(
        "numpy",
        channels,
        alpha,
        numpy_dtype=dtype if dtype != np.bool_ else np.dtype(np.float32),
        numpy_shape=shape,
    )
    return Prepared(rgb, restore)


def _split_channels(chw: torch.Tensor) -> tuple[torch.Tensor, int, torch.Tensor | None]:
    count = chw.shape[0]
    alpha = chw[-1:].clone() if count in (2, 4) else None
    colour = chw[:-1] if alpha is not None else chw
    if colour.shape[0] == 1:
        return colour.expand(3, -1, -1).contiguous(), 1, alpha
    return colour.contiguous(), 3, alpha


def _prepare_tensor(tensor: torch.Tensor, name: str) -> Prepared:
    batched = tensor.ndim == 4
    if batched and tensor.shape[0] != 1:
        raise InvalidImageError(
            f"{name} is a batch of {tensor.shape[0]} images; translate() takes one image per "
            "tensor here. Call the translator directly, t(batch), for NCHW batches."
        )
    chw = tensor[0] if batched else tensor
    if chw.ndim != 3 or chw.shape[0] not in (1, 2, 3, 4):
        raise InvalidImageError(
            f"{name} is a tensor of shape {tuple(tensor.shape)}; expected CHW or NCHW with 1, "
            "2, 3 or 4 channels."
        )
    if not chw.is_floating_point():
        raise InvalidImageError(
            f"{name} is a {tensor.dtype} tensor; pass floats in [0, 1] (e.g. tensor.float() / 255)."
        )
    check_tensor_values(chw, name)
    _check_size(chw.shape[1], chw.shape[2], name)
    rgb, channels, alpha = _split_channels(chw.detach().float().clamp(0, 1))
    restore = Restore(
        "tensor",
        channels,
        alpha,
        tensor_dtype=tensor.dtype,
        tensor_device=tensor.device,
        tensor_batched=batched,
    )
    return Prepared(rgb, restore)


#: How far outside [0, 1] float values may lie (rounding, less than one 8-bit step) before
#: they are refused rather than clipped.
RANGE_SLACK = 1.0 / 255


def check_unit_range(low: float, high: float, name: str, fix: str) -> None:
    """Refuse values outside [0, 1] (beyond :data:`RANGE_SLACK`), naming the input and the fix."""
    if low < -RANGE_SLACK or high > 1.0 + RANGE_SLACK:
        scale = " or, for 0–255 data, divide by 255 first" if high > 1.5 else ""
        raise InvalidImageError(
            f"{name} holds values from {low:g} to {high:g}; float images must lie in [0, 1]. "
            f"Clip them ({fix}){scale}."
        )


def check_tensor_values(tensor: torch.Tensor, name: str) -> None:
    """A float tensor that holds data (not meta, not sparse), finite, in [0, 1]."""
    if tensor.is_meta:
        raise InvalidImageError(
            f"{name} is a tensor on the meta device, which holds no values; create it on the "
            "cpu or a GPU."
        )
    if tensor.layout != torch.strided:
        raise InvalidImageError(
            f"{name} is a {tensor.layout} tensor; pass a dense one (tensor.to_dense())."
        )
    if tensor.numel() == 0:
        return
    # One pass: the extremes are NaN when any value is, and infinite when any value is.
    low, high = (float(value) for value in torch.aminmax(tensor.detach()))
    if not (math.isfinite(low) and math.isfinite(high)):
        raise InvalidImageError(
            f"{name} contains NaN or infinite values; replace them first (torch.nan_to_num)."
        )
    check_unit_range(low, high, name, "tensor.clamp(0, 1)")


def peek_size(item: Any) -> tuple[int, int] | None:
    """(height, width) of an image of any kind, found cheaply (a file's header only), or
    ``None`` when it cannot be told without preparing the image (then preparing reports why).
    """
    if isinstance(item, Image.Image):
        return item.height, item.width
    if isinstance(item, np.ndarray) and item.ndim in (2, 3):
        return int(item.shape[0]), int(item.shape[1])
    if isinstance(item, torch.Tensor) and item.ndim in (3, 4):
        return int(item.shape[-2]), int(item.shape[-1])
    if isinstance(item, (str, os.PathLike)):
        try:
            with Image.open(item) as image:  # reads the header, not the pixels
                return image.height, image.width
        except Exception:  # any problem with the file: prepare() names it
            return None
    return None


def pad_for_network(
    batch: torch.Tensor, multiple: int, min_size: int, sizing: str
) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad as an :class:`~stylezoo.family.IOSpec` says: to the multiple (``"pad"``), or only
    up to ``min_size`` (``"native"``: the network takes the image as it is)."""
    if sizing == "native":
        return pad_to_multiple(batch, 1, min_size)
    return pad_to_multiple(batch, multiple, min_size)


def pad_to_multiple(
    batch: torch.Tensor, multiple: int, min_size: int = 1
) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad the bottom and right of an NCHW batch so H and W are acceptable.

    Acceptable means a multiple of ``multiple`` and at least ``min_size``. Pads larger than
    the image are done in steps, reflecting the already padded image, so any size works.
    Returns the padded batch and the original (H, W) for :func:`crop`.
    """
    height, width = batch.shape[-2:]
    target_h = max(_round_up(height, multiple), _round_up(min_size, multiple))
    target_w = max(_round_up(width, multiple), _round_up(min_size, multiple))
    while batch.shape[-2] < target_h or batch.shape[-1] < target_w:
        pad_h = min(target_h - batch.shape[-2], batch.shape[-2] - 1)
        pad_w = min(target_w - batch.shape[-1], batch.shape[-1] - 1)
        batch = F.pad(batch, (0, pad_w, 0, pad_h), mode="reflect")
    return batch, (height, width)


def crop(batch: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return batch[..., : size[0], : size[1]]


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def option_images(value: Any, missing: str) -> list[tuple[Any, str]]:
    """An image option given as one image or a list of them → ``(item, name)`` pairs, the
    names as errors should give them (``"style"`` alone, ``"style 0"``, ``"style 1"``, …).

    Args:
        value: the option's value: ``None``, one image, or a list or tuple of images.
        missing: the message of the :class:`~stylezoo.errors.InvalidOptionError` raised when
            ``value`` is ``None`` (say what the family needs and how to pass it).

    Raises:
        InvalidOptionError: ``value`` is ``None`` or an empty list.
    """
    from .errors import InvalidOptionError

    if value is None:
        raise InvalidOptionError(missing)
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if not items:
        raise InvalidOptionError("style is an empty list; pass at least one style image.")
    names = ["style"] if len(items) == 1 else [f"style {i}" for i in range(len(items))]
    return list(zip(items, names, strict=True))


def prepare_option_image(item: Any, name: str) -> Prepared:
    """:func:`prepare` for an image given as an option value (a style, a mask): a bad one is
    an :class:`~stylezoo.errors.InvalidOptionImageError` naming the option."""
    from .errors import InvalidOptionImageError

    if not isinstance(item, (str, os.PathLike, Image.Image, np.ndarray, torch.Tensor)):
        raise InvalidOptionImageError(
            f"{name} must be an image (PIL image, numpy array, float tensor in [0, 1] or a "
            f"file path), or a list of those; got {type(item).__name__}."
        )
    if isinstance(item, torch.Tensor) and item.ndim == 4 and item.shape[0] != 1:
        raise InvalidOptionImageError(
            f"{name} is a batch of {item.shape[0]} images; pass one image, or a list of "
            "images (style=[a, b]) to mix styles."
        )
    try:
        return prepare(item, name=name)
    except InvalidImageError as exc:
        if isinstance(exc, InvalidOptionImageError):
            raise
        raise InvalidOptionImageError(str(exc)) from exc
