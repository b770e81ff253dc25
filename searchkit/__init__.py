"""searchkit: ranked full-text search over PubMed-style literature records.

The Python API::

    from pathlib import Path
    from searchkit import SearchIndex, ingest, search

    ix = SearchIndex.open_or_create(Path("my-index"))
    ingest([Path("data")], ix)
    for hit in search(ix, "immune escape MHC", limit=3).hits:
        print(hit.rank, hit.pmid, hit.record.title)
"""

from searchkit import checksums, safepickle
from searchkit.errors import (
    IndexClosedError,
    IndexFormatError,
    IndexLockedError,
    IndexNotFoundError,
    IndexWriteError,
    InputError,
    QueryError,
    RecordNotFoundError,
    SearchkitError,
)
from searchkit.index import SearchIndex
from searchkit.ingest import IngestReport, ingest
from searchkit.records import Author, Deletion, MeshHeading, Record, Skipped
from searchkit.search import Hit, SearchResult, search

__version__ = "0.1.0"

# The one place Whoosh is patched, before anything reads an index: every unpickling
# of index files goes through searchkit.safepickle, and every table of contents is
# written with and read against a manifest of checksums (searchkit.checksums). The
# modules' docstrings list the Whoosh names they replace.
safepickle.install()
checksums.install()

__all__ = [
    "Author",
    "Deletion",
    "Hit",
    "IndexClosedError",
    "IndexFormatError",
    "IndexLockedError",
    "IndexNotFoundError",
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
    "__version__",
    "ingest",
    "search",
]
