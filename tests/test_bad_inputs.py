"""The bad-input matrix: every bad input and fault, through the Python API and the command line.

Each row says how to provoke the fault, the StylezooError subclass it must raise, a regular
expression its message must match (naming the input), and what must not be left behind. A
command-line row runs ``stylezoo.cli.main([...])``: it must return non-zero, print an
``error:`` line and no traceback; its error class is checked by recording every StylezooError
created during the run. Rows for build options (``--set``) and translate options
(``--option``) are generated for every registered family.

After the matrix: interrupted folder runs (atomic outputs, ``--skip-existing``), trust on
first download, and the memory estimate behind ImageTooLargeError.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from conftest import go_online
from loopback import LoopbackUpstream
from PIL import Image
from safetensors.torch import save_file

import stylezoo
from stylezoo import cli, devices
from stylezoo.errors import (
    CheckpointError,
    DeviceError,
    DownloadError,
    ImageTooLargeError,
    IntegrityError,
    InvalidImageError,
    InvalidModelConfigError,
    InvalidModelDirectoryError,
    InvalidOptionError,
    OfflineError,
    OutputError,
    PluginError,
    StylezooError,
    UnknownFamilyError,
    UnknownModelError,
    WeightsError,
)
from stylezoo.family import Family, Option
from stylezoo.hookspecs import hookimpl
from stylezoo.testing import InProcessPlugin, random_translator, sample_rgb
from stylezoo.translator import ImageTranslator
from stylezoo.weights.cache import cache_root

SMALL = {"ngf": 4, "netG": "resnet_6blocks"}
SMALL_SET = ["--set", "ngf=4", "--set", "netG=resnet_6blocks"]
#: Small, fast configurations of the built-in families; other families use their defaults.
SMALL_CONFIGS: dict[str, dict[str, Any]] = {
    "cyclegan": SMALL,
    "cut": SMALL,
    "pix2pix": {"ngf": 4, "netG": "unet_128"},
    "adain": {"width": 4},
    "multistyle": {"styles": 2, "channels": 4, "residual_blocks": 1, "expand_channels": [4, 4]},
}
MiB = 1 << 20

# The exploit pickles are written with protocol 4; torch warns before refusing them.
pytestmark = pytest.mark.filterwarnings("ignore:Detected pickle protocol")


# -- shared inputs ---------------------------------------------------------------------------
@dataclass
class Assets:
    root: Path
    model: Path  # a small saved cyclegan
    translator: ImageTranslator
    adain: ImageTranslator
    png: bytes
    jpg: bytes
    pth: bytes  # an "official" cyclegan checkpoint of the SMALL config
    fast_style_pth: bytes
    family_models: dict[str, Path]

    def family_model(self, family: str) -> Path:
        """A saved model of ``family`` (small where a small config is known), made once."""
        if family not in self.family_models:
            translator = random_translator(family, SMALL_CONFIGS.get(family, {}))
            self.family_models[family] = translator.save_pretrained(self.root / f"f-{family}")
        return self.family_models[family]


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> Assets:
    root = tmp_path_factory.mktemp("assets")
    model = random_translator("cyclegan", SMALL).save_pretrained(root / "cyclegan")
    translator = stylezoo.load(model)
    assert isinstance(translator, ImageTranslator)
    adain = random_translator("adain", {"width": 4})
    assert isinstance(adain, ImageTranslator)
    encoded = {}
    for kind in ("PNG", "JPEG"):
        buffer = io.BytesIO()
        Image.fromarray(sample_rgb(24, 32)).save(buffer, format=kind)
        encoded[kind] = buffer.getvalue()
    from stylezoo_plugins.fast_style.model import TransformerNet

    return Assets(
        root=root,
        model=model,
        translator=translator,
        adain=adain,
        png=encoded["PNG"],
        jpg=encoded["JPEG"],
        pth=_saved(translator.state_dicts()["model"]),
        fast_style_pth=_saved(TransformerNet().state_dict()),
        family_models={},
    )


def _saved(value: Any) -> bytes:
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


@dataclass
class Ctx:
    """What a row's provoke function gets: its own folder, the shared assets, fixtures."""

    tmp: Path
    assets: Assets
    request: pytest.FixtureRequest
    monkeypatch: pytest.MonkeyPatch

    @property
    def t(self) -> ImageTranslator:
        return self.assets.translator

    def write(self, name: str, data: bytes | str) -> Path:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            path.write_text(data)
        else:
            path.write_bytes(data)
        return path

    def image(self, name: str = "photo.png", height: int = 24, width: int = 32) -> Path:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(sample_rgb(height, width)).save(path)
        return path

    def model_copy(self, mutate: Callable[[Path], None] | None = None) -> Path:
        directory = self.tmp / "model"
        shutil.copytree(self.assets.model, directory)
        if mutate is not None:
            mutate(directory)
        return directory

    def config_edit(self, **changes: Any) -> Path:
        def edit(directory: Path) -> None:
            path = directory / "config.json"
            config = json.loads(path.read_text())
            config.update(changes)
            path.write_text(json.dumps(config))

        return self.model_copy(edit)

    def fixture(self, name: str) -> Any:
        return self.request.getfixturevalue(name)

    def register(self, *records: stylezoo.Record, families: tuple[Family, ...] = ()) -> None:
        self.fixture("fresh_plugins")
        stylezoo.plugin_manager().register(InProcessPlugin(families=families, records=records))

    def closed_port_url(self, path: str = "x.pth") -> str:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        return f"http://127.0.0.1:{port}/{path}"


@dataclass(frozen=True)
class Row:
    """One bad input.

    Attributes:
        id: the test id.
        provoke: API rows: does the bad thing (and raises). CLI rows: returns the argv.
        error: the StylezooError subclass expected (``None``: a usage error argparse reports,
            or a failure that is listed rather than raised).
        match: a regular expression the message (API) or the output (CLI) must match.
        cli: a command-line row.
        code: the CLI's exit status.
        leftovers: paths that must not exist afterwards (relative to the row's folder).
        seconds: the most the row may take.
        skip: why the row does not apply here.
        after: a further check, run after the row.
    """

    id: str
    provoke: Callable[[Ctx], Any]
    error: type[StylezooError] | None
    match: str
    cli: bool = False
    code: int = 2
    leftovers: tuple[str, ...] = ()
    seconds: float | None = None
    skip: str | None = None
    after: Callable[[Ctx], None] | None = None


def api(
    id: str, provoke: Callable[[Ctx], Any], error: type[StylezooError], match: str, **kw: Any
) -> Row:
    return Row(id, provoke, error, match, **kw)


def cmd(
    id: str,
    argv: Callable[[Ctx], list[Any]],
    error: type[StylezooError] | None,
    match: str,
    **kw: Any,
) -> Row:
    return Row(id, argv, error, match, cli=True, **kw)


# -- provoking helpers -----------------------------------------------------------------------
def flip(data: bytes, start: int, count: int = 64) -> bytes:
    return (
        data[:start] + bytes(b ^ 0xFF for b in data[start : start + count]) + data[start + count :]
    )


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def translate_file(name: str, data: Callable[[Assets], bytes]) -> Callable[[Ctx], Any]:
    return lambda c: c.t.translate(c.write(name, data(c.assets)))


def lazily_opened_truncated_png(c: Ctx) -> Any:
    with Image.open(c.write("lazy.png", truncated(c.assets.png))) as image:  # not loaded yet
        return c.t.translate(image)


def decompression_bomb(c: Ctx) -> Any:
    c.monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # the 24×32 image is > 2×100 pixels
    return c.t.translate(c.write("bomb.png", c.assets.png))


class NetworkCalls:
    """Forward pre-hooks on the real networks: which runs saw real (non-meta) data."""

    def __init__(self, translator: ImageTranslator) -> None:
        self.real: list[tuple[int, ...]] = []
        self.handles = [
            network.register_forward_pre_hook(self._record)
            for network in translator.networks.values()
        ]

    def _record(self, module: Any, inputs: tuple[Any, ...]) -> None:
        if not inputs[0].is_meta:
            self.real.append(tuple(inputs[0].shape))

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def huge_image_with_100_mb_free(c: Ctx) -> Any:
    c.monkeypatch.setattr(devices, "available_memory", lambda device: 100 * MiB)
    calls = NetworkCalls(c.t)
    try:
        c.t.translate(np.zeros((3000, 4000, 3), np.uint8))
    finally:
        calls.remove()
        assert calls.real == [], "the networks ran before the refusal"


def out_of_memory_during_the_forward_pass(c: Ctx) -> Any:
    def allocate(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("DefaultCPUAllocator: not enough memory: you tried to allocate 9 GB")

    c.monkeypatch.setattr(c.t, "forward", allocate)
    return c.t.translate(sample_rgb(16, 20))


def huge_file_cli(c: Ctx) -> list[Any]:
    c.monkeypatch.setattr(devices, "available_memory", lambda device: 100 * MiB)
    Image.new("RGB", (4000, 3000)).save(c.tmp / "huge.png")
    return ["translate", c.assets.model, c.tmp / "huge.png", "-o", c.tmp / "out"]


def evil_pickle(c: Ctx) -> Any:
    marker = c.tmp / "MARKER"

    class Exploit:
        def __reduce__(self) -> tuple[Any, ...]:
            return (os.system, (f"touch {marker}",))

    path = c.tmp / "exploit.pth"
    with open(path, "wb") as handle:
        pickle.dump({"model.1.weight": Exploit()}, handle)
    try:
        stylezoo.convert("cyclegan", path, c.tmp / "out")
    finally:
        assert not marker.exists(), "unpickling the checkpoint ran code"


def evil_torch_save(c: Ctx) -> Any:
    marker = c.tmp / "MARKER"

    class Exploit:
        def __reduce__(self) -> tuple[Any, ...]:
            return (os.system, (f"touch {marker}",))

    path = c.tmp / "exploit-zip.pth"
    torch.save({"model.1.weight": Exploit()}, path)
    try:
        stylezoo.convert("cyclegan", path, c.tmp / "out")
    finally:
        assert not marker.exists(), "unpickling the checkpoint ran code"


def weights_edit(mutate: Callable[[bytes], bytes]) -> Callable[[Ctx], Any]:
    def provoke(c: Ctx) -> Any:
        def edit(directory: Path) -> None:
            path = directory / "model.safetensors"
            path.write_bytes(mutate(path.read_bytes()))

        return stylezoo.load(c.model_copy(edit))

    return provoke


def flip_one_data_bit(data: bytes) -> bytes:
    header = int.from_bytes(data[:8], "little")
    position = 8 + header + (len(data) - 8 - header) // 2  # in the middle of the tensors
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


def config_text(text: str | bytes) -> Callable[[Ctx], Any]:
    data = text.encode() if isinstance(text, str) else text
    return lambda c: stylezoo.load(c.model_copy(lambda d: (d / "config.json").write_bytes(data)))


def offline_download_cli(c: Ctx) -> list[Any]:
    return ["download", "cyclegan/horse2zebra"]


def unreachable_upstream(c: Ctx) -> Any:
    c.fixture("loopback_upstream")  # online, retries after 0.05 s instead of 1, 2, 4 s
    url = c.closed_port_url("checkpoints/x.pth")
    c.register(
        stylezoo.Record(
            name="cyclegan/unreachable",
            family="cyclegan",
            config=SMALL,
            upstream={"model": {"url": url}},
        )
    )
    stylezoo.load("cyclegan/unreachable")


def unreachable_hub(c: Ctx) -> Any:
    go_online(c.monkeypatch)
    c.monkeypatch.setenv("STYLEZOO_HUB_ENDPOINT", c.closed_port_url("").rstrip("/"))
    stylezoo.load("hf-hub:org/unreachable")


def upstream_record(c: Ctx, server: LoopbackUpstream, path: str, **source: Any) -> str:
    url = server.url + "/" + path
    c.register(
        stylezoo.Record(
            name="cyclegan/fault",
            family="cyclegan",
            config=SMALL,
            upstream={"model": {"url": url, **source}},
        )
    )
    return "cyclegan/fault"


def upstream_404(c: Ctx) -> Any:
    server = c.fixture("loopback_upstream")
    stylezoo.load(upstream_record(c, server, "not/there.pth"))


def upstream_corrupt_twice(c: Ctx) -> Any:
    import hashlib

    server: LoopbackUpstream = c.fixture("loopback_upstream")
    server.add_file("good.pth", c.assets.pth)
    server.add_fault("/good.pth", "corrupt", times=2)
    digest = hashlib.sha256(c.assets.pth).hexdigest()
    stylezoo.load(upstream_record(c, server, "good.pth", sha256=digest))


def no_downloads_left(c: Ctx) -> None:
    downloads = cache_root() / "downloads"
    left = [p for p in downloads.rglob("*") if p.is_file() and p.suffix != ".lock"]
    assert left == [], left


def output_under_a_file(c: Ctx) -> Path:
    c.write("file.txt", "a file, not a folder")
    return c.tmp / "file.txt" / "sub"


def unwritable_folder(c: Ctx) -> list[Any]:
    folder = c.tmp / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    c.request.addfinalizer(lambda: folder.chmod(0o700))
    return ["translate", c.assets.model, c.image(), "-o", folder / "out"]


def unwritable_folder_as_the_os_reports_it(c: Ctx) -> list[Any]:
    """As root, where permissions do not apply: the OS's answer is what is checked."""
    folder = c.tmp / "locked"
    folder.mkdir()
    real_access = os.access

    def access(path: Any, mode: int, **kwargs: Any) -> bool:
        if Path(path) == folder and mode & os.W_OK:
            return False
        return real_access(path, mode, **kwargs)

    c.monkeypatch.setattr(os, "access", access)
    return ["translate", c.assets.model, c.image(), "-o", folder / "out"]


def folder_into_itself(c: Ctx) -> list[Any]:
    folder = c.tmp / "photos"
    c.image("photos/a.png")
    return ["translate", c.assets.model, folder, "-o", folder]


def folder_unchanged(c: Ctx) -> None:
    assert sorted(p.name for p in (c.tmp / "photos").iterdir()) == ["a.png"]


class BrokenPlugin:
    @hookimpl
    def register_families(self, register: Any) -> None:
        raise RuntimeError("the broken plugin exploded")


def broken_plugin(c: Ctx) -> list[Any]:
    c.fixture("fresh_plugins")
    stylezoo.plugin_manager().register(BrokenPlugin(), name="broken")
    return ["plugins"]


def others_keep_working(c: Ctx) -> None:
    assert {"cyclegan", "adain"} <= set(stylezoo.plugins.families())
    assert "cyclegan/horse2zebra" in stylezoo.list_models()
    assert stylezoo.load(c.assets.model).translate(sample_rgb(16, 16)).shape == (16, 16, 3)


class Exploding(Family):
    name = "exploding"
    description = "a family whose build raises"

    def build(self, config: Any) -> Any:
        raise ValueError("no networks today")


class NoTranslator(Family):
    name = "notranslator"
    description = "a family whose translator() raises"

    def build(self, config: Any) -> Any:
        return {"model": torch.nn.Conv2d(3, 3, 1)}

    def translator(self, networks: Any, spec: Any) -> Any:
        raise RuntimeError("translator exploded")


def plugin_model(c: Ctx, family: Family, tensors: dict[str, torch.Tensor]) -> Any:
    c.register(families=(family,))
    directory = c.tmp / family.name
    directory.mkdir()
    (directory / "config.json").write_text(json.dumps({"family": family.name, "config": {}}))
    save_file(tensors, str(directory / "model.safetensors"))
    return stylezoo.load(directory)


def style(value: Callable[[Ctx], Any], **options: Any) -> Callable[[Ctx], Any]:
    return lambda c: c.assets.adain.translate(sample_rgb(32, 32), style=value(c), **options)


def style_dir(c: Ctx) -> Path:
    (c.tmp / "styles").mkdir()
    return c.tmp / "styles"


def tiny_style(c: Ctx) -> Path:
    return c.image("tiny.png", 2, 2)


# -- per-family option rows -------------------------------------------------------------------
def wrong_value(option: Option) -> str | None:
    """A command-line value of the wrong type or outside the allowed ones, or None."""
    if option.choices is not None:
        return "99999" if all(isinstance(c, int) for c in option.choices) else "no-such-choice"
    return {"bool": "maybe", "int": "x", "float": "x", "str": "5"}.get(
        option.kind, "x" if option.check is not None else None
    )


def option_regex(what: str, name: str, option: Option) -> str:
    if option.kind == "any":
        return re.escape(name)
    return re.escape(f"{what} '{name}' must be {option.describe()}")


def checkpoint_args(c: Ctx, family: Family) -> list[Any]:
    files = [c.write(f"{role}.pth", c.assets.pth) for role in family.roles]
    if len(family.roles) == 1:
        return [files[0]]
    return [f"{role}={path}" for role, path in zip(family.roles, files, strict=True)]


def translate_options(family: str) -> dict[str, Option]:
    translator = random_translator(family, SMALL_CONFIGS.get(family, {}))
    return dict(getattr(translator, "options", {}))


def family_rows() -> Iterator[Row]:
    for name, family in sorted(stylezoo.plugins.families().items()):
        if family.own_layout:
            continue  # no converter and no config-built model: see its own tests

        def convert_argv(c: Ctx, setting: str, family: Family = family) -> list[Any]:
            return [
                "convert",
                family.name,
                *checkpoint_args(c, family),
                "-o",
                c.tmp / "out",
                "--set",
                setting,
            ]

        yield cmd(
            f"set-unknown-key-{name}",
            lambda c, f=convert_argv: f(c, "not_an_option=1"),
            InvalidOptionError,
            rf"Unknown {name} config option 'not_an_option'\. Allowed: ",
            leftovers=("out",),
        )
        for key, option in family.config.items():
            value = wrong_value(option)
            if value is None:
                continue
            yield cmd(
                f"set-wrong-type-{name}-{key}",
                lambda c, f=convert_argv, s=f"{key}={value}": f(c, s),
                InvalidOptionError,
                option_regex(f"{name} config option", key, option),
                leftovers=("out",),
            )

        def translate_argv(c: Ctx, setting: str, name: str = name) -> list[Any]:
            model = c.assets.family_model(name)
            return ["translate", model, c.image(), "-o", c.tmp / "out", "--option", setting]

        yield cmd(
            f"option-unknown-key-{name}",
            lambda c, f=translate_argv: f(c, "not_an_option=1"),
            InvalidOptionError,
            rf"Unknown {name} option 'not_an_option'\. Allowed: ",
            leftovers=("out",),
        )
        for key, option in translate_options(name).items():
            value = wrong_value(option)
            if value is None:
                continue
            yield cmd(
                f"option-wrong-type-{name}-{key}",
                lambda c, f=translate_argv, s=f"{key}={value}": f(c, s),
                InvalidOptionError,
                option_regex(f"{name} option", key, option),
                leftovers=("out",),
            )


HAS_CUDA = torch.cuda.is_available()
ROOT_IGNORES_PERMISSIONS = hasattr(os, "geteuid") and os.geteuid() == 0

# -- the matrix ------------------------------------------------------------------------------
ROWS: list[Row] = [
    # image files
    api(
        "png-zero-bytes",
        translate_file("zero.png", lambda a: b""),
        InvalidImageError,
        r"zero\.png' is not an image file",
    ),
    api(
        "png-truncated",
        translate_file("half.png", lambda a: truncated(a.png)),
        InvalidImageError,
        r"half\.png' could not be decoded.*truncated",
    ),
    api(
        "png-corrupt",
        translate_file("bad.png", lambda a: flip(a.png, 60, 200)),
        InvalidImageError,
        r"bad\.png'",
    ),
    api(
        "png-not-an-image",
        translate_file("notes.png", lambda a: b"just some text"),
        InvalidImageError,
        r"notes\.png' is not an image file",
    ),
    api(
        "jpeg-zero-bytes",
        translate_file("zero.jpg", lambda a: b""),
        InvalidImageError,
        r"zero\.jpg' is not an image file",
    ),
    api(
        "jpeg-truncated",
        translate_file("half.jpg", lambda a: truncated(a.jpg)),
        InvalidImageError,
        r"half\.jpg' could not be decoded",
    ),
    api(
        "jpeg-corrupt",
        translate_file("bad.jpg", lambda a: flip(a.jpg, 20, 400)),
        InvalidImageError,
        r"bad\.jpg'",
    ),
    api(
        "image-missing",
        lambda c: c.t.translate(c.tmp / "nope.png"),
        InvalidImageError,
        r"nope\.png' does not exist",
    ),
    api(
        "image-is-a-directory",
        lambda c: c.t.translate(c.tmp),
        InvalidImageError,
        r"is a directory, not an image file",
    ),
    api(
        "image-path-with-nul",
        lambda c: c.t.translate("bad\0name.png"),
        InvalidImageError,
        r"bad\\x00name\.png' does not exist",
    ),
    api(
        "pil-image-lazily-opened-truncated",
        lazily_opened_truncated_png,
        InvalidImageError,
        r"could not be decoded",
    ),
    api(
        "decompression-bomb",
        decompression_bomb,
        ImageTooLargeError,
        r"bomb\.png' is too large to open safely",
    ),
    cmd(
        "cli-corrupt-png",
        lambda c: [
            "translate",
            c.assets.model,
            c.write("bad.png", b"\x89PNG garbage"),
            "-o",
            c.tmp / "out",
        ],
        None,
        r"error: 1 of 1 image\(s\) failed:\n  .*bad\.png: .*not an image file",
        code=1,
        leftovers=("out/bad.png",),
    ),
    # sizes
    api(
        "1x1-array",
        lambda c: c.t.translate(np.zeros((1, 1, 3), np.uint8)),
        InvalidImageError,
        r"image is 1×1 pixels; stylezoo needs at least 2×2",
    ),
    api(
        "1x1-file",
        lambda c: c.t.translate(c.image("dot.png", 1, 1)),
        InvalidImageError,
        r"dot\.png is 1×1 pixels",
    ),
    api(
        "empty-tensor",
        lambda c: c.t.translate(torch.zeros(3, 0, 8)),
        InvalidImageError,
        r"8×0 pixels",
    ),
    api(
        "huge-image-100mb-free",
        huge_image_with_100_mb_free,
        ImageTooLargeError,
        r"4000×3000 image needs about .* but only 100\.0 MiB is free\. "
        r"Downscale it first \(about \d+×\d+ would fit",
        seconds=10,
    ),
    api(
        "out-of-memory-in-the-forward-pass",
        out_of_memory_during_the_forward_pass,
        ImageTooLargeError,
        r"Translating a 20×16 image ran out of memory on cpu \(RuntimeError: DefaultCPUAllocator",
    ),
    cmd(
        "cli-huge-image-100mb-free",
        huge_file_cli,
        None,
        r"huge\.png: A 4000×3000 image needs about",
        code=1,
        leftovers=("out/huge.png",),
        seconds=15,
    ),
    # numpy arrays
    api(
        "numpy-ndim-1",
        lambda c: c.t.translate(np.zeros(8, np.uint8)),
        InvalidImageError,
        r"numpy array of shape \(8,\); expected HW",
    ),
    api(
        "numpy-ndim-4",
        lambda c: c.t.translate(np.zeros((2, 8, 8, 3), np.uint8)),
        InvalidImageError,
        r"shape \(2, 8, 8, 3\)",
    ),
    api(
        "numpy-complex",
        lambda c: c.t.translate(np.zeros((8, 8, 3), np.complex64)),
        InvalidImageError,
        r"dtype complex64",
    ),
    api(
        "numpy-object",
        lambda c: c.t.translate(np.zeros((8, 8, 3), object)),
        InvalidImageError,
        r"dtype object",
    ),
    api(
        "numpy-int64-out-of-range",
        lambda c: c.t.translate(np.arange(-5, 187, dtype=np.int64).reshape(8, 8, 3) * 6),
        InvalidImageError,
        r"dtype int64 \(values -30…1116\)",
    ),
    api(
        "numpy-2-channels-raw-call",
        lambda c: c.t(torch.rand(1, 2, 8, 8)),
        InvalidImageError,
        r"takes 3-channel batches; got 2 channels",
    ),
    api(
        "numpy-5-channels",
        lambda c: c.t.translate(np.zeros((8, 8, 5), np.uint8)),
        InvalidImageError,
        r"shape \(8, 8, 5\)",
    ),
    api(
        "numpy-nan",
        lambda c: c.t.translate(np.full((8, 8, 3), np.nan, np.float32)),
        InvalidImageError,
        r"contains NaN or infinite values",
    ),
    api(
        "numpy-inf",
        lambda c: c.t.translate(np.full((8, 8, 3), np.inf)),
        InvalidImageError,
        r"NaN or infinite",
    ),
    api(
        "numpy-floats-0-255",
        lambda c: c.t.translate(sample_rgb(8, 8).astype(np.float32)),
        InvalidImageError,
        r"values from \d+ to \d+; float images must lie in \[0, 1\].*divide by 255",
    ),
    api(
        "numpy-negative-floats",
        lambda c: c.t.translate(np.full((8, 8, 3), -0.5)),
        InvalidImageError,
        r"values from -0\.5 to -0\.5",
    ),
    # tensors
    api(
        "tensor-nan",
        lambda c: c.t.translate(torch.full((3, 8, 8), float("nan"))),
        InvalidImageError,
        r"contains NaN",
    ),
    api(
        "tensor-out-of-range",
        lambda c: c.t.translate(torch.full((3, 8, 8), 2.0)),
        InvalidImageError,
        r"values from 2 to 2",
    ),
    api(
        "tensor-raw-call-inf",
        lambda c: c.t(torch.full((1, 3, 8, 8), float("inf"))),
        InvalidImageError,
        r"batch of shape \(1, 3, 8, 8\) contains NaN or infinite",
    ),
    api(
        "tensor-wrong-shape",
        lambda c: c.t.translate(torch.zeros(5, 8, 8)),
        InvalidImageError,
        r"tensor of shape \(5, 8, 8\); expected CHW or NCHW",
    ),
    api(
        "tensor-5d",
        lambda c: c.t.translate(torch.zeros(1, 1, 3, 8, 8)),
        InvalidImageError,
        r"shape \(1, 1, 3, 8, 8\)",
    ),
    api(
        "tensor-batch-of-2",
        lambda c: c.t.translate(torch.zeros(2, 3, 8, 8)),
        InvalidImageError,
        r"batch of 2 images",
    ),
    api(
        "tensor-int-dtype",
        lambda c: c.t.translate(torch.zeros(3, 8, 8, dtype=torch.int64)),
        InvalidImageError,
        r"torch\.int64 tensor; pass floats",
    ),
    api(
        "tensor-complex",
        lambda c: c.t.translate(torch.zeros(3, 8, 8, dtype=torch.complex64)),
        InvalidImageError,
        r"complex64",
    ),
    api(
        "tensor-meta",
        lambda c: c.t.translate(torch.zeros(3, 8, 8, device="meta")),
        InvalidImageError,
        r"meta device, which holds no values",
    ),
    api(
        "tensor-raw-call-meta",
        lambda c: c.t(torch.zeros(1, 3, 8, 8, device="meta")),
        InvalidImageError,
        r"meta device",
    ),
    api(
        "tensor-raw-call-3d",
        lambda c: c.t(torch.rand(3, 8, 8)),
        InvalidImageError,
        r"NCHW float tensor",
    ),
    api(
        "tensor-sparse",
        lambda c: c.t.translate(torch.rand(3, 8, 8).to_sparse()),
        InvalidImageError,
        r"sparse_coo tensor; pass a dense one",
    ),
    api(
        "not-an-image",
        lambda c: c.t.translate({"not": "an image"}),
        InvalidImageError,
        r"type dict",
    ),
    api(
        "batch-size-string",
        lambda c: c.t.translate([sample_rgb(8, 8)], batch_size="2"),
        InvalidOptionError,
        r"batch_size must be a positive integer, got '2'",
    ),
    api(
        "batch-size-zero",
        lambda c: c.t.translate([sample_rgb(8, 8)], batch_size=0),
        InvalidOptionError,
        r"batch_size must be at least 1",
    ),
    # model names and checkpoints
    api(
        "typo-model-name",
        lambda c: stylezoo.load("cyclegan/hors2zebra"),
        UnknownModelError,
        r"Unknown model 'cyclegan/hors2zebra'\. Did you mean 'cyclegan/horse2zebra'",
    ),
    cmd(
        "cli-typo-model-name",
        lambda c: ["info", "cyclegan/hors2zebra"],
        UnknownModelError,
        r"error: Unknown model 'cyclegan/hors2zebra'\. Did you mean 'cyclegan/horse2zebra'",
    ),
    cmd(
        "cli-typo-family",
        lambda c: ["convert", "cyclegn", c.write("g.pth", c.assets.pth), "-o", c.tmp / "out"],
        UnknownFamilyError,
        r"model family 'cyclegn' \(installed families: .*cyclegan",
        leftovers=("out",),
    ),
    api(
        "model-dir-missing",
        lambda c: stylezoo.load(c.tmp / "no" / "model"),
        InvalidModelDirectoryError,
        r"model' does not exist",
    ),
    api(
        "wrong-family-checkpoint",
        lambda c: stylezoo.convert(
            "cyclegan", c.write("candy.pth", c.assets.fast_style_pth), c.tmp / "out"
        ),
        WeightsError,
        r"These weights belong to a 'fast_style' model, not 'cyclegan'.*"
        r"stylezoo convert fast_style",
        leftovers=("out",),
    ),
    cmd(
        "cli-wrong-family-checkpoint",
        lambda c: [
            "convert",
            "cyclegan",
            c.write("candy.pth", c.assets.fast_style_pth),
            "-o",
            c.tmp / "out",
        ],
        WeightsError,
        r"error: These weights belong to a 'fast_style' model",
        leftovers=("out",),
    ),
    api(
        "not-a-checkpoint",
        lambda c: stylezoo.convert("cyclegan", c.write("notes.pth", "hello"), c.tmp / "out"),
        CheckpointError,
        r"notes\.pth' could not be read as a PyTorch checkpoint",
        leftovers=("out",),
    ),
    api(
        "pickle-that-runs-code",
        evil_pickle,
        CheckpointError,
        r"exploit\.pth' could not be read as a PyTorch checkpoint",
        leftovers=("out", "MARKER"),
    ),
    api(
        "torch-save-that-runs-code",
        evil_torch_save,
        CheckpointError,
        r"exploit-zip\.pth' could not be read",
        leftovers=("out", "MARKER"),
    ),
    api(
        "checkpoint-not-a-state-dict",
        lambda c: stylezoo.convert(
            "cyclegan", c.write("list.pth", _saved([torch.zeros(1)])), c.tmp / "out"
        ),
        CheckpointError,
        r"list\.pth' does not hold a plain state dict",
        leftovers=("out",),
    ),
    api(
        "checkpoint-is-a-directory",
        lambda c: stylezoo.convert("cyclegan", c.tmp, c.tmp / "out"),
        CheckpointError,
        r"is a directory; pass the official weights file",
        leftovers=("out",),
    ),
    api(
        "checkpoint-missing",
        lambda c: stylezoo.convert("cyclegan", c.tmp / "nope.pth", c.tmp / "out"),
        CheckpointError,
        r"nope\.pth' \(model\) does not exist",
        leftovers=("out",),
    ),
    api(
        "multi-role-family-single-file",
        lambda c: stylezoo.convert("adain", c.write("vgg.pth", c.assets.pth), c.tmp / "out"),
        InvalidOptionError,
        r"adain family has several weight files \(encoder, decoder\)",
        leftovers=("out",),
    ),
    # saved model directories
    api(
        "safetensors-truncated",
        weights_edit(truncated),
        WeightsError,
        r"model\.safetensors' is not a readable safetensors file.*truncated",
    ),
    api(
        "safetensors-bit-flipped",
        weights_edit(flip_one_data_bit),
        WeightsError,
        r"model\.safetensors' does not match the sha256 that config\.json records",
    ),
    api(
        "safetensors-header-flipped",
        weights_edit(lambda d: flip(d, 12, 8)),
        WeightsError,
        r"model\.safetensors'",
    ),
    api(
        "safetensors-missing",
        lambda c: stylezoo.load(c.model_copy(lambda d: (d / "model.safetensors").unlink())),
        InvalidModelDirectoryError,
        r"has no model\.safetensors",
    ),
    api(
        "config-missing",
        lambda c: stylezoo.load(c.model_copy(lambda d: (d / "config.json").unlink())),
        InvalidModelDirectoryError,
        r"model' has no config\.json",
    ),
    api(
        "config-garbled",
        config_text("{not json"),
        InvalidModelDirectoryError,
        r"config\.json' is not a valid stylezoo config \(not readable JSON",
    ),
    api(
        "config-binary",
        config_text(b"\xff\xfe{}"),
        InvalidModelDirectoryError,
        r"config\.json' is not a valid stylezoo config",
    ),
    api(
        "config-an-array",
        config_text("[1, 2]"),
        InvalidModelDirectoryError,
        r"config\.json' .*holds a JSON array, not an object",
    ),
    api(
        "config-deeply-nested",
        config_text("[" * 100_000),
        InvalidModelDirectoryError,
        r"config\.json' is not a valid stylezoo config",
    ),
    api(
        "config-family-3",
        lambda c: stylezoo.load(c.config_edit(family=3)),
        InvalidModelDirectoryError,
        r"config\.json' .*'family' must be a string, got 3",
    ),
    api(
        "config-config-list",
        lambda c: stylezoo.load(c.config_edit(config=[])),
        InvalidModelDirectoryError,
        r"config\.json' .*'config' must be a JSON object, got \[\]",
    ),
    api(
        "config-io-multiple-x",
        lambda c: stylezoo.load(c.config_edit(io={"multiple": "x"})),
        InvalidModelDirectoryError,
        r"config\.json' .*'io': io multiple must be a positive integer, got 'x'",
    ),
    api(
        "config-io-range-text",
        lambda c: stylezoo.load(c.config_edit(io={"range": "ab"})),
        InvalidModelDirectoryError,
        r"config\.json' .*'io' 'range' must be \[low, high\]",
    ),
    api(
        "config-provenance-list",
        lambda c: stylezoo.load(c.config_edit(provenance=[])),
        InvalidModelDirectoryError,
        r"'provenance' must be a JSON object",
    ),
    api(
        "config-weights-digest-garbled",
        lambda c: stylezoo.load(c.config_edit(weights={"model": "x"})),
        InvalidModelDirectoryError,
        r"'weights' 'model' must be",
    ),
    api(
        "config-option-wrong-type",
        lambda c: stylezoo.load(c.config_edit(config={**SMALL, "ngf": "x"})),
        InvalidModelConfigError,
        r"config\.json' 'config': cyclegan config option 'ngf' must be an integer ≥ 1, got 'x'",
    ),
    api(
        "config-unknown-family",
        lambda c: stylezoo.load(c.config_edit(family="nope")),
        UnknownFamilyError,
        r"model family 'nope'",
    ),
    # outputs
    api(
        "convert-output-is-a-file",
        lambda c: stylezoo.convert(
            "cyclegan", c.write("g.pth", c.assets.pth), c.write("out.txt", "x"), config=SMALL
        ),
        InvalidModelDirectoryError,
        r"out\.txt' exists and is not a directory",
    ),
    cmd(
        "cli-convert-output-under-a-file",
        lambda c: [
            "convert",
            "cyclegan",
            c.write("g.pth", c.assets.pth),
            "-o",
            output_under_a_file(c),
            *SMALL_SET,
        ],
        OutputError,
        r"error: Cannot write the model directory '.*file\.txt/sub': it lies under '.*file\.txt', "
        r"which is a file",
    ),
    cmd(
        "cli-translate-output-is-a-file",
        lambda c: ["translate", c.assets.model, c.image(), "-o", c.write("out.txt", "x")],
        OutputError,
        r"error: -o '.*out\.txt': it is an existing file, not a folder",
    ),
    cmd(
        "cli-translate-output-under-a-file",
        lambda c: ["translate", c.assets.model, c.image(), "-o", output_under_a_file(c)],
        OutputError,
        r"error: -o '.*file\.txt/sub': it lies under '.*file\.txt', which is a file",
    ),
    cmd(
        "cli-translate-unwritable-folder",
        unwritable_folder,
        OutputError,
        r"error: -o '.*locked/out': '.*locked' is not writable",
        leftovers=("locked/out",),
        skip="root ignores permissions (see the under-a-file rows)"
        if ROOT_IGNORES_PERMISSIONS
        else None,
    ),
    cmd(
        "cli-translate-unwritable-folder-reported-by-the-os",
        unwritable_folder_as_the_os_reports_it,
        OutputError,
        r"error: -o '.*locked/out': '.*locked' is not writable",
        leftovers=("locked/out",),
    ),
    cmd(
        "cli-translate-folder-into-itself",
        folder_into_itself,
        OutputError,
        r"error: -o '.*photos' is the input folder",
        after=folder_unchanged,
    ),
    api(
        "save-into-non-empty-directory",
        lambda c: c.t.save_pretrained(c.write("full/x.txt", "x").parent),
        InvalidModelDirectoryError,
        r"full' already exists and is not empty",
    ),
    cmd(
        "cli-translate-no-images",
        lambda c: ["translate", c.assets.model, style_dir(c), "-o", c.tmp / "out"],
        StylezooError,
        r"error: No images found in",
        leftovers=("out",),
    ),
    # network
    api(
        "offline-uncached-name",
        lambda c: stylezoo.load("cyclegan/horse2zebra"),
        OfflineError,
        r"'cyclegan/horse2zebra' are not on this machine .*HF_HUB_OFFLINE=1",
        seconds=1.0,
    ),
    api(
        "offline-uncached-hub-id",
        lambda c: stylezoo.load("hf-hub:org/never-downloaded"),
        OfflineError,
        r"'config\.json' of hf-hub:org/never-downloaded is not in the cache",
        seconds=1.0,
    ),
    cmd(
        "cli-offline-download",
        offline_download_cli,
        OfflineError,
        r"error: The weights of 'cyclegan/horse2zebra' are not on this machine",
        seconds=1.0,
    ),
    api(
        "unreachable-upstream",
        unreachable_upstream,
        DownloadError,
        r"Could not download http://127\.0\.0\.1:\d+/checkpoints/x\.pth after 3 attempts "
        r".*Connection refused",
        seconds=5,
        after=no_downloads_left,
    ),
    api(
        "unreachable-hub",
        unreachable_hub,
        DownloadError,
        r"The Hub \(http://127\.0\.0\.1:\d+\) cannot be reached \(.*Connection refused\) "
        r"and hf-hub:org/unreachable is not in the cache",
        seconds=5,
    ),
    api(
        "upstream-404",
        upstream_404,
        DownloadError,
        r"/not/there\.pth answered HTTP 404",
        seconds=5,
        after=no_downloads_left,
    ),
    api(
        "upstream-corrupt-twice",
        upstream_corrupt_twice,
        IntegrityError,
        r"/good\.pth does not match its published hash.*twice in a row",
        seconds=5,
        after=no_downloads_left,
    ),
    # AdaIN styles
    api(
        "adain-without-style",
        lambda c: c.assets.adain.translate(sample_rgb(32, 32)),
        InvalidOptionError,
        r"AdaIN needs a style image: pass style=",
    ),
    api(
        "adain-style-directory",
        style(style_dir),
        InvalidOptionError,
        r"style: '.*styles' is a directory, not an image file",
    ),
    api(
        "adain-style-2x2",
        style(tiny_style, style_size=None),
        InvalidImageError,
        r"style is 2×2 pixels after resizing; AdaIN needs a style with a side longer than 8",
    ),
    api(
        "adain-style-not-a-file",
        style(lambda c: "starry_night_not_here.jpg"),
        InvalidOptionError,
        r"style: Image file 'starry_night_not_here\.jpg' does not exist",
    ),
    api(
        "adain-style-wrong-type",
        style(lambda c: 3.5),
        InvalidOptionError,
        r"style must be an image .*got float",
    ),
    cmd(
        "cli-adain-without-style",
        lambda c: ["translate", c.assets.family_model("adain"), c.image(), "-o", c.tmp / "out"],
        InvalidOptionError,
        r"error: AdaIN needs a style image",
        leftovers=("out",),
    ),
    cmd(
        "cli-adain-style-not-a-file",
        lambda c: [
            "translate",
            c.assets.family_model("adain"),
            c.image(),
            "-o",
            c.tmp / "out",
            "--option",
            "style=nothere.jpg",
        ],
        InvalidOptionError,
        r"error: style: Image file 'nothere\.jpg' does not exist",
        leftovers=("out",),
    ),
    # devices and dtypes
    api(
        "device-cuda-absent",
        lambda c: stylezoo.load(c.assets.model, device="cuda:0"),
        DeviceError,
        r"Device 'cuda:0' was requested but CUDA is not available",
        skip="CUDA is present" if HAS_CUDA else None,
    ),
    api(
        "device-gpu",
        lambda c: stylezoo.load(c.assets.model, device="gpu"),
        DeviceError,
        r"Unknown device 'gpu'; use 'auto', 'cpu'",
    ),
    api(
        "device-meta",
        lambda c: stylezoo.load(c.assets.model, device="meta"),
        DeviceError,
        r"Device 'meta' holds no data",
    ),
    api(
        "device-absent-backend",
        lambda c: stylezoo.load(c.assets.model, device="xpu"),
        DeviceError,
        r"Device 'xpu' \(xpu\) is not available here",
        skip="an XPU is present" if hasattr(torch, "xpu") and torch.xpu.is_available() else None,
    ),
    api(
        "dtype-int8",
        lambda c: stylezoo.load(c.assets.model, dtype="int8"),
        DeviceError,
        r"Unknown dtype 'int8'; use 'float32', 'bfloat16' or 'float16'",
    ),
    api(
        "dtype-float64-name",
        lambda c: stylezoo.load(c.assets.model, dtype="float64"),
        DeviceError,
        r"Unknown dtype 'float64'",
    ),
    api(
        "dtype-torch-int8",
        lambda c: stylezoo.load(c.assets.model, dtype=torch.int8),
        DeviceError,
        r"torch\.int8 is not a floating dtype",
    ),
    api("move-to-gpu-string", lambda c: c.t.to("gpu"), DeviceError, r"Unknown device 'gpu'"),
    api(
        "device-map-unknown-role",
        lambda c: stylezoo.load(c.assets.model, device_map={"decoder": "cpu"}),
        InvalidOptionError,
        r"device_map names role\(s\) \['decoder'\], but this model has roles \['model'\]",
    ),
    cmd(
        "cli-device-gpu",
        lambda c: ["translate", c.assets.model, c.image(), "-o", c.tmp / "out", "--device", "gpu"],
        DeviceError,
        r"error: Unknown device 'gpu'",
        leftovers=("out",),
    ),
    cmd(
        "cli-device-cuda-absent",
        lambda c: [
            "translate",
            c.assets.model,
            c.image(),
            "-o",
            c.tmp / "out",
            "--device",
            "cuda:0",
        ],
        DeviceError,
        r"error: Device 'cuda:0' was requested but CUDA is not available",
        leftovers=("out",),
        skip="CUDA is present" if HAS_CUDA else None,
    ),
    cmd(
        "cli-dtype-int8",
        lambda c: ["translate", c.assets.model, c.image(), "-o", c.tmp / "out", "--dtype", "int8"],
        None,
        r"error: argument --dtype: invalid choice: 'int8'",
        leftovers=("out",),
    ),
    cmd(
        "cli-dtype-float64",
        lambda c: [
            "translate",
            c.assets.model,
            c.image(),
            "-o",
            c.tmp / "out",
            "--dtype",
            "float64",
        ],
        None,
        r"error: argument --dtype: invalid choice: 'float64'",
        leftovers=("out",),
    ),
    # command-line settings
    cmd(
        "cli-set-netg-unet",
        lambda c: [
            "convert",
            "cyclegan",
            c.write("g.pth", c.assets.pth),
            "-o",
            c.tmp / "out",
            "--set",
            "netG=unet",
        ],
        InvalidOptionError,
        r"error: cyclegan config option 'netG' must be one of 'resnet_9blocks', "
        r"'resnet_6blocks', got 'unet'",
        leftovers=("out",),
    ),
    cmd(
        "cli-set-python-true-for-an-int",
        lambda c: [
            "convert",
            "cyclegan",
            c.write("g.pth", c.assets.pth),
            "-o",
            c.tmp / "out",
            "--set",
            "ngf=True",
        ],
        InvalidOptionError,
        r"'ngf' must be an integer ≥ 1, got True \(bool\)",
        leftovers=("out",),
    ),
    cmd(
        "cli-set-without-equals",
        lambda c: [
            "convert",
            "cyclegan",
            c.write("g.pth", c.assets.pth),
            "-o",
            c.tmp / "out",
            "--set",
            "ngf",
        ],
        InvalidOptionError,
        r"error: --set expects KEY=VALUE .*got 'ngf'",
        leftovers=("out",),
    ),
    cmd(
        "cli-option-without-equals",
        lambda c: ["translate", c.assets.model, c.image(), "-o", c.tmp / "out", "--option", "=1"],
        InvalidOptionError,
        r"error: --option expects KEY=VALUE",
        leftovers=("out",),
    ),
    cmd(
        "cli-unknown-command",
        lambda c: ["translat", "x"],
        None,
        r"error: argument command: invalid choice: 'translat'",
    ),
    # plugins
    cmd(
        "broken-plugin",
        broken_plugin,
        None,
        r"FAILED broken \(register_families\): RuntimeError: the broken plugin exploded",
        code=1,
        after=others_keep_working,
    ),
    api(
        "plugin-build-raises",
        lambda c: plugin_model(c, Exploding(), {"w": torch.zeros(1)}),
        PluginError,
        r"The exploding family \(plugin .*\) failed to build its networks: "
        r"ValueError: no networks today",
    ),
    api(
        "plugin-translator-raises",
        lambda c: plugin_model(
            c, NoTranslator(), {"weight": torch.zeros(3, 3, 1, 1), "bias": torch.zeros(3)}
        ),
        PluginError,
        r"The notranslator family .* failed to make its translator: "
        r"RuntimeError: translator exploded",
    ),
    *family_rows(),
]


@pytest.fixture
def ctx(
    assets: Assets, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Ctx:
    return Ctx(tmp=tmp_path, assets=assets, request=request, monkeypatch=monkeypatch)


@pytest.fixture
def created(monkeypatch: pytest.MonkeyPatch) -> list[StylezooError]:
    """Every StylezooError constructed during the test, to check what the CLI caught."""
    seen: list[StylezooError] = []

    def recording_init(self: StylezooError, *args: Any) -> None:
        seen.append(self)
        super(StylezooError, self).__init__(*args)

    monkeypatch.setattr(StylezooError, "__init__", recording_init)
    return seen


def test_the_matrix_is_large_enough() -> None:
    assert len(ROWS) >= 45
    assert len({row.id for row in ROWS}) == len(ROWS)
    assert sum(row.cli for row in ROWS) >= 15


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_bad_input(row: Row, ctx: Ctx, created: list[StylezooError], capsys) -> None:
    if row.skip:
        pytest.skip(row.skip)
    started = time.perf_counter()
    if row.cli:
        code = cli.main([str(arg) for arg in row.provoke(ctx)])
        elapsed = time.perf_counter() - started
        out, err = capsys.readouterr()
        assert code == row.code, out + err
        assert "Traceback" not in out + err
        assert re.search(r"(?m)^(\S.*: )?error: \S", err), err
        assert re.search(row.match, out + err), out + err
        if row.error is not None:
            caught = [e for e in created if cli._one_line(e) in err]
            assert any(isinstance(e, row.error) for e in caught), (created, err)
    else:
        with pytest.raises(row.error) as raised:
            row.provoke(ctx)
        elapsed = time.perf_counter() - started
        assert re.search(row.match, str(raised.value)), str(raised.value)
    if row.seconds is not None:
        assert elapsed < row.seconds, f"took {elapsed:.2f} s"
    left = [name for name in row.leftovers if (ctx.tmp / name).exists()]
    assert left == [], f"left behind: {left}"
    staging = [p.name for p in ctx.tmp.glob(".*") if ".partial-" in p.name or p.is_dir()]
    assert staging == [], f"temporary files left behind: {staging}"
    if row.after is not None:
        row.after(ctx)


# -- interrupted folder runs -------------------------------------------------------------------
@pytest.mark.parametrize(
    "interruption, code", [(KeyboardInterrupt, 130), (RuntimeError, 3)], ids=["ctrl-c", "crash"]
)
def test_an_interrupted_run_leaves_complete_files_and_resumes_with_skip_existing(
    interruption: type[BaseException],
    code: int,
    assets: Assets,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys,
) -> None:
    photos, out = tmp_path / "photos", tmp_path / "out"
    photos.mkdir()
    for index, name in enumerate(["a.png", "b.png", "c.png"]):
        Image.fromarray(sample_rgb(20, 24, seed=index)).save(photos / name)
    real_save = Image.Image.save
    saves: list[Path] = []

    def save_then_fail(image: Image.Image, target: Any, *args: Any, **kwargs: Any) -> None:
        saves.append(Path(target))
        if len(saves) == 2:  # half-way through writing the second image
            Path(target).write_bytes(assets.png[:100])
            raise interruption("stopped")
        real_save(image, target, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", save_then_fail)
    argv = ["translate", str(assets.model), str(photos), "-o", str(out), "-q"]
    assert cli.main(argv) == code
    assert "Traceback" not in capsys.readouterr().err
    # Only the first output exists, complete; no partial file, under any name.
    assert sorted(p.name for p in out.iterdir()) == ["a.png"]
    assert saves[1].name.startswith(".b.png.partial-") and not saves[1].exists()
    with Image.open(out / "a.png") as first:
        first.load()
        assert first.size == (24, 20)
    first_bytes = (out / "a.png").read_bytes()

    monkeypatch.setattr(Image.Image, "save", real_save)
    translated: list[Any] = []
    real_call = ImageTranslator._call_prepared

    def counting(self: ImageTranslator, batch: Any, options: Any) -> Any:
        translated.extend(batch)  # the CLI batches prepared images (one each here)
        return real_call(self, batch, options)

    monkeypatch.setattr(ImageTranslator, "_call_prepared", counting)
    assert (
        cli.main(["translate", str(assets.model), str(photos), "-o", str(out), "--skip-existing"])
        == 0
    )
    stdout = capsys.readouterr().out
    assert "skipped 1 of 3 image(s): their output already exists" in stdout
    assert "translated 2 images" in stdout
    assert len(translated) == 2
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "c.png"]
    assert (out / "a.png").read_bytes() == first_bytes  # untouched


# -- trust on first download -------------------------------------------------------------------
def _tofu_record(name: str, url: str, member: str | None = None) -> stylezoo.Record:
    source = {"url": url, **({"member": member} if member else {})}  # no sha256 published
    return stylezoo.Record(name=name, family="cyclegan", config=SMALL, upstream={"model": source})


def _state_bytes(seed: int) -> bytes:
    return _saved(random_translator("cyclegan", SMALL, seed=seed).state_dicts()["model"])


def test_files_without_a_published_sha256_are_trusted_on_first_download(
    fresh_plugins: Any, loopback_upstream: LoopbackUpstream
) -> None:
    """The design: once a download has converted, its digest (and its archive's) is stored
    under <cache>/digests/. A cached copy whose bytes change is re-fetched; a server that
    later serves different bytes is refused with IntegrityError naming the stored digest."""
    first, second = _state_bytes(1), _state_bytes(2)
    members = {"m/a/latest_net_G.pth": first, "m/b/latest_net_G.pth": second}
    archive_url = loopback_upstream.add_tar("models.tar", members)
    plain_url = loopback_upstream.add_file("plain.pth", first)
    stylezoo.plugin_manager().register(
        InProcessPlugin(
            records=[
                _tofu_record("cyclegan/tofu-a", archive_url, "m/a/latest_net_G.pth"),
                _tofu_record("cyclegan/tofu-b", archive_url, "m/b/latest_net_G.pth"),
                _tofu_record("cyclegan/tofu-plain", plain_url),
            ]
        )
    )
    reference = stylezoo.load("cyclegan/tofu-a")
    assert loopback_upstream.count("GET") == 1
    digests = sorted(p.name for p in (cache_root() / "digests").rglob("*.sha256"))
    assert len(digests) == 2 and any(name.endswith("models.tar.sha256") for name in digests)

    # 1. The cached archive is damaged: its next use notices and downloads it again.
    (archive,) = (cache_root() / "downloads").glob("*models.tar")
    archive.write_bytes(flip(archive.read_bytes(), 600))
    assert stylezoo.load("cyclegan/tofu-b").translate(sample_rgb(16, 16)).shape == (16, 16, 3)
    assert loopback_upstream.count("GET") == 2

    # 2. The server later serves another archive: refused, naming the stored digest.
    shutil.rmtree(cache_root() / "models")
    archive.unlink()
    loopback_upstream.add_tar("models.tar", {"m/a/latest_net_G.pth": second})
    with pytest.raises(
        IntegrityError, match=r"models\.tar does not match the sha256 recorded when"
    ):
        stylezoo.load("cyclegan/tofu-a")
    assert loopback_upstream.count("GET") == 4  # the cached copy and one fresh download
    loopback_upstream.add_tar("models.tar", members)  # the original again: trusted again
    loaded = stylezoo.load("cyclegan/tofu-a")
    assert torch.equal(
        loaded.state_dicts()["model"]["model.1.weight"],
        reference.state_dicts()["model"]["model.1.weight"],
    )

    # 3. A plain file is converted and deleted; the digest stays and guards re-downloads.
    stylezoo.load("cyclegan/tofu-plain")
    shutil.rmtree(cache_root() / "models" / "cyclegan--tofu-plain")
    loopback_upstream.add_file("plain.pth", second)
    with pytest.raises(IntegrityError, match=r"plain\.pth does not match the sha256 recorded"):
        stylezoo.load("cyclegan/tofu-plain")
    leftovers = [p for p in (cache_root() / "downloads").glob("*plain.pth*")]
    assert leftovers == [p for p in leftovers if p.suffix == ".lock"]


# -- the memory estimate -----------------------------------------------------------------------
def test_memory_estimate_grows_with_the_image_and_stays_near_the_real_peak(assets: Assets) -> None:
    translator = assets.translator
    small = translator.estimate_peak_memory((1, 3, 64, 64), {})
    large = translator.estimate_peak_memory((1, 3, 128, 128), {})
    assert small is not None and large is not None
    assert 3 < large / small < 5  # activations scale with the pixels
    # The networks' largest activation (ngf=4 channels at full size, float32) is a floor.
    assert large >= 4 * 128 * 128 * 4


def test_memory_is_not_estimated_when_plenty_is_free_nor_refused_when_unknown(
    assets: Assets, monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_run(*args: Any) -> int:
        raise AssertionError("estimated although the input cannot run out of memory")

    monkeypatch.setattr(ImageTranslator, "estimate_peak_memory", must_not_run)
    monkeypatch.setattr(devices, "available_memory", lambda device: 1 << 40)
    assert assets.translator.translate(sample_rgb(40, 40)).shape == (40, 40, 3)
    monkeypatch.setattr(devices, "available_memory", lambda device: None)
    assert assets.translator.translate(sample_rgb(40, 40)).shape == (40, 40, 3)


def test_free_memory_is_known_on_linux() -> None:
    free = devices.available_memory(torch.device("cpu"))
    if os.path.exists("/proc/meminfo"):
        assert isinstance(free, int) and free > 0


def test_every_error_class_is_documented_with_an_example() -> None:
    import inspect

    from stylezoo import errors

    classes = {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, StylezooError)
    }
    page = (Path(__file__).resolve().parents[1] / "docs" / "errors.md").read_text()
    sections = dict(re.findall(r"(?ms)^## `(\w+)`\n(.*?)(?=^## |\Z)", page))
    assert classes <= set(sections), sorted(classes - set(sections))
    for name in classes:
        assert "```" in sections[name] and "Fix" in sections[name], name
        assert name in page.split("## ")[0], f"{name} is missing from the hierarchy"


def test_offline_failure_is_immediate_in_a_fresh_process(tmp_path: Path) -> None:
    """Not even `import torch` (about 2 s) stands between an offline miss and its error."""
    import subprocess
    import sys

    script = (
        "import sys, time; import stylezoo\n"
        "started = time.perf_counter()\n"
        "try:\n"
        "    stylezoo.load('cyclegan/horse2zebra')\n"
        "except stylezoo.OfflineError:\n"
        "    print(time.perf_counter() - started, 'torch' in sys.modules)\n"
    )
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "STYLEZOO_CACHE": str(tmp_path / "cache"),
        "HF_HOME": str(tmp_path / "hf"),
    }
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    seconds, torch_imported = result.stdout.split()
    assert float(seconds) < 1.0 and torch_imported == "False", result.stdout + result.stderr
