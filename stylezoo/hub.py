"""Where weights come from: local directories now; the stylezoo cache for registry names."""

from __future__ import annotations

import os
from pathlib import Path

from .registry import Record

HF_HUB_PREFIX = "hf-hub:"


def cache_root() -> Path:
    """The stylezoo cache: ``$STYLEZOO_CACHE``, else ``stylezoo/`` under the Hugging Face home.

    The Hugging Face home is ``$HF_HOME``, else ``$XDG_CACHE_HOME/huggingface``, else
    ``~/.cache/huggingface`` (the same rule huggingface_hub uses).
    """
    explicit = os.environ.get("STYLEZOO_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    hf_home = os.environ.get("HF_HOME")
    if not hf_home:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
        hf_home = os.path.join(xdg, "huggingface")
    return Path(hf_home).expanduser() / "stylezoo"


def record_cache_dir(record: Record) -> Path:
    """The directory a registry model is kept in once its weights are on this machine."""
    family, variant = record.name.split("/", 1)
    return cache_root() / "models" / f"{family}--{variant}"
