"""The indexed MeSH headings by word, written at each commit, for the note on a MeSH
term that matched nothing (``psoas[mh]``: "headings with these words: psoas abscess,
…").

So that such a note reads only the headings that share a word with the term, every
commit writes ``meshwords-<generation>.bin`` beside the segments: for each word of an
indexed heading (pairs with a qualifier left out), the headings containing it, in
groups by the word's first two letters. A note reads the file's small header and the
groups of the term's words (:meth:`MeshWords.containing`), never every heading.

The file::

    b"SKMESHW\\n"  header length (4 bytes)  CRC-32 of the header (4 bytes)
    header: JSON {"format": 1, "generation": N, "groups": {key: [offset, size, crc32]}}
    groups: UTF-8 lines "word<TAB>heading<TAB>heading…", by word

Every group carries its own CRC-32, checked when it is read: a damaged file is an
:class:`~searchkit.engine.checksums.IndexDamagedError` naming it. A file of another
format, or none for the index's generation (an index written by an older searchkit,
or a crash between a commit and this file), is not an error: the headings are then
read from the segments in memory (:meth:`MeshWords.from_reader`), and the next commit
writes the file.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from whoosh.reading import IndexReader

from searchkit.engine.checksums import IndexDamagedError
from searchkit.index import groupfile

#: The index field of whole headings and heading/qualifier pairs (``mesh.HEADING_FIELD``).
FIELD = "mesh_heading"
FORMAT = 1
MAGIC = b"SKMESHW\n"
_NAME = re.compile(r"^meshwords-(\d+)\.bin$")

#: A group: word → the headings containing it, sorted.
Group = dict[str, list[str]]


def file_name(generation: int) -> str:
    return f"meshwords-{generation}.bin"


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


def _damaged(folder: Path, path: Path, problem: str) -> IndexDamagedError:
    return IndexDamagedError(folder, f"{path.name} {problem}")


class MeshWords:
    """The indexed headings (no qualifier) by each of their words."""

    def __init__(
        self,
        generation: int,
        groups: Mapping[str, Group] | None = None,
        *,
        path: Path | None = None,
        directory: Mapping[str, list[int]] | None = None,
        base: int = 0,
    ) -> None:
        self.generation = generation
        self._loaded: dict[str, Group] = dict(groups or {})
        self._path = path
        self._directory = directory or {}
        self._base = base
        #: Where the headings come from when the file went away after it was opened
        #: (two newer commits removed it): the segments (set by :func:`load`).
        self.fallback: Callable[[], MeshWords] | None = None

    @classmethod
    def from_reader(cls, reader: IndexReader) -> MeshWords:
        """The headings of ``reader``'s segments (their merged lexicon), in memory."""
        headings: list[str] = []
        if FIELD in reader.schema:
            for raw in reader.lexicon(FIELD):
                headings.append(raw.decode("utf-8") if isinstance(raw, bytes) else str(raw))
        return cls(reader.generation(), _groups(headings))

    def write(self, folder: Path) -> Path:
        """Write as ``meshwords-<generation>.bin`` in ``folder`` atomically and durably,
        and remove the files of generations before the previous one. Call holding the
        write lock."""
        body = bytearray()
        directory: dict[str, list[int]] = {}
        for key, group in sorted(self._all_groups().items()):
            lines = ("\t".join((word, *group[word])) + "\n" for word in sorted(group))
            blob = "".join(lines).encode("utf-8")
            directory[key] = [len(body), len(blob), zlib.crc32(blob)]
            body += blob
        header = {"format": FORMAT, "generation": self.generation, "groups": directory}
        return groupfile.write(folder / file_name(self.generation), MAGIC, header, body, _NAME)

    def _all_groups(self) -> dict[str, Group]:
        if self._path is None:
            return self._loaded
        return {key: self._read(key) for key in self._directory}

    @classmethod
    def open(cls, folder: Path, generation: int) -> MeshWords | None:
        """The file written for ``generation`` (its header only: groups are read when
        asked for); None when there is none of this format."""
        path = folder / file_name(generation)
        try:
            found = groupfile.read_header(path, MAGIC, "a searchkit MeSH words file")
        except groupfile.GroupFileError as exc:
            raise _damaged(folder, path, exc.problem) from None
        if found is None:
            return None
        data, base = found
        if data.get("format") != FORMAT:
            return None  # another layout: read from the segments instead
        if data.get("generation") != generation or not isinstance(data.get("groups"), dict):
            raise _damaged(folder, path, "does not describe its generation")
        return cls(generation, path=path, directory=data["groups"], base=base)

    def _group(self, key: str) -> Group:
        if self._path is None or key in self._loaded:
            return self._loaded.get(key, {})
        if key not in self._directory:
            self._loaded[key] = {}
            return self._loaded[key]
        try:
            self._loaded[key] = self._read(key)
        except FileNotFoundError:
            if self.fallback is None:
                raise _damaged(self._path.parent, self._path, "is missing") from None
            replacement = self.fallback()
            self._path, self._loaded = None, replacement._loaded
        return self._loaded.get(key, {})

    def _read(self, key: str) -> Group:
        assert self._path is not None
        offset, size, crc = self._directory[key]
        path = self._path
        try:
            blob = groupfile.read_group(path, self._base, offset, size, crc)
        except groupfile.GroupFileError as exc:
            raise _damaged(path.parent, path, exc.problem) from None
        group: Group = {}
        for line in blob.decode("utf-8").splitlines():
            word, *headings = line.split("\t")
            group[word] = headings
        return group

    def verify(self) -> None:
        """Read every group (``searchkit check``)."""
        self._all_groups()

    def containing(self, words: Iterable[str], limit: int) -> list[str]:
        """The first ``limit`` headings (in term order) that contain every one of
        ``words``."""
        wanted = list(dict.fromkeys(words))
        if not wanted:
            return []
        found: set[str] | None = None
        for word in wanted:
            headings = set(self._group(_key(word)).get(word, ()))
            found = headings if found is None else found & headings
            if not found:
                return []
        assert found is not None
        return sorted(found)[:limit]


def load(folder: Path, reader: IndexReader) -> MeshWords:
    """The headings by word of ``reader``'s generation: its file, else the segments."""
    found = MeshWords.open(folder, reader.generation())
    if found is None:
        return MeshWords.from_reader(reader)
    found.fallback = lambda: MeshWords.from_reader(reader)
    return found


__all__ = ["FIELD", "FORMAT", "MeshWords", "file_name", "load"]
