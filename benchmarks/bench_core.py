"""Core costs: import time, load time of a converted model, translation speed by dtype.

Usage:
    python benchmarks/bench_core.py [--size 512] [--repeats 5] [--family cyclegan]

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
    samples = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                    check=True).stdout) for _ in range(repeats)]
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--family", default="cyclegan")
    args = parser.parse_args()

    import torch

    import stylezoo
    from stylezoo.testing import random_translator

    print(f"python {platform.python_version()}, torch {torch.__version__}, "
          f"stylezoo {stylezoo.__version__}, {platform.machine()}, "
          f"{torch.get_num_threads()} threads")
    print(f"import stylezoo: {import_time('stylezoo', args.repeats) * 1000:.0f} ms "
          f"(import torch: {import_time('torch', args.repeats) * 1000:.0f} ms)")

    with tempfile.TemporaryDirectory() as tmp:
        directory = random_translator(args.family).save_pretrained(Path(tmp) / "model")
        stylezoo.load(directory)  # warm the plugin registry and the family import
        load_s = median_time(lambda: stylezoo.load(directory), args.repeats)
        print(f"load() of a saved {args.family} (full size, warm process): {load_s * 1000:.1f} ms")

        image = torch.rand(1, 3, args.size, args.size)
        results = {}
        for dtype in (torch.float32, torch.bfloat16):
            translator = stylezoo.load(directory, dtype=dtype)
            translator(image)  # warm-up
            results[dtype] = median_time(lambda t=translator: t(image), args.repeats)
            print(f"{args.family} {args.size}×{args.size} {str(dtype):15s}: "
                  f"{results[dtype]:.3f} s / image")
        ratio = results[torch.float32] / results[torch.bfloat16]
        print(f"bfloat16 speed-up over float32: {ratio:.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
