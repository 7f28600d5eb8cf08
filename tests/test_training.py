"""Training: every trainable family fits and exports, runs resume exactly (also after a
SIGKILL mid-checkpoint), bad data fails before any compute, NaN stops the run, and a short
pix2pix run measurably learns a known transform."""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import stylezoo
from stylezoo.errors import InvalidDataError, InvalidOptionError, StylezooError, TrainingError
from stylezoo.training import BaseTrainer, Callback, Trainer

TINY_CYCLEGAN = ({"ngf": 4, "netG": "resnet_6blocks"}, {"ndf": 4, "load_size": 28, "crop_size": 24})


def _photos(size: int = 40) -> list[np.ndarray]:
    import skimage.data as data

    names = ["astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "retina"]
    return [np.asarray(Image.fromarray(getattr(data, n)()).resize((size, size))) for n in names]


def known_transform(rgb: np.ndarray) -> np.ndarray:
    """Domain B: a channel permutation plus a gamma, a fixed colour transform."""
    x = rgb.astype(np.float64) / 255.0
    return np.round((x[..., [1, 2, 0]] ** 0.7) * 255.0).astype(np.uint8)


@pytest.fixture(scope="module")
def unpaired_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("unpaired")
    photos = _photos()
    for name in ("trainA", "trainB"):
        (root / name).mkdir()
    for i, photo in enumerate(photos[:3]):
        Image.fromarray(photo).save(root / "trainA" / f"{i}.png")
    for i, photo in enumerate(photos[3:]):  # B comes from other photos than A
        Image.fromarray(known_transform(photo)).save(root / "trainB" / f"{i}.jpg")
    return root


@pytest.fixture(scope="module")
def paired_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("paired")
    for i, photo in enumerate(_photos(64)[:5]):
        Image.fromarray(np.concatenate([photo, known_transform(photo)], 1)).save(root / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def style_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("style")
    (root / "content").mkdir()
    (root / "styles").mkdir()
    photos = _photos(48)
    for i, photo in enumerate(photos[:4]):
        Image.fromarray(photo).save(root / "content" / f"{i}.png")
    for i, photo in enumerate(photos[4:]):
        Image.fromarray(photo[::-1]).save(root / "styles" / f"{i}.png")
    return {
        "content": root / "content",
        "style": root / "styles" / "0.png",
        "styles": root / "styles",
    }


def _equal_weights(a: BaseTrainer, b: BaseTrainer) -> bool:
    for name, network in a.networks.items():
        other = b.networks[name].state_dict()
        for key, value in network.state_dict().items():
            if not torch.equal(value, other[key]):
                return False
    return True


# -- every family ---------------------------------------------------------------------------


def _family_cases(unpaired: Path, paired: Path, style: dict[str, object]) -> list:
    small_style = {"loss_network": "random:8", "load_size": 24, "crop_size": 16, "batch_size": 2}
    return [
        ("cyclegan", *TINY_CYCLEGAN, unpaired, ("model", "model-BA")),
        (
            "cut",
            {"ngf": 4, "netG": "resnet_6blocks"},
            {"ndf": 4, "load_size": 28, "crop_size": 24, "num_patches": 16, "netF_nc": 8},
            unpaired,
            ("model",),
        ),
        (
            "cut",
            {"ngf": 4, "netG": "resnet_6blocks"},
            {
                "mode": "fastcut",
                "ndf": 4,
                "load_size": 28,
                "crop_size": 24,
                "num_patches": 16,
                "netF_nc": 8,
            },
            unpaired,
            ("model",),
        ),
        (
            "pix2pix",
            {"netG": "unet_128", "ngf": 4},
            {"ndf": 4, "load_size": 136, "crop_size": 128},
            paired,
            ("model",),
        ),
        (
            "fast_style",
            {},
            small_style,
            {"content": style["content"], "style": style["style"]},
            ("model",),
        ),
        (
            "multistyle",
            {"channels": 8, "residual_blocks": 1},
            small_style,
            {"content": style["content"], "style": [style["style"], style["style"]]},
            ("model",),
        ),
        (
            "adain",
            {"width": 4},
            {"encoder": "random", "load_size": 40, "crop_size": 32, "batch_size": 2},
            {"content": style["content"], "style": style["styles"]},
            ("model",),
        ),
    ]


@pytest.mark.parametrize(
    "case",
    range(7),
    ids=["cyclegan", "cut", "fastcut", "pix2pix", "fast_style", "multistyle", "adain"],
)
def test_family_trains_saves_and_loads(case, unpaired_dir, paired_dir, style_data, tmp_path):
    family, config, hparams, data, exported = _family_cases(unpaired_dir, paired_dir, style_data)[
        case
    ]
    trainer = stylezoo.trainer(family, config, hparams, device="cpu", seed=1)
    assert isinstance(trainer, Trainer)
    result = trainer.fit(data, steps=2, out=tmp_path / "run", log_every=1, sample_every=1)
    assert (
        result.steps == 2
        and result.losses
        and all(math.isfinite(v) for v in result.losses.values())
    )
    assert [p.name for p in result.models] == list(exported)
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [line["step"] for line in log] == [1, 2]
    assert sorted(p.name for p in (tmp_path / "run" / "samples").iterdir()) == [
        "step_0000001.png",
        "step_0000002.png",
    ]
    model = stylezoo.load(tmp_path / "run" / "model")
    assert model.spec.family == family
    card = (tmp_path / "run" / "model" / "README.md").read_text()
    assert "## Training" in card and "steps: 2" in card and "wall time" in card
    photo = Image.fromarray(_photos(36)[0])
    options = {"style": photo} if family == "adain" else {}
    # the saved model and the trainer's live translator give the same picture
    saved = np.asarray(model.translate(photo, **options), dtype=np.int16)
    live = np.asarray(trainer.translator().translate(photo, **options), dtype=np.int16)
    assert saved.shape == (36, 36, 3)
    assert np.abs(saved - live).max() <= 1


def test_a_family_without_trainer_says_so():
    with pytest.raises(StylezooError, match="arbitrary family .* has no trainer"):
        stylezoo.trainer("arbitrary")


# -- resume ---------------------------------------------------------------------------------


class _StopAtCheckpoint(Callback):
    def on_checkpoint(self, trainer, path):
        raise KeyboardInterrupt


def test_stopped_and_resumed_equals_uninterrupted_bit_for_bit(unpaired_dir, tmp_path):
    hparams = {**TINY_CYCLEGAN[1], "pool_size": 2, "batch_size": 2}
    whole = stylezoo.trainer("cyclegan", TINY_CYCLEGAN[0], hparams, device="cpu", seed=3)
    whole.fit(unpaired_dir, steps=4, out=tmp_path / "whole", checkpoint_every=2)

    first = stylezoo.trainer("cyclegan", TINY_CYCLEGAN[0], hparams, device="cpu", seed=3)
    with pytest.raises(KeyboardInterrupt):
        first.fit(
            unpaired_dir,
            steps=4,
            out=tmp_path / "split",
            checkpoint_every=2,
            callbacks=[_StopAtCheckpoint()],
        )
    assert first.step == 2
    with pytest.raises(TrainingError, match="resume"):
        stylezoo.trainer("cyclegan", TINY_CYCLEGAN[0], hparams, device="cpu", seed=3).fit(
            unpaired_dir, steps=4, out=tmp_path / "split"
        )
    second = stylezoo.trainer("cyclegan", TINY_CYCLEGAN[0], hparams, device="cpu", seed=3)
    result = second.fit(
        unpaired_dir, steps=4, out=tmp_path / "split", resume=True, checkpoint_every=2
    )
    assert result.resumed_from == 2 and second.step == 4
    assert _equal_weights(whole, second)
    assert [len(p.images) for p in second.pools.values()] == [2, 2]


def test_resume_refuses_other_settings(unpaired_dir, tmp_path):
    trainer = stylezoo.trainer("cyclegan", *TINY_CYCLEGAN, device="cpu")
    trainer.fit(unpaired_dir, steps=1, out=tmp_path / "run")
    other = stylezoo.trainer(
        "cyclegan", TINY_CYCLEGAN[0], {**TINY_CYCLEGAN[1], "lr": 1e-3}, device="cpu"
    )
    with pytest.raises(TrainingError, match="hparams"):
        other.fit(unpaired_dir, steps=2, out=tmp_path / "run", resume=True)


_KILLED_RUN = """
import os, signal, sys, torch
import stylezoo

real_save, writes = torch.save, []

def save_then_die(obj, handle, *args, **kwargs):
    writes.append(1)
    if len(writes) == 2:  # the second checkpoint: write part of it, then die
        handle.write(b"partial checkpoint" * 100)
        handle.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    return real_save(obj, handle, *args, **kwargs)

torch.save = save_then_die
config, hparams = {config!r}, {hparams!r}
trainer = stylezoo.trainer("cyclegan", config, hparams, device="cpu", seed=5)
trainer.fit(sys.argv[1], steps=5, out=sys.argv[2], checkpoint_every=2)
"""


def test_resume_after_sigkill_while_writing_a_checkpoint(unpaired_dir, tmp_path):
    hparams = {**TINY_CYCLEGAN[1], "pool_size": 3}
    script = tmp_path / "killed.py"
    script.write_text(_KILLED_RUN.format(config=TINY_CYCLEGAN[0], hparams=hparams))
    run = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, str(script), str(unpaired_dir), str(run)], capture_output=True, timeout=300
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]
    leftovers = list((run / "checkpoints").glob(".last.pt.tmp-*"))
    assert len(leftovers) == 1  # the half-written file, never renamed over last.pt
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert state["step"] == 2

    resumed = stylezoo.trainer("cyclegan", TINY_CYCLEGAN[0], hparams, device="cpu", seed=5)
    result = resumed.fit(unpaired_dir, steps=5, out=run, resume=True, checkpoint_every=2)
    assert result.resumed_from == 2
    assert not list((run / "checkpoints").glob(".last.pt.tmp-*"))  # cleaned up
    whole = stylezoo.trainer("cyclegan", TINY_CYCLEGAN[0], hparams, device="cpu", seed=5)
    whole.fit(unpaired_dir, steps=5, out=tmp_path / "whole", checkpoint_every=2)
    assert _equal_weights(whole, resumed)


def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(unpaired_dir, tmp_path):
    trainer = stylezoo.trainer("cyclegan", *TINY_CYCLEGAN, device="cpu")
    real_step = trainer.train_step

    def poisoned(batch):
        losses = real_step(batch)
        if trainer.step == 2:  # the third step
            losses["cycle_A"] = losses["cycle_A"] * float("nan")
        return losses

    trainer.train_step = poisoned  # type: ignore[method-assign]
    with pytest.raises(TrainingError, match="cycle_A loss became nan at step 3"):
        trainer.fit(unpaired_dir, steps=5, out=tmp_path / "run", checkpoint_every=2)
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)
    assert state["step"] == 2
    assert not (tmp_path / "run" / "model").exists()


# -- data -----------------------------------------------------------------------------------


def test_data_problems_are_clear_errors_before_any_compute(tmp_path, unpaired_dir):
    trainer = stylezoo.trainer("cyclegan", *TINY_CYCLEGAN, device="cpu")
    (tmp_path / "empty" / "trainA").mkdir(parents=True)
    (tmp_path / "empty" / "trainB").mkdir()
    cases = [
        (tmp_path / "missing", "is not a folder"),
        (tmp_path / "empty", "holds no images"),
        ({"A": unpaired_dir / "trainA"}, "domain B is missing"),
    ]
    (tmp_path / "onlyA" / "trainA").mkdir(parents=True)
    cases.append((tmp_path / "onlyA", "no trainB/"))
    for data, message in cases:
        with pytest.raises(InvalidDataError, match=message):
            trainer.fit(data, steps=1, out=tmp_path / "out")
        assert not (tmp_path / "out" / "checkpoints").exists()
    with pytest.raises(InvalidOptionError, match="exactly one of steps= and epochs="):
        trainer.fit(unpaired_dir, out=tmp_path / "out")
    with pytest.raises(InvalidOptionError, match="crop_size 30"):
        stylezoo.trainer("cyclegan", TINY_CYCLEGAN[0], {"crop_size": 30}, device="cpu")
    with pytest.raises(InvalidOptionError, match="cyclegan training option"):
        stylezoo.trainer("cyclegan", TINY_CYCLEGAN[0], {"lamda_A": 1}, device="cpu")
    style = stylezoo.trainer("fast_style", {}, {"loss_network": "random:8"}, device="cpu")
    with pytest.raises(InvalidDataError, match="style image"):
        style.fit({"content": unpaired_dir / "trainA"}, steps=1)


def test_unreadable_images_are_skipped_with_a_warning_and_counted(tmp_path, unpaired_dir, caplog):
    root = tmp_path / "data"
    for name in ("trainA", "trainB"):
        (root / name).mkdir(parents=True)
        for file in (unpaired_dir / name).iterdir():
            (root / name / file.name).write_bytes(file.read_bytes())
    (root / "trainA" / "broken.png").write_bytes(b"not an image at all")
    trainer = stylezoo.trainer("cyclegan", *TINY_CYCLEGAN, device="cpu")
    with caplog.at_level(logging.WARNING, logger="stylezoo"):
        trainer.fit(root, steps=1, out=tmp_path / "run")
    warnings = [r for r in caplog.records if "broken.png" in r.getMessage()]
    assert len(warnings) == 1
    assert trainer.data_description["A"] == {"folder": "trainA", "images": 3, "skipped": 1}
    card = (tmp_path / "run" / "model" / "README.md").read_text()
    assert "folder `trainA`, 3 images, 1 unreadable skipped" in card


def test_same_seed_same_data_stream_whatever_the_workers(unpaired_dir):
    trainer = stylezoo.trainer("cyclegan", *TINY_CYCLEGAN, device="cpu", seed=9)
    dataset = trainer.dataset(unpaired_dir)
    loader = torch.utils.data.DataLoader(dataset, batch_size=3, num_workers=2)
    batched = next(iter(loader))
    for position in range(3):
        sample = dataset[position]
        assert torch.equal(sample["A"], batched["A"][position])
        assert torch.equal(sample["B"], batched["B"][position])
    other = stylezoo.trainer("cyclegan", *TINY_CYCLEGAN, device="cpu", seed=10).dataset(
        unpaired_dir
    )
    assert not all(torch.equal(dataset[p]["A"], other[p]["A"]) for p in range(6))


# -- learning -------------------------------------------------------------------------------


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


def test_a_short_pix2pix_run_learns_a_known_transform(paired_dir, tmp_path):
    trainer = stylezoo.trainer(
        "pix2pix",
        {"netG": "unet_128", "ngf": 4, "use_dropout": False},
        {"ndf": 8, "load_size": 128, "crop_size": 128, "flip": False, "lr": 1e-2},
        device="cpu",
        seed=0,
    )
    import skimage.data as data

    held_out = np.asarray(Image.fromarray(data.colorwheel()[..., :3]).resize((128, 128)))
    target = known_transform(held_out)
    before = _psnr(np.asarray(trainer.translator().translate(held_out)), target)
    trainer.fit(paired_dir, steps=30)
    after = _psnr(np.asarray(trainer.translator().translate(held_out)), target)
    identity = _psnr(held_out, target)
    # measured: 8.0 dB untrained, 7.8 dB for the identity, about 12.3 dB after 30 steps
    assert after > before + 3.0 and after > identity + 3.0, (before, after, identity)


# -- command line and processes ---------------------------------------------------------------


def test_cli_train_and_its_errors(unpaired_dir, tmp_path, capsys):
    from stylezoo.cli import main

    args = [
        "train",
        "cyclegan",
        "--data",
        str(unpaired_dir),
        "-o",
        str(tmp_path / "run"),
        "--steps",
        "1",
        "--config",
        "ngf=4",
        "--config",
        "netG=resnet_6blocks",
        "--set",
        "ndf=4",
        "--set",
        "crop_size=24",
        "--set",
        "load_size=28",
        "--workers",
        "0",
        "--device",
        "cpu",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "trained 1 steps" in out and str(tmp_path / "run" / "model") in out
    assert main(args) == 2  # the run exists: --resume or another folder
    assert "--resume" in capsys.readouterr().err
    resumed = [a if a != "1" else "2" for a in args] + ["--resume"]
    assert main(resumed) == 0
    assert "trained 2 steps" in capsys.readouterr().out
    assert (
        main(
            [
                "train",
                "cyclegan",
                "--data",
                str(tmp_path / "nope"),
                "-o",
                str(tmp_path / "x"),
                "--steps",
                "1",
            ]
        )
        == 2
    )
    assert "is not a folder" in capsys.readouterr().err
    assert main(["train", "cyclegan", "--hparams"]) == 0
    assert "lambda_identity = 0.5" in capsys.readouterr().out


_DDP_RUN = """
import os, sys, torch
import stylezoo
config, hparams = {config!r}, {hparams!r}
trainer = stylezoo.trainer("cyclegan", config, hparams, device="cpu", seed=2)
trainer.fit(sys.argv[1], steps=3, out=sys.argv[2])
torch.save({{n: m.state_dict() for n, m in trainer.networks.items()}},
           os.path.join(sys.argv[3], f"rank{{trainer.world.rank}}-of-{{trainer.world.size}}.pt"))
"""


@pytest.mark.slow
def test_two_processes_with_gloo_match_one_process_with_the_same_global_batch(
    unpaired_dir, tmp_path
):
    hparams = {**TINY_CYCLEGAN[1], "batch_size": 2, "pool_size": 0}
    script = tmp_path / "ddp.py"
    script.write_text(_DDP_RUN.format(config=TINY_CYCLEGAN[0], hparams=hparams))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    two = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_port",
            str(29500 + os.getpid() % 1000),
            str(script),
            str(unpaired_dir),
            str(tmp_path / "two"),
            str(tmp_path),
        ],
        capture_output=True,
        timeout=600,
        env=env,
    )
    assert two.returncode == 0, two.stderr.decode()[-3000:]
    one = subprocess.run(
        [sys.executable, str(script), str(unpaired_dir), str(tmp_path / "one"), str(tmp_path)],
        capture_output=True,
        timeout=600,
        env=env,
    )
    assert one.returncode == 0, one.stderr.decode()[-3000:]
    rank0, rank1, single = (
        torch.load(tmp_path / name, weights_only=True)
        for name in ("rank0-of-2.pt", "rank1-of-2.pt", "rank0-of-1.pt")
    )
    # the ranks end with identical weights (DDP averages gradients; same updates everywhere)
    for net in rank0:
        for key in rank0[net]:
            assert torch.equal(rank0[net][key], rank1[net][key]), (net, key)
    assert (tmp_path / "two" / "model" / "model.safetensors").exists()
    # ... and match one process with the same global batch. Adam turns float-level gradient
    # differences into ±lr steps where a gradient is ~0 (e.g. conv biases before instance
    # norm, which have no effect on outputs), so compare what the generators compute.
    x = torch.rand(2, 3, 24, 24) * 2 - 1
    for name in ("G_A", "G_B"):
        outputs = []
        for state in (rank0, single):
            net = stylezoo.get_family("cyclegan").build_networks(
                stylezoo.get_family("cyclegan").complete_config(TINY_CYCLEGAN[0])
            )["model"]
            net.load_state_dict(state[name])
            outputs.append(net.eval()(x))
        assert (outputs[0] - outputs[1]).abs().max() < 2e-3, name


def test_the_shipped_style_trained_here_keeps_the_other_26_bit_for_bit():
    added = stylezoo.load("multistyle/android-27")
    original = stylezoo.load("multistyle/android-26")
    assert added.styles == 27
    for name, value in original.networks["model"].state_dict().items():
        mine = added.networks["model"].state_dict()[name]
        if name.endswith((".gamma", ".beta")):
            assert torch.equal(mine[:26], value)
            assert not torch.equal(mine[26], value.mean(0))  # the new row was trained
        else:
            assert torch.equal(mine, value)
    photo = _photos(64)[0]
    assert np.array_equal(
        np.asarray(added.translate(photo, style=19)),
        np.asarray(original.translate(photo, style=19)),
    )
    trained = stylezoo.model_info("multistyle/android-27")["trained"]
    assert trained["started_from"] == "multistyle/android-26" and trained["steps"] == 80


class _LearningRates(Callback):
    def __init__(self) -> None:
        self.rates: list[float] = []

    def on_step_end(self, trainer, step, losses):
        self.rates.append(trainer.optimizers["G"].param_groups[0]["lr"])


def test_the_official_linear_decay_in_epochs(unpaired_dir):
    # upstream: factor after k finished epochs = 1 - max(0, k + 1 - n_epochs) / (n_decay + 1)
    hparams = {**TINY_CYCLEGAN[1], "n_epochs": 1, "n_epochs_decay": 2, "lr": 1e-3}
    trainer = stylezoo.trainer("cyclegan", TINY_CYCLEGAN[0], hparams, device="cpu")
    rates = _LearningRates()
    trainer.fit(unpaired_dir, epochs=3, callbacks=[rates])  # 3 images per epoch, batch 1
    expected = [1e-3] * 3 + [1e-3 * (1 - 1 / 3)] * 3 + [1e-3 * (1 - 2 / 3)] * 3
    assert rates.rates == pytest.approx(expected)
    # by epochs without the counts: the official 1:1 split over the epochs asked for
    other = stylezoo.trainer("cyclegan", *TINY_CYCLEGAN, device="cpu")
    assert other.linear_decay(100, epochs=10) == stylezoo.training.Schedule("epoch", 5, 5)
    assert other.linear_decay(100) == stylezoo.training.Schedule("step", 50, 50)
