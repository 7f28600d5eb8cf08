"""``hf-hub:`` repositories on the Hugging Face Hub, in the stylezoo layout.

``huggingface_hub`` is imported inside functions only: ``import stylezoo`` stays light, and
loading a local directory never touches it. Hub files live in huggingface_hub's own cache
(``HF_HUB_CACHE``, ``HF_HOME/hub`` or ``cache_dir=``; see :mod:`.cache`).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from .._version import __version__
from ..errors import (
    DownloadError,
    IntegrityError,
    InvalidOptionError,
    OfflineError,
    UnknownModelError,
)
from ..plugins import get_family
from .cache import hub_cache_dir, hub_endpoint, is_offline
from .directory import LocalModel, model_file_names, read_spec, weights_name
from .integrity import check_safetensors, expected_blob_hash, first_line, verify_file

if TYPE_CHECKING:
    from ..family import ModelSpec
    from ..registry import Record

logger = logging.getLogger(__name__)

HF_HUB_PREFIX = "hf-hub:"
_REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
_FULL_COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class HubSource:
    """A stylezoo-layout repository on the Hub.

    Attributes:
        repo_id: ``owner/name``.
        revision: a branch, tag or commit; ``None`` is ``main``.
        files: file name by role when not ``<role>.safetensors``.
        sha256: the published sha256 of each role's file, checked after download.
    """

    repo_id: str
    revision: str | None = None
    files: Mapping[str, str] = field(default_factory=dict)
    sha256: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str, revision: str | None = None) -> HubSource:
        """``hf-hub:owner/name[@revision]``; ``revision=`` must agree with an ``@revision``."""
        body = text.removeprefix(HF_HUB_PREFIX)
        repo_id, _, pinned = body.partition("@")
        if not _REPO_ID.match(repo_id):
            raise UnknownModelError(
                f"{text!r} is not a Hub model id. Write 'hf-hub:owner/name' or "
                "'hf-hub:owner/name@revision'."
            )
        if pinned and revision and pinned != revision:
            raise InvalidOptionError(
                f"{text!r} pins revision {pinned!r} but revision="
                f"{revision!r} was passed; give only one of them."
            )
        return cls(repo_id=repo_id, revision=pinned or revision)

    @classmethod
    def from_record(cls, record: Record, revision: str | None = None) -> HubSource:
        hub = record.hub
        return cls(
            repo_id=str(hub["repo"]),
            revision=revision or hub.get("revision"),
            files=dict(hub.get("files", {})),
            sha256=dict(hub.get("sha256", {})),
        )

    def filename(self, role: str) -> str:
        return str(self.files.get(role, weights_name(role)))

    def describe(self) -> str:
        return f"{HF_HUB_PREFIX}{self.repo_id}" + (f"@{self.revision}" if self.revision else "")


@dataclass(frozen=True)
class HubOptions:
    """How to reach the Hub: passed through to huggingface_hub."""

    token: str | bool | None = None
    cache_dir: str | os.PathLike[str] | None = None
    local_files_only: bool = False


def fetch_hub_model(
    source: HubSource,
    options: HubOptions,
    *,
    probe: bool = True,
    spec: ModelSpec | None = None,
) -> LocalModel:
    """Download (or find in the cache) config.json and every role's weights of ``source``.

    ``spec`` is given for a repository in another library's layout (a record of a family
    with :attr:`~stylezoo.Family.own_layout`): it has no stylezoo ``config.json``, the spec
    comes from the record, and the files are those the family names; the first of them
    pins the commit that every other file is taken from.

    Every weights file is checked before it is used: a readable safetensors layout, and the
    sha256 the record publishes (or, failing that, the hash the Hub names its blob by). A bad
    file is deleted and downloaded once more.

    Online, one quick HEAD without retries comes first (``probe``): huggingface_hub retries an
    unreachable Hub for about 25 s, so an unreachable Hub instead means the cached copy at
    once, or a :class:`DownloadError` at once when there is none.

    Raises:
        OfflineError: offline and not cached.
        DownloadError: the repository, revision or a file does not exist, or the Hub is
            unreachable.
        IntegrityError: a file is still wrong after one re-download.
    """
    if probe and not is_offline(options.local_files_only):
        cached_only = replace(options, local_files_only=True)
        if source.revision and _FULL_COMMIT.match(source.revision):
            # A commit never changes: a cached one is used without asking (as huggingface_hub
            # does), so there is nothing to probe.
            try:
                return fetch_hub_model(source, cached_only, spec=spec)
            except (OfflineError, IntegrityError):  # not cached, or a bad copy now deleted
                pass
        reason = hub_unreachable(source, options, filename=probe_file(source, spec))
        if reason is not None:
            try:
                model = fetch_hub_model(source, cached_only, spec=spec)
            except OfflineError:
                raise DownloadError(
                    f"The Hub ({hub_endpoint() or 'huggingface.co'}) cannot be reached "
                    f"({reason}) and {source.describe()} is not in the cache. Check your "
                    "connection (and HF_ENDPOINT or proxy settings), or load a directory "
                    "saved by stylezoo."
                ) from None
            logger.warning(
                "The Hub cannot be reached (%s); using the cached copy of %s.",
                reason,
                source.describe(),
            )
            return model
    if spec is None:
        config = _hub_file(source, "config.json", source.revision, options)
        root = config.parent
        spec = read_spec(root)
        names = {key: source.files.get(key, name) for key, name in model_file_names(spec).items()}
    else:
        names = _own_layout_names(source, spec)
        first_name = next(iter(names.values()))
        pinned = _hub_file(source, first_name, source.revision, options)
        root = pinned.parents[len(PurePosixPath(first_name).parts) - 1]
    # Pin the commit the first file came from, so every file is from the same snapshot.
    commit = root.name
    roles = set(get_family(spec.family).roles)
    files = {}
    for key, filename in names.items():
        if key not in roles:  # a config or tokenizer file of another library's layout
            files[key] = _hub_file(source, filename, commit, options)
            continue
        role = key

        def fetch(force: bool, name: str = filename) -> Path:
            return _hub_file(source, name, commit, options, force=force)

        def expected(path: Path, role: str = role) -> str | None:
            return source.sha256.get(role) or expected_blob_hash(path)

        files[role] = verify_file(
            fetch,
            expected=expected,
            check=check_safetensors,
            label=f"{source.repo_id}/{filename}",
            forget=_forget_blob,
            allow_refetch=not is_offline(options.local_files_only),
        )
    return LocalModel(
        spec=spec,
        files=files,
        directory=root,
        origin=f"{HF_HUB_PREFIX}{source.repo_id}@{commit}",
    )


def _own_layout_names(source: HubSource, spec: ModelSpec) -> dict[str, str]:
    """The files of a family with its own layout, with the record's ``files`` overrides."""
    names = {key: source.files.get(key, name) for key, name in model_file_names(spec).items()}
    if not names:
        raise UnknownModelError(f"The {spec.family} family names no files to fetch.")
    return names


def probe_file(source: HubSource, spec: ModelSpec | None) -> str:
    """The file whose HEAD tells whether ``source`` can be fetched: ``config.json``, or the
    first file of a repository in another library's layout."""
    return "config.json" if spec is None else next(iter(_own_layout_names(source, spec).values()))


def _hub_file(
    source: HubSource,
    filename: str,
    revision: str | None,
    options: HubOptions,
    *,
    force: bool = False,
) -> Path:
    from huggingface_hub import hf_hub_download

    try:
        return Path(
            hf_hub_download(
                source.repo_id,
                filename,
                revision=revision,
                token=options.token,
                cache_dir=hub_cache_dir(options.cache_dir),
                endpoint=hub_endpoint(),
                local_files_only=options.local_files_only,
                force_download=force,
                library_name="stylezoo",
                library_version=__version__,
            )
        )
    except Exception as exc:
        mapped = _hub_error(exc, source, filename, options)
        if mapped is exc:
            raise
        raise mapped from exc


def _hub_error(exc: Exception, source: HubSource, filename: str, options: HubOptions) -> Exception:
    from huggingface_hub import errors

    # huggingface_hub re-exports its HTTP client's base error without listing it in __all__.
    from huggingface_hub.errors import HTTPError  # type: ignore[attr-defined]

    where = f"{filename!r} of {source.describe()}"
    if isinstance(exc, errors.LocalEntryNotFoundError) and is_offline(options.local_files_only):
        return OfflineError(
            f"{where} is not in the cache ({hub_cache_dir(options.cache_dir)}) and downloads "
            "are off (HF_HUB_OFFLINE=1 or local_files_only=True). Run `stylezoo download "
            f"{source.describe()}` on a machine with internet and copy the cache, or load a "
            "directory saved by stylezoo."
        )
    if isinstance(
        exc,
        (errors.RepositoryNotFoundError, errors.RevisionNotFoundError, errors.EntryNotFoundError),
    ) and not isinstance(exc, errors.LocalEntryNotFoundError):  # that one: unreachable
        return DownloadError(
            f"{where} does not exist on the Hub ({type(exc).__name__}). "
            "Check the repository id and revision (and token= for private "
            "repositories)."
        )
    if isinstance(exc, (HTTPError, OSError, errors.HFValidationError)):
        return DownloadError(
            f"Could not download {where}: {type(exc).__name__}: "
            f"{first_line(exc)}. Check your connection, or set "
            "HF_HUB_OFFLINE=1 to use only cached files."
        )
    return exc


def _forget_blob(path: Path) -> None:
    """Delete a cached Hub file: the blob it points to and the snapshot entry."""
    target = path.resolve()
    for item in {target, path}:
        try:
            item.unlink()
        except FileNotFoundError:
            pass


def hub_reachable(
    source: HubSource, options: HubOptions, *, filename: str = "config.json"
) -> bool | str:
    """One quick HEAD (no retries) on ``filename``: ``True``, or why the copy cannot be used.

    huggingface_hub retries an unreachable Hub for ~20 s before giving up; a registry
    record has an upstream fallback, so it asks first and falls back at once.
    """
    exc = _head_file(source, options, filename)
    return True if exc is None else f"{type(exc).__name__}: {first_line(exc)}"


def hub_unreachable(
    source: HubSource, options: HubOptions, *, filename: str = "config.json"
) -> str | None:
    """Why the Hub cannot be reached at all (no connection, a timeout, a 5xx), or ``None``.

    An answer about the repository itself (not found, private, gated) means the Hub is
    reachable: those are reported by the download, with their own messages.
    """
    from huggingface_hub import errors

    exc = _head_file(source, options, filename)
    if exc is None or isinstance(exc, errors.EntryNotFoundError):
        return None
    if isinstance(exc, errors.HfHubHTTPError):
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
        if status is not None and status < 500:
            return None
    return f"{type(exc).__name__}: {first_line(exc)}"


def _head_file(source: HubSource, options: HubOptions, filename: str) -> Exception | None:
    from huggingface_hub import errors, get_hf_file_metadata, hf_hub_url

    # huggingface_hub re-exports its HTTP client's base error without listing it in __all__.
    from huggingface_hub.errors import HTTPError  # type: ignore[attr-defined]

    url = hf_hub_url(source.repo_id, filename, revision=source.revision, endpoint=hub_endpoint())
    try:
        get_hf_file_metadata(url, token=options.token, timeout=10)
    except (HTTPError, errors.EntryNotFoundError, OSError) as exc:
        return exc
    return None
