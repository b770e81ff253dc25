"""Writing a segment's postings term by term instead of posting by posting.

Whoosh's writer puts every posting through its pool as a tuple (sorted, spilled to disk
and heap-merged one by one), then through ``W3PostingsWriter.add_posting`` (type checks
and statistics per posting). The fast path already has each document's postings grouped
by term, so :class:`TermStore` keeps them grouped by field and term (document numbers
and weights in arrays), spilling sorted runs of whole terms to disk when its budget is
used, and :func:`write_postings` writes each term's blocks (:mod:`searchkit.engine.codec`) in
one pass: the bytes :class:`~searchkit.engine.codec.PackedPostingsWriter` writes for the same
postings (tests compare the files), read by Whoosh's own reader.
"""

from __future__ import annotations

import heapq
import pickle
import random
import string
import struct
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from hashlib import md5
from itertools import groupby, pairwise
from operator import itemgetter
from typing import Any

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC, W3TermInfo
from whoosh.filedb.filetables import md5_hash
from whoosh.system import pack_int, pack_ushort
from whoosh.util.numeric import byte_to_length, length_to_byte

from searchkit.engine.codec import (
    BLOCK_PROTOCOL,
    PACK_MIN,
    ZLIB_MIN,
    PackedPostingsWriter,
    block_data,
    block_head,
)

#: One term's postings: (field name, term, document numbers, weights, values).
TermGroup = tuple[str, bytes, Sequence[int], Sequence[float], list[bytes]]
#: A posting as Whoosh's pool holds it: (field name, term, docnum, weight, value).
PoolPosting = tuple[str, bytes, int, float, bytes | None]

# Memory accounting (CPython 3.11, measured): a posting takes 20 bytes in its term's
# arrays and list, plus its value, unless that is shared (one-position values are);
# a term's entry (key, two arrays, a list, a tuple, a dict slot) about 300 bytes.
_POSTING_BYTES = 20
_VALUE_BYTES = 33  # a bytes object's own size besides its data
_TERM_BYTES = 300
_RUN_TERMS = 4_096  # terms per pickled chunk of a spilled run
# Values up to this long are one position below 65,536 (Positions.encode: 4 bytes of
# count, a 10-11 byte pickle): few distinct ones, each repeated in many postings.
_SHARED_VALUE_LEN = 15
_SINGLE_LIMIT = 100_000  # positions whose one-position value is kept
#: ``encode([pos])`` by position. Every fast field is of Whoosh's Positions format,
#: whose encoding depends on nothing but the positions: one value serves them all.
ONE_POSITION_VALUES: dict[int, bytes] = {}


def one_position_value(pos: int, encode: Callable[[list[int]], bytes]) -> bytes:
    """The encoded value of a term that occurs once, at ``pos`` (made once per
    position: most terms occur once in a field)."""
    value = ONE_POSITION_VALUES.get(pos)
    if value is None:
        value = encode([pos])
        if pos < _SINGLE_LIMIT:
            ONE_POSITION_VALUES[pos] = value
    return value


class TermStore:
    """Postings grouped by field and term, in document order, up to ``limitmb`` in
    memory, then in sorted runs of whole terms in ``tempstore`` (Whoosh's temporary
    storage of the writer, removed with it)."""

    def __init__(self, tempstore: Any, limitmb: float) -> None:
        self._tempstore = tempstore
        self._limit = limitmb * 1024 * 1024
        self._size = 0
        self._fields: dict[str, dict[bytes, tuple[array[int], array[float], list[bytes]]]] = {}
        self.runs: list[str] = []
        self._shared: dict[bytes, bytes] = {}  # short values read back from runs

    def add(
        self,
        fieldname: str,
        docnum: int,
        postings: Iterable[tuple[bytes, int, float, bytes]],
        boost: float = 1.0,
    ) -> None:
        """Add one document's postings ``(term, frequency, weight, value)`` of a field."""
        terms = self._fields.get(fieldname)
        if terms is None:
            terms = self._fields[fieldname] = {}
        size = 0
        for tbytes, freq, weight, vbytes in postings:
            entry = terms.get(tbytes)
            if entry is None:
                entry = terms[tbytes] = (array("I"), array("d"), [])
                size += _TERM_BYTES + len(tbytes)
            entry[0].append(docnum)
            entry[1].append(weight * boost)
            entry[2].append(vbytes)
            size += _POSTING_BYTES if freq == 1 else _POSTING_BYTES + _VALUE_BYTES + len(vbytes)
        self._size += size
        if self._size > self._limit:
            self._spill()

    def add_positions(
        self,
        fieldname: str,
        docnum: int,
        positions: dict[bytes, list[int]],
        boost: float,
        fieldboost: float,
        encode: Callable[[list[int]], bytes],
    ) -> int:
        """Add one document's terms and positions in a field, each posting weighing
        ``len(positions) * boost * fieldboost`` with the value ``encode(positions)``,
        as :meth:`add` would for the same postings; returns the field's length (the
        number of positions)."""
        terms = self._fields.get(fieldname)
        if terms is None:
            terms = self._fields[fieldname] = {}
        singles = ONE_POSITION_VALUES
        once = boost * fieldboost  # the weight of a term that occurs once
        size = _POSTING_BYTES * len(positions)
        for tbytes, plist in positions.items():
            entry = terms.get(tbytes)
            if entry is None:
                entry = terms[tbytes] = (array("I"), array("d"), [])
                size += _TERM_BYTES + len(tbytes)
            entry[0].append(docnum)
            if len(plist) == 1:
                value = singles.get(plist[0]) or one_position_value(plist[0], encode)
                entry[1].append(once)
            else:
                value = encode(plist)
                size += _VALUE_BYTES + len(value)
                entry[1].append(len(plist) * boost * fieldboost)
            entry[2].append(value)
        self._size += size
        if self._size > self._limit:
            self._spill()
        return sum(map(len, positions.values()))

    def _sorted_memory(self) -> Iterator[TermGroup]:
        for fieldname in sorted(self._fields):
            terms = self._fields[fieldname]
            for tbytes in sorted(terms):
                docs, weights, values = terms[tbytes]
                yield fieldname, tbytes, docs, weights, values

    def _spill(self) -> None:
        name = "".join(random.choices(string.ascii_lowercase + string.digits, k=24)) + ".trun"
        f = self._tempstore.create_file(name).raw_file()
        try:
            chunk: list[tuple[str, bytes, bytes, bytes, list[bytes]]] = []
            for fieldname in sorted(self._fields):
                terms = self._fields[fieldname]
                for tbytes in sorted(terms):
                    docs, weights, values = terms[tbytes]
                    chunk.append((fieldname, tbytes, docs.tobytes(), weights.tobytes(), values))
                    if len(chunk) == _RUN_TERMS:
                        pickle.dump(chunk, f, pickle.HIGHEST_PROTOCOL)
                        chunk = []
            if chunk:
                pickle.dump(chunk, f, pickle.HIGHEST_PROTOCOL)
        finally:
            f.close()
        self.runs.append(name)
        self._fields = {}
        self._size = 0

    def _read_run(self, name: str) -> Iterator[TermGroup]:
        shared = self._shared.setdefault
        f = self._tempstore.open_file(name).raw_file()
        try:
            while True:
                try:
                    chunk = pickle.load(f)
                except EOFError:
                    break
                for fn, t, docbytes, weightbytes, values in chunk:
                    # One object per short value again, as before the spill: pickle
                    # writes a repeated object once per block, then refers back to it.
                    values = [shared(v, v) if len(v) <= _SHARED_VALUE_LEN else v for v in values]
                    docs: array[int] = array("I")
                    docs.frombytes(docbytes)
                    weights: array[float] = array("d")
                    weights.frombytes(weightbytes)
                    yield fn, t, docs, weights, values
        finally:
            f.close()
            self._tempstore.delete_file(name)

    def __iter__(self) -> Iterator[TermGroup]:
        """Every term's postings in (field, term) order, documents in order."""
        if not self.runs:
            yield from self._sorted_memory()
            return
        sources = [self._read_run(name) for name in self.runs]
        sources.append(self._sorted_memory())
        # The runs were spilled in document order, and merge() keeps equal keys in
        # the order of its sources, so concatenating keeps the documents in order.
        yield from _combine(heapq.merge(*sources, key=_key))


# The two lengths before each key and value in Whoosh's hash file (filetables._lengths).
_TERM_LENGTHS = struct.Struct("!ii")
#: ``W3TermInfo.to_bytes`` of a term whose postings are not inlined: its struct
#: (flags, weight, doc frequency, min and max length codes, max weight, first and last
#: id) followed by ``pack_long(offset)`` and ``pack_int(length)``, in one struct.
_TERM_INFO = struct.Struct("!BfIBBfIIqi")
#: ``length_to_byte(n)`` for the field lengths most documents have (a bisection each).
_LENGTH_CODES = [length_to_byte(n) for n in range(4_096)]
#: A term group's (field name, term): its sort key (C-level, called once per group).
_key = itemgetter(0, 1)


def merge_groups(*sources: Iterable[TermGroup]) -> Iterator[TermGroup]:
    """Term groups of several sorted sources in (field, term) order, a term's
    postings joined into one group."""
    return _combine(heapq.merge(*sources, key=_key))


def _combine(groups: Iterable[TermGroup]) -> Iterator[TermGroup]:
    """Groups of equal (field, term) joined into one, documents in order."""
    for (fieldname, tbytes), same in groupby(groups, key=_key):
        parts = list(same)
        if len(parts) == 1:
            yield parts[0]
            continue
        if all(a[2][-1] < b[2][0] for a, b in pairwise(parts)):
            docs: array[int] = array("I")
            weights: list[float] = []
            values: list[bytes] = []
            for _, _, d, w, v in parts:
                docs.extend(d)
                weights.extend(w)
                values.extend(v)
            yield fieldname, tbytes, docs, weights, values
            continue
        rows = sorted(
            (d, w, v) for _, _, docs, weights, values in parts
            for d, w, v in zip(docs, weights, values, strict=True)
        )  # fmt: skip
        yield (
            fieldname,
            tbytes,
            [d for d, _, _ in rows],
            [w for _, w, _ in rows],
            [v for _, _, v in rows],
        )


def group_pool_postings(items: Iterable[PoolPosting]) -> Iterator[TermGroup]:
    """Whoosh's sorted pool postings as term groups (spelling entries, docnum -1,
    skipped as Whoosh's ``add_postings`` skips them)."""
    for (fieldname, tbytes), same in groupby(items, key=lambda p: (p[0], p[1])):
        docs: list[int] = []
        weights: list[float] = []
        values: list[bytes] = []
        for _, _, docnum, weight, value in same:
            if docnum == -1:
                continue
            docs.append(docnum)
            weights.append(weight)
            values.append(b"" if value is None else value)
        if docs:
            yield fieldname, tbytes, docs, weights, values


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
                fieldwriter.finish_field()
            fieldobj = schema[fieldname]
            fieldwriter.start_field(fieldname, fieldobj)
            lastfield = fieldname
            field_lengths = _field_lengths(lengths, fieldname)
            writer = _TermWriter(fieldwriter, fieldobj.format)
        assert writer is not None
        writer.write(tbytes, docs, weights, values, field_lengths)
    if lastfield is not None:
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
        self._offset = self._postfile.tell()
        self._terms_file = self._tindex.dbfile
        self._terms_offset = self._terms_file.tell()
        # The files' own write methods (StructFile.write only passes the call on).
        self._write_postings = self._postfile.raw_file().write
        self._write_terms = self._terms_file.raw_file().write
        self._index_append = self._tindex.index.append
        self._buckets = self._tindex.buckets
        hashfn = self._tindex.hashfn
        self._hash = _md5_low32 if hashfn is md5_hash else hashfn

    def write(
        self,
        tbytes: bytes,
        docs: Sequence[int],
        weights: Sequence[float],
        values: list[bytes],
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
        self._write_postings(blob)
        self._offset += len(blob)
        self._add_term(self._fieldid + tbytes, info)

    def _small_block(
        self,
        docs: Sequence[int],
        weights: Sequence[float],
        values: list[bytes],
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
            nonzero = [n for n in (lengths[d] if d < known else 0 for d in docs) if n]
            minlength = min(nonzero) if nonzero else None
            maxlength = max(nonzero) if nonzero else 0
            top = max(weights)
            deltas = (docs[0], *(b - a for a, b in pairwise(docs)))
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
            smaller = zlib.compress(data, comp)
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
        values: list[bytes],
        lengths: list[int],
        count: int,
    ) -> tuple[bytes, bytes]:
        """The postings and term info bytes of any term: its blocks built as
        ``W3PostingsWriter`` builds them, :class:`W3TermInfo` as ``add_block`` sums it."""
        info = W3TermInfo()
        parts = [WHOOSH3_HEADER_MAGIC]
        limit = self._limit
        known = len(lengths)
        comp = self._compression
        for start in range(0, count, limit):
            end = min(start + limit, count)
            ids = docs[start:end]
            block_weights = array("f", weights[start:end])
            nonzero = [n for n in (lengths[d] if d < known else 0 for d in ids) if n]
            minlength = min(nonzero) if nonzero else None
            maxlength = max(nonzero) if nonzero else 0
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
            block_values = values[start:end]
            if not all(block_values):
                block_values = [v for v in block_values if v]  # as add_posting keeps them
            data, used = block_data(ids, block_weights, block_values, self._fixedsize, comp)
            head = block_head(len(ids), ids[-1], maxweight, used, minlength, maxlength)
            size = len(head) + len(data)
            parts += (pack_int(-size if end == count else size), head, data)
        blob = b"".join(parts)
        info.set_extent(self._offset, len(blob))
        return blob, info.to_bytes()

    def _add_term(self, key: bytes, value: bytes) -> None:
        """``OrderedHashWriter.add``, with the terms file's offset counted instead of
        asked for (twice per term, each a system call)."""
        tindex = self._tindex
        if key <= tindex.lastkey:
            raise ValueError(f"keys must increase: {tindex.lastkey!r}..{key!r}")
        pos = self._terms_offset
        self._index_append(pos)
        entry = _TERM_LENGTHS.pack(len(key), len(value)) + key + value
        self._write_terms(entry)
        self._terms_offset = pos + len(entry)
        h = self._hash(key)
        self._buckets[h & 255].append((h, pos))
        tindex.lastkey = key


def _md5_low32(key: bytes) -> int:
    """Whoosh's ``md5_hash`` (the low 32 bits of the key's MD5, from its hex digest),
    from the digest's last four bytes."""
    return int.from_bytes(md5(key, usedforsecurity=False).digest()[12:], "big")


def _fill_blocks(
    postwriter: Any,
    docs: Sequence[int],
    weights: Sequence[float],
    values: list[bytes],
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


__all__ = [
    "TermStore",
    "column_lengths",
    "group_pool_postings",
    "merge_groups",
    "write_postings",
]
