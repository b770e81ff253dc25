"""A recorded source that moved: an ingest of its content at the new path moves its
registry entry there, so that ``searchkit rebuild`` does not refuse the index for a
path that is gone. A source that still exists is never touched."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from searchkit import SearchIndex
from searchkit.index.sources import SourceRegistry

from .cli_helpers import process, run
from .conftest import SAMPLE_DIR

#: One record (PMID 12230038).
ONE = SAMPLE_DIR / "biopython__Tests_Medline_pubmed_result1.txt"
ONE_PMID = "12230038"
#: Four records.
FOUR = SAMPLE_DIR / "biopython__Tests_Medline_pubmed_result2.txt"


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """``a/x.txt`` (one record) and ``a/y.txt`` (four), and an empty ``b/``."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    shutil.copy(ONE, a / "x.txt")
    shutil.copy(FOUR, a / "y.txt")
    return a, b


def _ingest(index: Path, *paths: Path) -> str:
    result = run(index, "ingest", *map(str, paths), "--procs", "1", "--quiet")
    assert result.exit_code == 0, result.stderr
    return result.stderr


def _recorded(index: Path) -> list[str]:
    result = run(index, "sources", "--format", "json")
    assert result.exit_code == 0, result.stderr
    return sorted(entry["path"] for entry in json.loads(result.stdout))


def _pmids(index: Path) -> set[str]:
    with SearchIndex.open(index) as ix, ix.searcher() as searcher:
        return {doc["pmid"] for doc in searcher.all_stored_fields()}


def _rebuild(index: Path) -> str:
    result = run(index, "rebuild", "--procs", "1", "--quiet")
    assert result.exit_code == 0, result.stderr
    return result.stderr


def test_a_moved_file_ingested_again_moves_its_source(
    folders: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = folders
    index = tmp_path / "ix"
    _ingest(index, a)
    before = _pmids(index)
    assert len(before) == 5
    os.rename(a / "x.txt", b / "x.txt")

    err = _ingest(index, b / "x.txt")
    assert "1 source moved" in err, err
    assert err.count("\n") == 1
    assert _recorded(index) == [str(a / "y.txt"), str(b / "x.txt")]
    # The entry kept its place in the reading order, and says the file's state now.
    registry = SourceRegistry.load(index)
    moved = registry.entries[str(b / "x.txt")]
    assert moved.records == 1 and moved.sequence == 1
    assert moved.mtime_ns == (b / "x.txt").stat().st_mtime_ns
    # The next ingest finds it unchanged at its new place.
    assert "1 file unchanged since ingested" in _ingest(index, b / "x.txt")

    err = _rebuild(index)
    assert "Kept" not in err  # every record is given by a source again
    assert _pmids(index) == before


def test_a_renamed_file_read_again_with_force_replaces_its_old_source(
    folders: tuple[Path, Path], tmp_path: Path
) -> None:
    a, _ = folders
    index = tmp_path / "ix"
    _ingest(index, a)
    os.rename(a / "x.txt", a / "renamed.txt")
    result = run(index, "ingest", str(a), "--force", "--procs", "1", "--quiet")
    assert result.exit_code == 0, result.stderr
    assert "1 source moved" in result.stderr, result.stderr
    assert _recorded(index) == [str(a / "renamed.txt"), str(a / "y.txt")]
    _rebuild(index)
    assert len(_pmids(index)) == 5


def test_a_copy_stays_two_sources(folders: tuple[Path, Path], tmp_path: Path) -> None:
    a, b = folders
    index = tmp_path / "ix"
    _ingest(index, a / "x.txt")
    shutil.copy2(a / "x.txt", b / "x.txt")  # same content, same modification time
    err = _ingest(index, b / "x.txt")
    assert "moved" not in err, err
    assert err.startswith("No records added or changed (1 file read in "), err
    assert _recorded(index) == [str(a / "x.txt"), str(b / "x.txt")]


def test_content_of_a_source_that_exists_is_not_taken_for_a_move(
    folders: tuple[Path, Path], tmp_path: Path
) -> None:
    """Only a source whose file is gone moves: of two recorded copies, one removed,
    the content ingested at a third place moves the one that is gone."""
    a, b = folders
    index = tmp_path / "ix"
    shutil.copy(a / "x.txt", a / "copy.txt")
    _ingest(index, a / "x.txt", a / "copy.txt")
    (a / "x.txt").unlink()
    shutil.copy(a / "copy.txt", b / "third.txt")
    err = _ingest(index, b / "third.txt")
    assert "1 source moved" in err, err
    assert _recorded(index) == [str(a / "copy.txt"), str(b / "third.txt")]


@pytest.mark.slow
def test_real_process_move_ingest_rebuild(tmp_path: Path) -> None:
    """The report's steps, as a user types them."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    shutil.copy(ONE, a / "x.txt")
    index = tmp_path / "ix"
    first = process(index, "ingest", str(a / "x.txt"), "--quiet")
    assert first.returncode == 0, first.stderr
    assert first.stderr.startswith("Added 1 record from 1 file")
    os.rename(a / "x.txt", b / "x.txt")
    second = process(index, "ingest", str(b / "x.txt"), "--quiet")
    assert second.returncode == 0, second.stderr
    assert "1 source moved" in second.stderr, second.stderr
    listed = process(index, "sources")
    assert listed.returncode == 0, listed.stderr
    assert str(b / "x.txt") in listed.stdout and str(a / "x.txt") not in listed.stdout
    rebuilt = process(index, "rebuild", "--quiet")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "Traceback" not in rebuilt.stderr
    assert _pmids(index) == {ONE_PMID}
