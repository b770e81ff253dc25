"""Opening, creating and updating a searchkit index on disk.

An index directory holds Whoosh's files and ``searchkit.json`` (schema version,
creation and last-update times). Writes are upserts by record id, committed in
batches: an interrupted run leaves the last committed batch searchable.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import os
import re
import shutil
import stat
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, cast

from whoosh.fields import Schema
from whoosh.index import FileIndex, LockError
from whoosh.scoring import WeightingModel
from whoosh.searching import Searcher
from whoosh.writing import IndexWriter

from searchkit.analysis.acronym_lookup import LOOKUP_FILE, AcronymLookup, write_lookup
from searchkit.analysis.acronyms import (
    TABLE_FILE,
    AcronymSource,
    AcronymTable,
    TableDamagedError,
)
from searchkit.analysis.analyzer import analysis_params
from searchkit.atomic import atomic_write_text, fsync_dir
from searchkit.engine.checksums import IndexDamagedError
from searchkit.engine.fileindex import (
    RetryingFileIndex,
    deleted_count,
    remove_stale_toc_files,
    remove_unreferenced_files,
    segment_count,
)
from searchkit.engine.mapped import MappedFileStorage
from searchkit.engine.postings_cache import POSTINGS_CACHE_BYTES, PostingsCache, share_cache
from searchkit.engine.storage import DurableFileStorage
from searchkit.errors import (
    AnalysisMismatchError,
    IndexClosedError,
    IndexFormatError,
    IndexLockedError,
    IndexNotFoundError,
    IndexVersionError,
    IndexWriteError,
    RecordNotFoundError,
)
from searchkit.index import vocabulary
from searchkit.index.documents import record_from_json
from searchkit.index.groupfile import remove_temporary
from searchkit.index.locking import LOCK_POLL_SECONDS, IndexLock, LockWaitCallback
from searchkit.index.schema import READABLE_VERSIONS, SCHEMA_VERSION, build_schema
from searchkit.index.sidecars import Sidecar
from searchkit.params import DEFAULT, Params
from searchkit.records import Record

if TYPE_CHECKING:  # the writers' and the MeSH tree's: imported when used, not by a search
    from searchkit.engine.verify import CheckReport
    from searchkit.index.batch import IndexBatch, WriteCounts
    from searchkit.index.meshtree import MeshTree
    from searchkit.index.sources import SourceEntry

META_FILE = "searchkit.json"
INDEX_NAME = "MAIN"

# Memory for the writers' postings before they spill sorted runs to disk, shared by
# the writer processes (each gets an equal part, at least 16 MB). Spilling, re-reading
# and merging the runs was a fifth of a writer's time at 48 MB; 144 MB holds a
# default batch of abstracts (20,000, 10,000 per writer with --procs 2) without
# spilling; a 300 MB XML ingest with --procs 2 peaks at ~280 MB PSS (BENCHMARKS.md).
DEFAULT_LIMITMB = 144
# With several writer processes, each finishes its own segment in parallel (True) or
# the parent merges their postings into one segment (False); the merge policy
# (searchkit.engine.merging) folds small segments together on later commits either way.
MULTISEGMENT = True

# A create() killed part-way leaves its staging directory beside the index.
_STAGING_PREFIX = ".creating-"

T = TypeVar("T")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


#: A path as the API takes it: a ``str`` or any ``os.PathLike`` (``pathlib.Path``).
PathArg = str | os.PathLike[str]


class SearchIndex:
    """A searchkit index directory. Create with :meth:`create` or :meth:`open`; a
    context manager that closes what it holds open (:meth:`close`).

    >>> with SearchIndex.open_or_create("my-index") as ix:   # doctest: +SKIP
    ...     ix.upsert([record]).added
    1
    """

    def __init__(self, path: PathArg, ix: FileIndex) -> None:
        self.path = Path(path)
        self._closed = False
        self._ix = ix
        #: Seconds a write waits for another process's lock before raising
        #: :class:`IndexLockedError` (0: fail at once).
        self.lock_timeout: float = 0.0
        #: Told (once per write) that the write is waiting for another process.
        self.on_lock_wait: LockWaitCallback | None = None
        self._acronyms: AcronymTable | None = None
        self._acronym_lookup: AcronymLookup | None = None
        self._shared: Searcher | None = None
        # Values computed from the shared searcher's state (dropped with it).
        self._derived: dict[str, Any] = {}
        #: Decoded postings kept between this object's searches (searchkit.engine.postings).
        self.postings_cache = PostingsCache(POSTINGS_CACHE_BYTES)
        self._lock = IndexLock(self.path)
        self._mesh_tree: tuple[tuple[int, int] | None, MeshTree | None] | None = None
        self._schema: Schema | None = None
        #: What :meth:`create` made, when this object created the index (else None).
        self._made: _Made | None = None

    # -- opening ---------------------------------------------------------------

    @classmethod
    def exists(cls, path: PathArg) -> bool:
        return (Path(path) / META_FILE).is_file()

    @classmethod
    def open(cls, path: PathArg) -> SearchIndex:
        """Open an existing index; clear errors when there is none or it is foreign."""
        path = Path(path)
        if not path.exists():
            raise IndexNotFoundError(
                f"no index at {path}. Create one with: searchkit ingest PATH --index {path}"
            )
        meta_path = path / META_FILE
        if not meta_path.is_file():
            if path.is_dir() and not any(path.iterdir()):
                raise IndexNotFoundError(
                    f"index directory {path} is empty. Create an index with: "
                    f"searchkit ingest PATH --index {path}"
                )
            raise IndexFormatError(
                f"{path} is not a searchkit index (no {META_FILE}); "
                "point --index at an index made by 'searchkit ingest'"
            )
        meta = _read_meta(meta_path)
        version = meta.get("schema_version")
        if version not in READABLE_VERSIONS:
            older = ", ".join(str(v) for v in sorted(READABLE_VERSIONS - {SCHEMA_VERSION}))
            raise IndexVersionError(
                f"the index at {path} has format version {version}, this searchkit reads "
                f"version {SCHEMA_VERSION} (and {older}); rebuild it from its recorded "
                f"sources with 'searchkit rebuild --index {path}'"
            )
        built, current = meta.get("analysis"), analysis_params()
        if built is not None and built != current:
            if not isinstance(built, dict):
                built = {}
            changed = sorted(k for k in {**built, **current} if built.get(k) != current.get(k))
            raise AnalysisMismatchError(
                f"the index at {path} was built with other analysis parameters "
                f"({', '.join(changed)}) than this searchkit uses; rebuild it with "
                f"'searchkit rebuild --index {path}'"
            )
        damaged: IndexDamagedError | None = None
        with warnings.catch_warnings():
            # Whoosh leaves the files of a damaged index open when it fails; they are
            # closed (and would warn) when the failure is dropped below.
            warnings.simplefilter("ignore", ResourceWarning)
            try:
                # Reading the TOC checks the generation's files against their
                # checksums (searchkit.engine.checksums) before Whoosh decodes any of them.
                # Segments are read in place from memory maps (searchkit.engine.mapped).
                ix = RetryingFileIndex(MappedFileStorage(str(path)), indexname=INDEX_NAME)
                # Open every segment once, so that a damaged index is reported here,
                # in one line, rather than as a traceback from the first search.
                ix.reader().close()
            except IndexDamagedError as exc:
                damaged = exc
            except Exception as exc:  # any decoding failure of damaged files
                problem = getattr(exc, "problem", None) or f"{type(exc).__name__}: {exc}"
                damaged = IndexDamagedError(path, problem)
            if damaged is not None:
                gc.collect()
        if damaged is not None:
            raise damaged
        return cls(path, ix)

    @classmethod
    def create(cls, path: PathArg) -> SearchIndex:
        """Create a new empty index at ``path`` (the directory may exist but must be empty).

        The index is built in a staging directory beside ``path`` and renamed into
        place, so a process killed part-way never leaves a half-made index behind.
        If another process creates the same index at the same time, its index is
        opened instead.
        """
        path = Path(path)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise IndexFormatError(
                f"cannot create an index at {path}: it exists, is not an empty directory "
                "and is not a searchkit index"
            )
        made = _Made(path)
        staging = _staging_dir(path, os.getpid())
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _remove_stale_staging(path)
            staging.mkdir()
        except OSError as exc:
            raise IndexWriteError(
                f"cannot create an index at {path} ({exc.strerror or exc})"
            ) from None
        try:
            DurableFileStorage(str(staging)).create_index(build_schema(), indexname=INDEX_NAME)
            now = _now()
            _write_meta(
                staging / META_FILE,
                {
                    "schema_version": SCHEMA_VERSION,
                    "analysis": analysis_params(),
                    "created": now,
                    "updated": now,
                },
            )
            try:
                os.replace(staging, path)  # an empty directory at ``path`` is replaced
            except OSError:
                if not cls.exists(path):
                    raise
                return cls.open(path)  # another process created it first
            fsync_dir(path.parent)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        index = cls.open(path)
        index._made = made
        return index

    @classmethod
    def open_or_create(cls, path: PathArg) -> SearchIndex:
        """The index at ``path``, created (empty) if there is none."""
        if cls.exists(path):
            return cls.open(path)
        try:
            return cls.create(path)
        except IndexFormatError:
            if cls.exists(path):  # another process created it in the meantime
                return cls.open(path)
            raise

    def discard_if_unused(self) -> bool:
        """Undo :meth:`create` when the index still holds no record: remove what it
        made (the directory, and any parent directories it made; an empty directory
        that was there before is left, empty), as if it had never been created, and
        close this object. Whether it did: never for an index this object did not
        create, one that holds a record (another process may have written to it
        meanwhile), or one another process is writing to now.

        Under the index lock, the directory is first renamed away, in one step, to a
        staging name beside it (which the next :meth:`create` removes if this process
        is killed before deleting it): nothing half-removed is left under its name."""
        made = self._made
        if made is None:
            return False
        try:
            self._lock.acquire(0.0)  # another process writing it: it is in use
        except IndexLockedError:
            return False
        try:
            if self._ix.doc_count_all():
                return False
            self.close()  # no file of it held open (as Windows needs to rename it)
            away = _staging_dir(self.path, os.getpid())
            try:
                os.replace(self.path, away)
            except OSError:
                self._closed = False  # kept: still usable (its searcher is made again)
                return False
            self._made = None
            made.restore()
        finally:
            self._lock.release()
        shutil.rmtree(away, ignore_errors=True)
        made.remove_parents()
        return True

    # -- closing ---------------------------------------------------------------

    def close(self) -> None:
        """Close the files this object holds open (the searcher kept between
        searches); searching it afterwards raises :class:`IndexClosedError`. Closing
        twice is harmless."""
        self._closed = True
        shared, self._shared = self._shared, None
        if shared is not None:
            shared.close()
        self._acronym_lookup = None

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise IndexClosedError(f"the index at {self.path} is closed; open it again")

    # -- reading ---------------------------------------------------------------

    @property
    def whoosh_index(self) -> FileIndex:
        self._check_open()
        return self._ix

    @property
    def schema(self) -> Schema:
        """The index's Whoosh schema, read once: Whoosh's ``FileIndex.schema`` reads
        the table of contents (and checks its checksum) on every access, a cost each
        search paid again. The schema is fixed by the schema version (another one
        needs a rebuild into a new directory), so it never changes under an open
        index."""
        self._check_open()
        if self._schema is None:
            self._schema = self._ix.schema
        return self._schema

    @contextmanager
    def searcher(self) -> Iterator[Searcher]:
        """A searcher over the last committed state (closed on exit)."""
        self._check_open()
        with self._ix.searcher() as s:
            yield s

    def shared_searcher(self, weighting: WeightingModel) -> Searcher:
        """A searcher over the last committed state that stays open on this object
        between calls, so that repeated searches (a benchmark, an eval, a long-running
        program) do not reopen every segment each time. When another commit has landed
        since, it is opened again. Do not close it (:meth:`close` does)."""
        self._check_open()
        s = self._shared
        if s is not None and not s.up_to_date():
            # Not Whoosh's refresh(): it reuses a segment's reader by segment id, which
            # misses deletions committed to that segment since.
            s.close()
            s = None
        if s is None:
            s = self._ix.searcher()
            share_cache(s.reader(), self.postings_cache)
            self._derived.clear()
        s.weighting = weighting
        self._shared = s
        return s

    def derived(self, name: str, build: Callable[[], T]) -> T:
        """A value computed by ``build`` from the state the shared searcher
        (:meth:`shared_searcher`) sees, kept on this object until that searcher is
        reopened for a newer commit: per-index data never outlives the object."""
        if name not in self._derived:
            self._derived[name] = build()
        return cast(T, self._derived[name])

    def get(self, pmid: str) -> Record:
        """The stored record with this id, or :class:`RecordNotFoundError`."""
        with self.searcher() as s:
            doc = s.document(pmid=pmid)
        if doc is None:
            raise RecordNotFoundError(f"no record with PMID {pmid} in the index at {self.path}")
        return record_from_json(doc["record"])

    def __len__(self) -> int:
        return int(self._ix.doc_count())

    @property
    def acronyms(self) -> AcronymTable:
        """The acronyms mined from the records of the last commit (loaded once per
        commit: another process's commit since the last load is read again)."""
        return self._acronyms_of(self._ix.latest_generation())

    def _acronyms_of(self, generation: int) -> AcronymTable:
        """:attr:`acronyms`, the index's last commit being ``generation``."""
        if self._acronyms is None or self._acronyms.generation != generation:
            self._acronyms = self._load_acronyms()
        return self._acronyms

    @property
    def query_acronyms(self) -> AcronymSource:
        """The acronyms queries are compiled with: the table of the committed
        generation read by key from ``acronyms.lookup`` (a search reads a few entries,
        not the whole table); the whole table (:attr:`acronyms`) when it is loaded
        already, or when the lookup file is missing or of another generation (an index
        written before it, a commit killed before writing it)."""
        self._check_open()
        generation = self._ix.latest_generation()
        if self._acronyms is not None:
            return self._acronyms_of(generation)
        if self._acronym_lookup is None or self._acronym_lookup.generation != generation:
            # First use, or another process has committed since: that commit's file.
            self._acronym_lookup = None
            try:
                lookup = AcronymLookup.open(self.path)
            except TableDamagedError as exc:
                raise IndexDamagedError(self.path, exc.problem) from None
            if lookup is None or lookup.generation != generation:
                return self._acronyms_of(generation)
            self._acronym_lookup = lookup
        return _CheckedLookup(self.path, self._acronym_lookup)

    @property
    def mesh_tree(self) -> MeshTree | None:
        """The MeSH tree loaded with ``searchkit mesh load`` (None: none loaded); read
        again when it has been replaced."""
        from searchkit.index.meshtree import MeshTree

        stamp = MeshTree.stamp(self.path)
        if self._mesh_tree is None or self._mesh_tree[0] != stamp:
            self._mesh_tree = (stamp, MeshTree.load(self.path) if stamp else None)
        return self._mesh_tree[1]

    def _load_acronyms(self) -> AcronymTable:
        """The saved table if it describes the committed index, else one rebuilt from the
        stored records (a searcher is opened only for that)."""
        generation = self._ix.latest_generation()
        try:
            table = AcronymTable.load(self.path)
        except TableDamagedError as exc:
            raise IndexDamagedError(self.path, exc.problem) from None
        if table.generation == generation:
            return table
        with self._ix.searcher() as searcher:
            if searcher.doc_count() == 0:  # no record: no acronym, whatever was saved
                return AcronymTable(generation=generation)
            records = (record_from_json(doc["record"]) for doc in searcher.all_stored_fields())
            return AcronymTable.rebuild(records, searcher.reader().generation())

    def stats(self, sidecars: Sequence[Sidecar] = ()) -> dict[str, Any]:
        """Record count, size on disk, last update, schema version, segments and the
        deleted copies they still hold, and the size of each of ``sidecars`` (e.g. the
        number of stored sentence vectors)."""
        meta = _read_meta(self.path / META_FILE)
        size = sum(_file_size(p) for p in self.path.iterdir())
        return {
            "index": str(self.path),
            "records": len(self),
            "size_bytes": size,
            "created": meta.get("created"),
            "updated": meta.get("updated"),
            "schema_version": meta.get("schema_version"),
            "segments": segment_count(self._ix),
            # Copies of replaced or deleted records that their segments still hold
            # (rewritten away past Params.merge_deletes_pct of a segment).
            "deleted_copies": deleted_count(self._ix),
            **{sidecar.name: sidecar.size(self.path) for sidecar in sidecars},
        }

    # -- writing ---------------------------------------------------------------

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the index lock (:mod:`searchkit.index.locking`) for the ``with`` block:
        no other process writes the index meanwhile. Writes take it by themselves;
        a command that reads, writes and commits several times, and must not let
        another writer in between (an ingest, a rebuild), holds it around all of it.
        Re-entrant on this object. Waits up to :attr:`lock_timeout` seconds for
        another process (telling :attr:`on_lock_wait` once), then raises
        :class:`IndexLockedError`."""
        first = not self._lock.is_held
        with self._lock.held(self.lock_timeout, self.on_lock_wait):
            if first:
                self._remove_unreferenced_files()
            try:
                yield
            finally:
                if first:
                    # A writer cancelled (its batch changed nothing) or abandoned has
                    # left the files it had begun for its segment: not for the next
                    # writer to find.
                    with contextlib.suppress(OSError):
                        self._remove_unreferenced_files()

    def forget_sources(
        self, paths: Iterable[PathArg] = (), *, missing: bool = False
    ) -> list[SourceEntry]:
        """Take recorded sources off the index's source registry, keeping their records:
        those ``paths`` name, and with ``missing`` every one whose file no longer exists
        (:func:`searchkit.index.sources.forget_sources`, which also takes the directory
        of an index that cannot be opened). Under the index lock, waited for as
        :meth:`locked` does; only ``sources.json`` is written (atomically)."""
        from searchkit.index.sources import forget_held  # the writers': not at open

        with self._lock.held(self.lock_timeout, self.on_lock_wait):
            return forget_held(self.path, paths, missing)

    def apply(
        self,
        records: dict[str, Record],
        deletions: set[str],
        *,
        procs: int = 1,
        limitmb: int = DEFAULT_LIMITMB,
        multisegment: bool | None = None,
        params: Params = DEFAULT,
    ) -> WriteCounts:
        """Delete ``deletions`` and upsert ``records`` (keyed by id) in one commit.

        A record identical to the stored one is left alone ("unchanged"), so
        re-ingesting a file writes nothing. With ``procs`` > 1 (and a batch large
        enough to pay for it) the documents are analysed in ``procs`` processes.
        ``params`` gives the merge policy's values (the ``merge_*`` ones).
        """
        batch = self.batch(procs=procs, limitmb=limitmb, multisegment=multisegment, params=params)
        try:
            for pmid in deletions:
                batch.delete(pmid)
            for record in records.values():
                batch.upsert(record)
        except BaseException:
            batch.abandon()
            raise
        return batch.commit()

    def batch(
        self,
        *,
        procs: int = 1,
        limitmb: int = DEFAULT_LIMITMB,
        multisegment: bool | None = None,
        params: Params = DEFAULT,
    ) -> IndexBatch:
        """An :class:`IndexBatch`: upserts and deletions written as they come and
        committed together; its commit merges segments as ``params``' merge policy
        says (:func:`searchkit.engine.merging.tiered_merge`)."""
        from searchkit.index.batch import IndexBatch

        return IndexBatch(_BatchTarget(self), procs, limitmb, multisegment, params)

    def optimize(self) -> tuple[int, int]:
        """Merge every segment into one (and drop deleted documents); returns the
        segment counts before and after."""
        with self.locked():
            before = segment_count(self._ix)
            self.verify()  # every file is about to be read whole: check them all first
            # Merging changes no record, so the acronym table stays what it is; it is
            # saved again for the new generation (an older one is rebuilt on open).
            acronyms = self.acronyms
            writer = self.writer()
            try:
                writer.commit(optimize=True)
            except BaseException as exc:
                from searchkit.index.batch import abandon_writer

                abandon_writer(writer)
                if isinstance(exc, OSError):
                    raise self._write_error(exc) from None
                raise
            self._save_derived(acronyms)
            return before, segment_count(self._ix)

    def _save_derived(self, acronyms: AcronymTable) -> None:
        """Write what every search of the generation just committed needs and no search
        should derive again (call holding the lock, after the commit): the acronym
        table with its long forms analysed. (The did-you-mean vocabulary and the MeSH
        headings by word were written with the commit's new segments, by the writer's
        hook, :func:`searchkit.index.segmentfiles.write_segment_files`; the
        whole-index files of older versions go now.)"""
        generation = self._ix.latest_generation()
        acronyms.save(self.path, generation)
        write_lookup(acronyms, self.path, generation)
        self._acronyms = acronyms
        from searchkit.index.segmentfiles import remove_legacy_files  # the writers'

        remove_legacy_files(self.path)

    def check(self) -> CheckReport:
        """Read every file of the index and compare it with its recorded checksum (the
        files searchkit writes beside the segments, read in full, included)."""
        from searchkit.engine.verify import verify_index  # only ``check`` reads it all

        report = verify_index(self.path, INDEX_NAME)
        if report.damaged is not None and report.generation >= 0:
            for problem in self._check_derived(report.generation):
                report.damaged.append(problem)
        return report

    def _check_derived(self, generation: int) -> list[str]:
        problems: list[str] = []

        def segment_files() -> None:
            from searchkit.index import meshwords  # check's: a search reads it on demand

            reader = self._ix.reader()
            try:
                if reader.generation() != generation:
                    return  # a newer commit landed meanwhile: checked by the next check
                for segment_id, _ in vocabulary.segment_readers(reader) or []:
                    for found in (
                        vocabulary.SegmentTerms.open(self.path, segment_id),
                        meshwords.SegmentHeadings.open(self.path, segment_id),
                    ):
                        if found is not None:  # none: read from the segment (older index)
                            found.verify()
            finally:
                reader.close()

        def acronym_lookup() -> None:
            try:
                lookup = AcronymLookup.open(self.path)
                if lookup is not None:
                    lookup.check()
            except TableDamagedError as exc:
                raise IndexDamagedError(self.path, exc.problem) from None

        for read in (self._load_acronyms, acronym_lookup, segment_files):
            try:
                read()
            except IndexDamagedError as exc:
                problems.append(exc.problem)
            except IndexFormatError as exc:
                problems.append(str(exc))
        return problems

    def verify(self) -> None:
        """:meth:`check`, raising :class:`IndexDamagedError` for the first damage."""
        report = self.check()
        if report.damaged:
            raise IndexDamagedError(self.path, "; ".join(report.damaged))

    def _write_error(self, exc: OSError) -> IndexWriteError:
        return IndexWriteError(
            f"cannot write the index at {self.path} ({exc.strerror or exc}); it still "
            "holds the records of the last completed commit"
        )

    def writer(
        self, procs: int = 1, limitmb: int = DEFAULT_LIMITMB, multisegment: bool | None = None
    ) -> IndexWriter:
        """A Whoosh writer holding Whoosh's write lock; ``procs`` > 1 gives a
        multi-process one. Call it holding :meth:`locked`.

        The index lock keeps out other searchkit processes; Whoosh's own lock is
        waited for the same way (up to :attr:`lock_timeout` seconds, then
        :class:`IndexLockedError`), for any other program writing with Whoosh. Both
        are OS file locks: they die with the process holding them, so a killed
        writer never blocks the next one.
        """
        if not self._lock.is_held:
            raise RuntimeError("SearchIndex.writer() needs 'with index.locked()'")
        # The writers' modules only when writing (not for a search process).
        from searchkit.engine.segment_writer import FastMpWriter, FastSegmentWriter

        deadline = time.monotonic() + self.lock_timeout
        told = False
        # Writers read the index (merges, the stored records of replaced ids) through
        # plain reads, not memory maps: a long ingest would otherwise keep the pages
        # of every segment it merged or looked into mapped, and its RSS would grow
        # with the index (BENCHMARKS.md). Searches keep the maps of ``self._ix``.
        unmapped = RetryingFileIndex(
            DurableFileStorage(str(self.path), supports_mmap=False), indexname=INDEX_NAME
        )
        while True:
            try:
                writer: IndexWriter
                if procs > 1:
                    writer = FastMpWriter(
                        unmapped,
                        procs=procs,
                        limitmb=max(16, limitmb // procs),  # the budget is shared
                        multisegment=MULTISEGMENT if multisegment is None else multisegment,
                    )
                else:
                    writer = FastSegmentWriter(unmapped, limitmb=limitmb)
                writer.before_toc = self._before_toc
                break
            except OSError as exc:
                raise self._write_error(exc) from None
            except LockError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    waited = f" (waited {self.lock_timeout:g} s)" if self.lock_timeout else ""
                    raise IndexLockedError(
                        f"the index at {self.path} is being written by another searchkit "
                        f"process{waited}; try again when it has finished"
                    ) from None
                if not told and self.on_lock_wait is not None:
                    self.on_lock_wait(self.lock_timeout)
                told = True
                time.sleep(min(LOCK_POLL_SECONDS, remaining))
        remove_stale_toc_files(self.path, INDEX_NAME)
        return writer

    def _remove_unreferenced_files(self) -> None:
        """Delete what a writer killed mid-commit can leave (call only while holding
        the index lock): temporary TOC files, and the segment files of segments that
        no longer belong to the index (a commit killed after renaming its TOC into
        place and before deleting the segments it merged away). A write that finds
        nothing to commit would otherwise never remove them."""
        if self.path.is_dir():
            remove_unreferenced_files(self.path, INDEX_NAME)
            remove_temporary(self.path, _own_files())

    def upsert(self, records: list[Record]) -> WriteCounts:
        """Add or replace records by id in one commit (the last of duplicate ids wins)."""
        return self.apply({r.pmid: r for r in records}, set())

    def delete(self, pmids: list[str]) -> WriteCounts:
        """Remove records by id in one commit; ids not in the index are listed in ``not_found``."""
        return self.apply({}, set(pmids))

    def _before_toc(self, storage: Any, schema: Schema, segments: list[Any]) -> None:
        """The writers' hook, called holding the lock as a commit is about to write its
        table of contents (:mod:`searchkit.engine.segment_writer`): the files its new
        segments need for searches are written, then the format is declared."""
        from searchkit.index.segmentfiles import write_segment_files  # the writers'

        write_segment_files(storage, schema, segments)
        self._declare_format()

    def _declare_format(self) -> None:
        """Record this searchkit's format version in an index of an older version it
        reads (:data:`~searchkit.index.schema.READABLE_VERSIONS`) as a commit is about
        to make what this searchkit wrote part of it (before its table of contents is
        written): the segments it wrote, beside the older ones, an older searchkit
        could not read, and it then refuses the index with a rebuild message. What
        commits nothing (a batch of unchanged records, a deletion of absent ids, files
        written beside the segments alone) leaves the declaration as it is: the data
        it describes is unchanged."""
        self._set_meta({"schema_version": SCHEMA_VERSION}, unless_set=True)

    def _touch(self) -> None:
        self._set_meta({"updated": _now()})

    def _set_meta(self, values: dict[str, Any], *, unless_set: bool = False) -> None:
        """Set ``values`` in ``searchkit.json``, rewriting it (``unless_set``: not when
        it already holds them)."""
        meta_path = self.path / META_FILE
        meta = _read_meta(meta_path)
        if not unless_set or any(meta.get(key) != value for key, value in values.items()):
            _write_meta(meta_path, {**meta, **values})


class _BatchTarget:
    """The index as its batches see it (:class:`~searchkit.index.batch.BatchTarget`)."""

    def __init__(self, index: SearchIndex) -> None:
        self._index = index

    @property
    def lock(self) -> IndexLock:
        return self._index._lock

    def acquire_lock(self) -> None:
        index = self._index
        index._lock.acquire(index.lock_timeout, index.on_lock_wait)

    def writer(self, procs: int, limitmb: int, multisegment: bool | None) -> IndexWriter:
        return self._index.writer(procs, limitmb, multisegment)

    def load_acronyms(self) -> AcronymTable:
        return self._index._load_acronyms()

    def committed(self, acronyms: AcronymTable) -> None:
        self._index._save_derived(acronyms)
        self._index._touch()

    def write_error(self, exc: OSError) -> IndexWriteError:
        return self._index._write_error(exc)


@functools.cache
def _own_files() -> re.Pattern[str]:
    """The files of searchkit's own that a write replaces under the index lock, whose
    temporary files (``.NAME.PID.HEX.tmp``) a writer killed while writing them leaves."""
    from searchkit.index.meshtree import TREE_FILE
    from searchkit.index.sources import SOURCES_FILE  # the writers': not at open

    names = (META_FILE, SOURCES_FILE, TABLE_FILE, LOOKUP_FILE, TREE_FILE)
    return re.compile("|".join(re.escape(n) for n in names))


class _CheckedLookup:
    """An index's :class:`AcronymLookup` whose damage is reported as the index's
    (:class:`IndexDamagedError`: the index's path and how to repair it)."""

    def __init__(self, path: Path, lookup: AcronymLookup) -> None:
        self._path = path
        self._lookup = lookup

    def __len__(self) -> int:
        return len(self._lookup)

    @contextlib.contextmanager
    def _reported(self) -> Iterator[None]:
        try:
            yield
        except TableDamagedError as exc:
            raise IndexDamagedError(self._path, exc.problem) from None

    def long_forms(self, short: str) -> list[tuple[str, int]]:
        with self._reported():
            return self._lookup.long_forms(short)

    def terms(self, form: str, analyse: Callable[[str], Iterable[str]]) -> tuple[str, ...]:
        with self._reported():
            return self._lookup.terms(form, analyse)

    def starting_with(
        self, term: str, analyse: Callable[[str], Iterable[str]]
    ) -> list[tuple[tuple[str, ...], str]]:
        with self._reported():
            return self._lookup.starting_with(term, analyse)


class _Made:
    """What creating an index at ``path`` makes, seen before it does: the directories
    missing above it, and whether ``path`` is an empty directory already (its mode)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.mode = path.stat().st_mode if path.is_dir() else None
        #: The parent directories that do not exist yet, the innermost first.
        self.parents = [p for p in path.parents if not p.exists()]

    def restore(self) -> None:
        """Make again the empty directory that was at ``path``, if one was."""
        if self.mode is not None:
            with contextlib.suppress(OSError):
                self.path.mkdir()
                self.path.chmod(stat.S_IMODE(self.mode))

    def remove_parents(self) -> None:
        """Remove the parent directories that were made, as long as they are empty."""
        for parent in self.parents:
            try:
                parent.rmdir()
            except OSError:
                break


def _staging_dir(path: Path, pid: int) -> Path:
    return path.parent / f".{path.name}{_STAGING_PREFIX}{pid}-{os.urandom(4).hex()}"


def _remove_stale_staging(path: Path) -> None:
    """Remove staging directories of creations whose process no longer runs."""
    prefix = f".{path.name}{_STAGING_PREFIX}"
    for entry in path.parent.iterdir():
        if not entry.name.startswith(prefix) or not entry.is_dir():
            continue
        pid_text = entry.name[len(prefix) :].partition("-")[0]
        if pid_text.isdigit() and not _process_alive(int(pid_text)):
            shutil.rmtree(entry, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    return True


def _file_size(path: Path) -> int:
    """Size of a regular file; 0 for a directory or a file a writer just deleted."""
    try:
        return path.stat().st_size if path.is_file() else 0
    except FileNotFoundError:
        return 0


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexFormatError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise IndexFormatError(f"{path} is not a searchkit index metadata file")
    return data


def _write_meta(path: Path, meta: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(meta, indent=2) + "\n")
