"""Ray Data: TranslateBatch in map_batches on a local Ray instance (two CPU actors).

Skipped when ray is not installed (``pip install "stylezoo[ray]"``; the test extra has it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

import stylezoo

ray = pytest.importorskip("ray", reason='needs ray: pip install "stylezoo[ray]"')
pytest.importorskip("ray.data", reason='needs ray[data]: pip install "stylezoo[ray]"')

from stylezoo.ray_data import TranslateBatch  # noqa: E402

MODEL = "multistyle/android-26"

# Ray Data's own settings object warns about its deprecated fields when it is copied.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A local Ray instance with 2 CPUs, shut down (its processes ended) after the tests."""
    root = tmp_path_factory.mktemp("ray")
    env = {
        "HF_HUB_OFFLINE": "1",
        "STYLEZOO_CACHE": str(root / "cache"),
        "HF_HOME": str(root / "hf"),
    }
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=150 * 1024**2,
        runtime_env={"env_vars": env},
        log_to_driver=False,
        configure_logging=False,
    )
    ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """Four real photos, two sizes, as PNG files in a folder."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name, size in (("astronaut", 64), ("chelsea", 64), ("coffee", 48), ("rocket", 48)):
        image = Image.fromarray(getattr(data, name)()).convert("RGB")
        image.resize((size + 16, size)).save(folder / f"{name}.png")
    return folder


@pytest.mark.slow  # starting Ray and two actors (torch in each) takes 10–20 s
def test_two_actors_write_parquet_that_matches_translate(
    local_ray: None, photos: Path, tmp_path: Path
) -> None:
    ds = ray.data.read_images(str(photos), include_paths=True, mode="RGB")
    out = tmp_path / "parquet"
    ds.map_batches(
        TranslateBatch,
        fn_constructor_kwargs={
            "model": MODEL,
            "options": {"style": 7},
            "device": "cpu",
            "output_column": "stylised",
            "threads": 1,
        },
        compute=ray.data.ActorPoolStrategy(size=2),
        # Half a CPU each: two whole-CPU actors would hold both CPUs and leave none for
        # reading the images (Ray then waits forever).
        num_cpus=0.5,
        batch_size=2,
    ).write_parquet(str(out))
    rows = ray.data.read_parquet(str(out)).take_all()
    assert {os.path.basename(row["path"]) for row in rows} == {
        "astronaut.png",
        "chelsea.png",
        "coffee.png",
        "rocket.png",
    }
    local = stylezoo.load(MODEL)
    for row in rows:
        original = np.asarray(Image.open(row["path"]).convert("RGB"))
        assert np.array_equal(row["image"], original)
        expected = local.translate(original, style=7)
        assert row["stylised"].shape == original.shape and row["stylised"].dtype == np.uint8
        # another thread count in the actors may round a few pixels the other way
        assert np.abs(row["stylised"].astype(int) - expected).max() <= 1


def test_a_batch_of_mixed_sizes_keeps_each_size() -> None:
    translate = TranslateBatch(MODEL, options={"style": 3}, device="cpu")
    images = np.empty(2, dtype=object)
    images[0], images[1] = data.astronaut()[:40, :56], data.coffee()[:48, :32]
    out = translate({"image": images, "id": np.arange(2)})
    assert [a.shape for a in out["image"]] == [(40, 56, 3), (48, 32, 3)]
    assert np.array_equal(out["id"], np.arange(2))


def test_a_missing_column_is_a_clear_error() -> None:
    translate = TranslateBatch(MODEL, column="pixels", device="cpu")
    with pytest.raises(stylezoo.InvalidImageError, match="no column 'pixels'.*image"):
        translate({"image": np.zeros((1, 16, 16, 3), np.uint8)})
