"""Reading input files into an index: readers → batches → upserts.

Records are committed in batches, so memory stays bounded on any input size and an
interrupted run leaves the last committed batch searchable. A bad record or file is
reported and skipped; it never stops the good records from being committed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from searchkit.errors import InputError
from searchkit.index import SearchIndex, WriteCounts
from searchkit.readers import iter_files, read_file
from searchkit.records import Deletion, Record, Skipped

DEFAULT_BATCH_SIZE = 5_000

ProgressCallback = Callable[[Path, int], None]


@dataclass
class IngestReport:
    """What an ingest run did. ``skipped`` lists every record or file not ingested."""

    files: int = 0
    records_read: int = 0
    counts: WriteCounts = field(default_factory=WriteCounts)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.skipped


class _Batch:
    """Pending upserts and deletions, keyed by id so that the last one of an id wins."""

    def __init__(self, index: SearchIndex, size: int, counts: WriteCounts) -> None:
        self.index = index
        self.size = size
        self.counts = counts
        self.records: dict[str, Record] = {}
        self.deletions: set[str] = set()

    def add(self, record: Record) -> None:
        self.deletions.discard(record.pmid)
        self.records.pop(record.pmid, None)  # re-insert so order follows the input
        self.records[record.pmid] = record
        if len(self.records) >= self.size:
            self.flush()

    def delete(self, pmid: str) -> None:
        self.records.pop(pmid, None)
        self.deletions.add(pmid)

    def flush(self) -> None:
        if self.records or self.deletions:
            self.counts.merge(self.index.apply(self.records, self.deletions))
        self.records = {}
        self.deletions = set()


def ingest(
    paths: Iterable[Path],
    index: SearchIndex,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_file: ProgressCallback | None = None,
) -> IngestReport:
    """Read every file under ``paths`` into ``index`` (upsert by id, deletions applied).

    >>> report = ingest([Path("data")], SearchIndex.open_or_create(Path("ix")))  # doctest: +SKIP
    >>> report.counts.added                                                       # doctest: +SKIP
    2263
    """
    report = IngestReport()
    batch = _Batch(index, batch_size, report.counts)
    for path in iter_files(paths):
        report.files += 1
        before = report.records_read
        try:
            for item in read_file(path):
                if isinstance(item, Record):
                    report.records_read += 1
                    batch.add(item)
                elif isinstance(item, Deletion):
                    batch.delete(item.pmid)
                else:
                    report.skipped.append(item)
        except InputError as exc:
            report.skipped.append(Skipped(exc.source, exc.location or "file", exc.reason))
        if on_file is not None:
            on_file(path, report.records_read - before)
    batch.flush()
    return report
