"""Fast neural style: one feed-forward network per style (Johnson et al., 2016).

Hook implementations only.
"""

from __future__ import annotations

from stylezoo import Family, hookimpl, records_from_toml


@hookimpl
def register_families(register):  # type: ignore[no-untyped-def]
    register(
        Family(
            name="fast_style",
            implementation="stylezoo_plugins.fast_style.family:family",
            description="Fast neural style TransformerNet (pytorch/examples fast_neural_style layout)",
            roles=("model",),
        )
    )


@hookimpl
def register_records(register):  # type: ignore[no-untyped-def]
    for record in records_from_toml("stylezoo_registry", "fast_style.toml", family="fast_style"):
        register(record)
