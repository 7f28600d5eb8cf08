"""adain: translator contract, options (style mixing, alpha, colour, mask) and bad inputs.

Parity with the official code on an official-layout checkpoint is in test_adain_convert.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from stylezoo_plugins.adain.model import coral

import stylezoo
from stylezoo.errors import InvalidImageError, InvalidOptionError
from stylezoo.family import check_options
from stylezoo.image import pad_to_multiple
from stylezoo.testing import FamilyContract, TranslatorContract, random_translator, sample_rgb


def _forward(translator: stylezoo.Translator, x: torch.Tensor, **options: object) -> torch.Tensor:
    """The AdaIN forward pass on ``x`` as it is (no core padding or clamping)."""
    checked = check_options(type(translator).options, options, "adain option")
    prepared = translator.prepare_options(checked)  # type: ignore[attr-defined]
    return translator.forward(x, source=x, **prepared)  # type: ignore[attr-defined]


STYLE = sample_rgb(48, 64, seed=7)


def _tensor(height: int, width: int, seed: int) -> torch.Tensor:
    return torch.from_numpy(sample_rgb(height, width, seed=seed)).permute(2, 0, 1).float() / 255


def calibrated(translator: stylezoo.Translator, seed: int = 0) -> stylezoo.Translator:
    """Re-initialise a random translator so that its outputs spread over [0, 1].

    PyTorch's default init shrinks activations layer after layer and the decoder output then
    clamps to 0 everywhere, which would let option tests pass without testing anything. He
    init keeps the scale through the ReLUs; the last conv is then scaled and shifted so the
    output has mean 0.5 and std 0.22 on a sample image. Layer 0 (the fixed preprocessing)
    is kept.
    """
    generator = torch.Generator().manual_seed(seed)
    encoder, decoder = translator.networks["encoder"], translator.networks["decoder"]
    convs = [m for m in list(encoder)[1:] + list(decoder) if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        for conv in convs:
            fan_in = conv.weight[0].numel()
            conv.weight.copy_(
                torch.randn(conv.weight.shape, generator=generator) * (2.0 / fan_in) ** 0.5
            )
            conv.bias.copy_(0.1 * torch.randn(conv.bias.shape, generator=generator))
        content, style = _tensor(32, 40, 11)[None], _tensor(32, 32, 12)
        last = decoder[28]
        scale = 0.22 / _forward(translator, content, style=[style]).std()
        last.weight.mul_(scale)
        last.bias.mul_(scale)
        last.bias.add_(0.5 - _forward(translator, content, style=[style]).mean(dim=(0, 2, 3)))
    return translator


class AdaINContract(TranslatorContract):
    family = "adain"
    config = {"width": 8}

    @pytest.fixture
    def translator(self) -> stylezoo.Translator:
        return calibrated(random_translator(self.family, self.config, seed=0))


class TestAdaINContract(AdaINContract, FamilyContract):
    # A small style_size keeps the style encoder cheap (translate() would resize to 512).
    options = {"style": STYLE, "style_size": 32}


class TestAdaINMaskedColourContract(AdaINContract):
    """The contract still holds with every option on (mask resized to each content)."""

    options = {
        "style": [STYLE, sample_rgb(40, 40, seed=8)],
        "style_weights": [0.3, 0.7],
        "alpha": 0.7,
        "preserve_color": True,
        "style_size": 24,
        "mask": np.tri(30, 30, dtype=bool),
    }


@pytest.fixture(scope="module")
def small() -> stylezoo.Translator:
    return calibrated(random_translator("adain", {"width": 8}, seed=1), seed=1)


def test_calibrated_outputs_are_not_saturated(small) -> None:
    out = small(_tensor(32, 40, 1)[None], style=_tensor(30, 30, 2))
    assert ((out > 0.01) & (out < 0.99)).float().mean() > 0.8


# -- style, style_size ----------------------------------------------------------------------------
def test_translate_resizes_the_style_shorter_side_the_raw_call_does_not(small) -> None:
    content, style = _tensor(40, 48, 1), _tensor(40, 61, 2)
    # torchvision Resize(20): shorter side 20, longer side int(20 * 61 / 40) = 30 (truncated)
    resized = F.interpolate(
        style[None], size=(20, 30), mode="bilinear", align_corners=False, antialias=True
    )[0]
    via_translate = small.translate(content, style=style, style_size=20)
    assert torch.equal(via_translate, small(content[None], style=resized)[0])
    assert not torch.equal(via_translate, small(content[None], style=style)[0])
    # the raw call keeps the style's size unless style_size is given explicitly
    assert torch.equal(small(content[None], style=style, style_size=20)[0], via_translate)
    assert torch.equal(
        small.translate(content, style=style, style_size=None), small(content[None], style=style)[0]
    )


def test_translate_default_style_size_is_512(small) -> None:
    content, style = _tensor(24, 32, 1), _tensor(40, 50, 2)
    resized = F.interpolate(
        style[None], size=(512, 640), mode="bilinear", align_corners=False, antialias=True
    )[0]
    assert torch.equal(
        small.translate(content, style=style), small(content[None], style=resized)[0]
    )


def test_style_of_any_kind(small, tmp_path) -> None:
    content = sample_rgb(32, 40, seed=1)
    style = sample_rgb(30, 36, seed=2)
    reference = small.translate(content, style=style, style_size=None)
    path = tmp_path / "style.png"
    Image.fromarray(style).save(path)
    for kind in (
        Image.fromarray(style),
        path,
        str(path),
        torch.from_numpy(style).permute(2, 0, 1).float() / 255,
        np.dstack([style, np.full(style.shape[:2], 90, np.uint8)]),
    ):  # alpha ignored
        assert np.array_equal(small.translate(content, style=kind, style_size=None), reference)
    gray = Image.fromarray(style).convert("L")
    out = small.translate(content, style=gray, style_size=None)
    assert out.shape == content.shape and not np.array_equal(out, reference)


def test_styles_of_different_sizes_mix_with_normalised_weights(small) -> None:
    content = _tensor(32, 40, 1)[None]
    first, second = _tensor(24, 40, 2), _tensor(56, 32, 3)
    mixed = small(content, style=[first, second], style_weights=[0.5, 1.5])
    assert torch.allclose(
        mixed, small(content, style=[first, second], style_weights=[1, 3]), atol=1e-6
    )
    only_first = small(content, style=[first, second], style_weights=[2.5, 0])
    assert torch.allclose(only_first, small(content, style=first), atol=1e-6)
    equal = small(content, style=[first, second])
    assert torch.allclose(
        equal, small(content, style=[first, second], style_weights=[1, 1]), atol=1e-6
    )
    assert (mixed - only_first).abs().max() > 1e-3


def test_alpha_zero_ignores_the_style_and_alpha_blends(small) -> None:
    content = _tensor(32, 40, 1)[None]
    a, b = _tensor(32, 32, 2), _tensor(40, 24, 3)
    assert torch.equal(small(content, style=a, alpha=0.0), small(content, style=b, alpha=0))
    full, half = small(content, style=a), small(content, style=a, alpha=0.5)
    assert (full - half).abs().max() > 1e-3
    assert torch.equal(small(content, style=a, alpha=1), full)


# -- preserve_color -------------------------------------------------------------------------------
def test_coral_gives_the_style_the_content_means() -> None:
    style, content = _tensor(20, 30, 2)[None], _tensor(24, 16, 1)[None]
    recoloured = coral(style, content)
    assert recoloured.shape == style.shape
    torch.testing.assert_close(
        recoloured.mean(dim=(2, 3)), content.mean(dim=(2, 3)), atol=1e-5, rtol=0
    )
    flat = torch.full((1, 3, 8, 8), 0.3)  # a constant style: no NaN (the official divides by 0)
    assert torch.isfinite(coral(flat, content)).all()


def test_preserve_color_changes_the_output_and_works_in_bfloat16(small) -> None:
    import copy

    content, style = _tensor(32, 40, 1)[None], _tensor(32, 32, 4)
    plain = small(content, style=style)
    kept = small(content, style=style, preserve_color=True)
    assert (plain - kept).abs().max() > 1e-3
    low = copy.deepcopy(small).to(dtype=torch.bfloat16)
    low_kept = low(content, style=style, preserve_color=True)
    assert low_kept.dtype == torch.float32 and torch.isfinite(low_kept).all()
    assert (low_kept - kept).abs().mean() < 0.05
    # the mask blend is done in float32: unmasked content stays exact under bfloat16 too
    odd = _tensor(29, 37, 3)[None]
    assert torch.equal(low(odd, style=style, mask=torch.zeros(29, 37)), odd)


def test_odd_sizes_run_natively_like_the_official_code(small) -> None:
    # The official test runs the networks on the content as it is; at sides that are not
    # multiples of 8 its output is larger (29×37 → 32×40) and is cropped here.
    content, style = _tensor(29, 37, 1)[None], _tensor(30, 30, 2)
    out = small(content, style=style, preserve_color=True)
    padded, _ = pad_to_multiple(content, 8, 16)
    with torch.inference_mode():
        native = _forward(small, content, style=[style], preserve_color=True)
        from_padded = _forward(small, padded, style=[style], preserve_color=True)
    assert native.shape[-2:] == (32, 40)
    native, from_padded = (y.clamp(0, 1)[..., :29, :37] for y in (native, from_padded))
    torch.testing.assert_close(out, native, atol=1e-5, rtol=0)
    assert (from_padded - native).abs().max() > 1e-3  # padding first would change the result


# -- mask -----------------------------------------------------------------------------------------
def test_mask_zero_keeps_the_content_exactly_and_one_stylises(small) -> None:
    content = sample_rgb(33, 45, seed=1)
    style = sample_rgb(30, 30, seed=2)
    nothing = small.translate(content, style=style, mask=np.zeros((33, 45), bool))
    assert np.array_equal(nothing, content)
    everything = small.translate(content, style=style, mask=np.ones((33, 45), np.float32))
    assert np.array_equal(everything, small.translate(content, style=style))
    raw = _tensor(33, 45, 3)[None]
    assert torch.equal(small(raw, style=style, mask=torch.zeros(33, 45)), raw)


def test_mask_restricts_the_style_to_a_region(small) -> None:
    content = sample_rgb(32, 48, seed=1)
    mask = np.zeros((32, 48), bool)
    mask[:, 24:] = True
    out = small.translate(content, style=sample_rgb(30, 30, seed=2), mask=Image.fromarray(mask))
    assert np.array_equal(out[:, :24], content[:, :24])
    assert not np.array_equal(out[:, 24:], content[:, 24:])


def test_mask_of_another_size_is_resized_bilinear(small) -> None:
    content, style = _tensor(32, 48, 1)[None], _tensor(30, 30, 2)
    mask = torch.zeros(16, 24)
    mask[:, 12:] = 1.0
    expected_mask = F.interpolate(
        mask[None, None], size=(32, 48), mode="bilinear", align_corners=False, antialias=True
    )
    resized = small(content, style=style, mask=mask)
    assert torch.allclose(resized, small(content, style=style, mask=expected_mask), atol=1e-6)
    assert torch.equal(resized[..., :20], content[..., :20])  # well inside the zero region


def test_mask_kinds_and_per_image_masks(small) -> None:
    content = torch.stack([_tensor(24, 32, 1), _tensor(24, 32, 5)])
    style = _tensor(30, 30, 2)
    per_image = torch.zeros(2, 1, 24, 32)
    per_image[1] = 1.0
    out = small(content, style=style, mask=per_image)
    assert torch.equal(out[0], content[0])
    torch.testing.assert_close(out[1], small(content[1:], style=style)[0], atol=1e-5, rtol=0)
    white = np.full((24, 32, 3), 255, np.uint8)  # an RGB mask is read through its luma
    torch.testing.assert_close(
        small(content, style=style, mask=white), small(content, style=style), atol=1e-6, rtol=0
    )
    with pytest.raises(InvalidOptionError, match="3 masks for a batch of 2"):
        small(content, style=style, mask=torch.ones(3, 1, 24, 32))


@pytest.mark.parametrize(
    "mask, message",
    [
        (42, "mask must be an image"),
        (torch.ones(3, 8, 8), r"expected H×W, 1×H×W or N×1×H×W"),
        (torch.ones(8, 8, dtype=torch.int64), "pass a bool tensor"),
        (np.eye(8, dtype=np.uint8), r"astype\(bool\)"),
        (np.full((8, 8), np.nan), "NaN"),
    ],
)
def test_bad_masks_are_rejected(small, mask, message) -> None:
    with pytest.raises(InvalidImageError, match=message):
        small.translate(sample_rgb(16, 16), style=STYLE, mask=mask)


# -- bad options ----------------------------------------------------------------------------------
def test_missing_style_says_to_pass_style(small) -> None:
    with pytest.raises(InvalidOptionError, match="pass style="):
        small.translate(sample_rgb(16, 16))
    with pytest.raises(InvalidOptionError, match="pass style="):
        small(torch.rand(1, 3, 16, 16), style=None)
    with pytest.raises(InvalidOptionError, match="empty list"):
        small(torch.rand(1, 3, 16, 16), style=[])


@pytest.mark.parametrize(
    "weights, message",
    [
        ([1.0], r"1 value\(s\) for 2 style"),
        ([1, 2, 3], r"3 value\(s\) for 2 style"),
        ([1, -1], "must not be negative"),
        ([0, 0.0], "all zero"),
        ([1, float("nan")], "finite numbers"),
        (["1", "2"], "finite numbers"),
        (3, "a list of numbers"),
    ],
)
def test_bad_style_weights(small, weights, message) -> None:
    with pytest.raises(InvalidOptionError, match=message):
        small(torch.rand(1, 3, 16, 16), style=[STYLE, STYLE], style_weights=weights)


@pytest.mark.parametrize("alpha", [-0.1, 1.5, float("nan"), True, "0.5"])
def test_alpha_outside_0_1_is_rejected(small, alpha) -> None:
    with pytest.raises(InvalidOptionError, match=r"'alpha' must be a number in \[0, 1\]"):
        small.translate(sample_rgb(16, 16), style=STYLE, alpha=alpha)


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"style_size": 0}, InvalidOptionError, "'style_size' must be an integer ≥ 1"),
        ({"style_size": 2.5}, InvalidOptionError, "'style_size' must be an integer ≥ 1"),
        ({"preserve_color": "yes"}, InvalidOptionError, "'preserve_color' must be True or False"),
        ({"style": 42}, InvalidImageError, "style must be an image"),
        ({"style": [STYLE, 42]}, InvalidImageError, "style 1 must be an image"),
        ({"style": torch.rand(2, 3, 16, 16)}, InvalidImageError, "batch of 2 images"),
        (
            {"style": np.zeros((8, 8, 3), np.uint8), "style_size": None},
            InvalidImageError,
            "side longer than 8 pixels",
        ),
    ],
)
def test_bad_options_are_rejected(small, options, error, message) -> None:
    with pytest.raises(error, match=message):
        small.translate(sample_rgb(16, 16), **{"style": STYLE, **options})
