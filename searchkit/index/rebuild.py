"""Rebuilding an index from its recorded sources, then swapping it in atomically.

The new index is built in a hidden sibling directory (``.NAME.rebuild``) while the
old one stays searchable and write-locked (so no ingest is lost in between). When
the build is complete, the two directories are exchanged in one atomic step
(Linux ``renameat2(RENAME_EXCHANGE)``; elsewhere two renames with a recovery
step), and the old index is removed. An interrupted rebuild leaves the old index as
it was; its leftovers are removed by the next rebuild.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from searchkit.errors import IndexWriteError, InputError
from searchkit.index.history import copy_history
from searchkit.index.ingest import IngestReport, ProgressMeter, ingest
from searchkit.index.kept_records import OldIndexUnreadable, keep_records
from searchkit.index.locking import IndexLock, LockWaitCallback
from searchkit.index.meshtree import copy_mesh_tree
from searchkit.index.searchindex import SearchIndex
from searchkit.index.sidecars import Sidecar
from searchkit.index.sources import SourceRegistry

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def build_dir(index_dir: Path) -> Path:
    """Where a rebuild of ``index_dir`` is built."""
    return index_dir.with_name(f".{index_dir.name}.rebuild")


def old_dir(index_dir: Path) -> Path:
    """Where the replaced index sits between the swap and its removal."""
    return index_dir.with_name(f".{index_dir.name}.rebuild-old")


def recover(index_dir: Path) -> None:
    """Finish or undo what an interrupted swap left: an index moved aside but not
    replaced is moved back; other leftovers are removed."""
    old = old_dir(index_dir)
    if not index_dir.exists() and old.is_dir():
        os.rename(old, index_dir)
    for leftover in (old, build_dir(index_dir)):
        if leftover.exists():
            shutil.rmtree(leftover)


def missing_sources_message(missing: int) -> str:
    """What a rebuild refused for ``missing`` recorded sources whose file is gone says
    after the first one's path: that nothing changed, and the remedy."""
    remedy = (
        "put it back, or forget it with 'searchkit sources --forget PATH' — its records are kept"
        if missing == 1
        else "put them back, or forget them with 'searchkit sources --forget --missing' "
        "— their records are kept"
    )
    return (
        f"recorded source no longer exists ({missing} missing); the index was left as it "
        f"is ({remedy})"
    )


def rebuild(
    index: SearchIndex | str | os.PathLike[str],
    *,
    procs: int = 1,
    batch_size: int | None = None,
    on_file: Callable[[Path, int], None] | None = None,
    on_progress: ProgressMeter | None = None,
    lock_timeout: float = 0.0,
    on_lock_wait: LockWaitCallback | None = None,
    sidecars: Sequence[Sidecar] = (),
) -> tuple[SearchIndex, IngestReport]:
    """Re-read every recorded source of ``index`` into a new index and swap it in.

    ``index`` may be the directory of an index too damaged to open (its lock is then
    waited for ``lock_timeout`` seconds, telling ``on_lock_wait``; an opened index
    waits as set on it). The data of ``sidecars`` (sentence vectors) is carried over
    to the new index, and so are the records it holds that no source gives any more
    (taken out of their file, or written from none; not those removed with ``searchkit
    delete``): ``report.kept`` counts them (``report.old_unread`` says why, when the old
    index is too damaged to read them). Returns the new index and the report of reading
    the sources (its ``deleted`` count includes the deletions of ``searchkit delete``
    applied again).
    Raises :class:`InputError` (before any work) when a recorded source no longer
    exists (:func:`searchkit.index.sources.forget_sources` lets go of it), and
    :class:`IndexLockedError` when another process writes the index for longer than the
    lock timeout.
    """
    # "--index ." has no name to put beside. A damaged index is given as its directory:
    # only its recorded sources are read.
    index_dir = Path(os.path.abspath(index.path if isinstance(index, SearchIndex) else index))
    guard = (
        index.locked()
        if isinstance(index, SearchIndex)
        else IndexLock(index_dir).held(lock_timeout, on_lock_wait)
    )
    # The index lock is held from reading the registry to the swap: no ingest or
    # delete can commit meanwhile, so nothing they write is left out of the new index.
    with guard:
        registry = SourceRegistry.load(index_dir)
        # In the order first read: where two files hold the same PMID, the later one's
        # version was in force, and must be again.
        paths = [Path(entry.path) for entry in registry.in_reading_order()]
        missing = [p for p in paths if not p.exists()]
        if missing:
            raise InputError(str(missing[0]), missing_sources_message(len(missing)))
        target = build_dir(index_dir)
        try:
            recover(index_dir)
            new = SearchIndex.create(target)
            report = ingest(
                paths,
                new,
                procs=procs,
                batch_size=batch_size,
                force=True,
                on_file=on_file,
                on_progress=on_progress,
            )
            if registry.deleted:
                # Records removed with ``searchkit delete`` stay removed, and the
                # report says so: its counts add up to the records the index holds.
                report.counts.deleted += new.delete(sorted(registry.deleted)).deleted
                rebuilt = SourceRegistry.load(target)
                rebuilt.deleted = set(registry.deleted)
                rebuilt.save()
            # What the index holds that no source gives now (a record taken out of its
            # file, one written from no file) is kept: a rebuild loses nothing.
            try:
                report.kept = keep_records(index_dir, new, registry.deleted)
            except OldIndexUnreadable as exc:
                report.old_unread = str(exc)
            # Sidecar data (sentence vectors, keyed by text) holds for the new index too.
            for sidecar in sidecars:
                sidecar.carry_over(index_dir, target)
            copy_mesh_tree(index_dir, target)
            copy_history(index_dir, target)
        except BaseException as exc:
            shutil.rmtree(target, ignore_errors=True)
            if isinstance(exc, OSError):
                raise IndexWriteError(
                    f"cannot rebuild the index at {index_dir} ({exc.strerror or exc}); "
                    "it was left as it is"
                ) from None
            raise
        _swap(target, index_dir)
    # After the swap ``target`` holds the old index.
    shutil.rmtree(target, ignore_errors=True)
    return SearchIndex.open(index_dir), report


def _swap(new: Path, current: Path) -> None:
    """Exchange two directories: atomically where the OS can, else by two renames."""
    if _exchange(new, current):
        return
    old = old_dir(current)
    os.rename(current, old)
    os.rename(new, current)
    os.rename(old, new)


def _exchange(a: Path, b: Path) -> bool:
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(result == 0)
