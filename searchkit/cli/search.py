"""Commands that find records: search, similar, show.

Unlike the other modules, this one does not postpone its annotations (no ``from
__future__ import annotations``): typer reads a command's parameters from them on
every run, and postponed ones are strings it compiles and evaluates one by one: 1.5
ms of a ``searchkit search`` process for its 15 parameters (BENCHMARKS.md,
Start-up). The types imported only for type checking are written as strings.
"""

from typing import TYPE_CHECKING, Annotated

import typer

from searchkit.cli import collector
from searchkit.cli.common import (
    DEFAULT_PAGE,
    EXPORT_FORMATS,
    STDIN_ARGUMENT,
    ColorMode,
    ColorOption,
    IndexOption,
    RecordFormat,
    SearchFormat,
    SemanticOption,
    Sort,
    _call,
    _err,
    _open_backend,
    _use_color,
    echo_pieces,
    read_stdin,
    write_out,
)
from searchkit.cli.completion import complete_fields, complete_query
from searchkit.cli.paging import SearchLimitOption, SimilarLimitOption, left_out_note, parse_limit

if TYPE_CHECKING:
    from searchkit.index.history import History
    from searchkit.searching.backend import Backend
    from searchkit.searching.search import Filters, SearchResult

SearchFormatOption = Annotated[SearchFormat, typer.Option("--format", "-f", help="Output format.")]


def _print_result(
    result: "SearchResult",
    fmt: SearchFormat,
    fields: str | None,
    empty_message: str,
    color: ColorMode = ColorMode.auto,
) -> None:
    from searchkit.output.formats import check_fields, parse_fields, search_chunks

    columns = _call(lambda: parse_fields(fields)) if fields is not None else None
    if fmt is SearchFormat.table and not result.total and not result.hits:
        _call(lambda: check_fields(fmt.value, columns))
        _err(empty_message)
    else:  # written as made: an export of every hit holds one hit at a time
        colored = _use_color(color)
        _call(
            lambda: echo_pieces(
                search_chunks(result, fmt.value, color=colored, fields=columns),
                color=colored or None,  # True: kept through a pipe
            )
        )


def search(
    query: Annotated[
        str,
        typer.Argument(
            help="The query, e.g. \"immune escape MHC\" or 'smith j[au] AND 2019[dp]'; "
            "'-' reads it from standard input (its lines joined).",
            autocompletion=complete_query,
        ),
    ],
    limit: SearchLimitOption = None,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip this many hits.")] = 0,
    year: Annotated[
        str | None,
        typer.Option(
            "--year", help="Only these years: 2015..2019, 2015.. or ..2019.", show_default=False
        ),
    ] = None,
    journal: Annotated[
        str | None,
        typer.Option(
            "--journal", help="Only this journal (abbreviation or full title).", show_default=False
        ),
    ] = None,
    pubtype: Annotated[
        str | None,
        typer.Option(
            "--type", help='Only this publication type, e.g. "Review".', show_default=False
        ),
    ] = None,
    sort: Annotated[Sort, typer.Option("--sort", help="relevance, or date (newest first).")] = (
        Sort.relevance
    ),
    count: Annotated[
        bool,
        typer.Option(
            "--count", help="Print only the number of matching records (with all the words)."
        ),
    ] = False,
    fields: Annotated[
        str | None,
        typer.Option(
            "--fields",
            help="Columns for csv/json/jsonl, e.g. pmid,year,title.",
            show_default=False,
            autocompletion=complete_fields,
        ),
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Print how the query was understood (on stderr).")
    ] = False,
    expand: Annotated[
        bool,
        typer.Option(
            "--expand",
            help="Add the top terms of the first hits to the query (pseudo-relevance "
            "feedback; off by default: it did not help on SciFact).",
        ),
    ] = False,
    semantic: SemanticOption = None,
    fmt: SearchFormatOption = SearchFormat.table,
    color: ColorOption = ColorMode.auto,
    index: IndexOption = None,
) -> None:
    """Search the index; best matches first.

    Free text, "exact phrases", "proximity"~5, wildcards immun* tumo*r "breast feed*",
    AND / OR / NOT (read left to right, as in PubMed) with parentheses, #N for search N
    of 'searchkit history', PubMed field tags ([ti] [ab] [tiab] [au] [mh] [majr] [ot]
    [ta] [dp] [pt] [pmid] [lang]) and field:value (title: author: mesh:
    year:2015..2020 …). See the README for the details. QUERY '-' is read from
    standard input: a search string pasted from PubMed, without shell quoting.
    """
    if query == STDIN_ARGUMENT:  # a pasted query may wrap: its lines are one query
        query = " ".join(_call(read_stdin).splitlines()).strip()
    with collector.loading():  # the search's imports and opening the index
        from searchkit.index.history import filtered_query
        from searchkit.output.formats import parse_fields
        from searchkit.searching.search import Filters

        filters = _call(lambda: Filters.from_options(year=year, journal=journal, pubtype=pubtype))
        default = None if fmt in EXPORT_FORMATS else DEFAULT_PAGE  # as PubMed's export
        hits_wanted = _call(lambda: parse_limit(limit, default))
        if fields is not None:
            _call(lambda: parse_fields(fields))
        backend = _open_backend(index)
        history = backend.history()
        from searchkit.semantic.provider import PROVIDER  # the stage itself only for vectors
    refs = _call(history.queries) if "#" in query else {}
    if explain:
        _err(_call(lambda: backend.explain(query, refs, filters)))

    result = _call(
        lambda: backend.search(
            query,
            limit=0 if count else hits_wanted,
            offset=offset,
            filters=filters,
            sort=sort.value,
            with_snippets=fmt not in (SearchFormat.pmid, SearchFormat.medline, SearchFormat.ris),
            expand=expand,
            semantic_rank=semantic,
            refs=refs,
            partial=fmt not in EXPORT_FORMATS,
            meaning=PROVIDER,
        )
    )
    _remember(history, filtered_query(query, year=year, journal=journal, pubtype=pubtype), result)
    for note in result.notes:
        _err(f"note: {note}")
    if result.suggestion:
        quote = "'" if '"' in result.suggestion else '"'
        _err(f"Did you mean: {quote}{result.suggestion}{quote}?")
    if count:
        write_out(str(result.total))
        return
    empty = f"No records match {query!r}."
    given: list[tuple[str, Filters]] = []
    if year is not None:
        given.append((f"--year {year}", Filters(years=filters.years)))
    if journal is not None:
        given.append((f"--journal {journal!r}", Filters(journal=journal)))
    if pubtype is not None:
        given.append((f"--type {pubtype!r}", Filters(pubtype=pubtype)))
    if not result.total and given:
        empty = _filter_matched_nothing(backend, query, given) or empty
    _print_result(result, fmt, fields, empty, color)
    left_out = left_out_note(result.counted, result.total, offset, hits_wanted)
    if fmt in EXPORT_FORMATS and left_out is not None:
        _err(f"note: {left_out}")
    if fmt in EXPORT_FORMATS and not result.total and result.partial_total:
        _err(
            f"note: no record has all the words; {result.partial_total} have some of them "
            "(--format table or json ranks them)"
        )


def _count(backend: "Backend", query: str, filters: "Filters | None") -> int:
    return _call(lambda: backend.count(query, filters))


def _filter_matched_nothing(
    backend: "Backend", query: str, given: list[tuple[str, "Filters"]]
) -> str | None:
    """When the query matches records but not with the filters (each a label such as
    ``--journal 'Nature Foo'`` and its filter): the filters that match nothing with the
    query, else their combination, e.g. ``No records match --journal 'Nature Foo' (the
    query alone matches 389).``; None when the query alone matches nothing."""
    alone = _count(backend, query, None)
    if not alone:
        return None
    empty: list[str] = []
    if len(given) > 1:
        empty = [label for label, one in given if not _count(backend, query, one)]
    named = ", nor ".join(empty) if empty else " with ".join(label for label, _ in given)
    return f"No records match {named} (the query alone matches {alone})."


def _remember(history: "History", query: str, result: "SearchResult") -> None:
    """Add a search to the index's history; a history that cannot be written (a
    read-only index) is one note, and the search still succeeds."""
    from searchkit.index.history import HistoryError

    try:
        history.append(query, result.total)
    except HistoryError as exc:
        _err(f"note: this search is not in the history: {exc}")


def similar(
    pmid: Annotated[str, typer.Argument(help="The PMID of the record to find others like.")],
    limit: SimilarLimitOption = None,
    fields: Annotated[
        str | None,
        typer.Option(
            "--fields",
            help="Columns for csv/json/jsonl.",
            show_default=False,
            autocompletion=complete_fields,
        ),
    ] = None,
    fmt: SearchFormatOption = SearchFormat.table,
    color: ColorOption = ColorMode.auto,
    index: IndexOption = None,
) -> None:
    """Records most similar to one (by title, abstract, keywords and MeSH).

    Nearly every record shares a word with it, so the list has no natural end: 10 are
    shown in every format (unlike search's exports), --limit all for every one."""
    hits_wanted = _call(lambda: parse_limit(limit, DEFAULT_PAGE))
    backend = _open_backend(index)
    result = _call(lambda: backend.similar(pmid.strip(), hits_wanted))
    _print_result(result, fmt, fields, f"No records are similar to PMID {pmid}.", color)


def show(
    pmid: Annotated[str, typer.Argument(help="The record's PMID (or id).")],
    fmt: Annotated[RecordFormat, typer.Option("--format", "-f", help="Output format.")] = (
        RecordFormat.text
    ),
    index: IndexOption = None,
) -> None:
    """Print one whole record."""
    from searchkit.output.formats import format_record

    backend = _open_backend(index)
    record = _call(lambda: backend.get(pmid.strip()))
    write_out(format_record(record, fmt.value))
