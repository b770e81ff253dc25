"""The writers of searchkit's fast indexing path: Whoosh's segment writers with each
field indexed by the function :mod:`searchkit.engine.field_indexers` compiles for it
(the same postings as Whoosh's, without the per-token object churn), the postings
kept grouped by term in a term store (:mod:`searchkit.engine.bulkpostings`), and
segment merges written a term at a time (:mod:`searchkit.engine.merging`).

:class:`FastSegmentWriter` is a Whoosh ``SegmentWriter`` that uses these functions;
:class:`FastMpWriter` is the multi-process writer whose sub-processes use it.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from itertools import islice
from typing import Any

from whoosh.multiproc import MpWriter, SubWriterTask
from whoosh.writing import PostingPool, SegmentWriter

from searchkit.engine.bulkpostings import (
    TermGroup,
    TermStore,
    group_pool_postings,
    merge_groups,
)
from searchkit.engine.codec import SearchkitCodec
from searchkit.engine.field_indexers import (
    FieldIndexer,
    Posting,
    SimpleTokens,
    compile_schema,
    compile_simple,
    compile_simple_tokens,
    postings_of,
)
from searchkit.engine.merging import MergeSources, readable_in_bulk
from searchkit.engine.orphans import (
    close_in_forked_children,
    die_with_parent,
    keep_in_forked_children,
)
from searchkit.engine.perdoc_copy import plan_copy
from searchkit.engine.term_writer import column_lengths, write_postings
from searchkit.errors import IndexWriteError

_RUN_CHUNK = 8_192  # postings per pickled chunk of a spilled run
_BULK_SHARE = 0.75  # of a bulk writer's memory budget for its term store
#: How often a commit waiting for a writer process checks that its siblings live.
_JOIN_POLL_SECONDS = 0.2
_TASK_EXIT_SECONDS = 10  # how long a cancelled writer waits for each terminated task


class _BulkLengths:
    """A segment reader whose field lengths are each read whole, once
    (:func:`~searchkit.engine.term_writer.column_lengths`); the rest is the reader's."""

    def __init__(self, reader: Any, perdoc: Any) -> None:
        self._reader = reader
        self._perdoc = perdoc
        self._lengths: dict[str, list[int] | None] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> int:
        if fieldname not in self._lengths:
            self._lengths[fieldname] = column_lengths(self._perdoc, fieldname)
        lengths = self._lengths[fieldname]
        if lengths is None:
            return int(self._reader.doc_field_length(docnum, fieldname, default) or 0)
        return lengths[docnum] if docnum < len(lengths) else default

    def every_length(self, fieldname: str) -> list[int]:
        """Every document's (one-byte, approximate) length in ``fieldname``."""
        self.doc_field_length(0, fieldname)  # reads the column once
        lengths = self._lengths[fieldname]
        if lengths is None:
            read = self._reader.doc_field_length
            return [int(read(d, fieldname, 0) or 0) for d in range(self._reader.doc_count_all())]
        return lengths

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


class _CachedLengths:
    """A per-document reader whose field lengths are read once per field.

    Writing postings asks for the length of the posting's document in its field
    once per posting (hundreds of times per document), each a seek and read in the
    lengths column; this reads each field's column once into a list."""

    def __init__(self, reader: Any) -> None:
        self._reader = reader
        self._lengths: dict[str, list[int]] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> int:
        lengths = self._lengths.get(fieldname)
        if lengths is None:
            read = self._reader.doc_field_length
            count = self._reader.doc_count_all()
            lengths = self._lengths[fieldname] = [read(d, fieldname, 0) for d in range(count)]
        return lengths[docnum] if docnum < len(lengths) else default

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


def _cache_lengths_when_writing_postings(writer: Any) -> None:
    """Make ``writer``'s field writer read document lengths through
    :class:`_CachedLengths` (the field writer lives only as long as the writer)."""
    fieldwriter = writer.fieldwriter
    add_postings = fieldwriter.add_postings

    def cached_add_postings(schema: Any, lengths: Any, items: Any) -> Any:
        return add_postings(schema, _CachedLengths(lengths) if lengths else lengths, items)

    fieldwriter.add_postings = cached_add_postings


class _ChunkedPostingPool(PostingPool):  # type: ignore[misc]
    """Whoosh's posting pool, spilling sorted runs to disk as pickled chunks of
    postings instead of one pickle per posting (7x faster to write and read back).
    Runs are this process's own temporary files."""

    def _write_run(self, f: Any, items: Iterable[Any]) -> None:
        iterator = iter(items)
        try:
            while chunk := list(islice(iterator, _RUN_CHUNK)):
                pickle.dump(chunk, f, pickle.HIGHEST_PROTOCOL)
        finally:
            f.close()

    def _read_run(self, path: str) -> Iterator[Any]:
        f = self._open_run(path)
        try:
            while True:
                try:
                    chunk = pickle.load(f)
                except EOFError:
                    return
                yield from chunk
        finally:
            f.close()
            self._remove_run(path)


def _use_fast_pool(writer: Any, limitmb: float) -> None:
    writer.pool = _ChunkedPostingPool(writer._tempstorage, writer.newsegment, limitmb=limitmb)


class _BulkMerges(SegmentWriter):  # type: ignore[misc]
    """A writer whose segment merges (``add_reader``: a merge policy, ``optimize``)
    write the merged segments' postings a term at a time (:mod:`searchkit.engine.merging`)
    instead of a posting at a time through the pool; their stored fields, lengths and
    columns are copied as stored (:mod:`searchkit.engine.perdoc_copy`; term vectors and
    other column types by Whoosh's ``write_per_doc``)."""

    _merged: MergeSources
    #: Called with the storage, the schema and the segments of the generation about to
    #: be committed, before its table of contents is written: files that belong with
    #: those segments (the index layer's, :mod:`searchkit.index.segmentfiles`) are then
    #: in that generation's checksum manifest.
    before_toc: Callable[[Any, Any, list[Any]], None] | None = None

    def _commit_toc(self, segments: list[Any]) -> None:
        if self.before_toc is not None:
            self.before_toc(self.storage, self.schema, segments)
        super()._commit_toc(segments)

    #: Whether merged documents are copied as stored (:mod:`searchkit.engine.perdoc_copy`)
    #: rather than decoded and encoded again by Whoosh's ``write_per_doc`` (which the
    #: tests compare them with).
    copy_per_doc: bool = True

    def _merge_sources(self) -> MergeSources:
        merged = self.__dict__.get("_merged")
        if merged is None:
            merged = self._merged = MergeSources()
        return merged

    def _bulk_merges(self) -> bool:
        """Whether merged postings may bypass the pool (see :class:`FastMpWriter`)."""
        return True

    def _term_stores(self) -> list[Iterable[TermGroup]]:
        """Sorted term groups of this writer's own documents besides its pool's."""
        return []

    def write_per_doc(self, fieldnames: Any, reader: Any) -> Any:
        # Whoosh's write_per_doc sums each merged document's one-byte (approximate)
        # field lengths into the new segment's totals, from which searches take the
        # average length: merging changed scores. The merged segment's exact totals
        # are known: taken instead. With deleted documents, whose exact lengths are
        # not known, the live documents' share of the total is taken by their one-byte
        # lengths: the one-byte length is never below the exact one (up to a few
        # percent above), so subtracting the deleted ones' made the totals shrink a
        # little at each merge with deletions (0.6% a rewrite, measured).
        totals = getattr(self.perdocwriter, "_fieldlengths", None)
        before = dict(totals) if totals is not None else None
        # Whoosh asks for each document's length in each field (a column read each):
        # the merged segment's length columns are read whole instead.
        perdoc = getattr(reader, "_perdoc", reader)
        lengths = _BulkLengths(reader, perdoc)
        # The documents' stored fields, lengths and columns are copied as stored
        # (searchkit.engine.perdoc_copy), unless some part needs Whoosh's path.
        copy = (
            plan_copy(self, fieldnames, reader, getattr(self.storage, "folder", None))
            if self.copy_per_doc
            else None
        )
        docmap = copy.run() if copy is not None else super().write_per_doc(fieldnames, lengths)
        if totals is not None and before is not None:
            # (the per-document reader's: Whoosh's multi-process writer passes one)
            deleted = sorted(perdoc.deleted_docs()) if docmap is not None else []
            for name in fieldnames:
                exact = reader.field_length(name)
                if not exact:
                    continue
                live = exact
                if deleted:
                    every = lengths.every_length(name)
                    approx = sum(every)
                    gone = sum(every[d] for d in deleted if d < len(every))
                    live = round(exact * (approx - gone) / approx) if approx else 0
                totals[name] = before.get(name, 0) + max(live, 0)
        return docmap

    def add_postings_to_pool(self, reader: Any, startdoc: int, docmap: Any) -> None:
        # Called by Whoosh's add_reader once the documents are written (write_per_doc).
        if not (self._bulk_merges() and readable_in_bulk(reader)):
            super().add_postings_to_pool(reader, startdoc, docmap)
            return
        self._merge_sources().add(self.storage, self.schema, reader.segment(), startdoc, docmap)

    def _flush_segment(self) -> None:
        # Whoosh 2.7's SegmentWriter._flush_segment, with this writer's term store and
        # the merged segments' postings merged into the pool's, written a block at a
        # time.
        stores = self._term_stores()
        merged = self._merge_sources()
        if not stores and not merged:
            super()._flush_segment()
            return
        self.perdocwriter.close()
        lengths = self.per_document_reader() if self.codec.length_stats else None
        try:
            groups = merge_groups(
                group_pool_postings(self.pool.iter_postings()),
                *stores,
                *merged.groups(self.schema),  # numbered after this writer's documents
            )
            write_postings(self.fieldwriter, self.schema, lengths, groups)
        finally:
            merged.close()
        self.fieldwriter.close()
        if lengths:
            lengths.close()

    def _finish(self) -> None:
        self._merge_sources().close()  # a cancelled writer's merged segments
        super()._finish()


class FastSegmentWriter(_BulkMerges):
    """``SegmentWriter`` whose ``add_document`` indexes supported text fields with
    :func:`compile_field`; everything else is Whoosh's own code path."""

    def __init__(
        self, ix: Any, *args: Any, limitmb: float = 128, bulk: bool = True, **kwargs: Any
    ) -> None:
        if kwargs.get("codec") is None:
            kwargs["codec"] = SearchkitCodec()
        super().__init__(ix, *args, limitmb=limitmb, **kwargs)
        self._fast = compile_schema(self.schema)
        # Fields of one token per entry, name word or value, outside the term store.
        self._simple: dict[str, FieldIndexer] = {}
        for name, field in self.schema.items():
            simple = compile_simple(field)
            if simple is not None and name not in self._fast:
                self._simple[name] = simple
        # The fast fields' postings, grouped by term and written a block at a time
        # (bulk), get most of the memory budget; the pool keeps the other fields'
        # (ids, names). Without bulk every posting goes through the pool (a
        # sub-writer whose pool runs the parent merges needs them there).
        self._terms: TermStore | None = None
        # In bulk, the simple fields' tokens go to the term store too.
        self._simple_tokens: dict[str, SimpleTokens] = {}
        if bulk:
            for name in self._simple:
                found = compile_simple_tokens(self.schema[name])
                if found is not None:
                    self._simple_tokens[name] = found
            self._terms = TermStore(self._tempstorage, limitmb * _BULK_SHARE)
            limitmb = limitmb * (1 - _BULK_SHARE)
        _use_fast_pool(self, limitmb)
        _cache_lengths_when_writing_postings(self)

    def add_document(self, **fields: Any) -> None:
        # Whoosh 2.7's SegmentWriter.add_document, with the fast path for the
        # field analysis; fields with spelling or vectors never take the fast path.
        self._check_state()
        perdocwriter = self.perdocwriter
        schema = self.schema
        docnum = self.docnum
        add_post = self.pool.add
        fast = self._fast
        terms = self._terms

        docboost = self._doc_boost(fields)
        fieldnames = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, fieldnames)

        perdocwriter.start_doc(docnum)
        try:
            for fieldname in fieldnames:
                value = fields.get(fieldname)
                if value is None:
                    continue
                field = schema[fieldname]
                length = 0
                indexer = fast.get(fieldname)
                if field.indexed:
                    fieldboost = self._field_boost(fields, fieldname, docboost)
                    if indexer is not None and terms is not None:
                        length = terms.add_tokens(
                            fieldname,
                            docnum,
                            *indexer.tokens(value),
                            indexer.boost,
                            fieldboost,
                            indexer.encode,
                        )
                        if not field.scorable:
                            length = 0
                    elif (
                        terms is not None
                        and isinstance(value, str)
                        and (simple_tokens := self._simple_tokens.get(fieldname)) is not None
                    ):
                        length = terms.add_tokens(
                            fieldname,
                            docnum,
                            *simple_tokens.tokens(value),
                            simple_tokens.boost,
                            fieldboost,
                            simple_tokens.encode,
                            shared=False,
                        )
                        if not field.scorable:
                            length = 0
                    else:
                        simple = self._simple.get(fieldname)
                        items: Iterable[Posting] = (
                            postings_of(indexer.positions(value), indexer.boost, indexer.encode)
                            if indexer is not None
                            else simple(value)
                            if simple is not None and isinstance(value, str)
                            else field.index(value)
                        )
                        scorable = field.scorable
                        for tbytes, freq, weight, vbytes in items:
                            if scorable:
                                length += freq
                            add_post((fieldname, tbytes, docnum, weight * fieldboost, vbytes))
                if indexer is None:
                    self._slow_extras(field, fieldname, value, perdocwriter)
                customval = fields.get(f"_stored_{fieldname}", value)
                perdocwriter.add_field(
                    fieldname, field, customval if field.stored else None, length
                )
                column = field.column_type
                if column and customval is not None:
                    perdocwriter.add_column_value(
                        fieldname, column, field.to_column_value(customval)
                    )
        except Exception:
            perdocwriter.cancel_doc()
            raise

        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1

    def _term_stores(self) -> list[Iterable[TermGroup]]:
        # The fast fields' term groups (none without bulk).
        return [] if self._terms is None else [self._terms]

    def _finish(self) -> None:
        # Committed or cancelled, the term store (a tuple, two arrays and a list per
        # term) is done with: freed now, not when the writer, which Whoosh's objects
        # hold in reference cycles, is collected (until then every garbage collection
        # walked it, and the next batch was written beside it).
        self._terms = None
        super()._finish()

    def _slow_extras(self, field: Any, fieldname: str, value: Any, perdocwriter: Any) -> None:
        """Spelling words and term vectors, as Whoosh writes them."""
        if field.separate_spelling():
            spellfield = field.spelling_fieldname(fieldname)
            for word in field.spellable_words(value):
                self.pool.add((spellfield, word.encode("utf-8"), 0, 1, b""))
        vformat = field.vector
        if vformat:
            vitems = vformat.word_values(value, field.analyzer, mode="index")
            vitems = sorted((text, weight, vbytes) for text, _, weight, vbytes in vitems)
            perdocwriter.add_vector_items(fieldname, field, vitems)


class _FastSubWriterTask(SubWriterTask):  # type: ignore[misc]
    """Whoosh's sub-writer process, indexing with :class:`FastSegmentWriter`."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.parent_pid = os.getpid()
        #: The writer's other processes (set by FastMpWriter), watched while joining.
        self.siblings: list[SubWriterTask] = []

    def join(self, timeout: float | None = None) -> None:
        """Wait for this process to end, in the parent; also end it when another
        writer process of the batch has died. A process killed while it held the job
        queue's lock (taking a job) leaves the others waiting for jobs forever, and
        Whoosh's commit, which joins them without a timeout, hung with the index
        locked; now the commit goes on and fails (FastMpWriter._commit_toc)."""
        if timeout is not None:
            super().join(timeout)
            return
        while True:
            super().join(_JOIN_POLL_SECONDS)
            if self.exitcode is not None:
                return
            if any(t is not self and t.exitcode not in (None, 0) for t in self.siblings):
                self.terminate()
                super().join(_TASK_EXIT_SECONDS)
                return

    def run(self) -> None:
        # A parent killed mid-write must not leave this process waiting for jobs
        # forever (adopted by init): it dies with its parent. The parent's locks it
        # inherited were closed at the fork (searchkit.index.locking).
        die_with_parent(self.parent_pid)
        # Ctrl-C reaches the whole process group: the parent gives up its writer and
        # terminates this process (FastMpWriter.cancel); here it would only print a
        # traceback.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        # A writer process lives for one batch and makes no cyclic garbage to speak
        # of (10,000 abstracts: the same peak RSS with the collector off), but its
        # collector scanned the growing term store: 0.37 s of 7.6 s (gc.callbacks).
        gc.disable()
        # SubWriterTask.run builds its writer from the module's ``SegmentWriter``
        # name; this runs in the child process only, so rebinding it there
        # affects nothing else.
        import whoosh.multiproc

        # Bulk postings only when the sub-writer finishes its own segment: otherwise
        # the parent merges its pool's runs, which must then hold every posting.
        whoosh.multiproc.SegmentWriter = partial(  # type: ignore[misc]
            FastSegmentWriter, bulk=bool(self.multisegment)
        )
        super().run()


class FastMpWriter(_BulkMerges, MpWriter):  # type: ignore[misc]
    """Whoosh's multi-process writer whose sub-processes use the fast path (the
    parent only hands out documents, merges and commits, its merges in bulk)."""

    def _bulk_merges(self) -> bool:
        # Without multisegment, the parent writes its pool's postings together with
        # its sub-writers' runs (MpWriter._merge_subsegments), never _flush_segment:
        # merged postings must then be in the pool.
        return bool(self.multisegment) or not self._added_sub

    def __init__(self, ix: Any, *args: Any, limitmb: int = 128, **kwargs: Any) -> None:
        if kwargs.get("codec") is None:
            kwargs["codec"] = SearchkitCodec()  # handed on to the sub-writers too
        super().__init__(ix, *args, limitmb=limitmb, **kwargs)
        # The parent reads its sub-writers' runs through its own pool: same format.
        _use_fast_pool(self, limitmb)
        _cache_lengths_when_writing_postings(self)
        # The writer processes must not hold Whoosh's write lock: one left behind by
        # a killed parent would keep the index locked.
        if self.writelock is not None and self.writelock.fd is not None:
            close_in_forked_children(self.writelock.fd)

    def _finish(self) -> None:
        lock = self.writelock
        if lock is not None and lock.fd is not None:
            keep_in_forked_children(lock.fd)  # before it is closed, and its number reused
        super()._finish()

    def _commit_toc(self, segments: list[Any]) -> None:
        # Whoosh's MpWriter._commit joins its writer processes, takes the results they
        # left (waiting a second for each) and commits whatever arrived: a process that
        # died (the OOM killer, a crash) had its documents left out, while the old
        # versions of the records it held were deleted. Every process must have ended
        # normally (after handing its segment over) for the commit to happen; otherwise
        # it fails and the writer is cancelled: the last commit stays in force.
        failed = [task for task in self.tasks if task.exitcode != 0]
        if failed:
            task = failed[0]
            how = (
                f"was killed by signal {-task.exitcode}"
                if task.exitcode is not None and task.exitcode < 0
                else f"failed (exit status {task.exitcode})"
            )
            raise IndexWriteError(
                f"a writer process {how} before handing its records over; nothing of "
                "this batch was committed (the last completed commit stays in force)"
            )
        super()._commit_toc(segments)

    def cancel(self) -> None:
        # Whoosh's cancel only flags the parent's copies of its sub-writer tasks: the
        # processes themselves would wait for jobs that never come, or fail with a
        # traceback on the job files the parent removes. Nothing they wrote is
        # committed, so they are stopped where they are.
        for task in self.tasks:
            if task.is_alive():
                task.terminate()
        for task in self.tasks:
            task.join(_TASK_EXIT_SECONDS)
        super().cancel()

    def _new_task(self) -> SubWriterTask:
        # Forked children share the parent's pages (the pending batch of records)
        # until written; freezing the parent's objects first keeps the children's
        # garbage collector from writing to, and so copying, every one of them.
        gc.freeze()
        task = _FastSubWriterTask(
            self.storage,
            self.indexname,
            self.jobqueue,
            self.resultqueue,
            self.subargs,
            self.multisegment,
        )
        task.siblings = self.tasks
        self.tasks.append(task)
        try:
            task.start()
        finally:
            gc.unfreeze()
        return task


__all__ = ["FastMpWriter", "FastSegmentWriter"]
