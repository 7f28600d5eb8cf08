"""CycleGAN: unpaired image-to-image translation (Zhu et al., 2017). Hook implementations only."""

from __future__ import annotations

from collections.abc import Callable

from stylezoo import Family, Record, hookimpl, records_from_toml

from .family import CycleGAN


@hookimpl
def register_families(register: Callable[[Family], None]) -> None:
    register(CycleGAN())


@hookimpl
def register_records(register: Callable[[Record], None]) -> None:
    for record in records_from_toml("stylezoo_registry", "cyclegan.toml", family="cyclegan"):
        register(record)
