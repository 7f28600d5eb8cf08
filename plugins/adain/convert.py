"""Official ``vgg_normalised.pth`` + ``decoder.pth`` → stylezoo state dicts."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from stylezoo.weights.checkpoint import drop_keys, read_checkpoint, strip_prefix

from .model import UNUSED_ENCODER_CONVS

# Exactly the 14 keys of the official encoder's convs after relu4_1 (conv4_2 … conv5_4).
_UNUSED_ENCODER_KEYS = rf"({'|'.join(str(i) for i in UNUSED_ENCODER_CONVS)})\.(weight|bias)"


def convert(files: Mapping[str, Path]) -> dict[str, dict[str, torch.Tensor]]:
    """Read both official files; drop the encoder's layers after relu4_1.

    The official encoder file is the whole 53-entry VGG-19 (34 keys); the official code loads
    it and keeps entries [0:31]. stylezoo's encoder is those 31 entries, so the 14 keys of
    entries 32–51 are dropped here (the saved encoder is 14 MB instead of 80 MB). Nothing
    else is dropped or renamed: any other unexpected, missing or mis-shaped key is reported
    by the strict load. The decoder file is taken as it is (files saved by the official
    train.py, ``decoder_iter_*.pth.tar``, have the same layout).
    """
    encoder = drop_keys(strip_prefix(read_checkpoint(files["encoder"])), _UNUSED_ENCODER_KEYS)
    decoder = strip_prefix(read_checkpoint(files["decoder"]))
    return {"encoder": encoder, "decoder": decoder}
