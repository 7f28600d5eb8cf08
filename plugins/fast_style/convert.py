"""Official fast-neural-style ``.pth`` files → stylezoo state dicts."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from stylezoo.errors import CheckpointError
from stylezoo.weights import drop_keys, read_checkpoint

#: The deprecated InstanceNorm buffers of the PyTorch-0.3-era official files: ``running_mean``
#: and ``running_var`` of a module named ``in<digits>`` (``in1`` … ``in5``, ``res<n>.in1/2``),
#: 30 keys in each official file. The official eval code deletes the same keys before its
#: strict load. ``num_batches_tracked`` is not in those files and is deliberately not
#: listed: anything else unexpected is left for the strict load to report by name.
DEPRECATED_KEYS = r"(?:.*\.)?in\d+\.running_(?:mean|var)"

_ARCHIVE_MEMBER = re.compile(r"(?:^|/)([^/]+)\.pth$")


def convert(
    files: Mapping[str, Path], config: Mapping[str, Any]
) -> dict[str, dict[str, torch.Tensor]]:
    """Read an official TransformerNet file and drop its deprecated InstanceNorm buffers.

    Args:
        files: ``{"model": path}``, e.g. ``saved_models/candy.pth`` extracted from the
            official ``saved_models.zip``.
        config: the (empty) build configuration; TransformerNet has no options.

    Returns:
        ``{"model": state_dict}`` with the official key names unchanged.
    """
    path = Path(files["model"])
    _refuse_download_archive(path)
    return {"model": drop_keys(read_checkpoint(path), DEPRECATED_KEYS)}


def _refuse_download_archive(path: Path) -> None:
    """Explain what to do when given the whole ``saved_models.zip`` instead of one model.

    A ``.pth`` written by a recent torch is a zip too, but its members are ``<name>/data.pkl``
    and tensor records, never ``*.pth`` files, so the two cannot be confused.
    """
    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as archive:
            members = [name for name in archive.namelist() if _ARCHIVE_MEMBER.search(name)]
    except (zipfile.BadZipFile, OSError):
        return  # let read_checkpoint report the unreadable file
    if members:
        styles = ", ".join(sorted(members))
        raise CheckpointError(
            f"{str(path)!r} is an archive of several models ({styles}), not one checkpoint. "
            "Extract the style you want (e.g. `unzip saved_models.zip saved_models/candy.pth`) "
            "and convert that file."
        )
