"""Translate Ray Data datasets: :class:`TranslateBatch`, a callable class for ``map_batches``.

Ray runs one instance per actor, so each actor loads the model once and translates every
batch it is given. How many actors, and with how many CPUs or GPUs each, is the caller's
choice, passed to ``map_batches`` (see docs/scale-out.md)::

    import ray
    from stylezoo.ray_data import TranslateBatch

    ds = ray.data.read_images("photos/", include_paths=True)
    ds = ds.map_batches(
        TranslateBatch,
        fn_constructor_kwargs={"model": "multistyle/android-26", "options": {"style": 7}},
        compute=ray.data.ActorPoolStrategy(size=4),
        num_cpus=1,                 # or num_gpus=1: device="auto" then picks the GPU
        batch_size=8,
    )
    ds.write_parquet("stylised/")

This module imports neither ray nor torch: the class runs inside Ray's workers, where Ray is
already imported, and needs only numpy batches (``{"image": array, ...}``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)


class TranslateBatch:
    """A ``map_batches`` callable: translates the ``column`` of each numpy batch.

    Args:
        model: what :func:`stylezoo.load` takes: a registry name, a directory saved by
            stylezoo (on a path every node can read), ``hf-hub:owner/name``.
        options: translate options, e.g. ``{"style": 7}``; style images as paths every node
            can read.
        device: ``"auto"`` (the GPU Ray gave the actor, if any, else the CPU), ``"cpu"``, …
        dtype: as for :func:`stylezoo.load` (``"auto"`` picks bfloat16 or float16 where
            they are fast).
        column: the column holding the images: H×W×C uint8 arrays, as
            ``ray.data.read_images`` makes them (any kind ``translate`` takes works).
        output_column: where the results go (default: replace ``column``).
        threads: torch threads in the actor (default: torch's, which follows the
            ``OMP_NUM_THREADS`` Ray sets from the actor's ``num_cpus``).

    Each batch is translated as one call to ``translate`` (images of equal size run
    together); the result has the input's columns, with ``output_column`` holding one
    uint8 array per image, each of its input's size.
    """

    def __init__(
        self,
        model: str,
        *,
        options: Mapping[str, Any] | None = None,
        device: Any = "auto",
        dtype: Any = None,
        column: str = "image",
        output_column: str | None = None,
        threads: int | None = None,
    ) -> None:
        if threads is not None:
            import torch

            torch.set_num_threads(threads)
        from .api import load

        self.translator = load(model, device=device, dtype=dtype)
        self.options = dict(options or {})
        self.column = column
        self.output_column = output_column or column
        logger.info("Loaded %s on %s for a Ray Data actor", model, self.translator.device)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        from .errors import InvalidImageError

        if self.column not in batch:
            raise InvalidImageError(
                f"The batch has no column {self.column!r} (columns: {', '.join(batch)}); pass "
                "column=… naming the image column."
            )
        images = list(batch[self.column])
        results = self.translator.translate(images, batch_size=len(images), **self.options)
        output = dict(batch)
        output[self.output_column] = _column(results)
        return output


def _column(images: list[Any]) -> np.ndarray:
    """One array when every image has the same shape, else an object array of arrays (Ray
    stores it as a variable-shaped tensor column)."""
    shapes = {np.shape(image) for image in images}
    if len(shapes) == 1:
        return np.stack(images)
    column = np.empty(len(images), dtype=object)
    for index, image in enumerate(images):
        column[index] = image
    return column
