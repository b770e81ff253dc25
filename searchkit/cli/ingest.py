"""Commands that write records: ingest, rebuild, delete."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from searchkit.cli.common import (
    DEFAULT_LOCK_TIMEOUT,
    BatchOption,
    IndexOption,
    LockTimeoutOption,
    ProcsOption,
    _call,
    _err,
    _lock_wait_message,
    _open_backend,
)
from searchkit.cli.progress import QuietOption, bytes_meter, shown
from searchkit.plural import plural

if TYPE_CHECKING:
    from collections.abc import Callable

    from searchkit.index.ingest import IngestProgress, IngestReport
    from searchkit.searching.backend import Backend


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
    quiet: QuietOption = False,
) -> None:
    """Add records to the index (upsert by PMID; deletions applied).

    Reads PubMed XML, MEDLINE/.nbib, JSON Lines (incl. BEIR corpus.jsonl), PubMed
    abstract-page text and PubMed "Abstract" text exports, gzipped or not. Files
    ingested before and unchanged since are skipped (--force reads them again); a file
    with the content of a recorded source whose file is gone is that source moved, and
    is recorded at its new path instead. A new index is not left behind when no record
    was added to it.
    Exit code 0: everything ingested; 1: some input skipped (the rest is committed).
    """
    from searchkit.cli.embed import _embed
    from searchkit.index.ingest import default_procs

    missing = [p for p in paths if not p.exists()]
    if missing:
        _err(f"Error: {missing[0]}: no such file or directory")
        raise typer.Exit(2)
    backend = _open_backend(index, create=True)
    backend.prepare_writes(lock_timeout, _lock_wait_message(backend.location))
    start = time.monotonic()

    def run(meter: Callable[[IngestProgress], None]) -> IngestReport:
        try:
            return backend.ingest(
                paths,
                procs=procs or default_procs(),
                batch_size=batch_size,
                force=force,
                on_progress=meter,
            )
        except KeyboardInterrupt:
            discarded = False
            with contextlib.suppress(Exception):
                discarded = backend.discard_if_unused()
            if discarded:  # else the index holds what was last committed (_call says so)
                _err("Interrupted before anything was committed; no index was left.")
                raise typer.Exit(130) from None
            raise

    try:
        with bytes_meter("ingest", shown(quiet)) as meter:
            report = _call(lambda: run(meter))
    except BaseException:
        # Interrupted or failed before its first commit: no empty index of its own left.
        with contextlib.suppress(Exception):
            backend.discard_if_unused()
        raise
    # An index this command made and added no record to is not left behind (a
    # mistyped file name must not leave an empty index that later reads as one).
    made_none = _call(backend.discard_if_unused)
    ok = _summarise(report, backend, time.monotonic() - start, made_none=made_none)
    if embed_after and not made_none:
        _embed(backend, None, procs)
    backend.close()
    if not ok:
        raise typer.Exit(1)


def summary(
    report: IngestReport, index_path: Path | str, index_records: int | None, seconds: float
) -> str:
    """What an ingest did, in one line: "Added 2285 records from 25 files in 9.1 s.
    Index: DIR (2285 records)"; a count that is 0 is not named. ``index_records``
    None: the ingest made no index (it would have held no record)."""
    c = report.counts
    if index_records is None:
        where = f"Index: {index_path} not created (no records)"
    else:
        where = f"Index: {index_path} ({plural(index_records, 'record')})"
    unread = (
        f"{plural(len(report.unchanged_files), 'file')} unchanged since ingested, not read "
        "(--force reads them again)"
    )
    passed = f"{plural(len(report.passed_over), 'file')} in no record format passed over"
    moved = (
        f"{plural(len(report.moved), 'source')} moved to a new path (same content, the "
        "recorded path gone)"
    )
    if not report.files:
        found = [unread] if report.unchanged_files else []
        found += [moved] if report.moved else []
        said = f"Nothing to read: {', '.join(found)}" if found else "No input files found"
        return f"{said}{'; ' + passed if report.passed_over else ''}. {where}"
    changes = [(n, verb) for n, verb in ((c.added, "added"), (c.replaced, "replaced")) if n]
    changes += [(c.deleted, "deleted")] if c.deleted else []
    read = f"{plural(report.files, 'file')} in {seconds:.1f} s"
    if not changes:
        done = f"No records added or changed ({read.replace(' in ', ' read in ')})"
    elif len(changes) == 1:
        done = f"{changes[0][1].capitalize()} {plural(changes[0][0], 'record')} from {read}"
    else:
        words = [f"{verb} {n}" for n, verb in changes]
        done = (", ".join(words[:-1]) + " and " + words[-1]).capitalize() + f" records from {read}"
    notes = []
    if c.unchanged:
        notes.append(f"{c.unchanged} unchanged")
    if report.skipped:
        notes.append(f"{len(report.skipped)} skipped")
    if report.unchanged_files:
        notes.append(unread)
    if report.moved:
        notes.append(moved)
    if report.passed_over:
        notes.append(passed)
    extra = "; " + ", ".join(notes) if notes else ""
    return f"{done}{extra}. {where}"


def _summarise(
    report: IngestReport, backend: Backend, seconds: float, *, made_none: bool = False
) -> bool:
    """Print what an ingest did (``made_none``: it made no index, having no record for
    it); whether all of its input was read."""
    for skip in report.skipped:
        _err(f"skipped: {skip}")
    held = None if made_none else _call(backend.record_count)
    _err(summary(report, backend.location, held, seconds))
    if report.counts.not_found:
        _err(f"{plural(len(report.counts.not_found), 'deletion')} named records not in the index")
    return report.ok


def rebuild(
    index: IndexOption = None,
    procs: ProcsOption = None,
    batch_size: BatchOption = None,
    lock_timeout: LockTimeoutOption = DEFAULT_LOCK_TIMEOUT,
    quiet: QuietOption = False,
) -> None:
    """Re-read every recorded source into a new index, then swap it in atomically.

    Searches keep using the old index until the new one is complete; an interrupted
    rebuild leaves the old index untouched. Records the index holds that no recorded
    source gives any more (taken out of their file, or written from none) are kept;
    records removed with 'searchkit delete' stay removed.
    """
    from searchkit.index.ingest import default_procs
    from searchkit.semantic.vectors import SIDECARS
    from searchkit.solr.backends import open_for_repair

    backend = _call(lambda: open_for_repair(index))
    backend.prepare_writes(lock_timeout, _lock_wait_message(backend.location))
    start = time.monotonic()
    with bytes_meter("rebuild", shown(quiet)) as meter:
        new, report = _call(
            lambda: backend.rebuild(
                procs=procs or default_procs(),
                batch_size=batch_size,
                on_progress=meter,
                sidecars=SIDECARS,
            )
        )
    _err("Rebuilt.")
    ok = _summarise(report, new, time.monotonic() - start)
    if report.kept:
        _err(
            f"Kept {plural(report.kept, 'record')} that no recorded source holds any more "
            "(taken out of its file since it was ingested, or not from a file); "
            "'searchkit delete' removes a record."
        )
    if report.old_unread:
        _err(
            "note: the old index could not be read, so records that no recorded source "
            f"holds are not in the new one ({report.old_unread})"
        )
    if not ok:
        raise typer.Exit(1)


def delete(
    pmids: Annotated[
        list[str], typer.Argument(help="PMIDs (or ids) to remove.", show_default=False)
    ],
    index: IndexOption = None,
    lock_timeout: LockTimeoutOption = DEFAULT_LOCK_TIMEOUT,
) -> None:
    """Remove records by PMID. Exit code 1 if some PMID is not in the index."""
    wanted = list(dict.fromkeys(p.strip() for p in pmids if p.strip()))
    if not wanted:
        _err("Error: no PMID given")
        raise typer.Exit(2)
    backend = _open_backend(index)
    backend.prepare_writes(lock_timeout, _lock_wait_message(backend.location))
    counts = _call(lambda: backend.delete(wanted))
    held = _call(backend.record_count)
    _err(
        f"{plural(counts.deleted, 'record')} deleted. "
        f"Index: {backend.location} ({plural(held, 'record')})"
    )
    if counts.not_found:
        _err(f"Error: not in the index: {' '.join(counts.not_found)}")
        raise typer.Exit(1)
