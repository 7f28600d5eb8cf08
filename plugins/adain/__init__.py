"""AdaIN: arbitrary style transfer with adaptive instance normalisation (Huang & Belongie,
2017). Hook implementations only.
"""

from __future__ import annotations

from collections.abc import Callable

from stylezoo import Family, Record, hookimpl, records_from_toml

from .family import AdaIN


@hookimpl
def register_families(register: Callable[[Family], None]) -> None:
    register(AdaIN())


@hookimpl
def register_records(register: Callable[[Record], None]) -> None:
    for record in records_from_toml("stylezoo_registry", "adain.toml", family="adain"):
        register(record)
