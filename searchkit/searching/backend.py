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
from typing import TYPE_CHECKING, Any, Protocol

from searchkit.index.history import History
from searchkit.index.locking import LockWaitCallback
from searchkit.index.mesh import MeshContext
from searchkit.index.searchindex import SearchIndex, WriteCounts
from searchkit.index.sidecars import Sidecar
from searchkit.index.sources import SourceEntry, SourceRegistry
from searchkit.query.compile import explain as explain_query
from searchkit.records import Record
from searchkit.searching.pipeline import MeaningProvider
from searchkit.searching.search import Filters, SearchResult
from searchkit.searching.search import count as run_count
from searchkit.searching.search import search as run_search

if TYPE_CHECKING:  # writing and evaluating load readers and more: imported when used
    from searchkit.index.ingest import IngestReport, ProgressMeter
    from searchkit.searching.evaluation import EvalResult, Metric


class Backend(Protocol):
    """An index the commands can ingest into, search and inspect."""

    @property
    def location(self) -> str:
        """Where the index is, as messages name it (a directory, or solr://…)."""
        ...

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

    def similar(self, pmid: str, limit: int) -> SearchResult:
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

    def prepare_writes(self, lock_timeout: float, on_lock_wait: LockWaitCallback) -> None:
        """How long a write waits for another writer, and what it says meanwhile."""
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

    def sources(self) -> list[SourceEntry]:
        """The files ingested, with when and how many records."""
        ...

    def close(self) -> None: ...


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
            ix.whoosh_index.schema,
            query,
            acronyms=ix.acronyms,
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

    def similar(self, pmid: str, limit: int) -> SearchResult:
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

    def sources(self) -> list[SourceEntry]:
        registry = SourceRegistry.load(self.index.path)
        return sorted(registry.entries.values(), key=lambda e: e.path)

    def close(self) -> None:
        self.index.close()
