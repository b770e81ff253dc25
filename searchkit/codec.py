"""Whoosh's ``whoosh3`` codec with posting blocks that are quick to read back.

Whoosh pickles each block of postings (delta-coded ids, weights, and every posting's
encoded positions) with pickle protocol 2. Under Python 3 that protocol writes every
``bytes`` object as a call to ``_codecs.encode`` on a latin-1 string, so reading a
block back makes one such call per posting: on a large index that unpickling, not the
scoring, was most of a query's time. Here a block of :data:`BLOCK_LIMIT` postings
(instead of 128) holds

* the id deltas and the weights as :class:`ZippedArray` (or Whoosh's ``None`` /
  single float when the weights are all the same),
* the values as :class:`ZippedValues` (end offsets and joined bytes),

each zlib-compressed on its own, pickled with protocol 5. A reader unpickles a handful
of objects per block instead of a few hundred, and ranking, which needs ids and
weights only, leaves the positions compressed until a phrase or the proximity of the
best documents asks for them. Blocks of fewer than :data:`PACK_MIN` postings (most
terms are rare) keep Whoosh's tuples, pickled with protocol 5, and are compressed
whole only from :data:`ZLIB_MIN` bytes on.

The segments stay Whoosh segments: Whoosh's own reader and matchers read them (its
``W3LeafMatcher`` delta-decodes any sequence of ids and indexes the values), so
searching, merging and ``optimize`` work unchanged; segments written before this codec
are read as they are. The codec object is pickled into the index's table of contents,
so this module's names are part of the on-disk format: do not rename them.
"""

from __future__ import annotations

import pickle
import zlib
from array import array
from collections.abc import Iterator, Sequence
from itertools import accumulate, pairwise
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3Codec, W3PostingsWriter
from whoosh.util.numeric import length_to_byte

#: Postings per block (Whoosh's default is 128). Larger blocks mean fewer Python
#: steps per posting read; nothing here skips inside a posting list by blocks.
BLOCK_LIMIT = 1024
#: Pickle protocol of a block's data: 4 and later write bytes and arrays natively.
BLOCK_PROTOCOL = 5
#: Blocks of at least this many postings (of a positional field) are zipped by part.
PACK_MIN = 128
#: Whoosh's default zlib level for blocks.
COMPRESSION = 3
#: Block pickles shorter than this are stored as they are: on real postings zlib never
#: made one of them smaller (its header and checksum take 6 bytes), and always made
#: the longer ones smaller; trying costs more than writing them.
ZLIB_MIN = 48


class ZippedArray(Sequence[Any]):
    """Numbers (little-endian ``dtype``: ``<u4`` ids, ``<f4`` weights) stored
    zlib-compressed and inflated on first use: a sequence of numbers to Whoosh's
    matcher, a NumPy array to searchkit's reader (:meth:`numbers`)."""

    __slots__ = ("_list", "_numbers", "dtype", "payload")

    def __init__(self, dtype: str, payload: bytes) -> None:
        self.dtype = dtype
        self.payload = payload
        self._numbers: np.ndarray | None = None
        self._list: list[Any] | None = None

    @classmethod
    def of(cls, dtype: str, numbers: Any) -> ZippedArray:
        raw = np.ascontiguousarray(numbers, dtype=dtype).tobytes()
        return cls(dtype, zlib.compress(raw, COMPRESSION))

    def numbers(self) -> np.ndarray:
        if self._numbers is None:
            self._numbers = np.frombuffer(zlib.decompress(self.payload), dtype=self.dtype)
        return self._numbers

    def _items(self) -> list[Any]:
        if self._list is None:
            self._list = self.numbers().tolist()
        return self._list

    def __len__(self) -> int:
        return len(self.numbers())

    def __getitem__(self, index: Any) -> Any:
        return self._items()[index]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items())

    def __reduce__(self) -> tuple[Any, ...]:
        return (ZippedArray, (self.dtype, self.payload))

    def __repr__(self) -> str:
        return f"ZippedArray({self.dtype!r}, {len(self.payload)} bytes)"


class ZippedValues(Sequence[bytes]):
    """A block's posting values (encoded positions), zlib-compressed apart from the
    ids and weights: ranking reads ids and weights only, and inflates the positions
    of a block only when it needs them (phrases, proximity of the best documents).
    The payload is the values' end offsets (``<u4``) followed by their bytes."""

    __slots__ = ("_inflated", "count", "payload")

    def __init__(self, payload: bytes, count: int) -> None:
        self.payload = payload
        self.count = count
        self._inflated: tuple[np.ndarray, bytes] | None = None

    @classmethod
    def of(cls, values: Sequence[bytes]) -> ZippedValues:
        ends = np.fromiter(accumulate(map(len, values)), dtype="<u4", count=len(values))
        raw = ends.tobytes() + b"".join(values)
        return cls(zlib.compress(raw, COMPRESSION), len(values))

    def inflate(self) -> tuple[np.ndarray, bytes]:
        """(end offsets, joined values), inflated anew (not kept)."""
        if self._inflated is not None:
            return self._inflated
        raw = zlib.decompress(self.payload)
        split = 4 * self.count
        return np.frombuffer(raw, dtype="<u4", count=self.count), raw[split:]

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: Any) -> Any:
        if self._inflated is None:  # Whoosh's matcher reads posting after posting
            self._inflated = self.inflate()
        ends, blob = self._inflated
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.count))]
        i = index.__index__()
        if i < 0:
            i += self.count
        if not 0 <= i < self.count:
            raise IndexError("value index out of range")
        return blob[int(ends[i - 1]) if i else 0 : int(ends[i])]

    def __iter__(self) -> Iterator[bytes]:
        return (self[i] for i in range(self.count))

    def __reduce__(self) -> tuple[Any, ...]:
        return (ZippedValues, (self.payload, self.count))

    def __repr__(self) -> str:
        return f"ZippedValues({self.count} values, {len(self.payload)} bytes)"


def block_data(
    ids: Sequence[int],
    weights: Sequence[float],
    values: Sequence[bytes],
    fixedsize: int | None,
    compression: int,
) -> tuple[bytes, int]:
    """One block's data as written after its head, and the compression level to note
    in its head (0: Whoosh does not inflate it; the parts may be compressed).

    Blocks of at least :data:`PACK_MIN` postings of a positional field are zipped by
    part (:class:`ZippedArray`, :class:`ZippedValues`); smaller ones hold tuples, like
    Whoosh's (a class costs its pickled name, about 60 bytes a block, and most terms
    are rare), compressed whole when that makes them smaller."""
    count = len(ids)
    positional = fixedsize is None or fixedsize < 0
    if count >= PACK_MIN and positional:
        # Each part compressed apart; the pickle around them is not compressed again.
        numbers = np.asarray(ids, dtype=np.uint32)
        steps = numbers.copy()
        np.subtract(numbers[1:], numbers[:-1], out=steps[1:])
        weights_part = _mini_weights(weights)
        if isinstance(weights_part, tuple):
            weights_part = ZippedArray.of("<f4", weights_part)
        parts = (ZippedArray.of("<u4", steps), weights_part, ZippedValues.of(values))
        return pickle.dumps(parts, BLOCK_PROTOCOL), 0
    deltas = (ids[0], *(b - a for a, b in pairwise(ids))) if count else ()
    data = pickle.dumps(
        (deltas, _mini_weights(weights), _mini_values(values, fixedsize)), BLOCK_PROTOCOL
    )
    if compression and len(data) >= ZLIB_MIN:
        smaller = zlib.compress(data, compression)
        if len(smaller) < len(data):
            return smaller, compression
    return data, 0


def block_head(
    count: int,
    last_id: int,
    maxweight: float,
    compression: int,
    minlength: int | None,
    maxlength: int,
) -> bytes:
    """The small pickled info tuple Whoosh reads before a block's data."""
    info = (count, last_id, maxweight, compression)
    return pickle.dumps((*info, length_to_byte(minlength), length_to_byte(maxlength)), 2)


def _mini_weights(weights: Sequence[float]) -> Any:
    """``None`` when every weight is 1, one float when all are equal, else a tuple of
    (single-precision) floats, as Whoosh's writer minifies them."""
    floats = weights if isinstance(weights, array) else array("f", weights)
    first = floats[0]
    if floats.count(first) == len(floats):
        return None if first == 1.0 else first
    return tuple(floats)


def _mini_values(values: Sequence[bytes], fixedsize: int | None) -> Any:
    if fixedsize is None or fixedsize < 0:
        return tuple(values)
    if fixedsize == 0:
        return None
    return b"".join(values)


class SearchkitCodec(W3Codec):  # type: ignore[misc]
    """``W3Codec`` whose postings writer writes :func:`block_data` blocks of
    :data:`BLOCK_LIMIT` postings."""

    def __init__(
        self, blocklimit: int = BLOCK_LIMIT, compression: int = COMPRESSION, inlinelimit: int = 1
    ) -> None:
        super().__init__(blocklimit=blocklimit, compression=compression, inlinelimit=inlinelimit)

    def postings_writer(self, dbfile: Any, byteids: bool = False) -> W3PostingsWriter:
        return PackedPostingsWriter(
            dbfile,
            blocklimit=self._blocklimit,
            byteids=byteids,
            compression=self._compression,
            inlinelimit=self._inlinelimit,
        )


class PackedPostingsWriter(W3PostingsWriter):  # type: ignore[misc]
    """``W3PostingsWriter`` writing its blocks with :func:`block_data` (term vectors,
    whose ids are bytes, are left to Whoosh)."""

    def _write_block(self, last: bool = False) -> None:
        if self._byteids:
            super()._write_block(last)
            return
        if not self._blockcount:
            self._postfile.write(WHOOSH3_HEADER_MAGIC)
        self._terminfo.add_block(self)
        fixedsize = self._format.fixed_value_size()
        data, comp = block_data(
            self._ids, self._weights, self._values, fixedsize, self._compression
        )
        head = block_head(
            len(self._ids), self._ids[-1], self._maxweight, comp, self._minlength, self._maxlength
        )
        size = len(head) + len(data)
        self._postfile.write_int(-size if last else size)
        self._postfile.write(head)
        self._postfile.write(data)
        self._blockcount += 1
        self._new_block()
