"""Image kinds in and out: modes, dtypes, EXIF orientation, sizes, bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import stylezoo
from stylezoo.image import pad_to_multiple, prepare
from stylezoo.testing import random_translator, sample_rgb


@pytest.fixture(scope="module")
def translator():
    return random_translator("cyclegan", {"ngf": 8, "netG": "resnet_6blocks"})


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    skimage_data = pytest.importorskip("skimage.data")
    return skimage_data.chelsea()[:150, :201]  # odd size, a real photo (CC0)


def test_real_photo_keeps_size_and_is_not_squashed(translator, photo) -> None:
    out = translator.translate(Image.fromarray(photo))
    assert out.size == (201, 150)


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA", "CMYK", "YCbCr", "1", "I;16"])
def test_pil_modes_round_trip(translator, photo, mode: str) -> None:
    image = Image.fromarray(photo).convert("RGBA" if mode in ("RGBA", "LA") else "RGB")
    if mode in ("RGBA", "LA"):
        alpha = np.tile(np.linspace(0, 255, image.width, dtype=np.uint8), (image.height, 1))
        image.putalpha(Image.fromarray(alpha))
    image = (
        image.convert("L").point(lambda v: v * 257).convert("I;16")
        if mode == "I;16"
        else image.convert(mode)
    )
    out = translator.translate(image)
    expected_mode = {"1": "L"}.get(mode, mode)
    assert out.mode == expected_mode and out.size == image.size
    if mode in ("RGBA", "LA"):
        assert np.array_equal(np.asarray(out)[..., -1], np.asarray(image)[..., -1])


def test_palette_images_come_back_as_rgb(translator, photo, tmp_path: Path) -> None:
    palette = Image.fromarray(photo).quantize(64)
    path = tmp_path / "palette.png"
    palette.save(path)
    out = translator.translate(path)
    assert out.mode == "RGB" and out.size == palette.size
    transparent = palette.copy()
    transparent.info["transparency"] = 0
    assert translator.translate(transparent).mode == "RGBA"


def test_sixteen_bit_png_stays_sixteen_bit(translator, photo, tmp_path: Path) -> None:
    gray16 = photo[..., 1].astype(np.uint16) * 257
    path = tmp_path / "deep.png"
    Image.fromarray(gray16).save(path)
    opened = Image.open(path)
    assert opened.mode.startswith("I")
    out = translator.translate(path)
    assert out.mode == opened.mode and out.size == opened.size
    assert np.asarray(out).max() > 255  # values use the 16-bit range


def test_exif_orientation_is_applied(translator, photo, tmp_path: Path) -> None:
    image = Image.fromarray(photo)  # 201 wide, 150 high
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise for display
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif)
    out = translator.translate(path)
    assert out.size == (150, 201)


def test_numpy_kinds(translator) -> None:
    rgb = sample_rgb(30, 34)
    assert translator.translate(rgb[..., :1]).shape == (30, 34, 1)
    two = translator.translate(np.dstack([rgb[..., 0], rgb[..., 1]]))
    assert two.shape == (30, 34, 2)
    assert np.array_equal(two[..., 1], rgb[..., 1])
    assert translator.translate(rgb.astype(np.float32) / 255).dtype == np.float32
    with pytest.raises(stylezoo.InvalidImageError, match=r"dtype int32"):
        translator.translate(rgb.astype(np.int32))
    with pytest.raises(stylezoo.InvalidImageError, match=r"shape \(3, 30, 34\)"):
        translator.translate(np.moveaxis(rgb, -1, 0)[:3].copy().reshape(3, 30, 34, 1)[..., 0])
    with pytest.raises(stylezoo.InvalidImageError, match="NaN"):
        translator.translate(np.full((8, 8, 3), np.nan, np.float32))


def test_tensor_kinds_keep_device_and_dtype(translator) -> None:
    chw = torch.rand(1, 20, 24, dtype=torch.float16)
    out = translator.translate(chw)
    assert out.shape == (1, 20, 24) and out.dtype == torch.float16
    with pytest.raises(stylezoo.InvalidImageError, match="uint8 tensor"):
        translator.translate((chw * 255).to(torch.uint8))
    with pytest.raises(stylezoo.InvalidImageError, match="batch of 2"):
        translator.translate(torch.rand(2, 3, 20, 24))


def test_lists_of_mixed_kinds_and_sizes(translator) -> None:
    items = [sample_rgb(20, 24), Image.fromarray(sample_rgb(30, 20)), torch.rand(3, 16, 16)]
    outs = translator.translate(items, batch_size=4)
    assert isinstance(outs[0], np.ndarray) and outs[0].shape == (20, 24, 3)
    assert isinstance(outs[1], Image.Image) and outs[1].size == (20, 30)
    assert isinstance(outs[2], torch.Tensor) and outs[2].shape == (3, 16, 16)


@pytest.mark.parametrize("shape", [(0, 0, 3), (1, 1, 3), (1, 40, 3)])
def test_degenerate_sizes_are_rejected(translator, shape) -> None:
    with pytest.raises(stylezoo.InvalidImageError, match="at least 2×2"):
        translator.translate(np.zeros(shape, np.uint8))


def test_small_images_are_padded_not_rejected(translator) -> None:
    out = translator.translate(sample_rgb(3, 5))
    assert out.shape == (3, 5, 3)


def test_padding_handles_pads_larger_than_the_image() -> None:
    x = torch.arange(6.0).view(1, 1, 2, 3)
    padded, size = pad_to_multiple(x, 8, min_size=8)
    assert padded.shape == (1, 1, 8, 8) and size == (2, 3)
    assert torch.equal(padded[..., :2, :3], x)


def test_bad_files(tmp_path: Path, translator) -> None:
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(stylezoo.InvalidImageError, match="not an image file"):
        translator.translate(text)
    good = tmp_path / "good.png"
    Image.fromarray(sample_rgb(64, 64)).save(good)
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(stylezoo.InvalidImageError, match="truncated"):
        translator.translate(truncated)
    with pytest.raises(stylezoo.InvalidImageError, match="does not exist"):
        translator.translate(tmp_path / "missing.png")
    with pytest.raises(stylezoo.InvalidImageError, match="type dict"):
        translator.translate({"not": "an image"})


def test_raw_call_validates_its_input(translator) -> None:
    with pytest.raises(stylezoo.InvalidImageError, match="NCHW float tensor"):
        translator(torch.rand(3, 16, 16))
    with pytest.raises(stylezoo.InvalidImageError, match="3-channel"):
        translator(torch.rand(1, 1, 16, 16))
    x = torch.rand(1, 3, 16, 16)
    assert translator(x).shape == x.shape


def test_prepare_keeps_alpha_exactly() -> None:
    rgba = np.dstack([sample_rgb(10, 12), np.arange(120, dtype=np.uint8).reshape(10, 12)])
    prepared = prepare(rgba)
    restored = prepared.restore(prepared.rgb)
    assert np.array_equal(restored, rgba)
