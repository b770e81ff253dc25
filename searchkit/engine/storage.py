"""Writes that survive a power cut: a commit is on disk before it is in force.

A Whoosh commit writes the segment files, then a new table of contents under a
temporary name, then renames it into place: the rename is the commit point. For the
commit to survive an OS crash or power cut, every file it names must reach the disk
before the rename, and the rename itself (the directory entry) after it.
:class:`DurableFileStorage` does that for Whoosh: a segment file (searchkit writes
compound ``.seg`` files; the per-field parts are assembled into it and removed) and
the new table of contents are fsync'ed when closed, and the directory after each
rename (:func:`searchkit.atomic.fsync_dir`). searchkit's own JSON files are written
by :func:`searchkit.atomic.atomic_write_text`. The cost is measured in BENCHMARKS.md.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import StructFile

from searchkit.atomic import fsync_dir

# The files a commit leaves in force: compound segments and the table of contents
# (written as "_MAIN_<gen>.toc.<time>", then renamed).
_DURABLE_NAME = re.compile(r"\.seg$|\.toc(\.|$)")


def _sync_on_close(f: StructFile) -> None:
    f.file.flush()
    os.fsync(f.file.fileno())


class DurableFileStorage(FileStorage):  # type: ignore[misc]
    """Whoosh's file storage, fsync'ing what a commit puts in force (see the module)."""

    def create_file(self, name: str, excl: bool = False, mode: str = "wb", **kwargs: Any) -> Any:
        if _DURABLE_NAME.search(name) and "onclose" not in kwargs:
            kwargs["onclose"] = _sync_on_close
        return super().create_file(name, excl=excl, mode=mode, **kwargs)

    def rename_file(self, oldname: str, newname: str, safe: bool = False) -> None:
        super().rename_file(oldname, newname, safe=safe)
        fsync_dir(Path(self.folder))


__all__ = ["DurableFileStorage"]
