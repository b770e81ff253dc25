"""Finding a record's live copy by PMID across segments (searchkit.engine.idlookup), as
Whoosh's ``Searcher.document(pmid=...)`` finds it."""

from __future__ import annotations

from pathlib import Path

import pytest

from searchkit import SearchIndex
from searchkit.engine.idlookup import IdLookup

from .test_merging import _segmented_index, distinct_records


@pytest.fixture(scope="module")
def segmented(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("idlookup") / "ix"
    _segmented_index(path)  # 8 segments, deletions and upserts between them
    return path


def test_every_pmid_is_found_as_searcher_document_finds_it(segmented: Path) -> None:
    """Live, replaced (older copy deleted), deleted and absent PMIDs, including ids
    outside every segment's range and ids between a segment's smallest and largest
    that it does not hold."""
    index = SearchIndex.open(segmented)
    pmids = [r.pmid for r in distinct_records()[:260]]  # 200 written, 60 never
    absent = ["0", "1", "99999999999", "3", "30000000", "2999999x"]
    with index.searcher() as searcher:
        assert len(list(searcher.reader().leaf_readers())) == 8
        lookup = IdLookup(searcher, "pmid")
        found = 0
        for pmid in pmids + absent:
            expected = searcher.document(pmid=pmid)
            assert lookup.document(pmid) == expected, pmid
            found += expected is not None
        deleted = [p for p in pmids[:200] if searcher.document(pmid=p) is None]
        assert all(searcher.document(pmid=p) is None for p in absent)
    assert 0 < found < len(pmids) and deleted  # some live, some deleted, some never


def test_segments_whose_range_cannot_hold_a_pmid_are_not_probed(segmented: Path) -> None:
    """A PMID above every segment's largest is looked up in no terms file at all."""
    index = SearchIndex.open(segmented)
    with index.searcher() as searcher:
        lookup = IdLookup(searcher, "pmid")
        probed: list[bytes] = []
        for segment in lookup._segments:
            original = segment.tindex

            class Counting:
                def __contains__(self, key: bytes, _original: object = original) -> bool:
                    probed.append(key)
                    return key in _original  # type: ignore[operator]

            segment.tindex = Counting()
        assert lookup.document("999999999") is None
        assert probed == []
        live = next(r.pmid for r in distinct_records() if searcher.document(pmid=r.pmid))
        assert lookup.document(live) is not None
        assert probed  # a PMID in range is probed
