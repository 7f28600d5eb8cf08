"""The ``diffusion`` family: Stable Diffusion pipelines in diffusers' own layout.

Its models are not stored as ``config.json`` + one safetensors file per role but as a
diffusers pipeline directory (``unet/``, ``vae/``, ``text_encoder/``, ``tokenizer/``,
``scheduler/``), so the family sets ``own_layout`` and reads those files itself
(:meth:`Diffusion.load_model`). The core fetches them: Hub cache, offline mode, revision
pins and the checks of every weights file are the same as for any Hub copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from stylezoo import Family, Option
from stylezoo.errors import StylezooError

if TYPE_CHECKING:
    from torch import nn

    from stylezoo.family import ModelSpec
    from stylezoo.translator import Translator
    from stylezoo.weights.directory import LocalModel

#: The pipelines this family runs; the record's ``config.pipeline`` picks one.
PIPELINES = ("instruct-pix2pix", "img2img")

#: Every file a model needs, key → path in a diffusers pipeline directory. The three weight
#: roles come with their configs; the safety checker and feature extractor are not used.
#: The first file pins the Hub commit (and answers the reachability check): keep it small.
MODEL_FILES = {
    "unet_config": "unet/config.json",
    "unet": "unet/diffusion_pytorch_model.safetensors",
    "vae_config": "vae/config.json",
    "vae": "vae/diffusion_pytorch_model.safetensors",
    "text_encoder_config": "text_encoder/config.json",
    "text_encoder": "text_encoder/model.safetensors",
    "tokenizer_vocab": "tokenizer/vocab.json",
    "tokenizer_merges": "tokenizer/merges.txt",
    "tokenizer_config": "tokenizer/tokenizer_config.json",
    "scheduler_config": "scheduler/scheduler_config.json",
}


class Diffusion(Family):
    name = "diffusion"
    description = (
        "Text-guided image editing with Stable Diffusion (diffusers): instruct-pix2pix, img2img"
    )
    roles = ("unet", "vae", "text_encoder")
    config = {
        "pipeline": Option(
            "instruct-pix2pix",
            "instruct-pix2pix (edit by instruction) or img2img (re-draw towards a prompt)",
            choices=PIPELINES,
        ),
    }
    # The VAE works on multiples of 8 pixels: other sizes are reflect-padded and cropped back.
    io = {"range": [-1.0, 1.0], "multiple": 8, "min_size": 8}
    usage_example = 'result = translator.translate("photo.jpg", prompt="make it a watercolour")'
    converts = False
    own_layout = True

    def model_files(self, config: Mapping[str, Any]) -> Mapping[str, str]:
        return dict(MODEL_FILES)

    def build(self, config: Mapping[str, Any]) -> dict[str, nn.Module]:
        raise StylezooError(
            "Diffusion models are loaded from a diffusers pipeline's files, not built from a "
            "config: use stylezoo.load('diffusion/instruct-pix2pix') (or a directory saved "
            "by stylezoo)."
        )

    def load_model(
        self, model: LocalModel, *, device: Any = None, dtype: Any = None, device_map: Any = None
    ) -> Translator:
        from .model import load_pipeline_parts

        parts = load_pipeline_parts(model.files, device=device, dtype=dtype, device_map=device_map)
        return self.translator_from_parts(parts, model.spec)

    def translator(self, networks: dict[str, nn.Module], spec: ModelSpec) -> Translator:
        raise StylezooError(
            "Diffusion translators also need a tokenizer and a scheduler; load them with "
            "stylezoo.load(...)."
        )

    def translator_from_parts(self, parts: Any, spec: ModelSpec) -> Translator:
        from .translator import DiffusionTranslator, Img2ImgTranslator, InstructPix2PixTranslator

        kind: type[DiffusionTranslator] = InstructPix2PixTranslator
        if spec.config.get("pipeline") == "img2img":
            kind = Img2ImgTranslator
        return kind(
            parts.networks,
            spec,
            tokenizer=parts.tokenizer,
            scheduler=parts.scheduler,
            tokenizer_files=parts.tokenizer_files,
        )
