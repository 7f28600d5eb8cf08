"""Large images and glibc's allocator: the same translate() with glibc's defaults and with
freed memory kept for reuse, side by side.

Usage:
    python benchmarks/bench_allocator.py [--cases cyclegan:1024:bf16 multistyle:2048:fp32 ...]

glibc serves every allocation over its mmap threshold (at most 32 MiB) with a fresh ``mmap``
and returns it at ``free``: each large activation tensor is then page-faulted in, zeroed by
the kernel, on every call. ``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=<large>`` (set before
Python starts) makes glibc serve them from its heap and keep freed memory for the next call.
Each case runs in fresh processes, alternately with each setting (``--rounds`` times); the
figure is the median of 3 calls after a warm-up, and the best round is kept. The resident
memory after the calls is reported too: with the setting the process keeps its peak.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

KEEP = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(64 * 2**30)}
CHILD = r"""
import json, resource, sys, time
import torch
import stylezoo
from PIL import Image
from skimage import data
torch.set_num_threads(int(sys.argv[4]))
family, size, dtype = sys.argv[1], int(sys.argv[2]), sys.argv[3]
t = stylezoo.create_model(family, seed=0, dtype="auto" if dtype == "bf16" else "float32")
photo = Image.fromarray(data.astronaut()).resize((size, size))
options = {"style": Image.fromarray(data.rocket())} if family in ("adain", "arbitrary") else {}
t.translate(photo, **options)
times = []
for _ in range(3):
    start = time.perf_counter()
    t.translate(photo, **options)
    times.append(time.perf_counter() - start)
with open("/proc/self/statm") as handle:
    rss = int(handle.read().split()[1]) * 4096
print(json.dumps({"s": sorted(times)[1], "rss": rss}))
"""


def run(case: str, env: dict[str, str], threads: int) -> dict[str, float]:
    family, size, dtype = case.split(":")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, family, size, dtype, str(threads)],
        env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--cases",
        nargs="+",
        default=["cyclegan:1024:bf16", "cyclegan:512:bf16", "multistyle:2048:fp32"],
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    print(f"load {os.getloadavg()}")
    print(f"{'case':<24} {'glibc default':>14} {'kept for reuse':>15} {'speed-up':>9}  RSS after")
    for case in args.cases:
        default, kept = [], []
        for _ in range(args.rounds):
            default.append(run(case, {}, args.threads))
            kept.append(run(case, KEEP, args.threads))
        a = min(default, key=lambda r: r["s"])
        b = min(kept, key=lambda r: r["s"])
        print(
            f"{case:<24} {1000 * a['s']:11.0f} ms {1000 * b['s']:12.0f} ms "
            f"{a['s'] / b['s']:8.2f}×  {a['rss'] / 2**30:.1f} / {b['rss'] / 2**30:.1f} GiB",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
