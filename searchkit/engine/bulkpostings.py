"""A segment's postings grouped by term instead of posting by posting.

Whoosh's writer puts every posting through its pool as a tuple (sorted, spilled to disk
and heap-merged one by one), then through ``W3PostingsWriter.add_posting`` (type checks
and statistics per posting). The fast path already has each document's postings grouped
by term, so :class:`TermStore` keeps them grouped by field and term (document numbers
and weights in arrays), spilling sorted runs of whole terms to disk when its budget is
used, and gives them back in (field, term) order for
:func:`~searchkit.engine.term_writer.write_postings` to write each term's blocks in one
pass.
"""

from __future__ import annotations

import heapq
import pickle
import random
import string
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import groupby, pairwise
from operator import itemgetter
from typing import Any

import numpy as np

from searchkit.analysis.termizer import STOP
from searchkit.engine.codec import (
    PackedValues,
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


__all__ = [
    "TermIds",
    "TermStore",
    "group_pool_postings",
    "merge_groups",
]
