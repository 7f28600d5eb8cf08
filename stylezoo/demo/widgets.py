"""What the demo shows, worked out without Gradio: the models on offer, and one widget per
declared translate option.

Nothing here knows a family by name. A model's options are its translator's declared
``options`` (:class:`~stylezoo.family.Option`), found by building the translator on the
``meta`` device (no weights, no download); a translator with ``variants()`` (a multi-style
network) gets a gallery of them. Each option becomes a :class:`Widget` by its declaration:

====================================  ===========================================
declaration                           widget
====================================  ===========================================
``image=True``                        image upload (empty: the option's default)
``choices``                           dropdown of the choices
``bool``                              checkbox
``int``/``float`` with both bounds    slider
``int``/``float``                     number box (empty: the default)
``str``                               text box (a prompt, a name)
anything else (``any``)               text box read as JSON (empty: the default)
====================================  ===========================================
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import InvalidOptionError, StylezooError
from ..family import Option

#: The photos bundled with the demo (CC0 / public domain, from scikit-image; see NOTICE).
EXAMPLES_DIR = Path(__file__).parent / "examples"

WIDGET_KINDS = ("image", "dropdown", "checkbox", "slider", "number", "text", "json")


@dataclass(frozen=True)
class Widget:
    """One option's widget: what a front end needs to draw it and read it back.

    Attributes:
        option: the option's name.
        kind: one of :data:`WIDGET_KINDS`.
        label: the option's name as a label.
        info: the option's help line (and, for JSON boxes, what is expected).
        value: the initial value shown (``None``: empty).
        choices, minimum, maximum, step: for dropdowns, sliders and number boxes.
    """

    option: str
    kind: str
    label: str
    info: str
    value: Any = None
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None


def widget_for(name: str, option: Option) -> Widget:
    """The widget of the declared option ``name`` (see the module docstring)."""
    label = name.replace("_", " ")
    info = option.help
    if option.image:
        return Widget(name, "image", label, info)
    if option.choices is not None:
        return Widget(name, "dropdown", label, info, option.default, tuple(option.choices))
    if option.kind == "bool":
        return Widget(name, "checkbox", label, info, bool(option.default))
    if option.kind in ("int", "float"):
        step = 1.0 if option.kind == "int" else None
        if option.minimum is not None and option.maximum is not None and option.default is not None:
            if step is None:
                step = (option.maximum - option.minimum) / 100
            return Widget(
                name,
                "slider",
                label,
                info,
                option.default,
                minimum=option.minimum,
                maximum=option.maximum,
                step=step,
            )
        if option.nullable:
            info += f" (empty: {'default' if option.default is None else option.default})"
        return Widget(
            name,
            "number",
            label,
            info,
            option.default,
            minimum=option.minimum,
            maximum=option.maximum,
            step=step,
        )
    if option.kind == "str":
        return Widget(name, "text", label, info, option.default or "")
    example = "" if option.default is None else json.dumps(option.default)
    info += f" (JSON{', e.g. ' + example if example else ''}; empty: the default)"
    return Widget(name, "json", label, info, "")


def option_value(widget: Widget, raw: Any) -> tuple[bool, Any]:
    """Read a widget's value back: ``(given, value)``; not given (``None``, or an empty box)
    means "use the default".

    Image widgets return the uploaded file's path (the family reads and checks it, so a bad
    upload gets the library's own message). A JSON box that does not parse is an
    :class:`~stylezoo.errors.InvalidOptionError` naming the option.
    """
    if widget.kind == "image":
        path = upload_path(raw)
        return (path is not None, path)
    if raw is None or (raw == "" and widget.kind in ("json", "text", "number")):
        return (False, None)
    if widget.kind == "json":
        try:
            return (True, json.loads(str(raw)))
        except (ValueError, RecursionError) as exc:
            raise InvalidOptionError(
                f"Option {widget.option!r}: {str(raw)!r} is not JSON ({exc}). {widget.info}"
            ) from exc
    if widget.kind in ("number", "slider") and isinstance(raw, float):
        if widget.step == 1.0 and math.isfinite(raw) and raw.is_integer():
            return (True, int(raw))  # number boxes send floats; an int option wants an int
    return (True, raw)


def upload_path(raw: Any) -> str | None:
    """The file path of an uploaded image as Gradio hands it over unprocessed (a file-data
    mapping with a ``path``), or of a path given as text; ``None`` when nothing was given."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, Mapping):
        path = raw.get("path")
        return str(path) if path else None
    if isinstance(raw, (str, Path)):
        return str(raw)
    raise InvalidOptionError(f"Expected an uploaded image file, got {type(raw).__name__}.")


@dataclass(frozen=True)
class OptionGroup:
    """The widgets of every model whose translator declares the same options and variants.

    Attributes:
        key: what the models of the group share (translator class and variant labels).
        widgets: one per declared option, in declaration order.
        variants: the translator's ``variants()`` labels (empty: no gallery).
    """

    key: str
    widgets: tuple[Widget, ...]
    variants: tuple[str, ...] = ()


@dataclass
class ModelChoice:
    """One model in the picker.

    Attributes:
        name: what :func:`stylezoo.load` takes.
        family: its family (the picker groups by it).
        description, license, paper, homepage: from its record or config.json.
        installed: its weights are on this machine (no download needed).
        group: the key of its :class:`OptionGroup`.
        variant_options: the options of each of its translator's ``variants()``.
    """

    name: str
    family: str
    description: str = ""
    license: str = "unknown"
    paper: str = ""
    homepage: str = ""
    installed: bool = True
    group: str = ""
    variant_options: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The picker's entry: ``family · variant — description``."""
        short = self.name.split("/", 1)[1] if self.name.startswith(self.family + "/") else self.name
        text = f"{self.family} · {short}"
        if self.description:
            text += f" — {self.description}"
        return text if self.installed else text + " (downloads on first use)"

    def card(self) -> str:
        """The model's card as Markdown: description, license, paper, homepage."""
        lines = [f"**{self.name}**" + (f": {self.description}" if self.description else "")]
        facts = [f"license: {self.license}"]
        if self.paper:
            facts.append(f"paper: {self.paper}")
        if self.homepage:
            facts.append(f"[homepage]({self.homepage})")
        if not self.installed:
            facts.append("weights download on first use")
        lines.append(" · ".join(facts))
        return "\n\n".join(lines)


def group_for(translator: Any) -> OptionGroup:
    """The option group of a translator (loaded, or built on the meta device)."""
    declared: Mapping[str, Option] = getattr(type(translator), "options", {}) or {}
    variants: Sequence[tuple[str, Mapping[str, Any]]] = ()
    if callable(getattr(translator, "variants", None)):
        variants = translator.variants()
    labels = tuple(str(label) for label, _ in variants)
    covered = {name for _, options in variants for name in options}
    widgets = []
    for name, option in declared.items():
        widget = widget_for(name, option)
        if name in covered:  # set by the gallery unless given here
            widget = replace(widget, info=widget.info + "; overrides the gallery")
        widgets.append(widget)
    cls = type(translator)
    key = f"{cls.__module__}.{cls.__qualname__}" + (f"[{len(labels)} variants]" if labels else "")
    return OptionGroup(key, tuple(widgets), labels)


def variant_options(translator: Any) -> list[dict[str, Any]]:
    """The options of each of a translator's ``variants()`` (empty without any)."""
    if not callable(getattr(translator, "variants", None)):
        return []
    return [dict(options) for _, options in translator.variants()]


def probe_record(name: str) -> Any:
    """A registry model's translator built on the meta device: its declared options and
    variants, without weights or downloads."""
    from ..plugins import get_family, get_record
    from ..weights.convert import model_spec
    from ..weights.loading import build_on_meta

    record = get_record(name)
    family = get_family(record.family)
    config = family.complete_config(record.config)
    spec = model_spec(family, record, config, {})
    return family.translator(build_on_meta(family, config), spec)


def record_installed(name: str) -> bool:
    """Whether a registry model loads without a download: its weights ship in an installed
    package, or a converted copy is in the cache."""
    import importlib.util

    from ..plugins import get_record
    from ..weights.cache import record_cache_dir
    from ..weights.directory import is_model_directory

    record = get_record(name)
    if record.package:
        modules = {str(source.get("module", "")) for source in record.package.values()}
        try:
            if all(m and importlib.util.find_spec(m) is not None for m in modules):
                return True
        except (ImportError, ValueError):
            pass
    try:
        return is_model_directory(record_cache_dir(record))
    except (StylezooError, OSError, TypeError):
        return False


def default_models() -> list[str]:
    """The registry models whose weights are on this machine (no download needed)."""
    from ..api import list_models

    return [name for name in list_models() if record_installed(name)]


def examples() -> list[Path]:
    """The bundled example photos."""
    return sorted(EXAMPLES_DIR.glob("*.jpg"))
