"""First load versus cached load, through loopback servers (no real network).

Usage:
    python benchmarks/bench_load.py [--repeats 5]

A full-size CycleGAN generator (official layout, random weights) is served by a loopback
"upstream" file server and, converted, by a loopback Hugging Face Hub. For each source the
first ``load()`` (download, for upstream also conversion) is timed once in a fresh cache, then
the cached ``load()`` (median of ``--repeats``) in the same warm process.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

# huggingface_hub reads these at import: set them first.
os.environ["HF_HUB_OFFLINE"] = "0"
os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"


def timed(function) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import torch

    # The loopback servers live with the tests.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from loopback import LoopbackUpstream
    from loopback_hub import LoopbackHub

    import stylezoo
    from stylezoo.testing import InProcessPlugin
    from stylezoo.weights.cache import ENDPOINT_ENV

    with tempfile.TemporaryDirectory() as tmp, LoopbackUpstream() as upstream, LoopbackHub() as hub:
        os.environ["STYLEZOO_CACHE"] = str(Path(tmp) / "stylezoo")
        os.environ[ENDPOINT_ENV] = hub.url
        model = stylezoo.create_model("cyclegan", seed=0)
        buffer = io.BytesIO()
        torch.save(model.state_dicts()["model"], buffer)
        url = upstream.add_file("horse2zebra.pth", buffer.getvalue())
        hub.commit_directory("bench/cyclegan", model.save_pretrained(Path(tmp) / "saved"))
        record = stylezoo.Record(
            name="cyclegan/bench", family="cyclegan", upstream={"model": {"url": url}}
        )
        stylezoo.plugin_manager().register(InProcessPlugin(records=[record]), name="bench")
        cache_dir = Path(tmp) / "hf"
        stylezoo.list_models()  # plugins loaded before timing

        sources = {
            "registry name (upstream .pth, converted)": "cyclegan/bench",
            "hf-hub: repo": "hf-hub:bench/cyclegan",
        }
        print(
            f"CycleGAN resnet_9blocks ngf 64, .pth {len(buffer.getvalue()) / 1e6:.1f} MB, "
            f"torch {torch.__version__}, {torch.get_num_threads()} threads"
        )
        for label, source in sources.items():
            first = timed(lambda s=source: stylezoo.load(s, cache_dir=cache_dir))
            cached = statistics.median(
                timed(lambda s=source: stylezoo.load(s, cache_dir=cache_dir))
                for _ in range(args.repeats)
            )
            print(
                f"{label:42s} first {first * 1000:7.1f} ms | cached {cached * 1000:6.1f} ms | "
                f"ratio {first / cached:5.1f}×"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
