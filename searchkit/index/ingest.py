"""Reading input files into an index: readers → batches → upserts.

Records are written to the index as they are read and committed in batches, so memory
stays bounded on any input size and an interrupted run leaves the last committed batch
searchable. A bad record or file is reported and skipped; it never stops the good
records from being committed.

Each file read is recorded in the index's source registry (:mod:`searchkit.index.sources`)
once the batch holding its last record is committed; a file unchanged since it was
recorded is not read again unless ``force`` is given, nor is a file that is a recorded
source moved or renamed (same content, its recorded path gone): its entry moves to the
new path (:meth:`~searchkit.index.sources.SourceRegistry.moved_from`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from searchkit.errors import InputError
from searchkit.index.batch import WriteCounts
from searchkit.index.searchindex import DEFAULT_LIMITMB, SearchIndex
from searchkit.index.sources import (
    FileState,
    SourceEntry,
    SourceRegistry,
    read_state,
    stat_state,
)
from searchkit.items import Deletion, Skipped
from searchkit.readers import iter_inputs, not_records, read_file
from searchkit.readers._io import input_position
from searchkit.records import Record

# Records per commit. Records are written as they are read (the writers spill their
# postings to disk at their memory budget), so this bounds the work an interrupted
# run loses, not memory; larger batches mean fewer commits and segment merges, and a
# smaller index (see BENCHMARKS.md).
DEFAULT_BATCH_SIZE = 20_000
# A batch is also committed once its records' estimated footprint reaches this, so
# that commits of full PubMed records (authors, MeSH, dates: several times larger
# than title + abstract records) stay about as large as a default batch of abstracts.
MAX_BATCH_BYTES = 48 * 1024 * 1024

#: Records read between two reports to ``on_progress`` while a file is read.
PROGRESS_EVERY = 200

ProgressCallback = Callable[[Path, int], None]


@dataclass(frozen=True)
class IngestProgress:
    """How far an ingest is: files and records read, and bytes of input read of the
    total of the files it reads (as stored: a gzipped file by its compressed size)."""

    files_done: int
    files_total: int
    records: int
    bytes_done: int
    bytes_total: int


ProgressMeter = Callable[[IngestProgress], None]


def footprint(record: Record) -> int:
    """A rough estimate of a pending record's memory in bytes (its text, plus Python's
    overhead per object and per author, heading, keyword or type)."""
    items = (
        len(record.authors)
        + len(record.mesh)
        + len(record.keywords)
        + len(record.publication_types)
        + len(record.languages)
    )
    return 600 + len(record.title or "") + len(record.abstract or "") + 160 * items


def default_procs() -> int:
    """Writer processes by default: the number of cores."""
    return max(1, os.cpu_count() or 1)


@dataclass
class IngestReport:
    """What an ingest run did. ``skipped`` lists every record or file not ingested;
    ``unchanged_files`` the files not read because they were ingested before
    unchanged (their recorded records are counted in ``counts.unchanged``);
    ``moved`` the recorded sources found at a new path (same content, the recorded
    path gone), as (old path, new path): their entries moved there (a file not read
    again: its records counted in ``counts.unchanged``); ``passed_over`` the files
    found in folders that hold no records, and why (not a failure: see
    :func:`searchkit.readers.not_records`)."""

    files: int = 0
    records_read: int = 0
    counts: WriteCounts = field(default_factory=WriteCounts)
    skipped: list[Skipped] = field(default_factory=list)
    unchanged_files: list[Path] = field(default_factory=list)
    moved: list[tuple[Path, Path]] = field(default_factory=list)
    passed_over: list[tuple[Path, str]] = field(default_factory=list)
    #: A rebuild's: the records the old index held that no source gives any more,
    #: written into the new one (:mod:`searchkit.index.kept_records`) ...
    kept: int = 0
    #: ... or why the old index could not be read for them.
    old_unread: str | None = None

    @property
    def ok(self) -> bool:
        return not self.skipped


@dataclass
class FileRead:
    """A file read to its end: its identity when read, and what it held."""

    path: Path
    state: FileState
    records: int
    deletions: int
    skipped: int


def files_to_read(
    paths: Iterable[str | os.PathLike[str]],
    registry: SourceRegistry,
    force: bool,
    report: IngestReport,
    *,
    follow_moves: bool = False,
) -> list[Path]:
    """The files under ``paths`` to read, each once: not those recorded in
    ``registry`` and unchanged since (unless ``force``; they go to
    ``report.unchanged_files``), nor those found in folders that hold no records
    (they go to ``report.passed_over``). With ``follow_moves`` (and not ``force``),
    not a file that is a recorded source moved (:meth:`SourceRegistry.moved_from`)
    either: its entry is moved in ``registry`` (not saved) and it goes to
    ``report.moved``."""
    to_read: list[Path] = []
    for path, named in iter_inputs(paths):
        known = None if force else registry.unchanged(path)
        if known is not None:
            report.unchanged_files.append(path)
            report.counts.unchanged += known.records
            continue
        moved = _moved_from(registry, path) if follow_moves and not force else None
        if moved is not None:
            state = FileState(*stat_state(path), moved.sha256)
            registry.move(moved, path, state)
            report.moved.append((Path(moved.path), path))
            report.counts.unchanged += moved.records
            continue
        reason = None if named else not_records(path)
        if reason is None:
            to_read.append(path)
        else:
            report.passed_over.append((path, reason))
    return to_read


def _moved_from(registry: SourceRegistry, path: Path) -> SourceEntry | None:
    """The recorded source the file at ``path`` is, moved; only a regular file is
    hashed (opening a named pipe would block), and one that cannot be read is read
    (and its error reported) as any other file."""
    try:
        return registry.moved_from(path) if path.is_file() else None
    except OSError:
        return None


def read_into(
    path: Path,
    report: IngestReport,
    on_record: Callable[[Record], None],
    on_delete: Callable[[str], None],
) -> FileRead | None:
    """Read one file, handing its records to ``on_record`` and its deletions
    (``DeleteCitation``) to ``on_delete``, and counting them in ``report``; a bad record
    or a file that cannot be read goes to ``report.skipped``. What the file held if it
    was read to the end; None if it broke off (it must be read again next time)."""
    report.files += 1
    records_before, skipped_before, deletions = report.records_read, len(report.skipped), 0
    try:
        # Only a regular file is hashed: opening a named pipe would block, and the
        # reader gives the clear error for anything that is not a file.
        state = read_state(path) if path.is_file() else None
        for item in read_file(path):
            if isinstance(item, Record):
                report.records_read += 1
                on_record(item)
            elif isinstance(item, Deletion):
                deletions += 1
                on_delete(item.pmid)
            else:
                report.skipped.append(item)
    except InputError as exc:
        report.skipped.append(Skipped(exc.source, exc.location or "file", exc.reason))
        return None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        report.skipped.append(Skipped(str(path), "file", reason[:1].lower() + reason[1:]))
        return None
    assert state is not None  # read_file() refuses anything but a regular file
    records = report.records_read - records_before
    return FileRead(path, state, records, deletions, len(report.skipped) - skipped_before)


class _Batch:
    """The open index batch, committed every ``size`` records (or
    ``MAX_BATCH_BYTES`` of them), and the files whose records are all in this batch
    or an earlier one. An id upserted in the batch and seen again (a later version,
    or its deletion) commits the batch first, so the last one of an id wins. A file
    recorded that is a recorded source moved (read all the same: ``force``) takes the
    place of that source's entry, and goes to ``moved``."""

    def __init__(
        self,
        index: SearchIndex,
        size: int,
        counts: WriteCounts,
        registry: SourceRegistry,
        procs: int,
        moved: list[tuple[Path, Path]],
    ) -> None:
        self.index = index
        self.size = size
        self.counts = counts
        self.registry = registry
        self.moved = moved
        self.procs = procs
        self.current = index.batch(procs=procs)
        self.bytes = 0  # estimated footprint of the records in ``current``
        self.sources: list[FileRead] = []

    def add(self, record: Record) -> None:
        if record.pmid in self.current:
            self.flush()
        self.current.upsert(record)
        self.bytes += footprint(record)
        if self.current.upserts >= self.size or self.bytes >= MAX_BATCH_BYTES:
            self.flush()

    def delete(self, pmid: str) -> None:
        if pmid in self.current:
            self.flush()
        self.current.delete(pmid)

    def abandon(self) -> None:
        self.current.abandon()

    def flush(self) -> None:
        batch = self.current
        self.counts.merge(batch.commit())  # on failure ``current`` is still the batch
        self.current = self.index.batch(procs=self.procs)
        self.bytes = 0
        upserted = batch.upserted
        revived = self.registry.deleted & upserted if self.registry.deleted else set()
        if revived:
            self.registry.deleted -= revived
            if not self.sources:
                self.registry.save()
        if self.sources:
            # Only now, after the commit, do these files count as ingested.
            for s in self.sources:
                old = self.registry.moved_from(s.path, s.state)
                self.registry.record(s.path, s.state, s.records, s.deletions, s.skipped)
                if old is not None:
                    self.registry.forget([old.path])
                    self.moved.append((Path(old.path), s.path))
            self.registry.save()
            self.sources = []


def ingest(
    paths: Iterable[str | os.PathLike[str]],
    index: SearchIndex,
    *,
    batch_size: int | None = None,
    procs: int = 1,
    force: bool = False,
    on_file: ProgressCallback | None = None,
    on_progress: ProgressMeter | None = None,
) -> IngestReport:
    """Read every file under ``paths`` into ``index`` (upsert by id, deletions applied).

    Files recorded in the index's source registry and unchanged since (same size and
    modification time, or same SHA-256) are skipped unless ``force``. A file that is a
    recorded source moved or renamed (not recorded, with the content of a source whose
    file no longer exists) moves that source's entry to its path, and is not read
    unless ``force`` (``report.moved``); a source whose file exists is never taken
    for one. ``procs`` > 1
    analyses documents in that many Whoosh writer processes, which start on the first
    records while the rest are read. ``batch_size`` records are committed at a time
    (default: ``DEFAULT_BATCH_SIZE``), fewer when they reach ``MAX_BATCH_BYTES``
    (estimated by :func:`footprint`) or when an id of the batch comes again (a later
    version, or its deletion: the batch is committed first, so the last one wins).
    ``on_file`` is told each file read and its number of records; ``on_progress`` how
    far the run is, every ``PROGRESS_EVERY`` records and after each file.

    >>> report = ingest([Path("data")], SearchIndex.open_or_create(Path("ix")))  # doctest: +SKIP
    >>> report.counts.added                                                       # doctest: +SKIP
    2285
    """
    if batch_size is None:
        batch_size = DEFAULT_BATCH_SIZE
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    # The index lock is held for the whole run: the registry read here is the one
    # written back after each commit, and no other writer (a rebuild, a delete,
    # another ingest) can commit in between this run's batches.
    with index.locked():
        return _ingest(
            [Path(p) for p in paths], index, batch_size, procs, force, on_file, on_progress
        )


def _ingest(
    paths: Iterable[Path],
    index: SearchIndex,
    batch_size: int,
    procs: int,
    force: bool,
    on_file: ProgressCallback | None,
    on_progress: ProgressMeter | None,
) -> IngestReport:
    report = IngestReport()
    registry = SourceRegistry.load(index.path)
    batch = _Batch(index, batch_size, report.counts, registry, max(1, procs), report.moved)
    try:
        to_read = files_to_read(paths, registry, force, report, follow_moves=True)
        if report.moved:
            # Only the registry changes (the records are in the index): written at once,
            # under the index lock, as every change of it.
            registry.save()
        sizes = [_size(path) for path in to_read]
        bytes_before = 0

        def tell(files_done: int, bytes_done: int) -> None:
            if on_progress is not None:
                on_progress(
                    IngestProgress(
                        files_done, len(to_read), report.records_read, bytes_done, sum(sizes)
                    )
                )

        tell(0, 0)
        for number, path in enumerate(to_read):
            records_before = report.records_read

            def add(record: Record, number: int = number, before: int = bytes_before) -> None:
                batch.add(record)
                if report.records_read % PROGRESS_EVERY == 0:
                    within = min(input_position() or 0, sizes[number])
                    tell(number, before + within)

            read = read_into(path, report, add, batch.delete)
            if read is not None:
                # A file read to the end is recorded (at the next commit); one that broke
                # off is not, so the next ingest reads it again.
                batch.sources.append(read)
            if on_file is not None:
                on_file(path, report.records_read - records_before)
            bytes_before += sizes[number]
            tell(number + 1, bytes_before)
        batch.flush()
    except BaseException:
        # The open batch is given up (and its write lock released); what was
        # committed before stays in force.
        batch.abandon()
        raise
    return report


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def delete(index: SearchIndex, pmids: Iterable[str]) -> WriteCounts:
    """Remove records by id, and remember the ids so that a rebuild (which re-reads
    the source files) removes them again."""
    wanted = list(dict.fromkeys(pmids))
    with index.locked():  # the registry is read, changed and written back under it
        registry = SourceRegistry.load(index.path)
        # Recorded before the commit: a run killed in between must not let a rebuild
        # bring the records back. Ids the index did not hold are taken off after.
        added = set(wanted) - registry.deleted
        registry.deleted.update(added)
        registry.save()
        counts = index.delete(wanted)
        absent = added & set(counts.not_found)
        if absent:
            registry.deleted -= absent
            registry.save()
    return counts


__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_LIMITMB",
    "IngestReport",
    "default_procs",
    "delete",
    "ingest",
]
