"""searchkit's posting blocks (searchkit.engine.codec): read by an unmodified Whoosh as it
reads its own, by searchkit's array reader as Whoosh's blocks, and mixed with segments
written by Whoosh's codec in one index."""

from __future__ import annotations

import pickle
from array import array
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import whoosh.index
from whoosh.codec.whoosh3 import W3Codec
from whoosh.reading import SegmentReader
from whoosh.writing import SegmentWriter

from searchkit import SearchIndex
from searchkit.engine.codec import BLOCK_LIMIT, PACK_MIN, PackedValues, SearchkitCodec
from searchkit.engine.postings import SegmentArrays
from searchkit.engine.segment_writer import FastSegmentWriter
from searchkit.index.schema import build_schema

from .test_bulkpostings import (
    _contents,
    _segment_files,
    blocks,
    every_fourth_doc,
    long_lists,
)

# Small blocks, so that the sample's common words span many of them.
SMALL = 8


def _write(path: Path, docs: list[dict[str, object]], cls: Any = SegmentWriter, **kw: Any) -> Any:
    path.mkdir()
    ix = whoosh.index.create_in(str(path), build_schema())
    writer = cls(ix, **kw)
    for doc in docs:
        writer.add_document(**doc)
    writer.commit()
    return ix


def _segment_readers(ix: Any) -> list[SegmentReader]:
    return [SegmentReader(ix.storage, ix.schema, s) for s in ix._segments()]


def _all_postings(reader: Any) -> dict[tuple[str, bytes], list[tuple[Any, ...]]]:
    """Every term's postings through searchkit's array reader: (doc, weight, positions)."""
    arrays = SegmentArrays(reader)
    out: dict[tuple[str, bytes], list[tuple[Any, ...]]] = {}
    for field, term in reader.all_terms():
        if field not in ("title", "abstract", "mesh"):
            continue
        text = term.decode("utf-8")
        ids, weights = arrays.postings(field, text)
        positions = arrays.positions(field, text, ids)
        out[(field, term)] = [
            (d, w, positions.get(d)) for d, w in zip(ids.tolist(), weights.tolist(), strict=True)
        ]
    return out


def test_packed_values_are_a_sequence_of_bytes() -> None:
    values = [b"\x00\x01ab", b"", b"c", b"\xffdef"]
    packed = PackedValues.of(values)
    assert len(packed) == 4
    assert list(packed) == values
    assert [packed[i] for i in range(4)] == values
    assert packed[-1] == b"\xffdef"
    assert packed[1:3] == values[1:3]
    with pytest.raises(IndexError):
        packed[4]
    for protocol in (2, 5):
        again = pickle.loads(pickle.dumps(packed, protocol))
        assert again == packed and list(again) == values
    assert PackedValues.of([]) == PackedValues(b"", array("I"))


def test_packed_values_join_slice_and_filter_as_lists_do() -> None:
    """What a merge does with a term's values without a bytes object each (joining
    the blocks and segments, a block's share, dropping deleted documents' values)
    gives what the same steps give on lists, pickled alike."""

    parts = [[b"\x00\x01ab", b"c", b"\xffdef"], [b"gh", b"\x02"], [b"ijk"]]
    values = [v for part in parts for v in part]
    joined = PackedValues.joined([PackedValues.of(parts[0]), parts[1], PackedValues.of(parts[2])])
    assert joined == PackedValues.of(values) and list(joined) == values
    assert PackedValues.joined([parts[0]]) == PackedValues.of(parts[0])
    for start, end in [(0, 6), (0, 3), (2, 5), (5, 6), (3, 3)]:
        part = joined.part(start, end)
        assert list(part) == values[start:end]
        assert pickle.dumps(part, 5) == pickle.dumps(PackedValues.of(values[start:end]), 5)
    keep = np.array([True, False, True, True, False, True])
    kept = joined.kept(keep)
    assert list(kept) == [v for v, k in zip(values, keep, strict=True) if k]
    assert kept == PackedValues.of(list(kept))
    assert list(joined.kept(np.zeros(6, dtype=bool))) == []
    assert not joined.has_empty()
    assert PackedValues.of([b"a", b"", b"b"]).has_empty()
    assert not PackedValues.of([]).has_empty()


@pytest.mark.slow
def test_whoosh_reads_packed_blocks_as_its_own(
    tmp_path: Path, stock_sample_dir: Path, stock_sample_contents: Any
) -> None:
    """Whoosh's writer with the codec (blocks of PACK_MIN postings: the common words'
    lists are packed full blocks and a tuple block at the end) against Whoosh's writer
    and codec: every term's statistics and postings read the same through Whoosh's
    reader."""
    packed = _write(
        tmp_path / "packed", every_fourth_doc(), codec=SearchkitCodec(blocklimit=PACK_MIN)
    )
    assert [type(s.codec()) for s in packed._segments()] == [SearchkitCodec]
    assert _contents(tmp_path / "packed") == stock_sample_contents
    # The common words do span several blocks, and the postings file is smaller.
    long = long_lists(stock_sample_contents[1], 2 * PACK_MIN)
    with packed.reader() as reader:
        assert long and all(blocks(reader, field, term) > 2 for field, term, *_ in long)
    stock_size = len(_segment_files(stock_sample_dir)["pst"])
    assert len(_segment_files(tmp_path / "packed")["pst"]) < stock_size


@pytest.mark.slow
def test_default_blocks_are_larger_and_smaller_on_disk(
    tmp_path: Path, stock_sample_dir: Path, stock_sample_contents: Any
) -> None:
    """searchkit's writer uses the codec's 1,024-posting blocks; on the sample the
    postings take at most 70% of what Whoosh's blocks take."""
    fast = _write(tmp_path / "fast", every_fourth_doc(), FastSegmentWriter)
    codecs = [s.codec() for s in fast._segments()]
    assert [type(c) for c in codecs] == [SearchkitCodec]
    assert codecs[0]._blocklimit == BLOCK_LIMIT
    assert _contents(tmp_path / "fast") == stock_sample_contents
    stock_size = len(_segment_files(stock_sample_dir)["pst"])
    assert len(_segment_files(tmp_path / "fast")["pst"]) <= 0.7 * stock_size


@pytest.mark.slow
def test_array_reader_reads_both_block_formats_alike(
    tmp_path: Path, stock_sample_dir: Path
) -> None:
    stock = whoosh.index.open_dir(str(stock_sample_dir))
    packed = _write(
        tmp_path / "packed",
        every_fourth_doc(),
        FastSegmentWriter,
        codec=SearchkitCodec(blocklimit=SMALL),
    )
    (stock_reader,) = _segment_readers(stock)
    (packed_reader,) = _segment_readers(packed)
    expected = _all_postings(stock_reader)
    assert any(len(p) > 5 * SMALL for p in expected.values())
    assert _all_postings(packed_reader) == expected


@pytest.mark.slow
def test_segments_of_both_codecs_in_one_index(tmp_path: Path, stock_sample_contents: Any) -> None:
    """An index written before this codec (Whoosh's blocks) takes new segments in the
    new blocks; searches read both; merging them writes the new blocks only."""
    half = len(every_fourth_doc()) // 2
    sk = SearchIndex.create(tmp_path / "mixed")
    ix = sk.whoosh_index
    for cls, docs in (
        (SegmentWriter, every_fourth_doc()[:half]),
        (FastSegmentWriter, every_fourth_doc()[half:]),
    ):
        writer = cls(ix)
        for doc in docs:
            writer.add_document(**doc)
        writer.commit(merge=False)
    assert [type(s.codec()) for s in ix._segments()] == [W3Codec, SearchkitCodec]
    for reader in _segment_readers(ix):
        # Whoosh's matchers and the array reader agree on each segment.
        arrays = SegmentArrays(reader)
        for field, text in (("abstract", "cell"), ("title", "cancer"), ("abstract", "immun")):
            ids, _ = arrays.postings(field, text)
            assert ids.tolist() == list(reader.postings(field, text).all_ids())
            positions = dict(reader.postings(field, text).items_as("positions"))
            assert arrays.positions(field, text, ids) == positions

    before = [h.pmid for h in _search(SearchIndex.open(tmp_path / "mixed"))]
    assert before
    assert SearchIndex.open(tmp_path / "mixed").optimize() == (2, 1)
    assert [type(s.codec()) for s in ix.refresh()._segments()] == [SearchkitCodec]
    after = [h.pmid for h in _search(SearchIndex.open(tmp_path / "mixed"))]
    # Whoosh's blocks store field lengths rounded to a byte, searchkit's exactly: the
    # merge moves scores a little (< 0.5%), so only records that close swap places.
    assert after[:10] == before[:10]
    assert len(set(after) & set(before)) >= len(before) - 2
    terms = 1  # _contents: (column files, every term's statistics and postings)
    assert _contents(tmp_path / "mixed")[terms] == stock_sample_contents[terms]


def _search(ix: SearchIndex) -> list[Any]:
    from searchkit.searching.search import search

    return list(search(ix, "immune escape tumour cells", limit=20).hits)
