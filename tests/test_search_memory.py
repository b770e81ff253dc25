"""What a search keeps in memory (issue 20: one ``searchkit search`` on a million
records must stay under 200 MB), and that the smaller structures give the values the
old ones gave, bit for bit, on the real records of data/:

* field lengths kept as their one-byte codes, not a float per document;
* each posting's value boundaries in one array, not two;
* the mapped pages of a segment given back once a term's postings are read;
* the coordination of a free-text query kept as counts, not a float per document."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from whoosh.util.numeric import byte_to_length

from searchkit import SearchIndex
from searchkit.engine import mapped, postings, scoring, sparse
from searchkit.engine.mapped import RELEASE_MIN, MappedFile
from searchkit.engine.nodes import BestMatch, Expansion, Proximity, weighting
from searchkit.engine.postings import SegmentArrays, _lengths_column
from searchkit.params import DEFAULT
from searchkit.query.parser import parse
from searchkit.searching import pipeline

from .conftest import ROOT

LINUX = sys.platform.startswith("linux")
QUERIES = [
    *(ROOT / "benchmarks" / "queries.txt").read_text("utf-8").splitlines()[:12],
    "cancer stem cells",
    "immune escape MHC",
]
COMMON = [("abstract", "cell"), ("abstract", "patient"), ("title", "cancer"), ("mesh", "human")]
LONG = [("abstract", "cell"), ("abstract", "patient"), ("abstract", "studi")]


def _old_lengths(reader: object, field: str, size: int) -> np.ndarray:
    """The lengths as searchkit decoded them before: a float per document, from the
    column's bytes."""
    column = _lengths_column(reader, field)  # type: ignore[arg-type]
    if column is None:  # no lengths column: Whoosh's per-document lookup
        read = reader.doc_field_length  # type: ignore[attr-defined]
        return np.array([read(d, field, 0) or 0 for d in range(size)], dtype=np.float64)
    raw = column._dbfile.get(column._basepos, column._count)
    codes = list(raw[:size]) + [0] * max(0, size - len(raw))
    return np.array([byte_to_length(c) for c in codes], dtype=np.float64)


def test_lengths_are_kept_as_bytes_and_decode_as_before(sample_index: SearchIndex) -> None:
    searcher = sample_index.shared_searcher(weighting(DEFAULT))
    fields = [n for n in searcher.schema.names() if searcher.schema[n].scorable]
    assert {"title", "abstract"} <= set(fields)
    stats = scoring._Stats(searcher)
    coded = 0
    for field in fields:
        total = 0.0
        for sub, _ in searcher.leaf_searchers():
            reader = sub.reader()
            arrays = SegmentArrays(reader)
            lengths = arrays.field_lengths(field)
            old = _old_lengths(reader, field, arrays.size)
            everyone = np.arange(arrays.size)
            assert lengths.at(everyone).tobytes() == old.tobytes()
            some = everyone[::5]
            assert arrays.lengths_at(field, some).tobytes() == old[some].tobytes()
            assert lengths.total() == float(old.sum())
            if _lengths_column(reader, field) is not None:
                assert lengths._codes is not None and lengths._codes.nbytes == arrays.size
                coded += 1
            for d in some[:50].tolist():
                assert old[d] == (reader.doc_field_length(d, field, 0) or 0)
            total += float(old[~arrays.deleted()].sum())  # live records only
        assert stats.avg_length(field) == (total / stats.n_docs or 1.0)
    assert coded >= 2


def test_value_boundaries_are_one_array_and_give_whoosh_values(
    sample_index: SearchIndex,
) -> None:
    with sample_index.searcher() as s:
        checked = shared = 0
        for sub, _ in s.leaf_searchers():
            reader = sub.reader()
            arrays = SegmentArrays(reader)
            for field, text in COMMON[:3]:
                if (field, text) not in reader:
                    continue
                entry = arrays.entry(field, text)
                values = entry.values
                assert values is not None
                assert values.starts.dtype == np.uint32
                if not reader.has_deletions():  # else those of the live postings
                    assert values.starts.base is not None
                    assert values.starts.base is values.ends.base
                    assert values.nbytes == len(values.blob) + 4 * (len(entry.ids) + 1)
                    shared += 1
                m = reader.postings(field, text)  # deleted documents left out
                whoosh_values = []
                while m.is_active():
                    whoosh_values.append(m.value())
                    m.next()
                starts, ends = values.starts.tolist(), values.ends.tolist()
                mine = [values.blob[a:b] for a, b in zip(starts, ends, strict=True)]
                assert mine == whoosh_values
                checked += len(mine)
        assert checked > 1000 and shared


def _mapped_rss_kb(path: Path) -> int:
    """Resident kB of this process's maps of ``path``."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()
        if head and "-" in head[0] and len(head) >= 5 and ":" not in head[0]:
            inside = len(head) >= 6 and head[-1] == str(path)
        elif inside and head[0] == "Rss:":
            total += int(head[1])
    return total


@pytest.mark.skipif(not LINUX, reason="reads /proc/self/smaps")
def test_a_long_posting_list_is_read_without_mapping_its_pages(
    sample_index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sample's longest lists take 7-9 KB; a common word of a large index megabytes.
    monkeypatch.setattr(mapped, "RELEASE_MIN", 4096)
    copy = tmp_path / "index"  # mapped by this test alone
    shutil.copytree(sample_index_dir, copy)
    index = SearchIndex.open(copy)
    searcher = index.shared_searcher(weighting(DEFAULT))
    sub = max((sub for sub, _ in searcher.leaf_searchers()), key=lambda s: s.doc_count_all())
    reader = sub.reader()
    segment = next(p for p in copy.glob("*.seg") if reader.segment().segment_id() in p.name)
    arrays = SegmentArrays(reader)
    # Looking the terms up maps pages of the term dictionary (kept: the next lookups
    # use them again).
    for field, text in LONG:
        assert arrays.doc_frequency(field, text) > 0
    looked_up = _mapped_rss_kb(segment)
    assert looked_up > 0
    read = 0
    for field, text in LONG:
        ids, _ = arrays.postings(field, text)
        read += len(ids)
        # The blocks came from the page cache by pread: no more of the segment is
        # resident than the lookups left.
        assert _mapped_rss_kb(segment) == looked_up, (field, text)
    assert read > 1000
    # The same postings as a reader that goes through Whoosh's matcher and the map.
    monkeypatch.setattr(postings, "BY_EXTENT", False)
    again = SegmentArrays(reader)
    again._cache = None
    for field, text in LONG:
        fresh = again._read_postings(field, text)
        assert fresh.ids.tolist() == arrays.postings(field, text)[0].tolist()


@pytest.mark.skipif(not LINUX, reason="reads /proc/self/smaps")
def test_large_reads_give_their_pages_back(tmp_path: Path) -> None:
    path = tmp_path / "part.seg"
    data = bytes(range(256)) * (4 * RELEASE_MIN // 256)
    path.write_bytes(data)
    f = MappedFile.open(str(path))
    assert isinstance(f, MappedFile)
    try:
        small = f.subset(100, 1000)
        assert small.read(10) == data[100:110]
        assert _mapped_rss_kb(path) > 0  # a small read keeps its page
        part = f.subset(4096, len(data) - 8192)
        assert part.get(0, 2 * RELEASE_MIN) == data[4096 : 4096 + 2 * RELEASE_MIN]
        # A long read past the part's end gives what the part holds, as a slice would.
        assert part.get(len(data) - 8192 - 100, RELEASE_MIN) == data[-4196:-4096]
        part.seek(RELEASE_MIN)
        assert part.read(RELEASE_MIN) == data[4096 + RELEASE_MIN : 4096 + 2 * RELEASE_MIN]
        f.release_all()
        assert _mapped_rss_kb(path) == 0
        assert part.get(0, len(data) - 8192) == data[4096:-4096]  # mapped again
    finally:
        f.close()


def _old_base(seg: scoring.Evaluator, q: BestMatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``best_match_base`` as it was: a float coordination factor per document."""
    concepts = [sub for sub in q.subqueries if not isinstance(sub, Proximity | Expansion)]
    n = len(concepts)
    ids, total, matched = sparse.sum_counted([seg.eval(sub) for sub in concepts])
    coord = np.ones(len(ids), dtype=np.float64)
    if n > 1 and seg.params.coordination:
        coord = ((np.arange(n + 1) / n) ** seg.params.coordination)[matched]
    return ids, total * coord, coord


def test_coordination_counts_give_the_old_factors(sample_index: SearchIndex) -> None:
    searcher = sample_index.shared_searcher(weighting(DEFAULT))
    compared = 0
    for text in QUERIES:
        q, _ = pipeline.compile_query(sample_index, parse(text), DEFAULT)
        if not isinstance(q, BestMatch):
            continue
        seg = scoring.evaluator(searcher, DEFAULT, 20)
        ids, score, coord = seg.best_match_base(q)
        old_ids, old_score, old_coord = _old_base(seg, q)
        assert ids.tolist() == old_ids.tolist(), text
        assert score.tobytes() == old_score.tobytes(), text
        assert coord.at(np.arange(len(ids))).tobytes() == old_coord.tobytes(), text
        assert coord.counts.dtype == np.uint8
        compared += len(ids)
    assert compared > 1000
