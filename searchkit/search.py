"""Running a query: rank, paginate, build hits with snippets."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from whoosh.searching import Results, Searcher

from searchkit import feedback, ranking, scoring, snippets
from searchkit.documents import record_from_json
from searchkit.errors import QueryError
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


def search(
    index: SearchIndex, query: str, *, limit: int = 10, offset: int = 0, expand: bool = False
) -> SearchResult:
    """Search ``index`` for ``query``; hits ``offset`` to ``offset + limit`` by rank.

    ``expand`` adds pseudo-relevance feedback terms (RM3-style, see
    :func:`feedback.expand_query`); it is off by default because it did not help on the
    judged SciFact queries (BENCHMARKS.md).

    >>> ix = SearchIndex.open(Path("ix"))                         # doctest: +SKIP
    >>> search(ix, "immune escape MHC", limit=3).hits[0].pmid      # doctest: +SKIP
    '34572009'
    """
    if limit < 0 or offset < 0:
        raise ValueError("limit and offset must not be negative")
    schema = index.whoosh_index.schema
    q = parse_query(schema, query, acronyms=index.acronyms)
    with index.whoosh_index.searcher(weighting=ranking.weighting()) as searcher:
        if expand:
            q = feedback.expand_query(searcher, q)
        top_n, matches = scoring.top_docs(searcher, q, offset + limit if limit else None)
        results = Results(searcher, q, top_n, docset=set(matches))
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
        total = len(matches)
    return SearchResult(query=query, total=total, hits=hits)


class Ranker:
    """Ranks many queries against one open searcher: ids and scores only, no records.

    Used by ``searchkit eval``. Ties are broken by id so that runs are reproducible.

    >>> with Ranker(ix) as r:                                   # doctest: +SKIP
    ...     r.rank("immune escape MHC", limit=3)
    [('34572009', 31.2), ...]
    """

    def __init__(self, index: SearchIndex, *, expand: bool = False) -> None:
        self.index = index
        self.expand = expand
        self._searcher: Searcher | None = None
        self._ids: dict[int, str] = {}

    def __enter__(self) -> Ranker:
        self._searcher = self.index.whoosh_index.searcher(weighting=ranking.weighting())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None

    def _id(self, docnum: int) -> str:
        pmid = self._ids.get(docnum)
        if pmid is None:
            assert self._searcher is not None
            pmid = self._ids[docnum] = str(self._searcher.stored_fields(docnum)["pmid"])
        return pmid

    def rank(self, query: str, *, limit: int) -> list[tuple[str, float]]:
        """The top ``limit`` (id, score) pairs for ``query``, best first; a query without
        searchable words ranks nothing."""
        if self._searcher is None:
            raise RuntimeError("use Ranker as a context manager")
        try:
            q = parse_query(self.index.whoosh_index.schema, query, acronyms=self.index.acronyms)
        except QueryError:
            return []
        if self.expand:
            q = feedback.expand_query(self._searcher, q)
        top_n, _ = scoring.top_docs(self._searcher, q, limit)
        pairs = [(self._id(docnum), float(score)) for score, docnum in top_n]
        pairs.sort(key=lambda p: (-p[1], p[0]))
        return pairs
