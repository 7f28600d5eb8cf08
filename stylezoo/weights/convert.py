"""Official checkpoints → checked stylezoo weights: the one conversion path.

Used by :func:`stylezoo.convert` (which then writes a directory) and by the registry's
upstream and package sources (which write the cache and load the result without reading it
back). Only the family's converter reads the official files; ``.pth`` files only ever
through ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import CheckpointError, InvalidOptionError, StylezooError
from ..family import Family, ModelSpec
from ..plugins import get_family, get_record
from ..registry import Record
from .integrity import first_line, sha256_file
from .loading import Fitted, fit

PathLike = str | os.PathLike[str]


def convert_checkpoints(
    family_or_name: str,
    checkpoint: PathLike | Mapping[str, PathLike],
    *,
    config: Mapping[str, Any] | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> Fitted:
    """Read official checkpoint(s) with the family's converter and check them strictly.

    Args:
        family_or_name: a family (``"cyclegan"``) or a registry name, whose record then fills
            in config, io, license and provenance.
        checkpoint: the official file, or a dict role → file.
        config: build options over the family's (or the record's) configuration.
        provenance: extra provenance entries (e.g. which package a file came from).

    Returns:
        The fitted weights, with the model's complete spec.
    """
    record = get_record(family_or_name) if "/" in family_or_name else None
    family = get_family(record.family if record else family_or_name)
    family.require_converter()
    if config is not None and not isinstance(config, Mapping):
        raise InvalidOptionError(
            f"config must be a dict of {family.name} build options, got {type(config).__name__}."
        )
    # The options first: a wrong --set fails at once, before any file is read.
    full_config = family.complete_config({**(record.config if record else {}), **(config or {})})
    files = checkpoint_files(checkpoint, family)
    try:
        state_dicts = family.convert(files, full_config)
    except StylezooError:
        raise
    except Exception as exc:  # a converter meeting a file it does not understand
        names = ", ".join(repr(str(path)) for path in files.values())
        raise CheckpointError(
            f"The {family.name} converter (plugin {family.plugin or '?'}) could not read "
            f"{names} ({type(exc).__name__}: {first_line(exc)}). Check that it is an official "
            f"{family.name} checkpoint (not another family's, or a training state); if it "
            "is, report this to the plugin's authors."
        ) from exc
    converted = {
        "converted_from": {
            role: {"file": path.name, "sha256": sha256_file(path)} for role, path in files.items()
        },
        "converter": f"stylezoo {__version__}",
        **(provenance or {}),
    }
    return fit(model_spec(family, record, full_config, converted), state_dicts)


def model_spec(
    family: Family,
    record: Record | None,
    config: dict[str, Any],
    provenance: Mapping[str, Any],
) -> ModelSpec:
    """The spec of a model of ``family`` built with ``config``, described by ``record``."""
    provenance = dict(provenance)
    if record and record.upstream:
        provenance["upstream"] = {role: dict(src) for role, src in record.upstream.items()}
    if record and record.package:
        provenance["package"] = {role: dict(src) for role, src in record.package.items()}
    if record and record.trained:
        provenance["trained"] = dict(record.trained)
    return ModelSpec(
        family=family.name,
        config=config,
        io=family.model_io(config, record.io if record else None),
        name=record.name if record else "",
        description=record.description if record else "",
        license=record.license if record else "unknown",
        paper=record.paper if record else "",
        homepage=record.homepage if record else "",
        provenance=provenance,
        version=__version__,
    )


def checkpoint_files(
    checkpoint: PathLike | Mapping[str, PathLike], family: Family
) -> dict[str, Path]:
    """The checkpoint file of every role of ``family``, each checked to exist."""
    roles = family.roles
    if isinstance(checkpoint, Mapping):
        files = {str(role): _checkpoint_path(path, str(role)) for role, path in checkpoint.items()}
    elif len(roles) == 1:
        files = {roles[0]: _checkpoint_path(checkpoint, roles[0])}
    else:
        raise InvalidOptionError(
            f"The {family.name} family has several weight files ({', '.join(roles)}); pass a "
            f"dict such as {{{', '.join(repr(r) + ': path' for r in roles)}}} (on the command "
            f"line: {' '.join(f'{r}=FILE' for r in roles)})."
        )
    if set(files) != set(roles):
        raise InvalidOptionError(
            f"The {family.name} family needs checkpoints for roles {list(roles)}; got "
            f"{sorted(files)}."
        )
    for role, path in files.items():
        if path.is_dir():
            raise CheckpointError(
                f"Checkpoint {str(path)!r} ({role}) is a directory; pass the official weights "
                "file (e.g. latest_net_G.pth). A directory saved by stylezoo needs no "
                "conversion: load it."
            )
        if not path.is_file():
            raise CheckpointError(f"Checkpoint {str(path)!r} ({role}) does not exist.")
    return files


def _checkpoint_path(value: Any, role: str) -> Path:
    if not isinstance(value, (str, os.PathLike)):
        raise InvalidOptionError(
            f"The {role} checkpoint must be a file path, got {type(value).__name__}."
        )
    return Path(value)
