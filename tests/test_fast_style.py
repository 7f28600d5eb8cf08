"""fast_style: contract, conversion parity with the official layout, records and bad inputs.

The reference forward pass below is written from the official TransformerNet with
``torch.nn.functional`` on the raw state dict; it deliberately does not import the plugin's model.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file

import stylezoo
from stylezoo.errors import CheckpointError, InvalidOptionError, WeightsError
from stylezoo.testing import FamilyContract, TranslatorContract, random_translator, sample_rgb

STYLES = ("candy", "mosaic", "rain_princess", "udnie")
ARCHIVE_URL = "https://www.dropbox.com/s/lrvwfehqdcxoza8/saved_models.zip?dl=1"

# (module, out, in, kernel) of every conv, in the official order
CONVS = [("conv1", 32, 3, 9), ("conv2", 64, 32, 3), ("conv3", 128, 64, 3)]
CONVS += [(f"res{n}.conv{c}", 128, 128, 3) for n in range(1, 6) for c in (1, 2)]
CONVS += [("deconv1", 64, 128, 3), ("deconv2", 32, 64, 3), ("deconv3", 3, 32, 9)]
NORMS = [("in1", 32), ("in2", 64), ("in3", 128)]
NORMS += [(f"res{n}.in{i}", 128) for n in range(1, 6) for i in (1, 2)]
NORMS += [("in4", 64), ("in5", 32)]


def official_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict laid out like ``saved_models/<style>.pth``, deprecated keys included.

    Weights are random but scaled so that activations stay well-conditioned and the final
    output spreads over [0, 255] (so clamping does not hide differences).
    """
    generator = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}

    def randn(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator)

    norms = dict(NORMS)
    order = ["conv1", "in1", "conv2", "in2", "conv3", "in3"]
    for n in range(1, 6):
        order += [f"res{n}.conv1", f"res{n}.in1", f"res{n}.conv2", f"res{n}.in2"]
    order += ["deconv1", "in4", "deconv2", "in5", "deconv3"]
    convs = {name: (out, inp, k) for name, out, inp, k in CONVS}
    for name in order:
        if name in convs:
            out, inp, k = convs[name]
            state[f"{name}.conv2d.weight"] = randn(out, inp, k, k) / (inp * k * k) ** 0.5
            state[f"{name}.conv2d.bias"] = 0.1 * randn(out)
        else:
            channels = norms[name]
            state[f"{name}.weight"] = 1 + 0.2 * randn(channels)
            state[f"{name}.bias"] = 0.2 * randn(channels)
            # PyTorch-0.3 leftovers: never used; values far from (0, 1) so that using them
            # would change the output
            state[f"{name}.running_mean"] = 5 + randn(channels)
            state[f"{name}.running_var"] = 3 + randn(channels).abs()
    state["deconv3.conv2d.weight"] *= 80.0
    state["deconv3.conv2d.bias"] = torch.full((3,), 127.5) + 10 * randn(3)
    return state


def reference_forward(state: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """The official TransformerNet: input and output on the 0–255 scale."""

    def conv(name: str, y: torch.Tensor, stride: int = 1) -> torch.Tensor:
        weight = state[f"{name}.conv2d.weight"]
        pad = weight.shape[-1] // 2
        y = F.pad(y, (pad, pad, pad, pad), mode="reflect")
        return F.conv2d(y, weight, state[f"{name}.conv2d.bias"], stride=stride)

    def norm(name: str, y: torch.Tensor) -> torch.Tensor:
        # affine InstanceNorm without running statistics: the file's running_* are ignored
        return F.instance_norm(
            y, weight=state[f"{name}.weight"], bias=state[f"{name}.bias"], eps=1e-5
        )

    def upsample(y: torch.Tensor) -> torch.Tensor:
        return F.interpolate(y, scale_factor=2, mode="nearest")

    y = F.relu(norm("in1", conv("conv1", x)))
    y = F.relu(norm("in2", conv("conv2", y, stride=2)))
    y = F.relu(norm("in3", conv("conv3", y, stride=2)))
    for n in range(1, 6):
        inner = F.relu(norm(f"res{n}.in1", conv(f"res{n}.conv1", y)))
        y = norm(f"res{n}.in2", conv(f"res{n}.conv2", inner)) + y
    y = F.relu(norm("in4", conv("deconv1", upsample(y))))
    y = F.relu(norm("in5", conv("deconv2", upsample(y))))
    return conv("deconv3", y)


@pytest.fixture(scope="module")
def official_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """An official-layout checkpoint in the legacy (non-zip) torch format, as upstream ships."""
    state = official_state_dict()
    path = tmp_path_factory.mktemp("official") / "candy.pth"
    torch.save(state, path, _use_new_zipfile_serialization=False)
    return path, state


# -- 1. contract --------------------------------------------------------------------------------


class TestFastStyleContract(FamilyContract, TranslatorContract):
    family = "fast_style"
    config = {}
    # The last conv's weights are scaled by 200 below, and batches and single images run
    # different channels-last conv kernels (float32 rounding ~1e-6): ~1e-4 here, 0.03 of an
    # 8-bit level.
    batch_atol = 3e-4

    @pytest.fixture
    def translator(self):  # type: ignore[no-untyped-def]
        translator = random_translator(self.family, self.config, seed=0)
        # PyTorch's default init gives outputs of about ±1 on a 0–255 scale, which the clamp
        # would turn into an almost black image; spread them over the range so the contract
        # compares real values rather than zeros.
        last = translator.networks["model"].deconv3.conv2d
        with torch.no_grad():
            last.weight.mul_(200.0)
            last.bias.fill_(127.5)
        return translator

    def test_outputs_are_not_flat(self, translator) -> None:  # type: ignore[no-untyped-def]
        out = np.asarray(translator.translate(sample_rgb(40, 48)), dtype=np.float32)
        assert out.std() > 20 and 0 < (out == 0).mean() + (out == 255).mean() < 0.5


# -- 2. conversion parity -----------------------------------------------------------------------


def test_convert_matches_reference_forward(official_file, tmp_path: Path) -> None:
    path, state = official_file
    out = stylezoo.convert("fast_style/candy", path, tmp_path / "candy")
    translator = stylezoo.load(out)
    # sides that are multiples of 4: the official output size is 4·ceil(H/4), ours is H
    batch = torch.rand(2, 3, 20, 28, generator=torch.Generator().manual_seed(1))
    ours = translator(batch)
    with torch.inference_mode():
        raw = reference_forward(state, batch * 255.0)
    expected = (raw / 255.0).clamp(0, 1)
    assert ours.shape == expected.shape == batch.shape
    # most values must lie inside (0, 1), or the clamp would hide a mismatch
    assert ((expected > 0) & (expected < 1)).float().mean() > 0.8
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=0)


def test_uint8_output_rounds_where_official_truncates(official_file, tmp_path: Path) -> None:
    path, state = official_file
    translator = stylezoo.load(stylezoo.convert("fast_style", path, tmp_path / "r"))
    image = sample_rgb(24, 32, seed=5)
    ours = translator.translate(image).astype(np.int16)
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float()
    with torch.inference_mode():
        raw = reference_forward(state, x)[0].permute(1, 2, 0).numpy()
    official = np.clip(raw, 0, 255).astype(np.uint8).astype(np.int16)  # clamp, truncate
    difference = ours - official
    assert set(np.unique(difference)) == {0, 1}  # documented: equal or one higher
    assert 0.3 < difference.mean() < 0.7  # rounding really happens (about half the values)


def test_convert_drops_exactly_the_deprecated_keys(official_file, tmp_path: Path) -> None:
    path, state = official_file
    out = stylezoo.convert("fast_style/mosaic", path, tmp_path / "mosaic")
    saved = load_file(str(out / "model.safetensors"))
    dropped = set(state) - set(saved)
    assert len(state) == 92 and len(saved) == 62 and len(dropped) == 30
    assert dropped == {f"{name}.running_{stat}" for name, _ in NORMS for stat in ("mean", "var")}
    for key, value in saved.items():
        assert torch.equal(value, state[key]), key
    config = json.loads((out / "config.json").read_text())
    assert config["family"] == "fast_style" and config["name"] == "fast_style/mosaic"
    assert config["license"] == "unknown" and config["config"] == {}
    assert config["io"]["range"] == [0.0, 255.0] and config["io"]["multiple"] == 4
    assert config["provenance"]["upstream"]["model"]["member"] == "saved_models/mosaic.pth"


def test_zip_format_checkpoint_converts_too(tmp_path: Path) -> None:
    # a .pth written by a recent torch is itself a zip: it must not be taken for the archive
    state = official_state_dict(seed=3)
    path = tmp_path / "new.pth"
    torch.save(state, path)
    assert zipfile.is_zipfile(path)
    translator = stylezoo.load(stylezoo.convert("fast_style", path, tmp_path / "out"))
    batch = torch.rand(1, 3, 16, 12, generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        expected = (reference_forward(state, batch * 255.0) / 255.0).clamp(0, 1)
    torch.testing.assert_close(translator(batch), expected, atol=1e-5, rtol=0)


def test_sizes_not_multiple_of_4_are_kept(official_file, tmp_path: Path) -> None:
    path, state = official_file
    translator = stylezoo.load(stylezoo.convert("fast_style", path, tmp_path / "m"))
    batch = torch.rand(1, 3, 18, 25, generator=torch.Generator().manual_seed(4))
    ours = translator(batch)
    assert ours.shape == batch.shape
    # the official code runs on the image as it is and returns 20×28; cropped, that is ours
    with torch.inference_mode():
        official = reference_forward(state, batch * 255.0) / 255.0
    assert official.shape[-2:] == (20, 28)
    torch.testing.assert_close(ours, official.clamp(0, 1)[..., :18, :25], atol=1e-5, rtol=0)
    # padding first (what stylezoo did before) gives other pixels at such sizes
    padded = F.pad(batch, (0, 3, 0, 2), mode="reflect")
    with torch.inference_mode():
        from_padded = (reference_forward(state, padded * 255.0) / 255.0).clamp(0, 1)
    assert (from_padded[..., :18, :25] - ours).abs().max() > 1e-3
    # images smaller than the network's 8-pixel minimum still work and keep their size
    tiny = translator.translate(sample_rgb(3, 5))
    assert tiny.shape == (3, 5, 3) and tiny.dtype == np.uint8
    assert translator.translate(Image.fromarray(sample_rgb(7, 4))).size == (4, 7)


# -- records ------------------------------------------------------------------------------------


def test_records_describe_the_four_official_styles() -> None:
    assert stylezoo.list_models("fast_style/*") == [f"fast_style/{s}" for s in STYLES]
    for style in STYLES:
        info = stylezoo.model_info(f"fast_style/{style}")
        assert info["family"] == "fast_style" and info["config"] == {}
        assert info["upstream"] == {
            "model": {"url": ARCHIVE_URL, "member": f"saved_models/{style}.pth"}
        }
        assert info["io"] == {
            "range": [0.0, 255.0],
            "multiple": 4,
            "min_size": 8,
            "channels": 3,
            "sizing": "native",
        }
        assert info["license"] == "unknown" and info["paper"] == "arXiv:1603.08155"
        assert info["homepage"] and info["description"] and style in info["tags"]
        assert not info["hub"]


# -- 3. bad inputs ------------------------------------------------------------------------------


def test_download_archive_is_refused_with_advice(official_file, tmp_path: Path) -> None:
    path, _ = official_file
    archive = tmp_path / "saved_models.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for style in STYLES:
            handle.write(path, f"saved_models/{style}.pth")
    with pytest.raises(CheckpointError, match=r"saved_models/candy\.pth.*Extract"):
        stylezoo.convert("fast_style/candy", archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_only_the_unused_norm_statistics_are_dropped(tmp_path: Path) -> None:
    # Statistics of the InstanceNorms (which keep none) are dropped, num_batches_tracked
    # included; any other extra key is reported by name and nothing is written.
    state = official_state_dict()
    state["in1.num_batches_tracked"] = torch.tensor(0)
    path = tmp_path / "extra.pth"
    torch.save(state, path, _use_new_zipfile_serialization=False)
    stylezoo.convert("fast_style", path, tmp_path / "ok")
    state["conv1.conv2d.running_mean"] = torch.zeros(32)
    torch.save(state, path, _use_new_zipfile_serialization=False)
    with pytest.raises(WeightsError, match=r"unexpected keys \[conv1\.conv2d\.running_mean\]"):
        stylezoo.convert("fast_style", path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_other_architecture_is_refused_naming_keys(tmp_path: Path) -> None:
    # e.g. a CycleGAN generator, or a file with a layer missing
    state = official_state_dict()
    del state["deconv3.conv2d.bias"]
    state["model.1.weight"] = torch.zeros(64, 3, 7, 7)
    path = tmp_path / "other.pth"
    torch.save(state, path, _use_new_zipfile_serialization=False)
    with pytest.raises(
        WeightsError,
        match=r"missing keys \[deconv3\.conv2d\.bias\].*"
        r"unexpected keys \[model\.1\.weight\]",
    ):
        stylezoo.convert("fast_style", path, tmp_path / "out")


def test_wrong_shapes_are_refused(tmp_path: Path) -> None:
    state = official_state_dict()
    state["conv1.conv2d.weight"] = torch.zeros(16, 3, 9, 9)
    path = tmp_path / "narrow.pth"
    torch.save(state, path)
    with pytest.raises(WeightsError, match=r"conv1\.conv2d\.weight: file \(16, 3, 9, 9\)"):
        stylezoo.convert("fast_style", path, tmp_path / "out")


def test_unreadable_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "candy.pth"
    path.write_bytes(b"<html>Dropbox sign-in page</html>")
    with pytest.raises(CheckpointError, match="could not be read"):
        stylezoo.convert("fast_style/candy", path, tmp_path / "out")


def test_config_and_options_are_refused() -> None:
    # TransformerNet has no build options and the translator has no options (the official
    # --content-scale is a resize the caller does; see docs/families/fast_style.md)
    with pytest.raises(InvalidOptionError, match="'ngf'. Allowed: none"):
        random_translator("fast_style", {"ngf": 8})
    translator = random_translator("fast_style")
    with pytest.raises(InvalidOptionError, match="'content_scale'. Allowed: none"):
        translator.translate(sample_rgb(16, 16), content_scale=2)
    with pytest.raises(InvalidOptionError, match="content_scale"):
        translator(torch.rand(1, 3, 16, 16), content_scale=2)
