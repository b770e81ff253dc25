"""The one interface the commands use to reach an index, whatever holds it:
:class:`Backend`. :class:`LocalBackend` is the local Whoosh directory (every method is
the library's own function on a :class:`~searchkit.index.searchindex.SearchIndex`);
:class:`searchkit.solr.backend.SolrBackend` is a SolrCloud collection.
:func:`searchkit.solr.backends.open_backend` chooses between them from the ``--index``
value, so no command tests which one it has."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from searchkit.index.history import History
from searchkit.index.locking import LockWaitCallback
from searchkit.index.mesh import MeshContext
from searchkit.index.searchindex import SearchIndex
from searchkit.index.sidecars import Sidecar
from searchkit.plural import plural
from searchkit.query.compile import explain as explain_query
from searchkit.records import Record
from searchkit.searching.pipeline import MeaningEmbedder, MeaningProvider
from searchkit.searching.search import Filters, SearchResult
from searchkit.searching.search import count as run_count
from searchkit.searching.search import search as run_search

if TYPE_CHECKING:  # writing and evaluating load readers and more: imported when used
    from searchkit.analysis.acronyms import AcronymTable
    from searchkit.engine.verify import CheckReport
    from searchkit.index.batch import WriteCounts
    from searchkit.index.ingest import IngestReport, ProgressMeter
    from searchkit.index.meshtree import MeshTree
    from searchkit.index.sources import SourceEntry
    from searchkit.searching.embedding import EmbedProgress, EmbedReport
    from searchkit.searching.evaluation import EvalResult, Metric


class HealthReport(NamedTuple):
    """What ``check`` found: one line per problem (none: all is well) and one line that
    sums up: what was checked, or (with problems) the error and its repair."""

    problems: tuple[str, ...]
    summary: str

    @property
    def ok(self) -> bool:
        return not self.problems


class Repairable(Protocol):
    """What ``check`` and ``rebuild`` need of an index, also of one too damaged to open."""

    @property
    def location(self) -> str:
        """Where the index is, as messages name it (a directory, or solr://…)."""
        ...

    def prepare_writes(self, lock_timeout: float, on_lock_wait: LockWaitCallback) -> None:
        """How long a write waits for another writer, and what it says meanwhile."""
        ...

    def check(self) -> HealthReport:
        """Whether the index is whole: its files' checksums, or the cluster's replicas."""
        ...

    def rebuild(
        self,
        *,
        procs: int,
        batch_size: int | None,
        on_progress: ProgressMeter | None,
        sidecars: Sequence[Sidecar],
    ) -> tuple[Backend, IngestReport]:
        """Re-read every recorded source into a new index and put it in place of this one
        in one atomic step (deleted records stay deleted); the new index and the report
        of reading the sources."""
        ...

    def sources(self, *, missing: bool = False) -> list[SourceEntry]:
        """The files ingested, with when and how many records, by path (``missing``:
        only those that no longer exist at their recorded path)."""
        ...

    def forget_sources(
        self, paths: Sequence[str | os.PathLike[str]], missing: bool
    ) -> list[SourceEntry]:
        """Take the recorded sources ``paths`` names (and with ``missing`` every one whose
        file is gone) off the registry, under the write lock, keeping their records in
        the index; what was forgotten. A path that is not a recorded source:
        SourceNotFoundError, nothing forgotten
        (:func:`searchkit.index.sources.forget_sources`)."""
        ...

    def close(self) -> None: ...


class Backend(Repairable, Protocol):
    """An index the commands can ingest into, search and inspect."""

    def record_count(self) -> int: ...

    def get(self, pmid: str) -> Record:
        """The record with ``pmid``; RecordNotFoundError if none."""
        ...

    def stats(self, sidecars: Sequence[Sidecar] = ()) -> dict[str, Any]: ...

    def history(self) -> History:
        """The searches made on this index (``#N`` in a query refers to them)."""
        ...

    def explain(self, query: str, refs: Mapping[int, str], filters: Filters | None) -> str:
        """How the query is understood: the local query tree (without the filters), or
        the Solr request."""
        ...

    def search(
        self,
        query: str,
        *,
        limit: int | None,
        offset: int,
        filters: Filters | None,
        sort: str,
        with_snippets: bool,
        expand: bool,
        semantic_rank: bool | None,
        refs: Mapping[int, str],
        partial: bool,
        meaning: MeaningProvider | None,
    ) -> SearchResult: ...

    def count(self, query: str, filters: Filters | None) -> int: ...

    def similar(self, pmid: str, limit: int | None) -> SearchResult:
        """The records most like ``pmid`` (never itself)."""
        ...

    def evaluate(
        self,
        queries: dict[str, str],
        qrels: dict[str, dict[str, int]],
        metrics: Sequence[Metric] | None,
        *,
        depth: int,
        expand: bool,
        semantic_rank: bool | None,
        meaning: MeaningProvider | None,
    ) -> EvalResult:
        """Rank every judged query (natural language, as free text) and measure."""
        ...

    def ingest(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        procs: int,
        batch_size: int | None,
        force: bool,
        on_progress: ProgressMeter | None,
    ) -> IngestReport: ...

    def delete(self, pmids: list[str]) -> WriteCounts: ...

    def discard_if_unused(self) -> bool:
        """Remove the index again when this object created it (``create=True``) and
        it holds no record (closing this object); whether it did."""
        ...

    def optimize(self) -> tuple[int, int]:
        """Merge the index's segments (deleted records purged); the segment counts
        before and after."""
        ...

    def embed(
        self,
        meaning: MeaningEmbedder,
        model: Path | None,
        *,
        threads: int,
        progress: EmbedProgress | None,
        checkpoint: int,
    ) -> EmbedReport:
        """Store a sentence vector for each record without a current one, with the
        semantic stage ``meaning`` (saved every ``checkpoint`` records locally; a
        collection keeps each batch it sends)."""
        ...

    def acronym_table(self) -> AcronymTable:
        """The acronyms learned from the records at ingest."""
        ...

    def mesh_tree(self) -> MeshTree | None:
        """The MeSH tree stored with the index (None: none loaded)."""
        ...

    def load_mesh(self, path: Path) -> MeshTree:
        """Read NLM's descriptor file ``path`` and store its tree with the index in place
        of any tree before (under the write lock), once the whole file has been read."""
        ...


class LocalBackend:
    """A local index directory."""

    def __init__(self, index: SearchIndex) -> None:
        self.index = index

    @classmethod
    def open(cls, path: Path, create: bool = False) -> LocalBackend:
        return cls(SearchIndex.open_or_create(path) if create else SearchIndex.open(path))

    @property
    def location(self) -> str:
        return str(self.index.path)

    def record_count(self) -> int:
        return len(self.index)

    def get(self, pmid: str) -> Record:
        return self.index.get(pmid)

    def stats(self, sidecars: Sequence[Sidecar] = ()) -> dict[str, Any]:
        return self.index.stats(sidecars)

    def history(self) -> History:
        return History(self.index.path)

    def explain(self, query: str, refs: Mapping[int, str], filters: Filters | None) -> str:
        ix = self.index
        return explain_query(
            ix.schema,
            query,
            acronyms=ix.query_acronyms,
            mesh=MeshContext(lambda: ix.mesh_tree),
            refs=refs,
        )

    def search(
        self,
        query: str,
        *,
        limit: int | None,
        offset: int,
        filters: Filters | None,
        sort: str,
        with_snippets: bool,
        expand: bool,
        semantic_rank: bool | None,
        refs: Mapping[int, str],
        partial: bool,
        meaning: MeaningProvider | None,
    ) -> SearchResult:
        return run_search(
            self.index,
            query,
            limit=limit,
            offset=offset,
            filters=filters,
            sort=sort,
            with_snippets=with_snippets,
            expand=expand,
            semantic_rank=semantic_rank,
            refs=refs,
            partial=partial,
            meaning=meaning,
        )

    def count(self, query: str, filters: Filters | None) -> int:
        return run_count(self.index, query, filters=filters)

    def similar(self, pmid: str, limit: int | None) -> SearchResult:
        from searchkit.searching.similar import similar as run_similar

        return run_similar(self.index, pmid, limit=limit)

    def evaluate(
        self,
        queries: dict[str, str],
        qrels: dict[str, dict[str, int]],
        metrics: Sequence[Metric] | None,
        *,
        depth: int,
        expand: bool,
        semantic_rank: bool | None,
        meaning: MeaningProvider | None,
    ) -> EvalResult:
        from searchkit.searching import evaluation

        return evaluation.evaluate(
            self.index,
            queries,
            qrels,
            metrics,
            depth=depth,
            expand=expand,
            semantic_rank=semantic_rank,
            meaning=meaning,
        )

    def prepare_writes(self, lock_timeout: float, on_lock_wait: LockWaitCallback) -> None:
        self.index.lock_timeout = lock_timeout
        self.index.on_lock_wait = on_lock_wait

    def ingest(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        procs: int,
        batch_size: int | None,
        force: bool,
        on_progress: ProgressMeter | None,
    ) -> IngestReport:
        from searchkit.index.ingest import ingest as run_ingest

        return run_ingest(
            paths,
            self.index,
            procs=procs,
            batch_size=batch_size,
            force=force,
            on_progress=on_progress,
        )

    def delete(self, pmids: list[str]) -> WriteCounts:
        from searchkit.index.ingest import delete as run_delete

        return run_delete(self.index, pmids)

    def discard_if_unused(self) -> bool:
        return self.index.discard_if_unused()

    def sources(self, *, missing: bool = False) -> list[SourceEntry]:
        return local_sources(self.index.path, missing)

    def forget_sources(
        self, paths: Sequence[str | os.PathLike[str]], missing: bool
    ) -> list[SourceEntry]:
        return self.index.forget_sources(paths, missing=missing)

    def optimize(self) -> tuple[int, int]:
        return self.index.optimize()

    def embed(
        self,
        meaning: MeaningEmbedder,
        model: Path | None,
        *,
        threads: int,
        progress: EmbedProgress | None,
        checkpoint: int,
    ) -> EmbedReport:
        return meaning.embed(
            self.index, model, threads=threads, progress=progress, checkpoint=checkpoint
        )

    def acronym_table(self) -> AcronymTable:
        return self.index.acronyms

    def mesh_tree(self) -> MeshTree | None:
        return self.index.mesh_tree

    def load_mesh(self, path: Path) -> MeshTree:
        from searchkit.index.meshtree import load_descriptor_file

        with self.index.locked():  # a rebuild copies the tree: not while it is replaced
            return load_descriptor_file(path, self.index.path)

    def check(self) -> HealthReport:
        return local_health(self.index.path, self.index.check())

    def rebuild(
        self,
        *,
        procs: int,
        batch_size: int | None,
        on_progress: ProgressMeter | None,
        sidecars: Sequence[Sidecar],
    ) -> tuple[Backend, IngestReport]:
        from searchkit.index.rebuild import rebuild as run_rebuild

        new, report = run_rebuild(
            self.index,
            procs=procs,
            batch_size=batch_size,
            on_progress=on_progress,
            sidecars=sidecars,
        )
        return LocalBackend(new), report

    def close(self) -> None:
        self.index.close()


class UnopenedLocalIndex:
    """A local index directory that cannot be opened (damaged, of another format version
    or analysis parameters): it can still be checked, and rebuilt from its recorded
    sources."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_timeout = 0.0
        self._on_lock_wait: LockWaitCallback | None = None

    @property
    def location(self) -> str:
        return str(self.path)

    def prepare_writes(self, lock_timeout: float, on_lock_wait: LockWaitCallback) -> None:
        self._lock_timeout = lock_timeout
        self._on_lock_wait = on_lock_wait

    def check(self) -> HealthReport:
        from searchkit.engine.verify import verify_index

        return local_health(self.path, verify_index(self.path))

    def rebuild(
        self,
        *,
        procs: int,
        batch_size: int | None,
        on_progress: ProgressMeter | None,
        sidecars: Sequence[Sidecar],
    ) -> tuple[Backend, IngestReport]:
        from searchkit.index.rebuild import rebuild as run_rebuild

        new, report = run_rebuild(
            self.path,
            procs=procs,
            batch_size=batch_size,
            on_progress=on_progress,
            lock_timeout=self._lock_timeout,
            on_lock_wait=self._on_lock_wait,
            sidecars=sidecars,
        )
        return LocalBackend(new), report

    def sources(self, *, missing: bool = False) -> list[SourceEntry]:
        return local_sources(self.path, missing)

    def forget_sources(
        self, paths: Sequence[str | os.PathLike[str]], missing: bool
    ) -> list[SourceEntry]:
        from searchkit.index.sources import forget_sources

        return forget_sources(
            self.path,
            paths,
            missing=missing,
            lock_timeout=self._lock_timeout,
            on_lock_wait=self._on_lock_wait,
        )

    def close(self) -> None:
        pass


def local_sources(path: Path, missing: bool) -> list[SourceEntry]:
    """The recorded sources of the local index at ``path``, by path (``missing``: those
    whose file is gone)."""
    from searchkit.index.sources import SourceRegistry  # the sources command's

    return SourceRegistry.load(path).listed(missing)


def open_local_for_repair(path: Path) -> LocalBackend | UnopenedLocalIndex:
    """The index at ``path``; just its directory when it is damaged, of another format
    version or built with other analysis parameters (a rebuild reads only its recorded
    sources, not its files)."""
    from searchkit.engine.checksums import IndexDamagedError
    from searchkit.errors import AnalysisMismatchError, IndexVersionError

    try:
        return LocalBackend(SearchIndex.open(path))
    except (IndexDamagedError, IndexVersionError, AnalysisMismatchError):
        return UnopenedLocalIndex(path)


def local_health(path: Path, report: CheckReport) -> HealthReport:
    """``check`` of a local index: the files whose checksums do not match."""
    if report.damaged:
        return HealthReport(
            tuple(f"damaged: {problem}" for problem in report.damaged),
            f"the index at {path} is damaged; repair it with 'searchkit rebuild --index "
            f"{path}', which re-reads its recorded source files",
        )
    if not report.checksums:
        return HealthReport(
            (),
            f"{path}: written before searchkit recorded checksums, nothing to verify; "
            f"'searchkit rebuild --index {path}' adds them",
        )
    return HealthReport(
        (),
        f"{path}: {plural(report.files, 'file')}, {plural(report.bytes, 'byte', spec=',')}, "
        "all match their checksums.",
    )
