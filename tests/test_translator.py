"""ImageTranslator mechanics that families build on: options, padding, sizing and ``source``."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import stylezoo
from stylezoo import Family, Option, hookimpl
from stylezoo.translator import ImageTranslator


class Recorder(ImageTranslator):
    """Returns its input; remembers what forward received."""

    seen: dict = {}
    options = {"gain": Option(1.0, "multiplies the output")}

    def forward(self, x: torch.Tensor, *, source: torch.Tensor, gain: float) -> torch.Tensor:
        Recorder.seen = {"x": x.clone(), "source": source.clone(), "gain": gain}
        return x * gain


class Grower(ImageTranslator):
    """Like a network with ceil-mode pooling: returns a larger output than its input."""

    seen: dict = {}

    def forward(self, x: torch.Tensor, *, source: torch.Tensor) -> torch.Tensor:
        Grower.seen = {"x": x.clone()}
        return nn.functional.pad(x, (0, 3, 0, 5), value=9.0)


class RecorderFamily(Family):
    name = "recorder"
    roles = ("model", "unused")
    config = {"channels": Option(3, "input channels", minimum=1)}
    io = {"range": [-1.0, 1.0], "multiple": 8, "min_size": 8, "channels": 3}

    def io_for(self, config):
        return {"channels": config["channels"]}

    def build(self, config):
        return {"model": nn.Identity(), "unused": nn.Conv2d(1, 1, 1)}

    def translator(self, networks, spec):
        return Recorder(networks, spec)


class GrowerFamily(Family):
    name = "grower"
    io = {"range": [0.0, 1.0], "multiple": 8, "min_size": 6, "sizing": "native"}

    def build(self, config):
        return {"model": nn.Conv2d(3, 3, 1)}

    def translator(self, networks, spec):
        return Grower(networks, spec)


class RecorderPlugin:
    @hookimpl
    def register_families(self, register):
        register(RecorderFamily())
        register(GrowerFamily())


@pytest.fixture
def recorder(fresh_plugins):
    stylezoo.plugin_manager().register(RecorderPlugin(), name="recorder")
    return stylezoo.create_model("recorder", dtype="bfloat16")


def test_forward_sees_padded_network_range_and_source_sees_the_input(recorder) -> None:
    batch = torch.rand(1, 3, 5, 11, dtype=torch.float64)
    out = recorder(batch)
    x, source = Recorder.seen["x"], Recorder.seen["source"]
    assert x.shape == (1, 3, 8, 16) and x.dtype == torch.bfloat16
    assert source.shape == (1, 3, 5, 11) and source.dtype == torch.float32
    torch.testing.assert_close(source, (batch * 2 - 1).float())
    assert out.shape == batch.shape and out.dtype == torch.float64
    assert float((out - batch).abs().max()) < 1e-2  # identity up to bfloat16 rounding
    assert Recorder.seen["gain"] == 1.0  # declared default filled in


def test_source_is_not_a_user_option(recorder) -> None:
    with pytest.raises(stylezoo.InvalidOptionError, match=r"'source'\. Allowed: gain \(a number\)"):
        recorder(torch.rand(1, 3, 8, 8), source=torch.rand(1, 3, 8, 8))
    doubled = recorder(torch.full((1, 3, 8, 8), 0.75), gain=2)
    assert torch.equal(doubled, torch.ones(1, 3, 8, 8))  # (0.5 * 2 + 1) / 2 = 1, clamped
    assert Recorder.seen["gain"] == 2.0 and isinstance(Recorder.seen["gain"], float)


def test_mistyped_option_names_the_option_and_type(recorder) -> None:
    with pytest.raises(
        stylezoo.InvalidOptionError, match=r"'gain' must be a number, got 'x' \(str\)"
    ):
        recorder(torch.rand(1, 3, 8, 8), gain="x")


def test_native_sizing_runs_unpadded_and_crops_a_larger_output(fresh_plugins) -> None:
    stylezoo.plugin_manager().register(RecorderPlugin(), name="recorder")
    grower = stylezoo.create_model("grower")
    batch = torch.rand(2, 3, 13, 17)
    out = grower(batch)
    assert Grower.seen["x"].shape == (2, 3, 13, 17)  # not padded to a multiple of 8
    torch.testing.assert_close(out, batch)  # the extra rows and columns are cropped away
    grower(torch.rand(1, 3, 4, 7))  # below min_size: padded up to it, as with "pad"
    assert Grower.seen["x"].shape == (1, 3, 6, 7)


def test_io_for_follows_the_config(fresh_plugins) -> None:
    stylezoo.plugin_manager().register(RecorderPlugin(), name="recorder")
    assert stylezoo.create_model("recorder", {"channels": 1}).spec.io.channels == 1


def test_build_must_return_the_declared_roles(fresh_plugins) -> None:
    class WrongRoles(RecorderFamily):
        name = "wrongroles"
        roles = ("model",)

    class Plugin:
        @hookimpl
        def register_families(self, register):
            register(WrongRoles())

    stylezoo.plugin_manager().register(Plugin(), name="wrong")
    with pytest.raises(stylezoo.StylezooError, match=r"declares roles \['model'\]"):
        stylezoo.create_model("wrongroles")
