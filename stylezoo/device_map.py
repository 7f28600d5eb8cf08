"""Which device each network of a model lands on: ``device=`` and ``device_map=`` of ``load``.

``device_map`` is one device for every network, ``"auto"``, or a dict role → device for
multi-network families (e.g. AdaIN's encoder on one GPU and its decoder on another, or the
encoder on the CPU). Roles a dict leaves out go to ``device``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InvalidOptionError

if TYPE_CHECKING:
    import torch


def place_roles(
    files: Mapping[str, Path], *, device: Any = None, device_map: Any = None
) -> dict[str, torch.device]:
    """The device of every role in ``files``.

    Args:
        files: each role's weights file (its size guides ``"auto"``).
        device: the device of every role ``device_map`` does not place; ``None`` is the CPU.
        device_map: ``None``, a device, ``"auto"``, or a dict role → device.

    ``"auto"`` puts everything on the best device (CUDA, then MPS, then CPU); with several
    CUDA devices, networks are spread over them, largest first, each onto the GPU holding the
    fewest bytes so far.
    """
    from .devices import resolve_device

    roles = list(files)
    if isinstance(device_map, Mapping):
        unknown = sorted(set(map(str, device_map)) - set(roles))
        if unknown:
            raise InvalidOptionError(
                f"device_map names role(s) {unknown}, but this model has roles {roles}. Use "
                "those role names as keys, e.g. {"
                + ", ".join(f"{r!r}: 'cpu'" for r in roles)
                + "}."
            )
        default = resolve_device(device or "cpu")
        return {
            role: resolve_device(device_map[role]) if role in device_map else default
            for role in roles
        }
    if device_map is not None and device is not None:
        raise InvalidOptionError(
            f"Pass either device={device!r} or device_map={device_map!r}, not both (device is "
            "the default for roles a dict device_map leaves out)."
        )
    if device_map == "auto":
        return _auto(files)
    target = resolve_device(device_map if device_map is not None else device or "cpu")
    return {role: target for role in roles}


def _auto(files: Mapping[str, Path]) -> dict[str, torch.device]:
    import torch

    from .devices import resolve_device

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count < 2 or len(files) < 2:
        best = resolve_device("auto")
        return {role: best for role in files}
    load = [0] * count
    placement = {}
    for role in sorted(files, key=lambda r: files[r].stat().st_size, reverse=True):
        index = min(range(count), key=load.__getitem__)
        load[index] += files[role].stat().st_size
        placement[role] = torch.device("cuda", index)
    return {role: placement[role] for role in files}
