"""Neural style transfer by optimisation (Gatys, Ecker & Bethge, 2016). Hook implementations
only.
"""

from __future__ import annotations

from collections.abc import Callable

from stylezoo import Family, Record, hookimpl, records_from_toml

from .family import NST


@hookimpl
def register_families(register: Callable[[Family], None]) -> None:
    register(NST())


@hookimpl
def register_records(register: Callable[[Record], None]) -> None:
    for record in records_from_toml("stylezoo_registry", "nst.toml", family="nst"):
        register(record)
