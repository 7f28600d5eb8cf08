"""Batching: images of equal size run together, and folders stream through a DataLoader.

:func:`buckets` groups a list of mixed sizes into batches of equal size (the results are put
back in the list's order). :func:`stream_images` decodes files in DataLoader worker
processes, so decoding the next images overlaps the network's work on the current ones, and
:class:`BucketQueue` batches what arrives by size with a bound on what it holds back.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from . import image as imagelib
from .errors import ImageTooLargeError, StylezooError

if TYPE_CHECKING:
    from .translator import ImageTranslator


def buckets(keys: Sequence[Hashable], batch_size: int) -> list[list[int]]:
    """Indices of ``keys`` grouped by equal key (first appearance first), in chunks of at most
    ``batch_size``; within a group the indices keep their order."""
    groups: dict[Hashable, list[int]] = {}
    for index, key in enumerate(keys):
        groups.setdefault(key, []).append(index)
    return [
        members[start : start + batch_size]
        for members in groups.values()
        for start in range(0, len(members), batch_size)
    ]


def translate_defaults(translator: Any) -> dict[str, Any]:
    """Declared options to which the translator's ``translate`` gives its own default (AdaIN's
    ``style_size=512``): what a caller that bypasses ``translate`` must pass to get the same
    output."""
    import inspect

    declared = getattr(translator, "options", {})
    try:
        parameters = inspect.signature(translator.translate).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {
        p.name: p.default
        for p in parameters
        if p.name in declared and p.default is not inspect.Parameter.empty
    }


def translate_prepared(
    translator: ImageTranslator, items: Sequence[imagelib.Prepared], options: dict[str, Any]
) -> list[Any]:
    """Translate prepared images of one size as one batch (``options`` prepared); each result
    has its input's kind."""
    batch = torch.stack([item.rgb for item in items])
    out = translator._call_prepared(batch, options)
    return [item.restore(o) for item, o in zip(items, out, strict=True)]


@dataclass
class Loaded:
    """One file from :func:`stream_images`: its index, and either the prepared image, or the
    reason it could not be read, or neither (``deferred``: too large to decode in a worker;
    translate it from its path, which checks its size first)."""

    index: int
    prepared: imagelib.Prepared | None = None
    error: str | None = None
    deferred: bool = False


class ImageFiles(torch.utils.data.Dataset[Loaded]):
    """Files decoded and prepared in the DataLoader's workers; a bad file is a :class:`Loaded`
    with its error, not an exception that would stop the loader."""

    def __init__(self, paths: Sequence[os.PathLike[str] | str], max_pixels: int | None) -> None:
        self.paths = list(paths)
        self.max_pixels = max_pixels

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Loaded:
        path = self.paths[index]
        if self.max_pixels is not None:
            size = imagelib.peek_size(path)
            if size is not None and size[0] * size[1] > self.max_pixels:
                return Loaded(index, deferred=True)
        try:
            return Loaded(index, prepared=imagelib.prepare(path, name=str(path)))
        except ImageTooLargeError:
            return Loaded(index, deferred=True)
        except (StylezooError, OSError) as exc:
            return Loaded(index, error=str(exc))


def _as_is(item: Any) -> Any:
    return item


def stream_images(
    paths: Sequence[os.PathLike[str] | str], *, workers: int, max_pixels: int | None = None
) -> Iterator[Loaded]:
    """Decode ``paths`` in order with ``workers`` worker processes (0: in this process).

    Images larger than ``max_pixels`` are not decoded (:attr:`Loaded.deferred`).
    """
    loader = torch.utils.data.DataLoader(
        ImageFiles(paths, max_pixels),
        batch_size=None,
        num_workers=workers,
        collate_fn=_as_is,
        prefetch_factor=2 if workers > 0 else None,
    )
    yield from loader


class BucketQueue:
    """Holds prepared images until ``batch_size`` of one size are there.

    :meth:`add` returns the batches that are ready: a full bucket, or, when more than
    ``limit`` images are held (a folder of many sizes), the largest bucket as it is.
    :meth:`drain` returns what is left.
    """

    def __init__(self, batch_size: int, limit: int | None = None) -> None:
        self.batch_size = batch_size
        self.limit = limit if limit is not None else max(4 * batch_size, 16)
        self._buckets: dict[tuple[Hashable, ...], list[Loaded]] = {}
        self._held = 0

    def add(self, item: Loaded) -> list[list[Loaded]]:
        assert item.prepared is not None
        rgb = item.prepared.rgb
        key = (tuple(rgb.shape), rgb.device)
        bucket = self._buckets.setdefault(key, [])
        bucket.append(item)
        self._held += 1
        if len(bucket) >= self.batch_size:
            return [self._take(key)]
        if self._held > self.limit:
            largest = max(self._buckets, key=lambda k: len(self._buckets[k]))
            return [self._take(largest)]
        return []

    def drain(self) -> list[list[Loaded]]:
        return [self._take(key) for key in list(self._buckets)]

    def _take(self, key: tuple[Hashable, ...]) -> list[Loaded]:
        batch = self._buckets.pop(key)
        self._held -= len(batch)
        return batch
