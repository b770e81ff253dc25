"""Constant-score term ranges in arrays: a ``[dp]`` year or date range
(:class:`whoosh.query.ConstantScoreQuery` around a :class:`whoosh.query.TermRange`).

Whoosh's matcher for such a range steps through every matching document in Python
(an ``Or`` of the range's terms, then ``all_ids()``), which on a large index is
seconds: a range of twenty years holds most records. Here the range's terms are read
from the segment's lexicon as Whoosh reads them, their postings are joined as arrays,
and every document gets the query's constant score, as Whoosh's ``ListMatcher`` gives
it (tests/test_ranges.py compares both on real records, with deletions)."""

from __future__ import annotations

import numpy as np
from whoosh.query import ConstantScoreQuery, Query, TermRange
from whoosh.reading import IndexReader

from searchkit.engine.postings import Floats, Ints, SegmentArrays


def is_term_range(q: Query) -> bool:
    """Whether ``q`` is a constant-score range of terms (what :func:`range_docs` reads)."""
    return isinstance(q, ConstantScoreQuery) and type(q.child) is TermRange


def range_docs(arrays: SegmentArrays, reader: IndexReader, q: ConstantScoreQuery) -> Ints:
    """The segment's live documents (ascending) holding a term of ``q``'s range."""
    child = q.child
    assert isinstance(child, TermRange)
    field = child.fieldname
    if field not in reader.schema:
        return np.empty(0, dtype=np.int64)
    found = [arrays.postings(field, text)[0] for text in child._btexts(reader) if text]
    found = [ids for ids in found if len(ids)]
    if not found:
        return np.empty(0, dtype=np.int64)
    if len(found) == 1:
        return found[0]
    return np.unique(np.concatenate(found))


def range_scores(
    arrays: SegmentArrays, reader: IndexReader, q: ConstantScoreQuery
) -> tuple[Ints, Floats]:
    """:func:`range_docs` with the query's constant score for each."""
    ids = range_docs(arrays, reader, q)
    return ids, np.full(len(ids), q.score, dtype=np.float64)
