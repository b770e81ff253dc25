"""The source-file registry: which input files an index holds, so that unchanged files
are skipped on the next ingest and ``searchkit rebuild`` knows what to re-read.

It is ``sources.json`` in the index directory, replaced atomically (write a temp file,
then ``os.replace``). A file is recorded only after the commit holding its last record
has succeeded: a crash between the two leaves the file unrecorded, so it is simply
read again next time (its records then come back "unchanged"); a file is never
recorded without its records being committed.

A file is known by its content as well as its path: a file not recorded whose content
(size and SHA-256) is that of a recorded source whose file no longer exists is that
source moved or renamed, and its entry moves to the new path
(:meth:`SourceRegistry.moved_from`); a recorded source whose file still exists is
never taken for one (two copies of a file are two sources). An entry can also be let
go of (:func:`forget_sources`): its records stay in the index, and a rebuild keeps them
(:mod:`searchkit.index.kept_records`) without reading its file.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from searchkit.atomic import atomic_write_text
from searchkit.errors import IndexFormatError, IndexNotFoundError, SourceNotFoundError
from searchkit.index.locking import IndexLock, LockWaitCallback

if TYPE_CHECKING:
    from searchkit.index.searchindex import SearchIndex

SOURCES_FILE = "sources.json"
_FORMAT = 1
_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileState:
    """What identifies a file's content: size, modification time, SHA-256."""

    size: int
    mtime_ns: int
    sha256: str


@dataclass(frozen=True)
class SourceEntry:
    """One ingested file: its identity when read, when, and what it held."""

    path: str
    size: int
    mtime_ns: int
    sha256: str
    ingested: str
    records: int
    deletions: int = 0
    skipped: int = 0
    #: Order of reading: a file read later than another (its records replacing those
    #: with the same PMID) has a higher number. 0 in registries written before it.
    sequence: int = 0

    @property
    def state(self) -> FileState:
        return FileState(self.size, self.mtime_ns, self.sha256)


def source_key(path: Path) -> str:
    """The registry key of a file: its absolute path (symlinks kept as given)."""
    return str(path.absolute())


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def is_gone(entry: SourceEntry) -> bool:
    """Whether the file of a recorded source no longer exists at its recorded path."""
    return not Path(entry.path).exists()


def stat_state(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


class SourceRegistry:
    """The files an index was built from, keyed by absolute path."""

    def __init__(
        self,
        index_dir: Path,
        entries: dict[str, SourceEntry] | None = None,
        deleted: set[str] | None = None,
    ) -> None:
        self.index_dir = index_dir
        self.entries: dict[str, SourceEntry] = entries or {}
        # Ids removed with ``searchkit delete``: a rebuild, which re-reads the
        # sources, removes them again. Ingesting a record with such an id again
        # takes it off this list.
        self.deleted: set[str] = deleted or set()
        # The entries whose file is gone, by size: looked up once (a stat per entry)
        # when a file is first matched against them (:meth:`moved_from`).
        self._gone: dict[int, list[str]] | None = None

    @property
    def path(self) -> Path:
        return self.index_dir / SOURCES_FILE

    @classmethod
    def load(cls, index_dir: Path) -> SourceRegistry:
        """The registry of ``index_dir`` (empty when the index has none yet)."""
        path = index_dir / SOURCES_FILE
        if not path.is_file():
            return cls(index_dir)
        try:
            data = json.loads(path.read_text("utf-8"))
            entries = {key: SourceEntry(**value) for key, value in dict(data["sources"]).items()}
            deleted = {str(pmid) for pmid in data.get("deleted", [])}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexFormatError(
                f"cannot read the source registry {path}: {exc}; "
                "delete it to re-read every file on the next ingest"
            ) from exc
        return cls(index_dir, entries, deleted)

    def unchanged(self, path: Path) -> SourceEntry | None:
        """The entry of ``path`` if the file is the one recorded, else ``None``.

        Size and modification time equal: unchanged without reading the file. Else
        the content hash decides (a file touched but not modified is unchanged)."""
        entry = self.entries.get(source_key(path))
        if entry is None:
            return None
        size, mtime_ns = stat_state(path)
        if size != entry.size:
            return None
        if mtime_ns == entry.mtime_ns or file_sha256(path) == entry.sha256:
            return entry
        return None

    def find(self, path: str | os.PathLike[str]) -> str | None:
        """The key of the recorded source ``path`` names (as recorded, or relative to
        the working directory; ``..`` and ``.`` resolved), if it is one."""
        key = source_key(Path(path))
        if key in self.entries:
            return key
        wanted = os.path.normpath(os.path.abspath(path))
        return next((k for k in self.entries if os.path.normpath(k) == wanted), None)

    def gone(self) -> list[SourceEntry]:
        """The entries whose file no longer exists at its recorded path, by path."""
        return [e for e in self.listed() if is_gone(e)]

    def listed(self, missing: bool = False) -> list[SourceEntry]:
        """The entries by path, as ``searchkit sources`` lists them (``missing``: only
        those whose file is gone, :meth:`gone`)."""
        if missing:
            return self.gone()
        return [e for _, e in sorted(self.entries.items())]

    def moved_from(self, path: Path, state: FileState | None = None) -> SourceEntry | None:
        """The recorded source that the file at ``path`` is, moved or renamed: ``path``
        is not recorded, and the entry's file is gone and held the same content (size,
        then SHA-256; ``state``, if given, is the file's, else it is hashed when an
        entry's size matches). Of several such entries, the one read last (whose
        records were in force). ``None`` if there is none."""
        if source_key(path) in self.entries:
            return None
        if self._gone is None:
            self._gone = {}
            for entry in self.gone():
                self._gone.setdefault(entry.size, []).append(entry.path)
        size = state.size if state is not None else stat_state(path)[0]
        keys = [k for k in self._gone.get(size, ()) if k in self.entries]
        if not keys:
            return None
        sha256 = state.sha256 if state is not None else file_sha256(path)
        same = [self.entries[k] for k in keys if self.entries[k].sha256 == sha256]
        return max(same, key=lambda e: (e.sequence, e.ingested, e.path), default=None)

    def move(self, entry: SourceEntry, path: Path, state: FileState) -> SourceEntry:
        """Record the source ``entry`` at ``path`` (its file's ``state`` now) in place of
        its old path: what it held, when and in what order it was read, stay."""
        del self.entries[entry.path]
        key = source_key(path)
        moved = replace(entry, path=key, size=state.size, mtime_ns=state.mtime_ns)
        self.entries[key] = moved
        return moved

    def forget(self, keys: Iterable[str]) -> list[SourceEntry]:
        """Take the entries of ``keys`` off the registry (not saved); what they were."""
        return [self.entries.pop(key) for key in dict.fromkeys(keys)]

    def record(
        self, path: Path, state: FileState, records: int, deletions: int, skipped: int
    ) -> None:
        key = source_key(path)
        sequence = max((e.sequence for e in self.entries.values()), default=0) + 1
        self.entries[key] = SourceEntry(
            path=key,
            size=state.size,
            mtime_ns=state.mtime_ns,
            sha256=state.sha256,
            ingested=datetime.now(UTC).isoformat(timespec="seconds"),
            records=records,
            deletions=deletions,
            skipped=skipped,
            sequence=sequence,
        )

    def in_reading_order(self) -> list[SourceEntry]:
        """The entries in the order their files were (last) read, so that reading them
        again in this order leaves the same version of each record in force."""
        return sorted(self.entries.values(), key=lambda e: (e.sequence, e.ingested, e.path))

    def save(self) -> None:
        """Write the registry atomically."""
        data: dict[str, Any] = {
            "format": _FORMAT,
            "sources": {key: asdict(entry) for key, entry in sorted(self.entries.items())},
            "deleted": sorted(self.deleted),
        }
        atomic_write_text(self.path, json.dumps(data, indent=1) + "\n")


def read_state(path: Path) -> FileState:
    """The identity of ``path`` now (hashes the whole file)."""
    size, mtime_ns = stat_state(path)
    return FileState(size, mtime_ns, file_sha256(path))


def forget_sources(
    index: SearchIndex | str | os.PathLike[str],
    paths: Iterable[str | os.PathLike[str]] = (),
    *,
    missing: bool = False,
    lock_timeout: float = 0.0,
    on_lock_wait: LockWaitCallback | None = None,
) -> list[SourceEntry]:
    """Take recorded sources off the registry of ``index``: those ``paths`` name (as
    recorded, or relative to the working directory), and with ``missing`` every one
    whose file no longer exists. What was forgotten, in the registry's order.

    Their records stay in the index: a rebuild no longer reads their files, and keeps
    the records no other source gives (:mod:`searchkit.index.kept_records`); the
    same file ingested again is read again as a new source. A path that is not a
    recorded source raises :class:`SourceNotFoundError`, having forgotten nothing.

    ``index`` may be the directory of an index too damaged, or of a format too old,
    to open (what a rebuild is for): its lock is then waited for ``lock_timeout``
    seconds, telling ``on_lock_wait``; an opened index waits as set on it
    (:meth:`SearchIndex.forget_sources`). The registry is read, changed and written
    back (atomically) under the index lock; nothing else of the index is written.
    """
    from searchkit.index.searchindex import META_FILE, SearchIndex

    if isinstance(index, SearchIndex):
        return index.forget_sources(paths, missing=missing)
    index_dir = Path(index)
    if not (index_dir / META_FILE).is_file():
        # No lock file is made in a directory that is not an index.
        raise IndexNotFoundError(f"no searchkit index at {index_dir}")
    with IndexLock(index_dir).held(lock_timeout, on_lock_wait):
        return forget_held(index_dir, paths, missing)


def forget_held(
    index_dir: Path, paths: Iterable[str | os.PathLike[str]], missing: bool
) -> list[SourceEntry]:
    """:func:`forget_sources` of the index at ``index_dir``, its lock held by the caller."""
    registry = SourceRegistry.load(index_dir)
    wanted = list(paths)
    keys = [registry.find(path) for path in wanted]
    unknown = [os.fspath(path) for path, key in zip(wanted, keys, strict=True) if key is None]
    if unknown:
        more = f" (nor are {len(unknown) - 1} more of the paths given)" if len(unknown) > 1 else ""
        raise SourceNotFoundError(
            f"{unknown[0]}: not a recorded source of the index at {index_dir}{more}; "
            "nothing was forgotten ('searchkit sources' lists them)"
        )
    chosen = {key for key in keys if key is not None}
    if missing:
        chosen.update(entry.path for entry in registry.gone())
    if not chosen:
        return []
    forgotten = registry.forget(sorted(chosen))
    registry.save()
    return forgotten
