"""Pseudo-relevance feedback (``--expand``): RM3-style query expansion.

Off by default: on the judged SciFact queries it lowered nDCG@10 (BENCHMARKS.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from whoosh.query import Query
from whoosh.searching import Searcher

from searchkit.engine.nodes import BestMatch, Expansion
from searchkit.engine.scoring import Hits, top_docs
from searchkit.params import DEFAULT, Params
from searchkit.query.free_text import term_query


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
    n_docs = max(searcher.doc_count_all(), 1)
    weighted = []
    for term, p in model.items():
        if term in typed or not any(c.isalpha() for c in term):
            continue
        df = max(searcher.doc_frequency(f, term) for f in ("title", "abstract"))
        weighted.append((p * math.log(1.0 + n_docs / (df + 1)), term))
    weighted.sort(reverse=True)
    best = weighted[: params.feedback_terms]
    if not best:
        return query
    top_weight = best[0][0]
    extra = Expansion(
        [term_query(schema, term, params.feedback_weight * w / top_weight) for w, term in best]
    )
    return BestMatch([*query.subqueries, extra], boost=query.boost, required=query.required)
