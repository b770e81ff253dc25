"""Commands about the index itself: check, sources, optimize, stats."""

from __future__ import annotations

import time
from dataclasses import asdict, fields
from enum import StrEnum
from typing import Annotated

import typer

from searchkit.cli.common import (
    DEFAULT_LOCK_TIMEOUT,
    IndexOption,
    LockTimeoutOption,
    StatsFormat,
    _call,
    _err,
    _for_writing,
    _open_backend,
    _open_index,
)
from searchkit.cli.ingest import _open_for_rebuild
from searchkit.cli.progress import QuietOption, shown, spinner
from searchkit.index.location import resolve_index_dir
from searchkit.index.sources import SourceEntry


def check(index: IndexOption = None) -> None:
    """Read every file of the index and compare it with its recorded checksum.

    Exit code 0 when all match, 1 when a file is damaged (each is named); the repair
    is 'searchkit rebuild'."""
    from searchkit.engine.checksums import verify_index
    from searchkit.index.searchindex import SearchIndex
    from searchkit.solr.backends import local_only

    _call(lambda: local_only(index, "check"))
    path = resolve_index_dir(index)
    ix = _call(lambda: _open_for_rebuild(path))
    report = _call(lambda: ix.check() if isinstance(ix, SearchIndex) else verify_index(path))
    if report.damaged:
        for problem in report.damaged:
            _err(f"damaged: {problem}")
        _err(
            f"Error: the index at {path} is damaged; repair it with 'searchkit rebuild "
            f"--index {path}', which re-reads its recorded source files"
        )
        raise typer.Exit(1)
    if not report.checksums:
        _err(
            f"{path}: written before searchkit recorded checksums, nothing to verify; "
            f"'searchkit rebuild --index {path}' adds them"
        )
        return
    _err(f"{path}: {report.files} file(s), {report.bytes:,} bytes, all match their checksums.")


class SourcesFormat(StrEnum):
    text = "text"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


#: The columns of ``sources --format json|jsonl|csv``, in order.
SOURCE_COLUMNS = tuple(f.name for f in fields(SourceEntry))


def sources(
    fmt: Annotated[SourcesFormat, typer.Option("--format", "-f", help="Output format.")] = (
        SourcesFormat.text
    ),
    index: IndexOption = None,
) -> None:
    """List the files ingested into the index: when, and how many records."""
    from searchkit.output.formats import format_rows, neutralise

    backend = _open_backend(index)
    entries = _call(backend.sources)
    if fmt is not SourcesFormat.text:
        text = format_rows([asdict(e) for e in entries], fmt.value, SOURCE_COLUMNS)
        if text:
            typer.echo(text)
        return
    if not entries:
        _err(f"No source files recorded in {backend.location}.")
        return
    for e in entries:
        extra = f", {e.deletions} deletions" if e.deletions else ""
        extra += f", {e.skipped} skipped" if e.skipped else ""
        line = f"{e.ingested}  {e.records:>8} records{extra}  {e.size:>12} bytes  {e.path}"
        typer.echo(neutralise(line))


def optimize(
    index: IndexOption = None,
    lock_timeout: LockTimeoutOption = DEFAULT_LOCK_TIMEOUT,
    quiet: QuietOption = False,
) -> None:
    """Merge the index's segments into one (faster queries, deleted records purged)."""
    ix = _for_writing(_open_index(index), lock_timeout)
    start = time.monotonic()
    with spinner(f"optimize: merging the segments of {ix.path}", shown(quiet)):
        before, after = _call(ix.optimize)
    seconds = time.monotonic() - start
    _err(f"Optimized {ix.path}: {before} segment(s) merged into {after} in {seconds:.1f} s.")


def stats(
    fmt: Annotated[StatsFormat, typer.Option("--format", "-f", help="Output format.")] = (
        StatsFormat.text
    ),
    index: IndexOption = None,
) -> None:
    """Record count, size on disk, last update and schema version."""
    from searchkit.output.formats import format_stats
    from searchkit.semantic.vectors import SIDECARS

    backend = _open_backend(index)
    typer.echo(format_stats(_call(lambda: backend.stats(SIDECARS)), fmt.value))
