"""The index never loses a record, and never locks its owner out, when writing commands
race each other or a run is killed: real `searchkit` processes on a small part of
the bundled records of data/ (the races do not depend on the size of the input, the
time does).

- a rebuild run while an ingest is between batches waits for it, and the ingest's
  records are in the rebuilt index;
- two ingests at once, or a delete during an ingest, each keep their part of the source
  registry, so a later rebuild gives the same records;
- a rebuild killed at any moment leaves the old index whole and unlocked.

A race is made certain, not left to timing: an ingest runs in this process, and right
after its first commit a real `searchkit` process starts the racing command; the ingest
goes on once that process says it waits for the index lock (the fix), or when it has
ended (the defect: it ran between two batches). A multi-process ingest whose parent
alone is killed is in test_crash.py (its multi-process kill sweep).
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from searchkit import SearchIndex, ingest
from searchkit.cli import app
from searchkit.index.batch import IndexBatch, WriteCounts
from searchkit.index.rebuild import rebuild
from searchkit.index.sources import SourceRegistry
from searchkit.readers import read_file
from searchkit.records import Record
from searchkit.semantic.model_files import packaged_model

from .conftest import SAMPLE_DIR, SMALL_SUBSET, SMALL_SUBSET_RECORDS, TEST_DATA
from .test_cli import _searchkit_exe

runner = CliRunner()
SOURCES = SMALL_SUBSET
SOURCE_RECORDS = SMALL_SUBSET_RECORDS
SEED_PAGE = SAMPLE_DIR / "pubmed-34572009-page.txt"
#: The races' input: the small input without its two largest files (53 records in 20
#: files), in batches of 20: the ingest's first commit ends in the middle of a file.
RACE_SOURCES = [
    p for p in SOURCES if not p.name.startswith(("mokztk_pubmed-parser__CPFE", "xizhou_"))
]
RACE_RECORDS = 53
BATCH_SIZE = 20
XML_FILES = [p for p in RACE_SOURCES if p.name.endswith((".xml", ".xml.gz"))]
TEXT_FILES = [p for p in RACE_SOURCES if p not in XML_FILES]


def _run(index: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SEARCHKIT_INDEX": str(index)}
    return subprocess.run(
        [_searchkit_exe(), *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def _start(index: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "SEARCHKIT_INDEX": str(index)}
    return subprocess.Popen(
        [_searchkit_exe(), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _count(index: Path) -> int:
    return len(SearchIndex.open(index))


def _pmids(index: Path) -> set[str]:
    with SearchIndex.open(index).searcher() as s:
        return {fields["pmid"] for fields in s.all_stored_fields()}


def _ingest_racing(
    index: Path, sources: list[Path], *command: str
) -> tuple[subprocess.Popen[str], str]:
    """Ingest ``sources`` into ``index`` in this process; right after its first commit,
    start ``searchkit COMMAND`` on the index, and go on once that process waits for
    the index lock or has ended. Returns the process and what it had said on stderr."""
    original = IndexBatch.commit
    started: list[subprocess.Popen[str]] = []
    said: list[str] = []

    def commit(self: IndexBatch) -> WriteCounts:
        counts = original(self)
        if not started:
            proc = _start(index, *command, "--lock-timeout", "120")
            started.append(proc)
            assert proc.stderr is not None
            for line in proc.stderr:  # until it waits, or to its end
                said.append(line)
                if line.startswith("waiting for another searchkit process"):
                    break
        return counts

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(IndexBatch, "commit", commit)
        report = ingest(sources, SearchIndex.open_or_create(index), batch_size=BATCH_SIZE)
    assert report.ok
    assert started, "the ingest committed nothing"
    return started[0], "".join(said)


def _finish(proc: subprocess.Popen[str], said: str) -> str:
    """``proc`` (started by :func:`_ingest_racing`) ends well; returns its stderr."""
    with proc:
        _, rest = proc.communicate(timeout=300)
    assert proc.returncode == 0, said + rest
    return said + rest


def _waited(stderr: str) -> bool:
    """Whether the racing process waited for the ingest (the race took place)."""
    return stderr.startswith("waiting for another searchkit process")


@pytest.mark.slow
def test_rebuild_during_an_ingest_keeps_the_ingests_records(tmp_path: Path) -> None:
    """`searchkit rebuild` while an ingest is between two batches: the rebuild waits
    for the ingest (it used to rebuild from the registry of the files already
    finished, and the ingest's other records were gone)."""
    index = tmp_path / "ix"
    rebuilding, said = _ingest_racing(index, RACE_SOURCES, "rebuild", "--procs", "1")
    stderr = _finish(rebuilding, said)
    assert _count(index) == RACE_RECORDS
    again = runner.invoke(app, ["ingest", *map(str, RACE_SOURCES), "--index", str(index)])
    assert again.exit_code == 0, again.stderr
    assert (
        again.stderr.startswith(("Nothing to read", "No records added"))
        and f"({RACE_RECORDS} records)" in again.stderr
    )
    assert _waited(stderr), stderr


@pytest.mark.slow
def test_two_ingests_at_once_both_stay_in_the_registry(tmp_path: Path) -> None:
    """Each ingest used to write back the registry it read at its start: after two at
    once, one's files were missing, and a rebuild dropped their records."""
    index = tmp_path / "ix"
    other = ("ingest", *map(str, TEXT_FILES), "--batch-size", str(BATCH_SIZE), "--procs", "1")
    second, said = _ingest_racing(index, XML_FILES, *other)
    stderr = _finish(second, said)
    assert _count(index) == RACE_RECORDS
    recorded = set(SourceRegistry.load(index).entries)
    assert recorded == {str(p.absolute()) for p in XML_FILES + TEXT_FILES}
    rebuilt, _ = rebuild(SearchIndex.open(index))
    assert len(rebuilt) == RACE_RECORDS
    assert _waited(stderr), stderr


@pytest.mark.slow
def test_a_delete_during_an_ingest_stays_deleted_after_a_rebuild(tmp_path: Path) -> None:
    # The input's first record: in the ingest's first batch.
    victim = next(r.pmid for r in read_file(RACE_SOURCES[0]) if isinstance(r, Record))
    index = tmp_path / "ix"
    deleting, said = _ingest_racing(index, RACE_SOURCES, "delete", victim)
    stderr = _finish(deleting, said)
    assert victim in SourceRegistry.load(index).deleted
    rebuilt, _ = rebuild(SearchIndex.open(index))
    pmids = _pmids(rebuilt.path)
    assert victim not in pmids
    assert len(pmids) == RACE_RECORDS - 1
    assert _waited(stderr), stderr


@pytest.fixture(scope="module")
def built_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("built") / "ix"
    assert ingest(SOURCES, SearchIndex.create(path)).ok
    assert _count(path) == SOURCE_RECORDS
    return path


@pytest.mark.slow
def test_rebuild_killed_at_any_moment_leaves_the_index_whole(
    tmp_path: Path, built_index: Path
) -> None:
    """5 kills of `searchkit rebuild` at random moments: the index keeps every record
    and is not locked; the next rebuild completes. (A rebuild of this input starts no
    writer processes, whatever --procs says: a batch needs 2,000 records for them.)"""
    index = tmp_path / "ix"
    shutil.copytree(built_index, index)
    # Rebuild reads the recorded sources by absolute path: the copy names the same files.
    rng = random.Random(9)
    started = time.monotonic()
    assert _run(index, "rebuild").returncode == 0
    seconds = time.monotonic() - started
    for _ in range(5):
        with _start(index, "rebuild") as proc:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=rng.uniform(0.2, seconds))
            proc.send_signal(signal.SIGKILL)
            _, stderr = proc.communicate(timeout=60)
        assert "Traceback" not in stderr
        assert _count(index) == SOURCE_RECORDS
        with SearchIndex.open(index).locked():  # not locked (lock_timeout 0: at once)
            pass
    done = _run(index, "rebuild", "--lock-timeout", "0")
    assert done.returncode == 0, done.stderr
    assert _count(index) == SOURCE_RECORDS
    assert not [p.name for p in index.parent.iterdir() if p.name.startswith(".")]


@contextlib.contextmanager
def _lock_held(index: Path) -> Iterator[None]:
    with SearchIndex.open(index).locked():
        yield


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [
        ["delete", "34572009"],
        ["optimize"],
        ["rebuild"],
        ["mesh", "load", str(TEST_DATA / "mesh" / "desc-sample.xml")],
    ],
    ids=["delete", "optimize", "rebuild", "mesh-load"],
)
def test_writing_commands_wait_for_the_lock_and_give_up_in_one_line(
    built_index: Path, tmp_path: Path, command: list[str]
) -> None:
    index = tmp_path / "ix"
    shutil.copytree(built_index, index)
    with _lock_held(index):
        result = runner.invoke(app, [*command, "--index", str(index), "--lock-timeout", "0.3"])
    assert result.exit_code == 1, result.output
    waiting, error = result.stderr.strip().splitlines()
    assert waiting == (
        f"waiting for another searchkit process to finish writing {index} (up to 0.3 s)…"
    )
    assert error == (
        f"Error: the index at {index} is being written by another searchkit process "
        "(waited 0.3 s); try again when it has finished"
    )
    assert _count(index) == SOURCE_RECORDS
    result = runner.invoke(app, [*command, "--index", str(index), "--lock-timeout", "0"])
    assert result.exit_code == 0, result.output


@contextlib.contextmanager
def _read_only_view(source: Path, view: Path) -> Iterator[Path]:
    """``source`` seen read-only at ``view``: a read-only bind mount when running as
    root (which ignores permission bits), else the directory's write bits removed."""
    if os.geteuid() == 0:
        view.mkdir()
        mounted = subprocess.run(
            ["mount", "--bind", "-o", "ro", str(source), str(view)], capture_output=True
        )
        if mounted.returncode != 0:
            pytest.skip(f"as root, a read-only bind mount is needed: {mounted.stderr!r}")
        try:
            yield view
        finally:
            subprocess.run(["umount", str(view)], check=True)
        return
    source.chmod(0o555)
    try:
        yield source
    finally:
        source.chmod(0o755)


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [
        ["rebuild"],
        ["delete", "34572009"],
        ["optimize"],
        ["ingest", str(SEED_PAGE), "--force"],
        ["embed"],
    ],
    ids=["rebuild", "delete", "optimize", "ingest", "embed"],
)
def test_a_read_only_index_is_one_error_line_and_still_searchable(
    built_index: Path, tmp_path: Path, command: list[str]
) -> None:
    if command == ["embed"] and packaged_model() is None:
        pytest.skip("the sentence-encoder model package is not installed")
    source = tmp_path / "ix"
    shutil.copytree(built_index, source)
    with _read_only_view(source, tmp_path / "view") as index:
        result = _run(index, *command)
        assert result.returncode == 1, result.stderr
        assert result.stdout == ""
        assert "Traceback" not in result.stderr
        error = result.stderr.strip().splitlines()[-1]
        assert error.startswith("Error: cannot ") and str(index) in error, result.stderr
        assert ("Read-only file system" in error) or ("Permission denied" in error)
        found = _run(index, "search", "cancer stem cells", "--count")
        assert found.returncode == 0 and int(found.stdout) > 0
    assert _count(source) == SOURCE_RECORDS
