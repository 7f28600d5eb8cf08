"""Test-wide settings: no network, an isolated cache, and fresh plugin state per test."""

from __future__ import annotations

import os

# Set before huggingface_hub is imported anywhere: a stray real request fails fast.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
os.environ.pop("STYLEZOO_LOAD_PLUGINS", None)

import pytest  # noqa: E402


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
