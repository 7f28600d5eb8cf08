"""Core costs: import time, load time of a converted model, translation speed by dtype.

Usage:
    python benchmarks/bench_core.py [--size 512] [--repeats 5] [--family cyclegan|all]

Everything is measured side by side in one run; compare ratios, not absolute seconds.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def median_time(function, repeats: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def import_time(module: str, repeats: int) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    samples = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(repeats)
    ]
    return statistics.median(samples)


def family_options(name: str) -> dict:  # type: ignore[type-arg]
    import torch

    # AdaIN needs a style; a fixed random 256² style keeps runs comparable.
    return (
        {"style": torch.rand(3, 256, 256, generator=torch.Generator().manual_seed(0))}
        if name == "adain"
        else {}
    )


def bench_family(name: str, size: int, repeats: int) -> None:
    import torch

    import stylezoo

    options = family_options(name)
    with tempfile.TemporaryDirectory() as tmp:
        directory = stylezoo.create_model(name, seed=0).save_pretrained(Path(tmp) / "model")
        stylezoo.load(directory)  # warm the plugin registry and the family import
        load_s = median_time(lambda: stylezoo.load(directory), repeats)
        image = torch.rand(1, 3, size, size)
        results = {}
        for dtype in (torch.float32, torch.bfloat16):
            translator = stylezoo.load(directory, dtype=dtype)
            translator(image, **options)  # warm-up
            results[dtype] = median_time(lambda t=translator: t(image, **options), repeats)
        ratio = results[torch.float32] / results[torch.bfloat16]
        print(
            f"{name:11s} load {load_s * 1000:6.1f} ms | {size}² float32 "
            f"{results[torch.float32]:6.3f} s | bfloat16 {results[torch.bfloat16]:6.3f} s | "
            f"bf16 speed-up {ratio:4.2f}×"
        )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--family", default="cyclegan")
    args = parser.parse_args()

    import torch

    import stylezoo

    print(
        f"python {platform.python_version()}, torch {torch.__version__}, "
        f"stylezoo {stylezoo.__version__}, {platform.machine()}, "
        f"{torch.get_num_threads()} threads"
    )
    print(
        f"import stylezoo: {import_time('stylezoo', args.repeats) * 1000:.0f} ms "
        f"(import torch: {import_time('torch', args.repeats) * 1000:.0f} ms)"
    )

    names = sorted(stylezoo.plugins.families()) if args.family == "all" else [args.family]
    for name in names:
        bench_family(name, args.size, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
