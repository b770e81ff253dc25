"""Running a query: filter, rank or sort, paginate, build hits with snippets."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, overload

from whoosh import query as wq
from whoosh.reading import ReaderClosed
from whoosh.searching import Results, Searcher

from searchkit.engine import scoring, sets
from searchkit.engine.docgroup import DocGroup
from searchkit.engine.joined import query_scope
from searchkit.engine.phrases import PositionalPhrase
from searchkit.engine.postings import release_pages
from searchkit.errors import IndexClosedError, OptionError, QueryError
from searchkit.index.documents import record_from_json
from searchkit.index.searchindex import SearchIndex
from searchkit.index.vocabulary import load as load_vocabulary
from searchkit.params import DEFAULT, Params
from searchkit.query.allwords import all_words
from searchkit.query.compile import parse_query, parse_years, year_range
from searchkit.query.parser import parse
from searchkit.query.syntax import FreeText, Node
from searchkit.records import Record
from searchkit.searching import snippets
from searchkit.searching.pipeline import SORTS, MeaningProvider, MeaningStage, pmids_of, rank

#: A query matching fewer records than this gets a "Did you mean" check.
SUGGEST_BELOW = 3
#: A page of more hits than this (an export of every hit) is a :class:`LazyHits`: each
#: hit's record is read when the hit is read, and none is kept, so that the memory of
#: an export does not grow with its hits (65,018 hits of a 1,000,000-record index
#: held 2 GB as a list). Smaller pages are lists.
LIST_HITS_UP_TO = 1000
#: A :class:`LazyHits`' PMIDs are read from the PMID column this many at a time.
PMID_CHUNK = 4096
#: Iterating a :class:`LazyHits` gives back the index's mapped pages every this many hits.
RELEASE_EVERY = 512


@dataclass(frozen=True)
class Hit:
    """One ranked result."""

    rank: int
    score: float
    record: Record
    snippet: str
    highlights: tuple[tuple[int, int], ...] = ()
    #: Whether the record has only some of the free-text words: ranked after the
    #: records with all of them, and not counted in the result's ``total``.
    partial: bool = False

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
            "partial": self.partial,
        }


@contextmanager
def _index_open() -> Iterator[None]:
    """Hits of a :class:`LazyHits` read after their index was closed: one clear error."""
    try:
        yield
    except ReaderClosed:
        raise IndexClosedError(
            "the index was closed before these hits were read; read them first"
        ) from None


class LazyHits(Sequence[Hit]):
    """The hits of a long page, each built (its record read from the index, its
    snippet made) when it is read, and not kept: iterating goes over the index's stored
    records one at a time. The index must stay open while they are read."""

    def __init__(
        self,
        results: Results,
        offset: int,
        size: int,
        *,
        with_snippets: bool,
        partial_from: int | None,
    ) -> None:
        self._results = results
        self._offset = offset
        self._size = size
        self._with_snippets = with_snippets
        self._partial_from = partial_from

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, i: int) -> Hit: ...

    @overload
    def __getitem__(self, i: slice) -> list[Hit]: ...

    def __getitem__(self, i: int | slice) -> Hit | list[Hit]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._size))]
        if i < 0:
            i += self._size
        if not 0 <= i < self._size:
            raise IndexError(f"hit {i} of {self._size}")
        return self._hit(self._offset + i)

    def __iter__(self) -> Iterator[Hit]:
        reader = self._results.searcher.reader()
        for position in range(self._offset, self._offset + self._size):
            if position > self._offset and not (position - self._offset) % RELEASE_EVERY:
                release_pages(reader)  # the stored records read so far
            yield self._hit(position)

    def _hit(self, position: int) -> Hit:
        with _index_open():
            return _make_hit(
                self._results[position], position + 1, self._with_snippets, self._partial_from
            )

    def pmids(self) -> Iterator[str]:
        """The hits' PMIDs in order, from the index's PMID column, :data:`PMID_CHUNK`
        at a time: no record is read (an export of PMIDs only)."""
        ranked = self._results.top_n
        searcher = self._results.searcher
        end = self._offset + self._size
        for start in range(self._offset, end, PMID_CHUNK):
            docnums = [d for _, d in ranked[start : min(start + PMID_CHUNK, end)]]
            with _index_open():
                pmids = pmids_of(searcher, docnums)
            yield from pmids

    @property
    def counted(self) -> int:
        """How many of the hits are counted in the total (not partial matches)."""
        if self._partial_from is None:
            return self._size
        return max(0, min(self._size, self._partial_from - self._offset))


@dataclass(frozen=True)
class SearchResult:
    """A page of hits, the total number of matching records (those with every word of
    the free text) and, when the query matched little, a suggested correction.

    ``hits`` is a list, or for a page of more than :data:`LIST_HITS_UP_TO` hits a
    :class:`LazyHits` read from the open index."""

    query: str
    total: int
    hits: Sequence[Hit] = field(default_factory=list)
    suggestion: str | None = None
    #: Things the user should know about how the ranking was made (one line each).
    notes: tuple[str, ...] = ()
    #: Records with only some of the free-text words (not in ``total``).
    partial_total: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "total": self.total,
            "partial_total": self.partial_total,
            "hits": [h.to_dict() for h in self.hits],
        }

    @property
    def counted(self) -> int:
        """How many of the hits are counted in ``total`` (not partial matches)."""
        if isinstance(self.hits, LazyHits):
            return self.hits.counted
        return sum(not h.partial for h in self.hits)

    def pmids(self) -> Iterator[str]:
        """The hits' PMIDs in order (a :class:`LazyHits`' from the PMID column, without
        reading their records)."""
        if isinstance(self.hits, LazyHits):
            return self.hits.pmids()
        return (h.pmid for h in self.hits)


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
        schema = index.schema
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
    results: Results,
    offset: int,
    limit: int,
    *,
    with_snippets: bool = True,
    partial_from: int | None = None,
) -> list[Hit]:
    """Hits ``offset`` to ``offset + limit`` of ``results``, with snippets unless
    ``with_snippets`` is false (exports that do not show them); those ranked after
    the first ``partial_from`` are partial matches."""
    return [
        _make_hit(hit, position, with_snippets, partial_from)
        for position, hit in enumerate(results[offset : offset + limit], start=offset + 1)
    ]


def _make_hit(hit: Any, position: int, with_snippets: bool, partial_from: int | None) -> Hit:
    """A :class:`Hit` from Whoosh's hit at rank ``position`` (1-based)."""
    text, spans = snippets.snippet(hit) if with_snippets else ("", ())
    return Hit(
        rank=position,
        score=_score(hit.score),
        record=record_from_json(hit["record"]),
        snippet=text,
        highlights=spans,
        partial=partial_from is not None and position > partial_from,
    )


def matching(searcher: Searcher, q: wq.Query, filter_q: wq.Query | None = None) -> int:
    """How many records match ``q`` and ``filter_q``, partial matches included
    (Whoosh's ``len(results)`` ignores the filter of a limited search)."""
    docs = scoring.matching_docs(searcher, q)  # the records alone: nothing scored
    if filter_q is not None:
        docs = docs[sets.contains(scoring.matching_docs(searcher, filter_q), docs)]
    return len(docs)


def _score(value: Any) -> float:
    return float(value or 0.0)


def query_terms(q: wq.Query, reader: Any) -> tuple[dict[tuple[str, str], None], snippets.Phrases]:
    """The terms of ``q``'s leaves in the fields snippets highlight, wildcards expanded
    and the words of phrases included, in order (Whoosh's ``existing_terms`` would keep
    only those of the first field it meets: its loop variable shadows its field
    filter); and, read in the same walk, the phrases of ``q`` in those fields (quoted, a
    compound's parts side by side, an acronym's long form, pairs of query words near
    each other) with the terms ``q`` searches only inside them."""
    found: dict[tuple[str, str], None] = {}
    phrases: dict[tuple[tuple[frozenset[str], ...], int], None] = {}
    alone: set[str] = set()
    for leaf in q.leaves():
        phrase = isinstance(leaf, wq.Phrase | PositionalPhrase)
        if phrase and leaf.fieldname in snippets.MATCH_FIELDS:
            phrases[_phrase_slots(leaf)] = None
        for fieldname, raw in leaf.expanded_terms(reader, phrases=True):
            if fieldname in snippets.MATCH_FIELDS:
                text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
                found[(fieldname, text)] = None
                if not phrase:
                    alone.add(text)
    in_phrases = {term for slots, _ in phrases for slot in slots for term in slot}
    return found, snippets.Phrases(tuple(phrases), frozenset(in_phrases - alone))


def _phrase_slots(leaf: wq.Phrase | PositionalPhrase) -> tuple[tuple[frozenset[str], ...], int]:
    """A phrase's slots (the terms that can fill each, in order) and its reach in units
    (:class:`snippets.Phrases`)."""
    if isinstance(leaf, PositionalPhrase):
        slots = tuple(frozenset(slot.terms()) for slot in leaf.slots)
        # A slot may be several words ("IL 10" for a typed IL10): its widest form.
        widths = sum(max(width for _, width in slot.forms) for slot in leaf.slots)
        return slots, widths + sum(slot.gap for slot in leaf.slots)
    words = [str(w) for w in leaf.words]
    return tuple(frozenset((w,)) for w in words), len(words) + int(leaf.slop)


def record_matched_terms(results: Results, q: wq.Query, docnums: list[int]) -> None:
    """Which query terms each of ``docnums`` contains, as Whoosh's ``terms=True`` would
    record them (the snippets highlight these), and the query's phrases
    (:func:`query_terms`); only the shown hits are looked up, in the posting arrays
    the ranking has just read (cached)."""
    searcher = results.searcher
    terms, results.phrases = query_terms(q, searcher.reader())
    docterms: dict[int, list[tuple[str, str]]] = {}
    termdocs: dict[tuple[str, str], set[int]] = {}
    group = DocGroup(searcher, docnums)
    for term in terms:
        found = group.containing(*term)
        termdocs[term] = found
        for docnum in found:
            docterms.setdefault(docnum, []).append(term)
    results.docterms = docterms
    results.termdocs = termdocs


@query_scope()
def search(
    index: SearchIndex,
    query: str,
    *,
    limit: int | None = 10,
    offset: int = 0,
    filters: Filters | None = None,
    sort: str = "relevance",
    suggest: bool = True,
    with_snippets: bool = True,
    expand: bool = False,
    semantic_rank: bool | None = None,
    refs: Mapping[int, str] | None = None,
    partial: bool = True,
    params: Params = DEFAULT,
    meaning: MeaningProvider | None = None,
) -> SearchResult:
    """Search ``index`` for ``query``; hits ``offset`` to ``offset + limit`` (every hit
    when ``limit`` is None) by rank (or newest first with ``sort="date"``), restricted
    by ``filters``.

    ``total`` counts the records with every word of the query's free text
    (:func:`searchkit.query.allwords.all_words`). Records with only some of the words come
    after all of those, marked ``partial`` and counted in ``partial_total``; with
    ``partial=False`` they are left out (exports hold what was counted).

    ``expand`` adds pseudo-relevance feedback terms (RM3-style, see
    :func:`feedback.expand_query`); it is off by default because it did not help on the
    judged SciFact queries (BENCHMARKS.md).

    ``meaning``: the optional semantic stage (:data:`searchkit.semantic.stage.PROVIDER`;
    ``searchkit.search`` passes it): when the index has sentence vectors (``searchkit
    embed``), the top candidates are re-scored by meaning too. ``semantic_rank``: None does
    so when it can, True requires it, False turns it off. Without ``meaning``, words only.

    ``refs``: search number → query, what ``#N`` in ``query`` stands for (the index's
    :class:`searchkit.index.history.History`, or the lines of a strategy).

    ``params``: the ranking's tuning values (:mod:`searchkit.params`). The ranking itself
    is :func:`searchkit.searching.pipeline.rank`'s, as for ``eval`` and ``similar``.

    >>> ix = SearchIndex.open(Path("ix"))                         # doctest: +SKIP
    >>> search(ix, "immune escape MHC", limit=3).hits[0].pmid      # doctest: +SKIP
    '34572009'
    """
    if (limit is not None and limit < 0) or offset < 0:
        raise ValueError("limit and offset must not be negative")
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}")
    node = parse(query, refs)
    notes: list[str] = []
    stage = None
    if meaning is None:
        if semantic_rank:
            raise ValueError("semantic_rank=True needs the semantic stage (meaning=...)")
    elif sort == "relevance" and limit != 0 and meaning.wants(node):
        stage, note = meaning.open(index.path, semantic_rank)
        notes.extend([note] if note else [])
    ranking = rank(
        index,
        node,
        replace(params, expand=True) if expand else params,
        limit=None if limit is None else offset + limit,
        sort=sort,
        filter_query=filters.query(index) if filters else None,
        partial=partial,
        stage=stage,
    )
    notes[:0] = ranking.notes
    note = meaning.missing_note(ranking.missing_vectors) if meaning and stage else None
    notes.extend([note] if note else [])
    searcher, q, top_n = ranking.searcher, ranking.query, ranking.ranked
    results = Results(searcher, q, top_n)
    results._total = ranking.total  # what len(results) reports; the whole set is not kept
    if with_snippets:
        record_matched_terms(results, q, [d for _, d in top_n[offset:]])
    page = len(top_n) - offset
    hits: Sequence[Hit] = []
    if page > LIST_HITS_UP_TO:
        hits = LazyHits(
            results, offset, page, with_snippets=with_snippets, partial_from=ranking.total
        )
    elif page > 0:
        hits = build_hits(
            results, offset, page, with_snippets=with_snippets, partial_from=ranking.total
        )
    suggestion = None
    # The records the query counts, not those with only some of its words: one misspelt
    # word beside words that match counts none, however many records have the others.
    if suggest and ranking.total < SUGGEST_BELOW:
        filter_q = filters.query(index) if filters else None
        vocabulary = index.derived(
            "vocabulary", lambda: load_vocabulary(index.path, searcher.reader())
        )
        better = _counter(searcher, filter_q, ranking.total)
        from searchkit.searching.suggest import did_you_mean  # only for few matches

        suggestion = did_you_mean(searcher, query, better, vocabulary)
    return SearchResult(
        query=query,
        total=ranking.total,
        hits=hits,
        suggestion=suggestion,
        notes=tuple(notes),
        partial_total=ranking.partial_total,
    )


def _counter(searcher: Searcher, filter_q: wq.Query | None, total: int) -> Callable[[str], bool]:
    """Whether a candidate correction counts more records than the original query's
    ``total`` (records with every free-text word, as a search counts them)."""

    def better(candidate: str) -> bool:
        try:
            q = parse_query(searcher.schema, candidate)
        except QueryError:  # a correction that does not parse is not offered
            return False
        return matching(searcher, all_words(q), filter_q) > total

    return better


def count(index: SearchIndex, query: str, *, filters: Filters | None = None) -> int:
    """The number of records matching ``query`` and ``filters``."""
    return search(index, query, limit=0, filters=filters, suggest=False).total


class Ranker:
    """Ranks many queries against one index: ids and scores only, no records.

    Used by ``searchkit eval``; ranks through :func:`searchkit.searching.pipeline.rank`, as
    :func:`search` does (ties by PMID). With ``natural=True`` every query is read as
    natural-language free text (as judged questions are written): ``AND``/``OR``/``NOT``,
    quotes, brackets, field tags and ``*`` are plain words or punctuation, never query
    syntax.

    >>> with Ranker(ix) as r:                                   # doctest: +SKIP
    ...     r.rank("immune escape MHC", limit=3)
    [('34572009', 31.2), ...]
    """

    def __init__(
        self,
        index: SearchIndex,
        *,
        params: Params = DEFAULT,
        semantic_rank: bool | None = None,
        natural: bool = False,
        meaning: MeaningProvider | None = None,
    ) -> None:
        self.index = index
        self.params = params
        self.natural = natural
        #: Why the last query ranked nothing without being searched (None: it was).
        self.error: str | None = None
        self.semantic_rank = semantic_rank
        self.meaning = meaning
        self._open = False
        self._stage: MeaningStage | None = None
        #: How many ranked queries had candidates without a sentence vector.
        self.missing_vectors = 0
        #: Why semantic re-ranking is off although the index has vectors, if it is.
        self.note: str | None = None
        #: Whether ranking is by words alone because the index has no vectors.
        self.words_only = False

    def __enter__(self) -> Ranker:
        if self.meaning is not None:
            self._stage, self.note = self.meaning.open(self.index.path, self.semantic_rank)
        elif self.semantic_rank:
            raise ValueError("semantic_rank=True needs the semantic stage (meaning=...)")
        self.words_only = self._stage is None and self.note is None
        self._open = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._open = False

    def rank(self, query: str, *, limit: int) -> list[tuple[str, float]]:
        """The top ``limit`` (id, score) pairs for ``query``, best first; a query without
        searchable words (or, unless ``natural``, a malformed one) ranks nothing and
        :attr:`error` says why."""
        if not self._open:
            raise RuntimeError("use Ranker as a context manager")
        self.error = None
        try:
            node: Node = FreeText(tuple(query.split()), 1) if self.natural else parse(query)
            ranked = rank(self.index, node, self.params, limit=limit, stage=self._stage)
        except QueryError as exc:
            self.error = str(exc)
            return []
        self.missing_vectors += ranked.missing_vectors > 0
        return ranked.pairs()
