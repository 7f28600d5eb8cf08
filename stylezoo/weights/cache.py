"""Where stylezoo keeps files: huggingface_hub's cache for Hub files, and stylezoo's own cache
(converted upstream and package checkpoints, downloads, locks) next to it.

Every path is computed at call time, so a changed environment is honoured without
re-importing anything.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..registry import Record

#: Overrides the Hub endpoint for stylezoo's calls (read at every call, unlike HF_ENDPOINT).
ENDPOINT_ENV = "STYLEZOO_HUB_ENDPOINT"


def hf_home() -> Path:
    """``$HF_HOME``, else ``$XDG_CACHE_HOME/huggingface``, else ``~/.cache/huggingface``."""
    home = os.environ.get("HF_HOME")
    if not home:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
        home = os.path.join(xdg, "huggingface")
    return Path(home).expanduser()


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The stylezoo cache: ``cache_dir/stylezoo`` when given, else ``$STYLEZOO_CACHE``, else
    ``stylezoo/`` under the Hugging Face home (the same rule huggingface_hub uses)."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser() / "stylezoo"
    explicit = os.environ.get("STYLEZOO_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    return hf_home() / "stylezoo"


def record_cache_dir(record: Record, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The directory a registry model is kept in once converted from its upstream file."""
    family, variant = record.name.split("/", 1)
    return cache_root(cache_dir) / "models" / f"{family}--{variant}"


def hub_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> str:
    """huggingface_hub's cache: ``cache_dir``, else ``$HF_HUB_CACHE``, else ``HF_HOME/hub``.

    Read at call time, so a changed environment is honoured without re-importing anything.
    """
    if cache_dir is not None:
        return str(Path(cache_dir).expanduser())
    return os.environ.get("HF_HUB_CACHE") or str(hf_home() / "hub")


def hub_endpoint() -> str | None:
    """``$STYLEZOO_HUB_ENDPOINT``; ``None`` lets huggingface_hub use ``HF_ENDPOINT``."""
    return os.environ.get(ENDPOINT_ENV) or None


def is_offline(local_files_only: bool = False) -> bool:
    """True with ``local_files_only`` or huggingface_hub's offline mode (``HF_HUB_OFFLINE``)."""
    if local_files_only:
        return True
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)
