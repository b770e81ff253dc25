"""Several processes on one index: the write lock, waiting for it, and reading while
another process writes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner
from whoosh.filedb.filestore import FileStorage

from searchkit import SearchIndex, search
from searchkit.cli import app
from searchkit.errors import IndexLockedError
from searchkit.readers import read_file
from searchkit.records import Record

from .conftest import SAMPLE_DIR, SEED_PMID, SMALL_SUBSET
from .test_cli import _searchkit_exe

runner = CliRunner()
SEED_FILE = SAMPLE_DIR / "pubmed-34572009-page.txt"
#: PubMed XML files of the small input (13 files, 234 records): the concurrent runs
#: show what they show on a few commits, not on the size of the input.
XML_FILES = [p for p in SMALL_SUBSET if p.name.endswith(".xml.gz")]

# Holds the index's write lock for argv[2] seconds, saying "locked" once it has it.
_HOLD_LOCK = """
import sys, time
from pathlib import Path
from searchkit import SearchIndex
with SearchIndex.open(Path(sys.argv[1])).locked():
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@contextmanager
def _lock_held(index: Path, seconds: float) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the write lock of ``index`` (for ``seconds`` at most);
    killed with SIGKILL on exit if still running."""
    with subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(index), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        try:
            yield holder
        finally:
            holder.kill()


def _pmids(index: SearchIndex) -> list[str]:
    with index.searcher() as s:
        return [fields["pmid"] for fields in s.all_stored_fields()]


def test_write_waits_for_the_lock_then_fails_with_a_clear_error(tmp_path: Path) -> None:
    ix = SearchIndex.create(tmp_path / "ix")
    other = SearchIndex.open(ix.path)
    with ix.locked():  # an OS file lock: a second holder conflicts even in-process
        waits: list[float] = []
        other.lock_timeout = 0.3
        other.on_lock_wait = waits.append
        started = time.monotonic()
        with pytest.raises(IndexLockedError, match="being written by another searchkit process"):
            other.upsert([Record(pmid="1", title="waits for the lock")])
        assert time.monotonic() - started >= 0.3
        assert waits == [0.3]  # told once, not once per retry
        other.lock_timeout = 0.0
        waits.clear()
        with pytest.raises(IndexLockedError), other.locked():
            pass
        assert waits == []  # no timeout: fail at once, without a waiting message
    with other.locked():  # released: the lock is free again
        other.writer().cancel()


@pytest.mark.slow
def test_cli_ingest_waits_for_another_writer_then_succeeds(tmp_path: Path) -> None:
    index = tmp_path / "ix"
    assert runner.invoke(app, ["ingest", str(XML_FILES[0]), "--index", str(index)]).exit_code == 0
    with _lock_held(index, 1.5) as holder:
        result = runner.invoke(
            app, ["ingest", str(SEED_FILE), "--index", str(index), "--lock-timeout", "60"]
        )
        assert holder.wait(timeout=30) == 0  # it released the lock and ended normally
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[0] == (
        f"waiting for another searchkit process to finish writing {index} (up to 60 s)…"
    )
    assert lines[-1].startswith("Added 1 record from 1 file in ")
    assert SEED_PMID in _pmids(SearchIndex.open(index))


@pytest.mark.slow
def test_cli_ingest_gives_up_after_the_lock_timeout(tmp_path: Path) -> None:
    index = tmp_path / "ix"
    assert runner.invoke(app, ["ingest", str(XML_FILES[0]), "--index", str(index)]).exit_code == 0
    before = sorted(_pmids(SearchIndex.open(index)))
    with _lock_held(index, 30):
        result = runner.invoke(
            app, ["ingest", str(SEED_FILE), "--index", str(index), "--lock-timeout", "0.5"]
        )
    assert result.exit_code == 1
    assert result.stdout == ""
    waiting, error = result.stderr.strip().splitlines()
    assert waiting.startswith("waiting for another searchkit process")
    assert error == (
        f"Error: the index at {index} is being written by another searchkit process "
        "(waited 0.5 s); try again when it has finished"
    )
    # Nothing was written, and the holder's death (SIGKILL) freed the lock.
    assert sorted(_pmids(SearchIndex.open(index))) == before
    result = runner.invoke(
        app, ["ingest", str(SEED_FILE), "--index", str(index), "--lock-timeout", "0"]
    )
    assert result.exit_code == 0, result.stderr
    assert "waiting" not in result.stderr


def test_lock_timeout_option_is_validated() -> None:
    result = runner.invoke(app, ["ingest", str(SEED_FILE), "--lock-timeout", "-1"])
    assert result.exit_code == 2
    assert "--lock-timeout" in result.stderr


@pytest.mark.slow
def test_two_concurrent_ingests_both_complete_without_corruption(tmp_path: Path) -> None:
    exe = _searchkit_exe()
    index = tmp_path / "ix"
    env = {**os.environ, "SEARCHKIT_INDEX": str(index)}
    # Several commits; both start before any index exists, so they also race to
    # create it (the one that gets the lock first holds it for its whole run).
    args = [exe, "ingest", *map(str, XML_FILES), "--batch-size", "60"]
    runs = [
        subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300) for run in runs]
    for run, (stdout, stderr) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, stderr
        assert stdout == ""
        assert "Traceback" not in stderr
    reference = tmp_path / "reference"
    assert (
        runner.invoke(app, ["ingest", *map(str, XML_FILES), "--index", str(reference)]).exit_code
        == 0
    )
    concurrent, clean = SearchIndex.open(index), SearchIndex.open(reference)
    pmids = _pmids(concurrent)
    assert len(pmids) == len(set(pmids))  # no record indexed twice
    assert sorted(pmids) == sorted(_pmids(clean))
    for pmid in pmids[:: max(1, len(pmids) // 25)]:
        assert concurrent.get(pmid) == clean.get(pmid)
    # The same matches (the order of equal scores may differ with the segment layout).
    found = search(concurrent, "cancer", limit=0)
    assert found.total == search(clean, "cancer", limit=0).total > 0
    # Exactly one index directory, and no staging directory left beside it.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ix", "reference"]


@pytest.mark.slow
def test_searches_during_an_ingest_see_the_last_committed_state(tmp_path: Path) -> None:
    exe = _searchkit_exe()
    index = tmp_path / "ix"
    env = {**os.environ, "SEARCHKIT_INDEX": str(index)}
    writer = subprocess.Popen(
        [exe, "ingest", *map(str, XML_FILES), "--batch-size", "40"],  # 6 commits
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    seen: list[int] = []
    cli_searched = False
    try:
        while writer.poll() is None:
            time.sleep(0.25)  # leave the CPU to the writer
            if not SearchIndex.exists(index):
                continue
            ix = SearchIndex.open(index)
            count = len(ix)
            assert ix.stats()["records"] >= count  # files deleted meanwhile are tolerated
            total = search(ix, "cancer", limit=5).total
            pmids = _pmids(ix)
            assert len(pmids) == len(set(pmids))
            # Each search sees one committed state: at least what was there before.
            assert not seen or count >= seen[-1]
            assert total <= len(pmids)
            seen.append(len(pmids))
            if not cli_searched:  # one real search process meanwhile
                found = subprocess.run(
                    [exe, "search", "immune", "--format", "pmid"],
                    capture_output=True,
                    text=True,
                    env=env,
                    check=False,
                )
                assert found.returncode == 0, found.stderr
                assert "Traceback" not in found.stderr
                cli_searched = True
    finally:
        _, stderr = writer.communicate(timeout=300)
    assert writer.returncode == 0, stderr
    assert len(set(seen)) >= 3, f"too few states observed during the ingest: {seen}"
    expected = {
        item.pmid for path in XML_FILES for item in read_file(path) if isinstance(item, Record)
    }
    assert sorted(_pmids(SearchIndex.open(index))) == sorted(expected)


def test_a_toc_deleted_by_a_concurrent_commit_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between listing the directory and opening the newest TOC, another process's
    commit may delete that TOC; the read is retried instead of failing."""
    ix = SearchIndex.create(tmp_path / "ix")
    ix.upsert([Record(pmid="1", title="cancer stem cells")])
    real_open = FileStorage.open_file
    failures: list[str] = []

    def open_file(self: FileStorage, name: str, *args: object, **kwargs: object) -> object:
        if name.endswith(".toc") and len(failures) < 3:
            failures.append(name)
            raise FileNotFoundError(2, "No such file or directory", name)
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(FileStorage, "open_file", open_file)
    assert len(ix) == 1
    assert ix.stats()["records"] == 1
    assert search(ix, "cancer").total == 1
    assert len(failures) == 3
