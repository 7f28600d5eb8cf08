"""The plugin system: entry points, in-process plugins, failure isolation, conflicts."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import stylezoo
from stylezoo import Family, Record, hookimpl
from stylezoo.cli import main as cli_main
from stylezoo.registry import tomllib

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "plugin-tutorial" / "stylezoo-negative"


def fake_distribution(root: Path, name: str, entry_points: dict[str, str]) -> None:
    """An installed-distribution stand-in: a dist-info folder with entry_points.txt."""
    info = root / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    lines = "".join(f"{k} = {v}\n" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[stylezoo]\n{lines}")


def test_builtin_plugins_are_declared_as_entry_points() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"][
        "stylezoo"
    ]
    folders = {p.parent.name for p in (ROOT / "plugins").glob("*/__init__.py")}
    assert set(declared) == folders
    assert all(target == f"stylezoo_plugins.{name}" for name, target in declared.items())


def test_every_hook_is_documented() -> None:
    from stylezoo import hookspecs

    specs = {
        name
        for name in dir(hookspecs)
        if name.startswith("register_") and callable(getattr(hookspecs, name))
    }
    assert specs == {"register_families", "register_records"}
    documented = set(
        re.findall(r"^## `(\w+)\(", (ROOT / "docs" / "plugins.md").read_text(), flags=re.M)
    )
    assert documented == specs
    for name in specs:
        assert getattr(hookspecs, name).__doc__, f"hookspec {name} has no docstring"


def test_third_party_plugin_installed_with_pip_loads_a_model(
    tmp_path: Path, fresh_plugins, monkeypatch
) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(TUTORIAL),
        ],
        check=True,
        capture_output=True,
    )
    monkeypatch.syspath_prepend(str(target))
    assert "negative/classic" in stylezoo.list_models()
    listing = {p["name"]: p for p in fresh_plugins.plugins()}
    assert listing["negative"]["distribution"] == "stylezoo-negative 0.1.0"
    assert listing["negative"]["families"] == ["negative"]
    # an "official" file of the toy family: weight -1, bias 1 makes a negative
    checkpoint = tmp_path / "classic.pth"
    torch.save(
        {"invert.weight": -torch.eye(3).view(3, 3, 1, 1), "invert.bias": torch.ones(3)}, checkpoint
    )
    out = stylezoo.convert("negative/classic", checkpoint, tmp_path / "classic")
    translator = stylezoo.load(out)
    image = np.arange(60, dtype=np.uint8).reshape(4, 5, 3)
    assert np.array_equal(translator.translate(image), 255 - image)
    half = translator.translate(image, strength=0.5)
    assert np.abs(half.astype(int) - 127.5).max() <= 1
    # the tutorial ships its own tests, which run stylezoo's family and translator contracts
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(TUTORIAL / "tests")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(target), *sys.path])},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b1[0-9] passed", result.stdout), result.stdout


class InProcessPlugin:
    @hookimpl
    def register_records(self, register):
        register(
            Record(
                name="cyclegan/my-zebra", family="cyclegan", description="mine", config={"ngf": 8}
            )
        )


def test_in_process_plugin_is_visible_at_once(fresh_plugins) -> None:
    assert "cyclegan/my-zebra" not in stylezoo.list_models()
    plugin = InProcessPlugin()
    stylezoo.plugin_manager().register(plugin, name="mine")
    assert "cyclegan/my-zebra" in stylezoo.list_models()
    assert stylezoo.model_info("cyclegan/my-zebra")["plugin"] == "mine"
    stylezoo.plugin_manager().unregister(plugin)
    assert "cyclegan/my-zebra" not in stylezoo.list_models()


def test_broken_plugin_is_reported_once_and_others_work(
    tmp_path: Path, fresh_plugins, monkeypatch, caplog, capsys
) -> None:
    fake_distribution(tmp_path, "broken", {"broken": "stylezoo_no_such_module"})
    monkeypatch.syspath_prepend(str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="stylezoo.plugins"):
        assert "cyclegan/horse2zebra" in stylezoo.list_models()
        stylezoo.list_models()
    messages = [r.getMessage() for r in caplog.records if "broken" in r.getMessage()]
    assert len(messages) == 1 and "ModuleNotFoundError" in messages[0]
    failures = [f for f in fresh_plugins.plugin_failures() if f.plugin == "broken"]
    assert [(f.plugin, f.stage) for f in failures] == [("broken", "import")]
    assert cli_main(["plugins"]) == 1
    out = capsys.readouterr().out
    assert "FAILED broken (import)" in out and "cyclegan: families cyclegan" in out


class RaisingPlugin:
    @hookimpl
    def register_families(self, register):
        raise RuntimeError("boom")


class MisspeltHook:
    @hookimpl
    def register_familys(self, register):  # not a stylezoo hook
        raise AssertionError("never called")


def test_misspelt_hook_is_a_clear_failure_naming_the_plugin(fresh_plugins, capsys) -> None:
    stylezoo.plugin_manager().register(MisspeltHook(), name="typo")
    assert "cyclegan/horse2zebra" in stylezoo.list_models()  # the others keep working
    failures = [f for f in fresh_plugins.plugin_failures() if f.plugin == "typo"]
    assert [(f.plugin, f.stage) for f in failures] == [("typo", "hooks")]
    assert "unknown hook(s) ['register_familys']" in failures[0].error
    assert cli_main(["plugins"]) == 1
    assert "FAILED typo (hooks)" in capsys.readouterr().out


class NotAFamily:
    @hookimpl
    def register_families(self, register):
        register("cyclegan")


def test_registering_something_else_is_isolated(fresh_plugins) -> None:
    stylezoo.plugin_manager().register(NotAFamily(), name="odd")
    assert "cyclegan" in stylezoo.plugins.families()
    (failure,) = [f for f in fresh_plugins.plugin_failures() if f.plugin == "odd"]
    assert "instance of a stylezoo.Family subclass" in failure.error


def test_plugin_raising_in_a_hook_is_isolated(fresh_plugins) -> None:
    stylezoo.plugin_manager().register(RaisingPlugin(), name="raising")
    assert "cyclegan/horse2zebra" in stylezoo.list_models()
    failures = [f for f in fresh_plugins.plugin_failures() if f.plugin == "raising"]
    assert [(f.plugin, f.stage, f.error) for f in failures] == [
        ("raising", "register_families", "RuntimeError: boom")
    ]


class CopyOfCycleGAN(Family):
    name = "cyclegan"


class DuplicateFamily:
    @hookimpl
    def register_families(self, register):
        register(CopyOfCycleGAN())


class DuplicateRecord:
    @hookimpl
    def register_records(self, register):
        register(Record(name="cyclegan/horse2zebra", family="cyclegan"))


@pytest.mark.parametrize("plugin", [DuplicateFamily(), DuplicateRecord()])
def test_duplicate_names_are_an_error_naming_both_plugins(fresh_plugins, plugin) -> None:
    stylezoo.plugin_manager().register(plugin, name="copycat")
    with pytest.raises(stylezoo.PluginError, match=r"'cyclegan' and 'copycat'"):
        stylezoo.list_models()


def test_load_plugins_env_restricts_plugins(fresh_plugins, monkeypatch) -> None:
    monkeypatch.setenv("STYLEZOO_LOAD_PLUGINS", "cyclegan")
    names = [p["name"] for p in fresh_plugins.plugins()]
    assert names == ["cyclegan"]
    fresh_plugins.reset()
    monkeypatch.setenv("STYLEZOO_LOAD_PLUGINS", "")
    assert stylezoo.list_models() == []


def test_config_for_a_family_nobody_provides(tmp_path: Path) -> None:
    directory = tmp_path / "model"
    directory.mkdir()
    (directory / "config.json").write_text('{"family": "starry", "config": {}}')
    with pytest.raises(stylezoo.UnknownFamilyError, match=r"'starry'.*Install the plugin"):
        stylezoo.load(directory)


def test_import_stylezoo_is_light() -> None:
    code = (
        "import sys, stylezoo; heavy = [m for m in ('torch', 'huggingface_hub', 'numpy', "
        "'PIL', 'safetensors') if m in sys.modules]; print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


class HalfValidRecords:
    @hookimpl
    def register_records(self, register):
        register(Record(name="cyclegan/first-ok", family="cyclegan"))
        register(Record(name="Not A Name", family="cyclegan"))


def test_a_plugin_registering_anything_invalid_contributes_nothing(fresh_plugins) -> None:
    stylezoo.plugin_manager().register(HalfValidRecords(), name="half")
    assert "cyclegan/first-ok" not in stylezoo.list_models()
    assert [f.plugin for f in fresh_plugins.plugin_failures()] == ["half"]


def test_a_misspelt_hook_stays_listed_after_other_plugins_change(fresh_plugins) -> None:
    stylezoo.plugin_manager().register(MisspeltHook(), name="typo")
    stylezoo.list_models()
    stylezoo.plugin_manager().register(HalfValidRecords(), name="half")
    assert {f.plugin for f in fresh_plugins.plugin_failures()} == {"typo", "half"}
