"""Running a query: rank, paginate, build hits with snippets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from searchkit import ranking, snippets
from searchkit.documents import record_from_json
from searchkit.index import SearchIndex
from searchkit.query import parse_query
from searchkit.records import Record


@dataclass(frozen=True)
class Hit:
    """One ranked result."""

    rank: int
    score: float
    record: Record
    snippet: str
    highlights: tuple[tuple[int, int], ...] = ()

    @property
    def pmid(self) -> str:
        return self.record.pmid

    def to_dict(self) -> dict[str, Any]:
        r = self.record
        return {
            "rank": self.rank,
            "pmid": r.pmid,
            "score": round(self.score, 6),
            "title": r.title,
            "year": r.year,
            "journal": r.journal,
            "authors": [a.name for a in r.authors],
            "doi": r.doi,
            "snippet": self.snippet,
            "highlights": [list(span) for span in self.highlights],
        }


@dataclass(frozen=True)
class SearchResult:
    """A page of hits and the total number of matching records."""

    query: str
    total: int
    hits: list[Hit] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "total": self.total, "hits": [h.to_dict() for h in self.hits]}


def search(index: SearchIndex, query: str, *, limit: int = 10, offset: int = 0) -> SearchResult:
    """Search ``index`` for ``query``; hits ``offset`` to ``offset + limit`` by rank.

    >>> ix = SearchIndex.open(Path("ix"))                         # doctest: +SKIP
    >>> search(ix, "immune escape MHC", limit=3).hits[0].pmid      # doctest: +SKIP
    '34572009'
    """
    if limit < 0 or offset < 0:
        raise ValueError("limit and offset must not be negative")
    schema = index.whoosh_index.schema
    q = parse_query(schema, query)
    with index.whoosh_index.searcher(weighting=ranking.weighting()) as searcher:
        results = searcher.search(q, limit=offset + limit if limit else None, terms=True)
        snippets.configure(results)
        hits: list[Hit] = []
        for position, hit in enumerate(results[offset : offset + limit], start=offset + 1):
            text, spans = snippets.snippet(hit)
            hits.append(
                Hit(
                    rank=position,
                    score=float(hit.score or 0.0),
                    record=record_from_json(hit["record"]),
                    snippet=text,
                    highlights=spans,
                )
            )
        total = len(results)
    return SearchResult(query=query, total=total, hits=hits)
