"""Draw the "mosaic" style image: a procedural stained-glass pattern (no external image).

Voronoi cells in a saturated palette, dark lead lines between them and a faint glass
texture. Deterministic (seeded), so the image, and the style trained from it, can be
recreated exactly: ``python docs/recipes/mosaic_style.py mosaic.png``.
"""

from __future__ import annotations

import sys

import numpy as np
from PIL import Image, ImageFilter

PALETTE = np.array(
    [
        (180, 30, 40),
        (230, 150, 20),
        (240, 200, 60),
        (30, 90, 170),
        (20, 140, 150),
        (90, 40, 140),
        (40, 130, 60),
        (200, 80, 130),
        (240, 235, 210),
        (110, 170, 220),
    ],
    dtype=np.float32,
)


def mosaic(size: int = 512, cells: int = 180, seed: int = 7) -> Image.Image:
    rng = np.random.default_rng(seed)
    points = rng.uniform(0, size, (cells, 2)).astype(np.float32)
    colours = PALETTE[rng.integers(0, len(PALETTE), cells)]
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    pixels = np.stack([ys.ravel(), xs.ravel()], 1)
    nearest = np.full(pixels.shape[0], np.inf, dtype=np.float32)
    second = np.full(pixels.shape[0], np.inf, dtype=np.float32)
    owner = np.zeros(pixels.shape[0], dtype=np.int64)
    for index, point in enumerate(points):
        d = np.sqrt(((pixels - point) ** 2).sum(1))
        closer = d < nearest
        second = np.where(closer, nearest, np.minimum(second, d))
        owner = np.where(closer, index, owner)
        nearest = np.where(closer, d, nearest)
    image = colours[owner].reshape(size, size, 3)
    # lighter towards each cell's centre, like light through uneven glass
    shade = 1.0 - 0.35 * np.clip(nearest / 40.0, 0, 1).reshape(size, size, 1)
    image = image * shade + rng.normal(0, 6, (size, size, 3))
    lead = ((second - nearest) < 3.0).reshape(size, size, 1)
    image = np.where(lead, 25.0, image)
    picture = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    return picture.filter(ImageFilter.SMOOTH)


if __name__ == "__main__":
    mosaic().save(sys.argv[1] if len(sys.argv) > 1 else "mosaic.png")
