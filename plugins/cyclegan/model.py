"""The CycleGAN ResNet generator with the official module indices (state-dict keys)."""

from __future__ import annotations

from torch import nn

from stylezoo.nn import ResnetBlock, make_norm, norm_uses_bias

BLOCKS = {"resnet_9blocks": 9, "resnet_6blocks": 6}


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

    def forward(self, x):  # type: ignore[no-untyped-def]
        return self.model(x)


def build_generator(config: dict) -> ResnetGenerator:  # type: ignore[type-arg]
    if config["netG"] not in BLOCKS:
        raise ValueError(f"netG must be one of {sorted(BLOCKS)}, got {config['netG']!r}")
    return ResnetGenerator(
        input_nc=config["input_nc"],
        output_nc=config["output_nc"],
        ngf=config["ngf"],
        norm=config["norm"],
        use_dropout=config["use_dropout"],
        n_blocks=BLOCKS[config["netG"]],
        padding_type=config["padding_type"],
    )
