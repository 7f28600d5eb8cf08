"""What a model family implements, and the description of one model (:class:`ModelSpec`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .errors import InvalidOptionError
from .registry import IOSpec

if TYPE_CHECKING:
    import torch
    from torch import nn

    from .translator import Translator


@dataclass(frozen=True)
class ModelSpec:
    """Everything ``config.json`` says about a saved model.

    Attributes:
        family: the family that builds it.
        config: the complete build configuration (family defaults filled in).
        io: how images are presented to the network.
        name: the registry name it came from, if any.
        description, license, paper, homepage: shown in model cards and ``stylezoo info``.
        provenance: where the weights came from (converted from which file with which
            sha256, or trained how).
        version: the stylezoo version that wrote it.
    """

    family: str
    config: Mapping[str, Any]
    io: IOSpec = field(default_factory=IOSpec)
    name: str = ""
    description: str = ""
    license: str = "unknown"
    paper: str = ""
    homepage: str = ""
    provenance: Mapping[str, Any] = field(default_factory=dict)
    version: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "stylezoo_version": self.version,
            "family": self.family,
            "config": dict(self.config),
            "io": self.io.to_dict(),
            "name": self.name,
            "description": self.description,
            "license": self.license,
            "paper": self.paper,
            "homepage": self.homepage,
            "provenance": dict(self.provenance),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelSpec:
        return cls(
            family=data["family"],
            config=dict(data.get("config", {})),
            io=IOSpec.from_mapping(data.get("io")),
            name=data.get("name", ""),
            description=data.get("description", ""),
            license=data.get("license", "unknown"),
            paper=data.get("paper", ""),
            homepage=data.get("homepage", ""),
            provenance=dict(data.get("provenance", {})),
            version=data.get("stylezoo_version", ""),
        )


@runtime_checkable
class FamilyImplementation(Protocol):
    """The code behind a :class:`~stylezoo.registry.Family`.

    Attributes:
        default_config: every build option with its default; configs are validated against it.
        default_io: the family's :class:`IOSpec` fields (records may override them).
            A family may also define ``io_for(config) -> Mapping`` for fields that depend on
            the configuration (see :func:`family_io`), and ``usage_example``, a line of
            Python using ``translator`` that model cards show (e.g. with a required option).
    """

    default_config: Mapping[str, Any]
    default_io: Mapping[str, Any]

    def build(self, config: Mapping[str, Any]) -> dict[str, nn.Module]:
        """Build the networks, one per role, with random or no initialisation."""
        ...

    def translator(self, networks: dict[str, nn.Module], spec: ModelSpec) -> Translator:
        """Wrap loaded networks into a translator."""
        ...

    def convert(
        self, files: Mapping[str, Path], config: Mapping[str, Any]
    ) -> dict[str, dict[str, torch.Tensor]]:
        """Read official checkpoints (by role) into state dicts of the built networks."""
        ...


def family_io(
    implementation: FamilyImplementation,
    config: Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
) -> IOSpec:
    """The io of a model: family defaults, then what the config implies, then overrides.

    A family whose padding multiple or channel count depends on its configuration (e.g. a
    U-Net's depth) provides ``io_for(config) -> Mapping``; records may still override.
    """
    io = dict(implementation.default_io)
    io_for = getattr(implementation, "io_for", None)
    if callable(io_for):
        io.update(io_for(config))
    io.update(overrides or {})
    return IOSpec.from_mapping(io)


def complete_config(
    defaults: Mapping[str, Any], config: Mapping[str, Any] | None, family: str
) -> dict[str, Any]:
    """Fill a config with the family defaults; unknown keys are an error naming the allowed."""
    config = dict(config or {})
    unknown = sorted(set(config) - set(defaults))
    if unknown:
        raise InvalidOptionError(
            f"Unknown {family} config option(s) {unknown}. Allowed: {sorted(defaults)}."
        )
    return {**defaults, **config}
