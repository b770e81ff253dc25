"""Whoosh's file index as searchkit opens and tidies it.

:class:`RetryingFileIndex` retries a table-of-contents read that loses the race with
a writer in another process deleting the previous TOC after a commit (as Whoosh's
own ``reader()`` does; ``doc_count()`` and ``schema`` did not). The tidying functions
remove what a writer killed mid-commit leaves behind; call them only while holding
the index lock, so that no other writer is mid-commit.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, FileIndex, clean_files

#: How often a TOC read is tried when a concurrent commit deletes the file under it.
TOC_READ_ATTEMPTS = 10


class RetryingFileIndex(FileIndex):  # type: ignore[misc]
    """A Whoosh file index whose TOC read survives a concurrent commit."""

    def _read_toc(self) -> TOC:
        for attempt in range(TOC_READ_ATTEMPTS):
            try:
                return super()._read_toc()
            except FileNotFoundError:
                if attempt == TOC_READ_ATTEMPTS - 1:
                    raise
                time.sleep(0.05)
        raise AssertionError("unreachable")


def segment_count(ix: FileIndex) -> int:
    """How many segments the index's current generation has."""
    return len(ix._segments())


def deleted_count(ix: FileIndex) -> int:
    """How many deleted documents the segments of the current generation still hold
    (replaced or deleted records' copies, until their segment is rewritten)."""
    return sum(segment.deleted_count() for segment in ix._segments())


def remove_stale_toc_files(folder: Path, indexname: str) -> None:
    """Delete temporary TOC files: Whoosh writes a new TOC to
    ``_<name>_<gen>.toc.<time>`` and renames it into place, and a writer killed in
    between leaves that file, which Whoosh never removes."""
    stale = re.compile(rf"^_{re.escape(indexname)}_\d+\.toc\.")
    for entry in folder.iterdir():
        if stale.match(entry.name):
            entry.unlink(missing_ok=True)


def remove_unreferenced_files(folder: Path, indexname: str) -> None:
    """Delete temporary TOC files and the files of segments the current TOC does not
    name: a commit killed after renaming its TOC into place and before deleting the
    segments it merged away leaves those, and a write that finds nothing to commit
    would otherwise never remove them."""
    remove_stale_toc_files(folder, indexname)
    storage = FileStorage(str(folder))
    try:
        toc = TOC.read(storage, indexname)
    except Exception:  # a damaged index is reported where it is read, not here
        return
    clean_files(storage, indexname, toc.generation, toc.segments)


__all__ = [
    "TOC_READ_ATTEMPTS",
    "RetryingFileIndex",
    "remove_stale_toc_files",
    "remove_unreferenced_files",
    "segment_count",
]
