"""Writer processes never outlive the process that started them.

A multi-process ingest forks writer processes that wait on a job queue. If the
parent is killed (SIGKILL, the OOM killer), nothing tells them: they would wait for
jobs forever, adopted by init, holding what they inherited. :func:`die_with_parent`,
called first thing in a child, ends it the moment its parent is gone: on Linux the
kernel sends it SIGKILL (``PR_SET_PDEATHSIG``); elsewhere a daemon thread watches the
parent id. Either way the parent is checked once more after arming, since it may have
died before.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1
#: How often the watching thread looks for the parent where the kernel cannot tell.
WATCH_SECONDS = 0.5


def die_with_parent(parent_pid: int) -> None:
    """End this process as soon as ``parent_pid`` (its parent) is gone."""
    if not _kernel_kills_orphan():
        threading.Thread(target=_watch, args=(parent_pid,), daemon=True).start()
    if os.getppid() != parent_pid:  # the parent died before this was armed
        os._exit(1)


def _kernel_kills_orphan() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name, use_errno=True)
    return bool(libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0)


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(WATCH_SECONDS)
    os._exit(1)


__all__ = ["WATCH_SECONDS", "die_with_parent"]
