"""``similar PMID``: records like a given one (MoreLikeThis over the text fields).

Whoosh's ``more_like`` needs stored or vector fields; keywords and MeSH are
neither, so the text comes from the stored record and the key terms of each field
are chosen with Whoosh's own expansion model (``key_terms_from_text``, what
``more_like`` uses), weighted like free-text search and OR-ed together.
"""

from __future__ import annotations

from whoosh import query as wq

from searchkit.errors import RecordNotFoundError
from searchkit.index.documents import record_from_json
from searchkit.index.schema import TEXT_FIELDS
from searchkit.index.searchindex import SearchIndex
from searchkit.query import free_text as ranking
from searchkit.records import Record
from searchkit.searching.search import SearchResult, build_hits, matching

#: Key terms taken from the source record.
KEY_TERMS = 25


def _record_text(record: Record) -> str:
    """The record's searchable text; the title, keywords and MeSH count twice, as
    they say what the record is about."""
    focus = [record.title or "", *record.keywords, *(m.name for m in record.mesh)]
    return "\n".join([*focus, *focus, record.abstract or ""])


def similar(index: SearchIndex, pmid: str, *, limit: int = 10) -> SearchResult:
    """The records most similar to ``pmid`` (never the record itself)."""
    if limit < 0:
        raise ValueError("limit must not be negative")
    with index.whoosh_index.searcher(weighting=ranking.weighting()) as searcher:
        stored = searcher.document(pmid=pmid)
        if stored is None:
            raise RecordNotFoundError(f"no record with PMID {pmid} in the index at {index.path}")
        record = record_from_json(stored["record"])
        key_terms = searcher.key_terms_from_text(
            "abstract", _record_text(record), numterms=KEY_TERMS
        )
        parts = [
            wq.Or([wq.Term(f, term, boost=w * score) for f, w in TEXT_FIELDS.items()])
            for term, score in key_terms
        ]
        if not parts:
            return SearchResult(query=f"similar to {pmid}", total=0)
        q = wq.Or(parts)
        itself = wq.Term("pmid", pmid)
        results = searcher.search(q, limit=max(limit, 1), terms=True, mask=itself)
        hits = build_hits(results, 0, limit) if limit else []
        total = matching(searcher, wq.AndNot(q, itself))
    return SearchResult(query=f"similar to {pmid}", total=total, hits=hits)
