"""The web demo (``stylezoo demo``): widgets from the option declarations, and the app's API
through gradio_client against the app on a loopback port, with the shipped real models."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from demo_server import EXAMPLES, running_demo, translate_args
from PIL import Image

import stylezoo
from stylezoo.family import Option

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
gradio_client = pytest.importorskip("gradio_client")
pytest.importorskip("gradio", reason='the demo needs pip install "stylezoo[demo]"')

from stylezoo.demo import ModelCache, build_app  # noqa: E402
from stylezoo.demo.widgets import Widget, option_value, widget_for  # noqa: E402

# gradio's queue calls pandas APIs that pandas 3 deprecates
pytestmark = [
    pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

MODELS = ["multistyle/android-26", "arbitrary/magenta", "cyclegan/vintage"]
PHOTO = EXAMPLES / "chelsea.jpg"
STYLE = EXAMPLES / "coffee.jpg"


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[Any, Any]]:
    """The app with the three offline models, and a gradio_client connected to it."""
    with running_demo(MODELS) as (app, url):
        yield app, gradio_client.Client(url, verbose=False)


def call(demo: tuple[Any, Any], model: str, photo: Path | None, **options: Any) -> Any:
    app, client = demo
    upload = gradio_client.handle_file(str(photo)) if photo is not None else None
    args = translate_args(app, model, **options)
    return client.predict(model, upload, "cpu", "float32", *args, api_name="/translate")


# -- widgets from declarations (no server) ----------------------------------------------------
@pytest.mark.parametrize(
    "option, kind",
    [
        (Option(None, "a style image", image=True), "image"),
        (Option("a", "one of three", choices=("a", "b", "c")), "dropdown"),
        (Option(False, "a switch"), "checkbox"),
        (Option(1.0, "bounded", minimum=0, maximum=1), "slider"),
        (Option(3, "bounded int", minimum=1, maximum=9), "slider"),
        (Option(None, "an unbounded size", kind="int", minimum=16, nullable=True), "number"),
        (Option(0.5, "an unbounded number"), "number"),
        (Option("", "a prompt for text-guided families"), "text"),
        (Option(None, "weights, one per style"), "json"),
    ],
)
def test_each_declared_option_gets_the_widget_its_declaration_calls_for(
    option: Option, kind: str
) -> None:
    widget = widget_for("some_option", option)
    assert widget.kind == kind
    assert widget.option == "some_option" and widget.label == "some option"
    assert widget.info.startswith(option.help)
    if kind == "slider":
        assert (widget.minimum, widget.maximum, widget.value) == (
            option.minimum,
            option.maximum,
            option.default,
        )
    if kind == "dropdown":
        assert widget.choices == ("a", "b", "c")


def test_widget_values_are_read_back_as_option_values() -> None:
    json_box = widget_for("style", Option(0, "index or blend", kind="any"))
    assert option_value(json_box, "") == (False, None)  # empty: the default
    assert option_value(json_box, '{"7": 0.5, "19": 0.5}') == (True, {"7": 0.5, "19": 0.5})
    with pytest.raises(stylezoo.InvalidOptionError, match="'style'.*not JSON"):
        option_value(json_box, "{7: 1")
    number = widget_for("size", Option(None, "size", kind="int", minimum=16, nullable=True))
    assert option_value(number, 256.0) == (True, 256)  # number boxes send floats
    assert option_value(number, None) == (False, None)
    image = widget_for("style", Option(None, "style image", image=True))
    assert option_value(image, {"path": "/tmp/x.png", "orig_name": "x.png"}) == (True, "/tmp/x.png")
    assert option_value(image, None) == (False, None)
    assert option_value(Widget("flag", "checkbox", "flag", ""), False) == (True, False)


def test_the_widgets_come_from_each_translators_declarations(demo: tuple[Any, Any]) -> None:
    app, _ = demo
    choices = {c.name: c for c in app.stylezoo_models}
    assert sorted(choices) == sorted(MODELS)
    assert [c.family for c in app.stylezoo_models] == sorted(c.family for c in choices.values())
    inputs: dict[str, list[str]] = {}
    for key, name in app.stylezoo_inputs:
        inputs.setdefault(key, []).append(name)
    for name in MODELS:
        translator = stylezoo.load(name)
        declared = list(type(translator).options)
        expected = (["<variant>"] if hasattr(translator, "variants") else []) + declared
        assert inputs.get(choices[name].group, []) == expected, name
    multistyle = choices["multistyle/android-26"]
    assert multistyle.variant_options == [{"style": i} for i in range(26)]
    card = choices["arbitrary/magenta"].card()
    assert "Apache-2.0" in card and "arXiv:1705.06830" in card


# -- the app through gradio_client ------------------------------------------------------------
def test_multistyle_through_the_app_gives_the_librarys_result(demo: tuple[Any, Any]) -> None:
    options = {"<variant>": 7, "strength": 0.6}
    before, after, download = call(demo, "multistyle/android-26", PHOTO, **options)
    expected = stylezoo.load("multistyle/android-26").translate(
        Image.open(PHOTO), style=7, strength=0.6
    )
    got = Image.open(after)
    assert got.size == Image.open(PHOTO).size and got.mode == "RGB"
    assert np.array_equal(np.asarray(got), np.asarray(expected))
    assert np.array_equal(np.asarray(Image.open(before)), np.asarray(Image.open(PHOTO)))
    assert np.array_equal(np.asarray(Image.open(download)), np.asarray(expected))


def test_a_style_typed_as_json_overrides_the_gallery(demo: tuple[Any, Any]) -> None:
    blend = '{"7": 0.5, "19": 0.5}'
    _, after, _ = call(demo, "multistyle/android-26", PHOTO, **{"<variant>": 3, "style": blend})
    expected = stylezoo.load("multistyle/android-26").translate(
        Image.open(PHOTO), style={7: 0.5, 19: 0.5}
    )
    assert np.array_equal(np.asarray(Image.open(after)), np.asarray(expected))


def test_arbitrary_takes_an_uploaded_style_image(demo: tuple[Any, Any]) -> None:
    style = gradio_client.handle_file(str(STYLE))
    _, after, download = call(demo, "arbitrary/magenta", PHOTO, style=style, strength=0.8)
    expected = stylezoo.load("arbitrary/magenta").translate(
        Image.open(PHOTO), style=str(STYLE), strength=0.8
    )
    assert np.array_equal(np.asarray(Image.open(after)), np.asarray(expected))
    assert Path(download).suffix == ".png"
    assert np.array_equal(np.asarray(Image.open(download)), np.asarray(expected))


def test_cyclegan_vintage_runs_with_no_options(demo: tuple[Any, Any]) -> None:
    _, after, _ = call(demo, "cyclegan/vintage", PHOTO)
    # the app's own loaded model, called directly: loading and converting it again is slow
    translator = demo[0].stylezoo_cache.get("cyclegan/vintage", "cpu", "float32")
    expected = translator.translate(Image.open(PHOTO))
    assert np.array_equal(np.asarray(Image.open(after)), np.asarray(expected))


def _library_message(model: str, photo: Path, **options: Any) -> str:
    with pytest.raises(stylezoo.StylezooError) as caught:
        stylezoo.load(model).translate(str(photo), **options)
    return str(caught.value)


def test_bad_uploads_show_the_librarys_own_message(demo: tuple[Any, Any], tmp_path: Path) -> None:
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("not an image")
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(PHOTO.read_bytes()[:2000])
    for bad in (not_an_image, truncated):
        with pytest.raises(gradio_client.exceptions.AppError) as caught:
            call(demo, "multistyle/android-26", bad)
        expected = _library_message("multistyle/android-26", bad)
        # the same message, naming the server's copy of the upload instead of the original
        shown = str(caught.value)
        assert "Traceback" not in shown
        assert expected.split(str(bad))[-1] in shown and bad.name in shown
    with pytest.raises(gradio_client.exceptions.AppError, match="needs a style image"):
        call(demo, "arbitrary/magenta", PHOTO)
    with pytest.raises(gradio_client.exceptions.AppError, match="Upload a photo first"):
        call(demo, "multistyle/android-26", None)
    with pytest.raises(gradio_client.exceptions.AppError, match="'style'.*not JSON"):
        call(demo, "multistyle/android-26", PHOTO, style="{7: 1")


def test_models_load_once_and_are_shared_across_requests(demo: tuple[Any, Any]) -> None:
    app, _ = demo
    call(demo, "multistyle/android-26", PHOTO, **{"<variant>": 1})
    loads = app.stylezoo_cache.loads
    for variant in (2, 3):
        call(demo, "multistyle/android-26", PHOTO, **{"<variant>": variant})
    assert app.stylezoo_cache.loads == loads


def test_requests_are_queued_and_the_server_is_bound_to_loopback(demo: tuple[Any, Any]) -> None:
    app, _ = demo
    assert app.server_name == "127.0.0.1"
    assert app._queue.default_concurrency_limit == 1
    (translate,) = [fn for fn in app.fns.values() if fn.api_name == "translate"]
    assert translate.queue and translate.concurrency_id == "stylezoo"
    limited = build_app(["multistyle/android-26"], concurrency_limit=2, max_queue=5)
    assert (limited._queue.default_concurrency_limit, limited._queue.max_size) == (2, 5)


def test_the_model_cache_loads_each_model_once_and_keeps_the_latest() -> None:
    loaded: list[tuple[str, str, str]] = []

    def loader(name: str, *, device: str, dtype: str) -> str:
        loaded.append((name, device, dtype))
        return f"{name}@{device}/{dtype}"

    cache = ModelCache(max_models=2, loader=loader)
    assert cache.get("a") == cache.get("a") == "a@auto/float32"
    cache.get("b", "cpu", "bfloat16")
    cache.get("c")  # "a" is dropped: the least recently used
    cache.get("a")
    assert cache.loads == 4 and loaded[-1] == ("a", "auto", "float32")


def test_unknown_model_names_are_refused_with_the_list_command() -> None:
    with pytest.raises(stylezoo.UnknownModelError, match="stylezoo list"):
        build_app(["multistyle/no-such-model"])


# -- the command ------------------------------------------------------------------------------
def test_the_demo_command_defaults_to_loopback() -> None:
    from stylezoo.cli import build_parser

    args = build_parser().parse_args(["demo", "--model", "multistyle/*"])
    assert (args.host, args.port, args.model, args.concurrency) == (
        "127.0.0.1",
        7860,
        ["multistyle/*"],
        1,
    )


def test_stylezoo_and_its_cli_do_not_import_gradio_and_its_absence_names_the_extra() -> None:
    code = (
        "import sys, stylezoo, stylezoo.cli\n"
        "assert 'gradio' not in sys.modules, 'gradio imported'\n"
        "sys.modules['gradio'] = None  # as if not installed\n"
        "sys.exit(stylezoo.cli.main(['demo']))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert 'pip install "stylezoo[demo]"' in done.stderr
