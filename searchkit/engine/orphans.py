"""Writer processes never outlive the process that started them.

A multi-process ingest forks writer processes that wait on a job queue. If the
parent is killed (SIGKILL, the OOM killer), nothing tells them: they would wait for
jobs forever, adopted by init, holding what they inherited. :func:`die_with_parent`,
called first thing in a child, ends it the moment its parent is gone: on Linux the
kernel sends it SIGKILL (``PR_SET_PDEATHSIG``); elsewhere a daemon thread watches the
parent id. Either way the parent is checked once more after arming, since it may have
died before.

A forked child also inherits the parent's lock descriptors, and with them the locks:
a child left behind would keep the index locked. Every descriptor registered with
:func:`close_in_forked_children` is closed in a forked child at once (closing,
unlike unlocking, leaves the parent's lock in force).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1
#: How often the watching thread looks for the parent where the kernel cannot tell.
WATCH_SECONDS = 0.5


# Descriptors that hold a lock of this process: a forked child closes them.
_INHERITED: set[int] = set()
_INHERITED_GUARD = threading.Lock()


def close_in_forked_children(fd: int) -> None:
    """Have every child forked from now on close ``fd`` (a lock descriptor) at once."""
    with _INHERITED_GUARD:
        _INHERITED.add(fd)


def keep_in_forked_children(fd: int) -> None:
    """Undo :func:`close_in_forked_children` (call before closing ``fd``)."""
    with _INHERITED_GUARD:
        _INHERITED.discard(fd)


def _close_inherited() -> None:
    for fd in _INHERITED:
        with contextlib.suppress(OSError):
            os.close(fd)
    _INHERITED.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_inherited)


def die_with_parent(parent_pid: int) -> None:
    """End this process as soon as ``parent_pid`` (its parent) is gone."""
    if not _kernel_kills_orphan():
        threading.Thread(target=_watch, args=(parent_pid,), daemon=True).start()
    if os.getppid() != parent_pid:  # the parent died before this was armed
        os._exit(1)


def _kernel_kills_orphan() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    import ctypes.util  # only a writer process needs it: not loaded by a search

    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name, use_errno=True)
    return bool(libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0)


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(WATCH_SECONDS)
    os._exit(1)


__all__ = [
    "WATCH_SECONDS",
    "close_in_forked_children",
    "die_with_parent",
    "keep_in_forked_children",
]
