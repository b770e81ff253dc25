"""Commands that write records: ingest, rebuild, delete."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from searchkit.cli.common import (
    DEFAULT_LOCK_TIMEOUT,
    BatchOption,
    IndexOption,
    LockTimeoutOption,
    ProcsOption,
    _call,
    _err,
    _for_writing,
    _lock_wait_message,
    _open_index,
)
from searchkit.cli.embed import _embed
from searchkit.engine.checksums import IndexDamagedError
from searchkit.errors import AnalysisMismatchError, IndexVersionError
from searchkit.index.ingest import IngestReport, default_procs
from searchkit.index.ingest import delete as run_delete
from searchkit.index.ingest import ingest as run_ingest
from searchkit.index.location import resolve_index_dir
from searchkit.index.rebuild import rebuild as run_rebuild
from searchkit.index.searchindex import SearchIndex
from searchkit.semantic.vectors import SIDECARS


def ingest(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Files or directories (read recursively).", show_default=False),
    ],
    index: IndexOption = None,
    procs: ProcsOption = None,
    batch_size: BatchOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Re-read files even if unchanged since ingested.")
    ] = False,
    lock_timeout: LockTimeoutOption = DEFAULT_LOCK_TIMEOUT,
    embed_after: Annotated[
        bool,
        typer.Option(
            "--embed",
            help="Then store sentence vectors for new and changed records (as 'searchkit "
            "embed' does; slow).",
        ),
    ] = False,
) -> None:
    """Add records to the index (upsert by PMID; deletions applied).

    Reads PubMed XML, MEDLINE/.nbib, JSON Lines (incl. BEIR corpus.jsonl), PubMed
    abstract-page text and PubMed "Abstract" text exports, gzipped or not. Files
    ingested before and unchanged since are skipped (--force reads them again).
    Exit code 0: everything ingested; 1: some input skipped (the rest is committed).
    """
    missing = [p for p in paths if not p.exists()]
    if missing:
        _err(f"Error: {missing[0]}: no such file or directory")
        raise typer.Exit(2)
    index_dir = resolve_index_dir(index)
    ix = _for_writing(_call(lambda: SearchIndex.open_or_create(index_dir)), lock_timeout)
    report = _call(
        lambda: run_ingest(
            paths,
            ix,
            procs=procs or default_procs(),
            batch_size=batch_size,
            force=force,
            on_file=_progress(),
        )
    )
    ok = _summarise(report, ix)
    if embed_after:
        _embed(ix, None)
    if not ok:
        raise typer.Exit(1)


def _progress() -> Callable[[Path, int], None]:
    show = sys.stderr.isatty()

    def on_file(path: Path, records: int) -> None:
        if show:
            _err(f"  {path}: {records} records")

    return on_file


def _summarise(report: IngestReport, ix: SearchIndex) -> bool:
    """Print what an ingest did; whether all of its input was read."""
    c = report.counts
    for skip in report.skipped:
        _err(f"skipped: {skip}")
    if report.unchanged_files:
        _err(
            f"{len(report.unchanged_files)} file(s) unchanged since ingested, not read "
            "(--force reads them again)"
        )
    _err(
        f"{report.files} file(s) read, {report.records_read} record(s): {c.added} added, "
        f"{c.replaced} replaced, {c.unchanged} unchanged, {c.deleted} deleted, "
        f"{len(report.skipped)} skipped. Index: {ix.path} ({len(ix)} records)"
    )
    if c.not_found:
        _err(f"{len(c.not_found)} deletion(s) named records not in the index")
    return report.ok


def rebuild(
    index: IndexOption = None,
    procs: ProcsOption = None,
    batch_size: BatchOption = None,
    lock_timeout: LockTimeoutOption = DEFAULT_LOCK_TIMEOUT,
) -> None:
    """Re-read every recorded source into a new index, then swap it in atomically.

    Searches keep using the old index until the new one is complete; an interrupted
    rebuild leaves the old index untouched. Records that did not come from a
    recorded source file are not in the new index.
    """
    found = _call(lambda: _open_for_rebuild(resolve_index_dir(index)))
    ix = _for_writing(found, lock_timeout) if isinstance(found, SearchIndex) else found
    new, report = _call(
        lambda: run_rebuild(
            ix,
            procs=procs or default_procs(),
            batch_size=batch_size,
            on_file=_progress(),
            lock_timeout=lock_timeout,
            on_lock_wait=_lock_wait_message(resolve_index_dir(index)),
            sidecars=SIDECARS,
        )
    )
    _err("Rebuilt.")
    if not _summarise(report, new):
        raise typer.Exit(1)


def _open_for_rebuild(path: Path) -> SearchIndex | Path:
    """The index to rebuild; just its directory when it is damaged, of another format
    version or built with other analysis parameters (a rebuild reads only its recorded
    sources, not its files)."""
    try:
        return SearchIndex.open(path)
    except (IndexDamagedError, IndexVersionError, AnalysisMismatchError):
        return path


def delete(
    pmids: Annotated[
        list[str], typer.Argument(help="PMIDs (or ids) to remove.", show_default=False)
    ],
    index: IndexOption = None,
    lock_timeout: LockTimeoutOption = DEFAULT_LOCK_TIMEOUT,
) -> None:
    """Remove records by PMID. Exit code 1 if some PMID is not in the index."""
    ix = _for_writing(_open_index(index), lock_timeout)
    wanted = list(dict.fromkeys(p.strip() for p in pmids if p.strip()))
    if not wanted:
        _err("Error: no PMID given")
        raise typer.Exit(2)
    counts = _call(lambda: run_delete(ix, wanted))
    _err(f"{counts.deleted} record(s) deleted. Index: {ix.path} ({len(ix)} records)")
    if counts.not_found:
        _err(f"Error: not in the index: {' '.join(counts.not_found)}")
        raise typer.Exit(1)
