"""Replaced and deleted records do not stay in the index forever (issue 20).

An update of a record (PubMed replaces records by PMID) or its deletion
(``DeleteCitation``, ``searchkit delete``) only marks the old copy deleted in its
segment; the copy goes when the segment is merged. The tiered policy merges by live
record counts, so a segment that stops growing (above half of ``merge_max_docs``, or
in a tier that never fills) kept its dead copies forever: the index grew with every
update round and every query read their postings. A segment whose share of deleted
documents exceeds ``Params.merge_deletes_pct`` is now rewritten at the next commit.
"""

from __future__ import annotations

import json
import random
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from searchkit import RecordNotFoundError, SearchIndex, search
from searchkit.engine.merging import choose_merge, too_deleted
from searchkit.params import DEFAULT, Params
from searchkit.records import Record

from .test_cli import _searchkit_exe
from .test_merging import EVERY_CANDIDATE, QUERIES, _segments, distinct_records

#: The most deleted documents a segment may hold after a commit, as a share of its
#: documents (the tests' policies leave the default).
MAX_DEAD = DEFAULT.merge_deletes_pct / 100


def _layout(path: Path) -> list[tuple[int, int]]:
    """Each segment's (live, deleted) document counts."""
    return [(s.doc_count(), s.deleted_count()) for s in _segments(path)]


def _assert_bounded(path: Path, when: str) -> None:
    """No segment holds more than its share of deleted documents, and the index holds
    no file of a segment it no longer has."""
    for live, dead in _layout(path):
        assert dead <= MAX_DEAD * (live + dead), (
            f"{when}: a segment keeps {dead} deleted of {live + dead} documents "
            f"({dead / (live + dead):.0%}); layout {_layout(path)}"
        )
    live_ids = {s.segment_id() for s in _segments(path)}
    files = {p.name.split(".")[0] for p in path.glob("MAIN_*.*")} - {"MAIN_WRITELOCK"}
    assert files == live_ids, f"{when}: files of merged-away segments: {files - live_ids}"


def _revised(record: Record, round_: int) -> Record:
    """A new version of ``record`` (its title revised), as an update file carries."""
    return replace(record, title=f"{record.title} (revision {round_})")


def _fresh_copy(index: SearchIndex, path: Path) -> SearchIndex:
    """An index of ``index``'s live records written at once, in its document order."""
    with index.searcher() as s:
        order = [fields["pmid"] for fields in s.all_stored_fields()]
    fresh = SearchIndex.create(path)
    fresh.apply({pmid: index.get(pmid) for pmid in order}, set())
    return fresh


#: Scored by Whoosh's span scoring (searchkit falls back to it for a proximity query),
#: which takes the mean field length from each segment's length totals; those of a
#: segment merged with deleted documents are estimated (their exact lengths are not
#: known: :func:`test_rewrites_keep_the_field_length_totals`), so its scores are
#: compared to 1%.
SPAN_SCORED = '"cell lines"~3 expression'


def _hits(index: SearchIndex) -> list[tuple[int, set[str]]]:
    """Each query's count and found records."""
    found = []
    for q in QUERIES:
        result = search(index, q, limit=10_000, with_snippets=False)
        found.append((result.total, {hit.pmid for hit in result.hits}))
    return found


def _assert_same_answers(a: SearchIndex, b: SearchIndex) -> None:
    """The same counts and hits for every query; the same order and scores (to 1e-9)
    for every query but :data:`SPAN_SCORED` (scores to 1%)."""
    assert _hits(a) == _hits(b)
    for q in QUERIES:
        left, right = (
            [
                (hit.pmid, hit.score)
                for hit in search(
                    ix, q, limit=10_000, with_snippets=False, params=EVERY_CANDIDATE
                ).hits
            ]
            for ix in (a, b)
        )
        if q == SPAN_SCORED:  # close scores may swap places
            theirs = dict(right)
            for pmid, score in left:
                assert score == pytest.approx(theirs[pmid], rel=1e-2), q
            continue
        assert [p for p, _ in left] == [p for p, _ in right], q
        for (_, x), (_, y) in zip(left, right, strict=True):
            assert x == pytest.approx(y, rel=1e-9, abs=1e-9), q


# -- the choice ----------------------------------------------------------------------

#: Tiers of 10-29, 30-89, ... records, three segments each; merges up to 100 records.
SMALL = replace(DEFAULT, merge_factor=3, merge_floor_docs=10, merge_max_docs=100)


def test_a_segment_is_too_deleted_beyond_the_share_allowed() -> None:
    assert DEFAULT.merge_deletes_pct == 20
    assert not too_deleted(80, 20, DEFAULT)  # 20%: allowed
    assert too_deleted(79, 21, DEFAULT)
    assert not too_deleted(0, 50, DEFAULT)  # no live documents: dropped, not rewritten
    assert not too_deleted(1, 10_000, replace(DEFAULT, merge_deletes_pct=100))  # off
    assert too_deleted(95, 6, replace(DEFAULT, merge_deletes_pct=5))


def test_without_deletions_the_tiers_decide_alone() -> None:
    for sizes in ([5000, 5, 6], [5000, 5, 6, 7], [30, 31, 12, 13, 14, 5000], [60, 70, 80]):
        params = SMALL if max(sizes) <= 100 else replace(SMALL, merge_max_docs=10_000)
        tiers_only = choose_merge(sizes, params)
        assert choose_merge(sizes, params, [0] * len(sizes)) == tiers_only
        # deletions within the share allowed change nothing either
        assert choose_merge(sizes, params, [n // 5 for n in sizes]) == tiers_only


def test_a_segment_with_too_many_deletions_is_rewritten() -> None:
    # above half of merge_max_docs: never merged by its tier, rewritten for its deletions
    assert choose_merge([60, 70], SMALL) == []
    assert choose_merge([60, 70], SMALL, [0, 30]) == [1]
    # alone in its tier, which never fills
    assert choose_merge([40, 5], SMALL, [11, 0]) == [0]
    # with the tier merged at this commit (its three small ones), in one new segment
    assert choose_merge([5, 6, 7, 60], SMALL, [0, 0, 0, 20]) == [0, 1, 2, 3]
    # segments without live documents are still dropped unread
    assert choose_merge([60, 0, 5], SMALL, [0, 12, 0]) == [1]
    assert choose_merge([60, 0, 5], SMALL, [40, 12, 0]) == [1, 0]


def test_rewrites_for_deletions_stay_within_the_largest_merge() -> None:
    # the larger share of deletions first; the other waits for a later commit
    assert choose_merge([60, 70], SMALL, [40, 30]) == [0]
    assert choose_merge([60, 70], SMALL, [20, 50]) == [1]
    # two that fit together are rewritten together
    assert choose_merge([30, 40], SMALL, [30, 40]) == [0, 1]
    # larger than merge_max_docs: rewritten alone, when nothing else is merged...
    assert choose_merge([150, 60], SMALL, [50, 0]) == [0]
    # ...and not on top of a tier merge (next time)
    assert choose_merge([150, 5, 6, 7], SMALL, [50, 0, 0, 0]) == [1, 2, 3]


# -- updates through the library and the CLI ---------------------------------------


@pytest.mark.slow
def test_updates_of_segments_that_no_longer_merge_leave_few_dead_copies(tmp_path: Path) -> None:
    """Two segments too large to be merged by their tier (above half of
    ``merge_max_docs``), then six rounds of updates of 30% of the records each (a
    different 30% each round): the dead copies stay under the share allowed, the index
    holds exactly the last version of each record, and answers as an index of those
    records written at once."""
    params: Params = replace(DEFAULT, merge_factor=3, merge_floor_docs=10, merge_max_docs=600)
    records = distinct_records()[:700]
    path = tmp_path / "ix"
    index = SearchIndex.create(path)
    index.apply({r.pmid: r for r in records[:350]}, set(), params=params)
    index.apply({r.pmid: r for r in records[350:]}, set(), params=params)
    assert [live for live, _ in _layout(path)] == [350, 350]  # each > 600 / 2
    current = {r.pmid: r for r in records}
    pmids = sorted(current)
    for round_ in range(1, 7):
        changed = {
            pmid: _revised(current[pmid], round_)
            for pmid in random.Random(round_).sample(pmids, 210)
        }
        counts = index.apply(changed, set(), params=params)
        assert counts.replaced == 210
        current.update(changed)
        _assert_bounded(path, f"update round {round_}")
        assert len(index) == 700
    for pmid in pmids:
        assert index.get(pmid) == current[pmid]
    assert _layout(path) == [(700, 0)]  # the last round's commit rewrote both
    fresh = _fresh_copy(index, tmp_path / "fresh")
    _assert_same_answers(index, fresh)


@pytest.mark.slow
def test_cli_update_rounds_keep_the_index_bounded(tmp_path: Path) -> None:
    """Real ``searchkit`` processes with the default policy: data/'s records ingested,
    then update files (a new version of 40% of them each) and a deletion of 600 PMIDs
    (a commit of deletions only): after every command no segment keeps more than its
    share of deleted documents, the index's size stays near the first one's, the
    record count is exact, and the index answers as one of the same records written
    at once."""
    exe = _searchkit_exe()
    ix = tmp_path / "ix"
    records = distinct_records()
    current = {r.pmid: r for r in records}

    def run(*args: str) -> str:
        done = subprocess.run(
            [exe, *args, "--index", str(ix)], capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def write(name: str, batch: list[Record]) -> Path:
        file = tmp_path / name
        file.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in batch), "utf-8")
        return file

    def size() -> int:
        return int(json.loads(run("stats", "--format", "json"))["size_bytes"])

    run("ingest", str(write("base.jsonl", records)))
    _assert_bounded(ix, "first ingest")
    first_size = size()
    pmids = sorted(current)
    rng = random.Random(20)
    steps: list[tuple[str, list[str]]] = [
        ("update", rng.sample(pmids, 914)),
        ("update", rng.sample(pmids, 914)),
        ("delete", rng.sample(pmids, 600)),
    ]
    steps.append(("update", rng.sample(sorted(set(pmids) - set(steps[2][1])), 800)))
    for n, (what, chosen) in enumerate(steps, 1):
        if what == "update":
            batch = [_revised(current[pmid], n) for pmid in chosen]
            current.update((r.pmid, r) for r in batch)
            run("ingest", str(write(f"update-{n}.jsonl", batch)))
        else:
            run("delete", *chosen)
            for pmid in chosen:
                del current[pmid]
        _assert_bounded(ix, f"step {n} ({what})")
        stats = json.loads(run("stats", "--format", "json"))
        assert stats["records"] == len(current)
        # the revisions add a few bytes per record; dead copies would add a record's
        assert stats["size_bytes"] <= first_size / (1 - MAX_DEAD), (n, stats, first_size)
    index = SearchIndex.open(ix)
    for pmid in pmids[::20]:
        if pmid in current:
            assert index.get(pmid) == current[pmid]
        else:
            with pytest.raises(RecordNotFoundError):
                index.get(pmid)
    # the last update replaced more than the share allowed of each segment
    assert all(dead == 0 for _, dead in _layout(ix))
    fresh = _fresh_copy(index, tmp_path / "fresh")
    _assert_same_answers(index, fresh)


@pytest.mark.slow
def test_rewrites_keep_the_field_length_totals(tmp_path: Path) -> None:
    """A segment rewritten again and again for its deleted documents keeps the field
    length totals of its live records (Whoosh's mean length, which its span scoring
    uses) within 0.5% of the exact ones: the deleted documents' lengths are known only
    to one byte, never below the exact ones, and subtracting them shrank the totals
    by about 0.6% at each rewrite."""
    records = distinct_records()[:700]
    index = SearchIndex.create(tmp_path / "ix")
    index.apply({r.pmid: r for r in records}, set())
    current = {r.pmid: r for r in records}
    for round_ in range(1, 5):
        changed = {
            pmid: _revised(current[pmid], round_)
            for pmid in random.Random(round_).sample(sorted(current), 280)
        }
        index.apply(changed, set())
        current.update(changed)
        assert _layout(tmp_path / "ix") == [(700, 0)]  # rewritten with the new versions
    fresh = _fresh_copy(index, tmp_path / "fresh")
    with index.searcher() as rewritten, fresh.searcher() as written:
        for name in ("title", "abstract", "mesh", "authors"):
            exact = written.field_length(name)
            assert rewritten.field_length(name) == pytest.approx(exact, rel=0.005), name
