"""adain with transform="wct": the whitening and colouring transform against a direct float64
computation of its formula, its statistics, and the translator options around it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from stylezoo_plugins.adain.model import WCT_EPS, wct
from test_adain import STYLE, AdaINContract, _forward, _tensor, calibrated

import stylezoo
from stylezoo.testing import random_translator, sample_rgb


class TestAdaINWCTContract(AdaINContract):
    options = {"style": STYLE, "style_size": 32, "transform": "wct"}
    # The contract's 36×44 batch has 30 relu4_1 positions for 64 channels: the covariances
    # are rank-deficient, and float32 rounding differences between a batch and single images
    # (1e-6 in the features) are amplified by the whitening of the smallest kept eigenvalues.
    batch_atol = 2e-3


def _correlated(n: int, c: int, positions: int, seed: int) -> torch.Tensor:
    """Features whose channels are correlated (a random mixing of independent signals).

    The mixing is kept well-conditioned (identity plus a random part): whitening divides by
    the square roots of the smallest eigenvalues, so float32 results of nearly singular
    covariances differ from float64 by much more than rounding.
    """
    generator = torch.Generator().manual_seed(seed)
    signals = torch.randn(n, c, positions, generator=generator)
    mixing = torch.eye(c) + 0.5 * torch.randn(c, c, generator=generator) / c**0.5
    return (mixing @ signals + 3 * torch.randn(n, c, 1, generator=generator)).reshape(
        n, c, positions // 10, 10
    )


def reference_wct(content: np.ndarray, style: np.ndarray, eps: float = WCT_EPS) -> np.ndarray:
    """The formula of the official test_wct.lua, one C×H×W pair, float64, written out."""
    c = content.shape[0]
    fc = content.reshape(c, -1).astype(np.float64)
    fs = style.reshape(c, -1).astype(np.float64)
    fc_centred = fc - fc.mean(1, keepdims=True)
    style_mean = fs.mean(1, keepdims=True)
    fs_centred = fs - style_mean
    content_values, content_vectors = np.linalg.eigh(fc_centred @ fc_centred.T / (fc.shape[1] - 1))
    style_values, style_vectors = np.linalg.eigh(fs_centred @ fs_centred.T / (fs.shape[1] - 1))
    k = max(int((content_values <= eps).sum()), int((style_values <= eps).sum()))
    ec, dc = content_vectors[:, k:], content_values[k:]
    es, ds = style_vectors[:, k:], style_values[k:]
    whitened = ec @ np.diag(dc**-0.5) @ ec.T @ fc_centred
    coloured = es @ np.diag(ds**0.5) @ es.T @ whitened + style_mean
    return coloured.reshape(content.shape)


def test_wct_matches_a_direct_float64_computation_of_the_formula() -> None:
    content = _correlated(2, 16, 120, seed=1)
    style = _correlated(1, 16, 90, seed=2) * 2.5 + 1.0
    got = wct(content, style)
    assert got.dtype == torch.float32 and got.shape == content.shape
    for i in range(2):
        expected = reference_wct(content[i].numpy(), style[0].numpy())
        scale = np.abs(expected).max()
        np.testing.assert_allclose(got[i].numpy(), expected, atol=2e-4 * scale, rtol=0)


def test_wct_gives_the_style_mean_and_covariance() -> None:
    content = _correlated(1, 8, 200, seed=3)
    style = _correlated(1, 8, 150, seed=4)
    out = wct(content, style).reshape(8, -1).double()
    target = style.reshape(8, -1).double()
    torch.testing.assert_close(out.mean(1), target.mean(1), atol=1e-3, rtol=1e-4)
    torch.testing.assert_close(torch.cov(out), torch.cov(target), atol=1e-3, rtol=1e-3)


def test_wct_drops_eigenvalues_under_the_epsilon_like_the_official_code() -> None:
    content = _correlated(1, 8, 100, seed=5)
    style = _correlated(1, 8, 100, seed=6)
    style[:, :3] = 0.5  # three constant channels: three zero eigenvalues
    got = wct(content, style)
    assert torch.isfinite(got).all()
    expected = reference_wct(content[0].numpy(), style[0].numpy())
    np.testing.assert_allclose(got[0].numpy(), expected, atol=1e-3 * np.abs(expected).max())
    np.testing.assert_allclose(got[0, :3].numpy(), 0.5, atol=1e-4)


@pytest.fixture(scope="module")
def small() -> stylezoo.Translator:
    return calibrated(random_translator("adain", {"width": 8}, seed=0))


def test_wct_option_decodes_the_transformed_features(small) -> None:
    content, styles = _tensor(32, 40, 1)[None], [_tensor(32, 32, 2), _tensor(40, 32, 3)]
    encoder, decoder = small.networks["encoder"], small.networks["decoder"]  # type: ignore[attr-defined]
    with torch.no_grad():
        fc = encoder(content)
        target = 0.3 * wct(fc, encoder(styles[0][None])) + 0.7 * wct(fc, encoder(styles[1][None]))
        target = 0.6 * target + 0.4 * fc
        expected = decoder(target)
        got = _forward(
            small, content, style=styles, style_weights=[3, 7], alpha=0.6, transform="wct"
        )
    # the translator runs channels_last (memory_format="auto"), whose convs round differently
    # from the NCHW reference above; the eigendecomposition amplifies that a little
    torch.testing.assert_close(got, expected, atol=1e-3, rtol=2e-3)


def test_wct_differs_from_adain_and_alpha_zero_is_the_same_for_both(small) -> None:
    photo = sample_rgb(40, 48)
    adain = small.translate(photo, style=STYLE, style_size=32)
    whitened = small.translate(photo, style=STYLE, style_size=32, transform="wct")
    assert np.abs(adain.astype(int) - whitened.astype(int)).mean() > 1
    content_only = small.translate(photo, style=STYLE, style_size=32, alpha=0.0)
    assert np.array_equal(
        content_only, small.translate(photo, style=STYLE, style_size=32, alpha=0.0, transform="wct")
    )
    coloured = small.translate(
        photo, style=STYLE, style_size=32, transform="wct", preserve_color=True
    )
    assert coloured.shape == photo.shape and not np.array_equal(coloured, whitened)


def test_bad_transform_is_rejected(small) -> None:
    with pytest.raises(stylezoo.InvalidOptionError, match="transform"):
        small.translate(sample_rgb(32, 32), style=STYLE, transform="whiten")
