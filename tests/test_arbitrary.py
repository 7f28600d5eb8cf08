"""The arbitrary family on its shipped, real weights: options, contracts, any size."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

import stylezoo
from stylezoo.testing import FamilyContract, TranslatorContract, sample_rgb

NAME = "arbitrary/magenta"
STYLE = data.coffee()


@pytest.fixture(scope="module")
def shipped() -> stylezoo.Translator:
    return stylezoo.load(NAME)


class TestArbitraryRealWeights(FamilyContract, TranslatorContract):
    family = "arbitrary"
    options = {"style": STYLE, "style_size": 64}

    @pytest.fixture
    def translator(self) -> stylezoo.ImageTranslator:
        return stylezoo.load(NAME)  # type: ignore[return-value]


def test_runs_at_the_photos_own_size_not_384(shipped: stylezoo.Translator) -> None:
    photo = data.chelsea()  # 451×300, not 384²
    out = shipped.translate(photo, style=data.hubble_deep_field())
    assert out.shape == photo.shape
    assert np.abs(out.astype(float) - photo).mean() > 10  # stylised …
    gray = lambda a: a.astype(float).mean(-1)  # noqa: E731
    assert np.corrcoef(gray(out).ravel(), gray(photo).ravel())[0, 1] > 0.3  # … the same cat


def test_strength_interpolates_the_style_vectors(shipped: stylezoo.Translator) -> None:
    photo = sample_rgb(64, 80)
    full = shipped.translate(photo, style=STYLE).astype(float)
    none = shipped.translate(photo, style=STYLE, strength=0.0).astype(float)
    half = shipped.translate(photo, style=STYLE, strength=0.5).astype(float)
    # strength 0 paints the photo with its own style: closer to the photo than the full style
    assert np.abs(none - photo).mean() < np.abs(full - photo).mean()
    assert 0 < np.abs(half - full).mean() and 0 < np.abs(half - none).mean()


def test_blends_and_weights(shipped: stylezoo.Translator) -> None:
    photo = sample_rgb(48, 56)
    astronaut = data.astronaut()
    a = shipped.translate(photo, style=STYLE)
    same = shipped.translate(photo, style=[STYLE, astronaut], style_weights=[1, 0])
    assert np.array_equal(a, same)
    mixed = shipped.translate(photo, style=[STYLE, astronaut], style_weights=[2, 2])
    assert not np.array_equal(a, mixed)


def test_preserve_color_keeps_the_photos_chroma(shipped: stylezoo.Translator) -> None:
    photo = torch.from_numpy(sample_rgb(40, 52)).permute(2, 0, 1).float() / 255
    kept = shipped.translate(photo, style=STYLE, preserve_color=True)
    luma = torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)
    inside = (kept > 0.02).all(0) & (kept < 0.98).all(0)
    chroma = lambda x: x - (x * luma).sum(0, keepdim=True)  # noqa: E731
    assert (chroma(kept) - chroma(photo)).abs()[:, inside].max() < 1e-4


def test_style_size_none_uses_the_style_as_it_is(shipped: stylezoo.Translator) -> None:
    photo = sample_rgb(40, 40)
    as_is = shipped.translate(photo, style=STYLE[:100, :150], style_size=None)
    squared = shipped.translate(photo, style=STYLE[:100, :150])
    assert as_is.shape == photo.shape and not np.array_equal(as_is, squared)


def test_the_predictor_stays_float32(shipped: stylezoo.Translator) -> None:
    import copy

    low = copy.deepcopy(shipped).to(dtype="bfloat16")
    networks = low.networks  # type: ignore[attr-defined]
    assert next(networks["predictor"].parameters()).dtype == torch.float32
    assert next(networks["transformer"].parameters()).dtype == torch.bfloat16 == low.dtype
    photo = sample_rgb(64, 64)
    reference = shipped.translate(photo, style=STYLE).astype(float)
    out = low.translate(photo, style=STYLE).astype(float)
    assert 10 * np.log10(255**2 / ((out - reference) ** 2).mean()) > 30


@pytest.mark.parametrize(
    "options, message",
    [
        ({}, "needs a style image"),
        ({"style": []}, "empty list"),
        ({"style": 42}, "must be an image"),
        ({"style": np.zeros((8, 8, 3), np.uint8)}, "at least 16 pixels"),
        ({"style": [STYLE, STYLE], "style_weights": [1]}, "1 value\\(s\\) for 2"),
        ({"style": STYLE, "style_weights": [-1]}, "must not be negative"),
        ({"style": STYLE, "strength": 2}, "'strength' must be a number in \\[0, 1\\]"),
        ({"style": STYLE, "style_size": 4}, "'style_size' must be an integer ≥ 16"),
    ],
)
def test_bad_options_are_clear_errors(shipped, options, message) -> None:
    with pytest.raises(stylezoo.InvalidOptionError, match=message):
        shipped.translate(Image.fromarray(sample_rgb(32, 32)), **options)
