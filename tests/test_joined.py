"""Every segment of an index read as one (:mod:`searchkit.engine.joined`): the joined
arrays are each segment's, shifted to top-level numbers; and a search gives the same
records with the same scores whether the index holds one segment or several."""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from whoosh.codec.whoosh3 import W3TermsReader
from whoosh.scoring import BM25F

from searchkit import Record, SearchIndex
from searchkit.engine import postings
from searchkit.engine.docgroup import DocGroup
from searchkit.engine.joined import JoinedArrays, arrays_of, query_scope
from searchkit.engine.phrase_match import phrase_starts
from searchkit.engine.postings import SegmentArrays, live_doc_frequency
from searchkit.index.ingest import ingest
from searchkit.readers import read_file
from searchkit.searching.feedback import FEEDBACK_FIELDS as FIELDS
from searchkit.searching.feedback import _best_terms

from .cli_helpers import run
from .conftest import SAMPLE_SUBSET

DATA = Path(__file__).resolve().parents[1] / "data"

#: Free text alone, and free text inside an ``And`` with a tag, a range or a NOT (its
#: proximity bonus goes to the best of the records the other parts leave).
QUERIES = [
    "cancer cells",
    "immune response in patients",
    '"gene expression" tumor',
    "cancer AND 2000:2020[dp]",
    "cells AND humans[mh]",
    "protein expression AND english[la]",
    "patients treatment NOT mice",
    "(tumor OR cancer) AND cells",
    "cell* AND review[pt]",
]


@pytest.fixture(scope="module")
def layouts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, Path]:
    """The same records of data/ in an index of several segments (three ingests) and
    in an index of one segment (one ingest); the first with some records deleted
    (their copies stay in the segments); and the records left in one segment."""
    work = tmp_path_factory.mktemp("joined")
    files = sorted(SAMPLE_SUBSET)
    layered = work / "layered"
    index = SearchIndex.create(layered)
    for part in (files[::3], files[1::3], files[2::3]):
        assert ingest(part, index).ok
    assert len(index.shared_searcher(BM25F()).leaf_searchers()) >= 2
    index.close()
    whole = work / "whole"
    index = SearchIndex.create(whole)
    assert ingest(files, index).ok
    index.optimize()
    assert len(index.shared_searcher(BM25F()).leaf_searchers()) == 1
    with index.searcher() as searcher:
        gone = sorted(str(f["pmid"]) for f in searcher.all_stored_fields())[::7]
    index.close()
    deleted, left = work / "deleted", work / "left"
    shutil.copytree(layered, deleted)
    shutil.copytree(whole, left)
    for path, merge in ((deleted, False), (left, True)):
        index = SearchIndex.open(path)
        index.delete(gone)
        if merge:
            index.optimize()
        index.close()
    return layered, whole, deleted, left


def test_joined_arrays_are_the_segments_arrays_shifted(
    layouts: tuple[Path, Path, Path, Path],
) -> None:
    """Postings, positions, lengths, deletions and document frequencies of the joined
    arrays are each segment's, its numbers moved by the documents before it."""
    index = SearchIndex.open(layouts[2])
    reader = index.shared_searcher(BM25F()).reader()
    joined = arrays_of(reader)
    assert isinstance(joined, JoinedArrays)
    leaves = reader.leaf_readers()
    parts = [(SegmentArrays(leaf), offset) for leaf, offset in leaves]
    assert joined.deleted().any()  # the deleted records' copies
    assert joined.deleted().tolist() == np.concatenate([a.deleted() for a, _ in parts]).tolist()
    assert joined.size == reader.doc_count_all()
    checked = 0
    for field, text in [
        ("abstract", "cell"),
        ("abstract", "cancer"),
        ("title", "protein"),
        ("abstract", "express"),
        ("abstract", "no-such-word"),
    ]:
        ids, weights = joined.postings(field, text, positions=True)
        expected = [(a.postings(field, text), off) for a, off in parts]
        assert ids.tolist() == [d + off for (i, _), off in expected for d in i.tolist()]
        assert weights.tolist() == [w for (_, ws), _ in expected for w in ws.tolist()]
        assert joined.doc_frequency(field, text) == sum(
            a.doc_frequency(field, text) for a, _ in parts
        )
        docs = ids[::3]
        keys = joined.position_keys(field, text, docs)
        by_doc = joined.positions(field, text, docs)
        lengths = joined.lengths_at(field, docs)
        for d, length in zip(docs.tolist(), lengths.tolist(), strict=True):
            k = int(np.searchsorted([off for _, off in parts], d, side="right")) - 1
            arrays, off = parts[k]
            local = np.array([d - off], dtype=np.int64)
            assert by_doc[d] == arrays.positions(field, text, local)[d - off]
            mine = keys[(keys >> 32) == d] & 0xFFFFFFFF
            assert mine.tolist() == by_doc[d]
            assert length == arrays.lengths_at(field, local)[0]
            checked += 1
    assert checked > 100
    assert joined.position_keys("abstract", "cell", ids[:0]).tolist() == []


def test_each_segment_is_decoded_into_its_place_in_the_joined_lists(
    layouts: tuple[Path, Path, Path, Path],
) -> None:
    """A term no segment has read is decoded straight into the joined lists: each
    segment's entry is a view of them (its deleted postings moved out), and answers
    as the segment read alone does; a segment that read the term before is copied."""
    index = SearchIndex.open(layouts[2])
    reader = index.shared_searcher(BM25F()).reader()
    leaves = reader.leaf_readers()
    alone = SegmentArrays(leaves[0][0])  # shares the index's cache
    read_before = alone.postings("abstract", "tumor")[0]
    with query_scope():
        joined = arrays_of(reader)
        assert isinstance(joined, JoinedArrays)
        for text in ("cell", "tumor"):
            ids, weights = joined.postings("abstract", text)
            starts = [0]
            for (leaf, offset), part in zip(leaves, joined.parts, strict=True):
                entry = part.entry("abstract", text)
                fresh = SegmentArrays(leaf)
                fresh._cache = None  # read from the file, not the cache
                expected, expected_weights = fresh.postings("abstract", text)
                at = slice(starts[-1], starts[-1] + len(expected))
                starts.append(at.stop)
                assert (ids[at] - offset).tolist() == expected.tolist()
                assert weights[at].tolist() == expected_weights.tolist()
                assert part.postings("abstract", text)[0].tolist() == expected.tolist()
                assert part.doc_frequency("abstract", text) == fresh.doc_frequency("abstract", text)
                if text == "tumor" and part is joined.parts[0]:
                    assert entry.base is None  # the segment's own, copied
                    assert entry.ids is read_before
                elif len(expected):
                    assert entry.base == offset
                    assert np.shares_memory(entry.ids, ids)
            assert starts[-1] == len(ids)
    assert any(SegmentArrays(leaf).deleted().any() for leaf, _ in leaves)


def test_the_index_cache_keeps_the_joined_lists_and_the_positions_read_whole(
    layouts: tuple[Path, Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next search finds a term's joined lists in the index's cache (nothing
    decoded, nothing copied), with each segment's entry; positions a phrase read
    whole are kept with them, not read again block by block."""
    monkeypatch.setattr(postings, "KEEP_VALUES_MAX_BYTES", 0)  # every list rereads
    index = SearchIndex.open(layouts[2])
    reader = index.shared_searcher(BM25F()).reader()
    with query_scope():
        first = arrays_of(reader)
        ids, _ = first.postings("abstract", "express")
        entries = [part.entry("abstract", "express") for part in first.parts]
        assert any(e.values is not None and e.values.rereads for e in entries)
    with query_scope():
        second = arrays_of(reader)
        assert second is not first
        assert second.postings("abstract", "express")[0] is ids
        again = [part.entry("abstract", "express") for part in second.parts]
        assert all(a is b for a, b in zip(again, entries, strict=True))
        second.postings("abstract", "express", positions=True)  # a phrase's word
        kept = [part.entry("abstract", "express") for part in second.parts]
        assert all(e.values is None or not e.values.rereads for e in kept)
    with query_scope():
        third = arrays_of(reader)
        assert third.postings("abstract", "express")[0] is ids
        for part, entry in zip(third.parts, kept, strict=True):
            assert part.entry("abstract", "express") is entry
        third.position_keys("abstract", "express", ids)  # each segment's, kept whole
        assert third._postings[("abstract", "express")].values is None


def test_a_terms_positions_are_looked_up_once_for_every_segment(
    layouts: tuple[Path, Path, Path, Path],
) -> None:
    """The positions of a term whose segments keep their values are looked up in
    their values chained as one (deleted postings left out as each segment leaves
    them), the same as each segment gives; values read again block by block (a long
    list) are asked of each segment."""
    index = SearchIndex.open(layouts[2])
    reader = index.shared_searcher(BM25F()).reader()
    leaves = reader.leaf_readers()
    with query_scope():
        joined = arrays_of(reader)
        assert isinstance(joined, JoinedArrays)
        ids, _ = joined.postings("abstract", "cell")
        assert joined._postings[("abstract", "cell")].values is None  # not yet needed
        chained = joined._chained("abstract", "cell")
        assert chained is not None and chained._value_mask is not None  # deletions
        keys = joined.position_keys("abstract", "cell", ids)
        assert joined._postings[("abstract", "cell")].values is chained
        expected = []
        for leaf, offset in leaves:
            alone = SegmentArrays(leaf)
            local = alone.postings("abstract", "cell")[0]
            expected.extend(
                (alone.position_keys("abstract", "cell", local) + (offset << 32)).tolist()
            )
        assert keys.tolist() == expected
        by_doc = joined.positions("abstract", "cell", ids[::5])
        assert all(by_doc[d] == (keys[(keys >> 32) == d] & 0xFFFFFFFF).tolist() for d in by_doc)


def test_a_words_count_and_its_postings_take_one_term_lookup_a_segment(
    layouts: tuple[Path, Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A phrase's words are counted before their postings are read: each segment
    looks the term up once for both; once read, the count is the joined lists'."""
    index = SearchIndex.open(layouts[2])
    reader = index.shared_searcher(BM25F()).reader()
    expected = sum(leaf.doc_frequency("abstract", "protein") for leaf, _ in reader.leaf_readers())
    lookups: list[str] = []
    for name in ("term_info", "doc_frequency"):  # the term dictionary's two lookups
        real = getattr(W3TermsReader, name)

        def counted(
            self: W3TermsReader, *args: object, _real: Any = real, _name: str = name
        ) -> Any:
            lookups.append(_name)
            return _real(self, *args)

        monkeypatch.setattr(W3TermsReader, name, counted)
    with query_scope():
        joined = arrays_of(reader)
        assert isinstance(joined, JoinedArrays)
        assert joined.doc_frequency("abstract", "protein") == expected
        joined.postings("abstract", "protein")
        assert joined.doc_frequency("abstract", "protein") == expected
    assert len(lookups) == len(reader.leaf_readers())
    with query_scope():  # the next search: the joined lists from the index's cache
        assert arrays_of(reader).doc_frequency("abstract", "protein") == expected
    assert len(lookups) == len(reader.leaf_readers())


def test_live_document_frequencies_leave_out_the_deleted_copies(
    layouts: tuple[Path, Path, Path, Path],
) -> None:
    """The joined arrays' live document frequency (what the second stage weighs its
    concepts by) is the searcher's, before its postings are read and after."""
    index = SearchIndex.open(layouts[2])
    searcher = index.shared_searcher(BM25F())
    joined = arrays_of(searcher.reader())
    assert isinstance(joined, JoinedArrays)
    fewer = 0
    for field, text in [("abstract", "cell"), ("title", "cancer"), ("abstract", "no-such")]:
        live = live_doc_frequency(searcher, field, text)
        assert joined.live_doc_frequency(field, text) == live  # from the term infos
        assert len(joined.postings(field, text)[0]) == live
        assert joined.live_doc_frequency(field, text) == live  # from the postings read
        fewer += live < joined.doc_frequency(field, text)
    assert fewer  # some deleted copies hold the words: the counts differ


def test_a_query_scope_gives_one_arrays_object_per_reader(
    layouts: tuple[Path, Path, Path, Path],
) -> None:
    """Within a scope the stages of a search share the arrays (and what they read);
    outside, each caller gets its own, so nothing read outlives the search."""
    index = SearchIndex.open(layouts[0])
    reader = index.shared_searcher(BM25F()).reader()
    assert arrays_of(reader) is not arrays_of(reader)
    with query_scope():
        first = arrays_of(reader)
        assert arrays_of(reader) is first
        with query_scope():  # a scope inside another is the outer one
            assert arrays_of(reader) is first
        assert arrays_of(reader) is first
        one = reader.leaf_readers()[0][0]
        assert isinstance(arrays_of(one), SegmentArrays)
        assert arrays_of(one) is arrays_of(one)
    assert arrays_of(reader) is not first


@pytest.mark.parametrize("layout", [0, 2])
def test_a_group_of_documents_reads_the_joined_arrays_as_each_segment_would(
    layouts: tuple[Path, Path, Path, Path], layout: int
) -> None:
    """The second stage's and the snippets' lookups in some documents (DocGroup) give
    what each segment's own arrays give for the documents it holds."""
    index = SearchIndex.open(layouts[layout])
    searcher = index.shared_searcher(BM25F())
    leaves = searcher.reader().leaf_readers()
    assert len(leaves) > 1
    offsets = [offset for _, offset in leaves]
    docnums = list(range(0, searcher.doc_count_all(), 5))
    group = DocGroup(searcher, docnums)
    found = 0
    for field, text in [("abstract", "cell"), ("title", "cancer"), ("abstract", "no-such")]:
        held: set[int] = set()
        keys: list[int] = []
        for (leaf, offset), end in zip(leaves, [*offsets[1:], 1 << 40], strict=True):
            arrays = SegmentArrays(leaf)
            local = np.array([d - offset for d in docnums if offset <= d < end], dtype=np.int64)
            ids = set(arrays.postings(field, text)[0].tolist())
            held.update(d + offset for d in local.tolist() if d in ids)
            keys.extend((arrays.position_keys(field, text, local) + (offset << 32)).tolist())
        assert group.containing(field, text) == held
        assert group.position_keys(field, text).tolist() == keys
        by_doc = group.positions(field, text)
        assert sorted(by_doc) == sorted(held)
        assert [(d << 32) | p for d in sorted(by_doc) for p in by_doc[d]] == keys
        found += len(held)
    assert found > 50
    expected = phrase_starts(
        [group.position_keys("abstract", w) for w in ("tumor", "cell")], 2
    ).tolist()
    assert group.phrase_starts("abstract", ["tumor", "cell"], 2).tolist() == expected
    assert expected


def _ranked(index: Path, query: str, *options: str) -> list[tuple[str, str]]:
    result = run(
        index, "search", query, *options, "-f", "csv", "--fields", "pmid,score", "-n", "all"
    )
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    return [(row["pmid"], row["score"]) for row in rows]


def _assert_same_rankings(index: Path, expected_index: Path) -> None:
    """Every query of :data:`QUERIES` ranks the same records with the same scores on
    both indexes (most of them a hundred records or more)."""
    matched = 0
    for query in QUERIES:
        expected = _ranked(expected_index, query)
        assert _ranked(index, query) == expected, query
        matched += len(expected) > 100
    assert matched >= 5


def test_the_layout_never_changes_a_ranking(layouts: tuple[Path, Path, Path, Path]) -> None:
    """The same records, in several segments or in one: the same
    hits in the same order with the same scores, for free text alone and inside an
    ``And``/``NOT`` (whose proximity bonus went to each segment's share of the best,
    not to the best of the index, when segments were evaluated one by one)."""
    layered, whole, _, _ = layouts
    _assert_same_rankings(layered, whole)
    # The same through a real process.
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "searchkit",
            "search",
            QUERIES[3],
            "--index",
            str(layered),
            "-f",
            "csv",
            "--fields",
            "pmid,score",
            "-n",
            "all",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [(r["pmid"], r["score"]) for r in rows] == _ranked(whole, QUERIES[3])


def test_deleted_copies_never_change_a_ranking(layouts: tuple[Path, Path, Path, Path]) -> None:
    """Records deleted (or replaced) leave copies in their segments until a merge
    drops them: the index's size, document frequencies and mean lengths count the live
    records only, so the records left rank as they do in an index of them alone."""
    _, _, deleted, left = layouts
    index = SearchIndex.open(deleted)
    searcher = index.shared_searcher(BM25F())
    assert searcher.doc_count() < searcher.doc_count_all()  # the copies are there
    index.close()
    _assert_same_rankings(deleted, left)


def test_deleted_copies_never_change_the_expansion(
    layouts: tuple[Path, Path, Path, Path],
) -> None:
    """``--expand`` weighs each feedback word by its idf: over the live records only,
    as the scores' statistics are, so that the words added and their weights are an
    index of the records left's (Whoosh's counts include the deleted copies)."""
    _, _, deleted, left = layouts
    for query in ("cancer cells", "tumor gene expression", QUERIES[2]):
        expected = _ranked(left, query, "--expand")
        assert len(expected) >= 5
        assert _ranked(deleted, query, "--expand") == expected, query


def test_the_expansion_counts_live_only_the_words_that_can_win(
    layouts: tuple[Path, Path, Path, Path],
) -> None:
    """Feedback reads postings for a live count only where Whoosh's counts (copies
    included) leave a word's place among the best open: the words chosen, and their
    weights, are those of every candidate counted live."""
    _, _, deleted, _ = layouts
    index = SearchIndex.open(deleted)
    searcher = index.shared_searcher(BM25F())
    assert searcher.doc_count() < searcher.doc_count_all()
    n_docs = searcher.doc_count()
    words = sorted(
        {t for f in ("title", "abstract") for t in searcher.lexicon(f)}, key=lambda t: t
    )[::40]
    words = [w.decode() if isinstance(w, bytes) else w for w in words]
    words = [w for w in words if any(map(str.isalpha, w))]
    assert len(words) > 100
    model = {w: 1.0 / (1 + i % 17) for i, w in enumerate(words)}
    everyone = sorted(
        (
            p
            * math.log(
                1.0 + n_docs / (max(live_doc_frequency(searcher, f, w) for f in FIELDS) + 1)
            ),
            w,
        )
        for w, p in model.items()
    )[::-1]
    for k in (1, 10, 25):
        assert _best_terms(searcher, model, k) == everyone[:k]
    index.close()


def test_records_scoring_alike_rank_alike_in_any_order(tmp_path: Path) -> None:
    """Records that score alike (here 120 copies of one real record, under other
    PMIDs) rank the same whatever order they were ingested in: the proximity bonus of
    free text inside an ``AND`` goes to every record tied with the last of its depth
    (it went to as many as the depth, chosen by document number: the copies ingested
    first), and ties are then broken by PMID."""
    record = next(
        r for path in sorted(DATA.iterdir()) for r in _records(path) if r.pmid == "21707279"
    )
    lines = []
    for i in range(120):
        copy = record.to_dict()
        copy["pmid"] = str(90_000_001 + i)
        copy.pop("doi", None)
        lines.append(json.dumps(copy))
    answers = []
    for name, ordered in (("ascending", lines), ("descending", lines[::-1])):
        source = tmp_path / f"{name}.jsonl"
        source.write_text("\n".join(ordered) + "\n", encoding="utf-8")
        index = tmp_path / name
        assert run(index, "ingest", str(source)).exit_code == 0
        answers.append(_ranked(index, "immune escape AND humans[mh]"))
    assert len(answers[0]) == 120
    assert answers[0] == answers[1]
    # The copies tied before the second stage re-scored the first 100 by PMID.
    assert answers[0][0][0] == "90000001" and len({s for _, s in answers[0][:100]}) == 1


def _records(path: Path) -> list[Record]:
    return [r for r in read_file(path) if isinstance(r, Record)]
