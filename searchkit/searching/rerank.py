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
cross-validation (BENCHMARKS.md, issue 3).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from whoosh.query import Or, Phrase, Query, Term
from whoosh.searching import Searcher

from searchkit.engine.docgroup import DocGroup
from searchkit.engine.nodes import BestMatch, Expansion, FieldedPhrase, FieldedTerm, Proximity
from searchkit.engine.postings import live_doc_frequency
from searchkit.params import DEFAULT, Params

TITLE_FIELD = "title"
PASSAGE_FIELD = "abstract"


@dataclass(frozen=True)
class Concept:
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
    docnums = sorted(d for _, d in head)
    scale = weight * max(s for s, _ in head) / total
    group = DocGroup(searcher, docnums)
    occurrences = [_occurrences(searcher, c, group) for c in found]
    weights = [c.weight for c in found]
    passages: dict[int, list[tuple[int, int]]] = {}
    for i, occ in enumerate(occurrences):
        for d, ps in occ.get(PASSAGE_FIELD, {}).items():
            passages.setdefault(d, []).extend((p, i) for p in ps)
    rescored = []
    for score, d in head:
        in_title = {i for i, occ in enumerate(occurrences) if d in occ.get(TITLE_FIELD, {})}
        held = {i for i, occ in enumerate(occurrences) if _in(occ, d)}
        rescored.append(
            (score + scale * evidence(weights, held, in_title, passages.get(d, []), params), d)
        )
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
    concept) events."""
    anywhere = sum(weights[i] for i in found)
    title = sum(weights[i] for i in in_title)
    events = sorted(e for e in passage_events if e[1] not in in_title)
    passage = title + best_window(events, weights, params.rerank_window)
    return (anywhere + title + passage) / 3.0


def concepts(searcher: Searcher, query: Query) -> list[Concept]:
    """The concepts of every :class:`BestMatch` in ``query``: each concept child's terms
    (alternative spellings, compound parts, acronym forms), weighted by the idf of its
    highest-boosted term. Phrases and proximity or feedback children are left out."""
    return concepts_by(
        query,
        max(searcher.doc_count(), 1),
        lambda field, text: live_doc_frequency(searcher, field, text),
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
    consecutive positions; ``events`` are (position, concept index) pairs, sorted."""
    best = current = 0.0
    counts = [0] * len(weights)
    start = 0
    for pos, c in events:
        if counts[c] == 0:
            current += weights[c]
        counts[c] += 1
        while events[start][0] <= pos - window:
            old = events[start][1]
            counts[old] -= 1
            if counts[old] == 0:
                current -= weights[old]
            start += 1
        best = max(best, current)
    return best


def _in(occurrences: dict[str, dict[int, list[int]]], docnum: int) -> bool:
    return any(docnum in docs for docs in occurrences.values())


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


def _postings(group: DocGroup, field: str, text: str, positions: bool) -> dict[int, list[int]]:
    """For each document of ``group`` containing ``text`` in ``field``: its positions
    there (or ``[]`` when ``positions`` is false). Read from the posting arrays the
    first stage has just decoded (cached)."""
    if positions:
        return group.positions(field, text)
    return {d: [] for d in sorted(group.containing(field, text))}


def _has_positions(searcher: Searcher, field: str) -> bool:
    return field in searcher.schema.names() and searcher.schema[field].format.supports("positions")


def _phrase_starts(
    searcher: Searcher, field: str, words: tuple[str, ...], slop: int, group: DocGroup
) -> dict[int, list[int]]:
    """Per document, where ``words`` occur in order, each within ``slop`` positions of
    the one before (the position of the first word)."""
    if not words or not _has_positions(searcher, field):
        return {}
    starts = group.phrase_starts(field, list(words), slop)
    out: dict[int, list[int]] = {}
    for key in starts.tolist():
        out.setdefault(key >> 32, []).append(key & 0xFFFFFFFF)
    return out


def _occurrences(
    searcher: Searcher, concept: Concept, group: DocGroup
) -> dict[str, dict[int, list[int]]]:
    """Field → document → positions where the concept (a term or a phrase) occurs; the
    positions are only read for :data:`PASSAGE_FIELD`."""
    out: dict[str, dict[int, list[int]]] = {}
    for field, text in concept.terms:
        want = field == PASSAGE_FIELD and _has_positions(searcher, field)
        for d, ps in _postings(group, field, text, want).items():
            out.setdefault(field, {}).setdefault(d, []).extend(ps)
    for field, words, slop in concept.phrases:
        for d, ps in _phrase_starts(searcher, field, words, slop, group).items():
            out.setdefault(field, {}).setdefault(d, []).extend(ps)
    return out
