"""Fast neural style: one feed-forward network per style (Johnson et al., 2016).

Hook implementations only.
"""

from __future__ import annotations

from collections.abc import Callable

from stylezoo import Family, Record, hookimpl, records_from_toml

from .family import FastStyle


@hookimpl
def register_families(register: Callable[[Family], None]) -> None:
    register(FastStyle())


@hookimpl
def register_records(register: Callable[[Record], None]) -> None:
    for record in records_from_toml("stylezoo_registry", "fast_style.toml", family="fast_style"):
        register(record)
