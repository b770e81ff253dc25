"""A term's whole posting list read from Whoosh's ``whoosh3`` postings file at once.

Whoosh's ``W3LeafMatcher`` moves from block to block reading each block's header (its
length, then a pickled tuple) with several small reads through the file object, and
unpickles the header from the file: on a 1,000,000-record index those reads were about
a sixth of the time a query spent decoding postings. Here the term's extent is read
with one read, and each block's header and data are decoded from that ``bytes``, as
the matcher decodes them (``_goto``, ``_read_data``): a length (negative for the last
block), the header ``(count, last id, max weight, compression, min length, max
length)``, then the (zlib-compressed when ``compression``) pickle of ``(ids, weights,
values)``, the ids delta-coded unless ``byteids``; a compressed block is inflated by
:func:`~searchkit.engine.blockzlib.inflate`. The values of searchkit's large blocks
(:class:`~searchkit.engine.codec.CompressedValues`) stay compressed until a phrase or
proximity needs them.
"""

from __future__ import annotations

import io
import struct
from typing import Any

import numpy as np
from numpy.typing import NDArray
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC

from searchkit.engine.blockzlib import inflate
from searchkit.engine.codec import block_numbers_into, check_count
from searchkit.engine.safepickle import load, loads

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]

_BLOCK_SIZE = struct.Struct("!i")


def read_term(
    postfile: Any,
    start: int,
    length: int,
    byteids: bool,
    keep_values: bool,
    spans: list[tuple[int, int]] | None = None,
    into: tuple[Ints, Floats, int] | None = None,
) -> tuple[Ints, Floats, list[Any], list[int]]:
    """The posting list at ``start`` (``length`` bytes, its header tag included) of
    ``postfile``: its document numbers and weights (float64), each in one array decoded
    block by block into its place (never a block's array, then a copy of all of them),
    with ``keep_values`` each block's values as stored (a sequence of ``bytes``), and
    each block's number of postings. Each block's place in ``postfile`` (position,
    length) is appended to ``spans`` when given, for :func:`read_values` to read its
    values again.

    ``into`` (ids, weights, base): decode into those arrays instead, every document
    number plus ``base`` (a segment's place among an index's segments, its postings
    written straight into the joined lists); ``ValueError`` unless the list holds as
    many postings as they are long (what the term's information counts)."""
    blob = postfile.get(start, length)
    if blob[: len(WHOOSH3_HEADER_MAGIC)] != WHOOSH3_HEADER_MAGIC:
        raise ValueError(f"no posting list at {start}")
    view = memoryview(blob)
    stream = io.BytesIO(blob)
    pos = len(WHOOSH3_HEADER_MAGIC)
    blocks: list[tuple[Any, Any]] = []
    counts: list[int] = []
    values: list[Any] = []
    while True:
        size, following, count, (raw_ids, raw_weights, raw_values) = _block(view, stream, pos)
        blocks.append((raw_ids, raw_weights))
        counts.append(count)
        if keep_values:
            values.append(raw_values)
        if spans is not None:
            spans.append((start + pos, following - pos))
        if size < 0:
            break
        pos = following
    total = sum(counts)
    if into is None:
        ids = np.empty(total, dtype=np.int64)
        weights = np.empty(total, dtype=np.float64)
        base = 0
    else:
        ids, weights, base = into
        if total != len(ids):
            raise ValueError("a posting list holds another number of postings than its term counts")
    at = 0
    for (raw_ids, raw_weights), count in zip(blocks, counts, strict=True):
        end = at + count
        if byteids:
            found = np.asarray(raw_ids, dtype=np.int64)
            check_count(len(found), count)
            np.add(found, base, out=ids[at:end])
        else:
            block_numbers_into(raw_ids, raw_weights, ids[at:end], base)
        # Whoosh stores None when every weight is 1, one float when all are the same.
        if raw_weights is None:
            weights[at:end] = 1.0
        elif isinstance(raw_weights, float):
            weights[at:end] = raw_weights
        else:
            stored = np.asarray(raw_weights, dtype=np.float64)
            check_count(len(stored), count)
            weights[at:end] = stored
        at = end
    return ids, weights, values, counts


def read_values(postfile: Any, spans: list[tuple[int, int]]) -> list[Any]:
    """The values of the blocks at ``spans`` of ``postfile`` (places :func:`read_term`
    gave), in that order: each block read and decoded again, its ids and weights
    left unused."""
    out: list[Any] = []
    for position, length in spans:
        blob = postfile.get(position, length)
        _, following, _, data = _block(memoryview(blob), io.BytesIO(blob), 0)
        if following != length:
            raise ValueError(f"no posting block at {position}")
        out.append(data[2])
    return out


def _block(view: memoryview, stream: io.BytesIO, pos: int) -> tuple[int, int, int, Any]:
    """The block at ``pos`` of ``view`` (``stream`` reads the same bytes), as the
    matcher decodes it: its signed size, where the next block starts, its posting count
    and its unpickled ``(ids, weights, values)``."""
    (size,) = _BLOCK_SIZE.unpack_from(view, pos)
    following = pos + _BLOCK_SIZE.size + abs(size)
    stream.seek(pos + _BLOCK_SIZE.size)
    count, _, _, compression, _, _ = load(stream)  # the block's header
    data = view[stream.tell() : following]
    return size, following, count, loads(inflate(data) if compression else data)
