"""adain: conversion of official-layout files and parity with the official formulas.

The reference below is written from the official architecture (pytorch-AdaIN) with
``torch.nn.functional`` on the raw state dicts; it deliberately does not import the plugin. The
checkpoints are laid out like the official ``vgg_normalised.pth`` (the whole 53-entry VGG-19, 34
keys) and ``decoder.pth`` (18 keys), saved in the legacy (non-zip) torch format, with random
weights scaled so the outputs spread over [0, 1] (clamping must not hide differences).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

import stylezoo
from stylezoo.errors import WeightsError
from stylezoo.testing import sample_rgb

# (index, out channels, in channels, kernel) of every conv of the official files
ENCODER_CONVS = [
    (0, 3, 3, 1),
    (2, 64, 3, 3),
    (5, 64, 64, 3),
    (9, 128, 64, 3),
    (12, 128, 128, 3),
    (16, 256, 128, 3),
    (19, 256, 256, 3),
    (22, 256, 256, 3),
    (25, 256, 256, 3),
    (29, 512, 256, 3),
]
ENCODER_CONVS += [(i, 512, 512, 3) for i in (32, 35, 38, 42, 45, 48, 51)]
DECODER_CONVS = [
    (1, 256, 512),
    (5, 256, 256),
    (8, 256, 256),
    (11, 256, 256),
    (14, 128, 256),
    (18, 128, 128),
    (21, 64, 128),
    (25, 64, 64),
    (28, 3, 64),
]
# Encoder through relu4_1, [0:31]: convs (each after a reflection pad, then ReLU) and pools.
ENCODER_STEPS = (2, 5, "pool", 9, 12, "pool", 16, 19, 22, 25, "pool", 29)
DECODER_STEPS = (1, "up", 5, 8, 11, 14, "up", 18, 21, "up", 25, 28)
RELEASE = "https://github.com/naoto0804/pytorch-AdaIN/releases/download/v0.0.0/"


# -- the reference, from the official architecture -----------------------------------------------
def reference_encode(state: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    x = F.conv2d(x, state["0.weight"], state["0.bias"])  # folded caffe preprocessing
    for step in ENCODER_STEPS:
        if step == "pool":
            x = F.max_pool2d(x, 2, 2, ceil_mode=True)
        else:
            x = F.pad(x, (1, 1, 1, 1), mode="reflect")
            x = F.relu(F.conv2d(x, state[f"{step}.weight"], state[f"{step}.bias"]))
    return x


def reference_decode(state: dict[str, torch.Tensor], t: torch.Tensor) -> torch.Tensor:
    for step in DECODER_STEPS:
        if step == "up":
            t = F.interpolate(t, scale_factor=2, mode="nearest")
            continue
        t = F.conv2d(
            F.pad(t, (1, 1, 1, 1), mode="reflect"), state[f"{step}.weight"], state[f"{step}.bias"]
        )
        if step != 28:  # no final activation
            t = F.relu(t)
    return t


def reference_mean_std(f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    n, c = f.shape[:2]
    flat = f.reshape(n, c, -1)
    std = (flat.var(dim=2, unbiased=True) + 1e-5).sqrt()
    return flat.mean(dim=2).reshape(n, c, 1, 1), std.reshape(n, c, 1, 1)


def reference_adain(fc: torch.Tensor, fs: torch.Tensor) -> torch.Tensor:
    mc, sc = reference_mean_std(fc)
    ms, ss = reference_mean_std(fs)
    return (fc - mc) / sc * ss + ms


def reference_coral(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """3×H×W style recoloured with the statistics of a 3×H×W content."""

    def standardise(img: torch.Tensor) -> tuple[torch.Tensor, ...]:
        flat = img.reshape(3, -1)
        mean, std = flat.mean(1, keepdim=True), flat.std(1, keepdim=True, unbiased=True)
        return (flat - mean) / std, mean, std

    def sqrtm(m: torch.Tensor) -> torch.Tensor:  # symmetric PD: eigh, not the plugin's SVD
        values, vectors = torch.linalg.eigh(m.double())
        return (vectors @ torch.diag(values.sqrt()) @ vectors.T).float()

    s_hat, _, _ = standardise(source)
    t_hat, t_mean, t_std = standardise(target)
    s_cov = s_hat @ s_hat.T + torch.eye(3)
    t_cov = t_hat @ t_hat.T + torch.eye(3)
    out = sqrtm(t_cov) @ torch.linalg.inv(sqrtm(s_cov)) @ s_hat
    return (out * t_std + t_mean).reshape(source.shape)


def reference_stylise(
    encoder: dict[str, torch.Tensor],
    decoder: dict[str, torch.Tensor],
    content: torch.Tensor,
    styles: list[torch.Tensor],
    weights: list[float] | None = None,
    alpha: float = 1.0,
    preserve_color: bool = False,
) -> torch.Tensor:
    """test.py for one 1×3×H×W content (unclamped output)."""
    if preserve_color:
        styles = [reference_coral(s[0], content[0])[None] for s in styles]
    fc = reference_encode(encoder, content)
    if weights is None:
        target = reference_adain(fc, reference_encode(encoder, styles[0]))
    else:
        total = sum(weights)
        target = torch.zeros_like(fc)
        for style, weight in zip(styles, weights, strict=True):
            target = target + weight / total * reference_adain(fc, reference_encode(encoder, style))
    target = target * alpha + fc * (1 - alpha)
    return reference_decode(decoder, target)


# -- official-layout files ----------------------------------------------------------------------
def official_state_dicts(seed: int = 0) -> tuple[dict[str, torch.Tensor], ...]:
    generator = torch.Generator().manual_seed(seed)

    def he(*shape: int) -> torch.Tensor:  # keeps activations at scale through the ReLUs
        fan_in = shape[1] * shape[2] * shape[3]
        return torch.randn(*shape, generator=generator) * (2.0 / fan_in) ** 0.5

    encoder: dict[str, torch.Tensor] = {}
    for index, out, inp, k in ENCODER_CONVS:
        encoder[f"{index}.weight"] = he(out, inp, k, k)
        encoder[f"{index}.bias"] = 0.1 * torch.randn(out, generator=generator)
    # layer 0 as in the official file: RGB [0, 1] → BGR [0, 255] minus the caffe mean
    encoder["0.weight"] = torch.zeros(3, 3, 1, 1)
    for out_channel, in_channel in ((0, 2), (1, 1), (2, 0)):
        encoder["0.weight"][out_channel, in_channel] = 255.0
    encoder["0.bias"] = -torch.tensor([103.939, 116.779, 123.68])
    decoder: dict[str, torch.Tensor] = {}
    for index, out, inp in DECODER_CONVS:
        decoder[f"{index}.weight"] = he(out, inp, 3, 3)
        decoder[f"{index}.bias"] = 0.1 * torch.randn(out, generator=generator)
    # Calibrate the last conv so that outputs spread over [0, 1] instead of saturating.
    content, style = _image(32, 40, 1), _image(27, 45, 2)
    raw = reference_stylise(encoder, decoder, content, [style])
    decoder["28.weight"] = decoder["28.weight"] * (0.22 / raw.std())
    decoder["28.bias"] = decoder["28.bias"] * (0.22 / raw.std())
    shift = 0.5 - reference_stylise(encoder, decoder, content, [style]).mean(dim=(0, 2, 3))
    decoder["28.bias"] = decoder["28.bias"] + shift
    return encoder, decoder


def _image(height: int, width: int, seed: int) -> torch.Tensor:
    array = sample_rgb(height, width, seed=seed)
    return torch.from_numpy(array).permute(2, 0, 1).float().div(255).unsqueeze(0)


@pytest.fixture(scope="module")
def official(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    encoder, decoder = official_state_dicts()
    folder = tmp_path_factory.mktemp("official")
    files = {"encoder": folder / "vgg_normalised.pth", "decoder": folder / "decoder.pth"}
    torch.save(encoder, files["encoder"], _use_new_zipfile_serialization=False)
    torch.save(decoder, files["decoder"], _use_new_zipfile_serialization=False)
    converted = stylezoo.convert("adain", files, folder / "converted")
    return {
        "encoder": encoder,
        "decoder": decoder,
        "files": files,
        "converted": converted,
        "translator": stylezoo.load(converted),
    }


def test_official_files_are_legacy_format_and_complete(official: dict) -> None:
    for path in official["files"].values():
        with open(path, "rb") as handle:
            assert handle.read(2) != b"PK"  # not a zip archive: the legacy pickle format
    assert len(official["encoder"]) == 34 and len(official["decoder"]) == 18


def test_converted_files_keep_official_keys_and_drop_layers_after_relu4_1(official: dict) -> None:
    directory: Path = official["converted"]
    encoder = load_file(str(directory / "encoder.safetensors"))
    decoder = load_file(str(directory / "decoder.safetensors"))
    kept = {index for index, *_ in ENCODER_CONVS if index < 31}
    assert set(encoder) == {f"{i}.{p}" for i in kept for p in ("weight", "bias")}
    assert set(decoder) == set(official["decoder"])
    for key, value in encoder.items():
        assert torch.equal(value, official["encoder"][key]), key
    for key, value in decoder.items():
        assert torch.equal(value, official["decoder"][key]), key
    config = json.loads((directory / "config.json").read_text())
    assert config["family"] == "adain" and config["config"] == {"width": 64}
    assert config["io"]["range"] == [0.0, 1.0] and config["io"]["multiple"] == 8
    assert set(config["provenance"]["converted_from"]) == {"encoder", "decoder"}


CASES = {
    "one style": ({}, [(27, 45, 2)]),
    "alpha": ({"alpha": 0.4}, [(27, 45, 2)]),
    "interpolation": ({"style_weights": [1, 3]}, [(24, 32, 2), (24, 32, 3)]),
    "interpolation, other sizes": (
        {"style_weights": [0.5, 1.75], "alpha": 0.8},
        [(27, 45, 2), (40, 24, 3)],
    ),
    "preserve color": ({"preserve_color": True}, [(27, 45, 2)]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_raw_path_matches_the_reference(official: dict, case: str) -> None:
    options, style_shapes = CASES[case]
    styles = [_image(h, w, seed) for h, w, seed in style_shapes]
    contents = torch.cat([_image(32, 40, 1), _image(32, 40, 5)])  # multiples of 8
    translator = official["translator"]
    style = styles[0][0] if len(styles) == 1 else [s[0] for s in styles]
    out = translator(contents, style=style, **options)
    weights = options.get("style_weights")
    for index in range(contents.shape[0]):
        expected = reference_stylise(
            official["encoder"],
            official["decoder"],
            contents[index : index + 1],
            styles,
            weights=weights,
            alpha=options.get("alpha", 1.0),
            preserve_color=options.get("preserve_color", False),
        )
        inside = ((expected > 0.01) & (expected < 0.99)).float().mean()
        assert inside > 0.8, "the comparison would be dominated by clamping"
        torch.testing.assert_close(out[index : index + 1], expected.clamp(0, 1), atol=1e-5, rtol=0)


def test_convert_by_record_name_fills_in_the_record(official: dict, tmp_path: Path) -> None:
    directory = stylezoo.convert("adain/vgg-decoder", official["files"], tmp_path / "out")
    config = json.loads((directory / "config.json").read_text())
    assert config["name"] == "adain/vgg-decoder" and config["license"] == "unknown"
    assert config["provenance"]["upstream"]["encoder"]["url"] == RELEASE + "vgg_normalised.pth"
    assert config["provenance"]["upstream"]["decoder"]["url"] == RELEASE + "decoder.pth"


def test_unexpected_and_missing_keys_are_reported(official: dict, tmp_path: Path) -> None:
    encoder = dict(official["encoder"], **{"53.weight": torch.zeros(1)})
    decoder = {k: v for k, v in official["decoder"].items() if k != "28.bias"}
    files = {"encoder": tmp_path / "enc.pth", "decoder": tmp_path / "dec.pth"}
    torch.save(encoder, files["encoder"])
    torch.save(official["decoder"], files["decoder"])
    with pytest.raises(WeightsError, match=r"unexpected keys \[53\.weight\]"):
        stylezoo.convert("adain", files, tmp_path / "a")
    torch.save(official["encoder"], files["encoder"])
    torch.save(decoder, files["decoder"])
    with pytest.raises(WeightsError, match=r"missing keys \[28\.bias\]"):
        stylezoo.convert("adain", files, tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_registry_records() -> None:
    names = stylezoo.list_models("adain/*")
    assert names == ["adain/vgg-decoder", "adain/vgg-decoder-iter1000000"]
    for name in names:
        info = stylezoo.model_info(name)
        assert info["upstream"]["encoder"]["url"] == RELEASE + "vgg_normalised.pth"
        assert info["license"] == "unknown" and info["paper"] == "arXiv:1703.06868"
        assert info["io"]["multiple"] == 8 and not info["hub"]
    iteration = stylezoo.model_info("adain/vgg-decoder-iter1000000")
    assert iteration["upstream"]["decoder"]["url"] == RELEASE + "iter_1000000.pth"


@pytest.mark.parametrize("size", [(29, 43), (37, 30), (41, 57)])
def test_odd_sizes_equal_the_official_output_cropped(official: dict, size: tuple) -> None:
    # The official test.py runs on the content as it is (its output is 8·ceil(side/8) per
    # side); stylezoo returns that output cropped to the content's size.
    content = _image(*size, 1)
    style = _image(27, 45, 2)
    expected = reference_stylise(official["encoder"], official["decoder"], content, [style])
    assert expected.shape[-2:] == tuple(8 * -(-s // 8) for s in size)
    out = official["translator"](content, style=style[0])
    torch.testing.assert_close(
        out, expected.clamp(0, 1)[..., : size[0], : size[1]], atol=1e-5, rtol=0
    )


def test_pil_style_is_resized_like_torchvision_on_pil(official: dict) -> None:
    # translate() resizes a PIL or file style as the official test.py does: torchvision
    # Resize(style_size) on the PIL image (shorter side, bilinear), then ToTensor.
    from PIL import Image
    from torchvision import transforms

    pixels = (_image(45, 61, 3)[0].permute(1, 2, 0) * 255).round().byte().numpy()
    style = Image.fromarray(pixels)
    content = _image(33, 38, 4)
    official_style = transforms.ToTensor()(transforms.Resize(24)(style))[None]
    expected = reference_stylise(
        official["encoder"], official["decoder"], content, [official_style]
    )
    out = official["translator"].translate(content[0], style=style, style_size=24)
    torch.testing.assert_close(out, expected.clamp(0, 1)[0, :, :33, :38], atol=1e-5, rtol=0)
