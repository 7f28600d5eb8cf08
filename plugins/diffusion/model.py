"""A Stable Diffusion pipeline's parts, read from local files: UNet, VAE, CLIP text encoder,
tokenizer and scheduler.

The files arrive through stylezoo's sources (a Hub snapshot already checked, or a directory
saved by stylezoo); each part is then read by its own library's loader from that local
folder, never from a repository id, with safetensors only (no pickles).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stylezoo.errors import StylezooError, WeightsError

logger = logging.getLogger(__name__)

#: What to install when diffusers or transformers is missing.
DIFFUSION_EXTRA = 'pip install "stylezoo[diffusion]"'


class DiffusersMissingError(StylezooError, ImportError):
    """diffusers or transformers is not installed (an ImportError and a StylezooError)."""


def require_diffusers() -> tuple[Any, Any]:
    """The diffusers and transformers modules, or :class:`DiffusersMissingError`."""
    try:
        import diffusers
        import transformers
    except ImportError as exc:
        raise DiffusersMissingError(
            f"The diffusion family runs on diffusers and transformers ({exc.name or exc} is "
            f"missing): {DIFFUSION_EXTRA}."
        ) from exc
    return diffusers, transformers


@dataclass
class PipelineParts:
    """The loaded parts: ``networks`` (``unet``, ``vae``, ``text_encoder``), the tokenizer
    and the scheduler."""

    networks: dict[str, Any]
    tokenizer: Any
    scheduler: Any
    #: The tokenizer's own files (vocab, merges, config), copied as they are when saving.
    tokenizer_files: dict[str, Path]


def load_pipeline_parts(
    files: Mapping[str, Path], *, device: Any = None, dtype: Any = None, device_map: Any = None
) -> PipelineParts:
    """Read the parts from ``files`` (the keys of ``family.MODEL_FILES``) onto their devices.

    ``device_map`` places the three networks (``{"unet": "cuda:0", "text_encoder": "cpu"}``);
    the tokenizer and scheduler need no device.
    """
    from stylezoo.device_map import place_roles
    from stylezoo.devices import resolve_dtype

    diffusers, transformers = require_diffusers()
    roles = ("unet", "vae", "text_encoder")
    placement = place_roles(
        {role: files[role] for role in roles}, device=device, device_map=device_map
    )
    cast = resolve_dtype(dtype, placement["unet"])
    loaders = {
        "unet": diffusers.UNet2DConditionModel,
        "vae": diffusers.AutoencoderKL,
        "text_encoder": transformers.CLIPTextModel,
    }
    with _quiet_progress_bars(diffusers, transformers):
        networks = _read_networks(loaders, files, placement, cast)
    tokenizer = transformers.CLIPTokenizer.from_pretrained(
        str(_folder(files, "tokenizer_vocab")), local_files_only=True
    )
    tokenizer_files = {
        key: Path(path) for key, path in files.items() if key.startswith("tokenizer")
    }
    scheduler = read_scheduler(diffusers, files["scheduler_config"])
    return PipelineParts(networks, tokenizer, scheduler, tokenizer_files)


@contextmanager
def _quiet_progress_bars(*libraries: Any) -> Iterator[None]:
    """The libraries' own loading bars off while the parts are read (stylezoo logs instead)."""
    enabled = [lib.utils.logging.is_progress_bar_enabled() for lib in libraries]
    for lib in libraries:
        lib.utils.logging.disable_progress_bar()
    try:
        yield
    finally:
        for lib, was_enabled in zip(libraries, enabled, strict=True):
            if was_enabled:
                lib.utils.logging.enable_progress_bar()


def _read_networks(
    loaders: Mapping[str, Any], files: Mapping[str, Path], placement: Mapping[str, Any], cast: Any
) -> dict[str, Any]:
    networks = {}
    for role, loader in loaders.items():
        folder = _folder(files, role)
        try:
            network = loader.from_pretrained(
                str(folder),
                torch_dtype=cast,
                use_safetensors=True,
                local_files_only=True,
                **_variant(files[role]),
            )
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            raise WeightsError(
                f"Could not read the {role} of the diffusion model in {str(folder)!r} "
                f"({type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''})."
                " Delete the files and download the model again."
            ) from exc
        networks[role] = network.to(placement[role]).eval().requires_grad_(False)
        logger.info("Read the %s from %s onto %s.", role, folder, placement[role])
    return networks


def read_scheduler(diffusers: Any, path: Path) -> Any:
    """The scheduler ``scheduler_config.json`` names (a diffusers scheduler class only)."""
    config = json.loads(Path(path).read_text(encoding="utf-8"))
    name = config.get("_class_name", "")
    kind: Any = getattr(diffusers, str(name), None)
    if not (isinstance(kind, type) and issubclass(kind, diffusers.SchedulerMixin)):
        raise WeightsError(
            f"{str(path)!r} names scheduler {name!r}, which is not a diffusers scheduler "
            f"this version of diffusers ({diffusers.__version__}) has."
        )
    scheduler: Any = kind
    return scheduler.from_config(config)


def _folder(files: Mapping[str, Path], key: str) -> Path:
    return Path(files[key]).parent


def _variant(path: Path) -> dict[str, str]:
    """``{"variant": "fp16"}`` for ``diffusion_pytorch_model.fp16.safetensors`` and the like."""
    parts = Path(path).name.split(".")
    return {"variant": parts[-2]} if len(parts) == 3 else {}
