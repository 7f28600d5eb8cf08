"""The on-disk model format: ``config.json`` + ``<role>.safetensors`` + ``README.md``.

The same layout is written by :func:`save_directory` (used by ``save_pretrained``,
``convert`` and training) and read by :func:`load_directory`, so one loader serves local
directories, converted checkpoints and Hub downloads.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InvalidModelDirectoryError, WeightsError
from .family import ModelSpec

if TYPE_CHECKING:
    import torch

    from .translator import Translator

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
    """A model whose files are on this machine: what :func:`load_files` needs.

    Attributes:
        spec: the parsed ``config.json``.
        files: the weights file of each role.
        directory: where ``config.json`` is (a saved directory, a Hub snapshot, the cache).
        origin: where it came from, for messages (``hf-hub:owner/name@commit``, a path...).
    """

    spec: ModelSpec
    files: Mapping[str, Path]
    directory: Path
    origin: str = ""


def role_names(family_name: str) -> tuple[str, ...]:
    """The weight roles of an installed family (``("model",)`` for one network)."""
    from .plugins import families
    from .registry import unknown_family

    available = families()
    if family_name not in available:
        raise unknown_family(family_name, available) from None
    return available[family_name].roles


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


def load_directory(
    directory: str | os.PathLike[str],
    *,
    device: Any = None,
    dtype: Any = None,
    device_map: Any = None,
) -> Translator:
    """Load a model directory onto ``device`` in ``dtype`` (eval mode, no gradients)."""
    return load_files(local_model(directory), device=device, dtype=dtype, device_map=device_map)


def load_files(
    model: LocalModel, *, device: Any = None, dtype: Any = None, device_map: Any = None
) -> Translator:
    """Read each role's safetensors straight onto its device and build the translator.

    ``device`` and ``device_map`` are described in :func:`stylezoo.load`.
    """
    from .device_map import place_roles
    from .devices import resolve_dtype

    placement = place_roles(model.files, device=device, device_map=device_map)
    cast = resolve_dtype(dtype)
    state_dicts = {
        role: read_safetensors(path, placement[role]) for role, path in model.files.items()
    }
    return build_translator(model.spec, state_dicts, device=placement, dtype=cast)


def read_safetensors(path: Path, device: torch.device) -> dict[str, torch.Tensor]:
    """Read a safetensors file straight onto ``device``; corrupt files raise WeightsError."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device=str(device))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise WeightsError(
            f"{str(path)!r} is not a readable safetensors file ({exc}). It may be truncated or "
            "in another format; delete it and save, convert or download the model again."
        ) from exc


def build_translator(
    spec: ModelSpec,
    state_dicts: Mapping[str, Mapping[str, torch.Tensor]],
    *,
    device: torch.device | Mapping[str, torch.device],
    dtype: torch.dtype,
) -> Translator:
    """Build the family's networks and load ``state_dicts`` into them strictly.

    ``device`` is one device, or a device per role.
    """
    from .plugins import families
    from .weights import load_strict

    available = families()
    if spec.family not in available:
        from .registry import unknown_family

        raise unknown_family(spec.family, available)
    family = available[spec.family]
    implementation = family.load_implementation()
    from .family import complete_config

    config = complete_config(implementation.default_config, spec.config, spec.family)
    spec = _replace(spec, config=config)
    try:
        networks = load_strict(
            lambda: implementation.build(config),
            state_dicts,
            device=device,
            dtype=dtype,
            label=spec.name or spec.family,
        )
    except WeightsError as exc:
        other = guess_family(state_dicts, exclude=spec.family)
        if other is None:
            raise
        raise WeightsError(
            f"These weights belong to a {other!r} model, not {spec.family!r}: load or convert "
            f"them as {other!r} (e.g. `stylezoo convert {other} ...`). Details: {exc}"
        ) from exc
    return implementation.translator(networks, spec)


def guess_family(
    state_dicts: Mapping[str, Mapping[str, torch.Tensor]], *, exclude: str = ""
) -> str | None:
    """The installed family whose default networks have exactly these keys, if any.

    Only used to explain a failed load, so its cost (building on the meta device) is paid on
    the error path alone.
    """
    import torch

    from .family import complete_config
    from .plugins import families

    for name, family in families().items():
        if name == exclude or set(family.roles) != set(state_dicts):
            continue
        try:
            implementation = family.load_implementation()
            config = complete_config(implementation.default_config, {}, name)
            with torch.device("meta"):
                networks = implementation.build(config)
        except Exception:  # a broken plugin must not hide the original error
            continue
        if all(
            _same_layout(set(networks[role].state_dict()), set(state_dicts[role]))
            for role in networks
        ):
            return name
    return None


def _replace(spec: ModelSpec, **changes: Any) -> ModelSpec:
    from dataclasses import replace

    return replace(spec, **changes)


def save_directory(
    directory: str | os.PathLike[str],
    spec: ModelSpec,
    state_dicts: Mapping[str, Mapping[str, torch.Tensor]],
    *,
    overwrite: bool = False,
) -> Path:
    """Write a model directory atomically: all files appear together or none do."""
    from safetensors.torch import save_file

    from . import __version__
    from .card import model_card

    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise InvalidModelDirectoryError(f"{str(directory)!r} exists and is not a directory.")
    if directory.exists() and any(directory.iterdir()) and not overwrite:
        raise InvalidModelDirectoryError(
            f"{str(directory)!r} already exists and is not empty. Choose another directory or "
            "pass overwrite=True (--overwrite on the command line)."
        )
    spec = _replace(spec, version=__version__)
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


_UNUSED_STATS = {"running_mean", "running_var", "num_batches_tracked"}


def _same_layout(expected: set[str], found: set[str]) -> bool:
    """Same keys, allowing the unused normalisation statistics official files carry."""
    return expected <= found and all(
        k.rpartition(".")[2] in _UNUSED_STATS for k in found - expected
    )
