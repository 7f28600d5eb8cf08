"""Hook implementations of the tutorial plugin: cheap, no torch import here."""

from __future__ import annotations

from stylezoo import Family, hookimpl, records_from_toml


@hookimpl
def register_families(register):
    register(
        Family(
            name="negative",
            implementation="stylezoo_negative.family:family",
            description="Colour negatives with a 1×1 convolution (tutorial plugin)",
        )
    )


@hookimpl
def register_records(register):
    for record in records_from_toml("stylezoo_negative", "records.toml", family="negative"):
        register(record)
