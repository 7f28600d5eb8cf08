"""AdaIN networks with the official module indices, and the AdaIN and CORAL formulas.

The encoder is entries [0:31] of the official 53-entry ``vgg_normalised`` Sequential (the
normalised VGG-19 through relu4_1); the decoder is the official 29-entry
Sequential. Both are plain ``nn.Sequential`` so their state-dict keys are the official
ones (``0.weight``, ``2.weight``, …, ``29.bias``; ``1.weight``, …, ``28.bias``).
"""

from __future__ import annotations

import torch
from torch import nn

#: Indices of the official encoder's convs after relu4_1 (conv4_2 … conv5_4). The official
#: test and train scripts load them and then slice them away; the converter drops their keys.
UNUSED_ENCODER_CONVS = (32, 35, 38, 42, 45, 48, 51)
#: calc_mean_std's epsilon, added to the unbiased variance inside the square root.
EPS = 1e-5
#: Caffe's BGR mean pixel on the 0–255 scale, folded into encoder layer 0.
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def _conv_block(in_channels: int, out_channels: int) -> list[nn.Module]:
    # Reflection padding in place of VGG's zero padding, as in the official files.
    return [nn.ReflectionPad2d(1), nn.Conv2d(in_channels, out_channels, 3), nn.ReLU(inplace=True)]


def _pool() -> nn.Module:
    # ceil_mode as in the official encoder: for sides that are not multiples of 8 the
    # features (and so the decoded output) cover a little more than the image.
    return nn.MaxPool2d(2, 2, ceil_mode=True)


def build_encoder(width: int = 64) -> nn.Sequential:
    """The normalised VGG-19 through relu4_1: 31 entries, convs at the official indices.

    Entry 0 is a fixed 1×1 conv that turns RGB in [0, 1] into caffe's mean-subtracted BGR on
    the 0–255 scale; it is initialised to exactly that (it is part of the file too).

    Args:
        width: channels of the first block (64 in VGG-19); the blocks have width, 2·width,
            4·width and 8·width channels. Other values only make sense for tests.
    """
    c1, c2, c3, c4 = width, 2 * width, 4 * width, 8 * width
    preprocessing = nn.Conv2d(3, 3, 1)
    _init_preprocessing(preprocessing)
    layers: list[nn.Module] = [preprocessing]
    layers += _conv_block(3, c1) + _conv_block(c1, c1) + [_pool()]  # 1–7, relu1_1 = 3
    layers += _conv_block(c1, c2) + _conv_block(c2, c2) + [_pool()]  # 8–14, relu2_1 = 10
    layers += _conv_block(c2, c3)  # 15–17, relu3_1
    for _ in range(3):
        layers += _conv_block(c3, c3)  # 18–26
    layers += [_pool()]  # 27
    layers += _conv_block(c3, c4)  # 28–30, relu4_1
    return nn.Sequential(*layers)


def _init_preprocessing(conv: nn.Conv2d) -> None:
    """RGB [0, 1] → BGR [0, 255] minus the caffe mean (the Lua ``getPreprocessConv``)."""
    with torch.no_grad():
        conv.weight.zero_()
        for out_channel, in_channel in ((0, 2), (1, 1), (2, 0)):
            conv.weight[out_channel, in_channel] = 255.0
        assert conv.bias is not None  # built with a bias just above
        conv.bias.copy_(-torch.tensor(CAFFE_MEAN_BGR))


def _upsample() -> nn.Module:
    return nn.Upsample(scale_factor=2, mode="nearest")


def build_decoder(width: int = 64) -> nn.Sequential:
    """The official decoder: a mirror of the encoder with nearest ×2 upsampling, 29 entries.

    There is no output activation: the output is unbounded (clamped to [0, 1] afterwards).
    """
    c1, c2, c3, c4 = width, 2 * width, 4 * width, 8 * width
    layers: list[nn.Module] = _conv_block(c4, c3) + [_upsample()]  # 0–3
    for _ in range(3):
        layers += _conv_block(c3, c3)  # 4–12
    layers += _conv_block(c3, c2) + [_upsample()]  # 13–16
    layers += _conv_block(c2, c2) + _conv_block(c2, c1)  # 17–22
    layers += [_upsample()] + _conv_block(c1, c1)  # 23–26
    layers += [nn.ReflectionPad2d(1), nn.Conv2d(c1, 3, 3)]  # 27–28
    return nn.Sequential(*layers)


def calc_mean_std(features: torch.Tensor, eps: float = EPS) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample, per-channel mean and sqrt(unbiased variance + eps), shaped N×C×1×1."""
    n, c = features.shape[:2]
    flat = features.reshape(n, c, -1)
    std = (flat.var(dim=2, correction=1) + eps).sqrt()
    return flat.mean(dim=2).view(n, c, 1, 1), std.view(n, c, 1, 1)


def _matrix_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    """U·diag(√S)·Vᵀ of a batch of symmetric positive-definite matrices (as the official)."""
    u, s, vh = torch.linalg.svd(matrix)
    return u @ torch.diag_embed(s.sqrt()) @ vh


def _whiten(pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    mean = pixels.mean(dim=2, keepdim=True)
    # A constant channel has std 0 and the official code divides by it (NaN everywhere);
    # flooring it only changes that degenerate case: the standardised channel becomes 0.
    std = pixels.std(dim=2, keepdim=True, correction=1).clamp_min(1e-8)
    return (pixels - mean) / std, mean, std


def coral(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Give each style image the colour statistics of its content image (official CORAL).

    In pixel space, per image: standardise the channels of both images (unbiased std), take
    C = X̂X̂ᵀ + I (not divided by the pixel count), map the style through
    sqrt(C_content)·sqrt(C_style)⁻¹ and restore the content's channel means and stds.

    Args:
        style: N×3×Hs×Ws float tensor.
        content: N×3×Hc×Wc float tensor (sizes may differ from the style's).

    Returns:
        The recoloured style, N×3×Hs×Ws (not clamped, as in the official code).
    """
    n = style.shape[0]
    style_white, _, _ = _whiten(style.reshape(n, 3, -1))
    content_white, content_mean, content_std = _whiten(content.reshape(n, 3, -1))
    eye = torch.eye(3, dtype=style.dtype, device=style.device)
    style_cov = style_white @ style_white.transpose(1, 2) + eye
    content_cov = content_white @ content_white.transpose(1, 2) + eye
    transfer = _matrix_sqrt(content_cov) @ torch.linalg.inv(_matrix_sqrt(style_cov))
    recoloured = (transfer @ style_white) * content_std + content_mean
    return recoloured.reshape(style.shape)


#: The whitening-and-colouring transform drops covariance eigenvalues at or below this (the
#: threshold of the official test_wct.lua), in the scale of the unbiased covariance of the
#: relu4_1 activations.
WCT_EPS = 1e-5


def _eigh(covariance: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues (ascending) and eigenvectors of symmetric matrices, float32, on any device
    (MPS has no eigendecomposition: it runs on the CPU there and the result moves back)."""
    device = covariance.device
    if device.type == "mps":
        values, vectors = torch.linalg.eigh(covariance.cpu())
        return values.to(device), vectors.to(device)
    values, vectors = torch.linalg.eigh(covariance)
    return values, vectors


def _centred_covariance(
    features: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """N×C×M centred features, their N×C×1 means and N×C×C unbiased covariances."""
    mean = features.mean(dim=2, keepdim=True)
    centred = features - mean
    covariance = centred @ centred.transpose(1, 2) / (features.shape[2] - 1)
    return centred, mean, covariance


def wct(content: torch.Tensor, style: torch.Tensor, eps: float = WCT_EPS) -> torch.Tensor:
    """The whitening and colouring transform (Li et al., "Universal Style Transfer via
    Feature Transforms", NeurIPS 2017), as the official test_wct.lua computes it.

    Per content/style pair: centre both feature maps, take their unbiased covariances
    (divided by positions − 1) and eigendecompositions; whiten the content with
    E_c·D_c^(−1/2)·E_cᵀ, colour it with E_s·D_s^(1/2)·E_sᵀ and add the style's mean. As in the
    official code, the k smallest eigenpairs of both matrices are dropped, where k is the
    larger of the two counts of eigenvalues ≤ ``eps``. Everything is float32.

    Args:
        content: N×C×H×W features.
        style: 1×C×Hs×Ws or N×C×Hs×Ws features (sizes may differ from the content's).
        eps: the eigenvalue threshold (:data:`WCT_EPS`).

    Returns:
        N×C×H×W features with the style's mean and covariance.
    """
    n, c = content.shape[:2]
    content_flat = content.float().reshape(n, c, -1)
    style_flat = style.float().reshape(style.shape[0], c, -1).expand(n, -1, -1)
    centred, _, content_cov = _centred_covariance(content_flat)
    _, style_mean, style_cov = _centred_covariance(style_flat)
    content_values, content_vectors = _eigh(content_cov)
    style_values, style_vectors = _eigh(style_cov)
    below = torch.maximum((content_values <= eps).sum(1), (style_values <= eps).sum(1))
    keep = torch.arange(c, device=content.device).unsqueeze(0) >= below.unsqueeze(1)
    zero = torch.zeros((), device=content.device)
    inverse_root = torch.where(keep, content_values.clamp_min(eps).rsqrt(), zero)
    root = torch.where(keep, style_values.clamp_min(0).sqrt(), zero)
    whiten = content_vectors @ torch.diag_embed(inverse_root) @ content_vectors.transpose(1, 2)
    colour = style_vectors @ torch.diag_embed(root) @ style_vectors.transpose(1, 2)
    coloured = colour @ (whiten @ centred) + style_mean
    return coloured.reshape(content.shape)
