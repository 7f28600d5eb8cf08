"""The models a demo offers, gradio-free: which ones, their picker entries and option groups,
and the cache that loads each one once for every request."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import UnknownModelError
from .widgets import (
    ModelChoice,
    OptionGroup,
    default_models,
    group_for,
    probe_record,
    record_installed,
    variant_options,
)

DTYPES = ("float32", "bfloat16", "float16", "auto")


class ModelCache:
    """Loaded translators shared by every request, by (model, device, dtype).

    A model is loaded once (under a lock, so two requests for it do not load it twice) and
    kept until ``max_models`` others were used more recently.
    """

    def __init__(self, max_models: int = 4, loader: Callable[..., Any] | None = None) -> None:
        if loader is None:
            from ..api import load

            loader = load
        self.loader = loader
        self.max_models = max(1, max_models)
        self.loads = 0
        self._models: OrderedDict[tuple[str, str, str], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, name: str, device: str = "auto", dtype: str = "float32") -> Any:
        key = (name, device, dtype)
        with self._lock:
            if key not in self._models:
                self._models[key] = self.loader(name, device=device, dtype=dtype)
                self.loads += 1
                while len(self._models) > self.max_models:
                    self._models.popitem(last=False)
            self._models.move_to_end(key)
            return self._models[key]


def device_choices() -> list[str]:
    """``auto``, ``cpu`` and the accelerators this machine has."""
    import torch

    choices = ["auto", "cpu"]
    if torch.cuda.is_available():
        choices += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        choices.append("mps")
    return choices


def resolve_models(models: Sequence[str] | None) -> list[str]:
    """Registry names (shell wildcards expanded), directories and ``hf-hub:`` ids, in order;
    default: the registry models whose weights are on this machine."""
    from ..api import list_models
    from ..plugins import records

    if not models:
        return default_models()
    known = records()
    names: list[str] = []
    for item in models:
        if item in known or item.startswith("hf-hub:") or Path(item).is_dir():
            matches = [item]
        else:
            matches = list_models(item) if any(c in item for c in "*?[") else []
            if not matches:
                raise UnknownModelError(
                    f"--model {item!r} is no registry name, wildcard, directory or hf-hub: id. "
                    "See `stylezoo list`."
                )
        names += [m for m in matches if m not in names]
    return names


def describe(
    names: Sequence[str], cache: ModelCache, device: str, dtype: str
) -> tuple[list[ModelChoice], dict[str, OptionGroup]]:
    """A picker entry and an option group for each model; registry models are probed on the
    meta device (one probe per family and config), other sources are loaded."""
    from ..plugins import get_record, records

    known = records()
    probes: dict[str, Any] = {}
    choices: list[ModelChoice] = []
    groups: dict[str, OptionGroup] = {}
    for name in names:
        if name in known:
            record = get_record(name)
            key = record.family + json.dumps(dict(record.config), sort_keys=True, default=str)
            if key not in probes:
                probes[key] = probe_record(name)
            probe = probes[key]
            choice = ModelChoice(
                name, record.family, record.description, record.license, record.paper,
                record.homepage, record_installed(name),
            )  # fmt: skip
        else:
            probe = cache.get(name, device, dtype)
            spec = probe.spec
            choice = ModelChoice(
                name, spec.family, spec.description, spec.license, spec.paper, spec.homepage
            )
        group = group_for(probe)
        groups.setdefault(group.key, group)
        choice.group = group.key
        choice.variant_options = variant_options(probe)
        choices.append(choice)
    choices.sort(key=lambda c: (c.family, c.name))
    return choices, groups
