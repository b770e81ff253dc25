"""Proximity searches (``"a b"~N``): words within ``N`` positions of each other, in any
order, matched at their positions in arrays.

:class:`NearTerms` is Whoosh's ``SpanNear2`` (unordered) as a query object, so that
everything that walks a query (terms, highlighting, counting) sees the same thing;
:mod:`searchkit.engine.scoring` evaluates it with :func:`near_docs` instead of Whoosh's
span matcher, which builds a ``Span`` object per position of every document holding all
the words. The matches are those of ``SpanNear2``: the words are joined one after the
other into spans; a span grows by a position of the next word at a distance of 1 to
``N`` from it (0 when the position is inside the span: not a match), and a document
matches when a span of every word is left.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from whoosh.query import Query, Term
from whoosh.query.spans import SpanNear2

from searchkit.engine import sets
from searchkit.engine.postings import Ints

_POSITION = 0xFFFFFFFF  # the position bits of a ``docnum << 32 | position`` key


class NearTerms(SpanNear2):
    """Terms of one field within ``slop`` positions of each other, in any order."""

    def __init__(self, fieldname: str, words: list[str], slop: int) -> None:
        super().__init__([Term(fieldname, w) for w in words], slop=slop, ordered=False)
        self.fieldname = fieldname

    @property
    def words(self) -> list[str]:
        return [q.text for q in self.qs]

    def apply(self, fn: Callable[[Query], Query]) -> Query:
        """``fn`` applied to each term: still a :class:`NearTerms` while they are plain
        terms of the field, else Whoosh's ``SpanNear2`` of what ``fn`` gave."""
        qs = [fn(q) for q in self.qs]
        if all(type(q) is Term and q.fieldname == self.fieldname for q in qs):
            out = NearTerms(self.fieldname, [], self.slop)
            out.qs = qs
            return out
        return SpanNear2(qs, slop=self.slop, ordered=False, mindist=self.mindist)


def near_docs(keys: list[Ints], slop: int) -> Ints:
    """The documents (ascending) where the words match as ``SpanNear2(ordered=False,
    mindist=1)`` matches them; ``keys``: each word's positions as sorted ``docnum << 32
    | position`` keys."""
    if not keys or any(not len(k) for k in keys):
        return np.zeros(0, dtype=np.int64)
    # Spans (as start and end keys of the same document), the first word's positions.
    starts = ends = keys[0]
    for i, positions in enumerate(keys[1:], start=1):
        doc = starts & ~np.int64(_POSITION)
        # Positions of the next word before the span (1..slop before its start) and
        # after it (1..slop after its end), in the same document.
        low = np.maximum(starts - slop, doc)
        before_lo = np.searchsorted(positions, low, "left")
        before_hi = np.searchsorted(positions, starts, "left")
        after_lo = np.searchsorted(positions, ends + 1, "left")
        after_hi = np.searchsorted(positions, ends + slop, "right")
        if i == len(keys) - 1:  # the last word: any such position is enough
            found = (before_hi > before_lo) | (after_hi > after_lo)
            return sets.distinct(starts[found] >> 32)  # starts ascend: so do their documents
        new_starts: list[Ints] = []
        new_ends: list[Ints] = []
        for lo, hi, before in ((before_lo, before_hi, True), (after_lo, after_hi, False)):
            span_of, at = _pairs(lo, hi)
            if not len(at):
                continue
            p = positions[at]
            if before:
                new_starts.append(p)
                new_ends.append(ends[span_of])
            else:
                new_starts.append(starts[span_of])
                new_ends.append(p)
        if not new_starts:
            return np.zeros(0, dtype=np.int64)
        starts, ends = sets.distinct_pairs(np.concatenate(new_starts), np.concatenate(new_ends))
    return sets.distinct(starts >> 32)


def _pairs(lo: Ints, hi: Ints) -> tuple[Ints, Ints]:
    """For ranges ``[lo[i], hi[i])``: each member's range number and the member."""
    counts = np.maximum(hi - lo, 0)
    total = int(counts.sum())
    if not total:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    span_of = np.repeat(np.arange(len(lo), dtype=np.int64), counts)
    first = np.repeat(lo - (np.cumsum(counts) - counts), counts)
    return span_of, first + np.arange(total, dtype=np.int64)


__all__ = ["NearTerms", "near_docs"]
