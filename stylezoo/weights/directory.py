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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..errors import (
    InvalidModelConfigError,
    InvalidModelDirectoryError,
    InvalidOptionError,
    OutputError,
    UnknownFamilyError,
    WeightsError,
)
from ..family import ModelSpec
from ..plugins import get_family
from .integrity import check_safetensors, is_sha256, sha256_file

if TYPE_CHECKING:
    import torch

    from .loading import Fitted

CONFIG_NAME = "config.json"
CARD_NAME = "README.md"


def weights_name(role: str) -> str:
    return f"{role}.safetensors"


def is_model_directory(path: str | os.PathLike[str]) -> bool:
    return Path(path).is_dir() and (Path(path) / CONFIG_NAME).is_file()


#: config.json files are small; a larger one is not a stylezoo config.
MAX_CONFIG_BYTES = 16 * 1024 * 1024
#: Keys of config.json that hold text, and those that hold objects.
_TEXT_KEYS = ("family", "name", "description", "license", "paper", "homepage", "stylezoo_version")
_OBJECT_KEYS = ("config", "io", "provenance", "weights")


def read_spec(directory: str | os.PathLike[str]) -> ModelSpec:
    """Read and validate ``config.json`` of a saved model.

    Raises:
        InvalidModelDirectoryError: no directory, no ``config.json``, not JSON, or a key of
            the wrong type or value (the message names the file and the key).
        InvalidModelConfigError: a build option the family does not accept.
    """
    return _read_config(directory)[0]


def _read_config(directory: str | os.PathLike[str]) -> tuple[ModelSpec, dict[str, Any]]:
    """The spec of ``config.json`` and the JSON object itself."""
    directory = Path(directory)
    config_path = directory / CONFIG_NAME
    if not directory.is_dir():
        raise InvalidModelDirectoryError(f"{str(directory)!r} is not a directory.")
    if not config_path.is_file():
        raise InvalidModelDirectoryError(
            f"{str(directory)!r} has no {CONFIG_NAME}, so it is not a model saved by stylezoo. "
            "Convert official checkpoints with `stylezoo convert FAMILY CKPT -o DIR`."
        )
    where = str(config_path)
    redo = "Re-save the model with save_pretrained() or re-run the conversion."
    try:
        if config_path.stat().st_size > MAX_CONFIG_BYTES:
            raise ValueError(f"it is larger than {MAX_CONFIG_BYTES // 2**20} MiB")
        data = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise InvalidModelDirectoryError(
            f"{where!r} is not a valid stylezoo config (not readable JSON: {exc}). {redo}"
        ) from exc
    problem = _config_problem(data)
    if problem is None:
        try:
            spec = ModelSpec.from_json(data)
        except (ValueError, KeyError, TypeError) as exc:
            problem = f"'io': {exc}"
    if problem is not None:
        raise InvalidModelDirectoryError(
            f"{where!r} is not a valid stylezoo config ({problem}). {redo}"
        )
    _check_build_config(spec, where)
    return spec, data


def _config_problem(data: Any) -> str | None:
    """What is wrong with the JSON of a config.json, naming the key, or ``None``."""
    if not isinstance(data, dict):
        return f"it holds a JSON {_json_type(data)}, not an object"
    if "family" not in data:
        return "it has no 'family' string"
    for key in _TEXT_KEYS:
        if key in data and not isinstance(data[key], str):
            return f"{key!r} must be a string, got {_shown(data[key])}"
    for key in _OBJECT_KEYS:
        if key in data and not isinstance(data[key], dict):
            return f"{key!r} must be a JSON object, got {_shown(data[key])}"
    value = data.get("io", {}).get("range")
    if value is not None and not (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    ):
        return f"'io' 'range' must be [low, high] (two numbers), got {_shown(value)}"
    for role, entry in data.get("weights", {}).items():
        if not isinstance(entry, dict) or not is_sha256(entry.get("sha256")):
            return f"'weights' {role!r} must be {{'file': ..., 'sha256': <64 hex>}}, got {entry!r}"
    return None


def _check_build_config(spec: ModelSpec, where: str) -> None:
    """The build options must be ones the family accepts (when the family is installed)."""
    try:
        family = get_family(spec.family)
    except UnknownFamilyError:
        return  # reported where the family is needed, with what to install
    try:
        family.complete_config(spec.config)
    except InvalidOptionError as exc:
        raise InvalidModelConfigError(
            f"{where!r} 'config': {exc} Fix the value in the file, or re-save or re-convert "
            "the model."
        ) from exc


def _json_type(value: Any) -> str:
    names = {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _shown(value: Any) -> str:
    text = repr(value)
    return f"{text if len(text) <= 60 else text[:57] + '...'} ({_json_type(value)})"


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
        sha256: the hash of each role's file recorded in ``config.json`` when it was saved.
    """

    spec: ModelSpec
    files: Mapping[str, Path]
    directory: Path
    origin: str = ""
    fitted: Fitted | None = None
    sha256: Mapping[str, str] = field(default_factory=dict)


def role_names(family_name: str) -> tuple[str, ...]:
    """The weight roles of an installed family (``("model",)`` for one network)."""
    return get_family(family_name).roles


def model_file_names(spec: ModelSpec) -> dict[str, str]:
    """The files of a model: ``<role>.safetensors`` per role, or, for a family with its own
    layout (:attr:`~stylezoo.Family.own_layout`), the files it names (key → relative path)."""
    family = get_family(spec.family)
    if not family.own_layout:
        return {role: weights_name(role) for role in family.roles}
    return {str(k): str(v) for k, v in family.model_files(spec.config).items()}


def local_model(directory: str | os.PathLike[str]) -> LocalModel:
    """Read a saved directory's config and find each role's weights file.

    The sha256 that ``config.json`` records for each file (every directory saved by this
    version records them) is kept in :attr:`LocalModel.sha256`; :func:`weights_problem`
    checks the files against it.
    """
    directory = Path(directory)
    spec, data = _read_config(directory)
    names = model_file_names(spec)
    recorded = data.get("weights", {})
    files = {}
    for key, name in names.items():
        path = directory / name
        if not path.is_file():
            raise InvalidModelDirectoryError(
                f"{str(directory)!r} has no {name} (the {spec.family} family "
                f"needs {', '.join(names.values())}). Re-save or re-download the model."
            )
        files[key] = path
    digests = {key: recorded[key]["sha256"] for key in names if key in recorded}
    return LocalModel(
        spec=spec, files=files, directory=directory, origin=str(directory), sha256=digests
    )


def weights_problem(model: LocalModel) -> str | None:
    """Why a weights file of ``model`` cannot be trusted, or ``None``.

    A file whose hash differs from the one recorded when it was saved is damaged or was
    changed: a truncated or garbled file is named as such, any other difference (a flipped
    bit in a tensor) by both hashes.
    """
    for role, path in model.files.items():
        expected = model.sha256.get(role)
        if not expected or sha256_file(path) == expected:
            continue
        issue = check_safetensors(path)
        if issue:
            return f"{str(path)!r} is not a readable safetensors file ({path.name} {issue})"
        return (
            f"{str(path)!r} does not match the sha256 that {CONFIG_NAME} records for it "
            f"(expected {expected}, got {sha256_file(path)}): it was damaged or changed "
            "after it was saved"
        )
    return None


def verified(model: LocalModel) -> LocalModel:
    """``model``, after checking its weights files against their recorded hashes.

    Raises:
        WeightsError: a file is damaged or was changed since it was saved.
    """
    problem = weights_problem(model)
    if problem is not None:
        raise WeightsError(
            f"{problem}. Save, convert or download the model again (if you changed the "
            f"weights on purpose, delete the 'weights' entry of {CONFIG_NAME})."
        )
    return model


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
    problem = output_problem(directory)
    if problem is not None:
        raise OutputError(f"Cannot write the model directory {str(directory)!r}: {problem}.")
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    except OSError as exc:
        raise OutputError(
            f"Cannot write the model directory {str(directory)!r}: {exc.strerror or exc}. "
            "Choose a directory in a writable folder (not under a file)."
        ) from exc
    try:
        # mkdtemp makes a private (0700) folder; the model directory gets ordinary permissions.
        os.chmod(staging, 0o777 & ~_current_umask())
        digests = {}
        for role, state in state_dicts.items():
            tensors = {k: v.detach().contiguous().cpu() for k, v in state.items()}
            target = staging / weights_name(role)
            save_file(
                tensors,
                str(target),
                metadata={"format": "pt", "stylezoo_family": spec.family, "role": role},
            )
            os.chmod(target, 0o666 & ~_current_umask())  # safetensors writes 0600
            digests[role] = {"file": target.name, "sha256": sha256_file(target)}
        # The digests let every later load notice a damaged or altered weights file.
        config = {**spec.to_json(), "weights": digests}
        (staging / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        (staging / CARD_NAME).write_text(model_card(spec, list(state_dicts)), encoding="utf-8")
        if directory.exists():
            backup = directory.with_name(f".{directory.name}.old-{os.getpid()}")
            directory.rename(backup)
            staging.rename(directory)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            staging.rename(directory)
    except OSError as exc:
        raise OutputError(
            f"Could not write the model directory {str(directory)!r}: {exc}. Check the free "
            "space and permissions of its folder."
        ) from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return directory


def output_problem(path: str | os.PathLike[str]) -> str | None:
    """Why a folder cannot be created or written at ``path``, or ``None`` (as far as can be
    told without writing: permissions are as the OS reports them, which root ignores)."""
    path = Path(path)
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing == path and not path.is_dir():
        return "it is an existing file, not a folder"
    if not existing.is_dir():
        return f"it lies under {str(existing)!r}, which is a file, not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{str(existing)!r} is not writable"
    return None


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
