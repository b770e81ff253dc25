"""Second stage: re-scoring the first-stage top candidates by query-term evidence.

SciFact-style claims (and most natural-language questions) restate one finding of the
abstract they come from. BM25F sums per-term evidence wherever it occurs; this stage
adds, for the top ``params.rerank_depth`` candidates only, how *much of the query* a document
accounts for, weighting each query concept by its idf (missing "increase" costs little,
missing "paraquat" a lot):

* **coverage**: the idf share of the query's concepts found anywhere in the record;
* **title coverage**: the idf share found in the title;
* **best passage** (Callan 1994, document + best passage): the largest idf share found
  in the title together with any window of :data:`WINDOW` consecutive positions of the
  abstract (a passage read with its title, as passage retrievers index them).

The evidence is the mean of the three (0…1), and a candidate's score becomes
``score + rerank_weight * best first-stage score * evidence``: the bonus is in the units of the
first-stage score, and since it is never negative, candidates past that depth (which
keep their score) stay below the re-scored ones. Concepts and their weights come from
the :class:`~searchkit.query.free_text.BestMatch` nodes of the query; a query without free text
(field tags only) is returned unchanged.

The values (``rerank_depth``, ``rerank_weight``, ``rerank_window`` of
:class:`~searchkit.params.Params`) were chosen on SciFact train with 5-fold
cross-validation (BENCHMARKS.md, issue 3), the weight since measured again in four
forms: claims and keyword queries, records with titles and without.

A filter of the query that gives every record one score (``AND 2015[dp]``) adds that
constant to every candidate; the bonus's unit, the best score, leaves it out, so the
query ranks as the same words with the filter ``--year 2015`` do.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray
from whoosh.query import Or, Phrase, Query, Term
from whoosh.searching import Searcher

from searchkit.engine import sets
from searchkit.engine.docgroup import DocGroup
from searchkit.engine.joined import arrays_of
from searchkit.engine.nodes import BestMatch, Expansion, FieldedPhrase, FieldedTerm, Proximity
from searchkit.engine.pruning import common_constant
from searchkit.params import DEFAULT, Params

TITLE_FIELD = "title"
PASSAGE_FIELD = "abstract"


class Concept(NamedTuple):
    """A query concept: the (field, term) pairs and (field, phrase) sequences that
    match it (acronym long forms are phrases), and its idf weight."""

    terms: frozenset[tuple[str, str]]
    weight: float
    phrases: frozenset[tuple[str, tuple[str, ...], int]] = frozenset()


def rerank(
    searcher: Searcher,
    query: Query,
    candidates: list[tuple[float, int]],
    params: Params = DEFAULT,
) -> list[tuple[float, int]]:
    """``candidates`` ((score, docnum) pairs, top-level docnums, best first) with the
    first ``params.rerank_depth`` re-scored by query-term evidence and re-sorted (ties
    by docnum; :func:`searchkit.searching.pipeline.rank` breaks them by PMID); the rest follow
    unchanged."""
    depth, weight = params.rerank_depth, params.rerank_weight
    if not candidates or not weight or depth <= 0:
        return candidates
    found = concepts(searcher, query)
    total = sum(c.weight for c in found)
    if total <= 0:
        return candidates
    head, tail = candidates[:depth], candidates[depth:]
    docnums = sorted({d for _, d in head})
    # The bonus is in units of the best score of the words: a constant every
    # candidate has from a filter of the query (a date range) is left out of it.
    best = max(s for s, _ in head) - common_constant(query)
    scale = weight * max(best, 0.0) / total
    table = _Evidence(docnums, [c.weight for c in found])
    group = DocGroup(searcher, docnums)
    for i, concept in enumerate(found):
        _gather(searcher, concept, i, group, table)
    bonus = dict(zip(docnums, table.evidence(params.rerank_window).tolist(), strict=True))
    rescored = [(score + scale * bonus[d], d) for score, d in head]
    rescored.sort(key=lambda item: (-item[0], item[1]))
    return rescored + tail


def evidence(
    weights: list[float],
    found: set[int],
    in_title: set[int],
    passage_events: list[tuple[int, int]],
    params: Params = DEFAULT,
) -> float:
    """A candidate's evidence, the mean of its idf-weighted coverage anywhere, in the
    title and in the best passage (before the scale): the concepts (indexes into
    ``weights``) it has anywhere, those in its title, and its (abstract position,
    concept) events. The reference :func:`rerank` computes for every candidate at once
    (and the Solr backend, :mod:`searchkit.solr.evidence`, record by record)."""
    anywhere = sum(weights[i] for i in sorted(found))
    title = sum(weights[i] for i in sorted(in_title))
    events = sorted(e for e in passage_events if e[1] not in in_title)
    passage = title + best_window(events, weights, params.rerank_window)
    return (anywhere + title + passage) / 3.0


class _Evidence:
    """What :func:`evidence` reads, for every candidate at once: which concepts each
    holds anywhere and in its title (one row per concept), and each concept's abstract
    positions as ``candidate index << 32 | position``."""

    def __init__(self, docnums: list[int], weights: list[float]) -> None:
        self.docnums = np.array(docnums, dtype=np.int64)
        self.weights = weights
        self.anywhere = np.zeros((len(weights), len(docnums)), dtype=np.bool_)
        self.in_title = np.zeros((len(weights), len(docnums)), dtype=np.bool_)
        self.passage: list[list[NDArray[np.int64]]] = [[] for _ in weights]

    def held(self, concept: int, field: str, docnums: NDArray[np.int64]) -> None:
        """The candidates ``docnums`` (top-level numbers, repeats allowed) hold
        ``concept`` in ``field``."""
        self._mark(concept, field, np.searchsorted(self.docnums, docnums))

    def positions(self, concept: int, field: str, keys: NDArray[np.int64]) -> None:
        """``concept`` is at ``keys`` (top-level ``docnum << 32 | position``) of ``field``."""
        at = np.searchsorted(self.docnums, keys >> 32)
        self._mark(concept, field, at)
        if field == PASSAGE_FIELD:
            self.passage[concept].append((at << 32) | (keys & _POSITION))

    def _mark(self, concept: int, field: str, at: NDArray[np.intp]) -> None:
        self.anywhere[concept, at] = True
        if field == TITLE_FIELD:
            self.in_title[concept, at] = True

    def evidence(self, window: int) -> NDArray[np.float64]:
        """Each candidate's :func:`evidence`: the same sums, in the same order."""
        n = len(self.docnums)
        anywhere = np.zeros(n)
        title = np.zeros(n)
        for i, w in enumerate(self.weights):  # each sum concept by concept, in order
            anywhere = anywhere + np.where(self.anywhere[i], w, 0.0)
            title = title + np.where(self.in_title[i], w, 0.0)
        # The best window: for each event (a concept's position not in the title),
        # the concepts found from it to ``window - 1`` positions on.
        keys = []
        for i, found in enumerate(self.passage):
            if found:
                joined = np.sort(np.concatenate(found))
                keys.append(joined[~self.in_title[i, joined >> 32]])
            else:
                keys.append(np.zeros(0, dtype=np.int64))
        starts = sets.distinct(np.sort(np.concatenate([np.zeros(0, dtype=np.int64), *keys])))
        summed = np.zeros(len(starts))
        for w, held in zip(self.weights, keys, strict=True):
            if len(held):
                at = np.minimum(np.searchsorted(held, starts), len(held) - 1)
                inside = (held[at] >= starts) & (held[at] <= starts + (window - 1))
                summed = summed + np.where(inside, w, 0.0)
        best = np.zeros(n)
        np.maximum.at(best, starts >> 32, summed)
        passage = title + best
        return (anywhere + title + passage) / 3.0


_POSITION = 0xFFFFFFFF  # the position bits of a ``docnum << 32 | position`` key


def _gather(
    searcher: Searcher, concept: Concept, i: int, group: DocGroup, table: _Evidence
) -> None:
    """Where the candidates of ``group`` hold the concept ``i`` (a term or a phrase):
    positions are read for :data:`PASSAGE_FIELD` only."""
    for field, text in concept.terms:
        if field == PASSAGE_FIELD and _has_positions(searcher, field):
            table.positions(i, field, group.position_keys(field, text))
        else:
            held = group.containing(field, text)
            table.held(i, field, np.fromiter(held, dtype=np.int64, count=len(held)))
    for field, words, slop in concept.phrases:
        if words and _has_positions(searcher, field):
            table.positions(i, field, group.phrase_starts(field, list(words), slop))


def concepts(searcher: Searcher, query: Query) -> list[Concept]:
    """The concepts of every :class:`BestMatch` in ``query``: each concept child's terms
    (alternative spellings, compound parts, acronym forms), weighted by the idf of its
    highest-boosted term. Phrases and proximity or feedback children are left out."""
    return concepts_by(
        query, max(searcher.doc_count(), 1), arrays_of(searcher.reader()).live_doc_frequency
    )


def concepts_by(query: Query, n_docs: int, frequency: Callable[[str, str], int]) -> list[Concept]:
    """:func:`concepts` with the index's size and document frequencies given (``frequency``:
    how many records hold a (field, term); a Solr collection's, :mod:`searchkit.solr`)."""
    out: list[Concept] = []
    for node in _best_matches(query):
        for child in node.subqueries:
            if isinstance(child, Proximity | Expansion):
                continue
            leaves = list(_fielded_terms(child, 1.0))
            if not leaves:
                continue
            main = max(leaves, key=lambda leaf: leaf[1])[0]  # first of the highest boost
            dfs = [frequency(t.fieldname, t.text) for t in _terms(main)]
            df = max(dfs, default=0)
            idf = math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
            terms = frozenset((t.fieldname, t.text) for ft, _ in leaves for t in _terms(ft))
            phrases = frozenset(
                (p.fieldname, tuple(p.words), max(p.slop, 1))
                for fp in _fielded_phrases(child)
                for p in fp.subqueries
                if isinstance(p, Phrase)
            )
            out.append(Concept(terms, idf, phrases))
    return out


def best_window(events: list[tuple[int, int]], weights: list[float], window: int) -> float:
    """The largest summed weight of distinct concepts found together within ``window``
    consecutive positions; ``events`` are (position, concept index) pairs, sorted. Each
    window's weights are added concept by concept in order (the sums the whole table
    of candidates gives, :class:`_Evidence`)."""
    best = 0.0
    for start, (pos, _) in enumerate(events):
        if start and events[start - 1][0] == pos:
            continue  # the same window as the event before
        present: set[int] = set()
        for p, c in events[start:]:
            if p > pos + window - 1:
                break
            present.add(c)
        best = max(best, sum(weights[i] for i in sorted(present)))
    return best


def _best_matches(q: Query) -> Iterator[BestMatch]:
    if isinstance(q, BestMatch):
        yield q
        return
    for child in q.children():
        yield from _best_matches(child)


def _fielded_terms(q: Query, boost: float) -> Iterator[tuple[FieldedTerm, float]]:
    """The :class:`FieldedTerm` leaves under ``q`` with their accumulated boost."""
    if isinstance(q, FieldedTerm):
        yield q, boost * q.boost
    elif isinstance(q, Or) and not isinstance(q, FieldedPhrase):
        for sub in q.subqueries:
            yield from _fielded_terms(sub, boost * q.boost)


def _fielded_phrases(q: Query) -> Iterator[FieldedPhrase]:
    """The :class:`FieldedPhrase` leaves under ``q`` (acronym long forms)."""
    if isinstance(q, FieldedPhrase):
        yield q
    elif isinstance(q, Or) and not isinstance(q, FieldedTerm):
        for sub in q.subqueries:
            yield from _fielded_phrases(sub)


def _terms(q: FieldedTerm) -> list[Term]:
    return [t for t in q.subqueries if isinstance(t, Term)]


def _has_positions(searcher: Searcher, field: str) -> bool:
    return field in searcher.schema.names() and searcher.schema[field].format.supports("positions")
