"""Official upstream files over plain HTTP(S): resumable, retried downloads with a progress
bar, and single members taken out of tar and zip archives.

Downloads go to ``<stylezoo cache>/downloads/``, named by a hash of the URL, through a
``.incomplete`` file that is resumed (HTTP ``Range``) when the connection drops.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import shutil
import socket
import sys
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from .._version import __version__
from ..errors import DownloadError, OfflineError

logger = logging.getLogger(__name__)

#: Seconds to wait before each retry; one attempt more than waits.
RETRY_WAITS: tuple[float, ...] = (1.0, 2.0, 4.0)
TIMEOUT_SECONDS = 30.0
_CHUNK = 1 << 20
#: Socket errors that mean this machine has no route to anywhere (not a busy server).
_NO_ROUTE = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN})


def download_name(url: str) -> str:
    """A cache file name for ``url``: a short hash (unique) plus its last path segment."""
    tail = PurePosixPath(urllib.parse.urlsplit(url).path).name or "download"
    return f"{hashlib.sha256(url.encode()).hexdigest()[:16]}-{tail}"


def check_url(url: Any) -> str | None:
    """Why ``url`` cannot be an upstream URL, or ``None`` when it is a well-formed http(s) URL."""
    if not isinstance(url, str):
        return f"url must be a string, got {type(url).__name__}"
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or not parts.path.strip("/"):
        return f"{url!r} is not an http(s) URL naming a file"
    return None


def download(url: str, destination: Path, *, label: str = "") -> Path:
    """Download ``url`` to ``destination`` unless it is already there.

    Connection errors, timeouts and 5xx answers are retried after :data:`RETRY_WAITS`,
    resuming from the bytes already received when the server honours ``Range``.

    Raises:
        DownloadError: 4xx answers (at once), or every attempt failed.
    """
    if destination.is_file():
        return destination
    from .cache import is_offline

    if is_offline():  # callers check first; this guard keeps HF_HUB_OFFLINE=1 a promise
        raise OfflineError(
            f"Downloading {url} is not allowed: HF_HUB_OFFLINE=1 is set. Unset "
            "it, or download the file elsewhere and use `stylezoo convert`."
        )
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".incomplete")
    failures: list[str] = []
    for attempt, wait in enumerate((*RETRY_WAITS, None)):
        try:
            _fetch_into(url, partial, label or destination.name)
            os.replace(partial, destination)
            return destination
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and partial.exists():  # a stale partial file: start over
                partial.unlink()
                failures.append("HTTP 416 (restarting)")
                continue
            if exc.code < 500 and exc.code != 429:
                raise DownloadError(
                    f"{url} answered HTTP {exc.code} {exc.reason}. The upstream file may have "
                    "moved: check the record's homepage, download the file yourself and run "
                    "`stylezoo convert NAME FILE -o DIR`."
                ) from exc
            failures.append(f"HTTP {exc.code}")
        except (OSError, ValueError) as exc:  # URLError, resets, timeouts, short bodies
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, OSError) and reason.errno in _NO_ROUTE:
                # No network at all: as with DNS below, waiting will not bring it back.
                raise DownloadError(
                    f"Could not download {url}: the network is unreachable ({reason}). Check "
                    "your connection, or download the file elsewhere and run "
                    "`stylezoo convert NAME FILE -o DIR`."
                ) from exc
            if isinstance(reason, socket.gaierror):
                # The host name does not resolve (typically: no network): retrying only
                # makes an offline machine wait.
                raise DownloadError(
                    f"Could not download {url}: its host name does not resolve ({reason}). "
                    "Check your connection, or download the file elsewhere and run "
                    "`stylezoo convert NAME FILE -o DIR`."
                ) from exc
            failures.append(f"{type(exc).__name__}: {exc}")
        if wait is not None:
            logger.warning(
                "Download of %s failed (%s); retry %d in %.0f s.",
                url,
                failures[-1],
                attempt + 1,
                wait,
            )
            time.sleep(wait)
    raise DownloadError(
        f"Could not download {url} after {len(failures)} attempts (last error: {failures[-1]}). "
        "Check your connection or proxy settings, or download the file yourself and run "
        "`stylezoo convert NAME FILE -o DIR`."
    )


def _fetch_into(url: str, partial: Path, label: str) -> None:
    """One attempt: append to ``partial`` from where it ends (or restart if not resumable)."""
    have = partial.stat().st_size if partial.exists() else 0
    headers = {"User-Agent": _user_agent()}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
        resumed = response.status == 206 and _range_start(response.headers) == have
        if not resumed:
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        with open(partial, "ab" if resumed else "wb") as out, _progress(label, total, have) as bar:
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                bar.update(len(chunk))
    size = partial.stat().st_size
    if total is not None and size != total:
        raise ValueError(f"connection closed after {size} of {total} bytes")


def _range_start(headers: Mapping[str, str]) -> int | None:
    value = headers.get("Content-Range", "")  # "bytes 100-199/200"
    try:
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


def _progress(label: str, total: int | None, initial: int) -> Any:
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=label,
        file=sys.stderr,
        disable=_progress_disabled(),
        leave=False,
    )


def _progress_disabled() -> bool:
    from huggingface_hub.utils import are_progress_bars_disabled  # type: ignore[attr-defined]

    return bool(are_progress_bars_disabled())  # (a documented public helper, not re-exported)


def _user_agent() -> str:
    return f"stylezoo/{__version__} (+https://pypi.org/project/stylezoo/)"


def extract_member(archive: Path, member: str, destination: Path) -> Path:
    """Copy one member out of a tar or zip archive to ``destination``; nothing else.

    The member's own path never decides where anything is written, and names that are
    absolute or climb out with ``..`` are refused.

    Raises:
        DownloadError: not an archive, no such member, or an unsafe member.
    """
    if destination.is_file():
        return destination
    _check_member_name(member, archive)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".incomplete")
    with _open_member(archive, member) as source, open(partial, "wb") as out:
        shutil.copyfileobj(source, out, _CHUNK)
    os.replace(partial, destination)
    return destination


def _check_member_name(member: str, archive: Path) -> None:
    path = PurePosixPath(member)
    if not member or path.is_absolute() or ".." in path.parts or "\\" in member:
        raise DownloadError(
            f"Refusing archive member {member!r} of {archive.name}: member "
            "names must be relative paths without '..'."
        )


def _open_member(archive: Path, member: str) -> Any:
    # Tar first: an uncompressed tar whose last member is a zip (as new-style .pth files
    # are) looks like a zip to zipfile.is_zipfile, which only looks at the end of the file.
    if tarfile.is_tarfile(archive):
        bundle = tarfile.open(archive, "r:*")
        try:
            info = bundle.getmember(member)
        except KeyError:
            names = bundle.getnames()
            bundle.close()
            raise _missing_member(archive, member, names) from None
        if not info.isfile():
            bundle.close()
            raise DownloadError(
                f"Archive member {member!r} of {archive.name} is not a regular "
                "file (links and devices are never extracted)."
            )
        return _Closing(bundle.extractfile(info), bundle)
    if zipfile.is_zipfile(archive):
        zipped = zipfile.ZipFile(archive)
        names = zipped.namelist()
        if member not in names:
            zipped.close()
            raise _missing_member(archive, member, names)
        return _Closing(zipped.open(member), zipped)
    raise DownloadError(
        f"{archive.name} is neither a zip nor a tar archive, but the record "
        f"names a member {member!r} in it. The download may be an error page; "
        "delete it and try again."
    )


def _missing_member(archive: Path, member: str, names: list[str]) -> DownloadError:
    weights = [n for n in names if n.endswith((".pth", ".pt", ".t7", ".tar"))][:8]
    return DownloadError(
        f"{archive.name} has no member {member!r} (weight-like members: "
        f"{weights or 'none'}). The record may be outdated."
    )


class _Closing:
    """A member stream that also closes its archive."""

    def __init__(self, stream: Any, archive: Any) -> None:
        self.stream, self.archive = stream, archive

    def __enter__(self) -> Any:
        return self.stream

    def __exit__(self, *exc: object) -> None:
        self.stream.close()
        self.archive.close()
