"""The registry: names, patterns, suggestions, and every record's data."""

from __future__ import annotations

import re

import pytest
import torch

import stylezoo

CYCLEGAN_NAMES = {
    "apple2orange",
    "orange2apple",
    "summer2winter_yosemite",
    "winter2summer_yosemite",
    "horse2zebra",
    "zebra2horse",
    "monet2photo",
    "style_monet",
    "style_cezanne",
    "style_ukiyoe",
    "style_vangogh",
    "sat2map",
    "map2sat",
    "cityscapes_photo2label",
    "cityscapes_label2photo",
    "facades_photo2label",
    "facades_label2photo",
    "iphone2dslr_flower",
}


def test_all_official_cyclegan_generators_are_registered() -> None:
    official = {f"cyclegan/{n}" for n in CYCLEGAN_NAMES}
    assert set(stylezoo.list_models("cyclegan/*")) == official | {"cyclegan/vintage"}


def test_patterns() -> None:
    assert stylezoo.list_models("cyclegan/*zebra*") == [
        "cyclegan/horse2zebra",
        "cyclegan/zebra2horse",
    ]
    assert stylezoo.list_models("zebra") == stylezoo.list_models("*zebra*")
    assert stylezoo.list_models("CycleGAN/Style_*") == [
        "cyclegan/style_cezanne",
        "cyclegan/style_monet",
        "cyclegan/style_ukiyoe",
        "cyclegan/style_vangogh",
    ]
    assert stylezoo.list_models("nothing-like-this") == []


def test_unknown_names_suggest_close_matches() -> None:
    with pytest.raises(stylezoo.UnknownModelError, match="Did you mean 'cyclegan/horse2zebra'"):
        stylezoo.model_info("cyclegan/horse2zebr")
    with pytest.raises(stylezoo.UnknownModelError, match="'cyclegan/monet2photo'"):
        stylezoo.model_info("monet2foto")


@pytest.mark.parametrize("name", stylezoo.list_models())
def test_every_record_is_complete_and_builds(name: str) -> None:
    info = stylezoo.model_info(name)
    assert info["description"] and info["license"] and info["paper"].startswith("arXiv:")
    family = stylezoo.plugins.families()[info["family"]]
    if family.own_layout:  # another library's layout, on the Hub: no build, no converter
        assert info["hub"]["repo"] and re.fullmatch(r"[0-9a-f]{40}", info["hub"]["revision"])
        assert family.model_files(family.complete_config(info["config"]))
        return
    assert info["upstream"] or info["package"], "a record must say where its weights are"
    for source in info["upstream"].values():
        assert source["url"].startswith(("http://", "https://"))
    config = family.complete_config(info["config"])
    with torch.device("meta"):
        networks = family.build_networks(config)
    assert set(networks) == set(family.roles)


def test_model_info_of_horse2zebra() -> None:
    info = stylezoo.model_info("cyclegan/horse2zebra")
    assert info["config"]["netG"] == "resnet_9blocks" and info["config"]["norm"] == "instance"
    assert info["upstream"]["model"]["url"].endswith("/horse2zebra.pth")
    assert info["license"] == "unknown"
