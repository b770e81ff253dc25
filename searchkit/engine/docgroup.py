"""Some top-level document numbers, for looking up many terms in them: which hold a
term, its positions there, a phrase's starts (the second stage and the snippets'
matched terms).

They are looked up in the arrays the query's evaluator read
(:func:`~searchkit.engine.joined.arrays_of`: within a
:func:`~searchkit.engine.joined.query_scope`, the same ones), so that a term's
postings, read and joined over the segments to rank the query, are not asked of
every segment again for a hundred candidates."""

from __future__ import annotations

import numpy as np
from whoosh.searching import Searcher

from searchkit.engine import sets
from searchkit.engine.joined import arrays_of
from searchkit.engine.phrase_match import narrowing_phrase_starts
from searchkit.engine.sets import Ints


class DocGroup:
    """Some top-level document numbers of ``searcher``'s index, for looking up many
    terms in them (which contain a term, and where)."""

    def __init__(self, searcher: Searcher, docnums: list[int]) -> None:
        self._arrays = arrays_of(searcher.reader())
        self._docs: Ints = np.array(sorted(set(docnums)), dtype=np.int64)

    def containing(self, field: str, text: str) -> set[int]:
        """Those of the documents that contain ``text`` in ``field``."""
        ids = self._arrays.postings(field, text)[0]
        docs = self._docs
        return set(docs[sets.contains(ids, docs)].tolist())

    def positions(self, field: str, text: str) -> dict[int, list[int]]:
        """The positions of ``text`` in ``field`` for those of the documents that
        contain it."""
        return self._arrays.positions(field, text, self._docs)

    def position_keys(self, field: str, text: str) -> Ints:
        """:meth:`SegmentArrays.position_keys` of the documents (top-level numbers)."""
        return self._arrays.position_keys(field, text, self._docs)

    def phrase_starts(self, field: str, words: list[str], slop: int) -> Ints:
        """:func:`phrase_starts` of ``words`` in these documents (top-level keys), each
        word's positions decoded only in the documents holding every word where the
        words before it were found in order."""
        arrays = self._arrays
        held = self._docs
        for w in dict.fromkeys(words):
            held = held[sets.contains(arrays.postings(field, w)[0], held)]

        def keys(i: int, alive: Ints | None) -> Ints:
            docs = held if alive is None else held[sets.contains(alive, held)]
            return arrays.position_keys(field, words[i], docs)

        return narrowing_phrase_starts(len(words), keys, slop)


__all__ = ["DocGroup"]
