"""The plugin passes stylezoo's own contracts: run with `python -m pytest` after installing."""

from stylezoo.testing import FamilyContract, TranslatorContract


class TestNegative(FamilyContract, TranslatorContract):
    family = "negative"
    options = {"strength": 0.5}


def test_the_trainer_learns_the_negative(tmp_path):
    """Train on photos and their negatives: the 1×1 conv becomes 1 − x."""
    import numpy as np
    from PIL import Image

    import stylezoo
    from stylezoo.testing import sample_rgb

    for folder in ("A", "B"):
        (tmp_path / folder).mkdir()
    for index in range(3):
        photo = sample_rgb(64, 64, seed=index)
        Image.fromarray(photo).save(tmp_path / "A" / f"{index}.png")
        Image.fromarray(255 - photo).save(tmp_path / "B" / f"{index}.png")
    trainer = stylezoo.trainer("negative", device="cpu", seed=0)
    result = trainer.fit(
        {"A": tmp_path / "A", "B": tmp_path / "B"}, steps=150, out=tmp_path / "run"
    )
    assert result.losses["L1"] < 0.04
    model = stylezoo.load(tmp_path / "run" / "model")
    photo = sample_rgb(40, 40, seed=7)
    out = np.asarray(model.translate(photo), dtype=np.int16)
    assert np.abs(out - (255 - photo.astype(np.int16))).mean() < 10  # an untrained conv: ~100
