"""Shared by the command modules: options, output formats, and turning library
errors into one ``Error:`` line."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO, TypeVar

import typer

from searchkit.errors import OptionError, SearchkitError
from searchkit.index.location import ENV_VAR

if TYPE_CHECKING:
    from searchkit.index.locking import LockWaitCallback
    from searchkit.searching.backend import Backend

T = TypeVar("T")

#: Every command and group: -h is --help.
CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"]}

#: Threads of numpy's BLAS (OpenBLAS) in a ``searchkit`` process, unless the user sets
#: ``OPENBLAS_NUM_THREADS``. Searching and ingesting use element-wise array operations,
#: never BLAS's parallel matrix products; OpenBLAS starts a thread per core when numpy is
#: imported, and on 2 cores that start-up was ~70 ms of CPU of a ``searchkit search``
#: process (BENCHMARKS.md, "Start-up"). The sentence encoder runs in ONNX Runtime, whose
#: threads this does not set.
BLAS_THREADS = "1"


def limit_blas_threads() -> None:
    """Set :data:`BLAS_THREADS` for numpy, if the user has not chosen: before numpy is
    imported (the commands import the library inside themselves)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", BLAS_THREADS)


#: How long ``ingest`` waits for another process's write lock by default.
DEFAULT_LOCK_TIMEOUT = 300.0

IndexOption = Annotated[
    str | None,
    typer.Option(
        "--index",
        help=f"Index directory, or a Solr collection solr://HOST:PORT/solr/COLLECTION "
        f"(default: ${ENV_VAR}, else the per-user data directory).",
        show_default=False,
    ),
]


ProcsOption = Annotated[
    int | None,
    typer.Option(
        "--procs",
        min=1,
        help="Writer processes (default: the number of cores).",
        show_default=False,
    ),
]
BatchOption = Annotated[
    int | None,
    typer.Option(
        "--batch-size",
        min=1,
        help="Records per commit (default: 20000).",
        show_default=False,
    ),
]


class SearchFormat(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    pmid = "pmid"
    medline = "medline"
    ris = "ris"


#: Formats that write every counted hit unless ``--limit`` says otherwise (as PubMed's
#: export does); the others show a page of ``DEFAULT_PAGE`` hits.
EXPORT_FORMATS = frozenset(
    {
        SearchFormat.csv,
        SearchFormat.jsonl,
        SearchFormat.pmid,
        SearchFormat.medline,
        SearchFormat.ris,
    }
)
DEFAULT_PAGE = 10


class RecordFormat(StrEnum):
    text = "text"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    pmid = "pmid"
    medline = "medline"
    ris = "ris"


class StatsFormat(StrEnum):
    text = "text"
    json = "json"


class Sort(StrEnum):
    relevance = "relevance"
    date = "date"


class EvalFormat(StrEnum):
    text = "text"
    json = "json"


def _err(message: str) -> None:
    from searchkit.output.formats import neutralise

    typer.echo(neutralise(message), err=True)


class OutputFailed(Exception):
    """Standard output did not take a command's output; ``cause`` says why (a full
    disk, a closed descriptor, a reader that closed the pipe)."""

    def __init__(self, cause: OSError) -> None:
        super().__init__(str(cause))
        self.cause = cause


def write_out(text: str, nl: bool = True, color: bool | None = None) -> None:
    """Write ``text`` (and a newline) to standard output: every command's output goes
    through here, so that a failed write is told apart from any other error.
    ``color=True`` keeps escape codes that typer would strip when standard output is
    not a terminal (``--color always``)."""
    try:
        typer.echo(text, nl=nl, color=color)
    except OSError as exc:
        raise OutputFailed(exc) from exc


def flush_out() -> None:
    """Flush standard output, a failure raised as :func:`write_out` raises one."""
    try:
        sys.stdout.flush()
    except OSError as exc:
        raise OutputFailed(exc) from exc


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn library errors into one stderr line and the error's exit code."""
    try:
        yield
    except SearchkitError as exc:
        _err(f"Error: {exc}")
        raise typer.Exit(exc.exit_code) from None
    except Exception as exc:
        # A decoding failure from Whoosh: if an index file is damaged (one not read
        # in full when the index was opened), say that instead; else it is a bug.
        from searchkit.engine.verify import diagnose as diagnose_damage

        damage = None if isinstance(exc, typer.Exit) else diagnose_damage()
        if damage is None:
            raise
        _err(f"Error: {damage}")
        raise typer.Exit(damage.exit_code) from None
    except KeyboardInterrupt:
        _err("Interrupted; the index holds what was last committed.")
        raise typer.Exit(130) from None


def _call(fn: Callable[[], T]) -> T:
    with _user_errors():
        return fn()


#: Output is written to stdout in pieces of about this many characters.
ECHO_CHUNK = 64 * 1024


def echo_pieces(
    pieces: Iterable[str], out: TextIO | None = None, color: bool | None = None
) -> bool:
    """Write ``pieces`` to ``out`` (stdout: through :func:`write_out`, ``color`` passed
    on) as they come, in writes of about :data:`ECHO_CHUNK` characters, then a newline
    if anything was written (as ``typer.echo`` of their joined text would); whether
    anything was."""
    buffered: list[str] = []
    size = 0
    wrote = False

    def flush() -> None:
        text = "".join(buffered)
        if out is None:
            write_out(text, nl=False, color=color)
        else:
            out.write(text)
        buffered.clear()

    for piece in pieces:
        if not piece:
            continue
        buffered.append(piece)
        size += len(piece)
        wrote = True
        if size >= ECHO_CHUNK:
            flush()
            size = 0
    if wrote:
        buffered.append("\n")
        flush()
    return wrote


#: A query or strategy given as this is read from standard input.
STDIN_ARGUMENT = "-"
#: How errors and reports name standard input.
STDIN_NAME = "standard input"
#: The most of standard input read as a query or a strategy (memory stays bounded
#: whatever is piped in; a command-line argument is at most 128 KiB on Linux).
STDIN_MAX_BYTES = 4 * 1024 * 1024


def read_stdin() -> str:
    """All of standard input as text: UTF-8 (a byte-order mark dropped), else
    :class:`~searchkit.errors.OptionError`, as for more than
    :data:`STDIN_MAX_BYTES`."""
    data = sys.stdin.buffer.read(STDIN_MAX_BYTES + 1)
    if len(data) > STDIN_MAX_BYTES:
        raise OptionError(
            f"{STDIN_NAME} holds more than {STDIN_MAX_BYTES // (1024 * 1024)} MiB: "
            "too long for a query or a strategy"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise OptionError(f"{STDIN_NAME} is not UTF-8 text") from None


def _open_backend(index: str | None, create: bool = False) -> Backend:
    """The index named by ``--index`` (or its defaults), a directory or a Solr
    collection, or one error line."""
    from searchkit.solr.backends import open_backend

    return _call(lambda: open_backend(index, create=create))


LockTimeoutOption = Annotated[
    float,
    typer.Option(
        "--lock-timeout",
        min=0,
        help="Seconds to wait while another searchkit process writes the index.",
    ),
]


def _lock_wait_message(path: Path | str) -> LockWaitCallback:
    def on_lock_wait(timeout: float) -> None:
        _err(
            f"waiting for another searchkit process to finish writing {path} (up to {timeout:g} s)…"
        )

    return on_lock_wait


class ColorMode(StrEnum):
    """When the human formats highlight: ``auto`` on a terminal unless ``NO_COLOR`` is
    set (no-color.org), ``always`` (for a pager such as ``less -R``: a flag given
    overrides ``NO_COLOR``), ``never``."""

    auto = "auto"
    always = "always"
    never = "never"


ColorOption = Annotated[
    ColorMode,
    typer.Option(
        "--color",
        help="Highlight the table's titles and matched words: auto (on a terminal, "
        "unless NO_COLOR is set), always (e.g. piped to 'less -R'), never.",
    ),
]


def _use_color(mode: ColorMode = ColorMode.auto) -> bool:
    if mode is not ColorMode.auto:
        return mode is ColorMode.always
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


SemanticOption = Annotated[
    bool | None,
    typer.Option(
        "--semantic/--no-semantic",
        help="Re-rank the top hits by meaning with the sentence vectors of 'searchkit "
        "embed' (default: when the index has them).",
        show_default=False,
    ),
]
