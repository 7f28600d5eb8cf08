"""The denoising loops of instruct-pix2pix and img2img, on stylezoo's translator base.

They follow diffusers' ``StableDiffusionInstructPix2PixPipeline`` and
``StableDiffusionImg2ImgPipeline`` step for step (the tests check the outputs agree), written
out here so that each part can sit on its own device (``device_map``), every image of a batch
gets its own seeded generator (a batch gives the pixels of a loop of singles), and steps are
reported to a progress callback.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from stylezoo import Option
from stylezoo.errors import InvalidModelDirectoryError, InvalidOptionError
from stylezoo.family import ModelSpec
from stylezoo.translator import ImageTranslator

#: Called after every denoising step with (steps done, steps in all).
ProgressCallback = Callable[[int, int], None]


class DiffusionTranslator(ImageTranslator):
    """What both pipelines share: text encoding, VAE encoding and decoding, seeding, saving.

    Attributes:
        progress: called after every denoising step with (steps done, total steps); the
            command line sets it to drive its progress bar. ``None``: nothing is reported.
    """

    options: ClassVar[Mapping[str, Option]] = {}
    # The pipelines' parts were built and checked on NCHW tensors; channels-last has not
    # been measured for them, so memory_format="auto" keeps NCHW.
    preferred_memory_format: ClassVar[str] = "contiguous"

    def __init__(
        self,
        networks: Mapping[str, nn.Module],
        spec: ModelSpec,
        *,
        tokenizer: Any,
        scheduler: Any,
        tokenizer_files: Mapping[str, Path],
    ) -> None:
        super().__init__(networks, spec)
        self.tokenizer = tokenizer
        self.tokenizer_files = dict(tokenizer_files)
        self.scheduler = scheduler
        self.progress: ProgressCallback | None = None

    def prepare_options(self, options: dict[str, Any]) -> dict[str, Any]:
        if not options.get("prompt"):
            raise InvalidOptionError(
                f"The {self.spec.name or self.spec.family} model needs a prompt: "
                "translate(image, prompt='...') (on the command line: --option prompt='...')."
            )
        return options

    # -- parts ------------------------------------------------------------------------------
    def part(self, role: str) -> Any:
        """The network ``role`` (a diffusers or transformers model)."""
        return self.networks[role]

    def _anchor(self, role: str) -> torch.Tensor:
        return next(self.networks[role].parameters())

    def encode_text(self, texts: list[str]) -> torch.Tensor:
        """CLIP embeddings of ``texts``, on the UNet's device and dtype."""
        tokens = self.tokenizer(
            texts,
            padding="max_length",
            max_length=self.tokenizer.model_max_length,
            truncation=True,
            return_tensors="pt",
        )
        encoder = self.part("text_encoder")
        anchor = self._anchor("text_encoder")
        mask = None
        if getattr(encoder.config, "use_attention_mask", False):
            mask = tokens.attention_mask.to(anchor.device)
        hidden = encoder(tokens.input_ids.to(anchor.device), attention_mask=mask)[0]
        unet = self._anchor("unet")
        return hidden.to(unet.device, unet.dtype)

    def encode_image(self, x: torch.Tensor) -> Any:
        """The VAE's latent distribution of ``x`` (in [-1, 1]), on the VAE's device."""
        anchor = self._anchor("vae")
        return self.part("vae").encode(x.to(anchor.device, anchor.dtype)).latent_dist

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        vae = self.part("vae")
        anchor = self._anchor("vae")
        scaled = latents.to(anchor.device, anchor.dtype) / vae.config.scaling_factor
        image: torch.Tensor = vae.decode(scaled).sample
        return image

    def generators(self, count: int, seed: int | None) -> list[torch.Generator]:
        """One CPU generator per image, each seeded with ``seed`` (a fresh seed if None), so
        the noise is the same on every device and an image's result does not depend on the
        batch it is in."""
        if seed is None:
            seed = int(torch.randint(0, 2**31 - 1, ()).item())
        return [torch.Generator("cpu").manual_seed(seed) for _ in range(count)]

    def fresh_scheduler(self) -> Any:
        """A scheduler of the model's kind and config, for one call (schedulers keep state)."""
        return type(self.scheduler).from_config(self.scheduler.config)

    def unet(self, latents: torch.Tensor, t: Any, embeddings: torch.Tensor) -> torch.Tensor:
        output: torch.Tensor = self.part("unet")(
            latents, t, encoder_hidden_states=embeddings
        ).sample
        return output

    def report(self, step: int, total: int) -> None:
        if self.progress is not None:
            self.progress(step, total)

    @staticmethod
    def step_options(scheduler: Any, generators: list[torch.Generator]) -> dict[str, Any]:
        accepted = set(inspect.signature(scheduler.step).parameters)
        extra: dict[str, Any] = {}
        if "eta" in accepted:
            extra["eta"] = 0.0
        if "generator" in accepted:
            extra["generator"] = generators
        return extra

    def noise(self, shape: tuple[int, ...], generators: list[torch.Generator]) -> torch.Tensor:
        from diffusers.utils.torch_utils import randn_tensor

        anchor = self._anchor("unet")
        noise: torch.Tensor = randn_tensor(
            shape, generator=generators, device=anchor.device, dtype=anchor.dtype
        )
        return noise

    # -- saving -----------------------------------------------------------------------------
    def save_pretrained(
        self, directory: str | os.PathLike[str], *, overwrite: bool = False
    ) -> Path:
        """Write the pipeline's parts in diffusers' layout plus stylezoo's ``config.json`` and
        model card; :func:`stylezoo.load` reads the directory back."""
        from stylezoo._version import __version__
        from stylezoo.card import model_card

        directory = Path(directory)
        if directory.exists() and any(directory.iterdir()) and not overwrite:
            raise InvalidModelDirectoryError(
                f"{str(directory)!r} already exists and is not empty. Choose another directory "
                "or pass overwrite=True."
            )
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
        try:
            for role in self.networks:
                self.part(role).save_pretrained(str(staging / role), safe_serialization=True)
            from .family import MODEL_FILES

            for key, path in self.tokenizer_files.items():  # the files as they came
                target = staging / MODEL_FILES[key]
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
            self.scheduler.save_config(str(staging / "scheduler"))
            spec = replace(self.spec, version=__version__)
            config = json.dumps(spec.to_json(), indent=2) + "\n"
            (staging / "config.json").write_text(config, encoding="utf-8")
            card = model_card(spec, list(self.networks))
            (staging / "README.md").write_text(card, encoding="utf-8")
            if directory.exists():
                shutil.rmtree(directory)
            staging.rename(directory)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        return directory


class InstructPix2PixTranslator(DiffusionTranslator):
    """instruct-pix2pix: the image is edited as the prompt instructs."""

    options: ClassVar[Mapping[str, Option]] = {
        "prompt": Option(None, "the edit instruction, e.g. 'make it look like winter'", kind="str"),
        "text_guidance": Option(
            7.5, "how strongly the result follows the instruction (1 = not guided)", minimum=0.0
        ),
        "image_guidance": Option(
            1.5, "how closely the result keeps to the input image (≥ 1 to guide)", minimum=0.0
        ),
        "steps": Option(20, "denoising steps", minimum=1, maximum=1000),
        "seed": Option(0, "seed of the noise (None: a fresh one every call)", nullable=True),
        "negative_prompt": Option("", "what the result should not look like"),
    }

    def forward(
        self,
        x: torch.Tensor,
        *,
        source: torch.Tensor,
        prompt: str,
        text_guidance: float,
        image_guidance: float,
        steps: int,
        seed: int | None,
        negative_prompt: str,
    ) -> torch.Tensor:
        count = x.shape[0]
        # As diffusers: guidance needs both scales (text > 1 and image ≥ 1).
        guided = text_guidance > 1.0 and image_guidance >= 1.0
        embeddings = self.encode_text([prompt] * count)
        image_latents = self.encode_image(x).mode()
        unet = self._anchor("unet")
        image_latents = image_latents.to(unet.device, unet.dtype)
        if guided:
            unconditional = self.encode_text([negative_prompt] * count)
            embeddings = torch.cat([embeddings, unconditional, unconditional])
            image_latents = torch.cat(
                [image_latents, image_latents, torch.zeros_like(image_latents)]
            )
        scheduler = self.fresh_scheduler()
        scheduler.set_timesteps(steps, device=unet.device)
        generators = self.generators(count, seed)
        channels = self.part("vae").config.latent_channels
        shape = (count, channels, *image_latents.shape[-2:])
        latents = self.noise(shape, generators) * scheduler.init_noise_sigma
        extra = self.step_options(scheduler, generators)
        timesteps = scheduler.timesteps
        for index, t in enumerate(timesteps):
            model_input = torch.cat([latents] * 3) if guided else latents
            model_input = scheduler.scale_model_input(model_input, t)
            model_input = torch.cat([model_input, image_latents], dim=1)
            noise = self.unet(model_input, t, embeddings)
            if guided:
                text, image, unconditional_noise = noise.chunk(3)
                noise = (
                    unconditional_noise
                    + text_guidance * (text - image)
                    + image_guidance * (image - unconditional_noise)
                )
            latents = scheduler.step(noise, t, latents, **extra).prev_sample
            self.report(index + 1, len(timesteps))
        return self.decode(latents).to(x.device, x.dtype)


class Img2ImgTranslator(DiffusionTranslator):
    """Stable Diffusion img2img (SDEdit): the image is noised and re-drawn towards the prompt."""

    options: ClassVar[Mapping[str, Option]] = {
        "prompt": Option(None, "what the result should show, e.g. 'an oil painting'", kind="str"),
        "strength": Option(
            0.8, "how much is re-drawn: 0 keeps the image, 1 ignores it", minimum=0.0, maximum=1.0
        ),
        "text_guidance": Option(
            7.5, "how strongly the result follows the prompt (1 = not guided)", minimum=0.0
        ),
        "steps": Option(50, "denoising steps at strength 1 (fewer are run below 1)", minimum=1),
        "seed": Option(0, "seed of the noise (None: a fresh one every call)", nullable=True),
        "negative_prompt": Option("", "what the result should not look like"),
    }

    def prepare_options(self, options: dict[str, Any]) -> dict[str, Any]:
        options = super().prepare_options(options)
        if int(options["steps"] * options["strength"]) < 1:
            raise InvalidOptionError(
                f"strength={options['strength']} of steps={options['steps']} runs no denoising "
                "step (strength × steps must be at least 1); raise strength or steps."
            )
        return options

    def forward(
        self,
        x: torch.Tensor,
        *,
        source: torch.Tensor,
        prompt: str,
        strength: float,
        text_guidance: float,
        steps: int,
        seed: int | None,
        negative_prompt: str,
    ) -> torch.Tensor:
        count = x.shape[0]
        guided = text_guidance > 1.0
        embeddings = self.encode_text([prompt] * count)
        if guided:
            embeddings = torch.cat([self.encode_text([negative_prompt] * count), embeddings])
        unet = self._anchor("unet")
        scheduler = self.fresh_scheduler()
        scheduler.set_timesteps(steps, device=unet.device)
        # The last `strength` of the schedule, as diffusers' img2img takes it.
        start = max(steps - min(int(steps * strength), steps), 0) * scheduler.order
        timesteps = scheduler.timesteps[start:]
        if hasattr(scheduler, "set_begin_index"):
            scheduler.set_begin_index(start)
        generators = self.generators(count, seed)
        distribution = self.encode_image(x)
        from diffusers.models.autoencoders.vae import DiagonalGaussianDistribution

        latents = torch.cat(
            [
                DiagonalGaussianDistribution(distribution.parameters[i : i + 1]).sample(g)
                for i, g in enumerate(generators)
            ]
        )
        scale = self.part("vae").config.scaling_factor
        latents = (latents * scale).to(unet.device, unet.dtype)
        noise = self.noise(tuple(latents.shape), generators)
        latents = scheduler.add_noise(latents, noise, timesteps[:1].repeat(count))
        extra = self.step_options(scheduler, generators)
        for index, t in enumerate(timesteps):
            model_input = torch.cat([latents] * 2) if guided else latents
            model_input = scheduler.scale_model_input(model_input, t)
            noise_prediction = self.unet(model_input, t, embeddings)
            if guided:
                unconditional, text = noise_prediction.chunk(2)
                noise_prediction = unconditional + text_guidance * (text - unconditional)
            latents = scheduler.step(noise_prediction, t, latents, **extra).prev_sample
            self.report(index + 1, len(timesteps))
        return self.decode(latents).to(x.device, x.dtype)
