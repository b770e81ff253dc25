"""Segment files read in place from a memory map: a search never copies a segment.

Whoosh opens a compound segment file (``.seg``) through its ``CompoundStorage``, which
memory-maps it and then hands each part (terms, postings, columns, stored fields) to
the codec as a ``BufferFile``: a ``BytesIO`` made from the part, which copies it. So
every search process held a copy of nearly the whole index (76.7 of the 81 MB of a
20,000-record index; BENCHMARKS.md).

:class:`MappedFileStorage` opens ``.seg`` files as :class:`MappedFile` objects: the
whole file memory-mapped read-only, each part a :class:`MappedFile` over a slice of
the map (``CompoundStorage`` asks for ``subset`` when its storage does not say it
maps files itself). A read copies only the bytes it returns: the term entries and
posting blocks a query looks up, the stored fields of the hits shown. The pages a
search never touches are never read; those it touches are the operating system's
page cache, shared between processes.

A page of the map a search has read stays in its resident set (counted in its RSS)
until the map is closed, although the bytes were copied out. So a long read (at least
:data:`RELEASE_MIN` bytes: a common word's posting list, megabytes on a large index)
does not go through the map: on POSIX systems it is an ``os.pread`` from the page
cache on a descriptor the file keeps, which maps nothing (and is quicker than copying
from the map and giving its pages back: on the 1,000,000-record index, 7% of a warm
query's CPU). Elsewhere the long read copies from the map and
:meth:`MappedFile.release` hands its pages back (``madvise(MADV_DONTNEED)``: they
leave the process, the page cache keeps them, and a later read maps them again).
What stays mapped is what short reads touch: term dictionary lookups, short lists.

Where a file cannot be mapped (an empty file; address space exhausted on a 32-bit
build) it is read with ordinary seeks and reads, which copy nothing whole either.
Closing a segment's reader (closing the searcher) releases its slices, unmaps the
file and closes its descriptor: no handle stays open. A concurrent commit may delete
a segment a searcher has mapped: on POSIX systems the mapped file stays readable until
it is unmapped; on Windows the deletion fails while it is mapped, and Whoosh leaves
the file for a later commit to remove (as it did with its own maps).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import weakref
from typing import Any

from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import StructFile

#: The files opened through a memory map: compound segment files.
MAPPED_SUFFIX = ".seg"
#: Bytes :meth:`_ViewReader.readline` looks at a time for the end of a line.
_LINE_CHUNK = 256
#: A read of at least this many bytes gives its pages back once copied.
RELEASE_MIN = 16 * 1024
#: Whether the platform can give mapped pages back (POSIX systems).
_CAN_RELEASE = hasattr(mmap.mmap, "madvise") and hasattr(mmap, "MADV_DONTNEED")
#: Whether long reads go through ``os.pread`` (POSIX systems).
_CAN_PREAD = hasattr(os, "pread")


class _ViewReader:
    """A read-only binary file over a memoryview: every read copies only what it
    returns."""

    __slots__ = ("position", "release", "view")

    def __init__(self, view: memoryview, release: Any = None) -> None:
        self.view = view
        self.position = 0
        #: Called with (position, length) after a read of at least RELEASE_MIN bytes.
        self.release = release

    def read(self, size: int | None = -1) -> bytes:
        start = self.position
        end = len(self.view) if size is None or size < 0 else min(start + size, len(self.view))
        if end <= start:
            return b""
        self.position = end
        data = self.view[start:end].tobytes()
        if end - start >= RELEASE_MIN and self.release is not None:
            self.release(start, end - start)
        return data

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        data = self.read(len(target))
        target[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        limit = len(self.view) if size is None or size < 0 else self.position + size
        limit = min(limit, len(self.view))
        end = self.position
        while end < limit:
            chunk = self.view[end : min(end + _LINE_CHUNK, limit)].tobytes()
            newline = chunk.find(b"\n")
            if newline >= 0:
                end += newline + 1
                break
            end += len(chunk)
        return self.read(end - self.position)

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 1:
            offset += self.position
        elif whence == 2:
            offset += len(self.view)
        if offset < 0:
            raise ValueError(f"negative seek position {offset}")
        self.position = offset
        return offset

    def tell(self) -> int:
        return self.position

    def close(self) -> None:
        self.view.release()


class MappedFile(StructFile):  # type: ignore[misc]
    """A Whoosh ``StructFile`` reading a memory map (or a slice of one) in place.

    The file made by :meth:`open` owns the map; its :meth:`subset` slices share it,
    and closing the owner releases them all and unmaps the file (reading a slice
    afterwards raises ``ValueError``)."""

    def __init__(
        self,
        view: memoryview,
        name: str | None = None,
        onclose: Any = None,
        owner: MappedFile | None = None,
        offset: int = 0,
    ) -> None:
        reader = _ViewReader(view, self.release)
        super().__init__(reader, name=name, onclose=onclose)
        # Whoosh reads a term's entry a few bytes at a time: skip StructFile's
        # forwarding methods (one Python call fewer per read).
        self.read = reader.read
        self.seek = reader.seek
        self.tell = reader.tell
        self._view = view
        self._owner = owner
        #: Where this file starts in the owner's map.
        self._offset = offset
        self._map: mmap.mmap | None = None
        #: The owner's file descriptor for long reads by ``os.pread`` (POSIX systems).
        self._fd: int | None = None
        self._close_fd: weakref.finalize[Any, Any] | None = None
        self._slices: list[memoryview] = []

    @classmethod
    def open(cls, path: str, name: str | None = None, onclose: Any = None) -> StructFile:
        """``path`` mapped read-only; a plain ``StructFile`` when it cannot be mapped."""
        f = open(path, "rb")  # noqa: SIM115 -- closed here or handed to the StructFile
        try:
            mapping = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):  # empty, or no address space for it
            return StructFile(f, name=name, onclose=onclose)
        except BaseException:
            f.close()
            raise
        owned = cls(memoryview(mapping), name=name, onclose=onclose)
        owned._map = mapping
        if _CAN_PREAD:
            # A descriptor of its own for long reads, closed with the map (or when
            # the file is dropped unclosed, as Whoosh drops some readers).
            fd = os.dup(f.fileno())
            owned._fd = fd
            owned._close_fd = weakref.finalize(owned, os.close, fd)
        f.close()  # the map keeps the file readable (and its own handle) until closed
        return owned

    def subset(self, offset: int, length: int, name: str | None = None) -> MappedFile:
        owner = self._owner or self
        view = self._view[offset : offset + length]
        owner._slices.append(view)
        return MappedFile(view, name=name or self._name, owner=owner, offset=self._offset + offset)

    def get(self, position: int, length: int) -> bytes:
        if length >= RELEASE_MIN:
            owner = self if self._owner is None else self._owner
            if owner._fd is not None and position >= 0:
                # A long read straight from the page cache: no page of the map is
                # touched, so none has to be given back.
                end = min(position + length, len(self._view))
                return os.pread(owner._fd, max(end - position, 0), self._offset + position)
            data = self._view[position : position + length].tobytes()
            self.release(position, length)
            return data
        return self._view[position : position + length].tobytes()

    def release_all(self) -> None:
        """:meth:`release` every page of the whole mapped file (the owner's map)."""
        owner = self if self._owner is None else self._owner
        owner.release(0, len(owner._view))

    def release(self, position: int, length: int) -> None:
        """Give back the pages holding bytes ``position`` to ``position + length`` of
        this file: they leave the process's resident set; reading them again maps
        them again (from the page cache). Nothing happens without a map, on a
        platform that cannot, or once the map is closed."""
        mapping = (self if self._owner is None else self._owner)._map
        if mapping is None or not _CAN_RELEASE or length <= 0:
            return
        start = self._offset + position
        first = start - start % mmap.PAGESIZE
        end = min(start + length, len(mapping))
        if end > first:
            with contextlib.suppress(ValueError, OSError):  # closed meanwhile
                mapping.madvise(mmap.MADV_DONTNEED, first, end - first)

    def close(self) -> None:
        super().close()  # releases this file's view
        if self._owner is None:
            for view in self._slices:
                view.release()
            self._slices.clear()
            if self._map is not None:
                # A view someone else still holds (none of Whoosh's) keeps the map
                # alive until it is dropped: then it is unmapped with it.
                with contextlib.suppress(BufferError):
                    self._map.close()
                self._map = None
            if self._close_fd is not None:
                self._close_fd()
                self._fd = self._close_fd = None


class MappedFileStorage(FileStorage):  # type: ignore[misc]
    """Whoosh's file storage, opening compound segment files as :class:`MappedFile`
    (see the module). Read-only use: searching; writers read through plain files."""

    def __init__(self, path: str, readonly: bool = False, debug: bool = False) -> None:
        # supports_mmap=False: Whoosh's CompoundStorage must not map (and copy) the
        # file itself, but take its parts from the file's ``subset``.
        super().__init__(path, supports_mmap=False, readonly=readonly, debug=debug)

    def open_file(self, name: str, **kwargs: Any) -> Any:
        if not name.endswith(MAPPED_SUFFIX):
            return super().open_file(name, **kwargs)
        return MappedFile.open(os.path.join(self.folder, name), name=name, **kwargs)


__all__ = ["MAPPED_SUFFIX", "RELEASE_MIN", "MappedFile", "MappedFileStorage"]
