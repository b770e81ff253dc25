"""Segment merges: through the fast writer, and only as many as the tiered policy asks.

A merged index must answer exactly as the segments it merged (same postings, stored
fields, lengths, PMID column; same hits and scores), and a commit must merge only the
small tiers, never rewrite the large segment on each ingest.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import whoosh.index
from whoosh.writing import SegmentWriter

from searchkit import SearchIndex, search
from searchkit.engine.codec import PACK_MIN, SearchkitCodec
from searchkit.engine.merging import choose_merge, tier, tiered_merge
from searchkit.engine.segment_writer import FastMpWriter
from searchkit.index.documents import record_to_fields
from searchkit.index.searchindex import INDEX_NAME
from searchkit.params import DEFAULT
from searchkit.readers import read_file
from searchkit.records import Record

from .conftest import SAMPLE_DIR
from .test_bulkpostings import term_postings
from .test_cli import _searchkit_exe
from .test_fastindex import sample_records

#: No merge at all while an index is built segment by segment (nor a rewrite of a
#: segment for its deleted documents).
NO_MERGES = replace(DEFAULT, merge_factor=10_000, merge_deletes_pct=100)
#: The proximity bonus for every candidate: by default only the best candidates get
#: it, and which of two equal scores is among them depends on the documents' numbers
#: (the order the records were merged in), not on what the index holds.
EVERY_CANDIDATE = replace(DEFAULT, proximity_depth=100_000)
QUERIES = [
    "immune escape MHC",
    "cancer stem cells",
    '"tumor microenvironment"',
    '"immune escape"',
    "protein[ti]",
    "smith[au]",
    "breast cancer AND mice[mh]",
    '"cell lines"~3 expression',
]


@functools.cache
def distinct_records() -> list[Record]:
    """Each PMID of data/ once (its last version), by PMID."""
    seen = {record.pmid: record for record in sample_records()}
    return sorted(seen.values(), key=lambda r: r.pmid)


def _segments(path: Path) -> list[Any]:
    return list(whoosh.index.open_dir(str(path), indexname=INDEX_NAME)._segments())


@pytest.fixture(scope="module")
def segmented_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 of data/'s records in eight commits (eight segments), with deletions and upserts
    (changed titles) in between, never merged. Read-only: tests merge copies."""
    path = tmp_path_factory.mktemp("segmented") / "ix"
    _segmented_index(path)
    return path


def _segmented_index(path: Path) -> SearchIndex:
    index = SearchIndex.create(path)
    records = distinct_records()[:200]
    for start in range(0, 200, 50):
        index.apply({r.pmid: r for r in records[start : start + 50]}, set(), params=NO_MERGES)
        gone = {r.pmid for r in records[start : start + 50 : 7]}
        changed = {
            r.pmid: replace(r, title=f"{r.title} revised")
            for r in records[start + 3 : start + 50 : 11]
            if r.pmid not in gone
        }
        index.apply(changed, gone, params=NO_MERGES)
    assert len(_segments(path)) == 8
    return index


def _contents(path: Path) -> dict[str, Any]:
    """Everything a merged index holds, as an unmodified Whoosh reader reads it
    (document numbers of live documents only, in order)."""
    ix = whoosh.index.open_dir(str(path), indexname=INDEX_NAME)
    with ix.reader() as reader:
        assert reader.is_atomic()
        assert not reader.has_deletions()
        terms = term_postings(reader, with_ids=False)  # a merge renumbers documents
        names = reader.schema.names()
        docs = [
            (
                reader.stored_fields(d),
                [reader.doc_field_length(d, name) for name in names],
            )
            for d in reader.all_doc_ids()
        ]
        pmid_column = list(reader.column_reader("pmid"))
        year_column = list(reader.column_reader("year"))
    return {"terms": terms, "docs": docs, "pmid": pmid_column, "year": year_column}


def _stock_optimize(path: Path) -> None:
    """Whoosh's own merge (add_reader through its posting pool and add_postings)."""
    ix = whoosh.index.open_dir(str(path), indexname=INDEX_NAME)
    writer = SegmentWriter(ix, codec=SearchkitCodec())
    writer.commit(optimize=True)


def _answers(index: SearchIndex) -> list[list[tuple[str, float]]]:
    return [
        [
            (hit.pmid, hit.score)
            for hit in search(
                index, q, limit=10_000, with_snippets=False, params=EVERY_CANDIDATE
            ).hits
        ]
        for q in QUERIES
    ]


def _assert_same_answers(
    a: SearchIndex, b: SearchIndex, near: frozenset[str] = frozenset()
) -> None:
    """The same hits in the same order, scores to 1e-9; for the ``near`` queries the
    same hits with scores within 1% (so close scores may swap places)."""
    for query, left, right in zip(QUERIES, _answers(a), _answers(b), strict=True):
        if query in near:
            theirs = dict(right)
            assert {p for p, _ in left} == set(theirs), query
            for pmid, score in left:
                assert score == pytest.approx(theirs[pmid], rel=1e-2), query
            continue
        assert [p for p, _ in left] == [p for p, _ in right], query
        for (_, x), (_, y) in zip(left, right, strict=True):
            assert x == pytest.approx(y, rel=1e-9, abs=1e-9), query


@pytest.mark.slow
def test_fast_merge_writes_what_whooshs_merge_writes(tmp_path: Path, segmented_dir: Path) -> None:
    """optimize through the fast writer and through Whoosh's per-posting path, on the
    same segments with deletions and upserts: the same postings (positions included),
    term statistics, stored fields, lengths and columns; deleted documents dropped."""
    shutil.copytree(segmented_dir, tmp_path / "fast")
    shutil.copytree(segmented_dir, tmp_path / "stock")
    fast = SearchIndex.open(tmp_path / "fast")
    assert fast.optimize()[1] == 1
    _stock_optimize(tmp_path / "stock")
    merged, stock = _contents(tmp_path / "fast"), _contents(tmp_path / "stock")
    assert merged["docs"] == stock["docs"]
    assert merged["pmid"] == stock["pmid"] and merged["year"] == stock["year"]
    assert len(merged["terms"]) == len(stock["terms"])
    assert merged["terms"] == stock["terms"]
    assert len(fast) == len(merged["docs"]) == len({d[0]["pmid"] for d in merged["docs"]})
    assert fast.check().damaged == []


def _raw_blocks(reader: Any, field: str, term: bytes) -> int:
    """How many posting blocks a segment's list has, deleted documents included."""
    matcher = reader.postings(field, term)
    while not hasattr(matcher, "_lastblock"):  # the filter skipping deleted documents
        matcher = matcher.child
    count = 1
    while not matcher._lastblock:
        matcher._next_block()
        count += 1
    return count


@pytest.fixture(scope="module")
def long_lists_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All of data/'s distinct records in four commits, with deletions and upserts in
    between, never merged: common words ("diseas", "gene") have a packed block (at
    least PACK_MIN postings) in each segment, and more than BLOCK_LIMIT postings once
    merged. Read-only: tests merge copies."""
    path = tmp_path_factory.mktemp("long-lists") / "ix"
    index = SearchIndex.create(path)
    records = distinct_records()
    step = len(records) // 4 + 1
    for start in range(0, len(records), step):
        chunk = records[start : start + step]
        index.apply({r.pmid: r for r in chunk}, set(), params=NO_MERGES)
        gone = {r.pmid for r in chunk[::9]}
        changed = {
            r.pmid: replace(r, title=f"{r.title} revised")
            for r in chunk[4::13]
            if r.pmid not in gone
        }
        index.apply(changed, gone, params=NO_MERGES)
    return path


@pytest.mark.slow
def test_fast_merge_of_long_posting_lists_writes_what_whooshs_merge_writes(
    tmp_path: Path, long_lists_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Long posting lists (values kept packed through the merge: blocks joined, split
    anew and filtered of deleted documents in arrays) merge to what Whoosh's
    per-posting merge writes: the same postings, positions and term statistics. The
    merge writes blocks of 1,024 postings, so that the sample's long lists span
    several."""
    from searchkit.engine import codec

    monkeypatch.setattr(codec, "BLOCK_LIMIT", 1024)
    shutil.copytree(long_lists_dir, tmp_path / "fast")
    shutil.copytree(long_lists_dir, tmp_path / "stock")
    with whoosh.index.open_dir(str(long_lists_dir), indexname=INDEX_NAME).reader() as before:
        assert before.has_deletions()
        packed = [_raw_blocks(sub, "abstract", b"diseas") for sub, _ in before.leaf_readers()]
        assert packed == [1] * len(packed)  # one packed block per segment (not small)
        frequencies = [sub.doc_frequency("abstract", b"diseas") for sub, _ in before.leaf_readers()]
        assert sum(f >= PACK_MIN for f in frequencies) >= 4  # the four large commits'
    fast = SearchIndex.open(tmp_path / "fast")
    assert fast.optimize()[1] == 1
    _stock_optimize(tmp_path / "stock")
    merged, stock = _contents(tmp_path / "fast"), _contents(tmp_path / "stock")
    assert merged["docs"] == stock["docs"]
    assert merged["terms"] == stock["terms"]
    longest = max(len(postings) for *_, postings in merged["terms"])
    assert longest > codec.BLOCK_LIMIT
    with whoosh.index.open_dir(str(tmp_path / "fast"), indexname=INDEX_NAME).reader() as after:
        assert _raw_blocks(after, "abstract", b"diseas") > 1
    assert fast.check().damaged == []


@pytest.mark.slow
def test_merged_index_answers_as_a_fresh_one(tmp_path: Path, segmented_dir: Path) -> None:
    """After deletions and upserts, the merged index holds and ranks exactly what an
    index of its records written at once does (scores to 1e-9, phrases included).

    Except the proximity query's scores, to 1%: Whoosh's span scoring (which searchkit
    falls back to for it) takes the average field length from the segment's length
    totals, and those of documents deleted before the merge are known only as
    Whoosh's one-byte lengths (without deletions the totals are exact: below)."""
    shutil.copytree(segmented_dir, tmp_path / "merged")
    merged = SearchIndex.open(tmp_path / "merged")
    merged.optimize()
    with merged.searcher() as s:
        order = [fields["pmid"] for fields in s.all_stored_fields()]
    fresh = SearchIndex.create(tmp_path / "fresh")
    fresh.apply({pmid: merged.get(pmid) for pmid in order}, set())
    assert len(_segments(tmp_path / "fresh")) == 1
    _assert_same_answers(merged, fresh, near=frozenset({'"cell lines"~3 expression'}))
    for pmid in order[::25]:
        assert merged.get(pmid) == fresh.get(pmid)


@pytest.mark.slow
def test_merged_segments_answer_as_one_segment_written_at_once(tmp_path: Path) -> None:
    """Without deletions: six segments merged answer as one segment of the same records
    written at once (Whoosh's merge summed one-byte lengths into the field totals,
    changing the scores that use the average length)."""
    index = SearchIndex.create(tmp_path / "ix")
    for start in range(0, 180, 30):
        index.apply(
            {r.pmid: r for r in distinct_records()[start : start + 30]}, set(), params=NO_MERGES
        )
    assert len(_segments(tmp_path / "ix")) == 6
    index.optimize()
    fresh = SearchIndex.create(tmp_path / "fresh")
    fresh.apply({r.pmid: r for r in distinct_records()[:180]}, set())
    with index.searcher() as merged, fresh.searcher() as written:
        for name in ("title", "abstract", "mesh", "authors"):
            assert merged.field_length(name) == written.field_length(name)
    _assert_same_answers(index, fresh)


# -- the policy ---------------------------------------------------------------------


def test_tiers_grow_by_the_merge_factor() -> None:
    params = replace(DEFAULT, merge_factor=10, merge_floor_docs=1_000)
    assert [tier(n, params) for n in (1, 999, 1_000, 9_999, 10_000, 100_000, 999_999)] == [
        0,
        0,
        1,
        1,
        2,
        3,
        3,
    ]


def test_a_full_tier_is_merged_with_the_tiers_below() -> None:
    params = replace(DEFAULT, merge_factor=3, merge_floor_docs=10, merge_max_docs=10_000)
    assert choose_merge([5000, 5, 6], params) == []  # two small ones: not yet
    assert choose_merge([5000, 5, 6, 7], params) == [1, 2, 3]
    # a full tier 1 (10..29) takes the tier-0 segment along; the large one stays
    assert choose_merge([5000, 12, 3, 15, 20], params) == [2, 1, 3, 4]
    # the merged segment (39 documents, tier 2) completes tier 2: merged on too
    assert choose_merge([30, 31, 12, 13, 14, 5000], params) == [2, 3, 4, 0, 1]
    # segments of deleted documents only are dropped, merged or not
    assert choose_merge([5000, 0, 5], params) == [1]


def test_a_merge_never_exceeds_the_largest_size() -> None:
    params = replace(DEFAULT, merge_factor=3, merge_floor_docs=10, merge_max_docs=100)
    assert choose_merge([40, 45, 49], params) == [0, 1]  # 134 > 100: the largest stays
    assert choose_merge([60, 70, 80, 5, 5, 5], params) == [3, 4, 5]  # > 100 / 2: never


@pytest.mark.slow
def test_many_small_ingests_keep_few_segments_and_the_large_one(tmp_path: Path) -> None:
    """20 ingests of 3 records each after a large one: the segment count stays bounded,
    and the large segment is never rewritten (its id survives every commit)."""
    params = replace(DEFAULT, merge_factor=3, merge_floor_docs=10)
    index = SearchIndex.create(tmp_path / "ix")
    index.apply({r.pmid: r for r in distinct_records()[:100]}, set(), params=params)
    assert tier(100, params) == 3  # above the tiers 60 records in 3s can fill
    (large,) = [s.segment_id() for s in _segments(tmp_path / "ix")]
    counts = []
    rest = distinct_records()[100:]
    for i in range(20):
        index.apply({r.pmid: r for r in rest[3 * i : 3 * i + 3]}, set(), params=params)
        segments = _segments(tmp_path / "ix")
        ids = [s.segment_id() for s in segments]
        assert large in ids, f"the large segment was rewritten at ingest {i + 1}"
        tiers = Counter(tier(s.doc_count(), params) for s in segments if s.segment_id() != large)
        assert max(tiers.values()) <= params.merge_factor, tiers
        counts.append(len(ids))
    # at most merge_factor segments in each tier (3-record ingests fill tiers 0, 1
    # and 2) and the large one; merges did happen
    assert max(counts) <= 3 * params.merge_factor + 1
    assert counts[-1] < 20 and min(counts[4:]) < max(counts)
    assert len(index) == 160
    with index.searcher() as s:
        assert sorted(f["pmid"] for f in s.all_stored_fields()) == sorted(
            r.pmid for r in distinct_records()[:160]
        )


# -- a merge killed part-way ------------------------------------------------------

#: Put on a ``searchkit ingest`` process's path (``sitecustomize``): once its merge has
#: read 50 terms of a merged segment (and written them to the new one), it marks the
#: moment with a file and goes on slowly, so that the kill lands mid-merge.
_MID_MERGE_HOOK = """
import os, time
from searchkit.engine import merging

_read = merging.segment_term_groups

def segment_term_groups(*args, **kwargs):
    for n, group in enumerate(_read(*args, **kwargs)):
        if n == 50:
            open(os.environ["MERGE_MARK"], "w").close()
            time.sleep(120)
        yield group

merging.segment_term_groups = segment_term_groups
"""


@pytest.mark.slow
def test_ingest_killed_mid_merge_leaves_the_last_commit(tmp_path: Path) -> None:
    """SIGKILL of a real ``searchkit ingest`` while its commit merges a full tier of
    segments: the index holds the last committed records, is searchable and intact,
    and the next ingest (not waiting for any lock) completes and merges."""
    held_out = SAMPLE_DIR / "dreamytang_Pubmed_Author_Ranking__pubmed_result.txt"
    new = {r.pmid for r in read_file(held_out) if isinstance(r, Record)}
    base = [r for r in distinct_records() if r.pmid not in new][: 10 * DEFAULT.merge_factor]
    path = tmp_path / "ix"
    index = SearchIndex.create(path)
    for start in range(0, len(base), 10):  # a full lowest tier: the next commit merges it
        index.apply({r.pmid: r for r in base[start : start + 10]}, set())
    before = _segments(path)
    assert len(before) == DEFAULT.merge_factor
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(_MID_MERGE_HOOK, encoding="utf-8")
    mark = tmp_path / "merging"
    env = {
        **os.environ,
        "PYTHONPATH": str(hook),
        "MERGE_MARK": str(mark),
        "SEARCHKIT_INDEX": str(path),
    }
    with subprocess.Popen(
        [_searchkit_exe(), "ingest", str(held_out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as proc:
        deadline = time.monotonic() + 120
        while not mark.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert mark.exists(), "the ingest never reached its merge"
        proc.send_signal(signal.SIGKILL)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert "Traceback" not in stderr

    killed = SearchIndex.open(path)
    assert sorted(f["pmid"] for f in _stored(killed)) == sorted(r.pmid for r in base)
    assert [s.segment_id() for s in _segments(path)] == [s.segment_id() for s in before]
    assert killed.check().damaged == []
    assert search(killed, "cancer", limit=3).total > 0

    env.pop("PYTHONPATH")
    done = subprocess.run(
        [_searchkit_exe(), "ingest", str(held_out), "--lock-timeout", "5"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "waiting for another searchkit process" not in done.stderr
    after = SearchIndex.open(path)
    assert sorted(f["pmid"] for f in _stored(after)) == sorted({r.pmid for r in base} | new)
    assert len(_segments(path)) == 1  # the tier merged with the new records
    assert after.check().damaged == []
    assert not (path / "MAIN.tmp").exists()
    live = {s.segment_id() for s in _segments(path)}
    files = {p.name.split(".")[0] for p in path.glob("MAIN_*.*")} - {"MAIN_WRITELOCK"}
    assert files == live, f"segment files left by the killed merge: {sorted(files - live)}"


def _stored(index: SearchIndex) -> list[dict[str, Any]]:
    with index.searcher() as s:
        return list(s.all_stored_fields())


@pytest.mark.slow
def test_multi_process_writer_merges_in_bulk(tmp_path: Path) -> None:
    """With writer processes, the parent merges the old segments (here two, most of
    their records replaced) into its own segment: the index holds and ranks what one
    segment written at once does.

    The writer is the multi-process one ``SearchIndex.writer(procs=2)`` makes (one
    segment per process), given batches of 10 documents instead of 100: an
    ``IndexBatch`` starts writer processes only from 2,000 records (2 x
    ``MIN_RECORDS_PER_PROC``, a module constant), and what is tested here, the
    parent's merge, is the same on 330; 33 batches keep both processes busy."""
    params = replace(DEFAULT, merge_factor=2)
    index = SearchIndex.create(tmp_path / "ix")
    first = distinct_records()[:300]
    # The old segments are written one per commit, so that which records each holds
    # is known: writer processes take batches from a shared queue, so which of their
    # segments a record lands in depends on timing, and the records that stay could
    # all be in one of them; the other, left without live documents, is then
    # dropped, and the one left, alone in its tier, is rightly not merged.
    index.apply({r.pmid: r for r in first[:150]}, set(), params=NO_MERGES)
    index.apply({r.pmid: r for r in first[150:]}, set(), params=NO_MERGES)
    old = [s.segment_id() for s in _segments(tmp_path / "ix")]
    assert len(old) == 2
    # 300 upserts; 15 records of each old segment stay
    changed = {r.pmid: replace(r, title=f"{r.title} revised") for r in first[:135] + first[150:285]}
    added = {r.pmid: r for r in distinct_records()[300:330]}
    with index.locked():
        writer = FastMpWriter(index.whoosh_index, procs=2, batchsize=10, multisegment=True)
        for record in changed.values():
            writer.update_document(**record_to_fields(record))
        for record in added.values():
            writer.add_document(**record_to_fields(record))
        writer.commit(mergetype=tiered_merge(params))
    segments = _segments(tmp_path / "ix")
    assert len(segments) == 3  # the parent's merged segment, and one per process
    assert not {s.segment_id() for s in segments} & set(old)
    assert sorted(s.doc_count() for s in segments)[0] == 30  # the 15 + 15 merged
    assert not any(s.has_deletions() for s in segments)
    final = {**{r.pmid: r for r in first}, **changed, **added}
    with index.searcher() as s:
        order = [fields["pmid"] for fields in s.all_stored_fields()]
    assert sorted(order) == sorted(final)
    for pmid in order[::10]:
        assert index.get(pmid) == final[pmid]
    # Ranked as one segment (a ranking of several segments is not the same: the
    # scorer's candidate depth is shared out by segment), after a faithful merge.
    index.optimize()
    fresh = SearchIndex.create(tmp_path / "fresh")
    fresh.apply({pmid: final[pmid] for pmid in order}, set())
    _assert_same_answers(index, fresh, near=frozenset({'"cell lines"~3 expression'}))


def _resident_kb(path: str) -> int:
    """Resident kB of this process's maps of the file ``path`` (Linux)."""
    total, current = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()
        if head and "-" in head[0] and len(head) >= 5 and ":" in head[3]:
            current = len(head) >= 6 and head[-1] == path
        elif current and line.startswith("Rss:"):
            total += int(head[1])
    return total


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="reads Linux's /proc/self/smaps")
def test_a_merge_gives_back_the_pages_it_has_read(
    long_lists_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading a segment's postings for a merge gives its mapped pages back every
    RELEASE_EVERY bytes (they stayed resident: 1.26 GB of an optimize of 1,000,000
    records); the term groups read are the same."""
    from searchkit.engine import merging

    ix = whoosh.index.open_dir(str(long_lists_dir), indexname=INDEX_NAME)
    segment = max(ix._segments(), key=lambda s: s.doc_count_all())
    path = str(long_lists_dir / f"{segment.segment_id()}.seg")

    def read(every: int) -> tuple[list[Any], int]:
        monkeypatch.setattr(merging, "RELEASE_EVERY", every)
        sources = merging.MergeSources()
        sources.add(ix.storage, ix.schema, segment, 0, None)
        (groups,) = sources.groups(ix.schema)
        found = [(f, t, list(d), list(w), list(v)) for f, t, d, w, v in groups]
        resident = _resident_kb(path)
        sources.close()
        return found, resident

    kept, held = read(10**12)
    released, left = read(64 * 1024)
    assert released == kept and len(kept) > 1000
    assert held > 256  # kB: the pages read stay without it
    assert left < held / 2
