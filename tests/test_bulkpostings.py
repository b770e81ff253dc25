"""Bulk posting writing: the same segments as Whoosh's own writer.

Columns and stored fields are the same bytes. Posting blocks hold the same postings
and statistics, but not always the same bytes: one-position values are shared
objects, which pickle writes once per block and refers back to.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import whoosh.index
from whoosh.filedb.compound import CompoundStorage
from whoosh.filedb.structfile import StructFile
from whoosh.writing import SegmentWriter

from searchkit.engine.bulkpostings import TermStore
from searchkit.engine.codec import BLOCK_LIMIT, PACK_MIN, SearchkitCodec
from searchkit.engine.field_indexers import compile_schema
from searchkit.engine.segment_writer import FastSegmentWriter
from searchkit.index.schema import build_schema

from .test_fastindex import sample_docs


#: Every fourth document of data/ (622, from every file, so every field and source
#: format): what the writers are compared on. Its common words have up to 380 postings
#: (more than two blocks of PACK_MIN: packed full blocks, a tuple block at the end;
#: :func:`long_lists` checks it); all of data/ (2,487) showed nothing more, in four
#: times the time.
def every_fourth_doc() -> list[dict[str, Any]]:
    return sample_docs()[::4]


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


def blocks(reader: Any, field: str, term: bytes) -> int:
    """How many posting blocks the term's list has (Whoosh's block matcher)."""
    matcher = reader.postings(field, term)
    count = 1
    while not matcher._lastblock:
        matcher._next_block()
        count += 1
    return count


def long_lists(terms: list[tuple[Any, ...]], length: int) -> list[tuple[Any, ...]]:
    """The abstract terms (positions) with more than ``length`` postings."""
    return [t for t in terms if t[0] == "abstract" and len(t[3]) > length]


def _contents(
    path: Path,
) -> tuple[dict[str, bytes], list[tuple[Any, ...]], list[dict[str, Any]]]:
    """The column files (bytes), every term's statistics and postings, and each
    document's stored fields, as an unmodified Whoosh reader reads them. The stored
    fields' column is compared by the fields it holds, not its bytes: searchkit's
    codec compresses them with ISA-L, Whoosh's with zlib (``codec.stored_by_deflate``;
    the streams themselves are checked in ``tests/test_blockzlib.py``)."""
    files = {
        k: v for k, v in _segment_files(path).items() if k not in ("pst", "trm", "_stored.col")
    }
    ix = whoosh.index.open_dir(str(path))
    with ix.reader() as reader:
        terms = term_postings(reader)
        stored = [reader.stored_fields(docnum) for docnum in range(reader.doc_count_all())]
    return files, terms, stored


def _write(path: Path, cls: Any, docs: list[dict[str, object]], **kwargs: Any) -> Any:
    path.mkdir()
    ix = whoosh.index.create_in(str(path), build_schema())
    writer = cls(ix, **kwargs)
    for doc in docs:
        writer.add_document(**doc)
    return ix, writer


@pytest.mark.slow
def test_bulk_postings_write_whooshs_postings(
    tmp_path: Path, stock_sample_dir: Path, stock_sample_contents: Any
) -> None:
    """The fast writer's blocks (here of PACK_MIN postings, so that the common words'
    lists span several: packed full blocks, a tuple block at the end) hold the
    postings Whoosh's writer and codec write."""
    assert len(long_lists(stock_sample_contents[1], 2 * PACK_MIN)) > 5
    ix, fast = _write(
        tmp_path / "fast", FastSegmentWriter, every_fourth_doc(), codec=SearchkitCodec(PACK_MIN)
    )
    assert fast._terms is not None
    fast.commit()
    expected = _segment_files(stock_sample_dir)
    assert {"pst", "trm", "_stored.col"} <= set(expected)
    assert _contents(tmp_path / "fast") == stock_sample_contents
    with ix.reader() as reader:
        (field, term, *_), *_ = long_lists(stock_sample_contents[1], 2 * PACK_MIN)
        assert blocks(reader, field, term) > 2


@pytest.mark.slow
def test_spilled_term_runs_write_the_same_postings(tmp_path: Path) -> None:
    _, stock = _write(tmp_path / "stock", SegmentWriter, sample_docs()[:300])
    stock.commit()
    _, fast = _write(tmp_path / "spill", FastSegmentWriter, sample_docs()[:300], limitmb=0.2)
    assert len(fast._terms.runs) > 3
    fast.commit()
    assert _contents(tmp_path / "spill") == _contents(tmp_path / "stock")
    assert not list((tmp_path / "spill").glob("*.tmp"))  # the runs are removed


@pytest.mark.slow
def test_merging_segments_with_bulk_postings(tmp_path: Path) -> None:
    """Merging a committed segment (its postings come through Whoosh's pool) into the
    new one (bulk postings) writes what Whoosh's writer writes for the same steps (on
    300 records: Whoosh's own writer and merge are the slow part; the committed half
    has words of PACK_MIN postings or more, so packed blocks are read back)."""
    docs = sample_docs()[:300]
    half = len(docs) // 2
    for name, cls in (("stock", SegmentWriter), ("fast", FastSegmentWriter)):
        ix, first = _write(tmp_path / name, cls, docs[:half])
        first.commit()
        if name == "fast":
            with ix.reader() as reader:
                lexicon = reader.lexicon("abstract")
                assert any(reader.doc_frequency("abstract", t) >= PACK_MIN for t in lexicon)
        second = cls(ix)
        for doc in docs[half:]:
            second.add_document(**doc)
        second.commit(optimize=True)
        assert len(ix._segments()) == 1
    # The merged documents' stored fields are copied as stored (perdoc_copy); Whoosh's
    # merge pickles each dict again, its fields in a set's order (which varies from
    # process to process): the same documents, not the same bytes (_contents compares
    # the stored fields as dicts).
    assert _contents(tmp_path / "fast") == _contents(tmp_path / "stock")


@pytest.mark.slow
def test_cancel_removes_spilled_runs(tmp_path: Path) -> None:
    _, fast = _write(tmp_path / "fast", FastSegmentWriter, sample_docs()[:100], limitmb=0.1)
    assert fast._terms.runs
    fast.cancel()
    assert not list((tmp_path / "fast").glob("*.tmp"))


@pytest.mark.slow
def test_term_writer_writes_the_blocks_whooshs_block_writer_writes(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """The term writer builds the codec's blocks itself; filling the codec's postings
    writer block by block instead (its ``_write_block``, ``finish_postings``) gives the
    same bytes, spilled runs or not, in one block or in many (on 250 records: some
    words have PACK_MIN postings or more, packed blocks; the common words span
    several blocks of 8; 0.2 MB spills)."""
    import searchkit.engine.term_writer as bulk

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
            ix, writer = _write(
                tmp_path / name,
                FastSegmentWriter,
                sample_docs()[:250],
                limitmb=limitmb,
                codec=codec,
            )
            assert bool(writer._terms.runs) == (limitmb < 1)
            writer.commit()
            files.append(_segment_files(tmp_path / name))
            if not files[1:]:
                with ix.reader() as reader:
                    lexicon = reader.lexicon("abstract")
                    packed = [t for t in lexicon if reader.doc_frequency("abstract", t) >= PACK_MIN]
                assert len(packed) > 5
        assert files[0] == files[1]


def _store_against_whoosh(docs: list[dict[str, Any]]) -> int:
    """Store ``docs``' fast fields' tokens (and, the other analyzers' path, their
    positions) and check they read back as the postings Whoosh's ``field.index`` makes
    of the same values: terms, documents, weights (field boosts included) and values,
    term by term. Returns the number of terms."""
    schema = build_schema()
    fast = compile_schema(schema)
    by_tokens = TermStore(None, 64)
    by_positions = TermStore(None, 64)
    expected: dict[tuple[str, bytes], list[tuple[int, float, bytes]]] = {}
    for docnum, doc in enumerate(docs):
        for name, indexer in fast.items():
            value = doc.get(name)
            if not isinstance(value, str):
                continue
            fieldboost = (1.0, 2.5, 0.3)[docnum % 3]
            postings = list(schema[name].index(value))
            for term, _, weight, encoded in postings:
                expected.setdefault((name, term), []).append((docnum, weight * fieldboost, encoded))
            length = by_tokens.add_tokens(
                name, docnum, *indexer.tokens(value), indexer.boost, fieldboost, indexer.encode
            )
            assert length == sum(p[1] for p in postings)
            assert length == by_positions.add_positions(
                name, docnum, indexer.positions(value), indexer.boost, fieldboost, indexer.encode
            )
    groups = [
        (name, term, [(d, w, v) for d, w, v in zip(docs, weights, values, strict=True)])
        for name, term, docs, weights, values in by_tokens
    ]
    assert groups == [(name, term, expected[name, term]) for name, term in sorted(expected)]
    assert [(n, t, list(d), list(w), v) for n, t, d, w, v in by_positions] == [
        (n, t, list(d), list(w), v) for n, t, d, w, v in by_tokens
    ]
    return len(groups)


@pytest.mark.slow
def test_the_term_store_keeps_the_postings_whoosh_makes() -> None:
    """The writer's path (the analysis' tokens, grouped into postings when the store is
    read) keeps the postings Whoosh makes of the same values."""
    assert _store_against_whoosh(sample_docs()[:200]) > 1000


def test_the_term_store_keeps_its_ids_when_the_analysis_starts_new_terms(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The termizer starts a new list of terms when its caches restart (here every few
    hundred words): the ids a field's tokens hold index the list they came with."""
    from searchkit.analysis import termizer
    from searchkit.engine import field_indexers

    monkeypatch.setattr(termizer, "CACHE_LIMIT", 300)
    field_indexers._shared_termizer.cache_clear()
    try:
        lists: set[int] = set()
        original = termizer.BiomedTermizer.tokens

        def tokens(self: Any, value: str) -> Any:
            found = original(self, value)
            lists.add(id(self.terms))
            return found

        monkeypatch.setattr(termizer.BiomedTermizer, "tokens", tokens)
        assert _store_against_whoosh(sample_docs()[:40]) > 500
        assert len(lists) > 3
    finally:
        field_indexers._shared_termizer.cache_clear()


def test_a_small_term_is_written_as_the_general_block_writer_writes_it(tmp_path: Path) -> None:
    """A term of one block of fewer than ``PACK_MIN`` postings (most terms) takes its own
    short path; the general one gives the same postings and term info bytes, for every
    kind of field value and the edge cases of weights, lengths and values."""
    from array import array

    from searchkit.engine.codec import PACK_MIN
    from searchkit.engine.term_writer import _TermWriter

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
        _, writer = _write(tmp_path / finish, FastSegmentWriter, sample_docs()[:20])
        store = weakref.ref(writer._terms)
        gc.disable()
        try:
            getattr(writer, finish)()
            assert store() is None, finish
        finally:
            gc.enable()


def test_blocks_compressed_or_not_read_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each block's header says whether its pickle is compressed: an index whose small
    blocks were compressed (as written before ZLIB_MIN was raised) and one whose small
    blocks are not hold the same postings for an unmodified Whoosh reader, and the
    first is the smaller (so both kinds of block were written)."""
    import searchkit.engine.codec as codec
    import searchkit.engine.term_writer as bulk

    docs = sample_docs()[:120]
    contents = {}
    sizes = {}
    for zlib_min in (48, codec.ZLIB_MIN):
        monkeypatch.setattr(codec, "ZLIB_MIN", zlib_min)
        monkeypatch.setattr(bulk, "ZLIB_MIN", zlib_min)
        path = tmp_path / str(zlib_min)
        _, writer = _write(path, FastSegmentWriter, docs)
        writer.commit()
        contents[zlib_min] = _contents(path)
        sizes[zlib_min] = len(_segment_files(path)["pst"])
    assert codec.ZLIB_MIN > 48
    assert contents[48] == contents[codec.ZLIB_MIN]
    assert sizes[48] < sizes[codec.ZLIB_MIN]


def _hash_file(keys: list[bytes], packed: bool) -> bytes:
    """A Whoosh ordered hash file of ``keys`` (as a segment's terms file is written),
    its buckets Whoosh's lists or :class:`HashBucket` s."""
    from whoosh.filedb.filetables import OrderedHashWriter

    from searchkit.engine.term_writer import packed_buckets

    buf = io.BytesIO()
    writer = OrderedHashWriter(StructFile(buf))
    half = len(keys) // 2
    for key in keys[:half]:  # some added before the buckets are packed, as Whoosh adds
        writer.add(key, key[::-1])
    if packed:
        packed_buckets(writer)
    for key in keys[half:]:
        writer.add(key, key[::-1])
    writer.dbfile.close = lambda: None  # keep the buffer readable
    writer.close()
    return buf.getvalue()


def test_packed_hash_buckets_write_the_same_terms_file() -> None:
    """The terms of data/'s records (field-prefixed, sorted, as a segment holds them):
    the hash tables written from packed buckets are Whoosh's, byte for byte, at 16
    bytes a term held instead of a tuple."""
    from searchkit.engine.term_writer import HashBucket

    words = sorted({w.encode() for d in sample_docs() for w in str(d.get("abstract", "")).split()})
    assert len(words) > 5000
    assert _hash_file(words, packed=True) == _hash_file(words, packed=False)
    bucket = HashBucket([(7, 100), (2**32 - 1, 2**40)])
    bucket.append((3, 5))
    assert len(bucket) == 3 and list(bucket) == [(7, 100), (2**32 - 1, 2**40), (3, 5)]
    assert bucket._pairs.itemsize * len(bucket._pairs) == 16 * len(bucket)
