"""Reading official checkpoints safely and loading state dicts strictly."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import torch
from torch import nn

from .errors import CheckpointError, WeightsError
from .integrity import sha256_file  # noqa: F401  (re-exported: stylezoo.weights.sha256_file)


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
            f"{_first_line(exc)}). It may be truncated, not a .pth file, or contain objects "
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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else ""


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


def check_keys(module: nn.Module, state: Mapping[str, torch.Tensor], label: str) -> None:
    """Raise :class:`WeightsError` naming missing, unexpected and mis-shaped keys."""
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong_shape = [
        f"{k}: file {tuple(state[k].shape)} vs network {tuple(expected[k].shape)}"
        for k in expected
        if k in state and state[k].shape != expected[k].shape
    ]
    if missing or unexpected or wrong_shape:
        parts = []
        if missing:
            parts.append(f"missing keys {_short(missing)}")
        if unexpected:
            parts.append(f"unexpected keys {_short(unexpected)}")
        if wrong_shape:
            parts.append(f"shape mismatches {_short(wrong_shape)}")
        raise WeightsError(
            f"The weights do not fit the {label} network: {'; '.join(parts)}. They belong to "
            "another architecture or configuration (check the config, e.g. netG, ngf, norm, "
            "dropout), or the file is incomplete."
        )


def _short(items: list[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return f"[{shown}{f', … {len(items) - limit} more' if len(items) > limit else ''}]"


def load_strict(
    build: Callable[[], Mapping[str, nn.Module]],
    state_dicts: Mapping[str, Mapping[str, torch.Tensor]],
    *,
    device: torch.device | Mapping[str, torch.device],
    dtype: torch.dtype,
    label: str,
) -> dict[str, nn.Module]:
    """Build networks without initialising them and assign the given weights.

    Networks are built on the ``meta`` device (no memory, no random init) and the tensors are
    assigned as they are (already on ``device``, or on ``device[role]`` when it is a mapping),
    cast to ``dtype`` for floating tensors. Keys must match exactly.
    """
    with torch.device("meta"):
        networks = dict(build())
    if set(networks) != set(state_dicts):
        raise WeightsError(
            f"{label}: weights for roles {sorted(state_dicts)} but the network "
            f"has roles {sorted(networks)}."
        )
    for role, network in networks.items():
        state = state_dicts[role]
        check_keys(network, state, f"{label} {role}" if len(networks) > 1 else label)
        target = device[role] if isinstance(device, Mapping) else device
        cast = {
            k: (v.to(device=target, dtype=dtype) if v.is_floating_point() else v.to(device=target))
            for k, v in state.items()
        }
        network.load_state_dict(cast, strict=True, assign=True)
        _check_materialised(network, label)
    return networks


def _check_materialised(network: nn.Module, label: str) -> None:
    """Every tensor must come from the weights: non-persistent buffers would stay on meta."""
    leftovers = [
        name for name, t in (*network.named_parameters(), *network.named_buffers()) if t.is_meta
    ]
    if leftovers:
        raise WeightsError(
            f"{label}: tensors {leftovers} are not in the state dict, so loading cannot fill "
            "them. Register them as persistent buffers (the family's code needs a fix)."
        )
