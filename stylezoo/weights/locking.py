"""Inter-process file locks around cache writes, so concurrent loads never corrupt the cache.

``filelock`` is a dependency of huggingface_hub (which stylezoo depends on), and is the lock
huggingface_hub itself uses for its cache; it is imported only when a lock is taken.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger(__name__)


@contextmanager
def file_lock(path: Path, *, label: str = "") -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if needed) for the ``with`` block.

    Waits for other processes; logs once when it has to wait.
    """
    from filelock import FileLock, Timeout

    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0.05)
    except Timeout:
        logger.info("Waiting for another process to finish %s (lock %s).", label or path.name, path)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()
