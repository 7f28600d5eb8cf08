"""device_map: one device, "auto", or a device per role for multi-network families, tested
with a toy two-network family registered in-process."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import stylezoo
from stylezoo.device_map import place_roles
from stylezoo.testing import InProcessPlugin, requires_gpu, sample_rgb
from stylezoo.translator import ImageTranslator


class TwoNetworkTranslator(ImageTranslator):
    def forward(self, x: torch.Tensor, *, source: torch.Tensor) -> torch.Tensor:
        return self.run("decoder", self.run("encoder", x))


class TwoNetworkFamily(stylezoo.Family):
    name = "twonet"
    roles = ("encoder", "decoder")
    config = {"width": stylezoo.Option(4, "channels between the networks", minimum=1)}
    io = {"range": [0.0, 1.0]}

    def build(self, config: dict) -> dict[str, nn.Module]:
        return {
            "encoder": nn.Conv2d(3, config["width"], 1),
            "decoder": nn.Sequential(nn.Conv2d(config["width"], 3, 1), nn.Sigmoid()),
        }

    def translator(
        self, networks: dict[str, nn.Module], spec: stylezoo.ModelSpec
    ) -> TwoNetworkTranslator:
        return TwoNetworkTranslator(networks, spec)


@pytest.fixture
def saved(fresh_plugins: object, tmp_path: Path) -> Path:
    stylezoo.plugin_manager().register(InProcessPlugin(families=[TwoNetworkFamily()]))
    return stylezoo.create_model("twonet", seed=0).save_pretrained(tmp_path / "twonet")


def devices(translator: stylezoo.Translator) -> dict[str, torch.device]:
    return {role: next(net.parameters()).device for role, net in translator.networks.items()}


def test_dict_device_map_places_each_role(saved: Path) -> None:
    translator = stylezoo.load(
        saved, device_map={"encoder": "cpu", "decoder": "cpu"}, dtype="bfloat16"
    )
    assert devices(translator) == {"encoder": torch.device("cpu"), "decoder": torch.device("cpu")}
    assert all(p.dtype == torch.bfloat16 for p in translator.networks["decoder"].parameters())
    reference = stylezoo.load(saved)
    image = sample_rgb(16, 20)
    assert (
        abs(translator.translate(image).astype(int) - reference.translate(image).astype(int)).max()
        <= 3
    )


def test_roles_left_out_go_to_device_and_bad_maps_are_explained(saved: Path) -> None:
    assert devices(stylezoo.load(saved, device_map={"decoder": "cpu"}, device="cpu")) == {
        "encoder": torch.device("cpu"),
        "decoder": torch.device("cpu"),
    }
    with pytest.raises(stylezoo.InvalidOptionError, match=r"role\(s\) \['vgg'\].*'encoder'"):
        stylezoo.load(saved, device_map={"vgg": "cpu"})
    with pytest.raises(stylezoo.InvalidOptionError, match="either device"):
        stylezoo.load(saved, device="cpu", device_map="cpu")
    with pytest.raises(stylezoo.DeviceError, match="Unknown device"):
        stylezoo.load(saved, device_map={"encoder": "gpu0"})


def test_single_device_and_auto(saved: Path) -> None:
    assert set(devices(stylezoo.load(saved, device_map="cpu")).values()) == {torch.device("cpu")}
    files = {"encoder": saved / "encoder.safetensors", "decoder": saved / "decoder.safetensors"}
    placement = place_roles(files, device_map="auto")
    expected = "cuda" if torch.cuda.is_available() else placement["encoder"].type
    assert {d.type for d in placement.values()} == {expected}
    if torch.cuda.device_count() >= 2:
        assert placement["encoder"] != placement["decoder"]  # spread over two GPUs


def test_run_moves_inputs_to_the_network(saved: Path) -> None:
    translator = stylezoo.load(saved, dtype="bfloat16")
    out = translator.run("encoder", torch.rand(1, 3, 4, 4, dtype=torch.float64))
    assert out.dtype == torch.bfloat16 and out.shape == (1, 4, 4, 4)


@requires_gpu
def test_encoder_on_cpu_decoder_on_cuda(saved: Path) -> None:
    translator = stylezoo.load(saved, device_map={"encoder": "cpu", "decoder": "cuda"})
    assert devices(translator)["encoder"].type == "cpu"
    assert devices(translator)["decoder"].type == "cuda"
    image = sample_rgb(16, 20)
    reference = stylezoo.load(saved).translate(image).astype(int)
    assert abs(translator.translate(image).astype(int) - reference).max() <= 2
