"""The web demo on a loopback port, for the demo's tests (one app per test module)."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "stylezoo" / "demo" / "examples"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_demo(models: Sequence[str], **settings: Any) -> Iterator[tuple[Any, str]]:
    """``stylezoo.demo.launch`` with its default host, on a free port: (app, url)."""
    from stylezoo.demo import launch

    port = free_port()
    app = launch(list(models), port=port, block=False, device="cpu", **settings)
    try:
        yield app, f"http://127.0.0.1:{port}/"
    finally:
        app.close()


def translate_args(app: Any, model: str, **options: Any) -> list[Any]:
    """The ``translate`` endpoint's parameters after model, photo, device and dtype: the
    picked model's options by name (``"<variant>"``: the gallery's index), None elsewhere."""
    group = next(c.group for c in app.stylezoo_models if c.name == model)
    return [options.get(name) if key == group else None for key, name in app.stylezoo_inputs]
