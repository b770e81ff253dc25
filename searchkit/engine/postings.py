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

from collections.abc import Callable, Iterator
from typing import Any
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
from searchkit.engine.codec import block_numbers
from searchkit.engine.compact_positions import CompactPositions, compact_arrays
from searchkit.engine.mapped import RELEASE_MIN, MappedFile
from searchkit.engine.position_values import decode_positions, flat, position_arrays
from searchkit.engine.postings_cache import EMPTY as _EMPTY
from searchkit.engine.postings_cache import CacheKey, Postings, cache_of, derived_entry
from searchkit.engine.values import Offsets, Values

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]

_EMPTY_WEIGHTS: Floats = np.zeros(0, dtype=np.float64)
# Whoosh stores a field length as one byte (a lossy log scale); this decodes them all.
_LENGTH_INTS: list[int] = [int(byte_to_length(i)) for i in range(256)]
_LENGTH_OF_BYTE: Floats = np.array(_LENGTH_INTS, dtype=np.float64)


# Lengths by reader: a searcher kept open between queries reads them once.
_LENGTHS: WeakKeyDictionary[IndexReader, dict[str, FieldLengths]] = WeakKeyDictionary()
# Each field's total length by reader (the sum of its lengths, as a float).
_TOTALS: WeakKeyDictionary[IndexReader, dict[str, float]] = WeakKeyDictionary()
# The same of the documents not deleted (a reader's deletions never change).
_LIVE_TOTALS: WeakKeyDictionary[IndexReader, dict[str, float]] = WeakKeyDictionary()

#: A posting list longer than this (bytes in the postings file) keeps no positions
#: once read: the blocks of the documents asked for are read again (``Values.reread``).
#: A common word's positions, kept, were the largest part of a search's memory on a
#: 1,000,000-record index (27 MB of its 205 MB peak for "cancer stem cells"), for
#: the few documents the proximity bonus and the second stage look at.
KEEP_VALUES_MAX_BYTES = 256 * 1024
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

    @property
    def codes(self) -> NDArray[np.uint8] | None:
        """The stored byte of each document (None: the lengths were given as floats)."""
        return self._codes

    def every(self) -> Floats:
        """Every document's length (an array as long as the segment)."""
        if self._codes is None:
            assert self._floats is not None
            return self._floats
        return _LENGTH_OF_BYTE[self._codes]

    def held(self) -> NDArray[np.bool_]:
        """Which documents have a length above zero (only code 0 decodes to 0)."""
        if self._codes is None:
            assert self._floats is not None
            return self._floats > 0
        return self._codes != 0

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


class SegmentArrays:
    """Array views of one segment reader, each read at most once (cached)."""

    def __init__(self, reader: IndexReader) -> None:
        self.reader = reader
        self.size: int = reader.doc_count_all()
        self._lengths = _LENGTHS.setdefault(reader, {})
        self._postings: dict[tuple[str, str], Postings] = {}
        self._derived: dict[CacheKey, Postings] = {}
        self._extents: dict[tuple[str, str], tuple[Any, int, int, int] | None] = {}
        self._deleted: NDArray[np.bool_] | None = None
        self._has_deletions = reader.has_deletions()
        self._state: tuple[str, int] | None = None
        self._cache = cache_of(reader)
        self._terms: W3TermsReader | None = None
        if isinstance(reader, SegmentReader):
            segment = reader.segment()
            self._state = (segment.segment_id(), segment.deleted_count())
            if isinstance(reader._terms, W3TermsReader):
                self._terms = reader._terms

    @property
    def state(self) -> tuple[str, int] | None:
        """The segment's identity and deletion count, which together name what its
        postings hold (the postings cache's key); None for a reader of another kind."""
        return self._state

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

    def live_length_total(self, field: str) -> float:
        """:meth:`length_total` of the documents not deleted (once per reader): the
        deleted copies of replaced records are not in the index's mean length."""
        totals = _LIVE_TOTALS.setdefault(self.reader, {})
        found = totals.get(field)
        if found is None:
            found = self.length_total(field)
            if self._has_deletions:
                gone = np.flatnonzero(self.deleted())
                found -= float(self.field_lengths(field).at(gone).sum())
            totals[field] = found
        return found

    def lengths_at(self, field: str, docs: Ints) -> Floats:
        """The lengths of ``docs`` in ``field``."""
        return self.field_lengths(field).at(docs)

    def lengths(self, field: str) -> Floats:
        """Every document's length in ``field``, decoded: an array of floats as long as
        the segment, made on each call (scoring decodes only :meth:`lengths_at`)."""
        return self.field_lengths(field).every()

    def held(self, field: str) -> NDArray[np.bool_]:
        """Which documents have anything in ``field`` (deleted ones included)."""
        return self.field_lengths(field).held()

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
        found = self.entry(field, text, keep=positions)
        if found.base is not None:  # views of joined lists
            return found.ids - found.base, found.weights
        return found.ids, found.weights

    def entry(self, field: str, text: str, *, keep: bool = False) -> Postings:
        """The term's entry (:class:`Postings`), read once; ``keep``: as
        :meth:`postings` ``positions``."""
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
            shared = self._shared_key(*key)
            found = self._derived[key] = derived_entry(self._cache, shared, compute)
        return found.ids, found.weights

    def _shared_key(self, *key: Any) -> CacheKey | None:
        """``key`` (a term's field and text, or what :meth:`derived` computes) in the
        index's cache: after the segment's state; None without a cache."""
        if self._state is None or self._cache is None:
            return None
        return (*self._state, *key)

    def _keep_values(self, field: str, text: str, entry: Postings) -> Postings:
        """``entry`` with its values read again whole and kept, here and in the cache
        (a joined list's entry: by the joined list's, :class:`JoinedArrays`)."""
        assert entry.values is not None
        kept = entry._replace(values=entry.values.whole(self._reread))
        self._postings[(field, text)] = kept
        shared = self._shared_key(field, text)
        if self._cache is not None and shared is not None and kept.base is None:
            self._cache.replace(shared, kept)
        return kept

    def entry_of(self, field: str, text: str) -> Postings | None:
        """The term's entry if this segment's arrays or the index's cache hold it
        (nothing read)."""
        key = (field, text)
        found = self._postings.get(key)
        if found is None and self._cache is not None:
            shared = self._shared_key(field, text)
            found = self._cache.get(shared) if shared is not None else None
            if found is not None:
                self._postings[key] = found
        return found

    def adopt(self, field: str, text: str, entry: Postings) -> None:
        """Hold ``entry`` as the term's (one a joined list kept)."""
        self._postings[(field, text)] = entry

    def extent_of(self, field: str, text: str) -> tuple[Any, int, int, int] | None:
        """Where the term's posting list is (:meth:`_extent`) and how many postings
        it holds, looked up once (a phrase's words are counted, then read); None
        when only :meth:`postings` reads it."""
        if not BY_EXTENT:
            return None
        key = (field, text)
        if key in self._extents:
            return self._extents[key]
        found = self._extents[key] = self._extent(field, text)
        return found

    def read_into(
        self,
        field: str,
        text: str,
        extent: tuple[Any, int, int, int],
        into: tuple[Ints, Floats, int],
        keep: bool = False,
    ) -> Postings:
        """The term's postings (at ``extent``, :meth:`extent_of`) decoded into
        ``into`` (ids and weights as long as the list, a base added to every
        document number: :func:`~searchkit.engine.blockread.read_term`), deleted
        documents moved out of the front: an entry of views of those arrays
        (``base`` set), held here (its joined lists keep it between searches)."""
        postfile, start, length, _ = extent
        ids, weights, base = into
        keep_values, spans = self._value_plan(field, length, keep)
        _, _, blocks, counts = blockread.read_term(
            postfile, start, length, False, keep_values, spans, into
        )
        df = len(ids)
        values: Values | None = None
        if spans is not None:
            values = Values.reread(spans, counts)
        elif keep_values:
            values = Values.later(blocks, df)
        n = df
        if self._has_deletions:
            live = ~self.deleted()[ids - base]
            n = int(np.count_nonzero(live))
            if n < df:
                ids[:n] = ids[live]
                weights[:n] = weights[live]
                if values is not None:
                    values = values.keep(live)
        found = Postings(ids[:n], weights[:n], values, df, base)
        self._postings[(field, text)] = found
        return found

    def _read_postings(self, field: str, text: str, keep: bool = False) -> Postings:
        if BY_EXTENT:
            extent = self.extent_of(field, text)
            if extent is not None:
                postfile, start, length, _ = extent
                if postfile is None:
                    return _EMPTY
                keep_values, spans = self._value_plan(field, length, keep)
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

    def _value_plan(
        self, field: str, length: int, keep: bool
    ) -> tuple[bool, list[tuple[int, int]] | None]:
        """Whether a posting list of ``length`` bytes of ``field`` keeps its values
        (positions) once read, and, when it has values but keeps none (a long list
        not read for a phrase, ``keep``), a list for its blocks' places instead."""
        keep_values = self.reader.schema[field].format.fixed_value_size() is None
        if keep_values and not keep and length > KEEP_VALUES_MAX_BYTES:
            return False, []
        return keep_values, None

    def _extent(self, field: str, text: str) -> tuple[Any, int, int, int] | None:
        """Where the term's posting list is in a ``whoosh3`` segment's postings file
        (the file, offset, length) and its number of postings, read from its term info
        without making Whoosh's matcher (which reads the first block's header); no
        file when the segment does not hold the term; None when only a matcher reads
        it (another codec, postings inlined in the term info)."""
        terms = self._terms
        if terms is None:
            return None
        schema = self.reader.schema
        if field not in schema:
            return None, 0, 0, 0
        try:
            info = terms.term_info(field, schema[field].to_bytes(text))
        except TermNotFound:
            return None, 0, 0, 0
        if info.is_inlined():
            return None
        start, length = info.extent()
        if isinstance(length, tuple):  # W3TermInfo.from_bytes leaves it unpacked
            (length,) = length
        return terms._postfile, start, length, int(info.doc_frequency())

    def _select(
        self, field: str, text: str, values: Values, chosen: sets.Positions
    ) -> tuple[bytes, Offsets, Offsets]:
        """:meth:`Values.select`; values not kept, needed from most of their blocks,
        are read whole once and kept from then on (as a phrase's are)."""
        if values.rereads_most(chosen):
            kept = self._keep_values(field, text, self.entry(field, text)).values
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
        extent = self.extent_of(field, text)  # its term info, kept for the read
        if extent is not None:
            return extent[3]
        return int(self.reader.doc_frequency(field, text))

    def live_doc_frequency(self, field: str, text: str) -> int:
        """The number of live documents holding the term: its postings' (read, if
        not yet) when the segment has deletions, else :meth:`doc_frequency`."""
        if self._has_deletions or (field, text) in self._postings:
            return len(self.entry(field, text).ids)
        return self.doc_frequency(field, text)

    def positions(self, field: str, text: str, docs: Ints) -> dict[int, list[int]]:
        """The positions of ``text`` in ``field`` for those of ``docs`` (ascending
        document numbers) that contain it; decoded for those documents only."""
        if not len(docs):
            return {}
        entry = self.entry(field, text)
        if entry.values is None:
            return self._positions_from_matcher(field, text, docs)
        found, decoded = self._decode(field, text, entry, docs)
        return dict(zip(found.tolist(), decoded, strict=True))

    def position_keys(self, field: str, text: str, docs: Ints) -> Ints:
        """Every position of ``text`` in ``field`` in those of ``docs`` (ascending) that
        contain it, as ``docnum << 32 | position``: sorted, one array."""
        if not len(docs):
            return sets.NO_IDS
        entry = self.entry(field, text)
        if entry.values is None:
            by_doc = self._positions_from_matcher(field, text, docs)
            found = np.array(list(by_doc), dtype=np.int64)
            counts, positions = flat(list(by_doc.values()))
        elif not len(entry.ids):
            return sets.NO_IDS
        else:
            shifted = docs if entry.base is None else docs + entry.base
            hit, chosen = sets.found_at(entry.ids, shifted)
            found = docs[hit]
            counts, positions = self._positions_at(field, text, entry.values, chosen)
        return (np.repeat(found, counts) << 32) | positions

    def chosen_positions(
        self, field: str, text: str, chosen: sets.Positions
    ) -> tuple[Ints, Ints] | None:
        """The positions of the term's postings at ``chosen`` (ascending indexes into
        its live postings, as :meth:`postings` gives them): how many each holds, and
        all of them in one array, posting after posting; None when its postings were
        read through Whoosh's matcher (:meth:`position_keys` reads those)."""
        values = self.entry(field, text).values
        return None if values is None else self._positions_at(field, text, values, chosen)

    def _positions_at(
        self, field: str, text: str, values: Values, chosen: sets.Positions
    ) -> tuple[Ints, Ints]:
        """:meth:`chosen_positions` from the term's stored ``values``."""
        blob, starts, ends = self._select(field, text, values, chosen)
        return positions_of(self.reader.schema[field].format, blob, starts, ends)

    def _decode(
        self, field: str, text: str, entry: Postings, docs: Ints
    ) -> tuple[Ints, list[list[int]]]:
        """Those of ``docs`` in ``entry`` and their decoded positions."""
        ids, values = entry.ids, entry.values
        assert values is not None
        if not len(ids):
            return sets.NO_IDS, []
        hit, chosen = sets.found_at(ids, docs if entry.base is None else docs + entry.base)
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


def positions_of(fmt: Any, blob: bytes, starts: Offsets, ends: Offsets) -> tuple[Ints, Ints]:
    """The positions of the values ``blob[start:end]`` of a field of format ``fmt``:
    how many each holds, and all of them in one array, value after value."""
    if type(fmt) is CompactPositions:
        return compact_arrays(blob, starts, ends)
    if type(fmt) is Positions and len(starts) >= ARRAY_DECODE_MIN:
        return position_arrays(fmt, blob, starts, ends)
    return flat(decode_positions(fmt, blob, starts.tolist(), ends.tolist()))


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


def live_doc_frequency(searcher: Searcher, field: str, text: str) -> int:
    """The number of live documents of every segment holding ``text`` in ``field``
    (deleted copies of replaced records left out, unlike Whoosh's ``doc_frequency``):
    the (cached) postings of a segment with deletions counted, Whoosh's count of the
    others (:meth:`SegmentArrays.doc_frequency`: no posting read for it, as feedback
    weighs its hundreds of candidate words by it)."""
    return sum(
        SegmentArrays(sub.reader()).live_doc_frequency(field, text)
        for sub, _ in searcher.leaf_searchers()
    )
