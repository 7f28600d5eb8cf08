"""Multistyle training: a conditional-instance-norm network for N styles, or new styles added
to a trained one (Dumoulin et al., 2017).

From scratch, every step draws one of the styles and trains the whole network on it. With
``init`` (``--from multistyle/NAME``), the new styles get norm rows of their own, started at
the mean of the existing ones, and only those rows learn: the convolutions and the other
styles stay exactly as they were, which is what makes adding a style cheap enough for a CPU.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from stylezoo.errors import InvalidOptionError, TrainingError
from stylezoo.family import Option
from stylezoo.training.data import TrainingData
from stylezoo.training.style import STYLE_OPTIONS, StyleTrainer

from .model import MultiStyleNetwork


class MultiStyleTrainer(StyleTrainer):
    """Trains ``out/model``: a multistyle network holding the given style image(s)."""

    recipe = {
        **STYLE_OPTIONS,
        "batch_size": Option(4, "images per step (Magenta's recipe: 16)", minimum=1),
        "load_size": Option(256, "shorter side of the content photos", minimum=1),
        "crop_size": Option(256, "centre crop of the content photos", minimum=1),
        "flip": Option(False, "random horizontal flips"),
        "lr": Option(1e-3, "Adam learning rate", minimum=0),
    }
    # Magenta's image_stylization recipe: content at conv3, style at conv1 … conv4.
    content_layer = "relu3_3"

    def setup_network(self) -> None:
        self.base_styles = 0
        self.init_name = ""
        self.networks = {"model": nn.Identity()}  # replaced in dataset(), when styles are known
        self.optimizers = {}

    def dataset(self, data: Any) -> TrainingData:
        dataset = super().dataset(data)
        if not isinstance(self.networks["model"], MultiStyleNetwork):
            self._build(len(self.style_paths))
        return dataset

    def _build(self, new_styles: int) -> None:
        network: nn.Module
        if self.init is not None:
            network = self._extended(new_styles)
        else:
            config = {**self.config, "styles": new_styles}
            self.config = self.implementation.complete_config(config)
            network = self.implementation.build_networks(self.config)["model"]
        assert isinstance(network, MultiStyleNetwork)
        network.to(self.device)
        if self.channels_last:
            network.to(memory_format=torch.channels_last)
        self.networks = {"model": network}
        trainable = [p for p in network.parameters() if p.requires_grad]
        self.optimizers = {"model": torch.optim.Adam(trainable, lr=self.hparams["lr"])}
        for group in self.optimizers["model"].param_groups:
            group.setdefault("initial_lr", group["lr"])
        self._scalers = {"model": torch.amp.GradScaler(self.device.type, enabled=False)}
        if self.precision == "fp16":
            self._scalers["model"] = torch.amp.GradScaler(self.device.type)
        self._wrapped = {"model": self._wrap(network)}

    def _extended(self, new_styles: int) -> MultiStyleNetwork:
        from stylezoo.api import load

        base: Any = self.init if hasattr(self.init, "networks") else load(self.init)
        if base.spec.family != "multistyle":
            raise InvalidOptionError(
                f"--from must be a multistyle model to add styles to; {self.init!r} is a "
                f"{base.spec.family} model."
            )
        self.init_name = base.spec.name or str(self.init)
        self.license = base.spec.license
        old = base.networks["model"]
        self.base_styles = old.styles
        self.config = self.implementation.complete_config(
            {**base.spec.config, "styles": old.styles + new_styles}
        )
        network = self.implementation.build_networks(self.config)["model"]
        assert isinstance(network, MultiStyleNetwork)
        state = {}
        for key, value in old.state_dict().items():
            value = value.detach().float().cpu()
            if key.endswith((".gamma", ".beta")):
                start = value.mean(0, keepdim=True).expand(new_styles, -1)
                value = torch.cat([value, start])
            state[key] = value
        network.load_state_dict(state)
        keep = self.base_styles
        for name, parameter in network.named_parameters():
            if name.endswith((".gamma", ".beta")):
                mask = torch.zeros_like(parameter)
                mask[keep:] = 1.0
                parameter.register_hook(  # type: ignore[no-untyped-call]
                    lambda grad, mask=mask: grad * mask.to(grad.device)
                )
            else:
                parameter.requires_grad_(False)
        return network

    def stylise(self, content: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
        # styles index the style images given; the network's rows for them follow its own
        count = self.config["styles"]
        rows = (styles + self.base_styles).to(content.device)
        weights = torch.nn.functional.one_hot(rows, count).float()
        out: torch.Tensor = self.net("model")(content, weights)
        return out[..., : content.shape[2], : content.shape[3]]

    def exports(self) -> dict[str, tuple[str, dict[str, nn.Module], Mapping[str, Any]]]:
        if not isinstance(self.networks["model"], MultiStyleNetwork):
            raise TrainingError(
                "This multistyle trainer has no network yet: it is built when fit() sees the "
                "style images."
            )
        return {"model": ("multistyle", {"model": self.networks["model"]}, self.config)}

    def preview(self, batch: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        photos = batch["content"]
        network = self.networks["model"]
        columns = [photos]
        for index in range(len(self.style_paths)):
            style = self.base_styles + index
            weights = torch.zeros(photos.shape[0], self.config["styles"], device=photos.device)
            weights[:, style] = 1.0
            columns.append(network(photos, weights)[..., : photos.shape[2], : photos.shape[3]])
        return columns

    def training_facts(self) -> dict[str, Any]:
        facts = super().training_facts()
        if self.init_name:
            facts["started_from"] = self.init_name
            facts["trained_styles"] = list(
                range(self.base_styles, self.base_styles + len(self.style_paths))
            )
        return facts
