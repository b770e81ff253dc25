"""Ranking: the term-at-a-time evaluator, BM25F, coordination, proximity and --expand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner
from whoosh.query import And, Or, Term

from searchkit import Record, SearchIndex, search
from searchkit.cli import app
from searchkit.engine import scoring
from searchkit.engine.nodes import weighting
from searchkit.params import DEFAULT

runner = CliRunner()

FILLER = [
    Record(pmid=f"f{i}", title=f"Unrelated report {i}", abstract=f"Measured quantity number {i}.")
    for i in range(8)
]


@pytest.fixture
def small_index(tmp_path: Path) -> SearchIndex:
    ix = SearchIndex.create(tmp_path / "ix")
    ix.upsert(
        [
            Record(pmid="near", title="Tumour biology", abstract="Tumours use immune escape."),
            Record(
                pmid="far",
                title="Tumour biology",
                abstract="Immune cells are many; some tumours later escape.",
            ),
            Record(pmid="one", title="Escape", abstract="Escape escape escape from the cage."),
            *FILLER,
        ]
    )
    return ix


def test_evaluator_matches_whoosh_on_plain_boolean_queries(sample_index: SearchIndex) -> None:
    """Plain Whoosh queries (no BestMatch) score exactly as Whoosh's own matchers, given
    the same mean field length and idf: searchkit's mean comes from the stored lengths
    of the documents, since Whoosh's depends on how the segments were merged, and both
    count the live records only (the sample index holds a deleted copy)."""
    q = Or(
        [
            And([Term("abstract", "cancer"), Term("title", "stem")]),
            Term("abstract", "immun", boost=2.0),
        ]
    )
    with sample_index.whoosh_index.searcher(weighting=weighting()) as s:
        stats = scoring._Stats(s)
        s.avg_field_length = lambda field, default=None: stats.avg_length(field)  # type: ignore[method-assign]
        s.idf = stats.live_idf  # type: ignore[method-assign]
        expected = {hit.docnum: hit.score for hit in s.search(q, limit=None)}
        top, hits = scoring.top_docs(s, q, None)
    scores = hits.as_dict()
    assert scores.keys() == expected.keys()
    for docnum, score in expected.items():
        assert scores[docnum] == pytest.approx(score)
    assert [d for _, d in top] == sorted(scores, key=lambda d: (-scores[d], d))


def test_bm25f_saturates_term_frequency(small_index: SearchIndex) -> None:
    hits = {h.pmid: h.score for h in search(small_index, "cage", limit=5).hits}
    assert list(hits) == ["one"]
    once = {h.pmid: h.score for h in search(small_index, "escape", limit=5).hits}
    assert once["one"] > once["near"]  # escape x4 (and in the title) beats once …
    assert once["one"] < 4 * once["near"]  # … but far less than 4 times


def test_documents_matching_all_words_come_first(small_index: SearchIndex) -> None:
    pmids = [h.pmid for h in search(small_index, "immune escape", limit=5).hits]
    assert pmids[-1] == "one"  # many "escape", no "immune": still returned, last
    assert set(pmids) == {"near", "far", "one"}


def test_adjacent_query_words_rank_higher(small_index: SearchIndex) -> None:
    assert DEFAULT.proximity_weight > 0
    pmids = [h.pmid for h in search(small_index, "immune escape", limit=5).hits]
    assert pmids.index("near") < pmids.index("far")


def test_expand_brings_in_documents_sharing_the_feedback_terms(tmp_path: Path) -> None:
    ix = SearchIndex.create(tmp_path / "ix")
    topical = [
        Record(
            pmid=f"z{i}", title="Zebrafish model", abstract=f"Zebrafish hepatocarcinogenesis {i}."
        )
        for i in range(3)
    ]
    related = Record(pmid="r", title="Liver", abstract="Hepatocarcinogenesis in rodents.")
    ix.upsert([*topical, related, *FILLER])
    plain = [h.pmid for h in search(ix, "zebrafish", limit=10).hits]
    assert "r" not in plain
    expanded = [h.pmid for h in search(ix, "zebrafish", limit=10, expand=True).hits]
    assert expanded[-1] == "r"
    assert set(expanded[:3]) == {"z0", "z1", "z2"}
    result = runner.invoke(
        app, ["search", "zebrafish", "--expand", "-f", "json", "--index", str(ix.path)]
    )
    assert result.exit_code == 0, result.stderr
    assert [h["pmid"] for h in json.loads(result.stdout)["hits"]][-1] == "r"
    assert result.stderr == ""
