"""The plugin manager: finds plugins through entry points and collects what they register.

Plugins come from the ``stylezoo`` entry-point group; the built-in families are declared there
exactly like third-party ones. ``STYLEZOO_LOAD_PLUGINS`` (comma-separated entry-point names)
restricts which are loaded; an empty value loads none. A plugin that fails to import, or
raises in a hook, is logged once and listed by :func:`plugin_failures`; the others keep
working.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import pluggy

from . import hookspecs
from .errors import PluginError
from .registry import FAMILY_PATTERN, Family, Record, validate_record_name

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "stylezoo"
LOAD_PLUGINS_ENV = "STYLEZOO_LOAD_PLUGINS"


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that could not be used, and why."""

    plugin: str
    stage: str  # "import", "register_families" or "register_records"
    error: str


class _Manager(pluggy.PluginManager):
    """A PluginManager that remembers when its set of plugins changed."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT_NAME)
        self.generation = 0

    def register(self, plugin: object, name: str | None = None) -> str | None:
        result = super().register(plugin, name)
        self.generation += 1
        return result

    def unregister(self, plugin: object | None = None, name: str | None = None) -> Any:
        result = super().unregister(plugin, name)
        self.generation += 1
        return result


@dataclass
class _Collected:
    generation: int
    families: dict[str, Family]
    records: dict[str, Record]


_lock = threading.RLock()
_manager: _Manager | None = None
_import_failures: list[PluginFailure] = []
_distributions: dict[str, str] = {}
_collected: _Collected | None = None
_hook_failures: list[PluginFailure] = []


def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, with entry-point plugins loaded on first use.

    An application can ``plugin_manager().register(obj)`` a plugin object; its families and
    records are visible to the next :func:`stylezoo.load` or :func:`stylezoo.list_models`.
    """
    global _manager
    with _lock:
        if _manager is None:
            manager = _Manager()
            manager.add_hookspecs(hookspecs)
            _load_entry_points(manager)
            _manager = manager
        return _manager


def _wanted_plugins() -> set[str] | None:
    value = os.environ.get(LOAD_PLUGINS_ENV)
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def _load_entry_points(manager: _Manager) -> None:
    wanted = _wanted_plugins()
    seen: set[str] = set()
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name in seen or (wanted is not None and entry_point.name not in wanted):
            continue
        seen.add(entry_point.name)
        try:
            plugin = entry_point.load()
            manager.register(plugin, name=entry_point.name)
            if entry_point.dist is not None:
                _distributions[entry_point.name] = (
                    f"{entry_point.dist.metadata['Name']} {entry_point.dist.version}"
                )
        except Exception as exc:
            _report(_import_failures, PluginFailure(entry_point.name, "import", _describe(exc)))


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _report(bucket: list[PluginFailure], failure: PluginFailure) -> None:
    if failure not in bucket:
        bucket.append(failure)
        logger.warning(
            "stylezoo plugin %r failed in %s and is skipped: %s",
            failure.plugin,
            failure.stage,
            failure.error,
        )


def _collect() -> _Collected:
    """Run both hooks once per plugin set; each plugin's hook runs in isolation."""
    global _collected
    manager = plugin_manager()
    with _lock:
        if _collected is not None and _collected.generation == manager.generation:
            return _collected
        _hook_failures.clear()
        families: dict[str, Family] = {}
        records: dict[str, Record] = {}

        def add_family(plugin: str, family: Family) -> None:
            if not isinstance(family, Family):
                raise TypeError(f"register() takes a stylezoo.Family, got {type(family)!r}")
            if not FAMILY_PATTERN.match(family.name):
                raise ValueError(
                    f"family name {family.name!r} must be lowercase letters, digits, '_' and '-'"
                )
            if family.name in families:
                other = families[family.name].plugin
                raise PluginError(
                    f"Model family {family.name!r} is registered by two plugins, {other!r} and "
                    f"{plugin!r}. Uninstall one of them, or choose plugins with "
                    f"{LOAD_PLUGINS_ENV}."
                )
            families[family.name] = _with_plugin(family, plugin)

        def add_record(plugin: str, record: Record) -> None:
            if not isinstance(record, Record):
                raise TypeError(f"register() takes a stylezoo.Record, got {type(record)!r}")
            validate_record_name(record.name)
            if record.name in records:
                other = records[record.name].plugin
                raise PluginError(
                    f"Model {record.name!r} is registered by two plugins, {other!r} and "
                    f"{plugin!r}. Uninstall one of them, or choose plugins with "
                    f"{LOAD_PLUGINS_ENV}."
                )
            records[record.name] = _with_plugin(record, plugin)

        _run_hook(manager, "register_families", add_family)
        _run_hook(manager, "register_records", add_record)
        _collected = _Collected(manager.generation, families, records)
        return _collected


def _with_plugin(item: Any, plugin: str) -> Any:
    from dataclasses import replace

    return replace(item, plugin=plugin)


def _run_hook(manager: _Manager, hook_name: str, add: Any) -> None:
    hook = getattr(manager.hook, hook_name)
    for impl in hook.get_hookimpls():  # registration order
        plugin = impl.plugin_name
        pending: list[Any] = []
        try:
            impl.function(register=pending.append)
        except Exception as exc:
            _report(_hook_failures, PluginFailure(plugin, hook_name, _describe(exc)))
            continue
        for item in pending:
            try:
                add(plugin, item)
            except PluginError:
                raise
            except Exception as exc:
                _report(_hook_failures, PluginFailure(plugin, hook_name, _describe(exc)))


def families() -> dict[str, Family]:
    """All registered families by name."""
    return dict(_collect().families)


def records() -> dict[str, Record]:
    """All registered records by name."""
    return dict(_collect().records)


def plugin_failures() -> list[PluginFailure]:
    """Plugins that failed to import or raised in a hook (each reported once)."""
    _collect()
    return [*_import_failures, *_hook_failures]


def plugins() -> list[dict[str, Any]]:
    """The loaded plugins with what they registered, for ``stylezoo plugins``."""
    collected = _collect()
    manager = plugin_manager()
    listing = []
    for name, plugin in manager.list_name_plugin():
        if plugin is None:
            continue
        listing.append(
            {
                "name": name,
                "distribution": _distributions.get(name),
                "families": sorted(f.name for f in collected.families.values() if f.plugin == name),
                "records": sum(1 for r in collected.records.values() if r.plugin == name),
            }
        )
    return listing


def reset() -> None:
    """Forget the manager and everything collected (used by tests)."""
    global _manager, _collected
    with _lock:
        _manager = None
        _collected = None
        _import_failures.clear()
        _hook_failures.clear()
        _distributions.clear()
