"""Official fast-neural-style ``.pth`` files → stylezoo state dicts."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping
from pathlib import Path

import torch

from stylezoo.errors import CheckpointError
from stylezoo.weights.checkpoint import read_checkpoint

_ARCHIVE_MEMBER = re.compile(r"(?:^|/)([^/]+)\.pth$")


def convert(files: Mapping[str, Path]) -> dict[str, dict[str, torch.Tensor]]:
    """Read an official TransformerNet file.

    The PyTorch-0.3-era official files carry ``running_mean``/``running_var`` for every
    InstanceNorm (30 keys; the official eval code deletes them before its strict load); the
    core drops those for every family. Anything else unexpected is left for the strict load
    to report by name.

    Args:
        files: ``{"model": path}``, e.g. ``saved_models/candy.pth`` extracted from the
            official ``saved_models.zip``.

    Returns:
        ``{"model": state_dict}`` with the official key names unchanged.
    """
    path = Path(files["model"])
    _refuse_download_archive(path)
    return {"model": read_checkpoint(path)}


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
