"""Constant-score term ranges in arrays: a ``[dp]`` year or date range
(:class:`whoosh.query.ConstantScoreQuery` around a :class:`whoosh.query.TermRange`).

Whoosh's matcher for such a range steps through every matching document in Python
(an ``Or`` of the range's terms, then ``all_ids()``), which on a large index is
seconds: a range of twenty years holds most records. Here the range's terms are read
from the segment's lexicon as Whoosh reads them; the evaluator
(:mod:`searchkit.engine.scoring`) joins their postings as arrays and gives every
document the query's constant score, as Whoosh's ``ListMatcher`` gives it
(tests/test_ranges.py compares both on real records, with deletions)."""

from __future__ import annotations

from whoosh.query import ConstantScoreQuery, Query, TermRange
from whoosh.reading import IndexReader

from searchkit.engine.joined import Arrays
from searchkit.engine.postings import Ints


def is_term_range(q: Query) -> bool:
    """Whether ``q`` is a constant-score range of terms (:func:`range_postings`)."""
    return isinstance(q, ConstantScoreQuery) and type(q.child) is TermRange


def range_postings(arrays: Arrays, reader: IndexReader, q: ConstantScoreQuery) -> list[Ints]:
    """The live documents (ascending) of each term of ``q``'s range in the segment,
    the terms read from its lexicon as Whoosh's matcher reads them."""
    child = q.child
    assert isinstance(child, TermRange)
    field = child.fieldname
    if field not in reader.schema:
        return []
    return [arrays.postings(field, text)[0] for text in child._btexts(reader) if text]
