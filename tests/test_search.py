"""Ranked search over the bundled sample through the Python API."""

from __future__ import annotations

from pathlib import Path

import pytest

from searchkit import QueryError, Record, SearchIndex, search

from .conftest import SEED_PMID


def test_seed_article_ranks_first_for_immune_escape_mhc(sample_index: SearchIndex) -> None:
    # The seed abstract spells out "major histocompatibility complex", never "MHC".
    hits = search(sample_index, "immune escape MHC", limit=3).hits
    assert hits[0].pmid == SEED_PMID


def test_hits_are_ranked_by_descending_score(sample_index: SearchIndex) -> None:
    result = search(sample_index, "cancer stem cells", limit=20)
    assert [h.rank for h in result.hits] == list(range(1, 21))
    # The records with every word first (the counted ones), then those with some.
    counted = [h for h in result.hits if not h.partial]
    assert result.hits[: len(counted)] == counted and len(counted) == result.total
    scores = [h.score for h in result.hits]  # partial matches score below, too
    assert scores == sorted(scores, reverse=True)
    assert result.partial_total > 20


def test_documents_matching_all_words_come_before_partial_matches(
    sample_index: SearchIndex,
) -> None:
    result = search(sample_index, "hepatocellular carcinoma zebrafish", limit=50)
    # No record has all three words: none is counted, but partial matches are ranked.
    assert result.total == 0 and result.partial_total > 0
    assert result.hits and all(h.partial for h in result.hits)


def test_snippet_highlights_are_the_matched_words(sample_index: SearchIndex) -> None:
    hit = search(sample_index, "immune privilege", limit=1).hits[0]
    assert hit.highlights
    words = {hit.snippet[s:e].lower() for s, e in hit.highlights}
    assert words <= {"immune", "privilege", "privileged", "immunity"}


def test_offset_pages_through_the_same_ranking(sample_index: SearchIndex) -> None:
    all_hits = [h.pmid for h in search(sample_index, "lung cancer", limit=10).hits]
    page2 = [h.pmid for h in search(sample_index, "lung cancer", limit=5, offset=5).hits]
    assert page2 == all_hits[5:]


@pytest.mark.parametrize("query", ["", "   ", "the of and"])
def test_queries_without_searchable_words_are_errors(sample_index: SearchIndex, query: str) -> None:
    with pytest.raises(QueryError):
        search(sample_index, query)


def test_hit_json_shape(sample_index: SearchIndex) -> None:
    result = search(sample_index, "immune escape MHC", limit=2).to_dict()
    assert set(result) == {"query", "total", "partial_total", "hits"}
    hit = result["hits"][0]
    assert isinstance(hit["rank"], int) and isinstance(hit["score"], float)
    assert isinstance(hit["pmid"], str) and isinstance(hit["authors"], list)
    assert hit["year"] is None or isinstance(hit["year"], int)
    for key in ("title", "journal", "doi", "snippet"):
        assert hit[key] is None or isinstance(hit[key], str)


def test_a_kept_open_searcher_sees_later_commits(tmp_path: Path) -> None:
    """search() keeps the segment readers open on the SearchIndex between calls; a commit
    made since (here by another SearchIndex object, as another process would) is seen."""
    path = tmp_path / "ix"
    reader_side = SearchIndex.create(path)
    writer_side = SearchIndex.open(path)
    writer_side.upsert([Record(pmid="1", title="Zebrafish fins", abstract="Fin regeneration.")])
    assert [h.pmid for h in search(reader_side, "zebrafish").hits] == ["1"]
    writer_side.upsert([Record(pmid="2", title="Zebrafish hearts", abstract="Heart repair.")])
    assert {h.pmid for h in search(reader_side, "zebrafish").hits} == {"1", "2"}
    writer_side.delete(["1"])
    assert [h.pmid for h in search(reader_side, "zebrafish").hits] == ["2"]
