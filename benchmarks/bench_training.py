"""Training quality with a known answer: CycleGAN, CUT and pix2pix learn a colour transform.

Domain A: random 64² crops of scikit-image photos. Domain B: a fixed transform of *other*
photos' crops (channel permutation G,B,R plus gamma 0.7), so the unpaired families must find
the mapping from the two distributions alone; pix2pix gets aligned pairs. Every 100 steps the
generator translates held-out A crops (from photos used by neither domain) and is scored by
PSNR against the true transform, beside the identity baseline (the untouched crops).

    python benchmarks/bench_training.py [--steps 300] [--families cyclegan cut pix2pix]

Prints a Markdown table (and JSON with --json FILE). Small generators (ngf 16, 6 blocks) so it
runs on a CPU in minutes.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import stylezoo
from stylezoo.training import Callback

TRAIN_A = ("astronaut", "coffee", "chelsea", "rocket")
TRAIN_B = ("immunohistochemistry", "retina", "hubble_deep_field", "colorwheel")
HELD_OUT = ("cat", "brick", "coins", "grass")


def transform(rgb: np.ndarray) -> np.ndarray:
    x = rgb.astype(np.float64) / 255.0
    return np.round((x[..., [1, 2, 0]] ** 0.7) * 255.0).astype(np.uint8)


def crops(names: tuple[str, ...], count: int, size: int, seed: int) -> list[np.ndarray]:
    import skimage.data as data

    rng = np.random.default_rng(seed)
    out = []
    for index in range(count):
        image = np.asarray(getattr(data, names[index % len(names)])())
        if image.ndim == 2:
            image = np.stack([image] * 3, -1)
        image = image[..., :3]
        y = rng.integers(0, image.shape[0] - size * 2)
        x = rng.integers(0, image.shape[1] - size * 2)
        patch = Image.fromarray(image[y : y + size * 2, x : x + size * 2]).resize((size, size))
        out.append(np.asarray(patch))
    return out


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


class Score(Callback):
    def __init__(self, held: list[np.ndarray], every: int) -> None:
        self.held, self.every, self.rows = held, every, []
        self.started = time.perf_counter()

    def on_step_end(self, trainer, step, losses):
        if step % self.every == 0:
            translator = trainer.translator()
            scores = [psnr(np.asarray(translator.translate(h)), transform(h)) for h in self.held]
            self.rows.append((step, float(np.mean(scores)), time.perf_counter() - self.started))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--families", nargs="+", default=["cyclegan", "cut", "pix2pix"])
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    size = 64
    root = Path(tempfile.mkdtemp(prefix="stylezoo-bench-train-"))
    a, b = crops(TRAIN_A, 40, size, 1), crops(TRAIN_B, 40, size, 2)
    held = crops(HELD_OUT, 16, size, 3)
    for folder, images in (("trainA", a), ("trainB", [transform(x) for x in b])):
        (root / folder).mkdir()
        for index, image in enumerate(images):
            Image.fromarray(image).save(root / folder / f"{index}.png")
    (root / "pairs").mkdir()
    for index, image in enumerate(a):
        pair = np.concatenate([image, transform(image)], 1)
        Image.fromarray(pair).save(root / "pairs" / f"{index}.png")
    identity = float(np.mean([psnr(h, transform(h)) for h in held]))
    settings = {
        "cyclegan": ({"ngf": 16, "netG": "resnet_6blocks"}, {"ndf": 16}, root),
        "cut": ({"ngf": 16, "netG": "resnet_6blocks"}, {"ndf": 16, "num_patches": 64}, root),
        # pix2pix's U-Net needs 2^levels: unet_128 with 128² crops of the 64² pairs upscaled
        "pix2pix": (
            {"netG": "unet_128", "ngf": 16},
            {"ndf": 16, "load_size": 128, "crop_size": 128},
            root / "pairs",
        ),
    }
    results = {}
    for family in args.families:
        config, hparams, data = settings[family]
        hparams = {"load_size": 72, "crop_size": 64, **hparams}
        trainer = stylezoo.trainer(family, config, hparams, device="cpu", seed=0)
        translator = trainer.translator()
        start = float(
            np.mean([psnr(np.asarray(translator.translate(h)), transform(h)) for h in held])
        )
        score = Score(held, args.every)
        began = time.perf_counter()
        trainer.fit(data, steps=args.steps, callbacks=[score], workers=1)
        wall = time.perf_counter() - began
        results[family] = {
            "untrained": start,
            "scores": score.rows,
            "seconds": wall,
            "s_per_100_steps": wall / args.steps * 100,
        }
        print(family, json.dumps(results[family]), flush=True)
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in cpu.splitlines()
            if line.startswith("Model name")
        ),
        platform.processor(),
    )
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(
        f"CPU: {model}, {torch.get_num_threads()} threads; torch {torch.__version__}; "
        f"identity baseline PSNR {identity:.2f} dB; load average {load}"
    )
    header = (
        "| family | untrained | "
        + " | ".join(f"step {s}" for s, _, _ in next(iter(results.values()))["scores"])
        + " | s / 100 steps |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for family, r in results.items():
        cells = " | ".join(f"{p:.2f}" for _, p, _ in r["scores"])
        print(f"| {family} | {r['untrained']:.2f} | {cells} | {r['s_per_100_steps']:.0f} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"identity": identity, **results}, indent=2))


if __name__ == "__main__":
    main()
