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

import bisect
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

import numpy as np
from numpy.typing import NDArray
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, W3TermsReader
from whoosh.formats import Positions
from whoosh.matching import Matcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import IndexReader, SegmentReader, TermNotFound
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length

from searchkit.engine import blockread, sets
from searchkit.engine.checksums import verify_part
from searchkit.engine.codec import DeflatedValues, PackedValues, block_numbers
from searchkit.engine.mapped import RELEASE_MIN, MappedFile
from searchkit.engine.position_values import decode_positions, flat, position_arrays

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
#: Offsets into a blob of values: 32-bit where they fit.
Offsets = NDArray[np.uint32] | NDArray[np.int64]

_EMPTY_IDS: Ints = np.zeros(0, dtype=np.int64)
_EMPTY_WEIGHTS: Floats = np.zeros(0, dtype=np.float64)
# Whoosh stores a field length as one byte (a lossy log scale); this decodes them all.
_LENGTH_INTS: list[int] = [int(byte_to_length(i)) for i in range(256)]
_LENGTH_OF_BYTE: Floats = np.array(_LENGTH_INTS, dtype=np.float64)


# Lengths by reader: a searcher kept open between queries reads them once.
_LENGTHS: WeakKeyDictionary[IndexReader, dict[str, FieldLengths]] = WeakKeyDictionary()
# Each field's total length by reader (the sum of its lengths, as a float).
_TOTALS: WeakKeyDictionary[IndexReader, dict[str, float]] = WeakKeyDictionary()

#: Bytes of decoded postings kept between queries (least recently used dropped).
POSTINGS_CACHE_BYTES = 96 * 1024 * 1024
#: A posting list longer than this (bytes in the postings file) keeps no positions
#: once read: the blocks of the documents asked for are read again (``Values.reread``).
#: A common word's positions, kept, were the largest part of a search's memory on a
#: 1,000,000-record index (27 MB of its 205 MB peak for "cancer stem cells"), for
#: the few documents the proximity bonus and the second stage look at.
KEEP_VALUES_MAX_BYTES = 256 * 1024
#: Values not kept are kept from this lookup of their positions on: a long-running
#: process (a benchmark, an eval, a server) that keeps asking for a common word's
#: positions keeps them in its cache, as it did before; one search asks at most
#: twice (the proximity bonus, then the second stage).
KEEP_VALUES_AFTER_LOOKUPS = 3
#: From this many postings of a term on, its positions are decoded with array
#: operations (a fixed cost of some dozens of NumPy calls) rather than value by value.
ARRAY_DECODE_MIN = 96
#: Whether a term's posting blocks are read from its whole extent at once, found from
#: its term info (:mod:`searchkit.engine.blockread`), rather than through Whoosh's
#: matcher, block by block (the same arrays; False only to compare the two).
BY_EXTENT = True


class FieldLengths:
    """Every document's length in one field of one segment, as stored: one byte per
    document (Whoosh's lossy code), decoded only for the documents asked for. A
    float per document would take eight times the memory (8 MB a field for a
    segment of a million records) for the same values."""

    __slots__ = ("_codes", "_floats")

    def __init__(self, codes: NDArray[np.uint8] | None, values: Floats | None = None) -> None:
        # Either the codes (the lengths column) or, for a reader without one, the
        # lengths themselves.
        self._codes = codes
        self._floats = values

    def at(self, docs: Ints) -> Floats:
        """The lengths of ``docs`` (as floats)."""
        if self._codes is None:
            assert self._floats is not None
            return self._floats[docs]
        return _LENGTH_OF_BYTE[self._codes[docs]]

    def every(self) -> Floats:
        """Every document's length (an array as long as the segment)."""
        if self._codes is None:
            assert self._floats is not None
            return self._floats
        return _LENGTH_OF_BYTE[self._codes]

    def total(self) -> float:
        """The sum of every document's length: the same float as ``every().sum()``
        (the lengths are whole numbers, and their sum is far below 2**53, where float
        additions are exact in any order), without decoding every document."""
        if self._codes is None:
            assert self._floats is not None
            return float(self._floats.sum())
        counts = np.bincount(self._codes, minlength=256)
        return float(
            sum(n * length for n, length in zip(counts.tolist(), _LENGTH_INTS, strict=True))
        )


class Values:
    """Each posting's encoded positions, undecoded: one ``bytes`` holding them all and
    where each starts and ends (a few objects, however many postings).

    Read from consecutive blocks, the values follow one another: ``starts`` and
    ``ends`` are two views of one array of boundaries (``n + 1`` offsets), in 32 bits
    when the bytes allow (a quarter of two separate 64-bit arrays). Made by
    :meth:`later` from a term's blocks, they are joined only when first asked for:
    many terms are read for their documents and frequencies alone. Made by
    :meth:`reread` (a long posting list), they are not kept at all, only where each
    block is: :meth:`select` reads again the blocks holding the postings it is asked
    for (a few documents' positions for the proximity bonus and the second stage
    would otherwise keep a common word's positions in memory, the largest part of a
    search's on a large index)."""

    __slots__ = (
        "_value_blob",
        "_value_blocks",
        "_value_ends",
        "_value_firsts",
        "_value_lookups",
        "_value_mask",
        "_value_nbytes",
        "_value_spans",
        "_value_starts",
    )

    def __init__(self, blob: bytes, starts: Offsets, ends: Offsets) -> None:
        self._value_blob = blob
        self._value_starts = starts
        self._value_ends = ends
        self._value_blocks: list[Any] | None = None
        self._value_spans: list[tuple[int, int]] | None = None
        #: Where each block's postings begin among the term's (one more: the count).
        self._value_firsts: Ints | None = None
        self._value_mask: NDArray[np.bool_] | None = None
        #: How many times :meth:`select` was asked for values not kept.
        self._value_lookups = 0
        if starts.base is not None and starts.base is ends.base:
            self._value_nbytes = len(blob) + starts.base.nbytes  # one array of boundaries
        else:
            self._value_nbytes = len(blob) + starts.nbytes + ends.nbytes

    @classmethod
    def later(cls, blocks: list[Any], count: int) -> Values:
        """:meth:`join` of ``blocks`` (``count`` values in all), done when first used;
        :attr:`nbytes` is what the joined values will take."""
        values = cls(b"", _EMPTY_IDS, _EMPTY_IDS)
        values._value_blocks = blocks
        blob_size = sum(map(_blob_length, blocks))
        values._value_nbytes = blob_size + (count + 1) * _offset_size(blob_size)
        return values

    @classmethod
    def reread(cls, spans: list[tuple[int, int]], counts: list[int]) -> Values:
        """Values not kept: the blocks at ``spans`` of the postings file (as
        :func:`~searchkit.engine.blockread.read_term` gives them), of ``counts``
        postings each, read again by :meth:`select`."""
        values = cls(b"", _EMPTY_IDS, _EMPTY_IDS)
        values._value_spans = spans
        values._value_firsts = np.concatenate(([0], np.cumsum(counts, dtype=np.int64)))
        values._value_nbytes = 16 * (len(spans) + 1)
        return values

    @property
    def blob(self) -> bytes:
        self._joined()
        return self._value_blob

    @property
    def starts(self) -> Offsets:
        self._joined()
        return self._value_starts

    @property
    def ends(self) -> Offsets:
        self._joined()
        return self._value_ends

    def _joined(self) -> None:
        if self._value_spans is not None:
            raise ValueError("these values are read again by select(), never whole")
        if self._value_blocks is not None:
            self._join()

    def _join(self) -> None:
        assert self._value_blocks is not None
        joined = Values.join(self._value_blocks)
        self._value_blob = joined.blob
        self._value_starts, self._value_ends = joined.starts, joined.ends
        if self._value_mask is not None:
            self._value_starts = self._value_starts[self._value_mask]
            self._value_ends = self._value_ends[self._value_mask]
        self._value_blocks = self._value_mask = None

    def select(
        self, chosen: sets.Positions, reread: Callable[[list[tuple[int, int]]], list[Any]]
    ) -> tuple[bytes, Offsets, Offsets]:
        """The values of the postings at ``chosen`` (ascending indexes): a blob and
        each one's start and end in it. Values kept in blocks are joined whole when
        at least half of the blocks hold some of ``chosen`` (and stay joined), else
        only those blocks are; values not kept are read again, only the blocks
        holding ``chosen``, with ``reread`` (the postings file's
        :func:`~searchkit.engine.blockread.read_values`)."""
        blocks, spans = self._value_blocks, self._value_spans
        if blocks is None and spans is None:
            return self._value_blob, self._value_starts[chosen], self._value_ends[chosen]
        wanted, which, needed = self._blocks_of(chosen)
        firsts = self._firsts()
        if blocks is not None:
            if 2 * len(needed) >= len(blocks):
                self._join()
                return self._value_blob, self._value_starts[chosen], self._value_ends[chosen]
            part = [blocks[i] for i in needed.tolist()]
        else:
            assert spans is not None
            part = reread([spans[i] for i in needed.tolist()])
        joined = Values.join(part)
        sizes = firsts[needed + 1] - firsts[needed]
        part_firsts = np.concatenate(([0], np.cumsum(sizes)))
        local = wanted - firsts[which] + part_firsts[np.searchsorted(needed, which)]
        return joined._value_blob, joined._value_starts[local], joined._value_ends[local]

    @property
    def rereads(self) -> bool:
        """Whether these values are not kept (read again by :meth:`select`)."""
        return self._value_spans is not None

    def rereads_most(self, chosen: sets.Positions) -> bool:
        """Whether these values are not kept and are worth reading whole and keeping:
        ``chosen`` falls in at least half of their blocks (reading them whole is then
        about as cheap), or they were looked up ``KEEP_VALUES_AFTER_LOOKUPS`` times."""
        spans = self._value_spans
        if spans is None:
            return False
        self._value_lookups += 1
        if self._value_lookups >= KEEP_VALUES_AFTER_LOOKUPS:
            return True
        return 2 * len(self._blocks_of(chosen)[2]) >= len(spans)

    def _blocks_of(self, chosen: sets.Positions) -> tuple[Ints, Ints, Ints]:
        """For the postings at ``chosen``: their indexes among the term's postings as
        stored (deleted ones included), the block holding each, and those blocks
        (ascending, once each)."""
        wanted = chosen if self._value_mask is None else np.flatnonzero(self._value_mask)[chosen]
        which = np.searchsorted(self._firsts(), wanted, side="right") - 1
        return wanted, which, sets.distinct(which)

    def whole(self, reread: Callable[[list[tuple[int, int]]], list[Any]]) -> Values:
        """Values not kept, read again whole (every block), joined."""
        assert self._value_spans is not None
        values = Values.later(reread(self._value_spans), 0)
        values._value_mask = self._value_mask
        values._join()
        return values

    def _firsts(self) -> Ints:
        found = self._value_firsts
        if found is None:
            assert self._value_blocks is not None
            counts = [len(block) for block in self._value_blocks]
            found = self._value_firsts = np.concatenate(([0], np.cumsum(counts, dtype=np.int64)))
        return found

    @classmethod
    def join(cls, blocks: list[Any]) -> Values:
        """The values of consecutive blocks: :class:`~searchkit.engine.codec.DeflatedValues`
        (inflated here), :class:`~searchkit.engine.codec.PackedValues`, or tuples of
        ``bytes`` (small blocks, blocks written by Whoosh's own writer)."""
        lengths = [len(block) for block in blocks]
        blob_sizes = [_blob_length(block) for block in blocks]
        count = sum(lengths) + 1
        bounds: Offsets = (
            np.zeros(count, dtype=np.uint32)
            if _offset_size(sum(blob_sizes)) == 4
            else np.zeros(count, dtype=np.int64)
        )
        at = total = 0
        blobs: list[bytes] = []
        for block, n, size in zip(blocks, lengths, blob_sizes, strict=True):
            if isinstance(block, DeflatedValues):
                block = block.inflated()
            if isinstance(block, PackedValues):
                blob = block.blob
                block_ends = np.frombuffer(block.ends, dtype=np.uint32)
            else:
                blob = b"".join(block)
                block_ends = np.cumsum(np.fromiter(map(len, block), np.int64, n))
            blobs.append(blob)
            np.add(block_ends.astype(bounds.dtype), total, out=bounds[at + 1 : at + 1 + n])
            at += n
            total += size
        return cls(b"".join(blobs), bounds[:-1], bounds[1:])

    def keep(self, mask: NDArray[np.bool_]) -> Values:
        """Only the values where ``mask`` is true."""
        if self._value_spans is not None:
            kept = Values.reread(self._value_spans, [])
            kept._value_firsts = self._value_firsts
            kept._value_lookups = self._value_lookups
            kept._value_mask = mask if self._value_mask is None else _masked(self._value_mask, mask)
            return kept
        if self._value_blocks is not None and self._value_mask is None:
            kept = Values.later(self._value_blocks, 0)
            kept._value_mask = mask
            blob_size = sum(map(_blob_length, self._value_blocks))
            n_kept = int(np.count_nonzero(mask))
            # As joined, then cut: two arrays of the kept offsets.
            kept._value_nbytes = blob_size + 2 * n_kept * _offset_size(blob_size)
            return kept
        return Values(self.blob, self.starts[mask], self.ends[mask])

    @property
    def nbytes(self) -> int:
        """The bytes the joined values take (the same before they are joined); for
        values not kept, those of where their blocks are."""
        return self._value_nbytes


def _masked(first: NDArray[np.bool_], then: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """The mask of keeping ``first``, then ``then`` of what is left."""
    out = first.copy()
    out[np.flatnonzero(first)[~then]] = False
    return out


def _blob_length(block: Any) -> int:
    if isinstance(block, DeflatedValues):
        return block.size
    return len(block.blob) if isinstance(block, PackedValues) else sum(map(len, block))


def _offset_size(blob_size: int) -> int:
    """Bytes per offset into a blob of ``blob_size`` bytes: 32 bits where they fit."""
    return 4 if blob_size < 2**32 else 8


class Postings(NamedTuple):
    """One term's postings in one segment: document numbers (ascending), weights
    (frequencies) and, for fields with positions, each posting's encoded positions."""

    ids: Ints
    weights: Floats
    values: Values | None = None
    #: The term's document frequency in the segment as Whoosh counts it (deleted
    #: documents included).
    df: int = 0

    @property
    def nbytes(self) -> int:
        extra = self.values.nbytes if self.values is not None else 0
        return self.ids.nbytes + self.weights.nbytes + extra


_EMPTY = Postings(_EMPTY_IDS, _EMPTY_WEIGHTS)


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
        self._items: OrderedDict[CacheKey, Postings] = OrderedDict()

    def get(self, key: CacheKey) -> Postings | None:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: CacheKey, value: Postings) -> None:
        cost = value.nbytes
        if cost > self.budget:
            return
        self._items[key] = value
        self.size += cost
        while self.size > self.budget:
            _, dropped = self._items.popitem(last=False)
            self.size -= dropped.nbytes

    def replace(self, key: CacheKey, value: Postings) -> None:
        """Put ``value`` in place of what ``key`` holds (its cost counted anew)."""
        old = self._items.pop(key, None)
        if old is not None:
            self.size -= old.nbytes
        self.put(key, value)

    def clear(self) -> None:
        self._items.clear()
        self.size = 0


# The cache of the index that opened each reader (none: the reader's own arrays only).
_SHARED: WeakKeyDictionary[IndexReader, PostingsCache] = WeakKeyDictionary()


def share_cache(reader: IndexReader, cache: PostingsCache) -> None:
    """Let the arrays of ``reader``'s segments use ``cache`` (an open index's)."""
    for leaf, _ in reader.leaf_readers():
        _SHARED[leaf] = cache


class SegmentArrays:
    """Array views of one segment reader, each read at most once (cached)."""

    def __init__(self, reader: IndexReader) -> None:
        self.reader = reader
        self.size: int = reader.doc_count_all()
        self._lengths = _LENGTHS.setdefault(reader, {})
        self._postings: dict[tuple[str, str], Postings] = {}
        self._derived: dict[CacheKey, Postings] = {}
        self._deleted: NDArray[np.bool_] | None = None
        self._has_deletions = reader.has_deletions()
        self._state: tuple[str, int] | None = None
        self._cache = _SHARED.get(reader)
        self._terms: W3TermsReader | None = None
        if isinstance(reader, SegmentReader):
            segment = reader.segment()
            self._state = (segment.segment_id(), segment.deleted_count())
            if isinstance(reader._terms, W3TermsReader):
                self._terms = reader._terms

    def field_lengths(self, field: str) -> FieldLengths:
        """Every document's length in ``field`` (0 where it has none), as stored; read
        once per reader, as a segment's lengths never change."""
        found = self._lengths.get(field)
        if found is None:
            found = self._lengths[field] = self._read_lengths(field)
        return found

    def length_total(self, field: str) -> float:
        """:meth:`FieldLengths.total` of ``field``, computed once per reader: averaging
        a field's length would otherwise go over every document of every segment for
        each query."""
        totals = _TOTALS.setdefault(self.reader, {})
        found = totals.get(field)
        if found is None:
            found = totals[field] = self.field_lengths(field).total()
        return found

    def lengths_at(self, field: str, docs: Ints) -> Floats:
        """The lengths of ``docs`` in ``field``."""
        return self.field_lengths(field).at(docs)

    def lengths(self, field: str) -> Floats:
        """Every document's length in ``field``, decoded: an array of floats as long as
        the segment, made on each call (scoring decodes only :meth:`lengths_at`)."""
        return self.field_lengths(field).every()

    def _read_lengths(self, field: str) -> FieldLengths:
        column = _lengths_column(self.reader, field)
        if column is None:
            values = [self.reader.doc_field_length(d, field, 0) or 0 for d in range(self.size)]
            return FieldLengths(None, np.array(values, dtype=np.float64))
        raw = column._dbfile.get(column._basepos, column._count)
        name = getattr(column._dbfile, "_name", None)
        if isinstance(name, str) and column._basepos == 0:
            verify_part(name, raw)  # a flipped length would change scores silently
        codes = np.zeros(self.size, dtype=np.uint8)
        stored = np.frombuffer(raw, dtype=np.uint8)[: self.size]
        codes[: len(stored)] = stored
        return FieldLengths(codes)

    def postings(self, field: str, text: str, *, positions: bool = False) -> tuple[Ints, Floats]:
        """Document numbers (ascending) containing ``text`` in ``field``, and the term's
        weight (frequency) in each; deleted documents left out. ``positions``: the
        caller will ask for the positions of most of them (a phrase), so they are kept
        however long the list (read with the rest, never read again)."""
        found = self._entry(field, text, keep=positions)
        return found.ids, found.weights

    def _entry(self, field: str, text: str, *, keep: bool = False) -> Postings:
        key = (field, text)
        found = self._postings.get(key)
        if found is None:
            cache = self._cache
            shared = self._shared_key(field, text)
            found = cache.get(shared) if cache is not None and shared is not None else None
            if found is None:
                found = self._read_postings(field, text, keep)
                if cache is not None and shared is not None:
                    cache.put(shared, found)
            self._postings[key] = found
        if keep and found.values is not None and found.values.rereads:
            found = self._keep_values(field, text, found)
        return found

    def derived(
        self, key: CacheKey, compute: Callable[[], tuple[Ints, Floats]]
    ) -> tuple[Ints, Floats]:
        """``compute()``: documents (ascending) and a value for each, derived from this
        segment's postings alone (a phrase's frequencies, ``key`` naming it), computed
        once per segment state: kept here and in the index's cache, so that the same
        phrase in another node of the query, in the query that counts the records,
        or in the next search is not matched again. The arrays are read-only."""
        found = self._derived.get(key)
        if found is None:
            cache = self._cache
            shared = self._shared_key(*key)
            found = cache.get(shared) if cache is not None and shared is not None else None
            if found is None:
                ids, values = compute()
                ids.flags.writeable = False
                values.flags.writeable = False
                found = Postings(ids, values)
                if cache is not None and shared is not None:
                    cache.put(shared, found)
            self._derived[key] = found
        return found.ids, found.weights

    def _shared_key(self, *key: Any) -> CacheKey | None:
        """``key`` (a term's field and text, or what :meth:`derived` computes) in the
        index's cache: after the segment's state; None without a cache."""
        if self._state is None or self._cache is None:
            return None
        return (*self._state, *key)

    def _keep_values(self, field: str, text: str, entry: Postings) -> Postings:
        """``entry`` with its values read again whole and kept, here and in the cache."""
        assert entry.values is not None
        kept = entry._replace(values=entry.values.whole(self._reread))
        self._postings[(field, text)] = kept
        shared = self._shared_key(field, text)
        if self._cache is not None and shared is not None:
            self._cache.replace(shared, kept)
        return kept

    def _read_postings(self, field: str, text: str, keep: bool = False) -> Postings:
        if BY_EXTENT:
            extent = self._extent(field, text)
            if extent is not None:
                postfile, start, length = extent
                if postfile is None:
                    return _EMPTY
                keep_values = self.reader.schema[field].format.fixed_value_size() is None
                spans: list[tuple[int, int]] | None = None
                if keep_values and not keep and length > KEEP_VALUES_MAX_BYTES:
                    keep_values, spans = False, []
                # A long list is read by ``os.pread`` (MappedFile.get): its blocks
                # never enter the map, so there are no pages to give back.
                blocks = blockread.read_term(postfile, start, length, False, keep_values, spans)
                return self._from_blocks(*blocks, keep_values, spans)
        matcher = self._matcher(field, text)
        if matcher is None:
            return _EMPTY
        values: Values | None = None
        if isinstance(matcher, W3LeafMatcher):
            keep_values = matcher.format.fixed_value_size() is None
            id_blocks, weight_blocks, value_blocks = _read_blocks(matcher, keep_values)
            _release(matcher._postfile, matcher._nextoffset - matcher._startoffset)
            if not id_blocks:
                return _EMPTY
            return self._from_blocks(
                np.concatenate(id_blocks),
                np.concatenate(weight_blocks),
                value_blocks,
                [len(block) for block in id_blocks],
                keep_values,
            )
        else:
            df = self.reader.doc_frequency(field, text)
            pairs = list(matcher.items_as("weight"))
            ids = np.array([d for d, _ in pairs], dtype=np.int64)
            weights = np.array([w for _, w in pairs], dtype=np.float64)
        if self._has_deletions and len(ids):
            live = ~self.deleted()[ids]
            if values is not None:
                values = values.keep(live)
            ids, weights = ids[live], weights[live]
        return Postings(ids, weights, values, df)

    def _from_blocks(
        self,
        ids: Ints,
        weights: Floats,
        value_blocks: list[Any],
        counts: list[int],
        keep_values: bool,
        spans: list[tuple[int, int]] | None = None,
    ) -> Postings:
        """A term's postings from its blocks' numbers and weights (joined) and values,
        ``counts`` postings a block, deleted documents left out. The blocks' positions
        came with their ids (one pickle): kept (undecoded) for phrases and proximity
        instead of reading them again, unless the blocks' places in the file
        (``spans``) are given instead."""
        if not len(ids):
            return _EMPTY
        df = len(ids)  # as the term info counts: before deletions
        values: Values | None = None
        if spans is not None:
            values = Values.reread(spans, counts)
        elif keep_values:
            values = Values.later(value_blocks, df)
        if self._has_deletions:
            keep = ~self.deleted()[ids]
            if values is not None:
                values = values.keep(keep)
            ids, weights = ids[keep], weights[keep]
        return Postings(ids, weights, values, df)

    def _extent(self, field: str, text: str) -> tuple[Any, int, int] | None:
        """Where the term's posting list is in a ``whoosh3`` segment's postings file
        (the file, offset, length), read from its term info without making Whoosh's
        matcher (which reads the first block's header); no file when the segment does
        not hold the term; None when only a matcher reads it (another codec, postings
        inlined in the term info)."""
        terms = self._terms
        if terms is None:
            return None
        schema = self.reader.schema
        if field not in schema:
            return None, 0, 0
        try:
            info = terms.term_info(field, schema[field].to_bytes(text))
        except TermNotFound:
            return None, 0, 0
        if info.is_inlined():
            return None
        start, length = info.extent()
        if isinstance(length, tuple):  # W3TermInfo.from_bytes leaves it unpacked
            (length,) = length
        return terms._postfile, start, length

    def _select(
        self, field: str, text: str, values: Values, chosen: sets.Positions
    ) -> tuple[bytes, Offsets, Offsets]:
        """:meth:`Values.select`; values not kept, needed from most of their blocks,
        are read whole once and kept from then on (as a phrase's are)."""
        if values.rereads_most(chosen):
            kept = self._keep_values(field, text, self._entry(field, text)).values
            assert kept is not None
            values = kept
        return values.select(chosen, self._reread)

    def _reread(self, spans: list[tuple[int, int]]) -> list[Any]:
        """The values of the blocks at ``spans`` of this segment's postings file."""
        assert self._terms is not None  # values are only not kept when read by extent
        return blockread.read_values(self._terms._postfile, spans)

    def doc_frequency(self, field: str, text: str) -> int:
        """What Whoosh's ``doc_frequency`` gives for the segment: from the postings when
        they were read, else from the term's information (a phrase's words are
        ordered by it before their postings are read, with their positions)."""
        found = self._postings.get((field, text))
        if found is None and self._cache is not None:
            shared = self._shared_key(field, text)
            found = self._cache.get(shared) if shared is not None else None
        if found is not None:
            return found.df
        return int(self.reader.doc_frequency(field, text))

    def positions(self, field: str, text: str, docs: Ints) -> dict[int, list[int]]:
        """The positions of ``text`` in ``field`` for those of ``docs`` (ascending
        document numbers) that contain it; decoded for those documents only."""
        if not len(docs):
            return {}
        entry = self._entry(field, text)
        if entry.values is None:
            return self._positions_from_matcher(field, text, docs)
        found, decoded = self._decode(field, text, entry, docs)
        return dict(zip(found.tolist(), decoded, strict=True))

    def position_keys(self, field: str, text: str, docs: Ints) -> Ints:
        """Every position of ``text`` in ``field`` in those of ``docs`` (ascending) that
        contain it, as ``docnum << 32 | position``: sorted, one array."""
        if not len(docs):
            return _EMPTY_IDS
        entry = self._entry(field, text)
        if entry.values is None:
            by_doc = self._positions_from_matcher(field, text, docs)
            found = np.array(list(by_doc), dtype=np.int64)
            counts, positions = flat(list(by_doc.values()))
        elif not len(entry.ids):
            return _EMPTY_IDS
        else:
            ids, values = entry.ids, entry.values
            hit, chosen = sets.found_at(ids, docs)
            found = docs[hit]
            fmt = self.reader.schema[field].format
            blob, starts, ends = self._select(field, text, values, chosen)
            if type(fmt) is Positions and len(chosen) >= ARRAY_DECODE_MIN:
                counts, positions = position_arrays(fmt, blob, starts, ends)
            else:
                counts, positions = flat(
                    decode_positions(fmt, blob, starts.tolist(), ends.tolist())
                )
        return (np.repeat(found, counts) << 32) | positions

    def _decode(
        self, field: str, text: str, entry: Postings, docs: Ints
    ) -> tuple[Ints, list[list[int]]]:
        """Those of ``docs`` in ``entry`` and their decoded positions."""
        ids, values = entry.ids, entry.values
        assert values is not None
        if not len(ids):
            return _EMPTY_IDS, []
        hit, chosen = sets.found_at(ids, docs)
        fmt = self.reader.schema[field].format
        blob, starts, ends = self._select(field, text, values, chosen)
        return docs[hit], decode_positions(fmt, blob, starts.tolist(), ends.tolist())

    def _positions_from_matcher(self, field: str, text: str, docs: Ints) -> dict[int, list[int]]:
        """Positions through Whoosh's matcher (readers of other codecs)."""
        out: dict[int, list[int]] = {}
        matcher = self._matcher(field, text)
        if matcher is None:
            return out
        wanted = set(docs.tolist())
        for d, value in matcher.items_as("positions"):
            if d in wanted:
                out[d] = value
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
            # The filter has moved its child past the deleted documents at the start
            # (past whole blocks, or to the end when all are deleted): back to the
            # first posting, as document frequencies count them all.
            matcher = matcher.child
            matcher.reset()
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


def _read_blocks(
    matcher: W3LeafMatcher, keep_values: bool
) -> tuple[list[Ints], list[Floats], list[Any]]:
    """:func:`searchkit.engine.blockread.read_term` through the matcher, block by block."""
    value_blocks: list[Any] = []
    id_blocks: list[Ints] = []
    weight_blocks: list[Floats] = []
    for m in _blocks(matcher):
        id_blocks.append(_block_ids(m))
        weight_blocks.append(_block_weights(m))
        if keep_values:
            value_blocks.append(m._data[2])
    return id_blocks, weight_blocks, value_blocks


def _release(postfile: Any, length: int) -> None:
    """Give back the mapped pages of the segment once a long posting list (``length``
    bytes, at least :data:`~searchkit.engine.mapped.RELEASE_MIN`) read through Whoosh's
    matcher is in arrays: the matcher reads its blocks (megabytes for a common word of a
    large index) through the map."""
    if isinstance(postfile, MappedFile) and length >= RELEASE_MIN:
        postfile.release_all()


def release_pages(reader: IndexReader) -> None:
    """Give back every mapped page of ``reader``'s segments (each segment's compound
    file, one map): what reading many stored records left resident (the kernel maps
    up to 64 KB around each page read, so an export of tens of thousands of records
    would hold most of the stored-records column). Reading them again maps them again
    from the page cache."""
    for leaf, _ in reader.leaf_readers():
        terms = getattr(leaf, "_terms", None)
        postfile = getattr(terms, "_postfile", None)
        if isinstance(postfile, MappedFile):
            postfile.release_all()


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
    if m._byteids:
        return np.asarray(m._data[0], dtype=np.int64)
    return block_numbers(m._data[0], m._data[1])  # ids are delta-coded per block


def _block_weights(m: W3LeafMatcher) -> Floats:
    """The block's weights; Whoosh stores ``None`` when all are 1 and one float when
    all are the same."""
    if m._data is None:
        m._read_data()
    weights = m._data[1]
    if weights is None:
        return np.ones(m._blocklength, dtype=np.float64)
    if isinstance(weights, float):
        return np.full(m._blocklength, weights, dtype=np.float64)
    return np.asarray(weights, dtype=np.float64)


def doc_frequency(searcher: Searcher, field: str, text: str) -> int:
    """The number of documents of every segment holding ``text`` in ``field``, as
    Whoosh's ``doc_frequency`` counts them, from the (cached) postings: the search
    reads them anyway, and Whoosh's lookup costs a term-index search per segment."""
    return sum(
        SegmentArrays(sub.reader()).doc_frequency(field, text)
        for sub, _ in searcher.leaf_searchers()
    )


class DocGroup:
    """Some top-level document numbers, grouped by the segment holding them once, for
    looking up many terms in them (which contain a term, and where)."""

    def __init__(self, searcher: Searcher, docnums: list[int]) -> None:
        self._groups = _by_segment(searcher, docnums)

    def containing(self, field: str, text: str) -> set[int]:
        """Those of the documents that contain ``text`` in ``field``."""
        found: set[int] = set()
        for arrays, offset, local in self._groups:
            ids, _ = arrays.postings(field, text)
            if not len(ids):
                continue
            found.update((local[sets.contains(ids, local)] + offset).tolist())
        return found

    def positions(self, field: str, text: str) -> dict[int, list[int]]:
        """The positions of ``text`` in ``field`` for those of the documents that
        contain it."""
        out: dict[int, list[int]] = {}
        for arrays, offset, local in self._groups:
            for d, positions in arrays.positions(field, text, local).items():
                out[d + offset] = positions
        return out

    def position_keys(self, field: str, text: str) -> Ints:
        """:meth:`SegmentArrays.position_keys` of the documents, with top-level numbers."""
        return _group_keys(self._groups, field, text)

    def phrase_starts(self, field: str, words: list[str], slop: int) -> Ints:
        """:func:`phrase_starts` of ``words`` in these documents (top-level keys), each
        word's positions decoded only in the documents holding every word where the
        words before it were found in order."""
        held: list[tuple[SegmentArrays, int, Ints]] = []
        for arrays, offset, local in self._groups:
            for w in dict.fromkeys(words):
                local = local[sets.contains(arrays.postings(field, w)[0], local)]
            if len(local):
                held.append((arrays, offset, local))

        def keys(i: int, alive: Ints | None) -> Ints:
            groups = held
            if alive is not None:
                groups = [
                    (arrays, offset, local[sets.contains(alive, local + offset)])
                    for arrays, offset, local in held
                ]
            return _group_keys(groups, field, words[i])

        return narrowing_phrase_starts(len(words), keys, slop)


def _group_keys(groups: list[tuple[SegmentArrays, int, Ints]], field: str, text: str) -> Ints:
    """The positions of ``text`` in ``field`` in the documents of ``groups`` (as
    :class:`DocGroup` holds them), as top-level ``docnum << 32 | position`` keys."""
    keys = [
        arrays.position_keys(field, text, local) + (offset << 32)
        for arrays, offset, local in groups
        if len(local)
    ]
    return np.concatenate(keys) if keys else _EMPTY_IDS


def phrase_starts(keys: list[Ints], slop: int) -> Ints:
    """Where the words occur in order, each within ``slop`` positions of the one before
    (the nearest such): the first word's positions, as sorted ``docnum << 32 |
    position``. ``keys``: each word's positions in that form
    (:meth:`SegmentArrays.position_keys`)."""
    return narrowing_phrase_starts(len(keys), lambda i, _docs: keys[i], slop)


def narrowing_phrase_starts(
    n_words: int, keys: Callable[[int, Ints | None], Ints], slop: int
) -> Ints:
    """:func:`phrase_starts` of ``n_words`` words whose positions ``keys(i, docs)``
    gives for word ``i``: in at least the documents ``docs`` (ascending), those where
    the words before it were found in order (all of them for the first word: ``docs``
    is None). A common word's positions are then decoded only in the documents
    where the phrase can still occur, not in every document holding all its words."""
    if not n_words:
        return _EMPTY_IDS
    starts = keys(0, None)
    current = starts
    for i in range(1, n_words):
        if not len(current):
            return starts[:0]
        following = keys(i, sets.distinct(current >> 32))
        if not len(following):
            return starts[:0]
        found = np.zeros(len(current), dtype=np.bool_)
        nearest = current.copy()
        for k in range(1, slop + 1):
            wanted = current + k
            at = np.minimum(np.searchsorted(following, wanted), len(following) - 1)
            hit = ~found & (following[at] == wanted)
            nearest[hit] = wanted[hit]
            found |= hit
        current, starts = nearest[found], starts[found]
    return starts


def _by_segment(searcher: Searcher, docnums: list[int]) -> list[tuple[SegmentArrays, int, Ints]]:
    """``docnums`` (top-level) grouped by the segment holding them: (its arrays, its
    offset, the segment-local numbers, ascending)."""
    leaves = searcher.leaf_searchers()
    offsets = [offset for _, offset in leaves]
    grouped: dict[int, list[int]] = {}
    for docnum in sorted(set(docnums)):
        grouped.setdefault(bisect.bisect_right(offsets, docnum) - 1, []).append(docnum)
    return [
        (
            SegmentArrays(leaves[i][0].reader()),
            offsets[i],
            np.array(ds, dtype=np.int64) - offsets[i],
        )
        for i, ds in grouped.items()
    ]
