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
import importlib
import os
import sys
from typing import Annotated, Any

import typer
from typer.models import CommandInfo, TyperInfo

from searchkit.cli import collector
from searchkit.cli.common import CONTEXT_SETTINGS, _use_color, limit_blas_threads, write_out
from searchkit.cli.usage import Command, Group, epilog
from searchkit.version import __version__

#: The commands, in the order help lists them: name → (module of searchkit.cli, its
#: function). A module is imported when its command is built (:class:`_App`).
COMMANDS: dict[str, tuple[str, str]] = {
    "ingest": ("ingest", "ingest"),
    "rebuild": ("ingest", "rebuild"),
    "check": ("index_admin", "check"),
    "delete": ("ingest", "delete"),
    "sources": ("index_admin", "sources"),
    "optimize": ("index_admin", "optimize"),
    "search": ("search", "search"),
    "history": ("strategy", "history_"),
    "strategy": ("strategy", "strategy"),
    "similar": ("search", "similar"),
    "show": ("search", "show"),
    "stats": ("index_admin", "stats"),
    "embed": ("embed", "embed"),
    "eval": ("evaluate", "eval_"),
    "analyze": ("terms", "analyze"),
    "acronyms": ("terms", "acronyms"),
}
#: The command groups: name → (module of searchkit.cli, its typer app).
GROUPS: dict[str, tuple[str, str]] = {"mesh": ("mesh", "mesh_app"), "solr": ("solr", "solr_app")}


def _command_module(module: str) -> Any:
    return importlib.import_module(f"searchkit.cli.{module}")


__all__ = ["_use_color", "app", "os", "sys"]


class _App(typer.Typer):
    """The typer app, whose command tree is built with the collector off
    (:mod:`searchkit.cli.collector`), and, run as the ``searchkit`` program with a
    command named first, of that command only: typer builds every command it is given
    (their signatures, types and options), ~20 ms of a search process for the 19 it
    does not run, and the command modules are imported only for the commands
    registered (BENCHMARKS.md, "Start-up"). Every command is registered the first
    time the app's commands or groups are read."""

    def __init__(self, **kwargs: Any) -> None:
        self._registered = False
        super().__init__(**kwargs)

    @property  # type: ignore[override]
    def registered_commands(self) -> list[CommandInfo]:
        self._register_all()
        return self._commands

    @registered_commands.setter
    def registered_commands(self, value: list[CommandInfo]) -> None:
        self._commands = value

    @property  # type: ignore[override]
    def registered_groups(self) -> list[TyperInfo]:
        self._register_all()
        return self._groups

    @registered_groups.setter
    def registered_groups(self, value: list[TyperInfo]) -> None:
        self._groups = value

    def _register_all(self) -> None:
        if self._registered:
            return
        self._registered = True
        for name in COMMANDS:
            self._register(name)
        for name, (module, attribute) in GROUPS.items():
            self.add_typer(getattr(_command_module(module), attribute), name=name)

    def _register(self, name: str) -> None:
        module, function = COMMANDS[name]
        callback = getattr(_command_module(module), function)
        self.command(name, cls=Command, epilog=epilog(name))(callback)

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
        if completing or name not in COMMANDS:
            return self
        tree = copy.copy(self)
        tree._registered = True
        tree.registered_commands = []
        tree.registered_groups = []
        tree._register(name)
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
        write_out(f"searchkit {__version__}")
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
