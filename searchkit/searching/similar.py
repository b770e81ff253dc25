"""``similar PMID``: records like a given one (MoreLikeThis over the text fields).

Whoosh's ``more_like`` needs stored or vector fields; keywords and MeSH are
neither, so the text comes from the stored record and the key terms of each field
are chosen with Whoosh's own expansion model (``key_terms_from_text``, what
``more_like`` uses), weighted like free-text search and OR-ed together. The query is
ranked by :func:`searchkit.searching.pipeline.rank`, as every search is (ties by PMID).
"""

from __future__ import annotations

from whoosh import query as wq
from whoosh.searching import Results

from searchkit.engine.nodes import weighting
from searchkit.errors import RecordNotFoundError
from searchkit.index.documents import record_from_json
from searchkit.index.schema import TEXT_FIELDS
from searchkit.index.searchindex import SearchIndex
from searchkit.params import DEFAULT, Params
from searchkit.records import Record
from searchkit.searching.pipeline import rank
from searchkit.searching.search import SearchResult, build_hits, record_matched_terms


def _record_text(record: Record) -> str:
    """The record's searchable text; the title, keywords and MeSH count twice, as
    they say what the record is about."""
    focus = [record.title or "", *record.keywords, *(m.name for m in record.mesh)]
    return "\n".join([*focus, *focus, record.abstract or ""])


def similar(
    index: SearchIndex, pmid: str, *, limit: int | None = 10, params: Params = DEFAULT
) -> SearchResult:
    """The records most similar to ``pmid`` (never the record itself); all of them
    when ``limit`` is None."""
    if limit is not None and limit < 0:
        raise ValueError("limit must not be negative")
    searcher = index.shared_searcher(weighting(params))
    stored = searcher.document(pmid=pmid)
    if stored is None:
        raise RecordNotFoundError(f"no record with PMID {pmid} in the index at {index.path}")
    record = record_from_json(stored["record"])
    key_terms = searcher.key_terms_from_text(
        "abstract", _record_text(record), numterms=params.similar_terms
    )
    parts = [
        wq.Or([wq.Term(f, term, boost=w * score) for f, w in TEXT_FIELDS.items()])
        for term, score in key_terms
    ]
    if not parts:
        return SearchResult(query=f"similar to {pmid}", total=0)
    ranked = rank(index, wq.Or(parts), params, limit=limit, mask=wq.Term("pmid", pmid))
    results = Results(ranked.searcher, ranked.query, ranked.ranked)
    record_matched_terms(results, ranked.query, [d for _, d in ranked.ranked])
    hits = build_hits(results, 0, len(ranked.ranked))
    return SearchResult(query=f"similar to {pmid}", total=ranked.total, hits=hits)
