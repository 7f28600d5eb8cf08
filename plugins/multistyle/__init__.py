"""multistyle: one network, many styles (Dumoulin, Shlens, Kudlur, 2017). Hooks only."""

from __future__ import annotations

from collections.abc import Callable

from stylezoo import Family, Record, hookimpl, records_from_toml

from .family import MultiStyle


@hookimpl
def register_families(register: Callable[[Family], None]) -> None:
    register(MultiStyle())


@hookimpl
def register_records(register: Callable[[Record], None]) -> None:
    for record in records_from_toml("stylezoo_registry", "multistyle.toml", family="multistyle"):
        register(record)
