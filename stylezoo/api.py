"""The front door: :func:`load`, :func:`list_models`, :func:`model_info`, :func:`convert`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import (
    CheckpointError,
    InvalidModelDirectoryError,
    InvalidOptionError,
    WeightsNotAvailableError,
)
from .hub import HF_HUB_PREFIX, record_cache_dir
from .registry import Record, filter_names, unknown_family, unknown_model

if TYPE_CHECKING:
    from .translator import Translator

PathLike = str | os.PathLike[str]


def list_models(pattern: str | None = None) -> list[str]:
    """Registry names, sorted; ``pattern`` is a shell wildcard (``"cyclegan/*"``, ``"*zebra*"``).

    A pattern without wildcards matches names that contain it.

    Example:
        >>> stylezoo.list_models("cyclegan/*zebra*")
        ['cyclegan/horse2zebra', 'cyclegan/zebra2horse']
    """
    from .plugins import records

    return filter_names(records(), pattern)


def get_record(name: str) -> Record:
    """The registry record called ``name``; unknown names suggest close matches."""
    from .plugins import records

    known = records()
    key = name.strip().lower()
    if key not in known:
        raise unknown_model(name, known)
    return known[key]


def model_info(name: str) -> dict[str, Any]:
    """The record of a registry name as a dict: config, io, license, paper, sources."""
    return get_record(name).to_dict()


def load(source: PathLike, *, device: Any = "cpu", dtype: Any = None) -> Translator:
    """Load a translator from a directory saved by stylezoo or a registry name.

    Args:
        source: an existing directory saved by stylezoo (``save_pretrained``, ``convert`` or
            training), or a registry name such as ``"cyclegan/horse2zebra"``.
        device: ``"cpu"`` (default), ``"cuda"``, ``"cuda:1"``, ``"mps"`` or ``"auto"`` (CUDA,
            then MPS, then CPU). Weights are read straight onto this device.
        dtype: ``torch.float32`` (default), ``torch.bfloat16`` or ``torch.float16``, or their
            names.

    Returns:
        A translator in eval mode with gradients off.

    Example:
        >>> t = stylezoo.load("out/horse2zebra")
        >>> zebra = t.translate(Image.open("horse.jpg"))
    """
    from .pretrained import is_model_directory, load_directory

    text = os.fspath(source)
    path = Path(text).expanduser()
    if path.exists():
        return load_directory(path, device=device, dtype=dtype)
    if text.startswith(HF_HUB_PREFIX):
        raise WeightsNotAvailableError(
            f"Loading {text!r} from the Hugging Face Hub is not supported by this version. "
            "Download the repository and load its directory instead."
        )
    if _looks_like_path(text):
        raise InvalidModelDirectoryError(
            f"Model directory {text!r} does not exist. Check the path, or pass a registry "
            "name (see `stylezoo list`)."
        )
    record = get_record(text)
    cached = record_cache_dir(record)
    if is_model_directory(cached):
        return load_directory(cached, device=device, dtype=dtype)
    upstream = "; ".join(f"{role}: {src.get('url', '?')}" for role, src in
                         record.upstream.items()) or "none listed"
    raise WeightsNotAvailableError(
        f"The weights of {record.name!r} are not on this machine (looked in {str(cached)!r}). "
        f"Download the official file ({upstream}) and run `stylezoo convert {record.name} FILE "
        f"-o {cached}`, or load a directory saved by stylezoo."
    )


def _looks_like_path(text: str) -> bool:
    """Registry names are ``family/variant``; anything else with a separator is a path."""
    return (text.startswith((".", "~", "/", "\\")) or text.count("/") > 1 or "\\" in text
            or text.endswith("/") or bool(os.path.splitdrive(text)[0]))


def convert(family_or_name: str, checkpoint: PathLike | Mapping[str, PathLike],
            output: PathLike, *, config: Mapping[str, Any] | None = None,
            overwrite: bool = False) -> Path:
    """Convert official checkpoint(s) into a stylezoo directory.

    Args:
        family_or_name: a family (``"cyclegan"``) or a registry name
            (``"cyclegan/horse2zebra"``, which also fills in config, license and provenance).
        checkpoint: the official file, or a dict role → file for multi-network families.
        output: the directory to write; written atomically.
        config: build options overriding the family's (or the record's) configuration.
        overwrite: replace an existing non-empty ``output``.

    Returns:
        The output directory, loadable with :func:`load`.

    Example:
        >>> stylezoo.convert("cyclegan", "horse2zebra.pth", "out/horse2zebra")
    """
    from . import __version__
    from .family import ModelSpec, complete_config
    from .plugins import families
    from .pretrained import build_translator, save_directory
    from .registry import IOSpec
    from .weights import sha256_file

    record = get_record(family_or_name) if "/" in family_or_name else None
    family_name = record.family if record else family_or_name.strip().lower()
    available = families()
    if family_name not in available:
        raise unknown_family(family_name, available)
    family = available[family_name]
    implementation = family.load_implementation()
    if not callable(getattr(implementation, "convert", None)):
        raise CheckpointError(f"The {family_name} family has no converter for official "
                              "checkpoints.")
    files = _checkpoint_files(checkpoint, family.roles, family_name)
    merged = {**(record.config if record else {}), **(config or {})}
    full_config = complete_config(implementation.default_config, merged, family_name)
    io = IOSpec.from_mapping({**implementation.default_io, **(record.io if record else {})})
    state_dicts = implementation.convert(files, full_config)
    provenance = {
        "converted_from": {role: {"file": path.name, "sha256": sha256_file(path)}
                           for role, path in files.items()},
        "converter": f"stylezoo {__version__}",
    }
    if record:
        provenance["upstream"] = {role: dict(src) for role, src in record.upstream.items()}
    spec = ModelSpec(
        family=family_name, config=full_config, io=io, name=record.name if record else "",
        description=record.description if record else "", license=(record.license if record
                                                                   else "unknown"),
        paper=record.paper if record else "", homepage=record.homepage if record else "",
        provenance=provenance, version=__version__,
    )
    # Validate by loading before anything is written: a bad checkpoint never leaves files.
    import torch

    build_translator(spec, state_dicts, device=torch.device("cpu"), dtype=torch.float32)
    return save_directory(output, spec, state_dicts, overwrite=overwrite)


def _checkpoint_files(checkpoint: PathLike | Mapping[str, PathLike], roles: tuple[str, ...],
                      family: str) -> dict[str, Path]:
    if isinstance(checkpoint, Mapping):
        files = {str(role): Path(path) for role, path in checkpoint.items()}
    elif len(roles) == 1:
        files = {roles[0]: Path(checkpoint)}
    else:
        raise InvalidOptionError(
            f"The {family} family has several weight files ({', '.join(roles)}); pass a dict "
            f"such as {{{', '.join(repr(r) + ': path' for r in roles)}}}."
        )
    if set(files) != set(roles):
        raise InvalidOptionError(f"The {family} family needs checkpoints for roles "
                                 f"{list(roles)}; got {sorted(files)}.")
    for role, path in files.items():
        if not path.is_file():
            raise CheckpointError(f"Checkpoint {str(path)!r} ({role}) does not exist.")
    return files


def save_pretrained(translator: Translator, directory: PathLike, *,
                    overwrite: bool = False) -> Path:
    """Save a translator as config.json + safetensors + README.md (see ``Translator``)."""
    return translator.save_pretrained(directory, overwrite=overwrite)
