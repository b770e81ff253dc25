"""The cyclic garbage collector while a command starts.

Start-up makes many objects that live as long as the process: the modules and classes
of typer, pydantic, numpy and Whoosh, the command tree, an opened index. While they
pile up, the collector traverses them again and again (its thresholds count
allocations, and each full collection walks everything made so far): about 90 ms of
CPU of a ``searchkit search`` on ``data/`` (BENCHMARKS.md, "Start-up"), none of which
frees anything. So a command runs :func:`starting` around its start-up: the collector
is off until :func:`started`, which hides what was loaded from it (:func:`gc.freeze`)
and turns it back on for the command's own work. The collector's state before the
command is restored after it, and the frozen objects are handed back to it
(:func:`gc.unfreeze`), so that a process running many commands (tests, through
``CliRunner``) collects their garbage as before; the ``searchkit`` program, whose
process ends with its command, leaves everything frozen instead (``exiting``), so
that the interpreter's last collection as it shuts down has nothing to walk.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: Whether the collector was on before the outermost :func:`starting`, while inside one.
_outer: list[bool] = []


@contextmanager
def starting(*, exiting: bool = False) -> Iterator[None]:
    """The collector off from here until :func:`started` (or the end of the block); its
    state restored after the block. May be nested.

    ``exiting``: the process ends with the block (the ``searchkit`` program, whose
    command always ends in ``sys.exit``). Its state is then not restored: the collector
    stays off and everything is frozen, so the full collection the interpreter runs
    as it shuts down walks nothing. That collection walked every object of the
    process (the modules of typer, numpy and Whoosh, the opened index) to free none of
    them: ~40 ms of a 310 ms ``searchkit search`` on ``data/``. The objects are freed
    as the modules are cleared, as before; only cycles are left to the operating
    system (every file the commands write is closed by them, never by a collection)."""
    _outer.append(_outer[0] if _outer else gc.isenabled())
    gc.disable()
    try:
        yield
    finally:
        enabled = _outer.pop()
        if not _outer:
            if exiting:
                gc.disable()
                gc.freeze()
            else:
                gc.unfreeze()
                if enabled:
                    gc.enable()


def started() -> None:
    """Start-up is over: what it made is frozen out of the collector's sight, and the
    collector is on again (if it was before the command). Nothing outside
    :func:`starting`."""
    if not _outer:
        return
    gc.freeze()
    if _outer[0]:
        gc.enable()


@contextmanager
def loading() -> Iterator[None]:
    """A command's own start-up (its lazy imports, opening an index): the collector off
    for the block, then :func:`started`. Nothing outside :func:`starting`."""
    if not _outer:
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        started()


__all__ = ["loading", "started", "starting"]
