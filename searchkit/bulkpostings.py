"""Writing a segment's postings term by term instead of posting by posting.

Whoosh's writer puts every posting through its pool as a tuple (sorted, spilled to disk
and heap-merged one by one), then through ``W3PostingsWriter.add_posting`` (type checks
and statistics per posting). The fast path already has each document's postings grouped
by term, so :class:`TermStore` keeps them grouped by field and term (document numbers
and weights in arrays), spilling sorted runs of whole terms to disk when its budget is
used, and :func:`write_postings` hands each term's postings to Whoosh's own block
writer a block (128 postings) at a time. The blocks are Whoosh's: the same bytes, read
by an unmodified Whoosh (tests compare the files).
"""

from __future__ import annotations

import heapq
import pickle
import random
import string
from array import array
from collections.abc import Iterable, Iterator, Sequence
from itertools import groupby, pairwise
from typing import Any

#: One term's postings: (field name, term, document numbers, weights, values).
TermGroup = tuple[str, bytes, Sequence[int], Sequence[float], list[bytes]]
#: A posting as Whoosh's pool holds it: (field name, term, docnum, weight, value).
PoolPosting = tuple[str, bytes, int, float, bytes | None]

# Memory accounting (CPython 3.11, measured): a posting takes 20 bytes in its term's
# arrays and list, plus its value, unless that is shared (one-position values are);
# a term's entry (key, two arrays, a list, a tuple, a dict slot) about 300 bytes.
_POSTING_BYTES = 20
_VALUE_BYTES = 33  # a bytes object's own size besides its data
_TERM_BYTES = 300
_RUN_TERMS = 4_096  # terms per pickled chunk of a spilled run


class TermStore:
    """Postings grouped by field and term, in document order, up to ``limitmb`` in
    memory, then in sorted runs of whole terms in ``tempstore`` (Whoosh's temporary
    storage of the writer, removed with it)."""

    def __init__(self, tempstore: Any, limitmb: float) -> None:
        self._tempstore = tempstore
        self._limit = limitmb * 1024 * 1024
        self._size = 0
        self._fields: dict[str, dict[bytes, tuple[array[int], array[float], list[bytes]]]] = {}
        self.runs: list[str] = []

    def add(
        self,
        fieldname: str,
        docnum: int,
        postings: Iterable[tuple[bytes, int, float, bytes]],
        boost: float = 1.0,
    ) -> None:
        """Add one document's postings ``(term, frequency, weight, value)`` of a field."""
        terms = self._fields.get(fieldname)
        if terms is None:
            terms = self._fields[fieldname] = {}
        size = 0
        for tbytes, freq, weight, vbytes in postings:
            entry = terms.get(tbytes)
            if entry is None:
                entry = terms[tbytes] = (array("I"), array("d"), [])
                size += _TERM_BYTES + len(tbytes)
            entry[0].append(docnum)
            entry[1].append(weight * boost)
            entry[2].append(vbytes)
            size += _POSTING_BYTES if freq == 1 else _POSTING_BYTES + _VALUE_BYTES + len(vbytes)
        self._size += size
        if self._size > self._limit:
            self._spill()

    def _sorted_memory(self) -> Iterator[TermGroup]:
        for fieldname in sorted(self._fields):
            terms = self._fields[fieldname]
            for tbytes in sorted(terms):
                docs, weights, values = terms[tbytes]
                yield fieldname, tbytes, docs, weights, values

    def _spill(self) -> None:
        name = "".join(random.choices(string.ascii_lowercase + string.digits, k=24)) + ".trun"
        f = self._tempstore.create_file(name).raw_file()
        try:
            chunk: list[tuple[str, bytes, bytes, bytes, list[bytes]]] = []
            for fieldname in sorted(self._fields):
                terms = self._fields[fieldname]
                for tbytes in sorted(terms):
                    docs, weights, values = terms[tbytes]
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
        f = self._tempstore.open_file(name).raw_file()
        try:
            while True:
                try:
                    chunk = pickle.load(f)
                except EOFError:
                    break
                for fn, t, docbytes, weightbytes, values in chunk:
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


def _key(group: TermGroup) -> tuple[str, bytes]:
    return group[0], group[1]


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
            values: list[bytes] = []
            for _, _, d, w, v in parts:
                docs.extend(d)
                weights.extend(w)
                values.extend(v)
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
    ``add_postings`` writes for the same postings, a block at a time."""
    lastfield: str | None = None
    field_lengths: list[int] = []
    for fieldname, tbytes, docs, weights, values in groups:
        if fieldname != lastfield:
            if lastfield is not None:
                fieldwriter.finish_field()
            fieldwriter.start_field(fieldname, schema[fieldname])
            lastfield = fieldname
            field_lengths = _field_lengths(lengths, fieldname)
        fieldwriter.start_term(tbytes)
        _write_term(fieldwriter._postwriter, docs, weights, values, field_lengths)
        fieldwriter.finish_term()
    if lastfield is not None:
        fieldwriter.finish_field()


def _field_lengths(lengths: Any, fieldname: str) -> list[int]:
    if not lengths:
        return []
    read = lengths.doc_field_length
    return [read(d, fieldname, 0) for d in range(lengths.doc_count_all())]


def _write_term(
    postwriter: Any,
    docs: Sequence[int],
    weights: Sequence[float],
    values: list[bytes],
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


__all__ = ["TermStore", "group_pool_postings", "merge_groups", "write_postings"]
