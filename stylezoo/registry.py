"""Pretrained records: the data that plugins register, and the names load() resolves.

A :class:`Record` is data (one pretrained model of a family: its configuration, where its
weights come from, its license); the code that builds and runs it is a
:class:`~stylezoo.family.Family`. Plugins register both through :mod:`stylezoo.hookspecs`.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from .errors import UnknownFamilyError, UnknownModelError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]*/[a-z0-9][a-z0-9_.-]*$")
FAMILY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class Record:
    """One pretrained model, as the registry describes it.

    Attributes:
        name: ``family/variant``, lowercase, e.g. ``cyclegan/horse2zebra``.
        family: the family that builds and runs it.
        description: one line for listings.
        config: keyword arguments of the family's ``build`` (merged over its defaults).
        io: overrides of the family's :class:`IOSpec`.
        hub: where stylezoo-format safetensors live on the Hugging Face Hub
            (``repo``, ``revision``, ``files`` by role, ``sha256`` by role).
        upstream: the official files, by role: ``url``, optional ``member`` (inside an
            archive) and ``sha256``.
        package: files inside an installed Python package, by role: ``module`` (the
            importable package holding the file), ``path`` (inside it), ``sha256`` and
            ``install`` (the pip requirement to name when it is missing); safetensors files
            are used in place, official checkpoints converted on first use like upstream
            files.
        license: the license of the weights (``"unknown"`` when upstream states none).
        paper, homepage: provenance.
        tags: free-form labels.
        plugin: the plugin that registered the record (filled in by the registry).
    """

    name: str
    family: str
    description: str = ""
    config: Mapping[str, Any] = field(default_factory=dict)
    io: Mapping[str, Any] = field(default_factory=dict)
    hub: Mapping[str, Any] = field(default_factory=dict)
    upstream: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    package: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    license: str = "unknown"
    paper: str = ""
    homepage: str = ""
    tags: tuple[str, ...] = ()
    plugin: str = ""
    #: How the weights were trained (shown in model cards), for models trained with stylezoo.
    trained: Mapping[str, Any] = field(default_factory=dict)

    @property
    def variant(self) -> str:
        return self.name.split("/", 1)[1]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly view, as shown by ``stylezoo info``."""
        return {
            "name": self.name,
            "family": self.family,
            "description": self.description,
            "config": dict(self.config),
            "io": dict(self.io),
            "hub": dict(self.hub),
            "upstream": {role: dict(src) for role, src in self.upstream.items()},
            "package": {role: dict(src) for role, src in self.package.items()},
            "license": self.license,
            "paper": self.paper,
            "homepage": self.homepage,
            "tags": list(self.tags),
            "plugin": self.plugin,
            "trained": dict(self.trained),
        }


def validate_record_name(name: str) -> None:
    if not NAME_PATTERN.match(name):
        raise ValueError(
            f"record name {name!r} must look like 'family/variant' (lowercase "
            "letters, digits, '.', '_' and '-')"
        )


def close_matches(name: str, candidates: Iterable[str], limit: int = 3) -> list[str]:
    """Names similar to ``name``, best first (also matching on the variant alone)."""
    candidates = list(candidates)
    found = difflib.get_close_matches(name, candidates, n=limit, cutoff=0.6)
    if len(found) < limit and "/" not in name:
        by_variant = {c.split("/", 1)[-1]: c for c in candidates}
        for variant in difflib.get_close_matches(name, list(by_variant), n=limit, cutoff=0.6):
            if by_variant[variant] not in found:
                found.append(by_variant[variant])
    return found[:limit]


def unknown_model(name: str, candidates: Iterable[str]) -> UnknownModelError:
    suggestions = close_matches(name, candidates)
    hint = f" Did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""
    return UnknownModelError(
        f"Unknown model {name!r}.{hint} See `stylezoo list` for the registry, or pass an "
        "existing directory saved by stylezoo."
    )


def unknown_family(name: str, available: Iterable[str]) -> UnknownFamilyError:
    available = sorted(available)
    return UnknownFamilyError(
        f"No installed plugin provides the model family {name!r} (installed families: "
        f"{', '.join(available) or 'none'}). Install the plugin that provides {name!r} "
        "(e.g. `pip install stylezoo-" + name + "`), then check `stylezoo plugins`."
    )


def filter_names(names: Iterable[str], pattern: str | None) -> list[str]:
    """Names matching a shell wildcard (``cyclegan/*``, ``*zebra*``); all when ``None``."""
    names = sorted(names)
    if not pattern:
        return names
    if not any(ch in pattern for ch in "*?["):
        pattern = f"*{pattern}*"
    return [n for n in names if fnmatch.fnmatchcase(n, pattern.lower())]


_RECORD_KEYS = frozenset(
    {
        "description",
        "config",
        "io",
        "hub",
        "upstream",
        "package",
        "license",
        "paper",
        "homepage",
        "tags",
        "trained",
    }
)
#: Tables merged key by key between ``[defaults]`` and a model; other keys are replaced.
_MERGED_KEYS = ("config", "io")


def records_from_toml(package: str, resource: str, family: str) -> list[Record]:
    """Read records from a TOML file shipped inside ``package``.

    The file holds an optional ``[defaults]`` table and one ``[models.<variant>]`` table per
    record; the full name is ``<family>/<variant>``. A model states only what differs from the
    defaults: its ``config`` and ``io`` are merged over the defaults' key by key, every other
    key replaces the default. Plugins call this from their ``register_records`` hook.
    """
    text = resources.files(package).joinpath(resource).read_text(encoding="utf-8")
    data = tomllib.loads(text)
    where = f"{package}/{resource}"
    unknown_tables = set(data) - {"defaults", "models"}
    if unknown_tables:
        raise ValueError(
            f"{where}: unknown tables {sorted(unknown_tables)}; allowed: defaults, models"
        )
    defaults = data.get("defaults", {})
    _check_keys(defaults, f"{where}: [defaults]")
    records = []
    for variant, table in data.get("models", {}).items():
        _check_keys(table, f"{where}: model {variant!r}")
        merged = {**defaults, **table}
        for key in _MERGED_KEYS:
            merged[key] = {**defaults.get(key, {}), **table.get(key, {})}
        name = f"{family}/{variant}"
        validate_record_name(name)
        records.append(
            Record(
                name=name,
                family=family,
                description=merged.get("description", ""),
                config=merged["config"],
                io=merged["io"],
                hub=dict(merged.get("hub", {})),
                upstream={role: dict(src) for role, src in merged.get("upstream", {}).items()},
                package={role: dict(src) for role, src in merged.get("package", {}).items()},
                license=merged.get("license", "unknown"),
                paper=merged.get("paper", ""),
                homepage=merged.get("homepage", ""),
                tags=tuple(merged.get("tags", ())),
                trained=dict(merged.get("trained", {})),
            )
        )
    return records


def _check_keys(table: Mapping[str, Any], where: str) -> None:
    unknown = set(table) - _RECORD_KEYS
    if unknown:
        raise ValueError(
            f"{where} has unknown keys {sorted(unknown)}; allowed: {sorted(_RECORD_KEYS)}"
        )
