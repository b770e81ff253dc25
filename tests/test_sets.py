"""Set operations by table (:mod:`searchkit.engine.sets`): the same results, element
for element and bit for bit, as by binary search and sorting, on the posting lists of
the real records of data/; and the same rankings, scores and counts whichever way the
queries' set operations go."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from searchkit import SearchIndex
from searchkit.engine import sets
from searchkit.engine.nodes import weighting
from searchkit.engine.postings import SegmentArrays
from searchkit.engine.scoring import evaluate
from searchkit.params import DEFAULT
from searchkit.searching import pipeline

from .conftest import ROOT

BENCHMARK_QUERIES = (ROOT / "benchmarks" / "queries.txt").read_text("utf-8").splitlines()
WORDS = ("cell", "patient", "cancer", "express", "tumor", "immun", "protein", "mice", "risk")


def _by_search(sorted_ids: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    at = np.minimum(np.searchsorted(sorted_ids, wanted), len(sorted_ids) - 1)
    hit = sorted_ids[at] == wanted
    return hit, at[hit]


def _postings(index_dir: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    index = SearchIndex.open(index_dir)
    searcher = index.shared_searcher(weighting(DEFAULT))
    found = []
    for sub, _ in searcher.leaf_searchers():
        arrays = SegmentArrays(sub.reader())
        for word in WORDS:
            ids, weights = arrays.postings("abstract", word)
            if len(ids):
                found.append((ids, weights * 0.37 + 0.1))  # scores with rounding to do
    index.close()
    return found


@pytest.mark.parametrize("table", [True, False])
def test_lookups_as_by_binary_search(
    sample_index_dir: Path, monkeypatch: pytest.MonkeyPatch, table: bool
) -> None:
    """contains, positions_in and found_at, by table (forced) or by search, give what a
    binary search gives, for every pair of real posting lists (and empty ones)."""
    monkeypatch.setattr(sets, "SEARCH_COST", 10**9 if table else 0)
    lists = [ids for ids, _ in _postings(sample_index_dir)]
    assert len(lists) >= 5 and max(len(ids) for ids in lists) >= 100
    lists.append(np.zeros(0, dtype=np.int64))
    for a, b in itertools.product(lists, repeat=2):
        hit, at = _by_search(a, b) if len(a) else (np.zeros(len(b), bool), np.zeros(0, int))
        assert np.array_equal(sets.contains(a, b), hit)
        assert np.array_equal(sets.positions_in(a, b), at)
        got_hit, got_at = sets.found_at(a, b)
        assert np.array_equal(got_hit, hit) and np.array_equal(got_at, at)
    # Unordered numbers looked up (a table sized by their largest, not their last).
    a = lists[0]
    shuffled = np.array([a[-1], 0, a[0], a[-1] + 5], dtype=np.int64)
    expected = _by_search(a, shuffled)[0]
    assert np.array_equal(sets.contains(a, shuffled), expected)


def test_unions_and_sums_as_by_sorting(
    sample_index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unions by table hold the documents a sort finds; sums by table are the sums
    ``np.bincount`` makes in part order, bitwise, with the same counts."""
    monkeypatch.setattr(sets, "SORT_COST", 10**9)
    monkeypatch.setattr(sets, "SUM_SPAN", 10**9)
    parts = _postings(sample_index_dir)
    for k in (2, 3, 5):
        chosen = [parts[i % len(parts)] for i in range(k * 3, k * 3 + k)]
        ids_list = [ids for ids, _ in chosen]
        union = sets.union(ids_list)
        assert union is not None
        assert np.array_equal(union, np.unique(np.concatenate(ids_list)))
        summed = sets.summed(chosen)
        assert summed is not None
        ids, inverse = np.unique(np.concatenate(ids_list), return_inverse=True)
        weights = np.concatenate([s for _, s in chosen])
        expected = np.bincount(inverse, weights, minlength=len(ids))
        assert np.array_equal(summed[0], ids)
        assert summed[1].tobytes() == expected.tobytes()
        assert np.array_equal(summed[2], np.bincount(inverse, minlength=len(ids)))
    monkeypatch.setattr(sets, "SORT_COST", 0)
    monkeypatch.setattr(sets, "SUM_SPAN", 0)
    assert sets.union([parts[0][0], parts[1][0]]) is None
    assert sets.summed(parts[:2]) is None


def test_distinct_is_np_unique_of_sorted_numbers(sample_index_dir: Path) -> None:
    """``distinct`` of ascending numbers with repeats (real posting lists joined and
    sorted, as a block number per posting is) is ``np.unique``'s, and a new array."""
    lists = [ids for ids, _ in _postings(sample_index_dir)]
    joined = np.sort(np.concatenate(lists[:6]))
    assert len(np.unique(joined)) < len(joined)  # repeats to drop
    for sample in (joined, joined[:1], joined[:0], joined // 7, np.zeros(5, dtype=np.int64)):
        got = sets.distinct(sample)
        assert np.array_equal(got, np.unique(sample))
        assert got.dtype == sample.dtype
        assert not np.shares_memory(got, sample) or not len(got)


def test_distinct_counts_and_pairs_are_np_uniques(sample_index_dir: Path) -> None:
    """``distinct_counts`` of ascending numbers is ``np.unique(..., return_counts=True)``;
    ``distinct_pairs`` is ``np.unique`` of the stacked pairs along rows: on real
    posting lists (document numbers with repeats, and pairs of them, many repeated)."""
    lists = [ids for ids, _ in _postings(sample_index_dir)]
    joined = np.sort(np.concatenate(lists[:6]))
    for sample in (joined, joined[:1], joined[:0], joined >> 2):
        values, counts = sets.distinct_counts(sample)
        want_values, want_counts = np.unique(sample, return_counts=True)
        assert np.array_equal(values, want_values)
        assert np.array_equal(counts, want_counts)
    rng = np.random.default_rng(7)
    first = rng.choice(joined, size=3000)
    second = first + rng.integers(0, 4, size=3000)
    for a, b in ((first, second), (first[:1], second[:1]), (first[:0], second[:0])):
        got_a, got_b = sets.distinct_pairs(a, b)
        want = np.unique(np.stack([a, b], axis=1), axis=0)
        assert np.array_equal(got_a, want[:, 0]) and np.array_equal(got_b, want[:, 1])
    assert len(sets.distinct_pairs(first, second)[0]) < len(first)  # repeats dropped


@pytest.mark.slow
def test_same_rankings_by_table_and_by_search(
    sample_index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The benchmark queries rank the same documents with the same scores (bitwise)
    and counts whether every set operation goes by table or none does."""
    index = SearchIndex.open(sample_index_dir)
    results = []
    for search_cost, sort_cost in ((0, 0), (10**9, 10**9)):
        monkeypatch.setattr(sets, "SEARCH_COST", search_cost)
        monkeypatch.setattr(sets, "SORT_COST", sort_cost)
        monkeypatch.setattr(sets, "SUM_SPAN", sort_cost)
        index.postings_cache.clear()
        results.append(
            [
                (r.ranked, r.total, r.partial_total)
                for r in (pipeline.rank(index, q, DEFAULT, limit=10) for q in BENCHMARK_QUERIES)
            ]
        )
    assert results[0] == results[1]
    assert sum(1 for ranked, total, _ in results[0] if ranked and total) >= 30


def test_hits_restricted_and_excluded_as_by_isin(sample_index: SearchIndex) -> None:
    """``Hits.restrict``/``exclude`` look the numbers up as sorted sets (the counted
    records come ascending): the documents ``np.isin`` keeps, for numbers in any order
    and with repeats too."""
    searcher = sample_index.shared_searcher(weighting(DEFAULT))
    q, _ = pipeline.compile_query(sample_index, pipeline.parse("cancer cell", None), DEFAULT)
    hits = evaluate(searcher, q, DEFAULT)
    assert len(hits) > 50
    rng = np.random.default_rng(7)
    ascending = hits.docnums[::3]
    shuffled = rng.permutation(np.concatenate([ascending, ascending[:10], [0, 10**6]]))
    for numbers in (ascending, shuffled, ascending[:0], ascending[:1]):
        keep = np.isin(hits.docnums, numbers)
        assert hits.restrict(numbers).docnums.tolist() == hits.docnums[keep].tolist()
        assert hits.restrict(numbers).scores.tolist() == hits.scores[keep].tolist()
        assert hits.exclude(numbers).docnums.tolist() == hits.docnums[~keep].tolist()


def test_a_table_of_wider_entries_is_chosen_less_often() -> None:
    """found_at's table holds 32-bit entries: four times the memory a table of flags
    fills, so for the same lookups it loses to binary search sooner."""
    assert sets._use_table(1_000, 200, 40_000)
    assert not sets._use_table(1_000, 200, 40_000, entry_bytes=4)
    assert sets._use_table(1_000, 200, 4_000, entry_bytes=4)
