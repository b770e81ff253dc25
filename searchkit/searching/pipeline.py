"""The one ranking path: a query, its ranked documents and their scores.

:func:`rank` is the only code that ranks: ``search`` (records, snippets, filters,
paging), ``eval``, ``similar`` and the Python API all call it. Its stages, in order:

1. **parse**: query text → syntax tree (:func:`searchkit.query.parser.parse`), unless
   the caller gives a tree (``eval`` reads questions as plain free text);
2. **compile**: tree → Whoosh query with the index's acronyms and MeSH tree
   (:func:`searchkit.query.compile.to_whoosh`);
3. **feedback** (``params.expand``): RM3 terms of the first hits
   (:mod:`searchkit.searching.feedback`);
4. **first stage**: BM25F, coordination and the proximity bonus of the
   ``params.proximity_depth`` best, term-at-a-time (:mod:`searchkit.engine.scoring`);
5. **filters**: restrictions that do not change the ranking;
6. **counted first**: the records with every free-text word, then those with only some
   (:mod:`searchkit.query.allwords`), each part ranked by the next stages;
7. **second stage**: re-scoring the best ``params.rerank_depth`` by query-term evidence
   (:mod:`searchkit.searching.rerank`);
8. **third stage** (optional): re-scoring by meaning, through a :class:`MeaningStage`
   the caller passes in (this module does not import the semantic modules);
9. **cut** to the number asked for.

Ties are broken by PMID at every cut and sort, never by document number, so a ranking
does not depend on how the index happens to be split into segments.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

import numpy as np
from numpy.typing import NDArray
from whoosh import query as wq
from whoosh.columns import ColumnReader, MultiColumnReader
from whoosh.reading import IndexReader
from whoosh.searching import Searcher

from searchkit.engine import pruning, scoring, sets
from searchkit.engine.joined import query_scope
from searchkit.engine.keycolumn import column_keys
from searchkit.engine.nodes import BestMatch, weighting
from searchkit.engine.postings import Ints
from searchkit.index.mesh import MeshContext, unmatched_notes
from searchkit.index.searchindex import SearchIndex
from searchkit.params import DEFAULT, Params
from searchkit.query.allwords import all_words
from searchkit.query.compile import to_whoosh
from searchkit.query.parser import parse
from searchkit.query.syntax import Node
from searchkit.searching import feedback, rerank
from searchkit.searching.value_notes import value_notes

if TYPE_CHECKING:  # the embed command's, and a note's: not loaded by a search
    from searchkit.index.meshwords import MeshWords
    from searchkit.searching.embedding import EmbedProgress, EmbedReport

SORTS = ("relevance", "date")
#: Up to this many tied documents, their PMIDs are read from the stored records; more,
#: and the PMIDs of the whole index are read once (from the ``pmid`` terms) and kept.
STORED_KEY_LIMIT = 2_000

Ranked = list[tuple[float, int]]


class Rescored(Protocol):
    """What a :class:`MeaningStage` returns: candidates re-scored, best first, and how
    many of them it could not score (no vector)."""

    @property
    def ranked(self) -> Ranked: ...

    @property
    def missing(self) -> int: ...


class MeaningStage(Protocol):
    """The optional third stage: re-scores (score, docnum) candidates, best first, for
    the query ``node`` (what it encodes of it is its own business)."""

    def rescore(
        self, searcher: Searcher, node: Node, candidates: Ranked, params: Params
    ) -> Rescored: ...


class MeaningProvider(Protocol):
    """Where a :class:`MeaningStage` comes from: the optional semantic stage
    (:data:`searchkit.semantic.stage.PROVIDER`), handed to :func:`searchkit.searching.search.search`
    and :class:`~searchkit.searching.search.Ranker` by their caller, so that searching
    never imports it."""

    def wants(self, node: Node) -> bool:
        """Whether the query has words the stage can rank by meaning."""
        ...

    def open(self, index_path: Path, wanted: bool | None) -> tuple[MeaningStage | None, str | None]:
        """The stage for the index at ``index_path`` and a note for the user; ``wanted``:
        None uses it when it can, True requires it (raises otherwise), False turns it off."""
        ...

    def missing_note(self, missing: int) -> str | None:
        """What to tell the user when ``missing`` candidates had nothing to rank by."""
        ...


class MeaningEmbedder(MeaningProvider, Protocol):
    """The semantic stage that also stores the vectors it ranks by (``searchkit
    embed``): :data:`searchkit.semantic.stage.PROVIDER`, handed to a backend's
    ``embed``."""

    def embed(
        self,
        index: SearchIndex,
        model: Path | None,
        *,
        threads: int,
        progress: EmbedProgress | None,
        checkpoint: int,
    ) -> EmbedReport:
        """Store a sentence vector for each record of ``index`` without a current one
        (``searchkit embed``), saving every ``checkpoint`` records."""
        ...


class Ranking(NamedTuple):
    """A query's ranked documents: the first ``limit`` (score, docnum) pairs, best first
    (the records with every free-text word, then those with some), and the counts."""

    #: The compiled (and, with feedback, expanded) Whoosh query: what snippets highlight.
    query: wq.Query
    #: The searcher the document numbers belong to (the index's shared one).
    searcher: Searcher
    ranked: Ranked
    #: Records with every free-text word (what a search counts), filters applied.
    total: int
    #: Records with only some of the words.
    partial_total: int
    #: Every matching record, partial ones included.
    matched: int
    #: Candidates the meaning stage had no vector for.
    missing_vectors: int = 0
    #: What the user should know about how the query was compiled (one line each).
    notes: tuple[str, ...] = ()

    def ids(self) -> list[str]:
        """The PMIDs, in rank order."""
        return pmids_of(self.searcher, [d for _, d in self.ranked])

    def pairs(self) -> list[tuple[str, float]]:
        """(PMID, score) in rank order."""
        pmids = pmids_of(self.searcher, [d for _, d in self.ranked])
        return [(pmid, float(s)) for pmid, (s, _) in zip(pmids, self.ranked, strict=True)]


def compile_query(
    index: SearchIndex, node: Node, params: Params = DEFAULT
) -> tuple[wq.Query, MeshContext]:
    """The Whoosh query of ``node`` (stage 2) and the MeSH context that says what MeSH
    compilation has to tell the user."""
    mesh = MeshContext(lambda: index.mesh_tree)
    q = to_whoosh(index.schema, node, acronyms=index.query_acronyms, mesh=mesh, params=params)
    return q, mesh


@query_scope()
def rank(
    index: SearchIndex,
    query: str | Node | wq.Query,
    params: Params = DEFAULT,
    *,
    limit: int | None = None,
    sort: str = "relevance",
    filter_query: wq.Query | None = None,
    mask: wq.Query | None = None,
    partial: bool = True,
    stage: MeaningStage | None = None,
    refs: Mapping[int, str] | None = None,
) -> Ranking:
    """Rank ``query`` against ``index``: the first ``limit`` documents (all when None).

    ``query``: search text (parsed with ``refs`` for ``#N``), a syntax tree, or an
    already compiled Whoosh query (``similar``). ``filter_query`` restricts the
    matches, ``mask`` removes some; the proximity bonus goes to the best of the
    documents left (as for a filter written in the query). ``partial=False`` leaves
    out the records with only some of the free-text words. ``sort="date"`` orders
    newest first (then by score). ``stage`` re-scores by meaning."""
    if limit is not None and limit < 0:
        raise ValueError("limit must not be negative")
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}")
    notes: list[str] = []
    node: Node | None = None
    if isinstance(query, wq.Query):
        q = query
        searcher = index.shared_searcher(weighting(params))
    else:
        node = parse(query, refs) if isinstance(query, str) else query
        q, mesh = compile_query(index, node, params)
        notes.extend(mesh.notes)
        searcher = index.shared_searcher(weighting(params))
        reader = searcher.reader()
        notes.extend(
            unmatched_notes(
                reader,
                mesh,
                lambda: index.derived("meshwords", lambda: _mesh_words(index, reader)),
            )
        )
        notes.extend(value_notes(reader, index.schema, node))
    keys = _Keys(index, searcher)
    if params.expand:
        q = feedback.expand_query(searcher, q, params, lambda hits, n: top(hits, n, keys))
    top_of = None
    if params.prune and limit is not None and sort == "relevance":
        top_of = _top_of(q, params)
    if top_of is not None:
        assert limit is not None
        free, filters = top_of
        within = _within(searcher, filters, filter_query, mask, params)
        counted, rest, total, partial_total = _counted_top(
            searcher, free, params, limit, partial, within
        )
        if filters:  # the filters' constant scores added, as the And adds them
            counted, rest = (
                scoring.Hits(h.docnums, pruning.filtered_scores(q, free, h.scores))
                for h in (counted, rest)
            )
    elif params.prune:  # the records counted found with the same evaluators
        strict = all_words(q)
        allowed, removed = _filtered(searcher, filter_query, mask, params)
        matches, full = scoring.evaluate_counted(
            searcher, q, None if strict is q else strict, params, within=allowed, without=removed
        )
        matches = _kept(matches, allowed, removed)
        if full is None:
            counted, rest = matches, matches.restrict(_NONE)
        else:
            counted, rest = matches.restrict(full), matches.exclude(full)
        total, partial_total = len(counted), len(rest)
    else:
        allowed, removed = _filtered(searcher, filter_query, mask, params)
        matches = _kept(
            scoring.evaluate(searcher, q, params, within=allowed, without=removed),
            allowed,
            removed,
        )
        counted, rest = _counted(searcher, q, matches, params)
        total, partial_total = len(counted), len(rest)
    parts = [counted, rest] if partial else [counted]
    available = total + partial_total if partial else total
    wanted = available if limit is None else min(limit, available)
    ranked: Ranked = []
    missing = 0
    for part in parts:
        need = wanted - len(ranked)
        if need <= 0:
            break
        best, lacking = _rank_part(searcher, q, node, part, need, sort, stage, params, keys)
        if ranked and best and sort == "relevance":
            # Scores shifted below the earlier part's lowest: score order is rank order.
            shift = best[0][0] - ranked[-1][0] + params.partial_gap
            if shift > 0:
                best = [(score - shift, docnum) for score, docnum in best]
        ranked.extend(best)
        missing += lacking
    return Ranking(
        query=q,
        searcher=searcher,
        ranked=ranked,
        total=total,
        partial_total=partial_total,
        matched=total + partial_total,
        missing_vectors=missing,
        notes=tuple(notes),
    )


def _top_of(q: wq.Query, params: Params) -> tuple[BestMatch, list[wq.Query]] | None:
    """The free text and the filters of a query whose ranking top-k pruning gives
    (:mod:`searchkit.engine.pruning`): free text alone, or ANDed with filters that
    score every record alike; None for any other."""
    if pruning.prunable(q, params):
        assert isinstance(q, BestMatch)
        return q, []
    return pruning.with_filters(q, params)


def _within(
    searcher: Searcher,
    filters: list[wq.Query],
    filter_query: wq.Query | None,
    mask: wq.Query | None,
    params: Params,
) -> Ints | None:
    """The records the query's ``filters``, ``filter_query`` and ``mask`` leave
    (top-level numbers, ascending; None: every record)."""
    allowed, removed = _filtered(searcher, filter_query, mask, params)
    if filters:
        kept = scoring.matching_docs(
            searcher, filters[0] if len(filters) == 1 else wq.And(filters), params
        )
        allowed = kept if allowed is None else kept[sets.contains(allowed, kept)]
    if removed is not None and len(removed):
        if allowed is None:
            # Every document but those (deleted ones too: they match nothing).
            every = np.ones(searcher.doc_count_all(), dtype=np.bool_)
            every[removed] = False
            allowed = np.flatnonzero(every)
        else:
            allowed = allowed[~sets.contains(removed, allowed)]
    return allowed


def _filtered(
    searcher: Searcher, filter_query: wq.Query | None, mask: wq.Query | None, params: Params
) -> tuple[Ints | None, Ints | None]:
    """The documents (top-level numbers, ascending) ``filter_query`` keeps and those
    ``mask`` removes (None without them). The free text is scored in the documents
    kept only, so that its proximity bonus goes to the best of them, as for the same
    filter written in the query (``AND 2019[dp]``)."""
    allowed = (
        None if filter_query is None else scoring.matching_docs(searcher, filter_query, params)
    )
    removed = None if mask is None else scoring.matching_docs(searcher, mask, params)
    return allowed, removed


def _kept(matches: scoring.Hits, allowed: Ints | None, removed: Ints | None) -> scoring.Hits:
    """``matches`` in ``allowed`` and not in ``removed`` (either None: no such filter)."""
    if allowed is not None:
        matches = matches.restrict(allowed)
    if removed is not None:
        matches = matches.exclude(removed)
    return matches


def _counted(
    searcher: Searcher, q: wq.Query, matches: scoring.Hits, params: Params
) -> tuple[scoring.Hits, scoring.Hits]:
    """``matches`` split into the records with every free-text word and the rest."""
    strict = all_words(q)
    if strict is q:
        return matches, matches.restrict(matches.docnums[:0])
    full = scoring.evaluate(searcher, strict, params, depth=0).docnums
    return matches.restrict(full), matches.exclude(full)


def _counted_top(
    searcher: Searcher,
    q: wq.Query,
    params: Params,
    limit: int,
    partial: bool,
    within: Ints | None = None,
) -> tuple[scoring.Hits, scoring.Hits, int, int]:
    """:func:`_counted` of the matches that can reach the first ``limit`` of either
    part (:func:`searchkit.engine.pruning.evaluate_top`; only records of ``within``
    when given), and the exact counts of both parts."""
    assert isinstance(q, BestMatch)
    strict = all_words(q)
    keep = max(limit, params.rerank_depth)
    matches, n_matched, n_counted, counted = pruning.evaluate_top(
        searcher,
        q,
        params,
        strict=None if strict is q else strict,
        limit=limit,
        keep=keep,
        partial=partial,
        within=within,
    )
    if counted is None:
        return matches, matches.restrict(_NONE), n_matched, 0
    return matches.restrict(counted), matches.exclude(counted), n_counted, n_matched - n_counted


_NONE: Ints = np.zeros(0, dtype=np.int64)


def _rank_part(
    searcher: Searcher,
    q: wq.Query,
    node: Node | None,
    part: scoring.Hits,
    wanted: int,
    sort: str,
    stage: MeaningStage | None,
    params: Params,
    keys: _Keys,
) -> tuple[Ranked, int]:
    """The first ``wanted`` of ``part``: by relevance re-scored (second stage, then by
    meaning with a ``stage``), or by date; and how many candidates had no vector."""
    if sort == "date":
        return by_date(searcher, part, keys, wanted), 0
    ranked = keys.order(
        rerank.rerank(searcher, q, top(part, max(wanted, params.rerank_depth), keys), params)
    )
    missing = 0
    if stage is not None and node is not None:
        rescored = stage.rescore(searcher, node, ranked, params)
        ranked, missing = keys.order(list(rescored.ranked)), rescored.missing
    return ranked[:wanted], missing


#: Documents tied at the cut of a ranking beyond which their PMIDs are read as one
#: array (:func:`searchkit.engine.keycolumn.column_keys`) to choose those that make it,
#: rather than one by one.
TIES_READ_AS_ARRAY = 2_000


def by_date(searcher: Searcher, hits: scoring.Hits, keys: _Keys, wanted: int) -> Ranked:
    """The first ``wanted`` of ``hits`` newest first; the same date by score, then by
    PMID. Many hits (a date range or a filter alone: hundreds of thousands at 1M) are
    ordered as arrays, their dates and PMIDs read as arrays too."""
    docnums, scores = hits.docnums, hits.scores
    if len(docnums) > TIES_READ_AS_ARRAY:
        dates = column_keys(searcher.reader(), "date", docnums)
        pmids = keys.sort_keys(docnums)
        if dates is not None and pmids is not None:
            date_rank = np.unique(dates, return_inverse=True)[1]
            pmid_rank = np.unique(pmids, return_inverse=True)[1]
            order = np.lexsort((pmid_rank, -scores, -date_rank))[:wanted]
            return list(zip(scores[order].tolist(), docnums[order].tolist(), strict=True))
    column = _column(searcher.reader(), "date")
    ranked = top(hits, None, keys)
    ranked.sort(key=lambda item: _text(column[item[1]]), reverse=True)  # stable
    return ranked[:wanted]


def top(hits: scoring.Hits, limit: int | None, keys: _Keys) -> Ranked:
    """The best ``limit`` of ``hits`` (all when None) as (score, docnum), best first,
    ties by PMID."""
    docnums, scores = hits.docnums, hits.scores
    if limit is not None and limit < len(scores):
        if limit <= 0:
            return []
        # Everything scoring at least the limit-th best score (ties included), so that
        # which of the tied documents make the cut is decided by PMID below.
        cut = np.partition(scores, len(scores) - limit)[len(scores) - limit]
        keep = scores >= cut
        tied = np.flatnonzero(scores == cut)
        need = limit - (int(np.count_nonzero(keep)) - len(tied))
        if len(tied) > max(need, TIES_READ_AS_ARRAY):
            # A constant-score search ties everything: only the ``need`` lowest PMIDs
            # of the documents at the cut can make it.
            found = keys.sort_keys(docnums[tied])
            if found is not None:
                keep[tied[np.argsort(found, kind="stable")[need:]]] = False
        docnums, scores = docnums[keep], scores[keep]
    order = np.lexsort((docnums, -scores))
    ranked = list(zip(scores[order].tolist(), docnums[order].tolist(), strict=True))
    return keys.order(ranked)[:limit]


class _Keys:
    """PMIDs as the tie-breaking key, read only for documents that tie."""

    def __init__(self, index: SearchIndex, searcher: Searcher) -> None:
        self.index = index
        self.searcher = searcher
        #: The PMIDs read so far: a ranking orders its first cut, then the re-ranked
        #: one, whose ties are mostly the same documents.
        self._read: dict[int, str] = {}

    def order(self, ranked: Ranked) -> Ranked:
        """``ranked`` sorted by score (best first), equal scores by PMID."""
        ranked = sorted(ranked, key=lambda item: -item[0])  # stable
        scores = [s for s, _ in ranked]
        tied = [
            i
            for i in range(len(scores))
            if (i > 0 and scores[i - 1] == scores[i])
            or (i + 1 < len(scores) and scores[i + 1] == scores[i])
        ]
        if not tied:
            return ranked
        read = self._read
        unread = [d for d in dict.fromkeys(ranked[i][1] for i in tied) if d not in read]
        if unread:
            docnums = np.array(unread, dtype=np.int64)
            found = self.sort_keys(docnums) if len(unread) > TIES_READ_AS_ARRAY else None
            if found is not None:
                pmids = [key.decode("utf-8") for key in found.tolist()]
            else:
                pmids = self.pmids(docnums)
            read.update(zip(unread, pmids, strict=True))
        return sorted(ranked, key=lambda item: (-item[0], read.get(item[1], "")))

    def sort_keys(self, docnums: Ints) -> NDArray[np.bytes_] | None:
        """The PMIDs of ``docnums`` as an array ordered as their text (None: the index
        has no PMID column to read that way)."""
        return column_keys(self.searcher.reader(), "pmid", docnums)

    def pmids(self, docnums: Ints) -> list[str]:
        """The PMIDs of ``docnums``: from the index's PMID column; an index made before
        it had one reads them from the stored records (a few) or from the ``pmid``
        terms (many, once for the open index)."""
        column = self.index.derived("pmid_column", lambda: _pmid_column(self.searcher))
        if column is not None:
            return [_text(column[d]) for d in docnums.tolist()]
        if len(docnums) <= STORED_KEY_LIMIT:
            cache: dict[int, str] = self.index.derived("stored_pmids", dict)
            out = []
            for d in docnums.tolist():
                found = cache.get(d)
                if found is None:
                    found = cache[d] = _pmid(self.searcher, d)
                out.append(found)
            return out
        every: list[str] = self.index.derived("pmids", lambda: _all_pmids(self.searcher))
        return [every[d] for d in docnums.tolist()]


def _pmid_column(searcher: Searcher) -> ColumnReader | None:
    """The PMID column of every segment (None when the index has none)."""
    reader = searcher.reader()
    if not all(leaf.has_column("pmid") for leaf, _ in reader.leaf_readers()):
        return None
    return _column(reader, "pmid")


def _all_pmids(searcher: Searcher) -> list[str]:
    """Every document's PMID by document number, from the ``pmid`` field's terms (one
    pass over them; a deleted document's old PMID is harmless: it is never ranked)."""
    out = [""] * searcher.doc_count_all()
    for sub, offset in searcher.leaf_searchers():
        reader = sub.reader()
        for raw, info in reader.iter_field("pmid"):
            text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
            if info.doc_frequency() == 1:
                out[info.min_id() + offset] = text
            else:
                for d in reader.postings("pmid", raw).all_ids():
                    out[d + offset] = text
    return out


def _pmid(searcher: Searcher, docnum: int) -> str:
    return str(searcher.stored_fields(docnum)["pmid"])


def pmids_of(searcher: Searcher, docnums: list[int]) -> list[str]:
    """The PMIDs of ``docnums``: from the PMID column (a few bytes each), not from the
    stored records (each decompressed whole: most of an ``eval`` at depth 1,000)."""
    column = _pmid_column(searcher) if docnums else None
    if column is None:
        return [_pmid(searcher, d) for d in docnums]
    return [_text(column[d]) for d in docnums]


def _text(value: object) -> str:
    """A column value as text ("" when missing)."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value or "")


def _column(reader: IndexReader, fieldname: str) -> ColumnReader:
    """The column ``fieldname`` over every segment of ``reader``.

    Whoosh's ``MultiReader.column_reader`` leaves out segments that have no value in
    the column (a segment of records without dates) and then looks their documents up
    in another segment's column, which fails or gives that segment's values. Each
    segment reader gives an empty column (its default value) for a missing one.
    """
    leaves = reader.leaf_readers()
    if len(leaves) == 1:
        return leaves[0][0].column_reader(fieldname)
    return MultiColumnReader(
        [leaf.column_reader(fieldname) for leaf, _ in leaves],
        [offset for _, offset in leaves],
    )


def _mesh_words(index: SearchIndex, reader: IndexReader) -> MeshWords:
    """The index's headings by word, for a note on a MeSH tag that matched nothing
    (loaded only then)."""
    from searchkit.index.meshwords import load

    return load(index.path, reader)
