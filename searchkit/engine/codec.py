"""Whoosh's ``whoosh3`` codec with posting blocks that are quick to read back.

Whoosh pickles each block of postings (delta-coded ids, weights, and every posting's
encoded positions) with pickle protocol 2. Under Python 3 that protocol writes every
``bytes`` object as a call to ``_codecs.encode`` on a latin-1 string, so reading a
block back makes one such call per posting: on a large index that unpickling, not the
scoring, was most of a query's time. Here a block holds

* the id deltas as one :class:`DeltaIds` (the first id, then the steps in the
  narrowest of ``array('B')``, ``array('H')``, ``array('I')`` that holds them), the
  weights as one array (``array('B')`` or ``array('H')`` when they are whole numbers,
  as term frequencies are, else ``array('f')``; Whoosh's ``None`` / single float when
  they are all the same),
* the values as one :class:`Lz4Values`: each value's length and their bytes joined,
  compressed together as one LZ4 block (:class:`PackedValues` when the codec
  compresses nothing; :class:`DeflatedValues`, a zlib stream, in segments written
  before LZ4, which are read as they are),

pickled with protocol 5, in blocks of :data:`BLOCK_LIMIT` postings instead of 128.
Such a block is not compressed as a whole: a query reading a common word's documents
and frequencies unpickles a few arrays and decompresses nothing; the positions (four
fifths of a block's bytes as Whoosh's format pickles each posting's list, in indexes of
format 7 and before; 16-bit numbers from format 8 on,
:mod:`~searchkit.engine.compact_positions`) are decompressed only when a phrase or
proximity needs them. On a 1,000,000-record index, inflating whole blocks was a fifth
of a query's CPU (BENCHMARKS.md, "Eighth pass").
A reader unpickles a handful of objects per block instead of a few hundred: the
common word "cell" of a 200,000-record index took 1.72 MB and 53 ms to decode in
Whoosh's blocks, 0.81 MB and 11 ms in these. Blocks of fewer than :data:`PACK_MIN`
postings (most terms are rare) keep Whoosh's tuples, in protocol 5, and are stored
uncompressed when zlib would not make them smaller.

The segments stay Whoosh segments: Whoosh's own reader and matchers read them (its
``W3LeafMatcher`` delta-decodes any sequence of ids and indexes the values), so
searching, merging and ``optimize`` work unchanged; segments written before this codec
are read as they are. The codec object is pickled into the index's table of contents,
so this module's names are part of the on-disk format: do not rename them.
"""

from __future__ import annotations

import pickle
import sys
from array import array
from collections.abc import Iterator, Sequence
from itertools import accumulate, pairwise
from typing import Any, SupportsIndex, overload

import lz4.block as lz4_block
import numpy as np
from numpy.typing import NDArray
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3Codec, W3PostingsWriter
from whoosh.columns import CompressedBytesColumn
from whoosh.util.numeric import length_to_byte

from searchkit.crc import crc32
from searchkit.engine.blockzlib import deflate, inflate

#: Postings per block (Whoosh's default is 128). Larger blocks mean fewer Python
#: steps per posting read; nothing here skips inside a posting list by blocks, and
#: positions are compressed apart from the numbers. On a 1,000,000-record index,
#: 4,096 took query p50 -13% against 1,024, and 16,384 another -10% (BENCHMARKS.md,
#: "Eighth pass").
BLOCK_LIMIT = 16384
#: Pickle protocol of a block's data: 4 and later write bytes and arrays natively.
BLOCK_PROTOCOL = 5
#: Blocks of at least this many postings hold :class:`DeltaIds`, arrays and
#: :class:`Lz4Values`.
PACK_MIN = 128
#: Whoosh's default zlib level for blocks (those of fewer than :data:`PACK_MIN`
#: postings, compressed whole as Whoosh's reader expects; 0: the large blocks' values
#: are not compressed either).
COMPRESSION = 3
#: Block pickles shorter than this are stored as they are (the block's header says
#: so: every reader, Whoosh's too, decompresses only blocks written compressed). Below
#: 48 bytes zlib never made one smaller (its header and checksum take 6 bytes); from 48
#: to 127 bytes (blocks of a few postings) it saved a third of their bytes, 2% of an
#: index, for a zlib call each (~9 us, mostly setting up its 256 KB state): 3.5% of an
#: ingest's CPU (BENCHMARKS.md).
ZLIB_MIN = 128


class PackedValues(Sequence[bytes]):
    """A block's posting values (encoded positions) as one ``bytes`` and the end offset
    of each value: a sequence of ``bytes`` to Whoosh's matcher, two objects to pickle."""

    __slots__ = ("blob", "ends")

    def __init__(self, blob: bytes, ends: array[int]) -> None:
        self.blob = blob
        self.ends = ends

    @classmethod
    def of(cls, values: Sequence[bytes]) -> PackedValues:
        if isinstance(values, PackedValues):
            return values
        if isinstance(values, CompressedValues):
            return values.inflated()
        return cls(b"".join(values), array("I", accumulate(map(len, values))))

    @classmethod
    def joined(cls, parts: Sequence[Sequence[bytes]]) -> PackedValues:
        """The values of ``parts`` one after another (each a :class:`PackedValues`
        or a sequence of ``bytes``), without a ``bytes`` object per value."""
        packed = [cls.of(part) for part in parts]
        if len(packed) == 1:
            return packed[0]
        ends = [_ends(p) for p in packed]
        bases = np.cumsum([0] + [len(p.blob) for p in packed[:-1]])
        return cls(
            b"".join(p.blob for p in packed),
            _as_ends(np.concatenate([e + base for e, base in zip(ends, bases, strict=True)])),
        )

    def part(self, start: int, end: int) -> PackedValues:
        """Values ``start`` to ``end`` (excluded), as a :class:`PackedValues`."""
        ends = self.ends
        low = ends[start - 1] if start else 0
        high = ends[end - 1] if end > start else low
        return PackedValues(self.blob[low:high], _as_ends(_ends(self)[start:end] - low))

    def kept(self, keep: NDArray[np.bool_]) -> PackedValues:
        """The values where ``keep`` (one flag per value) is true."""
        ends = _ends(self)
        lengths = np.diff(ends, prepend=0)
        chosen = np.frombuffer(self.blob, dtype=np.uint8)[np.repeat(keep, lengths)]
        return PackedValues(chosen.tobytes(), _as_ends(np.cumsum(lengths[keep])))

    def has_empty(self) -> bool:
        """Whether some value is ``b""``."""
        return bool(len(self.ends)) and bool(np.any(np.diff(_ends(self), prepend=0) == 0))

    def __len__(self) -> int:
        return len(self.ends)

    @overload
    def __getitem__(self, index: SupportsIndex) -> bytes: ...

    @overload
    def __getitem__(self, index: slice) -> list[bytes]: ...

    def __getitem__(self, index: SupportsIndex | slice) -> bytes | list[bytes]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        i = index.__index__()
        if i < 0:
            i += len(self.ends)
        if not 0 <= i < len(self.ends):
            raise IndexError("value index out of range")
        return self.blob[self.ends[i - 1] if i else 0 : self.ends[i]]

    def __iter__(self) -> Iterator[bytes]:
        start = 0
        blob = self.blob
        for end in self.ends:
            yield blob[start:end]
            start = end

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PackedValues):
            return self.blob == other.blob and self.ends == other.ends
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.blob, self.ends.tobytes()))

    def __reduce__(self) -> tuple[Any, ...]:
        return (PackedValues, (self.blob, self.ends))

    def __repr__(self) -> str:
        return f"PackedValues({len(self)} values, {len(self.blob)} bytes)"


def _ends(values: PackedValues) -> NDArray[np.int64]:
    """The end offsets of ``values`` as a numpy array."""
    return _numbers(values.ends)


def _numbers(stored: array[int]) -> NDArray[np.int64]:
    """An array of unsigned numbers (any width) as int64."""
    return np.frombuffer(stored, dtype=f"=u{stored.itemsize}").astype(np.int64)


def _as_ends(offsets: NDArray[np.int64]) -> array[int]:
    """End offsets as the ``array('I')`` a :class:`PackedValues` holds."""
    ends: array[int] = array("I")
    if len(offsets) and int(offsets[-1]) >= 1 << (8 * ends.itemsize):
        raise OverflowError("posting values too long for one block")
    ends.frombytes(offsets.astype(f"=u{ends.itemsize}").tobytes())
    return ends


def narrow(numbers: NDArray[np.int64]) -> array[int]:
    """Non-negative whole ``numbers`` in the narrowest of ``array('B')``,
    ``array('H')`` and ``array('I')`` that holds the largest."""
    top = int(numbers.max()) if len(numbers) else 0
    if top >= 1 << 32:
        raise OverflowError("a posting number does not fit in 32 bits")
    out: array[int] = array("B" if top < 1 << 8 else "H" if top < 1 << 16 else "I")
    out.frombytes(numbers.astype(f"=u{out.itemsize}").tobytes())
    return out


class DeltaIds(Sequence[int]):
    """A block's delta-coded document numbers, as Whoosh's matcher reads them (the
    first number, then each one's step from the one before), the steps in the
    narrowest array that holds them: one byte each for a common word, where
    ``array('I')`` took four. These blocks are not compressed as a whole, so zlib's
    checksum no longer covers their numbers and weights: ``check`` is the CRC-32 of
    both (little-endian), and :meth:`verify` compares it before they are used, so that
    a flipped bit is reported as damage rather than read as another document or
    frequency."""

    __slots__ = ("check", "first", "steps")

    def __init__(self, first: int, steps: array[int], check: int = 0) -> None:
        self.first = first
        self.steps = steps
        self.check = check

    @classmethod
    def of(cls, ids: Sequence[int], weights: Any = None) -> DeltaIds:
        """The deltas of ``ids`` (ascending, at least one), checked with the block's
        stored ``weights`` (an array, or ``None`` / a float when all are the same)."""
        numbers = np.asarray(ids, dtype=np.int64)
        found = cls(int(numbers[0]), narrow(np.diff(numbers)))
        found.check = found._crc(weights)
        return found

    def _crc(self, weights: Any) -> int:
        value = crc32(self.first.to_bytes(4, "little"))
        value = crc32(_little_bytes(self.steps), value)
        if isinstance(weights, array):
            value = crc32(_little_bytes(weights), value)
        return value

    def verify(self, weights: Any) -> None:
        """Raise ``ValueError`` unless the numbers and ``weights`` are those written."""
        if self._crc(weights) != self.check:
            raise ValueError("a posting block's numbers or weights are damaged")

    def numbers(self) -> NDArray[np.int64]:
        """The document numbers (the deltas summed)."""
        out = np.empty(len(self.steps) + 1, dtype=np.int64)
        self.numbers_into(out)
        return out

    def numbers_into(self, out: NDArray[np.int64], base: int = 0) -> None:
        """Write the document numbers, each plus ``base``, into ``out`` (as long as
        this): the first number, the narrow steps widened after it, then summed in
        place (one pass each; ``np.cumsum`` from the narrow type and adding the first
        number after took 1.2-3x as long, most on small blocks)."""
        out[0] = self.first + base
        if len(self.steps):
            out[1:] = np.frombuffer(self.steps, dtype=f"=u{self.steps.itemsize}")
            np.add.accumulate(out, out=out)

    def __len__(self) -> int:
        return len(self.steps) + 1

    @overload
    def __getitem__(self, index: SupportsIndex) -> int: ...

    @overload
    def __getitem__(self, index: slice) -> list[int]: ...

    def __getitem__(self, index: SupportsIndex | slice) -> int | list[int]:
        if isinstance(index, slice):
            return list(self)[index]
        i = index.__index__()
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("delta index out of range")
        return self.first if i == 0 else self.steps[i - 1]

    def __iter__(self) -> Iterator[int]:
        yield self.first
        yield from self.steps

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DeltaIds):
            return self.first == other.first and list(self.steps) == list(other.steps)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.first, tuple(self.steps)))

    def __reduce__(self) -> tuple[Any, ...]:
        return (DeltaIds, (self.first, self.steps, self.check))

    def __repr__(self) -> str:
        return f"DeltaIds({len(self)} ids from {self.first}, {self.steps.typecode!r})"


def check_count(found: int, count: int) -> None:
    """Raise ``ValueError`` unless a block holds the ``count`` postings its header
    says (``found``): a block that disagrees with its header is damaged."""
    if found != count:
        raise ValueError("a posting block holds another number of postings than it says")


def block_numbers_into(stored: Any, weights: Any, out: NDArray[np.int64], base: int = 0) -> None:
    """The document numbers of a block whose ids are stored delta-coded, each plus
    ``base``, written into ``out`` (as long as the block's header counts them): a
    :class:`DeltaIds` (verified with the block's stored ``weights``), an array or a
    tuple of deltas (blocks written before :class:`DeltaIds`, small blocks, Whoosh's
    own)."""
    if isinstance(stored, DeltaIds):
        stored.verify(weights)
        check_count(len(stored), len(out))
        stored.numbers_into(out, base)
        return
    deltas = np.asarray(stored, dtype=np.int64)
    check_count(len(deltas), len(out))
    np.cumsum(deltas, out=out)
    if base:
        out += base


def block_numbers(stored: Any, weights: Any) -> NDArray[np.int64]:
    """:func:`block_numbers_into` a new array."""
    out = np.empty(len(stored), dtype=np.int64)
    block_numbers_into(stored, weights, out)
    return out


class CompressedValues(Sequence[bytes]):
    """A block's posting values, compressed apart from its ids and weights: each
    value's length (in ``width`` bytes, little-endian) followed by the values' bytes
    joined (``size`` of them), compressed together. Reading a block's ids and weights
    then decompresses nothing; :meth:`packed` decompresses the values when they are
    needed. Indexing it (Whoosh's matcher) decompresses them once. Subclasses say how
    (:meth:`_raw`), and pickle themselves."""

    __slots__ = ("_packed", "data", "size", "values", "width")

    def __init__(self, count: int, width: int, size: int, data: bytes) -> None:
        self.values = count  # how many values (not "count": Sequence.count)
        self.width = width
        self.size = size
        self.data = data
        self._packed: PackedValues | None = None

    @staticmethod
    def _layout(values: PackedValues) -> tuple[int, int, bytes]:
        """How many values, the width of their lengths, and the bytes to compress."""
        lengths = narrow(np.diff(_ends(values), prepend=0))
        return len(lengths), lengths.itemsize, _little_bytes(lengths) + values.blob

    def _raw(self) -> bytes:
        """The decompressed bytes; a damaged stream raises ``ValueError`` or
        :class:`zlib.error`."""
        raise NotImplementedError

    def packed(self) -> PackedValues:
        """The values decompressed (kept: indexing and iterating use them)."""
        if self._packed is None:
            self._packed = self.inflated()
        return self._packed

    def inflated(self) -> PackedValues:
        """The values decompressed, not kept (a query's reader keeps what it joins); a
        damaged stream or one whose lengths do not add up raises ``ValueError``."""
        found = self._packed
        if found is not None:
            return found
        raw, lengths = self._decompressed()
        ends = np.cumsum(lengths, dtype=np.int64)
        return PackedValues(raw[self.values * self.width :], _as_ends(ends))

    @property
    def is_packed(self) -> bool:
        """Whether the values are kept decompressed (:meth:`packed`)."""
        return self._packed is not None

    def ends_into(self, out: NDArray[Any], base: int = 0) -> memoryview:
        """Decompress the values (not kept): the end of each, plus ``base``, written
        into ``out`` (as long as the values are many; an integer type that holds
        ``base`` plus their size), and their bytes returned (a view of the decompressed
        stream). What :meth:`inflated` gives without its ``array`` of ends: joining
        the values of many blocks (:meth:`Values.join
        <searchkit.engine.values.Values.join>`) sums each block's lengths straight
        into the joined offsets."""
        raw, lengths = self._decompressed()
        if len(out) != len(lengths):
            raise ValueError("posting values: another count than the block's")
        np.cumsum(lengths, dtype=out.dtype, out=out)
        if base:
            out += base
        return memoryview(raw)[self.values * self.width :]

    def _decompressed(self) -> tuple[bytes, NDArray[Any]]:
        """The decompressed stream and each value's length (a view of its head); a
        stream of another length than the sizes say, or lengths that do not add up to
        ``size``, raise ``ValueError``."""
        raw = self._raw()
        head = self.values * self.width
        if len(raw) != head + self.size:
            raise ValueError("posting values of the wrong length")
        lengths = np.frombuffer(raw, dtype=f"<u{self.width}", count=self.values)
        if self.values and int(lengths.sum(dtype=np.int64)) != self.size:
            raise ValueError("posting value lengths do not add up")
        return raw, lengths

    def __len__(self) -> int:
        return self.values

    @overload
    def __getitem__(self, index: SupportsIndex) -> bytes: ...

    @overload
    def __getitem__(self, index: slice) -> list[bytes]: ...

    def __getitem__(self, index: SupportsIndex | slice) -> bytes | list[bytes]:
        return self.packed()[index]

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.packed())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CompressedValues):
            return self.inflated() == other.inflated()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.inflated())

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}({self.values} values, {self.size} bytes in {len(self.data)})"


class DeflatedValues(CompressedValues):
    """:class:`CompressedValues` as one zlib stream (whose Adler-32 checksum covers
    them): the blocks of indexes written before :class:`Lz4Values`, read as they are."""

    __slots__ = ()

    @classmethod
    def of(cls, values: PackedValues, level: int) -> DeflatedValues:
        """``values`` compressed at zlib ``level``."""
        count, width, raw = cls._layout(values)
        return cls(count, width, len(values.blob), deflate(raw, level))

    def _raw(self) -> bytes:
        return inflate(self.data)  # a damaged stream raises zlib.error

    def __reduce__(self) -> tuple[Any, ...]:
        return (DeflatedValues, (self.values, self.width, self.size, self.data))


#: The most bytes one byte of an LZ4 block can stand for (a match length goes on in
#: bytes of 255 each).
LZ4_MAX_RATIO = 255


class Lz4Values(CompressedValues):
    """:class:`CompressedValues` as one LZ4 block and the CRC-32 of its bytes (an LZ4
    block has no checksum of its own: ``check`` is compared before it is read, so that
    a flipped bit is reported as damage rather than read as other positions).

    LZ4 because a phrase of common words decompresses megabytes of positions per query:
    on the values of 300 blocks of a 1,000,000-record index's common words (65.7 MB),
    LZ4 decompressed them in 23 ms where ISA-L inflated the zlib streams in 85 ms, and
    compressed them in 125 ms where ISA-L's level 3 took 209 ms; its blocks are 1.5
    times zlib's bytes (23.7 against 15.9 MB; BENCHMARKS.md, "Thirteenth pass")."""

    __slots__ = ("check",)

    def __init__(self, count: int, width: int, size: int, data: bytes, check: int) -> None:
        super().__init__(count, width, size, data)
        self.check = check

    @classmethod
    def of(cls, values: PackedValues) -> Lz4Values:
        """``values`` compressed."""
        count, width, raw = cls._layout(values)
        data = lz4_block.compress(raw, store_size=False)
        return cls(count, width, len(values.blob), data, crc32(data))

    def _raw(self) -> bytes:
        # The sizes say how much to allocate: a block claiming more than LZ4 can
        # expand to is refused before anything is allocated (index files are untrusted).
        expected = self.values * self.width + self.size
        if min(self.values, self.size) < 0 or expected > LZ4_MAX_RATIO * len(self.data) + 16:
            raise ValueError("damaged posting values (impossible sizes)")
        if crc32(self.data) != self.check:
            raise ValueError("damaged posting values (their checksum differs)")
        try:
            return lz4_block.decompress(self.data, uncompressed_size=expected)
        except lz4_block.LZ4BlockError as exc:
            raise ValueError(f"damaged posting values ({exc})") from None

    def __reduce__(self) -> tuple[Any, ...]:
        return (Lz4Values, (self.values, self.width, self.size, self.data, self.check))


def _little_bytes(numbers: array[Any]) -> bytes:
    """An array's bytes little-endian (the same on every machine)."""
    if numbers.itemsize == 1 or sys.byteorder == "little":
        return numbers.tobytes()
    swapped = array(numbers.typecode, numbers)
    swapped.byteswap()
    return swapped.tobytes()


def block_data(
    ids: Sequence[int],
    weights: Sequence[float],
    values: Sequence[bytes],
    fixedsize: int | None,
    compression: int,
) -> tuple[bytes, int]:
    """One block's data as written after its head: the pickled (ids, weights, values),
    ids delta-coded, weights and values minified as Whoosh's reader expects them; and
    the compression level of the whole block (0 when it is not compressed as a whole).

    Blocks of at least :data:`PACK_MIN` postings hold :class:`DeltaIds`, narrow
    arrays and :class:`Lz4Values` (compressed on their own: the block is not);
    smaller ones tuples, like Whoosh's (an array or a class costs its pickled name,
    about 100 bytes a block, and most terms are rare), the block compressed when zlib
    makes it smaller."""
    count = len(ids)
    packed = count >= PACK_MIN
    deltas: Sequence[int]
    mini = _mini_weights(weights, packed)
    if packed:
        deltas = DeltaIds.of(ids, mini)
    else:
        deltas = (ids[0], *(b - a for a, b in pairwise(ids))) if count else ()
    data = pickle.dumps(
        (deltas, mini, _mini_values(values, fixedsize, packed, compression)), BLOCK_PROTOCOL
    )
    return (data, 0) if packed else compressed(data, compression)


def compressed(data: bytes, compression: int) -> tuple[bytes, int]:
    """A whole block's pickled ``data`` deflated at level ``compression`` when that
    makes it smaller (and it is at least :data:`ZLIB_MIN` bytes), with the level used
    (0: stored as it is)."""
    if compression and len(data) >= ZLIB_MIN:
        smaller = deflate(data, compression)
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


def _mini_weights(weights: Sequence[float], packed: bool) -> Any:
    """``None`` when every weight is 1, one float when all are equal, else an array
    (``packed``: of bytes or 16-bit numbers when they are whole numbers) or a tuple of
    (single-precision) floats."""
    floats = weights if isinstance(weights, array) else array("f", weights)
    first = floats[0]
    if floats.count(first) == len(floats):
        return None if first == 1.0 else first
    if not packed:
        return tuple(floats)
    numbers = np.frombuffer(floats, dtype=f"=f{floats.itemsize}")
    if bool(np.all(numbers >= 0)) and bool(np.all(numbers < 1 << 16)):  # NaN is neither
        whole = numbers.astype(np.int64)
        if bool(np.all(whole == numbers)):
            return narrow(whole)
    return floats


def _mini_values(
    values: Sequence[bytes], fixedsize: int | None, packed: bool, compression: int = 0
) -> Any:
    if fixedsize is None or fixedsize < 0:
        if not packed:
            return tuple(values)
        joined = PackedValues.of(values)
        return Lz4Values.of(joined) if compression else joined
    if fixedsize == 0:
        return None
    return b"".join(values)


class SearchkitCodec(W3Codec):  # type: ignore[misc]
    """``W3Codec`` whose postings writer writes :func:`block_data` blocks of
    :data:`BLOCK_LIMIT` postings."""

    def __init__(
        self, blocklimit: int | None = None, compression: int = COMPRESSION, inlinelimit: int = 1
    ) -> None:
        super().__init__(
            blocklimit=BLOCK_LIMIT if blocklimit is None else blocklimit,
            compression=compression,
            inlinelimit=inlinelimit,
        )

    def per_document_writer(self, storage: Any, segment: Any) -> Any:
        """Whoosh's per-document writer, each document's stored fields (the pickled
        dict of the record's JSON, PMID, title, abstract and year) compressed by
        :func:`deflate` (ISA-L), not :func:`zlib.compress`."""
        writer = super().per_document_writer(storage, segment)
        stored_by_deflate(writer)
        return writer

    def postings_writer(self, dbfile: Any, byteids: bool = False) -> W3PostingsWriter:
        return PackedPostingsWriter(
            dbfile,
            blocklimit=self._blocklimit,
            byteids=byteids,
            compression=self._compression,
            inlinelimit=self._inlinelimit,
        )


def stored_by_deflate(perdoc: Any) -> None:
    """Make ``perdoc`` (a ``W3PerDocWriter``) compress each document's stored fields
    with :func:`deflate` at the column's level (Whoosh's 3): ISA-L's level 3, on the
    scale run's records 2.2x as fast as zlib's and 2% smaller (BENCHMARKS.md, Scale ->
    twenty-seventh pass). The column stays a zlib one: Whoosh's reader inflates it
    with :mod:`zlib`, and an index written before reads as it did."""
    column = perdoc._get_column("_stored")
    child = getattr(column, "_child", None)
    if child is not None and type(child) is CompressedBytesColumn.Writer:
        child._compress = deflate


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
