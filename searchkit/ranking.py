"""How free text becomes a ranked Whoosh query, the scoring model, and the evaluator.

A free-text query is a :class:`BestMatch`: one child per query *concept* (a word, with
its alternative spellings and acronym expansions searched in every text field at that
field's weight) plus, optionally, low-weight proximity children. A document's score is
the sum of its matching children's BM25F scores times a coordination factor that grows
with the share of concepts it matches: documents matching all words come first, partial
matches are still returned (PubMed "Best Match"), not a strict AND.

Whoosh's own matcher tree is slow in pure Python for long OR queries (SciFact claims
have ~10 words x 4 fields), so :func:`top_docs` evaluates queries term-at-a-time:
each leaf (term, phrase, …) is read with Whoosh's matcher and scored by Whoosh's
weighting, and the boolean structure is combined in dictionaries. A :class:`BestMatch`
nested inside another Whoosh query still works with Whoosh's own matchers (as a plain
``Or``).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from whoosh import scoring
from whoosh.fields import Schema
from whoosh.matching import Matcher
from whoosh.query import And, AndMaybe, AndNot, NullQuery, Or, Query, Term
from whoosh.searching import Searcher

from searchkit.schema import TEXT_FIELDS

# BM25F parameters (see BENCHMARKS.md for how they were chosen).
K1 = 1.2
B = 0.75
# Coordination: score x (matched concepts / concepts) ** COORDINATION.
COORDINATION = 1.0

Scores = dict[int, float]


def weighting() -> scoring.WeightingModel:
    """The scoring model used for every search."""
    return scoring.BM25F(B=B, K1=K1)


class BestMatch(Or):
    """Free-text query: children are concepts (and :class:`Proximity` bonuses); see module
    docs. Whoosh's matchers score it as a plain ``Or``; :func:`top_docs` adds coordination."""

    JOINT = " BEST "


class Proximity(Or):
    """Bonus clauses (sloppy phrases of adjacent query words): scored, not counted as
    concepts for coordination."""

    JOINT = " NEAR "


def analyze_query_words(schema: Schema, text: str) -> list[str]:
    """The index terms a piece of free text becomes (all text fields share one analyzer)."""
    return list(schema["abstract"].process_text(text, mode="query"))


def term_query(schema: Schema, term: str, boost: float = 1.0) -> Query:
    """One analyzed term searched across the weighted text fields."""
    return Or([Term(f, term, boost=w * boost) for f, w in TEXT_FIELDS.items()])


def free_text_query(schema: Schema, text: str) -> Query:
    """Ranked free-text query for ``text`` (NullQuery if it has no searchable word)."""
    terms = list(dict.fromkeys(analyze_query_words(schema, text)))
    if not terms:
        return NullQuery
    return BestMatch([term_query(schema, t) for t in terms])


# -- evaluation ------------------------------------------------------------------


def top_docs(
    searcher: Searcher, query: Query, limit: int | None
) -> tuple[list[tuple[float, int]], Scores]:
    """The best ``limit`` (score, docnum) pairs (ties by docnum) and every match's score."""
    scores = evaluate(searcher, query)
    key = lambda item: (-item[1], item[0])  # noqa: E731
    items: Iterable[tuple[int, float]] = scores.items()
    best = heapq.nsmallest(limit, items, key=key) if limit else sorted(items, key=key)
    return [(score, docnum) for docnum, score in best], scores


def evaluate(searcher: Searcher, query: Query) -> Scores:
    """Score of every document matching ``query`` (top-level document numbers)."""
    context = searcher.context(weighting=searcher.weighting)
    out: Scores = {}
    for sub, offset in searcher.leaf_searchers():
        for docnum, score in _eval(sub, query, context).items():
            out[docnum + offset] = score
    return out


def _eval(searcher: Searcher, q: Query, context: object) -> Scores:
    if q is NullQuery:
        return {}
    if isinstance(q, BestMatch):
        return _best_match(searcher, q, context)
    if isinstance(q, Or) and not q.minmatch and not q.scale:
        acc: Scores = {}
        for sub in q.subqueries:
            for d, s in _eval(searcher, sub, context).items():
                acc[d] = acc.get(d, 0.0) + s
        return _boosted(acc, q.boost)
    if isinstance(q, And):
        parts = [_eval(searcher, sub, context) for sub in q.subqueries]
        if not parts:
            return {}
        parts.sort(key=len)
        acc = dict(parts[0])
        for part in parts[1:]:
            acc = {d: s + part[d] for d, s in acc.items() if d in part}
        return _boosted(acc, q.boost)
    if isinstance(q, AndNot):
        positive = _eval(searcher, q.a, context)
        negative = _eval(searcher, q.b, context)
        return _boosted({d: s for d, s in positive.items() if d not in negative}, q.boost)
    if isinstance(q, AndMaybe):
        required = _eval(searcher, q.a, context)
        optional = _eval(searcher, q.b, context)
        return _boosted({d: s + optional.get(d, 0.0) for d, s in required.items()}, q.boost)
    return _leaf(searcher, q, context)


def _boosted(scores: Scores, boost: float) -> Scores:
    if boost == 1.0:
        return scores
    return {d: s * boost for d, s in scores.items()}


def _leaf(searcher: Searcher, q: Query, context: object) -> Scores:
    """Any other query: Whoosh's own matcher, read to the end."""
    m: Matcher = q.matcher(searcher, context)
    out: Scores = {}
    while m.is_active():
        out[m.id()] = m.score()
        m.next()
    return out


def _best_match(searcher: Searcher, q: BestMatch, context: object) -> Scores:
    concepts = [sub for sub in q.subqueries if not isinstance(sub, Proximity)]
    bonuses = [sub for sub in q.subqueries if isinstance(sub, Proximity)]
    total: Scores = {}
    matched: dict[int, int] = {}
    for sub in concepts:
        for d, s in _eval(searcher, sub, context).items():
            total[d] = total.get(d, 0.0) + s
            matched[d] = matched.get(d, 0) + 1
    for sub in bonuses:
        for d, s in _eval(searcher, sub, context).items():
            if d in total:
                total[d] += s
    n = len(concepts)
    if n > 1 and COORDINATION:
        for d, s in total.items():
            total[d] = s * (matched[d] / n) ** COORDINATION
    return _boosted(total, q.boost)
