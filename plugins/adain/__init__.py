"""AdaIN: arbitrary style transfer with adaptive instance normalisation (Huang & Belongie,
2017). Hook implementations only.
"""

from __future__ import annotations

from stylezoo import Family, hookimpl, records_from_toml


@hookimpl
def register_families(register):  # type: ignore[no-untyped-def]
    register(
        Family(
            name="adain",
            implementation="stylezoo_plugins.adain.family:family",
            description="AdaIN arbitrary style transfer: VGG-19 encoder + decoder "
            "(naoto0804/pytorch-AdaIN layout)",
            roles=("encoder", "decoder"),
        )
    )


@hookimpl
def register_records(register):  # type: ignore[no-untyped-def]
    for record in records_from_toml("stylezoo_registry", "adain.toml", family="adain"):
        register(record)
