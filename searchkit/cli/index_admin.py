"""Commands about the index itself: check, sources, optimize, stats."""

from __future__ import annotations

import time
from dataclasses import asdict, fields
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from searchkit.cli.common import (
    DEFAULT_LOCK_TIMEOUT,
    IndexOption,
    LockTimeoutOption,
    StatsFormat,
    _call,
    _err,
    _lock_wait_message,
    _open_backend,
    write_out,
)
from searchkit.cli.progress import QuietOption, shown, spinner
from searchkit.plural import plural


def check(index: IndexOption = None) -> None:
    """Check that the index is whole: a local index's files against their recorded
    checksums; a Solr collection's shards (an active leader each) and replicas (up, and
    holding as many records as their leader).

    Exit code 0 when all is well, 1 when something is wrong (each problem on a line of
    its own); a damaged local index is repaired with 'searchkit rebuild'."""
    from searchkit.solr.backends import open_for_repair

    backend = _call(lambda: open_for_repair(index))
    report = _call(backend.check)
    for problem in report.problems:
        _err(problem)
    if not report.ok:
        _err(f"Error: {report.summary}")
        raise typer.Exit(1)
    _err(report.summary)


class SourcesFormat(StrEnum):
    text = "text"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


def source_columns() -> tuple[str, ...]:
    """The columns of ``sources --format json|jsonl|csv``, in order."""
    from searchkit.index.sources import SourceEntry  # the registry: not for other commands

    return tuple(f.name for f in fields(SourceEntry))


def sources(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="With --forget: the recorded sources to forget (as listed, or relative "
            "to the working directory).",
            show_default=False,
        ),
    ] = None,
    forget: Annotated[
        bool,
        typer.Option(
            "--forget",
            help="Forget the recorded sources PATH... (and with --missing, every one whose "
            "file is gone): their records stay in the index, and a rebuild keeps them "
            "without reading the files.",
        ),
    ] = False,
    missing: Annotated[
        bool,
        typer.Option("--missing", help="Only the recorded sources whose file no longer exists."),
    ] = False,
    fmt: Annotated[SourcesFormat, typer.Option("--format", "-f", help="Output format.")] = (
        SourcesFormat.text
    ),
    index: IndexOption = None,
    lock_timeout: LockTimeoutOption = DEFAULT_LOCK_TIMEOUT,
) -> None:
    """List the files ingested into the index: when, and how many records; or forget
    some (--forget), such as those moved or deleted since (--missing), which
    'searchkit rebuild' would otherwise refuse to start without.

    Also for an index that cannot be opened (damaged, or of an older format: the
    sources a rebuild reads). Exit code 1 if a path given is not a recorded source
    (nothing is forgotten then)."""
    from searchkit.output.formats import format_rows, neutralise
    from searchkit.solr.backends import open_for_repair

    if forget:
        if not paths and not missing:
            _usage_error("--forget needs the recorded sources to forget (PATH...), or --missing")
        if fmt is not SourcesFormat.text:
            _usage_error("--format lists sources; it is not for --forget")
    elif paths:
        _usage_error(f"{paths[0]}: a path is given only with --forget")
    backend = _call(lambda: open_for_repair(index))
    if forget:
        backend.prepare_writes(lock_timeout, _lock_wait_message(backend.location))
        forgotten = _call(lambda: backend.forget_sources(paths or [], missing))
        if not forgotten:
            _err(f"No recorded source is missing. Index: {backend.location}")
            return
        for entry in forgotten:
            _err(f"forgot: {entry.path}")
        kept = sum(e.records for e in forgotten)
        _err(
            f"Forgot {plural(len(forgotten), 'recorded source')}; "
            f"{'its' if len(forgotten) == 1 else 'their'} {plural(kept, 'record')} "
            f"{'stays' if kept == 1 else 'stay'} in the index (kept by 'searchkit "
            f"rebuild'; 'searchkit delete' removes a record). Index: {backend.location}"
        )
        return
    entries = _call(lambda: backend.sources(missing=missing))
    if fmt is not SourcesFormat.text:
        text = format_rows([asdict(e) for e in entries], fmt.value, source_columns())
        if text:
            write_out(text)
        return
    if not entries:
        what = "No recorded source is missing in" if missing else "No source files recorded in"
        _err(f"{what} {backend.location}.")
        return
    for e in entries:
        extra = f", {plural(e.deletions, 'deletion')}" if e.deletions else ""
        extra += f", {e.skipped} skipped" if e.skipped else ""
        # Padded to the plural's width: "1 record" keeps the columns of "2 records".
        records = f"{plural(e.records, 'record', spec='>8')}{extra}".ljust(16)
        size = plural(e.size, "byte", spec=">12").ljust(18)
        line = f"{e.ingested}  {records}  {size}  {e.path}"
        write_out(neutralise(line))


def _usage_error(message: str) -> NoReturn:
    _err(f"Error: {message}")
    raise typer.Exit(2)


def optimize(
    index: IndexOption = None,
    lock_timeout: LockTimeoutOption = DEFAULT_LOCK_TIMEOUT,
    quiet: QuietOption = False,
) -> None:
    """Merge the index's segments into one (faster queries, deleted records purged); a
    Solr collection's into one per replica."""
    backend = _open_backend(index)
    backend.prepare_writes(lock_timeout, _lock_wait_message(backend.location))
    start = time.monotonic()
    with spinner(f"optimize: merging the segments of {backend.location}", shown(quiet)):
        before, after = _call(backend.optimize)
    seconds = time.monotonic() - start
    _err(
        f"Optimized {backend.location}: {plural(before, 'segment')} merged into {after} "
        f"in {seconds:.1f} s."
    )


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
    write_out(format_stats(_call(lambda: backend.stats(SIDECARS)), fmt.value))
