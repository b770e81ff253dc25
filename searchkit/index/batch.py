"""A batch of writes to an index: upserts and deletions committed together
(:class:`IndexBatch`, made by :meth:`SearchIndex.batch
<searchkit.index.searchindex.SearchIndex.batch>`), and what a batch did
(:class:`WriteCounts`).

A batch sees its index only as a :class:`BatchTarget`: the lock it takes, the
writer it writes through, the acronym table it updates and what it does after a
commit. The index hands it one; this module does not import the index's.
"""

from __future__ import annotations

import contextlib
import gc
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol

from whoosh.searching import Searcher
from whoosh.writing import IndexWriter

from searchkit.analysis.acronyms import AcronymTable, mine_record
from searchkit.engine.idlookup import IdLookup
from searchkit.errors import IndexWriteError
from searchkit.index.documents import record_from_json, record_to_fields, record_to_json
from searchkit.index.locking import IndexLock
from searchkit.params import DEFAULT, Params
from searchkit.records import Record

# Below this many new or changed documents a batch is written by one process: starting
# writer processes and merging their segments costs more than it saves.
MIN_RECORDS_PER_PROC = 1_000


@dataclass
class WriteCounts:
    """What a batch of writes did to the index."""

    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    deleted: int = 0
    not_found: list[str] = field(default_factory=list)  # deletions of ids not in the index

    def merge(self, other: WriteCounts) -> None:
        self.added += other.added
        self.replaced += other.replaced
        self.unchanged += other.unchanged
        self.deleted += other.deleted
        self.not_found.extend(other.not_found)


class BatchTarget(Protocol):
    """What a batch needs of the index it writes."""

    @property
    def lock(self) -> IndexLock:
        """The index's write lock (a batch holds it from its first write on)."""
        ...

    def acquire_lock(self) -> None:
        """Take :attr:`lock`, waiting for another process as the index is told to."""
        ...

    def writer(self, procs: int, limitmb: int, multisegment: bool | None) -> IndexWriter:
        """A writer of the index, with the lock held."""
        ...

    def load_acronyms(self) -> AcronymTable:
        """The index's acronym table as last committed (the batch updates a copy)."""
        ...

    def committed(self, acronyms: AcronymTable) -> None:
        """After the batch's commit: save its acronym table, mark the index updated."""
        ...

    def write_error(self, exc: OSError) -> IndexWriteError:
        """``exc``, raised writing the index, as the one error a user is shown."""
        ...


class IndexBatch:
    """Upserts and deletions committed to an index together, each record written as
    it comes: with several writer processes they analyse the first records while the
    caller is still reading the rest.

    A batch upserts an id at most once, and does not delete an id it upserted
    (``pmid in batch`` tells): the caller commits and starts a new batch for that.
    The writer (and the index's write lock) is taken at the first upsert; with
    several processes only once ``2 * MIN_RECORDS_PER_PROC`` records are waiting,
    as starting writer processes costs more than it saves on fewer. Deletions are
    applied at the commit. A batch that fails, or is given up, must be
    :meth:`abandon`-ed: the last commit stays in force. As a context manager
    (``with index.batch() as batch:``) it is committed when the block ends and
    abandoned when it raises; a batch freed before either is abandoned then.
    """

    def __init__(
        self,
        index: BatchTarget,
        procs: int,
        limitmb: int,
        multisegment: bool | None,
        params: Params = DEFAULT,
    ) -> None:
        self._index = index
        self._params = params
        self._procs = max(1, procs)
        self._limitmb = limitmb
        self._multisegment = multisegment
        self._ids: set[str] = set()
        self._deletions: set[str] = set()
        self._waiting: list[Record] = []  # upserts before the writer is opened
        self._searcher: Searcher | None = None
        self._ids_found: IdLookup | None = None
        self._acronyms = AcronymTable()
        #: The fields of the index's schema (known once the writer is open).
        self._schema_names: frozenset[str] = frozenset()
        self._changed = False
        self._done = False  # committed or abandoned
        # The lock, writer and collector pause this batch holds, given back when it
        # is committed or abandoned, or else when it is freed.
        self._held = _Held(index.lock)
        self._release = weakref.finalize(self, self._held.release)
        self.counts = WriteCounts()

    def __enter__(self) -> IndexBatch:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._done:
            return
        if exc_type is None:
            self.commit()
        else:
            self.abandon()

    @property
    def _writer(self) -> IndexWriter | None:
        """The batch's writer, while it holds one."""
        return self._held.writer

    def __contains__(self, pmid: object) -> bool:
        """Whether ``pmid`` was upserted in this batch."""
        return pmid in self._ids

    @property
    def upserted(self) -> frozenset[str]:
        """The ids upserted in this batch."""
        return frozenset(self._ids)

    @property
    def deletions(self) -> frozenset[str]:
        """The ids to delete at the commit."""
        return frozenset(self._deletions)

    @property
    def upserts(self) -> int:
        """How many records were upserted in this batch."""
        return len(self._ids)

    def upsert(self, record: Record) -> None:
        """Add or replace ``record`` (left alone if the index holds it unchanged)."""
        self._check_open()
        if record.pmid in self._ids:
            raise ValueError(f"record {record.pmid} is already in this batch")
        self._deletions.discard(record.pmid)
        self._ids.add(record.pmid)
        if self._writer is None:
            self._waiting.append(record)
            if self._procs == 1 or len(self._waiting) >= MIN_RECORDS_PER_PROC * 2:
                self._open(self._procs)
            return
        self._guarded(self._write, record)

    def delete(self, pmid: str) -> None:
        """Remove the record ``pmid`` at the commit (listed in ``not_found`` if the
        index does not hold it)."""
        self._check_open()
        if pmid in self._ids:
            raise ValueError(f"record {pmid} is already in this batch")
        self._deletions.add(pmid)

    def commit(self) -> WriteCounts:
        """Write what is pending and commit it all (nothing is written when nothing
        changed); returns what the batch did."""
        self._check_open()
        self._done = True
        try:
            if self._writer is None:
                if not self._waiting and not self._deletions:
                    return self.counts
                self._open(self._procs if len(self._waiting) >= MIN_RECORDS_PER_PROC * 2 else 1)
            self._guarded(self._finish)
        finally:
            self._unlock()
        return self.counts

    def abandon(self) -> None:
        """Give up the batch: nothing of it is written, the write lock is released."""
        self._done = True
        self._unlock()

    def _unlock(self) -> None:
        """Give back what the batch holds (its writer abandoned unless committed)."""
        self._release()

    def _pause_collector(self) -> None:
        """Turn Python's cyclic garbage collector off while this process writes the
        batch, as the writer processes of ``procs`` > 1 do. Its full collections walked
        every object of the growing term store and analysis caches, ~6% of an
        ingest's CPU (BENCHMARKS.md); the writing makes little cyclic garbage, and
        the commit collects it. Turned on again when the batch is committed or
        abandoned (or, failing both, when the batch is freed)."""
        if gc.isenabled() and not self._held.paused:
            gc.disable()
            self._held.paused = True

    def _check_open(self) -> None:
        if self._done:
            raise ValueError("this batch was committed or abandoned; start a new one")

    def _open(self, procs: int) -> None:
        index = self._index
        if not self._held.locked:
            index.acquire_lock()
            self._held.locked = True
        writer = index.writer(procs, self._limitmb, self._multisegment)
        try:
            self._acronyms = index.load_acronyms()
        except BaseException as exc:
            abandon_writer(writer)
            if isinstance(exc, OSError):  # never taken for a problem of an input file
                raise index.write_error(exc) from None
            raise
        self._held.writer = writer
        self._schema_names = frozenset(writer.schema.names())
        # Whoosh leaves reference cycles through the frames of this call (an exception
        # kept in a local while the writer makes its folders): freed now, while young,
        # or they would keep this batch alive after its caller dropped it.
        gc.collect(1)
        if procs == 1:
            self._pause_collector()
        waiting, self._waiting = self._waiting, []

        def start() -> None:
            self._searcher = writer.searcher()
            self._ids_found = IdLookup(self._searcher, "pmid")
            for record in waiting:
                self._write(record)

        self._guarded(start)

    def _write(self, record: Record) -> None:
        writer, searcher, acronyms = self._writer, self._searcher, self._acronyms
        assert writer is not None and searcher is not None
        record_json = record_to_json(record)
        existing = self._found(record.pmid)  # an empty index has no segment to look in
        if existing is not None and existing.get("record") == record_json:
            self.counts.unchanged += 1
            return
        fields = record_to_fields(record, record_json, self._schema_names)
        if existing is not None:
            acronyms.remove(mine_record(record_from_json(existing["record"])))
        acronyms.add(mine_record(record))
        if existing is None:
            writer.add_document(**fields)
            self.counts.added += 1
        else:
            writer.update_document(**fields)
            self.counts.replaced += 1
        self._changed = True

    def _found(self, pmid: str) -> dict[str, Any] | None:
        """The stored fields of the record ``pmid`` in the index as the batch found it."""
        assert self._ids_found is not None
        return self._ids_found.document(pmid)

    def _finish(self) -> None:
        writer, searcher, acronyms = self._writer, self._searcher, self._acronyms
        assert writer is not None and searcher is not None
        index = self._index
        for pmid in sorted(self._deletions):
            old = self._found(pmid)
            if old is None:
                self.counts.not_found.append(pmid)
                continue
            acronyms.remove(mine_record(record_from_json(old["record"])))
            writer.delete_by_term("pmid", pmid)
            self.counts.deleted += 1
            self._changed = True
        if self._changed:
            from searchkit.engine.merging import tiered_merge  # writers only: not at open

            writer.commit(mergetype=tiered_merge(self._params))
            index.committed(acronyms)  # after its commit
        else:
            writer.cancel()
        # Whoosh's searchers and readers form reference cycles (a cached searcher's
        # close method refers to it), and full collections come rarely in a parent
        # that freezes its objects around forking writers: without this, a 1 GB XML
        # ingest kept the closed readers of every batch (BENCHMARKS.md).
        gc.collect()

    def _guarded(self, step: Callable[..., None], *args: Any) -> None:
        """Run a step with the writer open: on failure the writer is abandoned (the
        last commit stays in force); an OSError becomes one IndexWriteError."""
        assert self._writer is not None
        try:
            step(*args)
        except BaseException as exc:
            abandon_writer(self._writer)
            if isinstance(exc, OSError):
                raise self._index.write_error(exc) from None
            raise


class _Held:
    """What an :class:`IndexBatch` holds while it is open: the index lock, its writer,
    the collector it paused. Kept apart from the batch so that a batch freed without
    a commit or abandon gives them back (a finalizer must not refer to the batch)."""

    def __init__(self, lock: IndexLock) -> None:
        self.lock = lock
        self.locked = False
        self.writer: IndexWriter | None = None
        self.paused = False

    def release(self) -> None:
        """Abandon the writer unless it was committed, turn the collector on again if
        it was paused, release the lock; each once."""
        writer, self.writer = self.writer, None
        try:
            if writer is not None:
                abandon_writer(writer)
        finally:
            if self.paused:
                self.paused = False
                gc.enable()
            if self.locked:
                self.locked = False
                self.lock.release()


def abandon_writer(writer: IndexWriter) -> None:
    """Cancel a writer that failed, releasing the write lock even when the failure
    left it unable to cancel cleanly."""
    if getattr(writer, "is_closed", False):
        return
    try:
        writer.cancel()
    except Exception:
        lock = getattr(writer, "writelock", None)
        if lock is not None and lock.fd is not None:
            with contextlib.suppress(OSError):
                lock.release()
