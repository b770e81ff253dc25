"""Writes that survive a power cut: a commit is on disk before it is in force.

A Whoosh commit writes the segment files, then a new table of contents under a
temporary name, then renames it into place: the rename is the commit point. For the
commit to survive an OS crash or power cut, every file it names must reach the disk
before the rename, and the rename itself (the directory entry) after it.
:class:`DurableFileStorage` does that for Whoosh: a segment file (searchkit writes
compound ``.seg`` files; the per-field parts are assembled into it and removed) and
the new table of contents are fsync'ed when closed, and the directory after each
rename. :func:`atomic_write_text` does the same for searchkit's own JSON files
(metadata, source registry, acronym table): temporary file, fsync, rename, fsync the
directory. The cost is measured in BENCHMARKS.md.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path
from typing import Any

from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import StructFile

# The files a commit leaves in force: compound segments and the table of contents
# (written as "_MAIN_<gen>.toc.<time>", then renamed).
_DURABLE_NAME = re.compile(r"\.seg$|\.toc(\.|$)")


def fsync_dir(path: Path) -> None:
    """Make the entries of directory ``path`` (created, renamed files) durable. A
    no-op where directories cannot be opened (Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a directory; nothing more can be done
    finally:
        os.close(fd)


def atomic_write_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically and durably: readers see the old or
    the new content, never a mix, and after a crash the new one if this returned.
    The temporary name is this call's own, so concurrent writers never rename each
    other's half-written file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    fsync_dir(path.parent)


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


__all__ = ["DurableFileStorage", "atomic_write_text", "fsync_dir"]
