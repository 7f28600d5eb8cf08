"""Device and dtype names as users write them, resolved to torch objects."""

from __future__ import annotations

from typing import Any

import torch

from .errors import DeviceError

_DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "float": torch.float32,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
    "half": torch.float16,
}


def resolve_device(device: Any) -> torch.device:
    """``"auto"`` picks CUDA, then MPS, then the CPU; anything else must be available."""
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise DeviceError(
            f"Unknown device {device!r}; use 'auto', 'cpu', 'cuda', 'cuda:1' or 'mps'."
        ) from exc
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(
                f"Device {device!r} was requested but CUDA is not available "
                "here. Use device='cpu' or device='auto'."
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise DeviceError(
                f"Device {device!r} does not exist: this machine has "
                f"{torch.cuda.device_count()} CUDA device(s)."
            )
    if resolved.type == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise DeviceError(f"Device {device!r} was requested but MPS is not available here.")
    return resolved


def resolve_dtype(dtype: Any) -> torch.dtype:
    """A floating dtype from a torch dtype or a name such as ``"bfloat16"``; default float32."""
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        if not dtype.is_floating_point:
            raise DeviceError(
                f"dtype {dtype} is not a floating dtype; use float32, bfloat16 or float16."
            )
        return dtype
    name = str(dtype).removeprefix("torch.")
    if name not in _DTYPES:
        raise DeviceError(f"Unknown dtype {dtype!r}; use 'float32', 'bfloat16' or 'float16'.")
    return _DTYPES[name]
