"""Reading postings as arrays (searchkit.engine.postings) gives exactly what Whoosh's matchers
give, on the bundled sample and after deletions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.query import Term

from searchkit import Record, SearchIndex, ingest
from searchkit.engine import scoring
from searchkit.engine.docgroup import DocGroup
from searchkit.engine.nodes import weighting
from searchkit.engine.phrase_match import narrowing_phrase_starts, phrase_starts
from searchkit.engine.postings import SegmentArrays, live_doc_frequency
from searchkit.params import DEFAULT

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
        assert arrays.doc_frequency(field, text) == reader.doc_frequency(field, text)  # type: ignore[attr-defined]
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
        for field, text in [*TERMS, ("abstract", "notaword"), ("mesh", "cell")]:
            # Whoosh's matcher skips the deleted copy the sample index holds.
            live = (
                len(list(s.postings(field, text).all_ids())) if (field, text) in s.reader() else 0
            )
            assert live_doc_frequency(s, field, text) == live


@pytest.mark.slow
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


def test_frequencies_count_deleted_documents_at_the_start_of_a_posting_list(
    tmp_path: Path,
) -> None:
    """Whoosh's document frequencies count deleted documents until a merge drops them,
    also when they come first in a term's postings (or are all of them)."""
    ix = SearchIndex.create(tmp_path / "ix")
    ix.upsert(
        [
            Record(pmid="1", title="Cancer stem cells"),
            Record(pmid="2", title="Cancer cells in mice"),
            Record(pmid="3", title="Zebrafish fins"),
            Record(pmid="4", title="Zebrafish hearts and cells"),
        ]
    )
    writer = ix.whoosh_index.writer()
    for pmid in ("1", "3", "4"):
        writer.delete_by_term("pmid", pmid)
    writer.commit(merge=False)  # keep the segment, with its deletions
    with ix.searcher() as s:
        reader = s.leaf_searchers()[0][0].reader()
        arrays = SegmentArrays(reader)
        for term, live in (("cancer", [1]), ("zebrafish", []), ("cell", [1])):
            assert arrays.doc_frequency("title", term) == reader.doc_frequency("title", term)
            assert arrays.postings("title", term)[0].tolist() == live
        # Whoosh counts the deleted copies; the live count does not.
        assert s.doc_frequency("title", "zebrafish") == 2
        assert live_doc_frequency(s, "title", "zebrafish") == 0
        assert live_doc_frequency(s, "title", "cancer") == 1


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


def _phrase_counts_by_hand(positions: list[dict[int, list[int]]], slop: int) -> dict[int, int]:
    """The phrase rule spelled out: from each position of the first word, step to the
    nearest position of the next word within ``slop`` after it, and so on."""
    out: dict[int, int] = {}
    for d in sorted(set(positions[0]).intersection(*positions[1:])):
        n = 0
        for start in positions[0][d]:
            pos: int | None = start
            for word in positions[1:]:
                assert pos is not None
                pos = next((pos + k for k in range(1, slop + 1) if pos + k in word[d]), None)
                if pos is None:
                    break
            n += pos is not None
        if n:
            out[d] = n
    return out


def _keys(by_doc: dict[int, list[int]]) -> np.ndarray:
    keys = [(d << 32) | p for d in sorted(by_doc) for p in sorted(by_doc[d])]
    return np.array(keys, dtype=np.int64)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.integers(0, 6), st.lists(st.integers(0, 40), min_size=1, unique=True), max_size=6
        ),
        min_size=1,
        max_size=4,
    ),
    st.integers(1, 3),
)
def test_phrase_counts_follow_the_phrase_rule(
    positions: list[dict[int, list[int]]], slop: int
) -> None:
    common = set(positions[0]).intersection(*positions[1:])
    restricted = [{d: ps for d, ps in word.items() if d in common} for word in positions]
    expected = _phrase_counts_by_hand(restricted, slop)
    asked: list[set[int] | None] = []

    def only_in(i: int, docs: np.ndarray | None) -> np.ndarray:
        """Word ``i``'s positions in ``docs`` alone (every document for None)."""
        asked.append(None if docs is None else set(docs.tolist()))
        wanted = restricted[i] if docs is None else set(docs.tolist())
        return _keys({d: ps for d, ps in restricted[i].items() if d in wanted})

    whole = phrase_starts([_keys(word) for word in restricted], slop)
    narrowed = narrowing_phrase_starts(len(restricted), only_in, slop)
    assert whole.tolist() == narrowed.tolist()
    docs, counts = np.unique(narrowed >> 32, return_counts=True)
    assert dict(zip(docs.tolist(), counts.tolist(), strict=True)) == expected
    # A later word is asked for no document where the words before it are not in order.
    for i, docs_asked in enumerate(asked[1:], start=1):
        assert docs_asked is not None
        assert docs_asked <= set(_phrase_counts_by_hand(restricted[:i], slop))


def test_position_keys_are_the_positions(sample_index: SearchIndex) -> None:
    with sample_index.searcher() as s:
        for sub, _ in s.leaf_searchers():
            arrays = SegmentArrays(sub.reader())
            ids, _ = arrays.postings("abstract", "cell")
            some = ids[::2]
            by_doc = arrays.positions("abstract", "cell", some)
            assert arrays.position_keys("abstract", "cell", some).tolist() == _keys(by_doc).tolist()


@pytest.mark.parametrize(
    ("words", "slop"),
    [
        (["cell", "line"], 1),
        (["tumor", "cell"], 2),
        (["t", "cell", "respons"], 1),
        (["the", "cell"], 1),  # a stop word: no positions anywhere
        (["cell", "cell"], 3),
    ],
)
def test_a_group_finds_phrases_as_from_every_documents_positions(
    sample_index: SearchIndex, words: list[str], slop: int
) -> None:
    """The second stage's phrases: positions decoded only where the phrase can still
    occur give the starts that every document's positions give."""
    with sample_index.searcher() as s:
        docnums = list(range(0, s.doc_count_all(), 3))
        group = DocGroup(s, docnums)
        expected = phrase_starts([group.position_keys("abstract", w) for w in words], slop)
        assert group.phrase_starts("abstract", words, slop).tolist() == expected.tolist()
    if words == ["tumor", "cell"]:
        assert len(expected)  # the sample holds it: the comparison is not of two empties


def test_average_lengths_add_each_segments_total_once(sample_index: SearchIndex) -> None:
    """The mean field length of a query's statistics: each segment's lengths of its
    live documents (the sample index holds a deleted copy) added up once per reader
    (kept), the same float as adding them up for every query."""
    searcher = sample_index.shared_searcher(weighting(DEFAULT))
    leaves = [reader for reader, _ in searcher.reader().leaf_readers()]
    assert len(leaves) > 1
    assert searcher.doc_count() < searcher.doc_count_all()
    for field in ("title", "abstract", "mesh"):
        total = 0.0
        for reader in leaves:
            arrays = SegmentArrays(reader)
            total += float(arrays.lengths(field)[~arrays.deleted()].sum())
        expected = total / searcher.doc_count()
        for _ in range(2):  # computed, then from the kept totals
            assert scoring._Stats(searcher).avg_length(field) == expected
