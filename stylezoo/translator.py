"""The :class:`Translator` protocol and :class:`ImageTranslator`, the base that owns image I/O.

Families subclass :class:`ImageTranslator` and implement :meth:`ImageTranslator.forward` on
tensors in the network's own value range; the base turns every supported input kind into
such tensors and back (see :mod:`stylezoo.image`).
"""

from __future__ import annotations

import copy
import logging
import math
import numbers
import os
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from . import batching, devices, speed, tiling
from . import image as imagelib
from .devices import resolve_device, resolve_dtype
from .errors import ImageTooLargeError, InvalidImageError, InvalidOptionError
from .family import ModelSpec, Option, check_options

if TYPE_CHECKING:
    from .exportable import ExportGraph

logger = logging.getLogger(__name__)

#: A generous bound on the peak bytes per pixel of any forward pass (the built-in families
#: measure 0.3–1.3 KiB): inputs that fit in free memory even at this rate are not estimated.
MAX_BYTES_PER_PIXEL = 16 * 1024
#: The measured peak is multiplied by this before comparing it with the free memory: kernels
#: allocate workspaces and the allocator fragments, which the estimate does not see.
MEMORY_SAFETY_FACTOR = 1.5


@runtime_checkable
class Translator(Protocol):
    """An image-to-image model, ready to use."""

    spec: ModelSpec

    @property
    def device(self) -> torch.device: ...

    @property
    def dtype(self) -> torch.dtype: ...

    def translate(self, image: Any, **options: Any) -> Any:
        """Translate an image (PIL, numpy, tensor, path, or a list of those)."""
        ...

    def __call__(self, batch: torch.Tensor, **options: Any) -> torch.Tensor:
        """Translate an NCHW float batch in [0, 1]; no resizing."""
        ...

    def to(self, device: Any = None, dtype: Any = None) -> Translator: ...

    def save_pretrained(
        self, directory: str | os.PathLike[str], *, overwrite: bool = False
    ) -> Path: ...


class ImageTranslator:
    """Base class of translators: image kinds in and out, padding, value ranges, devices.

    Subclasses declare their options in :attr:`options` and implement :meth:`forward`; the
    options are accepted by both :meth:`translate` and ``__call__``, checked against the
    declarations (unknown names and wrong types are errors naming the allowed ones), filled
    with their defaults and passed to :meth:`forward` by name.

    Attributes:
        options: the family's translate options, name → :class:`~stylezoo.family.Option`.
        preferred_memory_format: the layout the networks run fastest in (``"channels_last"``
            or ``"contiguous"``), used for ``memory_format="auto"``.
        memory_format: the layout batches are given to :meth:`forward` in.
    """

    options: ClassVar[Mapping[str, Option]] = {}
    preferred_memory_format: ClassVar[str] = "channels_last"
    #: Whether ``translate(..., tile=...)`` may run the networks tile by tile: true for
    #: fully-convolutional networks whose only image-wide computations are instance-style
    #: normalisations (``F.instance_norm``, ``F.group_norm``, ``F.batch_norm`` on the input's
    #: own statistics), which :mod:`stylezoo.tiling` makes global. See :meth:`tiling_problem`.
    tileable: ClassVar[bool] = False

    def __init__(self, networks: Mapping[str, nn.Module], spec: ModelSpec) -> None:
        self.networks = dict(networks)
        self.spec = spec
        self.memory_format = speed.resolve_memory_format("auto", self.preferred_memory_format)
        for network in self.networks.values():
            network.eval().requires_grad_(False)
        #: the layout the 4-D weights were last put in (None: as loaded); see _lay_out_weights
        self._weights_layout: torch.memory_format | None = None

    # -- to implement -----------------------------------------------------------------------
    def forward(self, x: torch.Tensor, *, source: torch.Tensor, **options: Any) -> torch.Tensor:
        """Run the networks on an NCHW batch in the network's range; return the same range.

        Args:
            x: the batch, padded as the io's ``sizing`` says and cast to the network's dtype.
            source: the same batch as given: unpadded, float32, in the network's range (for
                families that need the exact input, e.g. to blend with it).
            **options: every declared option, checked, with defaults filled in.

        The result may be larger than the input (it is cropped to the input's size).
        """
        output: torch.Tensor = self.networks["model"](x)
        return output

    def prepare_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Turn checked options into what :meth:`forward` takes (e.g. a style image into a
        tensor). Called on both paths, so it must be idempotent."""
        return options

    def export_graph(self, options: Mapping[str, Any]) -> ExportGraph:
        """What :func:`stylezoo.export` traces: a module computing the raw call with
        ``options`` (the user's, unchecked) fixed, and the graph inputs besides the image.

        The default exports the raw call with every option fixed. Families whose options
        are images or blends override it to take them as graph inputs (see
        :mod:`stylezoo.exportable`), and raise :class:`~stylezoo.errors.ExportError` for
        options a graph cannot hold.
        """
        from .exportable import raw_call_graph

        return raw_call_graph(self, options)

    def tiling_problem(self, options: Mapping[str, Any]) -> str | None:
        """Why these prepared options cannot be translated tile by tile, or ``None`` if they
        can. The default follows :attr:`tileable`; families override it when only some
        options need the whole image at once."""
        if self.tileable:
            return None
        return (
            f"The {self.spec.family} family cannot translate an image tile by tile: its "
            "network needs the whole image at once (see its documentation). Translate without "
            "tile=, or downscale the image first."
        )

    def run(self, role: str, x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        """Run the network ``role`` on ``x``, first moved to that network's device and dtype
        (and, for NCHW batches, to :attr:`memory_format`).

        Families whose networks may sit on different devices (``device_map`` of
        :func:`stylezoo.load`) call this instead of ``self.networks[role](x)``; the result
        stays on the network's device. Extra arguments are passed to the network as they are.
        """
        network = self.networks[role]
        anchor = _first_tensor({role: network})
        layout = self.memory_format if x.ndim == 4 else torch.preserve_format
        x = x.to(anchor.device, anchor.dtype, memory_format=layout)
        output: torch.Tensor = network(x, *args, **kwargs)
        return output

    # -- devices ----------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return _first_tensor(self.networks).device

    @property
    def dtype(self) -> torch.dtype:
        return _first_tensor(self.networks).dtype

    def to(
        self, device: Any = None, dtype: Any = None, *, memory_format: Any = None
    ) -> ImageTranslator:
        """Move and/or cast every network in place, and/or change the layout batches run in
        (``"auto"``, ``"channels_last"``, ``"contiguous"``); returns ``self``."""
        target = resolve_device(device) if device is not None else None
        cast = resolve_dtype(dtype, target or self.device) if dtype is not None else None
        if memory_format is not None:
            self.memory_format = speed.resolve_memory_format(
                memory_format, self.preferred_memory_format
            )
        for network in self.networks.values():
            network.to(device=target, dtype=cast)
        if target is not None:
            speed.prepare_device(target)
        return self

    def _lay_out_weights(self) -> None:
        """Store the 4-D weights in the layout batches run in, before the first forward pass
        in a new layout: a oneDNN convolution whose weight is in the other layout copies it on
        every call (2–4× the time of small-image convolutions with large weights, such as
        pix2pix's inner layers). Done at the first call rather than at load, so that loading
        stays a zero-copy read of the weights (it is one copy of them, once)."""
        if self._weights_layout != self.memory_format:
            # Outside inference mode: weights made under it could not take part in autograd
            # later (families such as nst differentiate through their networks).
            with torch.inference_mode(False), torch.no_grad():
                for network in self.networks.values():
                    network.to(memory_format=self.memory_format)
            self._weights_layout = self.memory_format

    # -- running ----------------------------------------------------------------------------
    def __call__(self, batch: torch.Tensor, **options: Any) -> torch.Tensor:
        """Translate an NCHW float batch in [0, 1] and return one, clamped to [0, 1].

        No resizing: sizes the network cannot take are reflect-padded to its multiple and
        cropped back; acceptable sizes are passed as they are. The result has the input's
        dtype and device.

        Raises:
            InvalidImageError: not an NCHW float batch with the network's channel count, on
                the meta device, or holding NaN, infinite or out-of-range values.
            ImageTooLargeError: the forward pass would need more memory than the device has
                free (estimated before anything runs), or ran out of it.
        """
        return self._call_prepared(batch, self._prepare(options))

    def _prepare(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """The user's options checked against the declarations, then prepared."""
        checked = check_options(self.options, options, f"{self.spec.family} option")
        return self.prepare_options(checked)

    def _call_prepared(self, batch: Any, options: dict[str, Any]) -> torch.Tensor:
        """:meth:`__call__` with options already checked and prepared (once per translate)."""
        if not isinstance(batch, torch.Tensor) or batch.ndim != 4 or not batch.is_floating_point():
            raise InvalidImageError(
                "The translator takes an NCHW float tensor in [0, 1]; got "
                f"{_describe(batch)}. Use translate() for images, arrays and paths."
            )
        channels = self.spec.io.channels
        if batch.shape[1] != channels:
            raise InvalidImageError(
                f"This {self.spec.family} model takes {channels}-channel batches; got "
                f"{batch.shape[1]} channels. translate() handles grayscale and alpha for you."
            )
        imagelib.check_tensor_values(batch, f"The batch of shape {tuple(batch.shape)}")
        self.check_memory(tuple(batch.shape), options)
        try:
            with torch.inference_mode():
                y = self._run_batch(batch, options, self.device, self.dtype)
        except RuntimeError as exc:  # torch.cuda.OutOfMemoryError is one
            if not _is_out_of_memory(exc):
                raise
            raise self._out_of_memory(batch.shape, exc) from exc
        # Handed back in the caller's layout, whatever layout the networks ran in.
        return y.to(device=batch.device, dtype=batch.dtype, memory_format=speed.layout_of(batch))

    def _run_batch(
        self,
        batch: torch.Tensor,
        options: Mapping[str, Any],
        device: torch.device,
        dtype: torch.dtype,
    ) -> torch.Tensor:
        """The forward pass of :meth:`__call__` on a checked batch and prepared options."""
        io = self.spec.io
        low, high = io.range
        source = batch.to(device, torch.float32) * (high - low) + low
        self._lay_out_weights()
        x = speed.place_batch(batch, device, dtype, self.memory_format)
        x, size = imagelib.pad_for_network(x, io.multiple, io.min_size, io.sizing)
        y = self.forward(x * (high - low) + low, source=source, **options)
        return imagelib.crop((y - low) / (high - low), size).clamp_(0, 1)

    # -- memory -----------------------------------------------------------------------------
    def check_memory(self, shape: tuple[int, ...], options: Mapping[str, Any]) -> None:
        """Refuse a batch whose forward pass would not fit in the device's free memory.

        The peak is measured, not guessed: the forward pass runs on the ``meta`` device
        (shapes only, no memory, no compute) while every tensor it creates is counted until
        it is freed. Inputs that would fit even at :data:`MAX_BYTES_PER_PIXEL` are not
        measured, and nothing is refused when the free memory is unknown or the family's
        forward pass cannot run on the meta device.

        Raises:
            ImageTooLargeError: the estimate (times :data:`MEMORY_SAFETY_FACTOR`) exceeds the
                free memory; the message gives the size that would fit.
        """
        device = self.device
        if not _may_not_fit(device, shape):
            return
        available = devices.available_memory(device)
        assert available is not None  # known, or _may_not_fit would have said no
        peak = self.estimate_peak_memory(shape, options)
        if peak is None:
            return
        needed = int(peak * MEMORY_SAFETY_FACTOR)
        if needed <= available:
            return
        count, height, width = shape[0], shape[-2], shape[-1]
        scale = math.sqrt(available / needed)
        fits = f"{max(int(width * scale), 1)}×{max(int(height * scale), 1)}"
        batch = f" (a batch of {count})" if count > 1 else ""
        raise ImageTooLargeError(
            f"A {width}×{height} image{batch} needs about {_size(needed)} to translate with "
            f"this {self.spec.name or self.spec.family} model on {device} (the measured peak "
            f"of its forward pass, with a margin), but only {_size(available)} is free. "
            f"Downscale it first (about {fits} would fit; e.g. PIL's image.thumbnail(("
            f"{fits.replace('×', ', ')}))), "
            + ("translate fewer images at once, " if count > 1 else "")
            + (
                "translate it tile by tile (tile='auto'), "
                if self.tiling_problem(options) is None
                else ""
            )
            + "or use a device with more free memory."
        )

    def _check_memory_early(self, image: Any, options: Mapping[str, Any]) -> None:
        """:meth:`check_memory` from the image's size alone, before it is prepared: preparing
        a huge image (float copies of every pixel) is slow and itself takes memory.
        ``options`` are prepared options."""
        size = imagelib.peek_size(image)
        if size is None:
            return
        shape = (1, self.spec.io.channels, *size)
        if not _may_not_fit(self.device, shape):
            return
        try:
            self.check_memory(shape, options)
        except ImageTooLargeError as exc:
            if isinstance(image, (str, os.PathLike)):
                raise ImageTooLargeError(f"{os.fspath(image)}: {exc}") from exc
            raise

    def estimate_peak_memory(
        self, shape: tuple[int, ...], options: Mapping[str, Any]
    ) -> int | None:
        """The peak bytes the forward pass allocates for an input of ``shape`` (NCHW), or
        ``None`` when it cannot run on the meta device.

        ``options`` are prepared options (as :meth:`forward` takes them). The networks are
        copied to the meta device (their tensors hold no memory there) and the pass runs
        under a dispatch mode that adds up live tensors.
        """
        try:
            shadow = copy.copy(self)
            shadow.networks = {role: _on_meta(net) for role, net in self.networks.items()}
            meta_options = {k: _tensors_on_meta(v) for k, v in options.items()}
            batch = torch.empty(shape, device="meta")
            meta = torch.device("meta")
            tracker = _PeakMemory()
            with torch.inference_mode(), tracker:
                y = shadow._run_batch(batch, meta_options, meta, self.dtype)
                del y
            return tracker.peak
        except Exception as exc:  # a forward pass that needs real data: no estimate
            logger.debug("No memory estimate for %s: %s: %s", self.spec.family, type(exc), exc)
            return None

    def _out_of_memory(self, shape: Sequence[int], exc: BaseException) -> ImageTooLargeError:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        count, height, width = shape[0], shape[-2], shape[-1]
        batch = f" (a batch of {count})" if count > 1 else ""
        return ImageTooLargeError(
            f"Translating a {width}×{height} image{batch} ran out of memory on {self.device} "
            f"({type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}). "
            "Downscale it first, translate fewer images at once, or use a device with more "
            "free memory."
        )

    def translate(
        self,
        image: Any,
        *,
        batch_size: int = 1,
        tile: int | str | None = None,
        overlap: int = tiling.DEFAULT_OVERLAP,
        tile_statistics: str = "downscaled",
        **options: Any,
    ) -> Any:
        """Translate one image, or a list of images, keeping each one's kind.

        Args:
            image: a PIL image, a numpy array (HW/HWC; uint8, uint16 or float in [0, 1]), a
                float tensor (CHW/NCHW in [0, 1]), a path, or a list of those.
            batch_size: how many same-sized images of a list run together (a list of mixed
                sizes is grouped by size; the results keep the list's order).
            tile: run the network tile by tile on tiles of this side (pixels), with global
                normalisation statistics and blended overlaps, so any size fits in bounded
                memory (see :mod:`stylezoo.tiling`); ``"auto"`` tiles only images that do not
                fit in the free memory whole, with the largest tile that does; ``None``: the
                whole image at once.
            overlap: pixels by which neighbouring tiles overlap (blended smoothly).
            tile_statistics: where tiles get their image-wide normalisation statistics:
                ``"downscaled"`` (one forward pass of the image shrunk to a tile; fast, a
                small global difference from the whole-image output) or ``"exact"`` (streamed
                over the full-size tiles, one pass per normalisation layer; slower, matches
                the whole-image output closely).
            **options: the family's options (see its documentation).

        Returns:
            The same kind as the input (a path gives a PIL image), same size, same channel
            count; alpha passes through untouched.
        """
        given: Any = batch_size  # checked: callers pass anything
        if isinstance(given, bool) or not isinstance(given, numbers.Integral):
            raise InvalidOptionError(
                f"batch_size must be a positive integer, got {given!r} ({type(given).__name__})."
            )
        tile, overlap = tiling.check_arguments(tile, overlap, tile_statistics)
        # Checked and prepared once (style images read once), not once per batch.
        prepared_options = self._prepare(options)
        if tile is not None:
            return tiling.translate_images(
                self, image, prepared_options, tile, overlap, statistics=tile_statistics
            )
        if isinstance(image, (list, tuple)):
            return self._translate_many(list(image), int(given), prepared_options)
        self._check_memory_early(image, prepared_options)
        prepared = imagelib.prepare(image)
        out = self._call_prepared(prepared.rgb.unsqueeze(0), prepared_options)
        return prepared.restore(out[0])

    def _translate_many(
        self, items: Sequence[Any], batch_size: int, options: dict[str, Any]
    ) -> list[Any]:
        """``options`` are prepared options."""
        if batch_size < 1:
            raise InvalidOptionError(f"batch_size must be at least 1, got {batch_size}.")
        prepared = [imagelib.prepare(item, name=f"image {i}") for i, item in enumerate(items)]
        results: list[Any] = [None] * len(prepared)
        keys = [(tuple(p.rgb.shape), p.rgb.device) for p in prepared]
        for indices in batching.buckets(keys, batch_size):
            outputs = batching.translate_prepared(self, [prepared[i] for i in indices], options)
            for index, output in zip(indices, outputs, strict=True):
                results[index] = output
        return results

    # -- saving -----------------------------------------------------------------------------
    def state_dicts(self) -> dict[str, dict[str, torch.Tensor]]:
        """The weights of every network, by role."""
        return {role: net.state_dict() for role, net in self.networks.items()}

    def save_pretrained(
        self, directory: str | os.PathLike[str], *, overwrite: bool = False
    ) -> Path:
        """Write config.json, one safetensors file per role and a model card to ``directory``."""
        from .weights.directory import save_directory

        return save_directory(directory, self.spec, self.state_dicts(), overwrite=overwrite)

    def push_to_hub(
        self,
        repo_id: str,
        *,
        private: bool = False,
        revision: str | None = None,
        token: str | None = None,
        commit_message: str | None = None,
    ) -> Any:
        """Upload config.json, the safetensors and a model card to the Hub repo ``repo_id``.

        See :func:`stylezoo.push_to_hub`; returns its :class:`~stylezoo.publish.PushResult`.
        """
        from .publish import push_to_hub

        return push_to_hub(
            self,
            repo_id,
            private=private,
            revision=revision,
            token=token,
            commit_message=commit_message,
        )

    def __repr__(self) -> str:
        name = self.spec.name or self.spec.family
        return (
            f"<{type(self).__name__} {name!r} on {self.device}, {self.dtype}, "
            f"roles={list(self.networks)}>"
        )


def _first_tensor(networks: Mapping[str, nn.Module]) -> torch.Tensor:
    for network in networks.values():
        for parameter in network.parameters():
            return parameter
        for buffer in network.buffers():
            return buffer
    return torch.empty(0)


def _may_not_fit(device: torch.device, shape: tuple[int, ...]) -> bool:
    """Whether a batch of ``shape`` (NCHW) could need more than the free memory of
    ``device``: the free memory is known and less than :data:`MAX_BYTES_PER_PIXEL` per pixel."""
    available = devices.available_memory(device)
    pixels = math.prod(shape[:1] + shape[2:])
    return available is not None and pixels * MAX_BYTES_PER_PIXEL > available


def _on_meta(network: nn.Module) -> nn.Module:
    """A copy of ``network`` whose parameters and buffers are on the meta device (no data is
    copied: the deep copy is told to use empty meta tensors for them)."""
    memo: dict[int, Any] = {}
    for parameter in network.parameters():
        memo[id(parameter)] = nn.Parameter(
            torch.empty_like(parameter, device="meta"), requires_grad=False
        )
    for buffer in network.buffers():
        memo[id(buffer)] = torch.empty_like(buffer, device="meta")
    for module in network.modules():  # a compiled network's copy runs eagerly: no compiling
        compiled = getattr(module, "_compiled_call_impl", None)
        if compiled is not None:
            memo[id(compiled)] = None
    return copy.deepcopy(network, memo)


def _tensors_on_meta(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return torch.empty_like(value, device="meta")
    if isinstance(value, (list, tuple)):
        return type(value)(_tensors_on_meta(v) for v in value)
    if isinstance(value, dict):
        return {k: _tensors_on_meta(v) for k, v in value.items()}
    return value


# TorchDispatchMode is not annotated; FlopCounterMode (torch.utils.flop_counter) is built the
# same way.
class _PeakMemory(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """Adds up the bytes of the tensors ops create while they are alive; keeps the peak.

    Outputs that alias an input (views, in-place ops) own no new memory and are not counted.
    A tensor's bytes are released when its Python object is freed, which for the plain
    tensors of a forward pass is when the last reference (C++ ones included) goes.
    """

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.live = 0
        self.peak = 0

    def __torch_dispatch__(
        self,
        func: Any,
        types: Any,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
    ) -> Any:
        out = func(*args, **(kwargs or {}))
        if not any(ret.alias_info is not None for ret in func._schema.returns):
            for item in out if isinstance(out, (list, tuple)) else (out,):
                if isinstance(item, torch.Tensor):
                    self._count(item)
        return out

    def _count(self, tensor: torch.Tensor) -> None:
        size = tensor.untyped_storage().nbytes()
        self.live += size
        self.peak = max(self.peak, self.live)
        weakref.finalize(tensor, self._release, size)

    def _release(self, size: int) -> None:
        self.live -= size


_is_out_of_memory = devices.is_out_of_memory


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"  # pragma: no cover


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    return f"a {type(value).__name__}"
