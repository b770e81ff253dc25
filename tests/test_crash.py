"""Crash safety: ``searchkit ingest`` killed with SIGKILL at many moments.

After every kill the index must open, hold exactly the records of one completed
commit (a prefix of the input, in input order, at a batch boundary), answer
searches, and not be locked; the next ``ingest`` of the same sources must complete
with every record. The boundaries are computed from a clean run of the same input
with the same batch size.
"""

from __future__ import annotations

import contextlib
import errno
import multiprocessing
import os
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from typer.testing import CliRunner
from whoosh.index import TOC

from searchkit import SearchIndex, ingest, search
from searchkit.cli import app
from searchkit.errors import IndexWriteError
from searchkit.index.batch import IndexBatch, WriteCounts
from searchkit.readers import read_file
from searchkit.records import Record

from .conftest import SAMPLE_DIR, SMALL_SUBSET, SMALL_SUBSET_RECORDS, TEST_DATA
from .test_cli import _searchkit_exe

runner = CliRunner()
#: The single-process sweeps ingest a small part of data/ (256 records of every
#: format, some read twice in two versions) in batches of 30: 10 commits, as many kill
#: targets as the whole of data/ in batches of 500 gave, for a tenth of the work per run.
BATCH_SIZE = 30
SOURCES = SMALL_SUBSET
SOURCE_RECORDS = SMALL_SUBSET_RECORDS
SAMPLE_RECORDS = 2285  # distinct PMIDs of data/: the multi-process sweep's input
SEED = 6


@dataclass(frozen=True)
class CleanRun:
    """What an uninterrupted ingest commits, commit by commit."""

    states: frozenset[frozenset[str]]  # the PMID set after each commit (and before any)
    index: SearchIndex
    seconds: float  # how long an uninterrupted `searchkit ingest` process takes
    sources: tuple[Path, ...]
    options: tuple[str, ...]  # the ingest options of every run
    once: frozenset[str]  # the PMIDs read once: their record is the same in every state


def _clean_run(
    base: Path, sources: tuple[Path, ...], options: tuple[str, ...], batch_size: int
) -> CleanRun:
    committed: set[str] = set()
    states: set[frozenset[str]] = {frozenset()}
    original = IndexBatch.commit

    def spy(self: IndexBatch) -> WriteCounts:
        counts = original(self)
        committed.update(self.upserted)
        committed.difference_update(self.deletions)
        states.add(frozenset(committed))
        return counts

    index = SearchIndex.create(base / "clean")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(IndexBatch, "commit", spy)
        report = ingest(list(sources), index, batch_size=batch_size)
    assert report.ok
    # Kill delays are drawn from the time a real ingest process takes (start-up and
    # the writer options included), measured now: the machine's load varies.
    started = time.monotonic()
    with _start(base / "timed", *options, sources=sources) as proc:
        _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    seconds = time.monotonic() - started
    assert frozenset(committed) == frozenset(_pmids(index))
    read = Counter(
        item.pmid for path in sources for item in read_file(path) if isinstance(item, Record)
    )
    once = frozenset(pmid for pmid, n in read.items() if n == 1)
    return CleanRun(frozenset(states), index, seconds, sources, options, once)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> CleanRun:
    """The single-process sweeps' reference: the small input, batch by batch."""
    options = ("--batch-size", str(BATCH_SIZE))
    clean = _clean_run(tmp_path_factory.mktemp("clean"), tuple(SOURCES), options, BATCH_SIZE)
    assert len(clean.index) == SOURCE_RECORDS
    assert len(clean.states) >= 10, "too few commits for a meaningful sweep"
    return clean


@pytest.fixture(scope="module")
def clean_multi_run(sample_index_dir: Path, unique_records: Path) -> CleanRun:
    """The multi-process sweep's reference: every record of data/ once, in one batch.
    Its kills wait for moments of the run, not for delays, and its one batch commits
    all or nothing: the shared index of data/ (the same records) is the reference."""
    options = ("--procs", "2", "--batch-size", str(SAMPLE_RECORDS))
    index = SearchIndex.open(sample_index_dir)
    assert len(index) == SAMPLE_RECORDS
    everything = frozenset(_pmids(index))
    return CleanRun(frozenset(), index, 0.0, (unique_records,), options, everything)


def _pmids(index: SearchIndex) -> list[str]:
    with index.searcher() as s:
        return [fields["pmid"] for fields in s.all_stored_fields()]


def _start(
    index: Path, *extra: str, sources: tuple[Path, ...] = tuple(SOURCES)
) -> subprocess.Popen[str]:
    env = {**os.environ, "SEARCHKIT_INDEX": str(index)}
    return subprocess.Popen(
        [_searchkit_exe(), "ingest", *map(str, sources), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _kill_after(delay: float) -> Callable[[subprocess.Popen[str], Path], None]:
    def wait(proc: subprocess.Popen[str], index: Path) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=delay)

    return wait


def _kill_at_new_file(nth: int) -> Callable[[subprocess.Popen[str], Path], None]:
    """Kill when the ``nth`` new name appears in the index directory: a segment
    file, Whoosh's temporary directory or a TOC being written (mid-commit)."""

    def wait(proc: subprocess.Popen[str], index: Path) -> None:
        known = set(os.listdir(index)) if index.is_dir() else set()
        new: set[str] = set()
        while proc.poll() is None and len(new) < nth:
            if index.is_dir():
                new |= set(os.listdir(index)) - known
            time.sleep(0.001)

    return wait


def _kill(
    index: Path, wait: Callable[[subprocess.Popen[str], Path], None], clean: CleanRun
) -> list[int] | None:
    """Start an ingest, ``wait``, SIGKILL it (the parent process alone); returns its
    child processes (the writers) alive at the kill, None if it had ended before.
    They must end with it."""
    with _start(index, *clean.options, sources=clean.sources) as proc:
        wait(proc, index)
        children = None if proc.poll() is not None else _children(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        deadline = time.monotonic() + 10
        while any(map(_alive, children or [])) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = [pid for pid in children or [] if _alive(pid)]
        for pid in left:  # not to leave them behind the failure
            os.kill(pid, signal.SIGKILL)
        assert not left, "writer processes outlived their parent"
        _, stderr = proc.communicate(timeout=60)
    assert "Traceback" not in stderr
    return children


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return "Z" not in state.split()[1]  # a zombie has ended; only its exit is unread


def _check_committed_state(index: Path, clean: CleanRun, *, exact_boundaries: bool = True) -> int:
    """The index after a kill: opens, holds one committed state, searches work."""
    if not index.exists() or not any(index.iterdir()):
        return 0  # killed before the index was created: nothing half-made is left
    ix = SearchIndex.open(index)
    pmids = _pmids(ix)
    assert len(pmids) == len(set(pmids)) == len(ix)
    if exact_boundaries:
        assert frozenset(pmids) in clean.states, f"{len(pmids)} records: not a commit boundary"
    else:
        assert set(pmids) <= set(_pmids(clean.index))
    if pmids:
        assert 0 < search(ix, "cancer", limit=3).total <= len(pmids)
        # A record read twice may hold either version in a state before the last.
        last = next((p for p in reversed(pmids) if p in clean.once), None)
        if last is not None:
            assert ix.get(last) == clean.index.get(last)
    return len(pmids)


def _finish(index: Path, clean: CleanRun) -> None:
    """The next ingest of the same sources completes with every record, unblocked."""
    with _start(index, "--lock-timeout", "5", *clean.options, sources=clean.sources) as proc:
        _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert "waiting for another searchkit process" not in stderr  # no stale lock
    assert f"({len(clean.index)} records)" in stderr
    ix = SearchIndex.open(index)
    assert sorted(_pmids(ix)) == sorted(_pmids(clean.index))
    hits = search(ix, "immune escape MHC", limit=5).hits
    assert [h.pmid for h in hits][:1] == [
        h.pmid for h in search(clean.index, "immune escape MHC", limit=1).hits
    ]
    assert not [p.name for p in index.parent.iterdir() if p.name.startswith(".")], (
        "staging directories left beside the index"
    )
    assert not [p for p in index.iterdir() if ".toc." in p.name], "stale TOC files left"
    assert not (index / "MAIN.tmp").exists(), "Whoosh's temporary directory left"
    _assert_no_orphan_segments(ix)


def _assert_no_orphan_segments(ix: SearchIndex) -> None:
    """Every segment file belongs to the current TOC: a kill mid-commit leaves none
    behind for good."""
    live = {segment.segment_id() for segment in ix.whoosh_index._segments()}
    names = [p.name for p in ix.path.glob("MAIN_*.*")]
    files = {name.split(".")[0] for name in names} - {"MAIN_WRITELOCK"}
    orphans = sorted(name for name in names if name.split(".")[0] in files - live)
    assert files == live, f"orphan segment files: {orphans}"


@pytest.mark.slow
def test_sigkill_sweep_at_random_moments(tmp_path: Path, clean_run: CleanRun) -> None:
    """6 kills after seeded random delays, in two chains: each run resumes the
    index the previous kill left, and is killed at a random moment of the work
    still to do (from 0.2 s to the time a run takes for what is left).

    The first run of a chain commits where the clean run does. A resumed run skips the
    files already recorded, so its batches end elsewhere: what it leaves is checked as
    one committed state holding no record the clean run lacks, and never fewer
    records than before it started."""
    rng = random.Random(SEED)
    seen: list[int] = []
    for chain in range(2):
        index = tmp_path / f"ix{chain}"
        done = 0
        for run in range(3):
            left = clean_run.seconds * (1 - done / SOURCE_RECORDS)
            _kill(index, _kill_after(rng.uniform(0.2, left)), clean_run)
            before = done
            done = _check_committed_state(index, clean_run, exact_boundaries=run == 0)
            assert done >= before, f"a killed run lost records: {before} -> {done}"
            seen.append(done)
        _finish(index, clean_run)
    # Kills land in long commits (segment merges) often; some must hit mid-run.
    assert any(0 < n < SOURCE_RECORDS for n in seen), f"no kill hit a partial state: {seen}"


@pytest.mark.slow
def test_sigkill_sweep_during_commits(tmp_path: Path, clean_run: CleanRun) -> None:
    """5 kills the moment new files appear in the index directory: as the index is
    created, then four times as a commit writes its segment files and TOC (each run
    resumes the index the previous kill left)."""
    rng = random.Random(SEED + 1)
    index = tmp_path / "ix"
    # The first kill: the moment the new index directory appears.
    assert _kill(index, _kill_at_new_file(1), clean_run) is not None
    _check_committed_state(index, clean_run)
    for _ in range(4):
        killed = _kill(index, _kill_at_new_file(rng.randint(1, 3)), clean_run)
        assert killed is not None, "the run ended before the kill"
        _check_committed_state(index, clean_run)
    _finish(index, clean_run)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_sigkill_sweep_multi_process_writer(tmp_path: Path, clean_multi_run: CleanRun) -> None:
    """The same with the multi-process writer, its parent process killed alone (as
    the OOM killer would): twice at a seeded random moment while the writer processes
    run, twice as the commit writes its files. After each kill the writer processes
    die with their parent (they used to live on, holding the inherited write lock),
    the index holds a consistent subset of the input and is not locked: a write
    starts at once. The next ingest completes with every record.

    Writer processes start only once 2,000 records wait for them, which no batch of
    data/ reaches (each file holds fewer, and a batch is committed early when an id comes
    again): the sweep ingests every record of data/ once, as one JSON Lines file, in
    one batch."""
    help_text = runner.invoke(app, ["ingest", "--help"]).stdout
    if "--procs" not in help_text:
        pytest.skip("this build's ingest has no --procs option (no multi-process writer)")
    rng = random.Random(SEED + 2)
    index = tmp_path / "ix"
    for run in range(4):
        seen: list[int] = []
        if run % 2 == 0:
            then = _kill_after(rng.uniform(0, 1))
        else:
            then = _kill_at_new_file(rng.randint(1, 3))
        writers = _kill(index, _once_writers_run(seen, then), clean_multi_run)
        assert seen, "the ingest ended before its writer processes started"
        assert writers is not None, "the ingest ended before the kill"
        if run % 2 == 0:
            assert writers, "a kill while the writer processes run did not meet them"
        _check_committed_state(index, clean_multi_run, exact_boundaries=False)
        ix = SearchIndex.open(index)
        ix.lock_timeout = 0.0  # not locked: IndexLockedError at once otherwise
        with ix.locked():
            ix.writer().cancel()  # Whoosh's own write lock is free too
    _finish(index, clean_multi_run)


def _once_writers_run(
    seen: list[int], then: Callable[[subprocess.Popen[str], Path], None]
) -> Callable[[subprocess.Popen[str], Path], None]:
    """Wait until the ingest has child processes (the writers), noting them in
    ``seen``, then wait as ``then`` does."""

    def wait(proc: subprocess.Popen[str], index: Path) -> None:
        while proc.poll() is None and not seen:
            seen.extend(_children(proc.pid))
            time.sleep(0.005)
        then(proc, index)

    return wait


def test_stale_staging_directory_of_a_dead_process_is_removed(tmp_path: Path) -> None:
    # What a process killed inside SearchIndex.create leaves: its staging directory.
    pid = 2**22 + 7  # above the largest pid Linux hands out: no such process
    stale = tmp_path / f".ix.creating-{pid}-0a1b2c3d"
    (stale / "sub").mkdir(parents=True)
    alive = tmp_path / f".ix.creating-{os.getpid()}-0a1b2c3d"  # a creation in progress
    alive.mkdir()
    SearchIndex.create(tmp_path / "ix")
    assert not stale.exists()
    assert alive.exists()
    assert SearchIndex.exists(tmp_path / "ix")


def test_create_in_an_existing_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "ix").mkdir()
    seed_file = SAMPLE_DIR / "pubmed-34572009-page.txt"
    result = runner.invoke(app, ["ingest", str(seed_file), "--index", str(tmp_path / "ix")])
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ix"]


@pytest.mark.slow
def test_disk_full_during_a_commit_is_one_line_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = tmp_path / "ix"
    seed_file = SAMPLE_DIR / "pubmed-34572009-page.txt"
    assert runner.invoke(app, ["ingest", str(seed_file), "--index", str(index)]).exit_code == 0
    before = sorted(_pmids(SearchIndex.open(index)))

    def disk_full(*args: object, **kwargs: object) -> None:
        # After the segment files are written, as the new TOC is: the worst moment.
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(TOC, "write", disk_full)
    more = TEST_DATA / "medline" / "biopython__Tests_Medline_pubmed_result2.txt"
    args = ["ingest", str(more), "--index", str(index), "--lock-timeout", "0"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"Error: cannot write the index at {index} (No space left on device); it still "
        "holds the records of the last completed commit"
    ]
    monkeypatch.undo()
    assert sorted(_pmids(SearchIndex.open(index))) == before
    # The lock was released and the stray segment files do not get in the way.
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert len(_pmids(SearchIndex.open(index))) > len(before)
    _assert_no_orphan_segments(SearchIndex.open(index))  # the failed commit's files


def test_an_index_that_cannot_be_created_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_mkdir = Path.mkdir

    def mkdir(self: Path, *args: object, **kwargs: object) -> None:
        if ".creating-" in self.name:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        real_mkdir(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "mkdir", mkdir)
    index = tmp_path / "ix"
    seed_file = SAMPLE_DIR / "pubmed-34572009-page.txt"
    result = runner.invoke(app, ["ingest", str(seed_file), "--index", str(index)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"Error: cannot create an index at {index} (Permission denied)"
    ]
    assert not index.exists()


@pytest.mark.slow
def test_files_of_a_commit_killed_before_its_cleanup_go_at_the_next_write(
    tmp_path: Path,
) -> None:
    """A commit renames its TOC into place, then deletes the segment files it merged
    away. Killed between the two, it leaves those files behind; the next ingest, even
    one that finds every source unchanged and commits nothing, removes them (CI saw
    one left after a multi-process kill sweep)."""
    index = tmp_path / "ix"
    for name in ("pubmed-34572009-page.txt", "biopython__Tests_Medline_pubmed_result1.txt"):
        assert ingest([SAMPLE_DIR / name], SearchIndex.open_or_create(index)).ok
    before = {p.name: p.read_bytes() for p in index.glob("MAIN_*.*") if p.name != "MAIN_WRITELOCK"}
    assert len({name.split(".")[0] for name in before}) >= 2
    assert runner.invoke(app, ["optimize", "--index", str(index)]).exit_code == 0
    # The state a kill after the TOC rename and before the cleanup leaves.
    for name, data in before.items():
        if not (index / name).exists():
            (index / name).write_bytes(data)
    with pytest.raises(AssertionError, match="orphan segment files"):
        _assert_no_orphan_segments(SearchIndex.open(index))
    # A real process, as after a kill.
    env = {**os.environ, "SEARCHKIT_INDEX": str(index)}
    result = subprocess.run(
        [_searchkit_exe(), "ingest", str(SAMPLE_DIR / "pubmed-34572009-page.txt")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "unchanged" in result.stderr
    _assert_no_orphan_segments(SearchIndex.open(index))


@pytest.mark.slow
def test_a_multi_process_commit_whose_writer_process_died_commits_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer process that dies before handing its segment over (killed by the OOM
    killer, a crash) must fail the commit: Whoosh's multi-process writer committed
    without that process's documents, while the replaced records' old versions were
    deleted, so the commit lost records without a word."""
    import searchkit.index.batch

    # Two writer processes for a batch of 220 (each is handed 100 records at a time).
    monkeypatch.setattr(searchkit.index.batch, "MIN_RECORDS_PER_PROC", 100)
    seen: dict[str, Record] = {}
    for path in SOURCES:
        for item in read_file(path):
            if isinstance(item, Record):
                seen[item.pmid] = item
    records = sorted(seen.values(), key=lambda r: r.pmid)[:220]
    index = SearchIndex.create(tmp_path / "ix")
    index.apply({r.pmid: r for r in records[:30]}, set())
    batch = index.batch(procs=2)
    for i, record in enumerate(records):  # 30 replaced, 190 new: two writer processes
        batch.upsert(replace(record, title=f"{record.title} revised") if i < 30 else record)
    writers = multiprocessing.active_children()
    assert len(writers) == 2
    os.kill(writers[0].pid, signal.SIGKILL)  # type: ignore[arg-type]
    with pytest.raises(IndexWriteError, match="writer process"):
        batch.commit()
    # The last completed commit stays in force, and the index is not left locked.
    assert sorted(_pmids(index)) == sorted(r.pmid for r in records[:30])
    for record in records[:30:3]:
        assert index.get(record.pmid) == record
    assert index.apply({r.pmid: r for r in records}, set(), procs=2).added == 190
    assert sorted(_pmids(index)) == sorted(r.pmid for r in records)


def test_a_run_that_changes_nothing_leaves_no_segment_files(tmp_path: Path) -> None:
    """A batch whose records are all unchanged cancels its writer, which had created
    its segment's files (postings, terms, stored records): the run removes them, as
    it would after a commit, rather than leaving them for the next writer. This is
    also where a kill sweep's resumed run ends when the killed run had committed
    its last batch but not recorded its file."""
    index = tmp_path / "ix"
    source = SAMPLE_DIR / "biopython__Tests_Entrez_pubmed1.xml.gz"
    for extra in ((), ("--force",)):
        done = subprocess.run(
            [_searchkit_exe(), "ingest", str(source), "--index", str(index), *extra],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    assert "No records added or changed" in done.stderr
    ix = SearchIndex.open(index)
    try:
        _assert_no_orphan_segments(ix)
    finally:
        ix.close()
