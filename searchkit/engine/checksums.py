"""Checksums of every index file, so that a damaged index is found, not trusted.

At each commit, before Whoosh renames a new table of contents ``_MAIN_<gen>.toc`` into
place, a manifest ``_MAIN_<gen>.sums`` is written beside it (atomically): JSON giving
the size and CRC-32 of the TOC and of every file of every segment that generation
uses (segment files never change once written; a segment's deletions live in the
TOC). A segment already listed in the previous generation's manifest keeps its
recorded checksum, so a commit reads only the files it wrote. The manifest carries
a CRC-32 of its own entries.

Whenever Whoosh reads a TOC (opening an index, a searcher, a writer), the manifest of
that generation is checked first (:func:`verify_generation`): every file's size,
the TOC's checksum, and the checksums of every file when the generation's files
total at most :data:`VERIFY_AT_OPEN_BYTES` (else of the files up to
:data:`SMALL_FILE_BYTES`). A file is read for this once per process (while its
size, time and inode stay the same). :func:`~searchkit.engine.verify.verify_index`
reads every file in full (``searchkit check``, and before ``optimize`` merges
everything); a segment merged into a new one by an ordinary commit is verified in
full first. Each compound segment's field-lengths columns also get checksums of
their own ("parts"), checked by :func:`verify_part` when a search reads a column
whole: in an index too large to verify at open, a flipped length would otherwise
change scores silently.

Any mismatch is :class:`IndexDamagedError`: one message naming the file and the
repair, ``searchkit rebuild``, which re-reads the index's recorded sources.

An index written before these manifests existed (no ``.sums`` file at all) is read
without them; its next commit writes one. :func:`install` hooks Whoosh's
``TOC.read``, ``TOC.write`` and ``SegmentWriter.add_reader`` (called once, from
:mod:`searchkit`'s ``__init__``).
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from searchkit.atomic import atomic_write_text
from searchkit.crc import crc32
from searchkit.errors import IndexFormatError

#: An index whose files total at most this is verified in full whenever a process
#: opens it (reading and CRC-32 run at about 7 GB/s here: ~35 ms for 256 MB in the
#: page cache).
VERIFY_AT_OPEN_BYTES = 256 * 1024 * 1024
#: Files up to this size are verified whenever a process opens the index, whatever
#: the size of the index.
SMALL_FILE_BYTES = 1024 * 1024
#: Bytes mapped (or read) at a time while computing a checksum (a multiple of
#: ``mmap.ALLOCATIONGRANULARITY``).
CHUNK_BYTES = 1024 * 1024
#: How often reading the latest generation is tried when a concurrent commit removes
#: its files meanwhile, and the pause between tries.
READ_ATTEMPTS = 10
READ_RETRY_SECONDS = 0.05
MANIFEST_SUFFIX = ".sums"
MANIFEST_FORMAT = 1

# Files already verified by this process: (path, size, mtime_ns, inode, crc).
_VERIFIED: set[tuple[str, int, int, int, int]] = set()


class IndexDamagedError(IndexFormatError):
    """An index file does not match its recorded checksum (or cannot be read)."""

    def __init__(self, folder: Path | str, problem: str) -> None:
        self.folder = Path(folder)
        self.problem = problem
        super().__init__(
            f"the index at {folder} is damaged ({problem}); repair it with "
            f"'searchkit rebuild --index {folder}', which re-reads its recorded source files"
        )


class Entry(NamedTuple):
    """A file's recorded size and CRC-32."""

    size: int
    crc: int


def manifest_name(indexname: str, generation: int) -> str:
    return f"_{indexname}_{generation}{MANIFEST_SUFFIX}"


def _manifest_pattern(indexname: str) -> re.Pattern[str]:
    return re.compile(rf"^_{re.escape(indexname)}_(\d+){re.escape(MANIFEST_SUFFIX)}$")


def file_crc(path: Path) -> Entry:
    """The size and CRC-32 of a file, read in place from the page cache through a
    memory map of :data:`CHUNK_BYTES` at a time (not copied into a buffer first: 4.0
    against 6.5 ms for the 20 MB of an index of ``data/``), or read in chunks where it
    cannot be mapped."""
    with open(path, "rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        try:
            return Entry(size, _mapped_crc(f.fileno(), size))
        except (OSError, ValueError):  # not mappable (a special file), or it shrank
            f.seek(0)
            return _read_crc(f)


#: Linux's ``MAP_POPULATE`` (0 elsewhere): a chunk's pages mapped in one call.
_POPULATE: int = getattr(mmap, "MAP_POPULATE", 0)


def _mapped_crc(fd: int, size: int) -> int:
    crc = 0
    for offset in range(0, size, CHUNK_BYTES):
        length = min(CHUNK_BYTES, size - offset)
        with _map(fd, length, offset) as chunk:
            crc = crc32(chunk, crc)
    return crc


def _map(fd: int, length: int, offset: int) -> mmap.mmap:
    if _POPULATE:  # not one page fault per page
        flags = mmap.MAP_SHARED | _POPULATE
        return mmap.mmap(fd, length, flags=flags, prot=mmap.PROT_READ, offset=offset)
    return mmap.mmap(fd, length, access=mmap.ACCESS_READ, offset=offset)


def _read_crc(f: Any) -> Entry:
    crc = 0
    size = 0
    buffer = bytearray(CHUNK_BYTES)  # one buffer: a new chunk each read faults its pages in
    view = memoryview(buffer)
    while got := f.readinto(buffer):
        crc = crc32(view[:got], crc)
        size += got
    return Entry(size, crc)


#: Parts of a compound segment file that get checksums of their own: the field
#: lengths columns, one byte per document, read whole by every search (a flip in one
#: changes scores without any decoding error).
PART_SUFFIX = "_len.col"

#: A manifest's parts: compound segment file -> part name -> checksum.
Parts = dict[str, dict[str, Entry]]


def _entries_crc(files: dict[str, Entry], parts: Parts) -> int:
    text = json.dumps(
        [
            {k: [e.size, e.crc] for k, e in sorted(files.items())},
            {
                f: {k: [e.size, e.crc] for k, e in sorted(p.items())}
                for f, p in sorted(parts.items())
            },
        ]
    )
    return crc32(text.encode("utf-8"))


def write_manifest(
    folder: Path, name: str, files: dict[str, Entry], parts: Parts | None = None
) -> None:
    """Write a manifest atomically and durably (:func:`searchkit.atomic.atomic_write_text`)."""
    parts = parts or {}
    body = {
        "format": MANIFEST_FORMAT,
        "files": {k: [e.size, e.crc] for k, e in sorted(files.items())},
        "parts": {f: {k: [e.size, e.crc] for k, e in p.items()} for f, p in parts.items()},
        "crc32": _entries_crc(files, parts),
    }
    atomic_write_text(folder / name, json.dumps(body) + "\n")


def read_manifest(folder: Path, name: str) -> dict[str, Entry]:
    """The file entries of a manifest; :class:`IndexDamagedError` when it is unreadable
    or does not match its own checksum (``FileNotFoundError`` when it does not exist)."""
    return _read_manifest(folder, name)[0]


def _read_manifest(folder: Path, name: str) -> tuple[dict[str, Entry], Parts]:
    raw = (folder / name).read_bytes()
    try:
        body = json.loads(raw.decode("utf-8"))
        files = {k: Entry(int(v[0]), int(v[1])) for k, v in body["files"].items()}
        parts = {
            f: {k: Entry(int(v[0]), int(v[1])) for k, v in p.items()}
            for f, p in body["parts"].items()
        }
        ok = body.get("format") == MANIFEST_FORMAT and body["crc32"] == _entries_crc(files, parts)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        ok = False
    if not ok:
        raise IndexDamagedError(folder, f"{name} is unreadable or does not match its checksum")
    return files, parts


# Part checksums of the generations this process has verified: part name (which
# starts with its segment's random id) -> (index folder, compound file, checksum).
_PARTS: dict[str, tuple[Path, str, Entry]] = {}


def verify_part(name: str, data: bytes) -> None:
    """Check a part of a compound segment file (a field's lengths), read whole, against
    its recorded checksum, when one is known."""
    known = _PARTS.get(name)
    if known is None:
        return
    folder, compound, entry = known
    if len(data) == entry.size and crc32(data) != entry.crc:
        raise IndexDamagedError(folder, f"{compound} ({name}) does not match its checksum")


def _part_checksums(folder: Path, compound: str, directory: dict[str, Any]) -> dict[str, Entry]:
    """Checksums of the lengths columns of a compound file, from its directory."""
    out: dict[str, Entry] = {}
    with open(folder / compound, "rb") as f:
        for part, where in sorted(directory.items()):
            if part.endswith(PART_SUFFIX):
                f.seek(where["offset"])
                data = f.read(where["length"])
                out[part] = Entry(len(data), crc32(data))
    return out


def has_manifests(folder: Path, indexname: str) -> bool:
    pattern = _manifest_pattern(indexname)
    return any(pattern.match(n) for n in os.listdir(folder))


def check_file(folder: Path, name: str, expected: Entry, *, full: bool) -> None:
    """Check one file of ``folder`` against its manifest entry: its size, and with
    ``full`` its checksum (once per process while the file stays the same). Raises
    :class:`IndexDamagedError`, or ``FileNotFoundError`` when it is gone."""
    path = folder / name
    try:
        st = path.stat()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise IndexDamagedError(folder, f"{name} cannot be read: {exc.strerror}") from None
    if st.st_size != expected.size:
        raise IndexDamagedError(
            folder, f"{name} is {st.st_size} bytes, its checksum was taken at {expected.size}"
        )
    if not full:
        return
    key = (str(path), st.st_size, st.st_mtime_ns, st.st_ino, expected.crc)
    if key in _VERIFIED:
        return
    try:
        actual = file_crc(path)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise IndexDamagedError(folder, f"{name} cannot be read: {exc.strerror}") from None
    if actual != expected:
        raise IndexDamagedError(folder, f"{name} does not match its checksum")
    _VERIFIED.add(key)


def verify_generation(folder: Path, indexname: str, generation: int, *, full: bool) -> None:
    """Check the files of one generation against its manifest: sizes always, the TOC's
    checksum always, every file's checksum when ``full`` or when they total at most
    :data:`VERIFY_AT_OPEN_BYTES` (else those up to :data:`SMALL_FILE_BYTES`).

    Raises :class:`IndexDamagedError`, or ``FileNotFoundError`` when a concurrent
    commit removed the generation meanwhile (callers retry, as Whoosh does)."""
    name = manifest_name(indexname, generation)
    toc = f"_{indexname}_{generation}.toc"
    try:
        files, parts = _read_manifest(folder, name)
    except FileNotFoundError:
        if not (folder / toc).exists():
            raise  # superseded by a newer commit: the caller reads again
        if not has_manifests(folder, indexname):
            return  # written before searchkit recorded checksums
        raise IndexDamagedError(folder, f"{name}, the checksums of {toc}, is missing") from None
    if toc not in files:
        raise IndexDamagedError(folder, f"{name} does not list {toc}")
    everything = full or sum(e.size for e in files.values()) <= VERIFY_AT_OPEN_BYTES
    for file, entry in sorted(files.items()):
        whole = everything or file == toc or entry.size <= SMALL_FILE_BYTES
        check_file(folder, file, entry, full=whole)
    for compound, entries in parts.items():
        for part, entry in entries.items():
            _PARTS[part] = (folder, compound, entry)


def latest_generation(folder: Path, indexname: str) -> int:
    pattern = re.compile(rf"^_{re.escape(indexname)}_(\d+)\.toc$")
    found = [int(m.group(1)) for n in os.listdir(folder) if (m := pattern.match(n))]
    return max(found, default=-1)


def verify_files(folder: Path, indexname: str, names: Iterable[str]) -> None:
    """Verify some files in full against the newest manifest that lists them (the
    files of a segment about to be merged)."""
    wanted = set(names)
    pattern = _manifest_pattern(indexname)
    generations = sorted(
        (int(m.group(1)) for n in os.listdir(folder) if (m := pattern.match(n))), reverse=True
    )
    for generation in generations:
        try:
            files = read_manifest(folder, manifest_name(indexname, generation))
        except FileNotFoundError:
            continue
        if wanted <= files.keys():
            for file in sorted(wanted):
                check_file(folder, file, files[file], full=True)
            return


# Index directories whose TOC this process has read (folder -> index name).
_OPENED: dict[Path, str] = {}


def forget_opened() -> None:
    """Start a new list of opened indexes (a new command), for
    :func:`~searchkit.engine.verify.diagnose`."""
    _OPENED.clear()


def opened() -> list[tuple[Path, str]]:
    """The index directories whose TOC this process has read since
    :func:`forget_opened`, each with its index name."""
    return list(_OPENED.items())


# -- the hooks into Whoosh ---------------------------------------------------------


def _folder_of(storage: Any) -> Path | None:
    """The directory of a storage of files; None for any other (Whoosh's
    ``RamStorage`` has an empty ``folder``: an index in memory, which a program using
    searchkit may keep too, has no files to check)."""
    folder = getattr(storage, "folder", None)
    return Path(folder) if isinstance(folder, str) and folder else None


class _ManifestingStorage:
    """The storage a TOC is written through: when Whoosh renames the finished TOC
    into place, the generation's manifest is written first."""

    def __init__(self, storage: Any, toc: Any, indexname: str, folder: Path) -> None:
        self._storage = storage
        self._toc = toc
        self._indexname = indexname
        self._folder = folder

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)

    def rename_file(self, frm: str, to: str, safe: bool = False) -> None:
        folder, indexname = self._folder, self._indexname
        generation = self._toc.generation
        previous: dict[str, Entry] = {}
        previous_parts: Parts = {}
        with contextlib.suppress(OSError, IndexDamagedError):
            previous, previous_parts = _read_manifest(
                folder, manifest_name(indexname, generation - 1)
            )
        files: dict[str, Entry] = {to: file_crc(folder / frm)}
        parts: Parts = {}
        for segment in self._toc.segments:
            for name in segment.list_files(self._storage):
                known = previous.get(name)
                if known is None or known.size != (folder / name).stat().st_size:
                    known = file_crc(folder / name)
                    if segment.is_compound() and name == segment.make_filename(".seg"):
                        compound = segment.open_compound_file(self._storage)
                        try:
                            parts[name] = _part_checksums(folder, name, compound._dir)
                        finally:
                            compound.close()
                elif name in previous_parts:
                    parts[name] = previous_parts[name]
                files[name] = known
        write_manifest(folder, manifest_name(indexname, generation), files, parts)
        self._storage.rename_file(frm, to, safe=safe)
        _remove_old_manifests(folder, indexname, generation)


def _remove_old_manifests(folder: Path, indexname: str, generation: int) -> None:
    """Remove manifests older than the previous generation (whose TOC a reader may
    still be opening), and temporary manifests of writers that were killed (the
    caller holds the write lock)."""
    pattern = _manifest_pattern(indexname)
    temporary = f"._{indexname}_"
    for name in os.listdir(folder):
        m = pattern.match(name)
        if m is not None:
            stale = int(m.group(1)) < generation - 1
        else:
            stale = name.startswith(temporary) and f"{MANIFEST_SUFFIX}." in name
        if stale:
            (folder / name).unlink(missing_ok=True)


_INSTALLED = False


def install() -> None:
    """Hook Whoosh's TOC reads and writes and its segment merges (idempotent)."""
    global _INSTALLED
    if _INSTALLED:
        return
    from whoosh.index import TOC
    from whoosh.writing import SegmentWriter

    original_read = TOC.read.__func__
    original_write = TOC.write
    original_add_reader = SegmentWriter.add_reader

    def read(
        cls: Any, storage: Any, indexname: str, gen: int | None = None, schema: Any = None
    ) -> Any:
        folder = _folder_of(storage)
        if folder is None:
            return original_read(cls, storage, indexname, gen, schema)
        for attempt in range(READ_ATTEMPTS):
            wanted = TOC._latest_generation(storage, indexname) if gen is None else gen
            if wanted < 0:  # no TOC at all: Whoosh says so
                return original_read(cls, storage, indexname, gen, schema)
            try:
                verify_generation(folder, indexname, wanted, full=False)
                _OPENED[folder] = indexname
                break
            except FileNotFoundError:
                # A concurrent commit removed that generation's files: read the
                # latest one again, as Whoosh's own readers do.
                if gen is not None or attempt == READ_ATTEMPTS - 1:
                    raise
                time.sleep(READ_RETRY_SECONDS)
        return original_read(cls, storage, indexname, wanted, schema)

    def write(self: Any, storage: Any, indexname: str) -> None:
        folder = _folder_of(storage)
        if folder is None:
            original_write(self, storage, indexname)
            return
        original_write(self, _ManifestingStorage(storage, self, indexname, folder), indexname)

    def add_reader(self: Any, reader: Any) -> None:
        folder = _folder_of(self.storage)
        segment = getattr(reader, "segment", None)
        try:
            if folder is not None and callable(segment):
                verify_files(folder, self.indexname, segment().list_files(self.storage))
            original_add_reader(self, reader)
        except BaseException:
            reader.close()  # Whoosh's merge policies, which opened it, do not on failure
            raise

    TOC.read = classmethod(read)  # type: ignore[method-assign,assignment]
    TOC.write = write  # type: ignore[method-assign]
    SegmentWriter.add_reader = add_reader  # type: ignore[method-assign]
    _INSTALLED = True
