"""CUT / FastCUT: contrastive unpaired translation (Park et al., 2020). Hooks only."""

from __future__ import annotations

from stylezoo import Family, hookimpl, records_from_toml


@hookimpl
def register_families(register):  # type: ignore[no-untyped-def]
    register(
        Family(
            name="cut",
            implementation="stylezoo_plugins.cut.family:family",
            description="CUT / FastCUT anti-aliased ResNet generators "
            "(taesungp/contrastive-unpaired-translation layout)",
            roles=("model",),
        )
    )


@hookimpl
def register_records(register):  # type: ignore[no-untyped-def]
    for record in records_from_toml("stylezoo_registry", "cut.toml", family="cut"):
        register(record)
