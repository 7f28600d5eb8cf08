"""Things that need fresh interpreters: concurrent loads by two processes sharing one cache,
and ``import stylezoo`` / loading a local directory never importing huggingface_hub."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import torch
from loopback import LoopbackUpstream

from stylezoo.testing import random_translator

SMALL = {"netG": "resnet_6blocks", "ngf": 8}

LOAD_SCRIPT = """
import sys, stylezoo
from stylezoo.testing import InProcessPlugin
url, sha256 = sys.argv[1:3]
stylezoo.plugin_manager().register(InProcessPlugin(records=[stylezoo.Record(
    name="cyclegan/loop_race", family="cyclegan", config={"netG": "resnet_6blocks", "ngf": 8},
    upstream={"model": {"url": url, "sha256": sha256}})]))
weights = stylezoo.load("cyclegan/loop_race").state_dicts()["model"]
print(sum(float(t.double().sum()) for t in weights.values()))
"""


def child_env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "0",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "STYLEZOO_CACHE": str(tmp_path / "shared"),
        "HF_HOME": str(tmp_path / "hf"),
    }


def test_two_processes_loading_the_same_model_share_one_download(
    loopback_upstream: LoopbackUpstream, tmp_path: Path
) -> None:
    buffer = io.BytesIO()
    torch.save(random_translator("cyclegan", SMALL, seed=9).state_dicts()["model"], buffer)
    data = buffer.getvalue()
    url = loopback_upstream.add_file("race.pth", data)
    loopback_upstream.add_fault("/race.pth", "slow", delay=1.0)  # widen the race window
    command = [sys.executable, "-c", LOAD_SCRIPT, url, hashlib.sha256(data).hexdigest()]
    children = [
        subprocess.Popen(
            command,
            env=child_env(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [child.communicate(timeout=120) for child in children]
    for child, (_, err) in zip(children, results, strict=True):
        assert child.returncode == 0, err
    assert results[0][0] == results[1][0]  # both got the same weights
    assert loopback_upstream.count("GET") == 1  # one downloaded and converted, one waited
    models = tmp_path / "shared" / "models"
    assert sorted(p.name for p in models.iterdir()) == ["cyclegan--loop_race"]


def test_import_and_local_loads_stay_light(tmp_path: Path) -> None:
    directory = random_translator("cyclegan", SMALL).save_pretrained(tmp_path / "local")
    code = (
        "import sys, stylezoo\n"
        "heavy = [m for m in ('torch', 'huggingface_hub') if m in sys.modules]\n"
        "assert not heavy, f'import stylezoo imported {heavy}'\n"
        f"stylezoo.load({str(directory)!r})\n"
        "assert 'huggingface_hub' not in sys.modules, 'local load imported huggingface_hub'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=child_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
