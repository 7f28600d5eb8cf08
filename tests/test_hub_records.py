"""Every registry record is well formed: an upstream URL per role, a license, a config that
builds (on the meta device, so it costs nothing), and a sane Hub table when there is one."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

import pytest
import torch

import stylezoo
from stylezoo.plugins import families
from stylezoo.weights.upstream import check_url

NAMES = stylezoo.list_models()


def test_the_registry_is_not_empty() -> None:
    assert len(NAMES) >= 18  # at least the official CycleGAN generators


@pytest.mark.parametrize("name", NAMES)
def test_record_is_well_formed(name: str) -> None:
    record = stylezoo.get_record(name)
    family = families()[record.family]
    assert isinstance(record.license, str) and record.license.strip(), "license is required"
    if family.own_layout:
        # Another library's layout, fetched file by file from a pinned Hub commit.
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", str(record.hub.get("repo", ""))), "hub.repo"
        assert re.fullmatch(r"[0-9a-f]{40}", str(record.hub.get("revision", ""))), "pinned"
        names = family.model_files(family.complete_config(record.config))
        assert set(family.roles) <= set(names) and set(record.hub.get("files", {})) <= set(names)
        assert not record.upstream and not record.package
        return
    assert record.upstream or record.package, "a record must say where its weights are"
    for kind, sources in (("upstream", record.upstream), ("package", record.package)):
        assert not sources or set(sources) == set(family.roles), (
            f"{kind} roles {sorted(sources)} != family roles {list(family.roles)}"
        )
    for role, source in record.package.items():
        assert source.get("module") and source.get("path"), f"{role}: module and path"
        assert re.fullmatch(r"[0-9a-f]{64}", source.get("sha256", "")), f"{role}: sha256"
    for role, source in record.upstream.items():
        assert check_url(source.get("url")) is None, f"{role}: {check_url(source.get('url'))}"
        if "sha256" in source:
            assert re.fullmatch(r"[0-9a-f]{64}", source["sha256"]), f"{role}: bad sha256"
        if "member" in source:
            member = PurePosixPath(source["member"])
            assert not member.is_absolute() and ".." not in member.parts
    if record.hub:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", str(record.hub.get("repo", ""))), "hub.repo"
        assert set(record.hub.get("files", {})) <= set(family.roles)
        for digest in record.hub.get("sha256", {}).values():
            assert re.fullmatch(r"[0-9a-f]{64}", digest)

    config = family.complete_config(record.config)
    with torch.device("meta"):
        networks = family.build_networks(config)
    assert set(networks) == set(family.roles)
