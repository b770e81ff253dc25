"""The index lock: one writing command at a time, for the whole of its run.

Every command that changes an index (``ingest``, ``delete``, ``rebuild``,
``optimize``) holds this lock from before it reads the source registry until after
its last commit, so no other writer can slip in between its batches: a ``rebuild``
cannot rebuild from a registry an ingest is about to extend, and two runs cannot
each write back their own copy of the registry. Searches never take it.

It is an OS file lock on ``searchkit.lock`` in the index directory, as every lock of
searchkit (:func:`lock_fd`, :func:`holding`): ``flock`` on POSIX, from the standard
library's ``fcntl``; ``LockFileEx`` on Windows, through the ``filelock`` library
(loaded only there: on POSIX it wraps the same ``flock`` call, and importing it was 7 to 9%
of a search process's CPU). The kernel releases the lock when the process holding it
dies, so a killed run never blocks the next.
Two things make it safe beyond that:

- ``rebuild`` swaps a new directory in under the index's name. A process that was
  waiting on the old directory's lock file then holds a lock nobody else looks at;
  after locking, the file locked is checked to be the one at the index's path now,
  and the lock is taken again when it is not.
- A forked child (the writer processes of a multi-process ingest) inherits the
  parent's lock descriptors, and with them the lock: a child left behind by a killed
  parent would keep the index locked for good. Every lock descriptor registered
  here is closed in a forked child at once (closing, unlike unlocking, leaves the
  parent's lock in force).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from searchkit.engine.orphans import close_in_forked_children, keep_in_forked_children
from searchkit.errors import IndexLockedError, IndexWriteError

LOCK_FILE = "searchkit.lock"

#: How often a writer waiting for another process's lock tries again.
LOCK_POLL_SECONDS = 0.1

#: Called once when a write has to wait for another process's lock, with the
#: number of seconds it will wait at most.
LockWaitCallback = Callable[[float], None]


def lock_fd(fd: int, *, blocking: bool = True) -> bool:
    """Lock the open file ``fd`` exclusively (``flock`` on the whole file on POSIX,
    ``LockFileEx`` on its first byte on Windows); whether it was locked (always, when
    ``blocking``: on POSIX the wait is the kernel's, and Ctrl-C ends it). The kernel
    releases it when the descriptor is closed or the process dies."""
    if sys.platform == "win32":  # tests run it on POSIX too (tests/test_portability.py)
        import filelock

        return filelock.lock_descriptor(fd, blocking=blocking, poll_interval=LOCK_POLL_SECONDS)
    import fcntl  # not at the top: Windows has none

    if blocking:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:  # another open file description holds it
        return False
    return True


def unlock_fd(fd: int) -> None:
    """Release a lock taken by :func:`lock_fd` (the descriptor stays open)."""
    if sys.platform == "win32":
        import filelock

        filelock.unlock_descriptor(fd)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


@contextmanager
def holding(handle: IO[Any]) -> Iterator[None]:
    """Hold an exclusive lock on the open file ``handle`` for the ``with`` block,
    waiting for another process's."""
    lock_fd(handle.fileno())
    try:
        yield
    finally:
        unlock_fd(handle.fileno())


def wait_to_take(
    attempt: Callable[[], str | None],
    location: str,
    timeout: float,
    on_wait: LockWaitCallback | None,
    poll_seconds: float,
) -> None:
    """Call ``attempt`` until it takes the writer's lock (returns None), at most
    ``timeout`` seconds, telling ``on_wait`` once when it has to wait; then
    :class:`IndexLockedError` for the index at ``location``. While another holds the
    lock, ``attempt`` returns what is known of the holder (" (on HOST)", or "")."""
    deadline = time.monotonic() + timeout
    told = False
    while True:
        holder = attempt()
        if holder is None:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            waited = f" (waited {timeout:g} s)" if timeout else ""
            raise IndexLockedError(
                f"the index at {location} is being written by another searchkit "
                f"process{holder}{waited}; try again when it has finished"
            )
        if not told and on_wait is not None:
            on_wait(timeout)
        told = True
        time.sleep(min(poll_seconds, remaining))


class IndexLock:
    """The lock of one index directory, re-entrant within this object.

    >>> lock = IndexLock(Path("my-index"))        # doctest: +SKIP
    >>> with lock.held(timeout=300):               # doctest: +SKIP
    ...     ...  # read the registry, write, commit, write the registry
    """

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self._lock: int | None = None  # the locked descriptor
        self._depth = 0

    @property
    def path(self) -> Path:
        return self.index_dir / LOCK_FILE

    @property
    def is_held(self) -> bool:
        return self._depth > 0

    @contextmanager
    def held(self, timeout: float = 0.0, on_wait: LockWaitCallback | None = None) -> Iterator[None]:
        """Hold the lock for the ``with`` block (at once if this object holds it).

        Waits up to ``timeout`` seconds for another holder, telling ``on_wait`` once,
        then raises :class:`IndexLockedError`; a lock file that cannot be created or
        opened (a read-only index) is :class:`IndexWriteError`.
        """
        self.acquire(timeout, on_wait)
        try:
            yield
        finally:
            self.release()

    def acquire(self, timeout: float = 0.0, on_wait: LockWaitCallback | None = None) -> None:
        if self._depth:
            self._depth += 1
            return

        def attempt() -> str | None:
            lock = self._try_lock()
            if lock is None:
                return ""
            self._lock = lock
            return None

        wait_to_take(attempt, str(self.index_dir), timeout, on_wait, LOCK_POLL_SECONDS)
        self._depth = 1

    def release(self) -> None:
        if self._depth == 0:
            raise RuntimeError("the index lock is not held")
        self._depth -= 1
        if self._depth == 0 and self._lock is not None:
            lock, self._lock = self._lock, None
            _unlock(lock)

    def _try_lock(self) -> int | None:
        """The locked descriptor of the file at the index's path now, or ``None`` when
        another process holds it."""
        try:
            lock = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise IndexWriteError(
                f"cannot write the index at {self.index_dir} ({exc.strerror or exc}): "
                f"its lock file {self.path} cannot be opened"
            ) from None
        try:
            locked = lock_fd(lock, blocking=False)
        except BaseException:
            os.close(lock)
            raise
        if not locked:
            os.close(lock)
            return None
        close_in_forked_children(lock)
        if not _is_current(lock, self.path):
            # The directory was swapped (a rebuild) or the file removed while this
            # process waited: what it locked is no longer the index's lock.
            _unlock(lock)
            return self._try_lock()
        return lock


def _is_current(fd: int, path: Path) -> bool:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (held.st_dev, held.st_ino)


def _unlock(fd: int) -> None:
    keep_in_forked_children(fd)
    with contextlib.suppress(OSError):
        unlock_fd(fd)
    with contextlib.suppress(OSError):
        os.close(fd)


__all__ = [
    "LOCK_FILE",
    "LOCK_POLL_SECONDS",
    "IndexLock",
    "LockWaitCallback",
    "holding",
    "lock_fd",
    "unlock_fd",
]
