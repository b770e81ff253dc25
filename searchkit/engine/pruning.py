"""Top-k pruning of a free-text query (MaxScore): the hits a ranking shows, their
scores and the exact counts, without scoring every match.

:func:`evaluate_top` gives the same hits, scores and counts as :func:`scoring.evaluate
<searchkit.engine.scoring.evaluate>` for what a ranking of ``limit`` hits needs
(``tests/test_pruning.py``); :func:`prunable` says which queries it applies to, and
:func:`with_filters` which free text ANDed with filters it applies to (the filters'
records the only ones ranked, :func:`filtered_scores` their scores).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from whoosh.query import And, Query
from whoosh.searching import Searcher

from searchkit.engine import sets
from searchkit.engine.nodes import BestMatch, Expansion
from searchkit.engine.postings import Floats, Ints
from searchkit.engine.presence import HasTerms
from searchkit.engine.ranges import is_term_range
from searchkit.engine.scoring import Concept, Evaluator, Hits, evaluator, plain_term
from searchkit.engine.sparse import NO_DOCS, Sparse, best_with_ties, boosted, union
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
    within: Ints | None = None,
) -> tuple[Hits, int, int, Ints | None]:
    """What the ranking of a free-text ``query`` needs of its matches: every match
    that can be among the ``keep`` best of the records counted (those matching
    ``strict``; None: every match counts) or, when fewer than ``limit`` records count
    and ``partial``, among the ``keep`` best of the others; each with the score
    :func:`evaluate` gives it (bitwise). Also the exact numbers of matches and of
    counted matches, and the counted records (top-level numbers, ascending; None
    when every match counts). With ``within`` (top-level numbers, ascending: the
    records a filter keeps) only those are matches, as :func:`evaluate` with the same
    ``within`` scores them (the proximity bonus goes to the best of them).

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
    ev = evaluator(searcher, params, depth)
    concepts: list[Concept] = []
    pieces: list[Query] = []
    for sub in query.concepts():
        concepts.append(Concept.of(sub, len(pieces)))
        pieces.extend(concepts[-1].pieces)
    bounds = [_times(_bound(ev, params, piece), c.boost) for c in concepts for piece in c.pieces]
    # The records counted, and how many records match at all.
    counted = None if strict is None else ev.ids(strict)
    held = np.zeros(ev.size, dtype=np.bool_)
    for piece in pieces:
        for ids in ev.concept_ids(piece):
            held[ids] = True
    inside: NDArray[np.bool_] | None = None
    if within is not None:
        inside = np.zeros(ev.size, dtype=np.bool_)
        inside[within] = True
        held &= inside
        if counted is not None:
            counted = counted[held[counted]]
    n_matched = int(np.count_nonzero(held))
    n_counted = n_matched if counted is None else int(np.count_nonzero(held[counted]))
    del held
    # Scored in full first: the concepts without a bound, then those of highest bound,
    # until they hold enough documents to set a threshold.
    unbounded = -math.inf  # sorts first
    order = sorted(
        range(len(pieces)),
        key=lambda i: unbounded if (bound := bounds[i]) is None else -bound,
    )
    full: dict[int, Sparse] = {}
    target = 2 * max(keep, depth)
    for n_done, i in enumerate(order):
        if bounds[i] is not None and n_done and _held(full) >= target:
            break
        full[i] = _inside(ev.concept(pieces[i]), inside)
    # The sample, kept: it is the base when no other concept needs scoring in full
    # and no other record must be kept.
    base = ev.base_at(concepts, full, union([i for i, _ in full.values()]))
    sampled_with = frozenset(full)
    ids_all, base_all = base[0], base[1]  # ascending numbers
    threshold = _kth(base_all, depth)
    if counted is None:
        is_counted = np.ones(len(ids_all), dtype=np.bool_)
    else:  # the counted records among the sample's (fewer: looked up in it)
        is_counted = np.zeros(len(ids_all), dtype=np.bool_)
        is_counted[sets.positions_in(ids_all, counted)] = True
    # A part of no more than ``keep`` records is kept whole: the counted records are
    # known; the others are the matches that are not counted.
    kept: Ints = NO_DOCS
    if n_counted > keep:
        threshold = min(threshold, _kth(base_all[is_counted], keep))
    elif counted is None:  # every match counts, and every one is needed
        threshold = -math.inf
    else:
        kept = counted
    if partial and n_counted < limit:
        if n_matched - n_counted > keep:
            threshold = min(threshold, _kth(base_all[~is_counted], keep))
        else:
            threshold = -math.inf
    del ids_all, base_all, is_counted
    # Non-essential: the concepts of lowest bound adding up to less than the threshold
    # (a margin for the rounding of the sums).
    non_essential: set[int] = set()
    reach = 0.0
    for i in reversed(order):
        bound = bounds[i]
        if bound is None or i in full or (reach + bound) * (1.0 + 1e-9) >= threshold:
            break
        reach += bound
        non_essential.add(i)
    for i, piece in enumerate(pieces):
        if i not in non_essential and i not in full:
            full[i] = _inside(ev.concept(piece), inside)
    if frozenset(full) != sampled_with or len(kept):
        # Every document of a piece scored in full is a candidate, kept if its score
        # can still reach the threshold (_reachable); the non-essential pieces are
        # looked up for the candidates kept. Without non-essential pieces every piece
        # was scored in full and is given whole. (Otherwise the same candidates and
        # parts as the sample's, in the same order: the same base.)
        if non_essential:
            candidates = union([kept, *(ids for ids, _ in full.values())])
            candidates = _reachable(
                ev, concepts, full, non_essential, bounds, candidates, threshold, kept
            )
            parts = [ev.concept_from(c, full, candidates, whole=False) for c in concepts]
        else:
            parts = [ev.concept_from(c, full, NO_DOCS, whole=True) for c in concepts]
        base = ev._coordinated(parts, len(concepts))
    # Each concept's arrays: the base holds what is needed of them.
    del full
    ev.forget_concepts()
    chosen = best_with_ties(base[0], base[1], depth)
    ids, score = ev.best_match_finish(query, base, chosen)
    return Hits(ids, score), n_matched, n_counted, counted


def _reachable(
    ev: Evaluator,
    concepts: list[Concept],
    full: dict[int, Sparse],
    non_essential: set[int],
    bounds: list[float | None],
    candidates: Ints,
    threshold: float,
    kept: Ints,
) -> Ints:
    """Those of ``candidates`` (ascending) whose score can reach ``threshold``, and
    every one of ``kept``: MaxScore's test made per document. Each candidate's score
    so far is its pieces scored in full (exactly, each times its concept's boost as
    its bound is); the non-essential pieces are looked up in decreasing order of
    bound, and before each lookup a candidate whose score so far plus the bounds of
    the pieces not yet looked up falls below the threshold is dropped. So the
    commonest words, whose bounds are the lowest, are looked up last, for the few
    candidates left (of the 197,621 candidates of "concentrations stem-cell
    regulatory" on the 1,000,000-record index, 101 are left). The scores
    of the candidates left are then computed as before, from their pieces in order:
    the same hits and scores (``tests/test_pruning.py``)."""
    scale = {i: (c.boost if c.split else 1.0) for c in concepts for i in c.indexes}
    total = np.zeros(len(candidates), dtype=np.float64)
    for i, (ids, score) in full.items():
        hit, at = sets.found_at(ids, candidates)
        total[hit] += score[at] * scale[i]
    order = sorted(non_essential, key=lambda i: -(bounds[i] or 0.0))
    left = sum(bounds[i] or 0.0 for i in order)
    pieces = {i: p for c in concepts for i, p in zip(c.indexes, c.pieces, strict=True)}
    kept_here = sets.contains(kept, candidates) if len(kept) else None
    for next_piece in [*order, None]:
        # The margin covers sums added in another order than the scores' own.
        alive = (total + left) * (1.0 + 1e-9) >= threshold
        if kept_here is not None:
            alive |= kept_here
            kept_here = kept_here[alive]
        candidates, total = candidates[alive], total[alive]
        if next_piece is None or not len(candidates):
            break
        ids, score = ev._at(pieces[next_piece], candidates)
        total[sets.positions_in(candidates, ids)] += score * scale[next_piece]
        left -= bounds[next_piece] or 0.0
    return candidates


def _inside(found: Sparse, inside: NDArray[np.bool_] | None) -> Sparse:
    """Those of ``found`` whose entry in ``inside`` is true (all when None)."""
    if inside is None:
        return found
    keep = inside[found[0]]
    return found[0][keep], found[1][keep]


def with_filters(query: Query, params: Params) -> tuple[BestMatch, list[Query]] | None:
    """``query`` as its free text and its filters, when it is an ``And`` of one
    free text that :func:`prunable` takes and of parts that give every record they
    match one score (date and year ranges, ``hasabstract``): ``cancer AND
    2015:2020[dp]``. Such a query ranks the filters' records by the free text alone
    (plus the filters' constant): :func:`evaluate_top` with ``within`` those records
    gives its hits, :func:`filtered_scores` their scores. None for any other query."""
    if type(query) is not And or len(query.subqueries) < 2:
        return None
    free = [sub for sub in query.subqueries if isinstance(sub, BestMatch)]
    if len(free) != 1 or not prunable(free[0], params):
        return None
    filters = [sub for sub in query.subqueries if sub is not free[0]]
    if not all(_constant(sub) is not None for sub in filters):
        return None
    return free[0], filters


def filtered_scores(query: Query, free: Query, scores: Floats) -> Floats:
    """The scores the ``And`` ``query`` (:func:`with_filters`) gives records whose
    free text ``free`` scores ``scores``: its parts' scores added in its order, times
    its boost, as :meth:`Evaluator.eval <searchkit.engine.scoring.Evaluator.eval>` adds
    them (the same floats)."""
    assert isinstance(query, And)
    total = np.zeros(len(scores), dtype=np.float64)
    for sub in query.subqueries:
        if sub is free:
            total += scores
        else:
            constant = _constant(sub)
            assert constant is not None
            total += constant
    return boosted(total, query.boost)


def common_constant(query: Query) -> float:
    """What every record matching ``query`` gets from its parts that give every record
    one score (date and year ranges, ``hasabstract``): for an ``And``, their scores
    added, times its boost, as :meth:`Evaluator.eval
    <searchkit.engine.scoring.Evaluator.eval>` adds them; 0 for any other query. The
    second stage leaves it out of the scale of its bonus, so that ``AND 2015[dp]``
    ranks as the filter ``--year 2015`` does."""
    if type(query) is not And:
        return 0.0
    constants = [_constant(sub) for sub in query.subqueries]
    total = sum(c for c in constants if c is not None)
    return total * query.boost


def _constant(q: Query) -> float | None:
    """The one score ``q`` gives every record it matches (None: not one)."""
    if is_term_range(q):
        return float(q.score)
    if isinstance(q, HasTerms):
        return float(q.boost)
    return None


def _times(bound: float | None, boost: float) -> float | None:
    return None if bound is None else bound * boost


def _held(full: dict[int, Sparse]) -> int:
    """How many documents (with repeats) the concepts scored so far hold."""
    return sum(len(ids) for ids, _ in full.values())


def prunable(query: Query, params: Params) -> bool:
    """Whether :func:`evaluate_top` applies to ``query``: a free-text query without
    feedback terms or a boost, ranked with coordination that never raises a score."""
    return (
        isinstance(query, BestMatch)
        and query.boost == 1.0
        and params.coordination >= 0
        and not any(isinstance(sub, Expansion) for sub in query.subqueries)
    )


def _bound(ev: Evaluator, params: Params, q: Query) -> float | None:
    """The largest score a concept can give a document, when it is a plain
    :class:`FieldedTerm` (None for any other concept): its frequency saturates below
    1, so at most ``idf * (k1 + 1) * boost``, with its idf (of the largest document
    frequency of its fields present in the index)."""
    if not (plain_term(q) and q.boost > 0 and all(t.boost >= 0 for t in q.subqueries)):
        return None
    dfs = [
        ev.stats.doc_frequency(t.fieldname, t.text)
        for t in q.subqueries
        if len(ev.holding(t.fieldname, t.text))
    ]
    return ev.idf(max(dfs)) * (params.k1 + 1.0) * q.boost if dfs else 0.0


def _kth(scores: Floats, k: int) -> float:
    """The ``k``-th largest of ``scores`` (minus infinity when there are fewer)."""
    if k <= 0:
        return math.inf
    if len(scores) < k:
        return -math.inf
    return float(np.partition(scores, len(scores) - k)[len(scores) - k])
