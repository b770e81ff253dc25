"""Posting lists read from a term's whole extent at once (:mod:`searchkit.engine.blockread`):
the same document numbers, weights, positions and document frequencies as read through
Whoosh's matcher block by block, for every term of every field of an index of the real
records of data/ (blocks written by searchkit's writer), and of an index written by
Whoosh's own writer (its small blocks of tuples); deletions applied the same."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import whoosh.index
from whoosh.filedb.filestore import FileStorage

from searchkit import SearchIndex
from searchkit.engine import postings
from searchkit.engine.nodes import weighting
from searchkit.engine.postings import Postings, SegmentArrays
from searchkit.params import DEFAULT
from searchkit.readers import iter_files, read_file
from searchkit.records import Record

from .conftest import SMALL_SUBSET


def _every_term(
    reader: object, monkeypatch: pytest.MonkeyPatch, by_extent: bool, step: int = 1
) -> list[Postings]:
    """Each ``step``-th term of the reader, and every term of more than 50 postings."""
    monkeypatch.setattr(postings, "BY_EXTENT", by_extent)
    arrays = SegmentArrays(reader)  # type: ignore[arg-type]
    return [
        arrays._read_postings(field, text)  # the term's bytes, as the reader keys it
        for i, (field, text) in enumerate(reader.all_terms())  # type: ignore[attr-defined]
        if i % step == 0 or reader.doc_frequency(field, text) > 50  # type: ignore[attr-defined]
    ]


def _assert_same(old: list[Postings], new: list[Postings]) -> None:
    """The same postings; the positions, joined when first used, take the bytes they
    were counted for (the cache's accounting) before and after."""
    assert len(old) == len(new)
    sizes = [p.nbytes for p in new]
    for a, b in zip(old, new, strict=True):
        assert np.array_equal(a.ids, b.ids) and a.ids.dtype == b.ids.dtype
        assert a.weights.tobytes() == b.weights.tobytes()
        assert a.df == b.df
        assert (a.values is None) == (b.values is None)
        if a.values is not None and b.values is not None:
            assert a.values.blob == b.values.blob
            assert np.array_equal(a.values.starts, b.values.starts)
            assert np.array_equal(a.values.ends, b.values.ends)
    assert [p.nbytes for p in new] == sizes
    for p in new:
        if p.values is not None:  # joined now: counted as Values counts joined values
            v = p.values
            assert v.nbytes == postings.Values(v.blob, v.starts, v.ends).nbytes


@pytest.mark.slow
def test_the_terms_of_the_real_records_read_the_same(
    sample_index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = SearchIndex.open(sample_index_dir)
    searcher = index.shared_searcher(weighting(DEFAULT))
    read: list[Postings] = []
    for sub, _ in searcher.leaf_searchers():
        reader = sub.reader()
        old = _every_term(reader, monkeypatch, False, step=7)
        new = _every_term(reader, monkeypatch, True, step=7)
        _assert_same(old, new)
        read.extend(new)
    assert sum(1 for p in read if len(p.ids) > 1024) > 0  # more than one block
    assert sum(1 for p in read if p.values is not None and len(p.ids) > 100) > 10


@pytest.mark.slow
def test_whooshs_own_blocks_and_deletions_read_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An index written by Whoosh's writer (128-posting blocks of tuples, protocol 2,
    compressed), some documents deleted."""
    from searchkit.index.schema import build_schema

    records = [r for p in iter_files(SMALL_SUBSET) for r in read_file(p) if isinstance(r, Record)]
    records = records[:400]
    assert len(records) >= 250
    ix = whoosh.index.create_in(str(tmp_path), build_schema())
    writer = ix.writer()
    for copy in ("", "-copy"):  # twice: common words in several of Whoosh's blocks
        for r in records:
            writer.add_document(pmid=r.pmid + copy, title=r.title or "", abstract=r.abstract or "")
    writer.commit()
    writer = ix.writer()
    for r in records[::7]:
        writer.delete_by_term("pmid", r.pmid)
    writer.commit()
    reader = whoosh.index.FileIndex(FileStorage(str(tmp_path))).reader()
    assert reader.has_deletions()
    old = _every_term(reader, monkeypatch, False)
    new = _every_term(reader, monkeypatch, True)
    _assert_same(old, new)
    assert max(p.df for p in new) > 128  # several of Whoosh's blocks
    reader.close()
