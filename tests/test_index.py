"""Upserts by id, deletions, and refusing what is not a current searchkit index."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from searchkit import (
    IndexFormatError,
    IndexNotFoundError,
    Record,
    RecordNotFoundError,
    SearchIndex,
    ingest,
    search,
)
from searchkit.index.searchindex import META_FILE

from .conftest import SAMPLE_DIR, SEED_PMID

SEED_FILE = SAMPLE_DIR / "pubmed-34572009-page.txt"


def test_reingesting_the_same_files_changes_nothing(tmp_path: Path) -> None:
    ix = SearchIndex.create(tmp_path / "ix")
    first = ingest([SEED_FILE, SAMPLE_DIR / "biopython__Tests_Medline_pubmed_result2.txt"], ix)
    count = len(ix)
    hits_before = [h.to_dict() for h in search(ix, "SCOP ASTRAL python").hits]
    second = ingest([SEED_FILE, SAMPLE_DIR / "biopython__Tests_Medline_pubmed_result2.txt"], ix)
    assert first.counts.added == count > 1
    assert second.counts.added == second.counts.replaced == 0
    assert second.counts.unchanged == count
    assert len(ix) == count
    assert [h.to_dict() for h in search(ix, "SCOP ASTRAL python").hits] == hits_before


def test_changed_record_replaces_the_old_one(tmp_path: Path) -> None:
    ix = SearchIndex.create(tmp_path / "ix")
    ingest([SEED_FILE], ix)
    old = ix.get(SEED_PMID)
    new = dataclasses.replace(old, title="A corrected title about zebrafish fins")
    counts = ix.upsert([new])
    assert (counts.added, counts.replaced) == (0, 1)
    assert len(ix) == 1
    assert ix.get(SEED_PMID).title == new.title
    assert [h.pmid for h in search(ix, "zebrafish").hits] == [SEED_PMID]
    assert search(ix, "privilege").total == 1  # abstract still indexed, once


def test_duplicate_ids_in_one_batch_last_wins(tmp_path: Path) -> None:
    ix = SearchIndex.create(tmp_path / "ix")
    ix.upsert([Record(pmid="1", title="first version"), Record(pmid="1", title="second version")])
    assert len(ix) == 1
    assert ix.get("1").title == "second version"


def test_delete_removes_records(tmp_path: Path) -> None:
    ix = SearchIndex.create(tmp_path / "ix")
    ix.upsert([Record(pmid="1", title="alpha helix"), Record(pmid="2", title="beta sheet")])
    counts = ix.delete(["1", "999"])
    assert counts.deleted == 1
    assert counts.not_found == ["999"]
    assert len(ix) == 1
    with pytest.raises(RecordNotFoundError):
        ix.get("1")
    assert search(ix, "alpha").total == 0


def test_non_pmid_ids_are_kept_as_given(tmp_path: Path) -> None:
    ix = SearchIndex.create(tmp_path / "ix")
    ix.upsert([Record(pmid="doc-7A", title="Semantic Scholar style id")])
    assert search(ix, "semantic").hits[0].pmid == "doc-7A"


def test_open_missing_index_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="searchkit ingest"):
        SearchIndex.open(tmp_path / "nothing-here")


def test_open_foreign_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not an index")
    with pytest.raises(IndexFormatError, match="not a searchkit index"):
        SearchIndex.open(tmp_path)


def test_schema_version_mismatch_asks_for_rebuild(tmp_path: Path) -> None:
    ix = SearchIndex.create(tmp_path / "ix")
    meta = json.loads((ix.path / META_FILE).read_text())
    meta["schema_version"] = 0
    (ix.path / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(IndexFormatError, match="searchkit rebuild --index"):
        SearchIndex.open(ix.path)


def test_stats(sample_index: SearchIndex) -> None:
    stats = sample_index.stats()
    assert stats["records"] == len(sample_index) > 2000
    assert stats["size_bytes"] > 0
    assert stats["schema_version"] >= 1
    assert stats["updated"]


def test_a_batch_takes_each_id_once_and_is_done_after_its_commit(tmp_path: Path) -> None:
    ix = SearchIndex.create(tmp_path / "ix")
    batch = ix.batch()
    batch.upsert(Record(pmid="1", title="alpha helix"))
    assert "1" in batch and "2" not in batch
    with pytest.raises(ValueError, match="already in this batch"):
        batch.upsert(Record(pmid="1", title="beta sheet"))
    with pytest.raises(ValueError, match="already in this batch"):
        batch.delete("1")
    batch.delete("2")
    counts = batch.commit()
    assert (counts.added, counts.not_found) == (1, ["2"])
    with pytest.raises(ValueError, match="committed or abandoned"):
        batch.upsert(Record(pmid="3", title="gamma turn"))
    assert ix.get("1").title == "alpha helix"
    given_up = ix.batch()
    given_up.upsert(Record(pmid="4", title="delta loop"))  # one process: written at once
    given_up.abandon()
    assert len(SearchIndex.open(ix.path)) == 1
    ix.lock_timeout = 0.0
    with ix.locked():  # the lock was released
        ix.writer().cancel()


def test_a_batch_pauses_the_garbage_collector_only_while_it_writes(tmp_path: Path) -> None:
    import gc

    ix = SearchIndex.create(tmp_path / "ix")
    assert gc.isenabled()
    try:
        batch = ix.batch(procs=1)
        batch.upsert(Record(pmid="1", title="alpha helix"))  # one process: written at once
        assert not gc.isenabled()
        batch.commit()
        assert gc.isenabled()
        given_up = ix.batch(procs=1)
        given_up.upsert(Record(pmid="2", title="beta sheet"))
        assert not gc.isenabled()
        given_up.abandon()
        assert gc.isenabled()
        gc.disable()  # a caller that turned it off keeps it off
        kept_off = ix.batch(procs=1)
        kept_off.upsert(Record(pmid="4", title="delta loop"))
        kept_off.commit()
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert [ix.get(p).title for p in ("1", "4")] == ["alpha helix", "delta loop"]
