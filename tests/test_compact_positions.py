"""Positions as 16-bit numbers (:mod:`searchkit.engine.compact_positions`): values
round-trip, damaged ones are refused, the array decoding gives what decoding value
by value gives, and on an index of the real records of data/ Whoosh's own matchers
read the same positions as searchkit's arrays."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import whoosh.index

from searchkit import SearchIndex
from searchkit.engine.compact_positions import (
    ESCAPE,
    MAX_POSITION,
    CompactPositions,
    compact_arrays,
    compact_frequency,
    decode_compact,
    encode_compact,
)
from searchkit.engine.position_values import decode_positions
from searchkit.engine.postings import SegmentArrays

EDGES = [0, 1, 255, 256, ESCAPE - 1, ESCAPE, ESCAPE + 1, 2**16, 2**20 + 7, MAX_POSITION]


def _random_lists(rng: random.Random, count: int) -> list[list[int]]:
    lists = []
    for _ in range(count):
        n = rng.choice([0, 1, 1, 1, 2, 3, 7, 40, 300])
        gap = rng.choice([2, 60, 250, 400, 9_000])
        position, out = rng.randrange(gap), []
        for _ in range(n):
            out.append(position)
            position += rng.randrange(0, gap + 1)  # a repeat or a step
        lists.append(out)
    return lists


def _joined(lists: list[list[int]]) -> tuple[bytes, np.ndarray, np.ndarray]:
    values = [encode_compact(p) for p in lists]
    ends = np.cumsum([len(v) for v in values], dtype=np.int64)
    return b"".join(values), ends - np.array([len(v) for v in values], dtype=np.int64), ends


def test_values_round_trip_at_every_edge() -> None:
    fmt = CompactPositions()
    for positions in ([], [0], [7], EDGES, [ESCAPE] * 3, [MAX_POSITION, 0, ESCAPE, 3]):
        value = fmt.encode(positions)
        assert len(value) % 2 == 0
        assert fmt.decode_positions(value) == positions
        assert fmt.decode_frequency(value) == len(positions)
        assert fmt.decode_weight(value) == len(positions) * fmt.field_boost


def test_a_position_is_two_bytes_until_the_escape() -> None:
    assert encode_compact([3]) == b"\x03\x00"
    assert encode_compact([1, 300]) == b"\x01\x00\x2c\x01"
    assert len(encode_compact([ESCAPE - 1])) == 2
    assert len(encode_compact([ESCAPE])) == 6 and len(encode_compact([2**31])) == 6
    # Whoosh's own format: 13 bytes for one position.
    from whoosh.formats import Positions

    assert len(Positions().encode([3])) == 13


@pytest.mark.parametrize("positions", [[-1], [MAX_POSITION + 1], [5, -3]])
def test_positions_out_of_range_are_refused(positions: list[int]) -> None:
    with pytest.raises(ValueError, match="out of range"):
        encode_compact(positions)


@pytest.mark.parametrize(
    "value", [b"\x01", b"\x01\x00\x02", b"\xff\xff", b"\x01\x00\xff\xff\x00\x00"]
)
def test_damaged_values_are_refused(value: bytes) -> None:
    with pytest.raises(ValueError, match="damaged"):
        decode_compact(value)
    with pytest.raises(ValueError, match="damaged"):
        compact_frequency(value)


def test_arrays_give_what_value_by_value_decoding_gives() -> None:
    rng = random.Random(20261205)
    for trial in range(60):
        lists = _random_lists(rng, rng.choice([1, 5, 200]))
        if trial % 3 == 0:  # a few long author lists past the escape
            lists[rng.randrange(len(lists))] = [5, ESCAPE - 1, ESCAPE, 70_000, 2**24]
        blob, starts, ends = _joined(lists)
        for chosen in (
            np.arange(len(lists)),  # every value: one slice
            np.flatnonzero(np.array([rng.random() < 0.4 for _ in lists])),
            np.arange(len(lists))[::-1][: max(1, len(lists) // 3)][::-1],
        ):
            counts, positions = compact_arrays(blob, starts[chosen], ends[chosen])
            expected = [lists[i] for i in chosen.tolist()]
            assert counts.tolist() == [len(p) for p in expected]
            assert positions.tolist() == [p for value in expected for p in value]
            assert positions.dtype == np.int64
            assert (
                decode_positions(
                    CompactPositions(), blob, starts[chosen].tolist(), ends[chosen].tolist()
                )
                == expected
            )


def test_values_at_odd_offsets_are_damaged() -> None:
    blob, starts, ends = _joined([[1, 2], [3]])
    with pytest.raises(ValueError, match="damaged"):
        compact_arrays(blob + b"\x00", starts, ends)
    with pytest.raises(ValueError, match="damaged"):
        compact_arrays(blob, starts + 1, ends)


def test_whoosh_reads_the_positions_searchkit_reads(sample_index_dir: Path) -> None:
    """Every positional field of the data/ index is of the compact format, and for
    every term of more than a few postings Whoosh's matcher (which decodes value by
    value with :meth:`CompactPositions.decode_positions`) gives the positions that
    :meth:`SegmentArrays.position_keys` decodes in arrays."""
    with SearchIndex.open(sample_index_dir) as opened:
        schema = opened.schema
        positional = [n for n, f in schema.items() if f.format and f.format.supports("positions")]
        assert {"title", "abstract", "authors", "mesh"} <= set(positional)
        assert all(type(schema[n].format) is CompactPositions for n in positional)
    ix = whoosh.index.open_dir(str(sample_index_dir), indexname="MAIN")
    checked = 0
    with ix.reader() as reader:
        for leaf, _ in reader.leaf_readers():
            arrays = SegmentArrays(leaf)
            for field in positional:
                for text in list(leaf.lexicon(field))[::7]:
                    word = text.decode("utf-8")
                    matcher = leaf.postings(field, text)
                    by_whoosh = [(d, p) for d, ps in matcher.items_as("positions") for p in ps]
                    live = [(d, p) for d, p in by_whoosh if not leaf.is_deleted(d)]
                    docs = np.array(sorted({d for d, _ in live}), dtype=np.int64)
                    keys = arrays.position_keys(field, word, docs)
                    assert [(int(k >> 32), int(k & 0xFFFFFFFF)) for k in keys] == live
                    checked += 1
    assert checked > 1000
