"""Sending an ingest's records to a collection: from this process, or from several.

An ingest reads its files in one process and hands each record (or ``DeleteCitation``)
to a sender. :class:`BatchSender` sends them from this process in batches.
:class:`ProcessSenders` starts ``procs`` processes, each with a ``BatchSender`` of its
own, and gives every record to the process that owns its PMID (by a hash of the PMID):
the versions of one PMID are sent in the order they were read, as from one process, so
the one read last is the one kept. Each process builds its batches' JSON, compares with
the stored copies, sends and checks them, in parallel with the others and with the
reading. Queues are bounded: memory stays that of a few batches per process.

The processes end with their parent (:func:`searchkit.engine.orphans.die_with_parent`):
a killed ingest leaves none behind still sending.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import zlib
from collections import Counter
from typing import TYPE_CHECKING, Protocol

from searchkit.engine.orphans import die_with_parent
from searchkit.index.batch import WriteCounts
from searchkit.records import Record
from searchkit.solr.address import SolrAddress
from searchkit.solr.client import ClusterError

if TYPE_CHECKING:
    from collections.abc import Callable
    from multiprocessing.process import BaseProcess

#: Items a sending process may have waiting, in batches.
QUEUED_BATCHES = 2
#: Seconds between checks that every sending process is still alive while waiting.
POLL_SECONDS = 1.0


class Sender(Protocol):
    """Where an ingest puts what it reads."""

    def record(self, record: Record) -> None: ...

    def delete(self, pmid: str) -> None: ...

    def finish(self) -> tuple[WriteCounts, Counter[tuple[str, str]]]:
        """Send what waits; what was written, and the acronym definitions gained (> 0)
        and lost (< 0)."""
        ...

    def close(self) -> None:
        """Let go of what sends (after :meth:`finish`, or instead of it on a failure)."""
        ...


class Writes(Protocol):
    """What a sender writes through (:class:`searchkit.solr.backend.SolrBackend`)."""

    def send(self, pending: dict[str, Record], counts: WriteCounts) -> None: ...

    def delete_now(self, pmids: list[str], counts: WriteCounts) -> None: ...

    def take_acronym_changes(self) -> Counter[tuple[str, str]]: ...

    def close(self) -> None: ...


class BatchSender:
    """Sends from this process, through ``backend``, in batches of ``size`` records."""

    def __init__(self, backend: Writes, size: int) -> None:
        self.backend = backend
        self.size = size
        self.counts = WriteCounts()
        self.pending: dict[str, Record] = {}

    def record(self, record: Record) -> None:
        if record.pmid in self.pending:  # a later version: the earlier one goes first
            self.backend.send(self.pending, self.counts)
        self.pending[record.pmid] = record
        if len(self.pending) >= self.size:
            self.backend.send(self.pending, self.counts)

    def delete(self, pmid: str) -> None:
        self.backend.send(self.pending, self.counts)
        self.backend.delete_now([pmid], self.counts)

    def finish(self) -> tuple[WriteCounts, Counter[tuple[str, str]]]:
        self.backend.send(self.pending, self.counts)
        return self.counts, self.backend.take_acronym_changes()

    def close(self) -> None:
        """Nothing of its own to let go of."""


def _owner(pmid: str, procs: int) -> int:
    return zlib.crc32(pmid.encode("utf-8")) % procs


def _work(
    connect: Callable[[SolrAddress], Writes],
    address: SolrAddress,
    size: int,
    jobs: multiprocessing.Queue[tuple[str, object] | None],
    results: multiprocessing.Queue[tuple[str, object]],
    parent: int,
) -> None:
    """A sending process: what ``jobs`` brings, through a ``BatchSender`` of its own."""
    die_with_parent(parent)
    backend = connect(address)
    try:
        sender = BatchSender(backend, size)
        while (job := jobs.get()) is not None:
            kind, value = job
            if kind == "record":
                assert isinstance(value, Record)
                sender.record(value)
            else:
                sender.delete(str(value))
        results.put(("done", sender.finish()))
    except Exception as exc:  # every failure goes back to the parent as one line
        results.put(("error", str(exc) or type(exc).__name__))
    finally:
        backend.close()


class ProcessSenders:
    """``procs`` sending processes, each owning the PMIDs that hash to it; each writes
    through ``connect(address)`` (the backend class: picklable, as spawning needs)."""

    def __init__(
        self, connect: Callable[[SolrAddress], Writes], address: SolrAddress, size: int, procs: int
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self.results: multiprocessing.Queue[tuple[str, object]] = context.Queue()
        self.jobs: list[multiprocessing.Queue[tuple[str, object] | None]] = [
            context.Queue(maxsize=QUEUED_BATCHES * size) for _ in range(procs)
        ]
        self.processes: list[BaseProcess] = [
            context.Process(
                target=_work,
                args=(connect, address, size, jobs, self.results, os.getpid()),
                daemon=True,
            )
            for jobs in self.jobs
        ]
        for process in self.processes:
            process.start()

    def _put(self, index: int, job: tuple[str, object] | None) -> None:
        while True:
            try:
                self.jobs[index].put(job, timeout=POLL_SECONDS)
                return
            except queue.Full:
                self._check_alive()

    def _check_alive(self) -> None:
        """A process that ended early has failed: its error, else its exit status."""
        for process in self.processes:
            if not process.is_alive() and process.exitcode != 0:
                raise self._failure(f"a sending process ended with status {process.exitcode}")

    def _failure(self, fallback: str) -> ClusterError:
        self.close()
        try:
            kind, value = self.results.get(timeout=POLL_SECONDS)
        except queue.Empty:
            return ClusterError(fallback)
        return ClusterError(str(value) if kind == "error" else fallback)

    def record(self, record: Record) -> None:
        self._put(_owner(record.pmid, len(self.jobs)), ("record", record))

    def delete(self, pmid: str) -> None:
        self._put(_owner(pmid, len(self.jobs)), ("delete", pmid))

    def finish(self) -> tuple[WriteCounts, Counter[tuple[str, str]]]:
        for index in range(len(self.jobs)):
            self._put(index, None)
        counts, acronyms = WriteCounts(), Counter[tuple[str, str]]()
        for _ in self.processes:
            while True:
                try:
                    kind, value = self.results.get(timeout=POLL_SECONDS)
                    break
                except queue.Empty:
                    self._check_alive()
            if kind == "error":
                self.close()
                raise ClusterError(str(value))
            assert isinstance(value, tuple)
            part_counts, part_acronyms = value
            counts.merge(part_counts)
            acronyms.update(part_acronyms)
        for process in self.processes:
            process.join()
        return counts, acronyms

    def close(self) -> None:
        """Stop every sending process (after a failure: what they sent stays sent)."""
        for process in self.processes:
            if process.is_alive():
                process.terminate()
        for process in self.processes:
            process.join()
