"""The ``searchkit`` command: a thin typer layer over the library.

Results go to stdout; progress, summaries and errors go to stderr. A user mistake
is one ``Error: …`` line and a non-zero exit code, never a traceback.

This module builds the typer app from the command modules, one per command group.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from searchkit import __version__
from searchkit.checksums import forget_opened
from searchkit.cli import embed, evaluate, index_admin, ingest, search, strategy, terms
from searchkit.cli.common import _use_color
from searchkit.cli.mesh import mesh_app

__all__ = ["_use_color", "app", "os", "sys"]

app = typer.Typer(
    name="searchkit",
    help="Ranked full-text search over PubMed-style literature records.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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
    forget_opened()  # damage is diagnosed in the indexes this command opens


app.command()(ingest.ingest)
app.command()(ingest.rebuild)
app.command()(index_admin.check)
app.command()(ingest.delete)
app.command()(index_admin.sources)
app.command()(index_admin.optimize)
app.command()(search.search)
app.command("history")(strategy.history_)
app.command()(strategy.strategy)
app.command()(search.similar)
app.command()(search.show)
app.command()(index_admin.stats)
app.command()(embed.embed)
app.command("eval")(evaluate.eval_)
app.command()(terms.analyze)
app.command()(terms.acronyms)
app.add_typer(mesh_app, name="mesh")
