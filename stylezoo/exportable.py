"""What a translator hands to :func:`stylezoo.export`: a module and its example inputs.

Every exported graph takes the image as an NCHW float32 batch of RGB values in [0, 1] and
returns one of the same shape and range: the pre- and post-processing of the raw call
``translator(batch, **options)`` (the mapping to the network's range, the padding to the
network's multiple, the crop back and the clamp) are part of the graph. Families whose
options are images or weights (a style image, a blend of styles) add graph inputs for them.

The contract (see docs/export.md): :meth:`stylezoo.ImageTranslator.export_graph` returns an
:class:`ExportGraph`. The default, :func:`raw_call_graph`, exports the raw call with the
given options fixed, which is all a family without image-valued options needs. Others
subclass :class:`ExportModule` and call :func:`run_raw_call` from its ``forward``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from .errors import ExportError

if TYPE_CHECKING:
    from .translator import ImageTranslator

#: The name of the image input and of the output of every exported graph.
IMAGE_INPUT = "image"
OUTPUT = "output"


@dataclass(frozen=True)
class ExportInput:
    """A graph input besides the image.

    Attributes:
        name: the input's name in the graph (``style``, ``style_weights``).
        example: a tensor of the right dtype and shape, used to trace the graph.
        dynamic: the axes that may vary, axis → name; with ``dynamic_size=False`` only the
            axes named here vary (the image's height and width are fixed then).
        help: one line for the docs and the graph's metadata: shape, range, meaning.
    """

    name: str
    example: torch.Tensor
    dynamic: Mapping[int, str] = field(default_factory=dict)
    help: str = ""


@dataclass(frozen=True)
class ExportGraph:
    """What :func:`stylezoo.export` traces: ``module(image, *(i.example for i in inputs))``.

    Attributes:
        module: an ``nn.Module`` whose ``forward(image, *inputs)`` returns the output batch,
            NCHW float in [0, 1], the image's size.
        inputs: the graph inputs after the image, in ``forward``'s order.
        options: the translate options fixed in the graph (for its metadata), JSON-friendly.
    """

    module: nn.Module
    inputs: Sequence[ExportInput] = ()
    options: Mapping[str, Any] = field(default_factory=dict)


class ExportModule(nn.Module):
    """Base of the modules of :class:`ExportGraph`: holds a translator's networks (so the
    exporter sees their weights) and the translator (for its ``forward`` and io)."""

    def __init__(self, translator: ImageTranslator, options: Mapping[str, Any]) -> None:
        super().__init__()
        self.networks = nn.ModuleDict(translator.networks)
        # A plain attribute, not a submodule: the networks are registered once, above.
        object.__setattr__(self, "translator", translator)
        self.options = dict(options)

    translator: ImageTranslator

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return run_raw_call(self.translator, image, self.options)


def raw_call_graph(translator: ImageTranslator, options: Mapping[str, Any]) -> ExportGraph:
    """The default export: the raw call with ``options`` checked, prepared and fixed.

    Options that hold tensors after :meth:`~stylezoo.ImageTranslator.prepare_options` are
    fixed in the graph as constants.
    """
    from .family import check_options

    checked = check_options(translator.options, options, f"{translator.spec.family} option")
    prepared = translator.prepare_options(checked)
    return ExportGraph(
        ExportModule(translator, prepared), options=plain_options(options, translator)
    )


def plain_options(options: Mapping[str, Any], translator: ImageTranslator) -> dict[str, Any]:
    """The options given (defaults filled in) as JSON-friendly values, for the metadata."""
    values: dict[str, Any] = {}
    for name, option in translator.options.items():
        value = options.get(name, option.default)
        if value is None or isinstance(value, (bool, int, float, str)):
            values[name] = value
        elif isinstance(value, Mapping):
            values[name] = {str(k): v for k, v in value.items()}
        elif isinstance(value, (list, tuple)) and all(
            isinstance(v, (bool, int, float, str)) for v in value
        ):
            values[name] = list(value)
        else:
            values[name] = f"<{type(value).__name__}>"
    return values


def run_raw_call(
    translator: ImageTranslator, image: torch.Tensor, options: Mapping[str, Any]
) -> torch.Tensor:
    """``translator(image, **options)`` written so that it traces for any image size.

    ``options`` are prepared options (as :meth:`~stylezoo.ImageTranslator.forward` takes
    them). The padding is computed from the traced shape, not from Python numbers fixed
    when tracing: a graph exported with dynamic sizes pads every size as the raw call does.
    Sides must be at least :func:`export_min_size` (one reflect pad, not several).
    """
    io = translator.spec.io
    low, high = io.range
    source = image * (high - low) + low
    multiple = io.multiple if io.sizing == "pad" else 1
    height, width = image.shape[-2], image.shape[-1]
    x = pad_to_multiple(image, multiple)
    y = translator.forward(x * (high - low) + low, source=source, **options)
    y = (y - low) / (high - low)
    return y[:, :, :height, :width].clamp(0, 1)


def pad_to_multiple(batch: torch.Tensor, multiple: int) -> torch.Tensor:
    """Reflect-pad the bottom and right of ``batch`` to the next multiple of ``multiple``.

    One pad whose size follows the traced shape (zero when it already fits), as
    :func:`stylezoo.image.pad_to_multiple` does for sides of at least ``multiple``.
    """
    if multiple == 1:
        return batch
    height, width = batch.shape[-2], batch.shape[-1]
    pad_h = (multiple - height % multiple) % multiple
    pad_w = (multiple - width % multiple) % multiple
    return F.pad(batch, (0, pad_w, 0, pad_h), mode="reflect")


def export_min_size(translator: ImageTranslator) -> int:
    """The smallest side an exported graph takes: the io's ``min_size``, and the padding
    multiple (so one reflect pad suffices, as :func:`pad_to_multiple` does it)."""
    io = translator.spec.io
    return max(io.min_size, io.multiple if io.sizing == "pad" else 1)


def unsupported(translator: ImageTranslator, what: str, fix: str) -> ExportError:
    """An :class:`ExportError` for an option combination a family cannot export."""
    name = translator.spec.name or translator.spec.family
    return ExportError(f"Cannot export {name} with {what}: {fix}")
