"""The Gradio app: a model picker, a photo, the model's own options, before/after, download.

The widgets come from :mod:`.widgets`: one column of them per :class:`~.widgets.OptionGroup`
(the models whose translators declare the same options), shown while one of its models is
picked. Every widget is an input of the one ``translate`` event, so the app's API (and
``gradio_client``) sees a fixed list of parameters; the handler reads the picked model's.
"""

from __future__ import annotations

import atexit
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from ..errors import StylezooError
from .models import DTYPES, ModelCache, describe, device_choices, resolve_models
from .widgets import ModelChoice, OptionGroup, Widget, examples, option_value, upload_path

logger = logging.getLogger(__name__)

#: The longer side of the photo each gallery thumbnail is made from.
THUMBNAIL_SIZE = 128
#: Modes a PNG can hold; other outputs (CMYK, YCbCr, …) are converted to RGB for display.
PNG_MODES = {"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"}
#: Seconds an output file is kept for its download.
OUTPUT_LIFETIME = 3600
#: The option name standing for a variant picked in the gallery (see ``stylezoo_inputs``).
VARIANT = "<variant>"


def build_app(
    models: Sequence[str] | None = None,
    *,
    device: str = "auto",
    dtype: str = "float32",
    concurrency_limit: int = 1,
    max_queue: int = 32,
    max_cached_models: int = 4,
    cache: ModelCache | None = None,
    title: str = "stylezoo",
) -> gr.Blocks:
    """The demo as a Gradio app (call ``.launch()`` on it, or use :func:`launch`).

    Args:
        models: registry names (wildcards allowed: ``"cyclegan/*"``), directories saved by
            stylezoo or ``hf-hub:`` ids; default: every registry model whose weights are on
            this machine (those shipped with stylezoo and installed packages, and converted
            copies in the cache). Others download on first use.
        device, dtype: what the device and dtype pickers start at.
        concurrency_limit: how many requests run at once (the rest wait in the queue).
        max_queue: how many requests may wait; more are turned away.
        max_cached_models: how many loaded models are kept.
        cache: the loaded-model cache (default: a new one).
        title: the page's title.
    """
    cache = cache or ModelCache(max_cached_models)
    choices, groups = describe(resolve_models(models), cache, device, dtype)
    if not choices:
        raise StylezooError(
            "No models to show: none has its weights on this machine. Name some with --model "
            "(`stylezoo list` shows them)."
        )
    by_name = {c.name: c for c in choices}
    # Outputs are written here for Gradio to serve, removed after an hour and at exit.
    workdir = Path(tempfile.mkdtemp(prefix="stylezoo-demo-"))
    atexit.register(shutil.rmtree, workdir, True)
    photos = examples()
    thumbnails: dict[tuple[str, str, str], list[tuple[Any, str]]] = {}

    with gr.Blocks(
        title=f"{title} demo", analytics_enabled=False, delete_cache=(3600, 3600)
    ) as app:
        gr.Markdown(f"# {title}\nPick a model and a photo; the model's own options follow.")
        with gr.Row():
            with gr.Column():
                picker = gr.Dropdown(
                    [(c.label, c.name) for c in choices],
                    value=choices[0].name,
                    label="model",
                    elem_id="stylezoo-model",
                )
                card = gr.Markdown(choices[0].card(), elem_id="stylezoo-card")
                photo = gr.Image(
                    type="filepath", label="photo", sources=["upload", "clipboard"],
                    height=320, elem_id="stylezoo-photo",
                )  # fmt: skip
                if photos:
                    gr.Examples([[str(p)] for p in photos], inputs=[photo], label="example photos")
                columns, galleries, slots = [], [], []
                inputs: list[tuple[str, str]] = []
                for group in groups.values():
                    with gr.Column(visible=group.key == choices[0].group) as column:
                        gallery = None
                        if group.variants:
                            gallery = gr.Gallery(
                                label="styles (click one)", columns=5, height=300,
                                allow_preview=False, object_fit="contain",
                                elem_classes=["stylezoo-variants"],
                            )  # fmt: skip
                            index = gr.Number(
                                0, label="picked in the gallery", precision=0, minimum=0,
                                maximum=len(group.variants) - 1, info="the style clicked above",
                            )  # fmt: skip
                            gallery.select(
                                _selected_index, None, index, api_visibility="undocumented"
                            )
                            slots.append(index)
                            inputs.append((group.key, VARIANT))
                        slots += [_component(widget) for widget in group.widgets]
                        inputs += [(group.key, widget.option) for widget in group.widgets]
                    columns.append(column)
                    galleries.append(gallery)
                with gr.Row():
                    device_box = gr.Dropdown(device_choices(), value=device, label="device")
                    dtype_box = gr.Dropdown(list(DTYPES), value=dtype, label="dtype")
                run = gr.Button("Translate", variant="primary", elem_id="stylezoo-run")
            with gr.Column():
                # Two images of a fixed height rather than Gradio's ImageSlider, which shows a
                # result that arrives while it is scrolled out of view zoomed in.
                with gr.Row(elem_id="stylezoo-result"):
                    before_box = gr.Image(label="before", type="filepath", height=280)
                    after_box = gr.Image(label="after", type="filepath", format="png", height=280)
                download = gr.File(label="download (PNG)", elem_id="stylezoo-download")

        def show_model(name: str, device: str, dtype: str) -> list[Any]:
            choice = _choice(by_name, name)
            updates: list[Any] = [choice.card()]
            updates += [gr.update(visible=key == choice.group) for key in groups]
            for key, gallery in zip(groups, galleries, strict=True):
                if gallery is not None:
                    if key == choice.group:
                        made = (choice.name, device, dtype)
                        if made not in thumbnails:
                            thumbnails[made] = _thumbnails(
                                cache, choice, device, dtype, photos, groups
                            )
                        updates.append(gr.update(value=thumbnails[made]))
                    else:
                        updates.append(gr.update())
            return updates

        shown = [card, *columns, *[g for g in galleries if g is not None]]
        for event in (picker.change, app.load):
            event(
                _guarded(show_model), [picker, device_box, dtype_box], shown,
                concurrency_id="stylezoo", api_visibility="undocumented",
            )  # fmt: skip

        # Gradio hands a Progress to the positional parameter whose default is one.
        def translate(progress: gr.Progress = gr.Progress(), *inputs: Any) -> Any:  # noqa: B008
            name, image, device, dtype, *values = inputs
            choice = _choice(by_name, name)
            path = upload_path(image)
            if path is None:
                raise gr.Error(
                    "Upload a photo first (or click an example photo).", print_exception=False
                )
            progress(0.1, desc=f"loading {name}")
            translator = cache.get(name, device, dtype)
            options = _options(choice, groups, values)
            progress(0.4, desc="translating")
            output = translator.translate(path, **options)
            if output.mode not in PNG_MODES:
                output = output.convert("RGB")
            _remove_old(workdir, OUTPUT_LIFETIME)
            target = Path(tempfile.mkdtemp(dir=workdir)) / f"{Path(path).stem}-stylised.png"
            extra = {k: output.info[k] for k in ("icc_profile", "dpi") if k in output.info}
            output.save(target, **extra)
            progress(1.0, desc="done")
            return path, str(target), str(target)

        run.click(
            _guarded(translate), [picker, photo, device_box, dtype_box, *slots],
            [before_box, after_box, download], api_name="translate", preprocess=False,
            concurrency_id="stylezoo", scroll_to_output=True,
        )  # fmt: skip
    app.queue(max_size=max_queue, default_concurrency_limit=concurrency_limit)
    # For tests and API clients: what each parameter after model, photo, device and dtype of
    # the "translate" endpoint is (group key, option name), and the models on offer.
    app.stylezoo_cache = cache
    app.stylezoo_inputs = inputs
    app.stylezoo_models = choices
    blocks: gr.Blocks = app
    return blocks


def launch(
    models: Sequence[str] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int | None = 7860,
    block: bool = True,
    **settings: Any,
) -> gr.Blocks:
    """Build the app (``settings`` are :func:`build_app`'s) and serve it on ``host:port``
    (loopback by default; ``port=None``: the first free port from 7860)."""
    app = build_app(models, **settings)
    try:
        app.launch(
            server_name=host, server_port=port, prevent_thread_lock=not block, ssr_mode=False,
            quiet=True, footer_links=["api"],
        )  # fmt: skip
    except OSError as exc:  # the port is taken, or the address is not this machine's
        raise StylezooError(
            f"Cannot serve the demo on {host}:{port} ({exc}). Choose another --port (or --host)."
        ) from exc
    return app


def _component(widget: Widget) -> Any:
    common: dict[str, Any] = {"label": widget.label, "info": widget.info}
    if widget.kind == "image":
        return gr.Image(
            type="filepath", label=f"{widget.label}: {widget.info}", height=220,
            sources=["upload", "clipboard"], elem_classes=[f"stylezoo-option-{widget.option}"],
        )  # fmt: skip
    if widget.kind == "dropdown":
        return gr.Dropdown(list(widget.choices), value=widget.value, **common)
    if widget.kind == "checkbox":
        return gr.Checkbox(widget.value, **common)
    if widget.kind == "slider":
        low, high = widget.minimum or 0.0, widget.maximum or 0.0  # set for sliders
        return gr.Slider(low, high, value=widget.value, step=widget.step, **common)
    if widget.kind == "number":
        return gr.Number(
            widget.value,
            precision=0 if widget.step == 1.0 else None,
            minimum=widget.minimum,
            maximum=widget.maximum,
            **common,
        )
    return gr.Textbox(widget.value, **common)


def _choice(by_name: dict[str, ModelChoice], name: str) -> ModelChoice:
    if name not in by_name:
        raise gr.Error(f"This demo does not offer the model {name!r}; pick one from the list.")
    return by_name[name]


def _options(
    choice: ModelChoice, groups: dict[str, OptionGroup], values: Sequence[Any]
) -> dict[str, Any]:
    """The picked model's options from the values of every group's widgets."""
    offset = 0
    for key, group in groups.items():
        size = len(group.widgets) + (1 if group.variants else 0)
        if key != choice.group:
            offset += size
            continue
        mine = list(values[offset : offset + size])
        options: dict[str, Any] = {}
        if group.variants:
            index = mine.pop(0)
            index = 0 if index is None else int(index)
            if not 0 <= index < len(choice.variant_options):
                raise gr.Error(
                    f"style must be 0–{len(choice.variant_options) - 1} for {choice.name}; "
                    f"got {index}."
                )
            options.update(choice.variant_options[index])
        for widget, raw in zip(group.widgets, mine, strict=True):
            given, value = option_value(widget, raw)
            if given:
                options[widget.option] = value
        return options
    raise gr.Error(f"No options found for {choice.name}.")  # pragma: no cover


def _thumbnails(
    cache: ModelCache,
    choice: ModelChoice,
    device: str,
    dtype: str,
    photos: Sequence[Path],
    groups: dict[str, OptionGroup],
) -> list[tuple[Any, str]]:
    """The first example photo, small, in each of the model's variants, labelled."""
    from PIL import Image

    translator = cache.get(choice.name, device, dtype)
    thumbnail = Image.open(photos[0]).convert("RGB") if photos else Image.new("RGB", (96, 64))
    thumbnail.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    labels = groups[choice.group].variants
    images = [translator.translate(thumbnail, **options) for options in choice.variant_options]
    return list(zip(images, labels, strict=True))


def _remove_old(folder: Path, seconds: float) -> None:
    """Remove the sub-folders of ``folder`` last changed more than ``seconds`` ago."""
    cutoff = time.time() - seconds
    for entry in folder.iterdir():
        try:
            if entry.is_dir() and entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:  # removed by another request meanwhile
            pass


def _selected_index(event: gr.SelectData) -> int:
    return int(event.index) if isinstance(event.index, int) else int(event.index[0])


def _guarded(handler: Callable[..., Any]) -> Callable[..., Any]:
    """``handler`` with stylezoo's errors shown in the page as their own message."""
    import functools

    @functools.wraps(handler)
    def wrapper(*args: Any) -> Any:
        try:
            return handler(*args)
        except gr.Error:
            raise
        except StylezooError as exc:
            raise gr.Error(str(exc), print_exception=False) from exc
        except Exception as exc:
            logger.exception("The demo's %s failed", handler.__name__)
            raise gr.Error(
                f"Unexpected {type(exc).__name__}: {exc} (a bug in stylezoo or a plugin; the "
                "server's log has the traceback)."
            ) from exc

    return wrapper
