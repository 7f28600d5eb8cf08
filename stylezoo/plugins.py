"""The plugin manager: finds plugins through entry points and collects what they register.

Plugins come from the ``stylezoo`` entry-point group; the built-in families are declared there
exactly like third-party ones. ``STYLEZOO_LOAD_PLUGINS`` (comma-separated entry-point names)
restricts which are loaded; an empty value loads none.

Each plugin is isolated: one that fails to import, implements a hook that does not exist
(a misspelt name, caught by pluggy's ``check_pending``), raises in a hook, or registers
something that is not a family or record is logged once, listed by :func:`plugin_failures`
and ``stylezoo plugins``, and the others keep working.

All state lives in one :class:`PluginHost`; :func:`host` returns the process-wide one.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib import metadata
from typing import Any

import pluggy

from . import hookspecs
from .errors import PluginError
from .family import Family
from .registry import (
    FAMILY_PATTERN,
    Record,
    unknown_family,
    unknown_model,
    validate_record_name,
)

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "stylezoo"
LOAD_PLUGINS_ENV = "STYLEZOO_LOAD_PLUGINS"


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that could not be used, and why."""

    plugin: str
    stage: str  # "import", "hooks", "register_families" or "register_records"
    error: str


@dataclass(frozen=True)
class _Collected:
    plugins: frozenset[int]  # ids of the registered plugin objects this was collected from
    families: dict[str, Family]
    records: dict[str, Record]
    failures: tuple[PluginFailure, ...]


class PluginHost:
    """A pluggy manager with the entry-point plugins loaded, and what they registered.

    What the hooks registered is collected on first use and again whenever the set of
    registered plugins changes (``manager.register`` / ``unregister``).
    """

    def __init__(self) -> None:
        self.manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.manager.add_hookspecs(hookspecs)
        self.distributions: dict[str, str] = {}
        # Plugins dropped for good (failed to import, or implement hooks that do not exist);
        # hook failures are per collection and live in _Collected.
        self._import_failures: list[PluginFailure] = []
        self._collected: _Collected | None = None
        self._lock = threading.RLock()
        self._load_entry_points()

    # -- loading ----------------------------------------------------------------------------
    def _load_entry_points(self) -> None:
        wanted = _wanted_plugins()
        seen: set[str] = set()
        for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
            if entry_point.name in seen or (wanted is not None and entry_point.name not in wanted):
                continue
            seen.add(entry_point.name)
            try:
                self.manager.register(entry_point.load(), name=entry_point.name)
            except Exception as exc:  # isolation: any failure of a plugin's code
                self._import_failures.append(
                    _report(PluginFailure(entry_point.name, "import", _describe(exc)))
                )
                continue
            if entry_point.dist is not None:
                dist = entry_point.dist
                self.distributions[entry_point.name] = f"{dist.metadata['Name']} {dist.version}"

    def _check_pending(self) -> list[PluginFailure]:
        """Unregister plugins implementing hooks that do not exist, one failure each."""
        failures: list[PluginFailure] = []
        while True:
            try:
                self.manager.check_pending()
                return failures
            except pluggy.PluginValidationError as exc:
                name = self.manager.get_name(exc.plugin) or repr(exc.plugin)
                hooks = sorted(
                    hook
                    for hook, caller in vars(self.manager.hook).items()
                    if isinstance(caller, pluggy.HookCaller)
                    and not caller.has_spec()
                    and any(impl.plugin is exc.plugin for impl in caller.get_hookimpls())
                )
                message = str(
                    PluginError(
                        f"Plugin {name!r} implements unknown hook(s) {hooks}; stylezoo's hooks "
                        "are register_families and register_records. Fix the name in the plugin."
                    )
                )
                failures.append(_report(PluginFailure(name, "hooks", message)))
                self.manager.unregister(exc.plugin)

    # -- collecting -------------------------------------------------------------------------
    def collected(self) -> _Collected:
        with self._lock:
            current = frozenset(id(p) for p in self.manager.get_plugins())
            if self._collected is None or self._collected.plugins != current:
                self._import_failures += self._check_pending()
                failures: list[PluginFailure] = []
                families: dict[str, Family] = {}
                records: dict[str, Record] = {}
                failures += self._run("register_families", _check_family, _adder(families))
                failures += self._run("register_records", _check_record, _adder(records))
                current = frozenset(id(p) for p in self.manager.get_plugins())
                self._collected = _Collected(current, families, records, tuple(failures))
            return self._collected

    def _run(
        self,
        hook_name: str,
        check: Callable[[Any], None],
        add: Callable[[str, Any], None],
    ) -> list[PluginFailure]:
        """Call ``hook_name`` on each plugin alone, so a failing one spoils only itself: a
        plugin whose hook raises or registers anything invalid contributes nothing."""
        failures = []
        everyone = self.manager.get_plugins()
        for impl in getattr(self.manager.hook, hook_name).get_hookimpls():
            plugin = impl.plugin_name
            pending: list[Any] = []
            others = [p for p in everyone if p is not impl.plugin]
            call = self.manager.subset_hook_caller(hook_name, remove_plugins=others)
            try:
                call(register=pending.append)
                for item in pending:
                    check(item)
            except Exception as exc:  # isolation: this plugin's items are all dropped
                failures.append(_report(PluginFailure(plugin, hook_name, _describe(exc))))
                continue
            for item in pending:
                add(plugin, item)  # a PluginError here is a conflict between plugins
        return failures

    # -- views ------------------------------------------------------------------------------
    def failures(self) -> list[PluginFailure]:
        return [*self._import_failures, *self.collected().failures]

    def listing(self) -> list[dict[str, Any]]:
        collected = self.collected()
        return [
            {
                "name": name,
                "distribution": self.distributions.get(name),
                "families": sorted(f.name for f in collected.families.values() if f.plugin == name),
                "records": sum(1 for r in collected.records.values() if r.plugin == name),
            }
            for name, plugin in self.manager.list_name_plugin()
            if plugin is not None
        ]


def _check_family(family: Any) -> None:
    if not isinstance(family, Family):
        raise TypeError(
            f"register() takes an instance of a stylezoo.Family subclass, got {family!r}"
        )
    if not FAMILY_PATTERN.match(family.name or ""):
        raise ValueError(
            f"family name {family.name!r} must be lowercase letters, digits, '_' and '-'"
        )
    if not family.roles or len(set(family.roles)) != len(family.roles):
        raise ValueError(f"family {family.name!r} must declare distinct roles")


def _check_record(record: Any) -> None:
    if not isinstance(record, Record):
        raise TypeError(f"register() takes a stylezoo.Record, got {record!r}")
    validate_record_name(record.name)


def _adder(known: dict[str, Any]) -> Callable[[str, Any], None]:
    """Adds a checked family or record; a name two plugins register is a PluginError."""

    def add(plugin: str, item: Any) -> None:
        if item.name in known:
            what = "Model family" if isinstance(item, Family) else "Model"
            raise PluginError(
                f"{what} {item.name!r} is registered by two plugins, {known[item.name].plugin!r} "
                f"and {plugin!r}. Uninstall one of them, or choose plugins with "
                f"{LOAD_PLUGINS_ENV}."
            )
        if isinstance(item, Family):
            item.plugin = plugin
            known[item.name] = item
        else:
            known[item.name] = replace(item, plugin=plugin)

    return add


def _wanted_plugins() -> set[str] | None:
    value = os.environ.get(LOAD_PLUGINS_ENV)
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


_reported: set[PluginFailure] = set()


def _report(failure: PluginFailure) -> PluginFailure:
    if failure not in _reported:  # once per process, however often plugins are collected
        _reported.add(failure)
        logger.warning(
            "stylezoo plugin %r failed in %s and is skipped: %s",
            failure.plugin,
            failure.stage,
            failure.error,
        )
    return failure


_host: PluginHost | None = None
_host_lock = threading.Lock()


def host() -> PluginHost:
    """The process-wide :class:`PluginHost`, created (entry points loaded) on first use."""
    global _host
    with _host_lock:
        if _host is None:
            _host = PluginHost()
        return _host


def plugin_manager() -> pluggy.PluginManager:
    """The process-wide pluggy manager, with entry-point plugins loaded.

    An application can ``plugin_manager().register(obj)`` a plugin object; its families and
    records are visible to the next :func:`stylezoo.load` or :func:`stylezoo.list_models`.
    """
    return host().manager


def families() -> dict[str, Family]:
    """All registered families by name."""
    return dict(host().collected().families)


def records() -> dict[str, Record]:
    """All registered records by name."""
    return dict(host().collected().records)


def get_family(name: str) -> Family:
    """The registered family ``name``, or :class:`~stylezoo.UnknownFamilyError`."""
    known = host().collected().families
    family = known.get(name.strip().lower())
    if family is None:
        raise unknown_family(name, known)
    return family


def get_record(name: str) -> Record:
    """The registry record called ``name``; unknown names suggest close matches."""
    known = host().collected().records
    record = known.get(name.strip().lower())
    if record is None:
        raise unknown_model(name, known)
    return record


def plugin_failures() -> list[PluginFailure]:
    """Plugins that failed to import, to validate or in a hook (each reported once)."""
    return host().failures()


def plugins() -> list[dict[str, Any]]:
    """The loaded plugins with what they registered, for ``stylezoo plugins``."""
    return host().listing()


def reset() -> None:
    """Forget the host and everything collected (used by tests)."""
    global _host
    with _host_lock:
        _host = None
    _reported.clear()
