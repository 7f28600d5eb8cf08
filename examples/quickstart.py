"""Stylise a real photo with a real, trained network that ships inside stylezoo, offline.

Usage:
    python examples/quickstart.py [--model NAME_OR_DIR] [--style N] [--output OUT_DIR]

Writes, for scikit-image's CC0 cat photo (chelsea):

* ``OUT/chelsea.png``: the photo;
* ``OUT/chelsea-style<N>.png``: the photo in style N of the 26-style network
  ``multistyle/android-26`` (Dumoulin et al.; its weights are part of the package, so no
  download is needed);
* ``OUT/chelsea-sheet.png``: a contact sheet of all 26 styles, to choose one by looking.

With ``--model`` any other model is used instead (a registry name or a directory saved by
stylezoo); then only the translated photo is written.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import stylezoo

DEFAULT_MODEL = "multistyle/android-26"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, help="registry name or directory")
    parser.add_argument("--style", type=int, default=19, help="style index (multistyle models)")
    parser.add_argument("--output", default="out", help="folder for the results")
    args = parser.parse_args()
    out_dir = Path(args.output)
    out_dir.mkdir(parents=True, exist_ok=True)

    from PIL import Image
    from skimage import data

    photo = Image.fromarray(data.chelsea())  # CC0 photo bundled with scikit-image, 451×300
    photo_path = out_dir / "chelsea.png"
    photo.save(photo_path)

    started = time.perf_counter()
    try:
        translator = stylezoo.load(args.model)
    except stylezoo.StylezooError as exc:  # e.g. a model whose extra is not installed
        print(f"error: {exc}", file=sys.stderr)
        return 1
    multistyle = args.model.startswith("multistyle/") or hasattr(translator, "variants")
    options = {"style": args.style} if multistyle else {}
    result = translator.translate(photo, **options)
    elapsed = time.perf_counter() - started
    suffix = f"style{args.style}" if multistyle else "translated"
    result_path = out_dir / f"chelsea-{suffix}.png"
    result.save(result_path)
    written = [photo_path, result_path]
    if multistyle:
        sheet_path = out_dir / "chelsea-sheet.png"
        stylezoo.contact_sheet(translator, photo, size=192).save(sheet_path)
        written.append(sheet_path)
    print(
        f"{args.model}: translated the {photo.width}×{photo.height} photo in {elapsed:.2f} s "
        f"(load included) → {', '.join(str(p) for p in written)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
