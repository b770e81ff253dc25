"""The live document of a unique id (a PMID) across an index's segments, for upserts.

An ingest looks up every record it writes, to replace an older copy or leave an
unchanged one alone. Whoosh's ``Searcher.document(pmid=...)`` builds a term query and
a matcher in every segment for each record: on a 1,000,000-record index of ten
segments, 57 us for a PMID the index does not hold, 100 us for one it does, most of
it the query machinery, and it grew with every segment the index gained (the later
ingests of a large index paid for it; BENCHMARKS.md, "Segment merges").

:class:`IdLookup` probes each segment's terms file directly, and first checks the id
against the segment's smallest and largest id (its terms file keeps a field's terms
sorted, and its index of key positions finds the first and last of a field with two
binary searches). PubMed assigns PMIDs in order, so the records of a new export fall
outside the range of most segments and are looked up in none of them. A segment read
another way (another codec) is asked through Whoosh's reader, as before.
"""

from __future__ import annotations

from typing import Any

from whoosh.codec.whoosh3 import W3TermsReader
from whoosh.reading import SegmentReader
from whoosh.system import pack_ushort


class _Segment:
    """One segment's terms file and the id field's smallest and largest term in it
    (``bounds``; ``None`` when it holds no id), or only its reader (another codec)."""

    __slots__ = ("bounds", "prefix", "reader", "tindex")

    def __init__(self, reader: Any, field: str) -> None:
        self.reader = reader
        self.tindex: Any = None
        self.prefix = b""
        self.bounds: tuple[bytes, bytes] | None = None
        if isinstance(reader, SegmentReader) and isinstance(reader._terms, W3TermsReader):
            self.tindex = reader._terms._tindex
            number = reader._terms._fieldmap.get(field)
            if number is not None:
                self.prefix = pack_ushort(number)
                self.bounds = _field_range(self.tindex, number)

    def holds(self, field: str, key: bytes) -> bool:
        """Whether the segment's terms include ``key`` (the id's bytes)."""
        if self.tindex is None:
            return (field, key) in self.reader  # another codec: asked through Whoosh
        bounds = self.bounds
        return (
            bounds is not None
            and bounds[0] <= key <= bounds[1]
            and self.prefix + key in self.tindex
        )


def _field_range(tindex: Any, number: int) -> tuple[bytes, bytes] | None:
    """The smallest and largest term of field ``number`` in the ordered terms file
    ``tindex`` (``None`` when it has none): binary searches of its index of key
    positions (Whoosh's ``closest_key_pos``) for the field's first key and the next
    field's."""
    first = _index_of(tindex, pack_ushort(number))
    after = tindex.indexlen if number + 1 >= 1 << 16 else _index_of(tindex, pack_ushort(number + 1))
    if first >= after:
        return None
    low = _key(tindex, first)
    high = _key(tindex, after - 1)
    return low[2:], high[2:]


def _index_of(tindex: Any, key: bytes) -> int:
    """The index (in the key-position array) of the first key at or after ``key``."""
    base, size, position_at, key_at = (
        tindex.indexbase,
        tindex.indexsize,
        tindex._get_pos,
        tindex.key_at,
    )
    lo, hi = 0, tindex.indexlen
    while lo < hi:
        mid = (lo + hi) // 2
        if key_at(position_at(base + mid * size)) < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _key(tindex: Any, index: int) -> bytes:
    return bytes(tindex.key_at(tindex._get_pos(tindex.indexbase + index * tindex.indexsize)))


class IdLookup:
    """The stored fields of the live document holding an id, in a searcher's segments
    (what ``searcher.document(**{field: id})`` gives)."""

    def __init__(self, searcher: Any, field: str) -> None:
        self._field = field
        self._to_bytes = searcher.schema[field].to_bytes
        self._segments = [_Segment(reader, field) for reader, _ in searcher.reader().leaf_readers()]

    def document(self, value: str) -> dict[str, Any] | None:
        """The stored fields of the first live document whose id is ``value``, or
        ``None``."""
        key = self._to_bytes(value)
        field = self._field
        for segment in self._segments:
            if not segment.holds(field, key):
                continue
            reader = segment.reader
            matcher = reader.postings(field, key)  # deleted documents skipped
            if matcher.is_active():
                return dict(reader.stored_fields(matcher.id()))
        return None


__all__ = ["IdLookup"]
