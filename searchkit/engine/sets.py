"""Set operations on sorted document numbers, by binary search or by a dense table.

A segment's document numbers are small non-negative integers. Looking many numbers
up in a long posting list by binary search (``np.searchsorted``) costs a few cache
misses per number; when the numbers looked up are many, marking the list in a table
as long as the largest number and reading the table is several times cheaper (on a
1,000,000-record index: 130,000 postings probed for 20,000 documents, 2.2 ms by
search, 0.55 ms by table). Each function picks the cheaper way from the array sizes;
both ways give the same result, element for element (``tests/test_sets.py``).

Unions add scores in the order of their parts, as adding whole-segment arrays part
by part would: a table does exactly those additions, in that order.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]
#: No document numbers (or position keys): the one empty array the engine returns.
NO_IDS: Ints = np.zeros(0, dtype=np.int64)
Mask = NDArray[np.bool_]
#: Places in an array, to index it with.
Positions = NDArray[np.signedinteger[Any]]

#: A binary search costs about this many table steps per number looked up.
SEARCH_COST = 48
#: A union goes by table when the table is at most this many times as long as the
#: numbers merged (a stable sort of 30,000 numbers costs about a table of 200,000).
SORT_COST = 8
#: Sums go by table when it is at most this many times as long as the numbers added
#: (a score and a count per entry: a table of 200,000 costs about the sort of 70,000).
SUM_SPAN = 2


def _use_table(n_sorted: int, n_wanted: int, span: int, entry_bytes: int = 1) -> bool:
    """Whether a table of ``span`` entries of ``entry_bytes`` bytes beats binary
    searches of ``n_wanted`` numbers in ``n_sorted`` (filling a byte of a table is an
    eighth of a step). ``found_at``'s table of 32-bit entries fills four times the
    memory of ``contains``'s: counted so, the 3,069 calls of the 200 benchmark queries
    on the 1,000,000-record index, replayed, took 0.87-0.89x the time, within 4% of the
    better way each time (``benchmarks/lookup_choice.py``; BENCHMARKS.md, Scale,
    twenty-eighth pass)."""
    return n_wanted * SEARCH_COST > n_sorted + n_wanted + span * entry_bytes // 8


def _span(*arrays: Ints) -> int:
    """One more than the largest number of the (ascending) ``arrays``."""
    return max(int(a[-1]) for a in arrays if len(a)) + 1


def contains(sorted_ids: Ints, wanted: Ints) -> Mask:
    """Which of ``wanted`` (non-negative, any order) are in ``sorted_ids``
    (ascending, unique)."""
    if not len(sorted_ids) or not len(wanted):
        return np.zeros(len(wanted), dtype=np.bool_)
    span = max(int(sorted_ids[-1]), int(wanted.max())) + 1
    if _use_table(len(sorted_ids), len(wanted), span):
        table = np.zeros(span, dtype=np.bool_)
        table[sorted_ids] = True
        return table[wanted]
    at = np.minimum(np.searchsorted(sorted_ids, wanted), len(sorted_ids) - 1)
    return sorted_ids[at] == wanted


def positions_in(sorted_ids: Ints, wanted: Ints) -> Positions:
    """Where those of ``wanted`` (non-negative, any order) that ``sorted_ids``
    (ascending, unique) holds are in it, in the order of ``wanted``."""
    return found_at(sorted_ids, wanted)[1]


def found_at(sorted_ids: Ints, wanted: Ints) -> tuple[Mask, Positions]:
    """Which of ``wanted`` (non-negative, any order) ``sorted_ids`` (ascending,
    unique) holds, and where those are in it (as indexes: 32- or 64-bit)."""
    if not len(sorted_ids) or not len(wanted):
        return np.zeros(len(wanted), dtype=np.bool_), np.zeros(0, dtype=np.intp)
    span = max(int(sorted_ids[-1]), int(wanted.max())) + 1
    # 32-bit entries (a segment holds fewer than 2**31 documents): half the memory to
    # fill, mark and read of a table of machine-size integers.
    index_type = np.int32 if len(sorted_ids) < 2**31 else np.intp
    if _use_table(len(sorted_ids), len(wanted), span, np.dtype(index_type).itemsize):
        table = np.full(span, -1, dtype=index_type)
        table[sorted_ids] = np.arange(len(sorted_ids), dtype=index_type)
        at = cast(Positions, table[wanted])
        hit = at >= 0
        return hit, at[hit]
    at = np.minimum(np.searchsorted(sorted_ids, wanted), len(sorted_ids) - 1)
    hit = sorted_ids[at] == wanted
    return hit, at[hit]


def distinct(ascending: Ints) -> Ints:
    """The numbers of ``ascending`` (sorted, repeats allowed) once each: what
    ``np.unique`` gives, without its sort (and without the ``numpy.ma`` import its
    first call makes, ~12 ms of a ``searchkit search`` process)."""
    if len(ascending) < 2:
        return ascending.copy()
    first = np.empty(len(ascending), dtype=np.bool_)
    first[0] = True
    np.not_equal(ascending[1:], ascending[:-1], out=first[1:])
    return ascending[first]


def distinct_counts(ascending: Ints) -> tuple[Ints, Ints]:
    """The numbers of ``ascending`` (sorted, repeats allowed) once each, and how many
    times each occurs: ``np.unique(..., return_counts=True)`` without its sort."""
    if not len(ascending):
        return ascending.copy(), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], ascending[1:] != ascending[:-1])))
    counts = np.diff(np.append(starts, len(ascending)))
    return ascending[starts], counts


def distinct_pairs(first: Ints, second: Ints) -> tuple[Ints, Ints]:
    """The pairs ``(first[i], second[i])`` once each, ordered by ``first`` then
    ``second``: ``np.unique`` of the stacked pairs along rows (which sorts them as
    opaque records, several times slower than two keys)."""
    order = np.lexsort((second, first))
    a, b = first[order], second[order]
    if len(a) < 2:
        return a, b
    keep = np.empty(len(a), dtype=np.bool_)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    keep[1:] |= b[1:] != b[:-1]
    return a[keep], b[keep]


def union(id_arrays: list[Ints]) -> Ints | None:
    """The numbers of any of ``id_arrays`` (each ascending, unique, non-negative),
    ascending, once each, by a table; None when sorting them is cheaper."""
    n = sum(len(a) for a in id_arrays)
    span = _span(*id_arrays)
    if span > SORT_COST * n:
        return None
    table = np.zeros(span, dtype=np.bool_)
    for ids in id_arrays:
        table[ids] = True
    return np.flatnonzero(table).astype(np.int64)


def summed(parts: list[tuple[Ints, Floats]]) -> tuple[Ints, Floats, Ints] | None:
    """The numbers of any of ``parts`` (each: ascending unique numbers and their
    scores), their scores added part by part starting from 0.0, and how many parts
    hold each; by a table, or None when sorting them is cheaper."""
    n = sum(len(ids) for ids, _ in parts)
    span = _span(*(ids for ids, _ in parts))
    if span > SUM_SPAN * n or len(parts) > 255:
        return None
    total = np.zeros(span, dtype=np.float64)
    count = np.zeros(span, dtype=np.uint8)  # fewer than 256 parts
    for ids, score in parts:
        total[ids] += score  # unique ids: one addition each, in part order
        count[ids] += 1
    held = np.flatnonzero(count)
    return held.astype(np.int64), total[held], count[held].astype(np.int64)
