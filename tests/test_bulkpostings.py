"""Bulk posting writing: the same segments as Whoosh's own writer.

Columns and stored fields are the same bytes. Posting blocks hold the same postings
and statistics, but not always the same bytes: one-position values are shared
objects, which pickle writes once per block and refers back to.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import whoosh.index
from whoosh.filedb.compound import CompoundStorage
from whoosh.writing import SegmentWriter

from searchkit.engine.bulkpostings import TermStore
from searchkit.engine.codec import BLOCK_LIMIT, SearchkitCodec
from searchkit.engine.segment_writer import FastSegmentWriter, compile_schema
from searchkit.index.schema import build_schema

from .test_fastindex import DOCS


def _segment_files(path: Path) -> dict[str, bytes]:
    """The parts of every segment (postings, terms, columns), by extension."""
    ix = whoosh.index.open_dir(str(path))
    files: dict[str, bytes] = {}
    for segment in ix._segments():
        with ix.storage.open_file(segment.make_filename(".seg")) as f:
            compound = CompoundStorage(f, use_mmap=False)
            for name in compound.list():
                with compound.open_file(name) as part:
                    files[name.split(".", 1)[1]] = part.read()
    return files


def term_postings(reader: Any, *, with_ids: bool = True) -> list[tuple[Any, ...]]:
    """Every term's statistics and postings as an unmodified Whoosh reader reads them
    (``with_ids``: the statistics include the first and last document number)."""
    terms: list[tuple[Any, ...]] = []
    for field, term in reader.all_terms():
        info = reader.term_info(field, term)
        matcher = reader.postings(field, term)
        postings = []
        while matcher.is_active():
            postings.append((matcher.id(), matcher.weight(), matcher.value()))
            matcher.next()
        stats = (
            info.weight(),
            info.doc_frequency(),
            info.min_length(),
            info.max_length(),
            info.max_weight(),
        )
        stats += (info.min_id(), info.max_id()) if with_ids else ()
        terms.append((field, term, stats, postings))
    return terms


def _contents(path: Path) -> tuple[dict[str, bytes], list[tuple[Any, ...]]]:
    """The column files (bytes), and every term's statistics and postings as an
    unmodified Whoosh reader reads them."""
    files = {k: v for k, v in _segment_files(path).items() if k not in ("pst", "trm")}
    ix = whoosh.index.open_dir(str(path))
    with ix.reader() as reader:
        terms = term_postings(reader)
    return files, terms


def _write(path: Path, cls: Any, docs: list[dict[str, object]], **kwargs: Any) -> Any:
    path.mkdir()
    ix = whoosh.index.create_in(str(path), build_schema())
    writer = cls(ix, **kwargs)
    for doc in docs:
        writer.add_document(**doc)
    return ix, writer


@pytest.mark.slow
def test_bulk_postings_write_whooshs_postings(
    tmp_path: Path, stock_sample_dir: Path, stock_sample_contents: object
) -> None:
    _, fast = _write(tmp_path / "fast", FastSegmentWriter, DOCS)
    assert fast._terms is not None
    fast.commit()
    expected = _segment_files(stock_sample_dir)
    assert {"pst", "trm", "_stored.col"} <= set(expected)
    assert _contents(tmp_path / "fast") == stock_sample_contents


@pytest.mark.slow
def test_spilled_term_runs_write_the_same_postings(tmp_path: Path) -> None:
    _, stock = _write(tmp_path / "stock", SegmentWriter, DOCS[:300])
    stock.commit()
    _, fast = _write(tmp_path / "spill", FastSegmentWriter, DOCS[:300], limitmb=0.2)
    assert len(fast._terms.runs) > 3
    fast.commit()
    assert _contents(tmp_path / "spill") == _contents(tmp_path / "stock")
    assert not list((tmp_path / "spill").glob("*.tmp"))  # the runs are removed


@pytest.mark.slow
def test_merging_segments_with_bulk_postings(tmp_path: Path) -> None:
    """Merging a committed segment (its postings come through Whoosh's pool) into the
    new one (bulk postings) writes what Whoosh's writer writes for the same steps (on
    600 records: Whoosh's own writer is the slow part, and the steps are the same)."""
    docs = DOCS[:600]
    half = len(docs) // 2
    for name, cls in (("stock", SegmentWriter), ("fast", FastSegmentWriter)):
        ix, first = _write(tmp_path / name, cls, docs[:half])
        first.commit()
        second = cls(ix)
        for doc in docs[half:]:
            second.add_document(**doc)
        second.commit(optimize=True)
        assert len(ix._segments()) == 1
    assert _contents(tmp_path / "fast") == _contents(tmp_path / "stock")


def test_cancel_removes_spilled_runs(tmp_path: Path) -> None:
    _, fast = _write(tmp_path / "fast", FastSegmentWriter, DOCS[:100], limitmb=0.1)
    assert fast._terms.runs
    fast.cancel()
    assert not list((tmp_path / "fast").glob("*.tmp"))


@pytest.mark.slow
def test_term_writer_writes_the_blocks_whooshs_block_writer_writes(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """The term writer builds the codec's blocks itself; filling the codec's postings
    writer block by block instead (its ``_write_block``, ``finish_postings``) gives the
    same bytes, spilled runs or not, in one block or in many."""
    import searchkit.engine.bulkpostings as bulk

    original = bulk._TermWriter.__init__
    for limitmb, blocklimit in ((128, BLOCK_LIMIT), (0.2, BLOCK_LIMIT), (128, 8)):
        files = []
        for generic in (False, True):
            name = f"{limitmb}-{blocklimit}-{generic}"

            def init(self: Any, *args: Any, generic: bool = generic, **kwargs: Any) -> None:
                original(self, *args, **kwargs)
                self._generic = generic

            monkeypatch.setattr(bulk._TermWriter, "__init__", init)
            codec = SearchkitCodec(blocklimit=blocklimit)
            _, writer = _write(
                tmp_path / name, FastSegmentWriter, DOCS[:500], limitmb=limitmb, codec=codec
            )
            writer.commit()
            files.append(_segment_files(tmp_path / name))
        assert files[0] == files[1]


def test_adding_positions_stores_what_adding_their_postings_stores(tmp_path: Path) -> None:
    """The writer's path (terms and positions straight from the analysis) and the
    general one (Whoosh's posting tuples) keep the same postings, boosts included."""
    schema = build_schema()
    fast = compile_schema(schema)
    by_postings = TermStore(None, 64)
    by_positions = TermStore(None, 64)
    for docnum, doc in enumerate(DOCS[:200]):
        for name, indexer in fast.items():
            value = doc.get(name)
            if not isinstance(value, str):
                continue
            fieldboost = (1.0, 2.5, 0.3)[docnum % 3]
            postings = list(schema[name].index(value))
            by_postings.add(name, docnum, postings, fieldboost)
            length = by_positions.add_positions(
                name, docnum, indexer.positions(value), indexer.boost, fieldboost, indexer.encode
            )
            assert length == sum(p[1] for p in postings)
    assert list(by_positions) == list(by_postings)
    assert len(list(by_positions)) > 1000


def test_a_small_term_is_written_as_the_general_block_writer_writes_it(tmp_path: Path) -> None:
    """A term of one block of fewer than ``PACK_MIN`` postings (most terms) takes its own
    short path; the general one gives the same postings and term info bytes, for every
    kind of field value and the edge cases of weights, lengths and values."""
    from array import array

    from searchkit.engine.bulkpostings import _TermWriter
    from searchkit.engine.codec import PACK_MIN

    nan = float("nan")
    cases: list[tuple[Any, Any, list[bytes], list[int]]] = [
        (array("I", [7]), array("d", [1.0]), [b"\x00\x00\x00\x01abc"], [3] * 10),
        (array("I", [7]), array("d", [2.5]), [b"v"], [0] * 10),  # no length
        (array("I", [12]), array("d", [1.0]), [b"v"], [3] * 10),  # beyond the lengths
        (array("I", [7]), array("d", [0.0]), [b""], [5_000] * 10),  # a long field
        (array("I", [7]), array("d", [nan]), [b"v"], [200_000] * 10),
        ([0, 3, 9], [1.0, 1.0, 1.0], [b"a", b"bb", b"a"], [4, 0, 2, 1, 1, 1, 1, 1, 1, 9]),
        ([0, 3, 9], [1.0, 0.3, 2.0], [b"a", b"", b"c"], [4, 5_000, 2, 1, 1, 1, 1, 1, 1, 9]),
        ([1, 2], [nan, nan], [b"x" * 40, b"y" * 40], [1, 2, 3]),
        (
            array("I", range(0, 3 * (PACK_MIN - 1), 3)),
            array("d", [1.5] * (PACK_MIN - 1)),
            [b"\x00\x00\x00\x01" + bytes([i % 7]) * 9 for i in range(PACK_MIN - 1)],
            list(range(3 * PACK_MIN)),
        ),
    ]
    (tmp_path / "ix").mkdir()
    ix = whoosh.index.create_in(str(tmp_path / "ix"), build_schema())
    writer = FastSegmentWriter(ix)
    try:
        fieldwriter = writer.fieldwriter
        for fieldname in ("abstract", "journal", "pmid"):  # variable, 4-byte, no values
            field = writer.schema[fieldname]
            fieldwriter.start_field(fieldname, field)
            terms = _TermWriter(fieldwriter, field.format)
            assert not terms._generic
            for docs, weights, values, lengths in cases:
                count = len(docs)
                small = terms._small_block(docs, weights, values, lengths, count)
                assert small == terms._blocks(docs, weights, values, lengths, count)
            fieldwriter.finish_field()
    finally:
        writer.cancel()


def test_a_finished_writer_frees_its_term_store_at_once(tmp_path: Path) -> None:
    """Committed or cancelled, the writer lets go of its term store: it is freed by
    reference counting, not left for a garbage collection to walk (and meanwhile kept
    beside the next batch's) while Whoosh's reference cycles hold the writer."""
    import gc
    import weakref

    for finish in ("commit", "cancel"):
        _, writer = _write(tmp_path / finish, FastSegmentWriter, DOCS[:20])
        store = weakref.ref(writer._terms)
        gc.disable()
        try:
            getattr(writer, finish)()
            assert store() is None, finish
        finally:
            gc.enable()
