"""Which records a query counts: those with every word of its free text.

Free text is ranked as Best Match (:class:`~searchkit.query.free_text.BestMatch`): a record
with some of the words is still a hit, ranked below those with all of them. What a
search *counts*, as PubMed does, is the records with all of them (implicit AND):
:func:`all_words` turns each free-text part of a query into the AND of its words'
``required`` queries, leaving the rest of the query (phrases, field tags, years, what
follows NOT) as it is.
"""

from __future__ import annotations

from whoosh.query import And, AndMaybe, AndNot, Or, Query

from searchkit.engine.nodes import BestMatch, Proximity


def all_words(q: Query) -> Query:
    """The query that matches the records ``q`` counts; ``q`` itself when every record
    it matches counts (no free text of several words or with feedback terms)."""
    if isinstance(q, BestMatch):
        concepts = [s for s in q.subqueries if not isinstance(s, Proximity)]
        if len(concepts) == 1 and q.required == (concepts[0],):
            return q
        return q.required[0] if len(q.required) == 1 else And(list(q.required))
    if isinstance(q, AndNot | AndMaybe):  # the excluded or optional side is not counted
        a = all_words(q.a)
        return q if a is q.a else type(q)(a, q.b)
    if type(q) in (And, Or):
        children = [all_words(s) for s in q.subqueries]
        if all(c is s for c, s in zip(children, q.subqueries, strict=True)):
            return q
        return type(q)(children, boost=q.boost)
    return q
