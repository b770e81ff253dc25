"""Constant-score term ranges in arrays: a ``[dp]`` year or date range
(:class:`whoosh.query.ConstantScoreQuery` around a :class:`whoosh.query.TermRange`, or
around an ``Or`` of them: the day, month and year runs of a date range,
:func:`searchkit.index.dates.level_ranges`).

Whoosh's matcher for such a range steps through every matching document in Python
(an ``Or`` of the range's terms, then ``all_ids()``), which on a large index is
seconds: a range of twenty years holds most records. Here the range's terms are read
from the segment's lexicon as Whoosh reads them; the evaluator
(:mod:`searchkit.engine.scoring`) joins their postings as arrays and gives every
document the query's constant score, as Whoosh's ``ListMatcher`` gives it
(tests/test_ranges.py compares both on real records, with deletions)."""

from __future__ import annotations

from whoosh.query import ConstantScoreQuery, Or, Query, TermRange
from whoosh.reading import IndexReader

from searchkit.engine.joined import Arrays
from searchkit.engine.postings import Ints


def is_term_range(q: Query) -> bool:
    """Whether ``q`` is a constant-score range of terms, or of several ranges
    (:func:`range_postings`)."""
    return isinstance(q, ConstantScoreQuery) and bool(_ranges(q.child))


def _ranges(q: Query) -> list[TermRange]:
    """The term ranges ``q`` is the union of (none: it is something else)."""
    if type(q) is TermRange:
        return [q]
    if type(q) is Or and q.subqueries and all(type(sub) is TermRange for sub in q.subqueries):
        return list(q.subqueries)
    return []


def range_postings(arrays: Arrays, reader: IndexReader, q: ConstantScoreQuery) -> list[Ints]:
    """The live documents (ascending) of each term of ``q``'s ranges in the segment,
    the terms read from its lexicon as Whoosh's matcher reads them."""
    found: list[Ints] = []
    for child in _ranges(q.child):
        field = child.fieldname
        if field in reader.schema:
            found.extend(arrays.postings(field, text)[0] for text in child._btexts(reader) if text)
    return found
