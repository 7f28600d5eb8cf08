"""Publishing: push_to_hub / `stylezoo push` and `stylezoo publish-registry`, then loading what
was pushed, against a fake Hub on a loopback port."""

from __future__ import annotations

import io
import json

import pytest
import torch
from conftest import go_offline
from loopback import LoopbackUpstream
from loopback_hub import LoopbackHub

import stylezoo
from stylezoo.cli import main
from stylezoo.testing import InProcessPlugin, random_translator
from stylezoo.weights.cache import record_cache_dir

SMALL = {"netG": "resnet_6blocks", "ngf": 8}


def same_weights(a: stylezoo.Translator, b: stylezoo.Translator) -> bool:
    left, right = a.state_dicts()["model"], b.state_dicts()["model"]
    return left.keys() == right.keys() and all(torch.equal(left[k], right[k]) for k in left)


def test_push_then_load_round_trip(loopback_hub: LoopbackHub) -> None:
    translator = random_translator("cyclegan", SMALL, seed=7, name="cyclegan/pushed")
    result = translator.push_to_hub("me/pushed")
    assert result.repo_id == "me/pushed" and len(result.revision) == 40
    assert set(loopback_hub.repos["me/pushed"].commits[result.revision]) == {
        ".gitattributes",
        "config.json",
        "model.safetensors",
        "README.md",
    }
    card = loopback_hub.repos["me/pushed"].commits[result.revision]["README.md"].decode()
    assert card.startswith("---\nlicense:") and "library_name: stylezoo" in card
    assert "pipeline_tag: image-to-image" in card and 'stylezoo.load("hf-hub:me/pushed")' in card
    loaded = stylezoo.load("hf-hub:me/pushed")
    assert same_weights(loaded, translator) and loaded.spec.config == translator.spec.config
    assert same_weights(stylezoo.load(f"hf-hub:me/pushed@{result.revision}"), translator)


def test_push_to_a_private_branch_with_a_token(loopback_hub: LoopbackHub, tmp_path) -> None:
    translator = random_translator("cyclegan", SMALL, seed=8)
    directory = translator.save_pretrained(tmp_path / "saved")
    code = main(
        [
            "push",
            str(directory),
            "--repo-id",
            "me/secret",
            "--private",
            "--revision",
            "dev",
            "--token",
            loopback_hub.token,
        ]
    )
    assert code == 0
    assert loopback_hub.repos["me/secret"].private
    assert "dev" in loopback_hub.repos["me/secret"].branches
    with pytest.raises(stylezoo.DownloadError):
        stylezoo.load("hf-hub:me/secret@dev")  # no token
    loaded = stylezoo.load("hf-hub:me/secret", revision="dev", token=loopback_hub.token)
    assert same_weights(loaded, translator)


def test_push_refuses_broken_directories_and_offline_mode(
    loopback_hub: LoopbackHub, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = random_translator("cyclegan", SMALL).save_pretrained(tmp_path / "saved")
    weights = directory / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(stylezoo.PublishError, match="truncated"):
        stylezoo.push_to_hub(directory, "me/broken")
    go_offline(monkeypatch)
    with pytest.raises(stylezoo.PublishError, match="HF_HUB_OFFLINE"):
        stylezoo.push_to_hub(directory, "me/broken")
    assert "me/broken" not in loopback_hub.repos


def official_pth(seed: int) -> bytes:
    buffer = io.BytesIO()
    torch.save(random_translator("cyclegan", SMALL, seed=seed).state_dicts()["model"], buffer)
    return buffer.getvalue()


def test_publish_registry_prints_hub_tables_that_records_then_load_from(
    fresh_plugins: object,
    loopback_hub: LoopbackHub,
    loopback_upstream: LoopbackUpstream,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    records = [
        stylezoo.Record(
            name=f"cyclegan/loop_{i}",
            family="cyclegan",
            config=SMALL,
            license="unknown",
            upstream={"model": {"url": loopback_upstream.add_file(f"m{i}.pth", official_pth(i))}},
        )
        for i in range(2)
    ]
    plugin = InProcessPlugin(records=records)
    stylezoo.plugin_manager().register(plugin)
    assert main(["publish-registry", "--org", "zoo", "cyclegan/loop_*"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("hub = ")]
    assert len(lines) == 2 and 'repo = "zoo/cyclegan-loop_0"' in lines[0]
    assert set(loopback_hub.repos) == {"zoo/cyclegan-loop_0", "zoo/cyclegan-loop_1"}
    card = (
        loopback_hub.repos["zoo/cyclegan-loop_1"]
        .commits[loopback_hub.repos["zoo/cyclegan-loop_1"].branches["main"]]["README.md"]
        .decode()
    )
    assert "converted from the official file" in card and "m1.pth" in card

    # Paste the printed table into a record: it now loads from the Hub copy, checked by hash.
    from stylezoo.registry import tomllib  # tomli on Python 3.10

    table = tomllib.loads(lines[1])["hub"]
    converted = stylezoo.load("cyclegan/loop_1")
    stylezoo.plugin_manager().unregister(plugin)
    stylezoo.plugin_manager().register(
        InProcessPlugin(
            records=[
                stylezoo.Record(name="cyclegan/loop_1", family="cyclegan", config=SMALL, hub=table)
            ]
        )
    )
    monkeypatch.setenv("STYLEZOO_CACHE", str(record_cache_dir(records[0]).parent / "other"))
    requests = loopback_upstream.count()
    assert same_weights(stylezoo.load("cyclegan/loop_1"), converted)
    assert loopback_upstream.count() == requests
    assert json.dumps(table["sha256"]["model"]) in out
