"""Top-k pruning of a free-text query (MaxScore): the hits a ranking shows, their
scores and the exact counts, without scoring every match.

:func:`evaluate_top` gives the same hits, scores and counts as :func:`scoring.evaluate
<searchkit.engine.scoring.evaluate>` for what a ranking of ``limit`` hits needs
(``tests/test_pruning.py``); :func:`prunable` says which queries it applies to.
"""

from __future__ import annotations

import math

import numpy as np
from whoosh.query import Query
from whoosh.searching import Searcher

from searchkit.engine import sets
from searchkit.engine.nodes import BestMatch, Expansion
from searchkit.engine.postings import Floats, Ints
from searchkit.engine.scoring import (
    NO_BASE,
    Base,
    Concept,
    Hits,
    SegmentEvaluator,
    joined_hits,
    plain_term,
    segment_evaluators,
)
from searchkit.engine.sparse import NO_DOCS, NO_SCORES, Sparse, best_of_all, union
from searchkit.params import Params


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
    segments, leaves = segment_evaluators(searcher, params, depth)
    offsets = [offset for _, offset in leaves]
    concepts: list[Concept] = []
    pieces: list[Query] = []
    for sub in query.concepts():
        concepts.append(Concept.of(sub, len(pieces)))
        pieces.extend(concepts[-1].pieces)
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
        base = seg.base_at(concepts, full[k], union([i for i, _ in full[k].values()]))
        sampled.append((base, frozenset(full[k])))
        scored.append((base[0], base[1]))
    sample = joined_hits(scored, offsets)
    ids_all, base_all = sample.docnums, sample.scores  # ascending numbers
    threshold = _kth(base_all, depth)
    if counted is None:
        is_counted = np.ones(len(ids_all), dtype=np.bool_)
    else:  # the counted records among the sample's (fewer: looked up in it)
        is_counted = np.zeros(len(ids_all), dtype=np.bool_)
        is_counted[sets.positions_in(ids_all, counted)] = True
    # A part of no more than ``keep`` records is kept whole: the counted records are
    # known; the others are the matches that are not counted.
    kept: list[Ints] = [NO_DOCS for _ in segments]
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
        sampled[k] = (NO_BASE, sampled_with)
        if frozenset(full[k]) == sampled_with and not len(kept[k]):
            # The same candidates (the documents of the concepts scored in full) and
            # the same parts as the sample's, in the same order: the same base.
            bases.append(base)
            continue
        # Every document of a piece scored in full is a candidate: its part is given
        # whole; the non-essential ones are looked up for the candidates.
        candidates = (
            union([kept[k], *(ids for ids, _ in full[k].values())]) if non_essential else NO_DOCS
        )
        parts = [seg.concept_from(c, full[k], candidates, whole=True) for c in concepts]
        bases.append(seg._coordinated(parts, len(concepts)))
    # Each concept's arrays: the bases hold what is needed of them.
    del full
    for seg in segments:
        seg.forget_concepts()
    chosen = best_of_all([(ids, score) for ids, score, _ in bases], depth)
    found: list[Sparse] = []
    for k, (seg, picked) in enumerate(zip(segments, chosen, strict=True)):
        found.append(seg.best_match_finish(query, bases[k], picked))
        bases[k] = NO_BASE  # replaced by its finished scores
    if not found:
        return Hits(NO_DOCS, NO_SCORES), n_matched, n_counted, counted
    return joined_hits(found, offsets), n_matched, n_counted, counted


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


def _bound(segments: list[SegmentEvaluator], params: Params, q: Query) -> float | None:
    """The largest score a concept can give a document, when it is a plain
    :class:`FieldedTerm` (None for any other concept): its frequency saturates below
    1, so at most ``idf * (k1 + 1) * boost``, with the idf each segment gives it (of
    the largest document frequency of its fields present there), the largest over
    the segments."""
    if not (plain_term(q) and q.boost > 0 and all(t.boost >= 0 for t in q.subqueries)):
        return None
    largest = 0.0
    for seg in segments:
        dfs = [
            seg.stats.doc_frequency(t.fieldname, t.text)
            for t in q.subqueries
            if len(seg.holding(t.fieldname, t.text))
        ]
        if dfs:
            largest = max(largest, seg.idf(max(dfs)) * (params.k1 + 1.0) * q.boost)
    return largest


def _kth(scores: Floats, k: int) -> float:
    """The ``k``-th largest of ``scores`` (minus infinity when there are fewer)."""
    if k <= 0:
        return math.inf
    if len(scores) < k:
        return -math.inf
    return float(np.partition(scores, len(scores) - k)[len(scores) - k])
