"""Text-guided image editing with Stable Diffusion pipelines, through diffusers:
instruct-pix2pix (Brooks et al., 2023) and Stable Diffusion img2img (SDEdit). Hook
implementations only; diffusers and transformers are imported when a model is loaded.
"""

from __future__ import annotations

from collections.abc import Callable

from stylezoo import Family, Record, hookimpl, records_from_toml

from .family import Diffusion


@hookimpl
def register_families(register: Callable[[Family], None]) -> None:
    register(Diffusion())


@hookimpl
def register_records(register: Callable[[Record], None]) -> None:
    for record in records_from_toml("stylezoo_registry", "diffusion.toml", family="diffusion"):
        register(record)
