"""A query node's matches as two arrays (:data:`Sparse`): its document numbers
(ascending, unique) and their scores, as long as the matches, never as the index.
Unions, sums and top-k cuts of them.

Sums add each document's scores in the order of the parts, starting from 0.0, as
adding whole-segment arrays part by part would: a score never depends on which
documents the other parts hold, so evaluating a node for a subset of the documents
(pruning, a tag's records) gives each of them the same score, bit for bit.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from searchkit.engine import sets
from searchkit.engine.postings import Floats, Ints

#: A node's matches: its document numbers (ascending, unique) and their scores, in
#: arrays as long as the matches (never as the index).
Sparse = tuple[Ints, Floats]

NO_DOCS: Ints = np.zeros(0, dtype=np.int64)
NO_SCORES: Floats = np.zeros(0, dtype=np.float64)


def values_at(part: Sparse, ids: Ints) -> Floats:
    """The scores of ``part`` for ``ids`` (ascending; 0 where it does not hold them)."""
    p_ids, p_score = part
    out = np.zeros(len(ids), dtype=np.float64)
    if len(p_ids) and len(ids):
        hit, at = sets.found_at(p_ids, ids)
        out[hit] = p_score[at]
    return out


def union(id_arrays: list[Ints]) -> Ints:
    """The documents of any of ``id_arrays`` (ascending, once each)."""
    id_arrays = [ids for ids in id_arrays if len(ids)]
    if not id_arrays:
        return NO_DOCS
    if len(id_arrays) == 1:
        return id_arrays[0]
    found = sets.union(id_arrays)
    return found if found is not None else merged(np.concatenate(id_arrays))[0]


def merged(joined: Ints) -> tuple[Ints, NDArray[np.intp]]:
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


def sum_parts(parts: list[Sparse]) -> Sparse:
    """The documents of any of ``parts`` and their summed scores, added in the order
    of ``parts`` (so a score does not depend on which documents other parts hold)."""
    ids, score, _ = sum_counted(parts)
    return ids, score


def sum_counted(parts: list[Sparse]) -> tuple[Ints, Floats, Ints]:
    """:func:`sum_parts` and how many of ``parts`` hold each document."""
    parts = [p for p in parts if len(p[0])]
    if not parts:
        return NO_DOCS, NO_SCORES, np.zeros(0, dtype=np.int64)
    if len(parts) == 1:
        ids, score = parts[0]
        return ids, score, np.ones(len(ids), dtype=np.int64)
    by_table = sets.summed(parts)
    if by_table is not None:
        return by_table
    ids, inverse = merged(np.concatenate([p[0] for p in parts]))
    # bincount adds each document's scores in input order, starting from 0.0: the
    # same additions, in the same order, as adding whole-segment arrays part by part.
    weights = np.concatenate([p[1] for p in parts])
    summed: Floats = np.bincount(inverse, weights, minlength=len(ids)).astype(np.float64)
    return ids, summed, np.bincount(inverse, minlength=len(ids)).astype(np.int64)


def tree_sum(scores: list[Floats]) -> Floats:
    """``scores`` added as Whoosh's ``make_binary_tree`` of matchers adds them: the
    first half's sum plus the second half's."""
    if len(scores) == 1:
        return scores[0]
    half = len(scores) // 2
    return tree_sum(scores[:half]) + tree_sum(scores[half:])


def best_with_ties(ids: Ints, score: Floats, depth: int) -> Ints:
    """The (ascending) numbers of the ``depth`` best-scoring documents of ``ids``, and
    of every other document scoring as much as the last of them."""
    if depth <= 0:
        return ids[:0]
    if len(score) <= depth:
        return ids
    cut = np.partition(score, len(score) - depth)[len(score) - depth]
    return ids[score >= cut]


def boosted(score: Floats, boost: float) -> Floats:
    return score if boost == 1.0 else score * boost
