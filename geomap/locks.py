"""Locks across processes: the one place that knows about operating systems.

Both come from ``filelock``, which works the same on Windows and POSIX:

* :func:`exclusive_lock`: the folder atlas's write lock (``flock`` on POSIX, ``msvcrt``
  locking on Windows, an exclusively created lock file where neither exists).
* :class:`SharedLock`: a reader/writer lock on a file, through SQLite's own file locking
  (``filelock.ReadWriteLock``). The snapshot folder of a database atlas is read by any number
  of commands under a shared hold and rewritten by one command holding it alone.

A lock dies with its process: a killed command never leaves one behind.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path

from geomap.errors import DataError

with warnings.catch_warnings():
    # Without fcntl (not Windows, not POSIX) filelock warns that only its soft lock is
    # available: that lock still excludes other geomap commands, so the warning is noise.
    warnings.simplefilter("ignore")
    import filelock


@contextlib.contextmanager
def exclusive_lock(path: Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` across processes, waiting up to ``timeout`` seconds."""
    lock = filelock.FileLock(str(path), timeout=timeout)
    try:
        lock.acquire(poll_interval=0.1)
    except filelock.Timeout:
        raise DataError(
            f"{path}: 另一个 geomap 命令正在写入图集 (another geomap command is "
            f"writing this atlas); waited {timeout:.0f} s, try again later"
        ) from None
    try:
        yield
    finally:
        lock.release()


class SharedLock:
    """A reader/writer lock on ``path`` (a small SQLite file that holds nothing else).

    One instance holds at most one level at a time: :meth:`share` or :meth:`own`, then
    :meth:`release` before taking the other. :meth:`close` lets go of everything.
    """

    def __init__(self, path: Path) -> None:
        self._lock = filelock.ReadWriteLock(str(path), is_singleton=False)
        self._held = False

    def share(self) -> None:
        """Hold it shared, waiting as long as another process holds it alone."""
        self._lock.acquire_read(timeout=-1)
        self._held = True

    def own_within(self, seconds: float) -> bool:
        """Hold it alone if every other holder lets go within ``seconds``."""
        try:
            self._lock.acquire_write(timeout=seconds)
        except filelock.Timeout:
            return False
        self._held = True
        return True

    def release(self) -> None:
        if self._held:
            self._lock.release()
            self._held = False

    def close(self) -> None:
        self._held = False
        self._lock.close()
