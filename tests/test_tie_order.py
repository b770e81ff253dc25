"""Ties broken by PMID, read as arrays when many records tie (a date range, a filter or
``hasabstract`` alone gives every match the same score): the same order as reading
each tied record's PMID, on real records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from searchkit import SearchIndex, search
from searchkit.cli import app
from searchkit.engine.keycolumn import column_keys
from searchkit.index.documents import record_from_json
from searchkit.searching import pipeline

from .conftest import SMALL_SUBSET, segmented_index

runner = CliRunner()

CONSTANT_SCORE = ("hasabstract", "eng[la]", "journal article[pt]", "2000:3000[dp]")


@pytest.fixture(scope="module")
def two_segments(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real records of data/ in two segments, some deleted."""
    path = tmp_path_factory.mktemp("ties") / "ix"
    return segmented_index(path, [SMALL_SUBSET[::2], SMALL_SUBSET[1::2]], 9)


def test_column_keys_are_the_values_read_one_by_one(two_segments: Path) -> None:
    index = SearchIndex.open(two_segments)
    try:
        with index.searcher() as searcher:
            reader = searcher.reader()
            assert len(reader.leaf_readers()) == 2
            live = np.array([d for d in range(reader.doc_count_all()) if not reader.is_deleted(d)])
            docnums = np.random.default_rng(7).permutation(live)  # any order, both segments
            for field in ("pmid", "date"):
                keys = column_keys(reader, field, docnums)
                assert keys is not None
                one_by_one = [
                    pipeline._text(searcher.reader().column_reader(field)[int(d)]) for d in docnums
                ]
                assert [k.decode("utf-8") for k in keys.tolist()] == one_by_one
                # NumPy's order of the keys is the text's order.
                assert [one_by_one[i] for i in np.argsort(keys, kind="stable")] == sorted(
                    one_by_one
                )
            assert len(column_keys(reader, "pmid", docnums[:0])) == 0  # type: ignore[arg-type]
    finally:
        index.close()


@pytest.mark.parametrize("query", CONSTANT_SCORE)
def test_ties_read_as_arrays_rank_as_one_by_one(
    sample_index_dir: Path, query: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = SearchIndex.open(sample_index_dir)
    try:
        answers = []
        for threshold in (0, 10**9):  # every tie read as arrays; none
            monkeypatch.setattr(pipeline, "TIES_READ_AS_ARRAY", threshold)
            answers.append(
                [
                    [(h.record.pmid, h.score) for h in search(index, query, **o).hits]
                    for o in ({"limit": 10}, {"limit": 60}, {"limit": 25, "sort": "date"})
                ]
            )
        assert answers[0] == answers[1]
        assert len(answers[0][1]) == 60
    finally:
        index.close()


def test_a_filter_alone_lists_the_lowest_pmids_first(sample_index_dir: Path) -> None:
    """Every record with an abstract scores the same: the first are the lowest PMIDs
    (as text), from the stored records; by date, the newest, then by PMID."""
    with SearchIndex.open(sample_index_dir).whoosh_index.searcher() as searcher:
        records = [record_from_json(f["record"]) for f in searcher.all_stored_fields()]
    with_abstract = [r for r in records if r.abstract and r.abstract.strip()]
    assert len(with_abstract) > pipeline.TIES_READ_AS_ARRAY  # the array path is taken
    result = runner.invoke(
        app, ["search", "hasabstract", "--index", str(sample_index_dir), "-n", "7", "-f", "pmid"]
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.split() == sorted(r.pmid for r in with_abstract)[:7]
    # The date sorted on is the record's date as written ("2014-09"), newest first.
    newest = sorted(with_abstract, key=lambda r: r.pmid)
    newest.sort(
        key=lambda r: r.pub_date or (f"{r.year:04d}" if r.year is not None else ""),
        reverse=True,
    )
    args = ["search", "hasabstract", "--index", str(sample_index_dir), "-n", "7", "-f", "pmid"]
    result = runner.invoke(app, [*args, "--sort", "date"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.split() == [r.pmid for r in newest[:7]]
