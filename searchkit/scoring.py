"""Evaluating a query term-at-a-time: BM25F, coordination, proximity.

Whoosh's own matcher tree is slow in pure Python for long OR queries (SciFact claims
have ~10 words x 4 fields: ~0.5 s each), so :func:`top_docs` evaluates queries
term-at-a-time: each leaf (term, phrase, …) is read once with Whoosh's matcher, and the
boolean structure is combined in dictionaries. The query nodes of
:mod:`searchkit.ranking` get their own scoring here:

* :class:`~searchkit.ranking.FieldedTerm` / :class:`~searchkit.ranking.FieldedPhrase`:
  BM25F with one saturation over the weighted, length-normalised field frequencies;
* :class:`~searchkit.ranking.BestMatch`: the sum of its concepts times the coordination
  factor (matched concepts / concepts) ** ``COORDINATION``, plus proximity and
  feedback children;
* anything else (And, Or, AndNot, AndMaybe, other leaves): as Whoosh scores it.

The parameters live in :mod:`searchkit.ranking` and are read at call time.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable

from whoosh.matching import Matcher
from whoosh.query import And, AndMaybe, AndNot, NullQuery, Or, Phrase, Query, Term
from whoosh.searching import Searcher

from searchkit import ranking
from searchkit.ranking import BestMatch, Expansion, FieldedPhrase, FieldedTerm, Proximity

Scores = dict[int, float]


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
    if isinstance(q, FieldedTerm) and all(isinstance(t, Term) for t in q.subqueries):
        return _bm25f(searcher, q)
    if isinstance(q, FieldedPhrase) and all(isinstance(t, Phrase) for t in q.subqueries):
        return _bm25f_phrase(searcher, q)
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


def _bm25f(searcher: Searcher, q: FieldedTerm) -> Scores:
    parent = searcher.get_parent()
    reader = searcher.reader()
    n_docs = max(parent.doc_count_all(), 1)
    tfs: Scores = {}
    df = 0
    for t in q.subqueries:
        field, text = t.fieldname, t.text
        if (field, text) not in reader:
            continue
        df = max(df, parent.doc_frequency(field, text))
        avg = parent.avg_field_length(field) or 1.0
        b = ranking.FIELD_B.get(field, ranking.B)
        weight = t.boost
        for docnum, tf in reader.postings(field, text).items_as("weight"):
            norm = 1.0 - b + b * reader.doc_field_length(docnum, field, 0) / avg
            tfs[docnum] = tfs.get(docnum, 0.0) + weight * tf / norm
    if not tfs:
        return {}
    idf = math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
    k1 = ranking.K1
    scale = idf * (k1 + 1.0) * q.boost
    return {d: scale * tf / (tf + k1) for d, tf in tfs.items()}


def _saturate(
    searcher: Searcher, per_field: list[tuple[str, float, dict[int, float]]], boost: float
) -> Scores:
    """BM25F: weighted, length-normalised frequencies summed over fields, saturated once."""
    parent = searcher.get_parent()
    reader = searcher.reader()
    n_docs = max(parent.doc_count_all(), 1)
    tfs: Scores = {}
    for field, weight, freqs in per_field:
        avg = parent.avg_field_length(field) or 1.0
        b = ranking.FIELD_B.get(field, ranking.B)
        for docnum, tf in freqs.items():
            norm = 1.0 - b + b * reader.doc_field_length(docnum, field, 0) / avg
            tfs[docnum] = tfs.get(docnum, 0.0) + weight * tf / norm
    if not tfs:
        return {}
    df = len(tfs)
    idf = math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
    scale = idf * (ranking.K1 + 1.0) * boost
    return {d: scale * tf / (tf + ranking.K1) for d, tf in tfs.items()}


def _phrase_frequencies(reader: object, field: str, words: list[str], slop: int) -> Scores:
    """Per document, how often ``words`` occur in order, each within ``slop`` positions
    of the one before."""
    lists = [_positions(reader, field, w) for w in words]
    if not all(lists):
        return {}
    common = set(lists[0]).intersection(*lists[1:])
    out: Scores = {}
    for d in common:
        follow = [set(p[d]) for p in lists[1:]]
        n = 0
        for start in lists[0][d]:
            pos = start
            for positions in follow:
                nxt = next((pos + k for k in range(1, slop + 1) if pos + k in positions), None)
                if nxt is None:
                    break
                pos = nxt
            else:
                n += 1
        if n:
            out[d] = float(n)
    return out


def _bm25f_phrase(searcher: Searcher, q: FieldedPhrase) -> Scores:
    reader = searcher.reader()
    per_field = [
        (p.fieldname, p.boost, _phrase_frequencies(reader, p.fieldname, list(p.words), p.slop))
        for p in q.subqueries
    ]
    return _saturate(searcher, per_field, q.boost)


def _positions(reader: object, field: str, text: str) -> dict[int, list[int]]:
    if (field, text) not in reader:  # type: ignore[operator]
        return {}
    postings = reader.postings(field, text)  # type: ignore[attr-defined]
    return dict(postings.items_as("positions"))


def _proximity_scores(searcher: Searcher, q: Proximity) -> Scores:
    """Sequential-dependence bonus: for each adjacent pair of query words (a sloppy
    ``Phrase`` child), the number of times they occur within ``slop`` positions of each
    other, in either order, scored like a BM25 term of that frequency."""
    parent = searcher.get_parent()
    reader = searcher.reader()
    n_docs = max(parent.doc_count_all(), 1)
    cache: dict[tuple[str, str], dict[int, list[int]]] = {}
    out: Scores = {}
    for phrase in q.subqueries:
        if not isinstance(phrase, Phrase) or len(phrase.words) != 2:
            continue
        field, window = phrase.fieldname, phrase.slop
        a, b = (cache.setdefault((field, w), _positions(reader, field, w)) for w in phrase.words)
        counts: dict[int, int] = {}
        for d in a.keys() & b.keys():
            pb = b[d]
            n = sum(1 for x in a[d] for y in pb if 0 < abs(x - y) <= window)
            if n:
                counts[d] = n
        if not counts:
            continue
        avg = parent.avg_field_length(field) or 1.0
        bf = ranking.FIELD_B.get(field, ranking.B)
        idf = math.log(1.0 + (n_docs - len(counts) + 0.5) / (len(counts) + 0.5))
        for d, n in counts.items():
            norm = 1.0 - bf + bf * reader.doc_field_length(d, field, 0) / avg
            tf = n / norm
            k1 = ranking.K1
            out[d] = out.get(d, 0.0) + phrase.boost * idf * tf * (k1 + 1) / (tf + k1)
    return out


def _leaf(searcher: Searcher, q: Query, context: object) -> Scores:
    """Any other query: Whoosh's own matcher, read to the end."""
    m: Matcher = q.matcher(searcher, context)
    out: Scores = {}
    while m.is_active():
        out[m.id()] = m.score()
        m.next()
    return out


def _best_match(searcher: Searcher, q: BestMatch, context: object) -> Scores:
    concepts = [sub for sub in q.subqueries if not isinstance(sub, Proximity | Expansion)]
    bonuses = [sub for sub in q.subqueries if isinstance(sub, Proximity)]
    extras = [sub for sub in q.subqueries if isinstance(sub, Expansion)]
    total: Scores = {}
    matched: dict[int, int] = {}
    for sub in concepts:
        for d, s in _eval(searcher, sub, context).items():
            total[d] = total.get(d, 0.0) + s
            matched[d] = matched.get(d, 0) + 1
    for sub in bonuses:
        for d, s in _proximity_scores(searcher, sub).items():
            if d in total:
                total[d] += s
    n = len(concepts)
    if n > 1 and ranking.COORDINATION:
        for d, s in total.items():
            total[d] = s * (matched[d] / n) ** ranking.COORDINATION
    for sub in extras:
        for d, s in _eval(searcher, sub, context).items():
            total[d] = total.get(d, 0.0) + s
    return _boosted(total, q.boost)
