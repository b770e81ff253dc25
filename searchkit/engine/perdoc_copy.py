"""Segment merges: each merged document's per-document data copied as it is stored.

Whoosh's ``SegmentWriter.write_per_doc`` copies a merged segment's documents one at a
time: it decompresses and unpickles each document's stored fields, reads each of its
field lengths and column values, then pickles, compresses and writes them again
through the per-document writer (``W3PerDocWriter``): about a quarter of an
``optimize``'s time, most of it zlib and pickle. :func:`plan_copy` copies the bytes as
the segment stores them instead, a column at a time, its live documents renumbered in
order after the writer's (deleted ones skipped, as Whoosh's ``docmap`` numbers them):

* stored fields (``_stored``, each document's pickled dict, compressed): the
  compressed bytes, read in runs of consecutive live documents and written as they
  are; their lengths and offsets appended to the column writer's;
* field lengths (``_<field>_len``, a byte each) and integer ``NumericColumn`` columns:
  the live documents' bytes, trailing defaults left out as the column writer leaves
  them out (a lengths column is made only when a live document has a length, as
  Whoosh makes it); the field length totals grow by the same one-byte lengths;
* ``VarBytesColumn`` columns (the PMIDs): as the stored fields.

Every column but the stored fields is then byte for byte what Whoosh's
``write_per_doc`` writes. The stored fields hold the same fields and values, but
Whoosh's pickles each dict again with its fields in the iteration order of a ``set``
of field names, which varies from process to process (string hashing): two runs of
Whoosh's merge write different bytes. Here each dict keeps the order it was written
in (:class:`~searchkit.engine.segment_writer.FastSegmentWriter`: by field name).

Anything else is left to Whoosh's path (:func:`plan_copy` returns ``None`` before
writing anything): fields with term vectors, other column types, other codecs, a
stored-fields column of another type. A column whose lengths do not add up to its
data (a damaged file in an index without checksums) raises
:class:`~searchkit.engine.checksums.IndexDamagedError` rather than being copied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, STORED_COLUMN, W3PerDocReader, W3PerDocWriter
from whoosh.columns import CompressedBytesColumn, NumericColumn, PickleColumn, VarBytesColumn
from whoosh.reading import SegmentReader
from whoosh.util.numeric import byte_to_length

from searchkit.engine.checksums import IndexDamagedError

Ints = NDArray[np.int64]
#: Bytes of stored data read (and written) at a time.
CHUNK_BYTES = 8 * 1024 * 1024
#: The stored-fields column's name (Whoosh's ``W3PerDocWriter``).
_STORED = "_stored"
#: ``struct`` type codes of integers: their values and packed bytes correspond one to
#: one, so that a value is the column's default exactly when its bytes are.
_INTEGER_CODES = frozenset("bBhHiIlLqQ")
_LENGTH_OF_CODE = np.array([byte_to_length(code) for code in range(256)], dtype=np.int64)


def _lenfield(fieldname: str) -> str:
    """The name of a field's lengths column (Whoosh's ``whoosh3._lenfield``)."""
    return f"_{fieldname}_len"


class _Damaged(Exception):
    """A column's layout does not add up (turned into :class:`IndexDamagedError`)."""


def _runs(live: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """The ``[start, end)`` ranges of consecutive live documents."""
    if live.all():
        return [(0, len(live))] if len(live) else []
    edges = np.flatnonzero(np.diff(np.concatenate(([0], live.view(np.int8), [0]))))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True))


def _var_bytes_copier(
    source: Any, name: str, count: int
) -> Callable[[Any, NDArray[np.bool_], int], None]:
    """Copies a ``VarBytesColumn`` (or compressed bytes) column's live values into a
    column writer of the same kind, its layout checked first: each value starts where
    the previous ends, and the last ends where the lengths array starts."""
    if not isinstance(source, VarBytesColumn.Reader):
        raise TypeError(f"{type(source)} is not a variable bytes column reader")
    lengths: Ints = np.asarray(source._lengths, dtype=np.int64)
    offsets: Ints = np.asarray(source._offsets, dtype=np.int64)
    if len(lengths) != count or len(offsets) != count:
        raise _Damaged(f"column {name} holds {len(lengths)} values for {count} documents")
    ends = offsets + lengths
    trailer = len(source._lengths) * source._lengths.itemsize + 1
    if source.had_stored_offsets:
        trailer += len(source._offsets) * source._offsets.itemsize + 2
    size = source._length - trailer
    if count and (offsets[0] != 0 or (offsets[1:] != ends[:-1]).any() or int(ends[-1]) != size):
        raise _Damaged(f"the lengths of column {name} do not add up to its data")
    dbfile, base = source._dbfile, source._basepos

    def copy(writer: Any, live: NDArray[np.bool_], start: int) -> None:
        writer.fill(start)
        write = writer._dbfile.write
        for first, stop in _runs(live):
            begin, end = int(offsets[first]), int(ends[stop - 1])
            for at in range(begin, end, CHUNK_BYTES):
                write(dbfile.get(base + at, min(CHUNK_BYTES, end - at)))
        kept = lengths[live]
        new_offsets = np.cumsum(kept) - kept + writer._offset_base
        writer._lengths.extend(kept.tolist())
        writer._offsets.extend(new_offsets.tolist())
        writer._offset_base += int(kept.sum())
        writer._count = start + len(kept)

    return copy


def _fixed_rows(source: Any, name: str, count: int) -> NDArray[np.uint8]:
    """A fixed-size (numeric) column's bytes, a row per document (the defaults the
    writer left out at the end filled in)."""
    if not isinstance(source, NumericColumn.Reader):
        raise TypeError(f"{type(source)} is not a numeric column reader")
    width = source._fixedlen
    held = min(source._count, count)
    data = bytes(source._dbfile.get(source._basepos, held * width)) if held else b""
    if len(data) != held * width:
        raise _Damaged(f"column {name} is shorter than its length")
    rows = np.frombuffer(data, dtype=np.uint8).reshape(held, width)
    if held < count:
        default = np.frombuffer(source._defaultbytes, dtype=np.uint8)
        rows = np.vstack((rows, np.tile(default, (count - held, 1))))
    return rows


def _write_fixed(writer: Any, rows: NDArray[np.uint8], start: int) -> None:
    """The rows of documents ``start``... as the column writer's ``add`` writes them
    one by one: default values left out, but before a later value (``fill``)."""
    default = np.frombuffer(writer._defaultbytes, dtype=np.uint8)
    valued = np.flatnonzero((rows != default).any(axis=1))
    if not len(valued):
        return
    last = int(valued[-1]) + 1
    writer.fill(start)
    writer._dbfile.write(rows[:last].tobytes())
    writer._count = start + last


@dataclass(frozen=True)
class _Column:
    """One column of the merged segment's documents: its name and type in the new
    segment, the class of its writer, the copy, and whether Whoosh's path would make
    the column (given the live documents) when the writer has none yet."""

    name: str
    column: Any
    writer_type: type
    copy: Callable[[Any, NDArray[np.bool_], int], None]
    made: Callable[[NDArray[np.bool_]], bool]
    #: The writer's wrapped writer takes the bytes (the stored fields' pickle writer).
    child: bool = False


class PerDocCopy:
    """The copy of one merged segment's documents into a writer (:func:`plan_copy`)."""

    def __init__(
        self,
        writer: Any,
        perdoc: Any,
        live: NDArray[np.bool_],
        columns: list[_Column],
        lengths: dict[str, Callable[[NDArray[np.bool_]], int]],
    ) -> None:
        self._writer = writer
        self._perdoc = perdoc
        self._live = live
        self._columns = columns
        self._lengths = lengths

    def run(self) -> dict[int, int] | None:
        """Copy the documents; the new number of each live document when some are
        deleted (Whoosh's ``docmap``), else ``None``."""
        writer, live = self._writer, self._live
        perdocwriter = writer.perdocwriter
        start = writer.docnum
        if perdocwriter._doccount != start:
            raise RuntimeError(f"the writer is at document {start} but its columns are not")
        kept = int(live.sum())
        for col in self._columns:
            if not perdocwriter._has_column(col.name):
                if not col.made(live):
                    continue
                perdocwriter._create_column(col.name, col.column)
            target = perdocwriter._get_column(col.name)
            if col.child:
                target = target._child
            if type(target) is not col.writer_type:
                raise TypeError(f"column {col.name} is written by a {type(target)}")
            col.copy(target, live, start)
        totals = perdocwriter._fieldlengths
        for fieldname, summed in self._lengths.items():
            total = summed(live)
            if total:
                totals[fieldname] += total
        writer.docnum = start + kept
        perdocwriter._doccount = start + kept
        if not self._perdoc.has_deletions():
            return None
        return dict(zip(np.flatnonzero(live).tolist(), range(start, start + kept), strict=True))


def _live_documents(perdoc: Any) -> NDArray[np.bool_]:
    count = perdoc.doc_count_all()
    live = np.ones(count, dtype=bool)
    if perdoc.has_deletions():
        gone = [d for d in perdoc.deleted_docs() if 0 <= d < count]
        live[np.array(gone, dtype=np.int64)] = False
    return live


def _length_sum(rows: NDArray[np.uint8]) -> Callable[[NDArray[np.bool_]], int]:
    def summed(live: NDArray[np.bool_]) -> int:
        return int(_LENGTH_OF_CODE[rows[live, 0]].sum())

    return summed


def _valued(rows: NDArray[np.uint8], default: bytes) -> Callable[[NDArray[np.bool_]], bool]:
    """Whether a live document has a value other than ``default`` (when Whoosh's path
    makes a lengths column: only for a length)."""
    code = np.frombuffer(default, dtype=np.uint8)

    def made(live: NDArray[np.bool_]) -> bool:
        return bool((rows[live] != code).any())

    return made


def _any_live(live: NDArray[np.bool_]) -> bool:
    return bool(live.any())


def _fixed_copier(rows: NDArray[np.uint8]) -> Callable[[Any, NDArray[np.bool_], int], None]:
    def copy(writer: Any, live: NDArray[np.bool_], start: int) -> None:
        _write_fixed(writer, rows[live], start)

    return copy


def _columns_of(
    perdoc: Any, schema: Any, fieldnames: list[str], count: int
) -> tuple[list[_Column], dict[str, Callable[[NDArray[np.bool_]], int]]] | None:
    """The columns to copy and the field length totals' sums, or ``None`` when some
    column is not one this module copies."""
    if not perdoc.has_column(_STORED):
        return None
    stored = perdoc.column_reader(_STORED, STORED_COLUMN)
    if type(stored) is not PickleColumn.Reader or type(stored._child) is not (
        CompressedBytesColumn.Reader
    ):
        return None
    columns = [
        _Column(
            _STORED,
            STORED_COLUMN,
            CompressedBytesColumn.Writer,
            _var_bytes_copier(stored._child, _STORED, count),
            _any_live,
            child=True,
        )
    ]
    lengths: dict[str, Callable[[NDArray[np.bool_]], int]] = {}
    for fieldname in fieldnames:
        field = schema[fieldname]
        if field.vector:
            return None
        lenfield = _lenfield(fieldname)
        if perdoc.has_column(lenfield):
            source = perdoc.column_reader(lenfield, LENGTHS_COLUMN)
            rows = _fixed_rows(source, lenfield, count)
            columns.append(
                _Column(
                    lenfield,
                    LENGTHS_COLUMN,
                    NumericColumn.Writer,
                    _fixed_copier(rows),
                    _valued(rows, source._defaultbytes),
                )
            )
            lengths[fieldname] = _length_sum(rows)
        coltype = field.column_type
        if not coltype or not perdoc.has_column(fieldname):
            continue
        if type(coltype) is VarBytesColumn:
            source = perdoc.column_reader(fieldname, coltype)
            copy = _var_bytes_copier(source, fieldname, count)
            columns.append(_Column(fieldname, coltype, VarBytesColumn.Writer, copy, _any_live))
        elif type(coltype) is NumericColumn:
            source = perdoc.column_reader(fieldname, coltype)
            if source._typecode not in _INTEGER_CODES:
                return None  # -0.0 is the default 0.0 without its bytes
            rows = _fixed_rows(source, fieldname, count)
            columns.append(
                _Column(fieldname, coltype, NumericColumn.Writer, _fixed_copier(rows), _any_live)
            )
        else:
            return None
    return columns, lengths


def plan_copy(writer: Any, fieldnames: Any, reader: Any, folder: Any = None) -> PerDocCopy | None:
    """How to copy ``reader``'s documents into ``writer`` (a ``SegmentWriter``) as
    Whoosh's ``write_per_doc(fieldnames, reader)`` would, without decoding them
    (:meth:`PerDocCopy.run`), or ``None`` when they are not copied so. ``reader`` is a
    segment reader or a per-document reader (Whoosh's multi-process writer merges
    those); nothing is written yet. ``folder`` names the index in the error raised for
    a damaged column."""
    perdoc = reader._perdoc if isinstance(reader, SegmentReader) else reader
    if type(perdoc) is not W3PerDocReader or type(writer.perdocwriter) is not W3PerDocWriter:
        return None
    live = _live_documents(perdoc)
    try:
        found = _columns_of(perdoc, writer.schema, sorted(fieldnames), len(live))
    except _Damaged as error:
        raise IndexDamagedError(folder or "?", str(error)) from None
    if found is None:
        return None
    columns, lengths = found
    return PerDocCopy(writer, perdoc, live, columns, lengths)


__all__ = ["CHUNK_BYTES", "PerDocCopy", "plan_copy"]
