"""Tiled inference (stylezoo.tiling) and batching (stylezoo.batching)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

import stylezoo
from stylezoo import batching, tiling
from stylezoo.cli import main
from stylezoo.errors import InvalidOptionError
from stylezoo.image import prepare
from stylezoo.testing import random_translator

# Small tiles keep the tests quick; their limited context (an 8-pixel margin on each side of
# a 48-pixel stride) bounds the PSNR here, far below the benchmark's 256-pixel tiles (see
# docs/benchmarks.md). Measured: random exact 26.2 dB, vintage 40.4, multistyle 23.0 (its
# 9×9 convolutions see further), multistyle exact 23.0.
TILE, OVERLAP = 64, 16
EXACT_RANDOM = 23.0
EXACT_REAL = 20.0
REAL_DOWNSCALED = {"cyclegan/vintage": 36.0, "multistyle/android-26": 20.0}


def psnr(a: object, b: object) -> float:
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(10 * np.log10(255.0**2 / max(((x - y) ** 2).mean(), 1e-12)))


@pytest.fixture(scope="module")
def coffee() -> Image.Image:
    # A real photo (scikit-image, CC0), small enough for a whole-image reference.
    return Image.fromarray(data.coffee()).resize((160, 108), Image.Resampling.BICUBIC)


@pytest.fixture(scope="module")
def small_cyclegan() -> stylezoo.Translator:
    return random_translator("cyclegan", {"ngf": 4, "netG": "resnet_6blocks"}, seed=1)


def _per_tile_statistics(monkeypatch: pytest.MonkeyPatch) -> None:
    """The naive baseline: no image-wide statistics, every tile normalised on its own."""
    monkeypatch.setattr(tiling, "_downscaled_statistics", lambda *a, **k: None)


# -- planning ------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [64, 65, 100, 161, 500, 1023])
def test_tiles_cover_the_axis_on_the_grid_and_cores_partition_it(length: int) -> None:
    spans = tiling.plan_axis(length, 64, 16, 4)
    assert spans[0].start == 0 and spans[-1].end == length
    assert all(s.start % 4 == 0 and s.end - s.start <= 64 for s in spans)
    assert all(b.start < a.end - 15 for a, b in zip(spans, spans[1:], strict=False))  # overlap ≥ 16
    cores = [(s.core_start, s.core_end) for s in spans]
    assert cores[0][0] == 0 and cores[-1][1] == length
    assert all(a[1] == b[0] for a, b in zip(cores, cores[1:], strict=False))
    assert all(s.start <= s.core_start < s.core_end <= s.end for s in spans)
    total = torch.zeros(length)
    for index, span in enumerate(spans):
        weight = tiling.ramp_weights(spans, index)
        assert weight.min() > 0 and weight.max() <= 1
        total[span.start : span.end] += weight
    if len(spans) > 1:  # raised-cosine ramps of equal overlaps add up to one
        assert torch.allclose(total[: spans[1].start], torch.ones(spans[1].start))


def test_streamed_statistics_equal_the_whole_image_statistics(
    small_cyclegan: stylezoo.Translator, coffee: Image.Image
) -> None:
    """With exact statistics for the earlier layers, the moments accumulated over tile cores
    are the whole image's: exactly for the first layer, closely for the deeper ones."""
    rgb = prepare(coffee).rgb[None]
    options = small_cyclegan._prepare({})
    height, width = rgb.shape[-2:]
    whole = tiling.NormStatistics(None, collect=True)
    with torch.inference_mode(), whole:
        whole.begin_tile(
            tiling.Span(0, height, 0, height), tiling.Span(0, width, 0, width), height, width
        )
        small_cyclegan._run_batch(rgb, options, small_cyclegan.device, torch.float32)
    reference = whole.estimates()
    rows, cols = (
        tiling.plan_axis(height, TILE, OVERLAP, 4),
        tiling.plan_axis(width, TILE, OVERLAP, 4),
    )
    streamed = tiling.NormStatistics(reference, collect=True)
    with torch.inference_mode(), streamed:
        for span_y in rows:
            for span_x in cols:
                streamed.begin_tile(span_y, span_x, height, width)
                patch = rgb[..., span_y.start : span_y.end, span_x.start : span_x.end]
                small_cyclegan._run_batch(
                    patch.contiguous(), options, small_cyclegan.device, torch.float32
                )
                streamed.end_tile()
    got = streamed.estimates()
    assert len(got) == len(reference) == 1 + 2 + 12 + 2  # every norm of a 6-block generator
    torch.testing.assert_close(got[0][0], reference[0][0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(got[0][1], reference[0][1], rtol=1e-5, atol=1e-6)
    for (mean, var), (ref_mean, ref_var) in zip(got, reference, strict=True):
        assert float((var - ref_var).abs().max() / ref_var.abs().max()) < 0.2
        assert float((mean - ref_mean).abs().max()) < 0.2 * float(ref_var.sqrt().max())


# -- tiled against whole -------------------------------------------------------------------


def test_tiled_matches_whole_with_random_weights(
    small_cyclegan: stylezoo.Translator, coffee: Image.Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = small_cyclegan.translate(coffee)
    exact = small_cyclegan.translate(coffee, tile=TILE, overlap=OVERLAP, tile_statistics="exact")
    downscaled = small_cyclegan.translate(coffee, tile=TILE, overlap=OVERLAP)
    _per_tile_statistics(monkeypatch)
    naive = small_cyclegan.translate(coffee, tile=TILE, overlap=OVERLAP)
    print(
        f"random cyclegan: exact {psnr(exact, whole):.2f} "
        f"downscaled {psnr(downscaled, whole):.2f} per-tile {psnr(naive, whole):.2f}"
    )
    assert psnr(exact, whole) > EXACT_RANDOM
    assert psnr(downscaled, whole) > psnr(naive, whole)


@pytest.mark.parametrize(
    ("name", "options"), [("cyclegan/vintage", {}), ("multistyle/android-26", {"style": 19})]
)
def test_tiled_matches_whole_with_real_weights(
    name: str, options: dict, coffee: Image.Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    translator = stylezoo.load(name)
    whole = translator.translate(coffee, **options)
    tiled = translator.translate(coffee, tile=TILE, overlap=OVERLAP, **options)
    _per_tile_statistics(monkeypatch)
    naive = translator.translate(coffee, tile=TILE, overlap=OVERLAP, **options)
    print(f"{name}: downscaled {psnr(tiled, whole):.2f} per-tile {psnr(naive, whole):.2f}")
    assert psnr(tiled, whole) > REAL_DOWNSCALED[name]
    assert psnr(tiled, whole) > psnr(naive, whole) + 2


def test_exact_statistics_with_real_weights(coffee: Image.Image) -> None:
    translator = stylezoo.load("multistyle/android-26")
    whole = translator.translate(coffee, style=7)
    exact = translator.translate(
        coffee, style=7, tile=TILE, overlap=OVERLAP, tile_statistics="exact"
    )
    print(f"multistyle exact {psnr(exact, whole):.2f}")
    assert psnr(exact, whole) > EXACT_REAL


# -- kinds, modes, sizes -------------------------------------------------------------------


def test_tiling_keeps_kind_size_mode_and_alpha(
    small_cyclegan: stylezoo.Translator, coffee: Image.Image
) -> None:
    rgba = coffee.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(coffee.size))
    for image, mode in ((rgba, "RGBA"), (coffee.convert("L"), "L"), (coffee.convert("P"), "RGB")):
        out = small_cyclegan.translate(image, tile=TILE, overlap=OVERLAP)
        assert isinstance(out, Image.Image) and out.size == image.size and out.mode == mode
    out = small_cyclegan.translate(rgba, tile=TILE, overlap=OVERLAP)
    assert out.getchannel("A").tobytes() == rgba.getchannel("A").tobytes()
    array = np.asarray(coffee)[:99, :131]
    out_array = small_cyclegan.translate(array, tile=TILE, overlap=OVERLAP)
    assert out_array.shape == array.shape and out_array.dtype == np.uint8
    tensor = torch.rand(3, 70, 90)
    out_tensor = small_cyclegan.translate(tensor, tile=TILE, overlap=OVERLAP)
    assert out_tensor.shape == tensor.shape and out_tensor.dtype == tensor.dtype
    assert 0 <= float(out_tensor.min()) and float(out_tensor.max()) <= 1
    listed = small_cyclegan.translate([array, tensor], tile=TILE, overlap=OVERLAP)
    assert listed[0].shape == array.shape and listed[1].shape == tensor.shape


def test_an_image_within_one_tile_is_the_whole_image_output(
    small_cyclegan: stylezoo.Translator, coffee: Image.Image
) -> None:
    whole = small_cyclegan.translate(coffee)
    assert small_cyclegan.translate(coffee, tile=512).tobytes() == whole.tobytes()
    assert small_cyclegan.translate(coffee, tile="auto").tobytes() == whole.tobytes()


def test_auto_tile_follows_the_free_memory(
    small_cyclegan: stylezoo.Translator, coffee: Image.Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = small_cyclegan._prepare({})
    size = (coffee.height, coffee.width)
    assert tiling.auto_tile(small_cyclegan, size, options, OVERLAP) is None  # fits whole
    probe = tiling._PROBE_TILE
    peak = small_cyclegan.estimate_peak_memory((1, 3, probe, probe), options)
    assert peak is not None
    # Room for about a 72-pixel tile beside the image, not for the whole image.
    per_pixel = peak * 1.5 / probe**2
    room = int(72**2 * per_pixel) + coffee.width * coffee.height * tiling._IMAGE_BYTES_PER_PIXEL
    monkeypatch.setattr(tiling.devices, "available_memory", lambda device: room)
    side = tiling.auto_tile(small_cyclegan, size, options, OVERLAP)
    assert side is not None and 48 <= side <= 100 and side % 4 == 0
    out = small_cyclegan.translate(coffee, tile="auto", overlap=OVERLAP)
    assert out.size == coffee.size
    monkeypatch.setattr(tiling.devices, "available_memory", lambda device: 1000)
    with pytest.raises(stylezoo.ImageTooLargeError, match="even tile by tile"):
        tiling.auto_tile(small_cyclegan, size, options, OVERLAP)


# -- bad arguments and families that cannot tile -------------------------------------------


@pytest.mark.parametrize(
    ("tile", "overlap", "message"),
    [
        (0, 16, "tile must be a tile side in pixels"),
        (-5, 16, "tile must be a tile side in pixels"),
        (1.5, 16, "tile must be a tile side in pixels"),
        (True, 16, "tile must be a tile side in pixels"),
        ("big", 16, "'auto'"),
        (64, -1, "overlap must be a number of pixels ≥ 0"),
        (64, 2.0, "overlap must be a number of pixels ≥ 0"),
        (64, 64, r"overlap \(64\) must be smaller than tile \(64\)"),
        (16, 4, "tile=16 is too small"),
        (36, 34, "tile=36 is too small"),
    ],
)
def test_bad_tile_arguments_are_clear_errors(
    small_cyclegan: stylezoo.Translator,
    coffee: Image.Image,
    tile: object,
    overlap: object,
    message: str,
) -> None:
    with pytest.raises(InvalidOptionError, match=message):
        small_cyclegan.translate(coffee, tile=tile, overlap=overlap)
    with pytest.raises(InvalidOptionError, match="tile_statistics must be one of"):
        small_cyclegan.translate(coffee, tile=64, tile_statistics="global")


def test_families_that_cannot_tile_say_so(coffee: Image.Image) -> None:
    adain = random_translator("adain", {"width": 4})
    with pytest.raises(
        InvalidOptionError, match="adain family cannot translate an image tile by tile"
    ):
        adain.translate(coffee, style=coffee, tile=64, overlap=16)
    pix2pix = random_translator("pix2pix", {"ngf": 4, "netG": "unet_128"})
    with pytest.raises(InvalidOptionError, match="pix2pix family cannot"):
        pix2pix.translate(coffee, tile=256)
    arbitrary = random_translator("arbitrary")
    with pytest.raises(InvalidOptionError, match="strength < 1 cannot be tiled"):
        arbitrary.translate(coffee, style=coffee, strength=0.5, tile=64, overlap=16)
    # tile="auto" leaves them whole while they fit.
    assert adain.translate(coffee, style=coffee, tile="auto").size == coffee.size


# -- batching ------------------------------------------------------------------------------


def test_buckets_group_equal_keys_in_order() -> None:
    keys = ["a", "b", "a", "a", "c", "b", "a"]
    assert batching.buckets(keys, 2) == [[0, 2], [3, 6], [1, 5], [4]]
    assert batching.buckets(keys, 1) == [[i] for i in (0, 2, 3, 6, 1, 5, 4)]
    assert batching.buckets([], 3) == []


def test_a_mixed_list_is_batched_by_size_in_order(
    small_cyclegan: stylezoo.Translator, monkeypatch: pytest.MonkeyPatch
) -> None:
    generator = torch.Generator().manual_seed(0)
    shapes = [(40, 48), (32, 32), (40, 48), (32, 32), (40, 48), (24, 56)]
    images = [torch.rand(3, h, w, generator=generator) for h, w in shapes]
    singles = [small_cyclegan.translate(image) for image in images]
    calls: list[tuple[int, ...]] = []
    original = type(small_cyclegan)._call_prepared

    def spy(self, batch, options):  # type: ignore[no-untyped-def]
        calls.append(tuple(batch.shape))
        return original(self, batch, options)

    monkeypatch.setattr(type(small_cyclegan), "_call_prepared", spy)
    batched = small_cyclegan.translate(images, batch_size=2)
    assert sorted(calls) == sorted([(2, 3, 40, 48), (1, 3, 40, 48), (2, 3, 32, 32), (1, 3, 24, 56)])
    for single, result, image in zip(singles, batched, images, strict=True):
        assert result.shape == image.shape
        torch.testing.assert_close(result, single, atol=1e-5, rtol=1e-5)


def test_bucket_queue_bounds_what_it_holds() -> None:
    queue = batching.BucketQueue(batch_size=3, limit=4)

    def item(index: int, size: int) -> batching.Loaded:
        return batching.Loaded(index, prepared=prepare(torch.zeros(3, size, size)))

    ready = [queue.add(item(i, 8 + 4 * (i % 5))) for i in range(5)]
    assert ready[:4] == [[], [], [], []] and len(ready[4]) == 1  # over the limit: one flushed
    assert sum(len(batch) for batch in queue.drain()) == 4


def test_cli_batches_and_streams_a_folder_to_the_same_files(
    small_cyclegan: stylezoo.Translator, tmp_path: Path, coffee: Image.Image
) -> None:
    model = small_cyclegan.save_pretrained(tmp_path / "model")
    source = tmp_path / "in"
    (source / "sub").mkdir(parents=True)
    for index in range(5):
        size = (64, 48) if index % 2 else (40, 56)
        coffee.resize(size).save(source / ("sub" if index == 4 else ".") / f"{index}.png")
    (source / "bad.png").write_bytes(b"not an image")
    common = ["translate", str(model), str(source), "--device", "cpu", "-q"]
    assert main([*common, "-o", str(tmp_path / "one"), "--workers", "0"]) == 1  # bad.png
    assert main([*common, "-o", str(tmp_path / "many"), "--batch-size", "2", "--workers", "2"]) == 1
    names = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*.png"))
    assert len(names) == 5 and Path("sub/4.png") in names
    for name in names:
        one = np.asarray(Image.open(tmp_path / "one" / name), dtype=np.int16)
        many = np.asarray(Image.open(tmp_path / "many" / name), dtype=np.int16)
        assert one.shape == many.shape and np.abs(one - many).max() <= 1
    assert main([*common, "-o", str(tmp_path / "tiled"), "--tile", "32", "--overlap", "8"]) == 1
    assert Image.open(tmp_path / "tiled" / "0.png").size == (40, 56)


def test_cli_rejects_bad_tiling_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = tmp_path / "a.png"
    Image.new("RGB", (8, 8)).save(image)
    for flags, message in (
        (["--tile", "huge"], "--tile must be a tile side in pixels"),
        (["--tile", "64", "--overlap", "64"], "must be smaller than tile"),
        (["--batch-size", "0"], "--batch-size must be at least 1"),
        (["--workers", "-1"], "--workers must be at least 0"),
    ):
        assert main(["translate", "x", str(image), "-o", str(tmp_path / "o"), *flags]) == 2
        assert message in capsys.readouterr().err
