"""The pix2pix U-Net generator with the official module indices (state-dict keys).

The network is a chain of recursive skip blocks built innermost-first, exactly as in
junyanz/pytorch-CycleGAN-and-pix2pix, so official files load strictly: the generator's
``model`` is the outermost block, whose ``model`` is an ``nn.Sequential`` holding the next
block at index 1, which holds the next at index 3, and so on (keys ``model.model.1.model.3…``).

Test-time behaviour is not taken from ``module.training``: the forward pass takes explicit
``batch_stats`` and ``dropout`` flags (see :meth:`UnetGenerator.forward`), so a translator in
eval mode can still reproduce the official train-mode test, and the running statistics stored
in the batch-norm layers are never updated.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from stylezoo.nn.blocks import make_norm, norm_uses_bias


class UnetSkipConnectionBlock(nn.Module):
    """One level of the U-Net: down-sample, run the inner levels, up-sample, concat the skip.

    ``model`` layouts (indices are the official key positions):

    * outermost: 0 down-conv · 1 inner block · 2 ReLU · 3 up-ConvT (bias) · 4 Tanh
    * intermediate: 0 LeakyReLU(0.2) · 1 down-conv · 2 norm · 3 inner block · 4 ReLU ·
      5 up-ConvT · 6 norm · [7 Dropout(0.5)]
    * innermost: 0 LeakyReLU(0.2) · 1 down-conv · 2 ReLU · 3 up-ConvT · 4 norm

    Non-outermost blocks return ``cat([skip, up], 1)``. The official block applies its
    LeakyReLU *in place* to its own input before concatenating that same tensor, so the skip
    half carries ``LeakyReLU(x)``, not ``x``; this implementation computes the activation once
    (not in place) and concatenates it, which gives the same values.
    """

    def __init__(
        self,
        outer_nc: int,
        inner_nc: int,
        input_nc: int | None = None,
        submodule: UnetSkipConnectionBlock | None = None,
        *,
        outermost: bool = False,
        innermost: bool = False,
        norm: str = "batch",
        use_dropout: bool = False,
    ) -> None:
        super().__init__()
        self.outermost = outermost
        self.innermost = innermost
        # Official bias rule: no conv bias unless the norm is instance norm — applied even to
        # the outermost and innermost down-convs, which no norm follows.
        bias = norm_uses_bias(norm)
        input_nc = outer_nc if input_nc is None else input_nc
        down = nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=bias)
        layers: list[nn.Module]
        if outermost:
            if submodule is None:
                raise ValueError("the outermost block needs an inner block")
            up = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1)
            layers = [down, submodule, nn.ReLU(inplace=True), up, nn.Tanh()]
        elif innermost:
            up = nn.ConvTranspose2d(
                inner_nc, outer_nc, kernel_size=4, stride=2, padding=1, bias=bias
            )
            layers = [nn.LeakyReLU(0.2), down, nn.ReLU(inplace=True), up, make_norm(norm, outer_nc)]
        else:
            if submodule is None:
                raise ValueError("an intermediate block needs an inner block")
            up = nn.ConvTranspose2d(
                inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1, bias=bias
            )
            layers = [
                nn.LeakyReLU(0.2),
                down,
                make_norm(norm, inner_nc),
                submodule,
                nn.ReLU(inplace=True),
                up,
                make_norm(norm, outer_nc),
            ]
            if use_dropout:
                # Last in the Sequential, so the keys are the same with and without dropout.
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(
        self, x: torch.Tensor, *, batch_stats: bool = True, dropout: bool = False
    ) -> torch.Tensor:
        """Run this level and everything inside it.

        Args:
            x: NCHW input of this level.
            batch_stats: batch-norm layers normalise each image with its own statistics
                (the official test without ``--eval``); ``False`` uses the running statistics.
            dropout: apply the Dropout(0.5) layers (masks from torch's generator of the
                tensor's device, one draw per block output after the inner levels returned,
                so the deepest level draws first — the official order).
        """
        layers = list(self.model)
        skip = None
        if not self.outermost:
            # The ReLU-inplace inputs below are always fresh tensors, but the skip is not:
            # LeakyReLU is computed out of place and reused as the skip (see class docstring).
            x = skip = layers[0](x)
            layers = layers[1:]
        for layer in layers:
            if isinstance(layer, UnetSkipConnectionBlock):
                x = layer(x, batch_stats=batch_stats, dropout=dropout)
            elif isinstance(layer, nn.BatchNorm2d):
                x = _batch_norm(layer, x, batch_stats)
            elif isinstance(layer, nn.Dropout):
                if dropout:
                    # The mask is drawn in memory order of an empty_like(x): NCHW-contiguous
                    # like the official tensors, whatever layout the convs produced.
                    x = F.dropout(x.contiguous(), layer.p, training=True)
            else:
                x = layer(x)
        return x if skip is None else torch.cat([skip, x], 1)


def _batch_norm(layer: nn.BatchNorm2d, x: torch.Tensor, batch_stats: bool) -> torch.Tensor:
    """Batch norm that never updates the stored running statistics.

    With ``batch_stats`` every image is normalised with its own per-channel mean and biased
    variance (instance norm with the layer's affine parameters: exactly what train-mode
    batch norm computes on a batch of one, the official test batch size), so images of a
    batch never share statistics.
    """
    if batch_stats:
        # group_norm with one group per channel is that instance norm, in one kernel that
        # keeps the input's memory format (instance_norm makes channels-last tensors
        # contiguous) and accumulates its statistics in float32 for reduced precisions.
        return F.group_norm(x, x.shape[1], layer.weight, layer.bias, layer.eps)
    return F.batch_norm(
        x,
        layer.running_mean,
        layer.running_var,
        layer.weight,
        layer.bias,
        training=False,
        momentum=0.0,
        eps=layer.eps,
    )


class UnetGenerator(nn.Module):
    """The pix2pix U-Net: ``num_downs`` stride-2 levels, ngf·(1, 2, 4, 8, 8, …) channels.

    From the outside in: outermost (input_nc ↔ ngf), ngf ↔ 2ngf, 2ngf ↔ 4ngf, 4ngf ↔ 8ngf,
    then ``num_downs - 5`` levels 8ngf ↔ 8ngf carrying dropout, then the innermost 8ngf ↔ 8ngf.
    Input height and width must be multiples of ``2 ** num_downs``.
    """

    def __init__(
        self,
        input_nc: int = 3,
        output_nc: int = 3,
        num_downs: int = 8,
        ngf: int = 64,
        norm: str = "batch",
        use_dropout: bool = True,
    ) -> None:
        super().__init__()
        if num_downs < 5:
            raise ValueError(f"num_downs must be at least 5, got {num_downs}")
        self.num_downs = num_downs
        block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, innermost=True, norm=norm)
        for _ in range(num_downs - 5):
            block = UnetSkipConnectionBlock(
                ngf * 8, ngf * 8, submodule=block, norm=norm, use_dropout=use_dropout
            )
        for outer in (ngf * 4, ngf * 2, ngf):
            block = UnetSkipConnectionBlock(outer, outer * 2, submodule=block, norm=norm)
        self.model = UnetSkipConnectionBlock(
            output_nc, ngf, input_nc=input_nc, submodule=block, outermost=True, norm=norm
        )

    @property
    def has_dropout(self) -> bool:
        return any(isinstance(m, nn.Dropout) for m in self.modules())

    def forward(
        self, x: torch.Tensor, *, batch_stats: bool = True, dropout: bool = False
    ) -> torch.Tensor:
        """Translate an NCHW batch in [-1, 1]; see :meth:`UnetSkipConnectionBlock.forward`."""
        return self.model(x, batch_stats=batch_stats, dropout=dropout)
