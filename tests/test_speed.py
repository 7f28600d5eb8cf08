"""The fast-path settings: channels-last end to end, bfloat16 fidelity, compile, CUDA transfers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import stylezoo
from stylezoo import speed
from stylezoo.errors import InvalidOptionError
from stylezoo.nn import InstanceNorm
from stylezoo.testing import requires_gpu
from stylezoo.translator import ImageTranslator, _on_meta

# Small configurations: every layer type of the family, a fraction of the compute.
SMALL: dict[str, dict[str, Any]] = {
    "cyclegan": {"ngf": 8, "netG": "resnet_6blocks"},
    "cut": {"ngf": 8, "netG": "resnet_6blocks"},
    "pix2pix": {"ngf": 4},
    "fast_style": {},
    "adain": {},
    "multistyle": {},
    "arbitrary": {},
}
SIZES = {"pix2pix": 256}  # its U-Net needs multiples of 2**8


def _model(family: str, **kwargs: Any) -> ImageTranslator:
    translator = stylezoo.create_model(family, SMALL[family], seed=0, **kwargs)
    assert isinstance(translator, ImageTranslator)
    return translator


def _options(family: str) -> dict[str, Any]:
    if family in ("adain", "arbitrary"):
        generator = torch.Generator().manual_seed(1)
        return {"style": torch.rand(3, 48, 48, generator=generator)}
    return {}


def _batch(family: str, seed: int = 0) -> torch.Tensor:
    size = SIZES.get(family, 40)
    return torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(seed))


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    a8 = (a * 255).round().double()
    b8 = (b * 255).round().double()
    mse = float(((a8 - b8) ** 2).mean())
    return float("inf") if mse == 0 else 10 * float(np.log10(255.0**2 / mse))


# -- instance norm through group_norm ------------------------------------------------------
@pytest.mark.parametrize("affine", [False, True])
def test_instance_norm_equals_torch_instance_norm_and_keeps_channels_last(affine: bool) -> None:
    torch.manual_seed(0)
    official = nn.InstanceNorm2d(6, affine=affine)
    ours = InstanceNorm(6, affine=affine)
    if affine:
        with torch.no_grad():
            official.weight.normal_()
            official.bias.normal_()
        ours.load_state_dict(official.state_dict())
    assert ours.state_dict().keys() == official.state_dict().keys()
    x = torch.randn(2, 6, 9, 11) * 3 + 1
    nhwc = x.contiguous(memory_format=torch.channels_last)
    expected = official(x)
    torch.testing.assert_close(ours(x), expected, atol=1e-5, rtol=1e-5)
    out = ours(nhwc)
    assert out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    # unbatched CHW input, as nn.InstanceNorm2d takes it
    torch.testing.assert_close(ours(x[0]), official(x[0]), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("channels_last", [False, True])
def test_instance_norm_statistics_accumulate_in_float32_for_bfloat16(channels_last: bool) -> None:
    # 64² values summed in bfloat16 (8 mantissa bits) would put the mean and variance off
    # by several percent; accumulated in float32, only the output's own rounding remains.
    torch.manual_seed(0)
    x = (torch.randn(1, 4, 64, 64) * 0.5 + 3).bfloat16()
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    exact = F.instance_norm(x.double(), eps=1e-5)
    got = InstanceNorm(4)(x).double()
    assert float((got - exact).abs().mean()) < 0.002  # bfloat16 rounding of |y| ≈ 0.8: 0.0015
    assert float((got - exact).abs().max()) < 0.02


# -- memory format -------------------------------------------------------------------------
@pytest.mark.parametrize("family", sorted(SMALL))
def test_channels_last_is_kept_through_every_layer(family: str) -> None:
    translator = _model(family, memory_format="channels_last")
    assert translator.memory_format == torch.channels_last
    dropped: list[str] = []

    def check(module: nn.Module, inputs: Any, output: Any) -> None:
        if (
            isinstance(output, torch.Tensor)
            and output.ndim == 4
            and output.shape[1] > 1
            and min(output.shape[2:]) > 1
            and not output.is_contiguous(memory_format=torch.channels_last)
        ):
            dropped.append(type(module).__name__)

    roots = set(translator.networks.values())
    hooks = [
        module.register_forward_hook(check)
        for network in translator.networks.values()
        for module in network.modules()
        # the arbitrary transformer hands its result back contiguous, by design
        if not (family == "arbitrary" and module in roots)
    ]
    try:
        out = translator(_batch(family), **_options(family))
    finally:
        for hook in hooks:
            hook.remove()
    assert dropped == []
    assert out.is_contiguous()  # handed back in the caller's layout


@pytest.mark.parametrize("family", sorted(SMALL))
def test_channels_last_gives_the_float32_nchw_result(family: str) -> None:
    fast = _model(family, memory_format="channels_last")
    plain = _model(family, memory_format="contiguous")
    x = _batch(family)
    torch.testing.assert_close(
        fast(x, **_options(family)), plain(x, **_options(family)), atol=2e-4, rtol=0
    )


@pytest.mark.parametrize("family", sorted(SMALL))
def test_bfloat16_stays_close_to_float32(family: str) -> None:
    plain = _model(family, memory_format="contiguous")
    fast = _model(family, dtype="bfloat16")
    x = _batch(family)
    reference = plain(x, **_options(family))
    result = fast(x, **_options(family))
    assert result.dtype == torch.float32 and result.shape == reference.shape
    # Random small networks are harder on bfloat16 than trained ones (no saturation, wide
    # activations); docs/benchmarks.md gives the full-size and real-weight figures.
    assert _psnr(result, reference) > 30
    assert float((result - reference).abs().mean()) < 0.02


def test_output_keeps_the_callers_layout() -> None:
    translator = _model("cyclegan")
    assert translator.memory_format == torch.channels_last  # the family's preference
    x = _batch("cyclegan")
    assert translator(x).is_contiguous()
    nhwc = x.contiguous(memory_format=torch.channels_last)
    out = translator(nhwc)
    assert out.is_contiguous(memory_format=torch.channels_last) and not out.is_contiguous()
    torch.testing.assert_close(out, translator(x))


def test_auto_follows_the_family_and_to_changes_it() -> None:
    assert _model("cyclegan").memory_format == torch.channels_last
    assert _model("multistyle").memory_format == torch.channels_last
    assert _model("pix2pix").memory_format == torch.channels_last
    nchw = _model("fast_style")
    type(nchw).preferred_memory_format = "contiguous"  # as a family preferring NCHW says
    try:
        nchw.to(memory_format="auto")
        assert nchw.memory_format == torch.contiguous_format
        assert nchw.to(memory_format="channels_last") is nchw
        assert nchw.memory_format == torch.channels_last
        nchw.to(memory_format="auto")
        assert nchw.memory_format == torch.contiguous_format
    finally:
        del type(nchw).preferred_memory_format


def test_weights_are_stored_in_the_batch_layout() -> None:
    """At the first call in a layout the 4-D weights take it (a convolution copies a weight in
    the other layout on every call); loading itself copies nothing."""
    translator = _model("cyclegan")
    weights = [p for p in translator.networks["model"].parameters() if p.dim() == 4]
    assert weights and all(w.is_contiguous() for w in weights)  # as built / loaded
    x = _batch("cyclegan")
    out = translator(x)
    assert all(
        w.is_contiguous(memory_format=torch.channels_last) and not w.is_contiguous()
        for w in weights
    )
    # converted outside the call's inference mode: still usable with autograd (nst needs it)
    assert not any(w.is_inference() for w in weights)
    translator.to(memory_format="contiguous")
    torch.testing.assert_close(translator(x), out, rtol=0, atol=1e-4)
    assert all(w.is_contiguous() for w in weights)


def test_load_takes_the_settings(tmp_path: Any) -> None:
    directory = _model("cyclegan").save_pretrained(tmp_path / "m")
    loaded = stylezoo.load(directory, memory_format="contiguous")
    assert isinstance(loaded, ImageTranslator)
    assert loaded.memory_format == torch.contiguous_format
    with pytest.raises(InvalidOptionError, match="memory_format"):
        stylezoo.load(directory, memory_format="nhcw")
    with pytest.raises(InvalidOptionError, match="compile"):
        stylezoo.load(directory, compile="fastest")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("auto", torch.channels_last),
        (None, torch.channels_last),
        ("channels_last", torch.channels_last),
        ("NCHW", torch.contiguous_format),
        (torch.contiguous_format, torch.contiguous_format),
    ],
)
def test_resolve_memory_format(value: Any, expected: torch.memory_format) -> None:
    assert speed.resolve_memory_format(value) == expected


def test_resolve_compile() -> None:
    assert speed.resolve_compile(False) is None
    assert speed.resolve_compile(True) == "default"
    assert speed.resolve_compile("max-autotune") == "max-autotune"
    with pytest.raises(InvalidOptionError):
        speed.resolve_compile(1)


def test_cli_translate_takes_the_memory_format(tmp_path: Any) -> None:
    from PIL import Image

    from stylezoo.cli import main
    from stylezoo.testing import sample_rgb

    model = _model("cyclegan").save_pretrained(tmp_path / "m")
    image = tmp_path / "photo.png"
    Image.fromarray(sample_rgb(24, 28)).save(image)
    outputs = {}
    for layout in ("channels_last", "contiguous"):
        out = tmp_path / layout
        command = ["translate", str(model), str(image), "-o", str(out), "--device", "cpu"]
        assert main([*command, "--memory-format", layout]) == 0
        outputs[layout] = np.asarray(Image.open(out / "photo.png")).astype(int)
    assert outputs["channels_last"].shape == (24, 28, 3)
    assert np.abs(outputs["channels_last"] - outputs["contiguous"]).max() <= 1


# -- compile -------------------------------------------------------------------------------
def test_compile_keeps_the_class_and_weights_and_the_memory_estimate_stays_eager() -> None:
    translator = _model("cyclegan")
    keys = translator.networks["model"].state_dict().keys()
    speed.compile_networks(translator.networks, "default")  # lazy: nothing compiles yet
    network = translator.networks["model"]
    assert network._compiled_call_impl is not None
    assert network.state_dict().keys() == keys
    assert _on_meta(network)._compiled_call_impl is None


@pytest.mark.slow
def test_compiled_model_gives_the_eager_result() -> None:
    # A small graph: compile time grows with the number of layers, not their width.
    config = {"styles": 2, "channels": 8, "residual_blocks": 1}
    eager = stylezoo.create_model("multistyle", config, seed=0)
    compiled = stylezoo.create_model("multistyle", config, seed=0, compile=True)
    x = _batch("multistyle")
    torch.testing.assert_close(compiled(x, style=1), eager(x, style=1), atol=1e-4, rtol=0)
    assert compiled.networks["model"]._compiled_call_impl is not None


# -- CUDA ----------------------------------------------------------------------------------
def test_place_batch_casts_and_lays_out_in_one_step() -> None:
    x = torch.rand(1, 3, 8, 8)
    placed = speed.place_batch(x, torch.device("cpu"), torch.bfloat16, torch.channels_last)
    assert placed.dtype == torch.bfloat16
    assert placed.is_contiguous(memory_format=torch.channels_last)


@requires_gpu
def test_cuda_half_precision_channels_last() -> None:
    cpu = _model("cyclegan", memory_format="contiguous")
    gpu = _model("cyclegan", device="cuda", dtype="auto")
    assert gpu.dtype == torch.float16 and torch.backends.cudnn.benchmark
    x = _batch("cyclegan")
    out = gpu(x)  # a CPU batch: pinned, copied without blocking, handed back on the CPU
    assert out.device.type == "cpu" and out.is_contiguous()
    assert _psnr(out, cpu(x)) > 30
