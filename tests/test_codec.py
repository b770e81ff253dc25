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

from .test_block_layouts import _previous_block_data
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
    """searchkit's writer uses the codec's large blocks (BLOCK_LIMIT postings); on the sample the
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


def _postings_file(*lists: bytes) -> tuple[Any, list[tuple[int, int]]]:
    """An in-memory postings file holding ``lists`` (each a term's blocks, as
    :func:`_term_blocks` writes them) and each one's (start, length)."""

    class _File:
        def __init__(self, data: bytes) -> None:
            self.data = data

        def get(self, start: int, length: int) -> bytes:
            return self.data[start : start + length]

    places, at = [], 0
    for blob in lists:
        places.append((at, len(blob)))
        at += len(blob)
    return _File(b"".join(lists)), places


def _term_blocks(blocks: list[tuple[bytes, int]], ids: list[list[int]]) -> bytes:
    """A term's posting list of ``blocks`` (each a block's data and its compression)."""
    import struct

    from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC

    from searchkit.engine.codec import block_head

    parts = [WHOOSH3_HEADER_MAGIC]
    for i, ((data, comp), block_ids) in enumerate(zip(blocks, ids, strict=True)):
        head = block_head(len(block_ids), block_ids[-1], 3.0, comp, 1, 40)
        size = len(head) + len(data)
        parts += [struct.pack("!i", -size if i == len(blocks) - 1 else size), head, data]
    return b"".join(parts)


def _real_postings(n: int, first: int) -> tuple[list[int], list[float], list[bytes]]:
    """``n`` postings of a common word as a large segment holds them: document numbers
    from ``first`` (beyond 16 bits) a few apart, frequencies 1 to 4, and each
    document's positions encoded by Whoosh's ``Positions`` format."""
    from whoosh.formats import Positions

    rng = np.random.default_rng(7)
    ids = (first + np.cumsum(rng.integers(1, 40, n))).tolist()
    freqs = rng.integers(1, 5, n).tolist()
    fmt = Positions()
    values = [fmt.encode(sorted(rng.choice(300, f, replace=False).tolist())) for f in freqs]
    return ids, [float(f) for f in freqs], values


def test_large_blocks_hold_narrow_ids_and_weights_and_values_compressed_apart() -> None:
    """A common word's block: the first document number (beyond 16 bits) then one byte
    per step, a byte per frequency, the positions compressed on their own and the block
    not compressed as a whole; read back, the same postings; about as small on disk as
    Whoosh's blocks compressed whole by zlib."""
    from searchkit.engine import safepickle
    from searchkit.engine.codec import DeltaIds, Lz4Values, block_data

    ids, weights, values = _real_postings(1024, 70_000)
    data, comp = block_data(ids, weights, values, None, 3)
    assert comp == 0
    deltas, stored_weights, stored_values = safepickle.loads(data)
    assert isinstance(deltas, DeltaIds) and deltas.first == ids[0]
    assert deltas.steps.typecode == "B" and stored_weights.typecode == "B"
    assert isinstance(stored_values, Lz4Values) and stored_values.width == 1
    assert deltas.numbers().tolist() == ids and list(stored_weights) == weights
    assert list(stored_values) == values and list(deltas) == [ids[0], *np.diff(ids).tolist()]
    assert deltas[0] == ids[0] and deltas[-1] == ids[-1] - ids[-2]
    assert deltas[1:3] == list(deltas)[1:3]
    with pytest.raises(IndexError):
        deltas[len(ids)]
    assert len(data) < 1.1 * len(_previous_block_data(ids, weights, values, None, 3)[0])
    # Frequencies that are not whole numbers (a boosted field) stay floats.
    _, halves, _ = safepickle.loads(block_data(ids, [w / 2 for w in weights], values, None, 3)[0])
    assert halves.typecode == "f" and list(halves) == [w / 2 for w in weights]
    # A codec that compresses nothing keeps the values as they are.
    _, _, plain = safepickle.loads(block_data(ids, weights, values, None, 0)[0])
    assert isinstance(plain, PackedValues) and list(plain) == values


def test_delta_coded_numbers_decode_into_place_with_a_base() -> None:
    """A block's numbers decoded into a slice of a larger array, each plus a base (a
    segment's first top-level number): one number alone, steps of one, two and four
    bytes, and numbers past 32 bits once the base is added."""
    from searchkit.engine.codec import DeltaIds

    ids, _, _ = _real_postings(1024, 70_000)
    cases = [
        [5],
        [0, 1],
        ids[:130],
        ids,
        [0, 300, 60_000],
        [3, 70_000, 70_001, 5_000_000_000 // 2**8],
    ]
    for numbers in cases:
        deltas = DeltaIds.of(numbers, None)
        for base in (0, 1_000_000, 2**33):
            out = np.full(len(numbers) + 4, -7, dtype=np.int64)
            deltas.numbers_into(out[2 : 2 + len(numbers)], base)
            assert out[2 : 2 + len(numbers)].tolist() == [n + base for n in numbers]
            assert out[:2].tolist() == [-7, -7] and out[2 + len(numbers) :].tolist() == [-7, -7]
    assert DeltaIds.of(ids, None).steps.typecode == "B"
    assert DeltaIds.of([0, 300, 60_000], None).steps.typecode == "H"
    assert DeltaIds.of([0, 70_000], None).steps.typecode == "I"


def test_blocks_written_before_read_as_the_new_ones() -> None:
    """A term of two blocks in the previous layout and the same term in the new one:
    the query reader (blockread) and the merge reader give the same numbers, weights
    and positions for both, and Whoosh's matcher reads the new blocks."""
    from searchkit.engine import blockread, merging
    from searchkit.engine.codec import block_data
    from searchkit.engine.values import Values

    ids, weights, values = _real_postings(2 * PACK_MIN, 90_000)
    halves = [slice(0, PACK_MIN), slice(PACK_MIN, None)]
    id_parts = [ids[h] for h in halves]
    old = _term_blocks(
        [_previous_block_data(ids[h], weights[h], values[h], None, 3) for h in halves], id_parts
    )
    deflated = _term_blocks(
        [_deflated_block_data(ids[h], weights[h], values[h]) for h in halves], id_parts
    )
    new = _term_blocks(
        [block_data(ids[h], weights[h], values[h], None, 3) for h in halves], id_parts
    )
    postfile, places = _postings_file(old, deflated, new)
    read = []
    for start, length in places:
        read_ids, read_weights, value_blocks, counts = blockread.read_term(
            postfile, start, length, False, True
        )
        assert counts == [PACK_MIN, len(ids) - PACK_MIN]
        joined = Values.join(value_blocks)
        read.append(
            (
                read_ids.tolist(),
                read_weights.tolist(),
                [joined.blob[s:e] for s, e in zip(joined.starts, joined.ends, strict=True)],
            )
        )
        merged_ids, merged_weights, merged_values = merging._read_blocks(
            postfile, start, length, None
        )
        assert merged_ids.tolist() == ids and merged_weights.tolist() == weights
        assert list(merged_values) == values
    assert read[0] == read[1] == read[2] == (ids, weights, values)


def _deflated_block_data(ids: list[int], weights: list[float], values: list[bytes]) -> Any:
    """A large block as searchkit wrote it before LZ4: its values one zlib stream."""
    import pickle

    from searchkit.engine import codec

    mini = codec._mini_weights(weights, True)
    stored = codec.DeflatedValues.of(PackedValues.of(values), codec.COMPRESSION)
    data = pickle.dumps((codec.DeltaIds.of(ids, mini), mini, stored), codec.BLOCK_PROTOCOL)
    return data, 0


def test_damaged_values_are_detected() -> None:
    """A flipped byte in a block's compressed values (LZ4 or, as written before, zlib),
    or lengths that do not add up to the values' size, raise instead of giving other
    positions."""
    import zlib

    from searchkit.engine.codec import DeflatedValues, Lz4Values

    _, _, values = _real_postings(PACK_MIN, 0)
    good = DeflatedValues.of(PackedValues.of(values), 3)
    assert list(good) == values
    data = bytearray(good.data)
    data[len(data) // 2] ^= 0x40
    flipped = DeflatedValues(good.values, good.width, good.size, bytes(data))
    with pytest.raises((zlib.error, ValueError)):
        flipped.inflated()
    with pytest.raises(ValueError):
        DeflatedValues(good.values, good.width, good.size + 1, good.data).inflated()
    with pytest.raises(ValueError):
        DeflatedValues(good.values - 1, good.width, good.size, good.data).inflated()

    fast = Lz4Values.of(PackedValues.of(values))
    assert list(fast) == values and fast == good
    for at in (0, len(fast.data) // 2, len(fast.data) - 1):  # every bit of the block counts
        data = bytearray(fast.data)
        data[at] ^= 0x01
        with pytest.raises(ValueError, match="damaged"):
            Lz4Values(fast.values, fast.width, fast.size, bytes(data), fast.check).inflated()
    with pytest.raises(ValueError):
        Lz4Values(fast.values, fast.width, fast.size + 1, fast.data, fast.check).inflated()
    with pytest.raises(ValueError):
        Lz4Values(fast.values - 1, fast.width, fast.size, fast.data, fast.check).inflated()
    # Sizes no LZ4 block of these bytes can expand to: refused before allocating them.
    for size in (10**12, -1):
        with pytest.raises(ValueError, match="impossible sizes"):
            Lz4Values(fast.values, fast.width, size, fast.data, fast.check).inflated()


def test_compressed_blocks_join_as_their_decompressed_values() -> None:
    """Joining blocks' values sums a compressed block's lengths straight into the joined
    offsets (``CompressedValues.ends_into``): the same bytes and offsets as joining the
    blocks decompressed first, among blocks of the other kinds; lengths that do not add
    up still raise."""
    import lz4.block as lz4_block

    from searchkit.crc import crc32
    from searchkit.engine.codec import DeflatedValues, Lz4Values
    from searchkit.engine.values import Values

    _, _, values = _real_postings(PACK_MIN, 0)
    fast = Lz4Values.of(PackedValues.of(values))
    old = DeflatedValues.of(PackedValues.of(values[:7]), 3)
    later = Lz4Values.of(PackedValues.of(values[5:]))
    small = tuple(values[:3])
    joined = Values.join([small, fast, old, later])
    first = Values.join([small, fast.inflated(), old.inflated(), later.inflated()])
    assert bytes(joined.blob) == bytes(first.blob)
    assert joined.starts.tolist() == first.starts.tolist()
    assert joined.ends.tolist() == first.ends.tolist()
    every = [*values[:3], *values, *values[:7], *values[5:]]
    assert [joined.blob[a:b] for a, b in zip(joined.starts, joined.ends, strict=True)] == every
    assert not fast.is_packed  # decompressed for the join, not kept

    ends = np.zeros(len(values), dtype=np.int64)
    blob = fast.ends_into(ends, 10)
    assert bytes(blob) == fast.inflated().blob
    assert ends.tolist() == [10 + end for end in fast.inflated().ends]
    with pytest.raises(ValueError, match="count"):
        fast.ends_into(np.zeros(len(values) + 1, dtype=np.int64))
    # two values of 1 byte each said to be 3 bytes: refused either way
    data = lz4_block.compress(bytes([1, 1]) + b"abc", store_size=False)
    wrong = Lz4Values(2, 1, 3, data, crc32(data))
    with pytest.raises(ValueError, match="add up"):
        wrong.ends_into(np.zeros(2, dtype=np.uint32))
    with pytest.raises(ValueError, match="add up"):
        wrong.inflated()


def test_a_flipped_number_or_weight_is_detected() -> None:
    """The numbers and weights of a large block are not under zlib's checksum: a
    flipped bit in either (or in the first number) is reported by every reader
    (blockread, the merge, Whoosh's matcher through searchkit's arrays), never read as
    another document or frequency."""
    from searchkit.engine import blockread, merging, safepickle
    from searchkit.engine.codec import block_data

    ids, weights, values = _real_postings(PACK_MIN, 70_000)
    data, comp = block_data(ids, weights, values, None, 3)
    deltas, stored_weights, _ = safepickle.loads(data)
    deltas.verify(stored_weights)
    spots = {
        "first": data.index((ids[0]).to_bytes(4, "little")),
        "steps": data.index(deltas.steps.tobytes()) + 5,
        "weights": data.index(stored_weights.tobytes()) + 7,
    }
    for where, at in spots.items():
        damaged = bytearray(data)
        damaged[at] ^= 0x02
        blob = _term_blocks([(bytes(damaged), comp)], [ids])
        postfile, [(start, length)] = _postings_file(blob)
        with pytest.raises(ValueError, match="damaged"):
            blockread.read_term(postfile, start, length, False, False)
        with pytest.raises(ValueError, match="damaged"):
            merging._read_blocks(postfile, start, length, None)
        assert where


def test_a_block_whose_count_disagrees_with_its_numbers_is_detected() -> None:
    """A term's numbers are decoded block by block into one array at the places the
    blocks' headers count: a header counting more or fewer postings than its block
    holds is damage, reported, never read as a shifted or short list."""
    from searchkit.engine import blockread
    from searchkit.engine.codec import block_data

    ids, weights, values = _real_postings(PACK_MIN, 70_000)
    data, comp = block_data(ids, weights, values, None, 3)
    postfile, [(start, length)] = _postings_file(_term_blocks([(data, comp)], [ids]))
    read_ids, read_weights, _, counts = blockread.read_term(postfile, start, length, False, False)
    assert read_ids.tolist() == ids and read_weights.tolist() == weights and counts == [PACK_MIN]
    for wrong in (ids[:-1], [*ids, ids[-1] + 1]):  # the header counts one fewer / one more
        postfile, [(start, length)] = _postings_file(_term_blocks([(data, comp)], [wrong]))
        with pytest.raises(ValueError, match="another number"):
            blockread.read_term(postfile, start, length, False, False)
