"""A live progress line on stderr for long commands (rich.progress), shown only when
stderr is a terminal and ``--quiet`` is not given; it disappears when the work ends,
so the summary printed after it is the same as without it.

- :func:`bytes_meter`: input read (records, their rate, bytes of input read of the
  total, time left), for ``ingest`` and ``rebuild``.
- :func:`count_meter`: items done of a known total (records, their rate, time left),
  for work counted in records, such as encoding them.
- :func:`spinner`: work with no measure of how far it is (``optimize``): what runs and
  for how long.

rich is imported only when a progress line is shown.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from searchkit.plural import plural

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from searchkit.index.ingest import IngestProgress

#: Redraws of the progress line per second.
REFRESH_PER_SECOND = 8

QuietOption = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        help="No progress display (shown only on a terminal; the summary is still printed).",
    ),
]


def shown(quiet: bool) -> bool:
    """Whether to show progress: stderr is a terminal and ``--quiet`` was not given."""
    return not quiet and sys.stderr.isatty()


def _progress(*columns: object) -> Progress:
    from rich.console import Console
    from rich.progress import Progress

    return Progress(
        *columns,  # type: ignore[arg-type]
        console=Console(stderr=True),
        transient=True,
        refresh_per_second=REFRESH_PER_SECOND,
    )


class _Rate:
    """Items per second since the start."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def __call__(self, done: int) -> str:
        seconds = time.monotonic() - self.start
        return f"{done / seconds:,.0f}/s" if seconds > 0 else "-/s"


@contextmanager
def bytes_meter(description: str, enabled: bool) -> Iterator[Callable[[IngestProgress], None]]:
    """A callback for ``ingest(on_progress=…)`` that draws the progress line."""
    if not enabled:
        yield lambda _progress: None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        SpinnerColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    rate = _Rate()
    with _progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[records]} ({task.fields[rate]})"),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    ) as progress:
        task = progress.add_task(description, total=None, records=plural(0, "record"), rate="-/s")

        def update(now: IngestProgress) -> None:
            read_all = now.files_total > 0 and now.files_done == now.files_total
            progress.update(
                task,
                # After the last file, the last batch is committed (which takes a while).
                description=f"{description}: committing" if read_all else description,
                completed=now.bytes_done,
                total=now.bytes_total or None,
                records=plural(now.records, "record", spec=","),
                rate=rate(now.records),
            )

        yield update


@contextmanager
def count_meter(
    description: str, enabled: bool, unit: str = "records"
) -> Iterator[Callable[[int, int], None]]:
    """A callback taking the number of items done and their total (such as
    ``embed``'s ``progress(done, total, seconds)`` reports)."""
    if not enabled:
        yield lambda _done, _total: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        SpinnerColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    rate = _Rate()
    with _progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(f"{unit} ({{task.fields[rate]}})"),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    ) as progress:
        task: TaskID = progress.add_task(description, total=None, rate="-/s")
        yield lambda done, total: progress.update(
            task, completed=done, total=total, rate=rate(done)
        )


@contextmanager
def spinner(description: str, enabled: bool) -> Iterator[None]:
    """What runs, and for how long, while the ``with`` block runs."""
    if not enabled:
        yield
        return
    from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

    with _progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn()) as p:
        p.add_task(description, total=None)
        yield
