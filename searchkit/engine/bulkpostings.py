"""Writing a segment's postings term by term instead of posting by posting.

Whoosh's writer puts every posting through its pool as a tuple (sorted, spilled to disk
and heap-merged one by one), then through ``W3PostingsWriter.add_posting`` (type checks
and statistics per posting). The fast path already has each document's postings grouped
by term, so :class:`TermStore` keeps them grouped by field and term (document numbers
and weights in arrays), spilling sorted runs of whole terms to disk when its budget is
used, and :func:`write_postings` writes each term's blocks (:mod:`searchkit.engine.codec`) in
one pass: the bytes :class:`~searchkit.engine.codec.PackedPostingsWriter` writes for the same
postings (tests compare the files), read by Whoosh's own reader.
"""

from __future__ import annotations

import heapq
import pickle
import random
import string
import struct
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from hashlib import md5
from itertools import groupby, pairwise
from operator import itemgetter, sub
from typing import Any

import numpy as np
from numpy.typing import NDArray
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC, W3TermInfo
from whoosh.filedb.filetables import md5_hash
from whoosh.system import pack_int, pack_ushort
from whoosh.util.numeric import byte_to_length, length_to_byte

from searchkit.analysis.termizer import STOP
from searchkit.engine.blockzlib import deflate
from searchkit.engine.codec import (
    BLOCK_PROTOCOL,
    PACK_MIN,
    ZLIB_MIN,
    PackedPostingsWriter,
    PackedValues,
    block_data,
    block_head,
)

#: One term's postings: (field name, term, document numbers, weights, values).
TermGroup = tuple[str, bytes, Sequence[int], Sequence[float], Sequence[bytes]]
#: A term group of the term store: document numbers and weights in arrays.
StoredGroup = tuple[str, bytes, "array[int]", "array[float]", list[bytes]]
#: A posting as Whoosh's pool holds it: (field name, term, docnum, weight, value).
PoolPosting = tuple[str, bytes, int, float, bytes | None]

# Memory accounting: a token takes 8 bytes in the store's arrays, and about as much
# again in the arrays that group the tokens into postings at the end (when the store
# is read or spilled); a document's entry 32 bytes. The terms are the analysis' (its
# caches are bounded on their own).
_TOKEN_BYTES = 16
_CALL_BYTES = 32
_TERM_IDS_LIMIT = 500_000  # terms given ids by add_positions (then a new list)
_RUN_TERMS = 4_096  # terms per pickled chunk of a spilled run
# Values read back from a run are shared when no longer than one position below
# 65,535 in their field's format (Positions.encode: 4 bytes of count and a 9-10 byte
# pickle; CompactPositions: 2 bytes): few distinct ones, each repeated in many
# postings.
_SHARED_POSITION = 65_534
_SINGLE_LIMIT = 100_000  # positions whose one-position value is kept
#: ``encode([pos])`` by encoding, then position. A positions format's encoding depends
#: on nothing but the positions: one value serves every field of that format.
ONE_POSITION_VALUES: dict[Callable[[list[int]], bytes], dict[int, bytes]] = {}


def one_position_value(pos: int, encode: Callable[[list[int]], bytes]) -> bytes:
    """The encoded value of a term that occurs once, at ``pos`` (made once per
    position and encoding: most terms occur once in a field)."""
    values = ONE_POSITION_VALUES.get(encode)
    if values is None:
        values = ONE_POSITION_VALUES[encode] = {}
    value = values.get(pos)
    if value is None:
        value = encode([pos])
        if pos < _SINGLE_LIMIT:
            values[pos] = value
    return value


class _FieldTokens:
    """One field's terms as the analysis emitted them, document after document: per
    token its term's id and its position (flat arrays), per document (a call) where
    its tokens start, its number and its boosts; the ids are indexes into the
    analysis' list of terms (``vocabs``: from which token on which list, normally one).

    Adding a document is a few C-level ``extend`` calls instead of a dict look-up and
    three appends per posting; its tokens become postings (grouped by term and
    document, with numpy) when the store is read or spilled (:meth:`groups`)."""

    __slots__ = (
        "call_boosts", "call_docs", "call_fieldboosts", "call_starts",
        "encode", "ids", "places", "shared", "vocabs",
    )  # fmt: skip

    def __init__(self, encode: Callable[[list[int]], bytes], shared: bool) -> None:
        self.ids: array[int] = array("i")  # per token: its term's id (STOP: none)
        self.places: array[int] = array("i")  # per token: its position
        self.vocabs: list[tuple[int, list[bytes]]] = []
        self.call_starts: array[int] = array("q")
        self.call_docs: array[int] = array("q")
        self.call_boosts: array[float] = array("d")
        self.call_fieldboosts: array[float] = array("d")
        self.encode = encode
        # Whether a posting of one position takes that position's shared value
        # (ONE_POSITION_VALUES: the Positions format's, one object per position) or
        # one of its own (as Whoosh's pool gives every posting).
        self.shared = shared

    def add(
        self,
        docnum: int,
        ids: list[int],
        places: list[int] | None,
        vocab: list[bytes],
        boost: float,
        fieldboost: float,
    ) -> None:
        """Add one document's tokens."""
        start = len(self.ids)
        if not self.vocabs or self.vocabs[-1][1] is not vocab:
            self.vocabs.append((start, vocab))
        self.call_starts.append(start)
        self.call_docs.append(docnum)
        self.call_boosts.append(boost)
        self.call_fieldboosts.append(fieldboost)
        self.ids.extend(ids)
        self.places.extend(range(len(ids)) if places is None else places)

    def groups(self, fieldname: str) -> Iterator[StoredGroup]:
        """Every term's postings in term order, documents in the order added."""
        if not self.ids:
            return
        terms, bounds, docs, weights, values = self._postings()
        for term, a, b in zip(terms, bounds, bounds[1:], strict=False):
            yield fieldname, term, docs[a:b], weights[a:b], values[a:b]

    def _term_ids(self) -> tuple[Any, list[bytes]]:
        """Every token's term id (STOP: none) in one list of terms, and that list."""
        if len(self.vocabs) == 1:
            return np.frombuffer(self.ids, dtype=np.int32), self.vocabs[0][1]
        ids = np.frombuffer(self.ids, dtype=np.int32).copy()
        # The analysis started a new list of terms during the batch (its caches
        # restarted): each list's ids are mapped to those of one list.
        terms: list[bytes] = []
        known: dict[bytes, int] = {}
        ends = [start for start, _ in self.vocabs[1:]] + [len(ids)]
        for (start, vocab), end in zip(self.vocabs, ends, strict=True):
            part = ids[start:end]
            mapping = np.full(len(vocab) + 1, STOP, dtype=np.int32)  # [-1]: STOP
            for old in np.unique(part[part != STOP]).tolist():
                term = vocab[old]
                new = known.get(term)
                if new is None:
                    new = known[term] = len(terms)
                    terms.append(term)
                mapping[old] = new
            ids[start:end] = mapping[part]
        return ids, terms

    def _postings(
        self,
    ) -> tuple[list[bytes], list[int], array[int], array[float], list[bytes]]:
        """The postings of every term, as Whoosh's writer makes them from the same
        analysis: one per term and document, its frequency the term's tokens there, its
        weight ``frequency * boost * field boost``, its value the format's encoding of
        its positions (in the order emitted). Returns the terms in order, where each
        one's postings start (and the end), and the postings' document numbers,
        weights and values, by term then document."""
        ids, vocab = self._term_ids()
        present = np.zeros(len(vocab) + 1, dtype=bool)
        present[ids] = True  # (STOP sets the extra last one)
        by_term = sorted(np.flatnonzero(present[:-1]).tolist(), key=vocab.__getitem__)
        del present
        # Each token's term's place in term order; stop words after every term.
        rank = np.full(len(vocab) + 1, len(by_term), dtype=np.int32)  # [-1]: STOP
        rank[by_term] = np.arange(len(by_term), dtype=np.int32)
        ranks = rank[ids]
        del ids, rank
        # By term, then in the order emitted (a stable sort): documents in order, and
        # each document's positions of a term in the order the analysis emitted them.
        count = len(ranks) - int(np.count_nonzero(ranks == len(by_term)))
        order = _stable_order(ranks)[:count].astype(np.int32)
        ranks = ranks[order]
        call_starts = np.frombuffer(self.call_starts, dtype=np.int64)
        calls = (np.searchsorted(call_starts, order, side="right") - 1).astype(np.int32)
        places = np.frombuffer(self.places, dtype=np.int32)[order]
        del order
        # A posting starts where the term or the document changes.
        changes = np.empty(count, dtype=bool)
        changes[:1] = True
        np.not_equal(ranks[1:], ranks[:-1], out=changes[1:])
        changes[1:] |= calls[1:] != calls[:-1]
        starts = np.flatnonzero(changes).astype(np.int32)
        del changes
        freqs = np.diff(np.append(starts, np.int32(count))).astype(np.int64)
        posting_ranks = ranks[starts]
        posting_calls = calls[starts]
        del ranks, calls
        docs = np.frombuffer(self.call_docs, dtype=np.int64)[posting_calls]
        weights = freqs * np.frombuffer(self.call_boosts, dtype=np.float64)[posting_calls]
        weights *= np.frombuffer(self.call_fieldboosts, dtype=np.float64)[posting_calls]
        del posting_calls
        firsts = places[starts]
        values = np.empty(len(starts), dtype=object)
        if self.shared:
            shared = (freqs == 1) & (firsts < _SINGLE_LIMIT)
        else:
            shared = np.zeros(len(starts), dtype=bool)
        encode = self.encode
        if shared.any():
            table = np.empty(int(firsts[shared].max()) + 1, dtype=object)
            table[:] = [one_position_value(p, encode) for p in range(len(table))]
            values[shared] = table[firsts[shared]]
            del table
        own = np.flatnonzero(~shared)
        if len(own):
            # The positions of the postings with a value of their own, one after another.
            own_places = places[np.repeat(~shared, freqs)].tolist()
            own_ends = np.cumsum(freqs[own]).tolist()
            encoded = np.empty(len(own), dtype=object)
            encoded[:] = [
                encode(own_places[a:b]) for a, b in zip([0, *own_ends[:-1]], own_ends, strict=True)
            ]
            values[own] = encoded
            del own_places, encoded
        del places, firsts, shared, own, freqs
        term_starts = np.flatnonzero(
            np.concatenate(([True], posting_ranks[1:] != posting_ranks[:-1]))
        )
        bounds = [*term_starts.tolist(), len(starts)]
        assert len(bounds) == len(by_term) + 1
        # Arrays like those of a spilled run (_read_run), from numpy's bytes: sliced per
        # term without a Python object per number.
        doc_array: array[int] = array("I")
        doc_array.frombytes(memoryview(docs.astype(f"=u{doc_array.itemsize}")).cast("B"))
        del docs
        weight_array: array[float] = array("d")
        weight_array.frombytes(memoryview(weights.astype(np.float64, copy=False)).cast("B"))
        del weights
        terms = [vocab[i] for i in by_term]
        return terms, bounds, doc_array, weight_array, values.tolist()


def _stable_order(keys: Any) -> Any:
    """``np.argsort(keys, kind="stable")`` of non-negative int32 keys, as two stable
    sorts of 16-bit halves (numpy sorts 16-bit keys by radix; wider ones by merging,
    ~1.7x slower on a field's tokens)."""
    low = (keys & 0xFFFF).astype(np.uint16)
    order = np.argsort(low, kind="stable")
    high = (keys >> 16).astype(np.uint16)
    if high.any():
        order = order[np.argsort(high[order], kind="stable")]
    return order


class TermIds:
    """Term ids for :meth:`TermStore.add_tokens`, given by first sight: ``terms`` is
    the list of terms by id (a new list once ``limit`` terms are known)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._ids: dict[bytes | str, int] = {}
        self.terms: list[bytes] = []

    def tokens(
        self, positions: Mapping[bytes, list[int]] | Mapping[str, list[int]], once: bool = False
    ) -> tuple[list[int], list[int]]:
        """``{term: positions}`` as tokens, term by term: (ids, positions); a ``str``
        term is kept UTF-8 encoded. ``once``: one token per term, at its first position
        (a field that keeps no frequencies)."""
        if len(self.terms) > self._limit:
            self._ids = {}
            self.terms = []
        known = self._ids
        terms = self.terms
        ids: list[int] = []
        places: list[int] = []
        for term, plist in positions.items():
            found = known.get(term)
            if found is None:
                found = known[term] = len(terms)
                terms.append(term.encode("utf-8") if isinstance(term, str) else term)
            if once:
                ids.append(found)
                places.append(plist[0])
            else:
                ids += [found] * len(plist)
                places += plist
        return ids, places


class TermStore:
    """Postings grouped by field and term, in document order, up to ``limitmb`` in
    memory, then in sorted runs of whole terms in ``tempstore`` (Whoosh's temporary
    storage of the writer, removed with it)."""

    def __init__(self, tempstore: Any, limitmb: float) -> None:
        self._tempstore = tempstore
        self._limit = limitmb * 1024 * 1024
        self._size = 0
        self._fields: dict[str, _FieldTokens] = {}
        self.runs: list[str] = []
        self._shared: dict[bytes, bytes] = {}  # short values read back from runs
        #: Per field, the longest value read back from a run that is shared.
        self._shared_len: dict[str, int] = {}
        self._term_ids = TermIds(_TERM_IDS_LIMIT)  # for add_positions

    def add_tokens(
        self,
        fieldname: str,
        docnum: int,
        ids: list[int],
        places: list[int] | None,
        vocab: list[bytes],
        boost: float,
        fieldboost: float,
        encode: Callable[[list[int]], bytes],
        shared: bool = True,
    ) -> int:
        """Add one document's terms in a field as the analysis emits them: term ids in
        ``vocab`` (the analysis' list of terms, which may grow meanwhile but not
        change; ``STOP``: a stop word, no term), each at its position (``places``;
        ``None``: 0, 1, 2, ...). Its postings are those Whoosh makes of the same terms
        and positions, each weighing ``frequency * boost * fieldboost``, its value
        ``encode(positions)``. Returns the field's length (the number of terms). A
        field takes one ``encode`` (its format's). ``shared``: a value of one position
        is the object :func:`one_position_value` gives (``encode`` must be a positions
        format's); otherwise every posting's value is a new object, as in
        Whoosh's posting pool (pickled blocks of tuples refer back to a repeated
        object: the same values in other bytes)."""
        field = self._fields.get(fieldname)
        if field is None:
            field = self._fields[fieldname] = _FieldTokens(encode, shared)
            self._shared_len.setdefault(fieldname, len(encode([_SHARED_POSITION])))
        elif field.encode != encode or field.shared != shared:
            raise ValueError(f"field {fieldname!r} added with another encoding")
        field.add(docnum, ids, places, vocab, boost, fieldboost)
        self._size += _TOKEN_BYTES * len(ids) + _CALL_BYTES
        if self._size > self._limit:
            self._spill()
        return len(ids) - ids.count(STOP)

    def add_positions(
        self,
        fieldname: str,
        docnum: int,
        positions: dict[bytes, list[int]],
        boost: float,
        fieldboost: float,
        encode: Callable[[list[int]], bytes],
    ) -> int:
        """:meth:`add_tokens` of one document's terms given as ``{term: positions}``."""
        ids, places = self._term_ids.tokens(positions)
        vocab = self._term_ids.terms
        return self.add_tokens(fieldname, docnum, ids, places, vocab, boost, fieldboost, encode)

    def _sorted_memory(self) -> Iterator[StoredGroup]:
        for fieldname in sorted(self._fields):
            yield from self._fields[fieldname].groups(fieldname)

    def _spill(self) -> None:
        name = "".join(random.choices(string.ascii_lowercase + string.digits, k=24)) + ".trun"
        f = self._tempstore.create_file(name).raw_file()
        try:
            chunk: list[tuple[str, bytes, bytes, bytes, list[bytes]]] = []
            for fieldname, tbytes, docs, weights, values in self._sorted_memory():
                chunk.append((fieldname, tbytes, docs.tobytes(), weights.tobytes(), values))
                if len(chunk) == _RUN_TERMS:
                    pickle.dump(chunk, f, pickle.HIGHEST_PROTOCOL)
                    chunk = []
            if chunk:
                pickle.dump(chunk, f, pickle.HIGHEST_PROTOCOL)
        finally:
            f.close()
        self.runs.append(name)
        self._fields = {}
        self._size = 0

    def _read_run(self, name: str) -> Iterator[TermGroup]:
        shared = self._shared.setdefault
        f = self._tempstore.open_file(name).raw_file()
        try:
            while True:
                try:
                    chunk = pickle.load(f)
                except EOFError:
                    break
                for fn, t, docbytes, weightbytes, values in chunk:
                    # One object per short value again, as before the spill: pickle
                    # writes a repeated object once per block, then refers back to it.
                    limit = self._shared_len.get(fn, 0)
                    values = [shared(v, v) if len(v) <= limit else v for v in values]
                    docs: array[int] = array("I")
                    docs.frombytes(docbytes)
                    weights: array[float] = array("d")
                    weights.frombytes(weightbytes)
                    yield fn, t, docs, weights, values
        finally:
            f.close()
            self._tempstore.delete_file(name)

    def __iter__(self) -> Iterator[TermGroup]:
        """Every term's postings in (field, term) order, documents in order."""
        if not self.runs:
            yield from self._sorted_memory()
            return
        sources = [self._read_run(name) for name in self.runs]
        sources.append(self._sorted_memory())
        # The runs were spilled in document order, and merge() keeps equal keys in
        # the order of its sources, so concatenating keeps the documents in order.
        yield from _combine(heapq.merge(*sources, key=_key))


# The two lengths before each key and value in Whoosh's hash file (filetables._lengths).
_TERM_LENGTHS = struct.Struct("!ii")
#: ``W3TermInfo.to_bytes`` of a term whose postings are not inlined: its struct
#: (flags, weight, doc frequency, min and max length codes, max weight, first and last
#: id) followed by ``pack_long(offset)`` and ``pack_int(length)``, in one struct.
_TERM_INFO = struct.Struct("!BfIBBfIIqi")
_WRITE_CHUNK = 256 * 1024  # bytes of postings or terms written at once
#: ``length_to_byte(n)`` for the field lengths most documents have (a bisection each).
_LENGTH_CODES = [length_to_byte(n) for n in range(4_096)]
#: A term group's (field name, term): its sort key (C-level, called once per group).
_key = itemgetter(0, 1)


def merge_groups(*sources: Iterable[TermGroup]) -> Iterator[TermGroup]:
    """Term groups of several sorted sources in (field, term) order, a term's
    postings joined into one group."""
    return _combine(heapq.merge(*sources, key=_key))


def _combine(groups: Iterable[TermGroup]) -> Iterator[TermGroup]:
    """Groups of equal (field, term) joined into one, documents in order."""
    for (fieldname, tbytes), same in groupby(groups, key=_key):
        parts = list(same)
        if len(parts) == 1:
            yield parts[0]
            continue
        if all(a[2][-1] < b[2][0] for a, b in pairwise(parts)):
            docs: array[int] = array("I")
            weights: list[float] = []
            for _, _, d, w, _ in parts:
                docs.extend(d)
                weights.extend(w)
            if any(isinstance(p[4], PackedValues) for p in parts):
                # The values of merged segments' long lists: kept packed, not a bytes
                # object each.
                values: Sequence[bytes] = PackedValues.joined([p[4] for p in parts])
            else:
                values = [v for p in parts for v in p[4]]
            yield fieldname, tbytes, docs, weights, values
            continue
        rows = sorted(
            (d, w, v) for _, _, docs, weights, values in parts
            for d, w, v in zip(docs, weights, values, strict=True)
        )  # fmt: skip
        yield (
            fieldname,
            tbytes,
            [d for d, _, _ in rows],
            [w for _, w, _ in rows],
            [v for _, _, v in rows],
        )


def group_pool_postings(items: Iterable[PoolPosting]) -> Iterator[TermGroup]:
    """Whoosh's sorted pool postings as term groups (spelling entries, docnum -1,
    skipped as Whoosh's ``add_postings`` skips them)."""
    for (fieldname, tbytes), same in groupby(items, key=lambda p: (p[0], p[1])):
        docs: list[int] = []
        weights: list[float] = []
        values: list[bytes] = []
        for _, _, docnum, weight, value in same:
            if docnum == -1:
                continue
            docs.append(docnum)
            weights.append(weight)
            values.append(b"" if value is None else value)
        if docs:
            yield fieldname, tbytes, docs, weights, values


def write_postings(
    fieldwriter: Any, schema: Any, lengths: Any, groups: Iterable[TermGroup]
) -> None:
    """Write term groups in (field, term) order with Whoosh's field writer: what its
    ``add_postings`` writes for the same postings, a term at a time."""
    lastfield: str | None = None
    field_lengths: list[int] = []
    writer: _TermWriter | None = None
    for fieldname, tbytes, docs, weights, values in groups:
        if fieldname != lastfield:
            if lastfield is not None:
                assert writer is not None
                writer.flush()
                fieldwriter.finish_field()
            fieldobj = schema[fieldname]
            fieldwriter.start_field(fieldname, fieldobj)
            lastfield = fieldname
            field_lengths = _field_lengths(lengths, fieldname)
            writer = _TermWriter(fieldwriter, fieldobj.format)
        assert writer is not None
        writer.write(tbytes, docs, weights, values, field_lengths)
    if lastfield is not None:
        assert writer is not None
        writer.flush()
        fieldwriter.finish_field()


def _field_lengths(lengths: Any, fieldname: str) -> list[int]:
    if not lengths:
        return []
    found = column_lengths(lengths, fieldname)
    if found is not None:
        return found
    read = lengths.doc_field_length
    return [read(d, fieldname, 0) for d in range(lengths.doc_count_all())]


#: Whoosh's one-byte field length code -> the length it stands for.
_LENGTH_OF_CODE = [byte_to_length(code) for code in range(256)]


def column_lengths(perdoc: Any, fieldname: str) -> list[int] | None:
    """Every document's length in ``fieldname`` (0 where it has none) as
    ``perdoc.doc_field_length`` gives them (a per-document reader of Whoosh's codec),
    its lengths column read with one read instead of one call per document; ``None``
    when the column cannot be read so."""
    cached = getattr(perdoc, "_cached_reader", None)
    if cached is None:
        return None
    count = perdoc.doc_count_all()
    column = cached(f"_{fieldname}_len", LENGTHS_COLUMN)
    if column is None:
        return [0] * count
    if not all(hasattr(column, a) for a in ("_dbfile", "_basepos", "_count")):
        return None
    codes = bytes(column._dbfile.get(column._basepos, column._count))[:count]
    lengths = [_LENGTH_OF_CODE[code] for code in codes]
    lengths.extend([0] * (count - len(lengths)))
    return lengths


class _TermWriter:
    """Writes one field's terms as ``W3FieldWriter.start_term``, ``add`` per posting
    and ``finish_term`` would (``W3PostingsWriter``'s blocks and ``W3TermInfo``), but
    a term at a time: its blocks are built in one pass and written with one call, and
    the file offset is counted instead of asked for (a system call per term)."""

    def __init__(self, fieldwriter: Any, fmt: Any) -> None:
        postwriter = fieldwriter._postwriter
        # Inlined posting lists (inlinelimit > 1) and byte ids are not used by
        # searchkit's codec, and other codecs write other blocks: left to the codec.
        self._generic = (
            not isinstance(postwriter, PackedPostingsWriter)
            or postwriter._inlinelimit > 1
            or postwriter._byteids
        )
        self._fieldwriter = fieldwriter
        self._postfile = fieldwriter._postfile
        self._tindex = fieldwriter._tindex
        self._fieldid = pack_ushort(fieldwriter._fieldid)
        self._limit = postwriter._blocklimit
        self._compression = postwriter._compression
        self._fixedsize = fmt.fixed_value_size()
        # The field lengths as an array (:meth:`_length_ranges`), and the list they are.
        self._lengths_of: list[int] | None = None
        self._lengths: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._offset = self._postfile.tell()
        self._terms_file = self._tindex.dbfile
        self._terms_offset = self._terms_file.tell()
        # The files' own write methods (StructFile.write only passes the call on).
        self._write_postings = self._postfile.raw_file().write
        self._write_terms = self._terms_file.raw_file().write
        # What is written, kept until _WRITE_CHUNK bytes (the files' write method is a
        # Python call of Whoosh's compound file, twice per term).
        self._postings: list[bytes] = []
        self._postings_size = 0
        self._terms: list[bytes] = []
        self._terms_size = 0
        self._index_append = self._tindex.index.append
        self._buckets = packed_buckets(self._tindex)
        hashfn = self._tindex.hashfn
        self._hash = _md5_low32 if hashfn is md5_hash else hashfn

    def write(
        self,
        tbytes: bytes,
        docs: Sequence[int],
        weights: Sequence[float],
        values: Sequence[bytes],
        lengths: list[int],
    ) -> None:
        if self._generic:
            self._fieldwriter.start_term(tbytes)
            _fill_blocks(self._fieldwriter._postwriter, docs, weights, values, lengths)
            self._fieldwriter.finish_term()
            self._offset = self._postfile.tell()
            return
        count = len(docs)
        if count < PACK_MIN and count <= self._limit:
            blob, info = self._small_block(docs, weights, values, lengths, count)
        else:
            blob, info = self._blocks(docs, weights, values, lengths, count)
        self._postings.append(blob)
        self._postings_size += len(blob)
        if self._postings_size >= _WRITE_CHUNK:
            self.flush()
        self._offset += len(blob)
        self._add_term(self._fieldid + tbytes, info)

    def flush(self) -> None:
        """Write what is kept (before the field writer writes anything else)."""
        if self._postings:
            self._write_postings(b"".join(self._postings))
            self._postings = []
            self._postings_size = 0
        if self._terms:
            self._write_terms(b"".join(self._terms))
            self._terms = []
            self._terms_size = 0

    def _small_block(
        self,
        docs: Sequence[int],
        weights: Sequence[float],
        values: Sequence[bytes],
        lengths: list[int],
        count: int,
    ) -> tuple[bytes, bytes]:
        """The postings and term info bytes of a term of one block of fewer than
        ``PACK_MIN`` postings (most terms): what :meth:`_blocks` writes for it (tests
        compare them), :func:`block_data`'s and :func:`block_head`'s steps inlined."""
        known = len(lengths)
        floats = array("f", weights)
        last = docs[-1]
        if count == 1:  # most terms occur in one document
            n = lengths[last] if last < known else 0
            minlength = n or None
            maxlength = n
            top = weights[0]
            deltas: tuple[int, ...] = (last,)
            first = floats[0]
            # _mini_weights: NaN never counts as equal to itself
            mini: Any = (None if first == 1.0 else first) if first == first else (first,)
            value = values[0]
            block_values: tuple[bytes, ...] = (value,) if value else ()
        else:
            minlength, maxlength = _length_range(lengths, docs)
            top = max(weights)
            deltas = (docs[0], *map(sub, docs[1:], docs))
            first = floats[0]
            mini = (
                (None if first == 1.0 else first) if floats.count(first) == count else tuple(floats)
            )
            block_values = tuple(values) if all(values) else tuple(v for v in values if v)
        maxweight = top if top > 0 else 0
        fixedsize = self._fixedsize  # _mini_values
        if fixedsize is None or fixedsize < 0:
            stored: Any = block_values
        else:
            stored = b"".join(block_values) if fixedsize else None
        data = pickle.dumps((deltas, mini, stored), BLOCK_PROTOCOL)
        comp = self._compression
        if comp and len(data) >= ZLIB_MIN:
            smaller = deflate(data, comp)
            if len(smaller) < len(data):
                data = smaller
            else:
                comp = 0
        else:
            comp = 0
        codes = _LENGTH_CODES
        mincode = (
            0
            if minlength is None
            else codes[minlength]
            if minlength < len(codes)
            else length_to_byte(minlength)
        )
        maxcode = codes[maxlength] if maxlength < len(codes) else length_to_byte(maxlength)
        head = pickle.dumps((count, last, maxweight, comp, mincode, maxcode), 2)
        size = len(head) + len(data)
        blob = b"".join((WHOOSH3_HEADER_MAGIC, pack_int(-size), head, data))
        info = _TERM_INFO.pack(
            0, 0 + sum(floats), count, mincode, maxcode, maxweight, docs[0], last,
            self._offset, len(blob),
        )  # fmt: skip
        return blob, info

    def _blocks(
        self,
        docs: Sequence[int],
        weights: Sequence[float],
        values: Sequence[bytes],
        lengths: list[int],
        count: int,
    ) -> tuple[bytes, bytes]:
        """The postings and term info bytes of any term: its blocks built as
        ``W3PostingsWriter`` builds them, :class:`W3TermInfo` as ``add_block`` sums it."""
        info = W3TermInfo()
        parts = [WHOOSH3_HEADER_MAGIC]
        limit = self._limit
        comp = self._compression
        packed = isinstance(values, PackedValues) and not values.has_empty()
        if isinstance(values, PackedValues) and not packed:
            values = list(values)
        ranges = self._length_ranges(lengths, docs, limit) if count >= PACK_MIN else None
        for start in range(0, count, limit):
            end = min(start + limit, count)
            ids = docs[start:end]
            block_weights = array("f", weights[start:end])
            minlength, maxlength = (
                _length_range(lengths, ids) if ranges is None else ranges[start // limit]
            )
            top = max(weights[start:end])
            maxweight = top if top > 0 else 0
            # W3TermInfo.add_block
            info._weight += sum(block_weights)
            info._df += len(ids)
            if info._minlength is None:
                info._minlength = minlength
            else:
                info._minlength = min(info._minlength, minlength)
            info._maxlength = max(info._maxlength, maxlength)
            info._maxweight = max(info._maxweight, maxweight)
            if info._minid is None:
                info._minid = ids[0]
            info._maxid = ids[-1]
            # PackedPostingsWriter._write_block
            if packed:
                assert isinstance(values, PackedValues)
                block_values: Sequence[bytes] = values.part(start, end)
            else:
                block_values = values[start:end]
            if not packed and not all(block_values):
                block_values = [v for v in block_values if v]  # as add_posting keeps them
            data, used = block_data(ids, block_weights, block_values, self._fixedsize, comp)
            head = block_head(len(ids), ids[-1], maxweight, used, minlength, maxlength)
            size = len(head) + len(data)
            parts += (pack_int(-size if end == count else size), head, data)
        blob = b"".join(parts)
        info.set_extent(self._offset, len(blob))
        return blob, info.to_bytes()

    def _length_ranges(
        self, lengths: list[int], docs: Sequence[int], limit: int
    ) -> list[tuple[int | None, int]]:
        """:func:`_length_range` of each block of ``limit`` of ``docs``, in arrays."""
        if self._lengths_of is not lengths:  # one field's lengths, for all its terms
            self._lengths_of = lengths
            self._lengths = np.asarray(lengths, dtype=np.int64)
        known = self._lengths
        numbers = np.asarray(docs, dtype=np.int64)
        inside = numbers < len(known)  # documents beyond the lengths have none (0)
        found = np.zeros(len(numbers), dtype=np.int64)
        found[inside] = known[numbers[inside]]
        ranges: list[tuple[int | None, int]] = []
        for start in range(0, len(found), limit):
            block = found[start : start + limit]
            nonzero = block[block > 0]
            ranges.append((int(nonzero.min()), int(nonzero.max())) if len(nonzero) else (None, 0))
        return ranges

    def _add_term(self, key: bytes, value: bytes) -> None:
        """``OrderedHashWriter.add``, with the terms file's offset counted instead of
        asked for (twice per term, each a system call)."""
        tindex = self._tindex
        if key <= tindex.lastkey:
            raise ValueError(f"keys must increase: {tindex.lastkey!r}..{key!r}")
        pos = self._terms_offset
        self._index_append(pos)
        entry = _TERM_LENGTHS.pack(len(key), len(value)) + key + value
        self._terms.append(entry)
        self._terms_size += len(entry)
        if self._terms_size >= _WRITE_CHUNK:
            self.flush()
        self._terms_offset = pos + len(entry)
        h = self._hash(key)
        self._buckets[h & 255].append((h, pos))
        tindex.lastkey = key


class HashBucket:
    """One of a terms file's 256 hash buckets, as Whoosh's ``HashWriter`` fills them
    (``append((hash, position))``, ``len``, iterated as pairs in the order added) but
    held in one array of 64-bit numbers: 16 bytes a term instead of a tuple of two
    ints (~120 bytes). A segment's writer keeps every term's pair until it writes the
    hash tables: ~3 million terms, ~360 MB as tuples, when merging 1,000,000 records."""

    __slots__ = ("_pairs",)

    def __init__(self, pairs: Iterable[tuple[int, int]] = ()) -> None:
        self._pairs: array[int] = array("Q")
        for pair in pairs:
            self._pairs.extend(pair)

    def append(self, pair: tuple[int, int]) -> None:
        self._pairs.extend(pair)

    def __len__(self) -> int:
        return len(self._pairs) // 2

    def __iter__(self) -> Iterator[tuple[int, int]]:
        numbers = iter(self._pairs)
        return zip(numbers, numbers, strict=True)


def packed_buckets(tindex: Any) -> list[HashBucket]:
    """The hash buckets of ``tindex`` (a Whoosh ``HashWriter``) as :class:`HashBucket`
    s, put in place of its lists (the pairs already added kept, in order): what
    ``HashWriter._write_hashes`` writes is the same."""
    buckets = tindex.buckets
    if not all(isinstance(b, HashBucket) for b in buckets):
        buckets = tindex.buckets = [HashBucket(b) for b in buckets]
    return buckets


def _length_range(lengths: list[int], docs: Sequence[int]) -> tuple[int | None, int]:
    """The smallest and largest length other than 0 of the documents ``docs`` (of
    ``lengths``; 0 beyond them): ``(None, 0)`` when all are 0, as Whoosh's postings
    writer keeps them."""
    if max(docs) < len(lengths):
        found = [lengths[d] for d in docs]
    else:
        found = [lengths[d] if d < len(lengths) else 0 for d in docs]
    nonzero = list(filter(None, found))
    return (min(nonzero), max(nonzero)) if nonzero else (None, 0)


def _md5_low32(key: bytes) -> int:
    """Whoosh's ``md5_hash`` (the low 32 bits of the key's MD5, from its hex digest),
    from the digest's last four bytes."""
    return int.from_bytes(md5(key, usedforsecurity=False).digest()[12:], "big")


def _fill_blocks(
    postwriter: Any,
    docs: Sequence[int],
    weights: Sequence[float],
    values: Sequence[bytes],
    lengths: list[int],
) -> None:
    """Fill the postings writer's block buffer a block at a time, as its
    ``add_posting`` would; every full block but the last is written here, the last by
    ``finish_postings`` (as Whoosh does)."""
    limit = postwriter._blocklimit
    count = len(docs)
    known = len(lengths)
    for start in range(0, count, limit):
        end = min(start + limit, count)
        ids = array("I", docs[start:end])
        block_weights = weights[start:end]
        block_values = values[start:end]
        if not all(block_values):
            block_values = [v for v in block_values if v]
        nonzero = [n for n in (lengths[d] if d < known else 0 for d in ids) if n]
        top = max(block_weights)
        postwriter._ids = ids
        postwriter._weights = array("f", block_weights)
        postwriter._values = block_values
        postwriter._minlength = min(nonzero) if nonzero else None
        postwriter._maxlength = max(nonzero) if nonzero else 0
        postwriter._maxweight = top if top > 0 else 0
        if end < count:
            postwriter._write_block()


__all__ = [
    "TermIds",
    "TermStore",
    "column_lengths",
    "group_pool_postings",
    "merge_groups",
    "write_postings",
]
