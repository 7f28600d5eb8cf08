"""Official pix2pix ``.pth`` generators → stylezoo state dicts."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from stylezoo.weights.checkpoint import read_checkpoint, strip_prefix


def convert(files: Mapping[str, Path], network: nn.Module) -> dict[str, dict[str, torch.Tensor]]:
    """Read the generator the way the official loader does, then leave the rest to strict load.

    Besides what the core does for every family (dropping the statistics old PyTorch saved
    for InstanceNorm layers of ``--norm instance`` models), one thing the official loader
    tolerates is handled here:

    * A batch-norm layer without ``num_batches_tracked`` (files written before PyTorch 0.4.1
      have none) gets a zero counter: the official loader deletes ``_metadata``, so
      ``BatchNorm2d`` fills in exactly that. The counter has no effect on inference.

    Any other difference (wrong netG/ngf/norm, another network) is reported by the strict load,
    which lists the keys.
    """
    kept = strip_prefix(read_checkpoint(files["model"]))
    for name, module in network.named_modules():
        if (
            isinstance(module, nn.BatchNorm2d)
            and f"{name}.running_mean" in kept
            and f"{name}.num_batches_tracked" not in kept
        ):
            kept[f"{name}.num_batches_tracked"] = torch.tensor(0, dtype=torch.long)
    return {"model": kept}
