"""CUT / FastCUT: contract, official-file conversion against an independent forward, bad inputs.

The reference forward below is written from the official architecture with
``torch.nn.functional`` only; it does not import the plugin's model. Its blur-pool is a
stride-1 blur subsampled by 2 and its blur up-sampler is a zero-stuffed conv, so it does not
share the plugin's formulation either.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import stylezoo
from stylezoo.testing import FamilyContract, TranslatorContract, random_translator

ARCHIVE = "http://efrosgans.eecs.berkeley.edu/CUT/pretrained_models.tar"
RECORDS = {
    "cut/horse2zebra": "horse2zebra_cut_pretrained",
    "cut/horse2zebra-fastcut": "horse2zebra_fastcut_pretrained",
    "cut/cat2dog": "cat2dog_cut_pretrained",
    "cut/cat2dog-fastcut": "cat2dog_fastcut_pretrained",
    "cut/cityscapes-label2photo": "cityscapes_cut_pretrained",
    "cut/cityscapes-label2photo-fastcut": "cityscapes_fastcut_pretrained",
}
DOCS = Path(__file__).resolve().parents[1] / "docs" / "families" / "cut.md"

# The official filters: blur-pool [1,2,1]⊗[1,2,1]/16; up-sampler [1,3,3,1]⊗[1,3,3,1]/64·4.
DOWN_FILTER = torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 16
UP_FILTER = (
    torch.tensor(
        [[1.0, 3.0, 3.0, 1.0], [3.0, 9.0, 9.0, 3.0], [3.0, 9.0, 9.0, 3.0], [1.0, 3.0, 3.0, 1.0]]
    )
    / 64
    * 4
)


class TestCUTContract(FamilyContract, TranslatorContract):
    family = "cut"
    config = {"ngf": 8, "netG": "resnet_6blocks"}


# -- an official-layout checkpoint, built without the plugin --------------------------------


def official_state_dict(ngf: int = 64, n_blocks: int = 9, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random weights under the official keys and shapes, filt buffers holding the constants."""
    generator = torch.Generator().manual_seed(seed)

    def conv(out_channels: int, in_channels: int, size: int) -> dict[str, torch.Tensor]:
        std = (in_channels * size * size) ** -0.5
        return {
            "weight": torch.randn(out_channels, in_channels, size, size, generator=generator) * std,
            "bias": torch.randn(out_channels, generator=generator) * 0.1,
        }

    layers: list[tuple[str, dict[str, torch.Tensor]]] = [
        ("model.1", conv(ngf, 3, 7)),
        ("model.4", conv(2 * ngf, ngf, 3)),
        ("model.7", {"filt": DOWN_FILTER.repeat(2 * ngf, 1, 1, 1)}),
        ("model.8", conv(4 * ngf, 2 * ngf, 3)),
        ("model.11", {"filt": DOWN_FILTER.repeat(4 * ngf, 1, 1, 1)}),
    ]
    for block in range(12, 12 + n_blocks):
        for index in (1, 5):
            layers.append((f"model.{block}.conv_block.{index}", conv(4 * ngf, 4 * ngf, 3)))
    up = 12 + n_blocks
    layers += [
        (f"model.{up}", {"filt": UP_FILTER.repeat(4 * ngf, 1, 1, 1)}),
        (f"model.{up + 1}", conv(2 * ngf, 4 * ngf, 3)),
        (f"model.{up + 4}", {"filt": UP_FILTER.repeat(2 * ngf, 1, 1, 1)}),
        (f"model.{up + 5}", conv(ngf, 2 * ngf, 3)),
        (f"model.{up + 9}", conv(3, ngf, 7)),
    ]
    return {
        f"{prefix}.{leaf}": tensor for prefix, params in layers for leaf, tensor in params.items()
    }


def save_legacy(state: dict[str, torch.Tensor], path: Path) -> Path:
    # torch 1.4-era files (environment.yml pins it) are legacy, non-zip pickles
    torch.save(state, path, _use_new_zipfile_serialization=False)
    return path


# -- the independent reference forward ------------------------------------------------------


def reference_blur_down(x: torch.Tensor) -> torch.Tensor:
    channels = x.shape[1]
    blurred = F.conv2d(
        F.pad(x, (1, 1, 1, 1), mode="reflect"),
        DOWN_FILTER.expand(channels, 1, 3, 3),
        groups=channels,
    )
    return blurred[:, :, ::2, ::2]  # a stride-2 conv is the stride-1 conv subsampled


def reference_blur_up(x: torch.Tensor) -> torch.Tensor:
    channels = x.shape[1]
    x = F.pad(x, (1, 1, 1, 1), mode="replicate")
    n, _, height, width = x.shape
    stuffed = x.new_zeros(n, channels, 2 * height - 1, 2 * width - 1)
    stuffed[:, :, ::2, ::2] = x
    # conv_transpose(stride 2, padding 2, k 4) = conv of the zero-stuffed input with the
    # flipped kernel and padding k - 1 - 2 = 1
    kernel = UP_FILTER.flip(-1, -2).expand(channels, 1, 4, 4)
    full = F.conv2d(F.pad(stuffed, (1, 1, 1, 1)), kernel, groups=channels)  # 2H + 2
    return full[:, :, 1:-1, 1:-1]


def reference_generator(
    state: dict[str, torch.Tensor], x: torch.Tensor, n_blocks: int
) -> torch.Tensor:
    def conv(h: torch.Tensor, prefix: str, padding: int = 0) -> torch.Tensor:
        return F.conv2d(h, state[f"{prefix}.weight"], state[f"{prefix}.bias"], padding=padding)

    def norm_relu(h: torch.Tensor) -> torch.Tensor:
        return F.relu(F.instance_norm(h, eps=1e-5))

    def reflect(h: torch.Tensor, amount: int) -> torch.Tensor:
        return F.pad(h, (amount,) * 4, mode="reflect")

    h = norm_relu(conv(reflect(x, 3), "model.1"))
    h = reference_blur_down(norm_relu(conv(h, "model.4", padding=1)))
    h = reference_blur_down(norm_relu(conv(h, "model.8", padding=1)))
    for block in range(12, 12 + n_blocks):
        r = norm_relu(conv(reflect(h, 1), f"model.{block}.conv_block.1"))
        h = h + F.instance_norm(conv(reflect(r, 1), f"model.{block}.conv_block.5"), eps=1e-5)
    up = 12 + n_blocks
    h = norm_relu(conv(reference_blur_up(h), f"model.{up + 1}", padding=1))
    h = norm_relu(conv(reference_blur_up(h), f"model.{up + 5}", padding=1))
    return torch.tanh(conv(reflect(h, 3), f"model.{up + 9}"))


# -- conversion -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def official_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A full-size (ngf 64, 9 blocks) official-layout latest_net_G.pth, legacy format."""
    state = official_state_dict()
    path = tmp_path_factory.mktemp("official") / "latest_net_G.pth"
    return save_legacy(state, path), state


def test_official_layout_has_the_documented_keys(official_file: tuple[Path, dict]) -> None:
    family = stylezoo.get_family("cut")
    _, state = official_file
    assert len(state) == 52
    with torch.device("meta"):
        network = family.build_networks(family.complete_config({}))["model"]
    built = network.state_dict()
    assert {k: tuple(v.shape) for k, v in built.items()} == {
        k: tuple(v.shape) for k, v in state.items()
    }
    assert sum(p.numel() for p in network.parameters()) == 11_378_179
    # the filters are persistent buffers, not parameters
    assert {k for k in built if k.endswith(".filt")} == {
        "model.7.filt",
        "model.11.filt",
        "model.21.filt",
        "model.25.filt",
    }
    assert not any(name.endswith("filt") for name, _ in network.named_parameters())


def test_convert_official_file_matches_reference(
    official_file: tuple[Path, dict], tmp_path: Path
) -> None:
    path, state = official_file
    out = stylezoo.convert("cut", path, tmp_path / "converted")
    translator = stylezoo.load(out)
    assert translator.spec.family == "cut" and translator.spec.io.multiple == 4
    batch = torch.rand(2, 3, 16, 24, generator=torch.Generator().manual_seed(1))
    result = translator(batch)
    expected = ((reference_generator(state, batch * 2 - 1, 9) + 1) / 2).clamp(0, 1)
    torch.testing.assert_close(result, expected, atol=1e-5, rtol=0)
    # the fixed filters travel into the safetensors file unchanged
    saved = translator.state_dicts()["model"]
    assert torch.equal(saved["model.21.filt"], state["model.21.filt"])


def test_convert_by_record_name_keeps_provenance(
    official_file: tuple[Path, dict], tmp_path: Path
) -> None:
    path, _ = official_file
    out = stylezoo.convert("cut/cityscapes-label2photo-fastcut", path, tmp_path / "city")
    spec = stylezoo.load(out).spec
    assert spec.name == "cut/cityscapes-label2photo-fastcut"
    assert spec.license == "unknown" and spec.paper == "arXiv:2007.15651"
    assert spec.provenance["upstream"]["model"] == {
        "url": ARCHIVE,
        "member": "checkpoints/cityscapes_fastcut_pretrained/latest_net_G.pth",
    }


SMALL = {"ngf": 4, "netG": "resnet_6blocks"}


@pytest.mark.parametrize("key", ["model.7.filt", "model.11.filt", "model.18.filt", "model.22.filt"])
def test_convert_rejects_altered_filters(key: str, tmp_path: Path) -> None:
    state = official_state_dict(ngf=4, n_blocks=6)
    state[key] = state[key].clone()
    state[key][1, 0, 0, 0] += 1e-3
    path = save_legacy(state, tmp_path / "latest_net_G.pth")
    with pytest.raises(stylezoo.CheckpointError, match=key.replace(".", r"\.")):
        stylezoo.convert("cut", path, tmp_path / "out", config=SMALL)
    assert not (tmp_path / "out").exists()


def test_convert_accepts_small_official_layout(tmp_path: Path) -> None:
    state = official_state_dict(ngf=4, n_blocks=6, seed=3)
    path = save_legacy(state, tmp_path / "latest_net_G.pth")
    translator = stylezoo.load(stylezoo.convert("cut", path, tmp_path / "out", config=SMALL))
    batch = torch.rand(1, 3, 12, 8, generator=torch.Generator().manual_seed(2))
    expected = ((reference_generator(state, batch * 2 - 1, 6) + 1) / 2).clamp(0, 1)
    torch.testing.assert_close(translator(batch), expected, atol=1e-5, rtol=0)


def test_convert_with_wrong_config_names_the_keys(tmp_path: Path) -> None:
    path = save_legacy(official_state_dict(ngf=4, n_blocks=6), tmp_path / "latest_net_G.pth")
    # the file has 6 blocks; the default config expects 9
    with pytest.raises(
        stylezoo.WeightsError,
        match=r"missing keys \[model\.18\.conv_block"
        r".*unexpected keys \[model\.18\.filt",
    ):
        stylezoo.convert("cut", path, tmp_path / "out", config={"ngf": 4})
    assert not (tmp_path / "out").exists()


def test_both_switches_give_the_cyclegan_layout(tmp_path: Path) -> None:
    config = {"ngf": 4, "netG": "resnet_6blocks"}
    cyclegan = random_translator("cyclegan", config, seed=5)
    path = save_legacy(cyclegan.state_dicts()["model"], tmp_path / "cyclegan_G.pth")
    out = stylezoo.convert(
        "cut",
        path,
        tmp_path / "out",
        config={**config, "no_antialias": True, "no_antialias_up": True},
    )
    batch = torch.rand(1, 3, 16, 20, generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(stylezoo.load(out)(batch), cyclegan(batch), atol=1e-6, rtol=0)


@pytest.mark.parametrize(
    ("no_antialias", "no_antialias_up", "filters"),
    [
        (True, False, ["model.19.filt", "model.23.filt"]),
        (False, True, ["model.7.filt", "model.11.filt"]),
    ],
)
def test_mixed_antialias_switches(
    no_antialias: bool, no_antialias_up: bool, filters: list[str]
) -> None:
    translator = random_translator(
        "cut", {"ngf": 4, "no_antialias": no_antialias, "no_antialias_up": no_antialias_up}
    )
    keys = translator.state_dicts()["model"]
    assert {k for k in keys if k.endswith("filt")} == set(filters)
    batch = torch.rand(1, 3, 12, 20)
    assert translator(batch).shape == batch.shape


# -- bad inputs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"netG": "unet_256"}, "netG"),
        ({"netG": "resnet_4blocks"}, "resnet_9blocks"),
        ({"norm": "group"}, "norm"),
        ({"ngf": 0}, "ngf"),
        ({"ngf": "64"}, "ngf"),
        ({"no_antialias": "yes"}, "no_antialias"),
        ({"no_antialias_up": 1}, "no_antialias_up"),
        ({"n_blocks": 9}, "n_blocks"),
    ],
)
def test_invalid_config_is_rejected(config: dict, message: str) -> None:
    with pytest.raises(stylezoo.InvalidOptionError, match=message):
        random_translator("cut", config)


def test_min_size_is_the_smallest_that_runs() -> None:
    translator = random_translator("cut", {"ngf": 4, "netG": "resnet_6blocks"})
    assert translator.spec.io.min_size == 8
    network = translator.networks["model"]
    with torch.inference_mode():
        assert network(torch.zeros(1, 3, 8, 8)).shape == (1, 3, 8, 8)
        with pytest.raises((RuntimeError, ValueError)):
            network(torch.zeros(1, 3, 4, 4))  # 1×1 at the bottleneck: reflection pad fails
    # smaller images are reflect-padded up to min_size and cropped back
    assert translator(torch.rand(1, 3, 3, 5)).shape == (1, 3, 3, 5)


# -- records and docs -----------------------------------------------------------------------


def test_records() -> None:
    assert stylezoo.list_models("cut/*") == sorted(RECORDS)
    docs = DOCS.read_text(encoding="utf-8")
    for name, experiment in RECORDS.items():
        info = stylezoo.model_info(name)
        assert info["upstream"] == {
            "model": {"url": ARCHIVE, "member": f"checkpoints/{experiment}/latest_net_G.pth"}
        }
        assert info["license"] == "unknown" and info["paper"] == "arXiv:2007.15651"
        assert info["config"] == {
            "netG": "resnet_9blocks",
            "ngf": 64,
            "norm": "instance",
            "use_dropout": False,
            "no_antialias": False,
            "no_antialias_up": False,
        }
        assert ("fastcut" in info["tags"]) == name.endswith("-fastcut")
        assert f"`{name}`" in docs
        if "cityscapes" in name:
            assert "BtoA" in info["description"]
