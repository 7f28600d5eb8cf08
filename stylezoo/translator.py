"""The :class:`Translator` protocol and :class:`ImageTranslator`, the base that owns image I/O.

Families subclass :class:`ImageTranslator` and implement :meth:`ImageTranslator.forward` on
tensors in the network's own value range; the base turns every supported input kind into
such tensors and back (see :mod:`stylezoo.image`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import torch
from torch import nn

from . import image as imagelib
from .devices import resolve_device, resolve_dtype
from .errors import InvalidImageError, InvalidOptionError
from .family import ModelSpec, Option, check_options


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
    """

    options: ClassVar[Mapping[str, Option]] = {}

    def __init__(self, networks: Mapping[str, nn.Module], spec: ModelSpec) -> None:
        self.networks = dict(networks)
        self.spec = spec
        for network in self.networks.values():
            network.eval().requires_grad_(False)

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

    def run(self, role: str, x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        """Run the network ``role`` on ``x``, first moved to that network's device and dtype.

        Families whose networks may sit on different devices (``device_map`` of
        :func:`stylezoo.load`) call this instead of ``self.networks[role](x)``; the result
        stays on the network's device. Extra arguments are passed to the network as they are.
        """
        network = self.networks[role]
        anchor = _first_tensor({role: network})
        output: torch.Tensor = network(x.to(anchor.device, anchor.dtype), *args, **kwargs)
        return output

    # -- devices ----------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return _first_tensor(self.networks).device

    @property
    def dtype(self) -> torch.dtype:
        return _first_tensor(self.networks).dtype

    def to(self, device: Any = None, dtype: Any = None) -> ImageTranslator:
        """Move and/or cast every network in place; returns ``self``."""
        target = resolve_device(device) if device is not None else None
        cast = resolve_dtype(dtype) if dtype is not None else None
        for network in self.networks.values():
            network.to(device=target, dtype=cast)
        return self

    # -- running ----------------------------------------------------------------------------
    def __call__(self, batch: torch.Tensor, **options: Any) -> torch.Tensor:
        """Translate an NCHW float batch in [0, 1] and return one, clamped to [0, 1].

        No resizing: sizes the network cannot take are reflect-padded to its multiple and
        cropped back; acceptable sizes are passed as they are. The result has the input's
        dtype and device.
        """
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
        checked = check_options(self.options, options, f"{self.spec.family} option")
        options = self.prepare_options(checked)
        io = self.spec.io
        low, high = io.range
        with torch.inference_mode():
            source = batch.to(self.device, torch.float32) * (high - low) + low
            x = batch.to(self.device, self.dtype)
            x, size = imagelib.pad_for_network(x, io.multiple, io.min_size, io.sizing)
            y = self.forward(x * (high - low) + low, source=source, **options)
            y = imagelib.crop((y - low) / (high - low), size).clamp_(0, 1)
        return y.to(batch.device, batch.dtype)

    def translate(self, image: Any, *, batch_size: int = 1, **options: Any) -> Any:
        """Translate one image, or a list of images, keeping each one's kind.

        Args:
            image: a PIL image, a numpy array (HW/HWC; uint8, uint16 or float in [0, 1]), a
                float tensor (CHW/NCHW in [0, 1]), a path, or a list of those.
            batch_size: how many consecutive same-sized images of a list run together.
            **options: the family's options (see its documentation).

        Returns:
            The same kind as the input (a path gives a PIL image), same size, same channel
            count; alpha passes through untouched.
        """
        if isinstance(image, (list, tuple)):
            return self._translate_many(list(image), batch_size, options)
        prepared = imagelib.prepare(image)
        out = self(prepared.rgb.unsqueeze(0), **options)
        return prepared.restore(out[0])

    def _translate_many(
        self, items: Sequence[Any], batch_size: int, options: dict[str, Any]
    ) -> list[Any]:
        if batch_size < 1:
            raise InvalidOptionError(f"batch_size must be at least 1, got {batch_size}.")
        prepared = [imagelib.prepare(item, name=f"image {i}") for i, item in enumerate(items)]
        results: list[Any] = []
        start = 0
        while start < len(prepared):
            shape = prepared[start].rgb.shape
            end = start + 1
            while (
                end < len(prepared)
                and end - start < batch_size
                and prepared[end].rgb.shape == shape
                and prepared[end].rgb.device == prepared[start].rgb.device
            ):
                end += 1
            batch = torch.stack([p.rgb for p in prepared[start:end]])
            out = self(batch, **options)
            results.extend(p.restore(o) for p, o in zip(prepared[start:end], out, strict=True))
            start = end
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


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    return f"a {type(value).__name__}"
