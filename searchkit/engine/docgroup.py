"""Some top-level document numbers grouped by the segment holding them, for looking
up many terms in them: which hold a term, its positions there, a phrase's starts (the
second stage and the snippets' matched terms)."""

from __future__ import annotations

import bisect

import numpy as np
from whoosh.searching import Searcher

from searchkit.engine import sets
from searchkit.engine.phrase_match import narrowing_phrase_starts
from searchkit.engine.postings import SegmentArrays
from searchkit.engine.sets import Ints


class DocGroup:
    """Some top-level document numbers, grouped by the segment holding them once, for
    looking up many terms in them (which contain a term, and where)."""

    def __init__(self, searcher: Searcher, docnums: list[int]) -> None:
        self._groups = _by_segment(searcher, docnums)

    def containing(self, field: str, text: str) -> set[int]:
        """Those of the documents that contain ``text`` in ``field``."""
        found: set[int] = set()
        for arrays, offset, local in self._groups:
            ids, _ = arrays.postings(field, text)
            if not len(ids):
                continue
            found.update((local[sets.contains(ids, local)] + offset).tolist())
        return found

    def positions(self, field: str, text: str) -> dict[int, list[int]]:
        """The positions of ``text`` in ``field`` for those of the documents that
        contain it."""
        out: dict[int, list[int]] = {}
        for arrays, offset, local in self._groups:
            for d, positions in arrays.positions(field, text, local).items():
                out[d + offset] = positions
        return out

    def position_keys(self, field: str, text: str) -> Ints:
        """:meth:`SegmentArrays.position_keys` of the documents, with top-level numbers."""
        return _group_keys(self._groups, field, text)

    def phrase_starts(self, field: str, words: list[str], slop: int) -> Ints:
        """:func:`phrase_starts` of ``words`` in these documents (top-level keys), each
        word's positions decoded only in the documents holding every word where the
        words before it were found in order."""
        held: list[tuple[SegmentArrays, int, Ints]] = []
        for arrays, offset, local in self._groups:
            for w in dict.fromkeys(words):
                local = local[sets.contains(arrays.postings(field, w)[0], local)]
            if len(local):
                held.append((arrays, offset, local))

        def keys(i: int, alive: Ints | None) -> Ints:
            groups = held
            if alive is not None:
                groups = [
                    (arrays, offset, local[sets.contains(alive, local + offset)])
                    for arrays, offset, local in held
                ]
            return _group_keys(groups, field, words[i])

        return narrowing_phrase_starts(len(words), keys, slop)


def _group_keys(groups: list[tuple[SegmentArrays, int, Ints]], field: str, text: str) -> Ints:
    """The positions of ``text`` in ``field`` in the documents of ``groups`` (as
    :class:`DocGroup` holds them), as top-level ``docnum << 32 | position`` keys."""
    keys = [
        arrays.position_keys(field, text, local) + (offset << 32)
        for arrays, offset, local in groups
        if len(local)
    ]
    return np.concatenate(keys) if keys else sets.NO_IDS


def _by_segment(searcher: Searcher, docnums: list[int]) -> list[tuple[SegmentArrays, int, Ints]]:
    """``docnums`` (top-level) grouped by the segment holding them: (its arrays, its
    offset, the segment-local numbers, ascending)."""
    leaves = searcher.leaf_searchers()
    offsets = [offset for _, offset in leaves]
    grouped: dict[int, list[int]] = {}
    for docnum in sorted(set(docnums)):
        grouped.setdefault(bisect.bisect_right(offsets, docnum) - 1, []).append(docnum)
    return [
        (
            SegmentArrays(leaves[i][0].reader()),
            offsets[i],
            np.array(ds, dtype=np.int64) - offsets[i],
        )
        for i, ds in grouped.items()
    ]


__all__ = ["DocGroup"]
