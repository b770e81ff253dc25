"""How the command line presents itself: plain-text help (click's layout, with
placeholders such as ``N``, ``DIR`` and ``[table|json]`` instead of typer's ``<int>``
and ``{query}``), a usage error (an unknown option, a missing argument, a bad
choice) as one ``Error: …`` line and a hint, exit code 2, and output that cannot be
written (a full disk, a closed standard output) as one ``Error: …`` line, exit code
1; when the reader of a pipe goes away (``| head``), a quiet exit 141, the status of
a process killed by SIGPIPE."""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import typer
from typer._click import exceptions as click_errors
from typer._click.core import Context, Parameter
from typer._click.formatting import HelpFormatter
from typer.core import TyperArgument, TyperCommand, TyperGroup

from searchkit.cli import collector
from searchkit.cli.common import OutputFailed, _err, flush_out

#: The exit code of a usage error (click's and POSIX utilities').
USAGE_EXIT_CODE = 2
#: The exit code of a command whose output could not be written.
OUTPUT_ERROR_EXIT_CODE = 1
#: The exit code of a command whose reader closed the pipe before the output ended:
#: 128 + SIGPIPE, what the shell reports for ``cat``, ``grep`` or ``seq`` there.
BROKEN_PIPE_EXIT_CODE = 128 + 13

#: The placeholder of an option's value in the help, by the option's name; any other
#: option shows its name in capitals.
OPTION_PLACEHOLDERS = {
    "limit": "N",
    "offset": "N",
    "procs": "N",
    "batch_size": "N",
    "checkpoint": "N",
    "depth": "N",
    "lock_timeout": "SECONDS",
    "index": "DIR",
    "model": "DIR",
    "year": "YEARS",
    "pubtype": "TYPE",
    "fields": "COLUMNS",
    "output": "FILE",
    "report": "FILE",
    "run_out": "FILE",
    "queries": "FILE",
    "qrels": "FILE",
}
#: The same for arguments (which otherwise show their name in capitals).
ARGUMENT_PLACEHOLDERS = {"paths": "PATH", "pmids": "PMID"}


def _placeholder(param: Parameter) -> str | None:
    """What the help shows for ``param``'s value (None: a flag, which has none)."""
    name = param.name or ""
    if isinstance(param, TyperArgument):
        return ARGUMENT_PLACEHOLDERS.get(name, name.upper())
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return None
    choices = getattr(param.type, "choices", None)  # a choice (an enum's values)
    if choices:
        return "[" + "|".join(str(getattr(c, "value", c)) for c in choices) + "]"
    return OPTION_PLACEHOLDERS.get(name, name.upper())


#: Each command's examples, shown at the end of its help.
EXAMPLES: dict[str, list[str]] = {
    "": [
        "searchkit ingest data/",
        'searchkit search "immune escape MHC"',
        "searchkit search -h",
    ],
    "ingest": ["searchkit ingest data/", "searchkit ingest pubmed25n0001.xml.gz --index my-index"],
    "rebuild": ["searchkit rebuild --index my-index"],
    "check": ["searchkit check --index my-index"],
    "delete": ["searchkit delete 34572009 22705118"],
    "sources": [
        "searchkit sources --format json",
        "searchkit sources --missing",
        "searchkit sources --forget ~/exports/old-name.nbib",
        "searchkit sources --forget --missing",
    ],
    "optimize": ["searchkit optimize --index my-index"],
    "search": [
        'searchkit search "immune escape MHC"',
        "searchkit search 'smith j[au] AND 2019[dp]' --format pmid --limit all",
    ],
    "history": ["searchkit history --format json", 'searchkit search "#1 AND #2"'],
    "strategy": ["searchkit strategy my-strategy.txt --format ris --output final.ris"],
    "similar": ["searchkit similar 34572009 --limit 5"],
    "show": ["searchkit show 34572009 --format medline"],
    "stats": ["searchkit stats --format json"],
    "embed": ["searchkit embed --index my-index"],
    "eval": ["searchkit eval --queries queries.jsonl --qrels qrels/test.tsv --metric ndcg@10"],
    "analyze": ['searchkit analyze "PD-L1 and TNF-alpha"'],
    "acronyms": ["searchkit acronyms", "searchkit acronyms PD-L1 --format json"],
    "mesh load": ["searchkit mesh load desc2025.xml"],
    "mesh show": ['searchkit mesh show "Neoplasms"'],
    "solr init": ["searchkit solr init solr://localhost:8983/solr/pubmed --shards 2 --replicas 2"],
}


def epilog(command: str) -> str:
    """The help's examples of ``command`` (lines kept as they are: click's ``\\b``)."""
    lines = "\n".join(f"  {line}" for line in EXAMPLES[command])
    return f"Examples:\n\n\b\n{lines}"


class Command(TyperCommand):
    """A ``searchkit`` command: help in click's plain layout with readable
    placeholders; its examples are its epilog."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if param.metavar is None:
                param.metavar = _placeholder(param)

    def invoke(self, ctx: Context) -> Any:
        collector.started()  # the arguments are parsed: the command's own work begins
        return super().invoke(ctx)

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                name = (param.metavar or "") + ("..." if param.nargs != 1 else "")
                pieces.append(name if param.required else f"[{name}]")
        return pieces

    def format_options(self, ctx: Context, formatter: HelpFormatter) -> None:
        arguments: list[tuple[str, str]] = []
        options: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if isinstance(param, TyperArgument):
                # typer appends the value's type (``<str>``) to an argument's name
                arguments.append((param.metavar or "", record[1]))
            else:
                options.append(record)
        for title, rows in (("Arguments", arguments), ("Options", options)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


def _usage_error(exc: click_errors.UsageError) -> NoReturn:
    command = exc.ctx.command_path if exc.ctx is not None else "searchkit"
    message = " ".join(exc.format_message().replace("Value error, ", "").split())
    _err(f"Error: {message}")
    _err(f"Try '{command} -h' for help.")
    sys.exit(USAGE_EXIT_CODE)


class ClosedOutput:
    """Standard output when the process was started without one (``>&-``): every
    write fails as a write to a closed descriptor does, instead of click dropping the
    output without a word."""

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))

    def flush(self) -> None:
        pass  # nothing was written: nothing is waiting

    def isatty(self) -> bool:
        return False


def _output_error(exc: OSError) -> NoReturn:
    """Standard output failed (``exc``): one error line, or nothing when the reader
    of a pipe went away; what is still buffered is dropped, never written again as
    the interpreter exits."""
    _drop_stdout()
    if exc.errno == errno.EPIPE:
        sys.exit(BROKEN_PIPE_EXIT_CODE)
    _err(f"Error: cannot write to standard output: {exc.strerror or exc}")
    sys.exit(OUTPUT_ERROR_EXIT_CODE)


def _drop_stdout() -> None:
    """Send what is left of standard output to the null device."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # a closed or stand-in stdout
        sys.stdout = None  # type: ignore[assignment]
        return
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, fd)
    os.close(null)


class Group(TyperGroup):
    """The ``searchkit`` group: click's handling of what a command raises, except
    that a usage error is two lines instead of a usage block or a rich panel, and a
    failed write to standard output one line (or, for a closed pipe, none)."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        with collector.starting():  # until the command runs (Command.invoke)
            return self._main(
                args, prog_name, complete_var, standalone_mode, windows_expand_args, **extra
            )

    def _main(
        self,
        args: Sequence[str] | None,
        prog_name: str | None,
        complete_var: str | None,
        standalone_mode: bool,
        windows_expand_args: bool,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        if sys.stdout is None:  # started with standard output closed
            sys.stdout = ClosedOutput()  # type: ignore[assignment]
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
            flush_out()  # a failure to write the end is the command's too
        except OutputFailed as exc:
            _output_error(exc.cause)
        except click_errors.NoArgsIsHelpError as exc:
            exc.show()  # the help, on stderr
            sys.exit(exc.exit_code)
        except click_errors.UsageError as exc:
            _usage_error(exc)
        except click_errors.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except typer.Abort:
            _err("Aborted.")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)
