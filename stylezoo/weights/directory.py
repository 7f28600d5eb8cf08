"""The on-disk model format: ``config.json`` + ``<role>.safetensors`` + ``README.md``.

The same layout is written by :func:`save_directory` (used by ``save_pretrained``,
``convert``, the converted-weights cache and training) and read by :func:`local_model`, so
one loader serves local directories, converted checkpoints and Hub downloads.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .._version import __version__
from ..errors import InvalidModelDirectoryError
from ..family import ModelSpec
from ..plugins import get_family

if TYPE_CHECKING:
    import torch

    from .loading import Fitted

CONFIG_NAME = "config.json"
CARD_NAME = "README.md"


def weights_name(role: str) -> str:
    return f"{role}.safetensors"


def is_model_directory(path: str | os.PathLike[str]) -> bool:
    return Path(path).is_dir() and (Path(path) / CONFIG_NAME).is_file()


def read_spec(directory: str | os.PathLike[str]) -> ModelSpec:
    """Read and validate ``config.json`` of a saved model."""
    directory = Path(directory)
    config_path = directory / CONFIG_NAME
    if not directory.is_dir():
        raise InvalidModelDirectoryError(f"{str(directory)!r} is not a directory.")
    if not config_path.is_file():
        raise InvalidModelDirectoryError(
            f"{str(directory)!r} has no {CONFIG_NAME}, so it is not a model saved by stylezoo. "
            "Convert official checkpoints with `stylezoo convert FAMILY CKPT -o DIR`."
        )
    try:
        data = json.loads(config_path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("family"), str):
            raise ValueError("it has no 'family' string")
        return ModelSpec.from_json(data)
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidModelDirectoryError(
            f"{str(config_path)!r} is not a valid stylezoo config ({exc}). Re-save the model "
            "with save_pretrained() or re-run the conversion."
        ) from exc


@dataclass(frozen=True)
class LocalModel:
    """A model whose files are on this machine: what :func:`~.loading.load_files` needs.

    Attributes:
        spec: the parsed ``config.json``.
        files: the weights file of each role.
        directory: where ``config.json`` is (a saved directory, a Hub snapshot, the cache).
        origin: where it came from, for messages (``hf-hub:owner/name@commit``, a path...).
        fitted: the weights already in memory and checked, when they were just converted:
            loading then assigns them instead of reading the files back.
    """

    spec: ModelSpec
    files: Mapping[str, Path]
    directory: Path
    origin: str = ""
    fitted: Fitted | None = None


def role_names(family_name: str) -> tuple[str, ...]:
    """The weight roles of an installed family (``("model",)`` for one network)."""
    return get_family(family_name).roles


def local_model(directory: str | os.PathLike[str]) -> LocalModel:
    """Read a saved directory's config and find each role's weights file."""
    directory = Path(directory)
    spec = read_spec(directory)
    roles = role_names(spec.family)
    files = {}
    for role in roles:
        path = directory / weights_name(role)
        if not path.is_file():
            raise InvalidModelDirectoryError(
                f"{str(directory)!r} has no {weights_name(role)} (the {spec.family} family "
                f"needs {', '.join(weights_name(r) for r in roles)}). Re-save or "
                "re-download the model."
            )
        files[role] = path
    return LocalModel(spec=spec, files=files, directory=directory, origin=str(directory))


def save_directory(
    directory: str | os.PathLike[str],
    spec: ModelSpec,
    state_dicts: Mapping[str, Mapping[str, torch.Tensor]],
    *,
    overwrite: bool = False,
) -> Path:
    """Write a model directory atomically: all files appear together or none do."""
    from safetensors.torch import save_file

    from ..card import model_card

    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise InvalidModelDirectoryError(f"{str(directory)!r} exists and is not a directory.")
    if directory.exists() and any(directory.iterdir()) and not overwrite:
        raise InvalidModelDirectoryError(
            f"{str(directory)!r} already exists and is not empty. Choose another directory or "
            "pass overwrite=True (--overwrite on the command line)."
        )
    spec = replace(spec, version=__version__)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        # mkdtemp makes a private (0700) folder; the model directory gets ordinary permissions.
        os.chmod(staging, 0o777 & ~_current_umask())
        for role, state in state_dicts.items():
            tensors = {k: v.detach().contiguous().cpu() for k, v in state.items()}
            target = staging / weights_name(role)
            save_file(
                tensors,
                str(target),
                metadata={"format": "pt", "stylezoo_family": spec.family, "role": role},
            )
            os.chmod(target, 0o666 & ~_current_umask())  # safetensors writes 0600
        (staging / CONFIG_NAME).write_text(
            json.dumps(spec.to_json(), indent=2) + "\n", encoding="utf-8"
        )
        (staging / CARD_NAME).write_text(model_card(spec, list(state_dicts)), encoding="utf-8")
        if directory.exists():
            backup = directory.with_name(f".{directory.name}.old-{os.getpid()}")
            directory.rename(backup)
            staging.rename(directory)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            staging.rename(directory)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return directory


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
