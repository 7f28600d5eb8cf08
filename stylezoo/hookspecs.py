"""Hook specifications: the whole plugin interface of stylezoo.

A plugin is a module (or any object) with functions decorated by :data:`hookimpl`, made
known through the ``stylezoo`` entry-point group::

    [project.entry-points.stylezoo]
    myfamily = "my_package.plugin"

Hooks must be cheap: register descriptions and import paths, never build networks, download
files or import torch at hook time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .family import Family
    from .registry import Record

PROJECT_NAME = "stylezoo"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_families(register: Callable[[Family], None]) -> None:
    """Add model families: how to build, load, convert, run and train a kind of network.

    Call ``register(MyFamily())`` once per family, with an instance of a
    :class:`~stylezoo.Family` subclass. Keep the module defining it light (no torch at its
    top): networks and translators are imported inside its methods, when a model is used.

    Example:
        from .family import Negative

        @hookimpl
        def register_families(register):
            register(Negative())
    """


@hookspec
def register_records(register: Callable[[Record], None]) -> None:
    """Add pretrained records: the names that :func:`stylezoo.load` resolves.

    Records are data (configuration, weight sources, license); a plugin may add records for a
    family another plugin provides, e.g. new ``cyclegan/...`` weights.

    Example:
        @hookimpl
        def register_records(register):
            for record in records_from_toml("my_package", "records.toml", family="negative"):
                register(record)
    """
