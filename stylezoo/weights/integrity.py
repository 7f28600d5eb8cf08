"""Is a weight file what it claims to be? sha256 checks, safetensors layout checks, and the
"delete, download once more, then give up naming both hashes" rule.

huggingface_hub checks only sizes, and a plain HTTP download checks nothing, so stylezoo
checks hashes itself. No torch here: these checks run before anything is loaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import struct
from collections.abc import Callable
from pathlib import Path

from ..errors import IntegrityError

logger = logging.getLogger(__name__)

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX40 = re.compile(r"^[0-9a-f]{40}$")
#: safetensors headers are small JSON; anything huge means the file is not safetensors.
_MAX_HEADER = 100 * 1024 * 1024

Expected = str | Callable[[Path], "str | None"] | None


_DIGESTS: dict[tuple[str, int, int], str] = {}


def sha256_file(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> str:
    """The hex sha256 of a file, read in chunks.

    Remembered per (path, size, modification time) for the life of the process, so the
    verification of a download and the provenance written after converting it hash once.
    """
    stat = os.stat(path)
    key = (os.path.realpath(path), stat.st_size, stat.st_mtime_ns)
    cached = _DIGESTS.get(key)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]


def is_sha256(value: object) -> bool:
    """Whether ``value`` is a sha256 hex digest (64 lowercase hex digits)."""
    return isinstance(value, str) and bool(_HEX64.match(value))


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, for one-line error messages."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else ""


def git_blob_sha1(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> str:
    """The git object id of a file (what the Hub names non-LFS files by)."""
    digest = hashlib.sha1(f"blob {os.path.getsize(path)}\0".encode(), usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def expected_blob_hash(path: Path) -> str | None:
    """The hash a huggingface_hub cache file is named by (its blob name), if it has one.

    LFS files are stored under their sha256, regular files under their git sha1; a copy
    that is not a link into ``blobs/`` says nothing.
    """
    name = path.resolve().name
    if path.resolve().parent.name == "blobs" and (_HEX64.match(name) or _HEX40.match(name)):
        return name
    return None


def file_hash(path: Path, expected: str) -> str:
    """The file's hash in the kind ``expected`` is: sha256 (64 hex) or git sha1 (40 hex)."""
    return git_blob_sha1(path) if len(expected) == 40 else sha256_file(path)


def check_safetensors(path: Path) -> str | None:
    """Why ``path`` is not a complete safetensors file, or ``None`` when its layout is sound.

    Reads the header only: the declared tensors must end exactly where the file does, which
    catches truncated downloads and files in other formats before torch sees them.
    """
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                return f"is truncated ({size} bytes)"
            (header_size,) = struct.unpack("<Q", prefix)
            if header_size > min(_MAX_HEADER, size - 8):
                return "is not a safetensors file (bad header size)"
            header = json.loads(handle.read(header_size))
    except (OSError, ValueError, RecursionError) as exc:
        return f"is not a readable safetensors file ({exc})"
    if not isinstance(header, dict):
        return "is not a safetensors file (header is not a JSON object)"
    try:
        ends = [
            int(entry["data_offsets"][1])
            for key, entry in header.items()
            if key != "__metadata__" and isinstance(entry, dict) and "data_offsets" in entry
        ]
    except (TypeError, ValueError, IndexError, KeyError):
        return "is not a safetensors file (malformed data_offsets in its header)"
    expected = 8 + header_size + max(ends, default=0)
    if size < expected:
        return f"is truncated ({size} of {expected} bytes)"
    if size > expected:
        return f"has {size - expected} unexpected trailing bytes"
    return None


def _problem(
    path: Path,
    expected: Expected,
    check: Callable[[Path], str | None] | None,
    hash_source: str = "its published hash",
) -> tuple[str, str | None, str | None] | None:
    """(what is wrong, expected hash, actual hash), or ``None`` when the file is good."""
    if check is not None:
        issue = check(path)
        if issue:
            return issue, None, None
    want = expected(path) if callable(expected) else expected
    if want:
        want = want.lower()
        actual = file_hash(path, want)
        if actual != want:
            return f"does not match {hash_source}", want, actual
    return None


def read_digest(path: Path) -> str | None:
    """The sha256 stored in the digest file ``path`` (see :func:`write_digest`), if any.

    A missing, unreadable or malformed digest file counts as none (and is logged).
    """
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logger.warning("Ignoring the unreadable digest file %s (%s).", path, exc)
        return None
    if not is_sha256(text):
        logger.warning("Ignoring the malformed digest file %s.", path)
        return None
    return text


def write_digest(path: Path, digest: str) -> None:
    """Store ``digest`` in ``path`` atomically (a reader sees the old file or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.incomplete")
    partial.write_text(digest + "\n", encoding="ascii")
    os.replace(partial, path)


def forget_file(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def verify_file(
    fetch: Callable[[bool], Path],
    *,
    expected: Expected,
    label: str,
    check: Callable[[Path], str | None] | None = None,
    forget: Callable[[Path], None] = forget_file,
    allow_refetch: bool = True,
    hash_source: str = "its published hash",
    changed: str = (
        "The server may be serving a different file than the record describes: report it, "
        "or point stylezoo at a good local copy (`stylezoo convert` / a saved directory)."
    ),
) -> Path:
    """Fetch a file and check it; a bad file is deleted and fetched once more.

    Args:
        fetch: ``fetch(force)`` returns the file's path, downloading it again when ``force``.
        expected: the expected hash, or a function of the fetched path giving it.
        label: how messages name the file.
        check: a layout check returning what is wrong, or ``None``.
        forget: deletes a bad file from its cache.
        allow_refetch: ``False`` when offline: a bad file is deleted and reported.
        hash_source: what the expected hash is, for messages.
        changed: what to do when a fresh copy does not match either.

    Raises:
        IntegrityError: the second copy is bad too (or no second copy could be fetched);
            the message names the file and both hashes.
    """
    path = fetch(False)
    problem = _problem(path, expected, check, hash_source)
    if problem is None:
        return path
    logger.warning("%s %s; deleting it and downloading it again.", label, problem[0])
    forget(path)
    if not allow_refetch:
        raise IntegrityError(
            f"{label} {_describe(problem)}. It was deleted from the cache; it cannot be "
            "downloaded again while offline (HF_HUB_OFFLINE=1 or local_files_only=True). "
            "Go online and load it again, or run `stylezoo download`."
        )
    path = fetch(True)
    problem = _problem(path, expected, check, hash_source)
    if problem is None:
        return path
    forget(path)
    raise IntegrityError(
        f"{label} {_describe(problem)}, twice in a row (the bad copy was deleted). {changed}"
    )


def _describe(problem: tuple[str, str | None, str | None]) -> str:
    text, want, actual = problem
    if want is None:
        return text
    return (
        f"{text}: expected sha256 {want}, got {actual}"
        if len(want) == 64
        else (f"{text}: expected git sha1 {want}, got {actual}")
    )
