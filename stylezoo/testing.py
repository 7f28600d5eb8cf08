"""Contract tests every family passes, for stylezoo's own plugins and third-party ones.

A pytest plugin: name it in your ``conftest.py`` (``pytest_plugins = ["stylezoo.testing"]``)
or import the mixins directly. It is never loaded by ``import stylezoo``, and needs pytest
(``pip install "stylezoo[test]"``). A third-party plugin reuses the contracts like this::

    from stylezoo.testing import FamilyContract, TranslatorContract

    class TestMyFamily(FamilyContract, TranslatorContract):
        family = "myfamily"
        config = {"width": 8}        # small, fast networks are fine
        options = {}                 # options passed to every translate() call

The mixins' tests run on CPU; CUDA checks run when a GPU is present.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

try:
    import pytest
except ImportError as exc:  # pragma: no cover - only without the test extra
    raise ImportError(
        'stylezoo.testing holds pytest contract tests; install pytest ("pip install '
        '"stylezoo[test]"") to use it.'
    ) from exc
import numpy as np
import torch
from PIL import Image

from .family import Family
from .hookspecs import hookimpl
from .registry import Record
from .translator import ImageTranslator, Translator

__all__ = [
    "FamilyContract",
    "InProcessPlugin",
    "TranslatorContract",
    "random_translator",
    "requires_gpu",
    "sample_rgb",
]


def random_translator(
    family: str,
    config: Mapping[str, Any] | None = None,
    *,
    seed: int = 0,
    device: Any = "cpu",
    dtype: Any = None,
    name: str = "",
) -> Translator:
    """A translator of ``family`` with randomly initialised weights (seeded)."""
    from .api import create_model

    return create_model(family, config, seed=seed, device=device, dtype=dtype, name=name)


def sample_rgb(height: int = 201, width: int = 299, seed: int = 0) -> np.ndarray:
    """A smooth, photo-like uint8 RGB image (gradients plus noise) of the given size."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack(
        [xx / max(width - 1, 1), yy / max(height - 1, 1), 0.5 + 0.5 * np.sin((xx + yy) / 17.0)],
        axis=-1,
    )
    noisy = base * 200 + rng.normal(0, 12, size=base.shape) + 20
    return np.clip(noisy, 0, 255).astype(np.uint8)


def _image_translator(translator: Translator) -> ImageTranslator:
    assert isinstance(translator, ImageTranslator), "families build on ImageTranslator"
    return translator


def _outputs_equal(a: Any, b: Any) -> bool:
    if isinstance(a, Image.Image):
        return (
            a.mode == b.mode and a.size == b.size and np.array_equal(np.asarray(a), np.asarray(b))
        )
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    return bool(np.array_equal(a, b))


class TranslatorContract:
    """Contract tests for a family's translator. Set ``family``, ``config`` and ``options``."""

    family: str = ""
    config: Mapping[str, Any] = {}
    options: Mapping[str, Any] = {}
    #: tolerance for comparing a batch with a loop of singles (float32, CPU)
    batch_atol: float = 1e-5

    @pytest.fixture
    def translator(self) -> ImageTranslator:
        return _image_translator(random_translator(self.family, self.config, seed=0))

    def _translate(self, translator: Translator, image: Any, **extra: Any) -> Any:
        return translator.translate(image, **{**self.options, **extra})

    def test_kinds_in_are_kinds_out(self, translator: Translator, tmp_path: Path) -> None:
        rgb = sample_rgb(64, 72)
        pil = self._translate(translator, Image.fromarray(rgb))
        assert isinstance(pil, Image.Image) and pil.mode == "RGB" and pil.size == (72, 64)
        array = self._translate(translator, rgb)
        assert isinstance(array, np.ndarray) and array.dtype == np.uint8
        assert array.shape == rgb.shape
        array16 = self._translate(translator, rgb.astype(np.uint16) * 257)
        assert array16.dtype == np.uint16 and array16.shape == rgb.shape
        floats = self._translate(translator, rgb.astype(np.float64) / 255)
        assert floats.dtype == np.float64 and 0 <= floats.min() and floats.max() <= 1
        chw = torch.from_numpy(rgb).permute(2, 0, 1).float() / 255
        out = self._translate(translator, chw)
        assert isinstance(out, torch.Tensor) and out.shape == chw.shape
        assert out.dtype == chw.dtype
        nchw = self._translate(translator, chw[None].double())
        assert nchw.shape == (1, *chw.shape) and nchw.dtype == torch.float64
        path = tmp_path / "input.png"
        Image.fromarray(rgb).save(path)
        from_path = self._translate(translator, path)
        assert isinstance(from_path, Image.Image) and from_path.size == (72, 64)
        # same pixels, whichever way the image came in
        assert np.array_equal(np.asarray(pil), array)
        assert np.array_equal(np.asarray(from_path), array)

    def test_odd_size_is_preserved(self, translator: Translator) -> None:
        out = self._translate(translator, Image.fromarray(sample_rgb(201, 299)))
        assert out.size == (299, 201)

    def test_grayscale_and_alpha(self, translator: Translator) -> None:
        rgb = sample_rgb(40, 52)
        gray = Image.fromarray(rgb).convert("L")
        out = self._translate(translator, gray)
        assert out.mode == "L" and out.size == gray.size
        gray_array = self._translate(translator, np.asarray(gray))
        assert gray_array.shape == (40, 52)
        rgba = np.dstack([rgb, np.linspace(0, 255, 52, dtype=np.uint8)[None].repeat(40, 0)])
        out_rgba = self._translate(translator, Image.fromarray(rgba, "RGBA"))
        assert out_rgba.mode == "RGBA"
        assert np.array_equal(np.asarray(out_rgba)[..., 3], rgba[..., 3])

    def test_batch_equals_loop_of_singles(self, translator: Translator) -> None:
        images = [
            torch.from_numpy(sample_rgb(36, 44, seed=s)).permute(2, 0, 1).float() / 255
            for s in range(3)
        ]
        batch = translator(torch.stack(images), **self.options)
        singles = torch.cat([translator(img[None], **self.options) for img in images])
        torch.testing.assert_close(batch, singles, atol=self.batch_atol, rtol=0)
        listed = translator.translate(images, batch_size=2, **self.options)
        torch.testing.assert_close(torch.stack(listed), singles, atol=self.batch_atol, rtol=0)

    def test_raw_call_keeps_acceptable_sizes_and_range(self, translator: Translator) -> None:
        multiple = translator.spec.io.multiple
        side = max(multiple, translator.spec.io.min_size) * 2
        x = torch.rand(2, 3, side, side)
        y = translator(x, **self.options)
        assert y.shape == x.shape and y.dtype == x.dtype
        assert float(y.min()) >= 0 and float(y.max()) <= 1

    def test_save_load_round_trip_is_bit_identical(
        self, translator: ImageTranslator, tmp_path: Path
    ) -> None:
        import stylezoo

        directory = translator.save_pretrained(tmp_path / "saved")
        assert (directory / "config.json").is_file() and (directory / "README.md").is_file()
        loaded = _image_translator(stylezoo.load(directory))
        for role, state in translator.state_dicts().items():
            reloaded = loaded.state_dicts()[role]
            assert state.keys() == reloaded.keys()
            for key, value in state.items():
                assert torch.equal(value, reloaded[key]), f"{role}.{key} changed"
        image = sample_rgb(40, 48)
        assert _outputs_equal(self._translate(translator, image), self._translate(loaded, image))

    def test_dtype_and_device_moves(self, translator: Translator) -> None:
        import copy

        image = sample_rgb(40, 48)
        reference = self._translate(translator, image).astype(np.float32)
        moved = copy.deepcopy(translator)
        assert moved.to("cpu", torch.bfloat16) is moved
        assert moved.dtype == torch.bfloat16 and moved.device.type == "cpu"
        low = self._translate(moved, image).astype(np.float32)
        assert low.shape == reference.shape
        # bfloat16 keeps about 3 significant digits: outputs stay close to float32
        assert np.abs(low - reference).mean() < 12
        moved.to(dtype="float32")
        assert moved.dtype == torch.float32
        if torch.cuda.is_available():
            on_gpu = copy.deepcopy(translator).to("cuda")
            assert on_gpu.device.type == "cuda"
            result = self._translate(on_gpu, image).astype(np.float32)
            assert np.abs(result - reference).max() <= 2

    def test_deterministic(self, translator: Translator) -> None:
        image = sample_rgb(40, 48)
        assert _outputs_equal(
            self._translate(translator, image), self._translate(translator, image)
        )

    def test_unknown_option_is_rejected(self, translator: Translator) -> None:
        import stylezoo

        with pytest.raises(stylezoo.InvalidOptionError, match="not_an_option"):
            self._translate(translator, sample_rgb(16, 16), not_an_option=1)

    def test_tiny_images_are_rejected_clearly(self, translator: Translator) -> None:
        import stylezoo

        with pytest.raises(stylezoo.InvalidImageError, match="1×1"):
            self._translate(translator, np.zeros((1, 1, 3), np.uint8))


requires_gpu = pytest.mark.skipif(
    not torch.cuda.is_available() and not os.environ.get("STYLEZOO_FORCE_GPU_TESTS"),
    reason="needs a CUDA device",
)


class InProcessPlugin:
    """Families and records registered in-process, e.g. records whose upstream URLs are
    loopback URLs::

        stylezoo.plugin_manager().register(InProcessPlugin(records=[record]))
    """

    def __init__(self, families: Iterable[Family] = (), records: Iterable[Record] = ()) -> None:
        self.families = list(families)
        self.records = list(records)

    @hookimpl
    def register_families(self, register: Any) -> None:
        for family in self.families:
            register(family)

    @hookimpl
    def register_records(self, register: Any) -> None:
        for record in self.records:
            register(record)


class FamilyContract:
    """Contract tests for a family's declarations. Set ``family`` and ``config``."""

    family: str = ""
    config: Mapping[str, Any] = {}

    @pytest.fixture
    def implementation(self) -> Family:
        from .plugins import get_family

        return get_family(self.family)

    def test_declarations(self, implementation: Family) -> None:
        assert implementation.name == self.family
        assert implementation.roles and len(set(implementation.roles)) == len(implementation.roles)
        assert implementation.plugin, "registered through a plugin hook"
        assert implementation.usage_example.strip()
        for name, option in implementation.config.items():
            assert option.help, f"config option {name!r} has no help text"

    def test_defaults_build_the_declared_roles_on_meta(self, implementation: Family) -> None:
        for config in ({}, self.config):
            full = implementation.complete_config(config)
            assert set(full) == set(implementation.config)
            with torch.device("meta"):
                networks = implementation.build_networks(full)
            assert set(networks) == set(implementation.roles)
            implementation.model_io(full)  # a valid IOSpec

    def test_unknown_and_mistyped_config_are_clear_errors(self, implementation: Family) -> None:
        import stylezoo

        with pytest.raises(stylezoo.InvalidOptionError, match="not_a_key"):
            implementation.complete_config({"not_a_key": 1})
        for name, option in implementation.config.items():
            if option.kind == "any":
                continue  # checked by the option's own function
            wrong: Any = object()
            with pytest.raises(stylezoo.InvalidOptionError, match=name):
                implementation.complete_config({name: wrong})
            assert implementation.complete_config({name: option.default})[name] == option.default

    def test_translator_options_are_declared(self, implementation: Family) -> None:
        translator = _image_translator(random_translator(self.family, self.config))
        for name, option in type(translator).options.items():
            assert option.help, f"translate option {name!r} has no help text"
