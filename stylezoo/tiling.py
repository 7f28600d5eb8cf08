"""Tiled inference: any image size in bounded memory, without seams.

``translate(image, tile=512, overlap=64)`` runs a fully-convolutional network tile by tile.
Three things make the result match the whole-image output closely:

* **Aligned tiles.** Tile origins are multiples of the model's ``io.multiple`` (its total
  stride), so every tile's feature maps sit on the whole image's feature grid.
* **Global normalisation statistics.** Instance norm (and group norm, and batch norm used
  with the input's own statistics) normalises each channel by the mean and variance over the
  *whole* image; run per tile, every tile would get its own statistics and its own colours.
  :class:`NormStatistics` intercepts those calls (``F.instance_norm``, ``F.group_norm``,
  ``F.batch_norm(training=True)``) and normalises every tile with the same image-wide
  statistics: those of the image downscaled to one tile (``"downscaled"``, one extra tile of
  work), or ``"exact"`` ones accumulated over the full-size tiles, one layer per streamed
  pass with the earlier layers already exact (each feature position counted once, in the
  tile whose core holds it). See :data:`STATISTICS` and docs/tiling.md.
* **Smooth blending.** Neighbouring tiles overlap by ``overlap`` pixels and are blended with
  raised-cosine ramps across the overlap, so no tile edge (where its context is worst) shows.

Only the image, the output and one tile's activations are in memory at a time. Families say
whether they can be tiled (:attr:`stylezoo.translator.ImageTranslator.tileable` and
:meth:`~stylezoo.translator.ImageTranslator.tiling_problem`); others get a clear error.
"""

from __future__ import annotations

import inspect
import logging
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from . import devices
from .errors import ImageTooLargeError, InvalidOptionError, StylezooError

if TYPE_CHECKING:
    from .translator import ImageTranslator

logger = logging.getLogger(__name__)

#: How tiled inference gets each normalisation layer's image-wide statistics.
STATISTICS = ("downscaled", "exact")
#: Default overlap of neighbouring tiles, in pixels.
DEFAULT_OVERLAP = 64
#: ``tile="auto"`` when the free memory is unknown (MPS, non-Linux CPUs).
FALLBACK_TILE = 1024
#: The least side (of the area) of the downscaled copy that gives the first statistics: a
#: much smaller copy than the networks' training size gives poor statistics.
_DOWNSCALED_SIDE = 256
#: The margin on measured peaks, as ``translator.MEMORY_SAFETY_FACTOR`` (not imported:
#: translator imports this module).
_MEMORY_SAFETY_FACTOR = 1.5
#: The probe size whose measured peak memory sizes ``tile="auto"``.
_PROBE_TILE = 256
#: Bytes per pixel that the tiled path keeps for the whole image besides the tiles: the
#: float32 input (12), the float32 output accumulator (12) and the returned image (up to 12).
_IMAGE_BYTES_PER_PIXEL = 36


@dataclass(frozen=True)
class Span:
    """One tile along one axis: ``[start, end)`` in pixels, and its core ``[core_start,
    core_end)``: the part whose feature positions it contributes to the statistics (the cores
    of an axis partition it)."""

    start: int
    end: int
    core_start: int
    core_end: int


def check_arguments(
    tile: Any, overlap: Any, statistics: Any = "downscaled"
) -> tuple[int | str | None, int]:
    """``tile`` (``None``, ``"auto"`` or a positive integer), ``overlap`` (an integer ≥ 0)
    and ``statistics`` (one of :data:`STATISTICS`), checked; anything else is an
    :class:`InvalidOptionError` saying what to pass."""
    if statistics not in STATISTICS:
        raise InvalidOptionError(
            f"tile_statistics must be one of {', '.join(map(repr, STATISTICS))}; got "
            f"{statistics!r}."
        )
    if tile is not None and not (isinstance(tile, str) and tile == "auto"):
        if isinstance(tile, bool) or not isinstance(tile, numbers.Integral) or tile < 1:
            raise InvalidOptionError(
                f"tile must be a tile side in pixels (a positive integer such as 512), 'auto' "
                f"(sized from the free memory) or None (no tiling); got {tile!r}."
            )
        tile = int(tile)
    if isinstance(overlap, bool) or not isinstance(overlap, numbers.Integral) or overlap < 0:
        raise InvalidOptionError(
            f"overlap must be a number of pixels ≥ 0 (e.g. 64); got {overlap!r}."
        )
    overlap = int(overlap)
    if isinstance(tile, int) and overlap >= tile:
        raise InvalidOptionError(
            f"overlap ({overlap}) must be smaller than tile ({tile}); e.g. tile=512, overlap=64."
        )
    return tile, overlap


def aligned(tile: int, overlap: int, multiple: int, min_size: int) -> tuple[int, int]:
    """The tile rounded down and the overlap rounded up to multiples of ``multiple`` (so that
    tile origins stay on the network's feature grid); too small a tile is an error."""
    tile_side = tile // multiple * multiple
    overlap_side = -(-overlap // multiple) * multiple
    smallest = max(overlap_side + multiple, min_size, 32)
    if tile_side < smallest:
        raise InvalidOptionError(
            f"tile={tile} is too small for this model with overlap={overlap}: tiles are "
            f"multiples of {multiple} pixels and must exceed the overlap (rounded up to "
            f"{overlap_side}) and the model's smallest side ({min_size}); use tile ≥ "
            f"{-(-smallest // multiple) * multiple}, e.g. tile=512."
        )
    return tile_side, overlap_side


def plan_axis(length: int, tile: int, overlap: int, multiple: int) -> list[Span]:
    """Tiles covering ``[0, length)``: starts are multiples of ``multiple``, neighbours
    overlap by at least ``overlap``, the last tile ends at ``length``."""
    if length <= tile:
        return [Span(0, length, 0, length)]
    stride = tile - overlap
    last = -(-(length - tile) // multiple) * multiple
    starts = list(range(0, last, stride)) + [last]
    ends = [min(start + tile, length) for start in starts]
    # Core boundaries: the middle of each overlap, on the feature grid.
    cuts = [(ends[i] + starts[i + 1]) // 2 // multiple * multiple for i in range(len(starts) - 1)]
    cuts = [max(c, s) for c, s in zip(cuts, starts[1:], strict=True)]
    bounds = [0, *cuts, length]
    return [
        Span(start, end, bounds[i], bounds[i + 1])
        for i, (start, end) in enumerate(zip(starts, ends, strict=True))
    ]


def ramp_weights(spans: Sequence[Span], index: int) -> torch.Tensor:
    """The blending weight of tile ``index`` along its axis: 1, with raised-cosine ramps
    (never exactly 0) across its overlaps with the previous and the next tile."""
    span = spans[index]
    weight = torch.ones(span.end - span.start, dtype=torch.float32)
    if index > 0:
        width = spans[index - 1].end - span.start
        if width > 0:
            weight[:width] *= _rising(width)
    if index + 1 < len(spans):
        width = span.end - spans[index + 1].start
        if width > 0:
            weight[-width:] *= _rising(width).flip(0)
    return weight


def _rising(width: int) -> torch.Tensor:
    position = (torch.arange(width, dtype=torch.float64) + 0.5) / width
    return (0.5 - 0.5 * torch.cos(math.pi * position)).float()


# -- normalisation statistics -----------------------------------------------------------------


@dataclass
class _Moments:
    """Per-channel count, mean and sum of squared deviations (float64), merged exactly."""

    count: float
    mean: torch.Tensor
    m2: torch.Tensor

    def merge(self, count: float, mean: torch.Tensor, m2: torch.Tensor) -> None:
        total = self.count + count
        delta = mean - self.mean
        self.mean = self.mean + delta * (count / total)
        self.m2 = self.m2 + m2 + delta * delta * (self.count * count / total)
        self.count = total

    def grouped(self, groups: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and biased variance per channel, pooled over ``groups`` groups of channels."""
        mean = self.mean.view(groups, -1)
        second = (self.m2 / self.count).view(groups, -1) + mean * mean
        group_mean = mean.mean(1, keepdim=True)
        group_var = (second.mean(1, keepdim=True) - group_mean * group_mean).clamp_min(0)
        size = mean.shape[1]
        return group_mean.expand(-1, size).reshape(-1), group_var.expand(-1, size).reshape(-1)


@dataclass
class _Layer:
    kind: str
    channels: int
    groups: int
    shift: int  # input pixels per feature position = 2 ** shift (negative: upsampled)
    moments: _Moments | None = None


_BIND: dict[Callable[..., Any], inspect.Signature] = {}


def _bound(func: Callable[..., Any], args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
    signature = _BIND.get(func)
    if signature is None:
        signature = _BIND[func] = inspect.signature(func)
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    return bound.arguments


class NormStatistics(TorchFunctionMode):
    """Intercepts instance-style normalisations of one forward pass.

    Layers are identified by the order of their calls, the same for every tile of a network.
    With ``estimates`` (per layer: mean and biased variance per channel, pooled per group),
    each layer normalises with them instead of the tile's own statistics; without, layers run
    as they are. With ``collect``, each layer's input moments over the current tile's core are
    accumulated (:meth:`estimates`). Call :meth:`begin_tile` before each tile's forward pass.
    """

    def __init__(
        self,
        estimates: list[tuple[torch.Tensor, torch.Tensor]] | None,
        *,
        collect: bool,
        stop_at: int | None = None,
    ) -> None:
        super().__init__()
        self.given = estimates
        self.collect = collect
        self.stop_at = stop_at
        self.layers: list[_Layer] = []
        self._index = 0
        self._tile: tuple[int, int, int, int] = (0, 0, 1, 1)  # origin y, x; size h, w
        self._core: tuple[int, int, int, int] = (0, 1, 0, 1)  # y0, y1, x0, x1 (global)
        self._ends: tuple[bool, bool] = (True, True)  # core reaches the bottom / right edge

    def begin_tile(self, span_y: Span, span_x: Span, height: int, width: int) -> None:
        self._index = 0
        self._tile = (
            span_y.start,
            span_x.start,
            span_y.end - span_y.start,
            span_x.end - span_x.start,
        )
        self._core = (span_y.core_start, span_y.core_end, span_x.core_start, span_x.core_end)
        self._ends = (span_y.core_end >= height, span_x.core_end >= width)

    def end_tile(self) -> None:
        if self.stop_at is None and self.layers and self._index != len(self.layers):
            raise StylezooError(
                f"The network made {self._index} normalisation calls on this tile and "
                f"{len(self.layers)} on the first; it cannot be tiled (its layers depend on "
                "the input size). Translate without tile=."
            )

    def estimates(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per layer: the accumulated mean and biased variance, per channel (group-pooled)."""
        return [self.estimate(number) for number in range(len(self.layers))]

    def estimate(self, number: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Layer ``number``'s accumulated mean and biased variance (group-pooled)."""
        layer = self.layers[number]
        if layer.moments is None:
            raise StylezooError(f"normalisation layer {number} saw no pixels of any tile.")
        return layer.moments.grouped(layer.groups)

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        if func is F.instance_norm:
            a = _bound(func, args, kwargs)
            if a["use_input_stats"]:
                return self._normalise(
                    "instance_norm", a["input"], 0, a["weight"], a["bias"], a["eps"]
                )
        elif func is F.group_norm:
            a = _bound(func, args, kwargs)
            return self._normalise(
                "group_norm", a["input"], a["num_groups"], a["weight"], a["bias"], a["eps"]
            )
        elif func is F.batch_norm:
            a = _bound(func, args, kwargs)
            if a["training"]:
                return self._normalise(
                    "batch_norm", a["input"], 0, a["weight"], a["bias"], a["eps"]
                )
        return func(*args, **kwargs)

    def _normalise(
        self,
        kind: str,
        x: torch.Tensor,
        groups: int,
        weight: torch.Tensor | None,
        bias: torch.Tensor | None,
        eps: float,
    ) -> torch.Tensor:
        if x.ndim != 4 or x.shape[0] != 1:
            raise StylezooError(
                f"Tiled inference handles {kind} on one NCHW image at a time; got a tensor of "
                f"shape {tuple(x.shape)}. Translate without tile=."
            )
        channels = x.shape[1]
        groups = groups or channels
        layer = self._layer(kind, x, groups)
        if self.stop_at is not None and self._index - 1 == self.stop_at:
            self._accumulate(layer, x)
            raise _StopPass
        if self.collect and self.stop_at is None:
            self._accumulate(layer, x)
        if self.given is None:
            return _reference(kind, x, groups, weight, bias, eps)
        if self._index > len(self.given):
            raise StylezooError(
                f"The network made more normalisation calls ({self._index}) than its "
                f"statistics pass recorded ({len(self.given)}); it cannot be tiled. Translate "
                "without tile=."
            )
        mean, var = (v.to(x.device) for v in self.given[self._index - 1])
        scale = torch.rsqrt(var.float() + eps)
        if weight is not None:
            scale = scale * weight.float()
        offset = -mean.float() * scale
        if bias is not None:
            offset = offset + bias.float()
        out = torch.addcmul(offset.view(1, -1, 1, 1), x.float(), scale.view(1, -1, 1, 1))
        return out.to(x.dtype)

    def _layer(self, kind: str, x: torch.Tensor, groups: int) -> _Layer:
        height, width = self._tile[2], self._tile[3]
        shift_y = round(math.log2(height / x.shape[2]))
        shift_x = round(math.log2(width / x.shape[3]))
        index = self._index
        self._index += 1
        if index < len(self.layers):
            layer = self.layers[index]
            if (layer.kind, layer.channels, layer.groups) != (kind, x.shape[1], groups):
                raise StylezooError(
                    f"Normalisation call {index} differs between tiles ({layer.kind} of "
                    f"{layer.channels} channels, then {kind} of {x.shape[1]}); this network "
                    "cannot be tiled. Translate without tile=."
                )
            return layer
        if shift_y != shift_x:
            raise StylezooError(
                f"Normalisation call {index} sees a {x.shape[3]}×{x.shape[2]} map of a "
                f"{width}×{height} tile (different scales across and down); this network "
                "cannot be tiled. Translate without tile=."
            )
        layer = _Layer(kind, x.shape[1], groups, shift_y)
        self.layers.append(layer)
        return layer

    def _accumulate(self, layer: _Layer, x: torch.Tensor) -> None:
        origin_y, origin_x = self._tile[0], self._tile[1]
        y0, y1, x0, x1 = self._core
        rows = _feature_range(origin_y, y0, y1, self._ends[0], layer.shift, x.shape[2])
        cols = _feature_range(origin_x, x0, x1, self._ends[1], layer.shift, x.shape[3])
        region = x[0, :, rows[0] : rows[1], cols[0] : cols[1]].float()
        count = float(region.shape[1] * region.shape[2])
        if count == 0:
            return
        var, mean = torch.var_mean(region, dim=(1, 2), correction=0)
        mean64 = mean.double().cpu()
        m2 = var.double().cpu() * count
        if layer.moments is None:
            layer.moments = _Moments(count, mean64, m2)
        else:
            layer.moments.merge(count, mean64, m2)


class _StopPass(Exception):
    """Ends a tile's forward pass at the layer whose statistics are being collected."""


def _feature_range(
    origin: int, core_start: int, core_end: int, to_end: bool, shift: int, size: int
) -> tuple[int, int]:
    """The tile-local feature positions of the core ``[core_start, core_end)`` (global input
    pixels) on a map with ``2 ** shift`` input pixels per position; ``to_end``: up to the
    map's end (the last tile also holds the positions of the padding)."""

    def position(pixel: int) -> int:
        return -(-pixel >> shift) if shift >= 0 else pixel << -shift

    first = position(origin)
    if shift > 0 and origin % (1 << shift):
        raise StylezooError(
            f"A tile starts at pixel {origin}, off the grid of a layer with stride "
            f"{1 << shift}; the model's io multiple is too small to tile it."
        )
    start = position(core_start) - first
    end = size if to_end else min(position(core_end) - first, size)
    return max(start, 0), max(end, 0)


def _reference(
    kind: str,
    x: torch.Tensor,
    groups: int,
    weight: torch.Tensor | None,
    bias: torch.Tensor | None,
    eps: float,
) -> torch.Tensor:
    """The layer as it normally runs, on the tile's own statistics."""
    if kind == "instance_norm":
        return F.instance_norm(x, weight=weight, bias=bias, use_input_stats=True, eps=eps)
    if kind == "group_norm":
        return F.group_norm(x, groups, weight, bias, eps)
    return F.batch_norm(x, None, None, weight, bias, training=True, eps=eps)


# -- running -------------------------------------------------------------------------------


def translate_tiled(
    translator: ImageTranslator,
    rgb: torch.Tensor,
    options: dict[str, Any],
    tile: int,
    overlap: int,
    *,
    statistics: str = "downscaled",
) -> torch.Tensor:
    """Translate one 3×H×W float image in [0, 1] tile by tile; returns 3×H×W in [0, 1].

    ``options`` are prepared options; ``tile`` and ``overlap`` checked values (pixels). The
    output is on the image's device in float32. ``statistics`` (see :data:`STATISTICS`):
    ``"downscaled"`` takes every layer's statistics from one forward pass of the image
    shrunk to a tile's area (one extra tile of work); ``"exact"`` accumulates them over the
    full-size tiles, one layer per streamed pass with the earlier layers already exact
    (passes stop at the layer they measure: about half a forward pass per layer).
    """
    check_arguments(tile, overlap, statistics)
    io = translator.spec.io
    problem = translator.tiling_problem(options)
    if problem is not None:
        raise InvalidOptionError(problem)
    tile, overlap = aligned(tile, overlap, io.multiple, io.min_size)
    height, width = rgb.shape[-2:]
    rows = plan_axis(height, tile, overlap, io.multiple)
    cols = plan_axis(width, tile, overlap, io.multiple)
    image = rgb.unsqueeze(0)
    if len(rows) == 1 and len(cols) == 1:
        return translator._call_prepared(image, options)[0]
    translator.check_memory((1, io.channels, rows[0].end, cols[0].end), options)
    device, dtype = translator.device, translator.dtype

    def run_tile(span_y: Span, span_x: Span) -> torch.Tensor:
        patch = image[..., span_y.start : span_y.end, span_x.start : span_x.end]
        return translator._run_batch(patch.contiguous(), options, device, dtype)

    logger.debug(
        "Tiling a %d×%d image into %d×%d tiles of %d px (overlap %d), %s statistics",
        width,
        height,
        len(cols),
        len(rows),
        tile,
        overlap,
        statistics,
    )
    try:
        with torch.inference_mode():
            estimates = _downscaled_statistics(translator, image, options, tile)
            if statistics == "exact" and estimates is not None:
                estimates = _exact_statistics(len(estimates), rows, cols, height, width, run_tile)
            return _blend(rows, cols, image, estimates, run_tile)
    except RuntimeError as exc:
        if not devices.is_out_of_memory(exc):
            raise
        raise translator._out_of_memory((1, io.channels, tile, tile), exc) from exc


def _exact_statistics(
    layers: int,
    rows: Sequence[Span],
    cols: Sequence[Span],
    height: int,
    width: int,
    run_tile: Callable[[Span, Span], torch.Tensor],
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Every layer's statistics over the full-size image: pass ``k`` runs each tile up to
    layer ``k``, the layers before it normalised with their exact statistics."""
    estimates: list[tuple[torch.Tensor, torch.Tensor]] = []
    for number in range(layers):
        mode = NormStatistics(estimates, collect=True, stop_at=number)
        with mode:
            for span_y in rows:
                for span_x in cols:
                    mode.begin_tile(span_y, span_x, height, width)
                    try:
                        run_tile(span_y, span_x)
                    except _StopPass:
                        pass
        if len(mode.layers) <= number:
            raise StylezooError(
                f"The network made {len(mode.layers)} normalisation calls on full-size tiles "
                f"and {layers} on the downscaled image; it cannot be tiled. Translate "
                "without tile=."
            )
        estimates.append(mode.estimate(number))
    return estimates


def _downscaled_statistics(
    translator: ImageTranslator, image: torch.Tensor, options: dict[str, Any], tile: int
) -> list[tuple[torch.Tensor, torch.Tensor]] | None:
    """First estimates: every layer's statistics on the whole image shrunk to one tile's
    area, or 256² if that is more (antialiased); ``None`` without normalisation layers."""
    io = translator.spec.io
    height, width = image.shape[-2:]
    factor = min(1.0, max(tile, _DOWNSCALED_SIDE) / math.sqrt(height * width))
    small_h = max(int(height * factor) // io.multiple * io.multiple, io.min_size, io.multiple)
    small_w = max(int(width * factor) // io.multiple * io.multiple, io.min_size, io.multiple)
    small = F.interpolate(
        image.float(), size=(small_h, small_w), mode="bilinear", antialias=True, align_corners=False
    ).clamp_(0, 1)
    mode = NormStatistics(None, collect=True)
    whole = Span(0, small_h, 0, small_h), Span(0, small_w, 0, small_w)
    with mode:
        mode.begin_tile(whole[0], whole[1], small_h, small_w)
        translator._run_batch(small, options, translator.device, translator.dtype)
    return mode.estimates() if mode.layers else None


def _blend(
    rows: Sequence[Span],
    cols: Sequence[Span],
    image: torch.Tensor,
    estimates: list[tuple[torch.Tensor, torch.Tensor]] | None,
    run_tile: Callable[[Span, Span], torch.Tensor],
) -> torch.Tensor:
    """The output pass: every tile normalised with ``estimates``, blended with ramps."""
    height, width = image.shape[-2:]
    out = torch.zeros((3, height, width), dtype=torch.float32, device=image.device)
    total_y = torch.zeros(height, dtype=torch.float32)
    total_x = torch.zeros(width, dtype=torch.float32)
    ramps_y = [ramp_weights(rows, i) for i in range(len(rows))]
    ramps_x = [ramp_weights(cols, j) for j in range(len(cols))]
    for i, span in enumerate(rows):
        total_y[span.start : span.end] += ramps_y[i]
    for j, span in enumerate(cols):
        total_x[span.start : span.end] += ramps_x[j]
    mode = NormStatistics(estimates, collect=False)
    with mode:
        for i, span_y in enumerate(rows):
            for j, span_x in enumerate(cols):
                mode.begin_tile(span_y, span_x, height, width)
                result = run_tile(span_y, span_x)[0].to(image.device, torch.float32)
                mode.end_tile()
                weight = (ramps_y[i][:, None] * ramps_x[j][None, :]).to(image.device)
                out[:, span_y.start : span_y.end, span_x.start : span_x.end].addcmul_(
                    result, weight
                )
    for y0 in range(0, height, 256):  # normalise in strips: no full-size weight map
        strip = total_y[y0 : y0 + 256, None] * total_x[None, :]
        out[:, y0 : y0 + 256].div_(strip.to(image.device))
    return out.clamp_(0, 1)


# -- tile="auto" -----------------------------------------------------------------------------


def auto_tile(
    translator: ImageTranslator, size: tuple[int, int], options: Mapping[str, Any], overlap: int
) -> int | None:
    """The tile side for ``tile="auto"``: ``None`` (no tiling) when the whole image fits in
    the free memory, else the largest tile whose measured peak fits beside the image."""
    io = translator.spec.io
    height, width = size
    device = translator.device
    available = devices.available_memory(device)
    if available is None:
        return FALLBACK_TILE if max(height, width) > FALLBACK_TILE else None
    whole = translator.estimate_peak_memory((1, io.channels, height, width), options)
    if whole is None:
        return FALLBACK_TILE if max(height, width) > FALLBACK_TILE else None
    if whole * _MEMORY_SAFETY_FACTOR <= available:
        return None
    probe = max(_PROBE_TILE // io.multiple * io.multiple, io.min_size)
    peak = translator.estimate_peak_memory((1, io.channels, probe, probe), options)
    if peak is None:
        return FALLBACK_TILE
    budget = available
    if device.type == "cpu":  # the image and the output live beside the tiles
        budget -= height * width * _IMAGE_BYTES_PER_PIXEL
    per_pixel = peak * _MEMORY_SAFETY_FACTOR / (probe * probe)
    side = int(math.sqrt(max(budget, 0) / per_pixel)) // io.multiple * io.multiple
    smallest = max(2 * overlap + io.multiple, io.min_size, 64)
    if side < smallest:
        raise ImageTooLargeError(
            f"A {width}×{height} image does not fit in the {available / 2**30:.1f} GiB free on "
            f"{device} even tile by tile (a {smallest}-pixel tile would need more). Free some "
            "memory, downscale the image or use a device with more memory."
        )
    return min(side, max(height, width))


def translate_images(
    translator: ImageTranslator,
    image: Any,
    options: dict[str, Any],
    tile: int | str,
    overlap: int,
    *,
    statistics: str = "downscaled",
) -> Any:
    """``translate(image, tile=..., overlap=...)``: one image, or a list, each tiled on its
    own (``options`` prepared; ``tile`` and ``overlap`` checked by :func:`check_arguments`).
    Items may also be :class:`~stylezoo.image.Prepared` images."""
    from .image import Prepared, peek_size, prepare

    many = isinstance(image, (list, tuple))
    items = list(image) if many else [image]
    if tile != "auto":
        problem = translator.tiling_problem(options)
        if problem is not None:
            raise InvalidOptionError(problem)
    results = []
    for number, item in enumerate(items):
        name = f"image {number}" if many else "image"
        side: int | str | None = tile
        if tile == "auto":
            size = tuple(item.rgb.shape[-2:]) if isinstance(item, Prepared) else peek_size(item)
            prepared = None
            if size is None:
                prepared = prepare(item, name=name)
                size = tuple(prepared.rgb.shape[-2:])
            side = auto_tile(translator, (int(size[0]), int(size[1])), options, overlap)
            if side is not None and translator.tiling_problem(options) is not None:
                side = None  # the whole-image path refuses it with the memory estimate
            if side is None:
                if prepared is None and not isinstance(item, Prepared):
                    translator._check_memory_early(item, options)
                item = prepared or item
        prepared = item if isinstance(item, Prepared) else prepare(item, name=name)
        if side is None:
            out = translator._call_prepared(prepared.rgb.unsqueeze(0), options)[0]
        else:
            assert isinstance(side, int)
            out = translate_tiled(
                translator, prepared.rgb, options, side, overlap, statistics=statistics
            )
        results.append(prepared.restore(out))
    return results if many else results[0]
