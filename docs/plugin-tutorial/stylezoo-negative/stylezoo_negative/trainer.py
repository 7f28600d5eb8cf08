"""The trainer: fits the 1×1 convolution to pairs of images (input, wanted output).

Everything generic (data stream, checkpoints, resume, devices, DDP, model cards) comes from
stylezoo's BaseTrainer; a family says what the networks, the data and one step are.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from stylezoo import Option
from stylezoo.training import BaseTrainer
from stylezoo.training.data import augment_from, paired


class NegativeTrainer(BaseTrainer):
    recipe = {
        "lr": Option(0.05, "Adam learning rate", minimum=0),
        "load_size": Option(64, "resize before cropping", minimum=1),
        "crop_size": Option(64, "training crop", minimum=1),
    }

    def setup(self):
        network = self.implementation.build_networks(self.config)["model"]
        self.networks = {"model": network}
        self.optimizers = {"model": torch.optim.Adam(network.parameters(), lr=self.hparams["lr"])}

    def dataset(self, data):
        # {"A": inputs, "B": wanted outputs} with matching file names, or side-by-side AB images
        return paired(data, augment_from(self.hparams), self.seed)

    def train_step(self, batch):
        loss = F.l1_loss(self.net("model")(batch["A"]), batch["B"])
        self.optimise("model", loss)
        return {"L1": loss}

    def exports(self):
        return {"model": ("negative", {"model": self.networks["model"]}, self.config)}

    def preview(self, batch):
        return [batch["A"], self.networks["model"](batch["A"]).clamp(0, 1), batch["B"]]
