"""Official CUT / FastCUT ``latest_net_G.pth`` generators → stylezoo state dicts."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from stylezoo.errors import CheckpointError
from stylezoo.weights.checkpoint import read_checkpoint, strip_prefix

from .model import CUTGenerator, Downsample, Upsample


def convert(files: Mapping[str, Path], network: CUTGenerator) -> dict[str, dict[str, torch.Tensor]]:
    """Read the generator and check its fixed blur filters.

    CUT files carry no deprecated keys (the generator has no InstanceNorm buffers), so nothing
    is dropped. Every ``*.filt`` buffer the configured network expects must hold the binomial
    constant; a different value would silently change every output, so it is refused here.
    Missing, unexpected or mis-shaped keys are left for the strict load to report.

    Raises:
        CheckpointError: the file cannot be read, or a ``filt`` buffer is not the constant.
    """
    path = files["model"]
    state = strip_prefix(read_checkpoint(path))
    for name, module in network.named_modules():
        if not isinstance(module, (Downsample, Upsample)):
            continue
        key = f"{name}.filt"
        value = state.get(key)
        expected = module.expected_filter(device="cpu")
        if value is None or value.shape != expected.shape:
            continue  # reported by the strict load, with the other key problems
        if not value.is_floating_point() or not torch.equal(value.float(), expected):
            kind = (
                "blur-pool [1,2,1]⊗[1,2,1]/16"
                if isinstance(module, Downsample)
                else "up-sampling [1,3,3,1]⊗[1,3,3,1]/64·4"
            )
            raise CheckpointError(
                f"{str(path)!r}: buffer {key!r} is not the fixed {kind} filter of the CUT "
                f"generator (largest difference "
                f"{_largest_difference(value, expected):.3g}). The file is corrupt or was not "
                "saved by the official CUT code; re-download it."
            )
    return {"model": state}


def _largest_difference(value: torch.Tensor, expected: torch.Tensor) -> float:
    return float((value.double() - expected.double()).abs().max())
