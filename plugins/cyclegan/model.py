"""The CycleGAN ResNet generator with the official module indices (state-dict keys)."""

from __future__ import annotations

import torch
from torch import nn

from stylezoo.nn.blocks import ResnetBlock, make_norm, norm_uses_bias


class ResnetGenerator(nn.Module):
    """c7s1-ngf · d(2ngf) · d(4ngf) · n × ResnetBlock · u(2ngf) · u(ngf) · c7s1-out · tanh.

    Downsampling convs use zero padding and stride 2; upsampling uses ConvTranspose2d with
    output_padding 1. Output size equals input size when H and W are multiples of 4.
    """

    def __init__(
        self,
        input_nc: int = 3,
        output_nc: int = 3,
        ngf: int = 64,
        norm: str = "instance",
        use_dropout: bool = False,
        n_blocks: int = 9,
        padding_type: str = "reflect",
    ) -> None:
        super().__init__()
        bias = norm_uses_bias(norm)
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(input_nc, ngf, 7, padding=0, bias=bias),
            make_norm(norm, ngf),
            nn.ReLU(True),
        ]
        for i in range(2):
            mult = 2**i
            layers += [
                nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1, bias=bias),
                make_norm(norm, ngf * mult * 2),
                nn.ReLU(True),
            ]
        for _ in range(n_blocks):
            layers.append(ResnetBlock(ngf * 4, padding_type, norm, use_dropout))
        for i in range(2):
            mult = 2 ** (2 - i)
            layers += [
                nn.ConvTranspose2d(
                    ngf * mult, ngf * mult // 2, 3, stride=2, padding=1, output_padding=1, bias=bias
                ),
                make_norm(norm, ngf * mult // 2),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
