"""Posting lists read from a term's whole extent at once (:mod:`searchkit.engine.blockread`):
the same document numbers, weights, positions and document frequencies as read through
Whoosh's matcher block by block, for every term of every field of an index of the real
records of data/ (blocks written by searchkit's writer), and of an index written by
Whoosh's own writer (its small blocks of tuples); deletions applied the same."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import whoosh.index
from whoosh.filedb.filestore import FileStorage

from searchkit import SearchIndex
from searchkit.engine import postings
from searchkit.engine.nodes import weighting
from searchkit.engine.postings import SegmentArrays
from searchkit.engine.postings_cache import Postings
from searchkit.engine.values import Values
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
            assert v.nbytes == Values(v.blob, v.starts, v.ends).nbytes


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
    assert sum(1 for p in read if len(p.ids) > 1024) > 0  # long lists
    assert sum(1 for p in read if p.values is not None and len(p.ids) > 100) > 10


def _whoosh_index_with_deletions(path: Path, records: list[Record]) -> Any:
    """A reader of an index of ``records`` (each twice: common words in several of its
    blocks) written by Whoosh's own writer (128-posting blocks of tuples, protocol 2,
    compressed), every seventh record deleted."""
    from searchkit.index.schema import build_schema

    path.mkdir(parents=True, exist_ok=True)
    ix = whoosh.index.create_in(str(path), build_schema())
    writer = ix.writer()
    for copy in ("", "-copy"):
        for r in records:
            writer.add_document(pmid=r.pmid + copy, title=r.title or "", abstract=r.abstract or "")
    writer.commit()
    writer = ix.writer()
    for r in records[::7]:
        writer.delete_by_term("pmid", r.pmid)
    writer.commit()
    return whoosh.index.FileIndex(FileStorage(str(path))).reader()


@pytest.mark.slow
def test_whooshs_own_blocks_and_deletions_read_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An index written by Whoosh's writer (128-posting blocks of tuples, protocol 2,
    compressed), some documents deleted."""

    records = [r for p in iter_files(SMALL_SUBSET) for r in read_file(p) if isinstance(r, Record)]
    records = records[:400]
    assert len(records) >= 250
    reader = _whoosh_index_with_deletions(tmp_path, records)
    assert reader.has_deletions()
    old = _every_term(reader, monkeypatch, False)
    new = _every_term(reader, monkeypatch, True)
    _assert_same(old, new)
    assert max(p.df for p in new) > 128  # several of Whoosh's blocks
    reader.close()


@pytest.mark.slow
def test_a_term_decoded_into_its_place_in_joined_lists_reads_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every term of an index with deletions (Whoosh's own blocks) decoded into given
    arrays with a base added to its document numbers (a segment's place among an
    index's segments) is the term as read alone; arrays not as long as its term
    counts postings are refused (a damaged list), not filled in part."""
    records = [r for p in iter_files(SMALL_SUBSET) for r in read_file(p) if isinstance(r, Record)]
    reader = _whoosh_index_with_deletions(tmp_path, records[:400])
    alone = _every_term(reader, monkeypatch, True)
    arrays = SegmentArrays(reader)  # type: ignore[arg-type]
    shorter = 0
    for (field, text), expected in zip(reader.all_terms(), alone, strict=False):
        extent = arrays.extent_of(field, text)
        if extent is None or extent[0] is None:
            continue
        df = extent[3]
        assert df == expected.df
        ids, weights = np.full(df + 2, -1, dtype=np.int64), np.zeros(df + 2)
        entry = arrays.read_into(field, text, extent, (ids[1 : df + 1], weights[1 : df + 1], 7))
        assert entry.base == 7
        assert not len(entry.ids) or np.shares_memory(entry.ids, ids)
        assert (entry.ids - 7).tolist() == expected.ids.tolist()
        assert entry.weights.tolist() == expected.weights.tolist()
        assert ids[0] == -1 and ids[-1] == -1  # nothing written outside its place
        shorter += len(entry.ids) < df
        with pytest.raises(ValueError, match="another number of postings"):
            arrays.read_into(field, text, extent, (ids[: df - 1], weights[: df - 1], 0))
    assert shorter  # deleted documents moved out of some
    reader.close()


def _uncached(reader: object) -> SegmentArrays:
    """Arrays of ``reader`` that read every term themselves (not from the postings
    cache its index shares between searches)."""
    arrays = SegmentArrays(reader)  # type: ignore[arg-type]
    arrays._cache = None
    return arrays


def _positions_both_ways(
    reader: object, monkeypatch: pytest.MonkeyPatch, seed: int
) -> tuple[int, int]:
    """For every term of more than 50 postings with positions: the positions of a
    random third of its documents (and of all of them) read from values kept and from
    values read again by block (``KEEP_VALUES_MAX_BYTES`` 0) are the same. Returns
    how many terms were compared and how many were read again from several blocks."""
    rng = np.random.default_rng(seed)
    terms = [
        (field, text)
        for field, text in reader.all_terms()  # type: ignore[attr-defined]
        if reader.doc_frequency(field, text) > 50  # type: ignore[attr-defined]
        and reader.schema[field].format.supports("positions")  # type: ignore[attr-defined]
    ]
    compared = several = 0
    for field, text in terms:
        word = text.decode("utf-8")
        monkeypatch.setattr(postings, "KEEP_VALUES_MAX_BYTES", 1 << 40)
        kept = _uncached(reader)
        ids = kept.postings(field, word)[0]
        some = np.sort(rng.choice(ids, size=max(1, len(ids) // 3), replace=False))
        monkeypatch.setattr(postings, "KEEP_VALUES_MAX_BYTES", 0)
        # A third at random (most blocks: read whole), all, the first fifth and the
        # last document (a few blocks: only those read), each on fresh arrays.
        for docs in (some, ids, ids[: max(1, len(ids) // 5)], ids[-1:]):
            again = _uncached(reader)
            values = again.entry(field, word).values
            assert values is not None and values._value_spans is not None  # not kept
            expected = kept.position_keys(field, word, docs)
            assert np.array_equal(again.position_keys(field, word, docs), expected)
            assert again.positions(field, word, docs) == kept.positions(field, word, docs)
        compared += 1
        several += len(values._value_spans) > 1
    return compared, several


@pytest.mark.slow
def test_positions_read_again_by_block_are_those_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long posting list keeps no positions (``Values.reread``): the blocks holding
    the documents asked for are read again, with the same positions as kept values
    give, in searchkit's blocks and in Whoosh's own (128 postings, tuples), with
    deleted documents left out."""

    records = [r for p in iter_files(SMALL_SUBSET) for r in read_file(p) if isinstance(r, Record)]
    records = records[:400]
    index = SearchIndex.create(tmp_path / "searchkit")
    index.upsert(
        records + [Record(pmid=r.pmid + "0", title=r.title, abstract=r.abstract) for r in records]
    )
    index.delete([r.pmid for r in records[::5]])
    searcher = index.shared_searcher(weighting(DEFAULT))
    for sub, _ in searcher.leaf_searchers():
        assert sub.reader().has_deletions()
        compared, _ = _positions_both_ways(sub.reader(), monkeypatch, 1)
        assert compared > 20
    reader = _whoosh_index_with_deletions(tmp_path / "whoosh", records)
    compared, several = _positions_both_ways(reader, monkeypatch, 2)
    assert compared > 20 and several > 5  # Whoosh's blocks: many per common word
    reader.close()


@pytest.mark.slow
def test_searches_are_the_same_when_no_positions_are_kept(
    sample_index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The benchmark queries (phrases, proximity, the second stage, snippets) give the
    same hits, scores and counts on data/ whether long posting lists keep their
    positions or read them again by block."""
    from searchkit import search

    queries = (Path(__file__).parent.parent / "benchmarks" / "queries.txt").read_text("utf-8")

    def results(limit: int) -> list[object]:
        monkeypatch.setattr(postings, "KEEP_VALUES_MAX_BYTES", limit)
        index = SearchIndex.open(sample_index_dir)  # a cache of its own
        out: list[object] = []
        for q in queries.splitlines()[:80]:
            r = search(index, q, limit=10)
            out.append(
                (q, r.total, r.partial_total, [(h.pmid, h.score, h.snippet) for h in r.hits])
            )
        index.close()
        return out

    assert results(0) == results(1 << 40)
