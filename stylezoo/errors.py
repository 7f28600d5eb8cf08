"""Exceptions raised by stylezoo.

Every error is a :class:`StylezooError`, so an application can catch the whole family with one
``except``. Messages name the offending input and say what to do next.
"""

from __future__ import annotations


class StylezooError(Exception):
    """Base class of every error stylezoo raises on purpose."""


class UnknownModelError(StylezooError, LookupError):
    """A model name is neither a registry name, a ``hf-hub:`` id nor an existing directory."""


class UnknownFamilyError(StylezooError, LookupError):
    """No installed plugin provides the requested model family."""


class PluginError(StylezooError):
    """A plugin failed to import, raised in a hook, or registered something twice."""


class InvalidModelDirectoryError(StylezooError):
    """A directory does not hold a model saved by stylezoo (config.json + safetensors)."""


class WeightsError(StylezooError):
    """Weights are missing, corrupt, or do not match the network they are loaded into."""


class WeightsNotAvailableError(WeightsError):
    """The weights of a registry record are not available on this machine."""


class CheckpointError(WeightsError):
    """An official checkpoint cannot be read or converted."""


class InvalidImageError(StylezooError, ValueError):
    """An input cannot be understood as an image, or is too small to translate."""


class ImageTooLargeError(InvalidImageError):
    """An image (or batch) would need more memory to translate than the device has free."""


class InvalidOptionError(StylezooError, ValueError):
    """A translate/load/convert option has a value that cannot be used."""


class InvalidOptionImageError(InvalidOptionError, InvalidImageError):
    """An image given as an option value (a style, a mask) that is not usable.

    Catchable as either class; being an InvalidOptionError makes the CLI stop at once
    instead of reporting the same bad style once for every input image.
    """


class InvalidModelConfigError(InvalidModelDirectoryError, InvalidOptionError):
    """A saved model's ``config.json`` holds a build option its family does not accept.

    Also an :class:`InvalidOptionError`: the same check as ``config=`` of
    :func:`stylezoo.convert`, with the file and the key named.
    """


class OutputError(StylezooError, OSError):
    """An output cannot be written where it was asked for: the path is a file where a folder
    is needed, lies under a file, is not writable, or would overwrite an input."""


class DeviceError(StylezooError):
    """A requested device or dtype is not available on this machine."""


class DownloadError(WeightsNotAvailableError):
    """A weight file could not be downloaded (not published, not found, or unreachable)."""


class OfflineError(WeightsNotAvailableError):
    """Offline mode (``HF_HUB_OFFLINE=1`` or ``local_files_only=True``) and nothing cached."""


class IntegrityError(WeightsError):
    """A downloaded file does not match its published sha256, even after one re-download."""


class PublishError(StylezooError):
    """A model could not be pushed to the Hugging Face Hub."""


class InvalidDataError(StylezooError, ValueError):
    """Training data is missing, empty, unreadable or not laid out as the family needs."""


class TrainingError(StylezooError):
    """A training run cannot start, resume or continue (e.g. a loss became NaN)."""


class ExportError(StylezooError):
    """A model cannot be exported as asked: an option or format the family cannot put in a
    graph, a missing exporter package, or an exported file that does not reproduce the
    model."""
