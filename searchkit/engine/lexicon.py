"""A field's terms and their weights, read from a segment's terms file in bulk.

Whoosh's ``iter_field`` gives a field's terms one at a time, each key and term info
read with several small reads and decoded into a ``W3TermInfo``. The files written at
every commit that list a field's terms with their frequencies
(:mod:`searchkit.index.vocabulary`) need only the term and its total weight: here the
field's run of entries in the terms file (its keys are sorted, so a field's entries
are contiguous) is read in large chunks and each entry's weight unpacked in place.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

from whoosh.codec.whoosh3 import W3TermsReader
from whoosh.reading import IndexReader, SegmentReader
from whoosh.system import pack_ushort

#: The key and value lengths before each entry of a hash file (filetables._lengths).
_ENTRY = struct.Struct("!ii")
#: A term info's total weight: the float after its flags byte (W3TermInfo._struct).
_WEIGHT = struct.Struct("!f")
_WEIGHT_AT = 1
#: A field's key prefix: its number (W3TermsReader._keycoder).
_FIELD_NUMBER = struct.Struct("!H")
_FIELD_NUMBER_SIZE = _FIELD_NUMBER.size
#: Bytes of the terms file read at a time.
CHUNK_BYTES = 1 << 20


def term_weights(
    reader: IndexReader, fieldname: str, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[tuple[bytes, float]]:
    """``(term, weight)`` for every term of ``fieldname`` (an indexed text field of the
    schema) in each of ``reader``'s segments, a segment after another, in term order
    within each: what each leaf reader's ``iter_field`` gives (``info.weight()``:
    deleted documents included). The terms file is read ``chunk_bytes`` at a time."""
    for leaf, _ in reader.leaf_readers():
        if isinstance(leaf, SegmentReader) and isinstance(leaf._terms, W3TermsReader):
            yield from _segment_term_weights(leaf._terms, fieldname, chunk_bytes)
        else:
            for tbytes, info in leaf.iter_field(fieldname):
                yield tbytes, info.weight()


def _segment_term_weights(
    terms: Any, fieldname: str, chunk_bytes: int
) -> Iterator[tuple[bytes, float]]:
    number = terms._fieldmap.get(fieldname)
    if number is None:
        return
    tindex = terms._tindex
    start = tindex.closest_key_pos(pack_ushort(number))
    if start is None:
        return
    end = None
    if number + 1 < 1 << 16:
        end = tindex.closest_key_pos(pack_ushort(number + 1))
    if end is None:
        end = tindex.endofdata
    weight_of = _WEIGHT.unpack_from
    what = f"the terms of {fieldname!r}"
    for key, value in _entries(tindex, start, end, chunk_bytes, what):
        yield key[_FIELD_NUMBER_SIZE:], weight_of(value, _WEIGHT_AT)[0]


def _entries(
    tindex: Any, start: int, end: int, chunk_bytes: int, what: str = "the terms file"
) -> Iterator[tuple[bytes, bytes]]:
    """The (key, value) entries of the hash file ``tindex`` from ``start`` to ``end``
    (``what`` they are, for the error a truncated one raises), in file order, read
    ``chunk_bytes`` at a time."""
    dbfile = tindex.dbfile
    lengths = _ENTRY.unpack_from
    pending = b""
    while start < end:
        size = min(chunk_bytes, end - start)
        blob = pending + dbfile.get(start, size)
        start += size
        pos, stop = 0, len(blob)
        while pos + _ENTRY.size <= stop:
            keylen, datalen = lengths(blob, pos)
            datapos = pos + _ENTRY.size + keylen
            following = datapos + datalen
            if following > stop:
                break
            yield blob[pos + _ENTRY.size : datapos], blob[datapos:following]
            pos = following
        pending = blob[pos:]
    if pending:
        raise ValueError(f"a truncated entry ends {what}")


def segment_entries(
    terms: Any, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[tuple[str, bytes, bytes]]:
    """``(field name, term, term info bytes)`` of every term of a segment's terms
    reader (a ``W3TermsReader``), in key order: what its ``items()`` gives, the term
    infos undecoded, the file read ``chunk_bytes`` at a time instead of three reads per
    term."""
    tindex = terms._tindex
    names = terms._fieldunmap
    unpack_number = _FIELD_NUMBER.unpack_from
    for key, value in _entries(tindex, tindex.startofdata, tindex.endofdata, chunk_bytes):
        yield names[unpack_number(key)[0]], key[_FIELD_NUMBER_SIZE:], value


__all__ = ["CHUNK_BYTES", "segment_entries", "term_weights"]
