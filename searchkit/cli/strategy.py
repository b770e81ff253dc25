"""Commands over saved searches: history, strategy."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from searchkit.cli.common import (
    STDIN_ARGUMENT,
    STDIN_NAME,
    IndexOption,
    StatsFormat,
    _call,
    _err,
    _open_backend,
    echo_pieces,
    read_stdin,
    write_out,
)
from searchkit.cli.completion import complete_fields
from searchkit.plural import plural


def history_(
    fmt: Annotated[StatsFormat, typer.Option("--format", "-f", help="Output format.")] = (
        StatsFormat.text
    ),
    clear: Annotated[
        bool, typer.Option("--clear", help="Forget every search (numbering starts again at 1).")
    ] = False,
    index: IndexOption = None,
) -> None:
    """List the searches made on the index: number, records found, time, query.

    Use #N in a query for search N, e.g. searchkit search "#1 AND #2".
    """
    from searchkit.index.history import format_text as format_history
    from searchkit.output.formats import neutralise, to_json

    backend = _open_backend(index)
    history, where = backend.history(), backend.location
    backend.close()
    if clear:
        forgotten = _call(history.clear)
        _err(f"{plural(forgotten, 'search', 'searches')} forgotten. History of {where} cleared.")
        return
    entries = _call(history.entries)
    if fmt is StatsFormat.json:
        write_out(to_json([e.to_dict() for e in entries]))
        return
    if not entries:
        _err(f"No searches in the history of {where} yet.")
        return
    write_out(neutralise(format_history(entries)))


class StrategyFormat(StrEnum):
    pmid = "pmid"
    medline = "medline"
    ris = "ris"
    csv = "csv"
    json = "json"
    jsonl = "jsonl"


def _write_pieces(path: Path, pieces: Iterable[str], what: str) -> None:
    """Write ``pieces`` (and a final newline, if any) to ``path`` as they come."""
    try:
        with path.open("w", encoding="utf-8") as out:
            _call(lambda: echo_pieces(pieces, out))
    except OSError as exc:
        _err(f"Error: cannot write the {what} {path}: {exc.strerror or exc}")
        raise typer.Exit(1) from None


def strategy(
    file: Annotated[
        Path,
        typer.Argument(
            help="The strategy: one query per line, #N for line N ('-': standard input).",
            show_default=False,
        ),
    ],
    fmt: Annotated[
        StrategyFormat, typer.Option("--format", "-f", help="Format of the final set.")
    ] = StrategyFormat.pmid,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write the final set here (default: stdout).", show_default=False
        ),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report", help="Write the report here (default: stderr).", show_default=False
        ),
    ] = None,
    fields: Annotated[
        str | None,
        typer.Option(
            "--fields",
            help="Columns for csv/json/jsonl.",
            show_default=False,
            autocompletion=complete_fields,
        ),
    ] = None,
    index: IndexOption = None,
) -> None:
    """Run a search strategy and export the records of its last line.

    Lines are searches 1, 2, 3 …; #N stands for search N of the file (#1 OR #2);
    a line may be labelled with its number as PubMed's history labels it (#7 #3 AND
    #5, numbers may skip); blank lines and '# comments' are skipped. The report (date
    and time, index, its record count, each search's count) goes to stderr or
    --report.
    """
    from searchkit.output.formats import check_fields, parse_fields, search_chunks
    from searchkit.searching.strategy import parse_strategy, read_strategy, run_strategy

    columns = _call(lambda: parse_fields(fields)) if fields is not None else None
    if str(file) == STDIN_ARGUMENT:
        source = STDIN_NAME
        lines = _call(lambda: parse_strategy(read_stdin(), source))
    else:
        if not file.is_file():
            _err(f"Error: {file}: no such file")
            raise typer.Exit(2)
        source = str(file)
        lines = _call(lambda: read_strategy(file))
    backend = _open_backend(index)
    run = _call(
        lambda: run_strategy(
            backend,
            lines,
            source,
            with_snippets=fmt in (StrategyFormat.csv, StrategyFormat.json, StrategyFormat.jsonl),
        )
    )
    assert run.final is not None
    final = run.final
    _call(lambda: check_fields(fmt.value, columns))
    pieces = search_chunks(final, fmt.value, fields=columns)  # a hit at a time
    if output is not None:
        _write_pieces(output, pieces, "final set")
    else:
        _call(lambda: echo_pieces(pieces))
    if report is not None:
        _write_pieces(report, [run.report()], "report")
    else:
        _err(run.report())
