"""Ray Data throughput: one actor versus two, each with one torch thread, on this machine.

Usage:
    python benchmarks/bench_ray.py [--images 96] [--size 256] [--model multistyle/android-26]

Writes ``--images`` photos (crops of scikit-image's astronaut, chelsea, coffee and rocket,
``--size`` pixels square) to a temporary folder, then translates the folder with
``ray.data.read_images`` → ``map_batches(TranslateBatch, ...)`` → ``count()`` on a local Ray
instance (``ray.init(num_cpus=2)``), for 1 and 2 actors of one torch thread each. Each count
runs twice, on ``--small`` images and on all of them: the wall times include Ray's and the
actors' start-up (torch import, model load), and the difference gives the steady rate,
images/s once running, and its speed-up over one actor. For reference, the same images
through ``translate`` in this process with one torch thread.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path
from typing import Any


def _write_photos(folder: Path, count: int, size: int) -> None:
    import numpy as np
    from PIL import Image
    from skimage import data

    photos = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()]
    rng = np.random.default_rng(0)
    for index in range(count):
        photo = photos[index % len(photos)]
        top = int(rng.integers(0, photo.shape[0] - size + 1)) if photo.shape[0] > size else 0
        left = int(rng.integers(0, photo.shape[1] - size + 1)) if photo.shape[1] > size else 0
        crop = Image.fromarray(photo[top : top + size, left : left + size]).resize((size, size))
        crop.convert("RGB").save(folder / f"photo{index:04d}.png")


def _pipeline(
    ray: Any, translate: Any, folder: Path, args: Any, options: dict[str, Any], actors: int
) -> float:
    """Seconds for read_images → map_batches(TranslateBatch) → count on ``actors`` actors."""
    started = time.perf_counter()
    count = (
        ray.data.read_images(str(folder), mode="RGB")
        .map_batches(
            translate,
            fn_constructor_kwargs={
                "model": args.model,
                "options": options,
                "device": "cpu",
                "threads": 1,
            },
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=0.5,  # leaves CPU slots for the read tasks
            batch_size=args.batch_size,
        )
        .count()
    )
    assert count == len(list(folder.iterdir()))
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=96)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--model", default="multistyle/android-26")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--small", type=int, default=8, help="images of the start-up run")
    args = parser.parse_args()

    import ray
    import torch

    import stylezoo
    from stylezoo.ray_data import TranslateBatch

    options = {"style": 7} if args.model.startswith("multistyle/") else {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        _write_photos(folder, args.images, args.size)
        print(
            f"python {platform.python_version()}, torch {torch.__version__}, ray "
            f"{ray.__version__}, stylezoo {stylezoo.__version__}; {args.model}, "
            f"{args.images} images of {args.size}², batch_size {args.batch_size}"
        )

        torch.set_num_threads(1)
        translator = stylezoo.load(args.model)
        paths = sorted(folder.iterdir())
        translator.translate(paths[0], **options)  # warm-up
        started = time.perf_counter()
        for path in paths:
            translator.translate(path, **options)
        local = time.perf_counter() - started
        print(f"in-process translate, 1 thread : {local:6.1f} s  {args.images / local:5.2f} img/s")

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        ray.data.DataContext.get_current().enable_progress_bars = False
        small = sorted(folder.iterdir())[: args.small]
        small_folder = Path(tmp) / "small"
        small_folder.mkdir()
        for path in small:
            (small_folder / path.name).write_bytes(path.read_bytes())
        # Warm-up: Ray starts its worker processes on first use.
        _pipeline(ray, TranslateBatch, small_folder, args, options, 2)
        baseline = None
        for actors in (1, 2):
            few = min(
                _pipeline(ray, TranslateBatch, small_folder, args, options, actors) for _ in "ab"
            )
            many = _pipeline(ray, TranslateBatch, folder, args, options, actors)
            # The images beyond the small run over the extra time: the steady rate, without
            # Ray's and the actors' start-up (torch import, model load), which both runs pay.
            rate = (args.images - args.small) / (many - few)
            baseline = baseline or rate
            print(
                f"Ray Data, {actors} actor(s) × 1 thread: {args.small} images {few:5.1f} s, "
                f"{args.images} images {many:5.1f} s ({args.images / many:5.2f} img/s overall);"
                f" steady {rate:5.2f} img/s  ×{rate / baseline:.2f}"
            )
        ray.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
