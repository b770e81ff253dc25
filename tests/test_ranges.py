"""Year and date ranges (``2000:2020[dp]``, ``2015/06/15:2016/03/01[dp]``) matched in
arrays (:mod:`searchkit.engine.ranges`): the same documents and the same constant score
as Whoosh's matcher gave them, on real records of data/ in two segments with deleted
documents; and the count a range search reports is the records' own."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner
from whoosh import query as wq

from searchkit import SearchIndex
from searchkit.engine import scoring
from searchkit.engine.ranges import is_term_range
from searchkit.params import DEFAULT
from searchkit.query.compile import date_range, year_range
from searchkit.readers import read_file
from searchkit.records import Record

from .cli_helpers import run
from .conftest import SMALL_SUBSET, segmented_index
from .test_cli import _searchkit_exe

runner = CliRunner()


@pytest.fixture(scope="module")
def range_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real records of data/ in two segments, some deleted."""
    path = tmp_path_factory.mktemp("ranges") / "ix"
    return segmented_index(path, [SMALL_SUBSET[::2], SMALL_SUBSET[1::2]], 11)


def _ranges(schema: object) -> list[wq.Query]:
    return [
        year_range(schema, 2000, 2020),  # type: ignore[arg-type]
        year_range(schema, None, 2010),  # type: ignore[arg-type]
        year_range(schema, 2015, None),  # type: ignore[arg-type]
        year_range(schema, 2014, 2014),  # type: ignore[arg-type]
        year_range(schema, 1800, 1801),  # type: ignore[arg-type]
        date_range(schema, "pdat", "20150615", "20160301"),  # type: ignore[arg-type]
        date_range(schema, "pdat", None, "20121231"),  # type: ignore[arg-type]
        date_range(schema, "edat", "20140101", None),  # type: ignore[arg-type]
        date_range(schema, "crdt", "20150101", "20151231"),  # type: ignore[arg-type]
        date_range(schema, "mhda", "20990101", None),  # type: ignore[arg-type]
    ]


def test_ranges_match_and_score_as_whoosh_s_matcher(range_index: Path) -> None:
    index = SearchIndex.open(range_index)
    try:
        with index.searcher() as searcher:
            seg = scoring.evaluator(searcher, DEFAULT, DEFAULT.proximity_depth)
            # One evaluator reads both segments (one with deletions) as one.
            assert len(searcher.leaf_searchers()) == 2
            assert any(sub.reader().has_deletions() for sub, _ in searcher.leaf_searchers())
            nonempty = 0
            for q in _ranges(searcher.schema):
                assert is_term_range(q)
                ids, scores = seg.eval(q)
                whoosh_ids, whoosh_scores = seg.leaf(q)  # Whoosh's own matcher
                assert np.array_equal(ids, whoosh_ids), q
                assert np.array_equal(scores, whoosh_scores), q
                assert np.array_equal(seg.ids(q), whoosh_ids), q
                nonempty += bool(len(ids))
            assert nonempty >= 7  # most ranges hold records
    finally:
        index.close()


def test_a_year_range_counts_the_records_of_those_years(range_index: Path) -> None:
    index = SearchIndex.open(range_index)
    try:
        with index.searcher() as searcher:
            live = {str(f["pmid"]) for f in searcher.all_stored_fields()}
    finally:
        index.close()
    years: dict[str, int | None] = {}
    for path in SMALL_SUBSET:  # later versions of a record win, as at ingest
        for item in read_file(path):
            if isinstance(item, Record) and item.pmid in live:
                years[item.pmid] = item.year
    expected = sorted(p for p, y in years.items() if y is not None and 2010 <= y <= 2015)
    assert len(expected) > 50
    listed = run(range_index, "search", "2010:2015[dp]", "--format", "pmid", "--limit", "all")
    assert listed.exit_code == 0, listed.stderr
    assert sorted(listed.stdout.split()) == expected
    # As a real process, with a word: the range's records that hold it.
    done = subprocess.run(
        [_searchkit_exe(), "search", "cancer AND 2010:2015[dp]", "--index", str(range_index),
         "--count"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with_word = run(range_index, "search", "cancer", "--format", "pmid", "--limit", "all")
    assert int(done.stdout) == len(set(with_word.stdout.split()) & set(expected)) > 0


def test_filters_find_the_records_whoosh_finds(range_index: Path) -> None:
    """``--year``, ``--journal`` and ``--type`` (and a search's mask) are looked up by
    the segment evaluators: the documents Whoosh's ``docs_for_query`` gave."""
    from searchkit.searching.search import Filters

    index = SearchIndex.open(range_index)
    try:
        with index.searcher() as searcher:
            for filters in (
                Filters.from_options(year="2010..2015"),
                Filters.from_options(year="..2005"),
                Filters.from_options(journal="PloS one"),
                Filters.from_options(year="2012..", pubtype="Journal Article"),
            ):
                q = filters.query(index)
                assert q is not None
                expected = np.fromiter(searcher.docs_for_query(q), np.int64)
                found = scoring.matching_docs(searcher, q)
                assert np.array_equal(np.sort(expected), found), filters
                assert len(found)
    finally:
        index.close()
