"""Official CycleGAN ``.pth`` generators → stylezoo state dicts."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from stylezoo.weights import read_checkpoint, strip_prefix

from .model import build_generator


def convert(
    files: Mapping[str, Path], config: Mapping[str, Any]
) -> dict[str, dict[str, torch.Tensor]]:
    """Read the generator and drop the legacy InstanceNorm buffers the official files carry.

    Only ``running_mean``/``running_var``/``num_batches_tracked`` keys owned by an
    InstanceNorm (which has no running stats here) are dropped; any other difference is left
    for the strict load to report.
    """
    state = strip_prefix(read_checkpoint(files["model"]))
    with torch.device("meta"):
        network = build_generator(dict(config))
    instance_norms = {
        name for name, module in network.named_modules() if isinstance(module, nn.InstanceNorm2d)
    }
    legacy = ("running_mean", "running_var", "num_batches_tracked")
    kept = {}
    for key, value in state.items():
        owner, _, leaf = key.rpartition(".")
        if leaf in legacy and owner in instance_norms:
            continue
        kept[key] = value
    return {"model": kept}
