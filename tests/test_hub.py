"""Where weights come from: registry names (upstream + convert, Hub copies), hf-hub repos,
offline use, integrity — all against loopback servers started here, never the network."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
import torch
from conftest import go_offline
from loopback import LoopbackUpstream
from loopback_hub import LoopbackHub
from torch import nn

import stylezoo
from stylezoo.testing import InProcessPlugin, random_translator, sample_rgb
from stylezoo.weights.cache import cache_root, record_cache_dir
from stylezoo.weights.integrity import sha256_file

SMALL = {"netG": "resnet_6blocks", "ngf": 8}


def official_pth(seed: int = 0) -> bytes:
    """A small generator in the official file layout, legacy InstanceNorm buffers included."""
    network = random_translator("cyclegan", SMALL, seed=seed).networks["model"]
    state = dict(network.state_dict())
    for name, module in network.named_modules():
        if isinstance(module, nn.InstanceNorm2d):
            channels = module.num_features
            state[f"{name}.running_mean"] = torch.zeros(channels)
            state[f"{name}.running_var"] = torch.ones(channels)
            state[f"{name}.num_batches_tracked"] = torch.tensor(0)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


PTH = official_pth(0)
PTH_SHA = __import__("hashlib").sha256(PTH).hexdigest()


def register(*records: stylezoo.Record) -> None:
    stylezoo.plugin_manager().register(InProcessPlugin(records=records))


def record(
    name: str = "cyclegan/loop_small",
    *,
    url: str = "",
    sha256: str | None = PTH_SHA,
    member: str | None = None,
    hub: dict | None = None,
) -> stylezoo.Record:
    upstream = (
        {
            "model": {
                "url": url,
                **({"sha256": sha256} if sha256 else {}),
                **({"member": member} if member else {}),
            }
        }
        if url
        else {}
    )
    return stylezoo.Record(
        name=name,
        family="cyclegan",
        config=SMALL,
        upstream=upstream,
        hub=hub or {},
        license="unknown",
        description="loopback test",
    )


def weights(translator: stylezoo.Translator) -> dict[str, torch.Tensor]:
    return translator.state_dicts()["model"]


def assert_same_weights(a: stylezoo.Translator, b: stylezoo.Translator) -> None:
    left, right = weights(a), weights(b)
    assert left.keys() == right.keys()
    assert all(torch.equal(left[k], right[k]) for k in left)


@pytest.fixture
def converted_reference(tmp_path: Path) -> stylezoo.Translator:
    """What converting the official file by hand gives."""
    path = tmp_path / "official.pth"
    path.write_bytes(PTH)
    return stylezoo.load(stylezoo.convert("cyclegan", path, tmp_path / "ref", config=SMALL))


@pytest.fixture
def small_record(fresh_plugins: object, loopback_upstream: LoopbackUpstream) -> stylezoo.Record:
    rec = record(url=loopback_upstream.add_file("pretrained/loop_small.pth", PTH))
    register(rec)
    return rec


# -- registry names from upstream ------------------------------------------------------------
def test_first_load_downloads_converts_and_later_loads_make_no_request(
    small_record: stylezoo.Record,
    loopback_upstream: LoopbackUpstream,
    converted_reference: stylezoo.Translator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    translator = stylezoo.load(small_record.name)
    assert loopback_upstream.count("GET") == 1
    assert_same_weights(translator, converted_reference)
    assert translator.translate(sample_rgb(20, 24)).shape == (20, 24, 3)
    cached = record_cache_dir(small_record)
    assert sorted(p.name for p in cached.iterdir()) == [
        "README.md",
        "config.json",
        "model.safetensors",
    ]
    config = (cached / "config.json").read_text()
    assert PTH_SHA in config and "loop_small.pth" in config  # provenance
    assert not list((cache_root() / "downloads").glob("*.pth"))  # the .pth is converted away

    # Later loads read safetensors only: no request, online or offline, server up or down.
    stylezoo.load(small_record.name)
    go_offline(monkeypatch)
    assert_same_weights(stylezoo.load(small_record.name), translator)
    loopback_upstream.stop()
    assert_same_weights(stylezoo.load(small_record.name, local_files_only=True), translator)
    assert loopback_upstream.count() == 1


def test_offline_and_uncached_fails_at_once_saying_what_to_do(
    small_record: stylezoo.Record,
    loopback_upstream: LoopbackUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    go_offline(monkeypatch)
    started = time.perf_counter()
    with pytest.raises(stylezoo.OfflineError, match="stylezoo download cyclegan/loop_small"):
        stylezoo.load(small_record.name)
    with pytest.raises(stylezoo.OfflineError, match="HF_HUB_OFFLINE=1 or local_files_only"):
        stylezoo.load("hf-hub:org/never-downloaded")
    assert time.perf_counter() - started < 2
    assert loopback_upstream.count() == 0


def test_local_files_only_online_never_touches_the_network(
    small_record: stylezoo.Record, loopback_upstream: LoopbackUpstream
) -> None:
    with pytest.raises(stylezoo.OfflineError, match="point|convert"):
        stylezoo.load(small_record.name, local_files_only=True)
    assert loopback_upstream.count() == 0


def test_connection_dropped_mid_file_is_resumed(
    small_record: stylezoo.Record,
    loopback_upstream: LoopbackUpstream,
    converted_reference: stylezoo.Translator,
) -> None:
    loopback_upstream.add_fault("/pretrained/loop_small.pth", "drop")
    assert_same_weights(stylezoo.load(small_record.name), converted_reference)
    gets = [r for r in loopback_upstream.requests if r.method == "GET"]
    assert len(gets) == 2 and gets[1].headers.get("Range") == f"bytes={len(PTH) // 2}-"


def test_server_errors_are_retried(
    small_record: stylezoo.Record, loopback_upstream: LoopbackUpstream
) -> None:
    loopback_upstream.add_fault("/pretrained/loop_small.pth", "status", times=2)
    stylezoo.load(small_record.name)
    assert loopback_upstream.count("GET") == 3


def test_unresolvable_host_fails_at_once_without_retries(
    small_record: stylezoo.Record,
    loopback_upstream: LoopbackUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import socket
    import urllib.error

    from stylezoo.weights import upstream

    attempts = []

    def no_dns(url: str, partial: Path, label: str) -> None:
        attempts.append(url)
        raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))

    monkeypatch.setattr(upstream, "_fetch_into", no_dns)
    monkeypatch.setattr(upstream, "RETRY_WAITS", (30.0, 30.0))  # would be felt if used
    started = time.perf_counter()
    with pytest.raises(stylezoo.DownloadError, match="host name does not resolve"):
        stylezoo.load(small_record.name)
    assert len(attempts) == 1 and time.perf_counter() - started < 5


def test_corrupt_download_is_fetched_once_more(
    small_record: stylezoo.Record,
    loopback_upstream: LoopbackUpstream,
    converted_reference: stylezoo.Translator,
) -> None:
    loopback_upstream.add_fault("/pretrained/loop_small.pth", "corrupt")
    assert_same_weights(stylezoo.load(small_record.name), converted_reference)
    assert loopback_upstream.count("GET") == 2


def test_hash_mismatch_twice_names_file_and_both_hashes(
    fresh_plugins: object, loopback_upstream: LoopbackUpstream
) -> None:
    wrong = "0" * 64
    url = loopback_upstream.add_file("pretrained/other.pth", PTH)
    register(record("cyclegan/loop_wrong_hash", url=url, sha256=wrong))
    with pytest.raises(stylezoo.IntegrityError) as caught:
        stylezoo.load("cyclegan/loop_wrong_hash")
    message = str(caught.value)
    assert url in message and wrong in message and PTH_SHA in message
    assert loopback_upstream.count("GET") == 2
    leftovers = [p for p in (cache_root() / "downloads").iterdir() if p.suffix != ".lock"]
    assert leftovers == []


def test_truncated_cache_file_is_detected_and_fetched_again(
    small_record: stylezoo.Record,
    loopback_upstream: LoopbackUpstream,
    converted_reference: stylezoo.Translator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stylezoo.load(small_record.name)
    weights_file = record_cache_dir(small_record) / "model.safetensors"
    # (a new file: loaded tensors may be memory-mapped from the old one)
    truncated = weights_file.read_bytes()[:-100]
    weights_file.unlink()
    weights_file.write_bytes(truncated)
    assert_same_weights(stylezoo.load(small_record.name), converted_reference)
    assert loopback_upstream.count("GET") == 2
    # Offline, a damaged cache is removed and reported (not a crash deep in torch).
    truncated = weights_file.read_bytes()[:-100]
    weights_file.unlink()
    weights_file.write_bytes(truncated)
    go_offline(monkeypatch)
    with pytest.raises(stylezoo.IntegrityError, match="truncated.*deleted"):
        stylezoo.load(small_record.name)
    assert not record_cache_dir(small_record).exists()


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_archive_member_is_extracted_alone(
    kind: str,
    fresh_plugins: object,
    loopback_upstream: LoopbackUpstream,
    converted_reference: stylezoo.Translator,
) -> None:
    members = {
        "models/loop_small/latest_net_G.pth": PTH,
        "models/other/latest_net_G.pth": b"x",
        "README": b"hello",
    }
    add = loopback_upstream.add_tar if kind == "tar" else loopback_upstream.add_zip
    url = add(f"pretrained_models.{kind}", members)
    register(
        record(url=url, member="models/loop_small/latest_net_G.pth"),
        record("cyclegan/loop_escape", url=url, member="../../etc/passwd", sha256=None),
        record("cyclegan/loop_missing", url=url, member="models/nope.pth", sha256=None),
    )
    assert_same_weights(stylezoo.load("cyclegan/loop_small"), converted_reference)
    extracted = [
        p
        for p in (cache_root() / "downloads").rglob("*")
        if p.is_file() and p.suffix not in (".lock", f".{kind}")
    ]
    assert extracted == []  # the member was converted and removed; nothing else came out
    with pytest.raises(stylezoo.DownloadError, match=r"Refusing .*'\.\./\.\./etc/passwd'"):
        stylezoo.load("cyclegan/loop_escape")
    with pytest.raises(stylezoo.DownloadError, match="no member 'models/nope.pth'.*latest_net_G"):
        stylezoo.load("cyclegan/loop_missing")
    assert loopback_upstream.count("GET") == 1  # one archive download served all three


def test_members_with_the_same_base_name_stay_apart(
    loopback_upstream: LoopbackUpstream, tmp_path: Path
) -> None:
    from stylezoo.weights.sources import fetch_upstream_file

    url = loopback_upstream.add_tar(
        "cut.tar",
        {"checkpoints/a/latest_net_G.pth": b"first", "checkpoints/b/latest_net_G.pth": b"second"},
    )
    first = fetch_upstream_file({"url": url, "member": "checkpoints/a/latest_net_G.pth"}, tmp_path)
    second = fetch_upstream_file({"url": url, "member": "checkpoints/b/latest_net_G.pth"}, tmp_path)
    assert (first.read_bytes(), second.read_bytes()) == (b"first", b"second")
    assert loopback_upstream.count("GET") == 1


# -- hf-hub: repositories --------------------------------------------------------------------
def saved_files(translator: stylezoo.Translator, tmp_path: Path, name: str) -> dict[str, bytes]:
    directory = translator.save_pretrained(tmp_path / name)
    return {p.name: p.read_bytes() for p in directory.iterdir()}


def test_hf_hub_source_revision_pinning(loopback_hub: LoopbackHub, tmp_path: Path) -> None:
    old = random_translator("cyclegan", SMALL, seed=1)
    new = random_translator("cyclegan", SMALL, seed=2)
    first = loopback_hub.commit("org/small", saved_files(old, tmp_path, "old"), tag="v1")
    loopback_hub.commit("org/small", saved_files(new, tmp_path, "new"))
    assert_same_weights(stylezoo.load("hf-hub:org/small"), new)
    for pinned in (
        "hf-hub:org/small@v1",
        f"hf-hub:org/small@{first}",
        f"hf-hub:org/small@{first[:10]}",
    ):
        assert_same_weights(stylezoo.load(pinned), old)
    assert_same_weights(stylezoo.load("hf-hub:org/small", revision="v1"), old)
    before = loopback_hub.count()
    stylezoo.load(f"hf-hub:org/small@{first}")  # a cached full commit id: no request at all
    assert loopback_hub.count() == before
    with pytest.raises(stylezoo.InvalidOptionError, match="give only one"):
        stylezoo.load("hf-hub:org/small@v1", revision="main")
    with pytest.raises(stylezoo.DownloadError, match="RevisionNotFound"):
        stylezoo.load("hf-hub:org/small@v9")
    with pytest.raises(stylezoo.DownloadError, match="does not exist on the Hub"):
        stylezoo.load("hf-hub:org/missing")


def test_hf_hub_cache_dir_and_token_are_passed_through(
    loopback_hub: LoopbackHub, tmp_path: Path
) -> None:
    translator = random_translator("cyclegan", SMALL, seed=3)
    loopback_hub.commit("org/private", saved_files(translator, tmp_path, "m"), private=True)
    with pytest.raises(stylezoo.DownloadError, match="token="):
        stylezoo.load("hf-hub:org/private")
    cache = tmp_path / "my-cache"
    loaded = stylezoo.load("hf-hub:org/private", token=loopback_hub.token, cache_dir=cache)
    assert_same_weights(loaded, translator)
    assert (cache / "models--org--private" / "snapshots").is_dir()


def test_hub_file_corrupted_in_transit_or_in_cache_is_fetched_again(
    loopback_hub: LoopbackHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    translator = random_translator("cyclegan", SMALL, seed=4)
    files = saved_files(translator, tmp_path, "m")
    loopback_hub.commit("org/flaky", files)
    blob = loopback_hub.blob_path(files["model.safetensors"])
    loopback_hub.add_fault(blob, "corrupt")  # same size: huggingface_hub alone would keep it
    assert_same_weights(stylezoo.load("hf-hub:org/flaky"), translator)
    assert loopback_hub.count("GET", blob) == 2
    snapshot = stylezoo.download("hf-hub:org/flaky")
    cached = (snapshot / "model.safetensors").resolve()
    truncated = cached.read_bytes()[:1000]
    cached.unlink()  # a new file: loaded tensors may be memory-mapped from the old one
    cached.write_bytes(truncated)  # truncated in the cache
    assert_same_weights(stylezoo.load("hf-hub:org/flaky"), translator)
    assert loopback_hub.count("GET", blob) == 3


def test_hub_connection_dropped_mid_file(loopback_hub: LoopbackHub, tmp_path: Path) -> None:
    translator = random_translator("cyclegan", SMALL, seed=5)
    files = saved_files(translator, tmp_path, "m")
    loopback_hub.commit("org/dropped", files)
    loopback_hub.add_fault(loopback_hub.blob_path(files["model.safetensors"]), "drop")
    assert_same_weights(stylezoo.load("hf-hub:org/dropped"), translator)  # ~1 s client retry


# -- registry names with a Hub copy ----------------------------------------------------------
def publish_copy(hub: LoopbackHub, tmp_path: Path, repo: str, **extra: object) -> dict:
    directory = stylezoo.convert(
        "cyclegan", _write(tmp_path / "o.pth", PTH), tmp_path / repo, config=SMALL
    )
    files = {p.name: p.read_bytes() for p in directory.iterdir()}
    commit = hub.commit(f"org/{repo}", files)
    return {
        "repo": f"org/{repo}",
        "revision": commit,
        "files": {"model": "model.safetensors"},
        "sha256": {"model": sha256_file(directory / "model.safetensors")},
        **extra,
    }


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_hub_copy_is_preferred_and_then_cached(
    fresh_plugins: object,
    loopback_hub: LoopbackHub,
    loopback_upstream: LoopbackUpstream,
    converted_reference: stylezoo.Translator,
    tmp_path: Path,
) -> None:
    hub = publish_copy(loopback_hub, tmp_path, "cyclegan-loop_small")
    register(record(url=loopback_upstream.add_file("x.pth", PTH), hub=hub))
    assert_same_weights(stylezoo.load("cyclegan/loop_small"), converted_reference)
    assert loopback_upstream.count() == 0
    assert not record_cache_dir(stylezoo.get_record("cyclegan/loop_small")).exists()
    requests = loopback_hub.count()
    loopback_hub.stop()
    assert_same_weights(stylezoo.load("cyclegan/loop_small"), converted_reference)
    assert loopback_hub.count() == requests


def test_hub_copy_with_wrong_sha256_is_rejected(
    fresh_plugins: object, loopback_hub: LoopbackHub, tmp_path: Path
) -> None:
    hub = publish_copy(loopback_hub, tmp_path, "cyclegan-loop_bad", sha256={"model": "1" * 64})
    register(record(hub=hub))
    with pytest.raises(stylezoo.IntegrityError, match="expected sha256 1{64}, got [0-9a-f]{64}"):
        stylezoo.load("cyclegan/loop_small")


@pytest.mark.parametrize("hub_state", ["missing", "unreachable"])
def test_hub_copy_missing_or_unreachable_falls_back_to_upstream(
    hub_state: str,
    fresh_plugins: object,
    loopback_hub: LoopbackHub,
    loopback_upstream: LoopbackUpstream,
    converted_reference: stylezoo.Translator,
) -> None:
    url = loopback_upstream.add_file("pretrained/loop_small.pth", PTH)
    register(record(url=url, hub={"repo": "org/not-published", "revision": "main"}))
    if hub_state == "unreachable":
        loopback_hub.stop()
    started = time.perf_counter()
    assert_same_weights(stylezoo.load("cyclegan/loop_small"), converted_reference)
    assert time.perf_counter() - started < 5  # no 20 s of huggingface_hub retries
    assert loopback_upstream.count("GET") == 1


def test_both_sources_missing_is_one_clear_error(
    fresh_plugins: object, loopback_hub: LoopbackHub, loopback_upstream: LoopbackUpstream
) -> None:
    url = f"{loopback_upstream.url}/gone/loop_small.pth"
    register(record(url=url, hub={"repo": "org/not-published"}))
    with pytest.raises(stylezoo.DownloadError) as caught:
        stylezoo.load("cyclegan/loop_small")
    message = str(caught.value)
    assert "org/not-published" in message and "HTTP 404" in message
    assert "stylezoo convert cyclegan/loop_small FILE" in message


def test_download_then_load_with_servers_stopped(
    fresh_plugins: object,
    loopback_hub: LoopbackHub,
    loopback_upstream: LoopbackUpstream,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from stylezoo.cli import main

    translator = random_translator("cyclegan", SMALL, seed=6)
    loopback_hub.commit("org/pre", saved_files(translator, tmp_path, "m"))
    register(record(url=loopback_upstream.add_file("p.pth", PTH)))
    assert main(["download", "cyclegan/loop_small", "hf-hub:org/pre"]) == 0
    printed = capsys.readouterr().out
    assert str(record_cache_dir(stylezoo.get_record("cyclegan/loop_small"))) in printed
    assert "models--org--pre" in printed
    loopback_hub.stop()
    loopback_upstream.stop()
    stylezoo.load("cyclegan/loop_small")
    assert_same_weights(stylezoo.load("hf-hub:org/pre"), translator)  # cached ref, 1 ms


def test_revision_needs_a_hub_source(small_record: stylezoo.Record, tmp_path: Path) -> None:
    with pytest.raises(stylezoo.InvalidOptionError, match="has none"):
        stylezoo.load(small_record.name, revision="v1")
    directory = random_translator("cyclegan", SMALL).save_pretrained(tmp_path / "d")
    with pytest.raises(stylezoo.InvalidOptionError, match="local directory"):
        stylezoo.load(directory, revision="v1")
