"""The front door: :func:`load`, :func:`download`, :func:`list_models`, :func:`model_info`,
:func:`convert`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .plugins import get_family, get_record, records
from .registry import filter_names

if TYPE_CHECKING:
    from .training import Trainer
    from .translator import Translator

PathLike = str | os.PathLike[str]


def list_models(pattern: str | None = None) -> list[str]:
    """Registry names, sorted; ``pattern`` is a shell wildcard (``"cyclegan/*"``, ``"*zebra*"``).

    A pattern without wildcards matches names that contain it.

    Example:
        >>> stylezoo.list_models("cyclegan/*zebra*")
        ['cyclegan/horse2zebra', 'cyclegan/zebra2horse']
    """
    return filter_names(records(), pattern)


def model_info(name: str) -> dict[str, Any]:
    """The record of a registry name as a dict: config, io, license, paper, sources."""
    record = get_record(name)
    family = get_family(record.family)
    config = family.complete_config(record.config)
    # What applies when the model is loaded: the family's defaults filled in.
    return {
        **record.to_dict(),
        "config": config,
        "io": family.model_io(config, record.io).to_dict(),
    }


def load(
    source: PathLike,
    *,
    device: Any = None,
    dtype: Any = None,
    device_map: Any = None,
    memory_format: Any = "auto",
    compile: Any = False,
    revision: str | None = None,
    token: str | bool | None = None,
    cache_dir: PathLike | None = None,
    local_files_only: bool = False,
) -> Translator:
    """Load a translator from a local directory, a Hub repository or a registry name.

    Sources, in order:

    1. an existing directory saved by stylezoo (``save_pretrained``, ``convert``, training);
       huggingface_hub is not involved;
    2. ``"hf-hub:owner/name[@revision]"``: a Hub repository in the stylezoo layout,
       downloaded into huggingface_hub's cache;
    3. a registry name such as ``"cyclegan/horse2zebra"``: a copy already on this machine,
       else a file inside an installed package (weights that ship with stylezoo or another
       package), else the record's Hub copy, else its official upstream file, downloaded,
       checked against its sha256, converted once and cached as safetensors.

    Args:
        source: a directory, ``hf-hub:owner/name[@revision]`` or a registry name.
        device: where the networks go: ``"cpu"`` (the default), ``"cuda"``, ``"cuda:1"``,
            ``"mps"`` or ``"auto"``. Weights are read straight onto it from safetensors.
        dtype: ``torch.float32`` (default), ``torch.bfloat16`` or ``torch.float16``, or their
            names, or ``"auto"``: float16 on CUDA, bfloat16 on CPUs that compute it natively
            (AVX-512 BF16 or AMX; about 2× float32 there), else float32.
        device_map: instead of ``device``: one device for all networks, ``"auto"`` (spread
            over several GPUs when there are several), or a dict role → device for
            multi-network families, e.g. ``{"encoder": "cpu", "decoder": "cuda"}``; roles it
            leaves out go to ``device``.
        memory_format: the layout the networks run in: ``"auto"`` (default: channels-last
            where the family runs faster that way: every built-in family but
            diffusion), ``"channels_last"`` or ``"contiguous"``. Inputs and
            outputs keep the caller's layout either way; see :mod:`stylezoo.speed`.
        compile: ``True`` or a ``torch.compile`` mode (``"max-autotune"``, …) compiles the
            networks in place; the first call at each input size pays the compilation.
        revision: branch, tag or commit of a Hub source (or of a record's Hub copy).
        token: Hugging Face token for private repositories (passed to huggingface_hub).
        cache_dir: huggingface_hub cache for Hub files; converted upstream models then go to
            ``cache_dir/stylezoo``. Default: ``HF_HUB_CACHE`` / ``HF_HOME`` rules.
        local_files_only: never touch the network (like ``HF_HUB_OFFLINE=1``): use cached
            files or fail at once, saying how to pre-download.

    Returns:
        A translator in eval mode with gradients off.

    Example:
        >>> t = stylezoo.load("cyclegan/horse2zebra")
        >>> zebra = t.translate(Image.open("horse.jpg"))
    """
    from .weights.loading import load_files

    model = _resolve(source, revision, token, cache_dir, local_files_only)
    # Imported after resolving: speed imports torch, which a missing model never waits for.
    from .speed import configure

    translator = load_files(model, device=device, dtype=dtype, device_map=device_map)
    configure(translator, memory_format=memory_format, compile=compile)
    return translator


def download(
    source: str,
    *,
    revision: str | None = None,
    token: str | bool | None = None,
    cache_dir: PathLike | None = None,
    local_files_only: bool = False,
) -> Path:
    """Fetch a model's files into the cache without loading it; returns their directory.

    For building images or preparing air-gapped machines: after this, :func:`load` of the
    same source works with ``HF_HUB_OFFLINE=1``. Arguments are those of :func:`load`.

    Example:
        >>> stylezoo.download("cyclegan/horse2zebra")
        PosixPath('/home/me/.cache/huggingface/stylezoo/models/cyclegan--horse2zebra')
    """
    directory: Path = _resolve(source, revision, token, cache_dir, local_files_only).directory
    return directory


def _resolve(
    source: PathLike,
    revision: str | None,
    token: str | bool | None,
    cache_dir: PathLike | None,
    local_files_only: bool,
) -> Any:
    from .weights.hub import HubOptions
    from .weights.sources import resolve

    options = HubOptions(token=token, cache_dir=cache_dir, local_files_only=local_files_only)
    return resolve(source, revision=revision, options=options)


def convert(
    family_or_name: str,
    checkpoint: PathLike | Mapping[str, PathLike],
    output: PathLike,
    *,
    config: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Convert official checkpoint(s) into a stylezoo directory.

    Args:
        family_or_name: a family (``"cyclegan"``) or a registry name
            (``"cyclegan/horse2zebra"``, which also fills in config, license and provenance).
        checkpoint: the official file, or a dict role → file for multi-network families.
        output: the directory to write; written atomically.
        config: build options overriding the family's (or the record's) configuration.
        overwrite: replace an existing non-empty ``output``.

    Returns:
        The output directory, loadable with :func:`load`.

    Example:
        >>> stylezoo.convert("cyclegan", "horse2zebra.pth", "out/horse2zebra")
    """
    from .weights.convert import convert_checkpoints
    from .weights.directory import save_directory

    # Everything is read and checked before anything is written: a bad checkpoint never
    # leaves files behind.
    fitted = convert_checkpoints(family_or_name, checkpoint, config=config)
    return save_directory(output, fitted.spec, fitted.state_dicts, overwrite=overwrite)


def create_model(
    family: str,
    config: Mapping[str, Any] | None = None,
    *,
    seed: int | None = None,
    device: Any = "cpu",
    dtype: Any = None,
    name: str = "",
    memory_format: Any = "auto",
    compile: Any = False,
) -> Translator:
    """A translator of ``family`` with freshly initialised (untrained) weights.

    The starting point for training, and a model for tests and demos. ``seed`` makes the
    initialisation reproducible (it seeds torch's global generator). ``memory_format`` and
    ``compile`` are those of :func:`load`.

    Example:
        >>> t = stylezoo.create_model("cyclegan", {"ngf": 32}, seed=0)
    """
    import torch

    from ._version import __version__
    from .devices import resolve_device, resolve_dtype
    from .family import ModelSpec
    from .speed import configure

    implementation = get_family(family)
    full = implementation.complete_config(config)
    if seed is not None:
        torch.manual_seed(seed)
    networks = implementation.build_networks(full)
    target = resolve_device(device)
    for network in networks.values():
        network.to(target, resolve_dtype(dtype, target))
    spec = ModelSpec(
        family=implementation.name,
        config=full,
        io=implementation.model_io(full),
        name=name,
        provenance={"initialised": {"seed": seed}},
        version=__version__,
    )
    translator = implementation.translator(networks, spec)
    configure(translator, memory_format=memory_format, compile=compile)
    return translator


def save_pretrained(
    translator: Translator, directory: PathLike, *, overwrite: bool = False
) -> Path:
    """Save a translator as config.json + safetensors + README.md (see ``Translator``)."""
    return translator.save_pretrained(directory, overwrite=overwrite)


def trainer(
    family: str,
    config: Mapping[str, Any] | None = None,
    hparams: Mapping[str, Any] | None = None,
    *,
    device: Any = "auto",
    precision: str = "fp32",
    seed: int = 0,
    channels_last: bool = False,
    compile: bool = False,
    init: Any = None,
) -> Trainer:
    """A trainer for ``family``: fit it on your folders, get a normal translator.

    Args:
        family: a family name (``"cyclegan"``), or a registry name whose config is used
            (``"multistyle/android-26"``; with ``init`` unset it is also the starting point).
        config: the networks' build options (the family's ``config``).
        hparams: training options; defaults are the official recipe (see the family's docs
            and ``stylezoo train FAMILY --help-hparams``).
        device: ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"``, …
        precision: ``"fp32"``, ``"bf16"`` or ``"fp16"`` (autocast; fp16 with loss scaling).
        seed: the whole run is a function of the data and this seed.
        channels_last: channels_last memory format for the networks.
        compile: ``torch.compile`` the training forwards.
        init: a model to start from (a registry name, directory or translator), for
            families that fine-tune one.

    Example:
        >>> t = stylezoo.trainer("cyclegan", hparams={"lambda_identity": 0})
        >>> t.fit({"A": "horses/", "B": "zebras/"}, steps=10_000, out="runs/h2z")
        >>> t.translator().translate("horse.jpg")
    """
    name = family
    if "/" in family:
        record = get_record(family)
        name = record.family
        config = {**record.config, **(config or {})}
        if init is None:
            init = family
    implementation = get_family(name)
    made: Trainer = implementation.trainer(
        config or {},
        hparams=hparams,
        device=device,
        precision=precision,
        seed=seed,
        channels_last=channels_last,
        compile=compile,
        init=init,
    )
    return made
