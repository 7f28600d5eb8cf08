"""Where a model's files come from, in order: a local directory, an ``hf-hub:`` repository,
or a registry name (a copy already on this machine, a file inside an installed package, its
Hub copy, else its official upstream file converted once).

Everything here ends in a :class:`~.directory.LocalModel`: files on this machine, checked,
ready for :func:`~.loading.load_files`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import (
    DownloadError,
    IntegrityError,
    InvalidModelDirectoryError,
    InvalidOptionError,
    OfflineError,
)
from ..family import Family
from ..plugins import get_family, get_record
from ..registry import Record
from .cache import cache_root, hub_cache_dir, is_offline, record_cache_dir
from .convert import convert_checkpoints, model_spec
from .directory import (
    LocalModel,
    is_model_directory,
    local_model,
    save_directory,
    verified,
    weights_problem,
)
from .hub import HF_HUB_PREFIX, HubOptions, HubSource, fetch_hub_model, hub_reachable
from .integrity import (
    check_safetensors,
    forget_file,
    read_digest,
    sha256_file,
    verify_file,
    write_digest,
)
from .locking import file_lock
from .package import package_files
from .upstream import download, download_name, extract_member

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]


_DEFAULTS = HubOptions()


def resolve(
    source: PathLike, *, revision: str | None = None, options: HubOptions = _DEFAULTS
) -> LocalModel:
    """Find or fetch the files of ``source`` (see :func:`stylezoo.load` for the rules)."""
    text = os.fspath(source)
    path = Path(text).expanduser()
    if path.exists():
        if revision is not None:
            raise InvalidOptionError(
                f"revision={revision!r} applies to Hub sources; {text!r} is a local directory."
            )
        return verified(local_model(path))
    if text.startswith(HF_HUB_PREFIX):
        return fetch_hub_model(HubSource.parse(text, revision), options)
    if looks_like_path(text):
        raise InvalidModelDirectoryError(
            f"Model directory {text!r} does not exist. Check the path, or pass a registry "
            "name (see `stylezoo list`) or 'hf-hub:owner/name'."
        )
    return fetch_record(get_record(text), revision=revision, options=options)


def looks_like_path(text: str) -> bool:
    """Registry names are ``family/variant``; anything else with a separator is a path."""
    return (
        text.startswith((".", "~", "/", "\\"))
        or text.count("/") > 1
        or "\\" in text
        or text.endswith("/")
        or bool(os.path.splitdrive(text)[0])
    )


def fetch_record(
    record: Record, *, revision: str | None = None, options: HubOptions = _DEFAULTS
) -> LocalModel:
    """The files of a registry record: cached copies first (no network), then a file inside
    an installed package, then the Hub copy, then the upstream file converted once into the
    stylezoo cache."""
    if revision is not None and not record.hub:
        raise InvalidOptionError(
            f"revision={revision!r} applies to a Hub copy, and "
            f"{record.name!r} has none (its weights come from upstream)."
        )
    hub = HubSource.from_record(record, revision) if record.hub else None
    family = get_family(record.family)
    if family.own_layout:
        return _fetch_own_layout(record, family, hub, options)
    cached = _cached_copy(record, hub, options)
    if cached is not None:
        return cached
    if record.package:  # on this machine already: no network, offline or not
        return convert_package(record, options)
    if is_offline(options.local_files_only):
        raise _offline_error(record, options)
    reasons = []
    if hub is not None:
        reachable = hub_reachable(hub, options)
        if reachable is True:
            try:
                return fetch_hub_model(hub, options, probe=False)  # just asked
            except DownloadError as exc:
                reachable = str(exc)
        reasons.append(f"Hub copy {hub.describe()}: {reachable}")
        logger.warning(
            "The Hub copy of %s cannot be used (%s); using the upstream file.",
            record.name,
            reachable,
        )
    if record.upstream:
        try:
            return convert_upstream(record, options)
        except DownloadError as exc:
            reasons.append(f"upstream: {exc}")
    else:
        reasons.append("the record lists no upstream file")
    raise DownloadError(
        f"No source of {record.name!r} could be used. " + " ".join(reasons) + " If you have "
        f"the official file, run `stylezoo convert {record.name} FILE -o DIR` and load DIR."
    )


def _fetch_own_layout(
    record: Record, family: Family, hub: HubSource | None, options: HubOptions
) -> LocalModel:
    """A record of a family with its own layout: its Hub repository, in that layout (the
    cached snapshot first, with no network request). The spec comes from the record."""
    if hub is None:
        raise DownloadError(
            f"{record.name!r} names no Hub repository (hub table), and the {family.name} "
            "family loads its models only from one (or from a directory saved by stylezoo)."
        )
    spec = model_spec(
        family,
        record,
        family.complete_config(record.config),
        {"hub": {"repo": hub.repo_id, "revision": hub.revision or "main"}},
    )
    try:
        return fetch_hub_model(hub, replace(options, local_files_only=True), spec=spec)
    except OfflineError:
        if is_offline(options.local_files_only):
            raise OfflineError(
                f"The files of {record.name!r} ({hub.describe()}) are not in the Hub cache "
                f"({hub_cache_dir(options.cache_dir)}) and downloads are off (HF_HUB_OFFLINE=1 "
                f"or local_files_only=True). Run `stylezoo download {record.name}` on a "
                "machine with internet (then copy the cache, see docs/hub.md)."
            ) from None
    except IntegrityError as exc:  # the bad file is gone; fetched again below
        if is_offline(options.local_files_only):
            raise
        logger.warning("%s", exc)
    return fetch_hub_model(hub, options, spec=spec)


def _cached_copy(record: Record, hub: HubSource | None, options: HubOptions) -> LocalModel | None:
    """A usable copy already on this machine, found without any network request."""
    if hub is not None:
        try:
            return fetch_hub_model(hub, replace(options, local_files_only=True))
        except OfflineError:
            pass
        except IntegrityError as exc:  # the bad file is gone; fetch it again below if online
            if is_offline(options.local_files_only):
                raise
            logger.warning("%s", exc)
    target = record_cache_dir(record, options.cache_dir)
    model, problem = _converted_copy(target)
    if problem is not None:
        with file_lock(_lock_path(record, options), label=record.name):
            model, problem = _converted_copy(target)
            if problem is not None:
                logger.warning("The cached %s is damaged (%s); deleting it.", record.name, problem)
                shutil.rmtree(target, ignore_errors=True)
        if problem is not None and is_offline(options.local_files_only):
            raise IntegrityError(
                f"The cached copy of {record.name!r} was damaged ({problem}) and has been "
                f"deleted. {_how_to_fetch(record)}"
            )
    return model


def _converted_copy(target: Path) -> tuple[LocalModel | None, str | None]:
    """(the converted model in ``target``, None), (None, what is wrong), or (None, None)."""
    if not is_model_directory(target):
        return None, None
    try:
        model = local_model(target)
    except InvalidModelDirectoryError as exc:
        return None, str(exc)
    for path in model.files.values():
        issue = check_safetensors(path)
        if issue:
            return None, f"{path.name} {issue}"
    problem = weights_problem(model)  # e.g. a flipped bit: same layout, other bytes
    if problem is not None:
        return None, problem
    return model, None


def convert_upstream(record: Record, options: HubOptions) -> LocalModel:
    """Download the record's official file(s), convert once, cache as a stylezoo directory.

    Only the family converter reads the official files (through ``read_checkpoint``, i.e.
    ``torch.load(weights_only=True)``). A lock makes concurrent processes wait for one
    conversion instead of racing.
    """
    with file_lock(_lock_path(record, options), label=f"fetching {record.name}"):
        model, _ = _converted_copy(record_cache_dir(record, options.cache_dir))
        if model is not None:
            return model
        root = cache_root(options.cache_dir)
        files = {
            role: fetch_upstream_file(source, root) for role, source in record.upstream.items()
        }
        model = _convert_into_cache(record, files, options)
        for role, path in files.items():
            remember_upstream_file(record.upstream[role], path, root)  # it converted: trust it
            forget_file(path)  # converted now; archives (shared by records) stay
    return model


def convert_package(record: Record, options: HubOptions) -> LocalModel:
    """A record whose weights ship inside an installed Python package.

    Files already in the stylezoo layout (``.safetensors``) are used where they are;
    official checkpoints are verified, converted once and cached like upstream files.
    """
    files = package_files(record)
    if all(path.suffix == ".safetensors" for path in files.values()):
        return _package_model(record, files)
    with file_lock(_lock_path(record, options), label=f"converting {record.name}"):
        model, _ = _converted_copy(record_cache_dir(record, options.cache_dir))
        if model is not None:
            return model
        return _convert_into_cache(record, files, options)


def _package_model(record: Record, files: dict[str, Path]) -> LocalModel:
    family = get_family(record.family)
    spec = model_spec(family, record, family.complete_config(record.config), {})
    directory = next(iter(files.values())).parent
    return LocalModel(spec=spec, files=files, directory=directory, origin=f"package {record.name}")


def _convert_into_cache(record: Record, files: dict[str, Path], options: HubOptions) -> LocalModel:
    """Convert ``files`` as ``record``, write the cache and keep the weights in memory, so
    the load that asked for them builds the networks once and reads nothing back."""
    target = record_cache_dir(record, options.cache_dir)
    logger.info("Converting %s into %s.", record.name, target)
    fitted = convert_checkpoints(record.name, files)
    save_directory(target, fitted.spec, fitted.state_dicts, overwrite=True)
    model = local_model(target)
    fitted.spec = model.spec
    return replace(model, fitted=fitted)


def fetch_upstream_file(source: Mapping[str, Any], root: Path) -> Path:
    """One official weights file on this machine, checked against its sha256 when known.

    ``source`` is a record's upstream entry: ``url``, ``member`` (a file inside a tar or
    zip archive; only that member is extracted) and ``sha256`` (of the weights file itself,
    i.e. of the member for archives). A mismatch is deleted and downloaded once more.

    Files without a published sha256 are trusted on first use: once a download has been
    converted, :func:`remember_upstream_file` stores its digest (and its archive's) under
    ``<cache>/digests/``, and every later use of the cached file, or of a new download of
    it, is checked against that digest like a published one.
    """
    url = str(source["url"])
    member = source.get("member")
    published = source.get("sha256")
    archive = _archive_path(source, root)
    label = f"{url}" + (f" (member {member})" if member else "")

    def download_archive(force: bool) -> Path:
        if force:
            forget_file(archive)
        return download(url, archive, label=PurePosixPath(member or archive.name).name)

    def fetch(force: bool) -> Path:
        if not member:
            return download_archive(force)
        # The archive outlives its members (records share it): check it on every use.
        _verify_trusted(download_archive, archive, root, label=url, force=force)
        # Members of one archive often share a base name (every CUT model is
        # .../latest_net_G.pth), so the member's full path picks the file name.
        destination = _member_path(archive, str(member))
        if force:
            forget_file(destination)
        return extract_member(archive, str(member), destination)

    with file_lock(archive.with_name(archive.name + ".lock"), label=f"downloading {url}"):
        if published:
            path = verify_file(fetch, expected=published, label=label)
        else:
            target = _member_path(archive, str(member)) if member else archive
            path = _verify_trusted(fetch, target, root, label=label)
    if not published:
        logger.info("%s has no published sha256; it hashes to %s.", label, sha256_file(path))
    return path


def remember_upstream_file(source: Mapping[str, Any], path: Path, root: Path) -> None:
    """Trust ``path`` (the file of ``source``, just converted) from now on: store its digest,
    and its archive's, unless a published sha256 already vouches for it."""
    archive = _archive_path(source, root)
    if not source.get("sha256"):
        _remember(path, root)
    if source.get("member") and archive.is_file():
        _remember(archive, root)


def _remember(path: Path, root: Path) -> None:
    digest_file = _digest_path(path, root)
    if read_digest(digest_file) is None:
        write_digest(digest_file, sha256_file(path))


def _verify_trusted(
    fetch: Callable[[bool], Path], target: Path, root: Path, *, label: str, force: bool = False
) -> Path:
    """``fetch`` checked against the digest stored when ``target`` was first trusted, if any."""
    digest_file = _digest_path(target, root)
    trusted = read_digest(digest_file)
    if trusted is None:
        return fetch(force)
    return verify_file(
        lambda again: fetch(force or again),
        expected=trusted,
        label=label,
        hash_source=f"the sha256 recorded when it was first downloaded ({digest_file})",
        changed=(
            "The server now serves a different file than the one first downloaded and "
            f"converted on this machine. If the change is expected, delete {digest_file} to "
            "trust the new file; otherwise report it to the record's maintainers."
        ),
    )


def _member_path(archive: Path, member: str) -> Path:
    tag = hashlib.sha256(member.encode()).hexdigest()[:12]
    return archive.with_name(archive.name + ".members") / f"{tag}-{PurePosixPath(member).name}"


def _digest_path(path: Path, root: Path) -> Path:
    """Where the first-use digest of a file under ``root/downloads`` is kept."""
    relative = path.relative_to(root / "downloads")
    return root / "digests" / relative.with_name(relative.name + ".sha256")


def _archive_path(source: Mapping[str, Any], root: Path) -> Path:
    return root / "downloads" / download_name(str(source["url"]))


def _lock_path(record: Record, options: HubOptions) -> Path:
    family, variant = record.name.split("/", 1)
    return cache_root(options.cache_dir) / "locks" / f"{family}--{variant}.lock"


def _how_to_fetch(record: Record) -> str:
    official = (
        "; ".join(f"{role}: {src.get('url', '?')}" for role, src in record.upstream.items())
        or "none listed"
    )
    return (
        f"Run `stylezoo download {record.name}` on a machine with internet (then copy "
        "the cache, see docs/hub.md), or download the official file "
        f"({official}) and run `stylezoo convert {record.name} FILE -o DIR` and load DIR."
    )


def _offline_error(record: Record, options: HubOptions) -> OfflineError:
    where = record_cache_dir(record, options.cache_dir)
    return OfflineError(
        f"The weights of {record.name!r} are not on this machine (looked in {str(where)!r}"
        + (f" and the Hub cache for {record.hub.get('repo')}" if record.hub else "")
        + ") and downloads are off (HF_HUB_OFFLINE=1 or local_files_only=True). "
        + _how_to_fetch(record)
    )
