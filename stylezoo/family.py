"""The family contract: what a plugin implements to add a kind of network to stylezoo.

A family is one class. It declares, as class attributes, everything the core needs to know
without importing torch (name, roles, build options, io), and implements :meth:`Family.build`
and :meth:`Family.translator`. A plugin registers an instance from its
``register_families`` hook::

    class Negative(Family):
        name = "negative"
        description = "Inverts colours"
        config = {"strength": Option(1.0, "how much to invert", minimum=0, maximum=1)}

        def build(self, config):
            from .model import NegativeNet
            return {"model": NegativeNet(config["strength"])}

        def translator(self, networks, spec):
            from .translator import NegativeTranslator
            return NegativeTranslator(networks, spec)

Keep the module that defines the class free of heavy imports (torch, the networks): hook
time must stay cheap, so import them inside the methods.

:class:`Option` declares one build option (``config``) or one translate option (a
translator's ``options``); :func:`check_options` validates user values against such
declarations with errors that name the key, the allowed keys and the expected type.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from .errors import CheckpointError, InvalidOptionError, StylezooError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from .translator import Translator
    from .weights.directory import LocalModel

#: The value kinds an :class:`Option` checks by itself; ``"any"`` leaves checking to ``check``.
KINDS = ("bool", "int", "float", "str", "any")

#: How a family handles image sizes its network cannot take as they are (see :class:`IOSpec`).
SIZINGS = ("pad", "native")


@dataclass(frozen=True)
class Option:
    """One declared option: its default, its meaning and how values are checked.

    Attributes:
        default: the value used when the option is not given (``None`` allowed).
        help: one line for docs, ``stylezoo info`` and error messages.
        kind: ``"bool"``, ``"int"``, ``"float"``, ``"str"`` or ``"any"``; inferred from
            ``default`` when left empty (``"any"`` for ``None`` defaults).
        choices: the allowed values, if only a few are.
        minimum, maximum: inclusive bounds of numbers.
        nullable: ``None`` is accepted (always true when the default is ``None``).
        check: called with the value after the kind checks; returns the value to use (it may
            normalise it) or raises :class:`~stylezoo.errors.InvalidOptionError`.
        image: the value is an image (or a list of images) that the family reads itself, a
            style or a mask: front ends such as ``stylezoo demo`` offer an image upload.
    """

    default: Any = None
    help: str = ""
    kind: str = ""
    choices: Sequence[Any] | None = None
    minimum: float | None = None
    maximum: float | None = None
    nullable: bool = False
    check: Callable[[Any], Any] | None = None
    image: bool = False

    def __post_init__(self) -> None:
        if not self.kind:
            object.__setattr__(self, "kind", _kind_of(self.default))
        if self.kind not in KINDS:
            raise ValueError(f"Option kind must be one of {KINDS}, got {self.kind!r}")
        if self.default is None:
            object.__setattr__(self, "nullable", True)

    def describe(self) -> str:
        """``int ≥ 1``, ``one of 'a', 'b'``, …: the expected value, for messages."""
        if self.choices is not None:
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        else:
            text = _KIND_NAMES[self.kind]
            if self.minimum is not None and self.maximum is not None:
                text += f" in [{_number(self.minimum)}, {_number(self.maximum)}]"
            elif self.minimum is not None:
                text += f" ≥ {_number(self.minimum)}"
            elif self.maximum is not None:
                text += f" ≤ {_number(self.maximum)}"
        return text + (" or None" if self.nullable and self.kind != "any" else "")

    def validate(self, value: Any, label: str) -> Any:
        """The value to use for ``value``, or :class:`InvalidOptionError` naming ``label``."""
        if value is None:
            if self.nullable:
                return None
            raise InvalidOptionError(f"{label} must be {self.describe()}, got None.")
        value = self._coerce(value, label)
        if self.choices is not None and value not in self.choices:
            raise InvalidOptionError(f"{label} must be {self.describe()}, got {value!r}.")
        if self.kind in ("int", "float"):
            if (self.minimum is not None and value < self.minimum) or (
                self.maximum is not None and value > self.maximum
            ):
                raise InvalidOptionError(f"{label} must be {self.describe()}, got {value!r}.")
        if self.check is not None:
            try:
                value = self.check(value)
            except StylezooError:
                raise
            except (TypeError, ValueError) as exc:
                raise InvalidOptionError(f"{label}: {exc}") from exc
        return value

    def _coerce(self, value: Any, label: str) -> Any:
        wrong = InvalidOptionError(
            f"{label} must be {self.describe()}, got {value!r} ({type(value).__name__})."
        )
        if self.kind == "bool":
            if isinstance(value, bool) or type(value).__name__ == "bool_":  # numpy bool
                return bool(value)
            raise wrong
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise wrong
            return int(value)
        if self.kind == "float":
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise wrong
            if not math.isfinite(float(value)):
                raise InvalidOptionError(
                    f"{label} must be {self.describe()} (finite), got {value!r}."
                )
            return float(value)
        if self.kind == "str":
            if not isinstance(value, str):
                raise wrong
            return value
        return value


_KIND_NAMES = {
    "bool": "True or False",
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "any": "a value",
}


def _kind_of(default: Any) -> str:
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "float"
    if isinstance(default, str):
        return "str"
    return "any"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def check_options(
    declared: Mapping[str, Option], given: Mapping[str, Any] | None, what: str
) -> dict[str, Any]:
    """Validate ``given`` against ``declared`` and fill in the defaults.

    Args:
        declared: option name → :class:`Option`.
        given: the user's values (unknown keys are an error naming the allowed ones).
        what: what the options belong to, for messages: ``"cyclegan config"``,
            ``"adain option"``.

    Returns:
        Every declared option with its checked value.
    """
    given = dict(given or {})
    unknown = sorted(set(given) - set(declared), key=repr)
    if unknown:
        allowed = ", ".join(f"{name} ({option.describe()})" for name, option in declared.items())
        raise InvalidOptionError(
            f"Unknown {what}{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}. "
            f"Allowed: {allowed or 'none'}."
        )
    return {
        name: option.validate(given[name], f"{what} {name!r}") if name in given else option.default
        for name, option in declared.items()
    }


@dataclass(frozen=True)
class IOSpec:
    """How images are presented to a network.

    Attributes:
        range: the value range the network expects and produces, e.g. ``(-1.0, 1.0)``.
        multiple: height and width must be multiples of this (with ``sizing="pad"``).
        min_size: the smallest side the network can process; smaller images are
            reflect-padded up to it and cropped back.
        channels: input channels the network takes (3 for RGB networks).
        sizing: ``"pad"``: other sizes are reflect-padded to the next ``multiple`` and the
            output cropped back (networks whose output would otherwise not line up with the
            input). ``"native"``: the network runs on the image as it is and may return a
            larger output (ceil-mode pooling, stride-2 convs then ×2 upsampling), which is
            cropped to the input's size: exactly the official output, cropped.
    """

    range: tuple[float, float] = (-1.0, 1.0)
    multiple: int = 1
    min_size: int = 1
    channels: int = 3
    sizing: str = "pad"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> IOSpec:
        data = dict(data or {})
        allowed = ("range", "multiple", "min_size", "channels", "sizing")
        unknown = set(data) - set(allowed)
        if unknown:
            raise ValueError(f"unknown io keys {sorted(unknown)}; allowed: {', '.join(allowed)}")
        if "range" in data:
            low, high = (float(v) for v in data["range"])
            if not (math.isfinite(low) and math.isfinite(high) and high > low):
                raise ValueError(f"io range {data['range']!r} must be [low, high] with high > low")
            data["range"] = (low, high)
        for key in ("multiple", "min_size", "channels"):
            if key in data and (
                isinstance(data[key], bool) or not isinstance(data[key], int) or data[key] < 1
            ):
                raise ValueError(f"io {key} must be a positive integer, got {data[key]!r}")
        if "sizing" in data and data["sizing"] not in SIZINGS:
            raise ValueError(f"io sizing must be one of {SIZINGS}, got {data['sizing']!r}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return {
            "range": list(self.range),
            "multiple": self.multiple,
            "min_size": self.min_size,
            "channels": self.channels,
            "sizing": self.sizing,
        }


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


class Family:
    """Base class of model families. Subclass it, set the class attributes, implement
    :meth:`build` and :meth:`translator`, and register an instance.

    Attributes:
        name: lowercase family name, the first part of record names (``cyclegan``).
        description: one line for ``stylezoo plugins``.
        roles: the networks a model has, one weights file each (``<role>.safetensors``);
            :meth:`build` must return exactly these keys.
        config: the build options, name → :class:`Option`.
        io: the family's :class:`IOSpec` fields; records may override them and
            :meth:`io_for` may derive some from the config.
        usage_example: a line of Python using ``translator`` that model cards show.
        plugin: the plugin that registered it (set by the plugin manager).
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    roles: ClassVar[tuple[str, ...]] = ("model",)
    config: ClassVar[Mapping[str, Option]] = {}
    io: ClassVar[Mapping[str, Any]] = {}
    usage_example: ClassVar[str] = 'result = translator.translate("photo.jpg")'

    def __init__(self) -> None:
        self.plugin = ""

    # -- to implement -----------------------------------------------------------------------
    def build(self, config: Mapping[str, Any]) -> dict[str, nn.Module]:
        """Build the networks, one per role, from a complete, checked config.

        Called on the ``meta`` device when loading (no memory, no random init), so do not
        read tensor values here.
        """
        raise NotImplementedError(f"the {self.name} family does not implement build()")

    def translator(self, networks: dict[str, nn.Module], spec: ModelSpec) -> Translator:
        """Wrap loaded networks (eval mode, on their devices) into a translator."""
        raise NotImplementedError(f"the {self.name} family does not implement translator()")

    # -- optional ---------------------------------------------------------------------------
    def convert(
        self, files: Mapping[str, Path], config: Mapping[str, Any]
    ) -> dict[str, dict[str, torch.Tensor]]:
        """Read official checkpoints (one per role) into state dicts of the built networks.

        The default reads each role's ``.pth`` with ``torch.load(weights_only=True)`` and
        strips ``module.``/``_orig_mod.`` prefixes; families with another layout override it.
        Deprecated InstanceNorm statistics (``running_mean``/``running_var`` of norms that
        keep none) are dropped by the core for every family; anything else that does not fit
        is reported by the strict load.
        """
        from .weights.checkpoint import read_checkpoint, strip_prefix

        return {role: strip_prefix(read_checkpoint(files[role])) for role in self.roles}

    #: Whether :meth:`convert` reads official files (``False``: the family has none).
    converts: ClassVar[bool] = True

    #: ``True`` for families whose models are stored in another library's layout (e.g. a
    #: diffusers pipeline: configs, a tokenizer and one weights file per part) rather than
    #: ``config.json`` + one ``<role>.safetensors`` per role. They implement
    #: :meth:`model_files` and :meth:`load_model`; :meth:`build` is not used to load them.
    #: Their registry records name a Hub repository in that layout (``hub`` table), which
    #: is fetched file by file into huggingface_hub's cache like any Hub copy.
    own_layout: ClassVar[bool] = False

    def model_files(self, config: Mapping[str, Any]) -> Mapping[str, str]:
        """Families with :attr:`own_layout`: every file a model needs, key → path inside its
        directory or Hub repository (``/``-separated). Keys that are roles name that role's
        safetensors weights (checked like any weights file: layout and sha256); other keys
        are small files such as configs and tokenizers. A record's ``hub.files`` may
        replace paths by key."""
        return {role: f"{role}.safetensors" for role in self.roles}

    def load_model(
        self, model: LocalModel, *, device: Any = None, dtype: Any = None, device_map: Any = None
    ) -> Translator:
        """Families with :attr:`own_layout`: the translator from ``model.files`` (key → local
        path, the keys of :meth:`model_files`), on ``device``/``device_map`` in ``dtype`` (as
        :func:`stylezoo.load` takes them)."""
        raise NotImplementedError(f"the {self.name} family does not implement load_model()")

    def io_for(self, config: Mapping[str, Any]) -> Mapping[str, Any]:
        """IOSpec fields that follow from the config (e.g. a U-Net's depth sets ``multiple``)."""
        return {}

    def trainer(self, config: Mapping[str, Any], **settings: Any) -> Any:
        """A trainer (a :class:`stylezoo.training.Trainer`) for networks built from ``config``.

        ``settings`` are those of :class:`stylezoo.training.BaseTrainer` (``hparams``,
        ``device``, ``precision``, ``seed``, ``channels_last``, ``compile``, ``init``).
        Families without training keep this default, which raises.
        """
        raise StylezooError(
            f"The {self.name} family (plugin {self.plugin or '?'}) has no trainer; its models "
            "can be loaded and converted but not trained with stylezoo."
        )

    #: Whether :meth:`trainer` is implemented (shown by ``stylezoo plugins``).
    trains: ClassVar[bool] = False

    # -- provided ---------------------------------------------------------------------------
    def complete_config(self, config: Mapping[str, Any] | None) -> dict[str, Any]:
        """``config`` checked against the declared options, defaults filled in."""
        return check_options(self.config, config, f"{self.name} config option")

    def model_io(
        self, config: Mapping[str, Any], overrides: Mapping[str, Any] | None = None
    ) -> IOSpec:
        """The io of a model: family defaults, then a record's overrides, then what the config
        implies (a property of the network, e.g. a U-Net's padding multiple, which no record
        can contradict)."""
        return IOSpec.from_mapping({**self.io, **(overrides or {}), **self.io_for(config)})

    def build_networks(self, config: Mapping[str, Any]) -> dict[str, nn.Module]:
        """:meth:`build`, checked to return exactly the declared roles."""
        networks = dict(self.build(config))
        if set(networks) != set(self.roles):
            raise StylezooError(
                f"The {self.name} family (plugin {self.plugin or '?'}) built networks "
                f"{sorted(networks)} but declares roles {list(self.roles)}; the plugin needs a "
                "fix."
            )
        return networks

    def require_converter(self) -> None:
        if not self.converts:
            raise CheckpointError(
                f"The {self.name} family has no converter for official checkpoints; load a "
                "directory saved by stylezoo instead."
            )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} family {self.name!r} roles={list(self.roles)}>"


def blend_weights(value: Any, count: int, what: str = "style_weights") -> list[float]:
    """Blend weights of ``count`` items, normalised to sum to 1 (``None``: equal weights).

    ``value`` is a sequence (or array or tensor) of one finite, non-negative number per item,
    not all zero; anything else is an :class:`InvalidOptionError` naming ``what``.
    """
    if value is None:
        return [1.0 / count] * count
    if hasattr(value, "tolist") and not isinstance(value, (list, tuple)):
        value = value.tolist()  # numpy arrays and torch tensors
        value = value if isinstance(value, list) else [value]
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise InvalidOptionError(f"{what} must be a list of numbers, one per style; got {value!r}.")
    weights = list(value)
    if any(
        isinstance(w, bool) or not isinstance(w, numbers.Real) or not math.isfinite(w)
        for w in weights
    ):
        raise InvalidOptionError(f"{what} must be finite numbers; got {weights!r}.")
    if len(weights) != count:
        raise InvalidOptionError(
            f"{what} has {len(weights)} value(s) for {count} style image(s); give one weight "
            "per style (they are normalised to sum to 1)."
        )
    if any(w < 0 for w in weights):
        raise InvalidOptionError(f"{what} must not be negative; got {weights!r}.")
    total = float(sum(weights))
    if not math.isfinite(total):
        raise InvalidOptionError(f"{what} are too large to add up ({weights!r}); scale them down.")
    if total <= 0:
        raise InvalidOptionError(
            f"{what} are all zero ({weights!r}); give at least one style a positive weight."
        )
    return [float(w) / total for w in weights]
