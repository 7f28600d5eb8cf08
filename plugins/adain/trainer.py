"""AdaIN decoder training with the official recipe (naoto0804/pytorch-AdaIN ``train.py``).

The encoder (normalised VGG-19 through relu4_1) is fixed; the decoder learns to invert
AdaIN(content, style) features: content loss = MSE(relu4_1(g(t)), t) with t the AdaIN target,
style loss = Σ over relu1_1, relu2_1, relu3_1, relu4_1 of MSE of the means + MSE of the standard
deviations; weights 1 and 10; Adam 1e-4 with lr / (1 + 5e-5·iteration); batch 8; content and
style images resized to 512² (squashed) and randomly cropped to 256.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from stylezoo.errors import InvalidDataError
from stylezoo.family import Option
from stylezoo.training import BaseTrainer, Schedule
from stylezoo.training.data import Folder, TrainingData, UnpairedImages, augment_from

from .model import calc_mean_std

#: Encoder entries whose outputs the style loss compares: relu1_1, relu2_1, relu3_1, relu4_1.
STYLE_LAYERS = (3, 10, 17, 30)


class ContentAndStyles(UnpairedImages):
    """Content photos in shuffled epochs, each paired with a random style image."""

    def sample(self, position: int) -> dict[str, torch.Tensor]:
        pair = super().sample(position)
        return {"content": pair["A"], "style": pair["B"]}

    def preview(self, count: int) -> dict[str, torch.Tensor]:
        pair = super().preview(count)
        return {"content": pair["A"], "style": pair["B"]}

    def describe(self) -> dict[str, Any]:
        return {"content": self.a.describe(), "style": self.b.describe()}


class AdaINTrainer(BaseTrainer):
    """Trains the decoder of ``out/model`` (the encoder is kept as it is)."""

    recipe = {
        "encoder": Option(
            "adain/vgg-decoder",
            "where the fixed VGG-19 encoder comes from: a model name or directory (its "
            "encoder role), or 'random' (tests only)",
        ),
        "content_weight": Option(1.0, "content loss weight (--content_weight)", minimum=0),
        "style_weight": Option(10.0, "style loss weight (--style_weight)", minimum=0),
        "lr": Option(1e-4, "Adam learning rate (--lr)", minimum=0),
        "lr_decay": Option(5e-5, "lr / (1 + lr_decay · iteration) (--lr_decay)", minimum=0),
        "batch_size": Option(8, "images per step (--batch_size)", minimum=1),
        "load_size": Option(512, "content and style images are resized to this square", minimum=1),
        "crop_size": Option(256, "random crop", minimum=1),
        "flip": Option(False, "random horizontal flips (not in the official recipe)"),
    }

    def setup(self) -> None:
        networks = self.implementation.build_networks(self.config)
        source = self.init if self.init is not None else self.hparams["encoder"]
        if source != "random":
            loaded = self._load(source)
            networks["encoder"].load_state_dict(loaded.networks["encoder"].state_dict())
            if self.init is not None:  # fine-tune the given decoder
                networks["decoder"].load_state_dict(loaded.networks["decoder"].state_dict())
                self.license = loaded.spec.license
        encoder = networks["encoder"].to(self.device).eval()
        assert isinstance(encoder, nn.Sequential)
        self.encoder: nn.Sequential = encoder
        for parameter in self.encoder.parameters():
            parameter.requires_grad_(False)
        decoder = networks["decoder"]
        self.networks = {"decoder": decoder}
        self.optimizers = {"decoder": torch.optim.Adam(decoder.parameters(), lr=self.hparams["lr"])}

    def _load(self, source: Any) -> Any:
        if hasattr(source, "networks"):
            return source
        from stylezoo.api import load

        loaded = load(source)
        if loaded.spec.family != "adain":
            raise InvalidDataError(f"{source!r} is a {loaded.spec.family} model, not an AdaIN one.")
        return loaded

    def lr_factor(self, completed: int) -> float:
        return 1.0 / (1.0 + self.hparams["lr_decay"] * completed)

    def _schedule_for(self, total: int, epochs: float | None) -> Schedule:
        return Schedule("step")

    def dataset(self, data: Any) -> TrainingData:
        if not isinstance(data, Mapping) or not data.get("content") or not data.get("style"):
            raise InvalidDataError(
                "AdaIN training needs {'content': folder, 'style': folder} (--data CONTENT_DIR "
                "--style STYLE_DIR): content photos and style images (paintings)."
            )
        styles = data["style"]
        if isinstance(styles, (list, tuple)):
            if len(styles) != 1:
                raise InvalidDataError("Give AdaIN one folder of style images (--style DIR).")
            styles = styles[0]
        augment = augment_from(self.hparams, resize="squash")
        return ContentAndStyles(
            Folder(data["content"], "content images"),
            Folder(styles, "style images"),
            augment,
            self.seed,
        )

    def _features(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for index, layer in enumerate(self.encoder):
            x = layer(x)
            if index in STYLE_LAYERS:
                out.append(x)
        return out

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        content, style = batch["content"], batch["style"]
        with self.autocast():
            with torch.no_grad():
                style_feats = [f.float() for f in self._features(style)]
                content_feat = self._features(content)[-1].float()
                c_mean, c_std = calc_mean_std(content_feat)
                s_mean, s_std = calc_mean_std(style_feats[-1])
                target = (content_feat - c_mean) / c_std * s_std + s_mean
            decoded = self.net("decoder")(target)
            out_feats = [f.float() for f in self._features(decoded)]
            loss_c = F.mse_loss(out_feats[-1], target)
            loss_s = torch.zeros((), device=content.device)
            for mine, theirs in zip(out_feats, style_feats, strict=True):
                m_mean, m_std = calc_mean_std(mine)
                t_mean, t_std = calc_mean_std(theirs)
                loss_s = loss_s + F.mse_loss(m_mean, t_mean) + F.mse_loss(m_std, t_std)
        losses = {
            "content": loss_c * self.hparams["content_weight"],
            "style": loss_s * self.hparams["style_weight"],
        }
        self.optimise("decoder", losses["content"] + losses["style"])
        return losses

    def exports(self) -> dict[str, tuple[str, dict[str, nn.Module], Mapping[str, Any]]]:
        networks = {"encoder": self.encoder, "decoder": self.networks["decoder"]}
        return {"model": ("adain", networks, self.config)}

    def preview(self, batch: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        content, style = batch["content"], batch["style"]
        content_feat = self._features(content)[-1].float()
        style_feat = self._features(style)[-1].float()
        c_mean, c_std = calc_mean_std(content_feat)
        s_mean, s_std = calc_mean_std(style_feat)
        decoded = self.networks["decoder"]((content_feat - c_mean) / c_std * s_std + s_mean)
        return [content, style, decoded[..., : content.shape[2], : content.shape[3]].clamp(0, 1)]
