"""A web demo of the models stylezoo can load: ``stylezoo demo``, or :func:`build_app` for a
Hugging Face Space's ``app.py``.

Needs Gradio (``pip install "stylezoo[demo]"``); ``import stylezoo`` never imports this
package. See docs/demo.md.

Example:
    >>> import stylezoo.demo
    >>> stylezoo.demo.build_app(["multistyle/android-26"]).launch()
"""

from __future__ import annotations

from ..errors import StylezooError


class DemoDependencyError(StylezooError, ImportError):
    """Gradio, which the demo runs on, is not installed."""


try:
    import gradio  # noqa: F401
except ImportError as exc:
    raise DemoDependencyError(
        f'The web demo needs Gradio ({exc}). Install it with: pip install "stylezoo[demo]"'
    ) from exc

from .app import build_app, launch  # noqa: E402
from .models import ModelCache  # noqa: E402

__all__ = ["DemoDependencyError", "ModelCache", "build_app", "launch"]
