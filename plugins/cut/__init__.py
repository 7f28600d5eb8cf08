"""CUT / FastCUT: contrastive unpaired translation (Park et al., 2020). Hooks only."""

from __future__ import annotations

from collections.abc import Callable

from stylezoo import Family, Record, hookimpl, records_from_toml

from .family import CUT


@hookimpl
def register_families(register: Callable[[Family], None]) -> None:
    register(CUT())


@hookimpl
def register_records(register: Callable[[Record], None]) -> None:
    for record in records_from_toml("stylezoo_registry", "cut.toml", family="cut"):
        register(record)
