"""Model families and pretrained records: the data that plugins register.

A :class:`Family` is code (how to build, convert and run a kind of network); a :class:`Record`
is data (one pretrained model of a family: its configuration, where its weights come from,
its license). Plugins register both through the hooks in :mod:`stylezoo.hookspecs`.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

from .errors import PluginError, UnknownFamilyError, UnknownModelError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

if TYPE_CHECKING:
    from .family import FamilyImplementation

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]*/[a-z0-9][a-z0-9_.-]*$")
FAMILY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class IOSpec:
    """How images are presented to a network.

    Attributes:
        range: the value range the network expects and produces, e.g. ``(-1.0, 1.0)``.
        multiple: height and width must be multiples of this; other sizes are reflect-padded
            to the next multiple and cropped back.
        min_size: the smallest side (after padding) the network can process.
        channels: input channels the network takes (3 for RGB networks).
    """

    range: tuple[float, float] = (-1.0, 1.0)
    multiple: int = 1
    min_size: int = 1
    channels: int = 3

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> IOSpec:
        data = dict(data or {})
        unknown = set(data) - {"range", "multiple", "min_size", "channels"}
        if unknown:
            raise ValueError(
                f"unknown io keys {sorted(unknown)}; allowed: range, multiple, min_size, channels"
            )
        if "range" in data:
            low, high = (float(v) for v in data["range"])
            if not high > low:
                raise ValueError(f"io range {data['range']!r} must be [low, high] with high > low")
            data["range"] = (low, high)
        for key in ("multiple", "min_size", "channels"):
            if key in data and (not isinstance(data[key], int) or data[key] < 1):
                raise ValueError(f"io {key} must be a positive integer, got {data[key]!r}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return {
            "range": list(self.range),
            "multiple": self.multiple,
            "min_size": self.min_size,
            "channels": self.channels,
        }


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
    license: str = "unknown"
    paper: str = ""
    homepage: str = ""
    tags: tuple[str, ...] = ()
    plugin: str = ""

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
            "license": self.license,
            "paper": self.paper,
            "homepage": self.homepage,
            "tags": list(self.tags),
            "plugin": self.plugin,
        }


@dataclass(frozen=True)
class Family:
    """A kind of network that stylezoo can build, load, convert and run.

    Registering a family is cheap: ``implementation`` is an ``"module:attribute"`` string that
    is imported only when the family is first used (or the implementation object itself, for
    plugins registered in-process).

    Attributes:
        name: lowercase family name, the first part of record names (``cyclegan``).
        implementation: a :class:`~stylezoo.family.FamilyImplementation` or its import path.
        description: one line for ``stylezoo plugins``.
        roles: the weight files a model of this family has; ``("model",)`` for one network,
            e.g. ``("encoder", "decoder")`` for AdaIN. Each role is stored as
            ``<role>.safetensors``.
        plugin: the plugin that registered the family (filled in by the registry).
    """

    name: str
    implementation: Any
    description: str = ""
    roles: tuple[str, ...] = ("model",)
    plugin: str = ""

    def load_implementation(self) -> FamilyImplementation:
        """Import (once) and return the implementation object."""
        impl = self.implementation
        if not isinstance(impl, str):
            return impl
        cached = _IMPLEMENTATIONS.get(impl)
        if cached is not None:
            return cached
        module_name, _, attribute = impl.partition(":")
        try:
            obj = getattr(importlib.import_module(module_name), attribute or "family")
        except Exception as exc:  # a broken plugin must not look like a stylezoo bug
            raise PluginError(
                f"Family {self.name!r} from plugin {self.plugin!r} failed to import "
                f"{impl!r}: {exc}. Reinstall or update that plugin."
            ) from exc
        _IMPLEMENTATIONS[impl] = obj
        return obj


_IMPLEMENTATIONS: dict[str, Any] = {}


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


_RECORD_KEYS = {
    "description",
    "config",
    "io",
    "hub",
    "upstream",
    "license",
    "paper",
    "homepage",
    "tags",
}


def records_from_toml(package: str, resource: str, family: str) -> list[Record]:
    """Read records from a TOML file shipped inside ``package``.

    The file holds one ``[models.<variant>]`` table per record; the full name is
    ``<family>/<variant>``. Plugins call this from their ``register_records`` hook.
    """
    text = resources.files(package).joinpath(resource).read_text(encoding="utf-8")
    data = tomllib.loads(text)
    records = []
    for variant, table in data.get("models", {}).items():
        unknown = set(table) - _RECORD_KEYS
        if unknown:
            raise ValueError(
                f"{package}/{resource}: model {variant!r} has unknown keys "
                f"{sorted(unknown)}; allowed: {sorted(_RECORD_KEYS)}"
            )
        name = f"{family}/{variant}"
        validate_record_name(name)
        records.append(
            Record(
                name=name,
                family=family,
                description=table.get("description", ""),
                config=dict(table.get("config", {})),
                io=dict(table.get("io", {})),
                hub=dict(table.get("hub", {})),
                upstream={role: dict(src) for role, src in table.get("upstream", {}).items()},
                license=table.get("license", "unknown"),
                paper=table.get("paper", ""),
                homepage=table.get("homepage", ""),
                tags=tuple(table.get("tags", ())),
            )
        )
    return records
