"""The vocabulary that "Did you mean" corrects from, written at each commit.

A correction of a word is a term of the index within two edits of it that starts with
the same letter, the most frequent first (what Whoosh's reader corrector ranks by). So
that a search reads only the terms that can be within two edits, every commit
(ingest, delete, rebuild, optimize) writes ``vocabulary-<generation>.bin`` beside the
segments: the terms of the corrected fields with their frequencies, in buckets by
first letter and length. A search reads the file's small header and the buckets of
the word's first letter and lengths within two of its own (:meth:`Vocabulary.bucket`),
never the whole vocabulary.

The file::

    b"SKVOCAB\\n"  header length (4 bytes)  CRC-32 of the header (4 bytes)
    header: JSON {"format": 1, "generation": N,
                  "fields": {field: {"<code point>:<length>": [offset, size, crc32]}}}
    buckets: UTF-8 lines "term<TAB>frequency", by term

Every bucket carries its own CRC-32, checked when it is read: a damaged file is an
:class:`~searchkit.engine.checksums.IndexDamagedError` naming it. A file of another
format, or none for the index's generation (an index written by an older searchkit,
or a crash between a commit and this file), is not an error: the vocabulary is then
read from the segments in memory (:meth:`Vocabulary.from_reader`, as slow as before
this file existed), and the next commit writes it.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from whoosh.fields import FieldType
from whoosh.reading import IndexReader

from searchkit.engine.checksums import IndexDamagedError
from searchkit.engine.lexicon import term_weights
from searchkit.index import groupfile

#: The fields whose terms corrections come from.
FIELDS = ("abstract", "title")
FORMAT = 1
MAGIC = b"SKVOCAB\n"
_NAME = re.compile(r"^vocabulary-(\d+)\.bin$")

#: A bucket: (term, frequency, letter mask) by term.
Bucket = list[tuple[str, float, int]]


def letter_mask(term: str) -> int:
    """The letters of ``term`` as bits (code point modulo 64): an edit changes at most
    two, so terms whose masks differ in more than twice the edits allowed are not
    compared letter by letter."""
    mask = 0
    for c in term:
        mask |= 1 << (ord(c) & 63)
    return mask


def file_name(generation: int) -> str:
    return f"vocabulary-{generation}.bin"


def _key(first: str, length: int) -> str:
    return f"{ord(first)}:{length}"


def _buckets(terms: Iterable[tuple[str, float]]) -> dict[str, Bucket]:
    out: dict[str, Bucket] = {}
    for term, freq in terms:
        if term:
            out.setdefault(_key(term[0], len(term)), []).append((term, freq, letter_mask(term)))
    for bucket in out.values():
        bucket.sort()
    return out


def _field_terms(reader: IndexReader, field: str) -> dict[str, float]:
    """Every term of ``field`` and its frequency summed over the segments (as the
    reader's ``frequency`` gives it: deleted documents included)."""
    if field not in reader.schema or not reader.schema[field].indexed:
        return {}
    fieldobj = reader.schema[field]
    # Text fields' terms are UTF-8 (FieldType.from_bytes), decoded without its call.
    utf8 = type(fieldobj).from_bytes is FieldType.from_bytes
    from_bytes = fieldobj.from_bytes
    totals: dict[str, float] = {}
    total = totals.get
    for btext, weight in term_weights(reader, field):
        term = btext.decode("utf-8") if utf8 else from_bytes(btext)
        totals[term] = total(term, 0.0) + weight
    return totals


def osa_within(a: str, b: str, limit: int) -> bool:
    """Whether ``a`` and ``b`` are at most ``limit`` edits apart (insert, delete,
    substitute, swap two adjacent letters: the optimal string alignment distance that
    Whoosh's corrector uses on a multi-segment index)."""
    if abs(len(a) - len(b)) > limit:
        return False
    big = limit + 1
    width = len(b) + 1
    two_ago: list[int] = []
    one_ago = list(range(width))
    for i in range(1, len(a) + 1):
        row = [i] + [big] * len(b)
        ca = a[i - 1]
        lo, hi = max(1, i - limit), min(len(b), i + limit)
        for j in range(lo, hi + 1):
            cb = b[j - 1]
            cost = min(one_ago[j] + 1, row[j - 1] + 1, one_ago[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb and ca != cb:
                cost = min(cost, two_ago[j - 2] + 1)
            row[j] = cost
        if min(row[max(0, lo - 1) : hi + 1]) > limit:
            return False
        two_ago, one_ago = one_ago, row
    return one_ago[len(b)] <= limit


class Vocabulary:
    """The terms of :data:`FIELDS` with their frequencies, by (first letter, length)."""

    def __init__(
        self,
        generation: int,
        fields: Mapping[str, Mapping[str, Bucket]] | None = None,
        *,
        path: Path | None = None,
        directory: Mapping[str, Mapping[str, list[int]]] | None = None,
        base: int = 0,
    ) -> None:
        self.generation = generation
        self._loaded: dict[str, dict[str, Bucket]] = {f: dict(b) for f, b in (fields or {}).items()}
        self._path = path
        self._directory = directory or {}
        self._base = base
        #: Where the terms come from when the file went away after it was opened (two
        #: newer commits removed it): the segments (set by :func:`load`).
        self.fallback: Callable[[], Vocabulary] | None = None

    # -- building -------------------------------------------------------------------

    @classmethod
    def from_reader(cls, reader: IndexReader) -> Vocabulary:
        """The vocabulary of ``reader``'s segments, in memory."""
        return cls(
            reader.generation(),
            {f: _buckets(_field_terms(reader, f).items()) for f in FIELDS},
        )

    def write(self, folder: Path) -> Path:
        """Write this vocabulary as ``vocabulary-<generation>.bin`` in ``folder``
        atomically and durably, and remove the files of generations before the previous
        one (whose readers may still be opening it). Call holding the write lock."""
        fields = {
            field: {key: [(t, f) for t, f, _ in bucket] for key, bucket in buckets.items()}
            for field, buckets in ((f, self._fields_buckets(f)) for f in FIELDS)
        }
        return _write(folder, self.generation, fields)

    def _fields_buckets(self, field: str) -> dict[str, Bucket]:
        if self._path is None:
            return self._loaded.get(field, {})
        return {key: self._read(field, key) for key in self._directory.get(field, {})}

    # -- reading --------------------------------------------------------------------

    @classmethod
    def open(cls, folder: Path, generation: int) -> Vocabulary | None:
        """The vocabulary written for ``generation`` (its header only: buckets are read
        when asked for); None when there is none of this format."""
        path = folder / file_name(generation)
        try:
            found = groupfile.read_header(path, MAGIC, "a searchkit vocabulary file")
        except groupfile.GroupFileError as exc:
            raise _damaged(folder, path, exc.problem) from None
        if found is None:
            return None
        data, base = found
        if data.get("format") != FORMAT:
            return None  # an older (or newer) layout: read from the segments instead
        if data.get("generation") != generation or not isinstance(data.get("fields"), dict):
            raise _damaged(folder, path, "does not describe its generation")
        return cls(
            generation,
            path=path,
            directory=data["fields"],
            base=base,
        )

    def bucket(self, field: str, first: str, length: int) -> Bucket:
        """The terms of ``field`` starting with ``first`` and ``length`` letters long."""
        key = _key(first, length)
        if self._path is None:
            return self._loaded.get(field, {}).get(key, [])
        cached = self._loaded.setdefault(field, {})
        if key not in cached:
            if key not in self._directory.get(field, {}):
                cached[key] = []
            else:
                try:
                    cached[key] = self._read(field, key)
                except FileNotFoundError:
                    if self.fallback is None:
                        raise _damaged(self._path.parent, self._path, "is missing") from None
                    replacement = self.fallback()
                    self._path, self._loaded = None, replacement._loaded
                    return self.bucket(field, first, length)
        return cached[key]

    def _read(self, field: str, key: str) -> Bucket:
        assert self._path is not None
        offset, size, crc = self._directory[field][key]
        path = self._path
        try:
            blob = groupfile.read_group(path, self._base, offset, size, crc)
        except groupfile.GroupFileError as exc:
            raise _damaged(path.parent, path, exc.problem) from None
        out: Bucket = []
        for line in blob.decode("utf-8").splitlines():
            term, _, freq = line.partition("\t")
            out.append((term, float(freq), letter_mask(term)))
        return out

    def verify(self) -> None:
        """Read every bucket (``searchkit check``)."""
        for field in FIELDS:
            self._fields_buckets(field)

    def suggest(
        self, field: str, text: str, *, limit: int = 3, maxdist: int = 2, prefix: int = 1
    ) -> list[str]:
        """Up to ``limit`` terms of ``field`` within ``maxdist`` edits of ``text`` that
        share its first ``prefix`` letters, the most frequent first (ties by term): the
        ranking of Whoosh's ``ReaderCorrector.suggest``, whose scores this repeats."""
        if not text:
            return []
        scored: list[tuple[float, str]] = []
        mask, most = letter_mask(text), 2 * maxdist
        for length in range(max(1, len(text) - maxdist), len(text) + maxdist + 1):
            for term, freq, letters in self.bucket(field, text[0], length):
                if (letters ^ mask).bit_count() > most or term[:prefix] != text[:prefix]:
                    continue
                if not osa_within(term, text, maxdist):
                    continue
                scored.append((0 - (maxdist + (1.0 / (freq or 1) * 0.5)), term))
        scored.sort(reverse=True)
        return [term for _, term in sorted(scored[:limit], key=lambda x: (0 - x[0], x[1]))]


def write_from_reader(reader: IndexReader, folder: Path) -> Path:
    """Write the vocabulary of ``reader``'s segments as :meth:`Vocabulary.write` writes
    ``Vocabulary.from_reader(reader)`` (the same file), without the letter masks that
    only searching in memory needs. Call holding the write lock."""
    fields: dict[str, dict[str, list[tuple[str, float]]]] = {}
    for field in FIELDS:
        buckets: dict[str, list[tuple[str, float]]] = {}
        fields[field] = buckets
        # Terms in order: each bucket is filled sorted, as _buckets sorts it.
        for term, freq in sorted(_field_terms(reader, field).items()):
            if term:
                key = f"{ord(term[0])}:{len(term)}"  # _key, inlined
                bucket = buckets.get(key)
                if bucket is None:
                    buckets[key] = [(term, freq)]
                else:
                    bucket.append((term, freq))
    return _write(folder, reader.generation(), fields)


def _write(
    folder: Path, generation: int, fields: Mapping[str, Mapping[str, list[tuple[str, float]]]]
) -> Path:
    body = bytearray()
    directory: dict[str, dict[str, list[int]]] = {}
    for field in FIELDS:
        entries = directory.setdefault(field, {})
        for key, bucket in sorted(fields.get(field, {}).items()):
            blob = "".join([f"{t}\t{f!r}\n" for t, f in bucket]).encode("utf-8")
            entries[key] = [len(body), len(blob), zlib.crc32(blob)]
            body += blob
    header = {"format": FORMAT, "generation": generation, "fields": directory}
    return groupfile.write(folder / file_name(generation), MAGIC, header, body, _NAME)


def _damaged(folder: Path, path: Path, problem: str) -> IndexDamagedError:
    return IndexDamagedError(folder, f"{path.name} {problem}")


def load(folder: Path, reader: IndexReader) -> Vocabulary:
    """The vocabulary of ``reader``'s generation: its file, else read from the segments."""
    found = Vocabulary.open(folder, reader.generation())
    if found is None:
        return Vocabulary.from_reader(reader)
    found.fallback = lambda: Vocabulary.from_reader(reader)
    return found


__all__ = [
    "FIELDS",
    "FORMAT",
    "Vocabulary",
    "file_name",
    "load",
    "osa_within",
    "write_from_reader",
]
