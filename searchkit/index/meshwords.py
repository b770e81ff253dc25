"""The indexed MeSH headings by word, written with each segment, for the note on a MeSH
term that matched nothing (``psoas[mh]``: "headings with these words: psoas abscess,
…").

So that such a note reads only the headings that share a word with the term, and a
commit pays only for the segments it writes, each segment gets a file
``<segment id>.meshwords`` when the commit that makes it writes its table of contents
(:mod:`searchkit.index.segmentfiles`): for each word of a heading indexed in that
segment (pairs with a qualifier left out), the headings containing it, in groups by
the word's first two letters. Like the segment's own files it is listed in the
generation's checksum manifest, never changed, and removed with the segment. A note
reads the groups of the term's words from each segment's file and unites them
(:meth:`MeshWords.containing`), never every heading.

The file::

    b"SKMESHW\\n"  header length (4 bytes)  CRC-32 of the header (4 bytes)
    header: JSON {"format": 2, "segment": "<segment id>", "groups": {key: [offset, size, crc32]}}
    groups: UTF-8 lines "word<TAB>heading<TAB>heading…", by word

Every group carries its own CRC-32, checked when it is read: a damaged file is an
:class:`~searchkit.engine.checksums.IndexDamagedError` naming it. A segment without a
file of this format (an index written by an older searchkit, which wrote one file for
the whole index, ``meshwords-<generation>.bin``, format 1, no longer read) is not an
error: that segment's headings are read from it in memory when first needed, and the
next commit writes its file and removes the older whole-index files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from pathlib import Path

from whoosh.reading import IndexReader

from searchkit.crc import crc32
from searchkit.engine.checksums import IndexDamagedError
from searchkit.index import groupfile
from searchkit.index.vocabulary import segment_readers

#: The index field of whole headings and heading/qualifier pairs (``mesh.HEADING_FIELD``).
FIELD = "mesh_heading"
FORMAT = 2
MAGIC = b"SKMESHW\n"
#: After the segment id: the name of a segment's file.
SUFFIX = ".meshwords"
#: The whole-index files of format 1, which the next commit removes.
LEGACY = re.compile(r"meshwords-\d+\.bin")

#: A group: word → the headings containing it, sorted.
Group = dict[str, list[str]]


def file_name(segment_id: str) -> str:
    """The name of the MeSH words file of the segment ``segment_id``."""
    return f"{segment_id}{SUFFIX}"


def _key(word: str) -> str:
    return word[:2]


def _groups(headings: Iterable[str]) -> dict[str, Group]:
    out: dict[str, Group] = {}
    for heading in sorted(set(headings)):
        if "/" in heading:
            continue
        for word in dict.fromkeys(heading.split()):
            out.setdefault(_key(word), {}).setdefault(word, []).append(heading)
    return out


def _damaged(path: Path, problem: str) -> IndexDamagedError:
    return IndexDamagedError(path.parent, f"{path.name} {problem}")


class SegmentHeadings:
    """The headings (no qualifier) of one segment (or of all of a reader's segments, in
    memory) by each of their words: read from the segment's file a group at a time, or
    from the segment itself."""

    def __init__(
        self,
        segment_id: str,
        groups: Mapping[str, Group] | None = None,
        *,
        path: Path | None = None,
        directory: Mapping[str, list[int]] | None = None,
        base: int = 0,
    ) -> None:
        self.segment_id = segment_id
        self._loaded: dict[str, Group] = dict(groups or {})
        self._path = path
        self._directory = directory or {}
        self._base = base
        self._pending = False
        #: Where the headings come from when there is no file, or when the file went
        #: away after it was opened (a newer commit merged the segment away): the
        #: segment (set by :func:`load`).
        self.source: Callable[[], SegmentHeadings] | None = None

    @classmethod
    def from_reader(cls, reader: IndexReader, segment_id: str = "") -> SegmentHeadings:
        """The headings of ``reader``'s segments (their merged lexicon), in memory."""
        headings: list[str] = []
        if FIELD in reader.schema:
            for raw in reader.lexicon(FIELD):
                headings.append(raw.decode("utf-8") if isinstance(raw, bytes) else str(raw))
        return cls(segment_id, _groups(headings))

    @classmethod
    def pending(cls, segment_id: str, source: Callable[[], SegmentHeadings]) -> SegmentHeadings:
        """A segment's headings read from ``source`` when first asked for (no file)."""
        found = cls(segment_id)
        found._pending = True
        found.source = source
        return found

    @classmethod
    def open(cls, folder: Path, segment_id: str) -> SegmentHeadings | None:
        """The file of segment ``segment_id`` (its header only: groups are read when
        asked for); None when there is none of this format."""
        path = folder / file_name(segment_id)
        try:
            found = groupfile.read_segment_header(
                path, MAGIC, "a searchkit MeSH words file", FORMAT, segment_id, "groups"
            )
        except groupfile.GroupFileError as exc:
            raise _damaged(path, exc.problem) from None
        if found is None:
            return None  # no file, or another layout: read from the segment instead
        directory, base = found
        return cls(segment_id, path=path, directory=directory, base=base)

    def write(self, folder: Path) -> Path:
        """Write as the file of this segment in ``folder``, atomically and durably.
        Call holding the write lock, before the commit's table of contents."""
        body = bytearray()
        directory: dict[str, list[int]] = {}
        for key, group in sorted(self._all_groups().items()):
            lines = ("\t".join((word, *group[word])) + "\n" for word in sorted(group))
            blob = "".join(lines).encode("utf-8")
            directory[key] = [len(body), len(blob), crc32(blob)]
            body += blob
        header = {"format": FORMAT, "segment": self.segment_id, "groups": directory}
        return groupfile.write(folder / file_name(self.segment_id), MAGIC, header, body)

    def _all_groups(self) -> dict[str, Group]:
        if self._path is None:
            if self._pending:
                self._switch()
            return self._loaded
        return {key: self.group(key) for key in self._directory}

    def _switch(self) -> None:
        """Read the headings from :attr:`source` from now on."""
        if self.source is None:
            assert self._path is not None
            raise _damaged(self._path, "is missing")
        replacement = self.source()
        self._path, self._pending, self._loaded = None, False, replacement._loaded

    def group(self, key: str) -> Group:
        """The words starting with ``key`` (two letters) and their headings."""
        if self._pending:
            self._switch()
        if self._path is None or key in self._loaded:
            return self._loaded.get(key, {})
        if key not in self._directory:
            self._loaded[key] = {}
            return self._loaded[key]
        path = self._path
        offset, size, crc = self._directory[key]
        try:
            blob = groupfile.read_group(path, self._base, offset, size, crc)
        except FileNotFoundError:
            self._switch()
            return self._loaded.get(key, {})
        except groupfile.GroupFileError as exc:
            raise _damaged(path, exc.problem) from None
        group: Group = {}
        for line in blob.decode("utf-8").splitlines():
            word, *headings = line.split("\t")
            group[word] = headings
        self._loaded[key] = group
        return group

    def verify(self) -> None:
        """Read every group (``searchkit check``)."""
        self._all_groups()


class MeshWords:
    """The indexed headings (no qualifier) of every segment of a generation by each of
    their words."""

    def __init__(self, parts: Sequence[SegmentHeadings]) -> None:
        #: Each segment's headings, in the segments' order.
        self.parts = list(parts)

    @classmethod
    def from_reader(cls, reader: IndexReader) -> MeshWords:
        """The headings of ``reader``'s segments (their merged lexicon), in memory."""
        return cls([SegmentHeadings.from_reader(reader)])

    def verify(self) -> None:
        """Read every group of every segment's file (``searchkit check``)."""
        for part in self.parts:
            part.verify()

    def containing(self, words: Iterable[str], limit: int) -> list[str]:
        """The first ``limit`` headings (in term order) that contain every one of
        ``words``."""
        wanted = list(dict.fromkeys(words))
        if not wanted:
            return []
        found: set[str] | None = None
        for word in wanted:
            headings: set[str] = set()
            for part in self.parts:
                headings.update(part.group(_key(word)).get(word, ()))
            found = headings if found is None else found & headings
            if not found:
                return []
        assert found is not None
        return sorted(found)[:limit]


def write_segment(reader: IndexReader, folder: Path, segment_id: str) -> Path:
    """Write the MeSH words file of the segment ``segment_id``, read through its
    ``reader``. Call holding the write lock."""
    return SegmentHeadings.from_reader(reader, segment_id).write(folder)


def load(folder: Path, reader: IndexReader) -> MeshWords:
    """The headings by word of ``reader``'s generation: each segment's file, or the
    segment itself where it has none (read when first needed)."""
    segments = segment_readers(reader)
    if segments is None:
        return MeshWords.from_reader(reader)
    parts: list[SegmentHeadings] = []
    for segment_id, leaf in segments:
        source = partial(SegmentHeadings.from_reader, leaf, segment_id)
        found = SegmentHeadings.open(folder, segment_id)
        if found is None:
            found = SegmentHeadings.pending(segment_id, source)
        found.source = source
        parts.append(found)
    return MeshWords(parts)


__all__ = [
    "FIELD",
    "FORMAT",
    "LEGACY",
    "MAGIC",
    "SUFFIX",
    "MeshWords",
    "SegmentHeadings",
    "file_name",
    "load",
    "write_segment",
]
