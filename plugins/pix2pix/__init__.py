"""pix2pix: paired image-to-image translation (Isola et al., 2017). Hook implementations only."""

from __future__ import annotations

from stylezoo import Family, hookimpl, records_from_toml


@hookimpl
def register_families(register):  # type: ignore[no-untyped-def]
    register(
        Family(
            name="pix2pix",
            implementation="stylezoo_plugins.pix2pix.family:family",
            description="pix2pix U-Net generators (junyanz/pytorch-CycleGAN-and-pix2pix layout)",
            roles=("model",),
        )
    )


@hookimpl
def register_records(register):  # type: ignore[no-untyped-def]
    for record in records_from_toml("stylezoo_registry", "pix2pix.toml", family="pix2pix"):
        register(record)
