"""Decoded postings: one term's in one segment (:class:`Postings`), and the cache an
open index keeps of the terms its searches read (:class:`PostingsCache`)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

import numpy as np
from whoosh.reading import IndexReader

from searchkit.engine.sets import Floats, Ints
from searchkit.engine.values import Values

#: Bytes of decoded postings kept between queries (least recently used dropped).
POSTINGS_CACHE_BYTES = 96 * 1024 * 1024


class Postings(NamedTuple):
    """One term's postings in one segment: document numbers (ascending), weights
    (frequencies) and, for fields with positions, each posting's encoded positions."""

    ids: Ints
    weights: Floats
    values: Values | None = None
    #: The term's document frequency in the segment as Whoosh counts it (deleted
    #: documents included).
    df: int = 0
    #: None: ``ids`` and ``weights`` are the entry's own arrays, numbered as in the
    #: segment. A number: they are views of a :class:`JoinedPostings`' lists, every
    #: document number plus this (the segment's first top-level number); such an
    #: entry is kept with its joined lists, never on its own.
    base: int | None = None

    @property
    def nbytes(self) -> int:
        extra = self.values.nbytes if self.values is not None else 0
        return self.ids.nbytes + self.weights.nbytes + extra


class JoinedPostings(NamedTuple):
    """One term's postings in every segment of an index as one list (top-level
    document numbers, :class:`~searchkit.engine.joined.JoinedArrays`), and each
    segment's entry: views of these lists (``base`` set) for the segments decoded
    straight into them, the segment's own entry for the others."""

    ids: Ints
    weights: Floats
    parts: tuple[Postings, ...]
    #: Every segment's values of the term one after the other (:meth:`Values.chain`:
    #: their blocks, shared with the segments' entries), when all of them still hold
    #: their blocks: a phrase's positions looked up once for the whole index.
    values: Values | None = None

    @property
    def nbytes(self) -> int:
        own = sum(p.nbytes for p in self.parts if p.base is None)
        if self.values is not None:
            values = self.values.nbytes
        else:
            values = sum(p.values.nbytes for p in self.parts if p.base is not None and p.values)
        return self.ids.nbytes + self.weights.nbytes + own + values


EMPTY = Postings(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))


#: A cache entry's key: the segment's id and deleted count, then the term's field and
#: text, or what :meth:`SegmentArrays.derived` was asked for.
CacheKey = tuple[Any, ...]


class PostingsCache:
    """Decoded postings of recently read terms, by segment state and term (and what
    is derived from a segment's postings alone: a phrase's frequencies).

    A segment's postings never change; its deletions only grow, so (segment id,
    deleted count) names one state of it. Each :class:`~searchkit.index.searchindex.SearchIndex`
    owns one (its readers are registered with :func:`share_cache`), so that the
    searches of one open index (a benchmark, an eval, a long-running program) share
    the cost of decoding common words, and the cache dies with the index object."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.size = 0
        self._items: OrderedDict[CacheKey, Postings | JoinedPostings] = OrderedDict()

    def get(self, key: CacheKey) -> Postings | None:
        found = self._items.get(key)
        if found is None:
            return None
        self._items.move_to_end(key)
        return found if isinstance(found, Postings) else None

    def joined(self, key: CacheKey) -> JoinedPostings | None:
        """The :class:`JoinedPostings` under ``key``, if kept."""
        found = self._items.get(key)
        if not isinstance(found, JoinedPostings):
            return None
        self._items.move_to_end(key)
        return found

    def put(self, key: CacheKey, value: Postings | JoinedPostings) -> None:
        cost = value.nbytes
        if cost > self.budget:
            return
        self._items[key] = value
        self.size += cost
        while self.size > self.budget:
            _, dropped = self._items.popitem(last=False)
            self.size -= dropped.nbytes

    def replace(self, key: CacheKey, value: Postings | JoinedPostings) -> None:
        """Put ``value`` in place of what ``key`` holds (its cost counted anew)."""
        old = self._items.pop(key, None)
        if old is not None:
            self.size -= old.nbytes
        self.put(key, value)

    def clear(self) -> None:
        self._items.clear()
        self.size = 0


def derived_entry(
    cache: PostingsCache | None,
    key: CacheKey | None,
    compute: Callable[[], tuple[Ints, Floats]],
) -> Postings:
    """What ``compute()`` derives from postings (documents and a value for each, made
    read-only) as an entry of ``cache`` under ``key``: found there, else computed and
    put there (neither without a cache or a key)."""
    found = cache.get(key) if cache is not None and key is not None else None
    if found is None:
        ids, values = compute()
        ids.flags.writeable = False
        values.flags.writeable = False
        found = Postings(ids, values)
        if cache is not None and key is not None:
            cache.put(key, found)
    return found


# The cache of the index that opened each reader (none: the reader's own arrays only).
_SHARED: WeakKeyDictionary[IndexReader, PostingsCache] = WeakKeyDictionary()


def cache_of(reader: IndexReader) -> PostingsCache | None:
    """The cache :func:`share_cache` gave ``reader`` (a segment's reader), if any."""
    return _SHARED.get(reader)


def share_cache(reader: IndexReader, cache: PostingsCache) -> None:
    """Let the arrays of ``reader``'s segments use ``cache`` (an open index's)."""
    for leaf, _ in reader.leaf_readers():
        _SHARED[leaf] = cache


__all__ = [
    "EMPTY",
    "POSTINGS_CACHE_BYTES",
    "CacheKey",
    "JoinedPostings",
    "Postings",
    "PostingsCache",
    "cache_of",
    "derived_entry",
    "share_cache",
]
