"""The ``searchkit`` command: a thin typer layer over the library.

Results go to stdout; progress, summaries and errors go to stderr. A user mistake
is one ``Error: …`` line and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from searchkit import __version__
from searchkit.errors import SearchkitError
from searchkit.index import SearchIndex
from searchkit.ingest import IngestReport, default_procs
from searchkit.ingest import delete as run_delete
from searchkit.ingest import ingest as run_ingest
from searchkit.location import ENV_VAR, resolve_index_dir
from searchkit.output import format_record, format_search, format_stats
from searchkit.rebuild import rebuild as run_rebuild
from searchkit.search import search as run_search
from searchkit.sources import SourceRegistry

app = typer.Typer(
    name="searchkit",
    help="Ranked full-text search over PubMed-style literature records.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

T = TypeVar("T")

IndexOption = Annotated[
    Path | None,
    typer.Option(
        "--index",
        help=f"Index directory (default: ${ENV_VAR}, else the per-user data directory).",
        show_default=False,
    ),
]


ProcsOption = Annotated[
    int | None,
    typer.Option(
        "--procs",
        min=1,
        help="Writer processes (default: the number of cores).",
        show_default=False,
    ),
]
BatchOption = Annotated[
    int | None,
    typer.Option(
        "--batch-size",
        min=1,
        help="Records per commit (default: 20000; 10000 lowers memory with --procs 2).",
        show_default=False,
    ),
]


class SearchFormat(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    pmid = "pmid"


class RecordFormat(StrEnum):
    text = "text"
    json = "json"


def _err(message: str) -> None:
    typer.echo(message, err=True)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn library errors into one stderr line and the error's exit code."""
    try:
        yield
    except SearchkitError as exc:
        _err(f"Error: {exc}")
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        _err("Interrupted; the index holds what was last committed.")
        raise typer.Exit(130) from None


def _call(fn: Callable[[], T]) -> T:
    with _user_errors():
        return fn()


def _use_color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _version(value: bool) -> None:
    if value:
        typer.echo(f"searchkit {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Ranked full-text search over PubMed-style literature records."""


@app.command()
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
    ix = _call(lambda: SearchIndex.open_or_create(index_dir))
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
    _summarise(report, ix)


def _progress() -> Callable[[Path, int], None]:
    show = sys.stderr.isatty()

    def on_file(path: Path, records: int) -> None:
        if show:
            _err(f"  {path}: {records} records")

    return on_file


def _summarise(report: IngestReport, ix: SearchIndex) -> None:
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
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def rebuild(
    index: IndexOption = None,
    procs: ProcsOption = None,
    batch_size: BatchOption = None,
) -> None:
    """Re-read every recorded source into a new index, then swap it in atomically.

    Searches keep using the old index until the new one is complete; an interrupted
    rebuild leaves the old index untouched. Records that did not come from a
    recorded source file are not in the new index.
    """
    ix = _call(lambda: SearchIndex.open(resolve_index_dir(index)))
    new, report = _call(
        lambda: run_rebuild(
            ix, procs=procs or default_procs(), batch_size=batch_size, on_file=_progress()
        )
    )
    _err("Rebuilt.")
    _summarise(report, new)


@app.command()
def delete(
    pmids: Annotated[
        list[str], typer.Argument(help="PMIDs (or ids) to remove.", show_default=False)
    ],
    index: IndexOption = None,
) -> None:
    """Remove records by PMID. Exit code 1 if some PMID is not in the index."""
    ix = _call(lambda: SearchIndex.open(resolve_index_dir(index)))
    wanted = list(dict.fromkeys(p.strip() for p in pmids if p.strip()))
    if not wanted:
        _err("Error: no PMID given")
        raise typer.Exit(2)
    counts = _call(lambda: run_delete(ix, wanted))
    _err(f"{counts.deleted} record(s) deleted. Index: {ix.path} ({len(ix)} records)")
    if counts.not_found:
        _err(f"Error: not in the index: {' '.join(counts.not_found)}")
        raise typer.Exit(1)


@app.command()
def sources(
    fmt: Annotated[RecordFormat, typer.Option("--format", "-f", help="Output format.")] = (
        RecordFormat.text
    ),
    index: IndexOption = None,
) -> None:
    """List the files ingested into the index: when, and how many records."""
    ix = _call(lambda: SearchIndex.open(resolve_index_dir(index)))
    registry = _call(lambda: SourceRegistry.load(ix.path))
    entries = sorted(registry.entries.values(), key=lambda e: e.path)
    if fmt is RecordFormat.json:
        typer.echo(json.dumps([asdict(e) for e in entries], indent=2))
        return
    if not entries:
        _err(f"No source files recorded in {ix.path}.")
        return
    for e in entries:
        extra = f", {e.deletions} deletions" if e.deletions else ""
        extra += f", {e.skipped} skipped" if e.skipped else ""
        typer.echo(f"{e.ingested}  {e.records:>8} records{extra}  {e.size:>12} bytes  {e.path}")


@app.command()
def optimize(index: IndexOption = None) -> None:
    """Merge the index's segments into one (faster queries, deleted records purged)."""
    ix = _call(lambda: SearchIndex.open(resolve_index_dir(index)))
    before, after = _call(ix.optimize)
    _err(f"Optimized {ix.path}: {before} segment(s) merged into {after}.")


@app.command()
def search(
    query: Annotated[str, typer.Argument(help='The query, e.g. "immune escape MHC".')],
    limit: Annotated[int, typer.Option("--limit", "-n", min=0, help="Number of hits.")] = 10,
    fmt: Annotated[SearchFormat, typer.Option("--format", "-f", help="Output format.")] = (
        SearchFormat.table
    ),
    index: IndexOption = None,
) -> None:
    """Search the index; best matches first."""
    ix = _call(lambda: SearchIndex.open(resolve_index_dir(index)))
    result = _call(lambda: run_search(ix, query, limit=limit))
    if fmt is SearchFormat.table and not result.hits:
        _err(f"No records match {query!r}.")
        return
    text = format_search(result, fmt.value, color=_use_color())
    if text:
        typer.echo(text)


@app.command()
def show(
    pmid: Annotated[str, typer.Argument(help="The record's PMID (or id).")],
    fmt: Annotated[RecordFormat, typer.Option("--format", "-f", help="Output format.")] = (
        RecordFormat.text
    ),
    index: IndexOption = None,
) -> None:
    """Print one whole record."""
    ix = _call(lambda: SearchIndex.open(resolve_index_dir(index)))
    record = _call(lambda: ix.get(pmid.strip()))
    typer.echo(format_record(record, fmt.value))


@app.command()
def stats(
    fmt: Annotated[RecordFormat, typer.Option("--format", "-f", help="Output format.")] = (
        RecordFormat.text
    ),
    index: IndexOption = None,
) -> None:
    """Record count, size on disk, last update and schema version."""
    ix = _call(lambda: SearchIndex.open(resolve_index_dir(index)))
    typer.echo(format_stats(_call(ix.stats), fmt.value))
