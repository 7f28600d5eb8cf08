"""Fast-path settings of a loaded translator: memory format, ``torch.compile``, CUDA transfers.

:func:`stylezoo.load` and :func:`stylezoo.create_model` take ``memory_format`` and
``compile``; both are decided once, at load time, and apply to every later call:

* ``memory_format="auto"`` (the default) runs the networks on channels-last (NHWC) tensors
  where the family's translator says that is faster (``preferred_memory_format``; every
  built-in family except diffusion, not measured). The 4-D weights take the same layout at
  the first call, since a oneDNN convolution copies a weight in the other layout every time.
  oneDNN and cuDNN convolutions work in NHWC natively; NCHW inputs are reordered around
  every convolution. The networks' own layers keep the layout (instance norm goes through
  ``group_norm``, see :class:`stylezoo.nn.InstanceNorm`). Results are the same up to float
  rounding; outputs are handed back in the caller's layout.
* ``compile=True`` (or a ``torch.compile`` mode such as ``"max-autotune"``, which on CUDA also
  captures CUDA graphs) compiles every network in place, so state-dict keys and
  ``save_pretrained`` are unchanged. The first call at each new size pays the compilation
  (tens of seconds on a small CPU); see ``docs/benchmarks.md`` for when it pays.
* On CUDA, inputs from the CPU go through pinned memory with a non-blocking copy, and
  loading a model on CUDA turns on ``torch.backends.cudnn.benchmark`` (cuDNN picks the
  fastest convolution algorithm per input shape; a process-wide setting).

torch is imported here: this module is only imported once a model is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from .errors import InvalidOptionError

#: ``memory_format`` names and what they mean; ``"auto"`` is the translator's preference.
MEMORY_FORMATS: Mapping[str, torch.memory_format] = {
    "channels_last": torch.channels_last,
    "nhwc": torch.channels_last,
    "contiguous": torch.contiguous_format,
    "channels_first": torch.contiguous_format,
    "nchw": torch.contiguous_format,
}

#: ``compile`` values besides ``True``/``False``: the modes of ``torch.compile``.
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def resolve_memory_format(value: Any, preferred: str = "channels_last") -> torch.memory_format:
    """``"auto"``/``None`` → ``preferred``; a name of :data:`MEMORY_FORMATS` or a
    ``torch.memory_format`` (``channels_last`` or ``contiguous_format``) as it is."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "auto"):
        value = preferred
    if value in (torch.channels_last, torch.contiguous_format):
        resolved: torch.memory_format = value
        return resolved
    if isinstance(value, str) and value.strip().lower() in MEMORY_FORMATS:
        return MEMORY_FORMATS[value.strip().lower()]
    raise InvalidOptionError(
        f"Unknown memory_format {value!r}; use 'auto' (the family's faster layout), "
        "'channels_last' or 'contiguous'."
    )


def memory_format_name(memory_format: torch.memory_format) -> str:
    """``"channels_last"`` or ``"contiguous"``."""
    return "channels_last" if memory_format == torch.channels_last else "contiguous"


def resolve_compile(value: Any) -> str | None:
    """``False``/``None`` → ``None`` (eager); ``True`` → ``"default"``; a mode name as it is."""
    if value is None or value is False:
        return None
    if value is True:
        return "default"
    if isinstance(value, str) and value in COMPILE_MODES:
        return value
    raise InvalidOptionError(
        f"compile must be True, False or a torch.compile mode ({', '.join(COMPILE_MODES)}); "
        f"got {value!r}."
    )


def compile_networks(networks: Mapping[str, nn.Module], mode: str) -> None:
    """``torch.compile`` every network in place (``nn.Module.compile``): its class, its
    parameters and its state-dict keys stay as they are. Compilation happens at the first
    call with each new input shape.

    The ``"default"`` mode on a CPU network also freezes the weights into the compiled code
    (inductor's ``freezing``): convolution weights are pre-packed once in oneDNN's layout and
    activations fuse into the convolutions. Weights changed after the first call are then not
    seen by the compiled code; compile again (load the model again) after changing them.
    """
    for network in networks.values():
        on_cpu = all(p.device.type == "cpu" for p in network.parameters())
        if mode == "default" and on_cpu:
            network.compile(options={"freezing": True})
        else:
            network.compile(mode=None if mode == "default" else mode)


def prepare_device(device: torch.device) -> None:
    """Process-wide settings for fast inference on ``device`` (cuDNN autotuning on CUDA)."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True


def place_batch(
    batch: torch.Tensor,
    device: torch.device,
    dtype: torch.dtype,
    memory_format: torch.memory_format,
) -> torch.Tensor:
    """``batch`` on ``device`` in ``dtype`` and ``memory_format``, in as few copies as it takes.

    A CPU batch bound for CUDA is pinned and copied without blocking the host (the copy is
    ordered before the kernels that use it on the same stream).
    """
    if device.type == "cuda" and batch.device.type == "cpu":
        pinned = batch if batch.is_pinned() else batch.pin_memory()
        batch = pinned.to(device, non_blocking=True)
    return batch.to(device=device, dtype=dtype, memory_format=memory_format)


def layout_of(tensor: torch.Tensor) -> torch.memory_format:
    """``channels_last`` for an NHWC-strided 4-D tensor that is not also NCHW-contiguous,
    else ``contiguous_format``: the layout results are handed back in."""
    if (
        tensor.ndim == 4
        and not tensor.is_contiguous()
        and tensor.is_contiguous(memory_format=torch.channels_last)
    ):
        return torch.channels_last
    return torch.contiguous_format


def configure(translator: Any, *, memory_format: Any = "auto", compile: Any = False) -> None:
    """Apply the load-time settings of :func:`stylezoo.load` to a fresh translator.

    Translators built on :class:`~stylezoo.translator.ImageTranslator` (every built-in
    family) take both settings; another :class:`~stylezoo.translator.Translator` is left as
    it is, but bad values are an error either way.
    """
    mode = resolve_compile(compile)
    resolve_memory_format(memory_format)
    if not hasattr(translator, "memory_format") or not hasattr(translator, "networks"):
        return
    translator.to(memory_format=memory_format)
    prepare_device(translator.device)
    if mode is not None:
        compile_networks(translator.networks, mode)
