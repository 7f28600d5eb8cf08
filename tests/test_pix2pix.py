"""pix2pix: contract, official-layout conversion parity in all three test-time modes, key table,
records and bad input.

The references below are written from the official architecture with ``torch.nn.functional`` on
the raw state dict (they do not import the plugin). One fact to note: the official block applies
its LeakyReLU(0.2) *in place* to its own input and then concatenates that same tensor, so the
skip half of every concat carries LeakyReLU(x) (visible in the traced graph in
lanpa/tensorboardX#215). ``test_matches_official_module_structure`` rebuilds the official module
structure with in-place activations to pin that down independently.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import stylezoo
from stylezoo.testing import FamilyContract, TranslatorContract, random_translator

NUM_DOWNS = {"unet_256": 8, "unet_128": 7}


# -- contract -------------------------------------------------------------------------------


class TestPix2PixContract(FamilyContract, TranslatorContract):
    family = "pix2pix"
    config = {"ngf": 4}


class TestPix2PixSeededDropoutContract(TranslatorContract):
    family = "pix2pix"
    config = {"ngf": 4, "netG": "unet_128"}
    options = {"dropout": True, "seed": 7}


class TestPix2PixInstanceNormContract(TranslatorContract):
    family = "pix2pix"
    config = {"ngf": 4, "netG": "unet_128", "norm": "instance"}


# -- the official state-dict layout ----------------------------------------------------------


def level_prefix(level: int) -> str:
    """P_1 = model.model.1, P_{L+1} = P_L + .model.3."""
    return "model.model.1" + ".model.3" * (level - 1)


def level_channels(level: int, ngf: int) -> tuple[int, int]:
    """(outer, inner) channels of intermediate/innermost level L (1-based)."""
    return {1: (ngf, 2 * ngf), 2: (2 * ngf, 4 * ngf), 3: (4 * ngf, 8 * ngf)}.get(
        level, (8 * ngf, 8 * ngf)
    )


def official_shapes(
    ngf: int = 64, netG: str = "unet_256", norm: str = "batch", nc: int = 3
) -> dict[str, tuple[int, ...]]:
    """Every key of an official generator file and its shape (BN counters have shape ())."""
    innermost = NUM_DOWNS[netG] - 1
    bias = norm == "instance"
    shapes: dict[str, tuple[int, ...]] = {}

    def conv(key: str, shape: tuple[int, ...]) -> None:
        shapes[f"{key}.weight"] = shape
        if bias:
            shapes[f"{key}.bias"] = (shape[1] if "up" in key else shape[0],)

    def bn(key: str, channels: int) -> None:
        if norm == "batch":
            for leaf in ("weight", "bias", "running_mean", "running_var"):
                shapes[f"{key}.{leaf}"] = (channels,)
            shapes[f"{key}.num_batches_tracked"] = ()

    shapes["model.model.0.weight"] = (ngf, nc, 4, 4)
    if bias:
        shapes["model.model.0.bias"] = (ngf,)
    for level in range(1, innermost + 1):
        prefix = level_prefix(level)
        outer, inner = level_channels(level, ngf)
        if level < innermost:
            conv(f"{prefix}.model.1", (inner, outer, 4, 4))
            bn(f"{prefix}.model.2", inner)
            shapes[f"{prefix}.model.5.weight"] = (2 * inner, outer, 4, 4)
            if bias:
                shapes[f"{prefix}.model.5.bias"] = (outer,)
            bn(f"{prefix}.model.6", outer)
        else:
            conv(f"{prefix}.model.1", (inner, outer, 4, 4))
            shapes[f"{prefix}.model.3.weight"] = (inner, outer, 4, 4)
            if bias:
                shapes[f"{prefix}.model.3.bias"] = (outer,)
            bn(f"{prefix}.model.4", outer)
    shapes["model.model.3.weight"] = (2 * ngf, nc, 4, 4)
    shapes["model.model.3.bias"] = (nc,)
    return shapes


def official_state_dict(
    ngf: int,
    netG: str = "unet_256",
    norm: str = "batch",
    seed: int = 0,
    legacy_instance_stats: bool = False,
) -> dict[str, torch.Tensor]:
    """Random weights in the official layout; scales keep tanh mostly unsaturated."""
    generator = torch.Generator().manual_seed(seed)

    def randn(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator)

    state: dict[str, torch.Tensor] = {}
    for key, shape in official_shapes(ngf, netG, norm).items():
        leaf = key.rsplit(".", 1)[1]
        if leaf == "num_batches_tracked":
            state[key] = torch.tensor(1234, dtype=torch.long)
        elif leaf == "running_mean":
            state[key] = 0.3 * randn(*shape)
        elif leaf == "running_var":
            state[key] = 0.5 + torch.rand(*shape, generator=generator)
        elif len(shape) == 4:  # conv / conv-transpose weights
            fan_in = (
                shape[1] * 16
                if key.endswith(("model.0.weight", "model.1.weight"))
                else shape[0] * 4
            )
            state[key] = randn(*shape) / fan_in**0.5
        elif leaf == "weight":  # BN gamma
            state[key] = 1 + 0.2 * randn(*shape)
        else:
            state[key] = 0.2 * randn(*shape)
    if legacy_instance_stats:  # old files of --norm instance models carry unused IN buffers
        for level in range(1, NUM_DOWNS[netG]):
            prefix = level_prefix(level)
            owners = (
                (".model.2", level_channels(level, ngf)[1]),
                (".model.6", level_channels(level, ngf)[0]),
            )
            if level == NUM_DOWNS[netG] - 1:
                owners = ((".model.4", level_channels(level, ngf)[0]),)
            for suffix, channels in owners:
                state[f"{prefix}{suffix}.running_mean"] = randn(channels)
                state[f"{prefix}{suffix}.running_var"] = torch.rand(channels) + 0.5
                state[f"{prefix}{suffix}.num_batches_tracked"] = torch.tensor(7)
    return state


def reference_generator(
    sd: dict[str, torch.Tensor],
    image: torch.Tensor,
    *,
    netG: str,
    norm: str = "batch",
    mode: str = "train",
    dropout: bool = False,
) -> torch.Tensor:
    """The official generator on ONE image (1×C×H×W in [-1, 1]), functional.

    mode "train": BN with this image's statistics (train mode, batch of one), "eval": running
    statistics. dropout: F.dropout(p=0.5) on the output of levels 4…innermost-1, drawn when
    the level's inner part has returned (so the deepest level draws first).
    """
    assert image.shape[0] == 1
    innermost = NUM_DOWNS[netG] - 1
    has_bias = norm == "instance"

    def normalise(key: str, h: torch.Tensor) -> torch.Tensor:
        if norm == "instance":
            return F.instance_norm(h, eps=1e-5)
        if norm == "none":
            return h
        weight, bias = sd[f"{key}.weight"], sd[f"{key}.bias"]
        if mode == "eval":
            return F.batch_norm(
                h,
                sd[f"{key}.running_mean"],
                sd[f"{key}.running_var"],
                weight,
                bias,
                training=False,
                eps=1e-5,
            )
        return F.batch_norm(h, None, None, weight, bias, training=True, eps=1e-5)

    def bias_of(key: str) -> torch.Tensor | None:
        return sd[f"{key}.bias"] if has_bias else None

    def level(index: int, h: torch.Tensor) -> torch.Tensor:
        p = level_prefix(index)
        skip = F.leaky_relu(h, 0.2)  # in place upstream: the skip is the activated input
        down = F.conv2d(
            skip, sd[f"{p}.model.1.weight"], bias_of(f"{p}.model.1"), stride=2, padding=1
        )
        if index == innermost:
            up_key, norm_key = f"{p}.model.3", f"{p}.model.4"
            inner = down
        else:
            up_key, norm_key = f"{p}.model.5", f"{p}.model.6"
            inner = level(index + 1, normalise(f"{p}.model.2", down))
        up = F.conv_transpose2d(
            F.relu(inner), sd[f"{up_key}.weight"], bias_of(up_key), stride=2, padding=1
        )
        up = normalise(norm_key, up)
        if dropout and 4 <= index < innermost:
            up = F.dropout(up, 0.5, training=True)
        return torch.cat([skip, up], 1)

    down = F.conv2d(
        image, sd["model.model.0.weight"], bias_of("model.model.0"), stride=2, padding=1
    )
    out = F.conv_transpose2d(
        F.relu(level(1, down)),
        sd["model.model.3.weight"],
        sd["model.model.3.bias"],
        stride=2,
        padding=1,
    )
    return torch.tanh(out)


def reference(
    sd: dict[str, torch.Tensor],
    batch: torch.Tensor,
    *,
    netG: str = "unet_256",
    seed: int | None = None,
    **kwargs: object,
) -> torch.Tensor:
    """[0, 1] batch → [0, 1] batch, one image at a time, like the official test (batch 1).

    With a seed, each image runs right after torch.manual_seed(seed).
    """
    outputs = []
    with torch.no_grad():
        for image in batch:
            if seed is not None:
                torch.manual_seed(seed)
            y = reference_generator(sd, image[None] * 2 - 1, netG=netG, **kwargs)
            outputs.append(((y + 1) / 2).clamp(0, 1))
    return torch.cat(outputs)


def pad_reflect(batch: torch.Tensor, multiple: int) -> torch.Tensor:
    h, w = batch.shape[-2:]
    return F.pad(batch, (0, -w % multiple, 0, -h % multiple), mode="reflect")


# -- fixtures -------------------------------------------------------------------------------

NGF = 4


@pytest.fixture(scope="module")
def official(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, torch.Tensor], Path]:
    """A small official-layout unet_256 batch-norm file in the legacy torch format."""
    sd = official_state_dict(NGF)
    path = tmp_path_factory.mktemp("official") / "latest_net_G.pth"
    torch.save(sd, path, _use_new_zipfile_serialization=False)
    return sd, path


@pytest.fixture(scope="module")
def converted(
    official: tuple[dict[str, torch.Tensor], Path], tmp_path_factory: pytest.TempPathFactory
) -> stylezoo.Translator:
    _, path = official
    out = stylezoo.convert(
        "pix2pix", path, tmp_path_factory.mktemp("conv") / "p2p", config={"ngf": NGF}
    )
    return stylezoo.load(out)


def images(count: int = 2, size: tuple[int, int] = (256, 256), seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    base = torch.rand(count, 3, size[0] // 8, size[1] // 8, generator=generator)
    smooth = F.interpolate(base, size=size, mode="bilinear", align_corners=False)
    return (smooth + 0.05 * torch.rand(count, 3, *size, generator=generator)).clamp(0, 1)


# -- parity ---------------------------------------------------------------------------------


def test_default_is_per_image_batch_stats_without_dropout(official, converted) -> None:
    sd, _ = official
    x = images(2)
    x[1] = x[1] * 0.3 + 0.6  # very different statistics: sharing them would show
    out = converted(x)
    expected = reference(sd, x, mode="train", dropout=False)
    assert float(expected.std()) > 0.05  # a meaningful, non-saturated output
    # 3e-5: the default channels-last kernels round differently from the NCHW reference
    # (an 8-bit level is 7.8e-3 in [-1, 1])
    torch.testing.assert_close(out, expected, atol=3e-5, rtol=0)
    # deterministic, and batch composition does not matter
    torch.testing.assert_close(converted(x[1:]), expected[1:], atol=3e-5, rtol=0)
    assert torch.equal(converted(x), out)


def test_non_multiple_sizes_are_reflect_padded_and_cropped(official, converted) -> None:
    sd, _ = official
    x = images(1, (200, 300), seed=3)
    out = converted(x)
    assert out.shape == x.shape
    expected = reference(sd, pad_reflect(x, 256), mode="train")[..., :200, :300]
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


def test_seeded_dropout_reproduces_the_official_draws(official, converted) -> None:
    sd, _ = official
    x = images(2, seed=1)
    out = converted(x, dropout=True, seed=123)
    expected = reference(sd, x, seed=123, mode="train", dropout=True)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)
    # the masks really act, and depend on the seed
    assert float((out - converted(x)).abs().max()) > 0.05
    assert float((out - converted(x, dropout=True, seed=124)).abs().max()) > 0.05
    assert torch.equal(converted(x, dropout=True, seed=123), out)
    # masks are drawn on NCHW-contiguous tensors whatever the input layout
    channels_last = x.contiguous(memory_format=torch.channels_last)
    assert torch.equal(converted(channels_last, dropout=True, seed=123), out)


def test_seeded_dropout_restores_the_global_generator(converted) -> None:
    torch.manual_seed(5)
    before = torch.get_rng_state()
    converted(images(1), dropout=True, seed=9)
    assert torch.equal(torch.get_rng_state(), before)


def test_unseeded_dropout_draws_from_the_global_generator(official, converted) -> None:
    sd, _ = official
    x = images(2, seed=2)
    torch.manual_seed(77)
    seeded_state = torch.get_rng_state()
    out = converted(x, dropout=True)
    assert not torch.equal(torch.get_rng_state(), seeded_state)  # the stream advanced
    # serial images continue one stream, as in the official test loop after one seed
    torch.manual_seed(77)
    expected = reference(sd, x, mode="train", dropout=True)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


def test_batch_stats_false_is_eval_mode(official, converted) -> None:
    sd, _ = official
    x = images(2, seed=4)
    out = converted(x, batch_stats=False)
    expected = reference(sd, x, mode="eval")
    assert float((expected - reference(sd, x, mode="train")).abs().max()) > 0.05
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


def test_running_stats_are_never_updated(official, converted, tmp_path: Path) -> None:
    sd, _ = official
    x = images(1, seed=5)
    converted(x)
    converted(x, dropout=True, seed=1)
    converted.translate(x[0], dropout=True)
    state = converted.state_dicts()["model"]
    assert state.keys() == sd.keys()
    for key, value in sd.items():
        assert torch.equal(state[key], value), key
    from safetensors.torch import load_file

    saved = load_file(str(converted.save_pretrained(tmp_path / "saved") / "model.safetensors"))
    for key, value in sd.items():
        assert torch.equal(saved[key], value), key


def test_matches_official_module_structure(official, converted) -> None:
    """The official block structure (in-place activations, train mode, nn.Dropout), rebuilt
    as modules and run right after torch.manual_seed like the README test."""
    sd, _ = official

    class Block(nn.Module):
        def __init__(self, layers: list[nn.Module], outermost: bool) -> None:
            super().__init__()
            self.model, self.outermost = nn.Sequential(*layers), outermost

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)

    def convs(i: int, o: int) -> tuple[nn.Conv2d, nn.ConvTranspose2d]:
        return (nn.Conv2d(i, o, 4, 2, 1, bias=False), nn.ConvTranspose2d(o, i, 4, 2, 1, bias=False))

    outer, inner = level_channels(7, NGF)
    down, up = convs(outer, inner)
    block = Block([nn.LeakyReLU(0.2, True), down, nn.ReLU(True), up, nn.BatchNorm2d(outer)], False)
    for level in range(6, 0, -1):
        outer, inner = level_channels(level, NGF)
        down, _ = convs(outer, inner)
        up = nn.ConvTranspose2d(2 * inner, outer, 4, 2, 1, bias=False)
        layers = [
            nn.LeakyReLU(0.2, True),
            down,
            nn.BatchNorm2d(inner),
            block,
            nn.ReLU(True),
            up,
            nn.BatchNorm2d(outer),
        ]
        block = Block(layers + ([nn.Dropout(0.5)] if level >= 4 else []), False)
    network = nn.Module()
    network.model = Block(
        [
            nn.Conv2d(3, NGF, 4, 2, 1, bias=False),
            block,
            nn.ReLU(True),
            nn.ConvTranspose2d(2 * NGF, 3, 4, 2, 1),
            nn.Tanh(),
        ],
        True,
    )
    network.load_state_dict(sd, strict=True)
    network.train()
    x = images(1, seed=6)
    torch.manual_seed(42)
    with torch.no_grad():
        official_out = ((network.model(x * 2 - 1) + 1) / 2).clamp(0, 1)
    torch.testing.assert_close(converted(x, dropout=True, seed=42), official_out, atol=1e-5, rtol=0)
    # the official test overwrites the running stats in memory; ours stay as loaded
    assert not torch.equal(
        network.state_dict()["model.model.1.model.2.running_mean"],
        sd["model.model.1.model.2.running_mean"],
    )


def test_unet_128_pads_to_128_only(tmp_path: Path) -> None:
    sd = official_state_dict(NGF, "unet_128", seed=8)
    path = tmp_path / "unet128.pth"
    torch.save(sd, path, _use_new_zipfile_serialization=False)
    out = stylezoo.convert(
        "pix2pix", path, tmp_path / "out", config={"ngf": NGF, "netG": "unet_128"}
    )
    saved_io = json.loads((out / "config.json").read_text())["io"]
    assert saved_io["multiple"] == 128 and saved_io["min_size"] == 128
    t = stylezoo.load(out)
    assert t.spec.io.multiple == 128
    x = images(1, (128, 200), seed=9)
    expected = reference(sd, pad_reflect(x, 128), netG="unet_128")[..., :128, :200]
    torch.testing.assert_close(t(x), expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("norm", ["instance", "none"])
def test_instance_and_no_norm_files(tmp_path: Path, norm: str) -> None:
    """Instance-norm files of old PyTorch carry unused IN buffers: dropped, as upstream does."""
    sd = official_state_dict(
        NGF, "unet_128", norm, seed=10, legacy_instance_stats=norm == "instance"
    )
    path = tmp_path / "file.pth"
    torch.save(sd, path, _use_new_zipfile_serialization=False)
    t = stylezoo.load(
        stylezoo.convert(
            "pix2pix", path, tmp_path / "out", config={"ngf": NGF, "netG": "unet_128", "norm": norm}
        )
    )
    kept = t.state_dicts()["model"]
    assert kept.keys() == official_shapes(NGF, "unet_128", norm).keys()
    x = images(1, (128, 128), seed=11)
    expected = reference(sd, x, netG="unet_128", norm=norm)
    assert float(expected.std()) > 0.02
    torch.testing.assert_close(t(x), expected, atol=1e-5, rtol=0)
    # --eval has no effect without batch norm, so neither has batch_stats=False
    torch.testing.assert_close(t(x, batch_stats=False), expected, atol=1e-5, rtol=0)


def test_file_without_bn_counters_converts(official, converted, tmp_path: Path) -> None:
    sd, _ = official
    old = {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}
    path = tmp_path / "old.pth"
    torch.save(old, path, _use_new_zipfile_serialization=False)
    t = stylezoo.load(stylezoo.convert("pix2pix", path, tmp_path / "out", config={"ngf": NGF}))
    counters = {
        k: v for k, v in t.state_dicts()["model"].items() if k.endswith("num_batches_tracked")
    }
    assert len(counters) == 13 and all(int(v) == 0 for v in counters.values())
    x = images(1, seed=12)
    assert torch.equal(t(x), converted(x))


def test_record_conversion_carries_metadata(official, tmp_path: Path) -> None:
    _, path = official
    out = stylezoo.convert(
        "pix2pix/facades_label2photo", path, tmp_path / "facades", config={"ngf": NGF}
    )
    t = stylezoo.load(out)
    assert t.spec.name == "pix2pix/facades_label2photo"
    assert t.spec.license == "unknown" and t.spec.paper == "arXiv:1611.07004"
    assert dict(t.spec.config) == {
        "netG": "unet_256",
        "ngf": NGF,
        "norm": "batch",
        "use_dropout": True,
        "input_nc": 3,
        "output_nc": 3,
    }


# -- full-size key table --------------------------------------------------------------------


def _meta_network(**config: object) -> nn.Module:
    family = stylezoo.get_family("pix2pix")
    with torch.device("meta"):
        return family.build_networks(family.complete_config(config))["model"]


def test_full_size_key_table() -> None:
    network = _meta_network()
    state = network.state_dict()
    expected = official_shapes(64)
    assert len(state) == len(expected) == 82
    assert {k: tuple(v.shape) for k, v in state.items()} == expected
    assert sum(p.numel() for p in network.parameters()) == 54_413_955
    assert "model.model.0.bias" not in state  # outermost down-conv: no bias under batch norm
    assert "model.model.1.model.3.model.3.model.3.model.3.model.3.model.1.bias" not in state


@pytest.mark.parametrize(
    ("netG", "norm", "count"),
    [("unet_128", "batch", 70), ("unet_256", "instance", 32), ("unet_256", "none", 17)],
)
def test_other_key_tables(netG: str, norm: str, count: int) -> None:
    state = _meta_network(netG=netG, norm=norm).state_dict()
    expected = official_shapes(64, netG, "batch" if norm == "batch" else norm)
    assert len(state) == count
    assert {k: tuple(v.shape) for k, v in state.items()} == expected


# -- records --------------------------------------------------------------------------------


def test_records() -> None:
    names = stylezoo.list_models("pix2pix/*")
    variants = ["day2night", "edges2shoes", "facades_label2photo", "map2sat", "sat2map"]
    assert names == [f"pix2pix/{v}" for v in variants]
    for variant in variants:
        info = stylezoo.model_info(f"pix2pix/{variant}")
        assert info["upstream"]["model"]["url"] == (
            f"http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/{variant}.pth"
        )
        assert info["config"] == {
            "netG": "unet_256",
            "ngf": 64,
            "norm": "batch",
            "use_dropout": True,
            "input_nc": 3,
            "output_nc": 3,
        }
        assert info["license"] == "unknown" and info["paper"] == "arXiv:1611.07004"
        assert "hub" not in info or not info["hub"]


# -- bad input ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small() -> stylezoo.Translator:
    return random_translator("pix2pix", {"ngf": 4, "netG": "unet_128"})


@pytest.mark.parametrize("options", [{"seed": 3}, {"seed": 3, "dropout": False}])
def test_seed_without_dropout_is_an_error(small, options: dict) -> None:
    with pytest.raises(stylezoo.InvalidOptionError, match="dropout=True"):
        small.translate(images(1, (32, 32))[0], **options)
    with pytest.raises(stylezoo.InvalidOptionError, match="dropout=True"):
        small(images(1, (32, 32)), **options)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"dropout": True, "seed": 1.5}, "'seed' must be an integer.*got 1.5"),
        ({"dropout": True, "seed": "7"}, "must be an integer"),
        ({"dropout": True, "seed": True}, "must be an integer"),
        ({"dropout": True, "seed": 2**64}, r"'seed' must be an integer in \[-9223372036854775808"),
        ({"dropout": "yes"}, "'dropout' must be True or False, got 'yes'"),
        ({"batch_stats": 0}, "'batch_stats' must be True or False, got 0"),
    ],
)
def test_bad_option_values(small, options: dict, match: str) -> None:
    with pytest.raises(stylezoo.InvalidOptionError, match=match):
        small(images(1, (32, 32)), **options)


def test_large_and_negative_seeds_work_as_in_torch(small) -> None:
    x = images(1, (64, 64))
    for seed in (2**64 - 1, -5):
        torch.manual_seed(seed)
        first = small(x, dropout=True)
        assert torch.equal(small(x, dropout=True, seed=seed), first)


def test_dropout_on_a_model_without_dropout_layers() -> None:
    t = random_translator("pix2pix", {"ngf": 4, "netG": "unet_128", "use_dropout": False})
    with pytest.raises(stylezoo.InvalidOptionError, match="use_dropout"):
        t(images(1, (32, 32)), dropout=True)


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"netG": "unet_64"}, "unet_64"),
        ({"norm": "group"}, "group"),
        ({"ngf": 0}, "ngf"),
        ({"use_dropout": "no"}, "use_dropout"),
    ],
)
def test_bad_configs(config: dict, match: str) -> None:
    with pytest.raises(stylezoo.InvalidOptionError, match=match):
        random_translator("pix2pix", {"ngf": 4, **config})


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"ngf": 8}, "shape mismatches"),
        ({"ngf": NGF, "norm": "instance"}, "missing keys"),
        ({"ngf": NGF, "netG": "unet_128"}, "unexpected keys"),
    ],
)
def test_wrong_config_for_the_file_names_the_keys(
    official, tmp_path: Path, config: dict, match: str
) -> None:
    _, path = official
    with pytest.raises(stylezoo.WeightsError, match=match):
        stylezoo.convert("pix2pix", path, tmp_path / "out", config=config)
    assert not (tmp_path / "out").exists()
