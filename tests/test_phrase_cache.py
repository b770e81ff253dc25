"""A phrase's frequencies in a segment are matched once per state of the segment
(:meth:`searchkit.engine.postings.SegmentArrays.derived`): the next search of an open
index reuses them; a deletion is a new state, matched again, and never answered from
the old one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from searchkit import SearchIndex, ingest, search
from searchkit.engine import phrases, scoring
from searchkit.engine.postings import SegmentArrays

from .conftest import SMALL_SUBSET

QUERIES = ['"breast cancer" screening', "cancer-associated fibroblasts", '"T cell" receptor']


@pytest.fixture
def index(tmp_path: Path) -> SearchIndex:
    ix = SearchIndex.create(tmp_path / "ix")
    assert ingest(SMALL_SUBSET, ix).ok
    return ix


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times a phrase is matched (either way), as a one-item list."""
    calls = [0]
    plain, slotted = scoring.Evaluator._phrase_frequencies, phrases._frequencies

    def plain_counted(self: Any, *args: Any) -> Any:
        calls[0] += 1
        return plain(self, *args)

    def slotted_counted(*args: Any) -> Any:
        calls[0] += 1
        return slotted(*args)

    monkeypatch.setattr(scoring.Evaluator, "_phrase_frequencies", plain_counted)
    monkeypatch.setattr(phrases, "_frequencies", slotted_counted)
    return calls


def test_the_next_search_matches_no_phrase_again(
    index: SearchIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _counting(monkeypatch)
    for q in QUERIES:
        calls[0] = 0
        first = search(index, q, limit=20)
        assert calls[0] > 0, q
        assert first.hits, q
        calls[0] = 0
        again = search(index, q, limit=20)
        assert calls[0] == 0, q
        assert [(h.pmid, h.score) for h in again.hits] == [(h.pmid, h.score) for h in first.hits]
        assert again.total == first.total


def test_a_deletion_is_matched_again(index: SearchIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting(monkeypatch)
    q = '"breast cancer" screening'
    before = search(index, q, limit=None)
    gone = before.hits[0].pmid
    index.delete([gone])
    calls[0] = 0
    after = search(index, q, limit=None)
    assert calls[0] > 0
    assert gone not in {h.pmid for h in after.hits}
    assert after.total == before.total - 1
    fresh = SearchIndex.open(index.path)  # nothing cached: the same answer
    assert [(h.pmid, h.score) for h in search(fresh, q, limit=None).hits] == [
        (h.pmid, h.score) for h in after.hits
    ]


def test_kept_arrays_are_read_only(index: SearchIndex) -> None:
    with index.searcher() as searcher:
        arrays = SegmentArrays(searcher.leaf_searchers()[0][0].reader())
        ids, counts = arrays.derived(
            ("test",), lambda: (np.arange(3, dtype=np.int64), np.ones(3, dtype=np.float64))
        )
        with pytest.raises(ValueError):
            ids[0] = 7
        with pytest.raises(ValueError):
            counts[0] = 7.0
