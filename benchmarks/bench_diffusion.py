"""What a diffusion model costs, with the real architecture and random weights.

Usage:
    python benchmarks/bench_diffusion.py [--size 256] [--steps 2] [--dtype float32]

Builds the Stable Diffusion v1.5 parts from their published configs (instruct-pix2pix's
UNet takes 8 input channels, SD 1.5's 4; nothing else differs) with random weights: speed
and memory do not depend on the values, and no download is needed. Reports parameter counts
and weight bytes (computed on the meta device), then, for instruct-pix2pix, the time of one
``translate`` at ``--size``² and the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

UNET = {
    "sample_size": 64,
    "out_channels": 4,
    "layers_per_block": 2,
    "block_out_channels": (320, 640, 1280, 1280),
    "down_block_types": ("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
    "up_block_types": ("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
    "cross_attention_dim": 768,
    "attention_head_dim": 8,
}
VAE = {
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ("DownEncoderBlock2D",) * 4,
    "up_block_types": ("UpDecoderBlock2D",) * 4,
    "block_out_channels": (128, 256, 512, 512),
    "layers_per_block": 2,
    "latent_channels": 4,
    "sample_size": 512,
}
TEXT = {
    "vocab_size": 49408,
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "max_position_embeddings": 77,
    "hidden_act": "quick_gelu",
}


def build(in_channels: int) -> dict[str, Any]:
    import diffusers
    import transformers

    return {
        "unet": diffusers.UNet2DConditionModel(in_channels=in_channels, **UNET),
        "vae": diffusers.AutoencoderKL(**VAE),
        "text_encoder": transformers.CLIPTextModel(transformers.CLIPTextConfig(**TEXT)),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--dtype", default="float32")
    args = parser.parse_args()

    import diffusers
    import torch
    import transformers
    from stylezoo_plugins.diffusion.translator import InstructPix2PixTranslator

    import stylezoo
    from stylezoo.devices import resolve_dtype
    from stylezoo.family import IOSpec, ModelSpec

    print(
        f"python {platform.python_version()}, torch {torch.__version__}, diffusers "
        f"{diffusers.__version__}, transformers {transformers.__version__}, stylezoo "
        f"{stylezoo.__version__}, {torch.get_num_threads()} threads"
    )
    with torch.device("meta"):
        for label, channels in (("instruct-pix2pix", 8), ("sd15-img2img", 4)):
            parts = build(channels)
            counts = {role: sum(p.numel() for p in net.parameters()) for role, net in parts.items()}
            total = sum(counts.values())
            print(
                f"{label:17s} "
                + ", ".join(f"{role} {count / 1e6:.1f} M" for role, count in counts.items())
                + f" | float32 {total * 4 / 1e9:.2f} GB, float16 {total * 2 / 1e9:.2f} GB"
            )

    torch.manual_seed(0)
    started = time.perf_counter()
    dtype = resolve_dtype(args.dtype, torch.device("cpu"))
    networks = {role: net.to(dtype) for role, net in build(8).items()}
    built = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        vocab = {"<|startoftext|>": 49406, "<|endoftext|>": 49407, "a</w>": 320}
        (Path(folder) / "vocab.json").write_text(json.dumps(vocab))
        (Path(folder) / "merges.txt").write_text("#version: 0.2\n")
        tokenizer = transformers.CLIPTokenizer(
            str(Path(folder) / "vocab.json"),
            str(Path(folder) / "merges.txt"),
            model_max_length=77,
        )
    scheduler = diffusers.EulerAncestralDiscreteScheduler(
        beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, steps_offset=1
    )
    spec = ModelSpec(
        family="diffusion",
        config={"pipeline": "instruct-pix2pix"},
        io=IOSpec(range=(-1.0, 1.0), multiple=8, min_size=8),
    )
    translator = InstructPix2PixTranslator(
        networks, spec, tokenizer=tokenizer, scheduler=scheduler, tokenizer_files={}
    )
    image = torch.rand(1, 3, args.size, args.size)
    times = []
    for steps in (1, 1 + args.steps):  # the difference is the cost of args.steps steps
        started = time.perf_counter()
        translator(image, prompt="a", steps=steps)
        times.append(time.perf_counter() - started)
    per_step = (times[1] - times[0]) / args.steps
    fixed = times[0] - per_step
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB → GiB
    print(
        f"instruct-pix2pix {args.size}² {args.dtype}: built (random init) in {built:.1f} s; "
        f"{per_step:.2f} s per guided step, {fixed:.2f} s for text, VAE encode and decode; "
        f"peak RSS {peak:.1f} GiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
