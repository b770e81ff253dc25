"""Opening, creating and updating a searchkit index on disk.

An index directory holds Whoosh's files and ``searchkit.json`` (schema version,
creation and last-update times). Writes are upserts by record id, committed in
batches: an interrupted run leaves the last committed batch searchable.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import whoosh.index
from whoosh.index import FileIndex, LockError
from whoosh.searching import Searcher

from searchkit.documents import record_from_json, record_to_fields, record_to_json
from searchkit.errors import (
    IndexFormatError,
    IndexLockedError,
    IndexNotFoundError,
    RecordNotFoundError,
)
from searchkit.fastindex import FastMpWriter, FastSegmentWriter
from searchkit.records import Record
from searchkit.schema import SCHEMA_VERSION, build_schema

META_FILE = "searchkit.json"
INDEX_NAME = "MAIN"

# Memory for the Whoosh writers' posting pools before they spill sorted runs to disk,
# shared by the writer processes (each gets an equal part, at least 16 MB). Spilling
# is cheap (see fastindex), so a small pool costs little speed and bounds memory.
DEFAULT_LIMITMB = 48
# Below this many new or changed documents a batch is written by one process: starting
# writer processes and merging their segments costs more than it saves.
MIN_RECORDS_PER_PROC = 1_000
# With several writer processes, each finishes its own segment in parallel (True) or
# the parent merges their postings into one segment (False); Whoosh's merge policy
# folds small segments together on later commits either way.
MULTISEGMENT = True


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class WriteCounts:
    """What a batch of writes did to the index."""

    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    deleted: int = 0
    not_found: list[str] = field(default_factory=list)  # deletions of ids not in the index

    def merge(self, other: WriteCounts) -> None:
        self.added += other.added
        self.replaced += other.replaced
        self.unchanged += other.unchanged
        self.deleted += other.deleted
        self.not_found.extend(other.not_found)


class SearchIndex:
    """A searchkit index directory. Create with :meth:`create` or :meth:`open`.

    >>> ix = SearchIndex.open_or_create(Path("my-index"))   # doctest: +SKIP
    >>> ix.upsert([record]).added                            # doctest: +SKIP
    1
    """

    def __init__(self, path: Path, ix: FileIndex) -> None:
        self.path = path
        self._ix = ix

    # -- opening ---------------------------------------------------------------

    @classmethod
    def exists(cls, path: Path) -> bool:
        return (path / META_FILE).is_file()

    @classmethod
    def open(cls, path: Path) -> SearchIndex:
        """Open an existing index; clear errors when there is none or it is foreign."""
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
        if version != SCHEMA_VERSION:
            raise IndexFormatError(
                f"the index at {path} was written with schema version {version}, this "
                f"searchkit needs version {SCHEMA_VERSION}; re-ingest: delete {path} and run "
                f"'searchkit ingest PATH --index {path}' again"
            )
        try:
            ix = whoosh.index.open_dir(str(path), indexname=INDEX_NAME)
        except (whoosh.index.EmptyIndexError, OSError, EOFError, ValueError) as exc:
            raise IndexFormatError(f"cannot open the index at {path}: {exc}") from exc
        return cls(path, ix)

    @classmethod
    def create(cls, path: Path) -> SearchIndex:
        """Create a new empty index at ``path`` (the directory may exist but must be empty)."""
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise IndexFormatError(
                f"cannot create an index at {path}: it exists and is not an empty directory"
            )
        path.mkdir(parents=True, exist_ok=True)
        ix = whoosh.index.create_in(str(path), build_schema(), indexname=INDEX_NAME)
        now = _now()
        _write_meta(
            path / META_FILE, {"schema_version": SCHEMA_VERSION, "created": now, "updated": now}
        )
        return cls(path, ix)

    @classmethod
    def open_or_create(cls, path: Path) -> SearchIndex:
        if cls.exists(path):
            return cls.open(path)
        return cls.create(path)

    # -- reading ---------------------------------------------------------------

    @property
    def whoosh_index(self) -> FileIndex:
        return self._ix

    @contextmanager
    def searcher(self) -> Iterator[Searcher]:
        """A searcher over the last committed state (closed on exit)."""
        with self._ix.searcher() as s:
            yield s

    def get(self, pmid: str) -> Record:
        """The stored record with this id, or :class:`RecordNotFoundError`."""
        with self.searcher() as s:
            doc = s.document(pmid=pmid)
        if doc is None:
            raise RecordNotFoundError(f"no record with PMID {pmid} in the index at {self.path}")
        return record_from_json(doc["record"])

    def __len__(self) -> int:
        return int(self._ix.doc_count())

    def stats(self) -> dict[str, Any]:
        """Record count, size on disk, last update and schema version."""
        meta = _read_meta(self.path / META_FILE)
        size = sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())
        return {
            "index": str(self.path),
            "records": len(self),
            "size_bytes": size,
            "created": meta.get("created"),
            "updated": meta.get("updated"),
            "schema_version": meta.get("schema_version"),
            "segments": len(self._ix._segments()),
        }

    # -- writing ---------------------------------------------------------------

    def _writer(
        self, procs: int = 1, limitmb: int = DEFAULT_LIMITMB, multisegment: bool | None = None
    ) -> Any:
        """A Whoosh writer; ``procs`` > 1 gives a multi-process writer."""
        if multisegment is None:
            multisegment = MULTISEGMENT
        try:
            if procs > 1:
                return FastMpWriter(
                    self._ix,
                    procs=procs,
                    limitmb=max(16, limitmb // procs),
                    multisegment=multisegment,
                )
            return FastSegmentWriter(self._ix, limitmb=limitmb)
        except LockError as exc:
            raise IndexLockedError(
                f"the index at {self.path} is being written by another process; try again "
                "when it has finished"
            ) from exc

    def apply(
        self,
        records: dict[str, Record],
        deletions: set[str],
        *,
        procs: int = 1,
        limitmb: int = DEFAULT_LIMITMB,
        multisegment: bool | None = None,
    ) -> WriteCounts:
        """Delete ``deletions`` and upsert ``records`` (keyed by id) in one commit.

        A record identical to the stored one is left alone ("unchanged"), so
        re-ingesting a file writes nothing. With ``procs`` > 1 (and a batch large
        enough to pay for it) the documents are analysed in ``procs`` processes.
        """
        counts = WriteCounts()
        if len(records) < MIN_RECORDS_PER_PROC * 2:
            procs = 1
        writer = self._writer(procs, limitmb, multisegment)
        try:
            searcher = writer.searcher()
            changed = False
            for pmid in sorted(deletions):
                if searcher.document_number(pmid=pmid) is None:
                    counts.not_found.append(pmid)
                    continue
                writer.delete_by_term("pmid", pmid)
                counts.deleted += 1
                changed = True
            empty = searcher.doc_count_all() == 0
            for pmid, record in records.items():
                record_json = record_to_json(record)
                existing = None if empty else searcher.document(pmid=pmid)
                if existing is not None and existing.get("record") == record_json:
                    counts.unchanged += 1
                    continue
                fields = record_to_fields(record, record_json)
                if existing is None:
                    writer.add_document(**fields)
                    counts.added += 1
                else:
                    writer.update_document(**fields)
                    counts.replaced += 1
                changed = True
        except BaseException:
            writer.cancel()
            raise
        if changed:
            writer.commit()
            self._touch()
        else:
            writer.cancel()
        return counts

    def optimize(self) -> tuple[int, int]:
        """Merge every segment into one (and drop deleted documents); returns the
        segment counts before and after."""
        before = len(self._ix._segments())
        writer = self._writer()
        writer.commit(optimize=True)
        return before, len(self._ix._segments())

    def upsert(self, records: list[Record]) -> WriteCounts:
        """Add or replace records by id in one commit (the last of duplicate ids wins)."""
        return self.apply({r.pmid: r for r in records}, set())

    def delete(self, pmids: list[str]) -> WriteCounts:
        """Remove records by id in one commit; ids not in the index are listed in ``not_found``."""
        return self.apply({}, set(pmids))

    def _touch(self) -> None:
        meta_path = self.path / META_FILE
        meta = _read_meta(meta_path)
        meta["updated"] = _now()
        _write_meta(meta_path, meta)


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexFormatError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise IndexFormatError(f"{path} is not a searchkit index metadata file")
    return data


def _write_meta(path: Path, meta: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(meta, indent=2) + "\n", "utf-8")
    os.replace(tmp, path)
