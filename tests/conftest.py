"""Test-wide settings: no network, an isolated cache, fresh plugin state, loopback servers.

The loopback Hub and upstream servers live here with the tests (not in the wheel); the
family contracts come from stylezoo's pytest plugin, ``stylezoo.testing``.
"""

from __future__ import annotations

import os

# Set before huggingface_hub is imported anywhere: a stray real request fails fast.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
os.environ.pop("STYLEZOO_LOAD_PLUGINS", None)

from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402
from loopback import LoopbackUpstream  # noqa: E402
from loopback_hub import LoopbackHub  # noqa: E402

pytest_plugins = ["stylezoo.testing"]


@pytest.fixture(autouse=True)
def _isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every test gets its own stylezoo and Hugging Face cache."""
    root = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("STYLEZOO_CACHE", str(root / "stylezoo"))
    monkeypatch.setenv("HF_HOME", str(root / "hf"))


@pytest.fixture
def fresh_plugins():
    """Reset the plugin manager before and after a test that registers plugins."""
    from stylezoo import plugins

    plugins.reset()
    yield plugins
    plugins.reset()


def go_online(monkeypatch: pytest.MonkeyPatch, hub: LoopbackHub | None = None) -> None:
    """Allow (loopback) downloads in this test, and point stylezoo's Hub calls at ``hub``.

    Patches ``huggingface_hub.constants`` (read at its import, so environment variables set
    now would have no effect): offline mode off, Xet off (the fake Hub speaks plain HTTP),
    telemetry off; sets ``STYLEZOO_HUB_ENDPOINT`` to ``hub.url``.
    """
    from huggingface_hub import constants

    from stylezoo.weights.cache import ENDPOINT_ENV

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    if hub is not None:
        monkeypatch.setenv(ENDPOINT_ENV, hub.url)


def go_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline mode for this test, as with ``HF_HUB_OFFLINE=1`` at startup."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


@pytest.fixture
def loopback_upstream(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackUpstream]:
    """A running plain file server (official download sites); downloads allowed, retries
    after 0.05 s instead of seconds."""
    from stylezoo.weights import upstream

    go_online(monkeypatch)
    monkeypatch.setattr(upstream, "RETRY_WAITS", (0.05, 0.05))
    with LoopbackUpstream() as server:
        yield server


@pytest.fixture
def loopback_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackHub]:
    """A running fake Hub; stylezoo's Hub calls go to it and downloads are allowed."""
    with LoopbackHub(token="hf_loopback_token") as hub:
        go_online(monkeypatch, hub)
        yield hub
