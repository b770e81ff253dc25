"""A recorded source that moved, or is gone: an ingest of its content at the new path
moves its registry entry there, and ``searchkit sources --forget`` / ``--missing`` let
the registry go of a file for good, so that ``searchkit rebuild`` is never refused for
ever (its error names that remedy). A source that still exists is never touched."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from searchkit import SearchIndex, ingest
from searchkit.errors import IndexLockedError, SearchkitError, SourceNotFoundError
from searchkit.index.sources import SOURCES_FILE, SourceRegistry, forget_sources

from .cli_helpers import process, run
from .conftest import SAMPLE_DIR, set_index_version

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


def test_forget_a_missing_source_then_rebuild_keeps_its_records(
    folders: tuple[Path, Path], tmp_path: Path
) -> None:
    a, _ = folders
    index = tmp_path / "ix"
    _ingest(index, a)
    before = _pmids(index)
    (a / "x.txt").unlink()

    refused = run(index, "rebuild", "--procs", "1", "--quiet")
    assert refused.exit_code == 1
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert refused.stderr.startswith(f"Error: {a / 'x.txt'}: recorded source no longer exists")
    assert (
        "the index was left as it is (put it back, or forget it with "
        "'searchkit sources --forget PATH' — its records are kept)" in refused.stderr
    )

    forgot = run(index, "sources", "--forget", str(a / "x.txt"))
    assert forgot.exit_code == 0, forgot.stderr
    assert forgot.stdout == ""
    assert forgot.stderr.splitlines() == [
        f"forgot: {a / 'x.txt'}",
        "Forgot 1 recorded source; its 1 record stays in the index (kept by 'searchkit "
        f"rebuild'; 'searchkit delete' removes a record). Index: {index}",
    ]
    assert _recorded(index) == [str(a / "y.txt")]
    assert _pmids(index) == before  # forgetting changes no record

    err = _rebuild(index)
    assert "Kept 1 record that no recorded source holds" in err, err
    assert _pmids(index) == before
    assert ONE_PMID in run(index, "show", ONE_PMID).stdout


def test_forget_takes_a_relative_path(
    folders: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = folders
    index = tmp_path / "ix"
    _ingest(index, a)
    monkeypatch.chdir(tmp_path)
    forgot = run(index, "sources", "--forget", "a/x.txt", "a/../a/y.txt")
    assert forgot.exit_code == 0, forgot.stderr
    assert _recorded(index) == []


def test_forget_of_an_unknown_path_is_an_error_and_changes_nothing(
    folders: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = folders
    index = tmp_path / "ix"
    _ingest(index, a)
    registry = (index / SOURCES_FILE).read_bytes()
    for paths in ([b / "nothing.txt"], [a / "x.txt", b / "nothing.txt"]):
        result = run(index, "sources", "--forget", *map(str, paths))
        assert result.exit_code == 1
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1, result.stderr
        assert result.stderr.startswith(
            f"Error: {b / 'nothing.txt'}: not a recorded source of the index"
        ), result.stderr
        assert (index / SOURCES_FILE).read_bytes() == registry


@pytest.mark.parametrize(
    "args",
    [["--forget"], [str(ONE)], ["--missing", "--format", "json", "--forget"]],
    ids=["nothing-to-forget", "path-without-forget", "format-with-forget"],
)
def test_sources_usage_errors(args: list[str], folders: tuple[Path, Path], tmp_path: Path) -> None:
    index = tmp_path / "ix"
    _ingest(index, folders[0])
    registry = (index / SOURCES_FILE).read_bytes()
    result = run(index, "sources", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert (index / SOURCES_FILE).read_bytes() == registry


def test_missing_lists_then_forgets_every_source_that_is_gone(
    folders: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = folders
    index = tmp_path / "ix"
    shutil.copy(ONE, b / "z.txt")
    _ingest(index, a, b)
    before = _pmids(index)
    (a / "x.txt").unlink()
    (a / "y.txt").unlink()

    listed = run(index, "sources", "--missing", "--format", "json")
    assert listed.exit_code == 0, listed.stderr
    assert sorted(e["path"] for e in json.loads(listed.stdout)) == [
        str(a / "x.txt"),
        str(a / "y.txt"),
    ]
    refused = run(index, "rebuild", "--quiet")
    assert refused.exit_code == 1
    assert "(2 missing)" in refused.stderr
    assert "'searchkit sources --forget --missing'" in refused.stderr

    forgot = run(index, "sources", "--forget", "--missing")
    assert forgot.exit_code == 0, forgot.stderr
    lines = forgot.stderr.splitlines()
    assert lines[:2] == [f"forgot: {a / 'x.txt'}", f"forgot: {a / 'y.txt'}"], lines
    assert lines[2].startswith("Forgot 2 recorded sources; their 5 records stay"), lines
    assert _recorded(index) == [str(b / "z.txt")]
    again = run(index, "sources", "--forget", "--missing")
    assert again.exit_code == 0
    assert again.stderr.startswith("No recorded source is missing"), again.stderr

    err = _rebuild(index)
    assert "Kept 4 records" in err, err  # z.txt gives the fifth again
    assert _pmids(index) == before


def test_an_index_refused_after_an_upgrade_can_forget_its_missing_sources(
    folders: tuple[Path, Path], tmp_path: Path
) -> None:
    """The case that matters most: searchkit refuses an index of an older format and
    says to rebuild it, and some of its exports have moved since."""
    a, b = folders
    index = tmp_path / "ix"
    _ingest(index, a)
    before = _pmids(index)
    os.rename(a / "x.txt", b / "x.txt")
    set_index_version(index, 5)
    assert run(index, "search", "cancer").exit_code == 1  # refused: rebuild it

    listed = run(index, "sources", "--missing")
    assert listed.exit_code == 0, listed.stderr
    assert listed.stdout.rstrip().endswith(str(a / "x.txt"))
    forgot = run(index, "sources", "--forget", "--missing")
    assert forgot.exit_code == 0, forgot.stderr
    _rebuild(index)
    assert _pmids(index) == before
    # Ingested at its new place afterwards, the file is read again: nothing changes.
    err = _ingest(index, b / "x.txt")
    assert err.startswith("No records added or changed (1 file read in "), err


def test_library_forget_sources(folders: tuple[Path, Path], tmp_path: Path) -> None:
    a, _ = folders
    with SearchIndex.create(tmp_path / "ix") as ix:
        ingest([a], ix)
        with pytest.raises(SourceNotFoundError, match=r"nothing\.txt: not a recorded source"):
            forget_sources(ix, [a / "nothing.txt"])
        assert forget_sources(ix, missing=True) == []
        (a / "y.txt").unlink()
        (gone,) = forget_sources(ix, missing=True)
        assert gone.path == str(a / "y.txt") and gone.records == 4
        # By directory (an index that cannot be opened is forgotten from the same way).
        (kept,) = forget_sources(ix.path, [str(a / "x.txt")])
        assert kept.records == 1
        assert SourceRegistry.load(ix.path).entries == {}
        assert len(ix) == 5
        assert not [p for p in ix.path.iterdir() if p.name.endswith(".tmp")]


def test_forget_is_a_write_under_the_index_lock_that_changes_nothing_else(
    folders: tuple[Path, Path], tmp_path: Path
) -> None:
    """The registry is read, changed and written back under the index lock (two writers
    must never write back each other's copy), and forgetting writes nothing else: an
    index of an older format it reads keeps declaring that format."""
    a, _ = folders
    with SearchIndex.create(tmp_path / "ix") as ix:
        ingest([a], ix)
        (a / "x.txt").unlink()
        registry = (ix.path / SOURCES_FILE).read_bytes()
        with SearchIndex.open(ix.path) as other, other.locked():
            with pytest.raises(IndexLockedError):
                ix.forget_sources(missing=True)
            with pytest.raises(IndexLockedError):
                forget_sources(ix.path, missing=True)
            busy = run(ix.path, "sources", "--forget", "--missing", "--lock-timeout", "0")
            assert busy.exit_code == 1
            assert busy.stderr.startswith("Error: the index at ") and busy.stderr.count("\n") == 1
        assert (ix.path / SOURCES_FILE).read_bytes() == registry
        set_index_version(ix.path, 10)  # an older format this searchkit reads
        meta = (ix.path / "searchkit.json").read_bytes()
        (gone,) = ix.forget_sources(missing=True)
        assert gone.path == str(a / "x.txt")
        assert (ix.path / "searchkit.json").read_bytes() == meta


def test_a_solr_collection_refuses_to_forget_in_one_line() -> None:
    from searchkit.solr.address import parse_address
    from searchkit.solr.backend import SolrBackend

    backend = SolrBackend(parse_address("solr://localhost:1/solr/nothing"))
    try:
        with pytest.raises(SearchkitError) as raised:
            backend.forget_sources([], missing=True)
    finally:
        backend.close()
    message = str(raised.value)
    assert "\n" not in message and "cannot forget" in message, message


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
