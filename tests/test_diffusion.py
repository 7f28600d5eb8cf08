"""The diffusion family with tiny, randomly initialised Stable Diffusion parts (built here
from configs, nothing downloaded): loaded through the loopback Hub like a real record, run
as an ordinary translator, and checked against diffusers' own pipelines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from conftest import go_offline
from loopback_hub import LoopbackHub
from PIL import Image

import stylezoo
from stylezoo.testing import InProcessPlugin, requires_gpu, sample_rgb

diffusers = pytest.importorskip("diffusers")
transformers = pytest.importorskip("transformers")

REPO = "tiny-org/tiny-sd"
MAX_TOKENS = 16


def tiny_pipeline_files(pipeline: str, seed: int = 0) -> dict[str, bytes]:
    """The files of a tiny diffusers pipeline repository, as the Hub holds real ones."""
    import tempfile

    torch.manual_seed(seed)
    unet = diffusers.UNet2DConditionModel(
        sample_size=8,
        in_channels=8 if pipeline == "instruct-pix2pix" else 4,
        out_channels=4,
        layers_per_block=1,
        block_out_channels=(8, 16),
        norm_num_groups=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=8,
        attention_head_dim=2,
    )
    vae = diffusers.AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2,
        block_out_channels=(8, 16),
        latent_channels=4,
        norm_num_groups=4,
        layers_per_block=1,
    )
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    vocab.update({c: len(vocab) + i for i, c in enumerate(letters)})
    vocab.update({c + "</w>": len(vocab) + i for i, c in enumerate(letters)})
    text_encoder = transformers.CLIPTextModel(
        transformers.CLIPTextConfig(
            vocab_size=len(vocab),
            hidden_size=8,
            intermediate_size=16,
            num_attention_heads=2,
            num_hidden_layers=1,
            max_position_embeddings=MAX_TOKENS,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
        )
    )
    if pipeline == "instruct-pix2pix":
        scheduler: Any = diffusers.EulerAncestralDiscreteScheduler(
            beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012
        )
    else:
        scheduler = diffusers.PNDMScheduler(
            beta_schedule="scaled_linear",
            beta_start=0.00085,
            beta_end=0.012,
            skip_prk_steps=True,
            steps_offset=1,
        )
    files = {
        "tokenizer/vocab.json": json.dumps(vocab).encode(),
        "tokenizer/merges.txt": b"#version: 0.2\n",
        "tokenizer/tokenizer_config.json": json.dumps(
            {"model_max_length": MAX_TOKENS, "tokenizer_class": "CLIPTokenizer"}
        ).encode(),
        "model_index.json": b"{}",
    }
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        unet.save_pretrained(root / "unet")
        vae.save_pretrained(root / "vae")
        text_encoder.save_pretrained(root / "text_encoder")
        scheduler.save_config(root / "scheduler")
        for path in root.rglob("*"):
            if path.is_file():
                files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


@pytest.fixture(autouse=True)
def _one_thread() -> Any:
    """The parts are tiny: one thread is faster than several synchronising on every op
    (much faster on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def diffusion_record(pipeline: str, revision: str) -> stylezoo.Record:
    return stylezoo.Record(
        name=f"diffusion/tiny-{pipeline}",
        family="diffusion",
        description="tiny random parts",
        config={"pipeline": pipeline},
        hub={"repo": REPO, "revision": revision},
        license="mit",
        paper="arXiv:2211.09800",
    )


@pytest.fixture(scope="module")
def repo_files() -> dict[str, dict[str, bytes]]:
    return {name: tiny_pipeline_files(name) for name in ("instruct-pix2pix", "img2img")}


@pytest.fixture
def hub_model(loopback_hub: LoopbackHub, repo_files, fresh_plugins) -> Any:
    """Commit a tiny pipeline to the loopback Hub and register a record pinned to it."""

    def publish(pipeline: str = "instruct-pix2pix") -> str:
        commit = loopback_hub.commit(REPO, repo_files[pipeline])
        record = diffusion_record(pipeline, commit)
        stylezoo.plugin_manager().register(InProcessPlugin(records=[record]))
        return record.name

    return publish


@pytest.fixture
def pix2pix(hub_model) -> Any:
    return stylezoo.load(hub_model("instruct-pix2pix"))


PROMPT = {"prompt": "make it red", "steps": 2}


def test_loads_from_the_hub_then_offline(hub_model, loopback_hub, monkeypatch) -> None:
    name = hub_model("instruct-pix2pix")
    translator = stylezoo.load(name)
    assert type(translator).__name__ == "InstructPix2PixTranslator"
    assert set(translator.networks) == {"unet", "vae", "text_encoder"}
    assert translator.device.type == "cpu" and translator.dtype == torch.float32
    # The safety checker and anything else the record does not need was never asked for.
    asked = {r.path for r in loopback_hub.requests if "/resolve/" in r.path}
    assert not any("model_index" in path or "safety" in path for path in asked)
    go_offline(monkeypatch)
    again = stylezoo.load(name)
    image = sample_rgb(32, 32)
    assert np.array_equal(translator.translate(image, **PROMPT), again.translate(image, **PROMPT))


def test_offline_without_a_cached_copy_says_how_to_download(fresh_plugins) -> None:
    record = diffusion_record("instruct-pix2pix", "a" * 40)
    stylezoo.plugin_manager().register(InProcessPlugin(records=[record]))
    with pytest.raises(stylezoo.OfflineError, match="stylezoo download diffusion/tiny"):
        stylezoo.load(record.name)


def test_a_corrupted_weights_file_is_refused(hub_model, loopback_hub, repo_files) -> None:
    files = dict(repo_files["instruct-pix2pix"])
    data = bytearray(files["vae/diffusion_pytorch_model.safetensors"])
    data[-1] ^= 1
    commit = loopback_hub.commit(REPO, files)
    # The Hub names the blob by the sha256 of the real file; the server sends other bytes.
    loopback_hub.blobs[__import__("hashlib").sha256(bytes(data)).hexdigest()] = bytes(data)
    record = diffusion_record("instruct-pix2pix", commit)
    record = stylezoo.Record(
        **{**record.__dict__, "hub": {**record.hub, "sha256": {"vae": "0" * 64}}}
    )
    stylezoo.plugin_manager().register(InProcessPlugin(records=[record]))
    with pytest.raises(stylezoo.IntegrityError, match="vae"):
        stylezoo.load(record.name)


def test_kinds_sizes_grayscale_alpha(pix2pix, tmp_path: Path) -> None:
    rgb = sample_rgb(30, 37)  # not multiples of 8: padded for the VAE, cropped back
    pil = pix2pix.translate(Image.fromarray(rgb), **PROMPT)
    assert pil.size == (37, 30) and pil.mode == "RGB"
    array = pix2pix.translate(rgb, **PROMPT)
    assert array.shape == rgb.shape and array.dtype == np.uint8
    assert np.array_equal(np.asarray(pil), array)
    chw = torch.from_numpy(rgb).permute(2, 0, 1).float() / 255
    out = pix2pix.translate(chw, **PROMPT)
    assert out.shape == chw.shape and out.dtype == torch.float32
    gray = pix2pix.translate(Image.fromarray(rgb).convert("L"), **PROMPT)
    assert gray.mode == "L" and gray.size == (37, 30)
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 77, np.uint8)])
    out_rgba = pix2pix.translate(Image.fromarray(rgba, "RGBA"), **PROMPT)
    assert out_rgba.mode == "RGBA" and np.all(np.asarray(out_rgba)[..., 3] == 77)
    path = tmp_path / "in.png"
    Image.fromarray(rgb).save(path)
    assert np.array_equal(np.asarray(pix2pix.translate(path, **PROMPT)), array)


def test_batch_equals_loop_of_singles_and_seed_matters(pix2pix) -> None:
    images = [torch.from_numpy(sample_rgb(24, 32, seed=s)).permute(2, 0, 1) / 255 for s in (1, 2)]
    batch = pix2pix(torch.stack(images), **PROMPT)
    singles = torch.cat([pix2pix(image[None], **PROMPT) for image in images])
    torch.testing.assert_close(batch, singles, atol=1e-5, rtol=0)
    listed = pix2pix.translate(images, batch_size=2, **PROMPT)
    torch.testing.assert_close(torch.stack(listed), singles, atol=1e-5, rtol=0)
    other_seed = pix2pix(images[0][None], **{**PROMPT, "seed": 7})
    assert not torch.allclose(other_seed, singles[:1])
    other_prompt = pix2pix(images[0][None], **{**PROMPT, "prompt": "zzz"})
    assert not torch.allclose(other_prompt, singles[:1])


def test_options_are_checked(pix2pix) -> None:
    image = sample_rgb(16, 16)
    with pytest.raises(stylezoo.InvalidOptionError, match="needs a prompt"):
        pix2pix.translate(image)
    with pytest.raises(stylezoo.InvalidOptionError, match="strength"):
        pix2pix.translate(image, prompt="x", strength=0.5)  # an img2img option
    with pytest.raises(stylezoo.InvalidOptionError, match="steps"):
        pix2pix.translate(image, prompt="x", steps=0)
    defaults = {k: o.default for k, o in type(pix2pix).options.items()}
    assert defaults["text_guidance"] == 7.5 and defaults["image_guidance"] == 1.5


def test_progress_is_reported_per_step(pix2pix) -> None:
    seen: list[tuple[int, int]] = []
    pix2pix.progress = lambda step, total: seen.append((step, total))
    pix2pix.translate(sample_rgb(16, 16), prompt="x", steps=3)
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_instruct_pix2pix_matches_the_diffusers_pipeline(pix2pix) -> None:
    """Same parts, same seed: stylezoo's loop gives diffusers' pixels."""
    image = torch.from_numpy(sample_rgb(32, 40)).permute(2, 0, 1)[None].float() / 255
    ours = pix2pix(image, prompt="make it red", steps=3, seed=5, negative_prompt="blur")
    pipeline = diffusers.StableDiffusionInstructPix2PixPipeline(
        vae=pix2pix.networks["vae"],
        text_encoder=pix2pix.networks["text_encoder"],
        tokenizer=pix2pix.tokenizer,
        unet=pix2pix.networks["unet"],
        scheduler=pix2pix.fresh_scheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.set_progress_bar_config(disable=True)
    theirs = pipeline(
        "make it red",
        image=image,
        num_inference_steps=3,
        negative_prompt="blur",
        generator=torch.Generator().manual_seed(5),
        output_type="pt",
    ).images
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0)


def test_img2img_matches_the_diffusers_pipeline(hub_model) -> None:
    translator = stylezoo.load(hub_model("img2img"))
    assert type(translator).__name__ == "Img2ImgTranslator"
    image = torch.from_numpy(sample_rgb(32, 32)).permute(2, 0, 1)[None].float() / 255
    options = {"prompt": "an oil painting", "strength": 0.6, "steps": 5, "seed": 3}
    ours = translator(image, **options)
    pipeline = diffusers.StableDiffusionImg2ImgPipeline(
        vae=translator.networks["vae"],
        text_encoder=translator.networks["text_encoder"],
        tokenizer=translator.tokenizer,
        unet=translator.networks["unet"],
        scheduler=translator.fresh_scheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.set_progress_bar_config(disable=True)
    theirs = pipeline(
        "an oil painting",
        image=image,
        strength=0.6,
        num_inference_steps=5,
        generator=torch.Generator().manual_seed(3),
        output_type="pt",
    ).images
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0)
    # strength 0 keeps nothing to denoise: refused clearly
    with pytest.raises(stylezoo.InvalidOptionError, match="strength"):
        translator(image, prompt="x", strength=0.0)


def test_save_and_load_round_trip(pix2pix, tmp_path: Path) -> None:
    directory = pix2pix.save_pretrained(tmp_path / "saved")
    assert (directory / "config.json").is_file() and (directory / "README.md").is_file()
    loaded = stylezoo.load(directory)
    for role, state in pix2pix.state_dicts().items():
        reloaded = loaded.state_dicts()[role]
        assert state.keys() == reloaded.keys()
        assert all(torch.equal(value, reloaded[key]) for key, value in state.items())
    image = sample_rgb(24, 24)
    assert np.array_equal(pix2pix.translate(image, **PROMPT), loaded.translate(image, **PROMPT))


def test_dtype_and_device_map(hub_model) -> None:
    name = hub_model("instruct-pix2pix")
    reference = stylezoo.load(name).translate(sample_rgb(16, 24), **PROMPT).astype(np.float32)
    low = stylezoo.load(name, dtype="bfloat16")
    assert low.dtype == torch.bfloat16
    result = low.translate(sample_rgb(16, 24), **PROMPT).astype(np.float32)
    assert result.shape == reference.shape and np.abs(result - reference).mean() < 12
    placed = stylezoo.load(name, device_map={"text_encoder": "cpu", "vae": "cpu"})
    assert {n.device.type for n in placed.networks.values()} == {"cpu"}
    with pytest.raises(stylezoo.InvalidOptionError, match="safety_checker"):
        stylezoo.load(name, device_map={"safety_checker": "cpu"})


def test_cli_translates_with_a_progress_bar(hub_model, tmp_path: Path, capsys) -> None:
    from stylezoo.cli import main

    name = hub_model("instruct-pix2pix")
    source = tmp_path / "photo.png"
    Image.fromarray(sample_rgb(20, 28)).save(source)
    code = main(
        [
            "translate",
            name,
            str(source),
            "-o",
            str(tmp_path / "out"),
            "--option",
            "prompt=make it red",
            "--option",
            "steps=2",
        ]
    )
    assert code == 0
    assert Image.open(tmp_path / "out" / "photo.png").size == (28, 20)
    err = capsys.readouterr().err
    assert "0/2 [" in err and "step/s" in err  # the step bar (cleared when done)
    assert "Loading weights" not in err  # the libraries' own bars are kept quiet


def test_missing_diffusers_is_a_clear_error(monkeypatch, hub_model) -> None:
    import builtins

    name = hub_model("instruct-pix2pix")
    real_import = builtins.__import__

    def no_diffusers(module: str, *args: Any, **kwargs: Any) -> Any:
        if module.split(".")[0] == "diffusers":
            raise ImportError("No module named 'diffusers'", name="diffusers")
        return real_import(module, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_diffusers)
    with pytest.raises(stylezoo.StylezooError, match=r'pip install "stylezoo\[diffusion\]"'):
        stylezoo.load(name)


@requires_gpu
def test_runs_on_cuda_in_float16(hub_model) -> None:
    name = hub_model("instruct-pix2pix")
    reference = stylezoo.load(name).translate(sample_rgb(64, 64), **PROMPT).astype(np.float32)
    on_gpu = stylezoo.load(name, device="cuda", dtype="float16")
    assert on_gpu.device.type == "cuda" and on_gpu.dtype == torch.float16
    result = on_gpu.translate(sample_rgb(64, 64), **PROMPT).astype(np.float32)
    assert np.abs(result - reference).mean() < 3  # CPU generators: the same noise on CUDA
    split = stylezoo.load(name, device_map={"unet": "cuda", "vae": "cpu", "text_encoder": "cpu"})
    assert split.networks["unet"].device.type == "cuda"
    assert split.networks["vae"].device.type == "cpu"
    mixed = split.translate(sample_rgb(64, 64), **PROMPT).astype(np.float32)
    assert np.abs(mixed - reference).max() <= 2


def test_download_then_load_offline(hub_model, monkeypatch) -> None:
    name = hub_model("instruct-pix2pix")
    directory = stylezoo.download(name)
    assert (directory / "unet" / "diffusion_pytorch_model.safetensors").is_file()
    assert not (directory / "model_index.json").exists()  # only what the family needs
    go_offline(monkeypatch)
    assert stylezoo.load(name).spec.name == name


def test_a_saved_directory_pushed_to_the_hub_loads_as_hf_hub(
    pix2pix, loopback_hub: LoopbackHub, tmp_path: Path
) -> None:
    directory = pix2pix.save_pretrained(tmp_path / "saved")
    files = {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in directory.rglob("*")
        if path.is_file()
    }
    loopback_hub.commit("someone/tiny-edit", files)
    loaded = stylezoo.load("hf-hub:someone/tiny-edit")
    assert type(loaded).__name__ == "InstructPix2PixTranslator"
    image = sample_rgb(16, 16)
    assert np.array_equal(pix2pix.translate(image, **PROMPT), loaded.translate(image, **PROMPT))


def test_memory_estimate_does_not_break_a_forward_pass(pix2pix) -> None:
    options = pix2pix._prepare(PROMPT)
    peak = pix2pix.estimate_peak_memory((1, 3, 64, 64), options)
    assert peak is None or peak > 0  # measured on the meta device, or no estimate
    out = pix2pix(torch.rand(1, 3, 64, 64), **PROMPT)  # the real pass is unaffected
    assert out.shape == (1, 3, 64, 64)
