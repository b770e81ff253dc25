"""Merged documents copied as stored (searchkit.engine.perdoc_copy): the merged segment
holds what Whoosh's ``write_per_doc`` writes for the same merge, column by column.

Each test merges copies of the same real segments (data/'s records, with deletions and
upserts) through the real writer twice: as searchkit merges them, and with
``copy_per_doc`` off (Whoosh's ``write_per_doc``, everything else the same). Every part
of the merged segment must be the same bytes but its stored fields, which must hold
the same documents (Whoosh pickles each dict again, its fields in an order that varies
by process) and be, document by document, the bytes the source segments held."""

from __future__ import annotations

import importlib.util
import io
import shutil
import zlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import whoosh.index
from whoosh.codec.whoosh3 import STORED_COLUMN, W3Codec
from whoosh.fields import ID, TEXT, Schema
from whoosh.filedb.compound import CompoundStorage
from whoosh.filedb.structfile import StructFile
from whoosh.formats import Frequency
from whoosh.reading import SegmentReader

from searchkit import SearchIndex
from searchkit.engine import perdoc_copy
from searchkit.engine.checksums import IndexDamagedError
from searchkit.engine.safepickle import loads
from searchkit.engine.segment_writer import FastSegmentWriter, _BulkMerges
from searchkit.index.searchindex import INDEX_NAME

from .conftest import ROOT
from .test_merging import _segmented_index, _segments, distinct_records

_spec = importlib.util.spec_from_file_location(
    "compare_indexes", ROOT / "benchmarks" / "compare_indexes.py"
)
assert _spec is not None and _spec.loader is not None
compare_indexes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare_indexes)

STORED_PART = compare_indexes.STORED_PART


@pytest.fixture(scope="module")
def segmented(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 of data/'s records in eight segments, a quarter of four of them deleted or
    replaced (tests.test_merging's fixture). Read-only: tests merge copies."""
    path = tmp_path_factory.mktemp("perdoc") / "ix"
    _segmented_index(path)
    return path


@pytest.fixture
def copies(tmp_path: Path, segmented: Path) -> tuple[Path, Path]:
    shutil.copytree(segmented, tmp_path / "raw")
    shutil.copytree(segmented, tmp_path / "whoosh")
    return tmp_path / "raw", tmp_path / "whoosh"


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The documents each raw copy wrote (so that a test sees it was used)."""
    counted: list[int] = []
    run = perdoc_copy.PerDocCopy.run

    def counting(self: Any) -> Any:
        before = self._writer.docnum
        docmap = run(self)
        counted.append(self._writer.docnum - before)
        return docmap

    monkeypatch.setattr(perdoc_copy.PerDocCopy, "run", counting)
    return counted


def _with_whooshs_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_BulkMerges, "copy_per_doc", False)


def _stored_values(path: Path) -> dict[str, list[bytes]]:
    """Each segment's live documents' stored fields as stored (compressed pickles), in
    document order, by segment id."""
    ix = whoosh.index.open_dir(str(path), indexname=INDEX_NAME)
    out: dict[str, list[bytes]] = {}
    for segment in ix._segments():
        reader = SegmentReader(ix.storage, ix.schema, segment)
        try:
            column = reader._perdoc.column_reader("_stored", STORED_COLUMN)._child
            raw = [
                bytes(column._dbfile.get(column._basepos + column._offsets[d], column._lengths[d]))
                for d in range(segment.doc_count_all())
                if not segment.is_deleted(d)
            ]
        finally:
            reader.close()
        out[segment.segment_id()] = raw
    return out


def _assert_same_merge(raw: Path, whoosh_path: Path) -> None:
    """Every part of the two indexes the same bytes but the stored fields, which hold
    the same documents."""
    a, b = compare_indexes.contents(raw), compare_indexes.contents(whoosh_path)
    assert a.keys() == b.keys()
    differing = sorted(k for k in a if a[k] != b[k])
    assert all(k.endswith(STORED_PART) for k in differing), differing
    a, b = compare_indexes.contents(raw, True), compare_indexes.contents(whoosh_path, True)
    assert a == b


@pytest.mark.slow
def test_optimize_with_deletions_copies_what_whoosh_writes(
    copies: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, runs: list[int]
) -> None:
    raw, stock = copies
    before = _stored_values(raw)
    assert SearchIndex.open(raw).optimize()[1] == 1
    assert runs == [s.doc_count() for s in _segments(stock)]  # every segment copied raw
    _with_whooshs_path(monkeypatch)
    runs.clear()
    SearchIndex.open(stock).optimize()
    assert runs == []
    _assert_same_merge(raw, stock)
    # Each live document's stored fields are the bytes its segment held.
    (merged,) = _stored_values(raw).values()
    assert merged == [value for values in before.values() for value in values]
    # Whoosh's path pickled the same dicts again: the same fields and values.
    (again,) = _stored_values(stock).values()
    assert [_decoded(v) for v in again] == [_decoded(v) for v in merged]
    assert SearchIndex.open(raw).check().damaged == []


def _decoded(value: bytes) -> dict[str, Any]:
    """A document's stored fields from their stored bytes (STORED_COLUMN's layout)."""
    result: dict[str, Any] = loads(zlib.decompress(value))
    return result


@pytest.mark.slow
def test_a_commits_merge_of_segments_with_deletions_copies_what_whoosh_writes(
    copies: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, runs: list[int]
) -> None:
    """A commit whose tiered policy rewrites the segments holding too many deleted
    documents (documents of the commit itself come first in the new segment)."""
    records = distinct_records()[:200]
    changed = {r.pmid: replace(r, title=f"{r.title} again") for r in records[1:200:40]}
    for path in copies:
        if path == copies[1]:
            _with_whooshs_path(monkeypatch)
        SearchIndex.open(path).apply(changed, set())
    assert runs and sum(runs) > 100  # the raw copy merged the rewritten segments
    assert [s.deleted_count() for s in _segments(copies[0])] == [0] * len(_segments(copies[0]))
    _assert_same_merge(*copies)


def _per_document_merge(source: Path, target: Path) -> tuple[Any, ...]:
    """``source``'s segments written into a new segment as Whoosh's multi-process
    writer merges its processes' segments (``write_per_doc`` given each segment's
    per-document reader): the docmaps, the field length totals and every column file
    written."""
    ix = whoosh.index.open_dir(str(source), indexname=INDEX_NAME)
    target.mkdir()
    new = whoosh.index.create_in(str(target), ix.schema, indexname=INDEX_NAME)
    writer = FastSegmentWriter(new)
    docmaps = []
    for segment in ix._segments():
        storage = segment.open_compound_file(ix.storage)  # as SegmentReader opens it
        perdoc = segment.codec().per_document_reader(storage, segment)
        try:
            docmaps.append(writer.write_per_doc(set(ix.schema.names()), perdoc))
        finally:
            perdoc.close()
            storage.close()
    perdocwriter = writer.perdocwriter
    perdocwriter.close()
    totals = dict(perdocwriter._fieldlengths)
    columns = {}
    for name in perdocwriter._colwriters:
        with new.storage.open_file(W3Codec.column_filename(writer.newsegment, name)) as f:
            columns[name] = f.read()
    writer.cancel()
    return docmaps, totals, writer.docnum, columns


def test_per_document_readers_are_copied_as_whoosh_copies_them(
    tmp_path: Path, segmented: Path, monkeypatch: pytest.MonkeyPatch, runs: list[int]
) -> None:
    """Whoosh's multi-process writer (without ``multisegment``) merges its processes'
    segments through ``write_per_doc`` given their per-document readers: copied raw,
    the same documents, numbers, lengths and columns (deleted documents skipped)."""
    raw = _per_document_merge(segmented, tmp_path / "raw")
    assert sum(runs) == raw[2] == sum(s.doc_count() for s in _segments(segmented))
    _with_whooshs_path(monkeypatch)
    stock = _per_document_merge(segmented, tmp_path / "whoosh")
    assert raw[:3] == stock[:3]
    assert any(docmap for docmap in raw[0])  # some segments had deleted documents
    raw_columns, stock_columns = raw[3], stock[3]
    assert raw_columns.keys() == stock_columns.keys()
    for name in raw_columns:
        if name != "_stored":
            assert raw_columns[name] == stock_columns[name], name
    assert _column_documents(raw_columns["_stored"], raw[2]) == _column_documents(
        stock_columns["_stored"], raw[2]
    )


def _column_documents(column: bytes, count: int) -> list[Any]:
    data = StructFile(io.BytesIO(column))
    return list(STORED_COLUMN.reader(data, 0, len(column), count))


def _part(path: Path, suffix: str) -> Iterator[tuple[Path, int, int]]:
    """(compound file, offset, length) of each segment's part ending with ``suffix``."""
    for seg in sorted(path.glob("*.seg")):
        with StructFile(seg.open("rb")) as f:
            directory = CompoundStorage(f, use_mmap=False)._dir
        for name, where in directory.items():
            if name.endswith(suffix):
                yield seg, where["offset"], where["length"]


def test_a_damaged_column_is_not_copied(copies: tuple[Path, Path]) -> None:
    """In an index without checksums (written before them), a PMID column whose value
    lengths no longer add up to its data stops the merge: copied, every later PMID
    would be shifted; the index keeps its segments."""
    raw, _ = copies
    for manifest in raw.glob("_MAIN_*.sums"):
        manifest.unlink()
    seg, offset, length = next(_part(raw, ".pmid.col"))
    data = bytearray(seg.read_bytes())
    # The lengths array (a byte per document: fewer than 256 bytes a PMID) ends just
    # before its type code, the part's last byte; the first document's is shortened.
    count = next(s.doc_count_all() for s in _segments(raw) if s.segment_id() in seg.name)
    first = offset + length - 1 - count
    assert chr(data[offset + length - 1]) == "B" and data[first] > 1
    data[first] -= 1
    seg.write_bytes(bytes(data))
    layout = [(s.segment_id(), s.doc_count()) for s in _segments(raw)]
    with pytest.raises(IndexDamagedError, match="pmid"):
        SearchIndex.open(raw).optimize()
    assert [(s.segment_id(), s.doc_count()) for s in _segments(raw)] == layout


def test_vectors_are_left_to_whoosh(tmp_path: Path, runs: list[int]) -> None:
    """A field with term vectors: the merge takes Whoosh's path (and keeps them)."""
    schema = Schema(pmid=ID(stored=True, sortable=True), text=TEXT(vector=Frequency()))
    ix = whoosh.index.create_in(str(tmp_path), schema, indexname=INDEX_NAME)
    for start in (0, 3):
        w = FastSegmentWriter(ix)
        for i in range(start, start + 3):
            w.add_document(pmid=f"p{i}", text=f"word{i} common")
        w.commit(merge=False)
    w = FastSegmentWriter(ix)
    w.commit(optimize=True)
    assert runs == []
    with ix.reader() as reader:
        assert [reader.stored_fields(d)["pmid"] for d in reader.all_doc_ids()] == [
            f"p{i}" for i in range(6)
        ]
        assert list(reader.vector_as("frequency", 4, "text")) == [("common", 1), ("word4", 1)]
