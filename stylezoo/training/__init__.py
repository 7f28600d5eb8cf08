"""Training: the :class:`Trainer` protocol, :class:`BaseTrainer` (the shared loop), data.

Families implement their trainer in their plugin (``trainer.py``) by subclassing
:class:`BaseTrainer`; :func:`stylezoo.trainer` makes one.
"""

from __future__ import annotations

from .base import BaseTrainer, Callback, FitResult, Schedule, Trainer

__all__ = ["BaseTrainer", "Callback", "FitResult", "Schedule", "Trainer"]
