"""Whoosh ``Positions`` values decoded in arrays: the positions of indexes of format 7
and before (format 8 keeps them as 16-bit numbers,
:mod:`~searchkit.engine.compact_positions`, which :func:`decode_positions` hands on).

A term's positions in one document are stored by Whoosh's ``Positions`` format as a
4-byte big-endian count followed by the pickled list (protocol 2) of the deltas between
positions: the header ``\\x80\\x02]q\\x00``, then one opcode per delta (``K`` and one
byte under 256, ``M`` and two bytes under 65,536, ``J`` and four bytes beyond), inside
``APPEND`` (one delta) or ``MARK ... APPENDS`` (pickle writes longer lists in batches of
1,000), and ``STOP``.

Unpickling each value costs about a microsecond; a phrase of common words on a
1,000,000-record index decodes hundreds of thousands of values. :func:`position_arrays`
reads them with array operations instead:

* values whose deltas are all one-byte (``K``) have a fixed layout and are read at once;
* the others (in abstracts longer than 256 words a position past the 256th needs ``M``)
  are read by walking their opcodes: one step per delta, all values at once;
* whatever neither reads (several pickle batches, a negative delta, another format)
  is unpickled value by value (:func:`decode_positions`), the reference the other two
  are tested against.
"""

from __future__ import annotations

from itertools import accumulate, chain, pairwise
from typing import Any

import numpy as np
from numpy.typing import NDArray
from whoosh.formats import Positions

from searchkit.engine.compact_positions import CompactPositions, compact_arrays
from searchkit.engine.safepickle import loads

Ints = NDArray[np.int64]
Mask = NDArray[np.bool_]

_STOP = ord(".")
_APPEND = ord("a")
_APPENDS = ord("e")
_MARK = ord("(")
_BININT1 = ord("K")
_BININT2 = ord("M")
_BININT = ord("J")
_HEAD = np.frombuffer(b"\x80\x02]q\x00", dtype=np.uint8)
#: The most deltas pickle writes in one ``MARK ... APPENDS`` batch.
_PICKLE_BATCH = 1_000
#: Values with more deltas than this are unpickled rather than walked: the walk takes
#: one round of array operations per delta of its longest value.
WALK_MAX_COUNT = 256


def decode_positions(fmt: Any, blob: bytes, starts: list[int], ends: list[int]) -> list[list[int]]:
    """The positions of each value ``blob[start:end]``, value by value: a ``Positions``
    value unpickled (without a Python step per position), other formats by their own
    ``decode_positions``."""
    if type(fmt) is CompactPositions:
        counts, positions = compact_arrays(
            blob, np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)
        )
        found = positions.tolist()
        bounds = list(accumulate(counts.tolist(), initial=0))
        return [found[a:b] for a, b in pairwise(bounds)]
    if type(fmt) is not Positions:
        return [fmt.decode_positions(blob[s:e]) for s, e in zip(starts, ends, strict=True)]
    view = memoryview(blob)
    out: list[list[int]] = []
    for s, e in zip(starts, ends, strict=True):
        if blob[e - 1] == _STOP:
            out.append(list(accumulate(loads(view[s + 4 : e]))))
        else:  # a value without its pickle's final STOP (Whoosh accepts those too)
            out.append(fmt.decode_positions(blob[s:e]))
    return out


def flat(decoded: list[list[int]]) -> tuple[Ints, Ints]:
    """How many positions each list holds, and all of them in one array."""
    counts = np.fromiter(map(len, decoded), dtype=np.int64, count=len(decoded))
    positions = np.fromiter(chain.from_iterable(decoded), dtype=np.int64, count=counts.sum())
    return counts, positions


def position_arrays(
    fmt: Any, blob: bytes, starts: NDArray[Any], ends: NDArray[Any]
) -> tuple[Ints, Ints]:
    """For each value ``blob[start:end]`` of the ``Positions`` format: how many positions
    it holds, and all of them in one array (value after value)."""
    data = np.frombuffer(blob, dtype=np.uint8)
    starts = starts.astype(np.int64)
    ends = ends.astype(np.int64)
    count = _counts(data, starts, ends)
    groups: list[tuple[NDArray[np.intp], Ints, Ints]] = []
    left = np.arange(len(starts), dtype=np.intp)

    ok, n, positions = _one_byte_values(data, starts, ends, count)
    groups.append((left[ok], n, positions))
    left = left[~ok]
    if len(left):
        walk = count[left] <= WALK_MAX_COUNT
        tried = left[walk]
        read, n, positions = _walked_values(data, starts[tried], ends[tried], count[tried])
        groups.append((tried[read], n, positions))
        unread = np.ones(len(tried), dtype=np.bool_)
        unread[read] = False
        left = np.concatenate((left[~walk], tried[unread]))
    if len(left):
        left.sort()
        n, positions = flat(decode_positions(fmt, blob, starts[left].tolist(), ends[left].tolist()))
        groups.append((left, n, positions))
    if len(groups) == 1:
        return groups[0][1], groups[0][2]
    return _placed(len(starts), groups)


def _counts(data: NDArray[np.uint8], starts: Ints, ends: Ints) -> Ints:
    """Each value's 4-byte big-endian count (0 for a value too short to hold one and
    its pickle's header, which no other step then reads)."""
    count = np.zeros(len(starts), dtype=np.int64)
    room = ends - starts >= 4 + len(_HEAD) + 3
    at = starts[room]
    count[room] = (
        (data[at].astype(np.int64) << 24)
        | (data[at + 1].astype(np.int64) << 16)
        | (data[at + 2].astype(np.int64) << 8)
        | data[at + 3]
    )
    good = room & (count >= 1) & (count <= _PICKLE_BATCH)
    at = starts[good]
    for k, byte in enumerate(_HEAD.tolist()):
        good[good] = data[at + 4 + k] == byte
        at = starts[good]
    # One delta: APPEND after it; several: MARK before them (APPENDS after them).
    good[good] = (count[good] == 1) | (data[at + 9] == _MARK)
    count[~good] = 0
    return count


def _one_byte_values(
    data: NDArray[np.uint8], starts: Ints, ends: Ints, count: Ints
) -> tuple[Mask, Ints, Ints]:
    """Which values hold only one-byte deltas (a fixed layout: 12 bytes and two a
    delta, 13 for a single one), and their counts and positions."""
    ok = (count >= 1) & (ends - starts == np.where(count == 1, 13, 12 + 2 * count))
    closing = np.where(count == 1, _APPEND, _APPENDS)
    ok[ok] = (data[ends[ok] - 2] == closing[ok]) & (data[ends[ok] - 1] == _STOP)
    n = count[ok]
    slot = _delta_slots(starts[ok], n)
    good = data[slot] == _BININT1
    if not good.all():  # a value whose delta bytes spell a closing by chance
        bad_value = np.repeat(np.arange(len(n)), n)[~good]
        keep = np.ones(len(n), dtype=np.bool_)
        keep[bad_value] = False
        ok[np.flatnonzero(ok)[~keep]] = False
        n = count[ok]
        slot = _delta_slots(starts[ok], n)
    return ok, n, _running(data[slot + 1].astype(np.int64), n)


def _delta_slots(starts: Ints, n: Ints) -> Ints:
    """Where the opcode of each one-byte delta of the values at ``starts`` (``n``
    deltas each) is: two bytes apart, after the header and ``MARK`` (no ``MARK`` for a
    single delta)."""
    first = starts + np.where(n == 1, 9, 10)
    return np.repeat(first - 2 * (np.cumsum(n) - n), n) + 2 * np.arange(n.sum())


def _walked_values(
    data: NDArray[np.uint8], starts: Ints, ends: Ints, count: Ints
) -> tuple[NDArray[np.intp], Ints, Ints]:
    """The values (of at most :data:`WALK_MAX_COUNT` deltas) read by walking their
    opcodes: which ones (in no particular order), their counts and their positions.
    Step ``k`` reads the ``k``-th opcode of every value with more than ``k`` deltas; a
    value is read when every opcode is ``K``, ``M`` or a non-negative ``J`` and its
    closing and ``STOP`` end it exactly."""
    # Longest values first: step k works on a prefix of them.
    order = np.argsort(-count, kind="stable")
    n = count[order]
    cursor = starts[order] + np.where(n == 1, 9, 10)
    ok = n >= 1
    offsets = np.cumsum(n) - n
    deltas = np.zeros(int(n.sum()), dtype=np.int64)
    last = len(data) - 1
    ascending = -n
    for k in range(int(n[0]) if len(n) else 0):
        m = int(np.searchsorted(ascending, -k, side="left"))  # the values with more than k
        at = cursor[:m]
        op = data[np.minimum(at, last)]
        b1 = data[np.minimum(at + 1, last)].astype(np.int64)
        b2 = data[np.minimum(at + 2, last)].astype(np.int64)
        is_k, is_m, is_j = op == _BININT1, op == _BININT2, op == _BININT
        value = np.where(is_k, b1, b1 | (b2 << 8))
        if is_j.any():
            b3 = data[np.minimum(at + 3, last)].astype(np.int64)
            b4 = data[np.minimum(at + 4, last)].astype(np.int64)
            is_j &= b4 < 128  # a negative delta is no position
            value = np.where(is_j, value | (b3 << 16) | (b4 << 24), value)
        ok[:m] &= is_k | is_m | is_j
        deltas[offsets[:m] + k] = value
        cursor[:m] = at + np.where(is_k, 2, np.where(is_m, 3, 5))
    end = ends[order]
    ok &= cursor + 2 == end
    closing = np.where(n[ok] == 1, _APPEND, _APPENDS)
    ok[ok] = (data[end[ok] - 2] == closing) & (data[end[ok] - 1] == _STOP)
    counts = n[ok]
    kept = deltas[np.repeat(ok, n)]
    return order[ok], counts, _running(kept, counts)


def _running(deltas: Ints, n: Ints) -> Ints:
    """Positions: the running sum of ``deltas`` within each value of ``n`` deltas."""
    running = np.cumsum(deltas)
    before = np.cumsum(n) - n
    base = np.where(before > 0, running[np.maximum(before - 1, 0)], 0) if len(n) else before
    return running - np.repeat(base, n)


def _placed(size: int, groups: list[tuple[NDArray[np.intp], Ints, Ints]]) -> tuple[Ints, Ints]:
    """Counts and positions of ``size`` values put together from ``groups`` (which
    values, in any order; their counts; their positions, value after value)."""
    counts = np.zeros(size, dtype=np.int64)
    for which, n, _ in groups:
        counts[which] = n
    offsets = np.cumsum(counts) - counts
    positions = np.empty(int(counts.sum()), dtype=np.int64)
    for which, n, found in groups:
        within = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
        positions[np.repeat(offsets[which], n) + within] = found
    return counts, positions
