"""Phrase matching on position keys (``docnum << 32 | position``, sorted): where words
occur in order, each within a slop of the one before."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from searchkit.engine import sets
from searchkit.engine.sets import Ints


def phrase_starts(keys: list[Ints], slop: int) -> Ints:
    """Where the words occur in order, each within ``slop`` positions of the one before
    (the nearest such): the first word's positions, as sorted ``docnum << 32 |
    position``. ``keys``: each word's positions in that form
    (:meth:`SegmentArrays.position_keys`)."""
    return narrowing_phrase_starts(len(keys), lambda i, _docs: keys[i], slop)


def narrowing_phrase_starts(
    n_words: int, keys: Callable[[int, Ints | None], Ints], slop: int
) -> Ints:
    """:func:`phrase_starts` of ``n_words`` words whose positions ``keys(i, docs)``
    gives for word ``i``: in at least the documents ``docs`` (ascending), those where
    the words before it were found in order (all of them for the first word: ``docs``
    is None). A common word's positions are then decoded only in the documents
    where the phrase can still occur, not in every document holding all its words."""
    if not n_words:
        return sets.NO_IDS
    starts = keys(0, None)
    current = starts
    for i in range(1, n_words):
        if not len(current):
            return starts[:0]
        following = keys(i, sets.distinct(current >> 32))
        if not len(following):
            return starts[:0]
        found = np.zeros(len(current), dtype=np.bool_)
        nearest = current.copy()
        for k in range(1, slop + 1):
            wanted = current + k
            at = np.minimum(np.searchsorted(following, wanted), len(following) - 1)
            hit = ~found & (following[at] == wanted)
            nearest[hit] = wanted[hit]
            found |= hit
        current, starts = nearest[found], starts[found]
    return starts


__all__ = ["narrowing_phrase_starts", "phrase_starts"]
