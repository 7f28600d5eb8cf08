"""Translate a folder of images with Ray Data: one model per actor, Parquet or image files out.

Usage:
    python examples/ray_translate.py PHOTOS OUT [--model NAME] [--option key=value ...]
        [--actors N] [--cpus-per-actor C | --gpus-per-actor G] [--batch-size B]
        [--format parquet|png] [--address auto]

Reads every image under PHOTOS (``ray.data.read_images``), translates them with
``stylezoo.ray_data.TranslateBatch`` on N actors, and writes either Parquet files under OUT
(columns ``path``, ``image``: the translated image as a uint8 H×W×3 tensor) or one PNG per
input, named after it (``OUT/<name>.png``, each written atomically). Without ``--address``
it starts a local Ray instance; ``--address auto`` joins a running cluster, where PHOTOS and
OUT must be paths every node can read and write (a shared file system or ``s3://…``).

Needs ``pip install "stylezoo[ray]"``. Example, offline (the model ships with stylezoo)::

    python examples/ray_translate.py photos/ out/ --option style=7 --actors 2 --format png
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any


def _options(pairs: list[str]) -> dict[str, Any]:
    options = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            options[key] = json.loads(value)
        except ValueError:
            options[key] = value
    return options


def write_png(batch: dict[str, Any], out_dir: str) -> dict[str, Any]:
    """Writes each translated image as OUT/<input name>.png; returns the written paths."""
    from PIL import Image

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for path, image in zip(batch["path"], batch["image"], strict=True):
        target = folder / (Path(str(path)).stem + ".png")
        temporary = target.with_name(f".{target.name}.partial-{os.getpid()}")
        Image.fromarray(image).save(temporary, format="PNG")
        os.replace(temporary, target)
        written.append(str(target))
    return {"written": written}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", help="folder of images (read recursively)")
    parser.add_argument("out", help="folder for the Parquet files or PNGs")
    parser.add_argument("--model", default="multistyle/android-26")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--actors", type=int, default=2, help="actors, one model each")
    parser.add_argument("--cpus-per-actor", type=float, default=1.0)
    parser.add_argument("--gpus-per-actor", type=float, default=0.0)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--format", choices=["parquet", "png"], default="parquet")
    parser.add_argument("--address", default=None, help="a Ray cluster to join (e.g. auto)")
    args = parser.parse_args()

    import ray

    from stylezoo.ray_data import TranslateBatch

    if args.address:
        ray.init(address=args.address)
    else:
        # Room for the actors plus one CPU for reading and writing: actors holding every CPU
        # would leave the read tasks none.
        ray.init(num_cpus=int(args.actors * args.cpus_per_actor) + 1, include_dashboard=False)
    started = time.perf_counter()
    ds = ray.data.read_images(args.photos, include_paths=True, mode="RGB")
    ds = ds.map_batches(
        TranslateBatch,
        fn_constructor_kwargs={"model": args.model, "options": _options(args.option)},
        compute=ray.data.ActorPoolStrategy(size=args.actors),
        num_cpus=args.cpus_per_actor,
        num_gpus=args.gpus_per_actor,
        batch_size=args.batch_size,
    )
    if args.format == "parquet":
        ds.write_parquet(args.out)
        count = ray.data.read_parquet(args.out).count()
    else:
        count = ds.map_batches(write_png, fn_kwargs={"out_dir": args.out}).count()
    seconds = time.perf_counter() - started
    print(f"translated {count} images into {args.out} in {seconds:.1f} s")
    ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
