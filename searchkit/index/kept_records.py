"""The records an index holds that its recorded sources no longer give, carried into
the index a rebuild makes.

Ingest replaces records by PMID and keeps every other: a record stays in the index
when its file is edited to leave it out and ingested again, and a record written
through the Python API comes from no file at all. A rebuild re-reads the sources, so
without this it would drop those records without a word. Here the old index's PMIDs
and the new one's are walked side by side (both sorted, read from the ``pmid``
field's terms: memory does not grow with the index), and each live record only the
old index holds, and that was not removed with ``searchkit delete``, is written into
the new index from what the old one stored (analysed anew, as the sources are).

The old index is read as it is, without :meth:`SearchIndex.open`'s checks of its
schema version and analysis (a rebuild is how an index refused for those is made
current); its files' checksums are still checked as its segments are opened.
"""

from __future__ import annotations

import gc
import warnings
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path

from whoosh.reading import IndexReader

from searchkit.engine.fileindex import RetryingFileIndex
from searchkit.engine.mapped import MappedFileStorage
from searchkit.index.documents import record_from_json
from searchkit.index.searchindex import INDEX_NAME, SearchIndex
from searchkit.records import Record

#: The field whose terms are the records' ids.
ID_FIELD = "pmid"


class OldIndexUnreadable(Exception):
    """The old index could not be read (damaged files): nothing of it was kept."""


def keep_records(old: Path, new: SearchIndex, deleted: set[str]) -> int:
    """Write into ``new`` every live record of the index at ``old`` whose id ``new``
    does not hold and ``deleted`` does not name, in one commit; how many. Raises
    :class:`OldIndexUnreadable` (having written nothing) when ``old`` cannot be read."""
    kept = 0
    batch = None
    records = records_only_in(old, new, deleted)
    try:
        while True:
            failure = None
            with warnings.catch_warnings():
                # Whoosh leaves the files of an index it cannot read open when it
                # fails: they close, each with a warning, as the failure is dropped.
                warnings.simplefilter("ignore", ResourceWarning)
                try:
                    record = next(records, None)
                except Exception as exc:  # whatever decoding damaged files raises
                    failure = f"{type(exc).__name__}: {exc}"
            if failure is not None:
                _drop(records)
                raise OldIndexUnreadable(failure)
            if record is None:
                break
            if batch is None:
                batch = new.batch()
            batch.upsert(record)
            kept += 1
    except BaseException:
        if batch is not None:
            batch.abandon()
        raise
    if batch is not None:
        batch.commit()
    return kept


def _drop(records: Iterator[Record]) -> None:
    """Close what reading a damaged index left open: Whoosh leaves the files of an
    index it cannot read open when it fails, closed (with a warning each) only when
    the failure is collected."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        if isinstance(records, Generator):
            records.close()
        gc.collect()


def records_only_in(old: Path, new: SearchIndex, deleted: set[str]) -> Iterator[Record]:
    """The live records of the index at ``old`` whose ids ``new`` does not hold and
    ``deleted`` does not name, in id order."""
    storage = MappedFileStorage(str(old))
    old_reader = RetryingFileIndex(storage, indexname=INDEX_NAME).reader()
    try:
        with new.searcher() as searcher:
            new_ids = searcher.reader().lexicon(ID_FIELD)
            for term in _only_in(old_reader.lexicon(ID_FIELD), new_ids):
                docnum = _live_document(old_reader, term)
                if docnum is None:
                    continue
                record = record_from_json(old_reader.stored_fields(docnum)["record"])
                if record.pmid not in deleted:
                    yield record
    finally:
        old_reader.close()
        storage.close()


def _only_in(first: Iterable[bytes], second: Iterable[bytes]) -> Iterator[bytes]:
    """The terms of ``first`` that ``second`` lacks (both ascending, each term once)."""
    others = iter(second)
    other = next(others, None)
    for term in first:
        while other is not None and other < term:
            other = next(others, None)
        if other != term:
            yield term


def _live_document(reader: IndexReader, term: bytes) -> int | None:
    """The document of ``reader`` that holds id ``term`` and is not deleted, if any."""
    matcher = reader.postings(ID_FIELD, term)
    for docnum in matcher.all_ids():
        if not reader.is_deleted(docnum):
            return int(docnum)
    return None
