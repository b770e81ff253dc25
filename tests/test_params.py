"""Ranking values as data (searchkit.params), and the analysis an index was built with."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import FrozenInstanceError, fields, replace
from pathlib import Path

import pytest

from searchkit import SearchIndex
from searchkit.analysis.analyzer import analysis_params
from searchkit.engine import scoring
from searchkit.params import DEFAULT, Params
from searchkit.query import free_text as ranking
from searchkit.searching import feedback, rerank
from searchkit.searching.evaluation import evaluate, parse_metric
from searchkit.searching.search import search
from searchkit.semantic import stage as semantic

from .cli_helpers import run
from .conftest import TEST_DATA
from .test_cli import _searchkit_exe

CORPUS = TEST_DATA / "jsonl" / "scifact-corpus.head.jsonl"


def test_params_are_frozen_and_varied_by_replace() -> None:
    with pytest.raises(FrozenInstanceError):
        DEFAULT.k1 = 2.0  # type: ignore[misc]
    varied = replace(DEFAULT, k1=1.6, rerank_depth=50)
    assert (varied.k1, varied.rerank_depth, DEFAULT.k1, DEFAULT.rerank_depth) == (1.6, 50, 1.2, 100)
    assert Params() == DEFAULT
    assert varied.field_b_of("title") == DEFAULT.b
    assert replace(DEFAULT, field_b=(("title", 0.3),)).field_b_of("title") == 0.3


def test_no_tuning_value_is_left_as_a_module_global() -> None:
    """The values that moved into Params are gone from the modules that used them, so
    nothing can patch them there."""
    moved = {
        ranking: ("K1", "B", "FIELD_B", "COORDINATION", "PART_WEIGHT", "PROXIMITY_WEIGHT",
                  "PROXIMITY_WINDOW", "PROXIMITY_FIELDS", "ACRONYM_WEIGHT", "MIN_PART_ALONE"),
        rerank: ("DEPTH", "WEIGHT", "WINDOW"),
        scoring: ("PROXIMITY_DEPTH", "MIN_SEGMENT_DEPTH"),
        feedback: ("FEEDBACK_DOCS", "FEEDBACK_TERMS", "FEEDBACK_WEIGHT"),
        semantic: ("ALPHA", "DEPTH"),
    }  # fmt: skip
    for module, names in moved.items():
        assert not [n for n in names if hasattr(module, n)], module.__name__
    assert len(fields(Params)) >= 20


def _meta(index: Path) -> dict[str, object]:
    data = json.loads((index / "searchkit.json").read_text("utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.mark.slow
def test_an_index_records_its_analysis_and_is_refused_with_other_analysis(
    tmp_path: Path,
) -> None:
    index = tmp_path / "ix"
    assert run(index, "ingest", str(CORPUS)).exit_code == 0
    meta = _meta(index)
    assert meta["analysis"] == analysis_params()
    before = run(index, "search", "white matter", "-f", "pmid").stdout
    assert before
    # The index as a searchkit with another stop-word list would have built it.
    assert isinstance(meta["analysis"], dict)
    meta["analysis"] = {**meta["analysis"], "stop_words": "0" * 16}
    (index / "searchkit.json").write_text(json.dumps(meta), "utf-8")
    for args in (("search", "white matter"), ("show", "4983"), ("stats",)):
        refused = run(index, *args)
        assert refused.exit_code == 1, args
        assert refused.stdout == ""
        assert refused.stderr == (
            f"Error: the index at {index} was built with other analysis parameters "
            f"(stop_words) than this searchkit uses; rebuild it with "
            f"'searchkit rebuild --index {index}'\n"
        )
    proc = subprocess.run(
        [_searchkit_exe(), "search", "white matter", "--index", str(index)],
        capture_output=True, text=True, check=False, env=dict(os.environ),
    )  # fmt: skip
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "searchkit rebuild" in proc.stderr
    rebuilt = run(index, "rebuild")
    assert rebuilt.exit_code == 0, rebuilt.stderr
    assert _meta(index)["analysis"] == analysis_params()
    assert run(index, "search", "white matter", "-f", "pmid").stdout == before


@pytest.mark.slow
def test_an_index_made_before_acronym_plurals_met_their_singular_is_refused(
    tmp_path: Path,
) -> None:
    """Its analysis lacks the acronym plural rule (``CSCs`` was a term of its own): a
    search is refused with the rebuild hint, and the rebuilt index searches as new."""
    index = tmp_path / "ix"
    assert run(index, "ingest", str(CORPUS)).exit_code == 0
    before = run(index, "search", "white matter", "-f", "pmid").stdout
    meta = _meta(index)
    assert isinstance(meta["analysis"], dict)
    meta["analysis"] = {k: v for k, v in meta["analysis"].items() if k != "acronym_plural"}
    (index / "searchkit.json").write_text(json.dumps(meta), "utf-8")
    refused = run(index, "search", "white matter")
    assert refused.exit_code == 1 and refused.stdout == ""
    assert "(acronym_plural)" in refused.stderr and "searchkit rebuild" in refused.stderr
    assert refused.stderr.count("\n") == 1
    assert run(index, "rebuild").exit_code == 0
    assert run(index, "search", "white matter", "-f", "pmid").stdout == before


def test_an_index_without_recorded_analysis_is_still_read(tmp_path: Path) -> None:
    index = tmp_path / "ix"
    assert run(index, "ingest", str(CORPUS)).exit_code == 0
    meta = _meta(index)
    del meta["analysis"]
    (index / "searchkit.json").write_text(json.dumps(meta), "utf-8")
    assert len(SearchIndex.open(index)) == 12


#: Free-text values of Params, each with a query on data/ whose ranking it changes.
FREE_TEXT_VALUES = [
    ("immune escape MHC", replace(DEFAULT, proximity_weight=0.0)),
    ("immune escape MHC", replace(DEFAULT, proximity_window=1)),
    ("immune escape MHC", replace(DEFAULT, acronym_weight=0.0)),
    ("cancer stem-cell markers", replace(DEFAULT, part_weight=1.0)),
    ("PD-L1 expression in tumor cells", replace(DEFAULT, min_part_alone=1)),
]


@pytest.mark.parametrize(("query", "varied"), FREE_TEXT_VALUES)
def test_the_free_text_values_a_search_is_given_are_the_ones_it_ranks_by(
    sample_index: SearchIndex, query: str, varied: Params
) -> None:
    """``compile_query`` built every free-text query with the default values whatever
    the search was given: a weight of the proximity bonus, of acronym expansions or of
    a compound's parts passed to ``search`` or ``evaluate`` changed nothing (and the
    measurements made by passing them measured the defaults)."""
    with sample_index as ix:
        default = [(h.pmid, h.score) for h in search(ix, query, limit=20).hits]
        given = [(h.pmid, h.score) for h in search(ix, query, limit=20, params=varied).hits]
    assert default
    assert given != default


def test_an_evaluation_ranks_by_the_values_it_is_given(sample_index: SearchIndex) -> None:
    """``evaluate`` (what ``searchkit eval`` and the ranking benchmark run) with the
    proximity bonus off ranks as a search with it off does, not as the default."""
    query = "immune escape MHC"
    off = replace(DEFAULT, proximity_weight=0.0, acronym_weight=0.0)
    with sample_index as ix:
        expected = [h.pmid for h in search(ix, query, limit=10, params=off).hits]
        default = [h.pmid for h in search(ix, query, limit=10).hits]
        judged = {"q": {pmid: 1 for pmid in expected[:3]}}
        result = evaluate(ix, {"q": query}, judged, [parse_metric("nDCG@10")], params=off)
    assert [pmid for pmid, _ in result.run["q"]][:10] == expected
    assert expected != default
