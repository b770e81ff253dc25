"""The vocabulary that "Did you mean" corrects from, written with each segment.

A correction of a word is a term of the index within two edits of it that starts with
the same letter, the most frequent first (what Whoosh's reader corrector ranks by: a
term's weights summed over the segments, deleted documents included, as the terms
files keep them until a merge rewrites the segment). So that a search reads only the
terms that can be within two edits, and a commit pays only for the segments it writes
(not for the whole index), each segment gets a file ``<segment id>.vocab``
(``MAIN_<id>.vocab``) when the commit that makes it writes its table of contents
(:mod:`searchkit.index.segmentfiles`): that segment's terms of the corrected fields
with their weights, in buckets by first letter and length. The file is one of the
segment's files: listed in the generation's checksum manifest, never changed once
written, removed with the segment when a merge replaces it.

A search reads, from each segment's file, the buckets of the word's first letter and
of lengths within two of its own (next to each other in the file: one read per field
and segment, :meth:`SegmentTerms.stored`), keeps the terms near enough to the word
(filtered in arrays by their letters first, then compared letter by letter: no bucket
is parsed whole) and sums their weights over the segments in their order
(:meth:`Vocabulary.near`): the totals, to the last bit, of reading every segment's
terms (:meth:`Vocabulary.buckets` gives those totals for whole buckets).

The file::

    b"SKVOCAB\\n"  header length (4 bytes)  CRC-32 of the header (4 bytes)
    header: JSON {"format": 2, "segment": "<segment id>",
                  "fields": {field: {"<code point>:<length>": [offset, size, crc32]}}}
    buckets: UTF-8 lines "term<TAB>weight", by term; in the file by code point, then
             length

Every bucket carries its own CRC-32, checked when it is read: a damaged file is an
:class:`~searchkit.engine.checksums.IndexDamagedError` naming it. A segment without
a file of this format (an index written by an older searchkit, which wrote one file
for the whole index, ``vocabulary-<generation>.bin``, format 1, no longer read) is
not an error: that segment's terms are read from the segment in memory when first
needed (:meth:`SegmentTerms.from_reader`), and the next commit writes its file and
removes the older whole-index files. A later format must take another suffix:
segment files are never rewritten.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from whoosh.fields import FieldType
from whoosh.reading import IndexReader

from searchkit.crc import crc32
from searchkit.engine.checksums import IndexDamagedError
from searchkit.engine.lexicon import term_weights
from searchkit.index import groupfile

#: The fields whose terms corrections come from.
FIELDS = ("abstract", "title")
FORMAT = 2
MAGIC = b"SKVOCAB\n"
#: After the segment id: the name of a segment's file.
SUFFIX = ".vocab"
#: The whole-index files of format 1, which the next commit removes.
LEGACY = re.compile(r"vocabulary-\d+\.bin")

#: A bucket: (term, weight) by term.
Entries = list[tuple[str, float]]


def letter_mask(term: str) -> int:
    """The letters of ``term`` as bits (code point modulo 64): an edit changes at most
    two, so terms whose masks differ in more than twice the edits allowed are not
    compared letter by letter."""
    mask = 0
    for c in term:
        mask |= 1 << (ord(c) & 63)
    return mask


def file_name(segment_id: str) -> str:
    """The name of the vocabulary file of the segment ``segment_id`` (``MAIN_<id>``)."""
    return f"{segment_id}{SUFFIX}"


def _key(first: str, length: int) -> str:
    return f"{ord(first)}:{length}"


def _key_order(key: str) -> tuple[int, int]:
    first, _, length = key.partition(":")
    return int(first), int(length)


def _field_terms(reader: IndexReader, field: str) -> dict[str, float]:
    """Every term of ``field`` and its weight summed over ``reader``'s segments (as
    the reader's ``frequency`` gives it: deleted documents included)."""
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


def _damaged(path: Path, problem: str) -> IndexDamagedError:
    return IndexDamagedError(path.parent, f"{path.name} {problem}")


class SegmentTerms:
    """The terms of :data:`FIELDS` in one segment (or in all the segments of a reader,
    in memory) with their weights, by (first letter, length): read from the segment's
    file a few buckets at a time, or from the segment itself."""

    def __init__(
        self,
        segment_id: str,
        fields: Mapping[str, Mapping[str, Entries]] | None = None,
        *,
        path: Path | None = None,
        directory: Mapping[str, Mapping[str, list[int]]] | None = None,
        base: int = 0,
    ) -> None:
        self.segment_id = segment_id
        self._fields: dict[str, dict[str, Entries]] | None = None
        if fields is not None or path is None:
            self._fields = {f: dict(b) for f, b in (fields or {}).items()}
        self._path = path
        self._directory = directory or {}
        self._base = base
        #: Where the terms come from when there is no file, or when the file went away
        #: after it was opened (a newer commit merged the segment away): the segment
        #: (set by :func:`load`).
        self.source: Callable[[], SegmentTerms] | None = None

    @classmethod
    def from_reader(cls, reader: IndexReader, segment_id: str = "") -> SegmentTerms:
        """The terms of ``reader``'s segments (one segment's reader: that segment's),
        weights summed, in memory."""
        fields: dict[str, dict[str, Entries]] = {}
        for field in FIELDS:
            buckets: dict[str, Entries] = {}
            fields[field] = buckets
            # Terms in order: each bucket is filled sorted.
            for term, weight in sorted(_field_terms(reader, field).items()):
                if term:
                    key = f"{ord(term[0])}:{len(term)}"  # _key, inlined
                    bucket = buckets.get(key)
                    if bucket is None:
                        buckets[key] = [(term, weight)]
                    else:
                        bucket.append((term, weight))
        return cls(segment_id, fields)

    @classmethod
    def pending(cls, segment_id: str, source: Callable[[], SegmentTerms]) -> SegmentTerms:
        """A segment's terms read from ``source`` when first asked for (no file)."""
        found = cls(segment_id, path=None)
        found._fields = None
        found.source = source
        return found

    @classmethod
    def open(cls, folder: Path, segment_id: str) -> SegmentTerms | None:
        """The file of segment ``segment_id`` (its header only: buckets are read when
        asked for); None when there is none of this format."""
        path = folder / file_name(segment_id)
        try:
            found = groupfile.read_segment_header(
                path, MAGIC, "a searchkit vocabulary file", FORMAT, segment_id, "fields"
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
        directory: dict[str, dict[str, list[int]]] = {}
        for field in FIELDS:
            entries = directory.setdefault(field, {})
            buckets = self._all(field)
            for key in sorted(buckets, key=_key_order):
                blob = "".join([f"{t}\t{w!r}\n" for t, w in buckets[key]]).encode("utf-8")
                entries[key] = [len(body), len(blob), crc32(blob)]
                body += blob
        header = {"format": FORMAT, "segment": self.segment_id, "fields": directory}
        return groupfile.write(folder / file_name(self.segment_id), MAGIC, header, body)

    def _all(self, field: str) -> dict[str, Entries]:
        keys = sorted(self._keys(field), key=_key_order)
        return dict(zip(keys, self.entries(field, keys), strict=True))

    def _keys(self, field: str) -> Iterable[str]:
        if self._fields is not None:
            return self._fields.get(field, {}).keys()
        if self._path is None:
            return self._switch().get(field, {}).keys()
        return self._directory.get(field, {}).keys()

    def _switch(self) -> dict[str, dict[str, Entries]]:
        """Read the terms from :attr:`source` from now on."""
        if self.source is None:
            assert self._path is not None
            raise _damaged(self._path, "is missing")
        replacement = self.source()
        self._path, self._fields = None, replacement._fields or {}
        return self._fields

    def entries(self, field: str, keys: Sequence[str]) -> list[Entries]:
        """The buckets ``keys`` (``"<code point>:<length>"``) of ``field``, in order
        (empty for a bucket the segment does not have)."""
        found = self.stored(field, keys)
        if isinstance(found, dict):
            return [found.get(key, []) for key in keys]
        return [_parse(blob) for blob in found]

    def stored(self, field: str, keys: Sequence[str]) -> dict[str, Entries] | list[bytes]:
        """The buckets ``keys`` of ``field`` as they are kept: the segment's buckets in
        memory (by key: those it has), or each bucket's bytes read from its file, in
        order (empty for a bucket the file does not have), CRC-checked."""
        if self._fields is not None:
            return self._fields.get(field, {})
        if self._path is None:
            self._switch()
            return self.stored(field, keys)
        directory = self._directory.get(field, {})
        present = [key for key in keys if key in directory]
        path = self._path
        try:
            blobs = groupfile.read_groups(
                path, self._base, [_span(directory[key]) for key in present]
            )
        except FileNotFoundError:
            self._switch()
            return self.stored(field, keys)
        except groupfile.GroupFileError as exc:
            raise _damaged(path, exc.problem) from None
        read = dict(zip(present, blobs, strict=True))
        return [read.get(key, b"") for key in keys]

    def verify(self) -> None:
        """Read every bucket (``searchkit check``)."""
        for field in FIELDS:
            self._all(field)


def _span(entry: Sequence[int]) -> tuple[int, int, int]:
    offset, size, crc = entry
    return offset, size, crc


def _parse(blob: bytes) -> Entries:
    out: Entries = []
    for line in blob.decode("utf-8").splitlines():
        term, _, weight = line.partition("\t")
        out.append((term, float(weight)))
    return out


class Vocabulary:
    """The terms of :data:`FIELDS` with their frequencies over every segment of a
    generation, by (first letter, length)."""

    def __init__(self, parts: Sequence[SegmentTerms]) -> None:
        #: Each segment's terms, in the segments' order (the order weights are summed).
        self.parts = list(parts)

    @classmethod
    def from_reader(cls, reader: IndexReader) -> Vocabulary:
        """The vocabulary of ``reader``'s segments, read from them in memory."""
        return cls([SegmentTerms.from_reader(reader)])

    def buckets(self, field: str, first: str, lengths: Sequence[int]) -> list[Entries]:
        """The terms of ``field`` starting with ``first`` of each of ``lengths``
        letters, by term, their weights summed over the segments in their order: one
        read per segment's file (a whole bucket: searches read :meth:`near`)."""
        keys = [_key(first, length) for length in lengths]
        totals: list[dict[str, float]] = [{} for _ in keys]
        for part in self.parts:
            for sums, entries in zip(totals, part.entries(field, keys), strict=True):
                total = sums.get
                for term, weight in entries:
                    sums[term] = total(term, 0.0) + weight
        return [sorted(sums.items()) for sums in totals]

    def verify(self) -> None:
        """Read every bucket of every segment's file (``searchkit check``)."""
        for part in self.parts:
            part.verify()

    def suggest(
        self, field: str, text: str, *, limit: int = 3, maxdist: int = 2, prefix: int = 1
    ) -> list[str]:
        """Up to ``limit`` terms of ``field`` within ``maxdist`` edits of ``text`` that
        share its first ``prefix`` letters, the most frequent first (ties by term): the
        ranking of Whoosh's ``ReaderCorrector.suggest``, whose scores this repeats."""
        if not text:
            return []
        scored: list[tuple[float, str]] = []
        for term, freq in self.near(field, text, maxdist, prefix).items():
            scored.append((0 - (maxdist + (1.0 / (freq or 1) * 0.5)), term))
        scored.sort(reverse=True)
        return [term for _, term in sorted(scored[:limit], key=lambda x: (0 - x[0], x[1]))]

    def near(self, field: str, text: str, maxdist: int, prefix: int = 1) -> dict[str, float]:
        """The terms of ``field`` within ``maxdist`` edits of ``text`` sharing its first
        ``prefix`` letters, with their weights summed over the segments in their order
        (the sums of :meth:`buckets`, to the last bit: a term is kept or not by itself,
        so filtering each segment's terms before adding them changes no sum). A
        segment's file is filtered in arrays, never parsed whole: only the terms whose
        letters are near enough are decoded."""
        mask, counted, most = letter_mask(text), letter_counts(text), 2 * maxdist
        lengths = range(max(1, len(text) - maxdist), len(text) + maxdist + 1)
        keys = [_key(text[0], length) for length in lengths]

        checked: dict[str, bool] = {}  # a term of several segments is compared once

        def keep(term: str) -> bool:
            found = checked.get(term)
            if found is None:
                found = checked[term] = (
                    (letter_mask(term) ^ mask).bit_count() <= most
                    and term[:prefix] == text[:prefix]
                    and osa_within(term, text, maxdist)
                )
            return found

        sums: dict[str, float] = {}
        total = sums.get
        for part in self.parts:
            found = part.stored(field, keys)
            if isinstance(found, dict):
                near = [(t, w) for key in keys for t, w in found.get(key, []) if keep(t)]
            else:
                near = [
                    tw
                    for blob, length in zip(found, lengths, strict=True)
                    for tw in _near_in_blob(blob, length, mask, counted, most, keep)
                ]
            for term, weight in near:
                sums[term] = total(term, 0.0) + weight
        return sums


def _popcount(values: NDArray[np.uint64]) -> NDArray[np.intp]:
    """The set bits of each value."""
    if hasattr(np, "bitwise_count"):  # NumPy 2
        return np.bitwise_count(values).astype(np.intp)
    bits = np.unpackbits(values.view(np.uint8).reshape(len(values), 8), axis=1)
    return bits.sum(axis=1, dtype=np.intp)


def letter_counts(term: str) -> NDArray[np.intp]:
    """How many letters of ``term`` fall in each of the 64 slots of :func:`letter_mask`."""
    return np.bincount([ord(c) & 63 for c in term], minlength=64).astype(np.intp)


def _near_in_blob(
    blob: bytes,
    length: int,
    mask: int,
    counted: NDArray[np.intp],
    most: int,
    keep: Callable[[str], bool],
) -> Entries:
    """The entries of a bucket's bytes (lines ``term<TAB>weight``, terms of ``length``
    letters) whose term ``keep`` accepts, in order. The letter masks and counts of the
    terms written in ASCII (as many bytes as letters) are computed in arrays and only
    the terms within ``most`` letters of the word's (``mask``, ``counted``) are
    decoded; any other line is decoded and checked whole."""
    if not blob:
        return []
    data = np.frombuffer(blob, dtype=np.uint8)
    ends = np.flatnonzero(data == 10)
    tabs = np.flatnonzero(data == 9)
    if len(tabs) != len(ends) or not len(ends) or ends[-1] != len(data) - 1:
        return [(t, w) for t, w in _parse(blob) if keep(t)]  # not one tab a line
    starts = np.empty(len(ends), dtype=np.intp)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    ascii_rows = np.flatnonzero(tabs - starts == length)
    candidate = np.ones(len(ends), dtype=np.bool_)
    if len(ascii_rows):
        candidate[ascii_rows] = False
        letters = (data[starts[ascii_rows, None] + np.arange(length)] & 63).astype(np.intp)
        bits = np.left_shift(np.uint64(1), letters.astype(np.uint64))
        masks = np.bitwise_or.reduce(bits, axis=1)
        near = _popcount(masks ^ np.uint64(mask)) <= most
        rows, letters = ascii_rows[near], letters[near]
        if len(rows):
            # Then by how many letters must change: an edit changes at most two
            # letter counts by one (a swap none), so the counts of a term within
            # ``most / 2`` edits differ from the word's by at most ``most`` in all.
            slots = (np.arange(len(rows))[:, None] * 64 + letters).ravel()
            counts = np.bincount(slots, minlength=64 * len(rows)).reshape(len(rows), 64)
            candidate[rows[np.abs(counts - counted).sum(axis=1) <= most]] = True
    out: Entries = []
    for row in np.flatnonzero(candidate).tolist():
        start, tab, end = int(starts[row]), int(tabs[row]), int(ends[row])
        term = blob[start:tab].decode("utf-8")
        if keep(term):
            out.append((term, float(blob[tab + 1 : end])))
    return out


def write_segment(reader: IndexReader, folder: Path, segment_id: str) -> Path:
    """Write the vocabulary file of the segment ``segment_id``, read through its
    ``reader``. Call holding the write lock."""
    return SegmentTerms.from_reader(reader, segment_id).write(folder)


def segment_readers(reader: IndexReader) -> list[tuple[str, IndexReader]] | None:
    """``reader``'s segments as (segment id, that segment's reader), in order; None
    when one of them is not a segment of a file index."""
    out: list[tuple[str, IndexReader]] = []
    for leaf, _ in reader.leaf_readers():
        segment = getattr(leaf, "segment", None)
        found = segment() if callable(segment) else None
        if found is None:  # e.g. the empty reader of an index without segments
            return None
        out.append((found.segment_id(), leaf))
    return out


def load(folder: Path, reader: IndexReader) -> Vocabulary:
    """The vocabulary of ``reader``'s generation: each segment's file, or the segment
    itself where it has none (read when first needed)."""
    segments = segment_readers(reader)
    if segments is None:
        return Vocabulary.from_reader(reader)
    parts: list[SegmentTerms] = []
    for segment_id, leaf in segments:
        source = partial(SegmentTerms.from_reader, leaf, segment_id)
        found = SegmentTerms.open(folder, segment_id)
        if found is None:
            found = SegmentTerms.pending(segment_id, source)
        found.source = source
        parts.append(found)
    return Vocabulary(parts)


__all__ = [
    "FIELDS",
    "FORMAT",
    "LEGACY",
    "MAGIC",
    "SUFFIX",
    "SegmentTerms",
    "Vocabulary",
    "file_name",
    "load",
    "osa_within",
    "segment_readers",
    "write_segment",
]
