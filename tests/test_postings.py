"""Reading postings as arrays (searchkit.postings) gives exactly what Whoosh's matchers
give, on the bundled sample and after deletions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from whoosh.query import Term

from searchkit import Record, SearchIndex, ingest, scoring
from searchkit.postings import SegmentArrays

from .conftest import SAMPLE_DIR

TERMS = [
    ("abstract", "cell"),
    ("abstract", "immun"),
    ("title", "cancer"),
    ("abstract", "pdl1"),
    ("abstract", "patient"),
]


def _check_segment(reader: object) -> None:
    arrays = SegmentArrays(reader)  # type: ignore[arg-type]
    for field, text in TERMS:
        if (field, text) not in reader:  # type: ignore[operator]
            continue
        expected = list(reader.postings(field, text).items_as("weight"))  # type: ignore[attr-defined]
        ids, weights = arrays.postings(field, text)
        assert ids.tolist() == [d for d, _ in expected]
        assert weights.tolist() == pytest.approx([w for _, w in expected])
        positions = dict(reader.postings(field, text).items_as("positions"))  # type: ignore[attr-defined]
        some = ids[::3]
        assert arrays.positions(field, text, some) == {d: positions[d] for d in some.tolist()}
        assert arrays.positions(field, text, ids) == positions
    lengths = arrays.lengths("abstract")
    for d in range(0, arrays.size, 7):
        assert lengths[d] == (reader.doc_field_length(d, "abstract", 0) or 0)  # type: ignore[attr-defined]


def test_arrays_match_whoosh_on_the_sample(sample_index: SearchIndex) -> None:
    with sample_index.searcher() as s:
        for sub, _ in s.leaf_searchers():
            _check_segment(sub.reader())


def test_deleted_documents_are_left_out(tmp_path: Path) -> None:
    ix = SearchIndex.create(tmp_path / "ix")
    assert ingest(
        [SAMPLE_DIR / "p1m-ortho_qs-global-ortho-search-queries__pubmed_result.xml.gz"], ix
    ).ok
    with ix.searcher() as s:
        before = {s.stored_fields(d)["pmid"] for d in s.docs_for_query(Term("abstract", "patient"))}
    gone = sorted(before)[:5]
    writer = ix.whoosh_index.writer()
    for pmid in gone:
        writer.delete_by_term("pmid", pmid)
    writer.commit(merge=False)  # keep the segment, with its deletions
    with ix.searcher() as s:
        sub = s.leaf_searchers()[0][0]
        reader = sub.reader()
        assert reader.has_deletions()
        _check_segment(reader)
        ids, _ = SegmentArrays(reader).postings("abstract", "patient")
        assert len(ids) > 10
        assert {s.stored_fields(int(d))["pmid"] for d in ids} == before - set(gone)


def test_hits_top_breaks_ties_by_document_number() -> None:
    hits = scoring.Hits(np.array([1, 2, 3, 4, 5]), np.array([1.0, 3.0, 3.0, 0.5, 3.0]))
    assert hits.top(2) == [(3.0, 2), (3.0, 3)]
    assert hits.top(None) == [(3.0, 2), (3.0, 3), (3.0, 5), (1.0, 1), (0.5, 4)]
    assert hits.top(0) == []
    assert hits.restrict(np.array([5, 1])).as_dict() == {1: 1.0, 5: 3.0}


def test_upsert_record_is_found_once(tmp_path: Path) -> None:
    ix = SearchIndex.create(tmp_path / "ix")
    ix.upsert([Record(pmid="1", title="Cell biology", abstract="A cell and a cell.")])
    ix.upsert([Record(pmid="1", title="Cell biology", abstract="The cell, revised.")])
    with ix.searcher() as s:
        found = [
            (sub, SegmentArrays(sub.reader()).postings("abstract", "cell")[0])
            for sub, _ in s.leaf_searchers()
        ]
    assert sum(len(ids) for _, ids in found) == 1
