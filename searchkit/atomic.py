"""Files replaced atomically and durably: readers see the old or the new content, never
a mix, and after a crash or power cut the new one once the call returned.

searchkit's own files beside Whoosh's (metadata, source registry, acronym table,
checksum manifests, vector manifest, MeSH tree) are all written by
:func:`atomic_write_text`: temporary file, fsync, rename, fsync of the directory.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


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


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically and durably: readers see the old or
    the new content, never a mix, and after a crash the new one if this returned.
    The temporary name is this call's own, so concurrent writers never rename each
    other's half-written file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    """:func:`atomic_write_bytes` of ``text`` in UTF-8."""
    atomic_write_bytes(path, text.encode("utf-8"))


__all__ = ["atomic_write_bytes", "atomic_write_text", "fsync_dir"]
