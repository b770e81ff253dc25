"""The ``searchkit`` command: a thin typer layer over the library.

Results go to stdout; progress, summaries and errors go to stderr. A user mistake
is one ``Error: …`` line and a non-zero exit code, never a traceback.

This module builds the typer app from the command modules, one per command group
(:mod:`searchkit.cli.usage`: how help and usage errors look). The command modules
import the library inside their commands, so that ``searchkit --help`` (and each
command) loads only what it runs: not Whoosh, numpy, lxml, nltk or rich for help.
"""

from __future__ import annotations

import copy
import os
import sys
from typing import Annotated, Any

import typer

from searchkit.cli import collector, embed, evaluate, index_admin, ingest, search, strategy, terms
from searchkit.cli.common import CONTEXT_SETTINGS, _use_color, limit_blas_threads
from searchkit.cli.mesh import mesh_app
from searchkit.cli.solr import solr_app
from searchkit.cli.usage import Command, Group, epilog
from searchkit.version import __version__

__all__ = ["_use_color", "app", "os", "sys"]


class _App(typer.Typer):
    """The typer app, whose command tree is built with the collector off
    (:mod:`searchkit.cli.collector`), and, run as the ``searchkit`` program with a
    command named first, of that command only: typer builds every command it is given
    (their signatures, types and options), ~20 ms of a search process for the 19 it
    does not run (BENCHMARKS.md, "Start-up")."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        limit_blas_threads()
        program = not args and kwargs.get("args") is None
        # As a program (standalone, its arguments from sys.argv) the command ends the
        # process: its collector is left as the process ends (collector.starting).
        exiting = program and kwargs.get("standalone_mode", True)
        with collector.starting(exiting=exiting):
            tree = self.for_argv(sys.argv) if program else self
            return typer.Typer.__call__(tree, *args, **kwargs)

    def for_argv(self, argv: list[str]) -> typer.Typer:
        """The app to run ``argv`` (a program name and its arguments): with only the
        top-level command ``argv[1]`` names, else (options first, a command group, an
        unknown name, shell completion) all of them."""
        name = argv[1] if len(argv) > 1 else None
        completing = any(k.endswith("_COMPLETE") for k in os.environ)
        only = [c for c in self.registered_commands if c.name is not None and c.name == name]
        if completing or len(only) != 1:
            return self
        tree = copy.copy(self)
        tree.registered_commands = only
        tree.registered_groups = []
        return tree


app = _App(
    name="searchkit",
    cls=Group,
    help="Ranked full-text search over PubMed-style literature records.",
    epilog=epilog(""),
    no_args_is_help=True,
    context_settings=CONTEXT_SETTINGS,
    rich_markup_mode=None,
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
    # Damage is diagnosed in the indexes this command opens: forget those of an
    # earlier command in this process (none when the engine is not loaded yet, and
    # not loading it keeps each command's help light).
    checksums = sys.modules.get("searchkit.engine.checksums")
    if checksums is not None:
        checksums.forget_opened()


def _add(name: str, callback: Any) -> None:
    app.command(name, cls=Command, epilog=epilog(name))(callback)


_add("ingest", ingest.ingest)
_add("rebuild", ingest.rebuild)
_add("check", index_admin.check)
_add("delete", ingest.delete)
_add("sources", index_admin.sources)
_add("optimize", index_admin.optimize)
_add("search", search.search)
_add("history", strategy.history_)
_add("strategy", strategy.strategy)
_add("similar", search.similar)
_add("show", search.show)
_add("stats", index_admin.stats)
_add("embed", embed.embed)
_add("eval", evaluate.eval_)
_add("analyze", terms.analyze)
_add("acronyms", terms.acronyms)
app.add_typer(mesh_app, name="mesh")
app.add_typer(solr_app, name="solr")
