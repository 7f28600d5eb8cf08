"""stylezoo: image-to-image translation and style transfer models behind one API.

Example:
    >>> import stylezoo
    >>> translator = stylezoo.load("cyclegan/horse2zebra")
    >>> zebra = translator.translate(Image.open("horse.jpg"))

``import stylezoo`` is light: torch is imported when a model is first built or loaded.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .api import (
    convert,
    create_model,
    download,
    get_record,
    list_models,
    load,
    model_info,
    save_pretrained,
)
from .errors import (
    CheckpointError,
    DeviceError,
    DownloadError,
    IntegrityError,
    InvalidImageError,
    InvalidModelDirectoryError,
    InvalidOptionError,
    OfflineError,
    PluginError,
    PublishError,
    StylezooError,
    UnknownFamilyError,
    UnknownModelError,
    WeightsError,
    WeightsNotAvailableError,
)
from .family import FamilyImplementation, ModelSpec
from .hookspecs import hookimpl
from .plugins import plugin_manager
from .publish import PushResult, publish_registry, push_to_hub
from .registry import Family, IOSpec, Record, records_from_toml

__version__ = "0.1.0"

# A library logs; the application decides where logs go (nothing reaches stderr by default).
logging.getLogger(__name__).addHandler(logging.NullHandler())

if TYPE_CHECKING:
    from .translator import ImageTranslator, Translator

__all__ = [
    "CheckpointError",
    "DeviceError",
    "Family",
    "FamilyImplementation",
    "IOSpec",
    "ImageTranslator",
    "InvalidImageError",
    "InvalidModelDirectoryError",
    "InvalidOptionError",
    "ModelSpec",
    "PluginError",
    "Record",
    "StylezooError",
    "Translator",
    "UnknownFamilyError",
    "UnknownModelError",
    "WeightsError",
    "WeightsNotAvailableError",
    "__version__",
    "convert",
    "create_model",
    "download",
    "DownloadError",
    "IntegrityError",
    "OfflineError",
    "PublishError",
    "PushResult",
    "publish_registry",
    "push_to_hub",
    "get_record",
    "hookimpl",
    "list_models",
    "load",
    "model_info",
    "plugin_manager",
    "records_from_toml",
    "save_pretrained",
]

_LAZY = {"Translator": "translator", "ImageTranslator": "translator"}


def __getattr__(name: str) -> Any:
    # Names whose modules import torch are resolved on first access to keep import light.
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'stylezoo' has no attribute {name!r}")
