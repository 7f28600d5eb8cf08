"""Translate a real photo end to end, offline.

Usage:
    python examples/quickstart.py [--model DIR_OR_NAME] [--output OUT_DIR]

With ``--model`` it translates with that model (a directory saved by stylezoo, or a registry
name whose weights are on this machine). Without it, no trained weights are available offline,
so the script first writes a CycleGAN generator checkpoint in the official upstream layout
(random weights, seed 0), converts it with ``stylezoo.convert`` exactly as an official file is
converted, and uses that: the output image is NOT a meaningful translation, but every step a
real model goes through (conversion, safetensors loading, image handling, saving) runs for real.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import stylezoo


def make_demo_checkpoint(directory: Path) -> Path:
    """An official-layout CycleGAN generator file with random weights (see module docstring)."""
    import torch

    checkpoint = directory / "demo_net_G.pth"
    translator = stylezoo.create_model("cyclegan", seed=0)
    torch.save(translator.state_dicts()["model"], checkpoint)
    return checkpoint


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="directory saved by stylezoo, or a registry name")
    parser.add_argument("--output", default="out", help="folder for the results")
    args = parser.parse_args()
    out_dir = Path(args.output)
    out_dir.mkdir(parents=True, exist_ok=True)

    from PIL import Image
    from skimage import data

    photo = Image.fromarray(data.chelsea())  # CC0 photo bundled with scikit-image, 451×300
    photo_path = out_dir / "chelsea.png"
    photo.save(photo_path)

    model = args.model
    if model is None:
        model_dir = out_dir / "demo-cyclegan"
        if not (model_dir / "config.json").exists():
            checkpoint = make_demo_checkpoint(out_dir)
            stylezoo.convert("cyclegan", checkpoint, model_dir)
        model = str(model_dir)
        print(
            f"No trained model given: using {model_dir}, converted from a random-weight "
            "checkpoint in the official layout (the result is not a meaningful translation)."
        )

    started = time.perf_counter()
    translator = stylezoo.load(model, device="auto")
    loaded = time.perf_counter()
    result = translator.translate(photo_path)
    done = time.perf_counter()
    result_path = out_dir / "chelsea-translated.png"
    result.save(result_path)
    print(f"{translator!r}")
    print(
        f"loaded in {loaded - started:.2f} s, translated {photo.size[0]}×{photo.size[1]} in "
        f"{done - loaded:.2f} s"
    )
    print(
        f"input:  {photo_path}\noutput: {result_path} ({result.size[0]}×{result.size[1]}, "
        f"{result.mode})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
