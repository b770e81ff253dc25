"""One index segment's postings and field lengths as NumPy arrays.

Whoosh reads postings one at a time through its matcher objects (a Python call per
posting and per ``doc_field_length``), which is most of a query's cost on a large index.
:class:`SegmentArrays` reads Whoosh's on-disk posting blocks (the ``whoosh3`` codec:
delta-coded ids and weights, pickled per block) a whole block at a time into arrays, and
a field's lengths column in one read; positions are decoded only for the documents
asked for. Other readers (not the ``whoosh3`` codec) go through the matcher interface:
slower, same result.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any
from weakref import WeakKeyDictionary

import numpy as np
from numpy.typing import NDArray
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher
from whoosh.matching import Matcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import IndexReader, SegmentReader, TermNotFound
from whoosh.util.numeric import byte_to_length

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]

_EMPTY_IDS: Ints = np.zeros(0, dtype=np.int64)
_EMPTY_WEIGHTS: Floats = np.zeros(0, dtype=np.float64)
# Whoosh stores a field length as one byte (a lossy log scale); this decodes them all.
_LENGTH_OF_BYTE: Floats = np.array([byte_to_length(i) for i in range(256)], dtype=np.float64)


# Lengths by reader: a searcher kept open between queries reads them once.
_LENGTHS: WeakKeyDictionary[IndexReader, dict[str, Floats]] = WeakKeyDictionary()

#: Bytes of decoded posting arrays kept between queries (least recently used dropped).
POSTINGS_CACHE_BYTES = 64 * 1024 * 1024


class _PostingsCache:
    """Decoded (ids, weights) of recently read terms, by segment state and term.

    A segment's postings never change; its deletions only grow, so (segment id,
    deleted count) names one state of it. Searches in one process (a benchmark, an
    eval, a long-running program) share the cost of decoding common words."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.size = 0
        self._items: OrderedDict[tuple[str, int, str, str], tuple[Ints, Floats]] = OrderedDict()

    def get(self, key: tuple[str, int, str, str]) -> tuple[Ints, Floats] | None:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: tuple[str, int, str, str], value: tuple[Ints, Floats]) -> None:
        cost = value[0].nbytes + value[1].nbytes
        if cost > self.budget:
            return
        self._items[key] = value
        self.size += cost
        while self.size > self.budget:
            _, (ids, weights) = self._items.popitem(last=False)
            self.size -= ids.nbytes + weights.nbytes


_CACHE = _PostingsCache(POSTINGS_CACHE_BYTES)


class SegmentArrays:
    """Array views of one segment reader, each read at most once (cached)."""

    def __init__(self, reader: IndexReader) -> None:
        self.reader = reader
        self.size: int = reader.doc_count_all()
        self._lengths = _LENGTHS.setdefault(reader, {})
        self._postings: dict[tuple[str, str], tuple[Ints, Floats]] = {}
        self._deleted: NDArray[np.bool_] | None = None
        self._has_deletions = reader.has_deletions()
        self._state: tuple[str, int] | None = None
        if isinstance(reader, SegmentReader):
            segment = reader.segment()
            self._state = (segment.segment_id(), segment.deleted_count())

    def lengths(self, field: str) -> Floats:
        """Every document's length in ``field`` (0 where it has none); read once per
        reader, as a segment's lengths never change."""
        found = self._lengths.get(field)
        if found is None:
            found = self._lengths[field] = self._read_lengths(field)
        return found

    def _read_lengths(self, field: str) -> Floats:
        column = _lengths_column(self.reader, field)
        if column is None:
            values = [self.reader.doc_field_length(d, field, 0) or 0 for d in range(self.size)]
            return np.array(values, dtype=np.float64)
        raw = column._dbfile.get(column._basepos, column._count)
        codes = np.zeros(self.size, dtype=np.uint8)
        stored = np.frombuffer(raw, dtype=np.uint8)[: self.size]
        codes[: len(stored)] = stored
        return _LENGTH_OF_BYTE[codes]

    def postings(self, field: str, text: str) -> tuple[Ints, Floats]:
        """Document numbers (ascending) containing ``text`` in ``field``, and the term's
        weight (frequency) in each; deleted documents left out."""
        key = (field, text)
        found = self._postings.get(key)
        if found is None:
            shared = None if self._state is None else (*self._state, field, text)
            found = _CACHE.get(shared) if shared is not None else None
            if found is None:
                found = self._read_postings(field, text)
                if shared is not None:
                    _CACHE.put(shared, found)
            self._postings[key] = found
        return found

    def _read_postings(self, field: str, text: str) -> tuple[Ints, Floats]:
        matcher = self._matcher(field, text)
        if matcher is None:
            return _EMPTY_IDS, _EMPTY_WEIGHTS
        if isinstance(matcher, W3LeafMatcher):
            id_blocks: list[Ints] = []
            weight_blocks: list[Floats] = []
            for m in _blocks(matcher):
                id_blocks.append(_block_ids(m))
                weight_blocks.append(_block_weights(m))
            if not id_blocks:
                return _EMPTY_IDS, _EMPTY_WEIGHTS
            ids = np.concatenate(id_blocks)
            weights = np.concatenate(weight_blocks)
        else:
            pairs = list(matcher.items_as("weight"))
            ids = np.array([d for d, _ in pairs], dtype=np.int64)
            weights = np.array([w for _, w in pairs], dtype=np.float64)
        if self._has_deletions and len(ids):
            keep = ~self.deleted()[ids]
            ids, weights = ids[keep], weights[keep]
        return ids, weights

    def positions(self, field: str, text: str, docs: Ints) -> dict[int, list[int]]:
        """The positions of ``text`` in ``field`` for those of ``docs`` (ascending
        document numbers) that contain it. Only the posting blocks holding one of
        ``docs`` are read."""
        out: dict[int, list[int]] = {}
        if not len(docs):
            return out
        matcher = self._matcher(field, text)
        if matcher is None:
            return out
        wanted = set(docs.tolist())
        if not isinstance(matcher, W3LeafMatcher):
            for d, value in matcher.items_as("positions"):
                if d in wanted:
                    out[d] = value
            return out
        decode = matcher.format.decode_positions
        i, n = 0, len(docs)
        for m in _blocks(matcher):
            if m._maxid < docs[i]:
                continue  # no wanted document in this block: not decoded
            ids = _block_ids(m)
            values = None
            for j in np.nonzero(np.isin(ids, docs[i:]))[0].tolist():
                if values is None:
                    m._read_values()
                    values = m._values
                out[int(ids[j])] = decode(values[j])
            i = int(np.searchsorted(docs, ids[-1], side="right"))
            if i >= n:
                break
        return out

    def deleted(self) -> NDArray[np.bool_]:
        """Which documents of the segment are deleted."""
        if self._deleted is None:
            mask = np.zeros(self.size, dtype=np.bool_)
            gone = list(self.reader.deleted_docs_set) if self._has_deletions else []
            if gone:
                mask[np.array(gone, dtype=np.int64)] = True
            self._deleted = mask
        return self._deleted

    def _matcher(self, field: str, text: str) -> Matcher | None:
        """The raw (unfiltered) matcher of a term, or None when it is not indexed."""
        try:
            matcher = self.reader.postings(field, text)
        except TermNotFound:
            return None
        if isinstance(matcher, FilterMatcher):  # deletions: applied with deleted()
            matcher = matcher.child
        return matcher


def _lengths_column(reader: IndexReader, field: str) -> Any:
    """The raw one-byte-per-document lengths column of ``field``, if readable."""
    if not isinstance(reader, SegmentReader):
        return None
    perdoc = getattr(reader, "_perdoc", None)
    cached = getattr(perdoc, "_cached_reader", None)
    if cached is None:
        return None
    column = cached(f"_{field}_len", LENGTHS_COLUMN)
    if column is None or not all(hasattr(column, a) for a in ("_dbfile", "_basepos", "_count")):
        return None
    return column


def _blocks(matcher: W3LeafMatcher) -> Iterator[W3LeafMatcher]:
    """The matcher positioned at each of its posting blocks in turn (one object, moved
    on: use each block before asking for the next; its data is only read when asked
    for)."""
    m = matcher
    while m.is_active():
        yield m
        if m._lastblock:
            return
        m._goto(m._nextoffset)


def _block_ids(m: W3LeafMatcher) -> Ints:
    if m._data is None:
        m._read_data()
    raw = np.asarray(m._data[0], dtype=np.int64)
    return raw if m._byteids else np.cumsum(raw)  # ids are delta-coded per block


def _block_weights(m: W3LeafMatcher) -> Floats:
    m._read_weights()
    return np.asarray(m._weights, dtype=np.float64)
