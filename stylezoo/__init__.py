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

from ._version import __version__
from .api import (
    convert,
    create_model,
    download,
    list_models,
    load,
    model_info,
    save_pretrained,
    trainer,
)
from .errors import (
    CheckpointError,
    DeviceError,
    DownloadError,
    ExportError,
    ImageTooLargeError,
    IntegrityError,
    InvalidDataError,
    InvalidImageError,
    InvalidModelConfigError,
    InvalidModelDirectoryError,
    InvalidOptionError,
    InvalidOptionImageError,
    OfflineError,
    OutputError,
    PluginError,
    PublishError,
    StylezooError,
    TrainingError,
    UnknownFamilyError,
    UnknownModelError,
    WeightsError,
    WeightsNotAvailableError,
)
from .exporting import export
from .family import Family, IOSpec, ModelSpec, Option
from .hookspecs import hookimpl
from .plugins import get_family, get_record, plugin_manager
from .publish import PushResult, publish_registry, push_to_hub
from .registry import Record, records_from_toml
from .sheet import contact_sheet

# A library logs; the application decides where logs go (nothing reaches stderr by default).
logging.getLogger(__name__).addHandler(logging.NullHandler())

if TYPE_CHECKING:
    from .training import BaseTrainer, Callback, Trainer
    from .translator import ImageTranslator, Translator

__all__ = [
    "BaseTrainer",
    "Callback",
    "CheckpointError",
    "DeviceError",
    "DownloadError",
    "ExportError",
    "Family",
    "IOSpec",
    "ImageTooLargeError",
    "ImageTranslator",
    "IntegrityError",
    "InvalidDataError",
    "InvalidImageError",
    "InvalidModelConfigError",
    "InvalidModelDirectoryError",
    "InvalidOptionError",
    "InvalidOptionImageError",
    "ModelSpec",
    "OfflineError",
    "Option",
    "OutputError",
    "PluginError",
    "PublishError",
    "PushResult",
    "Record",
    "StylezooError",
    "Trainer",
    "TrainingError",
    "Translator",
    "UnknownFamilyError",
    "UnknownModelError",
    "WeightsError",
    "WeightsNotAvailableError",
    "__version__",
    "convert",
    "contact_sheet",
    "create_model",
    "download",
    "export",
    "get_family",
    "get_record",
    "hookimpl",
    "list_models",
    "load",
    "model_info",
    "plugin_manager",
    "publish_registry",
    "push_to_hub",
    "records_from_toml",
    "save_pretrained",
    "trainer",
]

_LAZY = {
    "Translator": "translator",
    "ImageTranslator": "translator",
    "Trainer": "training",
    "BaseTrainer": "training",
    "Callback": "training",
}


def __getattr__(name: str) -> Any:
    # Names whose modules import torch are resolved on first access to keep import light.
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'stylezoo' has no attribute {name!r}")
