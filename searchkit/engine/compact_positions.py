"""Positions as 16-bit numbers: the posting format of positional fields from index
format 8 on.

Whoosh's ``Positions`` format stores a term's positions in one document as a 4-byte
count and the pickled list of the gaps between them: 13 bytes for one position, two
more for each further one, decoded in arrays only by walking pickle opcodes
(:mod:`~searchkit.engine.position_values`). :class:`CompactPositions` stores the
positions themselves, each a little-endian 16-bit number: one position is 2 bytes, and
the values of many postings, joined as a term's blocks hold them, are one array of
16-bit numbers that :func:`compact_arrays` reads with a gather, no step per value.

A position from 65,535 on (a list of more than 650 authors, :data:`ENTRY_GAP
<searchkit.index.schema.ENTRY_GAP>` positions apart) is written as :data:`ESCAPE`
followed by its high and low 16 bits. A value is always an even number of bytes: an
odd one, or an escape cut short, is a damaged value and raises ``ValueError``.

The class is pickled into the index's table of contents (the schema): its module
and name are part of the on-disk format.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from whoosh.formats import Positions

Ints = NDArray[np.int64]

#: The 16-bit number that announces a position of 32 bits (the two numbers after it).
ESCAPE = 0xFFFF
_LITTLE = sys.byteorder == "little"
#: The largest position a value can hold.
MAX_POSITION = 2**32 - 1


def encode_compact(positions: Sequence[int]) -> bytes:
    """The value of ``positions`` (non-negative, below 2**32): each as a 16-bit
    little-endian number, :data:`ESCAPE` and two numbers for one from 65,535 on."""
    try:
        units = array("H", positions)
    except OverflowError:  # negative, or 65,536 or more
        units = _escaped(positions)
    else:
        if ESCAPE in units:
            units = _escaped(positions)
    if not _LITTLE:
        units.byteswap()
    return units.tobytes()


def _escaped(positions: Sequence[int]) -> array[int]:
    units: array[int] = array("H")
    for pos in positions:
        if pos < 0 or pos > MAX_POSITION:
            raise ValueError(f"position {pos} out of range 0..{MAX_POSITION}")
        if pos < ESCAPE:
            units.append(pos)
        else:
            units.extend((ESCAPE, pos >> 16, pos & 0xFFFF))
    return units


def _units(value: bytes | memoryview) -> array[int]:
    if len(value) % 2:
        raise ValueError(f"a positions value of {len(value)} bytes (odd): damaged postings")
    units: array[int] = array("H")
    units.frombytes(value)
    if not _LITTLE:
        units.byteswap()
    return units


def decode_compact(value: bytes | memoryview) -> list[int]:
    """The positions of a value :func:`encode_compact` wrote."""
    units = _units(value)
    if ESCAPE not in units:
        return units.tolist()
    out: list[int] = []
    i, n = 0, len(units)
    while i < n:
        unit = units[i]
        if unit != ESCAPE:
            out.append(unit)
            i += 1
        elif i + 2 < n:
            out.append(units[i + 1] << 16 | units[i + 2])
            i += 3
        else:
            raise ValueError("a positions value ends inside an escape: damaged postings")
    return out


def compact_frequency(value: bytes | memoryview) -> int:
    """How many positions a value holds."""
    units = _units(value)
    return len(units) if ESCAPE not in units else len(decode_compact(value))


def compact_arrays(blob: bytes, starts: NDArray[Any], ends: NDArray[Any]) -> tuple[Ints, Ints]:
    """For each value ``blob[start:end]``: how many positions it holds, and all of
    them in one array (value after value). The values of joined blocks start at even
    offsets, so ``blob`` is read as one array of 16-bit numbers."""
    starts = starts.astype(np.int64)
    ends = ends.astype(np.int64)
    if len(blob) % 2 or ((starts | ends) & 1).any():
        raise ValueError("positions values at odd offsets: damaged postings")
    units = np.frombuffer(blob, dtype="<u2")
    counts = (ends - starts) >> 1
    if len(starts) and bool((starts[1:] == ends[:-1]).all()):
        found = units[starts[0] >> 1 : ends[-1] >> 1]  # values one after another
    else:
        total = int(counts.sum())
        before = np.cumsum(counts) - counts
        found = units[np.repeat((starts >> 1) - before, counts) + np.arange(total)]
    if (found == ESCAPE).any():  # a position past 65,534 (long author lists): rare
        decoded = [
            decode_compact(blob[s:e]) for s, e in zip(starts.tolist(), ends.tolist(), strict=True)
        ]
        counts = np.fromiter(map(len, decoded), dtype=np.int64, count=len(decoded))
        flat = [p for value in decoded for p in value]
        return counts, np.array(flat, dtype=np.int64)
    return counts, found.astype(np.int64)


class CompactPositions(Positions):
    """Whoosh's ``Positions`` (frequency, weight, positions) with values of 16-bit
    positions (:func:`encode_compact`): Whoosh's matchers and span queries read them
    through :meth:`decode_positions` as they read its own."""

    def encode(self, poslist: Sequence[int]) -> bytes:
        return encode_compact(poslist)

    def decode_positions(self, valuestring: bytes) -> list[int]:
        return decode_compact(valuestring)

    def decode_frequency(self, valuestring: bytes) -> int:
        return compact_frequency(valuestring)


__all__ = [
    "ESCAPE",
    "MAX_POSITION",
    "CompactPositions",
    "compact_arrays",
    "compact_frequency",
    "decode_compact",
    "encode_compact",
]
