"""Incremental ingest (the source registry), delete, sources, optimize and rebuild,
through the library and the CLI."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from searchkit import Record, RecordNotFoundError, SearchIndex, ingest
from searchkit.cli import app
from searchkit.index.batch import IndexBatch
from searchkit.index.ingest import footprint
from searchkit.index.rebuild import build_dir, old_dir, rebuild
from searchkit.index.sources import SOURCES_FILE, SourceRegistry
from searchkit.items import Deletion
from searchkit.readers import read_file

from .conftest import SAMPLE_DIR, SEED_PMID, TEST_DATA
from .test_cli import _searchkit_exe

runner = CliRunner()
SEED_FILE = SAMPLE_DIR / "pubmed-34572009-page.txt"
MEDLINE = TEST_DATA / "medline" / "biopython__Tests_Medline_pubmed_result2.txt"
XML = TEST_DATA / "pubmed_xml" / "filiperigueiro_ArticleSearch__pubmed_result.cut.xml"
# Five full PubMed records (authors, MeSH, dates) of a real export.
ORTHO_XML = (
    TEST_DATA / "pubmed_xml" / "p1m-ortho_qs-global-ortho-search-queries__pubmed_result.cut.xml"
)


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """A folder of copies of real files (tests modify and add files)."""
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SEED_FILE, folder / "a-seed.txt")
    shutil.copy(MEDLINE, folder / "b-medline.txt")
    return folder


def _ingest(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["ingest", *args])
    return result.exit_code, result.stdout, result.stderr


def test_second_ingest_reads_only_the_new_file(inputs: Path, tmp_path: Path) -> None:
    index = str(tmp_path / "ix")
    code, out, err = _ingest(str(inputs), "--index", index)
    assert code == 0, err
    assert out == ""
    assert " from 2 files in " in err
    first_count = len(SearchIndex.open(Path(index)))

    shutil.copy(XML, inputs / "c-update.xml")
    code, out, err = _ingest(str(inputs), "--index", index)
    assert code == 0, err
    assert "2 files unchanged since ingested, not read" in err
    assert " from 1 file in " in err
    added = len(SearchIndex.open(Path(index))) - first_count
    assert added > 0
    assert err.startswith(f"Added {added} records from 1 file in ")

    code, _, err = _ingest(str(inputs), "--index", index)
    assert code == 0
    assert err.startswith("Nothing to read: 3 files unchanged since ingested")


@pytest.mark.slow
def test_force_and_changed_files_are_read_again(inputs: Path, tmp_path: Path) -> None:
    index = str(tmp_path / "ix")
    assert _ingest(str(inputs), "--index", index)[0] == 0
    code, _, err = _ingest(str(inputs), "--index", index, "--force")
    assert code == 0
    assert err.startswith("No records added or changed (2 files read in ")

    # Touched but identical: the hash says unchanged.
    seed = inputs / "a-seed.txt"
    os.utime(seed, ns=(1, 1))
    assert "2 files unchanged" in _ingest(str(inputs), "--index", index)[2]

    # Really changed: read again, and the record is replaced.
    seed.write_text(seed.read_text("utf-8").replace("Immune Privilege", "Immune Sanctuary"))
    code, _, err = _ingest(str(inputs), "--index", index)
    assert code == 0
    assert err.startswith("Replaced 1 record from 1 file in ")
    assert "Sanctuary" in (SearchIndex.open(Path(index)).get(SEED_PMID).title or "")


def test_library_counts_unchanged_files_records_as_unchanged(inputs: Path, tmp_path: Path) -> None:
    ix = SearchIndex.create(tmp_path / "ix")
    first = ingest([inputs], ix)
    second = ingest([inputs], ix)
    assert second.files == 0
    assert second.unchanged_files == sorted(inputs.iterdir())
    assert second.counts.unchanged == first.counts.added == len(ix)


def test_broken_file_is_not_recorded(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    text = XML.read_text("utf-8")
    bad.write_text(text[: len(text) // 2], "utf-8")  # truncated XML
    index = str(tmp_path / "ix")
    code, _, err = _ingest(str(bad), "--index", index)
    assert code == 1
    assert "malformed XML" in err
    assert SourceRegistry.load(Path(index)).entries == {}
    code, _, err = _ingest(str(bad), "--index", index)
    assert code == 1 and " (1 file read in " in err  # read again, not skipped


def test_sources_lists_files_records_and_time(inputs: Path, tmp_path: Path) -> None:
    index = str(tmp_path / "ix")
    assert _ingest(str(inputs), "--index", index)[0] == 0
    result = runner.invoke(app, ["sources", "--index", index])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith(str((inputs / "a-seed.txt").absolute()))
    assert "       1 record   " in lines[0]
    # "1 record" keeps the columns of "N records": the paths start in one column.
    assert lines[0].index(str(inputs)) == lines[1].index(str(inputs))
    result = runner.invoke(app, ["sources", "-f", "json", "--index", index])
    data = json.loads(result.stdout)
    assert [Path(e["path"]).name for e in data] == ["a-seed.txt", "b-medline.txt"]
    assert data[1]["records"] == len(SearchIndex.open(Path(index))) - 1
    assert len(data[0]["sha256"]) == 64 and data[0]["ingested"]


def test_sources_of_an_index_without_files(tmp_path: Path) -> None:
    SearchIndex.create(tmp_path / "ix").upsert([Record(pmid="1", title="x")])
    result = runner.invoke(app, ["sources", "--index", str(tmp_path / "ix")])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "No source files recorded" in result.stderr


@pytest.mark.slow
def test_delete_command(tmp_path: Path) -> None:
    index = str(tmp_path / "ix")
    assert _ingest(str(MEDLINE), str(SEED_FILE), "--index", index)[0] == 0
    before = len(SearchIndex.open(Path(index)))
    result = runner.invoke(app, ["delete", SEED_PMID, "--index", index])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert f"1 record deleted. Index: {index} ({before - 1} records)" in result.stderr
    result = runner.invoke(app, ["show", SEED_PMID, "--index", index])
    assert result.exit_code == 1
    result = runner.invoke(app, ["delete", SEED_PMID, "999999999", "--index", index])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == f"Error: not in the index: {SEED_PMID} 999999999"
    result = runner.invoke(app, ["delete", "1", "--index", str(tmp_path / "none")])
    assert result.exit_code == 1 and result.stderr.startswith("Error:")


@pytest.mark.slow
def test_optimize_merges_segments(tmp_path: Path) -> None:
    index = str(tmp_path / "ix")
    code, _, err = _ingest(str(MEDLINE), "--index", index, "--batch-size", "3", "--procs", "1")
    assert code == 0, err
    ix = SearchIndex.open(Path(index))
    count = len(ix)
    assert ix.stats()["segments"] > 1
    result = runner.invoke(app, ["optimize", "--index", index])
    assert result.exit_code == 0, result.stderr
    assert "merged into 1" in result.stderr
    ix = SearchIndex.open(Path(index))
    assert ix.stats()["segments"] == 1
    assert len(ix) == count


@pytest.mark.slow
def test_optimize_keeps_the_acronym_table_current(tmp_path: Path) -> None:
    """The acronym table is saved for the index generation it describes; a table of an
    older generation is rebuilt from every stored record on each open (seconds per
    search on a large index). Optimizing changes no record, so the table it leaves
    must be the current generation's, with the same acronyms."""
    index = tmp_path / "ix"
    seed = SAMPLE_DIR / "pubmed-34572009-page.txt"
    for source in (MEDLINE, seed):
        code, _, err = _ingest(str(source), "--index", str(index), "--procs", "1")
        assert code == 0, err
    before = json.loads((index / "acronyms.json").read_text("utf-8"))
    result = runner.invoke(app, ["optimize", "--index", str(index)])
    assert result.exit_code == 0, result.stderr
    after = json.loads((index / "acronyms.json").read_text("utf-8"))
    ix = SearchIndex.open(index)
    assert after["generation"] == ix.whoosh_index.latest_generation() > before["generation"]
    assert after["table"] == before["table"]
    assert ["CSCs", "cancer stem cells", 1] in after["table"]["acronyms"]


@pytest.mark.slow
def test_rebuild_swaps_in_a_new_index(inputs: Path, tmp_path: Path) -> None:
    index = tmp_path / "ix"
    assert _ingest(str(inputs), "--index", str(index))[0] == 0
    ix = SearchIndex.open(index)
    count = len(ix)
    ix.upsert([Record(pmid="not-from-a-file", title="orphan")])
    # Leftovers of an interrupted earlier rebuild are cleaned up.
    build_dir(index).mkdir()
    (build_dir(index) / "junk").write_text("x")
    old_searcher_ix = SearchIndex.open(index)
    with old_searcher_ix.searcher() as searcher:
        result = runner.invoke(app, ["rebuild", "--index", str(index), "--procs", "1"])
        assert result.exit_code == 0, result.stderr
        assert result.stdout == ""
        assert "Rebuilt." in result.stderr and f"Added {count} records" in result.stderr
        # A searcher opened before the swap still reads the old index.
        assert searcher.document(pmid=SEED_PMID) is not None
    # The record written from no file is kept (tests/test_rebuild_keeps.py).
    assert "Kept 1 record that no recorded source holds" in result.stderr
    new = SearchIndex.open(index)
    assert len(new) == count + 1
    assert new.get("not-from-a-file").title == "orphan"
    assert new.get(SEED_PMID).pmid == SEED_PMID
    assert not build_dir(index).exists() and not old_dir(index).exists()
    assert len(SourceRegistry.load(index).entries) == 2
    # The rebuilt index records its sources: the next ingest skips them.
    assert "2 files unchanged" in _ingest(str(inputs), "--index", str(index))[2]


@pytest.mark.slow
def test_interrupted_rebuild_leaves_the_old_index(
    inputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ix = SearchIndex.create(tmp_path / "ix")
    ingest([inputs], ix)
    count = len(ix)
    files_before = sorted(p.name for p in ix.path.iterdir())

    def boom(path: Path, records: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rebuild(ix, on_file=boom)
    assert sorted(p.name for p in ix.path.iterdir()) == files_before
    assert not build_dir(ix.path).exists()
    again = SearchIndex.open(ix.path)
    assert len(again) == count
    # And a new rebuild (and ingest) work afterwards: the lock was released.
    new, report = rebuild(again)
    assert len(new) == count and report.ok


def test_rebuild_refuses_when_a_source_is_gone(inputs: Path, tmp_path: Path) -> None:
    index = str(tmp_path / "ix")
    assert _ingest(str(inputs), "--index", index)[0] == 0
    (inputs / "a-seed.txt").unlink()
    result = runner.invoke(app, ["rebuild", "--index", index])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "recorded source no longer exists" in result.stderr
    assert SEED_PMID in runner.invoke(app, ["show", SEED_PMID, "--index", index]).stdout


def test_registry_written_atomically(inputs: Path, tmp_path: Path) -> None:
    ix = SearchIndex.create(tmp_path / "ix")
    ingest([inputs], ix)
    names = {p.name for p in ix.path.iterdir()}
    assert SOURCES_FILE in names
    assert not any(n.endswith(".tmp") for n in names)


@pytest.mark.slow
def test_real_subprocess_incremental_and_rebuild(inputs: Path, tmp_path: Path) -> None:
    exe = _searchkit_exe()
    env = {**os.environ, "SEARCHKIT_INDEX": str(tmp_path / "ix")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([exe, *args], capture_output=True, text=True, env=env, check=False)

    first = run("ingest", str(inputs), "--procs", "2")
    assert first.returncode == 0, first.stderr
    assert first.stdout == ""
    again = run("ingest", str(inputs))
    assert again.returncode == 0
    assert "2 files unchanged" in again.stderr
    listed = run("sources")
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == 2
    rebuilt = run("rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    found = run("search", "immune privilege", "--format", "pmid")
    assert SEED_PMID in found.stdout.split()
    gone = run("delete", SEED_PMID)
    assert gone.returncode == 0 and gone.stdout == ""
    assert run("optimize").returncode == 0
    missing = run("show", SEED_PMID)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr


def _records(prefix: str, n: int, title: str) -> list[Record]:
    return [Record(pmid=f"{prefix}{i}", title=f"{title} {i}", abstract=title) for i in range(n)]


@pytest.mark.parametrize("multisegment", [True, False])
@pytest.mark.slow
def test_multiprocess_writer_replaces_duplicates_across_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, multisegment: bool
) -> None:
    import searchkit.index.batch
    import searchkit.index.searchindex

    monkeypatch.setattr(searchkit.index.batch, "MIN_RECORDS_PER_PROC", 1)
    monkeypatch.setattr(searchkit.index.searchindex, "MULTISEGMENT", multisegment)
    ix = SearchIndex.create(tmp_path / "ix")
    first = ix.apply({r.pmid: r for r in _records("p", 40, "alpha helix")}, set(), procs=2)
    assert first.added == 40
    # The same ids again, half changed: replaced, never duplicated; unchanged kept.
    again = _records("p", 20, "beta sheet")[1:] + _records("p", 40, "alpha helix")[20:]
    counts = ix.apply({r.pmid: r for r in again}, {"p0"}, procs=2)
    assert (counts.deleted, counts.replaced, counts.unchanged) == (1, 19, 20)
    assert len(ix) == 39
    with ix.searcher() as s:
        assert s.doc_count() == 39
        assert sorted(s.document_numbers(pmid="p5")) == [s.document_number(pmid="p5")]
    assert ix.get("p5").title == "beta sheet 5"
    assert ix.get("p25").title == "alpha helix 25"
    with pytest.raises(RecordNotFoundError):
        ix.get("p0")


@pytest.mark.slow
def test_ingest_with_procs_2_matches_procs_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import searchkit.index.batch
    import searchkit.index.searchindex

    monkeypatch.setattr(searchkit.index.batch, "MIN_RECORDS_PER_PROC", 1)
    results = []
    for procs in (1, 2):
        ix = SearchIndex.create(tmp_path / f"ix{procs}")
        report = ingest([TEST_DATA / "medline", XML, SEED_FILE], ix, procs=procs, batch_size=7)
        assert report.ok
        with ix.searcher() as s:
            stored = sorted((d["pmid"], d["record"]) for d in s.all_stored_fields())
        results.append((report.counts.added, stored, len(ix)))
    assert results[0] == results[1]
    assert results[0][2] > 15


def test_file_is_recorded_only_after_its_batch_is_committed(
    inputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ix = SearchIndex.create(tmp_path / "ix")
    ingest([inputs / "a-seed.txt"], ix)
    real_commit = IndexBatch.commit

    def failing_commit(self: IndexBatch) -> object:
        raise OSError("disk full")

    monkeypatch.setattr(IndexBatch, "commit", failing_commit)
    with pytest.raises(OSError, match="disk full"):
        ingest([inputs / "b-medline.txt"], ix)
    recorded = {Path(p).name for p in SourceRegistry.load(ix.path).entries}
    assert recorded == {"a-seed.txt"}
    monkeypatch.setattr(IndexBatch, "commit", real_commit)
    report = ingest([inputs], ix)
    assert report.files == 1 and report.counts.added > 0
    assert {Path(p).name for p in SourceRegistry.load(ix.path).entries} == {
        "a-seed.txt",
        "b-medline.txt",
    }


def test_unreadable_registry_is_one_clear_error(inputs: Path, tmp_path: Path) -> None:
    index = tmp_path / "ix"
    assert _ingest(str(inputs), "--index", str(index))[0] == 0
    (index / SOURCES_FILE).write_text("{not json")
    code, out, err = _ingest(str(inputs), "--index", str(index))
    assert code == 1 and out == ""
    assert err.startswith("Error: cannot read the source registry")
    assert err.count("\n") == 1


@pytest.mark.slow
def test_deleted_records_stay_deleted_after_rebuild_until_ingested_again(
    inputs: Path, tmp_path: Path
) -> None:
    index = str(tmp_path / "ix")
    assert _ingest(str(inputs), "--index", index)[0] == 0
    count = len(SearchIndex.open(Path(index)))
    assert runner.invoke(app, ["delete", SEED_PMID, "--index", index]).exit_code == 0
    assert runner.invoke(app, ["rebuild", "--index", index, "--procs", "1"]).exit_code == 0
    assert len(SearchIndex.open(Path(index))) == count - 1
    assert runner.invoke(app, ["show", SEED_PMID, "--index", index]).exit_code == 1
    # Ingesting the record again brings it back, and a rebuild keeps it.
    assert _ingest(str(inputs / "a-seed.txt"), "--index", index, "--force")[0] == 0
    assert runner.invoke(app, ["rebuild", "--index", index, "--procs", "1"]).exit_code == 0
    assert runner.invoke(app, ["show", SEED_PMID, "--index", index]).exit_code == 0
    assert len(SearchIndex.open(Path(index))) == count


def test_rebuild_reports_the_deletions_it_applies_again(inputs: Path, tmp_path: Path) -> None:
    """The summary of a rebuild adds up to the records it leaves: a record removed with
    ``delete`` is read from its file again and removed again, and said so (it read
    "Added N records ... (N - 1 records)")."""
    exe = _searchkit_exe()
    env = {**os.environ, "SEARCHKIT_INDEX": str(tmp_path / "ix")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([exe, *args], capture_output=True, text=True, env=env, check=False)

    assert run("ingest", str(inputs), "--procs", "1").returncode == 0
    count = len(SearchIndex.open(tmp_path / "ix"))
    assert run("delete", SEED_PMID).returncode == 0
    rebuilt = run("rebuild", "--procs", "1", "--quiet")
    assert rebuilt.returncode == 0, rebuilt.stderr
    summary = rebuilt.stderr.strip().splitlines()[-1]
    assert summary.startswith(f"Added {count} and deleted 1 records from 2 files in "), summary
    assert summary.endswith(f"({count - 1} records)"), summary


@pytest.mark.slow
def test_rebuild_of_the_current_directory(
    inputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = tmp_path / "ix"
    assert _ingest(str(inputs), "--index", str(index))[0] == 0
    count = len(SearchIndex.open(index))
    monkeypatch.chdir(index)
    result = runner.invoke(app, ["rebuild", "--index", ".", "--procs", "1"])
    assert result.exit_code == 0, result.stderr
    monkeypatch.chdir(tmp_path)
    assert len(SearchIndex.open(index)) == count
    assert not build_dir(index).exists()


def test_new_commands_have_help() -> None:
    for name in ("rebuild", "delete", "sources", "optimize"):
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Usage" in result.stdout
    result = runner.invoke(app, ["ingest", "--help"])
    assert "--procs" in result.stdout and "--force" in result.stdout
    assert "--batch-size" in result.stdout


@pytest.mark.parametrize("args", [["--procs", "0"], ["--batch-size", "0"]])
def test_bad_ingest_options_are_usage_errors(args: list[str], tmp_path: Path) -> None:
    result = runner.invoke(app, ["ingest", str(SEED_FILE), "--index", str(tmp_path), *args])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_batches_are_also_bounded_by_their_footprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Full PubMed records are large in memory: a batch is committed when its estimated
    footprint reaches MAX_BATCH_BYTES, whatever --batch-size says."""
    records = list(read_file(ORTHO_XML))
    sizes = [footprint(r) for r in records if isinstance(r, Record)]
    assert min(sizes) > 600  # text and authors are counted
    monkeypatch.setattr(sys.modules["searchkit.index.ingest"], "MAX_BATCH_BYTES", sum(sizes) // 3)
    ix = SearchIndex.create(tmp_path / "ix")
    before = ix.whoosh_index.latest_generation()
    report = ingest([ORTHO_XML], ix, procs=1, batch_size=100_000)
    assert report.ok and len(ix) == len(sizes)
    assert ix.whoosh_index.latest_generation() - before >= 3  # at least three commits


def _abstract(path: Path, pmid: str) -> str | None:
    return next(r for r in read_file(path) if isinstance(r, Record) and r.pmid == pmid).abstract


@pytest.mark.slow
def test_rebuild_keeps_the_version_of_the_file_read_last(tmp_path: Path) -> None:
    """The same five PMIDs exported as XML and as MEDLINE (one abstract's sections
    joined differently): whichever file was ingested last is in force, and a rebuild
    must read the files in that order, not in path order."""
    xml = (
        TEST_DATA / "pubmed_xml" / "p1m-ortho_qs-global-ortho-search-queries__pubmed_result.cut.xml"
    )
    nbib = TEST_DATA / "medline" / "p1m-ortho_qs-global-ortho-search-queries__citations.cut.nbib"
    pmid = "25238468"
    index = tmp_path / "ix"
    assert ingest([xml], SearchIndex.create(index)).ok
    assert ingest([nbib], SearchIndex.open(index)).ok  # "medline/..." sorts first
    in_force = SearchIndex.open(index).get(pmid)
    assert in_force.abstract == _abstract(nbib, pmid)
    assert in_force.abstract != _abstract(xml, pmid)
    rebuilt, _ = rebuild(SearchIndex.open(index))
    assert rebuilt.get(pmid) == in_force
    # Re-reading the XML with --force makes it the last read, and its version wins.
    assert ingest([xml], rebuilt, force=True).ok
    again, _ = rebuild(SearchIndex.open(index))
    assert again.get(pmid).abstract != in_force.abstract


def _stream(items: list[Record | Deletion]) -> object:
    def fake_read_file(path: Path) -> object:
        yield from items

    return fake_read_file


@pytest.mark.slow
def test_the_last_version_of_an_id_wins_within_one_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records are written as they are read: an id seen again in the same batch (a
    new version, or its deletion) commits the batch first, so the end state is the
    input's last word on each id, with one process or several."""
    import searchkit.index.batch
    import searchkit.index.searchindex

    monkeypatch.setattr(searchkit.index.batch, "MIN_RECORDS_PER_PROC", 1)
    source = tmp_path / "updates.jsonl"
    source.write_text("{}\n")
    items: list[Record | Deletion] = [
        *(Record(pmid=f"p{i}", title=f"alpha helix {i}") for i in range(6)),
        Record(pmid="p1", title="beta sheet 1"),  # a new version in the same batch
        Deletion(pmid="p2"),  # a deletion of a record of the same batch
        Record(pmid="p3", title="gamma turn 3"),
        Deletion(pmid="p3"),
        Record(pmid="p3", title="delta loop 3"),  # deleted, then back
        Deletion(pmid="missing"),
    ]
    monkeypatch.setattr(sys.modules["searchkit.index.ingest"], "read_file", _stream(items))
    for procs in (1, 2):
        ix = SearchIndex.create(tmp_path / f"ix{procs}")
        report = ingest([source], ix, procs=procs, batch_size=100)
        assert report.counts.not_found == ["missing"]
        with ix.searcher() as s:
            stored = {d["pmid"]: d["title"] for d in s.all_stored_fields()}
        assert stored == {
            "p0": "alpha helix 0",
            "p1": "beta sheet 1",
            "p3": "delta loop 3",
            "p4": "alpha helix 4",
            "p5": "alpha helix 5",
        }
        assert len(ix) == 5


def test_an_interrupted_batch_leaves_the_last_commit_and_frees_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while writer processes hold records of the open batch: nothing of that
    batch is written, the earlier commit stays searchable, the lock is released."""
    import searchkit.index.batch
    import searchkit.index.searchindex

    monkeypatch.setattr(searchkit.index.batch, "MIN_RECORDS_PER_PROC", 5)
    source = tmp_path / "big.jsonl"
    source.write_text("{}\n")

    def interrupted(path: Path) -> object:
        for i in range(350):  # the last 150 reach the writer processes
            yield Record(pmid=f"p{i}", title=f"alpha helix {i}")
        raise KeyboardInterrupt

    monkeypatch.setattr(sys.modules["searchkit.index.ingest"], "read_file", interrupted)
    ix = SearchIndex.create(tmp_path / "ix")
    with pytest.raises(KeyboardInterrupt):
        ingest([source], ix, procs=2, batch_size=200)
    assert len(SearchIndex.open(ix.path)) == 200  # the one committed batch
    assert not multiprocessing.active_children()  # the writer processes are stopped
    ix.lock_timeout = 0.0
    with ix.locked():  # free at once
        ix.writer().cancel()
    assert not SourceRegistry.load(ix.path).entries  # the file was not read to the end
