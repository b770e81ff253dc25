"""The index never loses a record, and never locks its owner out, when writing commands
race each other or a parent process is killed: real `searchkit` processes on the
bundled records of data/ (without its largest file where a test ingests or rebuilds
again and again: the races do not depend on the size of the input, the time does).

- a rebuild run while an ingest is between batches waits for it, and the ingest's
  records are in the rebuilt index;
- two ingests at once, or a delete during an ingest, each keep their part of the source
  registry, so a later rebuild gives the same records;
- a rebuild killed at any moment leaves the old index whole and unlocked.

A multi-process ingest whose parent alone is killed is in test_crash.py (its
multi-process kill sweep).
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
from searchkit.index.sources import SourceRegistry
from searchkit.semantic.model_files import packaged_model

from .conftest import SAMPLE_DIR, SAMPLE_SUBSET, SAMPLE_SUBSET_RECORDS, TEST_DATA
from .test_cli import _searchkit_exe

runner = CliRunner()
SOURCES = SAMPLE_SUBSET
SOURCE_RECORDS = SAMPLE_SUBSET_RECORDS
SEED_PAGE = SAMPLE_DIR / "pubmed-34572009-page.txt"
XML_FILES = [p for p in SOURCES if p.name.endswith(".xml.gz")]
TEXT_FILES = [p for p in SOURCES if p not in XML_FILES]


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


def _wait_for_first_commit(index: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(Exception):
            if (index / "searchkit.json").is_file() and _count(index) > 0:
                return
        time.sleep(0.02)
    raise AssertionError("the ingest committed nothing before it ended")


@pytest.mark.slow
def test_rebuild_during_an_ingest_keeps_the_ingests_records(tmp_path: Path) -> None:
    """`until searchkit rebuild; do :; done` while an ingest commits batch by batch:
    the rebuild waits for the ingest (it used to rebuild from the registry of the
    files already finished, and the ingest's other records were gone)."""
    index = tmp_path / "ix"
    with _start(index, "ingest", *map(str, SOURCES), "--batch-size", "100", "--procs", "1") as ing:
        _wait_for_first_commit(index, ing)
        for _ in range(200):  # until it gets in
            rebuilt = _run(index, "rebuild", "--procs", "1")
            if rebuilt.returncode == 0:
                break
            assert "is being written by another" in rebuilt.stderr, rebuilt.stderr
        assert rebuilt.returncode == 0, rebuilt.stderr
        _, stderr = ing.communicate(timeout=300)
    assert ing.returncode == 0, stderr
    assert _count(index) == SOURCE_RECORDS
    again = _run(index, "ingest", *map(str, SOURCES))
    assert again.returncode == 0, again.stderr
    assert (
        again.stderr.startswith(("Nothing to read", "No records added"))
        and f"({SOURCE_RECORDS} records)" in again.stderr
    )
    assert _run(index, "rebuild").returncode == 0
    assert _count(index) == SOURCE_RECORDS


@pytest.mark.slow
def test_two_ingests_at_once_both_stay_in_the_registry(tmp_path: Path) -> None:
    """Each ingest used to write back the registry it read at its start: after two at
    once, one's files were missing, and a rebuild dropped their records."""
    index = tmp_path / "ix"
    options = ("--batch-size", "100", "--procs", "1")
    with (
        _start(index, "ingest", *map(str, XML_FILES), *options) as first,
        _start(index, "ingest", *map(str, TEXT_FILES), *options) as second,
    ):
        for proc in (first, second):
            _, stderr = proc.communicate(timeout=300)
            assert proc.returncode == 0, stderr
    assert _count(index) == SOURCE_RECORDS
    recorded = set(SourceRegistry.load(index).entries)
    assert recorded == {str(p.absolute()) for p in XML_FILES + TEXT_FILES}
    rebuilt = _run(index, "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert _count(index) == SOURCE_RECORDS


@pytest.mark.slow
def test_a_delete_during_an_ingest_stays_deleted_after_a_rebuild(tmp_path: Path) -> None:
    index = tmp_path / "ix"
    with _start(index, "ingest", *map(str, SOURCES), "--batch-size", "100", "--procs", "1") as ing:
        _wait_for_first_commit(index, ing)
        victim = sorted(_pmids(index))[0]
        for _ in range(200):  # until it gets in (it waits for the ingest's lock)
            deleted = _run(index, "delete", victim)
            if deleted.returncode == 0:
                break
            assert "is being written by another" in deleted.stderr, deleted.stderr
        assert deleted.returncode == 0, deleted.stderr
        _, stderr = ing.communicate(timeout=300)
    assert ing.returncode == 0, stderr
    assert victim in SourceRegistry.load(index).deleted
    rebuilt = _run(index, "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    pmids = _pmids(index)
    assert victim not in pmids
    assert len(pmids) == SOURCE_RECORDS - 1


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
    """8 kills of `searchkit rebuild` (4 with --procs 2, parent only) at random moments:
    the index keeps every record and is not locked; the next rebuild completes."""
    index = tmp_path / "ix"
    shutil.copytree(built_index, index)
    # Rebuild reads the recorded sources by absolute path: the copy names the same files.
    rng = random.Random(9)
    started = time.monotonic()
    assert _run(index, "rebuild").returncode == 0
    seconds = time.monotonic() - started
    for run in range(8):
        procs = "2" if run % 2 else "1"
        with _start(index, "rebuild", "--procs", procs) as proc:
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
        found = _run(index, "search", "immune escape MHC", "--count")
        assert found.returncode == 0 and int(found.stdout) > 0
    assert _count(source) == SOURCE_RECORDS
