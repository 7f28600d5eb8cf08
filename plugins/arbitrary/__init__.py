"""arbitrary: any image as the style, in one network (Ghiasi et al., 2017). Hooks only."""

from __future__ import annotations

from collections.abc import Callable

from stylezoo import Family, Record, hookimpl, records_from_toml

from .family import Arbitrary


@hookimpl
def register_families(register: Callable[[Family], None]) -> None:
    register(Arbitrary())


@hookimpl
def register_records(register: Callable[[Record], None]) -> None:
    for record in records_from_toml("stylezoo_registry", "arbitrary.toml", family="arbitrary"):
        register(record)
