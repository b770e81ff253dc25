"""Every segment of an index read as one: the arrays of :class:`SegmentArrays`
with top-level document numbers.

A query over a ten-segment index evaluated segment by segment made every array
operation of the evaluation ten times over (ten small arrays where one would do),
which cost half again the query's time on a 1,000,000-record index of ten
segments. :class:`JoinedArrays` gives the evaluator each term's postings of every
segment in one array (each segment's document numbers shifted by the documents
before it), and answers a question about some documents (their lengths, their
positions) by asking each segment about its own. Each segment's postings are still
decoded straight into the joined lists (no list of its own, then a copy), and the
joined lists are what the index's cache keeps, with each segment's entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from weakref import WeakKeyDictionary

import numpy as np
from numpy.typing import NDArray
from whoosh.reading import IndexReader

from searchkit.engine import sets
from searchkit.engine.position_values import decode_positions
from searchkit.engine.postings import FieldLengths, Floats, Ints, SegmentArrays, positions_of
from searchkit.engine.postings_cache import (
    EMPTY,
    CacheKey,
    JoinedPostings,
    Postings,
    PostingsCache,
    cache_of,
    derived_entry,
)
from searchkit.engine.values import Values


class JoinedArrays:
    """The arrays of every segment of ``reader`` as one (top-level document
    numbers), with the interface of :class:`SegmentArrays` the evaluator reads."""

    def __init__(self, reader: IndexReader) -> None:
        self.reader = reader
        leaves = reader.leaf_readers()
        self.parts = [SegmentArrays(leaf) for leaf, _ in leaves]
        self.offsets = [offset for _, offset in leaves]
        self.size = sum(part.size for part in self.parts)
        #: Where each segment's documents start, and the first number past the last.
        self._bounds = np.array([*self.offsets, self.size], dtype=np.int64)
        self._postings: dict[tuple[str, str], JoinedPostings] = {}
        #: Terms whose segments' values cannot be chained (:meth:`_chained`).
        self._unchained: set[tuple[str, str]] = set()
        self._derived: dict[CacheKey, Postings] = {}
        states = [part.state for part in self.parts]
        self._cache = cache_of(leaves[0][0]) if leaves else None
        #: The segments' states together name this state of the index (for the cache).
        self._state = None if None in states else ("joined", tuple(states))
        self._deleted: NDArray[np.bool_] | None = None

    def _split(self, docs: Ints) -> Iterator[tuple[SegmentArrays, int, Ints]]:
        """Each segment holding some of ``docs`` (ascending top-level numbers), its
        offset, and those documents' numbers in it."""
        cuts = np.searchsorted(docs, self._bounds).tolist()
        for k, part in enumerate(self.parts):
            lo, hi = cuts[k], cuts[k + 1]
            if hi > lo:
                yield part, self.offsets[k], docs[lo:hi] - self.offsets[k]

    def postings(self, field: str, text: str, *, positions: bool = False) -> tuple[Ints, Floats]:
        """:meth:`SegmentArrays.postings` of every segment, one after the other, read
        once (:meth:`_read`); ``positions``: each segment keeps the term's positions
        (a phrase's words)."""
        key = (field, text)
        found = self._postings.get(key)
        if found is None:
            found = self._postings[key] = self._read(field, text, positions)
        if positions:
            for part in self.parts:
                part.entry(field, text, keep=True)
            self._remember(field, text)
        return found.ids, found.weights

    def _read(self, field: str, text: str, keep: bool) -> JoinedPostings:
        """The term's joined postings: kept by the index's cache, else every segment
        not holding its own entry (read before, or cached) decoded straight into its
        place in the joined lists (:meth:`SegmentArrays.read_into`), the others'
        entries copied there; each segment's entry is then held by its arrays."""
        kept = self._kept(field, text)
        if kept is not None:
            for part, entry in zip(self.parts, kept.parts, strict=True):
                part.adopt(field, text, entry)
            return kept
        entries = [part.entry_of(field, text) for part in self.parts]
        extents: list[tuple[Any, int, int, int] | None] = []
        for k, part in enumerate(self.parts):
            extent = part.extent_of(field, text) if entries[k] is None else None
            if entries[k] is None and extent is None:  # read through Whoosh's matcher
                entries[k] = part.entry(field, text, keep=keep)
            elif extent is not None and extent[0] is None:  # not in the segment
                entries[k] = EMPTY
            extents.append(extent)
        n = 0
        for known, extent in zip(entries, extents, strict=True):
            n += len(known.ids) if known is not None else extent[3] if extent else 0
        ids = np.empty(n, dtype=np.int64)
        weights = np.empty(n, dtype=np.float64)
        at = 0
        parts: list[Postings] = []
        for part, offset, known, extent in zip(
            self.parts, self.offsets, entries, extents, strict=True
        ):
            if known is None:
                assert extent is not None
                end = at + extent[3]
                into = (ids[at:end], weights[at:end], offset)
                entry = part.read_into(field, text, extent, into, keep)
            else:
                entry = known
                end = at + len(entry.ids)
                np.add(entry.ids, offset - (entry.base or 0), out=ids[at:end])
                weights[at:end] = entry.weights
            part.adopt(field, text, entry)
            parts.append(entry)
            at += len(entry.ids)  # a segment's deleted postings: the next one's place
        joined = JoinedPostings(ids[:at], weights[:at], tuple(parts))
        if (shared := self._shared(field, text)) is not None:
            cache, key = shared
            cache.put(key, joined)
        return joined

    def _chained(self, field: str, text: str) -> Values | None:
        """The term's values of every segment as one (:func:`_chained`), made when
        its positions are first asked for and kept with its joined lists (most terms
        are read for their documents alone); None when the segments' cannot be."""
        key = (field, text)
        joined = self._postings[key]
        if joined.values is None and key not in self._unchained:
            values = _chained(list(joined.parts))
            if values is None:
                self._unchained.add(key)
                return None
            joined = self._hold(field, text, joined._replace(values=values))
        return joined.values

    def _shared(self, field: str, text: str) -> tuple[PostingsCache, CacheKey] | None:
        """The index's cache and the term's joined postings' key in it (None: no cache,
        or a segment without a state to key it by)."""
        if self._cache is None or self._state is None:
            return None
        return self._cache, (self._state, field, text)

    def _kept(self, field: str, text: str) -> JoinedPostings | None:
        """The term's joined postings if the index's cache keeps them."""
        shared = self._shared(field, text)
        return None if shared is None else shared[0].joined(shared[1])

    def _hold(self, field: str, text: str, joined: JoinedPostings) -> JoinedPostings:
        """Hold ``joined`` as the term's joined postings, here and in the index's
        cache (in place of what it kept)."""
        self._postings[(field, text)] = joined
        if (shared := self._shared(field, text)) is not None:
            cache, key = shared
            cache.replace(key, joined)
        return joined

    def _remember(self, field: str, text: str) -> None:
        """Keep in the index's cache the segments' entries of the term as they hold
        them now: a segment that read the term's positions whole (a phrase) keeps
        them for the next search too."""
        key = (field, text)
        joined = self._postings.get(key)
        if joined is None:
            return
        now = tuple(part.entry_of(field, text) or EMPTY for part in self.parts)
        if not all(a is b for a, b in zip(now, joined.parts, strict=True)):
            self._hold(field, text, joined._replace(parts=now))

    def position_keys(self, field: str, text: str, docs: Ints) -> Ints:
        """:meth:`SegmentArrays.position_keys` (``docnum << 32 | position``, top-level
        numbers): the documents holding the term found once in its joined postings,
        then each segment asked for the positions of its postings among them, and
        the keys made once for all."""
        if not len(docs):
            return sets.NO_IDS
        ids = self.postings(field, text)[0]
        hit, at = sets.found_at(ids, docs)
        if not len(at):
            return sets.NO_IDS
        values = self._chained(field, text)
        if values is not None:  # every segment's values as one
            blob, begins, ends = values.select(at, _never_read)
            n, p = positions_of(self.reader.schema[field].format, blob, begins, ends)
            return (np.repeat(docs[hit], n) << 32) | p
        # Where each segment's postings start in the joined ones (and the count).
        starts = np.cumsum([0, *(len(e.ids) for e in self._postings[(field, text)].parts)])
        cuts = np.searchsorted(at, starts).tolist()
        counts: list[Ints] = []
        positions: list[Ints] = []
        for k, part in enumerate(self.parts):
            lo, hi = cuts[k], cuts[k + 1]
            if hi == lo:
                continue
            found = part.chosen_positions(field, text, at[lo:hi] - starts[k])
            if found is None:  # read through Whoosh's matcher
                return self._position_keys_by_segment(field, text, docs[hit])
            counts.append(found[0])
            positions.append(found[1])
        self._remember(field, text)
        if len(counts) == 1:
            n, p = counts[0], positions[0]
        else:
            n, p = np.concatenate(counts), np.concatenate(positions)
        return (np.repeat(docs[hit], n) << 32) | p

    def _position_keys_by_segment(self, field: str, text: str, docs: Ints) -> Ints:
        found = [
            part.position_keys(field, text, local) + (offset << 32)
            for part, offset, local in self._split(docs)
        ]
        if not found:
            return sets.NO_IDS
        return found[0] if len(found) == 1 else np.concatenate(found)

    def positions(self, field: str, text: str, docs: Ints) -> dict[int, list[int]]:
        """:meth:`SegmentArrays.positions`, by top-level number."""
        if len(docs):
            ids = self.postings(field, text)[0]
            values = self._chained(field, text)
            if values is not None:  # every segment's values as one
                hit, at = sets.found_at(ids, docs)
                blob, starts, ends = values.select(at, _never_read)
                fmt = self.reader.schema[field].format
                decoded = decode_positions(fmt, blob, starts.tolist(), ends.tolist())
                return dict(zip(docs[hit].tolist(), decoded, strict=True))
        out: dict[int, list[int]] = {}
        for part, offset, local in self._split(docs):
            for d, found in part.positions(field, text, local).items():
                out[d + offset] = found
        return out

    def lengths_at(self, field: str, docs: Ints) -> Floats:
        """The lengths of ``docs`` (ascending) in ``field``: from every segment's length
        bytes joined once per reader (:func:`_joined_lengths`), else asked of each
        segment."""
        joined = _joined_lengths(self.reader, self.parts, field)
        if joined is not None:
            return joined.at(docs)
        found = [part.lengths_at(field, local) for part, _, local in self._split(docs)]
        if not found:
            return np.zeros(0, dtype=np.float64)
        return found[0] if len(found) == 1 else np.concatenate(found)

    def lengths(self, field: str) -> Floats:
        """Every document's length in ``field``."""
        return np.concatenate([np.zeros(0), *(part.lengths(field) for part in self.parts)])

    def held(self, field: str) -> NDArray[np.bool_]:
        """Which documents have anything in ``field`` (deleted ones included)."""
        return np.concatenate(
            [np.zeros(0, dtype=np.bool_), *(part.held(field) for part in self.parts)]
        )

    def doc_frequency(self, field: str, text: str) -> int:
        """The number of documents holding the term as Whoosh counts it (deleted ones
        included), summed over the segments: from the term's joined postings when
        read, or kept by the index's cache, else from each segment."""
        found = self._postings.get((field, text))
        if found is None:
            found = self._kept(field, text)
        if found is not None:
            return sum(part.df for part in found.parts)
        return sum(part.doc_frequency(field, text) for part in self.parts)

    def live_doc_frequency(self, field: str, text: str) -> int:
        """The number of live documents holding the term: the joined postings' when
        they were read, else each segment's :meth:`SegmentArrays.live_doc_frequency`."""
        found = self._postings.get((field, text))
        if found is not None:
            return len(found.ids)
        return sum(part.live_doc_frequency(field, text) for part in self.parts)

    def deleted(self) -> NDArray[np.bool_]:
        """Which documents of the index are deleted."""
        if self._deleted is None:
            self._deleted = np.concatenate(
                [np.zeros(0, dtype=np.bool_), *(part.deleted() for part in self.parts)]
            )
        return self._deleted

    def derived(
        self, key: CacheKey, compute: Callable[[], tuple[Ints, Floats]]
    ) -> tuple[Ints, Floats]:
        """:meth:`SegmentArrays.derived` for the whole index: kept here and in the
        index's cache under the state of every segment."""
        found = self._derived.get(key)
        if found is None:
            shared = None if self._state is None else (self._state, *key)
            found = self._derived[key] = derived_entry(self._cache, shared, compute)
        return found.ids, found.weights


def _chained(parts: list[Postings]) -> Values | None:
    """:meth:`Values.chain` of the values of the segments holding the term (their
    stored postings, deleted ones included): None where a segment keeps no values
    (a field without positions, Whoosh's matcher) or no longer holds their blocks."""
    held = [p.values for p in parts if p.df or len(p.ids)]
    if not held or any(v is None for v in held):
        return None
    return Values.chain([v for v in held if v is not None])


def _never_read(spans: list[tuple[int, int]]) -> list[Any]:
    """Chained values keep their blocks: none is read again."""
    raise AssertionError("chained values read again")


#: Every segment's length bytes of a field joined, by reader (a search's arrays are
#: made anew; the reader and its segments' lengths last as long as the open index).
_JOINED: WeakKeyDictionary[IndexReader, dict[str, FieldLengths | None]] = WeakKeyDictionary()


def _joined_lengths(
    reader: IndexReader, parts: list[SegmentArrays], field: str
) -> FieldLengths | None:
    """Every segment's lengths of ``field`` as one (one byte a document, top-level
    numbers), made once per reader: asking each segment about its own documents cost a
    search on five segments a quarter of a millisecond at its median. None when a
    segment has no length bytes (a reader of another kind)."""
    kept = _JOINED.setdefault(reader, {})
    if field not in kept:
        codes = [part.field_lengths(field).codes for part in parts]
        stored = [c for c in codes if c is not None]
        joined = np.concatenate(stored) if len(stored) == len(codes) else None
        kept[field] = None if joined is None else FieldLengths(joined)
    return kept[field]


#: What the evaluator reads postings through: one segment's arrays or every segment's.
Arrays = SegmentArrays | JoinedArrays


#: The arrays made in the current :func:`query_scope`, by reader (None: no scope).
_SCOPE: ContextVar[dict[int, tuple[IndexReader, Arrays]] | None] = ContextVar(
    "searchkit_arrays_scope", default=None
)


@contextmanager
def query_scope() -> Iterator[None]:
    """Within it, :func:`arrays_of` gives the same arrays for the same reader: the
    stages of one search (counting, ranking, the second stage, the hits' matched
    terms) read each term's postings, and join its segments', once, where each made
    its own arrays and asked every segment again. What the arrays keep lives as long
    as the scope (one search); a scope opened inside another is the outer one."""
    if _SCOPE.get() is not None:
        yield
        return
    token = _SCOPE.set({})
    try:
        yield
    finally:
        _SCOPE.reset(token)


def arrays_of(reader: IndexReader) -> Arrays:
    """The arrays the evaluator reads ``reader`` through: a segment's own, or every
    segment's joined (the same ones throughout a :func:`query_scope`)."""
    scope = _SCOPE.get()
    if scope is not None:
        kept = scope.get(id(reader))
        if kept is not None and kept[0] is reader:
            return kept[1]
    leaves: list[Any] = reader.leaf_readers()
    found: Arrays
    if len(leaves) == 1 and leaves[0][0] is reader:
        found = SegmentArrays(reader)
    else:
        found = JoinedArrays(reader)
    if scope is not None:
        scope[id(reader)] = (reader, found)
    return found
