"""pix2pix: paired image-to-image translation (Isola et al., 2017). Hook implementations only."""

from __future__ import annotations

from collections.abc import Callable

from stylezoo import Family, Record, hookimpl, records_from_toml

from .family import Pix2Pix


@hookimpl
def register_families(register: Callable[[Family], None]) -> None:
    register(Pix2Pix())


@hookimpl
def register_records(register: Callable[[Record], None]) -> None:
    for record in records_from_toml("stylezoo_registry", "pix2pix.toml", family="pix2pix"):
        register(record)
