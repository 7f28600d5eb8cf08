"""CycleGAN-style ``.pth`` generators → stylezoo state dicts.

Two layouts are read:

* the official one (junyanz/pytorch-CycleGAN-and-pix2pix): ``model.<i>.…`` with residual
  blocks under ``model.<i>.conv_block.<j>.…``; taken as it is;
* the layout of CycleGAN re-implementations that name the residual branch ``block``
  (``model.<i>.block.<j>.…``), e.g. the generator shipped in the ``vintagify`` package; it
  has the same module indices, so only that name is mapped. Such generators usually train
  their InstanceNorms with a scale and shift: convert them with ``norm = "instance_affine"``.

Anything else that does not fit is reported by the core's strict load, naming the keys.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import torch

from stylezoo.weights.checkpoint import read_checkpoint, strip_prefix

# model.<index>.block.<index>. → model.<index>.conv_block.<index>.
_BLOCK_KEY = re.compile(r"^(model\.\d+)\.block\.(\d+\.)")


def convert(files: Mapping[str, Path]) -> dict[str, dict[str, torch.Tensor]]:
    """Read the generator; residual branches named ``block`` become ``conv_block``."""
    state = strip_prefix(read_checkpoint(files["model"]))
    return {"model": {_BLOCK_KEY.sub(r"\1.conv_block.\2", key): v for key, v in state.items()}}
