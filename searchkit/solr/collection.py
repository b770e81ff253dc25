"""What the collection-wide operations (:mod:`searchkit.solr.maintenance`: rebuild,
optimize, check; :mod:`searchkit.solr.meaning`: vectors and ranking by meaning) use of
a collection's backend. :class:`searchkit.solr.backend.SolrBackend` is the one
implementation; those modules are handed it, so they never import it back."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from searchkit.index.ingest import IngestReport, ProgressMeter
    from searchkit.index.searchindex import WriteCounts
    from searchkit.searching.pipeline import MeaningProvider
    from searchkit.searching.search import Filters, SearchResult
    from searchkit.solr.address import SolrAddress
    from searchkit.solr.client import SolrClient
    from searchkit.solr.lease import WriterLease
    from searchkit.solr.translate import Json


class Collection(Protocol):
    """A Solr collection opened as an index (see :class:`~searchkit.solr.backend.SolrBackend`)."""

    address: SolrAddress
    client: SolrClient
    lease: WriterLease | None

    def __init__(self, address: SolrAddress) -> None: ...

    @property
    def location(self) -> str: ...

    def real_collection(self) -> str: ...

    def record_count(self) -> int: ...

    def _select(self, body: Json) -> Json: ...

    def _config_name(self, real: str | None = None) -> str: ...

    def rank(self, text: str, limit: int) -> list[tuple[str, float]]: ...

    def search(
        self,
        query: str,
        *,
        limit: int | None,
        offset: int,
        filters: Filters | None,
        sort: str,
        with_snippets: bool,
        expand: bool = False,
        semantic_rank: bool | None = None,
        refs: Mapping[int, str] | None = None,
        partial: bool = True,
        meaning: MeaningProvider | None = None,
    ) -> SearchResult: ...

    def ingest_held(
        self,
        paths: Iterable[str | os.PathLike[str]],
        procs: int,
        batch_size: int | None,
        force: bool,
        on_progress: ProgressMeter | None,
    ) -> IngestReport: ...

    def delete_now(self, pmids: list[str], counts: WriteCounts) -> None: ...

    def commit(self) -> None: ...

    def close(self) -> None: ...
