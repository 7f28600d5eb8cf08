"""Official pix2pix ``.pth`` generators → stylezoo state dicts."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from stylezoo.weights import read_checkpoint, strip_prefix

from .model import build_generator

_INSTANCE_NORM_LEGACY = ("running_mean", "running_var", "num_batches_tracked")


def convert(
    files: Mapping[str, Path], config: Mapping[str, Any]
) -> dict[str, dict[str, torch.Tensor]]:
    """Read the generator the way the official loader does, then leave the rest to strict load.

    Two things the official loader tolerates are handled here, nothing else:

    * ``running_mean``/``running_var``/``num_batches_tracked`` owned by an InstanceNorm (no
      running stats here; files of ``--norm instance`` models written by old PyTorch carry
      them) are dropped, as the official loader does.
    * A batch-norm layer without ``num_batches_tracked`` (files written before PyTorch 0.4.1
      have none) gets a zero counter: the official loader deletes ``_metadata``, so
      ``BatchNorm2d`` fills in exactly that. The counter has no effect on inference.

    Any other difference (wrong netG/ngf/norm, another network) is reported by the strict load,
    which lists the keys.
    """
    state = strip_prefix(read_checkpoint(files["model"]))
    with torch.device("meta"):
        network = build_generator(dict(config))
    modules = dict(network.named_modules())
    kept: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        owner, _, leaf = key.rpartition(".")
        if leaf in _INSTANCE_NORM_LEGACY and isinstance(modules.get(owner), nn.InstanceNorm2d):
            continue
        kept[key] = value
    for name, module in modules.items():
        if (
            isinstance(module, nn.BatchNorm2d)
            and f"{name}.running_mean" in kept
            and f"{name}.num_batches_tracked" not in kept
        ):
            kept[f"{name}.num_batches_tracked"] = torch.tensor(0, dtype=torch.long)
    return {"model": kept}
