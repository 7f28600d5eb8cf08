"""Re-make the gallery: ``python docs/gallery/make_gallery.py`` (offline, a minute on 2 CPUs).

Every picture comes from the shipped (or pip-installable) real models, run on scikit-image's
bundled photos (public domain / CC0): the photo, every multistyle style as a contact sheet, a
style blend, the arbitrary family with styles taken from other bundled pictures, and the
vintage CycleGAN generator. Files are small JPEGs next to this script.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data

import stylezoo

HERE = Path(__file__).resolve().parent
QUALITY = 82


def save(image: Image.Image, name: str, longest: int = 512) -> str:
    image = image.convert("RGB")
    image.thumbnail((longest, longest), Image.Resampling.LANCZOS)
    image.save(HERE / name, quality=QUALITY, optimize=True)
    return name


def side_by_side(*images: Image.Image) -> Image.Image:
    height = min(i.height for i in images)
    scaled = [i.resize((round(i.width * height / i.height), height)) for i in images]
    sheet = Image.new("RGB", (sum(i.width for i in scaled), height), "white")
    x = 0
    for image in scaled:
        sheet.paste(image.convert("RGB"), (x, 0))
        x += image.width
    return sheet


def main() -> None:
    chelsea = Image.fromarray(data.chelsea())
    astronaut = Image.fromarray(data.astronaut())
    coffee = Image.fromarray(data.coffee())
    made = [save(chelsea, "chelsea.jpg")]

    multistyle = stylezoo.load("multistyle/android-26")
    made.append(save(stylezoo.contact_sheet(multistyle, chelsea, size=160), "sheet.jpg", 1200))
    for style in (7, 19):
        made.append(save(multistyle.translate(chelsea, style=style), f"chelsea-style{style}.jpg"))
    blend = multistyle.translate(chelsea, style={7: 0.5, 19: 0.5})
    made.append(save(blend, "chelsea-blend-7-19.jpg"))
    kept = multistyle.translate(chelsea, style=19, preserve_color=True)
    made.append(save(kept, "chelsea-style19-colour.jpg"))
    softer = multistyle.translate(astronaut, style=3, strength=0.6)
    made.append(save(softer, "astronaut-style3-0.6.jpg"))

    # style 26 of android-27 was trained by stylezoo (docs/recipes/train_mosaic.py)
    with_mosaic = stylezoo.load("multistyle/android-27")
    for photo, name in ((chelsea, "chelsea"), (astronaut, "astronaut")):
        out = with_mosaic.translate(photo, style=26)
        made.append(save(out, f"{name}-mosaic.jpg"))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "recipes"))
    from mosaic_style import mosaic

    made.append(save(mosaic(), "mosaic-style.jpg", 256))

    if "arbitrary" in stylezoo.plugins.families():
        arbitrary = stylezoo.load("arbitrary/magenta")
        hubble = Image.fromarray(data.hubble_deep_field())
        tissue = Image.fromarray(data.immunohistochemistry())
        for style, label in ((hubble, "hubble"), (tissue, "ihc"), (coffee, "coffee")):
            out = arbitrary.translate(chelsea, style=style)
            made.append(save(side_by_side(style, out), f"chelsea-arbitrary-{label}.jpg", 900))
        # a style made by stylezoo's own code: a multistyle output used as the style image
        own = multistyle.translate(coffee, style=12)
        out = arbitrary.translate(astronaut, style=own)
        made.append(save(side_by_side(own, out), "astronaut-arbitrary-own.jpg", 900))

    if importlib.util.find_spec("vintagify") is not None:
        vintage = stylezoo.load("cyclegan/vintage")
        pair = side_by_side(astronaut, vintage.translate(astronaut))
        made.append(save(pair, "astronaut-vintage.jpg", 900))

    total = sum((HERE / name).stat().st_size for name in made)
    print(f"{len(made)} pictures, {total / 1e6:.2f} MB: {', '.join(made)}")
    assert np.isfinite(total)


if __name__ == "__main__":
    main()
