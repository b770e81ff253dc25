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
        # ~24 commits: enough states to see even when the ingest is quick and this
        # loop gets little CPU (with 6 it saw 2 under a loaded pytest -n auto).
        [exe, "ingest", *map(str, XML_FILES), "--batch-size", "10"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    seen: list[int] = []
    cli_searched = False
    try:
        while writer.poll() is None:
            time.sleep(0.1)  # leave the CPU to the writer
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


# Upserts one record in a batch that it then drops (neither committed nor abandoned),
# says "dropped" with whether the collector runs, and waits until told to end.
_DROP_BATCH = """
import gc, sys
from pathlib import Path
from searchkit import SearchIndex
from searchkit.records import Record
ix = SearchIndex.open(Path(sys.argv[1]))
batch = ix.batch(procs=int(sys.argv[2]))
for n in range(int(sys.argv[3])):
    batch.upsert(Record(pmid=f"99000{n}", title=f"dropped batch record {n}"))
del batch
print("dropped", gc.isenabled(), flush=True)
sys.stdin.readline()
"""


@pytest.mark.slow
@pytest.mark.parametrize(("procs", "records"), [(1, 1), (1, 3000), (2, 2100)])
def test_a_dropped_batch_gives_the_lock_back_and_writes_nothing(
    tmp_path: Path, procs: int, records: int
) -> None:
    """A batch given up without ``abandon`` (dropped by a caller of the Python API, an
    exception between its upserts and its commit) is abandoned when it is freed: its
    write lock is released at once, not when the process ends, its writer processes
    end, nothing of it is written, and the garbage collector it paused runs again."""
    index = tmp_path / "ix"
    assert runner.invoke(app, ["ingest", str(XML_FILES[0]), "--index", str(index)]).exit_code == 0
    before = sorted(_pmids(SearchIndex.open(index)))
    with subprocess.Popen(
        [sys.executable, "-c", _DROP_BATCH, str(index), str(procs), str(records)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdin is not None and holder.stdout is not None
        try:
            assert holder.stdout.readline().split() == ["dropped", "True"]
            ingest = subprocess.run(
                [
                    _searchkit_exe(),
                    "ingest",
                    str(SEED_FILE),
                    "--index",
                    str(index),
                    "--lock-timeout",
                    "0",
                ],
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert ingest.returncode == 0, ingest.stderr
            holder.stdin.write("\n")
            holder.stdin.flush()
            assert holder.wait(timeout=30) == 0
        finally:
            holder.kill()
    after = sorted(_pmids(SearchIndex.open(index)))
    assert after == sorted([*before, SEED_PMID])


def test_a_batch_as_a_context_commits_or_abandons(tmp_path: Path) -> None:
    """``with index.batch() as batch``: committed when the block ends, abandoned
    (nothing written, the lock released) when it raises."""
    ix = SearchIndex.create(tmp_path / "ix")
    with ix.batch() as batch:
        batch.upsert(Record(pmid="1", title="alpha helix"))
    assert batch.counts.added == 1
    with pytest.raises(RuntimeError, match="reading failed"), ix.batch() as failing:
        failing.upsert(Record(pmid="2", title="beta sheet"))
        raise RuntimeError("reading failed")
    assert sorted(_pmids(SearchIndex.open(ix.path))) == ["1"]
    ix.lock_timeout = 0.0
    with ix.locked():  # the lock was released
        ix.writer().cancel()
