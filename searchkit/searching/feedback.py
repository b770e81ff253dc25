"""Pseudo-relevance feedback (``--expand``): RM3-style query expansion.

Off by default: on the judged SciFact queries it lowered nDCG@10 (BENCHMARKS.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from whoosh.query import Query
from whoosh.searching import Searcher

from searchkit.engine.nodes import BestMatch, Expansion
from searchkit.engine.postings import SegmentArrays, live_doc_frequency
from searchkit.engine.scoring import Hits, top_docs
from searchkit.params import DEFAULT, Params
from searchkit.query.free_text import term_query

#: The fields whose document frequencies weigh a feedback word (the larger counts).
FEEDBACK_FIELDS = ("title", "abstract")


def expand_query(
    searcher: Searcher,
    query: Query,
    params: Params = DEFAULT,
    choose: Callable[[Hits, int], list[tuple[float, int]]] | None = None,
) -> Query:
    """RM3-style feedback: add the top terms of the best ``params.feedback_docs`` hits.

    Each term's weight is its relevance-model probability (its share of each feedback
    document, weighted by the document's share of the scores) times its idf; the
    ``params.feedback_terms`` best terms not already in the query are added as an
    :class:`Expansion` at ``params.feedback_weight`` of a typed word. Only a
    :class:`BestMatch` (free text) is expanded. ``choose`` picks the feedback documents
    from the query's hits (the pipeline's, ties by PMID; by default ties by docnum).
    """
    if not isinstance(query, BestMatch):
        return query
    top, hits = top_docs(searcher, query, params.feedback_docs, params)
    if choose is not None:
        top = choose(hits, params.feedback_docs)
    if not top:
        return query
    schema = searcher.schema
    analyzer = schema["abstract"].analyzer
    typed = {text for _, text in query.all_terms()}
    total_score = sum(score for score, _ in top) or 1.0
    model: dict[str, float] = {}
    for score, docnum in top:
        stored = searcher.stored_fields(docnum)
        text = " ".join(str(stored.get(f) or "") for f in ("title", "abstract"))
        words = [t.text for t in analyzer(text) if getattr(t, "kind", "word") != "part"]
        if not words:
            continue
        share = score / total_score / len(words)
        for w in words:
            model[w] = model.get(w, 0.0) + share
    candidates = {
        term: p for term, p in model.items() if term not in typed and any(map(str.isalpha, term))
    }
    best = _best_terms(searcher, candidates, params.feedback_terms)
    if not best:
        return query
    top_weight = best[0][0]
    extra = Expansion(
        [term_query(schema, term, params.feedback_weight * w / top_weight) for w, term in best]
    )
    return BestMatch([*query.subqueries, extra], boost=query.boost, required=query.required)


def _best_terms(searcher: Searcher, model: dict[str, float], k: int) -> list[tuple[float, str]]:
    """The ``k`` best (weight, term) of ``model`` (term: probability), best first: the
    probability times the idf of the term's document frequency (the larger of title's
    and abstract's). The counts are of live records only, as the scores' are, so that
    deleted copies of replaced records change neither the words added nor their
    weights. A live count reads the term's postings in every segment with deletions:
    only the terms that can be among the best are counted so (Whoosh's counts, which
    include the copies, bound each term's weight from both sides)."""
    n_docs = max(searcher.doc_count(), 1)
    leaves = [(SegmentArrays(sub.reader()), sub.reader()) for sub, _ in searcher.leaf_searchers()]
    dead = [reader.doc_count_all() - reader.doc_count() for _, reader in leaves]

    def weight(p: float, df: int) -> float:
        return p * math.log(1.0 + n_docs / (df + 1))

    bounds: list[tuple[float, float, str]] = []  # (lowest weight, highest weight, term)
    for term, p in model.items():
        most = least = 0
        for field in FEEDBACK_FIELDS:
            counts = [arrays.doc_frequency(field, term) for arrays, _ in leaves]
            most = max(most, sum(counts))
            least = max(least, sum(max(c - d, 0) for c, d in zip(counts, dead, strict=True)))
        bounds.append((weight(p, most), weight(p, least), term))
    if any(dead) and len(bounds) > k:
        # A term whose highest weight is below the k-th best lowest weight is not
        # among the best whatever its live count.
        floor = sorted((low for low, _, _ in bounds), reverse=True)[k - 1] if k else math.inf
        bounds = [b for b in bounds if b[1] >= floor]
    weighted = []
    for low, high, term in bounds:
        if low == high:  # no deleted copy can hold it
            weighted.append((low, term))
        else:
            df = max(live_doc_frequency(searcher, f, term) for f in FEEDBACK_FIELDS)
            weighted.append((weight(model[term], df), term))
    weighted.sort(reverse=True)
    return weighted[:k]
