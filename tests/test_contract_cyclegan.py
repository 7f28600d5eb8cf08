"""CycleGAN passes the shared translator contract (small networks keep it fast)."""

from __future__ import annotations

from stylezoo.testing import FamilyContract, TranslatorContract


class TestCycleGANContract(FamilyContract, TranslatorContract):
    family = "cyclegan"
    config = {"ngf": 8, "netG": "resnet_6blocks"}


class TestCycleGANBatchNormContract(TranslatorContract):
    family = "cyclegan"
    config = {"ngf": 8, "netG": "resnet_6blocks", "norm": "batch", "padding_type": "zero"}
