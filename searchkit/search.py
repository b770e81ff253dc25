"""Running a query: filter, rank or sort, paginate, build hits with snippets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from whoosh import query as wq
from whoosh import sorting
from whoosh.searching import Results, Searcher

from searchkit import ranking, snippets
from searchkit.documents import record_from_json
from searchkit.errors import OptionError, QueryError
from searchkit.index import SearchIndex
from searchkit.query import parse_query, parse_years, year_range
from searchkit.records import Record
from searchkit.suggest import did_you_mean

SORTS = ("relevance", "date")
#: A query matching fewer records than this gets a "Did you mean" check.
SUGGEST_BELOW = 3


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
    """A page of hits, the total number of matching records and, when the query
    matched little, a suggested correction."""

    query: str
    total: int
    hits: list[Hit] = field(default_factory=list)
    suggestion: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "total": self.total, "hits": [h.to_dict() for h in self.hits]}


@dataclass(frozen=True)
class Filters:
    """Restrictions applied on top of the query (they do not change the ranking)."""

    years: tuple[int | None, int | None] | None = None
    journal: str | None = None
    pubtype: str | None = None

    @classmethod
    def from_options(
        cls, year: str | None = None, journal: str | None = None, pubtype: str | None = None
    ) -> Filters:
        """From the CLI's ``--year FROM..TO``, ``--journal`` and ``--type`` values."""
        years = None
        if year is not None:
            try:
                years = parse_years(year)
            except ValueError as exc:
                raise OptionError(f"--year: {exc}") from None
        for name, value in (("--journal", journal), ("--type", pubtype)):
            if value is not None and not value.strip():
                raise OptionError(f"{name} needs a value")
        return cls(years=years, journal=journal, pubtype=pubtype)

    def query(self, index: SearchIndex) -> wq.Query | None:
        schema = index.whoosh_index.schema
        parts: list[wq.Query] = []
        if self.years is not None:
            parts.append(year_range(schema, self.years[0], self.years[1]))
        for fieldname, value in (("journal", self.journal), ("pubtype", self.pubtype)):
            if value:
                terms = list(schema[fieldname].process_text(value, mode="query"))
                parts.append(wq.Or([wq.Term(fieldname, t) for t in terms]))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else wq.And(parts)


def build_hits(
    results: Results, offset: int, limit: int, *, with_snippets: bool = True
) -> list[Hit]:
    """Hits ``offset`` to ``offset + limit`` of ``results``, with snippets unless
    ``with_snippets`` is false (exports that do not show them)."""
    snippets.configure(results)
    hits: list[Hit] = []
    for position, hit in enumerate(results[offset : offset + limit], start=offset + 1):
        text, spans = snippets.snippet(hit) if with_snippets else ("", ())
        hits.append(
            Hit(
                rank=position,
                score=_score(hit.score),
                record=record_from_json(hit["record"]),
                snippet=text,
                highlights=spans,
            )
        )
    return hits


def matching(searcher: Searcher, q: wq.Query, filter_q: wq.Query | None = None) -> int:
    """How many records match ``q`` and ``filter_q`` (Whoosh's ``len(results)``
    ignores the filter of a limited search)."""
    docs = set(searcher.docs_for_query(q))
    if filter_q is not None:
        docs &= set(searcher.docs_for_query(filter_q))
    return len(docs)


def _score(value: Any) -> float:
    """A hit's relevance score; with ``sort="date"`` Whoosh gives the sort key,
    whose last part is the negated score (``ScoreFacet``)."""
    if isinstance(value, tuple):
        value = -value[-1] if value else 0.0
    return float(value or 0.0)


def _run(
    searcher: Searcher,
    q: wq.Query,
    filters: wq.Query | None,
    limit: int,
    sort: str,
) -> Results:
    kwargs: dict[str, Any] = {"limit": max(limit, 1), "terms": True, "filter": filters}
    if sort == "date":
        kwargs["sortedby"] = sorting.MultiFacet(
            [sorting.FieldFacet("date", reverse=True), sorting.ScoreFacet()]
        )
    return searcher.search(q, **kwargs)


def search(
    index: SearchIndex,
    query: str,
    *,
    limit: int = 10,
    offset: int = 0,
    filters: Filters | None = None,
    sort: str = "relevance",
    suggest: bool = True,
    with_snippets: bool = True,
) -> SearchResult:
    """Search ``index`` for ``query``; hits ``offset`` to ``offset + limit`` by rank
    (or newest first with ``sort="date"``), restricted by ``filters``.

    >>> ix = SearchIndex.open(Path("ix"))                         # doctest: +SKIP
    >>> search(ix, "immune escape MHC", limit=3).hits[0].pmid      # doctest: +SKIP
    '34572009'
    """
    if limit < 0 or offset < 0:
        raise ValueError("limit and offset must not be negative")
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}")
    schema = index.whoosh_index.schema
    q = parse_query(schema, query)
    filter_q = filters.query(index) if filters else None
    with index.whoosh_index.searcher(weighting=ranking.weighting()) as searcher:
        results = _run(searcher, q, filter_q, offset + limit, sort)
        hits = build_hits(results, offset, limit, with_snippets=with_snippets) if limit else []
        total = matching(searcher, q, filter_q)
        suggestion = None
        if suggest and total < SUGGEST_BELOW:
            suggestion = did_you_mean(searcher, query, _counter(searcher, filter_q, total))
    return SearchResult(query=query, total=total, hits=hits, suggestion=suggestion)


def _counter(searcher: Searcher, filter_q: wq.Query | None, total: int) -> Callable[[str], bool]:
    """Whether a candidate correction finds more records than the original query."""

    def better(candidate: str) -> bool:
        try:
            q = parse_query(searcher.schema, candidate)
        except QueryError:  # a correction that does not parse is not offered
            return False
        return matching(searcher, q, filter_q) > total

    return better


def count(index: SearchIndex, query: str, *, filters: Filters | None = None) -> int:
    """The number of records matching ``query`` and ``filters``."""
    return search(index, query, limit=0, filters=filters, suggest=False).total
