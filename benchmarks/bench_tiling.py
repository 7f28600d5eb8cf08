"""Tiled inference: peak memory at a large size, and fidelity against the whole-image output.

Usage:
    python benchmarks/bench_tiling.py [--size 4096] [--tile 1088] [--untiled-size 2048]
        [--fidelity-size 512] [--fidelity-tile 256] [--skip-memory] [--skip-fidelity]

Memory: the official CycleGAN generator (resnet_9blocks, ngf 64; random weights: memory does
not depend on the values) translates a photo resized to SIZE² on the CPU, tiled, in a fresh
subprocess that reports its peak RSS (``ru_maxrss``); another subprocess translates
UNTILED-SIZE² whole. The meta-device estimate of the whole-image peak is printed beside both.

Fidelity: PSNR of 8-bit outputs, tiled against whole-image, on scikit-image's astronaut at a
size both can run, for each way of getting the normalisation statistics (per tile: the naive
baseline; downscaled; exact), with real (cyclegan/vintage, multistyle/android-26) and random
weights. A crop around a seam is written to docs/gallery/tiling-seam.jpg.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

GALLERY = Path(__file__).resolve().parent.parent / "docs" / "gallery"


def photo(size: int) -> Any:
    from PIL import Image
    from skimage import data

    return Image.fromarray(data.astronaut()).resize((size, size), Image.Resampling.BICUBIC)


def child(mode: str, size: int, tile: int, overlap: int, threads: int) -> None:
    """One translation in this (fresh) process; prints a JSON line with its peak RSS."""
    import torch

    from stylezoo.testing import random_translator

    torch.set_num_threads(threads)
    translator = random_translator("cyclegan", {"netG": "resnet_9blocks", "ngf": 64})
    image = photo(size)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    estimate = translator.estimate_peak_memory((1, 3, size, size), {})
    started = time.perf_counter()
    if mode == "tiled":
        out = translator.translate(image, tile=tile, overlap=overlap)
    else:
        out = translator.translate(image)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert out.size == image.size
    print(
        json.dumps(
            {
                "mode": mode,
                "size": size,
                "peak": peak,
                "before": before,
                "estimate": estimate,
                "seconds": seconds,
            }
        )
    )


def run_child(mode: str, size: int, tile: int, overlap: int, threads: int) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--child",
        mode,
        "--size",
        str(size),
        "--tile",
        str(tile),
        "--overlap",
        str(overlap),
        "--threads",
        str(threads),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        return {"mode": mode, "size": size, "error": result.stderr.strip().splitlines()[-1:]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def gib(count: float) -> str:
    return f"{count / 2**30:.2f} GiB"


def memory(args: argparse.Namespace) -> None:
    tiled = run_child("tiled", args.size, args.tile, args.overlap, args.threads)
    whole = run_child("whole", args.untiled_size, args.tile, args.overlap, args.threads)
    for row in (tiled, whole):
        if "error" in row:
            print(f"{row['mode']:<6} {row['size']}²: failed: {row['error']}")
            continue
        label = f"tile {args.tile}, overlap {args.overlap}" if row["mode"] == "tiled" else "whole"
        print(
            f"{row['mode']:<6} {row['size']}² ({label}): peak RSS {gib(row['peak'])} "
            f"(before translate {gib(row['before'])}), {row['seconds']:.0f} s; meta estimate "
            f"of the whole-image forward at {row['size']}²: {gib(row['estimate'])}"
        )
    if "estimate" in tiled:
        print(f"untiled {args.size}² (not run): meta estimate {gib(tiled['estimate'])}")


def psnr(a: Any, b: Any) -> float:
    import numpy as np

    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    mse = float(((x - y) ** 2).mean())
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def fidelity(args: argparse.Namespace) -> None:
    import torch

    import stylezoo
    from stylezoo import tiling
    from stylezoo.testing import random_translator

    torch.set_num_threads(args.threads)
    image = photo(args.fidelity_size)
    models = [
        ("vintage", "cyclegan/vintage (real)", lambda: stylezoo.load("cyclegan/vintage"), {}),
        (
            "multistyle",
            "multistyle/android-26 style 19 (real)",
            lambda: stylezoo.load("multistyle/android-26"),
            {"style": 19},
        ),
        (
            "random",
            "cyclegan resnet_9blocks ngf 64 (random)",
            lambda: random_translator("cyclegan"),
            {},
        ),
    ]
    chosen, kinds = args.models.split(","), args.statistics.split(",")
    tile, overlap = args.fidelity_tile, args.overlap
    print(f"astronaut {args.fidelity_size}², tile {tile}, overlap {overlap}; PSNR vs whole")
    for key, label, build, options in models:
        if key not in chosen:
            continue
        translator = build()
        started = time.perf_counter()
        whole = translator.translate(image, **options)
        whole_s = time.perf_counter() - started
        results = {}
        # The naive baseline: every tile normalised with its own statistics.
        original = tiling._downscaled_statistics
        tiling._downscaled_statistics = lambda *a, **k: None  # type: ignore[assignment]
        try:
            started = time.perf_counter()
            naive = translator.translate(image, tile=tile, overlap=overlap, **options)
            results["per-tile"] = (psnr(naive, whole), time.perf_counter() - started)
        finally:
            tiling._downscaled_statistics = original  # type: ignore[assignment]
        outputs = {}
        for statistics in kinds:
            started = time.perf_counter()
            outputs[statistics] = translator.translate(
                image, tile=tile, overlap=overlap, tile_statistics=statistics, **options
            )
            results[statistics] = (psnr(outputs[statistics], whole), time.perf_counter() - started)
        cells = " | ".join(f"{k} {v[0]:5.2f} dB ({v[1]:.0f} s)" for k, v in results.items())
        print(f"  {label:<40} whole {whole_s:.0f} s | {cells}")
        if "vintage" in label:
            panels = [whole, naive, *(outputs[k] for k in kinds)]
            save_seam(panels, ["whole", "per-tile", *kinds], args.fidelity_size, tile, overlap)


def save_seam(panels: list[Any], names: list[str], size: int, tile: int, overlap: int) -> None:
    """A crop centred on the first vertical seam: whole | per-tile | downscaled | exact."""
    from PIL import Image

    from stylezoo.tiling import plan_axis

    spans = plan_axis(size, tile, overlap, 4)
    seam = (spans[0].end + spans[1].start) // 2
    half = 96
    box = (seam - half, size // 2 - half, seam + half, size // 2 + half)
    crops = [panel.crop(box) for panel in panels]
    sheet = Image.new("RGB", (len(crops) * 2 * half + (len(crops) - 1) * 4, 2 * half), "white")
    for index, crop in enumerate(crops):
        sheet.paste(crop, (index * (2 * half + 4), 0))
    GALLERY.mkdir(parents=True, exist_ok=True)
    target = GALLERY / "tiling-seam.jpg"
    sheet.save(target, quality=92)
    print(f"  seam crop ({' | '.join(names)}) at x={seam}: {target.name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--tile", type=int, default=1088)
    parser.add_argument("--overlap", type=int, default=64)
    parser.add_argument("--untiled-size", type=int, default=2048)
    parser.add_argument("--fidelity-size", type=int, default=512)
    parser.add_argument("--fidelity-tile", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models", default="vintage,multistyle,random")
    parser.add_argument("--statistics", default="downscaled,exact")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-fidelity", action="store_true")
    parser.add_argument("--child", choices=["tiled", "whole"])
    args = parser.parse_args()
    if args.child:
        child(args.child, args.size, args.tile, args.overlap, args.threads)
        return
    import torch

    print(f"python {platform.python_version()}, torch {torch.__version__}, {args.threads} threads")
    if not args.skip_memory:
        memory(args)
    if not args.skip_fidelity:
        fidelity(args)


if __name__ == "__main__":
    main()
