"""ImageTranslator mechanics that families build on: options, padding and ``source``."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import stylezoo
from stylezoo import Family, hookimpl
from stylezoo.translator import ImageTranslator


class Recorder(ImageTranslator):
    """Returns its input; remembers what forward received."""

    seen: dict = {}

    def forward(
        self, x: torch.Tensor, *, gain: float = 1.0, source: torch.Tensor | None = None
    ) -> torch.Tensor:
        Recorder.seen = {"x": x.clone(), "source": None if source is None else source.clone()}
        return x * gain


class RecorderFamily:
    default_config = {"channels": 3}
    default_io = {"range": [-1.0, 1.0], "multiple": 8, "min_size": 8, "channels": 3}

    def io_for(self, config):
        return {"channels": config["channels"]}

    def build(self, config):
        return {"model": nn.Identity(), "unused": nn.Conv2d(1, 1, 1)}

    def translator(self, networks, spec):
        return Recorder(networks, spec)


class RecorderPlugin:
    @hookimpl
    def register_families(self, register):
        register(
            Family(name="recorder", implementation=RecorderFamily(), roles=("model", "unused"))
        )


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


def test_source_is_not_a_user_option(recorder) -> None:
    with pytest.raises(stylezoo.InvalidOptionError, match=r"\[.source.\]; its options: gain\."):
        recorder(torch.rand(1, 3, 8, 8), source=torch.rand(1, 3, 8, 8))
    doubled = recorder(torch.full((1, 3, 8, 8), 0.75), gain=2.0)
    assert torch.equal(doubled, torch.ones(1, 3, 8, 8))  # (0.5 * 2 + 1) / 2 = 1, clamped


def test_io_for_follows_the_config(fresh_plugins) -> None:
    stylezoo.plugin_manager().register(RecorderPlugin(), name="recorder")
    assert stylezoo.create_model("recorder", {"channels": 1}).spec.io.channels == 1
