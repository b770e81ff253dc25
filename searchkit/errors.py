"""Exceptions with messages written for the person at the terminal.

The library raises these; the CLI catches :class:`SearchkitError` at the command
boundary and prints ``Error: <message>`` on one line, with no traceback.
"""

from __future__ import annotations


class SearchkitError(Exception):
    """Base class of every error a user can cause or fix."""

    exit_code: int = 1


class InputError(SearchkitError):
    """An input file (or a record in it) cannot be read.

    ``source`` names the file, ``location`` the line or record ("line 12",
    "record 3") when known.
    """

    def __init__(self, source: str, message: str, location: str | None = None) -> None:
        self.source = source
        self.location = location
        self.reason = message
        where = f"{source}, {location}" if location else source
        super().__init__(f"{where}: {message}")


class IndexNotFoundError(SearchkitError):
    """No searchkit index at the given location."""


class IndexFormatError(SearchkitError):
    """The directory is not a searchkit index, or one of another format version."""


class IndexVersionError(IndexFormatError):
    """The index was written in another format version: ``searchkit rebuild`` makes it
    anew from its recorded sources."""


class IndexClosedError(SearchkitError):
    """The :class:`~searchkit.index.searchindex.SearchIndex` was closed before this use."""


class AnalysisMismatchError(IndexFormatError):
    """The index was built with other analysis parameters than this searchkit uses (its
    terms would not match the query's): ``searchkit rebuild`` makes it anew."""


class IndexLockedError(SearchkitError):
    """Another process is writing to the index."""


class IndexWriteError(SearchkitError):
    """The index cannot be written (disk full, no permission); the last completed
    commit stays in force."""


class QueryError(SearchkitError):
    """A query that cannot be parsed. ``position`` is a 0-based character offset."""

    exit_code = 2

    def __init__(self, message: str, position: int | None = None) -> None:
        self.position = position
        self.reason = message
        where = f" (at position {position + 1})" if position is not None else ""
        super().__init__(f"{message}{where}")


class RecordNotFoundError(SearchkitError):
    """No record with the given id in the index."""


class SourceNotFoundError(SearchkitError):
    """A path that is not a recorded source of the index (``searchkit sources`` lists
    them)."""


class OptionError(SearchkitError):
    """A command-line option with a value that cannot be used (``--year 2020..2015``)."""

    exit_code = 2


class ModelError(SearchkitError):
    """A sentence-encoder model that is missing, incomplete or of an unknown kind."""


class VectorStoreError(SearchkitError):
    """The stored sentence vectors of an index cannot be read."""


class NoVectorsError(SearchkitError):
    """Semantic ranking was asked for, but the index has no sentence vectors."""

    exit_code = 2
