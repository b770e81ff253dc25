"""Evaluating a query term-at-a-time over NumPy arrays: BM25F, coordination, proximity.

Whoosh's own matcher tree scores one posting at a time in Python; on a large index a
common word has tens of thousands of postings, so :func:`evaluate` works term-at-a-time
instead: each leaf (term, phrase, …) is read once into arrays by
:class:`searchkit.engine.postings.SegmentArrays`, and the boolean structure is combined with
array operations on each node's matches in a segment: its document numbers and their
scores (:data:`Sparse`), arrays as long as the postings, never as long as the segment,
so that a rare term costs its few postings however large the segment. Unions merge
the postings with a stable sort and add each document's scores in the order of the
children, so the sums are those of adding whole-segment arrays child by child.
The query nodes of :mod:`searchkit.engine.nodes` get their own scoring here:

* :class:`~searchkit.engine.nodes.FieldedTerm`, :class:`~.nodes.FieldedPhrase`:
  BM25F with one saturation over the weighted, length-normalised field frequencies;
* :class:`~searchkit.engine.nodes.BestMatch`: the sum of its concepts times the coordination
  factor (matched concepts / concepts) ** ``coordination``, plus feedback children and
  the proximity bonus; the bonus needs term positions, so it is computed for the
  ``depth`` best documents of each segment only (positions are decoded for those alone);
* anything else (And, Or, AndNot, AndMaybe): combined here; other leaves (ranges,
  wildcards already expanded by Whoosh, …) as Whoosh scores them.

The values come from the :class:`~searchkit.params.Params` passed in.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from whoosh.query import (
    And,
    AndMaybe,
    AndNot,
    ConstantScoreQuery,
    NullQuery,
    Or,
    Phrase,
    Query,
    Term,
)
from whoosh.scoring import BM25F
from whoosh.searching import Searcher

from searchkit.engine import phrases, sets
from searchkit.engine.near import NearTerms, near_docs
from searchkit.engine.nodes import (
    BestMatch,
    CompoundTerm,
    Expansion,
    FieldedPhrase,
    FieldedTerm,
    Proximity,
)
from searchkit.engine.postings import (
    Floats,
    Ints,
    SegmentArrays,
    doc_frequency,
    narrowing_phrase_starts,
)
from searchkit.engine.ranges import is_term_range, range_postings
from searchkit.params import DEFAULT, Params


@dataclass(frozen=True)
class Hits:
    """Every document matching a query: top-level document numbers (ascending) and
    their scores."""

    docnums: Ints
    scores: Floats

    def __len__(self) -> int:
        return len(self.docnums)

    def as_dict(self) -> dict[int, float]:
        """``{docnum: score}``."""
        return dict(zip(self.docnums.tolist(), self.scores.tolist(), strict=True))

    def restrict(self, allowed: Ints) -> Hits:
        """Only the documents in ``allowed`` (any order)."""
        keep = _held_in(allowed, self.docnums)
        return Hits(self.docnums[keep], self.scores[keep])

    def exclude(self, removed: Ints) -> Hits:
        """All but the documents in ``removed`` (any order)."""
        keep = ~_held_in(removed, self.docnums)
        return Hits(self.docnums[keep], self.scores[keep])

    def top(self, limit: int | None) -> list[tuple[float, int]]:
        """The best ``limit`` (all when None) as (score, docnum), best first, ties by
        docnum."""
        docnums, scores = self.docnums, self.scores
        if limit is not None and limit < len(scores):
            if limit <= 0:
                return []
            # Everything scoring at least the limit-th best score (ties included).
            cut = np.partition(scores, len(scores) - limit)[len(scores) - limit]
            keep = scores >= cut
            docnums, scores = docnums[keep], scores[keep]
        order = np.lexsort((docnums, -scores))[:limit]
        return list(zip(scores[order].tolist(), docnums[order].tolist(), strict=True))


def _local(docnums: Ints, offset: int, size: int) -> Ints:
    """Those of ``docnums`` (top-level, ascending) in the segment of ``size`` documents
    from ``offset``, as its own numbers."""
    lo, hi = np.searchsorted(docnums, [offset, offset + size])
    return docnums[lo:hi] - offset


def _held_in(numbers: Ints, docnums: Ints) -> NDArray[np.bool_]:
    """Which of ``docnums`` are among ``numbers`` (any order, repeats allowed): the
    counted records and the filters come ascending, and are looked up as such (by
    table or binary search) rather than sorted again as ``np.isin`` sorts them."""
    if len(numbers) > 1 and not bool(np.all(numbers[1:] > numbers[:-1])):
        numbers = np.unique(numbers)
    return _contains(numbers, docnums)


def top_docs(
    searcher: Searcher, query: Query, limit: int | None, params: Params = DEFAULT
) -> tuple[list[tuple[float, int]], Hits]:
    """The best ``limit`` (score, docnum) pairs (ties by docnum) and every match."""
    hits = evaluate(searcher, query, params)
    return hits.top(limit), hits


def evaluate(
    searcher: Searcher,
    query: Query,
    params: Params = DEFAULT,
    *,
    depth: int | None = None,
    within: Ints | None = None,
    without: Ints | None = None,
) -> Hits:
    """Every document matching ``query`` (top-level numbers) with its score; the
    proximity bonus goes to the ``depth`` best documents (by their score without it;
    ``params.proximity_depth`` unless given). ``within`` / ``without`` (top-level
    numbers, ascending): the documents a filter keeps / removes, the only ones / never
    the ones the bonus goes to (the caller restricts the hits)."""
    return evaluate_counted(
        searcher, query, None, params, depth=depth, within=within, without=without
    )[0]


def _segments(
    searcher: Searcher, params: Params, depth: int
) -> tuple[list[_Segment], list[tuple[Searcher, int]]]:
    """An evaluator for each segment of ``searcher`` sharing one set of index-wide
    statistics, and the segments' (searcher, first document number). A nested
    free-text query gets the proximity bonus on each segment's share of ``depth``."""
    context = searcher.context(weighting=searcher.weighting)
    stats = _Stats(searcher)
    leaves = searcher.leaf_searchers()
    total = max(sum(sub.doc_count_all() for sub, _ in leaves), 1)
    segments = [
        _Segment(
            sub,
            context,
            stats,
            max(params.min_segment_depth, -(-depth * sub.doc_count_all() // total)),
            params,
        )
        for sub, _ in leaves
    ]
    stats.segments = segments
    return segments, leaves


def matching_docs(searcher: Searcher, query: Query, params: Params = DEFAULT) -> Ints:
    """The documents matching ``query`` (top-level numbers, ascending; deleted ones
    left out), as Whoosh's ``docs_for_query`` gives them, found by the segment
    evaluators in arrays (a filter such as ``--year``, a mask)."""
    segments, leaves = _segments(searcher, params, params.proximity_depth)
    return np.concatenate(
        [_NO_DOCS, *(seg.ids(query) + off for seg, (_, off) in zip(segments, leaves, strict=True))]
    )


def evaluate_counted(
    searcher: Searcher,
    query: Query,
    strict: Query | None,
    params: Params = DEFAULT,
    *,
    depth: int | None = None,
    within: Ints | None = None,
    without: Ints | None = None,
) -> tuple[Hits, Ints | None]:
    """:func:`evaluate`, and the documents matching ``strict`` (top-level numbers,
    ascending; None without it) found with the same segment evaluators: from the
    postings alone where it can (no scores), and a phrase found for ``query`` is not
    searched for again."""
    if depth is None:
        depth = params.proximity_depth
    segments, leaves = _segments(searcher, params, depth)
    for seg, (_, offset) in zip(segments, leaves, strict=True):
        seg.within = None if within is None else _local(within, offset, seg.size)
        seg.without = None if without is None else _local(without, offset, seg.size)
    if isinstance(query, BestMatch):
        # The usual free-text query: its bonus goes to the best ``depth`` of the index.
        bases = [seg.best_match_base(query) for seg in segments]
        chosen = _best_of_all([(ids, score) for ids, score, _ in bases], depth)
        found = [
            seg.best_match_finish(query, base, candidates)
            for seg, base, candidates in zip(segments, bases, chosen, strict=True)
        ]
    else:
        found = [seg.eval(query) for seg in segments]
    counted = None
    if strict is not None:
        counted = np.concatenate(
            [
                _NO_DOCS,
                *(seg.ids(strict) + off for seg, (_, off) in zip(segments, leaves, strict=True)),
            ]
        )
    if not found:
        return Hits(_NO_DOCS, _NO_SCORES), counted
    return _joined(found, [offset for _, offset in leaves]), counted


def evaluate_top(
    searcher: Searcher,
    query: BestMatch,
    params: Params,
    *,
    strict: Query | None,
    limit: int,
    keep: int,
    partial: bool,
) -> tuple[Hits, int, int, Ints | None]:
    """What the ranking of a free-text ``query`` needs of its matches: every match
    that can be among the ``keep`` best of the records counted (those matching
    ``strict``; None: every match counts) or, when fewer than ``limit`` records count
    and ``partial``, among the ``keep`` best of the others; each with the score
    :func:`evaluate` gives it (bitwise). Also the exact numbers of matches and of
    counted matches, and the counted records (top-level numbers, ascending; None
    when every match counts).

    Dynamic pruning (MaxScore, Turtle & Flood 1995): a concept that is a plain
    :class:`FieldedTerm` scores at most ``idf * (k1 + 1) * boost`` in any document
    (its frequency saturates below 1), coordination only lowers a sum, and the
    proximity bonus goes to the ``proximity_depth`` best by that sum alone. The
    concepts of highest bound are scored first, and their documents in full; the
    ``keep``-th best of each part needed (and the ``proximity_depth``-th best
    overall) is a threshold no pruned document may reach. The concepts of lowest
    bound whose bounds add up to less than it are non-essential: a document holding
    only those is left out, and they are looked up only for the documents of the
    others, never scored over all their postings.

    A concept that is a sum (an :class:`Or`: a hyphenated word, its parts and their
    phrase) is pruned part by part: its score is the sum of its parts' (times its
    boost), so each part bounded alone is a piece of the sum like a concept; the bare
    common word of a compound (``cell`` of ``stem-cell``) is then looked up for the
    candidates only, not scored over a third of the index."""
    depth = params.proximity_depth
    segments, leaves = _segments(searcher, params, depth)
    offsets = [offset for _, offset in leaves]
    concepts = [
        _Concept.of(sub) for sub in query.subqueries if not isinstance(sub, Proximity | Expansion)
    ]
    pieces: list[Query] = []
    for c in concepts:
        c.indexes = list(range(len(pieces), len(pieces) + len(c.pieces)))
        pieces.extend(c.pieces)
    bounds = [
        _times(_bound(segments, params, piece), c.boost) for c in concepts for piece in c.pieces
    ]
    # The records counted, and how many records match at all.
    counted_local = [None if strict is None else seg.ids(strict) for seg in segments]
    n_matched = n_counted = 0
    for seg, mine in zip(segments, counted_local, strict=True):
        held = np.zeros(seg.size, dtype=np.bool_)
        for piece in pieces:
            for ids in seg.concept_ids(piece):
                held[ids] = True
        n_matched += int(np.count_nonzero(held))
        n_counted += int(np.count_nonzero(held[mine])) if mine is not None else 0
    if strict is None:
        n_counted = n_matched
        counted = None
    else:
        counted = np.concatenate(
            [ids + off for ids, off in zip(counted_local, offsets, strict=True)]  # type: ignore[operator]
        )
    # Scored in full first: the concepts without a bound, then those of highest bound,
    # until they hold enough documents to set a threshold.
    unbounded = -math.inf  # sorts first
    order = sorted(
        range(len(pieces)),
        key=lambda i: unbounded if (bound := bounds[i]) is None else -bound,
    )
    full: list[dict[int, Sparse]] = [{} for _ in segments]
    target = 2 * max(keep, depth)
    for n_done, i in enumerate(order):
        if bounds[i] is not None and n_done and _held(full) >= target:
            break
        for k, seg in enumerate(segments):
            full[k][i] = seg.concept(pieces[i])
    scored: list[Sparse] = []
    # Each segment's sample, kept: it is the segment's base when no other concept
    # needs scoring in full there and no other record must be kept.
    sampled: list[tuple[Base, frozenset[int]]] = []
    for k, seg in enumerate(segments):
        base = seg.base_at(concepts, full[k], _union([i for i, _ in full[k].values()]))
        sampled.append((base, frozenset(full[k])))
        scored.append((base[0], base[1]))
    sample = _joined(scored, offsets)
    ids_all, base_all = sample.docnums, sample.scores  # ascending numbers
    threshold = _kth(base_all, depth)
    if counted is None:
        is_counted = np.ones(len(ids_all), dtype=np.bool_)
    else:  # the counted records among the sample's (fewer: looked up in it)
        is_counted = np.zeros(len(ids_all), dtype=np.bool_)
        is_counted[_positions_in(ids_all, counted)] = True
    # A part of no more than ``keep`` records is kept whole: the counted records are
    # known; the others are the matches that are not counted.
    kept: list[Ints] = [_NO_DOCS for _ in segments]
    if n_counted > keep:
        threshold = min(threshold, _kth(base_all[is_counted], keep))
    elif strict is None:  # every match counts, and every one is needed
        threshold = -math.inf
    else:
        kept = [ids for ids in counted_local if ids is not None]
    if partial and n_counted < limit:
        if n_matched - n_counted > keep:
            threshold = min(threshold, _kth(base_all[~is_counted], keep))
        else:
            threshold = -math.inf
    # The sample's arrays (as long as the documents of the concepts scored in full)
    # are not needed any more: freed before the whole segments' are made.
    del sample, ids_all, base_all, is_counted
    # Non-essential: the concepts of lowest bound adding up to less than the threshold
    # (a margin for the rounding of the sums).
    non_essential: set[int] = set()
    reach = 0.0
    for i in reversed(order):
        bound = bounds[i]
        if (
            bound is None
            or any(i in done for done in full)
            or (reach + bound) * (1.0 + 1e-9) >= threshold
        ):
            break
        reach += bound
        non_essential.add(i)
    bases = []
    for k, seg in enumerate(segments):
        for i, piece in enumerate(pieces):
            if i not in non_essential and i not in full[k]:
                full[k][i] = seg.concept(piece)
        base, sampled_with = sampled[k]
        sampled[k] = (_NO_BASE, sampled_with)
        if frozenset(full[k]) == sampled_with and not len(kept[k]):
            # The same candidates (the documents of the concepts scored in full) and
            # the same parts as the sample's, in the same order: the same base.
            bases.append(base)
            continue
        # Every document of a piece scored in full is a candidate: its part is given
        # whole; the non-essential ones are looked up for the candidates.
        candidates = (
            _union([kept[k], *(ids for ids, _ in full[k].values())]) if non_essential else _NO_DOCS
        )
        parts = [seg.concept_from(c, full[k], candidates, whole=True) for c in concepts]
        bases.append(seg._coordinated(parts, len(concepts)))
    # Each concept's arrays: the bases hold what is needed of them.
    del full
    for seg in segments:
        seg.forget_concepts()
    chosen = _best_of_all([(ids, score) for ids, score, _ in bases], depth)
    found: list[Sparse] = []
    for k, (seg, picked) in enumerate(zip(segments, chosen, strict=True)):
        found.append(seg.best_match_finish(query, bases[k], picked))
        bases[k] = _NO_BASE  # replaced by its finished scores
    if not found:
        return Hits(_NO_DOCS, _NO_SCORES), n_matched, n_counted, counted
    return _joined(found, offsets), n_matched, n_counted, counted


def _joined(found: list[Sparse], offsets: list[int]) -> Hits:
    """The segments' matches as one :class:`Hits` (top-level numbers), each segment's
    arrays dropped once copied (``found`` is emptied)."""
    n = sum(len(ids) for ids, _ in found)
    docnums = np.empty(n, dtype=np.int64)
    scores = np.empty(n, dtype=np.float64)
    at = 0
    for offset in offsets:
        ids, score = found.pop(0)
        np.add(ids, offset, out=docnums[at : at + len(ids)])
        scores[at : at + len(ids)] = score
        at += len(ids)
    return Hits(docnums, scores)


def _plain_term(q: Query) -> bool:
    """A :class:`FieldedTerm` of plain terms (its documents: its fields' postings)."""
    return isinstance(q, FieldedTerm) and all(isinstance(t, Term) for t in q.subqueries)


@dataclass
class _Concept:
    """A concept of a free-text query and the pieces it is pruned by: itself, or the
    parts of a plain sum (an :class:`Or` without ``minmatch`` or ``scale``, of a
    positive boost), whose score is theirs added in order, times ``boost``."""

    query: Query
    pieces: list[Query]
    split: bool
    boost: float
    #: Each piece's index among all the query's pieces.
    indexes: list[int]

    @classmethod
    def of(cls, q: Query) -> _Concept:
        if type(q) is Or and not q.minmatch and not q.scale and q.boost > 0 and q.subqueries:
            return cls(q, list(q.subqueries), True, q.boost, [])
        return cls(q, [q], False, 1.0, [])


def _times(bound: float | None, boost: float) -> float | None:
    return None if bound is None else bound * boost


def _held(full: list[dict[int, Sparse]]) -> int:
    """How many documents (with repeats) the concepts scored so far hold."""
    return sum(len(ids) for done in full for ids, _ in done.values())


def prunable(query: Query, params: Params) -> bool:
    """Whether :func:`evaluate_top` applies to ``query``: a free-text query without
    feedback terms or a boost, ranked with coordination that never raises a score."""
    return (
        isinstance(query, BestMatch)
        and query.boost == 1.0
        and params.coordination >= 0
        and not any(isinstance(sub, Expansion) for sub in query.subqueries)
    )


def _bound(segments: list[_Segment], params: Params, q: Query) -> float | None:
    """The largest score a concept can give a document, when it is a plain
    :class:`FieldedTerm` (None for any other concept): its frequency saturates below
    1, so at most ``idf * (k1 + 1) * boost``, with the idf each segment gives it (of
    the largest document frequency of its fields present there), the largest over
    the segments."""
    if not (
        isinstance(q, FieldedTerm)
        and all(isinstance(t, Term) for t in q.subqueries)
        and q.boost > 0
        and all(t.boost >= 0 for t in q.subqueries)
    ):
        return None
    best = 0.0
    for seg in segments:
        dfs = [
            seg.stats.doc_frequency(t.fieldname, t.text)
            for t in q.subqueries
            if len(seg.holding(t.fieldname, t.text))
        ]
        if dfs:
            best = max(best, seg.idf(max(dfs)) * (params.k1 + 1.0) * q.boost)
    return best


def _kth(scores: Floats, k: int) -> float:
    """The ``k``-th largest of ``scores`` (minus infinity when there are fewer)."""
    if k <= 0:
        return math.inf
    if len(scores) < k:
        return -math.inf
    return float(np.partition(scores, len(scores) - k)[len(scores) - k])


class _Stats:
    """Index-wide statistics (document frequency, Whoosh's idf, average field length),
    each looked up once per query however many segments there are."""

    def __init__(self, searcher: Searcher) -> None:
        self.parent = searcher.get_parent()
        #: Whether the query is evaluated over every segment of the index.
        self.whole = self.parent is searcher
        self.n_docs = max(self.parent.doc_count_all(), 1)
        self.whoosh_idf: Callable[[str, str], float] = functools.cache(self.parent.idf)
        self._avg: dict[str, float] = {}
        self._df: dict[tuple[str, str], int] = {}
        #: Every segment of the query's evaluation (set once they are made).
        self.segments: list[_Segment] = []
        self._totals: dict[tuple[object, ...], int] = {}
        self._nodes: dict[int, Query] = {}

    def doc_frequency(self, field: str, text: str) -> int:
        """The number of documents of the index holding ``text`` in ``field`` as
        Whoosh counts them, from the segments' (cached) postings."""
        key = (field, text)
        found = self._df.get(key)
        if found is None:
            if self.whole:  # the segments' arrays: their postings are read anyway
                found = sum(seg.arrays.doc_frequency(field, text) for seg in self.segments)
            else:
                found = doc_frequency(self.parent, field, text)
            self._df[key] = found
        return found

    def node_key(self, q: Query) -> int:
        """A key for the query node ``q``, unique for the whole evaluation: the node is
        kept alive, so a temporary node made later can never reuse its ``id``."""
        self._nodes[id(q)] = q
        return id(q)

    def total(self, key: tuple[object, ...], count: Callable[[_Segment], int]) -> int:
        """``count`` summed over every segment (once per ``key``): a document frequency
        that searchkit computes itself (a phrase's, two words together) counts the
        whole index, never one segment, so that scores do not depend on the layout."""
        found = self._totals.get(key)
        if found is None:
            found = self._totals[key] = sum(count(seg) for seg in self.segments)
        return found

    def avg_length(self, field: str) -> float:
        """The mean length of ``field`` over the index's documents, from the stored
        (one-byte) lengths of each document. Not Whoosh's ``avg_field_length``: a
        segment's total is exact when written but the sum of the one-byte lengths once
        merged, so Whoosh's mean (and every score) would depend on the segment layout."""
        found = self._avg.get(field)
        if found is None:
            schema = self.parent.schema
            total = 0.0
            if field in schema and schema[field].scorable:
                for reader, _ in self.parent.reader().leaf_readers():
                    total += SegmentArrays(reader).length_total(field)
            found = self._avg[field] = total / self.n_docs or 1.0
        return found


#: A node's matches in one segment: its document numbers (ascending, unique) and their
#: scores, in arrays as long as the matches (never as the segment).
Sparse = tuple[Ints, Floats]

_NO_DOCS: Ints = np.zeros(0, dtype=np.int64)
_NO_SCORES: Floats = np.zeros(0, dtype=np.float64)


@dataclass(frozen=True)
class Coordination:
    """Each document's coordination factor, as the factor of each number of matched
    concepts and each document's number."""

    factors: Floats
    counts: NDArray[np.uint8] | Ints

    def at(self, where: NDArray[np.intp]) -> Floats:
        """The factors of the documents at ``where``."""
        return self.factors[self.counts[where]]


#: A free-text query's concepts in one segment, before the proximity bonus: the
#: documents, their coordinated scores, and their coordination.
Base = tuple[Ints, Floats, Coordination]
_NO_BASE: Base = (_NO_DOCS, _NO_SCORES, Coordination(np.ones(1), np.zeros(0, dtype=np.uint8)))


class _Segment:
    """Evaluates query nodes over one segment: each node's matching documents and their
    scores (:data:`Sparse`), with work proportional to the postings read."""

    def __init__(
        self, searcher: Searcher, context: object, stats: _Stats, depth: int, params: Params
    ) -> None:
        self.searcher = searcher
        self.params = params
        self.context = context
        self.stats = stats
        self.depth = depth
        self.arrays = SegmentArrays(searcher.reader())
        self.size = self.arrays.size
        self._phrases: dict[int, Sparse] = {}
        self._compounds: dict[int, tuple[Ints, Floats, int]] = {}
        self._concepts: dict[int, Sparse] = {}
        #: The only documents (ascending) the free text is scored for, and those it
        #: never is: a filter's, or the other parts of an ``And`` holding it. The
        #: proximity bonus then goes to the best of the documents that can match.
        self.within: Ints | None = None
        self.without: Ints | None = None

    def eval(self, q: Query) -> Sparse:
        if q is NullQuery:
            return _NO_DOCS, _NO_SCORES
        if isinstance(q, BestMatch):
            return self.best_match(q)
        if isinstance(q, FieldedTerm) and all(isinstance(t, Term) for t in q.subqueries):
            return self.bm25f_term(q)
        if isinstance(q, CompoundTerm) and all(
            isinstance(t, FieldedTerm | FieldedPhrase) for t in q.subqueries
        ):
            return self.bm25f_compound(q)
        if isinstance(q, FieldedPhrase) and all(
            isinstance(t, Phrase | phrases.PositionalPhrase) for t in q.subqueries
        ):
            return self.bm25f_phrase(q)
        if isinstance(q, phrases.PositionalPhrase):  # a phrase in one field
            return self.bm25f_phrase(FieldedPhrase([q]))
        if type(q) is Term and self.scores_like_whoosh(q.fieldname):
            return self.whoosh_term(q)
        if isinstance(q, NearTerms) and self.near_in_arrays(q):
            return self.near_terms(q)
        if is_term_range(q):
            ids = self.term_range(q)
            return ids, np.full(len(ids), q.score, dtype=np.float64)
        if isinstance(q, Or) and not q.minmatch and not q.scale:
            ids, score = _sum([self.eval(sub) for sub in q.subqueries])
            return ids, _boosted(score, q.boost)
        if isinstance(q, And):
            if not q.subqueries:
                return _NO_DOCS, _NO_SCORES
            parts = self.and_parts(q.subqueries)
            ids = parts[0][0]
            for other, _ in parts[1:]:
                ids = ids[_contains(other, ids)]
            score = np.zeros(len(ids), dtype=np.float64)
            for p_ids, p_score in parts:
                score += p_score[np.searchsorted(p_ids, ids)]
            return ids, _boosted(score, q.boost)
        if isinstance(q, AndNot):
            negative, _ = self.eval(q.b)
            with self.restricted(without=negative):  # the bonus goes to what NOT keeps
                ids, score = self.eval(q.a)
            keep = ~_contains(negative, ids)
            return ids[keep], _boosted(score[keep], q.boost)
        if isinstance(q, AndMaybe):
            ids, score = self.eval(q.a)
            optional = _values_at(self.eval(q.b), ids)
            return ids, _boosted(score + optional, q.boost)
        return self.leaf(q)

    def and_parts(self, subqueries: list[Query]) -> list[Sparse]:
        """:meth:`eval` of each part of an ``And``; the free text (:class:`BestMatch`)
        last, scored only in the documents every other part matches, so that its
        proximity bonus goes to the best of those (not to the best of the whole
        segment, which the other parts may all leave out), and a common word is not
        scored over all its postings for a rare tag."""
        free = [i for i, sub in enumerate(subqueries) if isinstance(sub, BestMatch)]
        if not free or len(free) == len(subqueries):
            return [self.eval(sub) for sub in subqueries]
        parts: dict[int, Sparse] = {}
        docs: Ints | None = None
        for i, sub in enumerate(subqueries):
            if i not in free:
                parts[i] = self.eval(sub)
                ids = parts[i][0]
                docs = ids if docs is None else docs[_contains(ids, docs)]
        assert docs is not None
        with self.restricted(within=docs):
            for i in free:
                parts[i] = self.eval(subqueries[i])
        return [parts[i] for i in range(len(subqueries))]

    @contextmanager
    def restricted(
        self, *, within: Ints | None = None, without: Ints | None = None
    ) -> Iterator[None]:
        """Free text evaluated inside scores only documents also in ``within`` and
        never those in ``without`` (both ascending), on top of the restriction already
        in force (:attr:`within`, :attr:`without`), which is back on exit."""
        saved = self.within, self.without
        if within is not None:
            self.within = within if saved[0] is None else within[_contains(saved[0], within)]
        if without is not None:
            self.without = without if saved[1] is None else _union([saved[1], without])
        try:
            yield
        finally:
            self.within, self.without = saved

    def idf(self, df: int) -> float:
        n_docs = self.stats.n_docs
        return math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))

    def holding(self, field: str, text: str) -> Ints:
        """The documents of the segment holding ``text`` in ``field`` (ascending)."""
        return self.arrays.postings(field, text)[0]

    def norm(self, field: str, docs: Ints) -> Floats:
        """BM25 length normalisation of ``field`` for ``docs``."""
        avg = self.stats.avg_length(field)
        b = self.params.field_b_of(field)
        return 1.0 - b + b * self.arrays.lengths_at(field, docs) / avg

    def saturate(self, ids: Ints, tf: Floats, df: int, boost: float) -> Sparse:
        """BM25 of the weighted, normalised frequencies ``tf`` of the documents ``ids``."""
        k1 = self.params.k1
        scale = self.idf(df) * (k1 + 1.0) * boost
        return ids, scale * tf / (tf + k1)

    def bm25f_term(self, q: FieldedTerm) -> Sparse:
        ids, tfs, df = self.term_tfs(q)
        return self.saturate(ids, tfs, df, q.boost)

    def term_tfs(self, q: FieldedTerm) -> tuple[Ints, Floats, int]:
        """A fielded term's documents, their weighted, normalised frequencies, and its
        document frequency (the largest of its fields')."""
        parts: list[Sparse] = []
        df = 0
        for t in q.subqueries:
            ids, weights = self.arrays.postings(t.fieldname, t.text)
            if not len(ids):
                continue
            df = max(df, self.stats.doc_frequency(t.fieldname, t.text))
            parts.append((ids, t.boost * weights / self.norm(t.fieldname, ids)))
        ids, tfs = _sum(parts)
        return ids, tfs, df

    def bm25f_phrase(self, q: FieldedPhrase) -> Sparse:
        ids, tfs = self.phrase_tfs(q)
        return self.saturate(ids, tfs, self.phrase_df(q), q.boost)

    def phrase_df(self, q: FieldedPhrase) -> int:
        """How many documents of the index hold the phrase (in any of its fields)."""
        return self.stats.total(
            ("phrase", self.stats.node_key(q)), lambda seg: len(seg.phrase_tfs(q)[0])
        )

    def phrase_tfs(self, q: FieldedPhrase) -> Sparse:
        """A fielded phrase's documents and their weighted, normalised frequencies
        (computed once per query node)."""
        key = self.stats.node_key(q)
        found = self._phrases.get(key)
        if found is None:
            found = self._phrases[key] = self._phrase_tfs(q)
        return found

    def _phrase_tfs(self, q: FieldedPhrase) -> Sparse:
        parts: list[Sparse] = []
        for p in q.subqueries:
            if isinstance(p, phrases.PositionalPhrase):
                ids, counts = phrases.frequencies(self.arrays, p.fieldname, list(p.slots))
            else:
                ids, counts = self.phrase_frequencies(p.fieldname, list(p.words), p.slop)
            if len(ids):
                parts.append((ids, p.boost * counts / self.norm(p.fieldname, ids)))
        return _sum(parts)

    def bm25f_compound(self, q: CompoundTerm) -> Sparse:
        """One BM25F term whose frequency is the largest of its forms' (the joined term,
        the parts side by side): a compound counts once however it is written. Its
        document frequency is its terms' largest, or the number of documents of the
        index holding it in any form, if more."""
        ids, tfs, df = self.compound_tfs(q)
        held = self.stats.total(
            ("compound", self.stats.node_key(q)), lambda seg: len(seg.compound_tfs(q)[0])
        )
        return self.saturate(ids, tfs, max(df, held), q.boost)

    def compound_tfs(self, q: CompoundTerm) -> tuple[Ints, Floats, int]:
        """A compound's documents, their frequencies (the largest of its forms'), and
        its terms' largest document frequency (computed once per query node)."""
        key = self.stats.node_key(q)
        found = self._compounds.get(key)
        if found is None:
            found = self._compounds[key] = self._compound_tfs(q)
        return found

    def _compound_tfs(self, q: CompoundTerm) -> tuple[Ints, Floats, int]:
        forms: list[Sparse] = []
        df = 0
        for form in q.subqueries:
            if isinstance(form, FieldedTerm):
                f_ids, f_tfs, f_df = self.term_tfs(form)
            else:
                f_ids, f_tfs = self.phrase_tfs(form)
                f_df = 0
            forms.append((f_ids, f_tfs * form.boost))
            df = max(df, f_df)
        ids = _union([f_ids for f_ids, _ in forms])
        tfs = np.zeros(len(ids), dtype=np.float64)
        for f_ids, f_tfs in forms:
            np.maximum(tfs, _values_at((f_ids, f_tfs), ids), out=tfs)
        return ids, tfs, df

    def phrase_frequencies(self, field: str, words: list[str], slop: int) -> tuple[Ints, Floats]:
        """Documents where ``words`` occur in order, each within ``slop`` positions of
        the one before, and how often (matched once per segment state)."""
        return self.arrays.derived(
            ("phrase", field, tuple(words), slop),
            functools.partial(self._phrase_frequencies, field, words, slop),
        )

    def _phrase_frequencies(self, field: str, words: list[str], slop: int) -> tuple[Ints, Floats]:
        common: Ints | None = None
        for w in sorted(set(words), key=lambda w: self.stats.doc_frequency(field, w)):
            ids = self.arrays.postings(field, w, positions=True)[0]
            common = ids if common is None else common[_contains(ids, common)]
            if not len(common):
                return common, np.zeros(0, dtype=np.float64)
        assert common is not None
        docs = common

        def keys(i: int, alive: Ints | None) -> Ints:
            return self.arrays.position_keys(field, words[i], docs if alive is None else alive)

        found = narrowing_phrase_starts(len(words), keys, slop)
        ids, counts = sets.distinct_counts(found >> 32)
        return ids.astype(np.int64), counts.astype(np.float64)

    def proximity(self, q: Proximity, candidates: Ints) -> Floats:
        """Sequential-dependence bonus for ``candidates``: for each adjacent pair of
        query words (a sloppy two-word ``Phrase`` child), the number of times they occur
        within ``slop`` positions of each other, in either order, scored like a BM25
        term of that frequency (its document frequency: the index's documents holding
        both words)."""
        bonus = np.zeros(len(candidates), dtype=np.float64)
        k1 = self.params.k1
        for phrase in q.subqueries:
            if not isinstance(phrase, Phrase) or len(phrase.words) != 2:
                continue
            field, window = phrase.fieldname, phrase.slop
            first, second = phrase.words[0], phrase.words[1]
            pair = (field, first, second)
            n_both = self.stats.total(("both", *pair), functools.partial(_both, pair))
            docs = candidates[
                _contains(self.holding(field, first), candidates)
                & _contains(self.holding(field, second), candidates)
            ]
            if not len(docs):
                continue
            a = self.arrays.position_keys(field, first, docs)
            b = self.arrays.position_keys(field, second, docs)
            counts = near_counts(a, b, window, docs)
            tf = counts / self.norm(field, docs)
            score = phrase.boost * self.idf(n_both) * tf * (k1 + 1.0) / (tf + k1)
            bonus[np.searchsorted(candidates, docs)] += score
        return bonus

    def scores_like_whoosh(self, field: str) -> bool:
        """Whether :meth:`whoosh_term` gives Whoosh's score for a term in ``field``."""
        schema = self.searcher.schema
        return type(self.searcher.weighting) is BM25F and field in schema and schema[field].scorable

    def whoosh_term(self, q: Term) -> Sparse:
        """A plain Whoosh ``Term``, scored exactly as Whoosh's ``BM25F`` scores it (Whoosh's
        own idf, one field), from arrays instead of its matcher."""
        field = q.fieldname
        ids, tf = self.arrays.postings(field, q.text)
        if not len(ids):
            return _NO_DOCS, _NO_SCORES
        weighting = self.searcher.weighting
        b = weighting._field_B.get(field, weighting.B)
        k1 = weighting.K1
        avg = self.stats.avg_length(field)
        idf = self.stats.whoosh_idf(field, q.text)
        norm = (1 - b) + b * self.arrays.lengths_at(field, ids) / avg
        return ids, q.boost * idf * (tf * (k1 + 1)) / (tf + k1 * norm)

    def near_in_arrays(self, q: NearTerms) -> bool:
        """Whether :meth:`near_terms` gives Whoosh's matches and scores for ``q``."""
        field = q.fieldname
        schema = self.searcher.schema
        return (
            self.scores_like_whoosh(field)
            and bool(schema[field].format)
            and schema[field].format.supports("positions")
            and all(type(t) is Term and t.boost == 1.0 and t.fieldname == field for t in q.qs)
            and not q.ordered
            and q.mindist == 1
        )

    def near_terms(self, q: NearTerms) -> Sparse:
        """Words within ``q.slop`` positions of each other (:func:`near_docs`), scored
        as Whoosh's span matcher scores them: the sum of its terms' scores, added in
        the order of Whoosh's binary tree of intersections."""
        parts = [self.span_term(t) for t in q.qs]
        docs: Ints | None = None
        for ids, _ in parts:
            docs = ids if docs is None else docs[_contains(ids, docs)]
        if docs is None or not len(docs):
            return _NO_DOCS, _NO_SCORES
        keys = [self.arrays.position_keys(q.fieldname, w, docs) for w in q.words]
        found = near_docs(keys, q.slop)
        if not len(found):
            return _NO_DOCS, _NO_SCORES
        return found, _tree_sum([_values_at(part, found) for part in parts])

    def span_term(self, q: Term) -> Sparse:
        """A term as Whoosh's own ``BM25F`` scorer scores it inside a span query, to
        the bit: Whoosh's idf and average field length (its own statistics, not
        :meth:`_Stats.avg_length`), its operations in its order."""
        field = q.fieldname
        ids, tf = self.arrays.postings(field, q.text)
        if not len(ids):
            return _NO_DOCS, _NO_SCORES
        weighting = self.searcher.weighting
        b = weighting._field_B.get(field, weighting.B)
        k1 = weighting.K1
        parent = self.stats.parent
        idf = self.stats.whoosh_idf(field, q.text)
        avg = parent.avg_field_length(field) or 1
        fl = self.arrays.lengths_at(field, ids)
        return ids, idf * ((tf * (k1 + 1)) / (tf + k1 * ((1 - b) + b * fl / avg)))

    def term_range(self, q: ConstantScoreQuery) -> Ints:
        """The documents holding a term of a constant-score range (a year or date)."""
        return _union(range_postings(self.arrays, self.searcher.reader(), q))

    def leaf(self, q: Query) -> Sparse:
        """Any other query: Whoosh's own matcher, read to the end."""
        ids: list[int] = []
        scores: list[float] = []
        m = q.matcher(self.searcher, self.context)
        while m.is_active():
            ids.append(m.id())
            scores.append(m.score())
            m.next()
        if not ids:
            return _NO_DOCS, _NO_SCORES
        # A matcher gives each document once, in order; kept safe for any other.
        found, first = np.unique(np.array(ids, dtype=np.int64), return_index=True)
        if len(found) == len(ids):
            return found, np.array(scores, dtype=np.float64)[first]
        # A document given more than once: the last score, as a dense array kept it.
        last = len(ids) - 1 - np.unique(np.array(ids[::-1], dtype=np.int64), return_index=True)[1]
        return found, np.array(scores, dtype=np.float64)[last]

    def best_match(self, q: BestMatch) -> Sparse:
        base = self.best_match_base(q)
        return self.best_match_finish(q, base, _best(base[0], base[1], self.depth))

    def concept_ids(self, q: Query) -> list[Ints]:
        """Arrays whose union is the documents matching the concept ``q``: each
        field's postings of a plain fielded term, else its evaluation's documents."""
        if _plain_term(q):
            return [self.holding(t.fieldname, t.text) for t in q.subqueries]
        return [self.concept(q)[0]]

    def forget_concepts(self) -> None:
        """Drop the concepts' arrays kept by :meth:`concept`."""
        self._concepts.clear()

    def concept(self, q: Query) -> Sparse:
        """:meth:`eval` of a concept, once per query node."""
        key = self.stats.node_key(q)
        found = self._concepts.get(key)
        if found is None:
            found = self._concepts[key] = self.eval(q)
        return found

    def ids(self, q: Query) -> Ints:
        """The documents matching ``q`` (ascending): :meth:`eval`'s, without the
        scores where the boolean structure and plain terms allow."""
        if q is NullQuery:
            return _NO_DOCS
        if isinstance(q, FieldedTerm) and all(isinstance(t, Term) for t in q.subqueries):
            return _union([self.holding(t.fieldname, t.text) for t in q.subqueries])
        if type(q) is Term and self.scores_like_whoosh(q.fieldname):
            return self.holding(q.fieldname, q.text)
        if is_term_range(q):
            return self.term_range(q)
        if type(q) is Or and not q.minmatch and not q.scale:
            return _union([self.ids(sub) for sub in q.subqueries])
        if type(q) is And:
            if not q.subqueries:
                return _NO_DOCS
            # The plain terms with the fewest postings first; the others are looked up
            # for the documents left (never merged over all their postings).
            terms = [sub for sub in q.subqueries if _plain_term(sub)]
            others = [self.ids(sub) for sub in q.subqueries if not _plain_term(sub)]
            terms.sort(key=lambda t: sum(len(a) for a in self.concept_ids(t)))
            found = min(others, key=len) if others else self.ids(terms.pop(0))
            for other in others:
                found = found[_contains(other, found)]
            for t in terms:
                keep = np.zeros(len(found), dtype=np.bool_)
                for held in self.concept_ids(t):
                    keep |= _contains(held, found)
                found = found[keep]
            return found
        if type(q) is AndNot:
            found = self.ids(q.a)
            return found[~_contains(self.ids(q.b), found)]
        if type(q) is AndMaybe:
            return self.ids(q.a)
        return self.eval(q)[0]

    def term_at(self, q: FieldedTerm, docs: Ints) -> Sparse:
        """:meth:`bm25f_term` for those of ``docs`` (ascending) holding the term, the
        same values (each is computed from its own document's postings alone)."""
        parts: list[Sparse] = []
        df = 0
        for t in q.subqueries:
            ids, weights = self.arrays.postings(t.fieldname, t.text)
            if not len(ids):
                continue
            df = max(df, self.stats.doc_frequency(t.fieldname, t.text))
            at = _positions_in(ids, docs)
            if len(at):
                ids = ids[at]
                parts.append((ids, t.boost * weights[at] / self.norm(t.fieldname, ids)))
        ids, tfs = _sum(parts)
        return self.saturate(ids, tfs, df, q.boost)

    def base_at(self, concepts: list[_Concept], evaluated: dict[int, Sparse], docs: Ints) -> Base:
        """:meth:`best_match_base` for those of ``docs`` that match: each concept's
        pieces looked up (or, with a bound, scored) there only."""
        parts = [self.concept_from(c, evaluated, docs, whole=False) for c in concepts]
        return self._coordinated(parts, len(concepts))

    def concept_from(
        self, c: _Concept, evaluated: dict[int, Sparse], docs: Ints, *, whole: bool
    ) -> Sparse:
        """The concept ``c``'s scores from its pieces: those ``evaluated`` (by piece
        index) whole when ``whole``, else at ``docs``; the others (plain terms, of a
        bound) scored at ``docs``. Its documents' scores are :meth:`eval`'s: a sum of
        pieces adds, for each document, the same parts in the same order."""
        parts: list[Sparse] = []
        for i, piece in zip(c.indexes, c.pieces, strict=True):
            if i in evaluated:
                ids, score = evaluated[i]
                if not whole:
                    at = _positions_in(ids, docs)
                    ids, score = ids[at], score[at]
                parts.append((ids, score))
            else:
                assert isinstance(piece, FieldedTerm)
                parts.append(self.term_at(piece, docs))
        if not c.split:
            return parts[0]
        ids, score = _sum(parts)
        return ids, _boosted(score, c.boost)

    def best_match_base(self, q: BestMatch) -> Base:
        """The concepts' summed scores times coordination: (documents, score,
        coordination); only in :attr:`within` and never in :attr:`without` when set
        (each document's the same: it depends on its own postings alone)."""
        concepts = [sub for sub in q.subqueries if not isinstance(sub, Proximity | Expansion)]
        within, without = self.within, self.without
        if within is None and without is None:
            return self._coordinated([self.eval(sub) for sub in concepts], len(concepts))
        parts: list[Sparse] = []
        for c in concepts:
            if within is not None:
                ids, score = self._at(c, within)
            else:
                ids, score = self.eval(c)
            if without is not None and len(without):
                keep = ~_contains(without, ids)
                ids, score = ids[keep], score[keep]
            parts.append((ids, score))
        return self._coordinated(parts, len(concepts))

    def _at(self, q: Query, docs: Ints) -> Sparse:
        """:meth:`eval` of ``q`` for those of ``docs`` (ascending) it matches, the same
        scores: a plain term looked up there only, a plain sum part by part (the bare
        common word of a hyphenated compound is not scored over all its postings),
        anything else evaluated whole and kept there."""
        if _plain_term(q):
            assert isinstance(q, FieldedTerm)
            return self.term_at(q, docs)
        concept = _Concept.of(q)
        if concept.split:
            ids, score = _sum([self._at(piece, docs) for piece in concept.pieces])
            return ids, _boosted(score, concept.boost)
        ids, score = self.eval(q)
        at = _positions_in(ids, docs)
        return ids[at], score[at]

    def _coordinated(self, parts: list[Sparse], n: int) -> Base:
        ids, total, matched = _sum_counted(parts)
        factors = np.ones(n + 1, dtype=np.float64)
        exponent = self.params.coordination
        if n > 1 and exponent:
            # (matched / n) ** coordination, looked up for each count
            factors = (np.arange(n + 1) / n) ** exponent
        # The counts (a byte each where they fit), not a float per document: only the
        # proximity bonus needs the factor again, for a few documents.
        counts = matched.astype(np.uint8) if n < 256 else matched
        return ids, total * factors[matched], Coordination(factors, counts)

    def best_match_finish(self, q: BestMatch, base: Base, candidates: Ints) -> Sparse:
        """Adds the proximity bonus of ``candidates`` and the feedback terms."""
        ids, score, coord = base
        score = score.copy()
        at = np.searchsorted(ids, candidates)
        for sub in q.subqueries:
            if isinstance(sub, Proximity) and len(candidates):
                score[at] += self.proximity(sub, candidates) * coord.at(at)
        expansions = [self.eval(sub) for sub in q.subqueries if isinstance(sub, Expansion)]
        if expansions:
            ids, score = _sum([(ids, score), *expansions])
        return ids, _boosted(score, q.boost)


def near_counts(a: Ints, b: Ints, window: int, docs: Ints) -> Floats:
    """For each of ``docs`` (ascending), how many pairs of a position of ``a`` and one
    of ``b`` (``docnum << 32 | position`` keys, sorted, of those documents) lie within
    ``window`` positions of each other, in either order, and not at the same position."""
    if not len(a) or not len(b):
        return np.zeros(len(docs), dtype=np.float64)
    doc_of_a = np.searchsorted(docs, a >> 32)
    pairs = np.zeros(len(a), dtype=np.int64)
    for k in range(-window, window + 1):
        if k:
            # A position moved before its document's first reads as the previous
            # document's position 2**32 - k: no key is ever that.
            wanted = a + k
            pairs += np.searchsorted(b, wanted, "right") - np.searchsorted(b, wanted, "left")
    return np.bincount(doc_of_a, pairs, minlength=len(docs)).astype(np.float64)


_contains = sets.contains
_positions_in = sets.positions_in


def _values_at(part: Sparse, ids: Ints) -> Floats:
    """The scores of ``part`` for ``ids`` (ascending; 0 where it does not hold them)."""
    p_ids, p_score = part
    out = np.zeros(len(ids), dtype=np.float64)
    if len(p_ids) and len(ids):
        hit, at = sets.found_at(p_ids, ids)
        out[hit] = p_score[at]
    return out


def _union(id_arrays: list[Ints]) -> Ints:
    """The documents of any of ``id_arrays`` (ascending, once each)."""
    id_arrays = [ids for ids in id_arrays if len(ids)]
    if not id_arrays:
        return _NO_DOCS
    if len(id_arrays) == 1:
        return id_arrays[0]
    found = sets.union(id_arrays)
    return found if found is not None else _merged(np.concatenate(id_arrays))[0]


def _merged(joined: Ints) -> tuple[Ints, NDArray[np.intp]]:
    """The distinct values of ``joined`` (a concatenation of ascending runs), ascending,
    and where each value of ``joined`` is among them. A stable sort merges the runs in
    about linear time (NumPy's ``unique`` sorts from scratch)."""
    order = np.argsort(joined, kind="stable")
    ordered = joined[order]
    first = np.empty(len(ordered), dtype=np.bool_)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    inverse = np.empty(len(ordered), dtype=np.intp)
    inverse[order] = np.cumsum(first) - 1
    return ordered[first], inverse


def _sum(parts: list[Sparse]) -> Sparse:
    """The documents of any of ``parts`` and their summed scores, added in the order
    of ``parts`` (so a score does not depend on which documents other parts hold)."""
    ids, score, _ = _sum_counted(parts)
    return ids, score


def _sum_counted(parts: list[Sparse]) -> tuple[Ints, Floats, Ints]:
    """:func:`_sum` and how many of ``parts`` hold each document."""
    parts = [p for p in parts if len(p[0])]
    if not parts:
        return _NO_DOCS, _NO_SCORES, np.zeros(0, dtype=np.int64)
    if len(parts) == 1:
        ids, score = parts[0]
        return ids, score, np.ones(len(ids), dtype=np.int64)
    by_table = sets.summed(parts)
    if by_table is not None:
        return by_table
    ids, inverse = _merged(np.concatenate([p[0] for p in parts]))
    # bincount adds each document's scores in input order, starting from 0.0: the
    # same additions, in the same order, as adding whole-segment arrays part by part.
    weights = np.concatenate([p[1] for p in parts])
    summed: Floats = np.bincount(inverse, weights, minlength=len(ids)).astype(np.float64)
    return ids, summed, np.bincount(inverse, minlength=len(ids)).astype(np.int64)


def _tree_sum(scores: list[Floats]) -> Floats:
    """``scores`` added as Whoosh's ``make_binary_tree`` of matchers adds them: the
    first half's sum plus the second half's."""
    if len(scores) == 1:
        return scores[0]
    half = len(scores) // 2
    return _tree_sum(scores[:half]) + _tree_sum(scores[half:])


def _both(pair: tuple[str, str, str], seg: _Segment) -> int:
    """How many documents of ``seg`` hold both words of ``pair`` (field, word, word)."""
    field, a, b = pair
    first, second = seg.holding(field, a), seg.holding(field, b)
    return int(np.count_nonzero(_contains(second, first)))


def _best_of_all(parts: list[Sparse], depth: int) -> list[Ints]:
    """Per segment, the (ascending) numbers of its documents among the ``depth``
    best-scoring matches of all segments together."""
    if depth <= 0:
        return [ids[:0] for ids, _ in parts]
    scores = np.concatenate([score for _, score in parts]) if parts else _NO_SCORES
    if len(scores) <= depth:
        return [ids for ids, _ in parts]
    cut = np.partition(scores, len(scores) - depth)[len(scores) - depth]
    return [ids[score >= cut] for ids, score in parts]


def _best(ids: Ints, score: Floats, depth: int) -> Ints:
    """The (ascending) numbers of the ``depth`` best-scoring documents of ``ids``."""
    if depth <= 0:
        return ids[:0]
    if len(ids) > depth:
        return np.sort(ids[np.argpartition(-score, depth - 1)[:depth]])
    return ids


def _boosted(score: Floats, boost: float) -> Floats:
    return score if boost == 1.0 else score * boost
