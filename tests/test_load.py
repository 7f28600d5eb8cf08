"""Loading saved directories: devices, dtypes, strictness and every kind of broken directory."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

import stylezoo
from stylezoo.testing import random_translator, requires_gpu, sample_rgb


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    translator = random_translator("cyclegan", {"ngf": 8, "netG": "resnet_6blocks"})
    return translator.save_pretrained(tmp_path_factory.mktemp("models") / "small")


def copy_of(saved: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(saved, tmp_path / "copy"))


def test_loaded_translator_is_eval_without_gradients(saved: Path) -> None:
    translator = stylezoo.load(saved)
    network = translator.networks["model"]
    assert not network.training
    assert not any(p.requires_grad for p in network.parameters())
    assert translator.device.type == "cpu" and translator.dtype == torch.float32
    assert isinstance(translator, stylezoo.Translator)


def test_dtype_is_applied_at_load(saved: Path) -> None:
    translator = stylezoo.load(saved, dtype="bfloat16")
    assert all(p.dtype == torch.bfloat16 for p in translator.networks["model"].parameters())
    assert translator.translate(sample_rgb(20, 24)).shape == (20, 24, 3)


def test_device_auto_and_bad_devices(saved: Path) -> None:
    translator = stylezoo.load(saved, device="auto")
    expected = "cuda" if torch.cuda.is_available() else translator.device.type
    assert translator.device.type == expected
    if not torch.cuda.is_available():
        with pytest.raises(stylezoo.DeviceError, match="CUDA is not available"):
            stylezoo.load(saved, device="cuda")
    with pytest.raises(stylezoo.DeviceError, match="Unknown device"):
        stylezoo.load(saved, device="gpu0")
    with pytest.raises(stylezoo.DeviceError, match="Unknown dtype"):
        stylezoo.load(saved, dtype="int8")


@requires_gpu
def test_weights_load_straight_onto_cuda(saved: Path) -> None:
    translator = stylezoo.load(saved, device="cuda", dtype=torch.float16)
    assert translator.device.type == "cuda" and translator.dtype == torch.float16
    cpu = stylezoo.load(saved)
    image = sample_rgb(40, 48)
    diff = translator.translate(image).astype(int) - cpu.translate(image).astype(int)
    assert abs(diff).max() <= 3


def test_saved_directory_describes_itself(saved: Path) -> None:
    config = json.loads((saved / "config.json").read_text())
    assert config["family"] == "cyclegan"
    assert config["config"]["ngf"] == 8 and config["io"]["multiple"] == 4
    assert config["stylezoo_version"] == stylezoo.__version__
    card = (saved / "README.md").read_text()
    assert card.startswith("---\nlicense:") and "library_name: stylezoo" in card
    assert "pipeline_tag: image-to-image" in card


def test_missing_config(saved: Path, tmp_path: Path) -> None:
    directory = copy_of(saved, tmp_path)
    (directory / "config.json").unlink()
    with pytest.raises(stylezoo.InvalidModelDirectoryError, match="has no config.json"):
        stylezoo.load(directory)


def test_missing_weights(saved: Path, tmp_path: Path) -> None:
    directory = copy_of(saved, tmp_path)
    (directory / "model.safetensors").unlink()
    with pytest.raises(stylezoo.InvalidModelDirectoryError, match="has no model.safetensors"):
        stylezoo.load(directory)


def test_invalid_config_json(saved: Path, tmp_path: Path) -> None:
    directory = copy_of(saved, tmp_path)
    (directory / "config.json").write_text("{not json")
    with pytest.raises(stylezoo.InvalidModelDirectoryError, match="not a valid stylezoo config"):
        stylezoo.load(directory)


def test_truncated_weights(saved: Path, tmp_path: Path) -> None:
    directory = copy_of(saved, tmp_path)
    weights = directory / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:5000])
    with pytest.raises(stylezoo.WeightsError, match="not a readable safetensors file"):
        stylezoo.load(directory)


def test_non_safetensors_weights(saved: Path, tmp_path: Path) -> None:
    directory = copy_of(saved, tmp_path)
    torch.save({"model.1.weight": torch.zeros(1)}, directory / "model.safetensors")
    with pytest.raises(stylezoo.WeightsError, match="not a readable safetensors file"):
        stylezoo.load(directory)


def test_config_and_weights_disagree(saved: Path, tmp_path: Path) -> None:
    directory = copy_of(saved, tmp_path)
    config = json.loads((directory / "config.json").read_text())
    config["config"]["ngf"] = 16
    (directory / "config.json").write_text(json.dumps(config))
    with pytest.raises(stylezoo.WeightsError, match=r"shape mismatches \[model\.1\.weight"):
        stylezoo.load(directory)


def test_unknown_config_option(saved: Path, tmp_path: Path) -> None:
    directory = copy_of(saved, tmp_path)
    config = json.loads((directory / "config.json").read_text())
    config["config"]["wings"] = 2
    (directory / "config.json").write_text(json.dumps(config))
    with pytest.raises(stylezoo.InvalidOptionError, match=r"config option 'wings'\. Allowed: netG"):
        stylezoo.load(directory)


def test_paths_that_do_not_exist() -> None:
    with pytest.raises(stylezoo.InvalidModelDirectoryError, match="does not exist"):
        stylezoo.load("./no/such/model")
    with pytest.raises(stylezoo.UnknownModelError, match="Did you mean 'cyclegan/horse2zebra'"):
        stylezoo.load("cyclegan/hors2zebra")


def test_record_without_local_weights_says_what_to_do() -> None:
    with pytest.raises(
        stylezoo.WeightsNotAvailableError, match=r"stylezoo convert cyclegan/horse2zebra FILE"
    ):
        stylezoo.load("cyclegan/horse2zebra")


def test_save_pretrained_refuses_to_clobber(saved: Path, tmp_path: Path) -> None:
    translator = stylezoo.load(saved)
    target = tmp_path / "target"
    translator.save_pretrained(target)
    with pytest.raises(stylezoo.InvalidModelDirectoryError, match="not empty"):
        stylezoo.save_pretrained(translator, target)
    assert stylezoo.save_pretrained(translator, target, overwrite=True) == target
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_weights_of_another_family_name_both_families(tmp_path: Path) -> None:
    from test_cyclegan_convert import official_state_dict

    if "cut" not in stylezoo.plugins.families():
        pytest.skip("the cut plugin is not installed")
    checkpoint = tmp_path / "cyclegan.pth"
    torch.save(official_state_dict(n_blocks=9, ngf=64), checkpoint)
    with pytest.raises(stylezoo.WeightsError, match=r"belong to a 'cyclegan' model, not 'cut'"):
        stylezoo.convert("cut", checkpoint, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_saved_files_have_ordinary_permissions(saved: Path) -> None:
    import os
    import stat

    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(saved.stat().st_mode) == 0o777 & ~umask
    for path in saved.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) & 0o444 == 0o444 & ~umask, path.name


def test_model_card_shows_the_family_usage(tmp_path: Path) -> None:
    DEFAULT_USAGE = stylezoo.Family.usage_example

    cyclegan = random_translator("cyclegan", {"ngf": 8, "netG": "resnet_6blocks"})
    assert DEFAULT_USAGE in (cyclegan.save_pretrained(tmp_path / "c") / "README.md").read_text()
    if "adain" in stylezoo.plugins.families():
        adain = random_translator("adain")
        card = (adain.save_pretrained(tmp_path / "a") / "README.md").read_text()
        assert 'style="painting.jpg"' in card and DEFAULT_USAGE not in card


def test_auto_dtype_follows_the_device_and_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from stylezoo import devices

    assert isinstance(devices.cpu_has_native_bfloat16(), bool)  # reads /proc/cpuinfo flags
    monkeypatch.setattr(devices, "cpu_has_native_bfloat16", lambda: True)
    assert devices.resolve_dtype("auto") == torch.bfloat16
    assert devices.resolve_dtype("auto", torch.device("cuda", 0)) == torch.float16
    t = stylezoo.load("multistyle/android-26", dtype="auto")
    assert t.dtype == torch.bfloat16
    monkeypatch.setattr(devices, "cpu_has_native_bfloat16", lambda: False)
    assert devices.resolve_dtype("auto") == torch.float32
    assert t.to(dtype="auto").dtype == torch.float32
