"""searchkit: ranked full-text search over PubMed-style literature records.

The Python API::

    from pathlib import Path
    from searchkit import SearchIndex, ingest, search

    ix = SearchIndex.open_or_create(Path("my-index"))
    ingest([Path("data")], ix)
    for hit in search(ix, "immune escape MHC", limit=3).hits:
        print(hit.rank, hit.pmid, hit.record.title)

The names below are imported when first used, so that ``import searchkit`` (and every
``searchkit`` command) loads only the stages it needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from searchkit.api import search
    from searchkit.errors import (
        IndexClosedError,
        IndexFormatError,
        IndexLockedError,
        IndexNotFoundError,
        IndexVersionError,
        IndexWriteError,
        InputError,
        QueryError,
        RecordNotFoundError,
        SearchkitError,
        SourceNotFoundError,
    )
    from searchkit.index.ingest import IngestReport, ingest
    from searchkit.index.searchindex import SearchIndex
    from searchkit.items import Deletion, Skipped
    from searchkit.records import Author, MeshHeading, Record
    from searchkit.searching.search import Hit, SearchResult

from searchkit import whoosh_imports
from searchkit.version import __version__

whoosh_imports.install()

# Public name -> the module that defines it.
_EXPORTS = {
    "Author": "searchkit.records",
    "Deletion": "searchkit.items",
    "Hit": "searchkit.searching.search",
    "IndexClosedError": "searchkit.errors",
    "IndexFormatError": "searchkit.errors",
    "IndexLockedError": "searchkit.errors",
    "IndexNotFoundError": "searchkit.errors",
    "IndexVersionError": "searchkit.errors",
    "IndexWriteError": "searchkit.errors",
    "IngestReport": "searchkit.index.ingest",
    "InputError": "searchkit.errors",
    "MeshHeading": "searchkit.records",
    "QueryError": "searchkit.errors",
    "Record": "searchkit.records",
    "RecordNotFoundError": "searchkit.errors",
    "SearchIndex": "searchkit.index.searchindex",
    "SearchResult": "searchkit.searching.search",
    "SearchkitError": "searchkit.errors",
    "Skipped": "searchkit.items",
    "SourceNotFoundError": "searchkit.errors",
    "ingest": "searchkit.index.ingest",
    "search": "searchkit.api",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'searchkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "Author",
    "Deletion",
    "Hit",
    "IndexClosedError",
    "IndexFormatError",
    "IndexLockedError",
    "IndexNotFoundError",
    "IndexVersionError",
    "IndexWriteError",
    "IngestReport",
    "InputError",
    "MeshHeading",
    "QueryError",
    "Record",
    "RecordNotFoundError",
    "SearchIndex",
    "SearchResult",
    "SearchkitError",
    "Skipped",
    "SourceNotFoundError",
    "__version__",
    "ingest",
    "search",
]
