"""Official CycleGAN checkpoints convert and give the official network's outputs.

The reference forward pass below is written from the formats document with functional ops
on the raw state dict; it shares no code with the plugin.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import stylezoo

IN_LAYERS = [2, 5, 8, 20, 23]


def official_state_dict(n_blocks: int = 9, ngf: int = 64, seed: int = 0) -> dict[str, torch.Tensor]:
    """Keys, order and shapes of an official pretrained generator file, legacy IN keys included."""
    g = torch.Generator().manual_seed(seed)

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g) * 0.05

    def legacy_in(prefix: str, channels: int) -> dict[str, torch.Tensor]:
        return {
            f"{prefix}.running_mean": torch.rand(channels, generator=g),
            f"{prefix}.running_var": torch.rand(channels, generator=g) + 0.5,
            f"{prefix}.num_batches_tracked": torch.tensor(123, dtype=torch.int64),
        }

    sd: dict[str, torch.Tensor] = {}
    sd |= {"model.1.weight": rand(ngf, 3, 7, 7), "model.1.bias": rand(ngf)}
    sd |= legacy_in("model.2", ngf)
    sd |= {"model.4.weight": rand(2 * ngf, ngf, 3, 3), "model.4.bias": rand(2 * ngf)}
    sd |= legacy_in("model.5", 2 * ngf)
    sd |= {"model.7.weight": rand(4 * ngf, 2 * ngf, 3, 3), "model.7.bias": rand(4 * ngf)}
    sd |= legacy_in("model.8", 4 * ngf)
    for b in range(10, 10 + n_blocks):
        for conv, norm in ((1, 2), (5, 6)):
            sd |= {
                f"model.{b}.conv_block.{conv}.weight": rand(4 * ngf, 4 * ngf, 3, 3),
                f"model.{b}.conv_block.{conv}.bias": rand(4 * ngf),
            }
            sd |= legacy_in(f"model.{b}.conv_block.{norm}", 4 * ngf)
    up = 10 + n_blocks
    sd |= {f"model.{up}.weight": rand(4 * ngf, 2 * ngf, 3, 3), f"model.{up}.bias": rand(2 * ngf)}
    sd |= legacy_in(f"model.{up + 1}", 2 * ngf)
    sd |= {f"model.{up + 3}.weight": rand(2 * ngf, ngf, 3, 3), f"model.{up + 3}.bias": rand(ngf)}
    sd |= legacy_in(f"model.{up + 4}", ngf)
    sd |= {f"model.{up + 7}.weight": rand(3, ngf, 7, 7), f"model.{up + 7}.bias": rand(3)}
    return sd


def reference_forward(
    sd: dict[str, torch.Tensor], x: torch.Tensor, n_blocks: int = 9
) -> torch.Tensor:
    """The official ResnetGenerator (instance norm, no dropout) in functional form; x in [-1,1]."""

    def norm(t: torch.Tensor) -> torch.Tensor:
        return F.instance_norm(t, eps=1e-5)

    h = F.conv2d(F.pad(x, (3, 3, 3, 3), mode="reflect"), sd["model.1.weight"], sd["model.1.bias"])
    h = F.relu(norm(h))
    for i in (4, 7):  # stride-2 downsampling, zero padding 1
        h = F.relu(
            norm(F.conv2d(h, sd[f"model.{i}.weight"], sd[f"model.{i}.bias"], stride=2, padding=1))
        )
    for b in range(10, 10 + n_blocks):
        p = f"model.{b}.conv_block"
        r = F.conv2d(F.pad(h, (1, 1, 1, 1), mode="reflect"), sd[f"{p}.1.weight"], sd[f"{p}.1.bias"])
        r = F.relu(norm(r))
        r = F.conv2d(F.pad(r, (1, 1, 1, 1), mode="reflect"), sd[f"{p}.5.weight"], sd[f"{p}.5.bias"])
        h = h + norm(r)
    up = 10 + n_blocks
    for i in (up, up + 3):
        h = F.conv_transpose2d(
            h, sd[f"model.{i}.weight"], sd[f"model.{i}.bias"], stride=2, padding=1, output_padding=1
        )
        h = F.relu(norm(h))
    h = F.conv2d(
        F.pad(h, (3, 3, 3, 3), mode="reflect"),
        sd[f"model.{up + 7}.weight"],
        sd[f"model.{up + 7}.bias"],
    )
    return torch.tanh(h)


@pytest.fixture(scope="module")
def official_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    sd = official_state_dict()
    path = tmp_path_factory.mktemp("official") / "horse2zebra.pth"
    torch.save(sd, path, _use_new_zipfile_serialization=False)  # 2017-era legacy format
    return path, sd


def test_official_layout_has_documented_key_counts(official_file: tuple[Path, dict]) -> None:
    _, sd = official_file
    assert len(sd) == 48 + 69
    params = sum(v.numel() for k, v in sd.items() if k.endswith(("weight", "bias")))
    assert params == 11_378_179


def test_converted_official_checkpoint_matches_reference(official_file, tmp_path: Path) -> None:
    path, sd = official_file
    out = stylezoo.convert("cyclegan/horse2zebra", path, tmp_path / "h2z")
    config = json.loads((out / "config.json").read_text())
    assert config["family"] == "cyclegan" and config["name"] == "cyclegan/horse2zebra"
    sha = config["provenance"]["converted_from"]["model"]["sha256"]
    assert len(sha) == 64
    # NCHW float32: the reference's own kernels, to float rounding.
    translator = stylezoo.load(out, memory_format="contiguous")
    torch.manual_seed(1)
    x = torch.rand(2, 3, 32, 40)
    with torch.no_grad():
        expected = ((reference_forward(sd, x * 2 - 1) + 1) / 2).clamp(0, 1)
    torch.testing.assert_close(translator(x), expected, atol=1e-5, rtol=0)
    # The default runs channels-last convolutions, which round differently (by ~1e-5).
    torch.testing.assert_close(stylezoo.load(out)(x), expected, atol=5e-5, rtol=0)


def test_zip_format_checkpoint_converts_too(official_file, tmp_path: Path) -> None:
    _, sd = official_file
    path = tmp_path / "new.pth"
    torch.save(sd, path)
    translator = stylezoo.load(stylezoo.convert("cyclegan", path, tmp_path / "out"))
    assert translator.spec.config["netG"] == "resnet_9blocks"


def test_dataparallel_prefix_is_stripped(official_file, tmp_path: Path) -> None:
    _, sd = official_file
    path = tmp_path / "dp.pth"
    torch.save({f"module.{k}": v for k, v in sd.items()}, path)
    assert stylezoo.load(stylezoo.convert("cyclegan", path, tmp_path / "out")) is not None


def test_wrong_architecture_lists_keys_and_writes_nothing(official_file, tmp_path: Path) -> None:
    _, sd = official_file
    path = tmp_path / "six.pth"
    torch.save(sd, path)
    out = tmp_path / "out"
    with pytest.raises(stylezoo.WeightsError, match=r"unexpected keys \[model\.16"):
        stylezoo.convert("cyclegan", path, out, config={"netG": "resnet_6blocks"})
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["six.pth"]


def test_dropout_config_reports_shifted_keys(official_file, tmp_path: Path) -> None:
    _, sd = official_file
    path = tmp_path / "g.pth"
    torch.save(sd, path)
    with pytest.raises(stylezoo.WeightsError, match=r"conv_block\.6\.weight"):
        stylezoo.convert("cyclegan", path, tmp_path / "out", config={"use_dropout": True})


def test_missing_keys_are_listed(official_file, tmp_path: Path) -> None:
    _, sd = official_file
    partial = {k: v for k, v in sd.items() if not k.startswith("model.26")}
    path = tmp_path / "partial.pth"
    torch.save(partial, path)
    with pytest.raises(stylezoo.WeightsError, match=r"missing keys \[model\.26\.weight"):
        stylezoo.convert("cyclegan", path, tmp_path / "out")


def test_non_checkpoint_files_are_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(stylezoo.CheckpointError, match="junk.pth"):
        stylezoo.convert("cyclegan", junk, tmp_path / "out")
    with pytest.raises(stylezoo.CheckpointError, match="does not exist"):
        stylezoo.convert("cyclegan", tmp_path / "missing.pth", tmp_path / "out")


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_pickled_objects_are_never_executed(tmp_path: Path) -> None:
    import pickle

    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (Path.touch, (marker,))

    path = tmp_path / "evil.pth"
    with open(path, "wb") as handle:
        pickle.dump({"model.1.weight": Exploit()}, handle)
    with pytest.raises(stylezoo.CheckpointError):
        stylezoo.convert("cyclegan", path, tmp_path / "out")
    assert not marker.exists()


def test_existing_output_is_not_overwritten(official_file, tmp_path: Path) -> None:
    path, _ = official_file
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(stylezoo.InvalidModelDirectoryError, match="not empty"):
        stylezoo.convert("cyclegan", path, out)
    assert (out / "keep.txt").read_text() == "mine"
    stylezoo.convert("cyclegan", path, out, overwrite=True)
    assert not (out / "keep.txt").exists() and (out / "model.safetensors").is_file()
