"""Positions values decoded in arrays give what unpickling each value gives."""

from __future__ import annotations

import random

import numpy as np
import pytest
from whoosh.formats import Positions

from searchkit.engine import position_values
from searchkit.engine.position_values import WALK_MAX_COUNT, decode_positions, position_arrays


def _blob(lists: list[list[int]]) -> tuple[bytes, np.ndarray, np.ndarray]:
    fmt = Positions()
    values = [fmt.encode(positions) for positions in lists]
    ends = np.cumsum([len(v) for v in values]).astype(np.int64)
    starts = ends - np.array([len(v) for v in values], dtype=np.int64)
    return b"".join(values), starts, ends


def _by_value(blob: bytes, starts: np.ndarray, ends: np.ndarray) -> list[list[int]]:
    return decode_positions(Positions(), blob, starts.tolist(), ends.tolist())


def _random_lists(rng: random.Random, count: int) -> list[list[int]]:
    lists = []
    for _ in range(count):
        n = rng.choice([1, 1, 2, 3, 5, 12, 40, 300])
        gap = rng.choice([3, 60, 250, 400, 70_000, 300_000])
        position, out = rng.randrange(gap), []
        for _ in range(n):
            out.append(position)
            position += rng.randrange(1, gap + 1)
        lists.append(out)
    return lists


def test_every_kind_of_delta_read_as_unpickled() -> None:
    """One-byte, two-byte and four-byte deltas, mixed within a value and across
    values, single positions past 255, lists of several pickle batches."""
    lists = [[5], [0], [255], [256], [65_535], [65_536], [2**31 - 1], [3, 7]]
    lists += [[1, 300, 301], [0, 255, 511, 70_000, 70_001], list(range(1001))]
    lists += [list(range(0, 4000, 3)), [2**20, 2**20 + 1]]
    lists += _random_lists(random.Random(7), 3_000)
    blob, starts, ends = _blob(lists)
    counts, positions = position_arrays(Positions(), blob, starts, ends)
    assert counts.tolist() == [len(p) for p in lists]
    assert positions.tolist() == [p for ps in lists for p in ps]


def test_values_with_wider_deltas_are_walked_not_unpickled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A value with a delta of 256 or more (a word past the 256th of an abstract) is
    read by the opcode walk; only values of more than WALK_MAX_COUNT deltas are left
    to unpickling."""
    rng = random.Random(11)
    lists = [[rng.randrange(256, 5_000)] for _ in range(500)]
    lists += [[2, 2 + rng.randrange(256, 70_000), 80_000] for _ in range(500)]
    lists.append(list(range(0, 300 * 300, 300)))  # 300 two-byte deltas
    blob, starts, ends = _blob(lists)
    unpickled: list[int] = []
    real = position_values.decode_positions

    def counting(fmt: object, blob: bytes, s: list[int], e: list[int]) -> list[list[int]]:
        unpickled.extend(s)
        return real(fmt, blob, s, e)

    monkeypatch.setattr(position_values, "decode_positions", counting)
    counts, positions = position_arrays(Positions(), blob, starts, ends)
    assert positions.tolist() == [p for ps in lists for p in ps]
    assert counts.tolist() == [len(p) for p in lists]
    assert len(lists[-1]) > WALK_MAX_COUNT
    assert unpickled == [int(starts[-1])]


def test_a_value_not_in_the_usual_layout_is_unpickled_as_before() -> None:
    """A value without its final STOP, or with an opcode the walk does not read, goes
    to the value-by-value decoding, which gives Whoosh's result or raises as before."""
    good = [[1, 2, 3], [400, 900], [7]]
    blob, starts, ends = _blob(good)
    fmt = Positions()
    # The same positions pickled with an opcode the walk does not read (BININT for a
    # small number), and a value missing its STOP.
    odd = fmt.encode([4, 600])
    odd = odd[:4] + odd[4:].replace(b"K\x04", b"J\x04\x00\x00\x00", 1)
    no_stop = fmt.encode([8, 9])[:-1]
    extra = odd + no_stop
    whole = blob + extra
    s = np.append(starts, [len(blob), len(blob) + len(odd)]).astype(np.int64)
    e = np.append(ends, [len(blob) + len(odd), len(whole)]).astype(np.int64)
    counts, positions = position_arrays(fmt, whole, s, e)
    expected = _by_value(whole, s, e)
    assert expected[-2] == [4, 600]
    assert counts.tolist() == [len(p) for p in expected]
    assert positions.tolist() == [p for ps in expected for p in ps]


def test_a_damaged_value_raises_rather_than_being_misread() -> None:
    """A value whose opcodes do not end where the value ends is not read by the arrays:
    it is left to unpickling, which reports the damage."""
    blob, starts, ends = _blob([[1, 300], [5, 6, 7]])
    damaged = bytearray(blob)
    damaged[int(starts[0]) + 10] = ord("Q")  # the first delta's opcode
    with pytest.raises(Exception) as caught:
        position_arrays(Positions(), bytes(damaged), starts, ends)
    with pytest.raises(type(caught.value)):
        _by_value(bytes(damaged), starts, ends)
