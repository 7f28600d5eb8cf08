"""stylezoo.export: ONNX and TorchScript files that reproduce the raw call, for every family.

Each exported file is run (onnxruntime, or the reloaded TorchScript module) and compared with
``translator(batch, **options)`` on inputs the export never saw.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from skimage import data

import stylezoo
from stylezoo.cli import main
from stylezoo.testing import random_translator

# The tests reload TorchScript files on purpose; torch 2.14 deprecates TorchScript.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")

#: The largest difference from PyTorch an exported file may show, values in [0, 1].
TOLERANCE = 1e-4

# Small random-weight networks of every built-in family. Sizes that are not multiples of the
# networks' strides make the graphs pad and crop.
FAMILIES = {
    "cyclegan": {"ngf": 8, "netG": "resnet_6blocks"},
    "cut": {"ngf": 8, "netG": "resnet_6blocks"},
    "pix2pix": {"netG": "unet_128", "ngf": 4},
    "adain": {"width": 4},
    "fast_style": {},
    "multistyle": {"channels": 8, "residual_blocks": 1, "styles": 5},
    "arbitrary": {"style_dim": 8},
}


def _images(count: int, height: int, width: int, seed: int) -> torch.Tensor:
    return torch.rand(count, 3, height, width, generator=torch.Generator().manual_seed(seed))


def _session(path: Path) -> onnxruntime.InferenceSession:
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _extra_inputs(translator: stylezoo.Translator, seed: int) -> tuple[dict[str, Any], dict]:
    """The graph inputs besides the image, and the same as translate options."""
    family = translator.spec.family
    if family == "multistyle":
        weights = torch.rand(translator.spec.config["styles"], generator=torch.Generator())
        weights[0] = 0.0  # a zero weight, and unnormalised ones: the graph normalises
        return {"style_weights": weights}, {"style": weights}
    if family in ("adain", "arbitrary"):
        side = 256 if family == "arbitrary" else 40
        style = _images(1, side, side + (0 if family == "arbitrary" else 13), seed + 100)
        return {"style": style}, {"style": style[0]}
    return {}, {}


def _run_onnx(session: onnxruntime.InferenceSession, image: torch.Tensor, extra: dict) -> Any:
    feeds = {"image": image.numpy(), **{k: v.numpy() for k, v in extra.items()}}
    return session.run(None, feeds)[0]


def _assert_close(got: Any, expected: torch.Tensor) -> None:
    got = torch.as_tensor(got)
    assert got.shape == expected.shape
    difference = float((got - expected).abs().max())
    assert difference <= TOLERANCE, difference
    # not a degenerate comparison: the outputs vary and are not all clamped
    inside = ((expected > 0.001) & (expected < 0.999)).float().mean()
    assert float(inside) > 0.2 and float(expected.std()) > 1e-3


def _random(family: str, seed: int) -> stylezoo.Translator:
    translator = random_translator(family, FAMILIES[family], seed=seed)
    if family == "fast_style":
        # Random weights give outputs near 0 on its 0–255 scale (nearly all clamped);
        # spread them over the range so the comparison sees real values.
        last = translator.networks["model"].deconv3.conv2d  # type: ignore[attr-defined]
        with torch.no_grad():
            last.weight.mul_(200.0)
            last.bias.fill_(127.5)
    return translator


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_onnx_matches_pytorch_for_every_family(family: str, tmp_path: Path) -> None:
    translator = _random(family, seed=1)
    size = (128, 136) if family == "pix2pix" else (44, 52)
    path = stylezoo.export(translator, tmp_path / "model.onnx", size=size)
    session = _session(path)
    extra, options = _extra_inputs(translator, seed=0)
    names = [i.name for i in session.get_inputs()]
    assert names == ["image", *extra]
    image = _images(3, *size, seed=5)  # another batch size than the export's
    _assert_close(_run_onnx(session, image, extra), translator(image, **options))


@pytest.mark.slow
def test_multistyle_real_weights_any_size_with_style_weights(tmp_path: Path) -> None:
    # Compared with the NCHW computation the graph holds: on the noise images below, the
    # network's style norms amplify the different summation order of channels-last
    # convolutions to about 1e-4 (PyTorch against itself, either layout being float32).
    translator = stylezoo.load("multistyle/android-26", memory_format="contiguous")
    path = stylezoo.export(
        "multistyle/android-26", tmp_path / "multistyle.onnx", dynamic_size=True, size=64
    )
    session = _session(path)
    photo = torch.from_numpy(data.astronaut()[::4, ::4].copy()).permute(2, 0, 1)[None] / 255
    for image, style in (
        (photo, {19: 1.0}),
        (_images(2, 61, 90, seed=3), {3: 2.0, 12: 1.0}),
    ):
        weights = torch.zeros(26)
        for index, weight in style.items():
            weights[index] = weight
        got = _run_onnx(session, image, {"style_weights": weights})
        _assert_close(got, translator(image, style=style))
    metadata = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert metadata["stylezoo.model"] == "multistyle/android-26"
    assert metadata["stylezoo.size"] == "dynamic"
    assert "style_weights" in json.loads(metadata["stylezoo.inputs"])


@pytest.mark.slow
def test_arbitrary_real_weights_with_a_style_image(tmp_path: Path) -> None:
    translator = stylezoo.load("arbitrary/magenta")
    path = stylezoo.export(translator, tmp_path / "arbitrary.onnx", size=(96, 128))
    session = _session(path)
    assert [i.shape for i in session.get_inputs()] == [["batch", 3, 96, 128], [1, 3, 256, 256]]
    photo = torch.from_numpy(data.chelsea()[:96, 100:228].copy()).permute(2, 0, 1)[None] / 255
    painting = torch.from_numpy(data.coffee()[:256, 200:456].copy()).permute(2, 0, 1)[None] / 255
    got = _run_onnx(session, photo, {"style": painting})
    _assert_close(got, translator(photo, style=painting[0]))


def test_torchscript_reloads_and_matches_at_any_size(tmp_path: Path) -> None:
    translator = random_translator("cyclegan", FAMILIES["cyclegan"], seed=2)
    path = stylezoo.export(translator, tmp_path / "cyclegan.pt", dynamic_size=True, size=40)
    loaded = torch.jit.load(str(path))
    for count, height, width in ((1, 40, 40), (2, 37, 58)):
        image = _images(count, height, width, seed=4)
        with torch.no_grad():
            _assert_close(loaded(image), translator(image))


def test_torchscript_adain_takes_the_style_image(tmp_path: Path) -> None:
    translator = random_translator("adain", FAMILIES["adain"], seed=3)
    path = stylezoo.export(translator, tmp_path / "adain.ts", options={"alpha": 0.7}, size=48)
    extra_files = {"stylezoo.json": ""}
    loaded = torch.jit.load(str(path), _extra_files=extra_files)
    metadata = json.loads(extra_files["stylezoo.json"])
    assert metadata["options"]["alpha"] == 0.7 and "style" in metadata["inputs"]
    image, style = _images(2, 48, 48, seed=6), _images(1, 33, 50, seed=7)
    with torch.no_grad():
        _assert_close(loaded(image, style), translator(image, style=style[0], alpha=0.7))


def test_a_fixed_style_replaces_the_style_input(tmp_path: Path) -> None:
    translator = random_translator("multistyle", FAMILIES["multistyle"], seed=4)
    path = stylezoo.export(
        translator, tmp_path / "one.pt", options={"style": 3, "strength": 0.5}, size=32
    )
    image = _images(1, 32, 32, seed=8)
    with torch.no_grad():
        got = torch.jit.load(str(path))(image)
    _assert_close(got, translator(image, style=3, strength=0.5))


@pytest.mark.parametrize(
    "family, options, message",
    [
        ("pix2pix", {"dropout": True}, "dropout=True: its masks are random"),
        ("adain", {"mask": np.ones((8, 8), bool)}, "a mask"),
        ("adain", {"preserve_color": True}, "preserve_color=True"),
        ("arbitrary", {"strength": 0.5}, "strength=0.5"),
        ("cyclegan", {"strength": 0.5}, "Unknown cyclegan option 'strength'"),
    ],
)
def test_unsupported_options_are_clear_errors(
    family: str, options: dict, message: str, tmp_path: Path
) -> None:
    translator = random_translator(family, FAMILIES[family])
    with pytest.raises(stylezoo.StylezooError, match=message):
        stylezoo.export(translator, tmp_path / "x.pt", options=options)
    assert not list(tmp_path.iterdir())


def test_format_size_and_target_errors(tmp_path: Path) -> None:
    translator = random_translator("cyclegan", FAMILIES["cyclegan"])
    with pytest.raises(stylezoo.ExportError, match="format=.*--format"):
        stylezoo.export(translator, tmp_path / "model.bin")
    with pytest.raises(stylezoo.ExportError, match="Unknown export format 'tflite'"):
        stylezoo.export(translator, tmp_path / "model.bin", format="tflite")
    with pytest.raises(stylezoo.ExportError, match="at least 8 pixels"):
        stylezoo.export(translator, tmp_path / "model.pt", size=4)
    existing = tmp_path / "existing.pt"
    existing.write_bytes(b"keep")
    with pytest.raises(stylezoo.OutputError, match="overwrite=True"):
        stylezoo.export(translator, existing)
    assert existing.read_bytes() == b"keep"


def test_a_failed_export_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from stylezoo import exporting

    def broken(*args: Any) -> None:
        raise stylezoo.ExportError("the check run failed")

    monkeypatch.setattr(exporting, "_check_file", broken)
    target = tmp_path / "model.pt"
    target.write_bytes(b"old")
    translator = random_translator("cyclegan", FAMILIES["cyclegan"])
    with pytest.raises(stylezoo.ExportError, match="check run failed"):
        stylezoo.export(translator, target, size=16, overwrite=True)
    assert target.read_bytes() == b"old"  # neither replaced nor half-written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]


def test_missing_onnx_packages_name_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnxscript", None)
    translator = random_translator("cyclegan", FAMILIES["cyclegan"])
    with pytest.raises(stylezoo.ExportError, match=r'pip install "stylezoo\[onnx\]"'):
        stylezoo.export(translator, tmp_path / "model.onnx", size=16)
    assert not list(tmp_path.iterdir())


def test_cli_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "sub" / "multistyle.pt"
    code = main(
        [
            "export",
            "multistyle/android-26",
            "-o",
            str(target),
            "--format",
            "torchscript",
            "--size",
            "48x64",
            "--option",
            "style=7",
        ]
    )
    assert code == 0 and capsys.readouterr().out.strip() == str(target)
    image = _images(1, 48, 64, seed=9)
    with torch.no_grad():
        got = torch.jit.load(str(target))(image)
    _assert_close(got, stylezoo.load("multistyle/android-26")(image, style=7))
    assert main(["export", "multistyle/android-26", "-o", str(target)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["export", "multistyle/android-26", "-o", str(target), "--size", "big"]) == 2
    assert "--size takes SIDE or HEIGHTxWIDTH" in capsys.readouterr().err
