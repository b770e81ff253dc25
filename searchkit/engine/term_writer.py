"""A segment's postings written a term at a time into Whoosh's files.

Whoosh's field writer takes one posting at a time (``W3PostingsWriter.add_posting``:
type checks and statistics per posting) and asks the file for its offset at each
term. :func:`write_postings` takes term groups in (field, term) order (from the term
store, :mod:`searchkit.engine.bulkpostings`, or from merged segments,
:mod:`searchkit.engine.merging`) and writes each term's blocks
(:mod:`searchkit.engine.codec`) and term entry in one pass: the bytes
:class:`~searchkit.engine.codec.PackedPostingsWriter` writes for the same postings
(tests compare the files), read by Whoosh's own reader. Its hash buckets hold 16
bytes a term (:class:`HashBucket`).
"""

from __future__ import annotations

import pickle
import struct
from array import array
from collections.abc import Iterable, Iterator, Sequence
from hashlib import md5
from operator import sub
from typing import Any

import numpy as np
from numpy.typing import NDArray
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC, W3TermInfo
from whoosh.filedb.filetables import md5_hash
from whoosh.system import pack_int, pack_ushort
from whoosh.util.numeric import byte_to_length, length_to_byte

from searchkit.engine.blockzlib import deflate
from searchkit.engine.bulkpostings import TermGroup
from searchkit.engine.codec import (
    BLOCK_PROTOCOL,
    PACK_MIN,
    ZLIB_MIN,
    PackedPostingsWriter,
    PackedValues,
    block_data,
    block_head,
)

# The two lengths before each key and value in Whoosh's hash file (filetables._lengths).
_TERM_LENGTHS = struct.Struct("!ii")
#: ``W3TermInfo.to_bytes`` of a term whose postings are not inlined: its struct
#: (flags, weight, doc frequency, min and max length codes, max weight, first and last
#: id) followed by ``pack_long(offset)`` and ``pack_int(length)``, in one struct.
_TERM_INFO = struct.Struct("!BfIBBfIIqi")
_WRITE_CHUNK = 256 * 1024  # bytes of postings or terms written at once
#: ``length_to_byte(n)`` for the field lengths most documents have (a bisection each).
_LENGTH_CODES = [length_to_byte(n) for n in range(4_096)]


def write_postings(
    fieldwriter: Any, schema: Any, lengths: Any, groups: Iterable[TermGroup]
) -> None:
    """Write term groups in (field, term) order with Whoosh's field writer: what its
    ``add_postings`` writes for the same postings, a term at a time."""
    lastfield: str | None = None
    field_lengths: list[int] = []
    writer: _TermWriter | None = None
    for fieldname, tbytes, docs, weights, values in groups:
        if fieldname != lastfield:
            if lastfield is not None:
                assert writer is not None
                writer.flush()
                fieldwriter.finish_field()
            fieldobj = schema[fieldname]
            fieldwriter.start_field(fieldname, fieldobj)
            lastfield = fieldname
            field_lengths = _field_lengths(lengths, fieldname)
            writer = _TermWriter(fieldwriter, fieldobj.format)
        assert writer is not None
        writer.write(tbytes, docs, weights, values, field_lengths)
    if lastfield is not None:
        assert writer is not None
        writer.flush()
        fieldwriter.finish_field()


def _field_lengths(lengths: Any, fieldname: str) -> list[int]:
    if not lengths:
        return []
    found = column_lengths(lengths, fieldname)
    if found is not None:
        return found
    read = lengths.doc_field_length
    return [read(d, fieldname, 0) for d in range(lengths.doc_count_all())]


#: Whoosh's one-byte field length code -> the length it stands for.
_LENGTH_OF_CODE = [byte_to_length(code) for code in range(256)]


def column_lengths(perdoc: Any, fieldname: str) -> list[int] | None:
    """Every document's length in ``fieldname`` (0 where it has none) as
    ``perdoc.doc_field_length`` gives them (a per-document reader of Whoosh's codec),
    its lengths column read with one read instead of one call per document; ``None``
    when the column cannot be read so."""
    cached = getattr(perdoc, "_cached_reader", None)
    if cached is None:
        return None
    count = perdoc.doc_count_all()
    column = cached(f"_{fieldname}_len", LENGTHS_COLUMN)
    if column is None:
        return [0] * count
    if not all(hasattr(column, a) for a in ("_dbfile", "_basepos", "_count")):
        return None
    codes = bytes(column._dbfile.get(column._basepos, column._count))[:count]
    lengths = [_LENGTH_OF_CODE[code] for code in codes]
    lengths.extend([0] * (count - len(lengths)))
    return lengths


class _TermWriter:
    """Writes one field's terms as ``W3FieldWriter.start_term``, ``add`` per posting
    and ``finish_term`` would (``W3PostingsWriter``'s blocks and ``W3TermInfo``), but
    a term at a time: its blocks are built in one pass and written with one call, and
    the file offset is counted instead of asked for (a system call per term)."""

    def __init__(self, fieldwriter: Any, fmt: Any) -> None:
        postwriter = fieldwriter._postwriter
        # Inlined posting lists (inlinelimit > 1) and byte ids are not used by
        # searchkit's codec, and other codecs write other blocks: left to the codec.
        self._generic = (
            not isinstance(postwriter, PackedPostingsWriter)
            or postwriter._inlinelimit > 1
            or postwriter._byteids
        )
        self._fieldwriter = fieldwriter
        self._postfile = fieldwriter._postfile
        self._tindex = fieldwriter._tindex
        self._fieldid = pack_ushort(fieldwriter._fieldid)
        self._limit = postwriter._blocklimit
        self._compression = postwriter._compression
        self._fixedsize = fmt.fixed_value_size()
        # The field lengths as an array (:meth:`_length_ranges`), and the list they are.
        self._lengths_of: list[int] | None = None
        self._lengths: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._offset = self._postfile.tell()
        self._terms_file = self._tindex.dbfile
        self._terms_offset = self._terms_file.tell()
        # The files' own write methods (StructFile.write only passes the call on).
        self._write_postings = self._postfile.raw_file().write
        self._write_terms = self._terms_file.raw_file().write
        # What is written, kept until _WRITE_CHUNK bytes (the files' write method is a
        # Python call of Whoosh's compound file, twice per term).
        self._postings: list[bytes] = []
        self._postings_size = 0
        self._terms: list[bytes] = []
        self._terms_size = 0
        self._index_append = self._tindex.index.append
        self._buckets = packed_buckets(self._tindex)
        hashfn = self._tindex.hashfn
        self._hash = _md5_low32 if hashfn is md5_hash else hashfn

    def write(
        self,
        tbytes: bytes,
        docs: Sequence[int],
        weights: Sequence[float],
        values: Sequence[bytes],
        lengths: list[int],
    ) -> None:
        if self._generic:
            self._fieldwriter.start_term(tbytes)
            _fill_blocks(self._fieldwriter._postwriter, docs, weights, values, lengths)
            self._fieldwriter.finish_term()
            self._offset = self._postfile.tell()
            return
        count = len(docs)
        if count < PACK_MIN and count <= self._limit:
            blob, info = self._small_block(docs, weights, values, lengths, count)
        else:
            blob, info = self._blocks(docs, weights, values, lengths, count)
        self._postings.append(blob)
        self._postings_size += len(blob)
        if self._postings_size >= _WRITE_CHUNK:
            self.flush()
        self._offset += len(blob)
        self._add_term(self._fieldid + tbytes, info)

    def flush(self) -> None:
        """Write what is kept (before the field writer writes anything else)."""
        if self._postings:
            self._write_postings(b"".join(self._postings))
            self._postings = []
            self._postings_size = 0
        if self._terms:
            self._write_terms(b"".join(self._terms))
            self._terms = []
            self._terms_size = 0

    def _small_block(
        self,
        docs: Sequence[int],
        weights: Sequence[float],
        values: Sequence[bytes],
        lengths: list[int],
        count: int,
    ) -> tuple[bytes, bytes]:
        """The postings and term info bytes of a term of one block of fewer than
        ``PACK_MIN`` postings (most terms): what :meth:`_blocks` writes for it (tests
        compare them), :func:`block_data`'s and :func:`block_head`'s steps inlined."""
        known = len(lengths)
        floats = array("f", weights)
        last = docs[-1]
        if count == 1:  # most terms occur in one document
            n = lengths[last] if last < known else 0
            minlength = n or None
            maxlength = n
            top = weights[0]
            deltas: tuple[int, ...] = (last,)
            first = floats[0]
            # _mini_weights: NaN never counts as equal to itself
            mini: Any = (None if first == 1.0 else first) if first == first else (first,)
            value = values[0]
            block_values: tuple[bytes, ...] = (value,) if value else ()
        else:
            minlength, maxlength = _length_range(lengths, docs)
            top = max(weights)
            deltas = (docs[0], *map(sub, docs[1:], docs))
            first = floats[0]
            mini = (
                (None if first == 1.0 else first) if floats.count(first) == count else tuple(floats)
            )
            block_values = tuple(values) if all(values) else tuple(v for v in values if v)
        maxweight = top if top > 0 else 0
        fixedsize = self._fixedsize  # _mini_values
        if fixedsize is None or fixedsize < 0:
            stored: Any = block_values
        else:
            stored = b"".join(block_values) if fixedsize else None
        data = pickle.dumps((deltas, mini, stored), BLOCK_PROTOCOL)
        comp = self._compression
        if comp and len(data) >= ZLIB_MIN:
            smaller = deflate(data, comp)
            if len(smaller) < len(data):
                data = smaller
            else:
                comp = 0
        else:
            comp = 0
        codes = _LENGTH_CODES
        mincode = (
            0
            if minlength is None
            else codes[minlength]
            if minlength < len(codes)
            else length_to_byte(minlength)
        )
        maxcode = codes[maxlength] if maxlength < len(codes) else length_to_byte(maxlength)
        head = pickle.dumps((count, last, maxweight, comp, mincode, maxcode), 2)
        size = len(head) + len(data)
        blob = b"".join((WHOOSH3_HEADER_MAGIC, pack_int(-size), head, data))
        info = _TERM_INFO.pack(
            0, 0 + sum(floats), count, mincode, maxcode, maxweight, docs[0], last,
            self._offset, len(blob),
        )  # fmt: skip
        return blob, info

    def _blocks(
        self,
        docs: Sequence[int],
        weights: Sequence[float],
        values: Sequence[bytes],
        lengths: list[int],
        count: int,
    ) -> tuple[bytes, bytes]:
        """The postings and term info bytes of any term: its blocks built as
        ``W3PostingsWriter`` builds them, :class:`W3TermInfo` as ``add_block`` sums it."""
        info = W3TermInfo()
        parts = [WHOOSH3_HEADER_MAGIC]
        limit = self._limit
        comp = self._compression
        packed = isinstance(values, PackedValues) and not values.has_empty()
        if isinstance(values, PackedValues) and not packed:
            values = list(values)
        ranges = self._length_ranges(lengths, docs, limit) if count >= PACK_MIN else None
        for start in range(0, count, limit):
            end = min(start + limit, count)
            ids = docs[start:end]
            block_weights = array("f", weights[start:end])
            minlength, maxlength = (
                _length_range(lengths, ids) if ranges is None else ranges[start // limit]
            )
            top = max(weights[start:end])
            maxweight = top if top > 0 else 0
            # W3TermInfo.add_block
            info._weight += sum(block_weights)
            info._df += len(ids)
            if info._minlength is None:
                info._minlength = minlength
            else:
                info._minlength = min(info._minlength, minlength)
            info._maxlength = max(info._maxlength, maxlength)
            info._maxweight = max(info._maxweight, maxweight)
            if info._minid is None:
                info._minid = ids[0]
            info._maxid = ids[-1]
            # PackedPostingsWriter._write_block
            if packed:
                assert isinstance(values, PackedValues)
                block_values: Sequence[bytes] = values.part(start, end)
            else:
                block_values = values[start:end]
            if not packed and not all(block_values):
                block_values = [v for v in block_values if v]  # as add_posting keeps them
            data, used = block_data(ids, block_weights, block_values, self._fixedsize, comp)
            head = block_head(len(ids), ids[-1], maxweight, used, minlength, maxlength)
            size = len(head) + len(data)
            parts += (pack_int(-size if end == count else size), head, data)
        blob = b"".join(parts)
        info.set_extent(self._offset, len(blob))
        return blob, info.to_bytes()

    def _length_ranges(
        self, lengths: list[int], docs: Sequence[int], limit: int
    ) -> list[tuple[int | None, int]]:
        """:func:`_length_range` of each block of ``limit`` of ``docs``, in arrays."""
        if self._lengths_of is not lengths:  # one field's lengths, for all its terms
            self._lengths_of = lengths
            self._lengths = np.asarray(lengths, dtype=np.int64)
        known = self._lengths
        numbers = np.asarray(docs, dtype=np.int64)
        inside = numbers < len(known)  # documents beyond the lengths have none (0)
        found = np.zeros(len(numbers), dtype=np.int64)
        found[inside] = known[numbers[inside]]
        ranges: list[tuple[int | None, int]] = []
        for start in range(0, len(found), limit):
            block = found[start : start + limit]
            nonzero = block[block > 0]
            ranges.append((int(nonzero.min()), int(nonzero.max())) if len(nonzero) else (None, 0))
        return ranges

    def _add_term(self, key: bytes, value: bytes) -> None:
        """``OrderedHashWriter.add``, with the terms file's offset counted instead of
        asked for (twice per term, each a system call)."""
        tindex = self._tindex
        if key <= tindex.lastkey:
            raise ValueError(f"keys must increase: {tindex.lastkey!r}..{key!r}")
        pos = self._terms_offset
        self._index_append(pos)
        entry = _TERM_LENGTHS.pack(len(key), len(value)) + key + value
        self._terms.append(entry)
        self._terms_size += len(entry)
        if self._terms_size >= _WRITE_CHUNK:
            self.flush()
        self._terms_offset = pos + len(entry)
        h = self._hash(key)
        self._buckets[h & 255].append((h, pos))
        tindex.lastkey = key


class HashBucket:
    """One of a terms file's 256 hash buckets, as Whoosh's ``HashWriter`` fills them
    (``append((hash, position))``, ``len``, iterated as pairs in the order added) but
    held in one array of 64-bit numbers: 16 bytes a term instead of a tuple of two
    ints (~120 bytes). A segment's writer keeps every term's pair until it writes the
    hash tables: ~3 million terms, ~360 MB as tuples, when merging 1,000,000 records."""

    __slots__ = ("_pairs",)

    def __init__(self, pairs: Iterable[tuple[int, int]] = ()) -> None:
        self._pairs: array[int] = array("Q")
        for pair in pairs:
            self._pairs.extend(pair)

    def append(self, pair: tuple[int, int]) -> None:
        self._pairs.extend(pair)

    def __len__(self) -> int:
        return len(self._pairs) // 2

    def __iter__(self) -> Iterator[tuple[int, int]]:
        numbers = iter(self._pairs)
        return zip(numbers, numbers, strict=True)


def packed_buckets(tindex: Any) -> list[HashBucket]:
    """The hash buckets of ``tindex`` (a Whoosh ``HashWriter``) as :class:`HashBucket`
    s, put in place of its lists (the pairs already added kept, in order): what
    ``HashWriter._write_hashes`` writes is the same."""
    buckets = tindex.buckets
    if not all(isinstance(b, HashBucket) for b in buckets):
        buckets = tindex.buckets = [HashBucket(b) for b in buckets]
    return buckets


def _length_range(lengths: list[int], docs: Sequence[int]) -> tuple[int | None, int]:
    """The smallest and largest length other than 0 of the documents ``docs`` (of
    ``lengths``; 0 beyond them): ``(None, 0)`` when all are 0, as Whoosh's postings
    writer keeps them."""
    if max(docs) < len(lengths):
        found = [lengths[d] for d in docs]
    else:
        found = [lengths[d] if d < len(lengths) else 0 for d in docs]
    nonzero = list(filter(None, found))
    return (min(nonzero), max(nonzero)) if nonzero else (None, 0)


def _md5_low32(key: bytes) -> int:
    """Whoosh's ``md5_hash`` (the low 32 bits of the key's MD5, from its hex digest),
    from the digest's last four bytes."""
    return int.from_bytes(md5(key, usedforsecurity=False).digest()[12:], "big")


def _fill_blocks(
    postwriter: Any,
    docs: Sequence[int],
    weights: Sequence[float],
    values: Sequence[bytes],
    lengths: list[int],
) -> None:
    """Fill the postings writer's block buffer a block at a time, as its
    ``add_posting`` would; every full block but the last is written here, the last by
    ``finish_postings`` (as Whoosh does)."""
    limit = postwriter._blocklimit
    count = len(docs)
    known = len(lengths)
    for start in range(0, count, limit):
        end = min(start + limit, count)
        ids = array("I", docs[start:end])
        block_weights = weights[start:end]
        block_values = values[start:end]
        if not all(block_values):
            block_values = [v for v in block_values if v]
        nonzero = [n for n in (lengths[d] if d < known else 0 for d in ids) if n]
        top = max(block_weights)
        postwriter._ids = ids
        postwriter._weights = array("f", block_weights)
        postwriter._values = block_values
        postwriter._minlength = min(nonzero) if nonzero else None
        postwriter._maxlength = max(nonzero) if nonzero else 0
        postwriter._maxweight = top if top > 0 else 0
        if end < count:
            postwriter._write_block()


__all__ = ["HashBucket", "column_lengths", "packed_buckets", "write_postings"]
