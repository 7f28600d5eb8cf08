"""The plugin passes stylezoo's own contracts: run with `python -m pytest` after installing."""

from stylezoo.testing import FamilyContract, TranslatorContract


class TestNegative(FamilyContract, TranslatorContract):
    family = "negative"
    options = {"strength": 0.5}
