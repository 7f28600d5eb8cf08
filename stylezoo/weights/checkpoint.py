"""Reading official ``.pth`` checkpoints without running code, and small key helpers that
family converters share."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch

from ..errors import CheckpointError
from .integrity import first_line


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Read an official ``.pth`` state dict (zip or legacy format) without unpickling code.

    Only ``torch.load(..., weights_only=True)`` touches the file, on the CPU. A file holding
    anything but a flat ``{name: tensor}`` dict is refused.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"Checkpoint {str(path)!r} does not exist. Check the path.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for bad files
        raise CheckpointError(
            f"{str(path)!r} could not be read as a PyTorch checkpoint ({type(exc).__name__}: "
            f"{first_line(exc)}). It may be truncated, not a .pth file, or contain objects "
            "other than tensors; re-download the official file."
        ) from exc
    if (
        isinstance(state, Mapping)
        and "state_dict" in state
        and isinstance(state["state_dict"], Mapping)
    ):
        state = state["state_dict"]
    if not isinstance(state, Mapping) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise CheckpointError(
            f"{str(path)!r} does not hold a plain state dict of tensors (found "
            f"{type(state).__name__}). Pass the official generator weights file."
        )
    return {key: value for key, value in state.items()}


def drop_keys(state: Mapping[str, torch.Tensor], pattern: str) -> dict[str, torch.Tensor]:
    """A copy of ``state`` without keys fully matching the regular expression ``pattern``."""
    regex = re.compile(pattern)
    return {k: v for k, v in state.items() if not regex.fullmatch(k)}


def strip_prefix(
    state: Mapping[str, torch.Tensor], prefixes: Iterable[str] = ("module.", "_orig_mod.")
) -> dict[str, torch.Tensor]:
    """Remove DataParallel / torch.compile wrappers' key prefixes."""
    out = {}
    for key, value in state.items():
        for prefix in prefixes:
            while key.startswith(prefix):
                key = key[len(prefix) :]
        out[key] = value
    return out
