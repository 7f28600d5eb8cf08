"""Where each family's forward pass spends its CPU time (torch.profiler), by kind of op.

Usage:
    python benchmarks/profile_families.py [--sizes 256 512] [--families cyclegan ...]
        [--top 0]

Each family's full-size network (random weights), one raw call ``t(batch)`` after a warm-up,
in float32 NCHW (the reference layout) and at ``dtype="auto"`` with the family's default
layout. Self CPU time of every aten op is summed into: convolution, normalisation, layout
copies and casts, padding, resampling, elementwise, other. ``--top N`` also lists the N most
expensive ops.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from typing import Any

KINDS = {
    "convolution": ("conv", "mkldnn_convolution", "_convolution", "slow_conv", "addmm", "mm"),
    "normalisation": ("norm", "var_mean", "batch_norm"),
    "layout copies and casts": ("copy_", "contiguous", "_to_copy", "clone", "to_dense"),
    "padding": ("pad",),
    "resampling": ("upsample", "interpolate", "max_pool", "avg_pool"),
    "elementwise": (
        "relu",
        "tanh",
        "sigmoid",
        "add",
        "mul",
        "sub",
        "div",
        "clamp",
        "leaky",
        "hardtanh",
        "lerp",
        "cat",
        "fill",
    ),
}


def kind_of(name: str) -> str:
    op = name.removeprefix("aten::")
    for kind, needles in KINDS.items():
        if any(needle in op for needle in needles):
            return kind
    return "other"


def options_for(family: str, size: int) -> dict[str, Any]:
    import torch

    if family in ("adain", "arbitrary"):
        return {"style": torch.rand(3, size, size)}
    return {}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--families",
        nargs="+",
        default=["cyclegan", "cut", "pix2pix", "adain", "fast_style", "multistyle", "arbitrary"],
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--top", type=int, default=0)
    args = parser.parse_args()

    import torch
    from torch.profiler import ProfilerActivity, profile

    import stylezoo

    torch.set_num_threads(args.threads)
    for family in args.families:
        for size in args.sizes:
            settings = {
                "float32 NCHW": {"memory_format": "contiguous"},
                "auto dtype, default layout": {"dtype": "auto"},
            }
            for label, kwargs in settings.items():
                translator = stylezoo.create_model(family, seed=0, **kwargs)
                x = torch.rand(1, 3, size, size)
                options = options_for(family, size)
                translator(x, **options)
                with profile(activities=[ProfilerActivity.CPU]) as prof:
                    translator(x, **options)
                totals: dict[str, float] = defaultdict(float)
                ops = []
                for event in prof.key_averages():
                    if not event.key.startswith("aten::"):
                        continue
                    totals[kind_of(event.key)] += event.self_cpu_time_total
                    ops.append((event.self_cpu_time_total, event.key, event.count))
                whole = sum(totals.values()) or 1.0
                shares = ", ".join(
                    f"{kind} {100 * t / whole:.0f}%"
                    for kind, t in sorted(totals.items(), key=lambda kv: -kv[1])
                    if t / whole >= 0.01
                )
                print(f"{family:<10} {size:>4}² {label:<27} {whole / 1e3:8.0f} ms | {shares}")
                for micros, key, count in sorted(ops, reverse=True)[: args.top]:
                    print(f"      {key:<40} {micros / 1e3:8.1f} ms  ×{count}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
