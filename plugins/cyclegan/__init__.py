"""CycleGAN: unpaired image-to-image translation (Zhu et al., 2017). Hook implementations only."""

from __future__ import annotations

from stylezoo import Family, hookimpl, records_from_toml


@hookimpl
def register_families(register):  # type: ignore[no-untyped-def]
    register(
        Family(
            name="cyclegan",
            implementation="stylezoo_plugins.cyclegan.family:family",
            description="CycleGAN ResNet generators (junyanz/pytorch-CycleGAN-and-pix2pix layout)",
        )
    )


@hookimpl
def register_records(register):  # type: ignore[no-untyped-def]
    for record in records_from_toml("stylezoo_registry", "cyclegan.toml", family="cyclegan"):
        register(record)
