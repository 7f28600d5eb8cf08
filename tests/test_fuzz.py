"""Seeded fuzzing of every file stylezoo reads: images, saved model directories, checkpoints.

A few hundred cases, generated from a fixed seed: random bytes, and valid PNG, JPEG,
safetensors, config.json and .pth files (zip and legacy formats) truncated, bit-flipped or
partly overwritten. They go through ``translate`` (as image paths), ``load`` (as model
directories, then a translation when they load) and ``convert`` (as checkpoints). Each may
succeed or raise a StylezooError subclass; any other exception fails the test, naming the
case. A failed conversion leaves no output behind.
"""

from __future__ import annotations

import io
import json
import random
import shutil
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

import stylezoo
from stylezoo.testing import random_translator, sample_rgb

SEED = 20240611
SMALL = {"ngf": 4, "netG": "resnet_6blocks"}
#: Each test's own budget; the three together stay under 20 s.
SECONDS = 6.5
#: How many cases ended in each StylezooError subclass (shown with -rA / on failure).
OUTCOMES: dict[str, int] = {}

pytestmark = pytest.mark.filterwarnings(
    "ignore:Detected pickle protocol",
    "ignore:.*TypedStorage is deprecated",
    "ignore::PIL.Image.DecompressionBombWarning",
)


def mutations(rng: random.Random, data: bytes, count: int) -> Iterator[tuple[str, bytes]]:
    """``count`` damaged copies of ``data``, each with how it was damaged."""
    kinds = ("truncate", "flip", "overwrite", "splice", "random")
    for _ in range(count):
        kind = rng.choice(kinds)
        if kind == "truncate":
            cut = rng.randrange(len(data) + 1)
            yield f"truncated at {cut}", data[:cut]
        elif kind == "flip":
            damaged = bytearray(data)
            positions = [rng.randrange(len(data)) for _ in range(rng.randint(1, 8))]
            for position in positions:
                damaged[position] ^= 1 << rng.randrange(8)
            yield f"bits flipped at {positions}", bytes(damaged)
        elif kind == "overwrite":
            start = rng.randrange(len(data))
            length = rng.randint(1, 64)
            noise = rng.randbytes(length)
            yield (
                f"{length} bytes overwritten at {start}",
                data[:start] + noise + data[start + length :],
            )
        elif kind == "splice":
            start, end = sorted(rng.randrange(len(data)) for _ in range(2))
            yield f"bytes {start}:{end} repeated", data[:end] + data[start:end] + data[end:]
        else:
            length = rng.choice((0, 1, 7, 8, 64, 1000))
            yield f"{length} random bytes", rng.randbytes(length)


def run_cases(
    cases: Iterator[tuple[str, Callable[[], Any]]], minimum: int
) -> tuple[int, list[str]]:
    """Run every case; a StylezooError (or success) is fine, anything else is a failure."""
    started, count, failures = time.perf_counter(), 0, []
    for description, case in cases:
        count += 1
        try:
            case()
        except stylezoo.StylezooError as exc:
            OUTCOMES[type(exc).__name__] = OUTCOMES.get(type(exc).__name__, 0) + 1
        except Exception as exc:
            failures.append(
                f"{description}: {type(exc).__name__}: {exc}\n"
                + "".join(traceback.format_exception(exc)[-4:])
            )
    elapsed = time.perf_counter() - started
    assert count >= minimum
    assert elapsed < SECONDS, f"{count} cases took {elapsed:.1f} s"
    return count, failures


def encoded(image: Image.Image, kind: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=kind)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    translator = random_translator("cyclegan", SMALL)
    return translator.save_pretrained(tmp_path_factory.mktemp("fuzz") / "model")


def test_damaged_images(model: Path, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    translator = stylezoo.load(model)
    photo = Image.fromarray(sample_rgb(20, 24))
    seeds = {
        "png": encoded(photo, "PNG"),
        "png-rgba": encoded(photo.convert("RGBA"), "PNG"),
        "png-palette": encoded(photo.convert("P"), "PNG"),
        "jpeg": encoded(photo, "JPEG"),
        "jpeg-progressive": encoded(photo, "JPEG"),
    }

    def cases() -> Iterator[tuple[str, Callable[[], Any]]]:
        for name, data in seeds.items():
            suffix = ".png" if name.startswith("png") else ".jpg"
            for index, (how, damaged) in enumerate(mutations(rng, data, 24)):
                path = tmp_path / f"{name}-{index}{suffix}"
                path.write_bytes(damaged)
                yield f"translate({name} {how})", lambda p=path: translator.translate(p)

    count, failures = run_cases(cases(), 100)
    assert not failures, f"{len(failures)} of {count} cases:\n" + "\n".join(failures[:10])


def test_damaged_model_directories(model: Path, tmp_path: Path) -> None:
    rng = random.Random(SEED + 1)
    weights = (model / "model.safetensors").read_bytes()
    config = (model / "config.json").read_text()
    unrecorded = json.dumps({k: v for k, v in json.loads(config).items() if k != "weights"})
    image = sample_rgb(12, 12)

    def load_and_run(directory: Path) -> None:
        translated = stylezoo.load(directory).translate(image)
        assert isinstance(translated, np.ndarray)

    def copy(index: int, files: dict[str, bytes]) -> Path:
        directory = tmp_path / f"m{index}"
        shutil.copytree(model, directory)
        for name, data in files.items():
            (directory / name).write_bytes(data)
        return directory

    def cases() -> Iterator[tuple[str, Callable[[], Any]]]:
        index = 0
        for how, damaged in mutations(rng, weights, 50):
            index += 1  # the sha256 config.json records catches every change
            directory = copy(index, {"model.safetensors": damaged})
            yield f"load(safetensors {how})", lambda d=directory: load_and_run(d)
        for how, damaged in mutations(rng, weights, 50):
            index += 1  # without a recorded digest the safetensors reader itself is tested
            files = {"model.safetensors": damaged, "config.json": unrecorded.encode()}
            directory = copy(index, files)
            yield f"load(unrecorded safetensors {how})", lambda d=directory: load_and_run(d)
        for how, damaged in mutations(rng, config.encode(), 60):
            index += 1
            directory = copy(index, {"config.json": damaged})
            yield f"load(config.json {how})", lambda d=directory: load_and_run(d)

    count, failures = run_cases(cases(), 150)
    assert not failures, f"{len(failures)} of {count} cases:\n" + "\n".join(failures[:10])


def test_damaged_checkpoints(tmp_path: Path) -> None:
    rng = random.Random(SEED + 2)
    state = random_translator("cyclegan", SMALL).state_dicts()["model"]
    zipped, legacy = io.BytesIO(), io.BytesIO()
    torch.save(state, zipped)
    torch.save(state, legacy, _use_new_zipfile_serialization=False)
    seeds = {"zip .pth": zipped.getvalue(), "legacy .pth": legacy.getvalue()}

    def convert(path: Path, out: Path) -> None:
        try:
            stylezoo.convert("cyclegan", path, out, config=SMALL)
        except stylezoo.StylezooError:
            assert not out.exists(), f"a failed conversion left {out} behind"
            raise

    def cases() -> Iterator[tuple[str, Callable[[], Any]]]:
        index = 0
        for name, data in seeds.items():
            for how, damaged in mutations(rng, data, 60):
                index += 1
                path = tmp_path / f"c{index}.pth"
                path.write_bytes(damaged)
                yield (
                    f"convert({name} {how})",
                    lambda p=path, o=tmp_path / f"o{index}": convert(p, o),
                )

    count, failures = run_cases(cases(), 100)
    assert not failures, f"{len(failures)} of {count} cases:\n" + "\n".join(failures[:10])
