"""Hook implementations of the tutorial plugin: cheap, no torch import here."""

from __future__ import annotations

from collections.abc import Callable

from stylezoo import Family, Record, hookimpl, records_from_toml

from .family import Negative


@hookimpl
def register_families(register: Callable[[Family], None]) -> None:
    register(Negative())


@hookimpl
def register_records(register: Callable[[Record], None]) -> None:
    for record in records_from_toml("stylezoo_negative", "records.toml", family="negative"):
        register(record)
