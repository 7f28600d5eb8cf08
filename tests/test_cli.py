"""The stylezoo command: list, info, plugins, convert, translate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from stylezoo.cli import main
from stylezoo.testing import random_translator, sample_rgb


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    translator = random_translator("cyclegan", {"ngf": 8, "netG": "resnet_6blocks"})
    return translator.save_pretrained(tmp_path_factory.mktemp("m") / "small")


def test_list_and_info(capsys) -> None:
    assert main(["list", "cyclegan/*zebra*"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == ["cyclegan/horse2zebra", "cyclegan/zebra2horse"]
    assert main(["info", "cyclegan/horse2zebra"]) == 0
    assert json.loads(capsys.readouterr().out)["family"] == "cyclegan"
    assert main(["info", "cyclegan/hors2zebra"]) == 2
    assert "Did you mean 'cyclegan/horse2zebra'" in capsys.readouterr().err


def test_console_script_is_installed() -> None:
    result = subprocess.run(
        [Path(sys.executable).with_name("stylezoo"), "list", "--json", "horse"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "cyclegan/horse2zebra" in json.loads(result.stdout)


def test_convert_with_settings(tmp_path: Path, capsys) -> None:
    from stylezoo_plugins.cyclegan.model import ResnetGenerator

    checkpoint = tmp_path / "g.pth"
    torch.save(ResnetGenerator(ngf=8, n_blocks=6).state_dict(), checkpoint)
    out = tmp_path / "converted"
    code = main(
        [
            "convert",
            "cyclegan",
            str(checkpoint),
            "-o",
            str(out),
            "--set",
            "ngf=8",
            "--set",
            "netG=resnet_6blocks",
        ]
    )
    assert code == 0 and Path(capsys.readouterr().out.strip()) == out
    assert json.loads((out / "config.json").read_text())["config"]["ngf"] == 8
    assert main(["convert", "cyclegan", str(checkpoint), "-o", str(tmp_path / "bad")]) == 2
    assert "shape mismatches" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_translate_files_and_folders(model_dir: Path, tmp_path: Path, capsys) -> None:
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    Image.fromarray(sample_rgb(30, 41)).save(src / "a.png")
    Image.fromarray(sample_rgb(33, 20)).save(src / "sub" / "b.jpg")
    Image.fromarray(sample_rgb(30, 41)).convert("L").save(src / "gray.png")
    (src / "broken.png").write_bytes(b"garbage")
    (src / "notes.txt").write_text("not an image, ignored")
    out = tmp_path / "out"
    code = main(["translate", str(model_dir), str(src), "-o", str(out), "--device", "cpu", "-q"])
    assert code == 1  # one bad file: reported, the rest written
    err = capsys.readouterr().err
    assert "1 of 4 image(s) failed" in err and "broken.png" in err
    assert Image.open(out / "a.png").size == (41, 30)
    assert Image.open(out / "sub" / "b.jpg").size == (20, 33)
    assert Image.open(out / "gray.png").mode == "L"
    assert not (out / "broken.png").exists()
    assert sorted(p.name for p in out.rglob("*")) == ["a.png", "b.jpg", "gray.png", "sub"]


def test_translate_never_overwrites_inputs(model_dir: Path, tmp_path: Path, capsys) -> None:
    image = tmp_path / "photo.png"
    Image.fromarray(sample_rgb(20, 20)).save(image)
    before = image.read_bytes()
    assert main(["translate", str(model_dir), str(image), "-o", str(tmp_path)]) == 1
    assert "would overwrite an input" in capsys.readouterr().err
    assert image.read_bytes() == before


def test_translate_bfloat16_and_options(model_dir: Path, tmp_path: Path, capsys) -> None:
    image = tmp_path / "photo.png"
    Image.fromarray(sample_rgb(24, 24)).save(image)
    out = tmp_path / "out"
    assert (
        main(
            [
                "translate",
                str(model_dir),
                str(image),
                "-o",
                str(out),
                "--dtype",
                "bfloat16",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.strip() == str(out / "photo.png")
    assert np.asarray(Image.open(out / "photo.png")).shape == (24, 24, 3)
    assert (
        main(["translate", str(model_dir), str(image), "-o", str(out), "--option", "alpha=0.5"])
        == 2
    )
    assert "Unknown cyclegan option 'alpha'. Allowed: none" in capsys.readouterr().err


def test_translate_missing_input(model_dir: Path, tmp_path: Path, capsys) -> None:
    assert (
        main(["translate", str(model_dir), str(tmp_path / "nope.png"), "-o", str(tmp_path / "o")])
        == 1
    )
    assert "does not exist" in capsys.readouterr().err


def test_list_marks_models_that_need_no_download(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert lines["multistyle/android-26"].endswith("[offline: weights installed]")
    assert lines["arbitrary/magenta"].endswith("[offline: weights installed]")
    assert "[offline" not in lines["cyclegan/horse2zebra"]
